"""Job types: what each kind of job runs, on which queue, with which settings (docs/jobs.md).

=========  ============================================  =============================  ==================
type       work (in a worker process)                    input blob                     settings
=========  ============================================  =============================  ==================
build      :func:`~.build.compile_build`                 the description (or GLB)       ``jobs.*``
preview    :func:`~.artifacts.make_previews`             the version's GLB              ``preview.*``
export     :func:`~.artifacts.make_export`               the version's GLB              ``export.*``
assist     (the assist service, in the server's loop)    —                              ``llm.*``
=========  ============================================  =============================  ==================

Every type has its own queue: the embedded pool runs ``concurrency`` claim loops per type, each
claiming only its type's jobs; Celery routes each type's wake-ups to a queue named after it, so
``sceneforge worker --queues preview`` never takes a build. States and their transitions are
the same for every type (:mod:`.states`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import Limits
from ..settings import JobTypeSettings, Settings
from .artifacts import make_export, make_previews
from .build import compile_build

__all__ = ["OUTPUT_TYPES", "PROCESS_TYPES", "TYPES", "JobType", "lanes", "type_settings"]


@dataclass(frozen=True, slots=True)
class JobType:
    name: str
    #: ``(input bytes, options, limits, progress) -> output``, run in a worker process; None for in-process types.
    work: Callable[[bytes, dict[str, Any], Limits, Callable[[str, float], None]], Any] | None
    description: str


TYPES: dict[str, JobType] = {
    t.name: t
    for t in (
        JobType("build", compile_build, "compile a description into a new version (docs/scene-format.md)"),
        JobType("preview", make_previews, "floor plan (SVG, PNG) and 3D thumbnail of a version"),
        JobType("export", make_export, "USDZ or OBJ of a version"),
        JobType("assist", None, "a language model's assisted edit of a draft (docs/assist.md)"),
    )
}
#: The types whose work runs in worker processes (the embedded pool and Celery workers run these).
PROCESS_TYPES = tuple(name for name, t in TYPES.items() if t.work is not None)
#: The types made from a built version (their input is its GLB; their output, its artifacts).
OUTPUT_TYPES = ("preview", "export")


def type_settings(settings: Settings, name: str) -> JobTypeSettings:
    """The queue settings of job type ``name`` (``build`` maps the ``jobs`` section onto the same fields)."""
    if name == "preview":
        return settings.preview
    if name == "export":
        return settings.export
    jobs = settings.jobs
    return JobTypeSettings(
        concurrency=jobs.workers,
        max_attempts=jobs.max_attempts,
        keep_completed=jobs.keep_jobs,
        keep_failed=jobs.keep_jobs,
        timeout_s=jobs.timeout_s or 3600.0,
    )


def lanes(settings: Settings, types: tuple[str, ...] = PROCESS_TYPES) -> dict[str, int]:
    """How many jobs of each type run at once here."""
    return {name: type_settings(settings, name).concurrency for name in types}
