"""Builds are bounded and owned: real API processes (uvicorn), PostgreSQL and S3, a pathological build.

* ``kill -9`` of the build process mid-build: the job is retried and ends (timeout named, or built),
  never stuck, and the API stays up.
* A client that disconnects from ``POST /scenes/build`` cancels its build.
* SIGTERM (or ``kill -9``) of the API process leaves no build process behind.
* With the Celery executor, ``POST /scenes/build`` is built by a worker, not in the API process.

Assertions are about states and processes; the deadlines only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.jobs.conftest import big_description
from tests.support.servers import S3Server

from .cluster import ApiProcess, Cluster, wait_job

#: A scene made huge: tens of seconds of compiling here, far past the job timeout set below.
HUGE_CELLS = 20_000


@pytest.fixture
def bounded_cluster(tmp_path: Path, postgres_url: str, s3_server: S3Server) -> Iterator[Cluster]:
    cluster = Cluster.prepare(
        tmp_path,
        postgres_url,
        s3=s3_server,
        SCENEFORGE_WORKERS="1",
        SCENEFORGE_JOB_TIMEOUT_S="4",
        SCENEFORGE_JOB_LEASE_S="2",
        SCENEFORGE_JOB_SWEEP_S="0.5",
        SCENEFORGE_JOB_POLL_S="0.2",
        SCENEFORGE_JOB_PROGRESS_S="0.05",
        SCENEFORGE_JOB_CANCEL_POLL_S="0.1",
        SCENEFORGE_JOB_RETRY_BASE_S="0.2",
    )
    with cluster:
        yield cluster


@pytest.fixture(scope="module")
def huge() -> bytes:
    return big_description(HUGE_CELLS, seed=17)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in {"Z", "X"}:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    except OSError:
        return False


def _build_processes(api: ApiProcess) -> list[int]:
    """The worker processes of ``api``: children of its fork server (a child of the API process)."""
    assert api.proc is not None
    servers = [p for p in _children(api.proc.pid) if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return [child for server in servers for child in _children(server)]


async def _wait(predicate: object, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, f"{what}: not reached within {timeout}s"
        await asyncio.sleep(0.05)


async def _job(client: httpx.AsyncClient, job_id: str) -> dict[str, object]:
    return (await client.get(f"/jobs/{job_id}")).json()  # type: ignore[no-any-return]


async def _running(client: httpx.AsyncClient, job_id: str) -> bool:
    job = await _job(client, job_id)
    return job["status"] == "Running" and float(job["progress"]) > 0  # type: ignore[arg-type]


async def test_kill_9_of_a_build_process_during_a_pathological_build(bounded_cluster: Cluster, huge: bytes) -> None:
    # Long enough for the first attempt to report progress (its ingest of the huge scene) on a loaded machine: with
    # 4 s an attempt could time out before that, again and again, and the kill never came.
    api = bounded_cluster.start_api(SCENEFORGE_JOB_TIMEOUT_S="15")
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        reply = await client.post("/jobs/enqueue", content=huge, headers=bounded_cluster.auth)
        job_id = reply.json()["jobId"]
        await _wait(lambda: _running(client, job_id), "job running")
        (victim,) = _build_processes(api)
        os.kill(victim, signal.SIGKILL)
        job = await wait_job(client, job_id, timeout=180)
        assert job["attempt"] == 2, (job, bounded_cluster.logs())  # the kill cost one attempt, then it ran again
        if job["status"] == "Failed":  # the second attempt hit the job timeout: said so, by name
            assert job["error"]["limit"] == "SCENEFORGE_JOB_TIMEOUT_S", job
        else:
            assert job["status"] == "Succeeded", job
        assert (await client.get("/healthz")).status_code == 200
        assert bounded_cluster.query("select count(*) from jobs where status = 'Running'")[0][0] == 0
        assert not _alive(victim)
        assert len(_build_processes(api)) == 1  # the pool replaced the killed process
    assert "Traceback" not in (bounded_cluster.root / "api-0.log").read_text()


async def test_client_disconnect_cancels_its_build(bounded_cluster: Cluster, huge: bytes) -> None:
    api = bounded_cluster.start_api(SCENEFORGE_JOB_TIMEOUT_S="600")
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as client:
        build = asyncio.create_task(client.post("/scenes/build", content=huge, headers=bounded_cluster.auth))
        await _wait(lambda: _listed_running(client), "build running")
        (job,) = (await client.get("/jobs?type=build")).json()
        build.cancel()  # the client goes away: httpx closes the connection
        with pytest.raises(asyncio.CancelledError):
            await build
        done = await wait_job(client, job["jobId"], timeout=60)
        assert done["status"] == "Canceled", done
        assert bounded_cluster.query("select count(*) from versions")[0][0] == 0
        await _wait(lambda: len(_build_processes(api)) == 1, "the worker back in the pool")


async def _listed_running(client: httpx.AsyncClient) -> bool:
    jobs = (await client.get("/jobs?type=build")).json()
    return bool(jobs) and jobs[0]["status"] == "Running" and jobs[0]["progress"] > 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
async def test_stopping_the_api_leaves_no_build_process(bounded_cluster: Cluster, huge: bytes, stop: int) -> None:
    api = bounded_cluster.start_api(SCENEFORGE_JOB_TIMEOUT_S="600")
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        reply = await client.post("/jobs/enqueue", content=huge, headers=bounded_cluster.auth)
        job_id = reply.json()["jobId"]
        await _wait(lambda: _running(client, job_id), "job running")
    assert api.proc is not None
    servers = [p for p in _children(api.proc.pid) if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    workers = _build_processes(api)
    assert len(servers) == 1 and len(workers) == 1
    os.kill(api.proc.pid, stop)  # the API process alone, not its process group
    api.proc.wait(timeout=60)
    await _wait(lambda: not any(_alive(p) for p in servers + workers), "build processes gone")
    (row,) = bounded_cluster.query("select status from jobs where id = :j", j=job_id)
    if stop == signal.SIGTERM:
        assert row[0] == "Queued"  # handed back at shutdown: the next instance takes it at once
    else:
        assert row[0] == "Running"  # until its lease runs out; the next instance reclaims it
    bounded_cluster.restart_api(api, SCENEFORGE_JOB_TIMEOUT_S="1")
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        job = await wait_job(client, job_id, timeout=120)
    assert job["status"] == "Failed" and job["error"]["limit"] == "SCENEFORGE_JOB_TIMEOUT_S", job


async def test_build_runs_on_a_celery_worker_not_in_the_api(celery_cluster: Cluster) -> None:
    """With the Celery executor ``POST /scenes/build`` waits for a worker's build; the API process spawns none."""
    from tests.api.conftest import TEST01

    (api,), _ = celery_cluster.start(apis=1, workers=[("w1",)])
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as client:
        reply = await client.post("/scenes/build", content=TEST01, headers=celery_cluster.auth)
        assert reply.status_code == 200, (reply.text, celery_cluster.logs())
        (job,) = (await client.get("/jobs?type=build")).json()
        assert job["status"] == "Succeeded" and job["priority"] == 1000
        assert job["result"]["eTag"] == reply.json()["eTag"]
        glb = await client.get("/scenes/test01.glb")
        assert glb.status_code == 200 and glb.headers["etag"].strip('"') == reply.json()["eTag"]
    assert _build_processes(api) == []
