"""Job queue and event settings, read from ``SCENEFORGE_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["JobSettings"]


def _num(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class JobSettings:
    """Every tunable of the queue, the workers and the event stream, with its environment variable."""

    #: ``SCENEFORGE_EXECUTOR``: ``embedded`` (worker processes of the server) or ``celery``.
    executor: str = "embedded"
    #: ``SCENEFORGE_WORKERS``: concurrent builds of the embedded pool / a Celery worker (default: CPU cores).
    workers: int = os.cpu_count() or 1
    #: ``SCENEFORGE_BROKER_URL``: the Celery broker (``redis://…`` or ``amqp://…``).
    broker_url: str | None = None
    #: ``SCENEFORGE_REDIS_URL``: Redis for pub/sub of events between instances (None: in-process bus).
    redis_url: str | None = None
    #: ``SCENEFORGE_JOB_LEASE_S``: a worker that has not renewed its lease for this long has died.
    lease_s: float = 15.0
    #: ``SCENEFORGE_JOB_POLL_S``: how often an idle embedded worker looks for work (also woken on enqueue).
    poll_s: float = 0.5
    #: ``SCENEFORGE_JOB_CANCEL_POLL_S``: how often a running build checks for a cancel request.
    cancel_poll_s: float = 0.2
    #: ``SCENEFORGE_JOB_MAX_ATTEMPTS``: attempts of a job hit by transient failures.
    max_attempts: int = 3
    #: ``SCENEFORGE_JOB_RETRY_BASE_S``: first retry delay; doubled after each failed attempt.
    retry_base_s: float = 2.0
    #: ``SCENEFORGE_JOB_PROGRESS_S``: least time between two progress updates of one job.
    progress_interval_s: float = 0.5
    #: ``SCENEFORGE_JOB_KEEP``: finished jobs kept (newest first).
    keep_jobs: int = 10_000
    #: ``SCENEFORGE_JOB_KEEP_DAYS``: finished jobs older than this are deleted.
    keep_jobs_age: timedelta = timedelta(days=7)
    #: ``SCENEFORGE_EVENT_KEEP_HOURS``: events kept for replay.
    keep_events_age: timedelta = timedelta(hours=24)
    #: ``SCENEFORGE_SSE_HEARTBEAT_S``: comment line on an idle SSE stream every this many seconds.
    sse_heartbeat_s: float = 15.0
    #: ``SCENEFORGE_SSE_QUEUE``: events a client may fall behind before it is dropped (it resumes).
    client_queue: int = 1000
    #: ``SCENEFORGE_JOB_SWEEP_S``: interval of lease reclaim, retention pruning, and Celery wake-ups.
    sweep_s: float = 5.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> JobSettings:
        e = dict(os.environ if env is None else env)
        d = cls()
        executor = e.get("SCENEFORGE_EXECUTOR", d.executor).strip().lower() or d.executor
        if executor not in {"embedded", "celery"}:
            raise ValueError(f"SCENEFORGE_EXECUTOR must be embedded or celery, got {executor!r}")
        return cls(
            executor=executor,
            workers=max(1, int(_num(e, "SCENEFORGE_WORKERS", d.workers))),
            broker_url=e.get("SCENEFORGE_BROKER_URL") or e.get("SCENEFORGE_REDIS_URL") or None,
            redis_url=e.get("SCENEFORGE_REDIS_URL") or None,
            lease_s=_num(e, "SCENEFORGE_JOB_LEASE_S", d.lease_s),
            poll_s=_num(e, "SCENEFORGE_JOB_POLL_S", d.poll_s),
            cancel_poll_s=_num(e, "SCENEFORGE_JOB_CANCEL_POLL_S", d.cancel_poll_s),
            max_attempts=max(1, int(_num(e, "SCENEFORGE_JOB_MAX_ATTEMPTS", d.max_attempts))),
            retry_base_s=_num(e, "SCENEFORGE_JOB_RETRY_BASE_S", d.retry_base_s),
            progress_interval_s=_num(e, "SCENEFORGE_JOB_PROGRESS_S", d.progress_interval_s),
            keep_jobs=int(_num(e, "SCENEFORGE_JOB_KEEP", d.keep_jobs)),
            keep_jobs_age=timedelta(days=_num(e, "SCENEFORGE_JOB_KEEP_DAYS", d.keep_jobs_age.days)),
            keep_events_age=timedelta(hours=_num(e, "SCENEFORGE_EVENT_KEEP_HOURS", 24)),
            sse_heartbeat_s=_num(e, "SCENEFORGE_SSE_HEARTBEAT_S", d.sse_heartbeat_s),
            client_queue=max(1, int(_num(e, "SCENEFORGE_SSE_QUEUE", d.client_queue))),
            sweep_s=_num(e, "SCENEFORGE_JOB_SWEEP_S", d.sweep_s),
        )
