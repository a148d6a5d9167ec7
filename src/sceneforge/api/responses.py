"""The ASGI response that sends a :class:`~sceneforge.api.delivery.Plan` for a blob or an in-memory body.

Zero-copy where possible: a whole file-store blob goes out with the ``http.response.pathsend``
extension when the server offers it (granian does); otherwise blobs stream chunk by chunk from a
worker thread, never held whole in memory. ``delivery="accel"`` answers with ``X-Accel-Redirect``
for a front nginx; ``delivery="redirect"`` answers 302 to a presigned URL when the store mints one.
A single range (or a small whole body) of at most :data:`INLINE_READ_BYTES` from a local file is
one ``pread`` on the event loop. ``pathsend`` carries no offsets, so 206 answers cannot use it.

Performance notes (``python bench/serve.py --seconds 5 --repeats 3``: wrk on loopback, one granian
worker against one nginx worker on the same ~5 MB GLB, medians, 2 shared and busy cores, so runs
vary by up to 2x):

* Before: every GLB and meta request loaded the version row and decoded its meta JSON (446 KB for
  the 1,400-cell maze; 57 % of a 304's samples in ``json.loads``): 200 at 39 req/s (nginx 406),
  304 at 42 (nginx 37,531), range at 21, meta at 12 req/s with p95 1.06 s.
* Now: ``storage/cache.py`` keeps version descriptors (immutable), each scene's latest pointer
  with its private flag (dropped on publish/delete here and on ``scene.built`` /
  ``scene.invalidated`` from any instance) and the serialized meta body with its tag;
  ``api/fast_reads.py`` answers cached public reads before FastAPI's routing. Two runs:
  200 at 466 / 491 req/s (ratio 0.99 / 1.19: both are bound by copying 5 MB over loopback),
  304 at 19,428 / 10,387 (0.28 / 0.22 of nginx's 68,919 / 48,130), range at 7,639 / 6,909
  (0.30 of nginx's 22,998 once nginx runs without ``tcp_nopush``, which had stalled its ranges
  40 ms each), meta at 1,977 / 2,622 req/s with p95 96 / 84 ms.
* Since then cached public reads no longer build this response for plain GETs: see the table in
  ``api/fast_reads.py`` (304 at 0.42 of nginx, ranges at 0.57, meta p95 ~10 ms). This class still
  answers HEAD, lists and ``*`` in ``If-None-Match``, ``If-Range``, several ranges, 416, offloading,
  object-store blobs and every uncached or private read.
* What limited 304 and meta before that: py-spy on the worker during a 304 run puts about 20 % of the main
  thread in Python at all (FastAPI's own outer middlewares — telemetry, body limit, error
  handling — ~3 %, this module and the fast path ~12 %); the rest is granian's Rust side and
  asyncio hand-offs, with wrk and other jobs sharing the two cores. Meta is 446 KB per answer:
  ~1.1 GB/s through one Python worker; its p95 follows the worker's queue at 64 connections.
"""

from __future__ import annotations

import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..storage.blobs import BlobStore
from .delivery import ByteRange, Plan, plan, quote_etag

__all__ = ["BlobSource", "BytesSource", "Delivery", "RepresentationResponse", "Source"]

Delivery = Literal["direct", "accel", "redirect"]

#: A whole body or single range of at most this many bytes from a *local* file is read on the event
#: loop in one ``pread`` (page cache: tens of microseconds) instead of in a worker thread, whose
#: hand-off costs more than the read. Larger spans, and object-store blobs, stream from a thread.
INLINE_READ_BYTES = 256 * 1024


class Source(ABC):
    """Bytes to deliver: their length, ranges of them, and (maybe) a file or URL holding them."""

    length: int

    @abstractmethod
    def iter_range(self, start: int, stop: int) -> Iterator[bytes]:
        """The bytes ``[start, stop)`` in chunks."""

    def local_path(self) -> Path | None:
        return None

    def read_inline(self, start: int, stop: int) -> bytes | None:
        """Bytes ``[start, stop)`` read without blocking for long (memory, a local file); None when not cheap."""
        return None

    def accel_path(self, prefix: str) -> str | None:
        return None

    def presigned_url(self, media_type: str) -> str | None:
        return None


@dataclass
class BytesSource(Source):
    data: bytes

    @property
    def length(self) -> int:  # type: ignore[override]
        return len(self.data)

    def iter_range(self, start: int, stop: int) -> Iterator[bytes]:
        yield self.data[start:stop]

    def read_inline(self, start: int, stop: int) -> bytes | None:
        return self.data[start:stop]


@dataclass
class BlobSource(Source):
    store: BlobStore
    key: str
    length: int
    presign_expires_s: int = 300

    def iter_range(self, start: int, stop: int) -> Iterator[bytes]:
        return self.store.iter_range(self.key, start, stop)

    def local_path(self) -> Path | None:
        return self.store.local_path(self.key)

    def read_inline(self, start: int, stop: int) -> bytes | None:
        path = self.store.local_path(self.key)
        if path is None:
            return None
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.pread(fd, stop - start, start)
        finally:
            os.close(fd)

    def accel_path(self, prefix: str) -> str | None:
        if self.store.local_path(self.key) is None:
            return None
        return f"{prefix.rstrip('/')}/{self.key[:2]}/{self.key[2:]}"

    def presigned_url(self, media_type: str) -> str | None:
        return self.store.presigned_url(self.key, self.presign_expires_s, media_type)


def _problem(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()


class RepresentationResponse(Response):
    """A GET/HEAD response for one representation with a strong ETag, honouring conditionals and ranges."""

    def __init__(
        self,
        request: Request,
        source: Source,
        etag: str,
        media_type: str,
        *,
        cache_control: str,
        delivery: Delivery = "direct",
        accel_prefix: str = "/_blobs",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.source, self.etag_value, self.delivery, self.accel_prefix = source, etag, delivery, accel_prefix
        self.method = request.method
        self.plan: Plan = plan(
            request.method,
            etag,
            source.length,
            range_header=request.headers.get("range"),
            if_none_match=request.headers.get("if-none-match"),
            if_range=request.headers.get("if-range"),
        )
        # Response.__init__ would render and encode headers that __call__ replaces anyway.
        self.status_code, self.media_type, self.background, self.body = self.plan.status, media_type, None, b""
        self.raw_headers = []
        self._base = {"etag": quote_etag(etag), "cache-control": cache_control, **(headers or {})}

    def _set(self, headers: Mapping[str, str]) -> None:
        self.raw_headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, head_only = self.plan.status, self.method == "HEAD"
        if status == 304:
            self._set(self._base)
            await self._start(send, 304)
            await send({"type": "http.response.body", "body": b""})
            return
        if status == 416:
            body = _problem(416, "Range Not Satisfiable", f"the representation has {self.source.length} bytes")
            headers = {**self._base, "content-range": f"bytes */{self.source.length}"}
            headers |= {"content-type": "application/problem+json", "content-length": str(len(body))}
            self._set(headers)
            await self._start(send, 416)
            await send({"type": "http.response.body", "body": b"" if head_only else body})
            return
        if await self._offload(send, head_only):
            return
        if status == 206 and len(self.plan.ranges) > 1:
            await self._send_multipart(send, head_only)
            return
        span = self.plan.ranges[0] if status == 206 else ByteRange(0, self.source.length)
        headers = {**self._base, "accept-ranges": "bytes", "content-type": self.media_type}
        headers["content-length"] = str(span.length)
        if status == 206:
            headers["content-range"] = span.content_range(self.source.length)
        self._set(headers)
        await self._start(send, status)
        if head_only:
            await send({"type": "http.response.body", "body": b""})
            return
        path = self.source.local_path()
        if path is not None and status == 200 and "http.response.pathsend" in (scope.get("extensions") or {}):
            await send({"type": "http.response.pathsend", "path": str(path)})
            return
        body = self.source.read_inline(span.start, span.stop) if span.length <= INLINE_READ_BYTES else None
        if body is not None:
            await send({"type": "http.response.body", "body": body})
            return
        await self._stream(send, self._chunks(span))

    async def _offload(self, send: Send, head_only: bool) -> bool:
        """Hand the body to nginx (accel) or to the object store (redirect) when so configured."""
        if self.delivery == "accel":
            target = self.source.accel_path(self.accel_prefix)
            if target is not None:
                self._set(
                    {
                        **self._base,
                        "accept-ranges": "bytes",
                        "content-type": self.media_type,
                        "x-accel-redirect": target,
                    }
                )
                await self._start(send, 200)
                await send({"type": "http.response.body", "body": b""})
                return True
        if self.delivery == "redirect":
            url = self.source.presigned_url(self.media_type)
            if url is not None:
                self._set({**self._base, "location": url, "content-length": "0"})
                await self._start(send, 302)
                await send({"type": "http.response.body", "body": b""})
                return True
        return False

    async def _start(self, send: Send, status: int) -> None:
        await send({"type": "http.response.start", "status": status, "headers": self.raw_headers})

    def _chunks(self, span: ByteRange) -> AsyncIterator[bytes]:
        return iterate_in_threadpool(self.source.iter_range(span.start, span.stop))

    async def _stream(self, send: Send, chunks: AsyncIterator[bytes]) -> None:
        async for chunk in chunks:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _send_multipart(self, send: Send, head_only: bool) -> None:
        boundary = secrets.token_hex(16)
        total = self.source.length
        heads = [
            (
                f"--{boundary}\r\nContent-Type: {self.media_type}\r\nContent-Range: {r.content_range(total)}\r\n\r\n"
            ).encode("latin-1")
            for r in self.plan.ranges
        ]
        tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
        length = sum(len(h) for h in heads) + sum(r.length for r in self.plan.ranges)
        length += 2 * (len(heads) - 1) + len(tail)
        self._set(
            {
                **self._base,
                "accept-ranges": "bytes",
                "content-type": f"multipart/byteranges; boundary={boundary}",
                "content-length": str(length),
            }
        )
        await self._start(send, 206)
        if head_only:
            await send({"type": "http.response.body", "body": b""})
            return

        async def parts() -> AsyncIterator[bytes]:
            for i, (head, span) in enumerate(zip(heads, self.plan.ranges, strict=True)):
                yield (b"\r\n" if i else b"") + head
                async for chunk in self._chunks(span):
                    yield chunk
            yield tail

        await self._stream(send, parts())
