"""Bounded builds: the job timeout, the worker memory cap, a killed worker process, and shutdown.

Every assertion is about order and state (statuses, events, processes), none about durations.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sceneforge.errors import NotFound
from sceneforge.jobs import JobService, JobStatus, ProcessExecutor
from sceneforge.jobs.build import BuildOutput
from sceneforge.jobs.executor import BuildLimitExceeded, Executor, OnProgress, WorkerLost, timed_out
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore

from .builders import slow_build
from .conftest import big_description, description, wait_for

#: A scene made huge: many seconds of compiling, far past the short limits set below.
HUGE_CELLS = 12_000


@pytest.fixture(scope="module")
def huge() -> bytes:
    return big_description(HUGE_CELLS, seed=11)


def _with_jobs(settings: Settings, **jobs: Any) -> Settings:
    return settings.model_copy(update={"jobs": settings.jobs.model_copy(update=jobs)})


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}


def _executor(svc: JobService) -> ProcessExecutor:
    assert svc.pool is not None
    executor = svc.pool.runner.executor
    assert isinstance(executor, ProcessExecutor)
    return executor


async def _finished(svc: JobService, job_id: str) -> Any:
    async def done() -> Any:
        job = await svc.get(job_id)
        return job if job.finished else None

    return await wait_for(done, 120)


async def _statuses(svc: JobService, job_id: str) -> list[str]:
    return [
        e.body["job"]["status"]
        for e in await svc.log.read(0)
        if e.type == "job.status" and e.body["job"]["jobId"] == job_id
    ]


@pytest.fixture
async def bounded(engine: Any, blobs: FileBlobStore, settings: Settings) -> AsyncIterator[JobService]:
    svc = JobService(engine, blobs, _with_jobs(settings, workers=1, timeout_s=0.5, memory_mb=0))
    await svc.start()
    yield svc
    await svc.close()


async def test_build_past_the_timeout_is_killed_and_fails_naming_the_limit(bounded: JobService, huge: bytes) -> None:
    job = await bounded.enqueue(huge)
    done = await _finished(bounded, job.job_id)
    assert done.status is JobStatus.FAILED and done.attempt == 1  # a limit is permanent: no retry
    assert done.error["limit"] == "SCENEFORGE_JOB_TIMEOUT_S" and done.error["kind"] == "limit"
    assert "SCENEFORGE_JOB_TIMEOUT_S" in done.error["message"]
    assert await _statuses(bounded, job.job_id) == ["Queued", "Running", "Failed"]
    assert await bounded.store.count(JobStatus.RUNNING) == 0
    with pytest.raises(NotFound):
        await bounded.scenes.latest(done.scene_id)
    (replacement,) = _executor(bounded).pids()  # the killed worker was replaced
    assert _alive(replacement)


async def test_build_past_the_memory_cap_fails_naming_the_limit(
    engine: Any, blobs: FileBlobStore, settings: Settings, huge: bytes
) -> None:
    svc = JobService(engine, blobs, _with_jobs(settings, workers=1, timeout_s=0, memory_mb=64))
    await svc.start()
    try:
        job = await svc.enqueue(huge)
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.FAILED and done.attempt == 1, done.error
        assert done.error["limit"] == "SCENEFORGE_JOB_MEMORY_MB"
        assert "64 MiB" in done.error["message"]
        assert await svc.store.count(JobStatus.RUNNING) == 0
        small = await _finished(svc, (await svc.enqueue(description("small"))).job_id)
        assert small.status is JobStatus.SUCCEEDED, small.error
    finally:
        await svc.close()


async def test_kill_9_of_the_build_process_retries_the_job(
    engine: Any, blobs: FileBlobStore, settings: Settings
) -> None:
    svc = JobService(engine, blobs, _with_jobs(settings, workers=1), build=slow_build)
    await svc.start()
    try:
        job = await svc.enqueue(description("killed"), options={"seconds": 1})
        await wait_for(lambda: _progressing(svc, job.job_id), 60)
        executor = _executor(svc)
        (victim,) = [c.process.pid for c in executor._running.values()]
        os.kill(victim, signal.SIGKILL)
        done = await _finished(svc, job.job_id)
        assert done.status is JobStatus.SUCCEEDED and done.attempt == 2, done.error
        assert await _statuses(svc, job.job_id) == ["Queued", "Running", "Queued", "Running", "Succeeded"]
        assert len(await svc.scenes.versions("killed")) == 1
        assert not _alive(victim)
    finally:
        await svc.close()


async def _progressing(svc: JobService, job_id: str) -> bool:
    job = await svc.get(job_id)
    return job.status is JobStatus.RUNNING and job.progress > 0


async def test_shutdown_kills_running_builds_and_hands_the_job_back(
    engine: Any, blobs: FileBlobStore, settings: Settings
) -> None:
    svc = JobService(engine, blobs, _with_jobs(settings, workers=2), build=slow_build)
    await svc.start()
    job = await svc.enqueue(description("stopped"), options={"seconds": 600})
    await wait_for(lambda: _progressing(svc, job.job_id), 60)
    pids = _executor(svc).pids()
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    await svc.close()
    assert not any(_alive(p) for p in pids)
    left = await svc.store.get(job.job_id)
    assert left.status is JobStatus.QUEUED and left.error["kind"] == "lost", left.error  # another instance takes it
    assert await svc.store.count(JobStatus.RUNNING) == 0


class _LosesItsCancel(Executor):
    """A build that runs until its executor stops it, and whose task loses a cancel the way Python 3.11's
    ``asyncio.wait_for`` can (the cancel arrives as a progress message does): the build then runs on and
    ends the way a build does when it is stopped at last — killed (``WorkerLost``) or at its timeout."""

    def __init__(self, ending: Callable[[], Exception]) -> None:
        self.ending = ending
        self.running = asyncio.Event()
        self.stop = asyncio.Event()
        self.lost_cancels = 0

    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildOutput:
        await on_progress("geometry", 0.5)
        self.running.set()
        while not self.stop.is_set():
            try:
                await self.stop.wait()
            except asyncio.CancelledError:
                self.lost_cancels += 1
                break  # the cancel is lost here; the build runs on until something ends it
        raise self.ending()

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        self.stop.set()
        return True


@pytest.mark.parametrize(
    "ending",
    [lambda: timed_out(300.0), lambda: WorkerLost("the build process exited (killed by SIGKILL)")],
    ids=["timeout", "killed"],
)
async def test_shutdown_hands_the_job_back_whatever_ends_the_build(
    engine: Any, blobs: FileBlobStore, settings: Settings, ending: Callable[[], Exception]
) -> None:
    # The job's last attempt: before, a build that ended with an error during shutdown was recorded as a
    # failure — Failed here (a limit is permanent; a lost worker on the last attempt), Queued after a backoff
    # otherwise — whenever the error reached the runner instead of its task's cancel.
    # progress_interval_s 0: the build's one progress report, made as it starts, is written at once.
    svc = JobService(engine, blobs, _with_jobs(settings, workers=1, max_attempts=1, progress_interval_s=0.0))
    assert svc.pool is not None
    build = _LosesItsCancel(ending)
    svc.pool.runner.executor = build
    await svc.start()
    job = await svc.enqueue(description("lost-cancel"))
    await wait_for(lambda: _progressing(svc, job.job_id), 60)
    await build.running.wait()
    await svc.close()
    left = await svc.store.get(job.job_id)
    assert left.status is JobStatus.QUEUED and left.error["kind"] == "lost", (left.status, left.error)
    assert left.attempt == 1 and await svc.store.count(JobStatus.RUNNING) == 0
    assert await _statuses(svc, job.job_id) == ["Queued", "Running", "Queued"]


async def test_a_cancel_that_comes_with_a_progress_message_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shutdown's cancel reaches a running build in the same turn of the event loop as its next
    progress message: the run ends cancelled and its process is killed (Python 3.11's ``wait_for``
    returned the message and dropped the cancel: the build ran on to its timeout)."""
    from sceneforge.config import Limits

    executor = ProcessExecutor(1, Limits(), slow_build, timeout_s=20)
    await executor.start()
    loop = asyncio.get_running_loop()
    run_in_executor = loop.run_in_executor
    reads: list[asyncio.Future[Any]] = []
    task: asyncio.Task[BuildOutput] | None = None

    def reading(pool: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        future = run_in_executor(pool, func, *args)
        if pool is executor._threads and getattr(func, "__name__", "") == "recv":  # not the input's send
            reads.append(future)
            if len(reads) == 3 and task is not None:  # the third progress message's read
                # Queued ahead of everything the run's own wait adds to the read: the cancel comes in
                # the very turn of the loop in which the message does.
                future.add_done_callback(lambda _: task.cancel())
        return future

    monkeypatch.setattr(loop, "run_in_executor", reading)
    try:
        (pid,) = executor.pids()
        task = asyncio.create_task(executor.run("job", b"{}", {"seconds": 600}, lambda stage, fraction: None))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(reads) == 3 and not _alive(pid)
    finally:
        monkeypatch.undo()
        await executor.close()


async def test_an_attempt_ending_late_leaves_the_next_attempt_of_its_job_tracked() -> None:
    """A job taken back (a lost lease) and claimed again by the same process runs twice under one id
    while the old attempt stops: the old run's end must not drop the new run from the executor's
    books, or a cancel would not reach it and closing the executor would leave its process alive."""
    from sceneforge.config import Limits
    from sceneforge.errors import BuildCanceled

    executor = ProcessExecutor(2, Limits(), slow_build, timeout_s=60)
    await executor.start()
    try:
        progressed = {"old": asyncio.Event(), "new": asyncio.Event()}
        old = asyncio.create_task(
            executor.run("job", b"{}", {"seconds": 600}, lambda *_: progressed["old"].set(), attempt=1)
        )
        await progressed["old"].wait()
        new = asyncio.create_task(
            executor.run("job", b"{}", {"seconds": 600}, lambda *_: progressed["new"].set(), attempt=2)
        )
        await progressed["new"].wait()
        old.cancel()  # the old attempt ends (its process killed) while the new one runs
        with pytest.raises(asyncio.CancelledError):
            await old
        assert executor.cancel("job")  # the new run is still known: the cancel reaches it
        with pytest.raises(BuildCanceled):
            await new
    finally:
        await executor.close()


async def test_a_cancels_grace_never_kills_a_later_run_that_took_the_same_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A canceled attempt that stops at its next progress call gives its process back at once; the job's next
    attempt may take that process before the cancel's grace is over. The grace's kill is for the canceled run
    only: it killed whatever run of the same job id the process was on (the next attempt: WorkerLost)."""
    from sceneforge.config import Limits
    from sceneforge.errors import BuildCanceled

    from .builders import gated_build

    executor = ProcessExecutor(1, Limits(), gated_build, timeout_s=60)
    await executor.start()
    loop = asyncio.get_running_loop()
    call_later = loop.call_later
    graces: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def hold_graces(delay: float, callback: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        if getattr(callback, "__self__", None) is executor:  # the cancel's kill timer: fired below, by hand
            graces.append((callback, args))
            return None
        return call_later(delay, callback, *args, **kw)

    monkeypatch.setattr(loop, "call_later", hold_graces)
    try:
        (pid,) = executor.pids()
        progressed = {"old": asyncio.Event(), "new": asyncio.Event()}
        old_gate, new_gate = tmp_path / "old", tmp_path / "new"
        old = asyncio.create_task(
            executor.run(
                "job", description("g"), {"gate": str(old_gate)}, lambda *_: progressed["old"].set(), attempt=1
            )
        )
        await progressed["old"].wait()
        assert executor.cancel("job", 1)
        with pytest.raises(BuildCanceled):
            await old  # stopped at its next progress call: the process is healthy and idle again
        new = asyncio.create_task(
            executor.run(
                "job", description("g"), {"gate": str(new_gate)}, lambda *_: progressed["new"].set(), attempt=2
            )
        )
        await progressed["new"].wait()
        assert executor.pids() == [pid]  # the same process runs the next attempt
        assert graces
        for callback, args in graces:  # the old cancel's grace ends while the next attempt runs
            callback(*args)
        new_gate.touch()  # a process killed above can no longer see it
        output = await new
        assert output.glb and _alive(pid)
    finally:
        monkeypatch.undo()
        await executor.close()


async def test_a_cancel_naming_an_attempt_leaves_the_other_attempts_of_its_job_running(tmp_path: Path) -> None:
    """The watcher of an attempt that lost its lease asks the executor again and again to stop it, until it
    ends; the job may meanwhile run again here. A cancel names its attempt and never stops another one."""
    from sceneforge.config import Limits
    from sceneforge.errors import BuildCanceled

    from .builders import gated_build

    executor = ProcessExecutor(2, Limits(), gated_build, timeout_s=60)
    await executor.start()
    try:
        progressed = {"old": asyncio.Event(), "new": asyncio.Event()}
        gate = {"old": tmp_path / "old", "new": tmp_path / "new"}

        def run(name: str, attempt: int) -> asyncio.Task[BuildOutput]:
            options = {"gate": str(gate[name])}
            progress = progressed[name].set
            return asyncio.create_task(
                executor.run("job", description("g"), options, lambda *_: progress(), attempt=attempt)
            )

        runs = {"old": run("old", 1), "new": run("new", 2)}
        await progressed["old"].wait()
        await progressed["new"].wait()
        assert executor.cancel("job", 1) and executor.cancel("job", 1)
        assert not executor.cancel("job", 3)  # no such attempt runs here
        with pytest.raises(BuildCanceled):
            await runs["old"]
        assert not executor.cancel("job", 1)  # ended: a stale cancel finds nothing
        gate["new"].touch()
        assert (await runs["new"]).glb
        assert not executor.cancel("job")
    finally:
        await executor.close()


async def test_an_input_larger_than_the_memory_cap_fails_naming_the_limit() -> None:
    """An input (description and assets) larger than the memory a build may use cannot be built: it fails at
    once naming the setting, before any process takes it. It was sent to a worker process, which died
    receiving it: the job failed as a lost worker (transient, retried) or with a broken pipe."""
    from sceneforge.config import Limits

    executor = ProcessExecutor(1, Limits(), slow_build, timeout_s=60, memory_mb=64)
    await executor.start()
    try:
        (pid,) = executor.pids()
        assets = {"a" * 64: b"\0" * (40 << 20)}
        with pytest.raises(BuildLimitExceeded) as raised:
            await executor.run("job", b"\0" * (30 << 20), {"seconds": 0, "assets": assets}, lambda *_: None)
        assert raised.value.limit == "SCENEFORGE_JOB_MEMORY_MB" and "64 MiB" in str(raised.value)
        assert executor.pids() == [pid] and _alive(pid)  # no process was given the input
    finally:
        await executor.close()


async def test_an_input_its_process_cannot_receive_fails_naming_the_memory_limit() -> None:
    """An input under the cap that the worker process still cannot hold once received (the bytes read,
    then unpickled: twice the input) fails naming the memory setting, as an allocation in the build
    does, and the process is replaced. Receiving it killed the process: a lost worker (retried) or a
    broken pipe, never naming the limit."""
    from sceneforge.config import Limits

    executor = ProcessExecutor(1, Limits(), slow_build, timeout_s=60, memory_mb=64)
    await executor.start()
    try:
        (pid,) = executor.pids()
        with pytest.raises(BuildLimitExceeded) as raised:
            await executor.run("job", b"\0" * (48 << 20), {"seconds": 0}, lambda *_: None)
        assert raised.value.limit == "SCENEFORGE_JOB_MEMORY_MB"
        (replacement,) = executor.pids()
        assert replacement != pid and _alive(replacement)
    finally:
        await executor.close()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("unprintable_failure", "Unprintable"), ("unsendable_result", "the build's result could not be sent")],
)
async def test_a_build_failure_that_cannot_be_reported_as_is_still_fails_the_build_saying_what(
    name: str, expected: str
) -> None:
    """A build that fails with an exception whose message cannot be read, or returns what cannot be sent
    back, killed its process while reporting it: the job failed as a lost worker (``exited (exit code
    1)``), retried as such, never saying what went wrong."""
    from sceneforge.config import Limits

    from . import builders

    executor = ProcessExecutor(1, Limits(), getattr(builders, name), timeout_s=60)
    await executor.start()
    try:
        (pid,) = executor.pids()
        with pytest.raises(Exception) as raised:
            await executor.run("job", b"{}", {}, lambda *_: None)
        assert not isinstance(raised.value, WorkerLost) and expected in str(raised.value), raised.value
        assert executor.pids() == [pid]  # its process reported the failure and goes on
    finally:
        await executor.close()
