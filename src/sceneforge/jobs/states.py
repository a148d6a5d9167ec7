"""Job states, the one table of allowed transitions, and the ``BuildJob`` record (docs/jobs.md).

Every change of a job's ``status`` anywhere in sceneforge goes through :func:`check_transition`;
the store calls it before it writes. A job moves::

    Queued ──claim──▶ Running ──▶ Succeeded | Failed | Canceled
      │  ▲               │
      │  └──retry/lease──┘        (a transient failure or a lost worker puts it back in the queue)
      ├──▶ Canceled               (canceled before a worker took it)
      └──▶ Succeeded              (the description equals the current version's: done at once)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from ..errors import JobError, PassError, SceneInvalid
from ..wire import iso_utc

__all__ = [
    "FINISHED",
    "TRANSITIONS",
    "BuildJob",
    "JobStatus",
    "backoff_s",
    "check_transition",
    "is_permanent",
]


class JobStatus(str, Enum):  # noqa: UP042 - the str mixin keeps json.dumps and == "Queued" working
    #: Accepted and waiting for a worker (new, or put back for a retry after ``next_attempt_at``).
    QUEUED = "Queued"
    #: A worker holds the job's lease and is building it.
    RUNNING = "Running"
    #: Built and published; ``result`` names the version.
    SUCCEEDED = "Succeeded"
    #: Invalid input (at once), or transient failures on every one of ``maxAttempts`` attempts.
    FAILED = "Failed"
    #: Canceled on request; any partial output was discarded.
    CANCELED = "Canceled"


#: status → the statuses it may move to. Anything else is a :class:`JobError`.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELED, JobStatus.SUCCEEDED}),
    JobStatus.RUNNING: frozenset({JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELED: frozenset(),
}

#: States a job never leaves.
FINISHED = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


def check_transition(current: JobStatus | str, target: JobStatus | str) -> JobStatus:
    """Return ``target`` as a :class:`JobStatus` if ``current → target`` is allowed; raise :class:`JobError`."""
    src, dst = JobStatus(current), JobStatus(target)
    if dst not in TRANSITIONS[src]:
        raise JobError(f"a {src.value} job cannot become {dst.value}")
    return dst


def is_permanent(exc: BaseException) -> bool:
    """Whether a build failure would recur on retry: invalid input (assets and limits included) or a pass error."""
    return isinstance(exc, SceneInvalid | PassError)


def backoff_s(attempt: int, base_s: float, cap_s: float = 300.0) -> float:
    """Delay before attempt ``attempt + 1`` after attempt ``attempt`` (1-based) failed: ``base · 2^(attempt-1)``."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True, slots=True)
class BuildJob:
    """One build job as stored; :meth:`as_dict` is its wire form (docs/jobs.md, camelCase)."""

    job_id: str
    scene_id: str
    status: JobStatus
    created_utc: datetime
    #: ``build``, ``preview``, ``export`` or ``assist`` (docs/jobs.md).
    type: str = "build"
    started_utc: datetime | None = None
    completed_utc: datetime | None = None
    #: ``{"message": …, "issues": [{path, code, message}, …]}`` of the last failure, or None.
    error: dict[str, Any] | None = None
    attempt: int = 0
    max_attempts: int = 3
    #: 0–100.
    progress: float = 0.0
    stage: str | None = None
    #: Higher runs first; equal priorities run oldest first.
    priority: int = 0
    #: ``{"eTag", "bytes", "version"}`` once Succeeded.
    result: dict[str, Any] | None = None
    description_key: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False
    lease_owner: str | None = None
    #: When the running attempt's lease ends unless its worker renews it (None unless Running).
    lease_expires_utc: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "type": self.type,
            "sceneId": self.scene_id,
            "status": self.status.value,
            "createdUtc": iso_utc(self.created_utc),
            "startedUtc": iso_utc(self.started_utc),
            "completedUtc": iso_utc(self.completed_utc),
            "error": self.error,
            "attempt": self.attempt,
            "maxAttempts": self.max_attempts,
            "progress": round(self.progress, 1),
            "stage": self.stage,
            "priority": self.priority,
            "result": self.result,
        }
