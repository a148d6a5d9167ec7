"""Who is asking, and may they: API keys, JWTs, signed scene links, and the per-credential write rate.

* ``X-API-Key: <key>`` — looked up by its SHA-256 (``storage/keys.py``).
* ``Authorization: Bearer <JWT>`` — HS256 with ``SCENEFORGE_JWT_SECRET`` or RS256 with
  ``SCENEFORGE_JWT_PUBLIC_KEY``; the ``scope`` claim (``read``/``write``/``admin``, or a
  space-separated list: the strongest counts).
* ``?token=`` — a capability for reading one private scene until it expires:
  ``base64url({"s": sceneId, "e": expiry}) . base64url(HMAC-SHA256)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from ..errors import AuthError
from ..storage.keys import SCOPES, KeyRepository, scope_allows
from .problems import RateLimited

__all__ = ["Authenticator", "LinkSigner", "Principal", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: ``id`` keys the rate limit (``key:<n>`` or ``jwt:<sub>``)."""

    id: str
    scope: str


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

    def mint(self, scene_id: str, expires_at: int) -> str:
        payload = _b64(json.dumps({"s": scene_id, "e": expires_at}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def allows(self, token: str, scene_id: str, now: float | None = None) -> bool:
        """Whether ``token`` is authentic, unexpired and names ``scene_id``."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            return False
        try:
            claims = json.loads(_unb64(payload))
            return claims["s"] == scene_id and float(claims["e"]) > (time.time() if now is None else now)
        except (ValueError, KeyError, TypeError):
            return False


class RateLimiter:
    """A token bucket per credential: ``per_minute`` writes, refilled continuously; 0 = unlimited."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, who: str) -> None:
        """Spend one write for ``who``; :class:`RateLimited` (with the wait) when none is left."""
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(who, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[who] = (tokens, now)
                raise RateLimited(max(1, math.ceil((1.0 - tokens) / rate)))
            self._buckets[who] = (tokens - 1.0, now)


def _strongest(claim: object) -> str | None:
    names = claim.split() if isinstance(claim, str) else claim if isinstance(claim, list) else []
    found = [s for s in names if s in SCOPES]
    return max(found, key=SCOPES.index) if found else None


class Authenticator:
    def __init__(self, keys: KeyRepository, *, jwt_secret: str = "", jwt_public_key: str = "") -> None:
        self.keys, self.jwt_secret = keys, jwt_secret
        key = jwt_public_key.strip()
        if key and not key.startswith("-----") and Path(key).is_file():
            key = Path(key).read_text()
        self.jwt_public_key = key

    async def principal(self, request: Request) -> Principal | None:
        """The caller's credential, None when none was sent; :class:`AuthError` (401) when one is invalid."""
        api_key = request.headers.get("x-api-key")
        if api_key:
            record = await self.keys.lookup(api_key.strip())
            if record is None:
                raise AuthError("the API key is not valid")
            return Principal(f"key:{record.id}", record.scope)
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self._jwt(token.strip())
        return None

    def _jwt(self, token: str) -> Principal:
        import jwt

        keys = [(k, alg) for k, alg in ((self.jwt_secret, "HS256"), (self.jwt_public_key, "RS256")) if k]
        if not keys:
            raise AuthError("bearer tokens are not enabled (set SCENEFORGE_JWT_SECRET or SCENEFORGE_JWT_PUBLIC_KEY)")
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            key = next(k for k, alg in keys if alg == algorithm)
            claims = jwt.decode(token, key, algorithms=[algorithm], options={"require": ["scope"]})
        except (StopIteration, jwt.PyJWTError) as exc:
            raise AuthError(f"the bearer token is not valid: {exc or 'unsupported algorithm'}") from None
        scope = _strongest(claims.get("scope"))
        if scope is None:
            raise AuthError("the bearer token has no known scope", status=403)
        return Principal(f"jwt:{claims.get('sub', '')}", scope)

    async def require(self, request: Request, scope: str) -> Principal:
        """The caller, if allowed ``scope``: :class:`AuthError` 401 without credentials, 403 with too little."""
        who = await self.principal(request)
        if who is None:
            raise AuthError(f"this needs credentials with the {scope!r} scope (X-API-Key or Authorization: Bearer)")
        if not scope_allows(who.scope, scope):
            raise AuthError(f"this needs the {scope!r} scope; the credential has {who.scope!r}", status=403)
        return who
