"""A Redis that stops answering without closing anything (``SIGSTOP``: a hung host, dropped packets): a publish
returns within its bound, leaving the event to the log, and the listener stops vouching for the caches until Redis
answers again; then both work as before."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable

from sceneforge.events.model import Event
from sceneforge.events.redis_bus import PUBLISH_TIMEOUT_S, SILENCE_S, RedisBus
from tests.support.waiting import until

#: A publish not returned by then is held without bound.
HANG_S = 30.0
TS = "2026-01-01T00:00:00.000Z"


async def _until(check: Callable[[], object], what: str) -> None:
    await until(check, what, 15.0)


async def test_a_stopped_redis_bounds_publish_and_turns_the_caches_off(
    redis_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, proc = redis_process
    writer, reader = RedisBus(url, channel="stalls"), RedisBus(url, channel="stalls")
    seen: list[int | None] = []
    await writer.start(lambda event: None)
    await reader.start(lambda event: seen.append(event.seq))
    try:
        await writer.publish(Event(1, "scene.invalidated", "room", TS, {}))
        assert seen == [1] and reader.usable()
        proc.send_signal(signal.SIGSTOP)
        try:
            # It waited for ever: every write that publishes an event (a build, a draft, a job's end) hung with it.
            await asyncio.wait_for(writer.publish(Event(2, "scene.invalidated", "room", TS, {})), HANG_S)
            # The listener heard nothing and said nothing: the caches went on answering, invalidations or not.
            await _until(lambda: not reader.usable(), "took the silent Redis for lost")
            assert PUBLISH_TIMEOUT_S < SILENCE_S
        finally:
            proc.send_signal(signal.SIGCONT)
        await _until(reader.usable, "subscribed again")
        await writer.publish(Event(3, "scene.invalidated", "room", TS, {}))
        assert 3 in seen
    finally:
        await writer.close()
        await reader.close()
