"""Build jobs: states and transitions, the database queue with leases, worker pool, Celery workers, retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .build import BuildOutput, compile_build
    from .executor import Executor, ProcessExecutor, WorkerLost
    from .pool import WorkerPool
    from .retention import Sweeper
    from .runner import JobRunner
    from .service import JobService, check_description
    from .states import FINISHED, TRANSITIONS, BuildJob, JobStatus, backoff_s, check_transition, is_permanent
    from .store import HeartbeatAnswer, JobStore

#: Where each public name lives, loaded on first use: the fork server of the build workers imports :mod:`.build`
#: and runs this file first, and the service and the runner would bring the database and event libraries with it.
_LAZY = {
    "BuildOutput": "build",
    "compile_build": "build",
    "Executor": "executor",
    "ProcessExecutor": "executor",
    "WorkerLost": "executor",
    "WorkerPool": "pool",
    "Sweeper": "retention",
    "JobRunner": "runner",
    "JobService": "service",
    "check_description": "service",
    "FINISHED": "states",
    "TRANSITIONS": "states",
    "BuildJob": "states",
    "JobStatus": "states",
    "backoff_s": "states",
    "check_transition": "states",
    "is_permanent": "states",
    "HeartbeatAnswer": "store",
    "JobStore": "store",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "FINISHED",
    "TRANSITIONS",
    "BuildJob",
    "BuildOutput",
    "Executor",
    "HeartbeatAnswer",
    "JobRunner",
    "JobService",
    "JobStatus",
    "JobStore",
    "ProcessExecutor",
    "Sweeper",
    "WorkerLost",
    "WorkerPool",
    "backoff_s",
    "check_description",
    "check_transition",
    "compile_build",
    "is_permanent",
]
