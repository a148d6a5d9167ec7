"""The service's long-lived parts, opened at start-up and closed at shutdown; routers reach them via ``request``."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import anyio
from anyio import CapacityLimiter
from starlette.requests import Request

from ..aio import all_finished
from ..config import Limits
from ..errors import NotFound
from ..jobs.service import JobService
from ..scene_ids import is_scene_id
from ..settings import Settings
from ..storage import (
    AssetRepository,
    BlobStore,
    KeyRepository,
    SceneRepository,
    database_url,
    open_blob_store,
    open_database,
)
from ..storage.blobs import private_dir
from .auth import Authenticator, LinkSigner, RateLimiter

__all__ = ["SceneListener", "Services", "checked_scene_id", "in_thread", "job_service", "services"]

SceneListener = Callable[[str, str, dict[str, Any]], Awaitable[object]]
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _secret_file(path: Path) -> bytes:
    """A random secret kept in ``path`` (0600), made on first use."""
    if path.exists():
        return path.read_bytes().strip()
    private_dir(path.parent)
    secret = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    return secret


@dataclass
class Services:
    settings: Settings
    blobs: BlobStore
    scenes: SceneRepository
    assets: AssetRepository
    keys: KeyRepository
    auth: Authenticator
    links: LinkSigner
    write_rate: RateLimiter
    builds: CapacityLimiter
    database_url: str
    #: Called with (event type, scene id, payload) after a scene changes; the events module subscribes here.
    listeners: list[SceneListener] = field(default_factory=list)

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        storage = settings.storage
        engine = await open_database(storage)
        blobs = await asyncio.to_thread(open_blob_store, storage)
        keys = KeyRepository(engine)
        auth = settings.auth
        link_secret = auth.link_secret.get_secret_value().encode() or _secret_file(storage.data_dir / "link.secret")
        return cls(
            settings=settings,
            blobs=blobs,
            scenes=SceneRepository(engine, blobs),
            assets=AssetRepository(engine, blobs),
            keys=keys,
            auth=Authenticator(
                keys,
                jwt_secret=auth.jwt_secret.get_secret_value(),
                jwt_public_key=auth.jwt_public_key,
                jwt_leeway_s=auth.jwt_leeway_s,
            ),
            links=LinkSigner(link_secret),
            write_rate=RateLimiter(auth.write_rate, settings.events.redis_url or None),
            builds=CapacityLimiter(settings.jobs.build_concurrency),
            database_url=database_url(storage),
        )

    @property
    def limits(self) -> Limits:
        """``settings.limits``: what every build and upload of this service is held to."""
        return self.settings.limits

    async def emit(self, kind: str, scene_id: str, payload: dict[str, Any]) -> None:
        """Tell every listener that scene ``scene_id`` changed (``scene.built``, ``scene.invalidated``)."""
        for listener in self.listeners:
            await listener(kind, scene_id, payload)

    async def close(self) -> None:
        await self.write_rate.close()
        await all_finished()
        await self.scenes.engine.dispose()


def services(request: Request) -> Services:
    """The running app's services (a FastAPI dependency)."""
    return request.app.state.services  # type: ignore[no-any-return]


def job_service(request: Request) -> JobService:
    """The running app's job service (a FastAPI dependency)."""
    return request.app.state.jobs  # type: ignore[no-any-return]


async def in_thread(svc: Services, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(*args, **kwargs)`` in a worker thread held to ``svc.builds`` (the CPU-bound checks and builds)."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=svc.builds)


def checked_scene_id(scene_id: str) -> str:
    """``scene_id`` when it is a scene id (:func:`~sceneforge.scene_ids.is_scene_id`); else NotFound (a 404)."""
    if not is_scene_id(scene_id):
        raise NotFound(f"no scene {scene_id!r}: ids are 1-64 characters of [A-Za-z0-9_-]")
    return scene_id
