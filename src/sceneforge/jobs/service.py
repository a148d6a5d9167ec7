"""The job queue as the API sees it: enqueue, look up, cancel — and the machinery behind it.

:class:`JobService` owns the event log, the hub (live fan-out), the job store, and either the
embedded worker pool or a Celery client, all configured from the one
:class:`~sceneforge.settings.Settings` it is given (enqueue checks and builds use its limits).
The app makes one, ``await start()`` in its lifespan, ``await close()`` at shutdown, and keeps
it at ``app.state.jobs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ..aio import all_finished, wait_event
from ..config import Limits
from ..errors import NotFound, SceneInvalid
from ..events.bus import EventBus
from ..events.hub import EventHub
from ..events.model import Event
from ..jsontext import without_bom
from ..settings import Settings
from ..storage.assist import AssistRepository, Turn
from ..storage.blobs import BlobStore
from ..storage.scenes import SceneRepository
from .assist import AssistWork, draft_validator, queue_assist
from .build import BuildFn, compile_build
from .drafts import draft_repository
from .outputs import queue_output
from .pool import WorkerPool
from .retention import Sweeper
from .runner import make_runner
from .states import FINISHED, BuildJob, JobStatus
from .store import JobStore
from .types import OUTPUT_TYPES, QUEUED_TYPES, lanes, type_settings

__all__ = ["JobService", "check_description"]

log = logging.getLogger(__name__)

_ENDED = {status.value for status in FINISHED}


def check_description(data: bytes, limits: Limits) -> str:
    """The cheap checks of enqueue (parse + validate under ``limits``, no geometry); the scene id, or SceneInvalid.

    A tagged GLB (recognised by its magic) is only parsed for its scene id; the build checks the rest. ``data`` is a
    request's body: a fault of its JSON text is a :class:`~sceneforge.errors.RequestInvalid`
    (:func:`~sceneforge.ingest.description.parse_description`'s ``body``).
    """
    from .. import validate
    from ..glb_magic import is_glb
    from ..ingest.description import parse_description
    from ..ingest.tagged_glb import glb_scene_id

    if is_glb(data):
        return glb_scene_id(data, limits)
    description = parse_description(data, limits, body=True)
    errors = [i for i in validate.validate_description(description, limits) if i.severity == "error"]
    if errors:
        raise SceneInvalid(errors)
    return str(description.scene_id)


class JobService:
    def __init__(
        self,
        engine: AsyncEngine,
        blobs: BlobStore,
        settings: Settings,
        scenes: SceneRepository | None = None,
        *,
        bus: EventBus | None = None,
        build: BuildFn = compile_build,
        run_workers: bool = True,
    ) -> None:
        """``run_workers=False`` makes an instance that only enqueues and streams (no builds here)."""
        self.settings, self.limits = settings, settings.limits
        jobs = settings.jobs
        self.engine, self.blobs = engine, blobs
        self.scenes = scenes or SceneRepository(engine, blobs)
        self.hub = EventHub.open(engine, settings.events, bus)
        self.log = self.hub.log
        self.store = JobStore(engine, self.log, self.hub.publish)
        #: Drafts and revisions; each revision's ``draft.revised`` event goes through this hub.
        self.drafts = draft_repository(self.store, blobs)
        self.pool: WorkerPool | None = None
        #: Queue settings of the job types made from versions (preview, export).
        self.output_types = {kind: type_settings(settings, kind) for kind in OUTPUT_TYPES}
        #: Queue settings of every type but build (whose settings are ``jobs.*``).
        self.queued_types = {kind: type_settings(settings, kind) for kind in QUEUED_TYPES}
        #: Assisted-edit conversations; ``assist`` jobs answer their messages.
        self.assist_repo = AssistRepository(engine)
        #: Runs the ``assist`` jobs this process's pool claims (None without a pool here).
        self.assist: AssistWork | None = None
        on_due = None
        #: Sends Celery wake-ups (None unless the Celery executor is configured: Celery loads only then).
        self._send_wakeups: Callable[[int, str, str], None] | None = None
        if jobs.executor == "celery":
            from .celery_app import send_wakeups

            self._send_wakeups = send_wakeups
            on_due = self._wake_celery
        elif run_workers:
            self.assist = AssistWork(self.assist_repo, self.drafts, settings, draft_validator(self.limits, blobs))
            runner = make_runner(settings, self.store, self.scenes, blobs, "embedded", build=build, assist=self.assist)
            self.pool = WorkerPool(self.store, runner, lanes(settings), poll_s=jobs.poll_s)
        self.sweeper = Sweeper(
            self.store,
            self.log,
            jobs,
            keep_events=settings.events.keep_events_age,
            on_due=on_due,
            drafts=self.drafts,
            keep_revisions=settings.storage.keep_revisions,
            types=self.queued_types,
            assist=self.assist_repo,
        )
        self._warming: asyncio.Task[None] | None = None
        #: Jobs someone awaits (:meth:`wait`): set when an event about the job arrives.
        self._waiters: dict[str, asyncio.Event] = {}
        self._assist_listeners: list[Callable[[str], None]] = []
        self.hub.on_event(self._wake_waiter)

    def _wake_waiter(self, event: Event) -> None:
        job = event.body.get("job") if isinstance(event.body, dict) else None
        if not isinstance(job, dict):
            return
        waiter = self._waiters.get(str(job.get("jobId")))
        if waiter is not None and (event.type == "scene.built" or job.get("status") in _ENDED):
            waiter.set()

    async def wait(self, job_id: str, *, queue_wait_s: float | None = None) -> BuildJob:
        """The job once finished (its ``scene.built`` event, if any, already handed to this process's listeners;
        for a job this process's pool ran, published to every instance).

        Wakes on the job's events and polls every ``poll_s`` besides. With ``queue_wait_s``, a job
        still Queued after that many seconds is returned as it is (the caller decides); so is a job still Running
        two sweeps after its lease ran out (:meth:`stalled`): neither its worker nor a sweeper could write.
        """
        waiter = self._waiters.setdefault(job_id, asyncio.Event())
        loop = asyncio.get_running_loop()
        queued_since: float | None = None
        try:
            while True:
                job = await self.store.get(job_id)
                # Looked up after the read: a job claimed and finished here during it is still listed
                # until its runner has queued what follows the build (its preview) and returned.
                running_here = self.pool.runner.active.get(job_id) if self.pool is not None else None
                if job.finished and running_here is not None:
                    # Built in this process: its runner returns once the end is published to every instance.
                    await wait_event(running_here, 10)
                    return job
                if job.finished and (job.status is not JobStatus.SUCCEEDED or waiter.is_set()):
                    return job
                now = loop.time()
                if job.status is JobStatus.QUEUED:
                    queued_since = now if queued_since is None else queued_since
                    if queue_wait_s is not None and now - queued_since >= queue_wait_s:
                        return job
                else:
                    queued_since = None
                if self.stalled(job):
                    return job
                await wait_event(waiter, self.settings.jobs.poll_s)
                if job.finished:  # Succeeded in the table; its events were given a poll period to arrive
                    return job
        finally:
            self._waiters.pop(job_id, None)

    def stalled(self, job: BuildJob) -> bool:
        """Whether ``job`` is Running two sweeps after its lease ran out: its worker could not record its end and no
        sweeper could take it back (the database refuses writes: full, read-only). It ends once writes work again."""
        if job.status is not JobStatus.RUNNING or job.lease_expires_utc is None:
            return False
        return datetime.now(UTC) - job.lease_expires_utc > timedelta(seconds=2 * self.settings.jobs.sweep_s)

    async def start(self) -> None:
        await self.hub.start()
        if self.pool is not None:
            self._warming = asyncio.create_task(self.pool.runner.executor.start(), name="job-executor-start")
            self.pool.start()
        self.sweeper.start()

    async def close(self) -> None:
        """Stop: running builds are killed (their jobs handed back to the queue), then the hub closes."""
        await self.sweeper.close()
        if self.pool is not None:
            self.pool.runner.closing()  # no new build starts while the executor finishes starting
            if self._warming is not None:
                with contextlib.suppress(BaseException):
                    await self._warming
            await self.pool.close()
            for executor in self.pool.runner.all_executors():
                await executor.close()
        if self.assist is not None:
            await self.assist.close()
        await all_finished()  # writes whose callers the close cancelled (a lease renewal, a claim) end first
        await self.hub.close()

    async def enqueue(
        self, data: bytes, *, priority: int = 0, options: dict[str, Any] | None = None, reuse: bool = True
    ) -> BuildJob:
        """Queue a build of description ``data``. SceneInvalid (nothing queued) if the cheap checks fail.

        When ``data`` equals the description of the scene's current version (and ``reuse``) the job completes at once.
        """
        scene_id = await asyncio.to_thread(check_description, data, self.limits)
        data = without_bom(data)  # stored as JSON text: with or without a BOM, one description, one blob
        key = await asyncio.to_thread(self.blobs.put, data)
        done = None
        latest = None
        if reuse:
            with contextlib.suppress(NotFound):
                latest = await self.scenes.latest(scene_id)
        if latest is not None and latest.description_key == key:
            done = {"eTag": latest.etag, "bytes": latest.bytes, "version": latest.n, "published": True}
            rev = (options or {}).get("rev")
            if rev is not None:  # a draft's build names the rev it built, as the runner's does
                done["rev"] = rev
            done["warnings"] = list(latest.meta.get("warnings", []))
        job = await self.store.create(
            uuid.uuid4().hex,
            scene_id,
            description_key=key,
            priority=priority,
            max_attempts=self.settings.jobs.max_attempts,
            options=options,
            done=done,
        )
        await asyncio.to_thread(self.blobs.ensure, key, data)  # a release may have raced the row (storage/gc.py)
        if done is None:
            await self._dispatch("build")
        return job

    async def _dispatch(self, kind: str) -> None:
        """Tell the workers a ``kind`` job was queued: this process's pool, or a Celery wake-up on its queue."""
        if self.pool is not None:
            self.pool.wake(kind)
        elif self._send_wakeups is not None:
            await self._wake_celery(1, kind)

    async def _wake_celery(self, n: int, kind: str = "build") -> None:
        """Send wake-ups; a broker that cannot take them (down, not answering within its timeout) is logged, not
        raised: the job is queued in the database, and the sweeper sends wake-ups while due jobs wait."""
        send = self._send_wakeups
        if send is None:  # not the Celery executor: no broker to tell
            return
        try:
            await asyncio.to_thread(send, n, self.settings.broker_url, kind)
        except Exception as exc:
            if isinstance(exc, ValueError):  # no broker configured: a setup error, not a fault
                raise
            log.warning("could not wake %s workers through the broker (%s); the sweeper tries again", kind, exc)

    async def enqueue_output(
        self, scene_id: str, n: int, glb_key: str, kind: str, options: dict[str, Any] | None = None
    ) -> BuildJob:
        """Queue a ``preview`` or ``export`` job of version ``n`` of ``scene_id`` (GLB blob ``glb_key``)."""
        job = await queue_output(self.store, self.output_types[kind], scene_id, n, glb_key, kind, options or {})
        await self._dispatch(kind)
        return job

    async def enqueue_assist(
        self, scene_id: str, text: str, *, author: str, session_id: str | None = None
    ) -> tuple[Turn, BuildJob]:
        """Record the user's message and queue the ``assist`` job answering it (docs/assist.md).

        NotFound when the scene has no draft or ``session_id`` is not one of its sessions.
        """
        await self.drafts.get(scene_id)
        turn, job = await queue_assist(
            self.store, self.assist_repo, self.settings, scene_id, text, author=author, session_id=session_id
        )
        await self._dispatch("assist")
        return turn, job

    def on_assist(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(message_id)`` whenever this process wrote events of an assistant message."""
        self._assist_listeners.append(listener)
        if self.assist is not None:
            self.assist.listeners.append(listener)

    async def get(self, job_id: str) -> BuildJob:
        return await self.store.get(job_id)

    async def recent(self, take: int = 50, *, public_only: bool = False, type: str | None = None) -> list[BuildJob]:
        return await self.store.recent(take, public_only=public_only, type=type)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    async def cancel(self, job_id: str) -> BuildJob:
        """Cancel (see :meth:`JobStore.request_cancel`); a build in this process's pool stops at once."""
        job = await self.store.request_cancel(job_id)
        if self.pool is not None and not job.finished:
            self.pool.cancel(job_id)
        if job.type == "assist" and job.status is JobStatus.CANCELED:  # canceled before a worker took it
            message_id = str((job.options or {}).get("messageId", ""))
            if await self.assist_repo.finish(message_id, "canceled", events=[("done", {"status": "canceled"})]):
                for listener in self._assist_listeners:
                    listener(message_id)
        return job
