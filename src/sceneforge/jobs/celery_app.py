"""Scale-out jobs on Celery workers (``SCENEFORGE_EXECUTOR=celery``, broker ``SCENEFORGE_BROKER_URL``).

Messages carry no job: each ``sceneforge.jobs.run_next`` task is a wake-up, sent to the queue named
after a job type (``build``, ``preview``, ``export``, ``assist``), that claims the next due job of that type
from the database (priority, then age — the database decides, not the broker) and runs
it with the same :class:`~.runner.JobRunner` as the embedded pool. API instances send one wake-up
per enqueue and, from their sweeper, more whenever due jobs wait unclaimed (a lost message, a
retry coming due, a reclaimed lease). Tasks are acked late and rejected when their worker is
lost, and the database lease covers the rest: a job whose worker was killed is reclaimed and
run again; publishing is idempotent by ETag, so it still makes one version.

A worker runs with the :class:`~sceneforge.settings.Settings` given to :func:`run_worker`
(limits, storage, events): start it with the same ``SCENEFORGE_*`` configuration as the API
instances — PostgreSQL, an S3 blob store and Redis when several machines share the work; a
worker of the ``assist`` queue also needs the ``SCENEFORGE_LLM_*`` settings (it calls the model;
the answer's events go to the database, where the API's streams read them).
"""

from __future__ import annotations

import asyncio
from functools import cache

from celery import Celery

from ..aio import all_finished
from ..settings import Settings

__all__ = ["TASK", "WorkerContext", "make_celery", "run_worker", "send_wakeups"]

#: The one task name.
TASK = "sceneforge.jobs.run_next"
#: Most wake-ups one sweep sends.
MAX_WAKEUPS = 64
#: Seconds one wake-up may wait for the broker (to connect, for each answer): one try, no retries. A wake-up
#: that does not go out is sent again by the sweeper; without the bound a stopped Redis held the enqueue forever.
WAKEUP_TIMEOUT_S = 2.0


def _configured(broker_url: str, *, sender: bool = False) -> Celery:
    """The Celery app of a worker, or with ``sender`` of an API instance that only sends wake-ups."""
    app = Celery("sceneforge", broker=broker_url)
    transport: dict[str, object] = {"visibility_timeout": 300}
    if sender:
        transport |= {"socket_timeout": WAKEUP_TIMEOUT_S, "socket_connect_timeout": WAKEUP_TIMEOUT_S, "max_retries": 0}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport,
        worker_hijack_root_logger=False,
    )
    if sender:
        app.conf.update(task_publish_retry=False, broker_connection_timeout=WAKEUP_TIMEOUT_S)
    return app


def make_celery(settings: Settings) -> Celery:
    """The worker's Celery app: its one task runs jobs under ``settings`` (in every pool process)."""
    if not settings.broker_url:
        raise ValueError("Celery workers need SCENEFORGE_BROKER_URL or SCENEFORGE_REDIS_URL (redis://… or amqp://…)")
    app = _configured(settings.broker_url)
    context: list[WorkerContext] = []

    def run_next(kind: str = "build") -> str | None:
        if not context:
            context.append(WorkerContext(settings))
        return context[0].run_next(kind)

    app.task(name=TASK, ignore_result=True)(run_next)
    return app


@cache
def _client(broker_url: str) -> Celery:
    return _configured(broker_url, sender=True)


def send_wakeups(n: int, broker_url: str, kind: str = "build") -> None:
    """Send ``n`` (at most :data:`MAX_WAKEUPS`) wake-up tasks for jobs of type ``kind``, on the queue
    named after it (workers started with ``--queues`` take only theirs). Blocking (call from a thread)."""
    if not broker_url:
        raise ValueError("SCENEFORGE_EXECUTOR=celery needs SCENEFORGE_BROKER_URL or SCENEFORGE_REDIS_URL")
    app = _client(broker_url)
    for _ in range(min(n, MAX_WAKEUPS)):
        app.send_task(TASK, args=[kind], queue=kind)


class WorkerContext:
    """Per worker process: one event loop, engine, blob store and runner, reused by every task.

    The build itself runs in a child process (a :class:`~.executor.ProcessExecutor` of one, held
    to ``settings.limits``), so a cancel stops it within ``cancel_poll_s`` plus the executor's
    grace, however long a stage takes.
    """

    def __init__(self, settings: Settings) -> None:
        from ..events.hub import open_bus
        from ..events.log import EventLog
        from ..storage import SceneRepository, create_engine, database_url, open_blob_store
        from ..storage.assist import AssistRepository
        from .assist import AssistWork, draft_validator
        from .drafts import draft_repository
        from .runner import make_runner
        from .store import JobStore

        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(database_url(settings.storage), timeout_s=settings.storage.database_timeout_s)
        blobs = open_blob_store(settings.storage)
        self.bus = open_bus(settings.events, database_url(settings.storage))
        self.store = JobStore(self.engine, EventLog(self.engine), self.bus.publish)
        drafts = draft_repository(self.store, blobs)
        self.assist = AssistWork(
            AssistRepository(self.engine), drafts, settings, draft_validator(settings.limits, blobs)
        )
        scenes = SceneRepository(self.engine, blobs)
        self.runner = make_runner(settings, self.store, scenes, blobs, "celery", size=1, assist=self.assist)

    def run_next(self, kind: str = "build") -> str | None:
        """Claim and run the next due job (the task's body); its final status, None if none was due. Blocking."""
        return self.loop.run_until_complete(self._run_next(kind))

    async def _run_next(self, kind: str) -> str | None:
        job = await self.store.claim(self.runner.owner, self.settings.jobs.lease_s, types=(kind,))
        if job is None:
            return None
        done = await self.runner.run_one(job)
        return done.status.value if done is not None else "lost"

    def close(self) -> None:
        """Stop the build process and release connections and the loop."""

        async def close() -> None:
            for executor in self.runner.all_executors():
                await executor.close()
            await self.assist.close()
            await self.bus.close()
            await all_finished()
            await self.engine.dispose()

        self.loop.run_until_complete(close())
        self.loop.close()


def run_worker(settings: Settings, argv: list[str] | None = None, queues: list[str] | None = None) -> None:
    """``sceneforge worker``: a Celery worker for the jobs of ``queues`` (job types; default: every type)
    under ``settings``."""
    if not settings.broker_url:
        raise SystemExit(
            "sceneforge worker needs SCENEFORGE_BROKER_URL or SCENEFORGE_REDIS_URL (redis://… or amqp://…)"
        )
    app = make_celery(settings)
    jobs = settings.jobs
    from .types import TYPES

    chosen = queues or list(TYPES)
    unknown = sorted(set(chosen) - set(TYPES))
    if unknown:
        raise SystemExit(f"unknown job queue(s) {', '.join(unknown)}: choose from {', '.join(TYPES)}")
    args = ["worker", "--loglevel=INFO", f"--concurrency={jobs.workers}", f"--pool={jobs.worker_pool}",
            f"--queues={','.join(chosen)}", *(argv or [])]  # fmt: skip
    app.worker_main(args)
