"""Scene changes published through Redis return only once every subscribed instance applied them."""

from __future__ import annotations

import pytest

from sceneforge.events.model import Event
from sceneforge.events.redis_bus import RedisBus
from tests.support.waiting import until


@pytest.mark.parametrize("kind", ["scene.invalidated", "scene.built"])
async def test_redis_bus_scene_change_is_applied_everywhere_before_publish_returns(
    redis_server: str, kind: str
) -> None:
    buses = [RedisBus(redis_server, channel=f"test-acks-{kind}") for _ in range(3)]
    applied: list[list[int]] = [[] for _ in buses]
    try:
        for bus, seen in zip(buses, applied, strict=True):
            await bus.start(lambda event, seen=seen: seen.append(event.seq))
        for seq in (9001, 9002, 9003):
            await buses[0].publish(Event(seq, kind, "room", "2026-01-01T00:00:00.000Z", {}))
            assert [seq in seen for seen in applied] == [True, True, True]  # checked before anything else runs
        await buses[1].publish(Event(None, "presence.update", "room", "2026-01-01T00:00:00.000Z", {}))
        # Not acknowledged: delivered in the background, when each listener next reads its connection.
        await until(lambda: all(None in seen for seen in applied), "every bus got the presence update", 30)
    finally:
        for bus in buses:
            await bus.close()
