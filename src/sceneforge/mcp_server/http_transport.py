"""MCP over streamable HTTP (``sceneforge mcp --http``): the SDK's app, its POST bodies checked first
(:class:`StrictBodies`): one past :data:`MAX_BODY_BYTES` is answered 413 with a JSON-RPC error naming the limit, one
of another type than ``application/json`` or compressed 415 with a JSON-RPC error naming what is taken."""

from __future__ import annotations

import json
from typing import Any

from .messages import unreadable

__all__ = ["MAX_BODY_BYTES", "StrictBodies", "serve_http"]


JSON_TYPE = "application/json"
#: Most bytes of one POST body (4 MiB, the SDK transport's default ``DEFAULT_MAX_REQUEST_BODY_SIZE``; given to it too).
MAX_BODY_BYTES = 4 << 20


async def serve_http(server: Any, host: str, port: int) -> None:
    """``server`` over streamable HTTP at ``http://host:port/mcp``, as the SDK's ``run("streamable-http")`` serves
    it, its POST bodies checked first by :class:`StrictBodies`."""
    import uvicorn

    app = StrictBodies(server.streamable_http_app(host=host, max_request_body_size=MAX_BODY_BYTES))
    config = uvicorn.Config(app, host=host, port=port, log_level=server.settings.log_level.lower())
    await uvicorn.Server(config).serve()


class StrictBodies:
    """ASGI: a POST to ``/mcp`` whose body is JSON to Python but not to the SDK's parser (a string with a lone
    surrogate such as ``"\\ud83d"``, which ``JSON.stringify`` writes for half an emoji) is answered 400 with -32700,
    its ``id`` and the JSON pointer of the string, as over stdio (:func:`unreadable`). The SDK's transport answered
    it with ``id`` null and a line and column, nothing an agent can act on.

    A body past ``limit`` (its ``Content-Length``, or the bytes read) is answered 413 with the JSON-RPC error -32600
    naming the limit and stdio's, with ``id`` null (what comes first of a body cut off cannot be trusted for one; the
    SDK's clients answer the call they sent with it). The SDK's transport answered a plain-text 413, which its
    clients report as "Server returned an error response": an agent calling ``validate_scene`` with a large
    description could not tell what was wrong. Any other body goes to the SDK as sent (the SDK parses it again: one
    more C-speed parse of at most its 4 MiB limit)."""

    def __init__(self, app: Any, path: str = "/mcp", limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.path, self.limit = app, path, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        unread = _media_refused(scope.get("headers") or [])
        if unread is not None:
            await _answer(send, 415, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": unread}})
            return
        scope = {**scope, "headers": _type_lowered(scope.get("headers") or [])}
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size, more, other = 0, True, None
        while more and size <= self.limit:
            message = await receive()
            if message["type"] != "http.request":  # the client went: the SDK sees it as it would have
                other = message
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        if other is None and size > self.limit:  # the rest is not read: the server closes the connection
            await self._too_large(send)
            return
        body = b"".join(chunks)
        if not more and other is None and size <= self.limit and (refused := _not_strict(body)) is not None:
            rid, why, code = refused
            await _answer(send, 400, {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": why}})
            return
        replay = [{"type": "http.request", "body": body, "more_body": more}, *([other] if other else [])]

        async def replayed() -> Any:
            return replay.pop(0) if replay else await receive()

        await self.app(scope, replayed, send)

    async def _too_large(self, send: Any) -> None:
        from .stdio_transport import MAX_LINE_BYTES

        why = (
            f"Invalid Request: the body is more than {self.limit:,} bytes, the most this server reads over HTTP; "
            f"send less, or run sceneforge mcp over stdio (messages of up to {MAX_LINE_BYTES:,} bytes)"
        )
        await _answer(send, 413, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": why}})


async def _answer(send: Any, status: int, answer: dict[str, Any]) -> None:
    """A JSON-RPC error as the HTTP answer: what the SDK's clients read and report for the call."""
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(answer).encode()})


def _media_refused(headers: Any) -> str | None:
    """Why a POST's ``Content-Type`` or ``Content-Encoding`` is not one the SDK reads (a JSON-RPC message, words an
    agent acts on), or None. The SDK's security middleware answered a missing or other type with a plain-text 400
    "Invalid Content-Type header", naming no type, and read a gzip body as text ("Parse error: expected value")."""
    lines = [(name.lower(), value.decode("latin-1")) for name, value in headers]
    codings = [
        part.strip().lower() for name, value in lines if name == b"content-encoding" for part in value.split(",")
    ]
    if any(coding not in {"", "identity"} for coding in codings):
        return f"Invalid Request: Content-Encoding {', '.join(codings)!r} is not accepted: send the body uncompressed"
    kind = next((value for name, value in lines if name == b"content-type"), None)
    if kind is None:
        return "Invalid Request: the body has no Content-Type: send application/json"
    # Both of the SDK's checks: its security middleware's (a prefix), then its transport's (exactly), in any case
    # (a media type's name is case-insensitive, RFC 9110 8.3.1: the SDK gets it in lower case, _type_lowered).
    essence = kind.split(";")[0].lower()
    if not kind.lower().startswith(JSON_TYPE) or JSON_TYPE not in (part.strip() for part in essence.split(",")):
        shown = kind if len(kind) <= 80 else kind[:80] + "…"
        return f"Invalid Request: Content-Type {shown!r} is not accepted: send {JSON_TYPE}"
    return None


def _type_lowered(headers: Any) -> list[tuple[bytes, bytes]]:
    """``headers`` with each ``Content-Type``'s media type in lower case, its parameters as sent: the SDK compares
    ``application/json`` case-sensitively, and ``Application/JSON`` is the same type (RFC 9110 8.3.1)."""
    out = []
    for name, value in headers:
        if name.lower() == b"content-type":
            kind, sep, params = value.partition(b";")
            value = kind.lower() + sep + params
        out.append((name, value))
    return out


def _not_strict(body: bytes) -> tuple[str | int | None, str, int] | None:
    """The ``id``, the error and its JSON-RPC code of a body the SDK's parser refuses and Python's reads (-32700), or
    that is JSON but no message: not an object (-32600; the SDK answered an array or a number with -32602 and a
    page of its validation errors); else None."""
    import contextlib

    import pydantic_core

    with contextlib.suppress(ValueError):
        value = pydantic_core.from_json(body)  # what the SDK's transport parses the body with
        if isinstance(value, dict):
            return None
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        batch = " (batches are not taken: send one message per request)" if isinstance(value, list) else ""
        return None, f"Invalid Request: a JSON-RPC message is a JSON object, not {kind}{batch}", -32600
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    rid, why = unreadable(text)
    return (rid, why, -32700) if why.startswith("Parse error: not strict JSON") else None
