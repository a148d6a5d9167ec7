"""The fast read path: ``GET``/``HEAD`` of ``/scenes/{ref}.glb`` and ``/scenes/{id}/meta`` answered from the cache.

When the scene's pointer (and, for an exact reference, the version; for meta, the serialized
body) is in the process's :class:`~sceneforge.storage.SceneCache` and the scene is public, the
request is answered before FastAPI's routing by the same prepared representation and sender as
the routes (:meth:`~.responses.Representations.deliver`, keys from :func:`~.scenes.glb_entry` /
:func:`~.scenes.meta_entry`): the only thing skipped is the work of finding the version — routing,
dependencies, the database. A cache miss, a private scene (credentials and links are checked by
the route), another method or path goes on to the app unchanged, which fills the cache.

Two layers share one :class:`FastReads`: :class:`SceneforgeAPI` tries it before FastAPI's own
``__call__`` (no outer middlewares; the request metrics are recorded inline, and with CORS on the
``Vary: Origin`` the CORS middleware would add) unless CORS is on and the request carries an
``Origin``; :class:`FastReadsMiddleware`, innermost, serves those
after CORS and the metrics middleware. An exception while looking up the cache is answered with
a problem+json 500 like one in the sender. Measurements: docs/benchmarks.md ("Serving"). A request whose body
framing is ambiguous (``Content-Length`` beside ``Transfer-Encoding``) is refused before either (``framing.py``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .encoded_slash import encoded_slash
from .framing import refuse_ambiguous_framing
from .ops import Metrics
from .repeated import repeated_query
from .responses import Representations, send_problem
from .scenes import Entry, glb_entry, meta_entry, parse_ref
from .services import Services

__all__ = ["FastReads", "FastReadsMiddleware", "SceneforgeAPI"]


@dataclass(frozen=True, slots=True)
class _RouteLabel:
    """Stands for the route in ``scope["route"]``: the request metrics read its ``path`` template."""

    path: str


GLB_ROUTE = "/scenes/{ref}.glb"
META_ROUTE = "/scenes/{scene_id}/meta"
_GLB_LABEL = _RouteLabel(GLB_ROUTE)
_META_LABEL = _RouteLabel(META_ROUTE)
_PREFIX = "/scenes/"
_GLB = ".glb"
_META = "/meta"
log = logging.getLogger(__name__)


class FastReads:
    """Serve cached public GLB and meta reads; :meth:`serve` answers a request or returns None."""

    def __init__(self, app: FastAPI, representations: Representations) -> None:
        self.app, self.representations = app, representations

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> tuple[str, int] | None:
        """Answer a cached public read: the route template it stood for and the status; None when not answered."""
        svc: Services | None = getattr(self.app.state, "services", None)
        if svc is None:
            return None
        rest = scope["path"][len(_PREFIX) :]
        route = GLB_ROUTE if rest.endswith(_GLB) else META_ROUTE if rest.endswith(_META) else None
        if route is None:
            return None
        try:
            entry = self._lookup(svc, rest, route is GLB_ROUTE)
        except Exception:
            log.exception("fast read of %s failed", scope["path"])
            await send_problem(send, 500, "Internal Server Error", "the read could not be answered")
            return route, 500
        if entry is None:
            return None
        return route, await self.representations.deliver(*entry, scope, send)

    @staticmethod
    def _lookup(svc: Services, rest: str, glb: bool) -> Entry | None:
        cache = svc.scenes.cache
        if not glb:
            pointer = cache.pointer(rest[: -len(_META)])
            if pointer is None or pointer.private or pointer.latest is None:
                return None
            meta = cache.meta(pointer.latest)
            return None if meta is None else meta_entry(meta, False)
        parsed = parse_ref(rest[: -len(_GLB)])
        if parsed is None:
            return None
        scene_id, etag, n = parsed
        pointer = cache.pointer(scene_id)
        if pointer is None or pointer.private:
            return None
        if etag is not None:
            version = cache.ref(scene_id, etag)
        elif n is not None:
            version = cache.ref(scene_id, n)
        else:
            version = pointer.latest
        if version is None or not version.published:  # unpublished draft builds need read access: the route
            return None
        return glb_entry(svc, version, etag is not None or n is not None, False)


class FastReadsMiddleware:
    """Innermost: cached reads that came through CORS and the metrics middleware skip routing."""

    def __init__(self, app: ASGIApp, fast: FastReads) -> None:
        self.app, self.fast = app, fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in {"GET", "HEAD"} and scope["path"].startswith(_PREFIX):
            served = await self.fast.serve(scope, receive, send)
            if served is not None:
                scope["route"] = _GLB_LABEL if served[0] == GLB_ROUTE else _META_LABEL
                return
        await self.app(scope, receive, send)


def _vary_origin(send: Send) -> Send:
    """``send`` with ``Vary: Origin`` added to the status line's headers, as the CORS middleware adds it to every
    answer: with CORS on, an answer to a request without ``Origin`` (no ``Access-Control-Allow-Origin``) must not
    be stored by a shared cache and reused for a browser's cross-origin request."""

    async def vary(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"vary", b"Origin")]}
        await send(message)

    return vary


class SceneforgeAPI(FastAPI):
    """FastAPI, with cached public reads answered before its own ``__call__`` (see the module docstring)."""

    fast_reads: FastReads
    metrics: Metrics
    cors: bool = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await refuse_ambiguous_framing(scope, receive, send):  # before any read: a smuggled request (framing.py)
            return
        if (
            scope["type"] == "http"
            and scope["method"] in {"GET", "HEAD"}
            and scope["path"].startswith(_PREFIX)
            and not encoded_slash(scope)  # a 404 (RefuseEncodedSlash), never the read its decoded path names
            and not repeated_query(scope["query_string"])  # a 422 (RefuseRepeatedQuery), inside CORS
            and not (self.cors and any(name == b"origin" for name, _ in scope["headers"]))
        ):
            started = time.perf_counter()
            served = await self.fast_reads.serve(scope, receive, _vary_origin(send) if self.cors else send)
            if served is not None:
                self.metrics.count(scope["method"], served[0], served[1], time.perf_counter() - started)
                return
        await super().__call__(scope, receive, send)
