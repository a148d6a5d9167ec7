"""The fast read path: ``GET``/``HEAD`` of ``/scenes/{ref}.glb`` and ``/scenes/{id}/meta`` answered from the cache.

A pure ASGI middleware in front of FastAPI's router. When the scene's pointer (and, for an exact
reference, the version; for meta, the serialized body) is in the process's
:class:`~sceneforge.storage.SceneCache` and the scene is public, it sends the same response the
routes in :mod:`.scenes` would (it calls their :func:`~.scenes.glb_response` /
:func:`~.scenes.meta_response`) without routing, dependency resolution or a database round trip.
Everything else — a cache miss, a private scene (credentials and links are checked by the route),
another method or path — goes on to the app unchanged, which fills the cache for the next request.
The routes stay in the OpenAPI document. The request's ``route`` is set to a stand-in with the route's
path template so the request metrics keep their labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..storage import SceneRepository
from .scenes import glb_response, meta_response, parse_ref
from .services import Services

__all__ = ["FastReads"]


@dataclass(frozen=True, slots=True)
class _RouteLabel:
    """Stands for the route in ``scope["route"]``: the request metrics read its ``path`` template."""

    path: str


_GLB_ROUTE = _RouteLabel("/scenes/{ref}.glb")
_META_ROUTE = _RouteLabel("/scenes/{scene_id}/meta")
_PREFIX = "/scenes/"
_GLB = ".glb"
_META = "/meta"


class FastReads:
    """Serve cached public GLB and meta reads directly; pass every other request to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in {"GET", "HEAD"}:
            path: str = scope["path"]
            if path.startswith(_PREFIX) and await self._serve(scope, receive, send, path):
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str) -> bool:
        svc: Services | None = getattr(scope["app"].state, "services", None)
        if svc is None:
            return False
        repo: SceneRepository = svc.scenes
        rest = path[len(_PREFIX) :]
        if rest.endswith(_GLB):
            parsed = parse_ref(rest[: -len(_GLB)])
            if parsed is None:
                return False
            scene_id, etag, n = parsed
            pointer = repo.cache.pointer(scene_id)
            if pointer is None or pointer.private:
                return False
            exact = True
            if etag is not None:
                version = repo.cache.ref(scene_id, etag)
            elif n is not None:
                version = repo.cache.ref(scene_id, n)
            else:
                version, exact = pointer.latest, False
            if version is None:
                return False
            request = Request(scope, receive)
            response = glb_response(request, svc, version, exact, private=False)
            template = _GLB_ROUTE
        elif rest.endswith(_META):
            pointer = repo.cache.pointer(rest[: -len(_META)])
            if pointer is None or pointer.private or pointer.latest is None:
                return False
            meta = repo.cache.meta(pointer.latest)
            if meta is None:
                return False
            response = meta_response(Request(scope, receive), meta, private=False)
            template = _META_ROUTE
        else:
            return False
        scope["route"] = template
        await response(scope, receive, send)
        return True
