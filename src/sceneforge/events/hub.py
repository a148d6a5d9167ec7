"""Each process's event hub: puts bus events in ``seq`` order with no holes, and fans them out.

The bus may deliver out of order, twice, or not at all (see :mod:`.redis_bus`). The hub keeps
``last``, the highest ``seq`` it has passed on. An event at or below ``last`` is a duplicate and is
dropped; an event above ``last + 1`` means a hole, filled from the events table before it (the log's
module docstring explains why every event below a seen one is already readable). A periodic
check of the table's top catches events whose bus message never arrived.

The common case, the next ``seq`` with nothing waiting, is fanned out inside the bus's delivery
call: no hop through the ordering task, so the events of one transaction (``job.status`` then
``scene.built``) reach every queue before any stream writes and go out in one write each.
Anything else (a hole, a duplicate, an event behind a pending fill) goes through the ordering task.

Subscribers get a bounded queue each. One that falls ``queue_size`` events behind is *dropped*
(its queue is cleared and closed) without slowing the hub or anyone else; it resumes from its
last ``seq`` through the log.

:meth:`EventHub.open` builds a process's hub (log, bus, queue size) from the event settings;
:func:`open_bus` the bus alone, for processes that only publish (Celery workers). The bus is
chosen there, once: Redis when configured, else PostgreSQL LISTEN/NOTIFY when the database is
PostgreSQL, else in-process (SQLite: one process per database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import anyio
from sqlalchemy import make_url
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from ..settings import EventSettings
from .bus import EventBus, MemoryBus
from .log import EventLog
from .model import Event
from .pg_bus import PgBus
from .presence import OUTSIDE
from .redis_bus import RedisBus
from .sqlite_bus import SqliteBus

__all__ = ["DROPPED_GRACE_S", "EventHub", "Subscription", "SubscriptionDropped", "cut_when_dropped", "open_bus"]

log = logging.getLogger(__name__)


class SubscriptionDropped(Exception):
    """The subscriber fell too far behind and was disconnected; it should resume from its last ``seq``."""


_CLOSED = object()


class _Latest:
    """A queue slot: the newest ``presence.update`` of one scene not yet read (see :meth:`Subscription.offer`)."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event


#: A read timer may fire this much (seconds) before its deadline (loop clocks round to milliseconds).
TIMER_SLACK_S = 0.002


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Ending:
    """A stream's end notice: ``dropped`` once it is to end, and one callback (:meth:`on_end`) told so."""

    __slots__ = ("_on_end", "dropped")

    def __init__(self, dropped: bool = False) -> None:
        self.dropped = dropped
        self._on_end: Callable[[], None] | None = None

    def on_end(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (at once if it was already) when this stream is dropped: its writer learns it from its
        next read, which never comes while it waits on a send to a client that reads nothing. Called from the
        hub's fan-out: it must only schedule work. None forgets the callback set before."""
        if self.dropped and callback is not None:
            callback()
        else:
            self._on_end = callback

    def _ended(self) -> None:
        self.dropped = True
        callback, self._on_end = self._on_end, None
        if callback is not None:
            callback()


class Subscription(_Ending):
    """A bounded queue of events for one client, optionally limited to some scenes.

    The hub's fan-out calls :meth:`offer` once per subscriber per event, so it is kept to a few
    attribute reads and a deque append; the reader is woken once however many items arrived
    since it last looked, and :meth:`get_batch` takes them all in one go (one write per wake-up
    under a burst). A plain :class:`asyncio.Queue` read with :func:`asyncio.wait_for` made a task
    per read and a wake-up per event: about a fifth of the server's time at 1,000 streams. The
    read timeout (the SSE heartbeat) is one timer per subscription, moved forward lazily: a timer
    made and canceled per read was another tenth.
    """

    __slots__ = (
        "_deadline",
        "_items",
        "_latest",
        "_timer",
        "_waiter",
        "hub",
        "maxsize",
        "scenes",
        "start_seq",
    )

    def __init__(self, hub: EventHub, scenes: Iterable[str] | None, maxsize: int) -> None:
        super().__init__()
        self.hub = hub
        #: None: every scene; otherwise the scene ids this client follows (mutable, for WebSocket ops).
        self.scenes: set[str] | None = set(scenes) if scenes is not None else None
        self.maxsize = maxsize
        #: The hub's ``last`` when this subscription began: every later event arrives through the queue.
        self.start_seq = hub.last
        self._items: deque[object] = deque()
        #: Scene → the slot of its ``presence.update`` queued and not yet read: a newer one replaces it there.
        self._latest: dict[str | None, _Latest] = {}
        self._waiter: asyncio.Future[None] | None = None
        #: Loop time at which the current read times out, and the timer that checks it (None: not armed).
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> int:
        """Items queued and not yet read."""
        return len(self._items)

    def wants(self, event: Event) -> bool:
        return self.scenes is None or event.scene_id in self.scenes

    def offer(self, event: Event) -> None:
        if self.dropped or (self.scenes is not None and event.scene_id not in self.scenes):
            return
        if event.seq is None and event.type == "presence.update":
            self._offer_presence(event)
            return
        if len(self._items) >= self.maxsize:
            self.end()
            return
        self._items.append(event)
        if self._waiter is not None:
            _wake(self._waiter)

    def _offer_presence(self, event: Event) -> None:
        """Presence is coalesced: each update names every viewer of its scene, so one not yet read is replaced
        by a newer one in its place in the queue, and a scene holds at most one slot of it. A client flooding
        presence (or many viewers changing at once) adds at most one item per scene to each queue and never
        pushes a reader that keeps up past ``maxsize``."""
        if self.scenes is None and (event.scene_id or "").startswith(OUTSIDE):
            return  # presence of an outside room: only its sockets (which follow it by name) get it
        slot = self._latest.get(event.scene_id)
        if slot is not None:
            slot.event = event  # the reader was woken when the slot was queued
            return
        if len(self._items) >= self.maxsize:
            self.end()
            return
        slot = self._latest[event.scene_id] = _Latest(event)
        self._items.append(slot)
        if self._waiter is not None:
            _wake(self._waiter)

    def _unwrap(self, item: object) -> object:
        if isinstance(item, _Latest):
            del self._latest[item.event.scene_id]
            return item.event
        return item

    def end(self) -> None:
        """Drop this subscriber: clear its queue and wake its reader with :class:`SubscriptionDropped`."""
        self.dropped = True  # before the wake-up: its reader checks it
        self._items.clear()
        self._latest.clear()
        self._items.append(_CLOSED)
        if self._waiter is not None:
            _wake(self._waiter)
        self.close()
        self._ended()

    def put_control(self, item: object) -> None:
        """Queue a non-event item for this subscriber's own reader (kept in order with the events).

        It counts toward ``maxsize`` like an event: a WebSocket client that keeps sending (pings, bad
        messages) and never reads its replies is dropped, not kept with ever more replies in memory.
        """
        if not self.dropped:
            if len(self._items) >= self.maxsize:
                self.end()
                return
            self._items.append(item)
            if self._waiter is not None:
                _wake(self._waiter)

    async def _ready(self, timeout: float | None) -> bool:
        """Wait until an item is queued (True) or ``timeout`` s pass (False)."""
        if self._items:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        if timeout is not None:
            self._deadline = loop.time() + timeout
            if self._timer is None:
                self._timer = loop.call_at(self._deadline, self._on_timer)
        try:
            await waiter
        finally:
            self._waiter = None
        return bool(self._items)

    def _on_timer(self) -> None:
        """Time out the waiting read if its deadline passed; otherwise check again at the (later) deadline."""
        self._timer = None
        waiter = self._waiter
        if waiter is None:
            return  # the reader is busy; its next read arms a timer
        loop = waiter.get_loop()
        if loop.time() + TIMER_SLACK_S >= self._deadline:
            _wake(waiter)
        else:
            self._timer = loop.call_at(self._deadline, self._on_timer)

    async def get(self, timeout: float | None = None) -> Any:
        """The next event (or control item); None after ``timeout`` s without one; :class:`SubscriptionDropped`."""
        if not await self._ready(timeout):
            return None
        if self._items[0] is _CLOSED:
            raise SubscriptionDropped("subscriber fell behind; resume from the last seq")
        return self._unwrap(self._items.popleft())

    async def get_batch(self, timeout: float | None = None) -> list[Any]:
        """Every item queued now, oldest first (waits for one); [] after ``timeout`` s; :class:`SubscriptionDropped`."""
        if not await self._ready(timeout):
            return []
        if self._items[0] is _CLOSED:
            raise SubscriptionDropped("subscriber fell behind; resume from the last seq")
        items = list(self._items)
        self._items.clear()
        if self._latest:
            items = [self._unwrap(item) for item in items]
        return items

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.hub.unsubscribe(self)


#: Seconds a dropped stream gets to end by itself (an SSE stream its last write, a socket its close frame) before
#: its connection is cut: a client that reads nothing keeps a send waiting, and so its stream, for ever.
DROPPED_GRACE_S = 5.0


@contextlib.contextmanager
def cut_when_dropped(sub: _Ending, grace_s: float | None = None) -> Iterator[anyio.CancelScope]:
    """A cancel scope around a stream's serving that is cancelled ``grace_s`` (:data:`DROPPED_GRACE_S`) after ``sub``
    is dropped, unless the block ended first.

    A stream learns that it was dropped (too far behind, or the process stopping) when it next reads its
    subscription. One whose client reads nothing never does: it waits in a send the server holds until the client
    reads (granian keeps a few chunks, then makes the send wait), with the chunks it took still held. The
    subscription no longer counts among the streams, so such connections were bounded by nothing but the
    server's connection limit. Cancelled, the serving ends and the server closes the connection.
    """
    loop = asyncio.get_running_loop()
    grace = DROPPED_GRACE_S if grace_s is None else grace_s
    timer: asyncio.TimerHandle | None = None
    with anyio.CancelScope() as scope:

        def dropped() -> None:
            nonlocal timer
            timer = loop.call_later(grace, scope.cancel)

        sub.on_end(dropped)
        try:
            yield scope
        finally:
            sub.on_end(None)  # the block is over: a later drop cancels nothing
            if timer is not None:
                timer.cancel()


class StreamHold(_Ending):
    """A stream this process serves outside the hub's subscriptions (an assistant message's SSE): counted
    among :attr:`EventHub.subscribers`, so ``SCENEFORGE_MAX_STREAMS`` bounds it too, until :meth:`close`; ended
    with the subscriptions when the process stops (:meth:`EventHub.stop_streams`), so that
    :func:`cut_when_dropped` cuts it too when its client reads nothing."""

    __slots__ = ("_hub",)

    def __init__(self, hub: EventHub) -> None:
        super().__init__(dropped=hub.stopping)
        self._hub: EventHub | None = hub
        hub._holds.add(self)

    def end(self) -> None:
        """The process is stopping: the stream is to end (its writer sees ``hub.stopping`` at its next event)."""
        self._ended()

    def close(self) -> None:
        if self._hub is not None:
            self._hub._holds.discard(self)
            self._hub = None


class EventHub:
    """Orders and fans out the events of one process. ``start()`` before use, ``close()`` after."""

    #: Seconds between checks of the table's newest ``seq`` (catches events the bus lost).
    sweep_s = 2.0
    #: Events read from the table per query when filling a hole.
    fill_batch = 1000

    @classmethod
    def open(cls, engine: AsyncEngine, cfg: EventSettings, bus: EventBus | None = None) -> EventHub:
        """The hub of ``engine``'s event log on ``bus`` (default: :func:`open_bus` of ``cfg`` and the database)."""
        log_ = EventLog(engine)
        return cls(log_, bus or open_bus(cfg, engine.url, log_), queue_size=cfg.client_queue)

    def __init__(self, log_: EventLog, bus: EventBus, *, queue_size: int = 1000) -> None:
        self.log, self.bus, self.queue_size = log_, bus, queue_size
        self.last = 0
        self._subs: set[Subscription] = set()
        self._holds: set[StreamHold] = set()  # streams served outside the subscriptions
        #: True once :meth:`stop_streams` ran: the process is stopping, every stream ends at once.
        self.stopping = False
        self._inbox: asyncio.Queue[Event | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._receivers: list[Callable[[Event], None]] = []
        #: True while the ordering task handles an inbox item (events then queue behind it).
        self._ordering = False

    async def start(self) -> None:
        self.last = await self.log.last_seq()
        self._tasks = [
            asyncio.create_task(self._order(), name="event-hub-order"),
            asyncio.create_task(self._sweep(), name="event-hub-sweep"),
        ]
        await self.bus.start(self._receive)

    async def close(self) -> None:
        await self.bus.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for sub in list(self._subs):
            sub.end()
        for held in list(self._holds):
            held.end()
        self._subs.clear()

    async def record(self, kind: str, scene_id: str | None, payload: dict[str, Any]) -> Event:
        """Append an event in a transaction of its own and publish it (e.g. ``scene.invalidated`` after a delete)."""
        event = await self.log.append_now(kind, scene_id, payload)
        await self.publish(event)
        return event

    async def publish(self, event: Event) -> None:
        """Publish a committed event (through the bus, so every instance's hub sees it)."""
        await self.bus.publish(event)

    def broadcast(self, event: Event) -> None:
        """Hand an ephemeral event (no ``seq``, e.g. presence) to this process's subscribers only."""
        self._emit(event)

    def on_event(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every ordered event (e.g. to clear a cache on ``scene.invalidated``)."""
        self._listeners.append(listener)

    def on_receive(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every event as the bus hands it over, before ordering (maybe twice, maybe
        out of order): for what must happen at once, such as forgetting cached scene pointers. The Redis bus
        acknowledges ``scene.*`` events to their publisher after these listeners ran (see :mod:`.redis_bus`)."""
        self._receivers.append(listener)

    def subscribe(self, scenes: Iterable[str] | None = None, *, maxsize: int | None = None) -> Subscription:
        sub = Subscription(self, scenes, maxsize or self.queue_size)
        self._subs.add(sub)
        if self.stopping:
            sub.end()
        return sub

    def stop_streams(self) -> None:
        """End every open stream now, and every later one at once: the process is stopping.

        A server stops only once its connections have ended, and a stream (SSE, WebSocket) does not end
        by itself: without this, one open studio tab kept the process, and its running jobs, from being
        handed back. SSE streams end (the client reconnects, to another instance or after the restart,
        and resumes from its last id); sockets close with 1001 (going away).
        """
        self.stopping = True
        for sub in list(self._subs):
            sub.end()
        for held in list(self._holds):
            held.end()

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def hold(self) -> StreamHold:
        """Count a stream served outside the subscriptions among :attr:`subscribers` until it is closed."""
        return StreamHold(self)

    @property
    def subscribers(self) -> int:
        """The event streams this process serves: its subscriptions and its :class:`StreamHold` s."""
        return len(self._subs) + len(self._holds)

    def _emit(self, event: Event) -> None:
        if event.seq is not None:
            self.last = event.seq
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on seq %s", event.seq)
        for sub in tuple(self._subs):  # a copy: offer() may drop (unsubscribe) a subscriber
            sub.offer(event)

    async def _fill(self, until: int | None) -> None:
        while True:
            missing = await self.log.read(self.last, until=until, limit=self.fill_batch)
            for event in missing:
                self._emit(event)
            if len(missing) < self.fill_batch:
                return

    def _receive(self, event: Event) -> None:
        """The bus's delivery: the next event goes out at once when nothing waits; the rest is queued in order."""
        for receiver in self._receivers:
            try:
                receiver(event)
            except Exception:
                log.exception("event receiver failed on seq %s", event.seq)
        if self._ordering or not self._inbox.empty():
            self._inbox.put_nowait(event)
        elif event.seq is None or event.seq == self.last + 1:
            self._emit(event)
        elif event.seq > self.last + 1:
            self._inbox.put_nowait(event)

    async def _order(self) -> None:
        while True:
            event = await self._inbox.get()
            self._ordering = True
            try:
                if event is None:
                    await self._safe_fill(None)
                elif event.seq is None or event.seq == self.last + 1:
                    self._emit(event)
                elif event.seq > self.last + 1:
                    # Fills up to and including this event (it is committed); on failure the sweep retries.
                    await self._safe_fill(event.seq)
            finally:
                self._ordering = False

    async def _safe_fill(self, until: int | None) -> None:
        try:
            await self._fill(until)
        except Exception:
            log.exception("event hub: reading the events table failed; retrying at the next event")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            try:
                top = await self.log.last_seq()
            except Exception:
                log.exception("event hub: sweep failed")
                continue
            if top > self.last:
                self._inbox.put_nowait(None)


def open_bus(cfg: EventSettings, database_url: str | URL, log_: EventLog | None = None) -> EventBus:
    """The one choice of bus: Redis pub/sub when ``cfg.redis_url`` is set; else LISTEN/NOTIFY when the database
    (``database_url``) is PostgreSQL; else, for a SQLite file, in-process delivery with a change counter
    the processes on that file share (:mod:`.sqlite_bus`); in-process only for an in-memory database.
    Events reach every instance with the first two; scene changes reach every process's caches with all three."""
    if cfg.redis_url:
        return RedisBus(cfg.redis_url)
    url = make_url(database_url) if isinstance(database_url, str) else database_url
    if url.get_backend_name() in {"postgresql", "postgres"}:
        return PgBus(url, log_=log_)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SqliteBus(url.database)
    return MemoryBus()
