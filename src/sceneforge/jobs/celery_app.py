"""Scale-out builds on Celery workers (``SCENEFORGE_EXECUTOR=celery``, broker ``SCENEFORGE_BROKER_URL``).

Messages carry no job: each ``sceneforge.jobs.run_next`` task is a wake-up that claims the next
due job from the database (priority, then age — the database decides, not the broker) and runs
it with the same :class:`~.runner.JobRunner` as the embedded pool. API instances send one wake-up
per enqueue and, from their sweeper, more whenever due jobs wait unclaimed (a lost message, a
retry coming due, a reclaimed lease). Tasks are acked late and rejected when their worker is
lost, and the database lease covers the rest: a job whose worker was killed is reclaimed and
run again; publishing is idempotent by ETag, so it still makes one version.

Workers need the same ``SCENEFORGE_DATABASE_URL`` (PostgreSQL), blob store (``SCENEFORGE_BLOBS=s3``
and ``SCENEFORGE_S3_*``) and ``SCENEFORGE_REDIS_URL`` (events) as the API instances.
"""

from __future__ import annotations

import asyncio
import os
from functools import cache
from typing import Any

from celery import Celery

from .settings import JobSettings

__all__ = ["TASK", "make_celery", "run_worker", "send_wakeups"]

#: The one task name.
TASK = "sceneforge.jobs.run_next"
#: Most wake-ups one sweep sends.
MAX_WAKEUPS = 64


def make_celery(broker_url: str) -> Celery:
    app = Celery("sceneforge", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 300},
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK, ignore_result=True)(_run_next)
    return app


@cache
def _client(broker_url: str) -> Celery:
    return make_celery(broker_url)


def send_wakeups(n: int, settings: JobSettings) -> None:
    """Send ``n`` (at most :data:`MAX_WAKEUPS`) wake-up tasks. Blocking (call from a thread)."""
    if not settings.broker_url:
        raise ValueError("SCENEFORGE_EXECUTOR=celery needs SCENEFORGE_BROKER_URL")
    app = _client(settings.broker_url)
    for _ in range(min(n, MAX_WAKEUPS)):
        app.send_task(TASK)


class _WorkerContext:
    """Per worker process: one event loop, engine, blob store and runner, reused by every task.

    The build itself runs in a child process (a :class:`~.executor.ProcessExecutor` of one), so a
    cancel stops it within ``cancel_poll_s`` plus the executor's grace, however long a stage takes.
    """

    def __init__(self) -> None:
        from ..api.services import open_blob_store
        from ..api.settings import Settings
        from ..events.bus import MemoryBus
        from ..events.log import EventLog
        from ..storage import SceneRepository, create_engine, default_url
        from .executor import ProcessExecutor
        from .runner import JobRunner
        from .service import worker_name
        from .store import JobStore

        self.settings = JobSettings.from_env()
        service = Settings()
        self.loop = asyncio.new_event_loop()
        engine = create_engine(service.database_url or default_url(service.data_dir))
        blobs = open_blob_store(service)
        if self.settings.redis_url:
            from ..events.redis_bus import RedisBus

            bus: Any = RedisBus(self.settings.redis_url)
        else:
            bus = MemoryBus()
        log = EventLog(engine)
        self.store = JobStore(engine, log, bus.publish)
        owner = worker_name("celery")
        self.runner = JobRunner(
            self.store, SceneRepository(engine, blobs), blobs, ProcessExecutor(1), self.settings, owner
        )

    async def run_next(self) -> str | None:
        job = await self.store.claim(self.runner.owner, self.settings.lease_s)
        if job is None:
            return None
        done = await self.runner.run_one(job)
        return done.status.value if done is not None else "lost"


_context: _WorkerContext | None = None


def _run_next() -> str | None:
    global _context
    if _context is None:
        _context = _WorkerContext()
    return _context.loop.run_until_complete(_context.run_next())


def run_worker(argv: list[str] | None = None) -> None:
    """``sceneforge worker``: a Celery worker for builds, configured from the environment."""
    settings = JobSettings.from_env()
    if not settings.broker_url:
        raise SystemExit("sceneforge worker needs SCENEFORGE_BROKER_URL (redis://… or amqp://…)")
    app = make_celery(settings.broker_url)
    pool = os.environ.get("SCENEFORGE_WORKER_POOL", "prefork")
    args = ["worker", "--loglevel=INFO", f"--concurrency={settings.workers}", f"--pool={pool}", *(argv or [])]
    app.worker_main(args)
