"""Events across instances through PostgreSQL LISTEN/NOTIFY: the bus of instances sharing a PostgreSQL
database without Redis (chosen by :func:`~sceneforge.events.hub.open_bus`; docs/deployment.md).

Each instance holds one *listener* connection (asyncpg, ``LISTEN`` on :data:`CHANNEL`) and, once
it publishes, one *publisher* connection (``LISTEN`` on :data:`ACK_CHANNEL`). Events go out as
``pg_notify`` after their transaction committed, as ``<instance> <event JSON>`` (an event whose
JSON would pass the 8000-byte payload limit goes as a stub the receivers read back from the
events table); publishes that wait meanwhile share one statement. The publishing process hands
the event to its own hub at once (as the in-process bus does) and skips its own notification. Like Redis pub/sub,
NOTIFY is fire-and-forget; the hub fills holes from the events table.

Scene changes (:data:`~sceneforge.events.bus.ACKNOWLEDGED`) are acknowledged, so the write that
made one returns only once no instance still answers from what it cached before:

* **Presence and leases.** Every ``beat_s`` (0.5 s) the listener connection renews the instance's
  row in ``bus_instances``: ``lease_until = now() + lease_s + LEASE_MARGIN_S`` by the database's
  clock. The instance itself counts its lease from when it *sent* that query (``lease_s``, 1.5 s, by
  its own monotonic clock), so its own lease always ends first. Its caches answer only while the
  listener connection is open and that lease runs (:meth:`PgBus.usable`); a heartbeat that
  completes proves that every notification committed before it was sent has been handled, since
  PostgreSQL sends pending notifications before it reports the query done and asyncpg runs their
  callbacks in that order.
* **Acknowledgement.** An instance applies a scene change in the notification's callback (the
  hub's receive listeners drop its cached pointers) and then acknowledges it on
  :data:`ACK_CHANNEL`. The publisher sends the NOTIFY and, in the same statement, reads the rows
  whose lease runs; it waits until each of them (but itself, which applied the change before
  sending it) acknowledged, or its lease (as read) ran out —
  at most ``lease_s + LEASE_MARGIN_S`` = :data:`~sceneforge.events.bus.ACK_TIMEOUT_S` (2 s). An
  instance that did not acknowledge in time has, by then, stopped answering from its caches.
* **Loss and reconnection.** A lost listener connection turns the caches off at once (and a
  silent one at its lease's end); the listener reconnects with backoff, ``LISTEN``\\ s, clears the
  caches (:meth:`~sceneforge.events.bus.EventBus.on_reset`: notifications may have been missed)
  and renews its lease, after which the caches answer again. A publisher that expected the lost
  instance's acknowledgement waits until the lease it read ran out (at most 2 s).

A row appears only after its ``LISTEN`` committed, so a publisher that expects an instance's
acknowledgement never waits on one that cannot get the notification. Cost per instance: a
heartbeat upsert every 0.5 s; per scene change: one NOTIFY, one acknowledgement per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url
from sqlalchemy.engine import URL

from ..aio import wait_event
from .bus import ACK_TIMEOUT_S, ACKNOWLEDGED, Deliver, EventBus
from .model import Event

if TYPE_CHECKING:
    import asyncpg

    from .log import EventLog

__all__ = ["ACK_CHANNEL", "CHANNEL", "LEASE_MARGIN_S", "MAX_PAYLOAD", "PgBus"]

#: The channel events go out on (NOTIFY channels are per database).
CHANNEL = "sceneforge_events"
#: The channel of acknowledgements: ``{"i": instance, "k": [event keys]}``.
ACK_CHANNEL = "sceneforge_acks"
#: Bytes of JSON a notification may carry (PostgreSQL refuses payloads of 8000 bytes or more).
MAX_PAYLOAD = 7900
#: Seconds the database's lease of an instance outlasts the instance's own (clock rates, transit).
LEASE_MARGIN_S = 0.5

log = logging.getLogger(__name__)

_BEAT = """
INSERT INTO bus_instances (id, lease_until) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until
"""
_PRUNE = "DELETE FROM bus_instances WHERE lease_until < clock_timestamp() - interval '1 minute'"
#: One statement: the notifications (sent in order at commit) and the instances whose lease runs, with the
#: seconds left.
_PUBLISH = """
SELECT (SELECT count(pg_notify($1, t)) FROM unnest($2::text[]) AS u(t)),
       (SELECT coalesce(json_object_agg(id, extract(epoch FROM lease_until - clock_timestamp())), '{}')::text
          FROM bus_instances WHERE lease_until > clock_timestamp())
"""
#: Notifications sent per statement at most (publishes waiting meanwhile share one round trip).
BATCH = 256
#: Seconds the bus's own statements (a publish, a heartbeat, an acknowledgement) and its connection attempts wait
#: for the server. One that stops answering without closing anything (a hung host, dropped packets) held a publish,
#: the write that sent it and every publish queued behind it, for as long as it was silent.
STATEMENT_TIMEOUT_S = 2.0


def _dsn(url: str | URL) -> str:
    """The libpq-style URL asyncpg takes, from a SQLAlchemy one (``postgresql+asyncpg://…``)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _key(event: Event) -> str:
    return f"{event.seq}:{event.ts}"


@dataclass
class _Wait:
    """A publisher's wait for the acknowledgements of one event."""

    acked: set[str] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: Instance → monotonic time its lease (as the publisher read it) ends; None until the NOTIFY returned.
    expected: dict[str, float] | None = None

    def check(self, now: float) -> None:
        if self.expected is not None and all(i in self.acked or end <= now for i, end in self.expected.items()):
            self.done.set()


class PgBus(EventBus):
    """The PostgreSQL event bus of one process (see the module docstring)."""

    name = "postgresql"

    #: Seconds between heartbeats of the listener connection.
    beat_s = 0.5
    #: Seconds after a heartbeat was sent during which this process's caches may answer.
    lease_s = ACK_TIMEOUT_S - LEASE_MARGIN_S
    #: Longest wait between reconnect attempts of the listener.
    max_reconnect_s = 2.0

    def __init__(self, url: str | URL, *, log_: EventLog | None = None, instance_id: str | None = None) -> None:
        """``log_`` reads back the events sent as stubs (a process that only publishes needs none)."""
        super().__init__()
        self.dsn = _dsn(url)
        self.instance_id = instance_id or uuid.uuid4().hex[:16]
        self._log = log_
        self._deliver: Deliver | None = None
        self._listener: asyncpg.Connection | None = None
        self._publisher: asyncpg.Connection | None = None
        #: Notifications waiting for the sender task, with the future of each publish.
        self._outbox: list[tuple[str, asyncio.Future[tuple[str, float]]]] = []
        self._outbox_ready = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        #: Monotonic time until which the caches may answer (0: not now).
        self._lease_until = 0.0
        #: Stubs being read back: the caches wait for them too.
        self._fetching = 0
        self._acks: list[str] = []
        self._wake = asyncio.Event()
        self._waits: dict[str, _Wait] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Set by :meth:`close`: the listener and sender loops end even where a cancel was lost.
        self._closing = False

    @property
    def application_name(self) -> str:
        """How the listener connection shows in ``pg_stat_activity``."""
        return f"sceneforge-bus {self.instance_id}"

    # --- receiving ------------------------------------------------------------------------

    def usable(self) -> bool:
        conn = self._listener
        return (
            conn is not None and self._fetching == 0 and not conn.is_closed() and time.monotonic() < self._lease_until
        )

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._task = asyncio.create_task(self._listen(), name="pg-bus-listener")
        await asyncio.wait_for(asyncio.shield(self._ready.wait()), timeout=10)

    async def _listen(self) -> None:
        delay = 0.05
        while not self._closing:
            conn = None
            try:
                import asyncpg

                conn = await asyncpg.connect(
                    self.dsn,
                    server_settings={"application_name": self.application_name},
                    timeout=STATEMENT_TIMEOUT_S,
                    command_timeout=STATEMENT_TIMEOUT_S,
                )
                conn.add_termination_listener(self._lost)
                await conn.add_listener(CHANNEL, self._on_event)
                self._listener = conn
                self._reset()  # what was cached may have changed unheard while no LISTEN was in place
                await conn.execute(_PRUNE, timeout=STATEMENT_TIMEOUT_S)
                self._acks.clear()
                await self._beat(conn)  # the row (and the caches) only now: LISTEN has committed
                self._ready.set()
                delay = 0.05
                await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("postgresql bus: listener connection lost (%s); caches off until it is back", exc)
                self._lease_until = 0.0
                self._listener = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
                await asyncio.sleep(delay)
                delay = min(self.max_reconnect_s, delay * 2)

    async def _serve(self, conn: asyncpg.Connection) -> None:
        """Send acknowledgements as they come and a heartbeat every ``beat_s``, until the connection fails."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.beat_s
        while not self._closing:
            self._wake.clear()
            if conn.is_closed():
                raise ConnectionError("the listener connection closed")
            if self._acks:
                keys, self._acks = self._acks, []
                await self._notify_acks(conn, {"i": self.instance_id, "k": keys})
            if loop.time() >= next_beat:
                next_beat = loop.time() + self.beat_s
                await self._beat(conn)
            await wait_event(self._wake, max(0.0, next_beat - loop.time()))

    async def _beat(self, conn: asyncpg.Connection) -> None:
        sent = time.monotonic()
        await conn.execute(_BEAT, self.instance_id, self.lease_s + LEASE_MARGIN_S, timeout=STATEMENT_TIMEOUT_S)
        self._lease_until = sent + self.lease_s

    async def _notify_acks(self, conn: asyncpg.Connection, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"))
        await conn.execute("SELECT pg_notify($1, $2)", ACK_CHANNEL, text, timeout=STATEMENT_TIMEOUT_S)

    def _lost(self, _conn: object) -> None:
        self._lease_until = 0.0
        self._wake.set()

    def _on_event(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """A notification: deliver it at once (the hub's receive listeners drop cached pointers), then acknowledge."""
        origin, _, text = payload.partition(" ")
        if origin == self.instance_id:
            return  # delivered when it was published
        try:
            data = json.loads(text)
            if data.get("stub"):
                self._spawn(self._fetch(int(data["seq"])))
                return
            event = Event.from_dict(data)
        except Exception:
            log.exception("postgresql bus: unreadable notification %.200r", payload)
            return
        self._apply(event)

    def _apply(self, event: Event) -> None:
        if self._deliver is not None:
            self._deliver(event)
        if event.type in ACKNOWLEDGED and event.seq is not None:
            self._acks.append(_key(event))
            self._wake.set()

    async def _fetch(self, seq: int) -> None:
        """Read back an event sent as a stub; the caches stay off meanwhile."""
        if self._log is None:
            return  # the hub finds it in the table at its next sweep
        self._fetching += 1
        try:
            for event in await self._log.read(seq - 1, until=seq, limit=1):
                self._apply(event)
        except Exception:
            log.exception("postgresql bus: reading event %s back failed", seq)
        finally:
            self._fetching -= 1

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- publishing -----------------------------------------------------------------------

    def _on_ack(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            instance = str(data["i"])
            keys = [str(k) for k in data["k"]]
        except Exception:
            log.exception("postgresql bus: unreadable acknowledgement %.200r", payload)
            return
        now = time.monotonic()
        for key in keys:
            wait = self._waits.get(key)
            if wait is not None:
                wait.acked.add(instance)
                wait.check(now)

    async def _publisher_conn(self) -> asyncpg.Connection:
        conn = self._publisher
        if conn is None or conn.is_closed():
            import asyncpg

            conn = await asyncpg.connect(self.dsn, timeout=STATEMENT_TIMEOUT_S, command_timeout=STATEMENT_TIMEOUT_S)
            try:
                await conn.add_listener(ACK_CHANNEL, self._on_ack)
            except BaseException:  # a server silent after the connect: the next batch opens another, not this one
                conn.terminate()
                raise
            self._publisher = conn
        return conn

    async def publish(self, event: Event) -> None:
        text = event.to_json()
        if len(text.encode()) > MAX_PAYLOAD:
            stub = {"stub": True, "seq": event.seq, "type": event.type, "sceneId": event.scene_id, "ts": event.ts}
            text = json.dumps(stub, separators=(",", ":"))
        acked = event.type in ACKNOWLEDGED and event.seq is not None
        wait = _Wait()
        if acked:
            self._waits[_key(event)] = wait  # before the NOTIFY: acknowledgements may come before it returns
        local = self._deliver is not None
        if self._deliver is not None:
            # This process first, before any other hears of it (no yield: like the in-process bus).
            self._deliver(event)
        try:
            sent: asyncio.Future[tuple[str, float]] = asyncio.get_running_loop().create_future()
            self._outbox.append((f"{self.instance_id} {text}", sent))
            self._outbox_ready.set()
            if self._sender is None or self._sender.done():
                self._sender = asyncio.create_task(self._send(), name="pg-bus-sender")
            leases, now = await sent
            if acked:
                expected = {str(i): now + float(left) for i, left in json.loads(leases).items()}
                if local:
                    expected.pop(self.instance_id, None)
                wait.expected = expected
                await self._await_acks(event, wait)
        except Exception as exc:
            # The event is in the log; the hubs get it from there at their next event or sweep.
            log.warning("postgresql bus: publish of seq %s failed (%s)", event.seq, exc)
        finally:
            self._waits.pop(_key(event), None)

    async def _send(self) -> None:
        """Send what the outbox holds, up to :data:`BATCH` notifications per statement, in order."""
        while not self._closing:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                batch, self._outbox = self._outbox[:BATCH], self._outbox[BATCH:]
                try:
                    conn = await self._publisher_conn()
                    texts = [text for text, _ in batch]
                    _count, leases = await conn.fetchrow(_PUBLISH, CHANNEL, texts, timeout=STATEMENT_TIMEOUT_S)
                except Exception as exc:
                    if self._publisher is not None and (isinstance(exc, TimeoutError) or self._publisher.is_closed()):
                        self._publisher.terminate()  # a silent server: the next batch opens a fresh connection
                        self._publisher = None
                    for _text, sent in batch:
                        if not sent.done():
                            sent.set_exception(exc)
                    continue
                now = time.monotonic()
                for _text, sent in batch:
                    if not sent.done():
                        sent.set_result((leases, now))

    async def _await_acks(self, event: Event, wait: _Wait) -> None:
        """Until every expected instance acknowledged ``event`` or its lease (as read) ran out."""
        expected = wait.expected or {}
        while True:
            now = time.monotonic()
            wait.check(now)
            if wait.done.is_set():
                break
            left = min(end for i, end in expected.items() if i not in wait.acked) - now
            await wait_event(wait.done, left)
        late = sorted(i for i, end in expected.items() if i not in wait.acked)
        if late:
            log.warning("postgresql bus: seq %s not acknowledged by %s before their leases ran out", event.seq, late)

    # --- shutdown -------------------------------------------------------------------------

    async def close(self) -> None:
        self._closing = True
        await _stopped(self._task)
        self._task = None
        for task in list(self._tasks):
            task.cancel()
        await _stopped(self._sender)
        self._sender = None
        for _text, sent in self._outbox:
            sent.cancel()
        self._outbox.clear()
        self._lease_until = 0.0
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            await _within(conn.execute("DELETE FROM bus_instances WHERE id = $1", self.instance_id), 2, conn)
            await _within(conn.close(), 2, conn)
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await _within(publisher.close(), 2, publisher)
        self._deliver = None


async def _stopped(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` until it ended. Python 3.11's ``asyncio.wait_for`` (used inside asyncpg too) can
    swallow a cancel that arrives as its inner call completes; asking again ends the task all the same."""
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if task is not None and not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()


async def _within(work: Awaitable[Any], seconds: float, conn: asyncpg.Connection) -> None:
    """``work`` on ``conn`` for at most ``seconds``; past that the connection is cut (a canceled query
    waits for the server's answer to the cancel, which a broken connection never sends)."""
    task = asyncio.ensure_future(work)
    await asyncio.wait({task}, timeout=seconds)
    if not task.done():
        conn.terminate()
        task.cancel()
        await asyncio.wait({task}, timeout=1)
    if task.done() and not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()
