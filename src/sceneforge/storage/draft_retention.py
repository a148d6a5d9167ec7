"""Retention of revisions: how far back a draft's history reaches.

:meth:`DraftRetention.prune` deletes all but the newest ``keep`` revisions of every draft — never the
current one, nor one undo or redo still needs (the undo stack is cut to its newest ``keep`` entries) —
then releases the snapshot blobs nothing refers to any more (:func:`sceneforge.storage.gc.release`).
Each draft is pruned in a transaction of its own, its row read again (and locked) there.
:class:`DraftRetention` is a base of :class:`~sceneforge.storage.drafts.DraftRepository`.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .database import locking, written
from .draft_reads import DraftReads
from .tables import drafts, revisions

__all__ = ["DraftRetention"]


class DraftRetention(DraftReads):
    """Pruning the revisions of every draft (see the module docstring)."""

    async def prune(self, *, keep: int) -> int:
        """Delete all but the newest ``keep`` revisions of every draft — never the current one, nor one
        undo or redo still needs (the undo stack is cut to its newest ``keep`` entries) — then the
        snapshot blobs nothing refers to any more. Returns how many revisions were deleted."""
        from .gc import release

        removed, candidates = 0, set[str]()
        # A draft at rev <= keep has no revision to delete and fewer than ``keep`` undo entries (each is a rev > 1).
        async with self.engine.connect() as conn:
            due = (await conn.execute(select(drafts.c.scene_id).where(drafts.c.rev > keep))).scalars().all()
        for scene_id in sorted(due):
            # One transaction per draft, its row read again there (FOR UPDATE on PostgreSQL): the undo stack written
            # back is cut from the draft as it is then, never from one a write committed over meanwhile (that lost
            # the write's entry: undo then reverted the change before it). Draft writes wait for one draft only.
            removed += await written(self.engine, partial(self._prune_draft, scene_id, keep, candidates))
        await release(self.engine, self.blobs, candidates)
        return removed

    async def _prune_draft(self, scene_id: str, keep: int, candidates: set[str], conn: AsyncConnection) -> int:
        """One draft's share of :meth:`prune`, in ``conn``'s transaction: the revisions deleted (their snapshot
        blobs' keys added to ``candidates``)."""
        row = (await conn.execute(locking(conn, select(drafts).where(drafts.c.scene_id == scene_id)))).first()
        if row is None:  # its scene was deleted meanwhile
            return 0
        undo = list(map(int, row.undo))
        if len(undo) > keep:  # undo reaches back at most ``keep`` changes
            undo = undo[-keep:]
            await conn.execute(update(drafts).where(drafts.c.scene_id == row.scene_id).values(undo=undo))
        protected = {int(row.rev), *undo, *map(int, row.redo)}
        floor = int(row.rev) - keep
        if floor <= 0:
            return 0
        doomed = and_(revisions.c.scene_id == row.scene_id, revisions.c.rev <= floor,
                      revisions.c.rev.not_in(protected))  # fmt: skip
        keys = (await conn.execute(select(revisions.c.before_key, revisions.c.after_key).where(doomed))).all()
        candidates.update(k for pair in keys for k in pair if k)
        return int((await conn.execute(delete(revisions).where(doomed))).rowcount or 0)
