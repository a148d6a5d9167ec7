"""The one replay loop of the event streams: logged events after a position, in batches, then stop.

SSE (:mod:`.sse`) and the WebSocket (:mod:`.ws`) both subscribe to the hub first, then replay the
log with :func:`replay` from the client's position, then follow the live queue, skipping any
``seq`` the replay already sent (:func:`unseen`). Subscribe-before-replay leaves no gap; the ``seq``
check leaves no duplicate (docs/events.md, "Resuming"). Cost: one indexed query per
:data:`REPLAY_BATCH` events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from .log import EventLog
from .model import Event

__all__ = ["REPLAY_BATCH", "replay", "unseen"]

#: Events read from the log per query while replaying.
REPLAY_BATCH = 500


async def replay(log: EventLog, after: int, *, scene_id: str | None = None) -> AsyncIterator[list[Event]]:
    """Batches of the logged events with ``seq > after`` (of ``scene_id`` if given), oldest first, until caught up."""
    while True:
        batch = await log.read(after, scene_id=scene_id, limit=REPLAY_BATCH)
        if batch:
            yield batch
            after = batch[-1].seq or after
        if len(batch) < REPLAY_BATCH:
            return


def unseen(events: Iterable[Event], sent: int) -> tuple[list[Event], int]:
    """The events a stream that already sent up to ``sent`` still owes, and the new ``sent``.

    Ephemeral events (no ``seq``) always go out; logged ones only above ``sent``.
    """
    fresh: list[Event] = []
    for event in events:
        if event.seq is None:
            fresh.append(event)
        elif event.seq > sent:
            fresh.append(event)
            sent = event.seq
    return fresh, sent
