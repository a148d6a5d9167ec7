"""MCP over stdin and stdout (``sceneforge mcp``): stdin read on the event loop (a stop signal ends the
session at once), every line that is not a JSON-RPC message answered, the requests in flight answered when stdin
ends (at most :data:`DRAIN_S`), a line past :data:`MAX_LINE_BYTES` dropped."""

from __future__ import annotations

import logging
from typing import Any

import anyio

from .messages import id_of, unreadable

log = logging.getLogger(__name__)

__all__ = ["DRAIN_S", "MAX_LINE_BYTES", "TOO_LONG", "Answering", "StdinLines", "serve_stdio"]


#: Most bytes of one message read from stdin (a description of SCENEFORGE_MAX_BODY_BYTES fits); a longer
#: one is dropped, as the HTTP transport refuses a body past its limit, instead of growing memory without end.
MAX_LINE_BYTES = 64 << 20


#: What a message dropped for its length reads as (not JSON; answered as a parse error naming the limit).
TOO_LONG = "\x00a message past MAX_LINE_BYTES\n"


#: Seconds the requests in flight when stdin ends still have to be answered (stdout is open: MCP's stdio shutdown
#: closes stdin, then waits for the server to exit); one not answered by then is cancelled, and gets -32000.
DRAIN_S = 10.0


#: Requests that run until the client goes (a stream of change events, 2026-07-28): not waited for when stdin ends.
UNENDING = frozenset({"subscriptions/listen"})


async def serve_stdio(server: Any) -> None:
    """``server`` over stdin and stdout until stdin ends, Ctrl-C (SIGINT) or SIGTERM.

    The SDK reads stdin in a worker thread, which no cancel reaches: Ctrl-C waited for the client's
    next line, for ever when it sent none, and SIGTERM ended the process without the service's
    shutdown (running builds handed back). Here a pipe or terminal is read when the event loop sees
    it readable, so a stop signal ends the session at once and the service stops as it should.
    When stdin ends, the requests in flight are answered first (:class:`Answering`, at most
    :data:`DRAIN_S`; SIGTERM ends that wait), as stdout is still open.
    """
    import signal

    from mcp.server.stdio import stdio_server

    lines = StdinLines.claim()
    reading: list[Answering] = []
    try:
        async with anyio.create_task_group() as group:

            async def stop_on_signal(lines: StdinLines) -> None:
                with anyio.open_signal_receiver(signal.SIGTERM) as signals:
                    async for _ in signals:
                        lines.stop()  # as if stdin ended: the session closes and the service stops in order
                        for session_reads in reading:
                            session_reads.stop()  # and the requests in flight are not waited for: cancelled

            if lines is not None:
                group.start_soon(stop_on_signal, lines)
            async with stdio_server(stdin=lines) as (read, write):  # type: ignore[arg-type]
                reading.append(Answering(read, write))
                lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs
                await lowlevel.run(reading[0], reading[0].answers, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()
    finally:
        if lines is not None:
            lines.release()


class Answering:
    """The session's read stream, answering each line that is not a JSON-RPC message.

    The SDK's stdio transport hands such a line to the session as an exception, which drops it: the
    client waits for an answer that never comes. JSON-RPC 2.0 (§5.1) answers it, with its ``id`` when it
    is a JSON object with one (else null):
    -32700 Parse error when it is not JSON (or nests deeper than the parser goes, or is past
    :data:`MAX_LINE_BYTES`), -32600 Invalid Request when it is JSON but no request, notification or
    response. A blank line is skipped.

    It also keeps the ids of the requests read and not yet answered (nor cancelled by the client, nor
    :data:`UNENDING`): when
    stdin ends, the end reaches the session only once each is answered, or after :data:`DRAIN_S`, or at
    :meth:`stop` — the SDK cancels the requests in flight at the end of its read stream, answering -32000
    (Connection closed), though stdout is still open and a client closing stdin may wait for the answers.
    :attr:`answers` is the write stream the session answers through, which tells which were.
    """

    def __init__(self, read: Any, write: Any) -> None:
        self.read, self.write = read, write
        self.open: dict[Any, int] = {}  # a request id (as the SDK correlates ids) -> requests of it not answered
        self.changed = anyio.Event()  # set when an open request is answered or cancelled, or at stop()
        self.stopped = False
        self.answers = _Answers(write, self.settle)

    def stop(self) -> None:
        """Wait no longer for the requests in flight when stdin ends."""
        self.stopped = True
        self.changed.set()

    def settle(self, request_id: Any) -> None:
        """A request of this id was answered, or cancelled by the client (then it gets no answer)."""
        from mcp.shared.dispatcher import coerce_request_id

        key = coerce_request_id(request_id)
        if key in self.open:
            self.open[key] -= 1
            if not self.open[key]:
                del self.open[key]
            self.changed.set()

    def _note(self, item: Any) -> None:
        from mcp.shared.dispatcher import coerce_request_id
        from mcp_types import JSONRPCNotification, JSONRPCRequest

        message = getattr(item, "message", None)
        if isinstance(message, JSONRPCRequest) and message.method not in UNENDING:
            key = coerce_request_id(message.id)
            self.open[key] = self.open.get(key, 0) + 1
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            rid = (message.params or {}).get("requestId")
            if isinstance(rid, str | int) and not isinstance(rid, bool):
                self.settle(rid)

    async def _drain(self) -> None:
        """Wait until each request read is answered, for at most DRAIN_S (stdin has ended)."""
        with anyio.move_on_after(DRAIN_S):
            while self.open and not self.stopped:
                self.changed = anyio.Event()
                await self.changed.wait()
        if self.open:
            log.warning("stdin ended: %d request(s) still in flight are cancelled", sum(self.open.values()))

    def __getattr__(self, name: str) -> Any:  # ``last_context`` and whatever else the SDK reads off its stream
        return getattr(self.read, name)

    async def receive(self) -> Any:
        from mcp.shared.message import SessionMessage
        from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError

        while True:
            try:
                item = await self.read.receive()
            except anyio.EndOfStream:
                await self._drain()
                raise
            if not isinstance(item, Exception):
                self._note(item)
                return item
            found = getattr(item, "errors", None)  # a pydantic ValidationError: what the line was, and why refused
            errors: list[dict[str, Any]] = list(found()) if callable(found) else []
            whole = [e for e in errors if e.get("loc") == () and e.get("type") == "json_invalid"]
            if whole and isinstance(whole[0].get("input"), str) and not whole[0]["input"].strip():
                continue  # a blank line: nothing was asked
            if any(e.get("input") == TOO_LONG for e in errors):
                error = ErrorData(code=PARSE_ERROR, message=f"Parse error: a message past {MAX_LINE_BYTES:,} bytes")
            elif not errors or any(e.get("type") == "json_invalid" for e in errors):
                rid, why = unreadable(whole[0].get("input") if whole else None)
                error = ErrorData(code=PARSE_ERROR, message=why)
                await self.write.send(SessionMessage(message=JSONRPCError(jsonrpc="2.0", id=rid, error=error)))
                continue
            else:
                message = "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
                error = ErrorData(code=INVALID_REQUEST, message=message)
            await self.write.send(SessionMessage(message=JSONRPCError(jsonrpc="2.0", id=id_of(errors), error=error)))

    def __aiter__(self) -> Answering:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self.read.aclose()

    async def __aenter__(self) -> Answering:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Answers:
    """The session's write stream, telling :class:`Answering` of each answer (a result or an error) sent."""

    def __init__(self, write: Any, settle: Any) -> None:
        self.write, self.settle = write, settle

    def __getattr__(self, name: str) -> Any:
        return getattr(self.write, name)

    async def send(self, item: Any) -> None:
        from mcp_types import JSONRPCError, JSONRPCResponse

        await self.write.send(item)
        message = getattr(item, "message", None)
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            self.settle(message.id)

    async def aclose(self) -> None:
        await self.write.aclose()

    async def __aenter__(self) -> _Answers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class StdinLines:
    """The lines of stdin (a pipe, socket or terminal), read when readable: a cancelled read returns at once.

    fd 0 itself points at the null device meanwhile (as the SDK does), so that child processes read no
    byte of the protocol; :meth:`release` puts it back.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = bytearray()  # appended to in place: a line of many reads is not copied per read
        self.searched = 0  # bytes of pending known to hold no newline
        self.stopped = self.skipping = False
        self.waiting: anyio.CancelScope | None = None

    def stop(self) -> None:
        """End the lines now, as the end of stdin would."""
        self.stopped = True
        if self.waiting is not None:
            self.waiting.cancel()

    @classmethod
    def claim(cls) -> StdinLines | None:
        """None where stdin is something else (a file, the null device): its reads end, the SDK's reader serves."""
        import fcntl
        import os
        import stat

        try:
            mode = os.fstat(0).st_mode
            if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(0)):
                return None
            private = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        except OSError:
            return None
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        return cls(private)

    def release(self) -> None:
        import os

        os.dup2(self.fd, 0)
        os.close(self.fd)

    def __aiter__(self) -> StdinLines:
        return self

    async def __anext__(self) -> str:
        import os

        while True:
            end = self.pending.find(b"\n", self.searched)
            if end >= 0 and self.skipping:  # the rest of a line past MAX_LINE_BYTES: dropped with it
                del self.pending[: end + 1]
                self.searched, self.skipping = 0, False
                return TOO_LONG  # answered as a parse error (Answering)
            if end >= 0:
                break
            if len(self.pending) > MAX_LINE_BYTES or self.skipping:
                if not self.skipping:
                    log.warning("stdin: a message of more than %s bytes was dropped", f"{MAX_LINE_BYTES:,}")
                self.pending.clear()
                self.skipping = True
            self.searched = len(self.pending)
            with anyio.CancelScope() as self.waiting:
                if not self.stopped:
                    await anyio.wait_readable(self.fd)
            self.waiting = None
            if self.stopped:
                raise StopAsyncIteration
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:  # another reader took the bytes first
                continue
            if not chunk:
                if not self.pending or self.skipping:
                    raise StopAsyncIteration
                self.pending.append(0x0A)  # a last line without its newline
            else:
                self.pending += chunk
        line = bytes(self.pending[: end + 1])
        del self.pending[: end + 1]
        self.searched = 0
        return line.decode("utf-8", "replace")
