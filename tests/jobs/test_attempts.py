"""Attempts of one job: the same job may run twice in one worker (an attempt that lost its lease is still
stopping when the job is claimed again); what one attempt does never reaches the other.

Driven step by step with an executor that runs when told: every wait is for a state, none for a duration.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sceneforge.compile import BuildResult
from sceneforge.config import Limits
from sceneforge.errors import BuildCanceled, NotFound
from sceneforge.jobs import JobStatus, JobStore
from sceneforge.jobs.build import compile_build
from sceneforge.jobs.executor import Executor, OnProgress
from sceneforge.jobs.runner import JobRunner, worker_name
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore, SceneRepository

from .conftest import description


class _Attempts(Executor):
    """Runs known by (job id, attempt), as the worker-process executor knows them. Attempt 1 stops only
    when released (a build slow to reach its next progress call); attempt 2 ends when told, canceled if
    a cancel reached it first."""

    def __init__(self, output: BuildResult) -> None:
        self.output = output
        self.started = {1: asyncio.Event(), 2: asyncio.Event()}
        self.stopped = {1: asyncio.Event(), 2: asyncio.Event()}
        self.release_old = asyncio.Event()
        self.finish_new = asyncio.Event()
        #: Set on every cancel asked.
        self.asked = asyncio.Event()

    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildResult:
        self.started[attempt].set()
        if attempt == 1:
            await self.release_old.wait()
            raise BuildCanceled("build canceled")
        await self.finish_new.wait()
        if self.stopped[2].is_set():
            raise BuildCanceled("build canceled")
        return self.output

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        self.asked.set()
        hit = [a for a in self.started if self.started[a].is_set() and attempt in (None, a)]
        for a in hit:
            self.stopped[a].set()
        return bool(hit)


async def test_the_watcher_of_a_lost_attempt_never_cancels_the_next_attempt_of_its_job(
    engine: Any, blobs: FileBlobStore, store: JobStore, settings: Settings
) -> None:
    """Attempt 1 loses its lease (the sweeper puts the job back) and its watcher asks the executor to stop
    it until it ends; meanwhile this worker claims the job again. The watcher's cancels named the job
    only, so they stopped attempt 2 too: the job ended Canceled though no one canceled it."""
    data = description("attempts")
    output = compile_build(data, {}, Limits(), lambda stage, fraction: None)
    executor = _Attempts(output)
    runner = JobRunner(store, SceneRepository(engine, blobs), blobs, executor, settings.jobs, worker_name("test"))
    await store.create("j", "attempts", description_key=blobs.put(data))
    first = await store.claim(runner.owner, settings.jobs.lease_s)
    assert first is not None and first.attempt == 1
    old = asyncio.create_task(runner.run_one(first))
    await executor.started[1].wait()

    later = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    [back] = await later.reclaim_expired()  # attempt 1's lease ran out: the job is queued again
    assert back.status is JobStatus.QUEUED
    executor.asked.clear()
    await executor.asked.wait()  # attempt 1's watcher saw it lost the job and asks for its stop

    second = await later.claim(runner.owner, settings.jobs.lease_s)  # due at once on its clock
    assert second is not None and second.attempt == 2
    new = asyncio.create_task(runner.run_one(second))
    await executor.started[2].wait()
    executor.asked.clear()
    await executor.asked.wait()  # asked again while attempt 2 runs
    executor.finish_new.set()
    done = await new
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.attempt == 2, done
    assert not executor.stopped[2].is_set()
    assert "j" in runner.active  # attempt 1 is still stopping here

    executor.release_old.set()
    assert await old is None  # the lost attempt writes nothing
    assert "j" not in runner.active
    job = await store.get("j")
    assert job.status is JobStatus.SUCCEEDED and job.attempt == 2
    assert len(await runner.scenes.versions("attempts")) == 1


class _Gated(Executor):
    """Each attempt reports progress and returns its output once released; cancels are noted, not obeyed
    (a build that reaches no progress call before it ends)."""

    def __init__(self, output: BuildResult) -> None:
        self.output = output
        self.started = {1: asyncio.Event(), 2: asyncio.Event()}
        self.release = {1: asyncio.Event(), 2: asyncio.Event()}

    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildResult:
        self.started[attempt].set()
        await self.release[attempt].wait()
        await on_progress("geometry", 1.0)
        return self.output

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        return True


async def test_an_attempt_whose_job_was_claimed_again_by_its_own_worker_writes_nothing(
    engine: Any, blobs: FileBlobStore, store: JobStore, settings: Settings
) -> None:
    """The lease of attempt 1 ran out (the worker stalled) and the same worker claimed the job again: both
    attempts hold a lease under one owner. The lease was the owner's, whatever the attempt: attempt 1's
    renewals went on succeeding, and it recorded its progress and finished the job while attempt 2 ran."""
    data = description("attempts")
    executor = _Gated(compile_build(data, {}, Limits(), lambda stage, fraction: None))
    runner = JobRunner(store, SceneRepository(engine, blobs), blobs, executor, settings.jobs, worker_name("test"))
    await store.create("j", "attempts", description_key=blobs.put(data))
    first = await store.claim(runner.owner, settings.jobs.lease_s)
    assert first is not None
    old = asyncio.create_task(runner.run_one(first))
    await executor.started[1].wait()

    later = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    await later.reclaim_expired()
    second = await later.claim(runner.owner, settings.jobs.lease_s)
    assert second is not None and second.attempt == 2
    new = asyncio.create_task(runner.run_one(second))
    await executor.started[2].wait()

    executor.release[1].set()  # attempt 1's build ends now, with its output
    assert await old is None  # it is not the job's attempt any more: it writes nothing
    job = await store.get("j")
    assert job.status is JobStatus.RUNNING and job.attempt == 2 and job.stage == "queued", job
    assert "j" in runner.active  # attempt 2 still runs here: shutdown stops it, a waiter waits for it
    with pytest.raises(NotFound):  # nothing published: the scene was not even made
        await runner.scenes.versions("attempts")

    executor.release[2].set()
    done = await new
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.attempt == 2, done
    assert "j" not in runner.active
    assert len(await runner.scenes.versions("attempts")) == 1
    statuses = [e.body["job"]["status"] for e in await store.log.read(0) if e.type == "job.status"]
    assert statuses == ["Queued", "Running", "Queued", "Running", "Succeeded"]


async def test_a_lease_is_held_by_its_owner_for_one_attempt(engine: Any, store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    first = await store.claim("w", 10)
    assert first is not None
    later = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    await later.reclaim_expired()
    second = await later.claim("w", 10)
    assert second is not None and second.attempt == 2
    assert await store.heartbeat("a", "w", 10, attempt=1) == "lost"
    assert await store.progress("a", "w", "geometry", 50.0, attempt=1) is None
    assert await store.finish("a", "w", JobStatus.SUCCEEDED, result={}, attempt=1) is None
    assert await store.heartbeat("a", "w", 10, attempt=2) == "ok"
    assert (await store.get("a")).status is JobStatus.RUNNING
    done = await store.finish("a", "w", JobStatus.SUCCEEDED, result={}, attempt=2)
    assert done is not None and done.status is JobStatus.SUCCEEDED


class _NeverRuns(Executor):
    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildResult:
        raise AssertionError("a job whose input is gone never reaches the executor")

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        return False


@pytest.mark.parametrize("kind", ["build", "preview"])
async def test_a_job_whose_input_is_gone_fails_at_once_saying_so(
    engine: Any, blobs: FileBlobStore, store: JobStore, settings: Settings, kind: str
) -> None:
    """The input blob of a queued job was removed (its scene deleted meanwhile, the blob lost): every attempt
    would find it missing. It was retried as transient, after backoffs, and failed with ``blob … does not
    exist`` once its attempts were used up."""
    runner = JobRunner(
        store, SceneRepository(engine, blobs), blobs, _NeverRuns(), settings.jobs, worker_name("test"),
        executors={"preview": _NeverRuns()}, types={"preview": settings.preview},
    )  # fmt: skip
    gone = blobs.put(b"an input that is then lost")
    blobs.delete(gone)
    options = {"version": 1} if kind == "preview" else {}
    await store.create("j", "lost", description_key=gone, type=kind, options=options, max_attempts=3)
    job = await store.claim(runner.owner, settings.jobs.lease_s, types=(kind,))
    assert job is not None
    done = await runner.run_one(job)
    assert done is not None and done.status is JobStatus.FAILED and done.attempt == 1, done
    assert done.error is not None and "no longer exists" in done.error["message"], done.error
    assert done.error["kind"] == "error" and "code" not in done.error, done.error  # the stores did not fail
    if kind == "preview":
        assert "v1 of 'lost'" in done.error["message"], done.error
