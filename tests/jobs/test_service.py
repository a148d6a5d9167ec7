"""The embedded executor end to end: real worker processes, the real compiler, SQLite and files."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sceneforge.errors import JobError, NotFound, SceneInvalid
from sceneforge.jobs import JobService, JobStatus
from sceneforge.jobs.build import compile_build
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore

from .builders import flaky_build, slow_build
from .conftest import big_description, description, wait_for


@pytest.fixture
async def service(engine: Any, blobs: FileBlobStore, settings: Settings) -> AsyncIterator[JobService]:
    svc = JobService(engine, blobs, settings)
    await svc.start()
    yield svc
    await svc.close()


async def _finished(svc: JobService, job_id: str, timeout: float = 60) -> Any:
    async def done() -> Any:
        job = await svc.get(job_id)
        return job if job.finished else None

    return await wait_for(done, timeout)


async def test_enqueue_builds_and_publishes_one_version(service: JobService) -> None:
    job = await service.enqueue(description("hall"))
    assert job.status is JobStatus.QUEUED
    done = await _finished(service, job.job_id)
    assert done.status is JobStatus.SUCCEEDED, done.error
    assert done.result["version"] == 1 and len(done.result["eTag"]) == 16 and done.progress == 100.0
    latest = await service.scenes.latest("hall")
    assert latest.etag == done.result["eTag"]

    # The new version queues its preview job after it is built: the job's row reads Succeeded a moment before
    # its runner has queued the preview, so wait for that job's first event rather than read once.
    def others(events: list[Any]) -> list[str]:
        return [e.body["job"]["type"] for e in events if e.body.get("job", {}).get("jobId") not in {None, job.job_id}]

    async def preview_queued() -> list[Any] | None:
        events = await service.log.read(0, scene_id="hall")
        return events if others(events) else None

    events = await wait_for(preview_queued, 20)
    mine = [e for e in events if e.body.get("job", {}).get("jobId") == job.job_id]
    types = [e.type for e in mine]
    assert types[:2] == ["job.status", "job.status"] and types[-2:] == ["job.status", "scene.built"]
    assert others(events)[:1] == ["preview"]


async def test_same_description_completes_at_once(service: JobService) -> None:
    first = await _finished(service, (await service.enqueue(description("same"))).job_id)
    again = await service.enqueue(description("same"))
    assert again.status is JobStatus.SUCCEEDED and again.result == first.result
    assert len(await service.scenes.versions("same")) == 1


async def test_invalid_description_refused_and_nothing_queued(service: JobService) -> None:
    bad = b'{"sceneId": "bad", "cells": [], "portals": [{"from": "x", "to": "y", "quad": [0]}]}'
    with pytest.raises(SceneInvalid) as caught:
        await service.enqueue(bad)
    assert caught.value.issues
    assert await service.store.count() == 0


async def test_cancel_running_big_maze_stops_the_build(engine: Any, blobs: FileBlobStore, settings: Settings) -> None:
    svc = JobService(engine, blobs, settings)
    await svc.start()
    try:
        job = await svc.enqueue(big_description(2500))
        await wait_for(lambda: _running(svc, job.job_id), 30)
        await wait_for(lambda: _stage_past_ingest(svc, job.job_id), 30)
        await svc.cancel(job.job_id)
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.CANCELED and done.progress < 100.0
        assert await svc.store.count(JobStatus.RUNNING) == 0
        statuses = [
            e.body["job"]["status"]
            for e in await svc.log.read(0)
            if e.type == "job.status" and e.body["job"]["jobId"] == job.job_id
        ]
        assert statuses == ["Queued", "Running", "Canceled"]
        assert [e.type for e in await svc.log.read(0) if e.type == "scene.built"] == []
        with pytest.raises(NotFound):
            await svc.scenes.latest(done.scene_id)
        # The pool's build process was stopped and replaced: the next job builds normally.
        after = await _finished(svc, (await svc.enqueue(description("after"))).job_id)
        assert after.status is JobStatus.SUCCEEDED
    finally:
        await svc.close()


def _cancel_before_the_end(svc: JobService, monkeypatch: pytest.MonkeyPatch, kind: str) -> list[Any]:
    """Have ``svc``'s runner ask to cancel each job of type ``kind`` that succeeds, once its result is stored and
    before its end is written; the answers (a job, or the JobError) are appended to the list returned."""
    assert svc.pool is not None
    runner = svc.pool.runner
    original, answers = runner._finish, []

    async def cancel_first(job: Any, status: JobStatus, **end: Any) -> Any:
        if job.type == kind and status is JobStatus.SUCCEEDED:
            try:
                answers.append(await svc.cancel(job.job_id))
            except JobError as exc:
                answers.append(exc)
        return await original(job, status, **end)

    monkeypatch.setattr(runner, "_finish", cancel_first)
    return answers


async def test_cancel_after_the_version_is_stored_is_refused(
    engine: Any, blobs: FileBlobStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel that comes once the build's version is stored, before the job's end is written, is a 409 (JobError)
    as for a finished job: the job ends Succeeded with that version (published, for an enqueued build), so a
    cancel answered 202 there was followed by the very version it was meant to stop."""
    svc = JobService(engine, blobs, settings)
    answers = _cancel_before_the_end(svc, monkeypatch, "build")
    await svc.start()
    try:
        done = await _finished(svc, (await svc.enqueue(description("late"))).job_id)
        assert done.status is JobStatus.SUCCEEDED and done.result["published"]
        [answer] = answers
        assert isinstance(answer, JobError) and "already stored its result" in str(answer), answer
        assert (await svc.scenes.latest("late")).n == done.result["version"] == 1
    finally:
        await svc.close()


async def test_cancel_of_a_preview_storing_its_files_is_refused(
    engine: Any, blobs: FileBlobStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preview (or export) whose files are being stored is past canceling as a build whose version is: a cancel
    then is a 409, and the job ends Succeeded with its files (a 202 was followed by them)."""
    svc = JobService(engine, blobs, settings)
    answers = _cancel_before_the_end(svc, monkeypatch, "preview")
    await svc.start()
    try:
        await _finished(svc, (await svc.enqueue(description("shown"))).job_id)

        async def preview() -> Any:
            jobs = await svc.recent(10, type="preview")
            return jobs[0] if jobs and jobs[0].finished else None

        done = await wait_for(preview, 60)
        assert done.status is JobStatus.SUCCEEDED, done.error
        [answer] = answers
        assert isinstance(answer, JobError) and "already stored its result" in str(answer), answer
    finally:
        await svc.close()


async def _running(svc: JobService, job_id: str) -> bool:
    return (await svc.get(job_id)).status is JobStatus.RUNNING


async def _stage_past_ingest(svc: JobService, job_id: str) -> bool:
    job = await svc.get(job_id)
    return job.stage not in (None, "queued", "ingest")


async def test_cancel_queued_job(engine: Any, blobs: FileBlobStore, settings: Settings) -> None:
    svc = JobService(engine, blobs, settings, run_workers=False)
    await svc.start()
    try:
        job = await svc.enqueue(description("waiting"))
        canceled = await svc.cancel(job.job_id)
        assert canceled.status is JobStatus.CANCELED
    finally:
        await svc.close()


async def test_cancel_slow_build_via_watcher(engine: Any, blobs: FileBlobStore, settings: Settings) -> None:
    svc = JobService(engine, blobs, settings, build=slow_build)
    await svc.start()
    try:
        job = await svc.enqueue(description("slow"), options={"seconds": 30})
        await wait_for(lambda: _running(svc, job.job_id), 30)
        await svc.store.request_cancel(job.job_id)  # as another instance would: only the flag in the database
        done = await _finished(svc, job.job_id)  # a build left alone would run 30 s and succeed
        assert done.status is JobStatus.CANCELED and done.progress < 100.0
        with pytest.raises(NotFound):
            await svc.scenes.latest("slow")
    finally:
        await svc.close()


class _GatedBlobs(FileBlobStore):
    """Blob reads wait for ``gate``: holds a runner between claiming a job and starting its build."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()

    def get(self, key: str) -> bytes:
        self.gate.wait(30)
        return super().get(key)


async def test_cancel_before_the_build_starts_still_stops_it(engine: Any, settings: Settings, tmp_path: Path) -> None:
    """A cancel the watcher sees while the runner still reads the job's input stops the build once it starts."""
    blobs = _GatedBlobs(tmp_path / "gated")
    svc = JobService(engine, blobs, settings, build=slow_build)
    await svc.start()
    try:
        assert svc.pool is not None
        executor, asked = svc.pool.runner.executor, []
        cancel = executor.cancel

        def noted(job_id: str, attempt: int | None = None) -> bool:
            asked.append(job_id)
            return cancel(job_id, attempt)

        executor.cancel = noted  # type: ignore[method-assign]
        job = await svc.enqueue(description("early"), options={"seconds": 30})
        await wait_for(lambda: _running(svc, job.job_id), 30)
        await svc.store.request_cancel(job.job_id)  # only the flag, as another instance would
        # The watcher has seen it (it asks the executor to stop the job); the build has not started.
        await wait_for(lambda: job.job_id in asked, 30)
        blobs.gate.set()
        # The attempt ends within moments, not after the 30 s build (nor is it left to the lease's expiry).
        await wait_for(lambda: job.job_id not in svc.pool.runner.active, 10)  # type: ignore[union-attr]
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.CANCELED and done.progress < 100.0
    finally:
        blobs.gate.set()
        await svc.close()


async def test_transient_failure_retried_with_backoff(
    engine: Any, blobs: FileBlobStore, settings: Settings, tmp_path: Path
) -> None:
    svc = JobService(engine, blobs, settings, build=flaky_build)
    await svc.start()
    try:
        job = await svc.enqueue(description("flaky"), options={"counter": str(tmp_path / "n"), "fail": 2})
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.SUCCEEDED and done.attempt == 3
        statuses = [
            e.body["job"]["status"]
            for e in await svc.log.read(0)
            if e.type == "job.status" and e.body["job"]["jobId"] == job.job_id
        ]
        assert statuses == ["Queued", "Running", "Queued", "Running", "Queued", "Running", "Succeeded"]
    finally:
        await svc.close()


async def test_transient_failures_exhaust_attempts(
    engine: Any, blobs: FileBlobStore, settings: Settings, tmp_path: Path
) -> None:
    svc = JobService(engine, blobs, settings, build=flaky_build)
    await svc.start()
    try:
        job = await svc.enqueue(description("doomed"), options={"counter": str(tmp_path / "n"), "fail": 99})
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.FAILED and done.attempt == 3 and "transient" in done.error["message"]
    finally:
        await svc.close()


async def test_build_time_invalid_input_fails_at_once(service: JobService) -> None:
    # Valid for the cheap checks, but the asset is unknown to the build: fails on attempt 1, no retry.
    data = description("asset").replace(b'"meshId": "auto"}]}', b'"meshId": "asset:missing"}]}', 1)
    job = await service.enqueue(data)
    done = await _finished(service, job.job_id)
    assert done.status is JobStatus.FAILED and done.attempt == 1 and done.error["issues"]


@pytest.mark.parametrize(("build", "seconds", "progressed"), [(None, 0, False), (slow_build, 0.6, True)])
async def test_progress_is_written_once_a_job_has_run_past_the_interval(
    engine: Any, blobs: FileBlobStore, data_dir: Path, build: Any, seconds: float, progressed: bool
) -> None:
    """A job that ends within ``progress_interval_s`` of its start writes no progress (its end says 100 %): a
    burst of small builds would write and publish two more events each. A longer one reports as it goes, and
    reaches 100 % before its end."""
    interval = 5.0 if build is None else 0.1
    jobs = {"workers": 1, "lease_s": 300.0, "poll_s": 0.1, "progress_interval_s": interval}
    svc = JobService(engine, blobs, Settings(storage={"data_dir": data_dir}, jobs=jobs), build=build or compile_build)
    await svc.start()
    try:
        job = await svc.enqueue(description("timed"), options={"seconds": seconds})
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.SUCCEEDED and done.progress == 100.0
        mine = [e for e in await svc.log.read(0) if e.body.get("job", {}).get("jobId") == job.job_id]
        percents = [e.body["job"]["progress"] for e in mine if e.type == "job.progress"]
        assert bool(percents) is progressed, percents
        if progressed:
            assert percents[-1] == 100.0
    finally:
        await svc.close()


async def test_a_short_job_stores_its_result_without_renewing_its_lease(service: JobService) -> None:
    """A build that ends within a third of its lease (the watcher's period) goes to storing its version
    without one more lease renewal: the version's transaction checks the job is still held. The preview it
    queues does the same (its files wait for ``begin_storing``)."""
    assert service.pool is not None
    store = service.pool.runner.store
    renewals: list[str] = []
    heartbeat = store.heartbeat

    async def counted(job_id: str, *args: Any, **kwargs: Any) -> str:
        renewals.append(job_id)
        return await heartbeat(job_id, *args, **kwargs)

    store.heartbeat = counted  # type: ignore[method-assign]
    job = await service.enqueue(description("brief"))
    done = await _finished(service, job.job_id)
    assert done.status is JobStatus.SUCCEEDED, done.error

    async def previewed() -> Any:
        jobs = await service.recent(5, type="preview")
        return jobs[0] if jobs and jobs[0].finished else None

    preview = await wait_for(previewed, 90)
    assert preview.status is JobStatus.SUCCEEDED, preview.error
    assert renewals == []
