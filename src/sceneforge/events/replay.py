"""The one replay loop of the event streams: logged events after a position, in batches, then stop.

SSE (:mod:`.sse`) and the WebSocket (:mod:`.ws`) both subscribe to the hub first, then replay the
log with :func:`replay` from the client's position, then follow the live queue, skipping any
``seq`` the replay already sent (:func:`unseen`). Subscribe-before-replay leaves no gap; the ``seq``
check leaves no duplicate (docs/events.md, "Resuming"). Cost: one indexed query per
:data:`REPLAY_BATCH` events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime

from ..wire import iso_utc
from .log import EventLog
from .model import Event

__all__ = ["REPLAY_BATCH", "replay", "resume_point", "unseen"]

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


async def resume_point(
    log: EventLog, since: int, *, live_from: int, scene_id: str | None = None
) -> tuple[int, Event | None]:
    """Where a stream resuming after ``since`` replays from, and the ``stream.reset`` it sends first, if any.

    A position the log can no longer answer for gets a ``stream.reset`` (no ``seq``; docs/events.md,
    "Resuming") so the client knows it missed events and refetches what it shows:

    * ``"pruned"``: events after ``since`` were pruned (``since`` is below the oldest stored ``seq`` - 1);
      the replay goes on from the oldest stored event.
    * ``"ahead"``: ``since`` is past the newest stored event (a client of a database since reset or
      restored, or of another deployment); the stream goes on from ``live_from``, the hub's last event
      when the stream subscribed (not the newest event read now: one published since would count as
      sent and never reach the client), so later events are replayed or come live.

    Read after subscribing to the hub.
    """
    oldest, newest = await log.bounds()
    if since > newest:
        reason, position = "ahead", min(since, live_from)
    elif oldest > 1 and since < oldest - 1:
        reason, position = "pruned", since
    else:
        return since, None
    body = {"reason": reason, "since": since, "oldest": oldest, "newest": newest}
    return position, Event(None, "stream.reset", scene_id, iso_utc(datetime.now(UTC)) or "", body)


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
