"""Job types: what each kind of job runs, on which queue, with which settings (docs/jobs.md).

One module per type declares it (``JOB``): :mod:`.build`, :mod:`.preview`, :mod:`.export`; the
in-process ``assist`` type is declared here (its module sits above the jobs layer).

=========  ============================================  =============================  ==================
type       work (in a worker process)                    input blob                     settings
=========  ============================================  =============================  ==================
build      :func:`~.build.compile_build`                 the description (or GLB)       ``jobs.*``
preview    :func:`~.preview.make_previews`               the version's GLB              ``preview.*``
export     :func:`~.export.make_export`                  the version's GLB              ``export.*``
assist     (the assist service, in the server's loop)    —                              ``llm.*``
=========  ============================================  =============================  ==================

Every type has its own queue: the embedded pool runs ``concurrency`` claim loops per type, each
claiming only its type's jobs; Celery routes each type's wake-ups to a queue named after it, so
``sceneforge worker --queues preview`` never takes a build. States and their transitions are
the same for every type (:mod:`.states`).
"""

from __future__ import annotations

from ..settings import JobTypeSettings, Settings
from . import build, export, preview
from .jobtype import JobType

__all__ = ["CONTENT_TYPES", "OUTPUT_TYPES", "PROCESS_TYPES", "TYPES", "JobType", "lanes", "type_settings"]

#: The in-process ``assist`` type (its module, :mod:`sceneforge.assist`, sits above jobs).
ASSIST = JobType(
    "assist",
    "a language model's assisted edit of a draft (docs/assist.md)",
    None,
    lambda s: JobTypeSettings(concurrency=1, max_attempts=1, timeout_s=s.llm.timeout_s),
)

TYPES: dict[str, JobType] = {t.name: t for t in (build.JOB, preview.JOB, export.JOB, ASSIST)}
#: The types whose work runs in worker processes (the embedded pool and Celery workers run these).
PROCESS_TYPES = tuple(name for name, t in TYPES.items() if t.work is not None)
#: The types made from a built version (their input is its GLB; their output, its files).
OUTPUT_TYPES = ("preview", "export")
#: Media type of every file the output types make.
CONTENT_TYPES = {**preview.CONTENT_TYPES, **export.CONTENT_TYPES}


def type_settings(settings: Settings, name: str) -> JobTypeSettings:
    """The queue settings of job type ``name``, as its module declares them."""
    return TYPES[name].settings(settings)


def lanes(settings: Settings) -> dict[str, int]:
    """How many jobs of each type that runs in worker processes run at once here."""
    return {name: type_settings(settings, name).concurrency for name in PROCESS_TYPES}
