"""A request whose body framing is ambiguous is refused (400) before anything reads it (docs/security.md).

A request carrying both ``Content-Length`` and ``Transfer-Encoding`` can be read two ways: a proxy in front that
goes by the length and a server that goes by the chunks disagree where the request ends, and the bytes between
are read as a second request the proxy never saw (request smuggling). RFC 9112 §6.1 lets a server refuse it, or
read it by ``Transfer-Encoding`` alone and then close the connection; nginx refuses it (400). Likewise a
``Transfer-Encoding`` in an HTTP/1.0 request is faulty framing (§6.1: 1.0 has no chunked coding).

What the app is handed depends on the server: uvicorn (h11) passes both headers on, reads the body by its chunks
and kept the connection open for the next request; granian (hyper) drops ``Content-Length`` itself, reads by the
chunks and closes the connection after its answer, so the app never sees both and nothing is left to refuse.
:func:`ambiguous_framing` says what is wrong with a request's headers as the app sees them, and
:func:`refuse_ambiguous_framing` answers such a request with a problem+json 400 (``code: framing_ambiguous``) and
``Connection: close``, without reading its body: the connection is not read again.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from .problems import problem

__all__ = ["ambiguous_framing", "refuse_ambiguous_framing"]


def ambiguous_framing(scope: Scope) -> str | None:
    """Why the body framing of an HTTP request is ambiguous (both ``Content-Length`` and ``Transfer-Encoding``, or
    ``Transfer-Encoding`` in HTTP/1.0), or None."""
    names = {name.lower() for name, _ in scope.get("headers", ())}
    if b"transfer-encoding" not in names:
        return None
    if b"content-length" in names:
        return (
            "the request has both Content-Length and Transfer-Encoding, so where its body ends is ambiguous "
            "(RFC 9112 §6.1): send one of them"
        )
    if scope.get("http_version") == "1.0":
        return "the request has Transfer-Encoding in HTTP/1.0, which has no chunked coding (RFC 9112 §6.1)"
    return None


async def refuse_ambiguous_framing(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer an HTTP request of ambiguous framing with a 400 that closes the connection (True), else nothing
    (False)."""
    if scope["type"] != "http":
        return False
    why = ambiguous_framing(scope)
    if why is None:
        return False
    await problem(400, why, {"Connection": "close"}, code="framing_ambiguous")(scope, receive, send)
    return True
