"""Job types: previews after builds, per-type queues and concurrency, retries and retention per type."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import ValidationError

from sceneforge.jobs import JobService, JobStatus
from sceneforge.jobs.executor import ProcessExecutor
from sceneforge.jobs.outputs import output_executors
from sceneforge.jobs.pool import WorkerPool
from sceneforge.jobs.runner import JobRunner, worker_name
from sceneforge.jobs.types import lanes, type_settings
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore
from sceneforge.storage.artifacts import ArtifactRepository

from .builders import broken_export, slow_export
from .conftest import description, wait_for


async def _final(svc: JobService, job_id: str, timeout: float = 90) -> Any:
    async def done() -> Any:
        job = await svc.get(job_id)
        return job if job.finished else None

    return await wait_for(done, timeout)


@asynccontextmanager
async def _lane(
    engine: Any, blobs: FileBlobStore, settings: Settings, kind: str, executor: ProcessExecutor | None = None
) -> AsyncIterator[JobService]:
    """A service without its own pool, and a pool with one lane of ``kind`` (run by ``executor`` for an
    output type); everything is closed after."""
    svc = JobService(engine, blobs, settings, run_workers=False)
    await svc.start()
    executors = {kind: executor} if executor is not None else {}
    types = {kind: type_settings(settings, kind)}
    build = ProcessExecutor(1, settings.limits)
    runner = JobRunner(
        svc.store, svc.scenes, blobs, build, settings.jobs, worker_name("test"), executors=executors, types=types
    )
    pool = WorkerPool(svc.store, runner, {kind: 1}, poll_s=0.05)
    pool.start()
    try:
        yield svc
    finally:
        await pool.close()
        for each in runner.all_executors():
            await each.close()
        await svc.close()


async def test_types_preview_follows_every_build(engine: Any, blobs: FileBlobStore, settings: Settings) -> None:
    svc = JobService(engine, blobs, settings)
    await svc.start()
    try:
        build = await svc.enqueue(description("previewed", cells=3))
        built = await _final(svc, build.job_id)
        assert built.status is JobStatus.SUCCEEDED and built.type == "build"

        async def preview() -> Any:
            jobs = await svc.recent(10, type="preview")
            return jobs[0] if jobs and jobs[0].finished else None

        job = await wait_for(preview, 90)
        assert job.status is JobStatus.SUCCEEDED and job.scene_id == "previewed"
        assert job.result["version"] == built.result["version"]
        assert set(job.result["artifacts"]) == {
            "preview/floorplan.svg",
            "preview/floorplan.png",
            "preview/thumbnail.png",
        }
        repo = ArtifactRepository(engine, blobs)
        thumb = await repo.get("previewed", built.result["version"], "preview/thumbnail.png")
        assert Image.open(io.BytesIO(blobs.get(thumb.blob_key))).size == (512, 512)
        assert all(j.type == "build" for j in await svc.recent(10, type="build"))
        # The same description again makes no version, so no second preview.
        again = await _final(svc, (await svc.enqueue(description("previewed", cells=3))).job_id)
        assert again.status is JobStatus.SUCCEEDED
        await asyncio.sleep(0.5)
        assert len(await svc.recent(10, type="preview")) == 1
    finally:
        await svc.close()


async def test_types_preview_only_pool_never_takes_a_build(
    engine: Any, blobs: FileBlobStore, settings: Settings
) -> None:
    async with _lane(engine, blobs, settings, "preview") as svc:
        build = await svc.enqueue(description("waiting"))
        await asyncio.sleep(1.0)
        assert (await svc.get(build.job_id)).status is JobStatus.QUEUED


async def test_types_failing_export_retried_up_to_its_max(
    engine: Any, blobs: FileBlobStore, tmp_path: Path, data_dir: Path
) -> None:
    settings = Settings(
        storage={"data_dir": data_dir},
        jobs={"workers": 1, "lease_s": 300.0, "poll_s": 0.05, "retry_base_s": 0.05, "sweep_s": 0.2},
        export={"max_attempts": 3},
    )
    counter = tmp_path / "attempts"
    async with _lane(engine, blobs, settings, "export", ProcessExecutor(1, settings.limits, broken_export)) as svc:
        key = blobs.put(b"glTF not really")
        job = await svc.enqueue_output("s", 1, key, "export", {"format": "obj", "counter": str(counter)})
        done = await _final(svc, job.job_id)
        assert done.status is JobStatus.FAILED and done.attempt == 3
        assert "transient export failure 3" in done.error["message"]
        await asyncio.sleep(0.5)
        assert int(counter.read_text()) == 3


async def test_types_output_of_a_version_deleted_meanwhile_fails_once_and_stores_nothing(
    engine: Any, blobs: FileBlobStore, tmp_path: Path, data_dir: Path
) -> None:
    """The version went (its scene was deleted) while its export or preview was made: the job fails at once,
    saying so (not retried as if transient, no SQL in the message), and the files it made are not kept."""
    from sceneforge.storage.gc import collect

    settings = Settings(
        storage={"data_dir": data_dir},
        jobs={"workers": 1, "lease_s": 300.0, "poll_s": 0.05, "retry_base_s": 0.05, "sweep_s": 0.2},
        export={"max_attempts": 3},
    )
    async with _lane(engine, blobs, settings, "export", ProcessExecutor(1, settings.limits, slow_export)) as svc:
        key = blobs.put(b"glTF not really")
        options = {"format": "obj", "seconds": "0", "done": str(tmp_path / "done")}
        job = await svc.enqueue_output("gone", 1, key, "export", options)
        done = await _final(svc, job.job_id)
        assert done.status is JobStatus.FAILED and done.attempt == 1, done.error
        assert "version v1 of 'gone' no longer exists" in done.error["message"], done.error
        assert "SQL" not in done.error["message"]
        report = await collect(engine, blobs, dry_run=True, grace=timedelta(0))
        assert report.orphans == []


async def test_types_retention_keeps_counts_per_type(engine: Any, blobs: FileBlobStore, settings: Settings) -> None:
    svc = JobService(engine, blobs, settings, run_workers=False)
    store = svc.store
    key = blobs.put(b"x")
    for i in range(5):
        await store.create(f"p{i}", "s", description_key=key, type="preview", done={"n": i})
    for i in range(4):
        await store.create(f"e{i}", "s", description_key=key, type="export")
        await store.request_cancel(f"e{i}")
    for i in range(3):
        await store.create(f"b{i}", "s", description_key=key, done={"n": i})
    assert await store.prune_type("preview", keep_completed=2, keep_failed=0) == 3
    assert await store.prune_type("export", keep_completed=0, keep_failed=1) == 3
    assert {j.job_id for j in await store.recent(50, type="preview")} == {"p3", "p4"}
    assert [j.job_id for j in await store.recent(50, type="export")] == ["e3"]
    assert len(await store.recent(50, type="build")) == 3


def test_types_settings_and_lanes() -> None:
    settings = Settings(
        jobs={"workers": 3}, preview={"concurrency": 2}, export={"timeout_s": 9}, assist={"concurrency": 5}
    )
    assert lanes(settings) == {"build": 3, "preview": 2, "export": 1, "assist": 5}
    assert type_settings(settings, "export").timeout_s == 9
    assert type_settings(settings, "assist").max_attempts == 1
    assert json.loads(Settings().model_dump_json())["preview"]["priority"] == -10
    # an assist answer is never retried (a model call is not idempotent): only 1 attempt is accepted
    with pytest.raises(ValidationError, match="max_attempts"):
        Settings(assist={"max_attempts": 2})


def test_types_worker_queues_are_the_job_types() -> None:
    """``sceneforge worker --queues`` takes any job type, assist included, and names them when one is unknown."""
    from sceneforge.jobs.celery_app import run_worker

    settings = Settings(jobs={"broker_url": "redis://127.0.0.1:1/0"})
    with pytest.raises(SystemExit, match=r"unknown job queue\(s\) bogus: choose from build, preview, export, assist"):
        run_worker(settings, [], ["assist", "bogus"])


async def test_builds_share_the_cell_cache(
    engine: Any, blobs: FileBlobStore, settings: Settings, data_dir: Path
) -> None:
    svc = JobService(engine, blobs, settings)
    await svc.start()
    try:
        first = await _final(svc, (await svc.enqueue(description("cached", cells=3))).job_id)
        assert first.status is JobStatus.SUCCEEDED
        second = await _final(svc, (await svc.enqueue(description("cached", cells=3, note="edited"))).job_id)
        assert second.status is JobStatus.SUCCEEDED
        stats = (await svc.scenes.latest("cached")).meta["stats"]
        assert (stats["cellsRebuilt"], stats["cellsReused"]) == (0, 3)
        assert any((data_dir / "cellcache").rglob("*"))
    finally:
        await svc.close()


async def test_types_cancel_flag_stops_a_running_export(
    engine: Any, blobs: FileBlobStore, tmp_path: Path, data_dir: Path
) -> None:
    """A cancel asked elsewhere (the flag in the database, not this pool) stops the export's own process."""
    settings = Settings(
        storage={"data_dir": data_dir},
        # A long lease: the end must come from the cancel reaching the export's process, not a reclaim.
        jobs={"workers": 1, "lease_s": 60.0, "poll_s": 0.05, "cancel_poll_s": 0.05, "sweep_s": 0.2},
    )
    done = tmp_path / "done"
    async with _lane(engine, blobs, settings, "export", ProcessExecutor(1, settings.limits, slow_export)) as svc:
        key = blobs.put(b"glTF")
        job = await svc.enqueue_output("s", 1, key, "export", {"format": "obj", "seconds": 6, "done": str(done)})

        async def running() -> bool:
            current = await svc.get(job.job_id)
            return current.status is JobStatus.RUNNING and current.progress > 0

        await wait_for(running, 60)
        await svc.store.request_cancel(job.job_id)
        ended = await _final(svc, job.job_id)
        assert ended.status is JobStatus.CANCELED and not done.exists()


def test_types_output_executors_carry_their_types_timeout(data_dir: Path) -> None:
    settings = Settings(storage={"data_dir": data_dir}, preview={"timeout_s": 7}, export={"timeout_s": 9})
    executors = output_executors(settings, size=1)
    assert {k: (e.timeout_s, e.kind) for k, e in executors.items()} == {  # type: ignore[attr-defined]
        "preview": (7, "preview"),
        "export": (9, "export"),
    }


async def test_types_output_workers_run_at_a_lower_cpu_priority(data_dir: Path) -> None:
    """Preview and export worker processes yield the CPU to builds (niceness +10); build workers do not."""
    import os

    settings = Settings(storage={"data_dir": data_dir})
    executors = {**output_executors(settings, size=1), "build": ProcessExecutor(1, settings.limits)}
    try:
        for each in executors.values():
            await each.start()
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        lowered = min(19, ours + 10)
        expected = {"preview": {lowered}, "export": {lowered}, "build": {ours}}

        def niceness() -> dict[str, set[int]]:
            return {kind: {os.getpriority(os.PRIO_PROCESS, pid) for pid in e.pids()} for kind, e in executors.items()}

        # A child lowers its priority as it starts, just after it is forked: looked at until it has.
        await wait_for(lambda: niceness() == expected, 20)
        await asyncio.sleep(0.2)
        assert niceness() == expected
    finally:
        for each in executors.values():
            await each.close()


async def test_types_export_past_its_timeout_is_killed_and_failed_once(
    engine: Any, blobs: FileBlobStore, tmp_path: Path, data_dir: Path
) -> None:
    """A run past the type's timeout is stopped in its process and fails naming the type's setting; a
    limit is permanent, so it is not tried again however many attempts the type allows."""
    settings = Settings(
        storage={"data_dir": data_dir},
        jobs={"workers": 1, "lease_s": 60.0, "poll_s": 0.05, "cancel_poll_s": 0.05, "sweep_s": 0.2},
        export={"max_attempts": 3, "timeout_s": 0.5},
    )
    slow = ProcessExecutor(1, settings.limits, slow_export, timeout_s=settings.export.timeout_s, kind="export")
    done = tmp_path / "done"
    async with _lane(engine, blobs, settings, "export", slow) as svc:
        key = blobs.put(b"glTF")
        job = await svc.enqueue_output("s", 1, key, "export", {"format": "obj", "seconds": 30, "done": str(done)})
        ended = await _final(svc, job.job_id)
        assert ended.status is JobStatus.FAILED and ended.attempt == 1
        assert ended.error["kind"] == "limit" and ended.error["limit"] == "SCENEFORGE_EXPORT_TIMEOUT_S"
        assert "the export ran longer than 0.5 s (SCENEFORGE_EXPORT_TIMEOUT_S)" in ended.error["message"]
        assert not done.exists()
