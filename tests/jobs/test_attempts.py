"""Attempts of one job: the same job may run twice in one worker (an attempt that lost its lease is still
stopping when the job is claimed again); what one attempt does never reaches the other.

Driven step by step with an executor that runs when told: every wait is for a state, none for a duration.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sceneforge.compile import BuildResult
from sceneforge.config import Limits
from sceneforge.errors import BuildCanceled
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

    executor.release_old.set()
    assert await old is None  # the lost attempt writes nothing
    job = await store.get("j")
    assert job.status is JobStatus.SUCCEEDED and job.attempt == 2
    assert len(await runner.scenes.versions("attempts")) == 1
