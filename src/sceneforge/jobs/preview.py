"""The ``preview`` job type: floor plan (SVG, PNG) and rendered thumbnail of a built version.

Queued by every build that makes a new version; its input is the version's GLB, its output the
version's ``preview/*`` files (docs/jobs.md). Settings: ``Settings.preview``
(``SCENEFORGE_PREVIEW_*``). :func:`make_previews` has the shape of a build
(:data:`~.jobtype.Work`), so the worker-process executor runs it like one, cancel and timeout
included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Limits
from .jobtype import JobType

__all__ = ["CONTENT_TYPES", "JOB", "PREVIEWS", "make_previews"]

#: Media type of every preview file.
CONTENT_TYPES = {
    "preview/floorplan.svg": "image/svg+xml",
    "preview/floorplan.png": "image/png",
    "preview/thumbnail.png": "image/png",
}
#: The previews every successful build gets.
PREVIEWS = tuple(CONTENT_TYPES)


def make_previews(
    glb: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> dict[str, bytes]:
    """Floor plan (SVG, PNG) and the rendered thumbnail of a built GLB."""
    from ..ingest.built_glb import read_built_glb
    from ..preview import floorplan_png, floorplan_svg, prepare, thumbnail_png

    progress("read", 0.05)
    scene = prepare(read_built_glb(glb))
    progress("floorplan", 0.2)
    out = {"preview/floorplan.svg": floorplan_svg(scene)}
    progress("floorplan", 0.35)
    out["preview/floorplan.png"] = floorplan_png(scene)
    progress("thumbnail", 0.55)
    out["preview/thumbnail.png"] = thumbnail_png(scene)
    progress("done", 1.0)
    return out


JOB = JobType("preview", "floor plan (SVG, PNG) and 3D thumbnail of a version", make_previews, lambda s: s.preview)
