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
from ..ingest.obj_statements import clean, obj_text_problem, unknown_line
from .blobs import BlobStore, blob_key
from .database import utcnow, write_transaction
from .tables import assets as assets_table

__all__ = ["ASSET_TYPES", "Asset", "AssetRepository", "sniff_kind"]

#: Asset kind → media type served back.
ASSET_TYPES = {"glb": "model/gltf-binary", "obj": "model/obj", "png": "image/png"}


def _obj_problem(head: bytes) -> str | None:
    """Why ``head`` (a file's first bytes) is not taken for OBJ, or None: it must be UTF-8 text whose lines are
    OBJ statements, one at least, read as the build's reader reads them
    (:mod:`sceneforge.ingest.obj_statements`); the upload then checks the file as a build takes it."""
    whole = len(head) < 4096
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a multi-byte character the head's end cut
            # The build's reason, which names the line and byte of OBJ text written in another encoding.
            cut = head if whole else head[: head.rfind(b"\n") + 1]  # the last line may be cut
            why = obj_text_problem(cut if exc.start < len(cut) else head)
            return why if why is not None and why.startswith("OBJ line") else ""
    if not whole and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # the last line may be cut
    text = clean(head)
    unknown = unknown_line(text)
    if unknown is not None:
        return unknown
    # Comments alone are no OBJ, unless the file goes on past them (a long header): the upload reads further.
    return None if text.strip() or not whole else ""


def sniff_kind(head: bytes) -> str:
    """``"glb"``, ``"png"`` or ``"obj"`` from the first bytes of a file; :class:`AssetError` otherwise.

    GLB and PNG by their magic numbers; OBJ as UTF-8 text made only of OBJ statements (one at least): when a line
    of text is none, the message names it. Bytes with the ``glTF`` magic are a GLB whatever follows it, as
    ``/scenes/build`` and the CLI take them (:func:`~sceneforge.glb_magic.is_glb`): a container of another version
    or cut short is a GLB the upload's check refuses (422, naming what is wrong), not text read as OBJ lines.
    """
    if is_glb(head):
        return "glb"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    why = _obj_problem(head)
    if why is None:
        return "obj"
    message = "not a GLB (glTF 2.0 binary), OBJ or PNG file" + (f": {why}" if why else "")
    raise AssetError("", message, code="unsupported_media_type")


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
        kind = kind or sniff_kind(data[:4096])
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
