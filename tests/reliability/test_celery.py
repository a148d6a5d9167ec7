"""Scale-out for real: two API instances, Celery workers (per-type queues, assist included), PostgreSQL,
Redis pub/sub, S3; the model a scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from tests.assist.llm_server import Reply, ScriptedLlm, tool_call
from tests.jobs.conftest import big_description, description
from tests.scenes import TWO_ROOMS

from .cluster import Cluster, SseEvent, read_sse, wait_job

pytestmark = [pytest.mark.server, pytest.mark.slow]


async def _collect(url: str, into: list[SseEvent], ready: asyncio.Event, **headers: str) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200
        ready.set()
        async for event in read_sse(response):
            into.append(event)


async def _events_until(events: list[SseEvent], done: int, timeout: float = 60.0) -> None:
    """Wait until ``done`` jobs have a finished ``job.status`` in ``events``."""
    deadline = time.monotonic() + timeout
    while True:
        finished = {
            e.data["job"]["jobId"]
            for e in events
            if e.type == "job.status" and e.data["job"]["status"] in {"Succeeded", "Failed", "Canceled"}
        }
        if len(finished) >= done:
            return
        assert time.monotonic() < deadline, f"{len(finished)}/{done} jobs finished in the stream"
        await asyncio.sleep(0.05)


async def test_sse_on_one_instance_sees_every_event_of_builds_on_another(celery_cluster: Cluster) -> None:
    (a, b), _ = celery_cluster.start(apis=2, workers=[("w1",), ("w2",)])
    on_a: list[SseEvent] = []
    on_b: list[SseEvent] = []
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    readers = [
        asyncio.create_task(_collect(f"{a.url}/events", on_a, ready_a)),
        asyncio.create_task(_collect(f"{b.url}/events", on_b, ready_b)),
    ]
    try:
        await asyncio.wait_for(asyncio.gather(ready_a.wait(), ready_b.wait()), 10)
        async with httpx.AsyncClient(base_url=b.url, timeout=30) as client:
            auth = celery_cluster.auth
            replies = await asyncio.gather(
                *(client.post("/jobs/enqueue", content=description(f"x{i}", 3), headers=auth) for i in range(12))
            )
            assert [r.status_code for r in replies] == [200] * 12
            jobs = [await wait_job(client, r.json()["jobId"]) for r in replies]
        assert {j["status"] for j in jobs} == {"Succeeded"}, jobs
        await asyncio.wait_for(_events_until(on_a, 12), 30)
        await asyncio.wait_for(_events_until(on_b, 12), 30)
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    stored: list[SseEvent] = []
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as client,
        client.stream("GET", "/events?since=0") as response,
    ):
        async for event in read_sse(response):
            stored.append(event)
            if event.seq >= on_a[-1].seq:
                break
    seqs = [e.seq for e in on_a]
    assert seqs == sorted(set(seqs)), "out of order or duplicated"
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "a hole in the live stream"
    assert [(e.seq, e.type) for e in on_a] == [(e.seq, e.type) for e in stored if e.seq >= seqs[0]]
    # Both streams run on while the previews the builds queued report in, and stop when the readers
    # are cancelled, each after its own last event: B holds every event of A's up to where B stopped.
    last = min(seqs[-1], on_b[-1].seq)
    assert [e.seq for e in on_b if e.seq <= last] == [s for s in seqs if s <= last]
    assert [e.seq for e in on_b] == list(range(on_b[0].seq, on_b[-1].seq + 1)), "a hole in B's live stream"
    statuses = {e.data["job"]["status"] for e in on_a if e.type == "job.status"}
    assert statuses == {"Queued", "Running", "Succeeded"}
    assert sum(e.type == "scene.built" for e in on_a) == 12


async def test_kill_9_worker_mid_build_job_still_succeeds_once(celery_cluster: Cluster) -> None:
    (api,), (first,) = celery_cluster.start(apis=1, workers=[("w1",)])
    data = big_description(1500, seed=3)
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        reply = await client.post("/jobs/enqueue", content=data, headers=celery_cluster.auth)
        job_id = reply.json()["jobId"]
        deadline = time.monotonic() + 60
        while (job := (await client.get(f"/jobs/{job_id}")).json())["progress"] <= 0 or job["status"] != "Running":
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.02)
        celery_cluster.kill(first)
        celery_cluster.start_worker("w2")
        job = await wait_job(client, job_id, timeout=120)
        assert job["status"] == "Succeeded", (job, celery_cluster.logs())
        assert job["attempt"] == 2 and job["result"]["version"] == 1
        versions = celery_cluster.query("select n, etag from versions where scene_id = :s", s=job["sceneId"])
        assert [tuple(v) for v in versions] == [(1, job["result"]["eTag"])]
        glb = await client.get(f"/scenes/{job['sceneId']}.glb")
        assert glb.status_code == 200 and glb.headers["etag"].strip('"') == job["result"]["eTag"]


async def test_cancel_reaches_a_running_celery_build(celery_cluster: Cluster) -> None:
    (api,), _ = celery_cluster.start(apis=1, workers=[("w1",)])
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        reply = await client.post("/jobs/enqueue", content=big_description(5000), headers=celery_cluster.auth)
        job_id = reply.json()["jobId"]
        deadline = time.monotonic() + 60
        while (await client.get(f"/jobs/{job_id}")).json()["status"] != "Running":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert (await client.post(f"/jobs/{job_id}/cancel", headers=celery_cluster.auth)).status_code == 202
        job = await wait_job(client, job_id)
        assert job["status"] == "Canceled" and job["progress"] < 100, job
        assert celery_cluster.query("select count(*) from versions")[0][0] == 0
        # The worker stopped the build and is free: the next job runs on it.
        reply = await client.post("/jobs/enqueue", content=description("after"), headers=celery_cluster.auth)
        assert (await wait_job(client, reply.json()["jobId"]))["status"] == "Succeeded"


async def test_one_configuration_limits_hold_on_celery_workers(celery_cluster: Cluster) -> None:
    """The deployment's limits hold for enqueue on the API and for the build on a Celery worker."""
    celery_cluster.env |= {"SCENEFORGE_MAX_CELLS": "2", "SCENEFORGE_MAX_TRIANGLES": "10"}
    (api,), _ = celery_cluster.start(apis=1, workers=[("w1",)])
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        auth = celery_cluster.auth
        three = await client.post("/jobs/enqueue", content=description("three", 3), headers=auth)
        assert three.status_code == 422 and "SCENEFORGE_MAX_CELLS" in three.text
        two = await client.post("/jobs/enqueue", content=description("two", 2), headers=auth)
        assert two.status_code == 200
        job = await wait_job(client, two.json()["jobId"])
    assert job["status"] == "Failed" and job["attempt"] == 1, job
    assert "SCENEFORGE_MAX_TRIANGLES" in str(job["error"])
    assert celery_cluster.query("select count(*) from versions")[0][0] == 0


async def test_celery_queue_per_type_preview_worker_never_takes_a_build(celery_cluster: Cluster) -> None:
    (api,), _ = celery_cluster.start(apis=1, workers=[("previews", "--queues=preview")])
    auth = celery_cluster.auth
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
        reply = await client.post("/jobs/enqueue", content=description("typed", 2), headers=auth)
        assert reply.status_code == 200
        job_id = reply.json()["jobId"]
        await asyncio.sleep(3.0)  # wake-ups went out (enqueue and sweeps); only the preview queue is served
        assert (await client.get(f"/jobs/{job_id}")).json()["status"] == "Queued"
        celery_cluster.start_worker("builds", "--queues=build")
        built = await wait_job(client, job_id)
        assert built["status"] == "Succeeded" and built["type"] == "build"
        deadline = time.monotonic() + 90
        while True:
            previews = (await client.get("/jobs?type=preview")).json()
            if previews and previews[0]["status"] in {"Succeeded", "Failed", "Canceled"}:
                break
            assert time.monotonic() < deadline, previews
            await asyncio.sleep(0.2)
        assert previews[0]["status"] == "Succeeded" and previews[0]["result"]["version"] == built["result"]["version"]
        thumb = await client.get("/scenes/typed/preview/thumbnail.png")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    rows = celery_cluster.query("SELECT type, status FROM jobs ORDER BY created_at")
    assert [(r.type, r.status) for r in rows] == [("build", "Succeeded"), ("preview", "Succeeded")]


async def test_celery_assist_queue_answers_assist_jobs_a_worker_without_it_never_does(celery_cluster: Cluster) -> None:
    patch = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    script = [
        Reply(calls=[tool_call("patch_draft", {"ops": patch, "reason": "wider"})]),
        Reply(content=["Room b ", "is wider."]),
        Reply(content=["Counting ", "slowly"], hold_after=1),
    ]
    with ScriptedLlm(script) as llm:
        # a longer lease: a loaded machine's pauses are not a lost worker here (tests/assist covers that)
        celery_cluster.env |= {"SCENEFORGE_LLM_BASE_URL": llm.base_url, "SCENEFORGE_LLM_API_KEY": "test-key",
                               "SCENEFORGE_LLM_MODEL": "scripted-1", "SCENEFORGE_JOB_LEASE_S": "6"}  # fmt: skip
        (api,), _ = celery_cluster.start(apis=1, workers=[("others", "--queues=build,preview,export")])
        async with httpx.AsyncClient(base_url=api.url, timeout=30, headers=celery_cluster.auth) as client:
            assert (await client.post("/scenes/two-rooms/draft", json=TWO_ROOMS)).status_code == 201
            turn = (await client.post("/scenes/two-rooms/assist", json={"message": "widen b"})).json()
            await asyncio.sleep(3.0)  # wake-ups went out (the request and sweeps); no assist queue is served
            job = (await client.get(f"/jobs/{turn['jobId']}")).json()
            assert job["type"] == "assist" and job["status"] == "Queued" and llm.requests == []
            celery_cluster.start_worker("assistant", "--queues=assist")
            events = _assist_events((await client.get(f"/scenes/two-rooms/assist/{turn['messageId']}/stream")).text)
            assert [d["status"] for k, d in events if k == "status"][:2] == ["queued", "running"]
            assert events[-1] == ("done", {"status": "done", "finishReason": "stop", "revisions": [2]})
            done = await wait_job(client, turn["jobId"])
            assert done["status"] == "Succeeded" and done["attempt"] == 1, (done, celery_cluster.logs())
            revision = (await client.get("/scenes/two-rooms/revisions/2")).json()
            assert revision["source"] == "assistant" and revision["messageId"] == turn["messageId"]
            # a cancel reaches the answer running on the worker, mid-stream
            second = (await client.post("/scenes/two-rooms/assist", json={"message": "count"})).json()
            assert await asyncio.to_thread(llm.holding.wait, 30)
            assert (await client.post(f"/jobs/{second['jobId']}/cancel")).status_code == 202
            canceled = await wait_job(client, second["jobId"])
            assert canceled["status"] == "Canceled", (canceled, celery_cluster.logs())
            assert await asyncio.to_thread(llm.disconnected.wait, 10)
            reply = await client.get(f"/scenes/two-rooms/assist/{second['messageId']}/stream")
            assert _assist_events(reply.text)[-1] == ("done", {"status": "canceled"})
        owners = celery_cluster.query("SELECT type, status FROM jobs ORDER BY created_at")
        assert [(r.type, r.status) for r in owners] == [("assist", "Succeeded"), ("assist", "Canceled")]


def _assist_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for frame in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out
