"""HEAD wherever GET is answered (RFC 9110 §9.1: general-purpose servers support GET and HEAD).

FastAPI answers HEAD only on routes that declare it (the GLB, meta, asset and output reads do, with
their own prepared headers); its GET-only routes — ``/healthz``, ``/scenes``, versions, jobs, event
streams — answered HEAD with 405. :class:`HeadAsGet` (inside the request metrics) lets a HEAD through
unchanged and, only when the app refuses it with 405, asks again as a GET and sends that answer's
status line and headers (``Content-Length`` included, as RFC 9110 §9.3.2 allows) with an empty body. A GET that
streams (server-sent events) is stopped at its first chunk: the HEAD answer is complete at its headers.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet"]

_END: Message = {"type": "http.response.body", "body": b""}


class HeadAsGet:
    """ASGI middleware: a HEAD refused with 405 is answered as the GET's headers (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        refused = False

        async def first(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 405:
                refused = True  # held back: the GET may answer it
            if not refused:
                await send(message)

        await self.app(scope, receive, first)
        if refused:
            await _as_get(self.app, scope, receive, send)


async def _as_get(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the request as a GET, sending its status and headers and an empty body; the rest is dropped."""
    started = False
    with anyio.CancelScope() as running:

        async def headers_only(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                await send(message)
                await send(_END)
            elif message.get("more_body"):
                running.cancel()  # a stream: nothing after its headers is wanted

        # without its Range: a HEAD answers the whole GET's headers (RFC 9110 §14.2: Range is for GET alone)
        as_get = {**scope, "method": "GET", "headers": [(n, v) for n, v in scope["headers"] if n != b"range"]}
        try:
            await app(as_get, receive, headers_only)
        finally:
            if "route" in as_get:  # what the request metrics label it by
                scope["route"] = as_get["route"]
