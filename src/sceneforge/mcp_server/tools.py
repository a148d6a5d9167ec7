"""The MCP server's tools, prompts and resources (:func:`build_server`), each tool one request to the
:class:`~.backend.Backend` but ``validate_scene`` (the compiler's checks, here), each answering a JSON object."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from mcp_types import CallToolResult, TextContent
from pydantic import Field

from ..errors import MAX_ISSUES
from ..scene_ids import SCENE_ID_PATTERN
from ..settings import Settings
from ..version import __version__
from ..wire import MAX_INT64, a_json_type, json_pointer, shown
from .arguments import refused_arguments
from .backend import PATCH_TYPE, Backend

__all__ = ["RESOURCE_NOT_FOUND", "answer", "build_server", "validate_description"]

log = logging.getLogger(__name__)


#: "Resource not found" at the handshake protocol versions (MCP 2024-11-05 to 2025-11-25, server/resources).
RESOURCE_NOT_FOUND = -32002


#: Characters of an unknown tool's or prompt's name quoted in its error (MCP's names are 1 to 128 characters).
MAX_NAME_CHARS = 128


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


#: Errors of a request's params told in an Invalid params error's message (all of them, up to MAX_ISSUES, in its data).
PARAMS_ERRORS_SHOWN = 3


async def _say_invalid_params(ctx: Any, call_next: Any) -> Any:
    """A request whose params are not of its method's shape (a ``tools/call`` whose ``arguments`` is an array, whose
    ``name`` is a number or missing) is -32602 saying where and why (``Invalid params of tools/call: /arguments:
    Input should be a valid dictionary (an array was given)``), each error's pointer into the params in ``data``:
    the SDK answered "Invalid request parameters" with ``data`` "" whatever was wrong, so a client could not tell
    which of its params to fix. Only the SDK's check of the params is read so (its ``ValidationError`` of the
    request or of its params): a tool's own failures are the tool's."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS
    from pydantic import ValidationError

    try:
        return await call_next(ctx)
    except ValidationError as exc:
        if not exc.title.endswith(("Request", "Params")):
            raise
        errors = [_params_error(e) for e in exc.errors()[:MAX_ISSUES]]
        said = "; ".join(f"{e['path'] or '(the params)'}: {e['message']}" for e in errors[:PARAMS_ERRORS_SHOWN])
        more = len(exc.errors()) - PARAMS_ERRORS_SHOWN
        said += f" (and {more:,} more)" if more > 0 else ""
        message = f"Invalid params of {ctx.method}: {said}"
        raise MCPError(code=INVALID_PARAMS, message=message, data={"errors": errors}) from None


def _params_error(error: Any) -> dict[str, str]:
    """One pydantic error of a request's params as ``{path, code, message}``, ``path`` a JSON pointer into the params
    (the request's own ``params`` member dropped), its message saying what was given, as JSON names it."""
    loc = list(error["loc"])
    loc = loc[1:] if loc[:1] == ["params"] else loc
    given = "missing" if error["type"] == "missing" else f"{a_json_type(error.get('input'))} was given"
    return {"path": json_pointer(loc), "code": error["type"], "message": f"{error['msg']} ({given})"}


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


def validate_description(
    description: dict[str, Any], settings: Settings, progress: Callable[[str, float], None] | None = None
) -> dict[str, Any]:
    """The compiler's checks of a description (blocking): ``{valid, errors, warnings}``; ``progress`` is called
    between their stages (what it raises, such as ``BuildCanceled``, stops them)."""
    from ..compile import BuildOptions, check_scene
    from ..errors import SceneInvalid

    step = progress or (lambda stage, fraction: None)
    try:
        step("ingest", 0.0)  # before the description's text is made: seconds for a 20,000-cell one
        options = BuildOptions(pvs=False, limits=settings.limits)
        warnings = check_scene(json.dumps(description).encode(), options, progress=step)
    except SceneInvalid as exc:
        return {"valid": False, "errors": _issues(exc), "warnings": []}
    return {"valid": True, "errors": [], "warnings": [w.as_dict() for w in warnings]}


async def checked_off_loop(
    description: dict[str, Any], settings: Settings, limiter: anyio.CapacityLimiter | None = None
) -> dict[str, Any]:
    """:func:`validate_description` in a worker thread held to ``limiter``, stopped when the call is cancelled.

    A thread takes no cancel: ``validate_scene`` cancelled by its client (``notifications/cancelled``), or by the
    session's end, ran its check to the end (seconds of CPU for a large scene, each call one thread). Here the check
    asks between its stages (:func:`~sceneforge.compile.check_scene`'s ``progress``) whether the call was cancelled
    (:func:`anyio.from_thread.check_cancelled`, which raises the cancel there): it stops at the next one, and the call
    ends then, answering nothing (a cancelled request gets no answer). Not abandoned on a cancel (``run_sync``'s
    default): the call ends with its thread, so cancelled calls never pile up threads still checking."""
    return await anyio.to_thread.run_sync(
        validate_description, description, settings, _stop_if_cancelled, limiter=limiter
    )


def _stop_if_cancelled(stage: str, fraction: float) -> None:
    """A check's ``progress`` in an anyio worker thread: raises the cancel of the call it runs for, if any."""
    anyio.from_thread.check_cancelled()


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
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError, UnexpectedToolError
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
    from pydantic import ValidationError

    class Server(MCPServer):
        """MCP's protocol errors where the spec names them: a ``tools/call`` of a tool that does not exist and a
        ``prompts/get`` of a prompt that does not exist are JSON-RPC errors -32602 (Invalid params), not a tool
        result (the SDK answered the first as ``isError: true``) or an error of code 0 (the second).

        A ``resources/read`` of a resource that does not exist is "Resource not found" with the ``uri`` in
        ``data``: -32002 at the handshake versions (2024-11-05 to 2025-11-25 say so), -32602 from 2026-07-28 on
        (SEP-2164 moved it); the SDK answered -32602 at every version.

        Arguments outside a tool's input schema are the tool error the service's 422 would be
        (:func:`.arguments.refused_arguments`), not pydantic's text: ``call_tool`` is where the SDK says a server
        catches every tool failure (its ``ToolError``; the SDK's own check of the arguments raises one caused by
        pydantic's ``ValidationError``)."""

        async def read_resource(self, uri: Any, context: Any = None) -> Any:
            try:
                return await super().read_resource(uri, context)
            except ResourceNotFoundError as exc:
                version = getattr(context, "protocol_version", None)
                code = RESOURCE_NOT_FOUND if version in HANDSHAKE_PROTOCOL_VERSIONS else INVALID_PARAMS
                raise MCPError(code=code, message=f"Resource not found: {uri}", data={"uri": str(uri)}) from exc

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            tool = self._tool_manager.get_tool(name)
            if tool is None:
                said = shown(name, MAX_NAME_CHARS)  # a name of a whole stdio line was quoted twice, whole
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {said}", data={"name": said})
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                # The SDK's check of the arguments against the input schema (a ToolError caused by pydantic's
                # ValidationError, before the tool runs): said as the service's 422 says it, not pydantic's text.
                if isinstance(exc, UnexpectedToolError) or not isinstance(exc.__cause__, ValidationError):
                    raise
                errors = exc.__cause__.errors()
                # The count and the first few pointers: 200,000 bad items made one log line of megabytes.
                firsts = [json_pointer(e["loc"]) for e in errors[:5]]
                log.info("tool %r refused %d arguments, first at %s", name, len(errors), firsts)
                return answer(refused_arguments(name, errors, tool.parameters))

        async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
            if self._prompt_manager.get_prompt(name) is None:
                said = shown(name, MAX_NAME_CHARS)
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {said}", data={"name": said})
            return await super().get_prompt(name, arguments, context)

    state: dict[str, Backend] = {}
    # validate_scene's checks at once, as the service holds its own (a 20,000-cell scene's takes ~700 MB): anyio's
    # default pool ran 40, whatever the sessions asked. A call waiting its turn is cancelled at once.
    checks = anyio.CapacityLimiter(settings.jobs.build_concurrency)

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
        middleware=[_say_invalid_params, _refuse_cursors],
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
        return await checked_off_loop(description, settings, checks)

    @server.tool()
    async def get_draft(scene_id: SceneId) -> Answer:
        """The scene's draft: rev, description, author, canUndo, canRedo."""
        return answer(await backend().call("GET", f"/scenes/{scene_id}/draft"))

    @server.tool()
    async def patch_draft(
        scene_id: SceneId,
        ops: Annotated[list[dict[str, Any]], Field(description=OPS_HELP)],
        reason: Annotated[str, Field(description="Why, for the history (one sentence)", max_length=1000)] = "",
        if_rev: Annotated[int | None, Field(description=IF_REV_HELP, ge=1, le=MAX_INT64, strict=True)] = None,
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
        version: Annotated[
            int, Field(description="The version number to make public", ge=1, le=MAX_INT64, strict=True)
        ],
    ) -> Answer:
        """Make a built version the public one (an older one rolls back)."""
        return answer(await backend().call("POST", f"/scenes/{scene_id}/publish", json={"version": version}))

    @server.tool()
    async def get_meta(scene_id: SceneId) -> Answer:
        """The published version's meta: cells, portals, visibility, byte ranges, stats (docs/meta.md)."""
        return answer(await backend().call("GET", f"/scenes/{scene_id}/meta"))

    return server
