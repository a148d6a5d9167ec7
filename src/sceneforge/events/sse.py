"""Server-sent events: the wire format and the resumable stream (docs/events.md, "Server-sent events").

A stream subscribes to the hub *first*, then replays the log from the client's position
(:func:`~.replay.replay`, a bounded page at a time: one chunk each, the next read once it was sent),
then follows the live queue, skipping any ``seq`` it already sent (:func:`~.replay.unseen`). A resume
position that is not a seq (malformed, negative, beyond 64 bits) is refused before the stream starts
(:func:`parse_last_event_id`); one before the oldest stored event or past the newest gets a
``stream.reset`` first (:func:`~.replay.resume_point`).
Idle streams get a comment line every ``heartbeat_s`` so proxies keep them open and dead clients are noticed.

The live path does no per-client encoding: each event's frame is made once
(:meth:`~.model.Event.to_sse`) and every stream writes those bytes; the events that queued up
while a stream waited for its turn go out joined in one chunk (one write, not one per event).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from ..wire import MAX_INT64, header_text, shown
from .hub import EventHub, Subscription, SubscriptionDropped
from .log import EventLog
from .model import Event
from .replay import replay, resume_point, unseen

__all__ = [
    "HEARTBEAT",
    "MAX_SEQ",
    "EventFilter",
    "ResumePositionInvalid",
    "format_event",
    "parse_last_event_id",
    "parse_seq",
    "sse_stream",
]

#: The largest ``seq`` there can be: the events table's key is a signed 64-bit integer.
MAX_SEQ = MAX_INT64

#: The heartbeat: an SSE comment, ignored by clients.
HEARTBEAT = b": ping\n\n"


def format_event(event: Event) -> bytes:
    """``id:`` seq, ``event:`` type, ``data:`` the JSON object, then a blank line (made once per event)."""
    return event.to_sse()


class ResumePositionInvalid(ValueError):
    """A resume position that is not a ``seq``: not a decimal integer, or beyond :data:`MAX_SEQ`."""

    def __init__(self, where: str, value: str) -> None:
        self.where = where
        super().__init__(f"{where} must be an event seq, a whole number from 0 to {MAX_SEQ} (got {shown(value)!r})")


def parse_seq(text: str, where: str) -> int:
    """A resume position as sent by a client; :class:`ResumePositionInvalid` unless it is 0..:data:`MAX_SEQ`."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_SEQ)) or int(value) > MAX_SEQ:
        raise ResumePositionInvalid(where, text)
    return int(value)


def parse_last_event_id(header: str | None, since: int | None) -> int | None:
    """The position to resume after: the ``Last-Event-ID`` header wins over ``?since=``; None for live only.

    Raises :class:`ResumePositionInvalid` for a header or ``since`` that is not a seq (negative,
    malformed, or beyond 64 bits): answered 422 before the stream starts, never a stream cut short.
    """
    if since is not None and not 0 <= since <= MAX_SEQ:
        raise ResumePositionInvalid("since", str(since))
    if header is not None and header.strip():
        return parse_seq(header_text(header), "Last-Event-ID")
    return since


#: Filters a batch of events down to those a stream may send (see :class:`~.privacy.SceneVisibility`).
EventFilter = Callable[[Sequence[Event]], Awaitable[list[Event]]]


async def sse_stream(
    hub: EventHub,
    log: EventLog,
    *,
    since: int | None,
    scene_id: str | None = None,
    heartbeat_s: float = 15.0,
    retry_ms: int = 2000,
    visible: EventFilter | None = None,
    alive: Callable[[], Awaitable[bool]] | None = None,
    subscription: Subscription | None = None,
) -> AsyncIterator[bytes]:
    """The SSE body: replay after ``since`` (if given), then the live tail; ends if the client is dropped.

    ``visible``, when given, decides which events go out (a caller without read access sees no
    private scene's); the position still moves past the events it holds back. ``alive``, when
    given, is asked before anything is sent after the first line (events and heartbeats): False
    ends the stream (the credential it was opened with was revoked or has expired).
    ``subscription``: the hub subscription to follow, made by the caller before the response
    started (None: made here, when the body is first read); the stream closes it when it ends.
    """
    sub = subscription or hub.subscribe([scene_id] if scene_id is not None else None)
    try:
        yield f"retry: {retry_ms}\n\n".encode()
        sent = since if since is not None else sub.start_seq
        if since is not None:
            # A position the log no longer holds (pruned) or never held (past the newest event) is told to the
            # client first. Past the newest, the stream goes on from where this subscription began (later events
            # are replayed or come live), or no event would ever be above it.
            sent, reset = await resume_point(log, since, live_from=sub.start_seq, scene_id=scene_id)
            if reset is not None and (shown := [reset] if visible is None else await visible([reset])):
                yield shown[0].to_sse()
            async for page in replay(log, sent, scene_id=scene_id):
                if alive is not None and not await alive():
                    return
                sent = page[-1].seq or sent
                shown = page if visible is None else await visible(page)
                # One chunk a page, its frames not kept on the events (no other stream shares them), and the
                # page let go before the send: while the client takes the chunk, the stream holds nothing else,
                # and the next page is read only once this one was handed on.
                chunk = b"".join([event.to_sse(keep=False) for event in shown])
                del page, shown
                if chunk:
                    yield chunk
        while True:
            try:
                events = await sub.get_batch(timeout=heartbeat_s)
            except SubscriptionDropped:
                return
            if alive is not None and not await alive():
                return
            if not events:
                yield HEARTBEAT
                continue
            fresh, sent = unseen(events, sent)
            if fresh and visible is not None:
                fresh = await visible(fresh)
            if fresh:
                yield fresh[0].to_sse() if len(fresh) == 1 else b"".join([event.to_sse() for event in fresh])
    finally:
        sub.close()
