"""Events across processes and machines through Redis pub/sub (``SCENEFORGE_REDIS_URL``).

Pub/sub is fire-and-forget: a message published while an instance is reconnecting is lost to
it. The hub repairs that from the events table the next time an event arrives (a ``seq`` gap),
and the listener reconnects with backoff, so the only cost of a Redis blip is latency.

Scene changes (``scene.built``, ``scene.invalidated``: a new pointer, a privacy change, a delete)
are acknowledged: each instance, once its hub's receive listeners ran (they drop its cached
pointers), increments ``<channel>:ack:<seq>:<ts>``; the publisher waits until as many instances as
Redis delivered the message to have done so (at most :data:`ACK_TIMEOUT_S`). So when the write
that made the change returns, no instance still serves the scene from what it cached before.
While the listener is disconnected the process's caches do not answer (:meth:`RedisBus.usable`),
and they drop everything once it is subscribed again (messages may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .bus import ACK_TIMEOUT_S, ACKNOWLEDGED, Deliver, EventBus
from .model import Event

__all__ = ["ACKNOWLEDGED", "ACK_TIMEOUT_S", "CHANNEL", "RedisBus"]

#: The one pub/sub channel all instances share.
CHANNEL = "sceneforge:events"
#: How long an acknowledgement counter lives in Redis.
ACK_TTL_S = 60

log = logging.getLogger(__name__)


class RedisBus(EventBus):
    name = "redis"

    #: Longest wait between reconnect attempts of the listener (seconds).
    max_reconnect_s = 2.0

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        import redis.asyncio as redis

        super().__init__()
        self.url, self.channel = url, channel
        self._client = redis.Redis.from_url(url)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._subscribed = False

    def usable(self) -> bool:
        return self._subscribed

    async def start(self, deliver: Deliver) -> None:
        self._task = asyncio.create_task(self._listen(deliver), name="redis-bus-listener")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self, deliver: Deliver) -> None:
        delay = 0.05
        while True:
            try:
                pubsub = self._client.pubsub()
                await pubsub.subscribe(self.channel)
                if self._ready.is_set():
                    self._reset()  # messages published while the listener was away are lost to it
                self._subscribed = True
                self._ready.set()
                delay = 0.05
                try:
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None and message.get("type") == "message":
                            event = Event.from_json(message["data"])
                            deliver(event)
                            if event.type in ACKNOWLEDGED and event.seq is not None:
                                await self._acknowledge(event)
                finally:
                    self._subscribed = False
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis bus: listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(delay)
                delay = min(self.max_reconnect_s, delay * 2)

    def _ack_key(self, event: Event) -> str:
        # seq and timestamp: distinct even for deployments (or test databases) sharing one Redis and channel.
        return f"{self.channel}:ack:{event.seq}:{event.ts}"

    async def _acknowledge(self, event: Event) -> None:
        key = self._ack_key(event)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, ACK_TTL_S)
                await pipe.execute()
        except Exception as exc:
            log.warning("redis bus: acknowledging seq %s failed (%s)", event.seq, exc)

    async def publish(self, event: Event) -> None:
        try:
            receivers = int(await self._client.publish(self.channel, event.to_json()))
            if event.type in ACKNOWLEDGED and event.seq is not None:
                await self._await_acks(event, receivers)
        except Exception as exc:
            # The event is in the log; subscribers get it from there at the next event (see the hub).
            log.warning("redis bus: publish of seq %s failed (%s)", event.seq, exc)

    async def _await_acks(self, event: Event, receivers: int) -> None:
        """Wait until ``receivers`` instances acknowledged ``event``, or :data:`ACK_TIMEOUT_S` passed."""
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + ACK_TIMEOUT_S, 0.002
        while int(await self._client.get(self._ack_key(event)) or 0) < receivers:
            if loop.time() >= deadline:
                log.warning("redis bus: seq %s acknowledged by fewer than %s instances in time", event.seq, receivers)
                return
            await asyncio.sleep(pause)
            pause = min(0.05, pause * 2)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._client.aclose()
