"""Preview images of a built scene: the 3D thumbnail (PNG) and the floor plan (SVG and PNG).

* ``thumbnail_png(scene)`` — a 512×512 perspective render: the top storey seen from above at
  50°, walls cut at :data:`~sceneforge.preview.views.CUT_HEIGHT` over its floor, lit by a key
  light and a sky fill, with depth outlines. Rendered at 1.5× the size and filtered down
  (Lanczos) for anti-aliasing.
* ``floorplan_svg(scene)`` — per storey: each cell's floor as a filled shape (``<g
  data-cell-id>``), the walls where the cut plane meets them, every doorway (a portal crossing
  the cut) as a coloured bar, horizontal portals (slab openings) as dashed outlines, and the
  cell names.
* ``floorplan_png(scene)`` — the same plan rasterized top-down (orthographic) with the labels.

Inputs are :class:`~sceneforge.ingest.built_glb.BuiltScene` values, or one
:class:`~sceneforge.preview.views.Prepared` scene shared by all three; outputs are bytes. The
geometry work is numpy over all triangles at once (plane sections, projections); loops run per
storey and per cell label only.
"""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import numpy.typing as npt

from ..ingest.built_glb import BuiltScene
from ..textrows import format_rows
from .raster import orthographic, rasterize
from .views import Prepared, Storey, bounds, prepare, thumbnail_camera

__all__ = ["floorplan_png", "floorplan_svg", "thumbnail_png"]

F64 = npt.NDArray[np.float64]

THUMBNAIL_SIZE = 512
#: Plan scale bounds: pixels (SVG user units) per metre.
_PLAN_PX_PER_M = 24.0
_PLAN_MARGIN = 24.0
_PLAN_MAX_PNG = 1024
#: Thumbnails are rendered at this many half-sizes (3: 1.5× the output) and filtered down (anti-aliasing).
SUPERSAMPLE = 3


#: Characters XML 1.0 cannot hold, not even as character references: C0 controls but tab, LF and CR,
#: surrogates, U+FFFE and U+FFFF. Ids refuse the controls, but the noncharacters U+FFFE and U+FFFF are
#: "printable" ids; in the SVG they are written as U+FFFD (the replacement character), so it stays XML.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(name: str) -> str:
    """``name`` as XML character data: markup escaped, characters XML cannot hold replaced (U+FFFD)."""
    return escape(_NOT_XML.sub("\ufffd", name))


def _xml_attr(name: str) -> str:
    """``name`` as a quoted XML attribute value (quotes, markup, tabs and line breaks escaped), as :func:`_xml_text`."""
    return quoteattr(_NOT_XML.sub("\ufffd", name))


def _prepared(scene: BuiltScene | Prepared) -> Prepared:
    return scene if isinstance(scene, Prepared) else prepare(scene)


def _png(rgb: npt.NDArray[np.uint8]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def thumbnail_png(scene: BuiltScene | Prepared, size: int = THUMBNAIL_SIZE) -> bytes:
    """A ``size``×``size`` PNG: a perspective render of the scene (see the module docstring)."""
    p = _prepared(scene)
    camera, cut_y = thumbnail_camera(p.scene, p.storeys)
    tris, cols = p.cell_triangles(p.scene.cells)
    from PIL import Image

    big = rasterize(tris, cols, camera, SUPERSAMPLE * size // 2, SUPERSAMPLE * size // 2, cut_y=cut_y)
    small = Image.fromarray(big, "RGB").resize((size, size), Image.Resampling.LANCZOS)
    return _png(np.asarray(small))


# -- floor plan -------------------------------------------------------------------------------


def _section(tris: F64, y: float) -> F64:
    """(S, 2, 2) xz segments where the plane ``y`` cuts the triangles (T, 3, 3)."""
    d = tris[:, :, 1] - y
    d = np.where(d == 0.0, 1e-9, d)  # a vertex on the plane counts as just above it
    a, b = d, np.roll(d, -1, axis=1)
    crosses = (a * b) < 0
    hit = crosses.sum(axis=1) == 2
    if not hit.any():
        return np.zeros((0, 2, 2))
    t3, a, b, crosses = tris[hit], a[hit], b[hit], crosses[hit]
    p, q = t3, np.roll(t3, -1, axis=1)
    s = (a / np.where(crosses, a - b, 1.0))[:, :, None]
    points = (p + (q - p) * s)[:, :, [0, 2]]  # (n, 3 edges, 2)
    order = np.argsort(~crosses, axis=1, kind="stable")[:, :2]
    return np.take_along_axis(points, order[:, :, None], axis=1)


def _fmt(values: F64, template: str) -> str:
    return format_rows(template, np.round(values, 2))


def _floor_triangles(tris: F64, floor_y: float, cut_y: float) -> npt.NDArray[np.bool_]:
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    up = n[:, 1] > 0.7 * np.linalg.norm(n, axis=1)
    y = tris[:, :, 1].mean(axis=1)
    keep: npt.NDArray[np.bool_] = up & (y >= floor_y - 0.5) & (y < cut_y)
    return keep


def _storey_svg(p: Prepared, storey: Storey, offset: F64, scale: float) -> tuple[str, float]:
    """One storey's panel, its top-left corner at ``offset`` (SVG units); returns it and its width."""
    lo, hi = bounds(storey.cells)
    parts = [f'<g class="storey" data-floor-y="{storey.floor_y:.2f}">']

    def xy(points: F64) -> F64:
        out = np.empty_like(points)
        out[..., 0] = (points[..., 0] - lo[0]) * scale + offset[0]
        out[..., 1] = (points[..., 1] - lo[2]) * scale + offset[1]
        return out

    labels = []
    for cell in storey.cells:
        tris, cols = p.triangles[cell.cell_id]
        floor = _floor_triangles(tris, storey.floor_y, storey.cut_y)
        cid = _xml_attr(cell.cell_id)
        parts.append(f'<g class="cell" data-cell-id={cid}>')
        if floor.any():
            ft = xy(tris[floor][:, :, [0, 2]])
            color = np.clip(cols[floor][0] * 1.1 + 0.08, 0, 1)
            fill = "#" + "".join(f"{int(v * 255):02x}" for v in color)
            parts.append(f'<path class="floor" fill="{fill}" d="{_fmt(ft, "M%s %sL%s %sL%s %sZ")}"/>')
            u, v = ft[:, 1] - ft[:, 0], ft[:, 2] - ft[:, 0]
            area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
            centre = (ft.mean(axis=1) * area[:, None]).sum(axis=0) / max(float(area.sum()), 1e-12)
        else:
            a = np.array(cell.aabb)
            centre = xy(np.array([(a[0] + a[3]) / 2, (a[2] + a[5]) / 2]))
            x0, y0 = xy(a[[0, 2]])
            x1, y1 = xy(a[[3, 5]])
            parts.append(f'<rect class="floor" x="{x0:.2f}" y="{y0:.2f}" width="{x1 - x0:.2f}" '
                         f'height="{y1 - y0:.2f}" fill="#eeeeee"/>')  # fmt: skip
        walls = _section(tris, storey.cut_y)
        if walls.shape[0]:
            parts.append(f'<path class="wall" d="{_fmt(xy(walls), "M%s %sL%s %s")}"/>')
        parts.append("</g>")
        labels.append(f'<text x="{centre[0]:.2f}" y="{centre[1]:.2f}">{_xml_text(cell.cell_id)}</text>')
    doors, openings = [], []
    names = {c.cell_id for c in storey.cells}
    for portal in p.scene.portals:
        if portal.source not in names and portal.target not in names:
            continue
        q = portal.quad
        if q[:, 1].min() <= storey.cut_y <= q[:, 1].max():
            span = xy(q[:, [0, 2]])
            ends = span[np.argsort(span[:, 0] + span[:, 1] * 1e-3)][[0, -1]]
            doors.append(ends)
        elif np.ptp(q[:, 1]) < 1e-3 and storey.floor_y - 0.5 <= q[0, 1] <= storey.cut_y + 2.5:
            openings.append(xy(q[:, [0, 2]]))
    if doors:
        parts.append(f'<path class="door" d="{_fmt(np.array(doors), "M%s %sL%s %s")}"/>')
    if openings:
        parts.append(f'<path class="opening" d="{_fmt(np.array(openings), "M%s %sL%s %sL%s %sL%s %sZ")}"/>')
    parts.append(f'<g class="labels">{"".join(labels)}</g></g>')
    return "".join(parts), float((hi[0] - lo[0]) * scale)


def floorplan_svg(scene: BuiltScene | Prepared) -> bytes:
    """The floor plan as SVG bytes: one panel per storey, left to right, lowest first."""
    p = _prepared(scene)
    levels = p.storeys
    extents = [bounds(s.cells) for s in levels]
    span = max(max(float(h[0] - l[0]), float(h[2] - l[2])) for l, h in extents)  # noqa: E741
    scale = min(_PLAN_PX_PER_M, 4000.0 / max(span, 1e-6))
    panels, x = [], _PLAN_MARGIN
    height = 0.0
    for storey, (lo, hi) in zip(levels, extents, strict=True):
        svg, width = _storey_svg(p, storey, np.array([x, _PLAN_MARGIN]), scale)
        panels.append(svg)
        x += width + _PLAN_MARGIN
        height = max(height, float(hi[2] - lo[2]) * scale)
    w, h = x, height + 2 * _PLAN_MARGIN
    font = max(6.0, min(12.0, scale * 0.45))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}">'
        f"<title>{_xml_text(p.scene.scene_id)} floor plan</title>"
        "<style>.wall{stroke:#2b2d33;stroke-width:1.6;fill:none;stroke-linecap:round}"
        ".door{stroke:#e0702a;stroke-width:3;fill:none}.opening{stroke:#2a7be0;stroke-dasharray:4 3;fill:none}"
        ".floor{stroke:none}"
        f"text{{font:{font:.1f}px sans-serif;fill:#1d1f24;text-anchor:middle;dominant-baseline:middle}}</style>"
        f'<rect width="100%" height="100%" fill="#f7f7f9"/>'
    )
    return (head + "".join(panels) + "</svg>").encode()


def floorplan_png(scene: BuiltScene | Prepared) -> bytes:
    """The floor plan as a PNG: each storey rendered straight down, cut at plan height, with labels."""
    from PIL import Image, ImageDraw, ImageFont

    p = _prepared(scene)
    levels = p.storeys
    extents = [bounds(s.cells) for s in levels]
    widths = [float(h[0] - l[0]) for l, h in extents]  # noqa: E741
    depths = [float(h[2] - l[2]) for l, h in extents]  # noqa: E741
    scale = min(_PLAN_PX_PER_M, (_PLAN_MAX_PNG - _PLAN_MARGIN * (len(levels) + 1)) / max(sum(widths), 1e-6),
                (_PLAN_MAX_PNG - 2 * _PLAN_MARGIN) / max(max(depths), 1e-6))  # fmt: skip
    m = int(_PLAN_MARGIN)
    width = int(sum(max(int(w * scale), 1) for w in widths) + m * (len(levels) + 1))
    height = int(max(max(int(d * scale), 1) for d in depths) + 2 * m)
    canvas = Image.new("RGB", (width, height), (247, 247, 249))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(8, min(14, int(scale * 0.5))))
    x = m
    for storey, (lo, hi) in zip(levels, extents, strict=True):
        pw, ph = max(int((hi[0] - lo[0]) * scale), 1), max(int((hi[2] - lo[2]) * scale), 1)
        tris, cols = p.cell_triangles(storey.cells)
        cam = orthographic((float(lo[0]), float(lo[2]), float(hi[0]), float(hi[2])), storey.cut_y + 0.01,
                           storey.floor_y - 1.0)  # fmt: skip
        img = rasterize(tris, cols, cam, pw, ph, cut_y=storey.cut_y)
        canvas.paste(Image.fromarray(img, "RGB"), (x, m))
        for cell in storey.cells:
            cx = x + ((cell.aabb[0] + cell.aabb[3]) / 2 - lo[0]) * scale
            cy = m + ((cell.aabb[2] + cell.aabb[5]) / 2 - lo[2]) * scale
            draw.text((cx, cy), cell.cell_id, fill=(29, 31, 36), font=font, anchor="mm")
        x += pw + m
    return _png(np.asarray(canvas))
