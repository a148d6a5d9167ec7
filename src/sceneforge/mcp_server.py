"""``sceneforge mcp``: a Model Context Protocol server so coding agents can drive sceneforge (docs/mcp.md).

Built on the official ``mcp`` SDK (:class:`mcp.server.mcpserver.MCPServer`): stdio by default,
streamable HTTP with ``--http``. Tools: ``validate_scene``, ``get_draft``, ``patch_draft``,
``undo``, ``enqueue_build``, ``job_status``, ``publish``, ``get_meta`` — each with a JSON schema
from its typed parameters, each answering a JSON object: the service's answer, or
``{"ok": false, "status", "detail", "errors": [{path, code, message}]}`` whose pointers say where
a description or patch is wrong. Every tool but ``validate_scene`` is one HTTP request to the
service — a remote one (``--url`` and a key, through httpx) or, by default, the service of the
local data dir run inside this process (same validation, same revisions, its admin key), so both
paths behave the same. ``validate_scene`` runs the compiler's checks here (no service needed).
A message that is JSON but not strict JSON (a lone surrogate) is answered -32700 with its ``id`` and the pointer,
over stdio (:func:`_unreadable`) and over HTTP (:class:`_StrictBodies`, in an HTTP 400).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import httpx
from mcp_types import CallToolResult, TextContent
from pydantic import Field

from . import jsontext
from .scene_ids import SCENE_ID_PATTERN
from .settings import Settings
from .version import __version__
from .wire import one_line, shown

log = logging.getLogger(__name__)

__all__ = ["Backend", "build_server", "local_backend", "remote_backend"]

PATCH_TYPE = "application/json-patch+json"
#: Seconds one request to the service may take, its whole answer read.
TIMEOUT_S = 60.0
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
#: Most bytes of one answer a tool reads (a meta of ``SCENEFORGE_MAX_CELLS`` cells is a few MB).
MAX_ANSWER_BYTES = 64 << 20


@dataclass
class Backend:
    """The service the tools talk to: an httpx client (remote URL, or the in-process app)."""

    client: httpx.AsyncClient
    where: str
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request; a JSON object either way (a problem+json becomes ``{"ok": false, …}``).

        The whole exchange takes at most ``TIMEOUT_S`` (httpx's timeout is per read: a server sending
        a byte now and then held the tool for ever) and reads at most ``MAX_ANSWER_BYTES`` of the body;
        an answer that is not strict JSON (an HTML page, NaN) is refused, saying what came back.
        """
        try:
            with anyio.fail_after(TIMEOUT_S):
                status, reason, kind, data = await self._exchange(method, path, **kwargs)
        except TimeoutError:
            return _refused(0, f"{self.where} did not answer within {TIMEOUT_S:g} s")
        except _TooLarge:
            return _refused(0, f"{self.where} answered more than {MAX_ANSWER_BYTES:,} bytes; the answer was dropped")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _refused(0, f"{self.where} is unreachable: {exc}")
        if not data.strip() and status < 400:
            return {"ok": True}
        try:
            body = jsontext.loads(data)
        except (ValueError, RecursionError) as exc:
            said = f"{kind or 'no content type'}, not JSON ({exc}): {shown(_text(data), 200)}"
            return _refused(status, f"{reason}: {said}" if status >= 400 else f"{self.where} answered {said}")
        if status >= 400:
            if not isinstance(body, dict):
                return _refused(status, shown(json.dumps(body), 2000))
            detail = body.get("detail", reason)
            errors = body.get("errors")
            if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
                errors = []
            return _refused(status, detail if isinstance(detail, str) else json.dumps(detail), errors)
        if isinstance(body, dict):
            return {"ok": True, **{k: v for k, v in body.items() if k != "ok"}}
        return {"ok": True, "items": body}

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, str, bytes]:
        """Status, reason, content type and body of one request, the body read up to ``MAX_ANSWER_BYTES``."""
        async with self.client.stream(method, path, **kwargs) as reply:
            declared = reply.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise _TooLarge
            chunks: list[bytes] = []
            size = 0
            async for chunk in reply.aiter_bytes():  # decoded: a gzip bomb counts as what it unpacks to
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise _TooLarge
                chunks.append(chunk)
            kind = reply.headers.get("content-type", "").split(";")[0].strip()
            return reply.status_code, reply.reason_phrase, kind, b"".join(chunks)


class _TooLarge(Exception):
    """An answer past ``MAX_ANSWER_BYTES``."""


def _refused(status: int, detail: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "status": status, "detail": detail, "errors": errors or []}


def _text(data: bytes) -> str:
    return one_line(data[:1000].decode("utf-8", "replace"))


def remote_backend(url: str, key: str) -> Backend:
    """A running service at ``url``, authenticated with an API key."""
    headers = {"X-API-Key": key} if key else {}
    client = httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT_S)
    backend = Backend(client, url)
    backend.stack.push_async_callback(client.aclose)
    return backend


async def local_backend(settings: Settings) -> Backend:
    """The service of the local data dir, in this process (its lifespan entered, its admin key used)."""
    from .api.app import create_app
    from .api.server import ensure_admin_key

    app = create_app(settings)
    stack = AsyncExitStack()
    await stack.enter_async_context(app.router.lifespan_context(app))
    key = await ensure_admin_key(app.state.services)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sceneforge.local", headers={"X-API-Key": key},
        timeout=TIMEOUT_S,
    )  # fmt: skip
    stack.push_async_callback(client.aclose)
    return Backend(client, f"the local service ({settings.storage.data_dir})", stack)


#: "Resource not found" at the handshake protocol versions (MCP 2024-11-05 to 2025-11-25, server/resources).
RESOURCE_NOT_FOUND = -32002
#: The list methods, each answered in one page: no ``nextCursor`` is ever handed out.
LISTS = frozenset({"tools/list", "prompts/list", "resources/list", "resources/templates/list"})


async def _refuse_cursors(ctx: Any, call_next: Any) -> Any:
    """A list request with a ``cursor`` is -32602 (Invalid params), as MCP's pagination says of an invalid cursor:
    every list is one page, so no cursor is one this server handed out (the SDK ignored it and answered page one,
    which a client paging on would take for the page it asked for). The SDK's own checks (the handshake, the
    params' types) run first, so their errors come first; a ``cursor`` of null is no cursor."""
    answer = await call_next(ctx)
    cursor = (ctx.params or {}).get("cursor") if ctx.method in LISTS and ctx.request_id is not None else None
    if cursor is not None:
        from mcp.shared.exceptions import MCPError
        from mcp_types import INVALID_PARAMS

        message = f"Invalid cursor {shown(str(cursor), 100)!r}: every list of this server is one page"
        raise MCPError(code=INVALID_PARAMS, message=message)
    return answer


#: A tool's answer: the JSON object, as a ``CallToolResult`` (its output schema stays that of the object).
Answer = Annotated[CallToolResult, dict[str, Any]]


def answer(body: dict[str, Any]) -> CallToolResult:
    """The tool result of a service answer: a refused request (``"ok": false``) is a tool execution error
    (``isError: true``, as MCP reports them), its object kept as the structured content either way."""
    text = json.dumps(body, indent=2)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=body, is_error=body.get("ok") is False
    )


def _issues(exc: Any) -> list[dict[str, str]]:
    return [issue.as_dict() for issue in getattr(exc, "issues", [])]


def validate_description(description: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The compiler's checks of a description (blocking): ``{valid, errors, warnings}``."""
    from .compile import BuildOptions, check_scene
    from .errors import SceneInvalid

    try:
        warnings = check_scene(json.dumps(description).encode(), BuildOptions(pvs=False, limits=settings.limits))
    except SceneInvalid as exc:
        return {"valid": False, "errors": _issues(exc), "warnings": []}
    return {"valid": True, "errors": [], "warnings": [w.as_dict() for w in warnings]}


SceneId = Annotated[
    str,
    Field(description="The scene's id (1-64 characters of [A-Za-z0-9_-])", pattern=SCENE_ID_PATTERN),
]
#: A job id is one path segment of ``/jobs/{id}`` (32 hex digits as made; any token of that alphabet
#: accepted): ``../keys`` or ``x?y`` would have reached other endpoints with the server's key.
JobId = Annotated[
    str,
    Field(description="A job id from enqueue_build (hex digits)", pattern=r"^[A-Za-z0-9_-]{1,64}$"),
]
IF_REV_HELP = "Refuse the patch unless the draft is at this rev"
# Integer arguments are strict (``strict=True``): pydantic's lax mode took "3", true and 3.0 for 3, and sent them on.
OPS_HELP = 'RFC 6902 operations, e.g. [{"op": "replace", "path": "/cells/0/room/max/0", "value": 6}]'


def build_server(open_backend: Any, settings: Settings) -> Any:
    """The MCP server; ``open_backend()`` (a coroutine function) makes the :class:`Backend` at start-up."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    class Server(MCPServer):
        """MCP's protocol errors where the spec names them: a ``tools/call`` of a tool that does not exist and a
        ``prompts/get`` of a prompt that does not exist are JSON-RPC errors -32602 (Invalid params), not a tool
        result (the SDK answered the first as ``isError: true``) or an error of code 0 (the second).

        A ``resources/read`` of a resource that does not exist is "Resource not found" with the ``uri`` in
        ``data``: -32002 at the handshake versions (2024-11-05 to 2025-11-25 say so), -32602 from 2026-07-28 on
        (SEP-2164 moved it); the SDK answered -32602 at every version."""

        async def read_resource(self, uri: Any, context: Any = None) -> Any:
            try:
                return await super().read_resource(uri, context)
            except ResourceNotFoundError as exc:
                version = getattr(context, "protocol_version", None)
                code = RESOURCE_NOT_FOUND if version in HANDSHAKE_PROTOCOL_VERSIONS else INVALID_PARAMS
                raise MCPError(code=code, message=f"Resource not found: {uri}", data={"uri": str(uri)}) from exc

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            if self._tool_manager.get_tool(name) is None:
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}", data={"name": name})
            return await super().call_tool(name, arguments, context)

        async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
            if self._prompt_manager.get_prompt(name) is None:
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}", data={"name": name})
            return await super().get_prompt(name, arguments, context)

    state: dict[str, Backend] = {}

    @asynccontextmanager
    async def lifespan(server: Any) -> AsyncIterator[dict[str, Any]]:
        backend = await open_backend()
        state["backend"] = backend
        try:
            yield {}
        finally:
            await backend.stack.aclose()

    def backend() -> Backend:
        return state["backend"]

    server = Server(
        "sceneforge",
        middleware=[_refuse_cursors],
        version=__version__,  # the initialize answer's serverInfo (MCP: an implementation's name and version)
        instructions="Edit sceneforge scenes: read a draft, change it with JSON Patch (validated; errors carry JSON "
        "pointers), undo, build the draft, check the job, publish a version, read the published meta.",
        lifespan=lifespan,
    )

    @server.tool()
    async def validate_scene(
        description: Annotated[dict[str, Any], Field(description="A whole scene description (JSON object)")],
    ) -> dict[str, Any]:
        """Check a scene description as a build would, without building: errors with JSON pointers, warnings."""
        return await anyio.to_thread.run_sync(validate_description, description, settings)

    @server.tool()
    async def get_draft(scene_id: SceneId) -> Answer:
        """The scene's draft: rev, description, author, canUndo, canRedo."""
        return answer(await backend().call("GET", f"/scenes/{scene_id}/draft"))

    @server.tool()
    async def patch_draft(
        scene_id: SceneId,
        ops: Annotated[list[dict[str, Any]], Field(description=OPS_HELP)],
        reason: Annotated[str, Field(description="Why, for the history (one sentence)", max_length=1000)] = "",
        if_rev: Annotated[int | None, Field(description=IF_REV_HELP, ge=1, strict=True)] = None,
    ) -> Answer:
        """Change the draft with a JSON Patch; a refused patch changes nothing and lists errors with pointers."""
        headers = {"Content-Type": PATCH_TYPE}
        if reason.strip():  # any text, as RFC 8187's UTF-8'' + percent-encoded UTF-8 (docs/drafts.md)
            headers["X-Change-Reason"] = "UTF-8''" + quote(reason.strip(), safe="")
        if if_rev is not None:
            headers["If-Match"] = f'"rev-{if_rev}"'
        return answer(
            await backend().call("PATCH", f"/scenes/{scene_id}/draft", content=json.dumps(ops), headers=headers)
        )

    @server.tool()
    async def undo(scene_id: SceneId) -> Answer:
        """Undo the draft's most recent change (a new revision); refused when there is nothing to undo."""
        return answer(await backend().call("POST", f"/scenes/{scene_id}/draft/undo"))

    @server.tool()
    async def enqueue_build(scene_id: SceneId) -> Answer:
        """Queue a build of the draft's current revision: {jobId, rev, sceneId}. The version it makes is not public."""
        return answer(await backend().call("POST", f"/scenes/{scene_id}/draft/build"))

    @server.tool()
    async def job_status(job_id: JobId) -> Answer:
        """A job: status (Queued, Running, Succeeded, Failed, Canceled), progress, error, result (its version)."""
        return answer(await backend().call("GET", f"/jobs/{job_id}"))

    @server.tool()
    async def publish(
        scene_id: SceneId,
        version: Annotated[int, Field(description="The version number to make public", ge=1, strict=True)],
    ) -> Answer:
        """Make a built version the public one (an older one rolls back)."""
        return answer(await backend().call("POST", f"/scenes/{scene_id}/publish", json={"version": version}))

    @server.tool()
    async def get_meta(scene_id: SceneId) -> Answer:
        """The published version's meta: cells, portals, visibility, byte ranges, stats (docs/meta.md)."""
        return answer(await backend().call("GET", f"/scenes/{scene_id}/meta"))

    return server


def run(settings: Settings, *, url: str = "", key: str = "", http: bool = False, host: str = "127.0.0.1",
        port: int = 8765) -> None:  # fmt: skip
    """Serve MCP until stopped: stdio, or streamable HTTP at ``http://host:port/mcp`` with ``http``."""

    async def open_backend() -> Backend:
        return remote_backend(url, key) if url else await local_backend(settings)

    server = build_server(open_backend, settings)
    if http:
        anyio.run(serve_http, server, host, port)
    else:
        anyio.run(serve_stdio, server)


async def serve_http(server: Any, host: str, port: int) -> None:
    """``server`` over streamable HTTP at ``http://host:port/mcp``, as the SDK's ``run("streamable-http")`` serves
    it, its POST bodies checked first by :class:`_StrictBodies`."""
    import uvicorn

    app = _StrictBodies(server.streamable_http_app(host=host))
    config = uvicorn.Config(app, host=host, port=port, log_level=server.settings.log_level.lower())
    await uvicorn.Server(config).serve()


class _StrictBodies:
    """ASGI: a POST to ``/mcp`` whose body is JSON to Python but not to the SDK's parser (a string with a lone
    surrogate such as ``"\\ud83d"``, which ``JSON.stringify`` writes for half an emoji) is answered 400 with -32700,
    its ``id`` and the JSON pointer of the string, as over stdio (:func:`_unreadable`). The SDK's transport answered
    it with ``id`` null and a line and column, nothing an agent can act on. Any other body goes to the SDK as sent
    (the SDK parses it again: one more C-speed parse of at most its 4 MiB limit)."""

    def __init__(self, app: Any, path: str = "/mcp", limit: int = 4 << 20) -> None:
        self.app, self.path, self.limit = app, path, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more, other = 0, True, None
        while more and size <= self.limit:  # past the limit the SDK refuses it (413), as before
            message = await receive()
            if message["type"] != "http.request":  # the client went: the SDK sees it as it would have
                other = message
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not more and other is None and size <= self.limit and (refused := _not_strict(body)) is not None:
            rid, why = refused
            answer = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32700, "message": why}}
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": json.dumps(answer).encode()})
            return
        replay = [{"type": "http.request", "body": body, "more_body": more}, *([other] if other else [])]

        async def replayed() -> Any:
            return replay.pop(0) if replay else await receive()

        await self.app(scope, replayed, send)


def _not_strict(body: bytes) -> tuple[str | int | None, str] | None:
    """The ``id`` and the parse error of a body the SDK's parser refuses and Python's reads; else None."""
    import contextlib

    import pydantic_core

    with contextlib.suppress(ValueError):
        pydantic_core.from_json(body)  # what the SDK's transport parses the body with
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    rid, why = _unreadable(text)
    return (rid, why) if why.startswith("Parse error: not strict JSON") else None


async def serve_stdio(server: Any) -> None:
    """``server`` over stdin and stdout until stdin ends, Ctrl-C (SIGINT) or SIGTERM.

    The SDK reads stdin in a worker thread, which no cancel reaches: Ctrl-C waited for the client's
    next line, for ever when it sent none, and SIGTERM ended the process without the service's
    shutdown (running builds handed back). Here a pipe or terminal is read when the event loop sees
    it readable, so a stop signal ends the session at once and the service stops as it should.
    When stdin ends, the requests in flight are answered first (:class:`_Answering`, at most
    :data:`DRAIN_S`; SIGTERM ends that wait), as stdout is still open.
    """
    import signal

    from mcp.server.stdio import stdio_server

    lines = _StdinLines.claim()
    reading: list[_Answering] = []
    try:
        async with anyio.create_task_group() as group:

            async def stop_on_signal(lines: _StdinLines) -> None:
                with anyio.open_signal_receiver(signal.SIGTERM) as signals:
                    async for _ in signals:
                        lines.stop()  # as if stdin ended: the session closes and the service stops in order
                        for session_reads in reading:
                            session_reads.stop()  # and the requests in flight are not waited for: cancelled

            if lines is not None:
                group.start_soon(stop_on_signal, lines)
            async with stdio_server(stdin=lines) as (read, write):  # type: ignore[arg-type]
                reading.append(_Answering(read, write))
                lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs
                await lowlevel.run(reading[0], reading[0].answers, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()
    finally:
        if lines is not None:
            lines.release()


def _id_of(errors: list[dict[str, Any]]) -> str | int | None:
    """The ``id`` of a JSON object the errors were about, if it has one a client can match (a string or an
    integer); else None, as JSON-RPC 2.0 answers what it cannot tell the id of."""
    for e in errors:
        found = e.get("input")
        if isinstance(found, dict):
            rid = found.get("id")
            if isinstance(rid, str | int) and not isinstance(rid, bool):
                return rid
    return None


def _unreadable(line: Any) -> tuple[str | int | None, str]:
    """The ``id`` and the parse error of a line the SDK's JSON parser refused.

    Python's parser reads more than the SDK's, such as a string with a lone surrogate (``"\\ud800"``, which
    ``JSON.stringify`` writes for half an emoji). Such a request was answered with ``id`` null, which no
    client matches, so it waited until its timeout; it is now answered with its ``id``, saying where the
    text is not strict JSON.
    """
    why = "Parse error: the line is not JSON, or nests too deep"
    if not isinstance(line, str):
        return None, why
    try:
        value = json.loads(line)
        jsontext.loads(line, max_depth=None)
    except jsontext.JsonTextError as exc:
        why = f"Parse error: not strict JSON at {exc.pointer or '/'}: {exc.message}"
    except (ValueError, RecursionError):
        return None, why
    return _id_of([{"input": value}]), why


class _Answering:
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
                rid, why = _unreadable(whole[0].get("input") if whole else None)
                error = ErrorData(code=PARSE_ERROR, message=why)
                await self.write.send(SessionMessage(message=JSONRPCError(jsonrpc="2.0", id=rid, error=error)))
                continue
            else:
                message = "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
                error = ErrorData(code=INVALID_REQUEST, message=message)
            await self.write.send(SessionMessage(message=JSONRPCError(jsonrpc="2.0", id=_id_of(errors), error=error)))

    def __aiter__(self) -> _Answering:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self.read.aclose()

    async def __aenter__(self) -> _Answering:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Answers:
    """The session's write stream, telling :class:`_Answering` of each answer (a result or an error) sent."""

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


class _StdinLines:
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
    def claim(cls) -> _StdinLines | None:
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

    def __aiter__(self) -> _StdinLines:
        return self

    async def __anext__(self) -> str:
        import os

        while True:
            end = self.pending.find(b"\n", self.searched)
            if end >= 0 and self.skipping:  # the rest of a line past MAX_LINE_BYTES: dropped with it
                del self.pending[: end + 1]
                self.searched, self.skipping = 0, False
                return TOO_LONG  # answered as a parse error (_Answering)
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
