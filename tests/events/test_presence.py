"""Presence alone and across instances sharing a real Redis: merging, change detection, expiry, withdrawal."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sceneforge.events.model import Event
from sceneforge.events.presence import INSTANCES_KEY, KEY_PREFIX, Presence

_db = itertools.count(1)


class Recorder:
    """The ``presence.update`` events a presence hands to its subscribers."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        assert event.type == "presence.update" and event.seq is None
        self.events.append(event)

    def ids(self, scene_id: str) -> list[str] | None:
        """The viewer ids of the last update of ``scene_id`` (None: none yet)."""
        last = [e for e in self.events if e.scene_id == scene_id]
        return [v["id"] for v in last[-1].body["viewers"]] if last else None

    async def wait(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until ``check()`` holds (``timeout`` only catches a hang)."""
        start = time.monotonic()
        while not check():
            assert time.monotonic() - start < timeout, f"not reached in {timeout}s; last: {self.events[-1:]}"
            await asyncio.sleep(0.01)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    return redis_server.rsplit("/", 1)[0] + f"/{next(_db) % 16}"


@pytest.fixture
async def cluster(redis_url: str) -> AsyncIterator[Callable[[str], tuple[Presence, Recorder]]]:
    """Makes instances on the test's Redis with fast timings; closes them all at the end."""
    made: list[Presence] = []

    def make(instance_id: str) -> tuple[Presence, Recorder]:
        recorder = Recorder()
        presence = Presence(redis_url, instance_id=instance_id, notify=recorder)
        presence.refresh_s, presence.expire_s, presence.tick_s = 0.2, 0.5, 0.05
        made.append(presence)
        return presence, recorder

    yield make
    for presence in made:
        await presence.close()


async def _redis(url: str) -> Any:
    import redis.asyncio as redis

    return redis.Redis.from_url(url, decode_responses=True)


async def test_presence_without_redis_stays_in_process() -> None:
    recorder = Recorder()
    presence = Presence(notify=recorder)
    presence.batch_s = 0.0  # an update per change: the change detection alone
    presence.join("room", "c1")
    presence.join("room", "c2")
    presence.set("room", "c2", {"camera": [1, 2, 3]})
    presence.set("room", "c2", {"camera": [1, 2, 3]})  # unchanged: no update
    assert len(recorder.events) == 3
    assert recorder.events[-1].body["viewers"] == [
        {"id": "c1", "state": {}},
        {"id": "c2", "state": {"camera": [1, 2, 3]}},
    ]
    presence.leave_all("c2")
    assert recorder.ids("room") == ["c1"]
    assert presence.leave("room", "c1") and not presence.leave("room", "c1")
    assert recorder.ids("room") == [] and presence.scenes == {}
    assert presence._task is None


async def test_presence_join_always_sends_the_current_viewers() -> None:
    recorder = Recorder()
    presence = Presence(notify=recorder)
    presence.join("room", "c1")
    presence.join("room", "c1")  # a second subscribe gets the list again (when its batch ends)
    await recorder.wait(lambda: len(recorder.events) == 2)
    assert [e.body["viewers"] for e in recorder.events] == [[{"id": "c1", "state": {}}]] * 2


async def test_presence_changes_within_a_batch_go_out_as_one_update() -> None:
    """Viewers changing their state as fast as they may: one update per scene and ``batch_s``, the first at
    once and the last holding every viewer's latest state, instead of one (naming every viewer) per change."""
    recorder = Recorder()
    presence = Presence(notify=recorder)
    presence.batch_s = 0.2
    viewers = [f"c{i:03d}" for i in range(200)]
    for conn in viewers:
        presence.join("room", conn)
    presence.join("hall", "h1")
    for step in range(5):
        for conn in viewers:
            presence.set("room", conn, {"step": step})
    assert len(recorder.events) == 2  # the first change of each scene, at once
    assert [e.scene_id for e in recorder.events] == ["room", "hall"]
    await recorder.wait(lambda: len(recorder.events) == 3)
    last = recorder.events[-1]
    assert last.scene_id == "room" and [v["state"] for v in last.body["viewers"]] == [{"step": 4}] * 200
    await asyncio.sleep(2 * presence.batch_s)
    assert len(recorder.events) == 3  # nothing changed since: nothing more
    # A scene whose viewers all left sends its next viewer at once.
    for conn in viewers:
        presence.leave("room", conn)
    await recorder.wait(lambda: recorder.ids("room") == [])
    presence.join("room", "late")
    assert recorder.ids("room") == ["late"]
    await presence.close()
    assert presence._later == {}


async def test_presence_merges_the_viewers_of_two_instances(cluster: Any) -> None:
    a, seen_a = cluster("a")
    b, seen_b = cluster("b")
    a.join("room", "a1")
    b.join("room", "b1")
    b.set("room", "b1", {"camera": [0, 1, 2]})
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b1"])
    await seen_b.wait(lambda: seen_b.ids("room") == ["a1", "b1"])
    await seen_a.wait(lambda: seen_a.events[-1].body["viewers"][1]["state"] == {"camera": [0, 1, 2]})
    assert a.viewers("room") == b.viewers("room")
    assert a.viewers("other") == []


async def test_presence_late_instance_loads_the_viewers_already_there(cluster: Any, redis_url: str) -> None:
    a, _ = cluster("a")
    a.join("hall", "a1")
    a.set("hall", "a1", {"x": 1})
    client = await _redis(redis_url)
    try:
        deadline = time.monotonic() + 30  # a hang guard only
        while await client.hget(KEY_PREFIX + "a", "s:hall") != '[{"id": "a1", "state": {"x": 1}}]':
            assert time.monotonic() < deadline, "a's viewers never reached Redis"
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()
    b, seen_b = cluster("b")
    # What is tested is the load, not expiry: a heartbeat of a held back on a loaded machine must not make b drop
    # a's viewers (expire_s is 0.5 s in this cluster) before the check.
    b.expire_s = 30.0
    b.join("hall", "b1")
    await seen_b.wait(lambda: seen_b.ids("hall") == ["a1", "b1"])
    assert b.viewers("hall")[0] == {"id": "a1", "state": {"x": 1}}


async def test_presence_leave_removes_the_viewer_from_other_instances(cluster: Any) -> None:
    a, seen_a = cluster("a")
    b, _ = cluster("b")
    a.join("room", "a1")
    b.join("room", "b1")
    b.join("room", "b2")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b1", "b2"])
    b.leave("room", "b1")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b2"])
    b.leave_all("b2")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1"])


async def test_presence_heartbeats_send_no_update_when_nothing_changed(cluster: Any) -> None:
    a, seen_a = cluster("a")
    b, _ = cluster("b")
    a.join("room", "a1")
    b.join("room", "b1")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b1"])
    count = len(seen_a.events)
    await asyncio.sleep(5 * b.refresh_s)  # several heartbeats, and longer than expire_s: b stays alive
    assert len(seen_a.events) == count and seen_a.ids("room") == ["a1", "b1"]


async def test_presence_of_a_crashed_instance_expires(cluster: Any, redis_url: str) -> None:
    a, seen_a = cluster("a")
    b, _ = cluster("b")
    a.join("room", "a1")
    b.join("room", "b1")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b1"])
    task = b._task
    assert task is not None
    task.cancel()  # b stops without withdrawing, as a killed process would
    await asyncio.gather(task, return_exceptions=True)
    assert seen_a.ids("room") == ["a1", "b1"]  # b said nothing: its viewers stay until they expire
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1"], timeout=20 * a.expire_s)
    client = await _redis(redis_url)
    try:
        await asyncio.sleep(b.expire_s)
        assert not await client.exists(KEY_PREFIX + "b")
    finally:
        await client.aclose()


async def test_presence_instance_without_viewers_withdraws(cluster: Any, redis_url: str) -> None:
    a, seen_a = cluster("a")
    b, _ = cluster("b")
    a.join("room", "a1")
    b.join("room", "b1")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b1"])
    b.leave("room", "b1")
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1"])
    task = b._task
    if task is not None:
        await asyncio.wait_for(task, 30)  # a hang guard: the withdrawal is a few Redis round trips
    assert b._task is None and not b._remote
    client = await _redis(redis_url)
    try:
        assert not await client.exists(KEY_PREFIX + "b")
        assert await client.smembers(INSTANCES_KEY) == {"a"}
    finally:
        await client.aclose()
    b.join("room", "b1")  # a new session starts and loads a's viewers again
    await seen_a.wait(lambda: seen_a.ids("room") == ["a1", "b1"])
