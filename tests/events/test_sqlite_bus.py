"""The SQLite bus: scene changes published by one process reach the caches of every other process on
the same database file before ``publish`` returns (docs/deployment.md)."""

from __future__ import annotations

import asyncio
import multiprocessing
import stat
from pathlib import Path

from sceneforge.events import Event
from sceneforge.events.hub import open_bus
from sceneforge.events.sqlite_bus import SqliteBus
from sceneforge.settings import EventSettings

TS = "2026-01-02T03:04:05.678Z"


def _bus(db: Path) -> tuple[SqliteBus, list[int]]:
    bus = SqliteBus(db)
    resets: list[int] = []
    bus.on_reset(lambda: resets.append(1))
    return bus, resets


async def test_a_scene_change_resets_the_other_buses_caches_once(tmp_path: Path) -> None:
    db = tmp_path / "sceneforge.db"
    (a, a_resets), (b, b_resets) = _bus(db), _bus(db)
    delivered: list[str] = []
    await a.start(lambda event: delivered.append(event.type))
    try:
        assert a.usable() and b.usable()
        await a.publish(Event(1, "job.progress", "s", TS))  # not a scene change: nothing moves
        assert b.usable() and not b_resets
        await a.publish(Event(2, "scene.invalidated", "s", TS))
        assert delivered == ["job.progress", "scene.invalidated"]  # the writer applies it itself
        assert a.usable() and not a_resets  # and keeps its caches
        assert not b.usable() and b_resets == [1]  # the other drops everything; the read in flight is not kept
        assert b.usable() and b_resets == [1]
    finally:
        await a.close()
        await b.close()
    assert not a.usable()  # closed: no cache answers
    assert stat.S_IMODE((tmp_path / "sceneforge.db.changes").stat().st_mode) == 0o600


async def test_a_writer_sees_changes_published_before_its_own(tmp_path: Path) -> None:
    db = tmp_path / "sceneforge.db"
    (a, a_resets), (b, b_resets) = _bus(db), _bus(db)
    try:
        await b.publish(Event(1, "scene.built", "x", TS))
        await a.publish(Event(2, "scene.built", "y", TS))  # a had not looked since b's change
        assert a_resets == [1] and a.usable()
        assert not b.usable() and b_resets == [1]
    finally:
        await a.close()
        await b.close()


def _publish_elsewhere(db: str) -> None:
    async def main() -> None:
        bus = SqliteBus(db)
        await bus.publish(Event(1, "scene.invalidated", "s", TS))
        await bus.close()

    asyncio.run(main())


async def test_a_change_from_another_process_reaches_this_one(tmp_path: Path) -> None:
    db = tmp_path / "sceneforge.db"
    bus, resets = _bus(db)
    try:
        assert bus.usable()
        process = multiprocessing.get_context("spawn").Process(target=_publish_elsewhere, args=(str(db),))
        process.start()
        await asyncio.to_thread(process.join, 60)
        assert process.exitcode == 0
        assert not bus.usable() and resets == [1]
    finally:
        await bus.close()


async def test_open_bus_picks_the_sqlite_bus_for_a_database_file(tmp_path: Path) -> None:
    cfg = EventSettings()
    on_file, in_memory = open_bus(cfg, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), open_bus(cfg, "sqlite+aiosqlite://")
    assert isinstance(on_file, SqliteBus) and on_file.path == tmp_path / "x.db.changes"
    assert not isinstance(in_memory, SqliteBus)  # in memory: one process
    await on_file.close()
