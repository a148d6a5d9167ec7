"""A percent-encoded slash (``%2F``/``%2f``) in a request's path is a 404 before any route sees it.

Starlette routes on the decoded path (``scope["path"]``), so ``GET /scenes/x%2Fmeta`` matched
``/scenes/{scene_id}/meta`` and served the meta of scene ``x``, and ``POST /jobs/j%2Fcancel`` reached
the cancel route: a slash inside one segment became a segment boundary. No id, reference, name or
file path the service answers can hold a ``/`` (scene ids are ``[A-Za-z0-9_-]``), so a request whose
raw path (``scope["raw_path"]``, the bytes the client sent) holds an encoded slash names nothing:
:class:`RefuseEncodedSlash` answers it with a problem+json 404, like any other unknown resource, on
every route (scenes, versions, drafts, jobs, assets, keys, previews, exports, the studio's files).
:class:`~.fast_reads.SceneforgeAPI` leaves such a request to the stack (:func:`encoded_slash`), so its
cached read path answers it no more than the routes do. A server that gives no ``raw_path`` (both
granian and uvicorn give it) leaves only the decoded path: then nothing can be told apart.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .problems import problem

__all__ = ["RefuseEncodedSlash", "encoded_slash"]

DETAIL = "no such resource: the path holds an encoded slash (%2F), which no id or name here can contain"


def encoded_slash(scope: Scope) -> bool:
    """Whether the path the client sent (its query left out) holds ``%2F`` in either case."""
    raw = scope.get("raw_path")
    if not raw:
        return False
    path = bytes(raw).split(b"?", 1)[0]  # raw_path is the path alone by the ASGI spec; some clients add the query
    return b"%2f" in path.lower()


class RefuseEncodedSlash:
    """ASGI middleware: an HTTP request whose raw path holds an encoded slash is a problem+json 404."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and encoded_slash(scope):
            await problem(404, DETAIL)(scope, receive, send)
            return
        await self.app(scope, receive, send)
