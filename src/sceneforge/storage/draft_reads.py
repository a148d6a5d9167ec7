"""The read side of the draft repository: the draft, its revisions and their snapshots.

:class:`DraftReads` is a base of :class:`~sceneforge.storage.drafts.DraftRepository`: rows of the
``drafts`` and ``revisions`` tables become :class:`~sceneforge.storage.draft_records.Draft` and
:class:`~sceneforge.storage.draft_records.Revision` records, the description snapshots are read from
the blob store in a worker thread (a large draft's parse would hold the event loop). A scene without a
draft is :class:`~sceneforge.errors.NotFound`; a snapshot that is not a JSON object is a
:class:`~sceneforge.errors.StorageError`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import Text, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import NotFound, StorageError
from .blobs import BlobStore
from .database import as_utc
from .draft_records import Draft, Revision
from .tables import drafts, revisions

__all__ = ["REVISIONS_PAGE_BYTES", "DraftReads"]

#: Most bytes of stored ops one page of ``GET /scenes/{id}/revisions`` holds (its first revision aside).
REVISIONS_PAGE_BYTES = 8 << 20


def _pruned(scene_id: str, rev: int, keep: int | None) -> NotFound:
    newest = "SCENEFORGE_KEEP_REVISIONS" if keep is None else f"{keep:,} (SCENEFORGE_KEEP_REVISIONS)"
    return NotFound(
        f"revision {rev} of scene {scene_id!r} is no longer kept: retention keeps the newest {newest}"
        " revisions of a draft and those its undo or redo still needs"
    )


class DraftReads:
    """Drafts and revisions read from the metadata database, description snapshots from the blob store."""

    engine: AsyncEngine
    blobs: BlobStore

    async def _snapshot(self, key: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._read_snapshot, key)

    def _read_snapshot(self, key: str) -> dict[str, Any]:
        """The description stored under ``key``, read and parsed (in a worker thread: :meth:`_snapshot`)."""
        value = json.loads(self.blobs.get(key))
        if not isinstance(value, dict):
            raise StorageError(f"snapshot {key} is not a description object")
        return value

    def _draft(self, row: Any, description: dict[str, Any]) -> Draft:
        return Draft(
            scene_id=row.scene_id,
            rev=int(row.rev),
            description=description,
            description_key=row.description_key,
            author=row.author,
            updated_at=as_utc(row.updated_at),
            can_undo=bool(row.undo),
            can_redo=bool(row.redo),
        )

    async def _row(self, conn: AsyncConnection, scene_id: str) -> Any:
        row = (await conn.execute(select(drafts).where(drafts.c.scene_id == scene_id))).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} has no draft")
        return row

    async def current_rev(self, scene_id: str) -> int:
        """The draft's rev, its description left unread; :class:`NotFound` if it has none."""
        async with self.engine.connect() as conn:
            return int((await self._row(conn, scene_id)).rev)

    async def get(self, scene_id: str) -> Draft:
        """The draft of ``scene_id``; :class:`NotFound` if it has none."""
        async with self.engine.connect() as conn:
            row = await self._row(conn, scene_id)
        return self._draft(row, await self._snapshot(row.description_key))

    @staticmethod
    def _revision(row: Any) -> Revision:
        return Revision(
            scene_id=row.scene_id,
            rev=int(row.rev),
            parent_rev=row.parent_rev,
            author=row.author,
            source=row.source,
            reason=row.reason,
            ops=list(row.ops or []),
            before_key=row.before_key,
            after_key=row.after_key,
            created_at=as_utc(row.created_at),
            message_id=row.message_id,
        )

    async def revisions(self, scene_id: str, take: int = 50) -> list[Revision]:
        """The newest ``take`` revisions, newest first, whatever their ops' size; :class:`NotFound` without a draft."""
        return (await self.revisions_page(scene_id, take, max_bytes=None))[0]

    async def revisions_page(
        self, scene_id: str, take: int = 50, *, before: int | None = None, max_bytes: int | None = REVISIONS_PAGE_BYTES
    ) -> tuple[list[Revision], bool]:
        """The newest ``take`` revisions (older than rev ``before`` when given), newest first, and whether older
        ones follow; :class:`NotFound` without a draft. No more than it takes to reach ``max_bytes`` of stored ops
        (one revision at least, however large; None: no bound): a patch may hold 32 MiB of ops, and 500 such
        revisions in one answer would be gigabytes. Cut in the database, as the event log's pages are: the rows
        past either bound never reach this process (keyset pagination: the next page is ``before`` the last rev)."""
        async with self.engine.connect() as conn:
            await self._row(conn, scene_id)
            first = select(revisions, func.length(cast(revisions.c.ops, Text)).label("size"))
            first = first.where(revisions.c.scene_id == scene_id)
            if before is not None:
                first = first.where(revisions.c.rev < before)
            head = first.order_by(revisions.c.rev.desc()).limit(take + 1).subquery("head")
            ahead = func.sum(head.c.size).over(order_by=head.c.rev.desc()) - head.c.size  # ops of the newer rows
            sized = select(head, ahead.label("ahead"), func.count().over().label("head_rows")).subquery("sized")
            query = select(sized).order_by(sized.c.rev.desc())
            if max_bytes is not None:
                query = query.where(sized.c.ahead < max_bytes)
            rows = (await conn.execute(query)).all()
        more = len(rows) > take or (bool(rows) and len(rows) < rows[0].head_rows)
        return [self._revision(r) for r in rows[:take]], more

    async def revision(
        self, scene_id: str, rev: int, *, keep: int | None = None
    ) -> tuple[Revision, dict[str, Any] | None, dict[str, Any]]:
        """Revision ``rev`` with its ``before`` (None for the first) and ``after`` descriptions. One older than
        the draft's rev that is gone, or pruned while its snapshots were read (retention deletes the row, then
        the blobs), is a :class:`NotFound` saying it is no longer kept (``keep``: the retention's count, named
        when given), never the blob key a vanished snapshot would name."""
        async with self.engine.connect() as conn:
            query = select(revisions).where(and_(revisions.c.scene_id == scene_id, revisions.c.rev == rev))
            row = (await conn.execute(query)).first()
            if row is None:
                current = int((await self._row(conn, scene_id)).rev)
        if row is None:
            if rev < current:
                raise _pruned(scene_id, rev, keep)
            raise NotFound(f"scene {scene_id!r} has no revision {rev}")
        revision = self._revision(row)
        try:
            before = await self._snapshot(revision.before_key) if revision.before_key else None
            after = await self._snapshot(revision.after_key)
        except NotFound:
            async with self.engine.connect() as conn:
                if (await conn.execute(query)).first() is not None:  # still listed: a snapshot lost, not pruned
                    raise StorageError(f"a snapshot of revision {rev} of {scene_id!r} is missing") from None
            raise _pruned(scene_id, rev, keep) from None
        return revision, before, after

    async def count(self, scene_id: str) -> int:
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(revisions).where(revisions.c.scene_id == scene_id)
            return int((await conn.execute(query)).scalar() or 0)
