"""The one replay loop of the event streams: logged events after a position, in bounded pages, then stop.

SSE (:mod:`.sse`) and the WebSocket (:mod:`.ws`) both subscribe to the hub first, then replay the
log with :func:`replay` from the client's position, then follow the live queue, skipping any
``seq`` the replay already sent (:func:`unseen`). Subscribe-before-replay leaves no gap; the ``seq``
check leaves no duplicate (docs/events.md, "Resuming").

A replay holds one page at a time: at most :data:`REPLAY_PAGE_EVENTS` events and about
:data:`REPLAY_PAGE_BYTES` of their JSON (:meth:`~.log.EventLog.page`, one indexed query each, cut in
the database), and the next page is read only when the stream asks for it, once the previous one
was handed to its client. Reading a batch of 500 events at a time, a stream resuming from the start
of a 1.8 MB history held about 2.5 MB (rows decoded, frames, the chunk) while its client read it:
hundreds of clients resuming at once (a restart, a network blip) took a gigabyte
(docs/benchmarks.md, "Event replay memory").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ..wire import iso_utc
from .log import EventLog
from .model import Event

__all__ = ["REPLAY_PAGE_BYTES", "REPLAY_PAGE_EVENTS", "Replay", "replay", "resume_point", "unseen"]

#: Most events read from the log per page while replaying.
REPLAY_PAGE_EVENTS = 256
#: Bytes of stored event JSON a page stops at (it holds one event at least, however large).
REPLAY_PAGE_BYTES = 64 * 1024


class Replay:
    """The pages of the logged events with ``seq > after`` (of ``scene_id`` if given), oldest first, until caught
    up; each read when asked for. The iterator keeps no page: once its reader lets one go (sent it), it is gone."""

    __slots__ = ("_done", "after", "log", "max_bytes", "max_events", "scene_id")

    def __init__(
        self,
        log: EventLog,
        after: int,
        *,
        scene_id: str | None = None,
        max_events: int = REPLAY_PAGE_EVENTS,
        max_bytes: int = REPLAY_PAGE_BYTES,
    ) -> None:
        self.log, self.after, self.scene_id = log, after, scene_id
        self.max_events, self.max_bytes = max_events, max_bytes
        self._done = False

    def __aiter__(self) -> Replay:
        return self

    async def __anext__(self) -> list[Event]:
        if self._done:
            raise StopAsyncIteration
        page, more = await self.log.page(
            self.after, scene_id=self.scene_id, max_events=self.max_events, max_bytes=self.max_bytes
        )
        self._done = not more
        # Pruning runs while the pages are read (each once its client took the last): events after ``after`` pruned
        # before this page was read would be skipped in silence. Read after the page, the oldest seq held tells
        # (pruning takes a prefix of the log): the page then starts with a ``stream.reset``.
        oldest, newest = await self.log.bounds()
        told = [_reset("pruned", self.after, oldest, newest, self.scene_id)] if oldest > self.after + 1 else []
        if not page:
            if told:
                return told
            raise StopAsyncIteration
        self.after = page[-1].seq or self.after
        return [*told, *page]


def replay(log: EventLog, after: int, *, scene_id: str | None = None) -> Replay:
    """:class:`Replay` of ``log`` after ``after``, in pages of the default bounds."""
    return Replay(log, after, scene_id=scene_id)


async def resume_point(
    log: EventLog, since: int, *, live_from: int, scene_id: str | None = None
) -> tuple[int, Event | None]:
    """Where a stream resuming after ``since`` replays from, and the ``stream.reset`` it sends first, if any.

    A position the log can no longer answer for gets a ``stream.reset`` (no ``seq``; docs/events.md,
    "Resuming") so the client knows it missed events and refetches what it shows:

    * ``"pruned"``: events after ``since`` were pruned (``since`` is below the oldest stored ``seq`` - 1);
      the replay goes on from the oldest stored event. (Events pruned later, while the replay's pages are read,
      are told by :class:`Replay` itself, before the page that follows them.)
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
        reason, position = "pruned", oldest - 1  # told here: the replay from there tells only a later pruning
    else:
        return since, None
    return position, _reset(reason, since, oldest, newest, scene_id)


def _reset(reason: str, since: int, oldest: int, newest: int, scene_id: str | None) -> Event:
    body = {"reason": reason, "since": since, "oldest": oldest, "newest": newest}
    return Event(None, "stream.reset", scene_id, iso_utc(datetime.now(UTC)) or "", body)


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
