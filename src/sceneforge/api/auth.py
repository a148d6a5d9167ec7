"""Who is asking, and may they: API keys, JWTs, signed scene links, the write rate — and the access dependencies.

* ``X-API-Key: <key>`` — looked up by its SHA-256 on every request (``storage/keys.py``), never
  cached, so a revoked key is refused at once by every instance sharing the database.
* ``Authorization: Bearer <JWT>`` — HS256 with the configured secret or RS256 with the public key;
  ``exp`` and ``sub`` are required (``exp`` checked with a configurable leeway); the ``scope`` claim
  (``read``/``write``/``admin``, or a space-separated list: the strongest counts).
* ``?token=`` — a capability for reading one private scene until it expires:
  ``base64url({"s": sceneId, "e": expiry}) . base64url(HMAC-SHA256)``.

Every route that changes state declares :data:`WRITE` (or :data:`ADMIN`) in its ``dependencies``:
the scope check and the write rate limit run there, once, before the route's body (and before its
body is read). :func:`check_routes` refuses to build an app with an unsafe-method route lacking one.
The rate limit is a moving window of the ``limits`` library per principal (``key:<id>`` /
``jwt:<sub>``), kept in Redis when one is configured (so it holds across instances), in memory
otherwise. See docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends
from fastapi.routing import APIRoute, iter_route_contexts
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from ..errors import AuthError, StorageError
from ..storage.keys import SCOPES, KeyRepository, scope_allows
from .problems import RateLimited

__all__ = [
    "ADMIN",
    "ADMIN_READ",
    "UNSAFE_METHODS",
    "WRITE",
    "Authenticator",
    "LinkSigner",
    "Principal",
    "RateLimiter",
    "access",
    "check_routes",
    "http_routes",
    "principal_of",
]

#: Methods that change state: a route answering one of them must declare an access dependency.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: ``id`` keys the rate limit (``key:<n>`` or ``jwt:<sub>``)."""

    id: str
    scope: str
    #: Who, for people reading a history: the API key's name, or the JWT ``sub``.
    name: str = ""

    @property
    def author(self) -> str:
        """The name histories record for this caller's changes: :attr:`name`, else :attr:`id`."""
        return self.name or self.id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Mints and checks ``?token=`` capabilities for reading one scene."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("link secret must be at least 16 bytes")
        self.secret = secret

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self.secret, payload.encode(), hashlib.sha256).digest())

    def mint(self, scene_id: str, expires_at: int, nonce: str | None = None) -> str:
        """A link to ``scene_id`` until ``expires_at``, bound to the scene row's ``nonce`` (its ``link_nonce``: a
        scene deleted and made again under the same id has another, so this link does not open it)."""
        claims: dict[str, Any] = {"s": scene_id, "e": expires_at}
        if nonce is not None:  # rows made before migration 0007 have none: their links sign the id alone
            claims["n"] = nonce
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def allows(self, token: str, scene_id: str, nonce: str | None = None, now: float | None = None) -> bool:
        """Whether ``token`` is authentic, unexpired, names ``scene_id`` and was minted for the scene row whose
        ``link_nonce`` is ``nonce`` (a token without one only for a row without one)."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return False
        try:
            claims = json.loads(_unb64(payload))
            unexpired = float(claims["e"]) > (time.time() if now is None else now)
            return claims["s"] == scene_id and claims.get("n") == nonce and unexpired
        except (ValueError, KeyError, TypeError, AttributeError):
            return False


class RateLimiter:
    """``per_minute`` writes per principal in any moving 60 s window; 0 = unlimited.

    ``redis_url`` (``redis://…``) keeps the windows in Redis, shared by every instance; without it
    they live in this process. One ``hit`` is one round trip to the storage (a Lua script on Redis).
    """

    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        self.per_minute = per_minute
        self.item = RateLimitItemPerMinute(max(1, per_minute))
        self.storage: Storage
        if redis_url:
            self.storage = RedisStorage(
                "async+" + redis_url, implementation="redispy", key_prefix="sceneforge-rate", wrap_exceptions=True
            )
        else:
            self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, who: str) -> None:
        """Spend one write for ``who``; :class:`RateLimited` (with the wait) when none is left."""
        if self.per_minute <= 0:
            return
        try:
            if await self.strategy.hit(self.item, "write", who):
                return
            stats = await self.strategy.get_window_stats(self.item, "write", who)
        except Exception as exc:  # limits wraps the storage's errors; an unreachable Redis is a 503
            raise StorageError(f"the rate limit store is unreachable: {exc}") from exc
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))

    async def close(self) -> None:
        """Release the Redis connections (the memory storage's expiry timer too)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()
        timer = getattr(self.storage, "timer", None)
        if timer is not None and hasattr(timer, "cancel"):
            timer.cancel()


def _strongest(claim: object) -> str | None:
    names = claim.split() if isinstance(claim, str) else claim if isinstance(claim, list) else []
    found = [s for s in names if s in SCOPES]
    return max(found, key=SCOPES.index) if found else None


class Authenticator:
    def __init__(
        self, keys: KeyRepository, *, jwt_secret: str = "", jwt_public_key: str = "", jwt_leeway_s: float = 30.0
    ) -> None:
        self.keys, self.jwt_secret, self.jwt_leeway_s = keys, jwt_secret, jwt_leeway_s
        key = jwt_public_key.strip()
        if key and not key.startswith("-----") and Path(key).is_file():
            key = Path(key).read_text()
        self.jwt_public_key = key

    async def principal(self, request: Request) -> Principal | None:
        """The caller's credential, None when none was sent; :class:`AuthError` (401) when one is invalid."""
        api_key = request.headers.get("x-api-key")
        if api_key:
            return await self.key_principal(api_key)
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.jwt_principal(token.strip())
        return None

    async def key_principal(self, api_key: str) -> Principal:
        """The principal of an API key; :class:`AuthError` (401) when it is unknown or revoked."""
        record = await self.keys.lookup(api_key.strip())
        if record is None:
            raise AuthError("the API key is not valid (unknown or revoked)")
        return Principal(f"key:{record.id}", record.scope, record.name or f"key {record.id}")

    def jwt_principal(self, token: str) -> Principal:
        """The principal of a bearer JWT; :class:`AuthError` 401 when it is not valid, 403 without a known scope."""
        import jwt

        keys = [(k, alg) for k, alg in ((self.jwt_secret, "HS256"), (self.jwt_public_key, "RS256")) if k]
        if not keys:
            raise AuthError("bearer tokens are not enabled (set SCENEFORGE_JWT_SECRET or SCENEFORGE_JWT_PUBLIC_KEY)")
        algorithm = ""
        try:
            algorithm = str(jwt.get_unverified_header(token).get("alg"))[:40]
            key = next(k for k, alg in keys if alg == algorithm)
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                leeway=self.jwt_leeway_s,
                options={"require": ["exp", "sub", "scope"], "verify_exp": True},
            )
        except (StopIteration, jwt.PyJWTError) as exc:
            reason = str(exc) or f"algorithm {algorithm!r} is not accepted (only {', '.join(a for _k, a in keys)})"
            raise AuthError(f"the bearer token is not valid: {reason}") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise AuthError("the bearer token's 'sub' claim must be a non-empty string")
        scope = _strongest(claims.get("scope"))
        if scope is None:
            raise AuthError("the bearer token has no known scope", status=403)
        return Principal(f"jwt:{subject}", scope, subject)

    async def require(self, request: Request, scope: str) -> Principal:
        """The caller, if allowed ``scope``: :class:`AuthError` 401 without credentials, 403 with too little."""
        who = await self.principal(request)
        if who is None:
            raise AuthError(f"this needs credentials with the {scope!r} scope (X-API-Key or Authorization: Bearer)")
        if not scope_allows(who.scope, scope):
            raise AuthError(f"this needs the {scope!r} scope; the credential has {who.scope!r}", status=403)
        return who


def access(scope: str, *, spend: bool = True) -> Callable[[Request], Awaitable[Principal]]:
    """A route dependency: the caller must hold ``scope``; with ``spend`` one write of its rate is spent."""

    async def dependency(request: Request) -> Principal:
        svc = request.app.state.services
        who: Principal = await svc.auth.require(request, scope)
        if spend:
            await svc.write_rate.hit(who.id)
        request.state.principal = who
        return who

    dependency.__name__ = f"{scope}_access"
    return dependency


_write_access = access("write")
_admin_access = access("admin")
#: ``dependencies=[WRITE]`` on a route: ``write`` scope and the write rate limit.
WRITE = Depends(_write_access)
#: ``dependencies=[ADMIN]`` on a route: ``admin`` scope and the write rate limit.
ADMIN = Depends(_admin_access)
#: ``dependencies=[ADMIN_READ]`` on a read route for administrators only (no write spent).
ADMIN_READ = Depends(access("admin", spend=False))
_ACCESS = {_write_access, _admin_access}


def principal_of(request: Request) -> Principal:
    """The principal the route's access dependency authenticated."""
    who: Principal = request.state.principal
    return who


def http_routes(routes: Iterable[Any]) -> Iterator[tuple[str, frozenset[str], APIRoute]]:
    """(full path, methods, route) of every FastAPI HTTP route, included routers walked through."""
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield str(context.path or route.path), frozenset(context.methods or route.methods or ()), route


def check_routes(routes: Iterable[Any]) -> None:
    """Raise ``RuntimeError`` naming any unsafe-method HTTP route without :data:`WRITE` / :data:`ADMIN`."""
    open_writes = [
        f"{sorted(methods)} {path}"
        for path, methods, route in http_routes(routes)
        if methods & UNSAFE_METHODS and not {d.call for d in route.dependant.dependencies} & _ACCESS
    ]
    if open_writes:
        raise RuntimeError(f"state-changing routes without an access dependency: {', '.join(open_writes)}")
