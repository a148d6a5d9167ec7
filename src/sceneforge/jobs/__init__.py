"""Build jobs: states and transitions, the database queue with leases, worker pool, Celery workers, retention."""

from .build import BuildOutput, compile_build
from .executor import Executor, ProcessExecutor, WorkerLost
from .pool import WorkerPool
from .retention import Sweeper
from .runner import JobRunner
from .service import JobService, check_description
from .states import FINISHED, TRANSITIONS, BuildJob, JobStatus, backoff_s, check_transition, is_permanent
from .store import HeartbeatAnswer, JobStore

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
