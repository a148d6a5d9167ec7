"""The ``export`` job type: a built version as USDZ (AR viewers, USD tools) or OBJ (a zip with its MTL).

Queued by ``POST /scenes/{id}/exports``; its input is the version's GLB, its output the version's
``exports/<format>`` file (docs/jobs.md). Settings: ``Settings.export`` (``SCENEFORGE_EXPORT_*``).
:func:`make_export` has the shape of a build (:data:`~.jobtype.Work`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Limits
from .jobtype import JobType

__all__ = ["CONTENT_TYPES", "EXPORT_FORMATS", "JOB", "make_export"]

#: Export formats and the file name extension a download gets.
EXPORT_FORMATS = {"usdz": "usdz", "obj": "zip"}
#: Media type of every export file.
CONTENT_TYPES = {"exports/usdz": "model/vnd.usdz+zip", "exports/obj": "application/zip"}


def make_export(
    glb: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> dict[str, bytes]:
    """The built GLB as ``options["format"]`` (``usdz`` or ``obj``)."""
    from ..errors import Issue, SceneInvalid
    from ..ingest.built_glb import read_built_glb

    kind = options.get("format")
    if kind not in EXPORT_FORMATS:
        raise SceneInvalid([Issue("/format", "format_unknown", f"unknown export format {kind!r}: usdz or obj")])
    progress("read", 0.1)
    scene = read_built_glb(glb, keep_instances=kind == "usdz")  # USD instances them; OBJ cannot
    progress(kind, 0.3)
    if kind == "usdz":
        from ..exports import to_usdz

        data = to_usdz(scene)
    else:
        from ..exports import to_obj_zip

        data = to_obj_zip(scene)
    progress("done", 1.0)
    return {f"exports/{kind}": data}


JOB = JobType("export", "USDZ or OBJ of a version", make_export, lambda s: s.export)
