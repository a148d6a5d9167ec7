"""The work of preview and export jobs: a built GLB in, named files out (run in worker processes).

``make_previews(glb, options, limits, progress)`` → ``{"preview/floorplan.svg": …,
"preview/floorplan.png": …, "preview/thumbnail.png": …}``; ``make_export(glb, {"format": "usdz" |
"obj"}, limits, progress)`` → ``{"exports/usdz": …}``. Both have the shape of a build
(:data:`~.build.BuildFn`), so the worker-process executor runs them like builds, cancel and
timeouts included. :data:`CONTENT_TYPES` gives each artifact's media type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Limits

__all__ = ["CONTENT_TYPES", "EXPORT_FORMATS", "PREVIEWS", "make_export", "make_previews"]

#: Media type of every artifact name.
CONTENT_TYPES = {
    "preview/floorplan.svg": "image/svg+xml",
    "preview/floorplan.png": "image/png",
    "preview/thumbnail.png": "image/png",
    "exports/usdz": "model/vnd.usdz+zip",
    "exports/obj": "application/zip",
}
#: The previews every successful build gets.
PREVIEWS = ("preview/floorplan.svg", "preview/floorplan.png", "preview/thumbnail.png")
#: Export formats and the file name extension a download gets.
EXPORT_FORMATS = {"usdz": "usdz", "obj": "zip"}


def make_previews(
    glb: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> dict[str, bytes]:
    """Floor plan (SVG, PNG) and the rendered thumbnail of a built GLB."""
    from ..ingest.built_glb import read_built_glb
    from ..preview import floorplan_png, floorplan_svg, thumbnail_png

    progress("read", 0.05)
    scene = read_built_glb(glb)
    progress("floorplan", 0.2)
    out = {"preview/floorplan.svg": floorplan_svg(scene)}
    progress("floorplan", 0.35)
    out["preview/floorplan.png"] = floorplan_png(scene)
    progress("thumbnail", 0.55)
    out["preview/thumbnail.png"] = thumbnail_png(scene)
    progress("done", 1.0)
    return out


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
    scene = read_built_glb(glb)
    progress(kind, 0.3)
    if kind == "usdz":
        from ..exports import to_usdz

        data = to_usdz(scene)
    else:
        from ..exports import to_obj_zip

        data = to_obj_zip(scene)
    progress("done", 1.0)
    return {f"exports/{kind}": data}
