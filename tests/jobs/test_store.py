from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sceneforge.errors import JobError, NotFound
from sceneforge.events import EventLog
from sceneforge.events.model import Event
from sceneforge.jobs import HeartbeatAnswer, JobStatus, JobStore
from tests.support.sqlite import SLOW_STATEMENT, write_lock_free

from .conftest import wait_for


async def test_claim_order_priority_then_age(store: JobStore) -> None:
    for job_id, priority in [("a", 0), ("b", 5), ("c", 0), ("d", 5)]:
        await store.create(job_id, "s", description_key="k", priority=priority)
    order = []
    while (job := await store.claim("w", 10)) is not None:
        order.append(job.job_id)
    assert order == ["b", "d", "a", "c"]


async def test_claim_sets_running_attempt_and_lease(store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    job = await store.claim("w1", 10)
    assert job is not None and job.status is JobStatus.RUNNING and job.attempt == 1 and job.lease_owner == "w1"
    assert await store.claim("w2", 10) is None
    assert await store.heartbeat("a", "w1", 10) == HeartbeatAnswer.OK
    assert await store.heartbeat("a", "w2", 10) == HeartbeatAnswer.LOST


async def test_a_claim_from_a_stale_read_never_reuses_an_attempt(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim whose read predates another worker's claim, failure and requeue of the same job (Queued
    again, attempt 1) must not run it as attempt 1 again: it claims afresh as attempt 2."""
    import sceneforge.jobs.store as store_module

    await store.create("a", "s", description_key="k")
    first = await store.claim("w1", 10)
    assert first is not None and first.attempt == 1
    assert await store.finish("a", "w1", JobStatus.QUEUED, retry_in_s=0.0) is not None
    fresh_job = store_module._job
    reads = []

    def stale_first(row: object) -> object:  # the first read sees the row as it was before w1's claim
        job = fresh_job(row)
        reads.append(job.attempt)
        return replace(job, attempt=0) if len(reads) == 1 else job

    monkeypatch.setattr(store_module, "_job", stale_first)
    second = await store.claim("w2", 10)
    assert second is not None and second.attempt == 2 and second.lease_owner == "w2"
    assert len(reads) >= 2  # the stale claim lost and was retried on a fresh read


async def test_expired_lease_is_reclaimed_and_claimed_again(engine, store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    await store.claim("dead", 0.01)
    later = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(seconds=1))
    [job] = await later.reclaim_expired()
    assert job.status is JobStatus.QUEUED and job.error and "lease" in job.error["message"]
    again = await later.claim("alive", 10)
    assert again is not None and again.attempt == 2
    assert await later.finish("a", "dead", JobStatus.SUCCEEDED, result={}) is None  # the dead worker lost it


async def test_reclaim_fails_job_after_max_attempts(engine, store: JobStore) -> None:
    await store.create("a", "s", description_key="k", max_attempts=1)
    await store.claim("dead", 0.01)
    later = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(seconds=1))
    [job] = await later.reclaim_expired()
    assert job.status is JobStatus.FAILED


async def test_cancel_queued_at_once_and_finished_refused(store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    job = await store.request_cancel("a")
    assert job.status is JobStatus.CANCELED
    with pytest.raises(JobError):
        await store.request_cancel("a")
    with pytest.raises(NotFound):
        await store.request_cancel("nope")


async def test_cancel_running_flags_and_worker_sees_it(store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    await store.claim("w", 10)
    job = await store.request_cancel("a")
    assert job.status is JobStatus.RUNNING and job.cancel_requested
    assert await store.heartbeat("a", "w", 10) == HeartbeatAnswer.CANCEL
    done = await store.finish("a", "w", JobStatus.CANCELED)
    assert done is not None and done.status is JobStatus.CANCELED


async def test_every_change_is_an_event_with_increasing_seq(store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    await store.claim("w", 10)
    await store.progress("a", "w", "geometry", 40)
    await store.finish("a", "w", JobStatus.SUCCEEDED, result={"eTag": "e", "bytes": 1, "version": 1}, built={})
    events = await store.log.read(0)
    assert [e.type for e in events] == ["job.status", "job.status", "job.progress", "job.status", "scene.built"]
    assert [e.seq for e in events] == sorted({e.seq for e in events})
    assert [e.body["job"]["status"] for e in events] == ["Queued", "Running", "Running", "Succeeded", "Succeeded"]


async def test_retry_waits_for_backoff(store: JobStore) -> None:
    await store.create("a", "s", description_key="k")
    await store.claim("w", 10)
    await store.finish("a", "w", JobStatus.QUEUED, error={"message": "x"}, retry_in_s=60)
    assert await store.claim("w", 10) is None
    assert (await store.get("a")).status is JobStatus.QUEUED


async def test_prune_by_count_and_age(engine, store: JobStore) -> None:
    for i in range(5):
        await store.create(f"j{i}", "s", description_key="k")
        await store.request_cancel(f"j{i}")
    await store.create("live", "s", description_key="k")
    assert await store.prune(keep=2, max_age=timedelta(days=1)) == 3
    assert {j.job_id for j in await store.recent(50)} == {"j3", "j4", "live"}
    future = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(days=2))
    assert await future.prune(keep=100, max_age=timedelta(days=1)) == 2
    assert [j.job_id for j in await store.recent(50)] == ["live"]


async def test_prune_keeps_exactly_the_newest_when_jobs_finish_at_the_same_instant(engine, store: JobStore) -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    frozen = JobStore(engine, store.log, clock=lambda: at)
    for i in range(5):
        await frozen.create(f"t{i}", "s", description_key="k")
        await frozen.request_cancel(f"t{i}")
    assert await frozen.prune(keep=2, max_age=timedelta(days=1)) == 3
    assert {j.job_id for j in await frozen.recent(50)} == {"t3", "t4"}
    assert await frozen.prune_type("build", keep_completed=0, keep_failed=1) == 1
    assert [j.job_id for j in await frozen.recent(50)] == ["t4"]


async def test_a_canceled_job_whose_attempt_fails_as_transient_ends_canceled(store: JobStore) -> None:
    """A cancel flags a Running job; if its attempt then fails as transient before the worker sees the
    flag, putting it back in the queue left it Queued and flagged: no claim takes a flagged job, so it
    stayed Queued for ever (and counted as due, waking Celery workers every sweep)."""
    await store.create("a", "s", description_key="k")
    assert await store.claim("w", 10) is not None
    await store.request_cancel("a")
    error = {"message": "transient", "issues": [], "kind": "error"}
    done = await store.finish("a", "w", JobStatus.QUEUED, error=error, retry_in_s=0.0)
    assert done is not None and done.status is JobStatus.CANCELED and done.completed_utc is not None, done
    assert await store.due_queued() == 0 and await store.count(JobStatus.QUEUED) == 0


async def test_the_sweep_cancels_a_queued_job_left_flagged_canceled(engine, store: JobStore) -> None:
    """Rows an earlier version left Queued with a cancel flag are ended by the sweep's reclaim."""
    from sqlalchemy import update

    from sceneforge.storage.tables import jobs

    await store.create("a", "s", description_key="k")
    async with engine.begin() as conn:
        await conn.execute(update(jobs).where(jobs.c.id == "a").values(canceled=True))
    [done] = await store.reclaim_expired()
    assert done.job_id == "a" and done.status is JobStatus.CANCELED
    assert await store.reclaim_expired() == []


class _SlowLog(EventLog):
    """An event log whose appends run a long statement first, in the writer's transaction: a cancel sent once one
    began lands while that statement runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.appending = asyncio.Event()

    async def append(self, conn: AsyncConnection, type_: str, scene_id: str | None, body: dict[str, Any]) -> Event:
        self.appending.set()
        await conn.execute(SLOW_STATEMENT)
        return await super().append(conn, type_, scene_id, body)


async def test_a_cancelled_claim_still_commits_and_publishes_and_frees_the_database(engine: AsyncEngine) -> None:
    """A job loop cancelled (the service closing) while its claim's transaction runs: the claim goes on to its
    end — the job Running, its event published — and the next write takes the database at once. Cut, the
    claim's connection was torn down halfway through its transaction (which held SQLite's write lock until the
    garbage collector found the connection: the runner's hand-back of its job then failed, "database is locked")."""
    published: list[Event] = []

    async def publish(event: Event) -> None:
        published.append(event)

    log = _SlowLog(engine)
    store = JobStore(engine, log, publish)
    await JobStore(engine, EventLog(engine)).create("a", "s", description_key="k")
    claim = asyncio.create_task(store.claim("w1", 60))
    await log.appending.wait()
    await asyncio.sleep(0.05)
    claim.cancel()
    with pytest.raises(asyncio.CancelledError):
        await claim
    assert await asyncio.to_thread(write_lock_free, engine)
    job = await store.get("a")
    assert job.status is JobStatus.RUNNING and job.lease_owner == "w1"
    await wait_for(lambda: [e.type for e in published] == ["job.status"], 10)


async def test_an_idle_claim_waits_for_no_writer(store: JobStore, data_dir: Path) -> None:
    """With no job due, a claim is a read: it answers None at once while another writer holds SQLite's write lock
    (as a claim transaction it waited for the lock, up to the busy timeout, and every idle loop polls)."""
    import sqlite3

    await store.create("later", "s", description_key="k", type="export")
    writer = sqlite3.connect(data_dir / "sceneforge.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        assert await asyncio.wait_for(store.claim("w", 10, types=("build",)), 3) is None
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    claimed = await store.claim("w", 10, types=("export",))
    assert claimed is not None and claimed.job_id == "later"
