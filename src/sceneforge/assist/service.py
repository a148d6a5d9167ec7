"""Assist jobs in this process: start one, follow its stream, cancel it, and clean up after a crash.

:class:`AssistService` records the turn (:class:`~sceneforge.storage.assist.AssistRepository`),
creates a job row of type ``assist`` that this process holds from the start (``Running``, leased
to this process, one attempt — it never enters the build queue), and runs
:func:`~sceneforge.assist.runner.run_assist` as a task in the event loop: the work is I/O bound.
A watcher renews the lease every ``jobs.cancel_poll_s`` and cancels the task when the job's
cancel was requested (``POST /jobs/{id}/cancel``), so the model's stream stops and the message
ends ``canceled``. At start-up and whenever a stream finds its message silent,
:meth:`AssistRepository.fail_orphans` ends messages whose worker is gone with ``error``.

Streams read the store (so any instance can serve them, and a client resumes from any ``seq``)
and are woken by :meth:`notify` in this process, or poll every :data:`POLL_S` otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from ..events.model import Event
from ..settings import Settings
from ..storage.assist import ACTIVE, AssistEvent, AssistRepository, Turn
from ..storage.drafts import DraftRepository
from ..storage.tables import jobs
from .runner import AssistContext, AssistJob, make_client, model_name, run_assist

__all__ = ["POLL_S", "AssistService", "ModelNotConfigured"]

log = logging.getLogger(__name__)

#: How often a stream looks at the store when nothing woke it (another instance's message, a crash).
POLL_S = 0.5
#: A message this young is never taken for an orphan (its job row may not be written yet).
ORPHAN_GRACE_S = 10.0
_TERMINAL = {"done", "error"}


class ModelNotConfigured(Exception):
    """No model endpoint is configured (``SCENEFORGE_LLM_BASE_URL`` is empty)."""


class AssistService:
    def __init__(
        self,
        store: Any,
        drafts: DraftRepository,
        settings: Settings,
        validator: Callable[[str], Callable[[dict[str, Any]], Awaitable[None]]],
        *,
        client: Any = None,
        owner: str | None = None,
    ) -> None:
        """``store`` is the job service's :class:`~sceneforge.jobs.store.JobStore` (rows and ``job.status`` events)."""
        self.store, self.drafts, self.settings = store, drafts, settings
        self.repo = AssistRepository(store.engine)
        self.owner = owner or f"assist@{uuid.uuid4().hex[:12]}"
        self.validator, self.client = validator, client
        self._own_client = client is None
        self.tasks: dict[str, asyncio.Task[str]] = {}
        self.closing = False
        #: Jobs whose lease this process lost: their answers end as interrupted, not canceled.
        self._lost: set[str] = set()
        self._wakers: dict[str, set[asyncio.Event]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.settings.llm.base_url)

    async def start(self) -> list[str]:
        """Run at start-up: end messages left running by a process that died; returns their ids."""
        ended = await self.repo.fail_orphans()
        if ended:
            log.warning("assist: %d message(s) interrupted by a restart ended with an error", len(ended))
        return ended

    async def close(self) -> None:
        """Stop the running answers: each ends with ``error`` (interrupted), as after a crash."""
        self.closing = True
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.client is not None and self._own_client:
            await self.client.close()

    # -- starting and running --------------------------------------------------------------------

    async def ask(self, scene_id: str, text: str, *, author: str, session_id: str | None = None) -> tuple[Turn, str]:
        """Record the user's message and start answering it: ``(turn, job id)``."""
        if not self.configured:
            raise ModelNotConfigured("no language model is configured: set SCENEFORGE_LLM_BASE_URL (docs/assist.md)")
        await self.drafts.get(scene_id)  # NotFound when the scene has no draft
        job_id = uuid.uuid4().hex
        turn = await self.repo.start_turn(
            scene_id, session_id, author=author, text=text, model=model_name(self.settings.llm), job_id=job_id
        )
        await self._create_job(job_id, scene_id, turn)
        job = AssistJob(job_id, scene_id, turn.session_id, turn.message_id)
        task = asyncio.create_task(self._run(job), name=f"assist-{job_id}")
        self.tasks[job_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(job_id, None))
        return turn, job_id

    async def _create_job(self, job_id: str, scene_id: str, turn: Turn) -> None:
        """A job row of type ``assist``, Running and leased to this process from the start."""
        lease = timedelta(seconds=self.settings.jobs.lease_s)

        async def body(conn: Any, events: list[Event]) -> None:
            from ..jobs.store import _job

            now = self.store.clock()
            await conn.execute(
                insert(jobs).values(
                    id=job_id,
                    scene_id=scene_id,
                    type="assist",
                    status="Running",
                    created_at=now,
                    started_at=now,
                    attempt=1,
                    max_attempts=1,
                    progress=0.0,
                    stage="assist",
                    priority=0,
                    canceled=False,
                    options={"sessionId": turn.session_id, "messageId": turn.message_id},
                    lease_owner=self.owner,
                    lease_expires_at=now + lease,
                )
            )
            row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one()
            events.append(await self.store.log.append(conn, "job.status", scene_id, {"job": _job(row).as_dict()}))

        await self.store._write(body)

    def context(self, job_id: str = "") -> AssistContext:
        """What :func:`run_assist` needs; a stop is an interruption (``error``) at shutdown or once the job is lost."""
        if self.client is None:  # one client (one connection pool) for every answer of this process
            self.client = make_client(self.settings.llm)

        def stopping() -> bool:
            return self.closing or job_id in self._lost

        return AssistContext(
            self.repo, self.drafts, self.settings.llm, self.validator, self.notify, self.client, stopping
        )

    async def _run(self, job: AssistJob) -> str:
        from ..jobs.states import JobStatus

        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(job, task))
        status = "error"
        try:
            status = await run_assist(job, self.context(job.job_id))
        except asyncio.CancelledError:
            status = "canceled"
        except Exception as exc:
            log.exception("assist job %s failed", job.job_id)
            error = {"code": "internal", "message": f"the assist job failed: {type(exc).__name__}"}
            await self.repo.finish(job.message_id, "error", events=[("error", error)], error=error)
            self.notify(job.message_id)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self._lost.discard(job.job_id)
        final = {"done": JobStatus.SUCCEEDED, "canceled": JobStatus.CANCELED}.get(status, JobStatus.FAILED)
        failure: dict[str, Any] | None = None
        if final is JobStatus.FAILED:
            row = await self.repo.message(job.message_id)
            failure = {"message": (row.get("error") or {}).get("message", "the assist job failed"), "issues": []}
        result = {"messageId": job.message_id, "sessionId": job.session_id} if status == "done" else None
        with contextlib.suppress(Exception):
            await self.store.finish(job.job_id, self.owner, final, error=failure, result=result)
        return status

    async def _watch(self, job: AssistJob, task: asyncio.Task[Any]) -> None:
        from ..jobs.store import HeartbeatAnswer

        jobs_settings = self.settings.jobs
        while True:
            await asyncio.sleep(min(jobs_settings.cancel_poll_s, jobs_settings.lease_s / 3))
            try:
                answer = await self.store.heartbeat(job.job_id, self.owner, jobs_settings.lease_s)
            except Exception as exc:  # the database blinked: the lease holds until lease_s, try again
                log.warning("assist job %s: lease renewal failed (%s)", job.job_id, exc)
                continue
            if answer != HeartbeatAnswer.OK:
                if answer == HeartbeatAnswer.LOST:  # reclaimed (this process stalled past its lease): interrupted
                    self._lost.add(job.job_id)
                task.cancel()
                return

    # -- streams ------------------------------------------------------------------------------

    def notify(self, message_id: str) -> None:
        for waker in self._wakers.get(message_id, ()):
            waker.set()

    async def follow(self, message_id: str, since: int = 0) -> AsyncIterator[AssistEvent | None]:
        """The message's events after ``since``: stored ones first, then live ones, until the terminal event.

        ``None`` is yielded after every :data:`POLL_S` without news (the caller may send a heartbeat).
        """
        waker = asyncio.Event()
        self._wakers.setdefault(message_id, set()).add(waker)
        try:
            while True:
                waker.clear()
                batch = await self.repo.events(message_id, since)
                for event in batch:
                    since = event.seq
                    yield event
                    if event.type in _TERMINAL:
                        return
                if batch:
                    continue
                row = await self.repo.message(message_id)
                if row["status"] not in ACTIVE:
                    if not await self.repo.events(message_id, since):
                        return
                    continue
                if row["job_id"] not in self.tasks:
                    await self.repo.fail_orphans(grace_s=ORPHAN_GRACE_S)
                try:
                    await asyncio.wait_for(waker.wait(), POLL_S)
                except TimeoutError:
                    yield None
        finally:
            wakers = self._wakers.get(message_id)
            if wakers is not None:
                wakers.discard(waker)
                if not wakers:
                    self._wakers.pop(message_id, None)
