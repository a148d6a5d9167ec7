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
over stdio (:func:`.messages.unreadable`) and over HTTP (:class:`.http_transport.StrictBodies`, in an HTTP 400).

Modules: :mod:`.backend` (the service the tools call), :mod:`.tools` (the server's tools, prompts and resources),
:mod:`.arguments` (tool arguments outside a tool's input schema, said as the service's 422 says them),
:mod:`.stdio_transport` and :mod:`.http_transport` (the two transports), :mod:`.messages` (lines the SDK refuses).
"""

from __future__ import annotations

import anyio

from ..settings import Settings
from .backend import Backend, local_backend, remote_backend
from .http_transport import serve_http
from .stdio_transport import serve_stdio
from .tools import build_server

__all__ = ["Backend", "build_server", "local_backend", "remote_backend", "run"]


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
