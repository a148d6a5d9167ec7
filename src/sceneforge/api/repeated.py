"""A query parameter given twice is refused (422 at ``/query/<name>``), not read as one of its values (docs/api.md).

``?take=1&take=500`` or ``?private=false&private=true`` can be read two ways — FastAPI takes the last value, a
cache, proxy or signing layer in front may go by the first — so neither is guessed: no parameter of the API takes
a list. Checked on the raw query string before any route, inside CORS (:class:`RefuseRepeatedQuery`; the cached
fast reads leave such a request to it), at the cost of a scan for ``&``; the answer names the parameter and how
many times it was given.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import MAX_PATH_CHARS
from ..wire import json_pointer_within, shown
from .problems import problem

__all__ = ["RefuseRepeatedQuery", "refuse_repeated_query", "repeated_query"]


def repeated_query(query: bytes) -> tuple[str, int] | None:
    """The first query parameter ``query`` names more than once, and how many times; None when none is."""
    if b"&" not in query:
        return None
    names = Counter(name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return next(((name, n) for name, n in names.items() if n > 1), None)


class RefuseRepeatedQuery:
    """ASGI middleware (inside CORS, so a browser on another origin reads the 422, and its preflight is answered):
    an HTTP request whose query names a parameter twice is a problem+json 422. The cached fast reads leave such a
    request to the stack (``SceneforgeAPI.__call__``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await refuse_repeated_query(scope, receive, send):
            await self.app(scope, receive, send)


async def refuse_repeated_query(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer an HTTP request whose query names a parameter twice with a 422 (True), else nothing (False)."""
    if scope["type"] != "http":
        return False
    found = repeated_query(scope.get("query_string", b""))
    if found is None:
        return False
    name, times = found
    path = json_pointer_within(["query", name], MAX_PATH_CHARS)[0]  # a name of kilobytes: its ancestor
    message = f"the query parameter {shown(name)!r} is given {times} times: give it once"
    error = {"path": path, "code": "query_repeated", "message": message}
    await problem(422, f"invalid request: {path}: {message}", errors=[error])(scope, receive, send)
    return True
