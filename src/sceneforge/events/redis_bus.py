"""Events across processes and machines through Redis pub/sub (``SCENEFORGE_REDIS_URL``).

Pub/sub is fire-and-forget: a message published while an instance is reconnecting is lost to
it. The hub repairs that from the events table the next time an event arrives (a ``seq`` gap),
and the listener reconnects with backoff, so the only cost of a Redis blip is latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .bus import Deliver, EventBus
from .model import Event

__all__ = ["CHANNEL", "RedisBus"]

#: The one pub/sub channel all instances share.
CHANNEL = "sceneforge:events"

log = logging.getLogger(__name__)


class RedisBus(EventBus):
    name = "redis"

    #: Longest wait between reconnect attempts of the listener (seconds).
    max_reconnect_s = 2.0

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        import redis.asyncio as redis

        self.url, self.channel = url, channel
        self._client = redis.Redis.from_url(url)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, deliver: Deliver) -> None:
        self._task = asyncio.create_task(self._listen(deliver), name="redis-bus-listener")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self, deliver: Deliver) -> None:
        delay = 0.05
        while True:
            try:
                pubsub = self._client.pubsub()
                await pubsub.subscribe(self.channel)
                self._ready.set()
                delay = 0.05
                try:
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None and message.get("type") == "message":
                            deliver(Event.from_json(message["data"]))
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis bus: listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(delay)
                delay = min(self.max_reconnect_s, delay * 2)

    async def publish(self, event: Event) -> None:
        try:
            await self._client.publish(self.channel, event.to_json())
        except Exception as exc:
            # The event is in the log; subscribers get it from there at the next event (see the hub).
            log.warning("redis bus: publish of seq %s failed (%s)", event.seq, exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._client.aclose()
