"""The fast read path: ``GET``/``HEAD`` of ``/scenes/{ref}.glb`` and ``/scenes/{id}/meta`` answered from the cache.

Two layers share one :class:`FastReads`:

* :class:`SceneforgeAPI` (the app class :func:`~.app.create_app` builds) tries it *before* FastAPI's
  own ``__call__``: no telemetry probes, no ServerError/Exception/body-limit middlewares, no
  ``AsyncExitStack``, no metrics ``send`` wrapper — the request metrics are recorded inline. Taken
  only when CORS is off or the request carries no ``Origin`` (CORS headers are the CORS
  middleware's business).
* :class:`FastReadsMiddleware`, innermost in the stack as before, serves the same cached reads for
  requests that came through CORS and the metrics middleware.

When the scene's pointer (and, for an exact reference, the version; for meta, the serialized body)
is in the process's :class:`~sceneforge.storage.SceneCache` and the scene is public, a plain GET of
a file-store GLB is answered from a :class:`_Prepared` kept per (version, exactness): its header
lists are encoded once, a 304 is one comparison and one ``send``, a single range is a slice of an
``mmap`` of the blob file held open with the entry, a whole GLB goes out by ``pathsend``. Anything
else of a cached public read — HEAD, ``If-None-Match`` lists or ``*``, ``If-Range``, several
ranges, 416, offloaded delivery, an object store — is answered by the routes' own
:func:`~.scenes.glb_response` / :func:`~.scenes.meta_response` (RFC 9110 rules in
:mod:`.delivery`). A cache miss, a private scene (credentials and links are checked by the route),
another method or path goes on to the app unchanged, which fills the cache for the next request.

Performance (``.venv/bin/python bench/serve.py --seconds 5 --repeats 3``: one granian worker against
one nginx worker, the same 5 MB GLB, loopback, 2 quiet cores; medians, req/s, ratio = sceneforge ÷
nginx; two runs after):

==========  ==================================  ==========================================
shape       before (inner middleware, a          after (before FastAPI's ``__call__``,
            Response and headers per request)    prepared entries)
==========  ==================================  ==========================================
200         649 vs 665 (0.98)                    651 vs 663 (0.98) / 657 vs 668 (0.98)
304         24,148 vs 87,730 (0.275)             34,289 vs 81,128 (0.42) / 32,140 vs 78,861 (0.41)
range 64K   9,666 vs 39,765 (0.243)              22,735 vs 40,043 (0.57) / 20,725 vs 35,873 (0.58)
meta, 64 c  p95 46.6 ms                          p95 9.6 ms (9,363 req/s) / 11.2 ms (7,779 req/s)
==========  ==================================  ==========================================

Where the time went: py-spy on the worker during a 304 run found ~20 % of the busy main thread in
the telemetry probes of FastAPI's ``__call__`` (they read ``os.environ`` per request), more in its
outer middlewares and in per-request ``Request``/``Response``/header building; a range also
opened, ``pread`` and closed the blob file each time. Now Python is a few percent of the worker's
samples; the rest is granian's Rust side and the loop's hand-offs. granian's own options were
measured too (``http="1"``, ``runtime_mode="st"``, ``runtime_threads=2``, ``loop="asyncio"``): none
beat the defaults beyond the run-to-run noise (~15 %), and ``task_impl="rust"`` fell to ~300 req/s,
so the server keeps its defaults.
"""

from __future__ import annotations

import mmap
import os
import time
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..storage import SceneRepository
from ..storage.cache import MetaBody, VersionRef
from .delivery import RangeNotSatisfiable, parse_range, quote_etag
from .ops import Metrics
from .scenes import GLB_TYPE, _cache_control, glb_response, meta_response, parse_ref
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
_EMPTY = {"type": "http.response.body", "body": b""}
_Headers = list[tuple[bytes, bytes]]


class _Prepared:
    """One representation as the fast path sends it: encoded header lists, and its bytes (mmap) or file."""

    __slots__ = ("body", "h200", "h206", "h304", "length", "path", "quoted", "raw_etag")

    def __init__(self, etag: str, length: int, base: _Headers, media_type: str) -> None:
        self.quoted = quote_etag(etag)
        self.raw_etag = self.quoted.encode("latin-1")
        self.length = length
        self.h304: _Headers = base
        self.h206: _Headers = [*base, (b"accept-ranges", b"bytes"), (b"content-type", media_type.encode("latin-1"))]
        self.h200: _Headers = [*self.h206, (b"content-length", str(length).encode("latin-1"))]
        self.body: bytes | mmap.mmap | None = None
        self.path: str | None = None


def _base_headers(etag: str, cache_control: str, extra: dict[str, str]) -> _Headers:
    pairs = {"etag": quote_etag(etag), "cache-control": cache_control, **extra}
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs.items()]


class FastReads:
    """Serve cached public GLB and meta reads; :meth:`serve` answers a request or returns None."""

    #: Prepared entries kept (each holds an mmap of its blob file: address space, not memory).
    max_prepared = 1024

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._prepared: dict[tuple[object, ...], _Prepared | None] = {}

    def _glb_entry(self, svc: Services, version: VersionRef, exact: bool) -> _Prepared | None:
        key = (version.scene_id, version.n, version.etag, version.glb_key, version.bytes, exact)
        entry = self._prepared.get(key, False)
        if entry is not False:
            return entry  # type: ignore[return-value]
        entry = None
        if svc.settings.delivery.mode == "direct":
            path = svc.blobs.local_path(version.glb_key)
            if path is not None and version.bytes > 0:
                cc = _cache_control(exact, False)
                entry = _Prepared(
                    version.etag,
                    version.bytes,
                    _base_headers(version.etag, cc, {"x-scene-version": str(version.n)}),
                    GLB_TYPE,
                )
                fd = os.open(path, os.O_RDONLY)
                try:
                    if os.fstat(fd).st_size != version.bytes:
                        return None
                    entry.body = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
                finally:
                    os.close(fd)
                entry.path = str(path)
        self._remember(key, entry)
        return entry

    def _meta_entry(self, meta: MetaBody) -> _Prepared:
        key = ("meta", meta.etag, len(meta.body))
        entry = self._prepared.get(key)
        if entry is None or entry.body is not meta.body:
            entry = _Prepared(
                meta.etag,
                len(meta.body),
                _base_headers(meta.etag, _cache_control(False, False), {}),
                "application/json",
            )
            entry.body = meta.body
            self._remember(key, entry)
        return entry

    def _remember(self, key: tuple[object, ...], entry: _Prepared | None) -> None:
        if len(self._prepared) >= self.max_prepared:
            self._prepared.clear()
        self._prepared[key] = entry

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> tuple[str, int] | None:
        """Answer a cached public read: the route template it stood for and the status; None when not answered."""
        svc: Services | None = getattr(self.app.state, "services", None)
        if svc is None:
            return None
        repo: SceneRepository = svc.scenes
        rest = scope["path"][len(_PREFIX) :]
        entry: _Prepared | None = None
        if rest.endswith(_GLB):
            parsed = parse_ref(rest[: -len(_GLB)])
            if parsed is None:
                return None
            scene_id, etag, n = parsed
            pointer = repo.cache.pointer(scene_id)
            if pointer is None or pointer.private:
                return None
            exact = True
            if etag is not None:
                version = repo.cache.ref(scene_id, etag)
            elif n is not None:
                version = repo.cache.ref(scene_id, n)
            else:
                version, exact = pointer.latest, False
            if version is None:
                return None
            if scope["method"] == "GET":
                entry = self._glb_entry(svc, version, exact)
            status = 0 if entry is None else await self._send_prepared(entry, scope, send)
            if not status:
                tracked = _Status(send)
                await glb_response(Request(scope, receive), svc, version, exact, private=False)(scope, receive, tracked)
                status = tracked.status
            return GLB_ROUTE, status
        if rest.endswith(_META):
            pointer = repo.cache.pointer(rest[: -len(_META)])
            if pointer is None or pointer.private or pointer.latest is None:
                return None
            meta = repo.cache.meta(pointer.latest)
            if meta is None:
                return None
            if scope["method"] == "GET":
                entry = self._meta_entry(meta)
            status = 0 if entry is None else await self._send_prepared(entry, scope, send)
            if not status:
                tracked = _Status(send)
                await meta_response(Request(scope, receive), meta, private=False)(scope, receive, tracked)
                status = tracked.status
            return META_ROUTE, status
        return None

    @staticmethod
    async def _send_prepared(entry: _Prepared, scope: Scope, send: Send) -> int:
        """Send a plain GET's 304, 200 or single-range 206 from ``entry``: its status; 0 (nothing sent) otherwise."""
        inm = rng = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if inm is not None:
                    return 0
                inm = value
            elif name == b"range":
                if rng is not None:
                    return 0
                rng = value
            elif name == b"if-range":
                return 0
        if inm is not None:
            if inm.strip() != entry.raw_etag:
                return 0  # lists, weak tags, ``*``, other tags: the general rules decide
            await send({"type": "http.response.start", "status": 304, "headers": entry.h304})
            await send(_EMPTY)
            return 304
        if rng is None:
            if entry.path is not None and "http.response.pathsend" in (scope.get("extensions") or {}):
                await send({"type": "http.response.start", "status": 200, "headers": entry.h200})
                await send({"type": "http.response.pathsend", "path": entry.path})
                return 200
            if entry.path is not None or entry.body is None:
                return 0
            await send({"type": "http.response.start", "status": 200, "headers": entry.h200})
            await send({"type": "http.response.body", "body": entry.body})
            return 200
        if entry.body is None:
            return 0
        try:
            ranges = parse_range(rng.decode("latin-1"), entry.length)
        except RangeNotSatisfiable:
            return 0
        if ranges is None or len(ranges) != 1:
            return 0
        span = ranges[0]
        headers = [
            *entry.h206,
            (b"content-length", str(span.length).encode("latin-1")),
            (b"content-range", span.content_range(entry.length).encode("latin-1")),
        ]
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body[span.start : span.stop]})
        return 206


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


class SceneforgeAPI(FastAPI):
    """FastAPI, with cached public reads answered before its own ``__call__`` (see the module docstring)."""

    fast_reads: FastReads
    metrics: Metrics
    cors: bool = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in {"GET", "HEAD"}
            and scope["path"].startswith(_PREFIX)
            and not (self.cors and any(name == b"origin" for name, _ in scope["headers"]))
        ):
            started = time.perf_counter()
            served = await self.fast_reads.serve(scope, receive, send)
            if served is not None:
                self.metrics.count(scope["method"], served[0], served[1], time.perf_counter() - started)
                return
        await super().__call__(scope, receive, send)


class _Status:
    """A ``send`` that remembers the response status (cheaper than a closure per request)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send, self.status = send, 500

    async def __call__(self, message: dict) -> None:  # type: ignore[type-arg]
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)
