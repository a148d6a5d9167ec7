"""A PostgreSQL server that stops answering without closing anything (``SIGSTOP``: a hung host, dropped packets): a
publish returns within its bound, leaving the event to the log, instead of holding the write that sent it (and every
publish queued behind it) for as long as the server is silent; the listener stops vouching for the caches, and both
work again once the server answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sceneforge.events.model import Event
from sceneforge.events.pg_bus import PgBus
from sceneforge.storage import upgrade
from tests.support.servers import PostgresCluster, create_database
from tests.support.waiting import until

#: A publish not returned by then is held without bound.
HANG_S = 60.0
TS = "2026-01-01T00:00:00.000Z"


async def _until(check: Callable[[], object], what: str) -> None:
    await until(check, what, 30.0)


async def test_a_stopped_server_bounds_publish_and_turns_the_caches_off(postgres_cluster: PostgresCluster) -> None:
    url = create_database(postgres_cluster.server_url)
    await asyncio.to_thread(upgrade, url)
    writer, reader = PgBus(url), PgBus(url)
    seen: list[int | None] = []
    await writer.start(lambda event: None)
    await reader.start(lambda event: seen.append(event.seq))
    try:
        await writer.publish(Event(1, "scene.invalidated", "room", TS, {}))
        assert seen == [1] and reader.usable()
        postgres_cluster.pause()
        try:
            await asyncio.wait_for(writer.publish(Event(2, "scene.invalidated", "room", TS, {})), HANG_S)
            await asyncio.wait_for(writer.publish(Event(3, "job.progress", "room", TS, {})), HANG_S)
            await _until(lambda: not reader.usable(), "stopped answering from the caches")
        finally:
            postgres_cluster.resume()
        await _until(reader.usable, "listening again")
        await writer.publish(Event(4, "scene.invalidated", "room", TS, {}))
        assert 4 in seen
    finally:
        await writer.close()
        await reader.close()
