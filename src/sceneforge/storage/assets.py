"""Uploaded assets (GLB, OBJ, PNG): kind sniffed from the bytes, content-addressed by SHA-256."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import AssetError, NotFound
from ..glb_magic import is_glb
from ..ingest.obj_statements import SNIFF_BYTES, obj_text_problem
from .blobs import BlobStore, blob_key
from .database import utcnow, write_transaction
from .tables import assets as assets_table

__all__ = ["ASSET_TYPES", "Asset", "AssetRepository", "sniff_kind"]

#: Asset kind → media type served back.
ASSET_TYPES = {"glb": "model/gltf-binary", "obj": "model/obj", "png": "image/png"}


def sniff_kind(data: bytes) -> str:
    """``"glb"``, ``"png"`` or ``"obj"`` of a file; :class:`AssetError` otherwise, saying why it is no OBJ.

    ``data``: the file, or its first :data:`~sceneforge.ingest.obj_statements.SNIFF_BYTES` + 1 bytes at least
    (whether it goes on past those decides whether a cut last line or lone comments count). GLB and PNG by their
    magic numbers; OBJ as the build takes it (:func:`~sceneforge.ingest.obj_statements.obj_text_problem`, the one
    rule: UTF-8 text of OBJ statements, geometry among them). Bytes with the ``glTF`` magic are a GLB whatever
    follows it, as ``/scenes/build`` and the CLI take them (:func:`~sceneforge.glb_magic.is_glb`): a container of
    another version or cut short is a GLB the upload's check refuses (422, naming what is wrong), not text read as
    OBJ lines.
    """
    if is_glb(data):
        return "glb"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    why = obj_text_problem(data[: SNIFF_BYTES + 1])
    if why is None:
        return "obj"
    raise AssetError("", f"not a GLB (glTF 2.0 binary), OBJ or PNG file: {why}", code="unsupported_media_type")


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    kind: str
    bytes: int
    created_at: datetime

    @property
    def media_type(self) -> str:
        return ASSET_TYPES[self.kind]

    def as_dict(self) -> dict[str, object]:
        return {"assetId": self.id, "kind": self.kind, "bytes": self.bytes}


class AssetRepository:
    def __init__(self, engine: AsyncEngine, blobs: BlobStore) -> None:
        self.engine, self.blobs = engine, blobs

    async def add(self, data: bytes, kind: str | None = None) -> Asset:
        """Store ``data`` (kind sniffed when not given); adding the same bytes again returns the same asset."""
        kind = kind or sniff_kind(data)
        key = blob_key(data)
        await asyncio.to_thread(self.blobs.put, data)
        try:
            async with write_transaction(self.engine) as conn:
                await conn.execute(insert(assets_table).values(id=key, kind=kind, bytes=len(data), created_at=utcnow()))
        except IntegrityError:
            pass
        await asyncio.to_thread(self.blobs.ensure, key, data)  # a release may have raced the row (storage/gc.py)
        return await self.get(key)

    async def get(self, asset_id: str) -> Asset:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(assets_table).where(assets_table.c.id == asset_id))).first()
        if row is None:
            raise NotFound(f"asset {asset_id!r} does not exist")
        created = row.created_at
        return Asset(row.id, row.kind, row.bytes, created)
