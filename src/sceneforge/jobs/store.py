"""Jobs in the metadata database: enqueue, claim with a lease, progress, finish, cancel, reclaim, prune.

Every status change goes through :func:`~.states.check_transition` here and writes its event in
the same transaction; the event is published after the commit. Claims take the highest
priority, then the oldest job: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (many workers, no
waiting on each other), a compare-and-set ``UPDATE … WHERE status = 'Queued'`` on SQLite (one
writer at a time). A worker holds a job through a lease it renews; a job whose lease ran out
is put back in the queue (or failed, once its attempts are used up), so no accepted job is lost.
A lease is its owner's for one attempt: renewals, progress and the end name the attempt too, since
one worker can claim again a job whose lease it lost while that attempt is still stopping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..aio import finished
from ..errors import JobError, NotFound
from ..events.log import EventLog
from ..events.model import Event
from ..storage.database import as_utc, locking, write_transaction, written
from ..storage.tables import jobs, scenes
from ..wire import names_a_row
from .states import FINISHED, BuildJob, JobStatus, check_transition

__all__ = ["STORED_STAGE", "HeartbeatAnswer", "JobStore"]

T = TypeVar("T")
Publish = Callable[[Event], Awaitable[None]]

#: Attempts of a transaction that lost a race (SQLite busy snapshot, unique key).
WRITE_ATTEMPTS = 8


def _job(row: Any) -> BuildJob:
    return BuildJob(
        job_id=row.id,
        scene_id=row.scene_id,
        type=row.type or "build",
        status=JobStatus(row.status),
        created_utc=as_utc(row.created_at) or datetime.now(UTC),
        started_utc=as_utc(row.started_at),
        completed_utc=as_utc(row.completed_at),
        error=row.error,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        progress=float(row.progress or 0.0),
        stage=row.stage,
        priority=row.priority,
        result=row.result,
        description_key=row.description_key,
        options=dict(row.options or {}),
        cancel_requested=bool(row.canceled),
        lease_owner=row.lease_owner,
        lease_expires_utc=as_utc(row.lease_expires_at),
    )


#: The stage of a Running job whose result (a build's version) is stored, written in the transaction that stored it:
#: its end (Succeeded) follows, and a cancel asked from then on is a 409 — a 202 would be followed by that version.
STORED_STAGE = "stored"


class HeartbeatAnswer:
    """What a lease renewal found: the worker goes on, stops for a cancel, or has lost the job."""

    OK = "ok"
    CANCEL = "cancel"
    LOST = "lost"


async def _no_publish(event: Event) -> None:
    return None


def _holds(job: BuildJob, owner: str, attempt: int | None) -> bool:
    """Whether ``owner`` holds the lease of the Running ``job`` for ``attempt`` (None: any attempt)."""
    return job.status is JobStatus.RUNNING and job.lease_owner == owner and attempt in (None, job.attempt)


async def _prune_beyond(conn: AsyncConnection, where: ColumnElement[bool], keep: int) -> int:
    """Delete the jobs matching ``where`` past the newest ``keep`` (by completion time, then id). Returns the count."""
    newest_first = (jobs.c.completed_at.desc(), jobs.c.id.desc())
    query = select(jobs.c.completed_at, jobs.c.id).where(where).order_by(*newest_first).offset(keep).limit(1)
    boundary = (await conn.execute(query)).first()
    if boundary is None:
        return 0
    at, job_id = boundary
    older = or_(jobs.c.completed_at < at, and_(jobs.c.completed_at == at, jobs.c.id <= job_id))
    return int((await conn.execute(delete(jobs).where(where, older))).rowcount or 0)


class JobStore:
    """Job rows and their events. ``publish`` sends committed events to the live bus."""

    def __init__(
        self,
        engine: AsyncEngine,
        log: EventLog,
        publish: Publish = _no_publish,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine, self.log, self.publish, self.clock = engine, log, publish, clock

    # --- plumbing ---------------------------------------------------------------------------

    async def _write(self, body: Callable[[AsyncConnection, list[Event]], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction (retried when it lost a race), then publish its events — to the end in a
        task of its own, whatever cancels the caller (``storage/database.py``: a cut transaction holds SQLite's
        write lock; the events of a committed one are published all the same)."""
        return await finished(self._written(body))

    async def _written(self, body: Callable[[AsyncConnection, list[Event]], Awaitable[T]]) -> T:
        for attempt in range(WRITE_ATTEMPTS):
            events: list[Event] = []
            try:
                async with write_transaction(self.engine) as conn:
                    value = await body(conn, events)
                break
            except (IntegrityError, OperationalError) as exc:
                lost = isinstance(exc, IntegrityError) or "locked" in str(exc).lower()
                if not lost or attempt == WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.01 * 2**attempt)
        for event in events:
            await self.publish(event)
        return value

    async def _locked(self, conn: AsyncConnection, job_id: str) -> BuildJob:
        row = None
        if names_a_row(job_id):
            row = (await conn.execute(locking(conn, select(jobs).where(jobs.c.id == job_id)))).first()
        if row is None:
            raise NotFound(f"job {job_id!r} does not exist")
        return _job(row)

    async def _set(
        self, conn: AsyncConnection, events: list[Event], job: BuildJob, values: dict[str, Any], event: str | None
    ) -> BuildJob:
        """Update ``job`` with ``values`` (status checked against the table), append its event, return it."""
        if "status" in values:
            values["status"] = check_transition(job.status, values["status"]).value
        await conn.execute(update(jobs).where(jobs.c.id == job.job_id).values(**values))
        row = (await conn.execute(select(jobs).where(jobs.c.id == job.job_id))).one()
        fresh = _job(row)
        if event is not None:
            events.append(await self.log.append(conn, event, fresh.scene_id, {"job": fresh.as_dict()}))
        return fresh

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, job_id: str) -> BuildJob:
        if not names_a_row(job_id):
            raise NotFound(f"job {job_id!r} does not exist")
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).first()
        if row is None:
            raise NotFound(f"job {job_id!r} does not exist")
        return _job(row)

    async def recent(self, take: int = 50, *, public_only: bool = False, type: str | None = None) -> list[BuildJob]:
        """The ``take`` most recently created jobs, newest first; with ``public_only``, none of a private scene;
        with ``type``, only jobs of that type."""
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(take)
        if type is not None:
            query = query.where(jobs.c.type == type)
        if public_only:
            private = select(scenes.c.id).where(scenes.c.private.is_(True))
            query = query.where(jobs.c.scene_id.not_in(private))
        async with self.engine.connect() as conn:
            return [_job(r) for r in (await conn.execute(query)).all()]

    async def active_of_scene(self, scene_id: str) -> list[str]:
        """The ids of the scene's jobs that have not finished (Queued or Running), oldest first."""
        unfinished = jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])
        query = select(jobs.c.id).where(jobs.c.scene_id == scene_id, unfinished).order_by(jobs.c.created_at)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def count(self, status: JobStatus | None = None) -> int:
        query = select(func.count()).select_from(jobs)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Which of ``job_ids`` have a cancel request or are no longer Running."""
        if not job_ids:
            return set()
        query = select(jobs.c.id).where(
            jobs.c.id.in_(list(job_ids)), or_(jobs.c.canceled.is_(True), jobs.c.status != JobStatus.RUNNING.value)
        )
        async with self.engine.connect() as conn:
            return set((await conn.execute(query)).scalars())

    # --- writes ---------------------------------------------------------------------------------

    async def create(
        self,
        job_id: str,
        scene_id: str,
        *,
        description_key: str | None,
        priority: int = 0,
        max_attempts: int = 3,
        options: dict[str, Any] | None = None,
        done: dict[str, Any] | None = None,
        type: str = "build",
    ) -> BuildJob:
        """Insert a Queued job of ``type`` whose input is blob ``description_key`` (None: its ``options`` say
        what it works on, as for ``assist``); with ``done`` (a result)
        it completes at once as Succeeded (idempotent enqueue)."""

        async def body(conn: AsyncConnection, events: list[Event]) -> BuildJob:
            now = self.clock()
            await conn.execute(
                insert(jobs).values(
                    id=job_id,
                    scene_id=scene_id,
                    type=type,
                    status=JobStatus.QUEUED.value,
                    created_at=now,
                    attempt=0,
                    max_attempts=max_attempts,
                    progress=0.0,
                    priority=priority,
                    description_key=description_key,
                    options=options or {},
                    canceled=False,
                )
            )
            row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one()
            job = _job(row)
            events.append(await self.log.append(conn, "job.status", scene_id, {"job": job.as_dict()}))
            if done is not None:
                values = dict(status=JobStatus.SUCCEEDED, completed_at=now, progress=100.0, stage="done", result=done)
                job = await self._set(conn, events, job, values, "job.status")
            return job

        return await self._write(body)

    async def claim(
        self, owner: str, lease_s: float, *, job_id: str | None = None, types: Sequence[str] = ("build",)
    ) -> BuildJob | None:
        """Take the next due Queued job of one of ``types`` (or ``job_id``) for ``owner``: Running, attempt + 1,
        leased. None if none."""

        def due_at(now: datetime) -> ColumnElement[bool]:
            which = jobs.c.id == job_id if job_id is not None else jobs.c.type.in_(list(types))
            return and_(
                jobs.c.status == JobStatus.QUEUED.value,
                jobs.c.canceled.is_(False),
                or_(jobs.c.next_attempt_at.is_(None), jobs.c.next_attempt_at <= now),
                which,
            )

        # Looked for first without the write lock: an idle worker's claim is a read, not a write transaction
        # (on SQLite one writer at a time, and every idle lane polls).
        async with self.engine.connect() as conn:
            if (await conn.execute(select(jobs.c.id).where(due_at(self.clock())).limit(1))).first() is None:
                return None

        async def body(conn: AsyncConnection, events: list[Event]) -> BuildJob | None:
            now = self.clock()
            order = (jobs.c.priority.desc(), jobs.c.created_at, jobs.c.id)
            query = select(jobs).where(due_at(now)).order_by(*order).limit(1)
            query = locking(conn, query, skip_locked=True)
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            job = _job(row)
            values = dict(
                status=JobStatus.RUNNING,
                attempt=job.attempt + 1,
                started_at=now,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                progress=0.0,
                stage="queued",
            )
            # Guarded on the attempt read too: should the read above ever precede the write lock (the
            # claim's transaction takes it at BEGIN on SQLite, FOR UPDATE locks the row on PostgreSQL), a
            # job claimed, failed and queued again in between would run again under the same attempt.
            guarded = update(jobs).where(
                jobs.c.id == job.job_id, jobs.c.status == JobStatus.QUEUED.value, jobs.c.attempt == job.attempt
            )
            check_transition(job.status, JobStatus.RUNNING)
            result = await conn.execute(guarded.values(**{**values, "status": JobStatus.RUNNING.value}))
            if result.rowcount != 1:
                raise OperationalError("claim", {}, Exception("database is locked: job taken by another worker"))
            fresh = _job((await conn.execute(select(jobs).where(jobs.c.id == job.job_id))).one())
            events.append(await self.log.append(conn, "job.status", fresh.scene_id, {"job": fresh.as_dict()}))
            return fresh

        return await self._write(body)

    async def heartbeat(self, job_id: str, owner: str, lease_s: float, *, attempt: int | None = None) -> str:
        """Extend ``owner``'s lease on a Running job (for its attempt ``attempt``). Returns a
        :class:`HeartbeatAnswer` value."""

        async def body(conn: AsyncConnection) -> str:
            now = self.clock()
            ours = and_(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == JobStatus.RUNNING.value)
            if attempt is not None:
                ours = and_(ours, jobs.c.attempt == attempt)
            result = await conn.execute(
                update(jobs).where(ours).values(lease_expires_at=now + timedelta(seconds=lease_s))
            )
            if result.rowcount != 1:
                return HeartbeatAnswer.LOST
            canceled = (await conn.execute(select(jobs.c.canceled).where(jobs.c.id == job_id))).scalar()
            return HeartbeatAnswer.CANCEL if canceled else HeartbeatAnswer.OK

        return await written(self.engine, body)

    async def held(self, conn: AsyncConnection, job_id: str, owner: str, *, attempt: int | None = None) -> str:
        """Inside a transaction of the caller: whether ``owner`` still holds the Running job (for its attempt
        ``attempt``) and no cancel was asked (a :class:`HeartbeatAnswer` value, as :meth:`heartbeat`). On
        PostgreSQL the job's row stays locked (``FOR SHARE``) until that transaction ends: a cancel asked meanwhile
        waits for it, so what the caller writes there is either before the cancel or not written."""
        row = (await conn.execute(locking(conn, select(jobs).where(jobs.c.id == job_id), read=True))).first()
        if row is None or not _holds(_job(row), owner, attempt):
            return HeartbeatAnswer.LOST
        return HeartbeatAnswer.CANCEL if row.canceled else HeartbeatAnswer.OK

    async def storing(self, conn: AsyncConnection, job_id: str) -> None:
        """Inside the caller's transaction that stores the job's result (after :meth:`held`): the job's stage is
        :data:`STORED_STAGE` from its commit on, so a cancel asked after it is refused as for a finished job
        (:meth:`request_cancel`): the result is in place, and the job can only end Succeeded."""
        await conn.execute(update(jobs).where(jobs.c.id == job_id).values(stage=STORED_STAGE))

    async def begin_storing(self, job_id: str, owner: str, *, attempt: int | None = None) -> str:
        """Before a job stores a result that is not written in one transaction with this check (a preview's or an
        export's files): :meth:`held`, and when it holds, :meth:`storing`, in one transaction. A cancel asked before
        it stops the job (the :class:`HeartbeatAnswer` says so); one asked after it is refused (409)."""

        async def body(conn: AsyncConnection, events: list[Event]) -> str:
            answer = await self.held(conn, job_id, owner, attempt=attempt)
            if answer == HeartbeatAnswer.OK:
                await self.storing(conn, job_id)
            return answer

        return await self._write(body)

    async def progress(
        self, job_id: str, owner: str, stage: str, percent: float, *, attempt: int | None = None
    ) -> BuildJob | None:
        """Record progress of ``owner``'s Running job (a ``job.progress`` event). None if the job (its attempt
        ``attempt``) is not ours."""

        async def body(conn: AsyncConnection, events: list[Event]) -> BuildJob | None:
            job = await self._locked(conn, job_id)
            if not _holds(job, owner, attempt):
                return None
            values = dict(stage=stage, progress=max(0.0, min(100.0, percent)))
            return await self._set(conn, events, job, values, "job.progress")

        return await self._write(body)

    async def finish(
        self,
        job_id: str,
        owner: str,
        status: JobStatus,
        *,
        error: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        retry_in_s: float | None = None,
        built: dict[str, Any] | None = None,
        attempt: int | None = None,
    ) -> BuildJob | None:
        """End ``owner``'s attempt: Succeeded / Failed / Canceled, or Queued again after ``retry_in_s`` — Canceled
        instead when a cancel was asked meanwhile (no claim takes a job flagged canceled).

        ``built`` (the version record) adds a ``scene.built`` event. None if the job (its attempt ``attempt``)
        was not ``owner``'s.
        """

        async def body(conn: AsyncConnection, events: list[Event]) -> BuildJob | None:
            job = await self._locked(conn, job_id)
            if not _holds(job, owner, attempt):
                return None
            now = self.clock()
            target = JobStatus.CANCELED if status is JobStatus.QUEUED and job.cancel_requested else status
            values: dict[str, Any] = dict(status=target, lease_owner=None, lease_expires_at=None)
            if target is not status:
                values["stage"] = "canceled"
            elif error is not None:
                values["error"] = error
            if target is JobStatus.QUEUED:
                values |= dict(next_attempt_at=now + timedelta(seconds=retry_in_s or 0.0), stage="retry", progress=0.0)
            else:
                values["completed_at"] = now
            if target is JobStatus.SUCCEEDED:
                values |= dict(result=result, progress=100.0, stage="done", error=None)
            fresh = await self._set(conn, events, job, values, "job.status")
            if built is not None:
                body_ = {"job": fresh.as_dict(), "version": built}
                events.append(await self.log.append(conn, "scene.built", fresh.scene_id, body_))
            return fresh

        return await self._write(body)

    async def request_cancel(self, job_id: str) -> BuildJob:
        """Cancel a job: a Queued one at once; a Running one is flagged and stopped by its worker.

        Raises :class:`NotFound`, or :class:`JobError` when the job has already finished.
        """

        async def body(conn: AsyncConnection, events: list[Event]) -> BuildJob:
            job = await self._locked(conn, job_id)
            if job.status in FINISHED:
                raise JobError(f"job {job_id!r} has already finished ({job.status.value})")
            if job.status is JobStatus.RUNNING and job.stage == STORED_STAGE:  # its version is in place already
                raise JobError(f"job {job_id!r} has already stored its result and is finishing (Succeeded)")
            if job.status is JobStatus.QUEUED:
                values = dict(status=JobStatus.CANCELED, canceled=True, completed_at=self.clock(), stage="canceled")
                return await self._set(conn, events, job, values, "job.status")
            return await self._set(conn, events, job, dict(canceled=True), None)

        return await self._write(body)

    async def reclaim_expired(self, retry_in_s: float = 0.0) -> list[BuildJob]:
        """Running jobs whose lease ran out (their worker died): back to Queued, or Canceled / Failed when due.
        Queued jobs flagged canceled (left so by an earlier version, which no claim takes): Canceled."""
        done = await self._cancel_flagged_queued()
        async with self.engine.connect() as conn:
            expired = (
                (
                    await conn.execute(
                        select(jobs.c.id).where(
                            jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_expires_at < self.clock()
                        )
                    )
                )
                .scalars()
                .all()
            )
        for job_id in expired:

            async def body(conn: AsyncConnection, events: list[Event], job_id: str = job_id) -> BuildJob | None:
                job = await self._locked(conn, job_id)
                row = (await conn.execute(select(jobs.c.lease_expires_at).where(jobs.c.id == job_id))).scalar()
                now = self.clock()
                if job.status is not JobStatus.RUNNING or row is None or as_utc(row) >= now:
                    return None
                values: dict[str, Any] = dict(lease_owner=None, lease_expires_at=None)
                lost = {
                    "message": f"the worker stopped renewing its lease (attempt {job.attempt})",
                    "issues": [],
                    "kind": "lost",
                }
                if job.cancel_requested:
                    values |= dict(status=JobStatus.CANCELED, completed_at=now, stage="canceled")
                elif job.attempt >= job.max_attempts:
                    values |= dict(status=JobStatus.FAILED, completed_at=now, error=lost)
                else:
                    values |= dict(status=JobStatus.QUEUED, error=lost, stage="retry", progress=0.0)
                    values["next_attempt_at"] = now + timedelta(seconds=retry_in_s)
                return await self._set(conn, events, job, values, "job.status")

            fresh = await self._write(body)
            if fresh is not None:
                done.append(fresh)
        return done

    async def _cancel_flagged_queued(self) -> list[BuildJob]:
        query = select(jobs.c.id).where(jobs.c.status == JobStatus.QUEUED.value, jobs.c.canceled.is_(True))
        async with self.engine.connect() as conn:
            flagged = list((await conn.execute(query)).scalars())
        done: list[BuildJob] = []
        for job_id in flagged:

            async def body(conn: AsyncConnection, events: list[Event], job_id: str = job_id) -> BuildJob | None:
                job = await self._locked(conn, job_id)
                if job.status is not JobStatus.QUEUED or not job.cancel_requested:
                    return None
                values = dict(status=JobStatus.CANCELED, completed_at=self.clock(), stage="canceled")
                return await self._set(conn, events, job, values, "job.status")

            fresh = await self._write(body)
            if fresh is not None:
                done.append(fresh)
        return done

    async def due_queued(self, type: str | None = None) -> int:
        """How many Queued jobs (of ``type``) are due now (used to wake Celery workers whose messages were lost)."""
        now = self.clock()
        query = select(func.count()).where(
            jobs.c.status == JobStatus.QUEUED.value,
            or_(jobs.c.next_attempt_at.is_(None), jobs.c.next_attempt_at <= now),
        )
        if type is not None:
            query = query.where(jobs.c.type == type)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def prune(self, *, keep: int, max_age: timedelta) -> int:
        """Delete finished jobs beyond the newest ``keep`` or older than ``max_age``. Returns the count."""
        ended = jobs.c.status.in_([s.value for s in FINISHED])

        async def body(conn: AsyncConnection) -> int:
            cutoff = self.clock() - max_age
            old = await conn.execute(delete(jobs).where(ended, jobs.c.completed_at < cutoff))
            return int(old.rowcount or 0) + await _prune_beyond(conn, ended, keep)

        return await written(self.engine, body)

    async def prune_type(self, type: str, *, keep_completed: int, keep_failed: int) -> int:
        """Delete finished jobs of ``type`` beyond the newest ``keep_completed`` Succeeded and the newest
        ``keep_failed`` Failed or Canceled (as BullMQ's removeOnComplete / removeOnFail). Returns the count."""
        groups = ((keep_completed, [JobStatus.SUCCEEDED.value]), (keep_failed, [JobStatus.FAILED.value,
                  JobStatus.CANCELED.value]))  # fmt: skip

        async def body(conn: AsyncConnection) -> int:
            removed = 0
            for keep, statuses in groups:
                removed += await _prune_beyond(conn, and_(jobs.c.type == type, jobs.c.status.in_(statuses)), keep)
            return removed

        return await written(self.engine, body)
