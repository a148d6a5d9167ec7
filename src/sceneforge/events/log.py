"""The events table: append inside the writer's transaction, read by ``seq``, prune by age.

``seq`` must reach subscribers in order with no gaps, though several processes write events
(API instances, Celery workers). Two facts make that possible: (1) on PostgreSQL every append
first takes one transaction-scoped advisory lock, so events commit in ``seq`` order (SQLite has
a single writer, which gives the same); (2) therefore when a reader has seen event ``n``, every
event below ``n`` that will ever exist is already committed and readable. The hub
(:mod:`.hub`) fills any hole in the live stream from this table on that basis.

The reads run to their end even when their caller is cancelled (:func:`~sceneforge.aio.finished`): a stream
whose client leaves mid-replay returns its connection to the pool instead of tearing it down mid-query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..aio import finished
from ..storage.database import written
from ..storage.tables import events
from ..wire import iso_utc
from .model import EVENT_TYPES, Event

__all__ = ["APPEND_LOCK_KEY", "EventLog"]

#: ``pg_advisory_xact_lock`` key serializing event appends (any constant shared by every writer).
APPEND_LOCK_KEY = 0x5CE4E_E7E47


def _row_event(row: Any) -> Event:
    ts = row.ts if row.ts.tzinfo else row.ts.replace(tzinfo=UTC)
    return Event(int(row.seq), row.type, row.scene_id, iso_utc(ts) or "", dict(row.payload))


class EventLog:
    """Access to the events table of one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def append(self, conn: AsyncConnection, type_: str, scene_id: str | None, body: dict[str, Any]) -> Event:
        """Insert an event in ``conn``'s open transaction and return it with its ``seq``.

        Publish it to the bus only after that transaction commits.
        """
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
        now = datetime.now(UTC)
        result = await conn.execute(insert(events).values(type=type_, scene_id=scene_id, ts=now, payload=body))
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the events insert returned no seq")
        seq = int(key[0])
        return Event(seq, type_, scene_id, iso_utc(now) or "", body)

    async def append_now(self, type_: str, scene_id: str | None, body: dict[str, Any]) -> Event:
        """Append in a transaction of its own (e.g. ``scene.invalidated`` after a delete)."""
        return await written(self.engine, lambda conn: self.append(conn, type_, scene_id, body))

    async def read(
        self, since: int, *, scene_id: str | None = None, until: int | None = None, limit: int = 1000
    ) -> list[Event]:
        """Events with ``since < seq`` (``<= until`` if given), oldest first, at most ``limit``."""
        query = select(events).where(events.c.seq > since).order_by(events.c.seq).limit(limit)
        if scene_id is not None:
            query = query.where(events.c.scene_id == scene_id)
        if until is not None:
            query = query.where(events.c.seq <= until)
        rows = await finished(self._rows(query))
        return [_row_event(r) for r in rows]

    async def page(
        self, since: int, *, scene_id: str | None = None, max_events: int, max_bytes: int
    ) -> tuple[list[Event], bool]:
        """A page of the events with ``since < seq`` (of ``scene_id`` if given), oldest first, and whether more
        may follow: at most ``max_events``, and no more than it takes to reach ``max_bytes`` of stored JSON (one
        event at least, however large).

        One query, cut in the database: the rows past either bound are never sent to this process, so a reader
        of a long history holds one page at a time (keyset pagination: the next page starts after the last
        ``seq`` of this one). Without ``scene_id`` it walks the primary key, with it ``ix_events_scene_id``.
        """
        size = func.length(cast(events.c.payload, Text))
        first = select(events, size.label("size")).where(events.c.seq > since)
        if scene_id is not None:
            first = first.where(events.c.scene_id == scene_id)
        head = first.order_by(events.c.seq).limit(max_events).subquery("head")
        before = func.sum(head.c.size).over(order_by=head.c.seq) - head.c.size  # bytes of the rows before this one
        sized = select(head, before.label("before"), func.count().over().label("head_rows")).subquery("sized")
        query = select(sized).where(sized.c.before < max_bytes).order_by(sized.c.seq)
        rows = await finished(self._rows(query))
        more = bool(rows) and (len(rows) < rows[0].head_rows or rows[0].head_rows == max_events)
        return [_row_event(r) for r in rows], more

    async def last_seq(self) -> int:
        """The highest ``seq`` stored (0 when the table is empty)."""
        (row,) = await finished(self._rows(select(func.max(events.c.seq))))
        return int(row[0] or 0)

    async def bounds(self) -> tuple[int, int]:
        """The lowest and highest ``seq`` stored, ``(0, 0)`` when the table is empty (one indexed query)."""
        (row,) = await finished(self._rows(select(func.min(events.c.seq), func.max(events.c.seq))))
        return int(row[0] or 0), int(row[1] or 0)

    async def _rows(self, query: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).all())

    async def prune(self, keep: timedelta, *, now: datetime | None = None) -> int:
        """Delete the events before the first one younger than ``keep`` (never the newest: it anchors ``seq``).
        Returns the count.

        A prefix of the log by ``seq``, not every event stamped before the cutoff: each writer stamps ``ts`` with its
        own clock (other hosts, a clock stepped back), and an event pruned above one still held would be a hole that
        ``oldest`` does not show, skipped in silence by a stream resuming below it (:func:`~.replay.resume_point`).
        """
        cutoff = (now or datetime.now(UTC)) - keep

        async def body(conn: AsyncConnection) -> int:
            top = (await conn.execute(select(func.max(events.c.seq)))).scalar() or 0
            young = (await conn.execute(select(func.min(events.c.seq)).where(events.c.ts >= cutoff))).scalar()
            bound = top if young is None else min(young, top)
            return int((await conn.execute(delete(events).where(events.c.seq < bound))).rowcount or 0)

        return await written(self.engine, body)
