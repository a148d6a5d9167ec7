"""A query parameter given twice is refused (422 at ``/query/<name>``), not read as one of its values (docs/api.md).

``?take=1&take=500`` or ``?private=false&private=true`` can be read two ways — FastAPI takes the last value, a
cache, proxy or signing layer in front may go by the first — so neither is guessed: no parameter of the API takes
a list. Checked on the raw query string before any route, inside CORS (:class:`RefuseRepeatedQuery`; the cached
fast reads leave such a request to it), at the cost of a scan for ``&``; the answer names the parameter and how
many times it was given. A WebSocket handshake (``/ws?key=a&key=b``) is refused as ``/ws`` refuses a credential:
accepted, then closed with :data:`CLOSE_QUERY_REPEATED` (4000 + the HTTP 422) and the message as its reason — a
close before the accept is an HTTP 403 that no client, a browser's least, can tell from any other failure.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..errors import MAX_PATH_CHARS
from ..wire import json_pointer_within, shown
from .problems import problem

__all__ = ["CLOSE_QUERY_REPEATED", "RefuseRepeatedQuery", "refuse_repeated_query", "repeated_query"]

#: Close code of a WebSocket handshake whose query names a parameter twice (4000 + HTTP 422, as 4401 is for 401).
CLOSE_QUERY_REPEATED = 4422
#: Most bytes of a close frame's reason (RFC 6455 §5.5: a control frame's payload is 125 bytes, 2 of them the code).
_MAX_REASON_BYTES = 123


def repeated_query(query: bytes) -> tuple[str, int] | None:
    """The first query parameter ``query`` names more than once, and how many times; None when none is."""
    if b"&" not in query:
        return None
    names = Counter(name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return next(((name, n) for name, n in names.items() if n > 1), None)


class RefuseRepeatedQuery:
    """ASGI middleware (inside CORS, so a browser on another origin reads the 422, and its preflight is answered):
    an HTTP request whose query names a parameter twice is a problem+json 422, a WebSocket handshake is closed with
    4422. The cached fast reads leave such a request to the stack (``SceneforgeAPI.__call__``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await refuse_repeated_query(scope, receive, send):
            await self.app(scope, receive, send)


async def refuse_repeated_query(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a request whose query names a parameter twice (True): an HTTP one with a 422, a WebSocket handshake
    with its accept and a close with 4422; else nothing (False)."""
    if scope["type"] not in {"http", "websocket"}:
        return False
    found = repeated_query(scope.get("query_string", b""))
    if found is None:
        return False
    name, times = found
    message = f"the query parameter {shown(name)!r} is given {times} times: give it once"
    if scope["type"] == "websocket":
        socket = WebSocket(scope, receive, send)
        await socket.accept()
        reason = message.encode()[:_MAX_REASON_BYTES].decode(errors="ignore")  # a name in 4-byte characters
        await socket.close(code=CLOSE_QUERY_REPEATED, reason=reason)
        return True
    path = json_pointer_within(["query", name], MAX_PATH_CHARS)[0]  # a name of kilobytes: its ancestor
    error = {"path": path, "code": "query_repeated", "message": message}
    await problem(422, f"invalid request: {path}: {message}", errors=[error])(scope, receive, send)
    return True
