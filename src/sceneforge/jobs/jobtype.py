"""What a job type module declares: :class:`JobType` (its name, its work, where its settings live).

Each job type is one module — :mod:`.build`, :mod:`.preview`, :mod:`.export` and :mod:`.assist` —
that ends with ``JOB = JobType(...)``; :mod:`.types` collects them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import Limits

if TYPE_CHECKING:  # annotations only: a build worker's fork server imports this and needs no settings
    from ..settings import JobTypeSettings, Settings

__all__ = ["JobType", "Work"]

#: ``(input bytes, options, limits, progress) -> output``, run in a worker process.
Work = Callable[[bytes, dict[str, Any], Limits, Callable[[str, float], None]], Any]


@dataclass(frozen=True, slots=True)
class JobType:
    name: str
    description: str
    #: The work, run in a worker process; None for a type run in the claiming process's event loop (assist).
    work: Work | None
    #: The type's queue settings (concurrency, attempts, timeout, retention, priority).
    settings: Callable[[Settings], JobTypeSettings]
