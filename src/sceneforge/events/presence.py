"""Who views which scene (the ``presence.update`` event of docs/events.md), in one instance or across instances.

Each :class:`Presence` keeps the viewers connected to its own process (scene → connection id →
state) and hands ``presence.update`` to that process's subscribers whenever the set of viewers of a
scene changes. Without Redis that is all there is. With Redis (``SCENEFORGE_REDIS_URL``) every
instance also shares its own viewers and merges those of the other live instances:

* Instance ``i`` keeps a hash ``sceneforge:presence:<i>`` (field ``s:<sceneId>`` → JSON list of
  ``{"id","state"}``, field ``n`` → its change counter) and is listed in the set
  ``sceneforge:presence:instances``. Each change of its viewers updates the hash and publishes the
  changed scenes on the channel ``sceneforge:presence`` in one transaction, so an instance that
  loads the hashes and then reads the channel misses nothing (the counter orders the two).
* Every ``refresh_s`` it renews the hash's TTL (``expire_s``) and publishes a heartbeat. A
  receiver drops the viewers of an instance it has not heard from for ``expire_s`` (by its own
  clock, so clocks of different machines never matter); it checks every ``tick_s``. A killed
  instance's viewers are gone everywhere within ``expire_s + tick_s`` (5.5 s, under 3 × refresh).
* An instance that stops having viewers withdraws (deletes its hash, publishes ``gone``) and
  closes its Redis connections; the next viewer starts a new session, which loads every live
  instance's hash before reading the channel. A Redis outage drops the other instances' viewers
  until the connection is back, then the state is loaded again.

Updates of one scene are sent at most once per ``batch_s`` (0.1 s): the first change is sent at once,
the changes that follow within ``batch_s`` together when it ends, as one update holding the viewers
then. Every update names all the scene's viewers, so its cost grows with them; sent once per change,
viewers each changing their state at the allowed rate made the work grow with the square of their
number (each update built, encoded and sent to every viewer).

Presence events are live-only: they carry no ``seq`` and are never written to the events table.
Connection ids are random (12 hex digits), so ids from different instances do not collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..aio import wait_event
from ..wire import iso_utc
from .model import Event

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

    from .hub import EventHub

__all__ = ["CHANNEL", "INSTANCES_KEY", "KEY_PREFIX", "OUTSIDE", "Presence", "outside_room"]

#: The pub/sub channel of presence changes and heartbeats (apart from the events channel: never replayed).
CHANNEL = "sceneforge:presence"
#: Prefix of each instance's hash of viewers.
KEY_PREFIX = "sceneforge:presence:"
#: The set of instance ids that may have a hash (members whose hash expired are removed on load).
INSTANCES_KEY = "sceneforge:presence:instances"

#: Prefix of the presence room where connections without read access view a private scene (no scene id starts
#: with it): they see one another there, never the scene's own viewers, and its viewers never see them. An
#: unknown id is answered the same (its viewers, who are the same kind of caller), so which private ids exist
#: does not show (docs/events.md, "WebSocket"). Its updates reach only the sockets in that room.
OUTSIDE = "~"


def outside_room(scene_id: str) -> str:
    """The presence room of the callers without read access who subscribed to private ``scene_id``."""
    return OUTSIDE + scene_id


log = logging.getLogger(__name__)

Viewers = list[dict[str, Any]]


@dataclass
class _Remote:
    """What this process knows of another instance's viewers."""

    #: The instance's change counter at the last applied change (older messages are ignored).
    n: int = -1
    #: Loop time of the last message or load that showed the instance alive.
    seen: float = 0.0
    scenes: dict[str, Viewers] = field(default_factory=dict)


class Presence:
    """Viewers per scene: this process's own, merged with those of the other instances when Redis is set.

    Call :meth:`bind` with the process's hub before use (it is where updates go, and a Redis bus
    there turns cluster presence on), then :meth:`join`, :meth:`set` and :meth:`leave` per
    connection. :meth:`close` withdraws this instance at shutdown.
    """

    #: Seconds between heartbeats (TTL renewal and a liveness message) while this instance has viewers.
    refresh_s = 2.0
    #: Seconds without a message after which another instance's viewers are dropped (2.5 heartbeats).
    expire_s = 5.0
    #: Seconds between checks for expired instances.
    tick_s = 0.5
    #: Longest wait between attempts to reach Redis again.
    max_reconnect_s = 2.0
    #: Least seconds between two updates of one scene (0: one update per change).
    batch_s = 0.1

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        instance_id: str | None = None,
        notify: Callable[[Event], None] | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        #: This process's viewers: scene → connection id → state.
        self.scenes: dict[str, dict[str, dict[str, Any]]] = {}
        self._notify = notify
        self._remote: dict[str, _Remote] = {}
        #: Scene → JSON of the merged viewers last sent (change detection).
        self._sent: dict[str, str] = {}
        self._dirty: set[str] = set()
        #: Scene → loop time of its last update (while it has viewers).
        self._last: dict[str, float] = {}
        #: Scene → (whether it is forced, the timer) of the update waiting for the end of its batch.
        self._later: dict[str, tuple[bool, asyncio.TimerHandle]] = {}
        self._n = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- the local side -------------------------------------------------------------------

    def bind(self, hub: EventHub) -> None:
        """Send updates to ``hub``'s subscribers; share presence through the hub's Redis, if it has one."""
        if self._notify is None:
            self._notify = hub.broadcast
        if self.redis_url is None:
            self.redis_url = getattr(hub.bus, "url", None) if hub.bus.name == "redis" else None

    def join(self, scene_id: str, conn_id: str) -> None:
        """``conn_id`` views ``scene_id`` (state kept if it already did); always sends the current viewers."""
        self.scenes.setdefault(scene_id, {}).setdefault(conn_id, {})
        self._local_changed(scene_id, force=True)

    def set(self, scene_id: str, conn_id: str, state: dict[str, Any]) -> None:
        """Set the state of ``conn_id`` in ``scene_id`` (joining it if needed)."""
        self.scenes.setdefault(scene_id, {})[conn_id] = state
        self._local_changed(scene_id)

    def leave(self, scene_id: str, conn_id: str) -> bool:
        """``conn_id`` stops viewing ``scene_id``; False if it was not viewing it."""
        viewers = self.scenes.get(scene_id, {})
        gone = viewers.pop(conn_id, None) is not None
        if not viewers:
            self.scenes.pop(scene_id, None)
        if gone:
            self._local_changed(scene_id)
        return gone

    def leave_all(self, conn_id: str) -> None:
        """``conn_id`` disconnected: it leaves every scene it viewed."""
        for scene_id in [s for s, viewers in self.scenes.items() if conn_id in viewers]:
            self.leave(scene_id, conn_id)

    def viewers(self, scene_id: str) -> Viewers:
        """The merged viewers of ``scene_id``, ``[{"id", "state"}]`` sorted by id."""
        merged = [{"id": c, "state": s} for c, s in self.scenes.get(scene_id, {}).items()]
        for remote in self._remote.values():
            merged.extend(remote.scenes.get(scene_id, ()))
        merged.sort(key=lambda v: str(v["id"]))
        return merged

    def event(self, scene_id: str) -> Event:
        """The ``presence.update`` of ``scene_id`` now (no ``seq``: live only)."""
        now = iso_utc(datetime.now(UTC)) or ""
        return Event(None, "presence.update", scene_id, now, {"viewers": self.viewers(scene_id)})

    async def close(self, timeout: float = 5.0) -> None:
        """Forget this instance's viewers and withdraw them from the other instances (waits up to ``timeout``)."""
        self.scenes.clear()
        for _force, timer in self._later.values():
            timer.cancel()
        self._later.clear()
        task = self._task
        if task is None or task.done():
            return
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _local_changed(self, scene_id: str, *, force: bool = False) -> None:
        self._changed(scene_id, force=force)
        if self.redis_url is not None:
            self._dirty.add(scene_id)
            self._wake.set()
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._run(), name=f"presence-{self.instance_id}")

    def _changed(self, scene_id: str, *, force: bool = False) -> None:
        """:meth:`_send` now, or when the scene's batch ends if it had an update less than ``batch_s`` ago."""
        waiting = self._later.get(scene_id)
        if waiting is not None:
            if force and not waiting[0]:
                self._later[scene_id] = (True, waiting[1])
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): nothing could send it later
            self._send(scene_id, force=force)
            return
        now, last = loop.time(), self._last.get(scene_id)
        if last is not None and now < last + self.batch_s:
            due = last + self.batch_s
            self._later[scene_id] = (force, loop.call_at(due, self._batch_ended, scene_id))
            return
        self._last[scene_id] = now
        self._send(scene_id, force=force)

    def _batch_ended(self, scene_id: str) -> None:
        force, _timer = self._later.pop(scene_id)
        self._last[scene_id] = asyncio.get_running_loop().time()
        self._send(scene_id, force=force)

    def _send(self, scene_id: str, *, force: bool = False) -> None:
        """Send the scene's merged viewers to this process's subscribers if they changed (or ``force``)."""
        event = self.event(scene_id)
        if not event.body["viewers"]:
            self._last.pop(scene_id, None)  # the scene's next viewer is sent at once
        text = json.dumps(event.body["viewers"], sort_keys=True)
        if not force and self._sent.get(scene_id, "[]") == text:
            return
        if event.body["viewers"]:
            self._sent[scene_id] = text
        else:
            self._sent.pop(scene_id, None)
        if self._notify is not None:
            self._notify(event)

    def _local_list(self, scene_id: str) -> Viewers:
        return [{"id": c, "state": s} for c, s in sorted(self.scenes.get(scene_id, {}).items())]

    # --- the cluster side -----------------------------------------------------------------

    async def _run(self) -> None:
        """Sessions with Redis while this process has viewers; reconnects with backoff after a failure."""
        delay = 0.05
        while self.scenes:
            try:
                await self._session()
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("presence: lost Redis (%s); other instances' viewers hidden until it is back", exc)
                self._forget_remote()
                await asyncio.sleep(delay)
                delay = min(self.max_reconnect_s, delay * 2)
        self._forget_remote()
        self._task = None

    async def _session(self) -> None:
        """One connection: load the live instances, publish ours, then relay changes until we have no viewers."""
        import redis.asyncio as redis

        client: Redis = redis.Redis.from_url(self.redis_url or "", decode_responses=True)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            await self._load(client)
            async with asyncio.TaskGroup() as group:
                reader = group.create_task(self._read(pubsub))
                await self._write(client)
                reader.cancel()
            await self._withdraw(client)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _load(self, client: Redis) -> None:
        """Read the hash of every listed instance (removing those that expired)."""
        now = asyncio.get_running_loop().time()
        for member in await client.smembers(INSTANCES_KEY):
            instance = str(member)
            if instance == self.instance_id:
                continue
            fields = await client.hgetall(KEY_PREFIX + instance)
            if not fields:
                await client.srem(INSTANCES_KEY, instance)
                continue
            scenes = {str(k)[2:]: json.loads(v) for k, v in fields.items() if str(k).startswith("s:")}
            self._apply(instance, int(fields.get("n", 0)), scenes, full=True, now=now)

    async def _write(self, client: Redis) -> None:
        """Publish everything, then each change as it happens and a heartbeat every ``refresh_s``."""
        loop = asyncio.get_running_loop()
        self._dirty.clear()
        await self._publish(client, set(self.scenes), full=True)
        next_beat = loop.time() + self.refresh_s
        while True:
            self._wake.clear()
            if self._dirty:
                scenes, self._dirty = self._dirty, set()
                await self._publish(client, scenes, full=False)
                await asyncio.sleep(self.batch_s)  # the changes of the next batch_s go out as one message
            if not self.scenes and not self._dirty:
                return
            if loop.time() >= next_beat:
                await self._heartbeat(client)
                next_beat = loop.time() + self.refresh_s
            await wait_event(self._wake, max(0.0, next_beat - loop.time()))

    async def _publish(self, client: Redis, scenes: Iterable[str], *, full: bool) -> None:
        self._n += 1
        key = KEY_PREFIX + self.instance_id
        delta = {s: self._local_list(s) for s in sorted(scenes)}
        async with client.pipeline(transaction=True) as pipe:
            if full:
                pipe.delete(key)
            for scene_id, viewers in delta.items():
                if viewers:
                    pipe.hset(key, f"s:{scene_id}", json.dumps(viewers))
                else:
                    pipe.hdel(key, f"s:{scene_id}")
            pipe.hset(key, "n", self._n)
            pipe.pexpire(key, int(self.expire_s * 1000))
            pipe.sadd(INSTANCES_KEY, self.instance_id)
            message = {"instance": self.instance_id, "n": self._n, "full": full, "scenes": delta}
            pipe.publish(CHANNEL, json.dumps(message))
            await pipe.execute()

    async def _heartbeat(self, client: Redis) -> None:
        async with client.pipeline(transaction=True) as pipe:
            pipe.pexpire(KEY_PREFIX + self.instance_id, int(self.expire_s * 1000))
            pipe.sadd(INSTANCES_KEY, self.instance_id)
            pipe.publish(CHANNEL, json.dumps({"instance": self.instance_id, "beat": True}))
            await pipe.execute()

    async def _withdraw(self, client: Redis) -> None:
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(KEY_PREFIX + self.instance_id)
            pipe.srem(INSTANCES_KEY, self.instance_id)
            pipe.publish(CHANNEL, json.dumps({"instance": self.instance_id, "gone": True}))
            await pipe.execute()

    async def _read(self, pubsub: PubSub) -> None:
        """Apply the other instances' messages; drop instances not heard from for ``expire_s``."""
        loop = asyncio.get_running_loop()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self.tick_s)
            now = loop.time()
            if message is not None and message.get("type") == "message":
                self._receive(json.loads(message["data"]), now)
            for instance in [i for i, r in self._remote.items() if now - r.seen > self.expire_s]:
                self._drop(instance)

    def _receive(self, message: dict[str, Any], now: float) -> None:
        instance = str(message.get("instance"))
        if instance == self.instance_id:
            return
        if message.get("gone"):
            self._drop(instance)
        elif message.get("beat"):
            if instance in self._remote:
                self._remote[instance].seen = now
        else:
            self._apply(instance, int(message["n"]), message["scenes"], full=bool(message.get("full")), now=now)

    def _apply(self, instance: str, n: int, scenes: dict[str, Viewers], *, full: bool, now: float) -> None:
        remote = self._remote.setdefault(instance, _Remote())
        remote.seen = now
        if n <= remote.n:
            return
        remote.n = n
        touched = set(scenes)
        if full:
            touched |= set(remote.scenes)
            remote.scenes = {}
        for scene_id, viewers in scenes.items():
            if viewers:
                remote.scenes[scene_id] = viewers
            else:
                remote.scenes.pop(scene_id, None)
        for scene_id in sorted(touched):
            self._changed(scene_id)

    def _drop(self, instance: str) -> None:
        remote = self._remote.pop(instance, None)
        if remote is not None:
            for scene_id in sorted(remote.scenes):
                self._changed(scene_id)

    def _forget_remote(self) -> None:
        for instance in list(self._remote):
            self._drop(instance)
