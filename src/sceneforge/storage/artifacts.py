"""Files made from a version — previews and exports — stored per (scene, version, name).

The bytes go to the content-addressed blob store; a row records the name, blob key, ETag
(first 16 hex of the SHA-256, like GLBs), size and media type. Putting the same name for the
same version again replaces the row (a retried job) and leaves no duplicate bytes; the bytes it
replaced are removed unless another record uses them. Deleting a scene removes its rows (``ON
DELETE CASCADE``) and the blobs only they used. A file made for a version deleted meanwhile is
refused (:class:`VersionGone`) and its blob removed unless another record uses it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import NotFound
from .blobs import BlobStore
from .database import as_utc, locking, written
from .tables import artifacts, scenes

__all__ = ["Artifact", "ArtifactRepository", "VersionGone"]


class VersionGone(NotFound):
    """The version a file was made from no longer exists (its scene was deleted while the file was made)."""

    def __init__(self, scene_id: str, n: int, name: str) -> None:
        super().__init__(f"version v{n} of {scene_id!r} no longer exists (its scene was deleted): {name} not stored")


@dataclass(frozen=True, slots=True)
class Artifact:
    scene_id: str
    n: int
    name: str
    blob_key: str
    etag: str
    bytes: int
    content_type: str
    created_at: datetime


def _artifact(row: Any) -> Artifact:
    return Artifact(
        row.scene_id, row.n, row.name, row.blob_key, row.etag, row.bytes, row.content_type, as_utc(row.created_at)
    )


class ArtifactRepository:
    def __init__(
        self, engine: AsyncEngine, blobs: BlobStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.engine, self.blobs, self.clock = engine, blobs, clock

    async def put(self, scene_id: str, n: int, name: str, data: bytes, content_type: str) -> Artifact:
        """Store ``data`` as artifact ``name`` of version ``n`` (replacing an earlier one of that name)."""
        (made,) = await self.put_many(scene_id, n, [(name, data, content_type)])
        return made

    async def put_many(self, scene_id: str, n: int, files: Sequence[tuple[str, bytes, str]]) -> list[Artifact]:
        """Store each ``(name, data, content type)`` as an artifact of version ``n`` (replacing earlier ones of
        those names), the rows in one transaction: all of them or, for a version gone meanwhile, none."""
        if len({name for name, _, _ in files}) != len(files):
            raise ValueError("artifact names repeat")
        keys = await asyncio.to_thread(lambda: [self.blobs.put(data) for _, data, _ in files])
        now = self.clock()
        made = [
            Artifact(scene_id, n, name, key, key[:16], len(data), content_type, now)  # the key is the data's SHA-256
            for (name, data, content_type), key in zip(files, keys, strict=True)
        ]
        names = [a.name for a in made]

        async def body(conn: AsyncConnection) -> list[str]:
            if not await _scene_exists(conn, scene_id, lock=True):
                raise VersionGone(scene_id, n, ", ".join(names))
            where = and_(artifacts.c.scene_id == scene_id, artifacts.c.n == n, artifacts.c.name.in_(names))
            gone = delete(artifacts).where(where).returning(artifacts.c.blob_key)
            replaced = list((await conn.execute(gone)).scalars())
            columns = ("scene_id", "n", "name", "blob_key", "etag", "bytes", "content_type", "created_at")
            rows = [{c: getattr(a, c) for c in columns} for a in made]
            await conn.execute(insert(artifacts), rows)
            return replaced

        try:
            replaced = await written(self.engine, body)
        except (VersionGone, IntegrityError) as exc:
            async with self.engine.connect() as conn:
                gone = isinstance(exc, VersionGone) or not await _scene_exists(conn, scene_id)
            if not gone:
                raise
            from .gc import release

            await release(self.engine, self.blobs, keys)  # unless another record uses the same bytes
            raise VersionGone(scene_id, n, ", ".join(names)) from None
        # A release may have raced the rows (storage/gc.py).
        await asyncio.to_thread(self._ensure, [(key, data) for key, (_, data, _) in zip(keys, files, strict=True)])
        if old := [key for key in replaced if key not in keys]:
            from .gc import release

            await release(self.engine, self.blobs, old)  # unless shared
        return made

    def _ensure(self, blobs: list[tuple[str, bytes]]) -> None:
        for key, data in blobs:
            self.blobs.ensure(key, data)

    async def get(self, scene_id: str, n: int, name: str) -> Artifact:
        """Artifact ``name`` of version ``n``; :class:`NotFound` until it has been made."""
        where = and_(artifacts.c.scene_id == scene_id, artifacts.c.n == n, artifacts.c.name == name)
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(artifacts).where(where))).first()
        if row is None:
            raise NotFound(f"{name} of {scene_id}@v{n} is not ready (or was never asked for)")
        return _artifact(row)

    async def of_version(self, scene_id: str, n: int) -> list[Artifact]:
        """Every artifact of version ``n``, by name."""
        where = and_(artifacts.c.scene_id == scene_id, artifacts.c.n == n)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(artifacts).where(where).order_by(artifacts.c.name))).all()
        return [_artifact(r) for r in rows]


async def _scene_exists(conn: AsyncConnection, scene_id: str, *, lock: bool = False) -> bool:
    """Whether the scene is still there (the rows' foreign key: versions go only with their scene).

    With ``lock``, on PostgreSQL, its row stays locked against a delete (``FOR KEY SHARE``, what the new row's
    foreign key takes anyway) until the transaction ends: taken before the artifact row it replaces, as a delete
    of the scene takes the scene's row before its artifacts' (the other order waits for each other: a deadlock).
    """
    query = select(scenes.c.id).where(scenes.c.id == scene_id)
    if lock:
        query = locking(conn, query, read=True, key_share=True)
    return (await conn.execute(query)).first() is not None
