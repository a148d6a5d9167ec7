"""Job types: what each kind of job runs, on which queue, with which settings (docs/jobs.md).

One module per type declares it (``JOB``): :mod:`.build`, :mod:`.preview`, :mod:`.export`,
:mod:`.assist`.

=========  ===============================================  =============================  ==================
type       work                                             input                          settings
=========  ===============================================  =============================  ==================
build      :func:`~.build.compile_build` (worker process)   the description (or GLB)       ``jobs.*``
preview    :func:`~.preview.make_previews` (worker process) the version's GLB              ``preview.*``
export     :func:`~.export.make_export` (worker process)    the version's GLB              ``export.*``
assist     :class:`~.assist.AssistWork` (event loop)        the message (``options``)      ``assist.*``, ``llm.*``
=========  ===============================================  =============================  ==================

Every type has its own queue: the embedded pool runs ``concurrency`` claim loops per type, each
claiming only its type's jobs; Celery routes each type's wake-ups to a queue named after it, so
``sceneforge worker --queues preview`` never takes a build. States and their transitions are
the same for every type (:mod:`.states`).
"""

from __future__ import annotations

from ..settings import JobTypeSettings, Settings
from . import assist, build, export, preview
from .jobtype import JobType

__all__ = [
    "CONTENT_TYPES",
    "OUTPUT_TYPES",
    "PROCESS_TYPES",
    "QUEUED_TYPES",
    "TYPES",
    "JobType",
    "lanes",
    "type_settings",
]

TYPES: dict[str, JobType] = {t.name: t for t in (build.JOB, preview.JOB, export.JOB, assist.JOB)}
#: The types whose work runs in worker processes.
PROCESS_TYPES = tuple(name for name, t in TYPES.items() if t.work is not None)
#: The types with queue settings of their own besides ``build`` (whose settings are ``jobs.*``).
QUEUED_TYPES = tuple(name for name in TYPES if name != "build")
#: The types made from a built version (their input is its GLB; their output, its files).
OUTPUT_TYPES = ("preview", "export")
#: Media type of every file the output types make.
CONTENT_TYPES = {**preview.CONTENT_TYPES, **export.CONTENT_TYPES}


def type_settings(settings: Settings, name: str) -> JobTypeSettings:
    """The queue settings of job type ``name``, as its module declares them."""
    return TYPES[name].settings(settings)


def lanes(settings: Settings) -> dict[str, int]:
    """How many jobs of each type run at once here (claim loops of the embedded pool)."""
    return {name: type_settings(settings, name).concurrency for name in TYPES}
