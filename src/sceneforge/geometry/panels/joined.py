"""Rectangular openings of one wall that touch or overlap, joined into one opening: the outline of
their union, a notch of the panel path (:class:`~.notches.Notches`) of that rectilinear shape.

A doorway with a window against its jamb, a narrower (or wider) window standing on its head, a window
over a doorway sharing part of its top: the rectangles meet, and their union is no rectangle (those
that make one are joined as one rectangle, :func:`~.openings._overlaps_joined`). The union is what the
boolean path cuts for them; the panels cut it as one opening of that outline (:func:`joined_notch`):
in each wall face, the outline clipped to the face is a notch in its ring or a hole, triangulated by
earcut as any notch; its tunnel is one quad per side of the outline, so the sides the rectangles share
inside the union make no face.

The panels take such a union only where it is one simple polygon (:func:`rect_union`: no hole, not
two pieces touching at a corner), every two of its coordinates along the wall (and in height) are equal
or ``GAP`` apart (corners within ``WELD_EPS`` of each other are put on one), it meets the wall's ends
only at the cavity's corner and there in one stretch (the face across gets its heights on its end, as
for any notch flush with the corner: :func:`~.notches.face_notches`), each face's piece is one notch
or hole that does not run from border to opposite border, and the floor's top and the ceiling's
underside (and the slabs' outer faces) meet it in one stretch each, with no side of it lying on the
floor's top (the ceiling's underside) where it also passes below (above) it. Else its room takes the
boolean path, as before. The other rules of notches hold for it too (:mod:`.openings`: its span along
the wall ``GAP`` clear of the wall's other openings, at most one opening flush with a corner), and its
room's shell is checked closed once built (:func:`~.shell._closed_or_left`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ...tolerances import WELD_EPS
from .notches import _notch_path
from .walls import GAP

__all__ = ["joined_notch", "rect_union"]

F64 = npt.NDArray[np.float64]

#: A rectangle in a wall's axes: (a, b, c, d), s in [a, b] along the wall, y in [c, d].
Rect = tuple[float, float, float, float]


def rect_union(rects: Sequence[Rect]) -> F64 | None:
    """The outline (k, 2) of the union of axis-aligned rectangles, counter-clockwise, only its corners
    (no point along a straight side); None where the union is not one simple polygon: pieces apart,
    a hole, or pieces meeting at a corner alone (a pinch). Over the grid of the rectangles' coordinates:
    each covered cell's sides that no covered cell shares are the outline's, chained."""
    xs = sorted({v for r in rects for v in r[:2]})
    ys = sorted({v for r in rects for v in r[2:]})
    nx, ny = len(xs) - 1, len(ys) - 1
    if nx < 1 or ny < 1:
        return None
    cover = np.zeros((nx + 2, ny + 2), dtype=bool)  # a ring of empty cells around the grid
    for a, b, c, d in rects:
        i0, i1 = xs.index(a), xs.index(b)
        j0, j1 = ys.index(c), ys.index(d)
        cover[i0 + 1 : i1 + 1, j0 + 1 : j1 + 1] = True
    nxt: dict[tuple[int, int], tuple[int, int]] = {}
    for i, j in zip(*np.nonzero(cover), strict=True):
        # Grid cell (i - 1, j - 1): corners (i - 1, j - 1) to (i, j) in grid indices; sides counter-clockwise.
        x0, y0 = int(i) - 1, int(j) - 1
        sides = (
            (not cover[i, j - 1], (x0, y0), (x0 + 1, y0)),
            (not cover[i + 1, j], (x0 + 1, y0), (x0 + 1, y0 + 1)),
            (not cover[i, j + 1], (x0 + 1, y0 + 1), (x0, y0 + 1)),
            (not cover[i - 1, j], (x0, y0 + 1), (x0, y0)),
        )
        for outline, p, q in sides:
            if outline:
                if p in nxt:
                    return None  # two outline sides leave one point: pieces meeting at a corner
                nxt[p] = q
    start = min(nxt)
    ring = [start]
    while (p := nxt[ring[-1]]) != start:
        ring.append(p)
        if len(ring) > len(nxt):
            return None
    if len(ring) != len(nxt):
        return None  # another loop: a hole, or a piece apart
    pts = np.array([[xs[i], ys[j]] for i, j in ring], dtype=np.float64)
    into, out = pts - np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0) - pts
    turn = into[:, 0] * out[:, 1] - into[:, 1] * out[:, 0]
    corners: F64 = pts[turn != 0.0]
    return corners


def _snapped(values: list[float]) -> dict[float, float] | None:
    """Each value put on the least of those within ``WELD_EPS`` of it (in a chain); None where two
    values left apart are less than ``GAP`` apart (a step that thin would be a sliver)."""
    out: dict[float, float] = {}
    kept: list[float] = []
    for v in sorted(set(values)):
        if kept and v - out[kept[-1]] <= WELD_EPS:
            out[v] = out[kept[-1]]
            continue
        if kept and v - out[kept[-1]] < GAP:
            return None
        out[v] = v
        kept.append(v)
    return out


def _stretches(rects: Sequence[Rect], level: float) -> int:
    """How many stretches the line y = ``level`` meets the union of ``rects`` in (closed rectangles)."""
    spans = sorted((a, b) for a, b, c, d in rects if c <= level <= d)
    count, reach = 0, -np.inf
    for a, b in spans:
        if a > reach:
            count += 1
        reach = max(reach, b)
    return count


def joined_notch(
    rects: Sequence[Rect], s_levels: tuple[float, float, float, float], y_levels: tuple[float, float, float, float]
) -> F64 | None:
    """The opening that rectangles of one wall meeting one another (each already clipped to the room,
    snapped to the borders near it and clear of the others) cut together: the outline of their union,
    counter-clockwise in (s, y), as a notch (:class:`~.notches.Notches`); None where the panels do not
    cut it (see the module's docstring). ``s_levels``: 0, the wall's length, the inner face's ends
    (inner0, inner1); ``y_levels``: y0, the floor's top, the ceiling's underside, y1."""
    zero, length, inner0, inner1 = s_levels
    y0, floor_top, ceiling, y1 = y_levels
    s_map = _snapped([v for r in rects for v in r[:2]])
    y_map = _snapped([v for r in rects for v in r[2:]])
    if s_map is None or y_map is None:
        return None
    rects = [(s_map[a], s_map[b], y_map[c], y_map[d]) for a, b, c, d in rects]
    lo_s, hi_s = max(zero, inner0), min(length, inner1)
    for level, end in ((lo_s, inner0), (hi_s, inner1)):
        # Flush with the cavity's corner (not the outline's end, nor a reflex corner), in one stretch
        # there: the face across gets its heights on its end, as a notch's flush with the corner.
        at = [(c, d, a, b) for a, b, c, d in rects if a <= level <= b]
        if at and (level != end or level in (zero, length) or _stretches(at, level) > 1):
            return None
    outline = rect_union(rects)
    if outline is None:
        return None
    inner_rects = [(a, b, max(c, floor_top), min(d, ceiling)) for a, b, c, d in rects]
    inner = rect_union([r for r in inner_rects if r[3] > r[2]])
    if inner is None:
        return None
    for piece, box in ((outline, (zero, length, y0, y1)), (inner, (inner0, inner1, floor_top, ceiling))):
        v = piece[:, 1]
        if v.min() <= box[2] and v.max() >= box[3]:
            return None  # from border to opposite border: the face would fall in two
        if _notch_path(piece, *box) is None:
            return None
    if any(_stretches(rects, level) > 1 for level in y_levels):
        return None  # the slab's face there would need two notches
    y = outline[:, 1]
    if (y.min() < floor_top and (y == floor_top).any()) or (y.max() > ceiling and (y == ceiling).any()):
        return None  # a side on the slab's inner face where the opening also passes into the slab
    return outline
