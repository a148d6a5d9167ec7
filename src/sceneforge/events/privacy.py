"""Which events a caller without read access may see: none of a private scene's.

The truth is the ``scenes.private`` column every instance shares, read when an event is about to
be delivered — never a per-instance copy — so a privacy change holds on every instance, with or
without Redis, from the moment its transaction commits (before the write that made it returns).
Cost: one indexed query per batch of events. Streams that ask about the same logged event while
a query for it is in flight share that query (a live event wakes every stream at once); answers
are not kept after it, since a kept answer would outlive a privacy change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..storage.tables import scenes
from .model import Event

__all__ = ["SceneVisibility"]


class SceneVisibility:
    """Private-scene lookups for the event streams of one process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        #: Lookups in flight, by ``seq``: streams asking about the same event meanwhile await these.
        self._pending: dict[int, asyncio.Future[bool]] = {}

    async def private_among(self, scene_ids: Collection[str]) -> set[str]:
        """Those of ``scene_ids`` that are private now."""
        wanted = sorted({s for s in scene_ids if s})
        if not wanted:
            return set()
        query = select(scenes.c.id).where(scenes.c.id.in_(wanted), scenes.c.private.is_(True))
        async with self.engine.connect() as conn:
            return set((await conn.execute(query)).scalars())

    async def is_private(self, scene_id: str) -> bool:
        return bool(await self.private_among([scene_id]))

    async def public_only(self, events: Sequence[Event]) -> list[Event]:
        """``events`` without those of private scenes (events of no scene stay)."""
        hidden: set[int] = set()  # indexes into events
        ask: dict[int, Event] = {}
        waits: dict[int, asyncio.Future[bool]] = {}
        for i, event in enumerate(events):
            if event.scene_id is None:
                continue
            if event.seq is not None and event.seq in self._pending:
                waits[i] = self._pending[event.seq]
            else:
                ask[i] = event
        if ask:
            mine = {e.seq: asyncio.get_running_loop().create_future() for e in ask.values() if e.seq is not None}
            self._pending.update(mine)
            try:
                private = await self.private_among({e.scene_id for e in ask.values() if e.scene_id})
            except BaseException as exc:
                for seq, future in mine.items():
                    self._pending.pop(seq, None)
                    future.set_exception(exc)
                    future.exception()  # retrieved: waiters re-raise it themselves
                raise
            for i, event in ask.items():
                secret = event.scene_id in private
                if secret:
                    hidden.add(i)
                if event.seq is not None:
                    self._pending.pop(event.seq, None)
                    mine[event.seq].set_result(secret)
        for i, future in waits.items():
            if await future:
                hidden.add(i)
        return [e for i, e in enumerate(events) if i not in hidden]
