"""Rectangular openings of one wall that touch or overlap, joined into one opening: the outline of
their union, a notch of the panel path (:class:`~.notches.Notches`) of that rectilinear shape.

A doorway with a window against its jamb, a narrower (or wider) window standing on its head, a window
over a doorway sharing part of its top: the rectangles meet, and their union is no rectangle (those
that make one are joined as one rectangle, :func:`~.openings._overlaps_joined`). The union is what the
boolean path cuts for them; the panels cut it as one opening of that outline (:func:`joined_notch`):
in each wall face, the outline clipped to the face is a notch in its ring or a hole, triangulated by
earcut as any notch; its tunnel is one quad per side of the outline, so the sides the rectangles share
inside the union make no face.

The panels take such a union only where it is one simple polygon (:func:`rect_union`: no hole, not two pieces
touching at a corner), every two of its coordinates along the wall (and in height) are equal or ``GAP`` apart
(corners within ``WELD_EPS`` of each other are put on one), it meets the wall's ends only at the cavity's
corner or the outline's at a reflex corner (where the cavity runs past it), there in one stretch (the face
across gets its heights on its end, as for any notch flush with the corner: :func:`~.notches.face_notches`; at
a reflex corner an opening of the wall across flush with it at other heights, or one needing vertices on the
corner's line, leaves a crack the closed check finds), each face's piece is one notch or hole, or runs from
the face's bottom border to its top one touching at most one of its ends (the face falls in pieces:
:func:`~.notches._cut_paths`; one meeting the border in several runs encloses pieces of the face with it,
rings of their own: :func:`~.notches._notch_islands`), or touches both of its ends (a doorway and a window
side by side from corner to corner: the face is only pieces, each a ring of its own,
:func:`~.notches._end_to_end`), and where it passes into a slab each piece of it there (:func:`band_pieces`: a
face of the slab in the inner plane each, a notch of the slab's outer face each) is a simple polygon meeting
the slab's inner face in one stretch (elsewhere it may meet that face in stretches apart, and a side of it may
lie on the floor's top where it also passes below it: the slab's faces get a vertex at each of its corners
there, :func:`~.near.slab_openings`). Else its room takes the boolean path, as before. The other rules of
notches hold for it too (:mod:`.openings`: its span along the wall ``GAP`` clear of the wall's other openings,
at most one opening flush with a corner), and its room's shell is checked closed once built
(:func:`~.shell._closed_or_left`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from ...tolerances import WELD_EPS
from .notches import _cut_paths, _end_to_end, _notch_islands, _notch_path
from .walls import GAP

__all__ = ["band_pieces", "joined_notch", "rect_union", "snapped", "stretches_at"]

F64 = npt.NDArray[np.float64]

#: A rectangle in a wall's axes: (a, b, c, d), s in [a, b] along the wall, y in [c, d].
Rect = tuple[float, float, float, float]


def rect_union(rects: Sequence[Rect]) -> F64 | None:
    """The outline (k, 2) of the union of axis-aligned rectangles, counter-clockwise, only its corners
    (no point along a straight side); None where the union is not one simple polygon: pieces apart,
    a hole, or pieces meeting at a corner alone (a pinch).

    Over the grid of the rectangles' coordinates: the sides of covered cells that no covered cell
    shares are the outline's, each run of them along one grid line one side (runs found at once, by
    direction), chained from corner to corner. Costs the grid's cells in numpy and the outline's corners
    in Python (a cell at a time, 800 windows in a row at 800 heights took 12 s)."""
    box = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    xs, ys = np.unique(box[:, :2]), np.unique(box[:, 2:])
    if xs.size < 2 or ys.size < 2:
        return None
    cover = np.zeros((xs.size + 1, ys.size + 1), dtype=bool)  # cell (i, j) at [i + 1, j + 1]: an empty ring
    i0, i1 = np.searchsorted(xs, box[:, 0]), np.searchsorted(xs, box[:, 1])
    j0, j1 = np.searchsorted(ys, box[:, 2]), np.searchsorted(ys, box[:, 3])
    for a, b, c, d in zip(i0.tolist(), i1.tolist(), j0.tolist(), j1.tolist(), strict=True):
        cover[a + 1 : b + 1, c + 1 : d + 1] = True
    inside = cover[1:-1, 1:-1]
    sides: list[tuple[tuple[int, int], tuple[int, int]]] = []  # (from, to) grid points, the union on the left
    for mask, along_x, offset, forward in (
        (inside & ~cover[1:-1, :-2], True, 0, True),  # bottom sides of cells, +x
        (inside & ~cover[2:, 1:-1], False, 1, True),  # right sides, +y
        (inside & ~cover[1:-1, 2:], True, 1, False),  # top sides, -x
        (inside & ~cover[:-2, 1:-1], False, 0, False),  # left sides, -y
    ):
        runs = mask if along_x else mask.T  # runs along axis 0
        pad = np.zeros((1, runs.shape[1]), dtype=bool)
        step = np.diff(np.concatenate([pad, runs, pad]).astype(np.int8), axis=0)
        line, first = np.nonzero(step.T == 1)  # (by line, then along it: starts and ends pair up)
        _, last = np.nonzero(step.T == -1)
        for at, lo, hi in zip((line + offset).tolist(), first.tolist(), last.tolist(), strict=True):
            p, q = (lo, hi) if forward else (hi, lo)
            sides.append(((p, at), (q, at)) if along_x else ((at, p), (at, q)))
    nxt: dict[tuple[int, int], tuple[int, int]] = {}
    for start, end in sides:
        if start in nxt:
            return None  # two sides leave one point: pieces meeting at a corner
        nxt[start] = end
    first_point = min(nxt)
    ring = [first_point]
    while (point := nxt[ring[-1]]) != first_point:
        ring.append(point)
        if len(ring) > len(nxt):
            return None
    if len(ring) != len(nxt):
        return None  # another loop: a hole, or a piece apart
    out: F64 = np.array([[xs[i], ys[j]] for i, j in ring], dtype=np.float64)
    return out


def stretches_at(poly: F64, level: float) -> list[tuple[float, float]]:
    """Where the line y = ``level`` meets the closed polygon ``poly`` (k, 2; simple, any shape): its
    stretches (a, b), a corner touching it alone (a, a), in order along it."""
    p, q = poly, np.roll(poly, -1, axis=0)
    breaks: set[float] = set(p[p[:, 1] == level, 0].tolist())
    cross = (p[:, 1] - level) * (q[:, 1] - level) < 0
    f = (level - p[cross, 1]) / (q[cross, 1] - p[cross, 1])
    breaks.update((p[cross, 0] + f * (q[cross, 0] - p[cross, 0])).tolist())
    at = sorted(breaks)
    out: list[tuple[float, float]] = []
    for lo, hi in pairwise(at):
        m = (lo + hi) / 2
        on = (
            (p[:, 1] == level)
            & (q[:, 1] == level)
            & (np.minimum(p[:, 0], q[:, 0]) <= m)
            & (m <= np.maximum(p[:, 0], q[:, 0]))
        ).any()
        span = (np.minimum(p[:, 0], q[:, 0]) <= m) & (m < np.maximum(p[:, 0], q[:, 0]))
        y = p[span, 1] + (m - p[span, 0]) / (q[span, 0] - p[span, 0]) * (q[span, 1] - p[span, 1])
        if on or int((y > level).sum()) % 2 == 1:
            if out and out[-1][1] == lo:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
    for v in at:
        if not any(a <= v <= b for a, b in out):
            out.append((v, v))
    return sorted(out)


def band_pieces(poly: F64, level: float, above: bool) -> list[F64] | None:
    """The pieces of the rectilinear polygon ``poly`` (a joined opening's outline) above (below) the line
    y = ``level``, each its outline counter-clockwise (:func:`rect_union`); None where one is not a simple
    polygon. Over the grid of its coordinates: the cells inside it on that side, by pieces sharing sides."""
    xs = np.unique(poly[:, 0])
    ys = np.unique(np.concatenate([poly[:, 1], [level]]))
    ys = ys[ys >= level] if above else ys[ys <= level]
    if xs.size < 2 or ys.size < 2:
        return []
    mx, my = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    p, q = poly, np.roll(poly, -1, axis=0)
    inside = np.zeros((mx.size, my.size), dtype=bool)
    for i, x in enumerate(mx.tolist()):
        span = (np.minimum(p[:, 0], q[:, 0]) <= x) & (x < np.maximum(p[:, 0], q[:, 0]))
        y = p[span, 1] + (x - p[span, 0]) / (q[span, 0] - p[span, 0]) * (q[span, 1] - p[span, 1])
        inside[i] = ((y[None, :] > my[:, None]).sum(axis=1) % 2) == 1
    label = np.full(inside.shape, -1, dtype=np.int64)
    pieces: list[F64] = []
    for start in zip(*np.nonzero(inside), strict=True):
        if label[start] >= 0:
            continue
        n = len(pieces)
        stack, cells = [start], []
        label[start] = n
        while stack:
            i, j = stack.pop()
            cells.append((float(xs[i]), float(xs[i + 1]), float(ys[j]), float(ys[j + 1])))
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                if 0 <= a < mx.size and 0 <= b < my.size and inside[a, b] and label[a, b] < 0:
                    label[a, b] = n
                    stack.append((a, b))
        outline = rect_union(cells)
        if outline is None:
            return None
        pieces.append(outline)
    return pieces


def snapped(values: list[float], eps: float = WELD_EPS) -> dict[float, float] | None:
    """Each value put on the least of those within ``eps`` (``WELD_EPS`` unless a plan's rounding allows
    more) of it (in a chain); None where two values left apart are less than ``GAP`` apart (a step that
    thin would be a sliver)."""
    out: dict[float, float] = {}
    kept: list[float] = []
    for v in sorted(set(values)):
        if kept and v - out[kept[-1]] <= eps:
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
    s_map = snapped([v for r in rects for v in r[:2]])
    y_map = snapped([v for r in rects for v in r[2:]])
    if s_map is None or y_map is None:
        return None
    rects = [(s_map[a], s_map[b], y_map[c], y_map[d]) for a, b, c, d in rects]
    lo_s, hi_s = max(zero, inner0), min(length, inner1)
    for level, end in ((lo_s, inner0), (hi_s, inner1)):
        # Flush with the cavity's corner, or with the outline's at a reflex corner (the cavity runs past it), in
        # one stretch there: the face across gets its heights on its end, as a notch's flush with the corner.
        at = [(c, d, a, b) for a, b, c, d in rects if a <= level <= b]
        reflex = level in (zero, length) and level != end
        if at and ((level != end and not reflex) or (level == end and level in (zero, length))):
            return None
        if at and _stretches(at, level) > 1:
            return None
    outline = rect_union(rects)
    if outline is None:
        return None
    inner_rects = [(a, b, max(c, floor_top), min(d, ceiling)) for a, b, c, d in rects]
    inner = rect_union([r for r in inner_rects if r[3] > r[2]])
    if inner is None:
        return None
    for piece, box in ((outline, (zero, length, y0, y1)), (inner, (inner0, inner1, floor_top, ceiling))):
        u, v = piece[:, 0], piece[:, 1]
        if u.min() <= box[0] and u.max() >= box[1]:
            # From one end of the face to the other (a doorway and a window side by side from corner to corner):
            # the face falls in pieces, each a ring of its own (never pinched).
            if _end_to_end(piece, *box) is None:
                return None
        elif v.min() <= box[2] and v.max() >= box[3]:
            # From the bottom border to the top one: the face falls in pieces, the columns beside it bounded by
            # its sides, the rest rings of their own (touching one of the face's ends at most, never pinched).
            if _cut_paths(piece, *box) is None:
                return None
        elif _notch_path(piece, *box) is None and _notch_islands(piece, *box) is None:
            return None
    # The slab's face in the inner plane where the union passes into a slab (its band there): pieces, each a
    # simple polygon met by the slab's inner face in one stretch (galleries on both jambs of a doorway up to
    # the ceiling's top: two, and the ceiling's top two notches).
    for level, above in ((floor_top, False), (ceiling, True)):
        pieces = band_pieces(outline, level, above)
        if pieces is None or any(len(stretches_at(piece, level)) > 1 for piece in pieces):
            return None
    return outline
