"""Presence across two API processes sharing Redis: each sees the other's viewers, until they leave or die."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from sceneforge.events.presence import Presence

from .cluster import Cluster

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def presence_cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Cluster]:
    with Cluster.prepare(tmp_path, postgres_url, redis_url=redis_url, SCENEFORGE_WORKERS="1") as cluster:
        yield cluster


class Viewer:
    """One WebSocket viewer of a scene, named by its presence state; remembers the last ``presence.update``."""

    def __init__(self, socket: ClientConnection, name: str) -> None:
        self.socket, self.name = socket, name
        self.names: set[str] | None = None

    @classmethod
    async def open(cls, base_url: str, scene_id: str, name: str) -> Viewer:
        socket = await connect(base_url.replace("http://", "ws://") + "/ws", open_timeout=10)
        await socket.send(json.dumps({"op": "subscribe", "sceneId": scene_id}))
        await socket.send(json.dumps({"op": "presence", "sceneId": scene_id, "state": {"name": name}}))
        return cls(socket, name)

    async def until(self, names: set[str], timeout: float) -> float:
        """Read updates until the viewers are exactly ``names``; the seconds it took."""
        start = time.monotonic()
        while self.names != names:
            left = timeout - (time.monotonic() - start)
            assert left > 0, f"{self.name} saw {self.names}, not {names}, within {timeout}s"
            try:
                message: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), left))
            except TimeoutError:
                continue
            if message.get("type") == "presence.update":
                self.names = {v["state"].get("name") for v in message["viewers"]}
        return time.monotonic() - start


async def test_presence_spans_instances_and_forgets_a_killed_one(presence_cluster: Cluster) -> None:
    (a, b), _ = presence_cluster.start(apis=2)
    on_a = await Viewer.open(a.url, "lobby", "on-a")
    try:
        on_b = await Viewer.open(b.url, "lobby", "on-b")
        await on_a.until({"on-a", "on-b"}, timeout=10)
        await on_b.until({"on-a", "on-b"}, timeout=10)

        await on_b.socket.close()  # a clean disconnect reaches A at once
        await on_a.until({"on-a"}, timeout=3)

        again = await Viewer.open(b.url, "lobby", "on-b-again")
        await on_a.until({"on-a", "on-b-again"}, timeout=10)
        presence_cluster.kill(b.proc)  # type: ignore[arg-type]
        await on_a.until({"on-a"}, timeout=10 * Presence.expire_s)  # the killed instance's viewers expire
        await asyncio.wait_for(again.socket.close(), 5)
    finally:
        await on_a.socket.close()
