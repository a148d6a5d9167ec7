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

A Redis that stops answering without closing its connections (a stopped process, a network that drops
packets) would hold a publish, and the write that sent it, for ever, and leave the listener subscribed
to a server that delivers nothing. So a publish waits at most :data:`PUBLISH_TIMEOUT_S` for Redis
(then the event is left to the log, as for any failed publish), and the listener pings Redis whenever
it has heard nothing for a second: one that has not answered for :data:`SILENCE_S` counts as lost
(the caches stop answering) and the listener reconnects.
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
#: Seconds a publish (or a subscribe) waits for Redis to answer.
PUBLISH_TIMEOUT_S = 2.0
#: Seconds without a word from Redis (a message, or the answer to a ping sent after one quiet second) after
#: which the listener takes its connection for lost.
SILENCE_S = 3.0

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
                await asyncio.wait_for(pubsub.subscribe(self.channel), PUBLISH_TIMEOUT_S)
                if self._ready.is_set():
                    self._reset()  # messages published while the listener was away are lost to it
                self._subscribed = True
                self._ready.set()
                delay = 0.05
                loop = asyncio.get_running_loop()
                heard = pinged = loop.time()
                try:
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        now = loop.time()
                        if message is not None:
                            heard = now
                        elif now - heard >= SILENCE_S:
                            raise ConnectionError(f"redis did not answer for {SILENCE_S:g} s")
                        elif now - heard >= 1.0 and now - pinged >= 1.0:
                            pinged = now
                            await asyncio.wait_for(pubsub.ping(), PUBLISH_TIMEOUT_S)  # its pong is a message
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
            async with asyncio.timeout(PUBLISH_TIMEOUT_S), self._client.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, ACK_TTL_S)
                await pipe.execute()
        except Exception as exc:
            log.warning("redis bus: acknowledging seq %s failed (%s)", event.seq, exc)

    async def publish(self, event: Event) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            receivers = int(
                await asyncio.wait_for(self._client.publish(self.channel, event.to_json()), PUBLISH_TIMEOUT_S)
            )
            if event.type in ACKNOWLEDGED and event.seq is not None:
                async with asyncio.timeout(ACK_TIMEOUT_S + PUBLISH_TIMEOUT_S):  # each read of a counter, too
                    await self._await_acks(event, receivers)
        except Exception as exc:
            # The event is in the log; subscribers get it from there at the next event (see the hub).
            log.warning("redis bus: publish of seq %s failed (%s)", event.seq, exc)
            if event.type in ACKNOWLEDGED:
                # A scene change no instance may have heard: return once a listener cut off from this Redis has
                # had the time to notice (SILENCE_S and its last one-second read) and stop answering from its cache.
                await asyncio.sleep(max(0.0, SILENCE_S + 1.0 - (loop.time() - started)))

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
