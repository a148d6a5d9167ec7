"""The watcher beside a running attempt: it renews the lease and delivers a cancel, whatever a single
database read does. Driven with an executor that runs until stopped: every wait is for a state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from sceneforge.compile import BuildResult
from sceneforge.errors import BuildCanceled
from sceneforge.jobs import JobStatus, JobStore
from sceneforge.jobs.executor import Executor, OnProgress
from sceneforge.jobs.runner import JobRunner, worker_name
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore, SceneRepository

from .conftest import description


class _UntilStopped(Executor):
    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.stop = asyncio.Event()

    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildResult:
        self.running.set()
        await self.stop.wait()
        raise BuildCanceled("build canceled")

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        self.stop.set()
        return True


async def test_a_cancel_reaches_the_build_when_the_watchers_read_of_the_job_fails_once(
    engine: Any, blobs: FileBlobStore, store: JobStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher, told of a cancel, reads the job to tell a cancel from a lost lease. That read was not
    guarded: one failed read (the database busy, a dropped connection) ended the watcher. The cancel never
    reached the build, the lease was no longer renewed, and the attempt ended with the read's error."""
    executor = _UntilStopped()
    runner = JobRunner(store, SceneRepository(engine, blobs), blobs, executor, settings.jobs, worker_name("test"))
    await store.create("j", "watched", description_key=blobs.put(description("watched")))
    job = await store.claim(runner.owner, settings.jobs.lease_s)
    assert job is not None
    attempt = asyncio.create_task(runner.run_one(job))
    await executor.running.wait()

    get, failed = store.get, []

    async def busy_once(job_id: str) -> Any:
        if not failed:
            failed.append(job_id)
            raise OperationalError("SELECT jobs", {}, Exception("database is locked"))
        return await get(job_id)

    monkeypatch.setattr(store, "get", busy_once)
    await store.request_cancel("j")
    # A guard, not a measure: before, the attempt never ended (its build ran on, never told of the cancel).
    finished, _ = await asyncio.wait({attempt}, timeout=60)
    if not finished:
        executor.stop.set()
        await asyncio.wait({attempt})
    assert finished, "the cancel never reached the build"
    done = attempt.result()
    assert failed == ["j"]  # the watcher's read failed once, and it read again
    assert done is not None and done.status is JobStatus.CANCELED, done


class _FailsWhenTold(Executor):
    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.fail = asyncio.Event()

    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildResult:
        self.running.set()
        await self.fail.wait()
        raise ConnectionError("storage briefly unavailable")

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        return False


async def test_a_cancel_the_watcher_has_not_seen_yet_still_ends_a_failing_attempt_canceled(
    engine: Any, blobs: FileBlobStore, store: JobStore, settings: Settings
) -> None:
    """The user cancels; the attempt fails as transient before the watcher's next poll. The job went back
    to the queue with its cancel flag, where no worker ever takes it: Queued for ever."""
    executor = _FailsWhenTold()
    jobs = settings.jobs.model_copy(update={"cancel_poll_s": 3600.0})  # the watcher never polls in this test
    runner = JobRunner(store, SceneRepository(engine, blobs), blobs, executor, jobs, worker_name("test"))
    await store.create("j", "watched", description_key=blobs.put(description("watched")))
    job = await store.claim(runner.owner, settings.jobs.lease_s)
    assert job is not None
    attempt = asyncio.create_task(runner.run_one(job))
    await executor.running.wait()
    await store.request_cancel("j")
    executor.fail.set()
    done = await attempt
    assert done is not None and done.status is JobStatus.CANCELED, done
