"""Private-scene filtering of event streams over a real SQLite database: streams asking about the same
event share one lookup, and a stream that goes away mid-lookup takes no other stream with it."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sceneforge.events import Event
from sceneforge.events.privacy import SceneVisibility
from sceneforge.storage.tables import scenes

from ..jobs.conftest import data_dir, engine  # noqa: F401 - fixtures


class GatedVisibility(SceneVisibility):
    """Counts the lookups it runs and holds each one until ``gate`` opens."""

    def __init__(self, engine: Any) -> None:  # noqa: F811
        super().__init__(engine)
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.lookups = 0

    async def private_among(self, scene_ids: Collection[str]) -> set[str]:
        self.lookups += 1
        self.started.set()
        await self.gate.wait()
        return await super().private_among(scene_ids)


async def _add_scenes(engine: Any, private: dict[str, bool]) -> None:  # noqa: F811
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for scene_id, secret in private.items():
            await conn.execute(scenes.insert().values(id=scene_id, private=secret, created_at=now, updated_at=now))


def _event(seq: int, scene_id: str | None) -> Event:
    return Event(seq, "job.status", scene_id, "2026-01-01T00:00:00.000Z")


async def test_streams_share_a_lookup_and_one_leaving_does_not_end_the_others(engine: Any) -> None:  # noqa: F811
    await _add_scenes(engine, {"open": False, "secret": True})
    hide = GatedVisibility(engine)
    batch = [_event(1, "open"), _event(2, "secret"), _event(3, None)]
    first = asyncio.create_task(hide.public_only(batch))
    await hide.started.wait()
    others = [asyncio.create_task(hide.public_only(batch)) for _ in range(3)]
    await asyncio.sleep(0)  # the others join the lookup in flight
    first.cancel()  # its client disconnected
    await asyncio.sleep(0)
    hide.gate.set()
    for answer in await asyncio.gather(*others):
        assert [e.seq for e in answer] == [1, 3]
    assert first.cancelled()
    assert hide.lookups == 1
    # Nothing is kept once the lookup ends: a later batch asks again.
    assert [e.seq for e in await hide.public_only(batch)] == [1, 3]
    assert hide.lookups == 2


async def test_a_lookup_whose_callers_all_left_still_ends_cleanly(engine: Any) -> None:  # noqa: F811
    await _add_scenes(engine, {"secret": True})
    hide = GatedVisibility(engine)
    batch = [_event(7, "secret")]
    callers = [asyncio.create_task(hide.public_only(batch)) for _ in range(2)]
    await hide.started.wait()
    for caller in callers:
        caller.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    hide.gate.set()
    assert await hide.public_only(batch) == []
