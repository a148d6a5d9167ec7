"""The one delivery path: a prepared :class:`Representation` per GLB, meta or asset, and one sender.

Every read of a scene file, a meta or an asset — through the pre-routing fast path
(:mod:`.fast_reads`) or through the routes (:mod:`.scenes`, :mod:`.assets`) — is answered by
:meth:`Representations.deliver` from a :class:`Representation` kept there.
The sender reads the request's conditional and range headers, asks :func:`.delivery.plan` what
to send (RFC 9110 rules, written once there) and sends it (docs/api.md, "Conditional and range
requests"):

* 304, 412 and 416 from prepared header lists; HEAD is a GET without the body;
* a whole local blob by the server's ``http.response.pathsend`` when offered (granian), never
  through Python; a span of at most :data:`INLINE_READ_BYTES` is one ``pread`` of the blob's file
  (open with the entry) or a slice of the in-memory meta; larger spans and object-store blobs stream
  from a worker thread, chunk by chunk, never held whole. (Not a memory map: a read error of the
  disk, or a blob file cut short outside the service, met in a mapped page is a SIGBUS that ends the
  whole process; a ``pread`` fails with an error, answered 503 ``blob_store_failed``.)
* several ranges as ``multipart/byteranges`` (from an object store, nearby parts by one read: :func:`_part_reads`);
  ``delivery="accel"`` answers ``X-Accel-Redirect``
  for a front nginx when nginx sends what was decided (:mod:`.accel`; the rest is answered here),
  ``delivery="redirect"`` a 302 to a presigned URL when the store mints one.

An exception before the response has started — preparing the entry, a failing blob read (the
first chunk is read before the status goes out) — is logged and answered with a problem+json
500; the blob store failing (a :class:`~sceneforge.errors.StorageError`: S3 not answering, a read
error of the disk) with a 503 whose ``code`` names it. After the status has gone out the connection
can only be cut: the client sees a short body.
Cost per request: one pass over the request headers, one :func:`~.delivery.plan`, one or two
``send`` calls. Measurements: docs/benchmarks.md ("Serving").
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from bisect import bisect_right
from collections import Counter
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from typing import Literal

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ..errors import NotFound, StorageError
from ..storage.blobs import BlobStore, os_fault
from .accel import Conditions, nginx_sends
from .delivery import READ_SPAN, ByteRange, Plan, plan, quote_etag, read_spans

__all__ = [
    "INLINE_READ_BYTES",
    "NO_STORE",
    "READ_HELD",
    "Delivery",
    "Representation",
    "RepresentationResponse",
    "Representations",
    "send_problem",
]

log = logging.getLogger(__name__)

Delivery = Literal["direct", "accel", "redirect"]
_Headers = list[tuple[bytes, bytes]]

#: A whole body or span of at most this many bytes of a *local* blob is read with one ``pread`` on the
#: event loop (page cache: microseconds) instead of in a worker thread, whose hand-off costs more.
INLINE_READ_BYTES = 256 * 1024
_EMPTY: Message = {"type": "http.response.body", "body": b""}
#: ``Cache-Control`` of the answers that are not the representation (412, 416, and a 302 to a presigned URL,
#: which expires in minutes): no cache keeps them.
NO_STORE = "no-store"
_PATHSEND = "http.response.pathsend"


def _encode(pairs: dict[str, str]) -> _Headers:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs.items()]


class LocalBlob:
    """A local blob file, open for reading with ``pread`` for as long as a representation or a response holds it
    (closed when the last one lets go). A read error, or fewer bytes than the record says (the file cut short
    outside the service), is a :class:`~sceneforge.errors.StorageError`."""

    __slots__ = ("fd", "key", "length")

    def __init__(self, path: str, key: str, length: int) -> None:
        self.fd, self.key, self.length = -1, key, length
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size != length:
                raise OSError(f"blob {key} holds {size} bytes, its record says {length}")
        except OSError:
            os.close(fd)
            raise
        self.fd = fd

    def read(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)``."""
        try:
            data = os.pread(self.fd, stop - start, start)
        except OSError as exc:  # EIO and the like: the disk, not the request
            raise os_fault(exc, "blob store", f"read blob {self.key}") from exc
        if len(data) != stop - start:
            raise StorageError(
                f"blob {self.key} is shorter than its recorded size ({self.length} bytes)",
                code="blob_store_failed",
                public="the blob store could not read: the file is shorter than its record",
            )
        return data

    def __del__(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)


class Representation:
    """One representation as it is sent: strong tag, length, encoded header lists and where its bytes are.

    ``body`` holds the bytes when they are in memory (a meta) or a local blob's open file (:class:`LocalBlob`,
    address space rather than memory); ``path`` is the local file for ``pathsend``; ``store`` and
    ``key`` stream an object-store blob and name the blob for ``accel`` / ``redirect`` delivery.
    """

    __slots__ = (
        "accel_prefix",
        "body",
        "delivery",
        "etag",
        "h200",
        "h206",
        "h304",
        "herr",
        "key",
        "length",
        "media_type",
        "path",
        "presign_expires_s",
        "quoted",
        "store",
    )

    def __init__(
        self,
        etag: str,
        length: int,
        media_type: str,
        *,
        cache_control: str,
        headers: dict[str, str] | None = None,
        body: bytes | LocalBlob | None = None,
        path: str | None = None,
        store: BlobStore | None = None,
        key: str | None = None,
        delivery: Delivery = "direct",
        accel_prefix: str = "/_blobs",
        presign_expires_s: int = 300,
    ) -> None:
        self.etag, self.length, self.media_type = etag, length, media_type
        self.quoted = quote_etag(etag)
        self.body, self.path, self.store, self.key = body, path, store, key
        self.delivery, self.accel_prefix, self.presign_expires_s = delivery, accel_prefix, presign_expires_s
        self.h304 = _encode({"etag": self.quoted, "cache-control": cache_control, **(headers or {})})
        # a 412, 416 or presigned 302 is not the representation: never kept by a cache (an exact version's 200 says
        # immutable for a year, which on an error would keep the error, on a 302 a dead link, for a year)
        self.herr = _encode({"etag": self.quoted, "cache-control": NO_STORE, **(headers or {})})
        self.h206 = [*self.h304, (b"accept-ranges", b"bytes"), (b"content-type", media_type.encode("latin-1"))]
        self.h200 = [*self.h206, (b"content-length", str(length).encode("latin-1"))]

    @classmethod
    def of_blob(
        cls,
        store: BlobStore,
        key: str,
        length: int,
        etag: str,
        media_type: str,
        *,
        cache_control: str,
        headers: dict[str, str] | None = None,
        delivery: Delivery = "direct",
        accel_prefix: str = "/_blobs",
        presign_expires_s: int = 300,
    ) -> Representation:
        """A stored blob: its file open when the store keeps it locally (checked to hold ``length`` bytes)."""
        local = store.local_path(key)
        body: bytes | LocalBlob | None = None
        if local is not None:
            body = LocalBlob(str(local), key, length) if length else b""
            if not length and os.stat(local).st_size:
                raise OSError(f"blob {key} holds {os.stat(local).st_size} bytes, its record says 0")
        return cls(
            etag,
            length,
            media_type,
            cache_control=cache_control,
            headers=headers,
            body=body,
            path=None if local is None else str(local),
            store=store,
            key=key,
            delivery=delivery,
            accel_prefix=accel_prefix,
            presign_expires_s=presign_expires_s,
        )

    def inline(self, start: int, stop: int) -> bytes | None:
        """Bytes ``[start, stop)`` when they are cheap to take on the event loop; None otherwise."""
        if isinstance(self.body, bytes):
            return self.body if start == 0 and stop == len(self.body) else self.body[start:stop]
        if self.body is not None and stop - start <= INLINE_READ_BYTES:
            return self.body.read(start, stop)
        return None

    def chunks(self, start: int, stop: int) -> Iterator[bytes]:
        """Bytes ``[start, stop)`` in chunks, read blocking (run in a worker thread)."""
        if isinstance(self.body, LocalBlob):
            step = 1 << 20
            for at in range(start, stop, step):
                yield self.body.read(at, min(stop, at + step))
        elif self.store is not None and self.key is not None:
            yield from self.store.iter_range(self.key, start, stop)

    def accel_target(self) -> str | None:
        if self.delivery != "accel" or self.path is None or self.key is None:
            return None
        return f"{self.accel_prefix.rstrip('/')}/{self.key[:2]}/{self.key[2:]}"

    def presigned_url(self) -> str | None:
        if self.delivery != "redirect" or self.store is None or self.key is None:
            return None
        return self.store.presigned_url(self.key, self.presign_expires_s, self.media_type)


class Representations:
    """Prepared representations by key, shared by the fast path and the routes; cleared whole when full.

    A dropped entry's file closes when the last response using it finishes (reference counting).
    """

    #: Entries kept (each may hold its blob's file open: one file descriptor, no memory).
    max_entries = 1024

    def __init__(self) -> None:
        self._entries: dict[Hashable, Representation] = {}

    def get(self, key: Hashable, build: Callable[[], Representation]) -> Representation:
        """The entry under ``key``, made by ``build`` (blocking: it may open a file) when absent."""
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            entry = self._entries[key] = build()
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    async def deliver(self, key: Hashable, build: Callable[[], Representation], scope: Scope, send: Send) -> int:
        """Prepare (or reuse) the entry and send it: the status sent. Failures before the start: problem+json 500."""
        tracked = _Started(send)
        try:
            return await _send(self.get(key, build), scope, tracked)
        except Exception as exc:
            if tracked.started:
                raise
            if isinstance(exc, StorageError) and not isinstance(exc, NotFound):  # the store, not a bug: say which
                log.warning("delivery of %s failed: %s", scope.get("path"), exc)
                detail = exc.public or "storage is unavailable"
                await send_problem(send, 503, "Service Unavailable", detail, fields={"code": exc.code})
                return 503
            log.exception("delivery of %s failed", scope.get("path"))
            await send_problem(send, 500, "Internal Server Error", "the representation could not be read")
            return 500


def _problem_body(status: int, title: str, detail: str, fields: dict[str, str] | None = None) -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **(fields or {})}
    return json.dumps(body).encode()


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    extra: _Headers | None = None,
    *,
    fields: dict[str, str] | None = None,
) -> None:
    """A problem+json answer sent straight to the ASGI ``send`` (``fields``: members past the standard ones), with
    ``Cache-Control: no-store`` unless ``extra`` names one (as :func:`.problems.problem`)."""
    body = _problem_body(status, title, detail, fields)
    headers = [
        *(extra or []),
        *([] if any(name == b"cache-control" for name, _ in extra or ()) else [(b"cache-control", b"no-store")]),
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Started:
    """A ``send`` that notes whether the response has started (so a failure knows whether a 500 can go out)."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        self.started = True
        await self.send(message)


async def _send(rep: Representation, scope: Scope, send: Send) -> int:
    inm = rng = if_range = if_match = None
    range_lines = if_range_lines = 0
    if_unmodified_since = False
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            text = value.decode("latin-1")
            inm = text if inm is None else f"{inm}, {text}"
        elif name == b"if-match":
            text = value.decode("latin-1")
            if_match = text if if_match is None else f"{if_match}, {text}"
        elif name == b"range":  # several lines are joined (RFC 9110 §5.3): not a range set, so ignored
            text = value.decode("latin-1")
            rng = text if rng is None else f"{rng}, {text}"
            range_lines += 1
        elif name == b"if-range":  # joined as well: no longer one entity-tag, so it does not match
            text = value.decode("latin-1")
            if_range = text if if_range is None else f"{if_range}, {text}"
            if_range_lines += 1
        elif name == b"if-unmodified-since":  # ignored here (no Last-Modified); nginx would read it (accel)
            if_unmodified_since = True
    method = scope["method"]
    decided = plan(
        method, rep.etag, rep.length, range_header=rng, if_none_match=inm, if_range=if_range, if_match=if_match
    )
    status = decided.status
    if status == 304:
        await send({"type": "http.response.start", "status": 304, "headers": rep.h304})
        await send(_EMPTY)
        return 304
    head_only = method == "HEAD"
    if status in (412, 416):
        if status == 416:
            body = _problem_body(416, "Range Not Satisfiable", f"the representation has {rep.length} bytes")
            extra = [(b"content-range", f"bytes */{rep.length}".encode("latin-1"))]
        else:
            body = _problem_body(
                412, "Precondition Failed", f"If-Match does not hold: the current ETag is {rep.quoted}"
            )
            extra = []
        headers = [
            *rep.herr,
            *extra,
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head_only else body})
        return status
    if rep.delivery != "direct":
        conditions = Conditions(rng, range_lines, if_range, if_range_lines, if_match is not None, if_unmodified_since)
        offloaded = await _offload(rep, send, method, decided, conditions)
        if offloaded:
            return offloaded
    if status == 206 and len(decided.ranges) > 1:
        await _send_multipart(rep, decided.ranges, send, head_only)
        return 206
    if status == 206:
        span = decided.ranges[0]
        headers = [
            *rep.h206,
            (b"content-length", str(span.length).encode("latin-1")),
            (b"content-range", span.content_range(rep.length).encode("latin-1")),
        ]
    else:
        span, headers = ByteRange(0, rep.length), rep.h200
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    if head_only:
        await send(start)
        await send(_EMPTY)
        return status
    if status == 200 and rep.path is not None and _PATHSEND in (scope.get("extensions") or {}):
        await send(start)
        await send({"type": _PATHSEND, "path": rep.path})
        return status
    whole = rep.inline(span.start, span.stop)
    if whole is not None:
        await send(start)
        await send({"type": "http.response.body", "body": whole})
        return status
    chunks = iterate_in_threadpool(rep.chunks(span.start, span.stop))
    first = await anext(chunks, b"")  # a failing read fails here, before the status is sent
    await send(start)
    await _stream(send, _prepend(first, chunks))
    return status


async def _offload(rep: Representation, send: Send, method: str, decided: Plan, conditions: Conditions) -> int:
    """Hand the body to nginx (accel) or to the object store (redirect) when so configured: the status, or 0.

    nginx gets only what it sends exactly as planned (:func:`.accel.nginx_sends`), with the headers of that answer
    but ``Content-Length`` (its own) and, on a 200, ``Accept-Ranges`` (its range filter adds one: two otherwise).
    Of these it keeps ``Content-Type``, ``Cache-Control`` and ``Accept-Ranges``; the rest (``ETag``, the
    representation's own headers, CORS) reach the client by the config's ``add_header`` (docs/deployment.md).
    """
    target = rep.accel_target()
    if target is not None and nginx_sends(method, decided, rep.length, rep.quoted, conditions):
        ranges = [(b"accept-ranges", b"bytes")] if decided.status == 206 else []
        content_type = (b"content-type", rep.media_type.encode("latin-1"))
        headers = [*rep.h304, *ranges, content_type, (b"x-accel-redirect", target.encode("latin-1"))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(_EMPTY)
        return 200
    url = rep.presigned_url()
    if url is not None:
        headers = [*rep.herr, (b"location", url.encode("latin-1")), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send(_EMPTY)
        return 302
    return 0


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


async def _stream(send: Send, chunks: AsyncIterator[bytes]) -> None:
    async for chunk in chunks:
        if chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send(_EMPTY)


async def _send_multipart(rep: Representation, ranges: tuple[ByteRange, ...], send: Send, head_only: bool) -> None:
    boundary = secrets.token_hex(16)
    heads = [
        f"--{boundary}\r\nContent-Type: {rep.media_type}\r\nContent-Range: {r.content_range(rep.length)}\r\n\r\n"
        for r in ranges
    ]
    parts = [(b"\r\n" if i else b"") + head.encode("latin-1") for i, head in enumerate(heads)]
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    length = sum(len(p) for p in parts) + sum(r.length for r in ranges) + len(tail)
    headers = [
        *rep.h304,
        (b"accept-ranges", b"bytes"),
        (b"content-type", f"multipart/byteranges; boundary={boundary}".encode("latin-1")),
        (b"content-length", str(length).encode("latin-1")),
    ]
    start: Message = {"type": "http.response.start", "status": 206, "headers": headers}
    if head_only:
        await send(start)
        await send(_EMPTY)
        return
    inline = [rep.inline(r.start, r.stop) for r in ranges] if length <= INLINE_READ_BYTES else [None]
    if all(body is not None for body in inline):
        pieces = [piece for part, body in zip(parts, inline, strict=True) for piece in (part, body or b"")]
        await send(start)
        await send({"type": "http.response.body", "body": b"".join([*pieces, tail])})
        return

    def blocking() -> Iterator[bytes]:
        for part, body in zip(parts, _part_reads(rep, ranges), strict=True):
            yield part + next(body, b"")  # each part's first read goes with its head (the first: before the start)
            yield from body
        yield tail

    chunks = iterate_in_threadpool(blocking())
    first = await anext(chunks, b"")
    await send(start)
    await _stream(send, _prepend(first, chunks))


#: Bytes of shared reads (:func:`.delivery.read_spans`) one multipart answer may hold at once, whatever the order
#: its parts were asked in; a part whose read would pass it is read on its own.
READ_HELD = 4 * READ_SPAN


def _part_reads(rep: Representation, ranges: tuple[ByteRange, ...]) -> Iterator[Iterator[bytes]]:
    """Each range's bytes, in chunks, in the order given (blocking). A local blob: a ``pread`` per range. An
    object store: ranges near one another fetched by one read, held until the last of them is sent (so a request
    of 64 small ranges is a GET or two, not 64 round trips)."""
    if rep.body is not None:  # in memory or a local file: no round trip to save
        for r in ranges:
            yield rep.chunks(r.start, r.stop)
        return
    spans = read_spans(ranges)
    starts = [span.start for span in spans]
    which = [bisect_right(starts, r.start) - 1 for r in ranges]
    left = Counter(which)
    held: dict[int, bytes] = {}
    for r, at in zip(ranges, which, strict=True):
        span = spans[at]
        data = held.get(at)
        if data is None and left[at] > 1 and sum(map(len, held.values())) + span.length <= READ_HELD:
            data = held[at] = b"".join(rep.chunks(span.start, span.stop))
        left[at] -= 1
        if data is None:  # alone in its span, or too much held already: a read of its own, streamed
            yield rep.chunks(r.start, r.stop)
            continue
        if not left[at]:
            del held[at]
        yield iter((data[r.start - span.start : r.stop - span.start],))


class RepresentationResponse(Response):
    """A route's answer: :meth:`Representations.deliver` of the entry under ``key`` (routes return Responses)."""

    def __init__(self, representations: Representations, key: Hashable, build: Callable[[], Representation]) -> None:
        self.representations, self.key, self.build = representations, key, build
        self.status_code, self.background, self.body, self.raw_headers = 200, None, b"", []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.status_code = await self.representations.deliver(self.key, self.build, scope, send)
