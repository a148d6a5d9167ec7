"""The output jobs of a version (preview, export): queued after its build, run on executors of their own.

:func:`queue_output` inserts a job of an output type whose input is the version's GLB blob;
:func:`output_executors` gives each output type a worker-process executor held to the type's timeout
and the workers' memory cap.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..settings import JobTypeSettings, Settings
from .executor import Executor
from .states import BuildJob
from .store import JobStore

__all__ = ["OUTPUT_NICE", "output_executors", "queue_output"]

#: Niceness added to the output types' worker processes: a burst of builds queues a preview each, and a
#: preview takes several times a small build's CPU; builds, which someone waits for, go first.
OUTPUT_NICE = 10


async def queue_output(
    store: JobStore,
    cfg: JobTypeSettings,
    scene_id: str,
    n: int,
    glb_key: str,
    kind: str,
    options: dict[str, Any],
    *,
    priority: int | None = None,
) -> BuildJob:
    """Insert a ``kind`` job (preview, export) of version ``n``, whose input is its GLB blob ``glb_key``."""
    return await store.create(
        uuid.uuid4().hex,
        scene_id,
        description_key=glb_key,
        priority=cfg.priority if priority is None else priority,
        max_attempts=cfg.max_attempts,
        options={**options, "version": n},
        type=kind,
    )


def output_executors(settings: Settings, size: int | None = None) -> dict[str, Executor]:
    """A worker-process executor per output job type (``size`` processes each, default its concurrency),
    bounded by the type's timeout and the workers' memory cap, at :data:`OUTPUT_NICE`."""
    from .executor import ProcessExecutor
    from .types import OUTPUT_TYPES, TYPES, type_settings

    out: dict[str, Executor] = {}
    for kind in OUTPUT_TYPES:
        work, cfg = TYPES[kind].work, type_settings(settings, kind)
        assert work is not None
        out[kind] = ProcessExecutor(
            size or cfg.concurrency, settings.limits, work,
            timeout_s=cfg.timeout_s, memory_mb=settings.jobs.memory_mb, kind=kind, nice=OUTPUT_NICE,
        )  # fmt: skip
    return out
