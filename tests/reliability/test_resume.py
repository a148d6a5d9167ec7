"""An SSE client rides through the restart of its API instance with ``Last-Event-ID``: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.jobs.conftest import description

from .cluster import Cluster, SseEvent, read_sse

pytestmark = [pytest.mark.server, pytest.mark.slow]


class ResumingClient:
    """What a browser's EventSource does: reconnect after a drop and send the last ``id`` it saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[SseEvent] = []
        self.connections = 0
        self.resumed_from: list[str | None] = []
        self.connected = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as client:
            while True:
                last = str(self.events[-1].seq) if self.events else None
                headers = {"Last-Event-ID": last} if last is not None else {}
                try:
                    async with client.stream("GET", self.url, headers=headers) as response:
                        if response.status_code != 200:
                            raise httpx.TransportError(f"status {response.status_code}")
                        self.connections += 1
                        self.resumed_from.append(last)
                        self.connected.set()
                        async for event in read_sse(response):
                            self.events.append(event)
                except (httpx.TransportError, httpx.StreamError):
                    pass
                await asyncio.sleep(0.1)


async def test_sse_client_resumes_across_an_api_restart(celery_cluster: Cluster) -> None:
    (a, b), _ = celery_cluster.start(apis=2, workers=[("w1",), ("w2",)])
    viewer = ResumingClient(f"{a.url}/events")
    reader = asyncio.create_task(viewer.run())
    try:
        await asyncio.wait_for(viewer.connected.wait(), 10)
        async with httpx.AsyncClient(base_url=b.url, timeout=30) as client:

            async def enqueue(names: range) -> list[str]:
                posts = [
                    client.post("/jobs/enqueue", content=description(f"r{i}", 3), headers=celery_cluster.auth)
                    for i in names
                ]
                return [r.json()["jobId"] for r in await asyncio.gather(*posts)]

            jobs = await enqueue(range(0, 6))
            await asyncio.sleep(0.3)
            celery_cluster.stop_api(a)  # events keep coming from B and the workers while A is down
            jobs += await enqueue(range(6, 14))
            await asyncio.sleep(1.0)
            top_while_down = celery_cluster.query("select max(seq) from events")[0][0]
            celery_cluster.restart_api(a)
            jobs += await enqueue(range(14, 18))
            deadline = time.monotonic() + 60
            while True:
                rows = celery_cluster.query("select count(*) from jobs where type = 'build' and status = 'Succeeded'")
                if rows[0][0] == len(jobs):
                    break
                assert time.monotonic() < deadline, celery_cluster.logs()
                await asyncio.sleep(0.1)
        top = celery_cluster.query("select max(seq) from events")[0][0]
        deadline = time.monotonic() + 15
        while not viewer.events or viewer.events[-1].seq < top:
            assert time.monotonic() < deadline, (top, viewer.events[-1:])
            await asyncio.sleep(0.05)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    assert viewer.connections == 2 and viewer.resumed_from[0] is None and viewer.resumed_from[1] is not None
    seqs = [e.seq for e in viewer.events]
    assert len(seqs) == len(set(seqs)), "duplicates"
    # Preview jobs of the new versions keep adding events after the client stopped reading: compare its span.
    stored = celery_cluster.query(
        "select seq, type from events where seq >= :first and seq <= :last order by seq", first=seqs[0], last=seqs[-1]
    )
    assert [(e.seq, e.type) for e in viewer.events] == [tuple(r) for r in stored]
    assert top_while_down > int(viewer.resumed_from[1] or 0), "events happened while the client was away"
    finished = {e.data["job"]["jobId"] for e in viewer.events if e.type == "scene.built"}
    assert finished == set(jobs)
