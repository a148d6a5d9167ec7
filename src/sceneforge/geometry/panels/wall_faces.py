"""The outer and inner faces of every wall, minus their openings (:func:`wall_faces`).

Per outline edge, the outer wall face (the edge × [y0, y1]) and the inner one (the inner edge ×
[y0 + t, y1 - t]), each minus its openings: the rectangles where portal quads project onto the wall,
clipped to the face (an opening from the slab's underside or its top face, or reaching the ceiling,
is a notch in the face's border; a window a hole inside it). A face with one opening is a "picture
frame" of four trapezoids (fewer where the opening touches the border: :func:`_frame_quads`); the
rest go to earcut as rings (:func:`wall_polygons`: an opening touching both the bottom and the top
splits the face into columns; the faces that are one ring, no opening of full height or width and
none of their corners in two, all at once: :func:`_one_ring_faces`). A window of another shape is a hole of
that shape in the ring that holds it (:func:`_with_windows`), a notch its piece of the face
(:func:`~.notches.face_notches`); strips from openings to the borders: :mod:`.border_strips`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...arrays import distinct, distinct_rows, ranges
from .border_strips import border_strips, shaped_strips, stacked_pairs, strip_notches
from .faces import UP, Faces, plan3
from .near import Near
from .notches import Notches, border_position, face_notches
from .openings import Openings, Windows
from .walls import Walls

__all__ = ["wall_faces", "wall_polygons"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]
Arr = npt.NDArray[Any]


def _frame_quads(outer: F64, hole: F64, drop_bottom: B8, drop_top: B8) -> tuple[F64, B8]:
    """The four trapezoids (n, 4, 4, 2) in (u, v) of rectangles ``outer`` (n, 4) [u0, u1, v0, v1]
    around ``hole`` [a, b, c, d], and which to keep (a hole touching the bottom or top leaves no piece there)."""
    u0, u1, v0, v1 = outer.T
    a, b, c, d = hole.T

    def pts(us: list[F64], vs: list[F64]) -> F64:
        return np.stack([np.stack(us, -1), np.stack(vs, -1)], -1)

    quads = np.stack(
        [
            pts([u0, u1, b, a], [v0, v0, c, c]),
            pts([u1, u1, b, b], [v0, v1, d, c]),
            pts([u1, u0, a, b], [v1, v1, d, d]),
            pts([u0, u0, a, a], [v1, v0, c, d]),
        ],
        axis=1,
    )
    keep = np.ones((outer.shape[0], 4), dtype=bool)
    keep[:, 0] = ~drop_bottom
    keep[:, 2] = ~drop_top
    return quads, keep


def wall_polygons(
    u0: float,
    u1: float,
    v0: float,
    v1: float,
    holes: list[list[Any]],
    left: list[float],
    right: list[float],
    below: tuple[float, ...] = (),
    above: tuple[float, ...] = (),
) -> list[tuple[F64, list[int]]]:
    """Rings of a wall face [u0, u1] × [v0, v1] minus openings ``holes`` [a, b, c, d] (clipped, sorted by a).

    An opening touching both the bottom and the top splits the face into columns, one touching both
    sides of a column splits it into rows; one touching a side or a corner (flush with the face's
    end) is a notch in the border. ``left`` / ``right``: heights of extra vertices on the face's side
    edges (where a jamb of the neighbouring wall's opening ends on them); ``below`` / ``above``: places
    of extra vertices on its bottom and top edges (where a hatch flush with the wall meets it), sorted.
    """
    full = [h for h in holes if h[2] <= v0 and h[3] >= v1]
    lefts = [u0] + [h[1] for h in full]
    rights = [h[0] for h in full] + [u1]
    # The heights on each column's sides: the face's ends', or those of a cut from border to border
    # (:func:`~.border_strips.strip_notches`: an opening and its strips to both borders) beside it.
    jambs: list[list[float]] = [h[4] if len(h) > 4 else [] for h in full]
    # A cut with slanted sides ([a, b, v0, v1, [], left path, right path]: a doorway and a window over it a
    # little along, a trapezoid with strips to both borders) bounds the columns beside it by those paths.
    paths: list[list[list[float]] | None] = [h[5] if len(h) > 5 else None for h in full]
    after: list[list[list[float]] | None] = [h[6] if len(h) > 5 else None for h in full]
    # A joined opening's cut (:func:`~.notches._cut_paths`) may leave pieces of the face of their own, with no
    # other opening in them (at a face's end, between two of its runs along a border): [side, p, q] each. One
    # touching both ends ([u0, u1, v0, v1, [], None, None, rings], :func:`~.notches._end_to_end`) leaves only those.
    places = (left, right, below, above)
    out = [_end_ring(ring[0], ring[1], ring[2], (u0, u1, v0, v1), places) for h in full if len(h) > 7 for ring in h[7]]
    # And a notch's ([a, b, c, d, path, rings]: enclosed by it and the border, under a doorway from the floor's
    # top between two from its underside).
    out += [
        _end_ring(ring[0], ring[1], ring[2], (u0, u1, v0, v1), places)
        for h in holes
        if len(h) == 6 and not (h[2] <= v0 and h[3] >= v1)
        for ring in h[5]
    ]
    # (Each column's openings from those starting within it: holes are sorted by a, and a face cut into
    # 1,000 columns would otherwise test every opening against every column.)
    starts = [h[0] for h in holes]
    for lo, hi, on_left, on_right, lo_path, hi_path in zip(
        lefts, rights, [left, *jambs], [*jambs, right], [None, *after], [*paths, None], strict=True
    ):
        if hi <= lo:  # a full-height opening flush with the face's end
            continue
        within = holes[bisect_left(starts, lo) : bisect_right(starts, hi)]
        column = [h for h in within if h[0] >= lo and h[1] <= hi and not (h[2] <= v0 and h[3] >= v1)]
        bands = sorted((h for h in column if h[0] <= lo and h[1] >= hi), key=lambda h: h[2])
        bottoms = [v0] + [h[3] for h in bands]
        tops = [h[2] for h in bands] + [v1]
        for bottom, top in zip(bottoms, tops, strict=True):
            if top <= bottom:  # a full-width opening flush with the bottom or the top
                continue
            mine = [h for h in column if h[2] >= bottom and h[3] <= top and not (h[0] <= lo and h[1] >= hi)]
            sides = ([v for v in on_left if bottom < v < top], [v for v in on_right if bottom < v < top])
            # (``below`` and ``above`` are sorted: the places strictly between lo and hi by a search.)
            whole = bottom == v0 and top == v1  # (none of the column's openings reaches its sides: no rows)
            # A side that is a cut's path meets the bottom (top) border where the path starts (ends).
            b_lo, b_hi, t_lo, t_hi = lo, hi, lo, hi
            if whole and lo_path:
                b_lo, t_lo = lo_path[0][0], lo_path[-1][0]
            if whole and hi_path:
                b_hi, t_hi = hi_path[0][0], hi_path[-1][0]
            ends = (
                list(below[bisect_right(below, b_lo) : bisect_left(below, b_hi)]) if bottom == v0 else [],
                list(above[bisect_right(above, t_lo) : bisect_left(above, t_hi)]) if top == v1 else [],
            )
            out.append(_notched_ring(lo, hi, bottom, top, mine, *sides, *ends, *((lo_path, hi_path) if whole else ())))
    return out


def _end_ring(
    side: list[list[float]],
    p: list[float],
    q: list[float],
    face: tuple[float, float, float, float],
    places: tuple[Sequence[float], Sequence[float], Sequence[float], Sequence[float]],
) -> tuple[F64, list[int]]:
    """A piece of a face [u0, u1] × [v0, v1] that a cut from border to border leaves on its own, at one of
    the face's ends or between two of the cut's runs along a border (:func:`~.notches._cut_paths`; no other
    opening there: they keep clear of the cut's span): the cut's
    ``side`` (from ``q`` back to ``p``), then the face's border from ``p`` on to ``q`` counter-clockwise, with
    its corners and the places of ``places`` (heights on the left and right ends, places on the bottom and
    top) on the way."""
    u0, u1, v0, v1 = face
    left, right, below, above = places
    width, height = u1 - u0, v1 - v0
    perimeter = 2 * (width + height)

    def at(point: Sequence[float]) -> float:
        return border_position(face, point)

    border = [[u0, v0], [u1, v0], [u1, v1], [u0, v1]]
    border += [[u, v0] for u in below] + [[u1, v] for v in right] + [[u, v1] for u in above] + [[u0, v] for v in left]
    start = at(p)
    reach = (at(q) - start) % perimeter
    walk = sorted(((at(b) - start) % perimeter, b) for b in border)
    ring = side + [b for d, b in walk if 0 < d < reach]
    return np.array(ring, dtype=np.float64), [len(ring)]


def _notched_ring(
    lo: float,
    hi: float,
    v0: float,
    v1: float,
    mine: list[list[float]],
    left: list[float],
    right: list[float],
    below: list[float],
    above: list[float],
    lo_path: list[list[float]] | None = None,
    hi_path: list[list[float]] | None = None,
) -> tuple[F64, list[int]]:
    """The ring (and hole rings) of [lo, hi] × [v0, v1] minus openings ``mine`` (sorted by a, none
    touching two opposite sides), with extra points at heights ``left`` / ``right`` on its sides and
    at places ``below`` / ``above`` on its bottom and top edges. ``lo_path`` / ``hi_path``: where a side
    is a cut's slanted side instead (its points from the bottom border to the top one, no opening of the
    column touching that side)."""
    at_l = [h for h in mine if h[0] <= lo]
    at_r = [h for h in mine if h[1] >= hi]
    bottom = [h for h in mine if h[2] <= v0 and h[0] > lo and h[1] < hi]
    top = [h for h in mine if h[3] >= v1 and h[0] > lo and h[1] < hi]
    bl = next((h for h in at_l if h[2] <= v0), None)
    br = next((h for h in at_r if h[2] <= v0), None)
    tr = next((h for h in at_r if h[3] >= v1), None)
    tl = next((h for h in at_l if h[3] >= v1), None)
    # (A copy: the ring grows, and a notch's path is read again for the heights on the sides.)
    ring = list(_cut(bl, [[lo, bl[3]], [bl[1], bl[3]], [bl[1], v0]])) if bl else [lo_path[0] if lo_path else [lo, v0]]
    first = bl[1] if bl else (lo_path[0][0] if lo_path else lo)
    last = br[0] if br else (hi_path[0][0] if hi_path else hi)
    along: list[tuple[float, list[float] | None]] = [(h[0], h) for h in bottom]
    along += [(u, None) for u in _outside(below, first, last, [(h[0], h[1]) for h in bottom])]
    for _, h in sorted(along, key=lambda item: item[0]):
        ring += [[_, v0]] if h is None else _cut(h, [[h[0], v0], [h[0], h[3]], [h[1], h[3]], [h[1], v0]])
    ring += _cut(br, [[br[0], v0], [br[0], br[3]], [hi, br[3]]]) if br else (hi_path or [[hi, v0]])
    # (A notch's place on the side: where its path meets it, not its box.)
    side: list[tuple[float, list[float] | None]] = [(_side_span(h, hi)[0], h) for h in at_r if h[2] > v0 and h[3] < v1]
    low, high = (_side_span(br, hi)[1] if br else v0), (_side_span(tr, hi)[0] if tr else v1)
    side += [(v, None) for v in _outside(right, low, high, [_side_span(h, hi) for h in at_r])]
    for v, h in sorted(side, key=lambda item: item[0]):
        ring += [[hi, v]] if h is None else _cut(h, [[hi, h[2]], [h[0], h[2]], [h[0], h[3]], [hi, h[3]]])
    ring += _cut(tr, [[hi, tr[2]], [tr[0], tr[2]], [tr[0], v1]]) if tr else ([] if hi_path else [[hi, v1]])
    first = tl[1] if tl else (lo_path[-1][0] if lo_path else lo)
    last = tr[0] if tr else (hi_path[-1][0] if hi_path else hi)
    along = [(h[1], h) for h in top]
    along += [(u, None) for u in _outside(above, first, last, [(h[0], h[1]) for h in top])]
    for _, h in sorted(along, key=lambda item: -item[0]):
        ring += [[_, v1]] if h is None else _cut(h, [[h[1], v1], [h[1], h[2]], [h[0], h[2]], [h[0], v1]])
    ring += _cut(tl, [[tl[1], v1], [tl[1], tl[2]], [lo, tl[2]]]) if tl else (lo_path[:0:-1] if lo_path else [[lo, v1]])
    side = [(_side_span(h, lo)[1], h) for h in at_l if h[2] > v0 and h[3] < v1]
    low, high = (_side_span(bl, lo)[1] if bl else v0), (_side_span(tl, lo)[0] if tl else v1)
    side += [(v, None) for v in _outside(left, low, high, [_side_span(h, lo) for h in at_l])]
    for v, h in sorted(side, key=lambda item: -item[0]):
        ring += [[lo, v]] if h is None else _cut(h, [[lo, h[3]], [h[1], h[3]], [h[1], h[2]], [lo, h[2]]])
    ends = [len(ring)]
    for h in mine:
        a, b, c, d = h[:4]
        if c > v0 and d < v1 and a > lo and b < hi:
            ring += _cut(h, [[a, c], [b, c], [b, d], [a, d]])
            ends.append(len(ring))
    return np.array(ring, dtype=np.float64), ends


def _side_span(hole: list[Any], at: float) -> tuple[float, float]:
    """Where ``hole`` (flush with the side u = ``at`` of a face) meets that side: its rectangle's heights, or for a
    notch of another shape ([a, b, c, d, path], its box higher or lower than that: a joined doorway and window
    flush with the corner by the window) the heights of its path's corners on that side."""
    on = [v for u, v in hole[4] if u == at] if len(hole) > 4 and hole[4] else []
    return (min(on), max(on)) if on else (hole[2], hole[3])


def _outside(values: Sequence[float], lo: float, hi: float, spans: list[tuple[float, float]]) -> list[float]:
    """``values`` strictly between ``lo`` and ``hi`` and in none of the closed ``spans`` (start, end), in
    their order; by a search among the spans (a wall of 1,000 notches has 2,000 places to test)."""
    inside = [v for v in values if lo < v < hi]
    if not spans or not inside:
        return inside
    span = np.array(sorted(spans))
    reach = np.maximum.accumulate(span[:, 1])  # the farthest end of the spans starting at or before each
    at = np.searchsorted(span[:, 0], inside, side="right") - 1
    covered = (at >= 0) & (reach[np.maximum(at, 0)] >= np.array(inside))
    return [v for v, c in zip(inside, covered.tolist(), strict=True) if not c]


def _cut(hole: list[Any], corners: list[list[float]]) -> list[list[float]]:
    """The points a face's ring takes around ``hole`` [a, b, c, d]: its rectangle's ``corners`` (from
    where the border enters it to where it leaves, or all four of a hole), or for a notch or window of
    another shape ([a, b, c, d, path]: its box and :func:`~.notches._notch_path`), its own corners."""
    return hole[4] if len(hole) > 4 else corners


def _one_ring_faces(
    u0: F64, u1: F64, v0: F64, v1: F64, chosen: B8, hole_edge: I64, holes: F64, sides: tuple[I64, B8, F64]
) -> tuple[B8, list[tuple[F64, list[int]]]]:
    """:func:`wall_polygons` of the faces ``chosen`` all at once, where it gives one ring: no opening of full
    height or full width or past the face's ends, none of the face's corners in two. An opening flush with
    an end is a notch in that end, one in a corner a notch in two sides. Face frames ``u0, u1, v0, v1`` (e,)
    by edge; ``holes`` (o, 4) [a, b, c, d] clipped, by ``hole_edge`` (ascending, each edge's by a); ``sides``
    (edge, on the right end, height): the extra points on the faces' ends (:func:`wall_polygons`' ``left`` and
    ``right``, repeats allowed).

    Returns the faces (by edge) it did and their rings in edge order: the same points in the same order as
    :func:`_notched_ring` — the bottom-left corner (or the notch in it), the bottom notches by a, the
    bottom-right corner, the right end's notches and points upwards, the top-right corner, the top notches
    by descending b, the top-left corner, the left end's downwards; then the holes by a, a ring each."""
    face_edge = np.flatnonzero(chosen)
    k = face_edge.size
    if k == 0:
        return chosen.copy(), []
    face_of = np.full(chosen.size, -1, dtype=np.int64)
    face_of[face_edge] = np.arange(k)
    lo, hi, bottom, top = u0[face_edge], u1[face_edge], v0[face_edge], v1[face_edge]
    rows = np.flatnonzero(chosen[hole_edge])
    f = face_of[hole_edge[rows]]
    a, b, c, d = holes[rows].T
    left, right, low, high = a <= lo[f], b >= hi[f], c <= bottom[f], d >= top[f]
    # (What one ring cannot hold: a cut into columns or rows, two openings in one corner.)
    done = hi > lo
    done[f[(left & right) | (low & high) | (a < lo[f]) | (b > hi[f])]] = False
    for mask in (left & low, right & low, right & high, left & high):
        done &= np.bincount(f[mask], minlength=k) <= 1
    mine = done[f]
    f, a, b, c, d = f[mine], a[mine], b[mine], c[mine], d[mine]
    left, right, low, high = left[mine], right[mine], low[mine], high[mine]
    # The extra points on the ends: each once, strictly between the corners' notches, in no notch of that end.
    s_edge, s_right, s_v = sides
    pick = chosen[s_edge]
    pick[pick] = done[face_of[s_edge[pick]]]
    end = 2 * face_of[s_edge[pick]] + s_right[pick]
    rows_v = distinct_rows(np.column_stack([end, s_v[pick]]))
    end, s_v = rows_v[:, 0].astype(np.int64), rows_v[:, 1]
    s_face, on_right = end // 2, end % 2 == 1
    corner = np.full((4, k), -1, dtype=np.int64)  # the opening in each corner: BL, BR, TR, TL
    for i, mask in enumerate((left & low, right & low, right & high, left & high)):
        corner[i, f[mask]] = np.flatnonzero(mask)
    under, over = corner[np.where(on_right, 1, 0), s_face], corner[np.where(on_right, 2, 3), s_face]
    floor = np.maximum(bottom[s_face], np.append(d, -np.inf)[under])  # (-1: no notch, the appended bound)
    ceiling = np.minimum(top[s_face], np.append(c, np.inf)[over])
    between = (s_v > bottom[s_face]) & (s_v < top[s_face]) & (s_v > floor) & (s_v < ceiling)
    at_end = np.concatenate([np.flatnonzero(left), np.flatnonzero(right)])
    end_of = np.concatenate([2 * f[left], 2 * f[right] + 1])
    between &= ~_in_spans(end_of, c[at_end], d[at_end], end, s_v)
    s_face, on_right, s_v = s_face[between], on_right[between], s_v[between]
    points = _RingPieces()
    ok = np.flatnonzero(done)
    holes4 = np.stack([a, b, c, d], axis=1)
    # (Ties of keys among openings: their order, by a within a face.)
    for i, section, u, v in ((0, 0, lo, bottom), (1, 2, hi, bottom), (2, 4, hi, top), (3, 6, lo, top)):
        r = corner[i, ok]
        g = ok[r < 0]
        points.add(g, section, np.zeros(g.size), g, [u[g]], [v[g]])
        g, r = ok[r >= 0], r[r >= 0]
        points.add(g, section, np.zeros(g.size), g, *_corner_notch(i, (lo[g], hi[g], bottom[g], top[g]), holes4[r]))
    m = np.flatnonzero(low & ~left & ~right)
    points.add(f[m], 1, a[m], m, [a[m], a[m], b[m], b[m]], [bottom[f[m]], d[m], d[m], bottom[f[m]]])
    m = np.flatnonzero(right & ~low & ~high)
    points.add(f[m], 3, c[m], m, [hi[f[m]], a[m], a[m], hi[f[m]]], [c[m], c[m], d[m], d[m]])
    m = np.flatnonzero(high & ~left & ~right)
    points.add(f[m], 5, -b[m], m, [b[m], b[m], a[m], a[m]], [top[f[m]], c[m], c[m], top[f[m]]])
    m = np.flatnonzero(left & ~low & ~high)
    points.add(f[m], 7, -d[m], m, [lo[f[m]], b[m], b[m], lo[f[m]]], [d[m], d[m], c[m], c[m]])
    # (A notch and a point of one end at the same height cannot be: the notch's span holds the point.)
    for section, side, sign, u in ((3, on_right, 1.0, hi), (7, ~on_right, -1.0, lo)):
        g, v = s_face[side], s_v[side]
        points.add(g, section, sign * v, f.size + np.arange(g.size), [u[g]], [v])
    m = np.flatnonzero(~left & ~right & ~low & ~high)
    points.add(f[m], 8, np.zeros(m.size), m, [a[m], b[m], b[m], a[m]], [c[m], c[m], d[m], d[m]])
    pts, size, outer = points.rings(k)
    start = np.cumsum(size) - size
    rings = [
        (pts[s : s + n], list(range(r, n + 1, 4)))
        for s, n, r in zip(start[ok].tolist(), size[ok].tolist(), outer[ok].tolist(), strict=True)
    ]
    done_edges = np.zeros(chosen.size, dtype=bool)
    done_edges[face_edge[ok]] = True
    return done_edges, rings


def _corner_notch(i: int, face: tuple[F64, F64, F64, F64], hole: F64) -> tuple[list[F64], list[F64]]:
    """The points (us, vs) a ring takes around openings ``hole`` (n, 4) [a, b, c, d] in corner ``i`` (bottom-left,
    bottom-right, top-right, top-left) of faces [lo, hi] × [bottom, top], from where it enters to where it leaves."""
    lo, hi, bottom, top = face
    a, b, c, d = hole.T
    return (
        ([lo, b, b], [d, d, bottom]),
        ([a, a, hi], [bottom, d, d]),
        ([hi, a, a], [c, c, top]),
        ([b, b, lo], [top, c, c]),
    )[i]


class _RingPieces:
    """Pieces of rings (1, 3 or 4 points each), gathered in any order, then laid out face by face in ring
    order: by section, then key, then tie."""

    def __init__(self) -> None:
        self.parts: list[tuple[I64, int, Arr, I64, F64, int]] = []

    def add(self, face: I64, section: int, key: Arr, tie: I64, us: list[Arr], vs: list[Arr]) -> None:
        pts = np.zeros((face.size, 4, 2))
        for i, (u, v) in enumerate(zip(us, vs, strict=True)):
            pts[:, i, 0], pts[:, i, 1] = u, v
        self.parts.append((face, section, key, tie, pts, len(us)))

    def rings(self, k: int) -> tuple[F64, I64, I64]:
        """All the points face by face (k faces), each face's count, and the count in its outer ring."""
        face = np.concatenate([p[0] for p in self.parts])
        section = np.concatenate([np.full(p[0].size, p[1]) for p in self.parts])
        key = np.concatenate([p[2] for p in self.parts])
        tie = np.concatenate([p[3] for p in self.parts])
        count = np.concatenate([np.full(p[0].size, p[5]) for p in self.parts])
        pts = np.concatenate([p[4] for p in self.parts])
        size = np.bincount(face, weights=count, minlength=k).astype(np.int64)
        outer = np.bincount(face, weights=count * (section < 8), minlength=k).astype(np.int64)
        order = np.lexsort((tie, key, section, face))
        return pts[order][np.arange(4) < count[order, None]], size, outer


def _in_spans(span_group: I64, start: F64, stop: F64, group: I64, value: F64) -> B8:
    """Whether each (group, value) lies in a closed span [start, stop] of its group: the last span of the
    group starting at or before it, and the farthest stop of those up to it (complex numbers order as
    (real, imaginary) pairs: one search and one running maximum for every group)."""
    if span_group.size == 0 or group.size == 0:
        return np.zeros(group.size, dtype=bool)
    by = np.lexsort((stop, start, span_group))
    keys = span_group[by] + 1j * start[by]
    reach = np.maximum.accumulate(span_group[by] + 1j * stop[by])
    at = np.searchsorted(keys, group + 1j * value, side="right") - 1
    held = reach[np.maximum(at, 0)]
    out: B8 = (at >= 0) & (held.real == group) & (held.imag >= value)
    return out


def wall_faces(
    faces: Faces,
    w: Walls,
    o: Openings,
    win: Windows,
    notches: Notches,
    fast: B8,
    flush: tuple[I64, F64, I64],
    near: Near,
) -> None:
    """Outer and inner faces of every wall of the ``fast`` rooms, with their openings.

    A face with an opening flush with one of its ends, and the face it meets there (which gets
    the opening's heights on its end edge, where the opening's jamb ends), go to earcut; so does a
    face with a window (:class:`~.openings.Windows`), a hole of its own shape in the ring that holds it, and
    one with an opening's corner near its border (``near``, :func:`~.near.near_borders`): the border gets a
    vertex where the corner projects onto it, and at an end so does the face it meets there. So does a
    face with a notch (:class:`~.notches.Notches`): the opening clipped to the face, its corners in the ring
    where it meets the border (a hole where it does not); one flush with the cavity's corner gives the
    face across its heights there, as a rectangle flush with it does."""
    y0, y1, tt = w.rooms.y0, w.rooms.y1, w.rooms.thickness
    ne = w.room.size
    edges = np.flatnonzero(fast[w.room])
    count = np.bincount(o.edge, minlength=ne)
    origin_out = plan3(w.start)
    origin_in = plan3(w.start + tt[w.room][:, None] * w.inward)
    tan3, out3 = plan3(w.tangent), -plan3(w.inward)
    for k_side, side in enumerate(("outer", "inner")):
        # The face across an end: the outline's neighbour's outer face, the cavity's (past collapsed edges) inner.
        if side == "outer":
            u0, u1 = np.zeros(ne), w.length
            v0, v1 = y0[w.room], y1[w.room]
            origin, normal = origin_out, out3
            before, after = w.prev, w.nxt
        else:
            u0, u1 = w.inner0, w.inner1
            v0, v1 = (y0 + tt)[w.room], (y1 - tt)[w.room]
            origin, normal = origin_in, -out3
            before, after = w.live_prev, w.live_nxt
        # Openings clipped to this face; those that miss it (wholly in a slab) leave it whole.
        hc, hd = np.maximum(o.c, v0[o.edge]), np.minimum(o.d, v1[o.edge])
        holes = np.stack([o.a, o.b, hc, hd], axis=1)
        # Flush with the face's start (end): the face before (after) gets the opening's heights on its end.
        at_lo, at_hi = o.a == u0[o.edge], o.b == u1[o.edge]
        side_edge = np.concatenate([np.tile(before[o.edge[at_lo]], 2), np.tile(after[o.edge[at_hi]], 2)])
        side_v = np.concatenate([o.c[at_lo], o.d[at_lo], o.c[at_hi], o.d[at_hi]])
        side_right = np.repeat([True, False], [2 * int(at_lo.sum()), 2 * int(at_hi.sum())])
        # Near the face's start (end): its corners' heights on that end, and on the end of the face before (after).
        lo_near, hi_near = near.left[k_side], near.right[k_side]
        if lo_near.any() or hi_near.any():
            e_lo, e_hi = o.edge[lo_near], o.edge[hi_near]
            side_edge = np.concatenate([side_edge, np.tile(e_lo, 2), np.tile(before[e_lo], 2)])
            side_edge = np.concatenate([side_edge, np.tile(e_hi, 2), np.tile(after[e_hi], 2)])
            heights = [hc[lo_near], hd[lo_near]] * 2 + [hc[hi_near], hd[hi_near]] * 2
            side_v = np.concatenate([side_v, *heights])
            n_lo, n_hi = 2 * e_lo.size, 2 * e_hi.size
            side_right = np.concatenate([side_right, np.repeat([False, True, True, False], [n_lo, n_lo, n_hi, n_hi])])
        shaped = face_notches(w, notches, k_side == 1, (u0, u1, v0, v1))
        if notches.edge.size:
            side_edge = np.concatenate([side_edge, shaped[1]])
            side_v = np.concatenate([side_v, shaped[2]])
            side_right = np.concatenate([side_right, shaped[3]])
        # (A face with its own opening flush at that end, a pillar, keeps those outside its notch.)
        inside = (side_v > v0[side_edge]) & (side_v < v1[side_edge])
        side_edge, side_v, side_right = side_edge[inside], side_v[inside], side_right[inside]
        special = np.zeros(ne, dtype=bool)
        special[o.edge[at_lo | at_hi]] = True
        special[side_edge] = True
        special[list(shaped[0])] = True
        # A face with a window goes to earcut too, as one ring when it is otherwise plain (below).
        windowed = np.zeros(ne, dtype=bool)
        windowed[win.edge] = True
        # Where a flush hatch's tunnel meets the face: points on its bottom (floor) or top (ceiling) edge.
        f_edge, f_place, f_slab = flush
        # Where an opening's corner near the bottom (top) border projects onto it: points there too.
        low, high = near.bottom[k_side], near.top[k_side]
        if low.any() or high.any():
            f_edge = np.concatenate([f_edge, np.tile(o.edge[low], 2), np.tile(o.edge[high], 2)])
            f_place = np.concatenate([f_place, o.a[low], o.b[low], o.a[high], o.b[high]])
            f_slab = np.concatenate([f_slab, np.repeat([0, 1], [2 * int(low.sum()), 2 * int(high.sum())])])
        # And under (over) a window's or notch's corners near it.
        if near.edge.size:
            f_edge, f_place, f_slab = (
                np.concatenate(pair) for pair in zip((f_edge, f_place, f_slab), near.points(k_side), strict=True)
            )
        f_in = (f_place > u0[f_edge]) & (f_place < u1[f_edge])
        f_edge, f_place, f_slab = f_edge[f_in], f_place[f_in], f_slab[f_in]
        special[f_edge] = True
        rims: dict[tuple[int, int], list[float]] = {}
        for e, place, slab in zip(f_edge.tolist(), f_place.tolist(), f_slab.tolist(), strict=True):
            rims.setdefault((e, slab), []).append(place)
        # (A face with a window or a notch of another shape keeps its rectangles as they are.)
        ok = fast[w.room] & ~windowed
        ok[list(shaped[0])] = False
        # Windows and notches of other shapes whose side along a border has its vertices there: notches.
        side_win, strip_quads = shaped_strips(shaped[0], win, o, holes, (u0, u1, v0, v1), (f_edge, f_place, f_slab))
        if strip_quads[0].size:
            e = strip_quads[0]
            faces.add_quads(strip_quads[1], origin[e], tan3[e], UP, normal[e], w.room[e])
            special[e] = True
        strips = border_strips(o, (low, high), (u0, u1, v0, v1), (hc, hd), (f_edge, f_place, f_slab), ok)
        stacked = stacked_pairs(o, strips, (u0, u1, v0, v1), (hc, hd), (f_edge, f_place, f_slab), ok)
        hole_rows = strip_notches(holes, strips, v0[o.edge], v1[o.edge], stacked)
        if stacked[0].size:
            i, j = stacked
            e = o.edge[i]
            band_u = np.stack([o.a[i], o.b[i], o.b[j], o.a[j]], -1)
            bands = np.stack([band_u, np.stack([hd[i], hd[i], hc[j], hc[j]], -1)], -1)
            faces.add_quads(bands, origin[e], tan3[e], UP, normal[e], w.room[e])
            special[e] = True
        for rows, lo_v, hi_v in ((strips[0], v0[o.edge], hc), (strips[1], hd, v1[o.edge])):
            e = o.edge[rows]
            quads = np.stack(
                [np.stack([o.a, o.b, o.b, o.a], -1)[rows], np.stack([lo_v, lo_v, hi_v, hi_v], -1)[rows]], -1
            )
            faces.add_quads(quads, origin[e], tan3[e], UP, normal[e], w.room[e])
        plain = edges[(count[edges] == 0) & ~special[edges] & ~windowed[edges]]
        rect = np.stack([u0, u1, u1, u0], -1), np.stack([v0, v0, v1, v1], -1)
        quads = np.stack([rect[0][plain], rect[1][plain]], -1)
        faces.add_quads(quads, origin[plain], tan3[plain], UP, normal[plain], w.room[plain])
        single = (count[o.edge] == 1) & ~special[o.edge] & ~windowed[o.edge]
        se = o.edge[single]
        keep_rows = fast[w.room[se]]
        se, sh = se[keep_rows], holes[single][keep_rows]
        outer = np.stack([u0[se], u1[se], v0[se], v1[se]], -1)
        quads4, keep = _frame_quads(outer, sh, sh[:, 2] <= v0[se], sh[:, 3] >= v1[se])
        rep = np.repeat(np.arange(se.size), 4).reshape(-1, 4)[keep]
        faces.add_quads(quads4[keep], origin[se][rep], tan3[se][rep], UP, normal[se][rep], w.room[se][rep])
        multi = edges[(count[edges] >= 2) | special[edges] | windowed[edges]]
        ends: dict[tuple[int, bool], list[float]] = {}
        for e, right, v in zip(side_edge.tolist(), side_right.tolist(), side_v.tolist(), strict=True):
            ends.setdefault((e, right), []).append(v)
        # Faces that are one ring each (most walls: openings between their ends or notches in them, points
        # on their ends), built all at once; the rest one by one (wall_polygons): faces cut into columns, with
        # notches of other shapes, points on their bottom or top, or openings with strips to a border.
        chosen = np.zeros(ne, dtype=bool)
        chosen[multi] = True
        chosen[o.edge[(hc <= v0[o.edge]) & (hd >= v1[o.edge])]] = False
        chosen[list(shaped[0])] = False
        chosen[f_edge] = False
        chosen[o.edge[np.concatenate([*strips, *stacked])]] = False
        plain_face, rings = _one_ring_faces(u0, u1, v0, v1, chosen, o.edge, holes, (side_edge, side_right, side_v))
        plain_rings = iter(rings)
        # Openings are sorted by (edge, a): each edge's are one run.
        other = multi[~plain_face[multi]]
        lo, hi = np.searchsorted(o.edge, other).tolist(), np.searchsorted(o.edge, other, side="right").tolist()
        other_rings = iter(
            [
                wall_polygons(
                    u0_e,
                    u1_e,
                    v0_e,
                    v1_e,
                    _with_notches(hole_rows[lo[i] : hi[i]], shaped[0].get(e)),
                    sorted(set(ends.get((e, False), []))),
                    sorted(set(ends.get((e, True), []))),
                    tuple(sorted(set(rims.get((e, 0), [])))),
                    tuple(sorted(set(rims.get((e, 1), [])))),
                )
                for i, (e, (u0_e, u1_e, v0_e, v1_e)) in enumerate(
                    zip(other.tolist(), np.stack([u0, u1, v0, v1], 1)[other].tolist(), strict=True)
                )
            ]
        )
        jobs: list[tuple[F64, list[int], int]] = []
        for e, is_plain in zip(multi.tolist(), plain_face[multi].tolist(), strict=True):
            if is_plain:
                jobs.append((*next(plain_rings), e))
            else:
                jobs += [(points, ring_ends, e) for points, ring_ends in next(other_rings)]
        if side_win.edge.size:
            jobs = _with_windows(jobs, side_win)
        ups = np.broadcast_to(UP, origin.shape)
        faces.add_earcut(jobs, (origin, tan3, ups, normal, w.room))


def _with_notches(holes: list[list[Any]], notches: list[list[Any]] | None) -> list[list[Any]]:
    """A face's rectangular openings [a, b, c, d] (sorted by a; empty ones left out: the upper of a pair
    cut as one, :func:`~.border_strips.strip_notches`) and its notches' entries, sorted by a."""
    holes = [h for h in holes if h]
    return holes if notches is None else sorted(holes + notches, key=lambda h: h[0])


def _with_windows(jobs: list[tuple[F64, list[int], int]], win: Windows) -> list[tuple[F64, list[int], int]]:
    """``jobs`` (rings of wall faces: points, ring ends, edge) with each window's corners added as a
    hole of the ring of its edge that holds it (a face cut into columns or rows by other openings
    has several; the window is clear of them all, so inside one outer ring), in window order.

    Which ring holds a window: the only one of its edge, or where the edge has several, its centre
    against every side of each (crossing number), the first ring that holds it; those (window, side)
    rows are made in groups of windows of at most :data:`_WINDOW_ROWS` rows (1,000 trapezoid windows in
    a wall whose borders hold 4,000 vertices made 4 million rows at once, ~0.5 GB)."""
    if not jobs or win.edge.size == 0:
        return list(jobs)
    job_edge = np.array([e for _, _, e in jobs], np.int64)
    sides = np.array([ends[0] for _, ends, _ in jobs], np.int64)
    rings = np.concatenate([points[: ends[0]] for points, ends, _ in jobs])
    ring_start = np.cumsum(sides) - sides
    by_edge = np.argsort(job_edge, kind="stable")
    lo = np.searchsorted(job_edge[by_edge], win.edge)
    n = np.searchsorted(job_edge[by_edge], win.edge, side="right") - lo
    holder = np.full(win.edge.size, -1, np.int64)  # the job whose ring holds each window
    one = n == 1
    holder[one] = by_edge[lo[one]]
    several = np.flatnonzero(n > 1)
    if several.size:
        lo, n = _rings_across(win, several, lo, n, job_edge[by_edge], rings, ring_start[by_edge], sides[by_edge])
    # Rows a window of ``several`` makes: every side of every ring of its edge (that may hold it).
    total = np.concatenate([[0], np.cumsum(sides[by_edge])])
    rows = total[lo[several] + n[several]] - total[lo[several]]
    group = (np.cumsum(rows) - rows) // _WINDOW_ROWS
    for g in distinct(group).tolist():
        mine = several[group == g]
        holder[mine] = _ring_holding(win, mine, lo[mine], n[mine], by_edge, sides, ring_start, rings)
    out = list(jobs)
    window = np.flatnonzero(holder >= 0)
    holder = holder[window]
    order = np.argsort(holder, kind="stable")  # each job's windows in window order
    bounds = np.flatnonzero(np.diff(holder[order], prepend=-1, append=-1))
    for lo_k, hi_k in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k, polys = int(holder[order[lo_k]]), win.poly[window[order[lo_k:hi_k]]]
        points, ends, e = out[k]
        last = ends[-1]
        out[k] = (
            np.concatenate([points, polys.reshape(-1, 2)]),
            [*ends, *(last + 4 * np.arange(1, len(polys) + 1)).tolist()],
            e,
        )
    return out


def _rings_across(
    win: Windows, several: I64, lo: I64, n: I64, edge: I64, rings: F64, start: I64, sides: I64
) -> tuple[I64, I64]:
    """``lo``, ``n`` (the run of rings, in (edge, job) order, each window's edge has) narrowed for the
    windows ``several`` to the rings whose span along the wall holds the window's centre: only those can
    hold it, so the first that does is the same. Rings of one edge (``edge``, ``start``, ``sides``: where
    each one's points lie in ``rings``) are a face's columns left to right, so those ends rise along the
    run; where they do not on some edge, nothing is narrowed. A face cut into 1,000 columns by trapezoids
    with strips to both borders tested each of its other windows against every column's sides."""
    lo, n = lo.copy(), n.copy()
    u = rings[ranges(start, sides)[1], 0]
    offset = np.cumsum(sides) - sides
    u_lo, u_hi = np.minimum.reduceat(u, offset), np.maximum.reduceat(u, offset)
    same = edge[1:] == edge[:-1]
    if (same & ((np.diff(u_lo) < 0) | (np.diff(u_hi) < 0))).any():
        return lo, n
    centre = win.poly[several, :, 0].mean(axis=1)
    at = win.edge[several].astype(np.float64)
    first = np.searchsorted(edge + 1j * u_hi, at + 1j * centre, "left")
    last = np.searchsorted(edge + 1j * u_lo, at + 1j * centre, "right")
    first = np.clip(first, lo[several], lo[several] + n[several])
    last = np.clip(last, first, lo[several] + n[several])
    lo[several], n[several] = first, last - first
    return lo, n


#: (window, ring side) rows :func:`_with_windows` makes at once, at most (about 100 bytes each with the temporaries).
_WINDOW_ROWS = 1 << 20


def _ring_holding(
    win: Windows, windows: I64, lo: I64, n: I64, by_edge: I64, sides: I64, ring_start: I64, rings: F64
) -> I64:
    """For each of ``windows``, the first job (of ``by_edge[lo:lo + n]``, its edge's rings in job order)
    whose outer ring holds the window's centre (crossing number), or -1."""
    which, at = ranges(lo, n)
    pair_win, pair_job = windows[which], by_edge[at]
    # (pair, side) rows: side j of the pair's ring runs from its point j to point j + 1.
    m = sides[pair_job]
    row_pair, j = ranges(np.zeros_like(m), m)
    first = ring_start[pair_job][row_pair]
    a = rings[first + j]
    b = rings[first + (j + 1) % m[row_pair]]
    point = win.poly[pair_win].mean(axis=1)[row_pair]
    crosses = (a[:, 1] > point[:, 1]) != (b[:, 1] > point[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = a[:, 0] + (point[:, 1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    inside = np.bincount(row_pair, weights=crosses & (point[:, 0] < x), minlength=pair_job.size) % 2 == 1
    # The first ring holding each window (pairs are in window order, then job order).
    held = inside.nonzero()[0]
    first = np.full(windows.size, pair_job.size)
    np.minimum.at(first, np.searchsorted(windows, pair_win[held]), held)
    out: I64 = np.where(first < pair_job.size, pair_job[np.minimum(first, pair_job.size - 1)], -1)
    return out
