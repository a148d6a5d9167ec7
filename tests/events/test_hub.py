"""The hub over a real SQLite log: ordering, hole filling, dropping a slow subscriber, batched reads, wire forms."""

from __future__ import annotations

import asyncio
from typing import Any

from sceneforge.events import Event, EventHub, EventLog, MemoryBus, SubscriptionDropped, format_event, sse_stream

from ..jobs.conftest import data_dir, engine, wait_for  # noqa: F401 - fixtures


async def _append(log: EventLog, n: int) -> list[Any]:
    return [await log.append_now("job.status", "s", {"i": i}) for i in range(n)]


async def test_out_of_order_bus_gives_ordered_gapless_stream(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    hub = EventHub(log, MemoryBus())
    await hub.start()
    try:
        sub = hub.subscribe()
        events = await _append(log, 5)
        for event in [events[3], events[0], events[4], events[1]]:  # event 2 never arrives on the bus
            await hub.publish(event)
        got = [(await sub.get(2)).seq for _ in range(5)]
        assert got == [e.seq for e in events]
    finally:
        await hub.close()


async def test_slow_subscriber_dropped_others_unhurt(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    hub = EventHub(log, MemoryBus(), queue_size=3)
    await hub.start()
    try:
        slow, fast = hub.subscribe(), hub.subscribe(maxsize=100)
        for event in await _append(log, 6):
            await hub.publish(event)
        await wait_for(lambda: fast.pending == 6, 5)
        try:
            await slow.get(1)
            raise AssertionError("the slow subscriber was not dropped")
        except SubscriptionDropped:
            pass
        assert hub.subscribers == 1
    finally:
        await hub.close()


async def test_sse_replay_then_live_without_duplicates(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    hub = EventHub(log, MemoryBus())
    await hub.start()
    try:
        first = await _append(log, 3)
        stream = sse_stream(hub, log, since=first[0].seq, heartbeat_s=0.2)
        assert (await anext(stream)).startswith(b"retry:")
        body = await anext(stream)  # the replay, in one chunk
        for event in await _append(log, 2):
            await hub.publish(event)
        while body.count(b"id: ") < 4:
            body += await anext(stream)
        ids = [int(line[4:]) for line in body.split(b"\n") if line.startswith(b"id: ")]
        assert ids == list(range(first[1].seq, first[1].seq + 4))
        assert await anext(stream) == b": ping\n\n"
        await stream.aclose()
    finally:
        await hub.close()


async def test_subscription_batch_takes_every_queued_event_in_order(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    hub = EventHub(log, MemoryBus())
    await hub.start()
    try:
        sub = hub.subscribe()
        events = await _append(log, 4)
        for event in events:
            await hub.publish(event)
        assert [e.seq for e in await sub.get_batch(1)] == [e.seq for e in events]
        assert sub.pending == 0
        assert await sub.get_batch(0.05) == []
    finally:
        await hub.close()


async def test_subscription_timeout_rearms_after_traffic(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    hub = EventHub(log, MemoryBus())
    await hub.start()
    try:
        sub = hub.subscribe()
        for event in await _append(log, 3):
            await hub.publish(event)
            assert (await sub.get(0.2)).seq == event.seq
        assert await asyncio.wait_for(sub.get(0.1), 30) is None  # the timeout ends the wait, not traffic
        (event,) = await _append(log, 1)
        await hub.publish(event)
        assert (await sub.get(5)).seq == event.seq  # and the subscription still delivers
    finally:
        await hub.close()


def test_event_wire_forms_are_made_once() -> None:
    event = Event(7, "job.status", "s", "2025-01-02T03:04:05.678Z", {"job": {"jobId": "j"}})
    frame = format_event(event)
    assert frame is event.to_sse() and event.to_json() is event.to_json()
    assert frame == b"id: 7\nevent: job.status\ndata: " + event.to_json().encode() + b"\n\n"
    assert Event.from_json(event.to_json()) == event


def _presence(scene_id: str, n: int) -> Event:
    return Event(None, "presence.update", scene_id, "2026-01-01T00:00:00.000Z", {"viewers": [{"id": "c", "state": n}]})


async def test_presence_updates_coalesce_in_each_queue(engine: Any) -> None:  # noqa: F811
    """Each presence update names every viewer, so an unread one is replaced by a newer one in its place: a flood
    of them adds one item per scene to a queue, instead of filling it and dropping its reader."""
    hub = EventHub(EventLog(engine), MemoryBus(), queue_size=5)
    viewer, everything = hub.subscribe(["room", "hall"]), hub.subscribe()
    for sub in (viewer, everything):
        sub.put_control("reply")
    for n in range(1000):
        hub.broadcast(_presence("room", n))
    hub.broadcast(_presence("hall", 0))
    hub.broadcast(_presence("room", 1000))
    for sub in (viewer, everything):
        assert not sub.dropped and sub.pending == 3
        batch = await sub.get_batch(0)
        assert batch[0] == "reply"
        assert [(e.scene_id, e.body["viewers"][0]["state"]) for e in batch[1:]] == [("room", 1000), ("hall", 0)]
    hub.broadcast(_presence("room", 1001))  # read: the next update takes a new place
    hub.broadcast(_presence("room", 1002))
    assert (await viewer.get(0)).body["viewers"][0]["state"] == 1002 and viewer.pending == 0
