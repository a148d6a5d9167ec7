"""Preview images of a built scene: the 3D thumbnail (PNG) and the floor plan (SVG and PNG).

* ``thumbnail_png(scene)`` — a 512×512 perspective render: the top storey seen from above at
  50°, walls cut at :data:`~sceneforge.preview.views.CUT_HEIGHT` over its floor, lit by a key
  light and a sky fill, with depth outlines. Rendered at 1.5× the size and filtered down
  (Lanczos) for anti-aliasing.
* ``floorplan_svg(scene)`` — per storey: each cell's floor as a filled shape (``<g
  data-cell-id>``), the walls where the cut plane meets them, every doorway (a portal crossing
  the cut) as a coloured bar, horizontal portals (slab openings) as dashed outlines, and the
  cell names.
* ``floorplan_png(scene)`` — the same plan rasterized top-down (orthographic) with the labels, at
  most 1024×1024 pixels.

Both plans put the storey panels in rows, left to right, lowest storey first, with as many columns as
draw them largest in a square (:func:`_grid`): a few storeys stand in one row, a tower of a thousand
in a square of panels, and the PNG stays within its bound however many storeys there are.

Inputs are :class:`~sceneforge.ingest.built_glb.BuiltScene` values, or one
:class:`~sceneforge.preview.views.Prepared` scene shared by all three; outputs are bytes. The
geometry work is numpy over all triangles at once (plane sections, projections); loops run per
storey and per cell label only.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import numpy.typing as npt

from ..ingest.built_glb import BuiltCell, BuiltScene
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


def _section(tris: F64, y: float | F64) -> tuple[F64, npt.NDArray[np.intp]]:
    """(S, 2, 2) xz segments where the plane ``y`` (one height, or (T,) one per triangle) cuts the triangles
    (T, 3, 3), and the (S,) triangles they cut, in order."""
    d = tris[:, :, 1] - (y[:, None] if isinstance(y, np.ndarray) else y)
    d = np.where(d == 0.0, 1e-9, d)  # a vertex on the plane counts as just above it
    a, b = d, np.roll(d, -1, axis=1)
    crosses = (a * b) < 0
    hit = crosses.sum(axis=1) == 2
    if not hit.any():
        return np.zeros((0, 2, 2)), np.zeros(0, dtype=np.intp)
    t3, a, b, crosses = tris[hit], a[hit], b[hit], crosses[hit]
    p, q = t3, np.roll(t3, -1, axis=1)
    s = (a / np.where(crosses, a - b, 1.0))[:, :, None]
    points = (p + (q - p) * s)[:, :, [0, 2]]  # (n, 3 edges, 2)
    order = np.argsort(~crosses, axis=1, kind="stable")[:, :2]
    return np.take_along_axis(points, order[:, :, None], axis=1), np.flatnonzero(hit)


def _fmt(values: F64, template: str) -> str:
    return format_rows(template, np.round(values, 2))


def _floor_triangles(tris: F64, floor_y: F64, cut_y: F64) -> npt.NDArray[np.bool_]:
    """The floor triangles (facing up, between each triangle's ``floor_y`` - 0.5 and ``cut_y``)."""
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    up = n[:, 1] > 0.7 * np.linalg.norm(n, axis=1)
    y = tris[:, :, 1].mean(axis=1)
    keep: npt.NDArray[np.bool_] = up & (y >= floor_y - 0.5) & (y < cut_y)
    return keep


def _cell_cuts(storey: Storey, cells: list[BuiltCell]) -> tuple[F64, F64]:
    """The (n,) floor heights and (n,) cut heights a plan draws ``cells`` at: their storey's, or, for a cell whose
    floor lies at or over the storey's cut (a step of a stair drawn as cells of its own), its own floor's and that
    plus the storey's cut over its floor: cut at the storey's height, it showed no wall, nor any floor in the PNG."""
    low = np.array([c.aabb[1] for c in cells], dtype=np.float64)
    own = ~(low < storey.cut_y)
    return np.where(own, low, storey.floor_y), np.where(own, low + (storey.cut_y - storey.floor_y), storey.cut_y)


def _rows(template: str, values: npt.NDArray[np.generic]) -> list[str]:
    """``template`` filled with each row of ``values`` ((n, ...) holding its fields), one string a row."""
    return format_rows(template + "\n", values).split("\n")[:-1]


def _weighted_centres(centres: F64, weights: F64, at: npt.NDArray[np.intp]) -> F64:
    """Per group of rows ``at[i]:at[i + 1]``, the mean of ``centres`` (n, 2) weighted by ``weights`` (n,)."""
    sums = np.zeros((len(at) - 1, 2))
    totals = np.zeros(len(at) - 1)
    full = np.flatnonzero(at[1:] > at[:-1])
    if full.size:
        sums[full] = np.add.reduceat(centres * weights[:, None], at[full], axis=0)
        totals[full] = np.add.reduceat(weights, at[full])
    return sums / np.maximum(totals, 1e-12)[:, None]


def _storey_svg(p: Prepared, storey: Storey, offset: F64, scale: float) -> str:
    """One storey's panel, its top-left corner at ``offset`` (SVG units)."""
    lo = bounds(storey.cells)[0]
    parts = [f'<g class="storey" data-floor-y="{storey.floor_y:.2f}">']

    def xy(points: F64) -> F64:
        out = np.empty_like(points)
        out[..., 0] = (points[..., 0] - lo[0]) * scale + offset[0]
        out[..., 1] = (points[..., 1] - lo[2]) * scale + offset[1]
        return out

    # Every cell's triangles at once (floors, wall sections, colours, centres); the loop below only joins text.
    cells = storey.cells
    tris, cols = p.cell_triangles(cells)
    owner = np.repeat(np.arange(len(cells)), p.triangle_counts(cells))
    floor_ys, cut_ys = _cell_cuts(storey, cells)
    floor = _floor_triangles(tris, floor_ys[owner], cut_ys[owner])
    ft = xy(tris[floor][:, :, [0, 2]])
    floors_of = np.bincount(owner[floor], minlength=len(cells))
    floor_at = np.concatenate([[0], np.cumsum(floors_of)])
    first = np.minimum(floor_at[:-1], max(len(ft) - 1, 0))
    colors = np.clip(cols[floor][first] * 1.1 + 0.08, 0, 1) if len(ft) else np.zeros((len(cells), 3))
    fills = _rows("#%02x%02x%02x", (colors * 255).astype(np.int64))
    floor_rows = _rows("M%s %sL%s %sL%s %sZ", np.round(ft, 2))
    u, v = ft[:, 1] - ft[:, 0], ft[:, 2] - ft[:, 0]
    area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
    centres = _weighted_centres(ft.mean(axis=1), area, floor_at)
    walls, cut = _section(tris, cut_ys[owner])
    wall_rows = _rows("M%s %sL%s %s", np.round(xy(walls), 2))
    wall_at = np.searchsorted(owner[cut], np.arange(len(cells) + 1))
    labels = []
    for i, cell in enumerate(cells):
        parts.append(f'<g class="cell" data-cell-id={_xml_attr(cell.cell_id)}>')
        if floors_of[i]:
            path = "".join(floor_rows[floor_at[i] : floor_at[i + 1]])
            parts.append(f'<path class="floor" fill="{fills[i]}" d="{path}"/>')
            centre = centres[i]
        else:
            box = np.array(cell.aabb)
            centre = xy(np.array([(box[0] + box[3]) / 2, (box[2] + box[5]) / 2]))
            x0, y0 = xy(box[[0, 2]])
            x1, y1 = xy(box[[3, 5]])
            parts.append(f'<rect class="floor" x="{x0:.2f}" y="{y0:.2f}" width="{x1 - x0:.2f}" '
                         f'height="{y1 - y0:.2f}" fill="#eeeeee"/>')  # fmt: skip
        if wall_at[i + 1] > wall_at[i]:
            parts.append(f'<path class="wall" d="{"".join(wall_rows[wall_at[i] : wall_at[i + 1]])}"/>')
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
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Grid:
    """Where the storey panels go: in rows of ``columns``, left to right, lowest storey first."""

    columns: int
    #: Pixels (SVG units) per metre and the gap around panels.
    scale: float
    margin: float
    #: (n, 2) top-left corner of each storey's panel, and the whole plan's width and height.
    corners: F64
    size: tuple[float, float]


def _grid(sizes: F64, scale_cap: float, box: float, margin_cap: float, columns: int | None = None) -> _Grid:
    """The panels of storeys ``sizes`` ((n, 2) width and depth, metres) in a grid.

    Without ``columns``: the number of columns that draws them largest (at most ``scale_cap`` px per metre)
    within a ``box``×``box`` square, margins shrunk to at most a quarter of it and a pixel per panel kept
    for rounding up, so however many storeys there are (up to one per cell) the plan stays within the box.
    Ties go to more columns: a few storeys stand in one row. With ``columns``: that many, at ``scale_cap``
    and ``margin_cap`` exactly. Column widths and row heights are their largest panel's.
    """
    n = len(sizes)
    if n == 0:
        return _Grid(1, scale_cap, margin_cap, np.zeros((0, 2)), (2 * margin_cap, 2 * margin_cap))

    def tracks(cols: int) -> tuple[F64, F64]:
        rows = -(-n // cols)
        flat = np.zeros((rows * cols, 2))
        flat[:n] = sizes
        cells = flat.reshape(rows, cols, 2)
        return cells[:, :, 0].max(axis=0), cells[:, :, 1].max(axis=1)

    if columns is None:
        best: tuple[float, int, float] | None = None
        for cols in sorted({-(-n // rows) for rows in range(1, n + 1)}, reverse=True):  # ~2√n candidates
            widths, depths = tracks(cols)
            gaps = max(cols, len(depths)) + 1
            margin = min(margin_cap, float(np.floor(box / (4 * gaps))))
            scale = min(scale_cap, (box - margin * (cols + 1) - cols) / max(float(widths.sum()), 1e-6),
                        (box - margin * (len(depths) + 1) - len(depths)) / max(float(depths.sum()), 1e-6))  # fmt: skip
            scale = max(scale, 0.0)  # past ~a million storeys even 1 px panels overflow the box: 1 px each
            if best is None or scale > best[0] * (1 + 1e-9):
                best = (scale, cols, margin)
        assert best is not None
        scale_cap, columns, margin_cap = best
    widths, depths = tracks(columns)
    col_px = np.maximum(np.floor(widths * scale_cap), 1.0)
    row_px = np.maximum(np.floor(depths * scale_cap), 1.0)
    xs = margin_cap + np.concatenate([[0.0], np.cumsum(col_px + margin_cap)])
    ys = margin_cap + np.concatenate([[0.0], np.cumsum(row_px + margin_cap)])
    index = np.arange(n)
    corners = np.stack([xs[index % columns], ys[index // columns]], axis=1)
    return _Grid(columns, scale_cap, margin_cap, corners, (float(xs[-1]), float(ys[-1])))


def _sizes(extents: list[F64]) -> F64:
    return np.array([[h[0] - lo[0], h[2] - lo[2]] for lo, h in extents], dtype=np.float64).reshape(-1, 2)


def floorplan_svg(scene: BuiltScene | Prepared) -> bytes:
    """The floor plan as SVG bytes: one panel per storey, in the PNG's rows, left to right, lowest first."""
    p = _prepared(scene)
    levels = p.storeys
    extents = [bounds(s.cells) for s in levels]
    sizes = _sizes(extents)
    span = float(sizes.max()) if sizes.size else 0.0
    scale = min(_PLAN_PX_PER_M, 4000.0 / max(span, 1e-6))
    columns = _grid(sizes, _PLAN_PX_PER_M, _PLAN_MAX_PNG, _PLAN_MARGIN).columns
    grid = _grid(sizes, scale, 0.0, _PLAN_MARGIN, columns)
    panels = [_storey_svg(p, storey, corner, scale) for storey, corner in zip(levels, grid.corners, strict=True)]
    w, h = grid.size
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
    """The floor plan as a PNG of at most 1024×1024: each storey rendered straight down, cut at plan height,
    with labels, in rows, left to right, lowest first."""
    from PIL import Image, ImageDraw, ImageFont

    p = _prepared(scene)
    levels = p.storeys
    extents = [bounds(s.cells) for s in levels]
    grid = _grid(_sizes(extents), _PLAN_PX_PER_M, _PLAN_MAX_PNG, _PLAN_MARGIN)
    scale = grid.scale
    canvas = Image.new("RGB", (int(grid.size[0]), int(grid.size[1])), (247, 247, 249))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(8, min(14, int(scale * 0.5))))
    for storey, (lo, hi), (x, y) in zip(levels, extents, grid.corners, strict=True):
        pw, ph = max(int((hi[0] - lo[0]) * scale), 1), max(int((hi[2] - lo[2]) * scale), 1)
        tris, cols = p.cell_triangles(storey.cells)
        cuts = _cell_cuts(storey, storey.cells)[1]
        # Each cell cut where the SVG cuts it: one height for the storey unless a cell's floor lies over it.
        one = (cuts == storey.cut_y).all()
        cut: float | F64 = storey.cut_y if one else np.repeat(cuts, p.triangle_counts(storey.cells))
        cam = orthographic((float(lo[0]), float(lo[2]), float(hi[0]), float(hi[2])), float(cuts.max()) + 0.01,
                           storey.floor_y - 1.0)  # fmt: skip
        img = rasterize(tris, cols, cam, pw, ph, cut_y=cut)
        canvas.paste(Image.fromarray(img, "RGB"), (int(x), int(y)))
        for cell in storey.cells:
            cx = int(x) + ((cell.aabb[0] + cell.aabb[3]) / 2 - lo[0]) * scale
            cy = int(y) + ((cell.aabb[2] + cell.aabb[5]) / 2 - lo[2]) * scale
            draw.text((cx, cy), cell.cell_id, fill=(29, 31, 36), font=font, anchor="mm")
    return _png(np.asarray(canvas))
