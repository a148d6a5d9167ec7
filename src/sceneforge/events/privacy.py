"""Which events a caller without read access may see: none of a private scene's.

The truth is the ``scenes.private`` column every instance shares, read when an event is about to
be delivered — never a per-instance copy — so a privacy change holds on every instance, with or
without Redis, from the moment its transaction commits (before the write that made it returns).
Cost: one indexed query per batch of events. Streams that ask about the same logged event while
a query for it is in flight share that query (a live event wakes every stream at once; a stream
that goes away leaves the query running for the others); answers are not kept after it, since a
kept answer would outlive a privacy change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..aio import finished
from ..storage.tables import scenes
from .model import Event

__all__ = ["SceneVisibility"]


class SceneVisibility:
    """Private-scene lookups for the event streams of one process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        #: Lookups in flight (each a task answering "which of its scenes are private"), by ``seq``: streams
        #: asking about the same event meanwhile await these (shielded).
        self._pending: dict[int, asyncio.Task[set[str]]] = {}

    async def private_among(self, scene_ids: Collection[str]) -> set[str]:
        """Those of ``scene_ids`` that are private now."""
        wanted = sorted({s for s in scene_ids if s})
        if not wanted:
            return set()
        query = select(scenes.c.id).where(scenes.c.id.in_(wanted), scenes.c.private.is_(True))
        return await finished(self._ids(query))

    async def _ids(self, query: Any) -> set[str]:
        async with self.engine.connect() as conn:
            return set((await conn.execute(query)).scalars())

    async def is_private(self, scene_id: str) -> bool:
        return bool(await self.private_among([scene_id]))

    async def public_only(self, events: Sequence[Event]) -> list[Event]:
        """``events`` without those of private scenes (events of no scene stay)."""
        lookups: dict[int, asyncio.Task[set[str]]] = {}  # by index into events
        ask: dict[int, Event] = {}
        for i, event in enumerate(events):
            if event.scene_id is None:
                continue
            if event.seq is not None and event.seq in self._pending:
                lookups[i] = self._pending[event.seq]
            else:
                ask[i] = event
        if ask:
            # A task of its own, not this caller's: a caller that goes away (client disconnect) cancels only
            # its own wait, never the lookup the other streams await.
            task = asyncio.create_task(self.private_among({e.scene_id for e in ask.values() if e.scene_id}))
            seqs = {e.seq for e in ask.values() if e.seq is not None}
            self._pending.update(dict.fromkeys(seqs, task))
            task.add_done_callback(partial(self._settled, seqs))
            lookups.update(dict.fromkeys(ask, task))
        private = {task: await asyncio.shield(task) for task in set(lookups.values())}
        return [e for i, e in enumerate(events) if i not in lookups or e.scene_id not in private[lookups[i]]]

    def _settled(self, seqs: Collection[int], task: asyncio.Task[set[str]]) -> None:
        for seq in seqs:
            if self._pending.get(seq) is task:
                del self._pending[seq]
        if not task.cancelled():
            task.exception()  # retrieved: the callers awaiting it re-raise it themselves
