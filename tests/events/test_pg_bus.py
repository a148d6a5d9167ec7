"""The PostgreSQL event bus (LISTEN/NOTIFY): scene changes are applied by every live instance before
``publish`` returns; big events travel as stubs; an instance whose listener connection is lost stops
answering from its caches, is not waited for past its lease, and starts afresh once reconnected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from sceneforge.events.log import EventLog
from sceneforge.events.model import Event
from sceneforge.events.pg_bus import MAX_PAYLOAD, PgBus, _dsn
from sceneforge.storage import create_engine, upgrade
from tests.support.servers import create_database

TS = "2026-01-01T00:00:00.000Z"


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database of its own (NOTIFY channels are per database)."""
    url = create_database(postgres_url)
    await asyncio.to_thread(upgrade, url)
    yield url


async def _until(condition: Any, what: str) -> None:
    """Wait for a state (not a duration): ``condition()`` true, checked every few ms, 20 s at most."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def _started(url: str, n: int, log_: EventLog | None = None) -> tuple[list[PgBus], list[list[Event]]]:
    buses = [PgBus(url, log_=log_) for _ in range(n)]
    seen: list[list[Event]] = [[] for _ in buses]
    for bus, got in zip(buses, seen, strict=True):
        await bus.start(got.append)
    return buses, seen


@pytest.mark.parametrize("kind", ["scene.invalidated", "scene.built"])
async def test_pg_bus_scene_change_is_applied_everywhere_before_publish_returns(pg: str, kind: str) -> None:
    buses, seen = await _started(pg, 3)
    publisher = PgBus(pg)  # publishes only (a Celery worker): not an instance anyone waits for
    try:
        assert all(bus.usable() for bus in buses) and not publisher.usable()
        for seq in (9001, 9002, 9003):
            await (publisher if seq == 9002 else buses[seq % 3]).publish(Event(seq, kind, "room", TS, {"n": seq}))
            # checked before anything else runs: every instance applied it while publish waited
            assert [[e.seq for e in got].count(seq) for got in seen] == [1, 1, 1]
        await buses[1].publish(Event(9004, "job.progress", "room", TS, {}))
        await _until(lambda: all(any(e.seq == 9004 for e in got) for got in seen), "unacknowledged event delivered")
    finally:
        for bus in [*buses, publisher]:
            await bus.close()


async def test_pg_bus_event_past_the_notify_limit_is_read_back_from_the_log(pg: str) -> None:
    engine = create_engine(pg)
    log_ = EventLog(engine)
    buses, seen = await _started(pg, 2, log_)
    try:
        big = await log_.append_now("scene.built", "room", {"warnings": ["w" * 100] * 200})
        assert len(big.to_json()) > MAX_PAYLOAD
        await buses[0].publish(big)
        assert [got[-1] if got else None for got in seen] == [big, big]
        assert all(bus.usable() for bus in buses)
    finally:
        for bus in buses:
            await bus.close()
        await engine.dispose()


async def test_pg_bus_waits_for_a_silent_instance_only_until_its_lease_ran_out(pg: str) -> None:
    """An instance that holds a lease but never acknowledges (its process hangs) delays the writer until the
    lease it held ends in the database — by then it has stopped answering from its own caches."""
    (bus,), _seen = await _started(pg, 1)
    conn = await asyncpg.connect(_dsn(pg))
    try:
        await conn.execute(
            "INSERT INTO bus_instances VALUES ('silent', clock_timestamp() + interval '300 milliseconds')"
        )
        lease_end = await conn.fetchval("SELECT lease_until FROM bus_instances WHERE id = 'silent'")
        await bus.publish(Event(7001, "scene.invalidated", "room", TS, {}))
        assert await conn.fetchval("SELECT clock_timestamp()") >= lease_end
    finally:
        await conn.close()
        await bus.close()


async def test_pg_bus_listener_loss_turns_caches_off_and_reconnect_starts_afresh(pg: str) -> None:
    buses, seen = await _started(pg, 2)
    writer, reader = buses
    resets: list[bool] = []
    reader.on_reset(lambda: resets.append(reader.usable()))
    conn = await asyncpg.connect(_dsn(pg))
    try:
        listener = reader._listener
        assert listener is not None and reader.usable()
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", listener.get_server_pid())
        await _until(lambda: not reader.usable(), "reader notices its lost listener")
        # Meanwhile a scene change: the writer does not wait on the lost instance past its lease, and returns.
        await writer.publish(Event(8001, "scene.invalidated", "room", TS, {}))
        assert any(e.seq == 8001 for e in seen[0])
        await _until(reader.usable, "reader reconnects")
        assert resets == [False]  # the caches were cleared on reconnect, before they could answer again
        assert reader._listener is not listener
        await writer.publish(Event(8002, "scene.invalidated", "room", TS, {}))
        assert any(e.seq == 8002 for e in seen[1])  # acknowledged through the new connection
    finally:
        await conn.close()
        for bus in buses:
            await bus.close()


async def test_pg_bus_publisher_connection_that_cannot_listen_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that took the connection but does not answer its LISTEN fails the publish: the connection goes with
    it, where each batch sent while the server was silent left one more open."""
    opened: list[Any] = []

    class Silent:
        terminated = False

        async def add_listener(self, *_args: object) -> None:
            raise TimeoutError

        def terminate(self) -> None:
            self.terminated = True

    async def connect(*_args: object, **_kwargs: object) -> Silent:
        opened.append(Silent())
        return opened[-1]

    monkeypatch.setattr(asyncpg, "connect", connect)
    bus = PgBus("postgresql://nobody@127.0.0.1:1/none")
    for _ in range(2):
        with pytest.raises(TimeoutError):
            await bus._publisher_conn()
    assert len(opened) == 2 and all(conn.terminated for conn in opened)
