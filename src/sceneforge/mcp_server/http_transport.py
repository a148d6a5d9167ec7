"""MCP over streamable HTTP (``sceneforge mcp --http``): the SDK's app, its POST bodies checked first
(:class:`StrictBodies`)."""

from __future__ import annotations

import json
from typing import Any

from .messages import unreadable

__all__ = ["StrictBodies", "serve_http"]


async def serve_http(server: Any, host: str, port: int) -> None:
    """``server`` over streamable HTTP at ``http://host:port/mcp``, as the SDK's ``run("streamable-http")`` serves
    it, its POST bodies checked first by :class:`StrictBodies`."""
    import uvicorn

    app = StrictBodies(server.streamable_http_app(host=host))
    config = uvicorn.Config(app, host=host, port=port, log_level=server.settings.log_level.lower())
    await uvicorn.Server(config).serve()


class StrictBodies:
    """ASGI: a POST to ``/mcp`` whose body is JSON to Python but not to the SDK's parser (a string with a lone
    surrogate such as ``"\\ud83d"``, which ``JSON.stringify`` writes for half an emoji) is answered 400 with -32700,
    its ``id`` and the JSON pointer of the string, as over stdio (:func:`unreadable`). The SDK's transport answered
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
    rid, why = unreadable(text)
    return (rid, why) if why.startswith("Parse error: not strict JSON") else None
