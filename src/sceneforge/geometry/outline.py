"""Room outlines as wall edges: the plan-view (x, z) geometry every other geometry module reads.

A :class:`~sceneforge.model.ir.Room` outline is a simple polygon in (x, z). Ingest normalizes
its winding, but this module does not rely on it: the outward normal of each edge is taken
from the sign of the polygon's area, so either winding gives the same walls.

:func:`simplify_outline` drops the vertices that carry no wall: repeats and points on the line
of their neighbours (within ``WELD_EPS``), which hand-drawn and exported outlines have (a wall
drawn in two strokes, a corner clicked twice). Left in, they make walls a hair long or a hair
bent: faces no renderer can draw once written as float32 (sliver triangles).

Cost: O(k) numpy work for k vertices in all, no Python loop over vertices or outlines
(:func:`simplify_outline`: a few numpy rounds per outline, each O(k)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from ..tolerances import WELD_EPS

#: Corners sharper than this miter ratio (offset distance / thickness) are squared off by Clipper (the
#: rooms' mitred inward offset, manifold3d's CrossSection); 1,000 keeps every corner above 0.1° mitred exactly.
MITER_LIMIT = 1000.0

__all__ = [
    "ORIENT_BOUND",
    "TINY",
    "WallEdges",
    "orient2",
    "orient_signs",
    "outline_keeps",
    "outlines_keep",
    "outlines_on_axes",
    "relative_cross",
    "segments_meet",
    "simplify_outline",
    "star_simple",
    "wall_edges_of",
]

F64 = npt.NDArray[np.float64]

#: Edges shorter than this (m) are dropped as duplicate vertices; far below any wall length.
_MIN_EDGE = 1e-9


def orient2(a: F64, b: F64, c: F64) -> F64:
    """Twice the signed area of the triangles (a, b, c), points (..., 2) in the plane: positive when
    they turn counter-clockwise, 0 when collinear (broadcasts like elementwise arithmetic)."""
    out: F64 = (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])
    return out


#: Shewchuk's bound on the rounding error of :func:`orient2` in floats, relative to the sum of its
#: two products' magnitudes (valid while nothing underflows: below :data:`TINY` it is not used).
ORIENT_BOUND = (3.0 + 16.0 * 2.0**-53) * 2.0**-53
TINY = 1e-250


def orient_signs(a: F64, b: F64, c: F64) -> npt.NDArray[np.int8]:
    """The sign of :func:`orient2` (1, 0 or -1) exactly, for the points as given (shapes broadcast).

    The float product is taken where it is farther from 0 than its rounding error can reach
    (Shewchuk's filter: nearly everywhere); the rest — three points all but on one line, as two
    walls of a turned T-shaped room are — in exact rational arithmetic, one at a time."""
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))
    shape = a.shape[:-1]
    a, b, c = a.reshape(-1, 2), b.reshape(-1, 2), c.reshape(-1, 2)
    left = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1])
    right = (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    det = left - right
    bound = ORIENT_BOUND * (np.abs(left) + np.abs(right))
    out = np.sign(det).astype(np.int8)
    unsure = np.flatnonzero(~((np.abs(det) > bound) & (bound > TINY)))
    if unsure.size:
        corners = [p[unsure].tolist() for p in (a, b, c)]
        for at, (ax, ay), (bx, by), (cx, cy) in zip(unsure.tolist(), *corners, strict=True):
            ax, ay, bx, by, cx, cy = map(Fraction, (ax, ay, bx, by, cx, cy))
            exact = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
            out[at] = (exact > 0) - (exact < 0)
    return out.reshape(shape)


def segments_meet(a: F64, b: F64, c: F64, d: F64) -> npt.NDArray[np.bool_]:
    """Whether segments a→b and c→d (points (..., 2), shapes broadcast) cross or touch, or run
    collinear over a shared stretch: exactly, for the points as given (:func:`orient_signs`), so two
    collinear walls apart on one line (a T-shaped room's) never cross by rounding."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (a, b, c, d)))
    out = np.zeros(a.shape[:-1], dtype=bool)
    # Segments whose boxes do not meet do not either (and need no orientation test).
    near = np.flatnonzero(
        (
            (np.minimum(a, b) <= np.maximum(c, d)).all(axis=-1) & (np.minimum(c, d) <= np.maximum(a, b)).all(axis=-1)
        ).reshape(-1)
    )
    if near.size == 0:
        return out
    a, b, c, d = (x.reshape(-1, 2)[near] for x in (a, b, c, d))
    o1, o2, o3, o4 = orient_signs(a, b, c), orient_signs(a, b, d), orient_signs(c, d, a), orient_signs(c, d, b)
    crossing = (o1 * o2 <= 0) & (o3 * o4 <= 0) & ~((o1 == 0) & (o2 == 0))
    # Collinear (few: on one line with boxes that meet): they meet only over a stretch, walls end to end
    # on one line share a corner, no more. Measured along a→b exactly, as the orientations were.
    for row in np.flatnonzero((o1 == 0) & (o2 == 0)).tolist():
        fa, fb, fc, fd = ([Fraction(v) for v in p[row].tolist()] for p in (a, b, c, d))
        axis = [fb[0] - fa[0], fb[1] - fa[1]]
        along = [(p[0] - fa[0]) * axis[0] + (p[1] - fa[1]) * axis[1] for p in (fc, fd)]
        crossing[row] = max(along) > 0 and min(along) < axis[0] * axis[0] + axis[1] * axis[1]
    out.reshape(-1)[near] = crossing
    return out


def star_simple(ring: F64) -> bool:
    """Whether the closed outline ``ring`` (k, 2) is simple because it is star-shaped about its vertex
    mean or its box's centre: True proves it simple, False proves nothing (an outline none of whose
    points sees all of it, or one that winds round twice).

    About a centre c that every edge passes strictly on one side of, with the same turn each
    (:func:`orient_signs`, exact), the angle about c grows along the whole outline; once round
    (one edge crossing the ray from c along +x, counted with half-open ends: comparisons only), every
    ray from c meets the outline once, so no two of its points coincide. O(k) numpy work: the test
    a dense star needs, whose long edges fanning out crowd every grid of edge boxes (a 4,096-point
    star took 0.16 s in a sweep of one orientation test at a time)."""
    nxt = np.roll(ring, -1, axis=0)
    for centre in (ring.mean(axis=0), 0.5 * (ring.min(axis=0) + ring.max(axis=0))):
        turn = orient_signs(centre, ring, nxt)
        if turn[0] == 0 or not (turn == turn[0]).all():
            continue
        below, after = ring[:, 1] < centre[1], nxt[:, 1] < centre[1]
        crossings = below & ~after if turn[0] > 0 else ~below & after  # the +x ray, in the turn's sense
        if int(crossings.sum()) == 1:
            return True
    return False


#: How far apart across x (or z) the ends of an outline's edge may lie (m) for :func:`outlines_on_axes`
#: to put the edge on that axis: a plan turned by 90° with cos and sin is off by ~1e-16 of its
#: coordinates (~1e-11 m at 100 km), which exact tests elsewhere would take for a tilt.
AXIS_SNAP = 1e-9


def outlines_on_axes(points: F64, counts: npt.NDArray[np.int64], reach: float = AXIS_SNAP) -> F64:
    """``points`` (n, 2), outlines end to end (``counts`` points each), with every edge whose ends lie
    within ``reach`` of each other across x (or z), but not equal, put on that axis: its second end
    takes the first's value. The array itself where nothing moves."""
    n = points.shape[0]
    if n == 0:
        return points
    first = np.repeat(np.cumsum(counts) - counts, counts)
    at = np.arange(n)
    nxt = np.where(at + 1 < first + np.repeat(counts, counts), at + 1, first)
    out = points
    for axis in (0, 1):
        gap = np.abs(points[nxt, axis] - points[:, axis])
        snap = (gap > 0.0) & (gap <= reach)
        if snap.any():
            out = out.copy() if out is points else out
            out[nxt[snap], axis] = points[snap, axis]
    return out


def relative_cross(start: F64, end: F64, base: F64) -> F64:
    """Each edge's shoelace term (start × end) taken relative to ``base`` (its outline's first vertex),
    (n, 2) each: summed over an outline, twice its signed area. Products of absolute coordinates
    cancel far from the origin (a 1 mm room at 8e5 m summed to the wrong sign); these differences of
    nearby coordinates are exact."""
    rs, re = start - base, end - base
    out: F64 = rs[:, 0] * re[:, 1] - re[:, 0] * rs[:, 1]
    return out


def simplify_outline(outline: F64, tolerance: float = WELD_EPS) -> F64:
    """``outline`` (k, 2) without the vertices that are within ``tolerance`` (m) of the segment
    joining their neighbours (a repeated point, a point on a straight wall), in order; the
    indices kept are :func:`outline_keeps`'. Returns ``outline`` itself when nothing is dropped."""
    points = np.asarray(outline, dtype=np.float64)
    kept = outline_keeps(points, tolerance)
    return points if kept.size == points.shape[0] else points[kept]


def outline_keeps(outline: F64, tolerance: float = WELD_EPS) -> npt.NDArray[np.int64]:
    """The indices of the vertices of ``outline`` (k, 2) that :func:`simplify_outline` keeps.

    Removed in rounds: a round drops such vertices of one index parity only (alternating), so no
    two neighbours go in one round and each test is against vertices that stay; it ends when no
    vertex qualifies or three are left. On a finely sampled curve (every vertex within tolerance
    of its chord) each round halves the vertices, so the result may stray a few ``tolerance``
    from the input; on straight runs and repeats it is exact.
    """
    points = np.asarray(outline, dtype=np.float64)
    return np.flatnonzero(outlines_keep(points, np.array([points.shape[0]]), tolerance))


def outlines_keep(points: F64, counts: npt.NDArray[np.int64], tolerance: float = WELD_EPS) -> npt.NDArray[np.bool_]:
    """:func:`outline_keeps` of many outlines at once: ``points`` (n, 2) the outlines end to end,
    ``counts`` (m,) their vertex counts; returns which of the n vertices stay (n,).

    Every outline goes through the same rounds as alone (the same arithmetic, row by row), all of
    them in one numpy pass per round: a level of a thousand polygon rooms costs a few rounds, not
    a thousand calls.
    """
    n = points.shape[0]
    owner = np.repeat(np.arange(counts.size), counts)
    alive = np.ones(n, dtype=bool)
    size = counts.astype(np.int64, copy=True)
    idle = np.zeros(counts.size, dtype=np.int64)
    parity = 0
    while True:
        active = (size > 3) & (idle < 2)
        if not active.any():
            return alive
        sel = np.flatnonzero(alive & active[owner])
        group = owner[sel]
        # Each outline's run in ``sel``: its first place, its length (= its size), each vertex's place in it.
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        k = size[group[starts]]
        local = np.arange(sel.size) - np.repeat(starts, k)
        before = np.arange(sel.size) - 1
        before[starts] = starts + k - 1
        after = np.arange(sel.size) + 1
        after[starts + k - 1] = starts
        p = points[sel]
        prev, nxt = p[before], p[after]
        chord, rel = nxt - prev, p - prev
        length2 = np.einsum("ik,ik->i", chord, chord)
        t = np.clip(np.einsum("ik,ik->i", rel, chord) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        gap = rel - t[:, None] * chord
        drop = (np.einsum("ik,ik->i", gap, gap) <= tolerance * tolerance) & (local % 2 == parity)
        odd = k % 2 == 1  # vertices k - 1 and 0 are neighbours of one parity
        last = starts[odd] + k[odd] - 1
        drop[last] &= ~drop[starts[odd]]
        # Three vertices stay: an outline's drops after its first k - 3 are kept.
        rank = np.cumsum(drop) - np.repeat(np.cumsum(drop)[starts] - drop[starts], k)
        drop &= rank <= np.repeat(k - 3, k)
        dropped = np.add.reduceat(drop.astype(np.int64), starts)
        outline = group[starts]
        idle[outline] = np.where(dropped > 0, 0, idle[outline] + 1)
        size[outline] -= dropped
        alive[sel[drop]] = False
        parity ^= 1


@dataclass(frozen=True, slots=True)
class WallEdges:
    """The e outer edges of one or more outlines, as arrays in (x, z).

    ``start`` (e, 2) first point, ``tangent`` (e, 2) unit direction, ``normal`` (e, 2) unit,
    pointing out of the room, ``length`` (e,) metres, ``room`` (e,) index of the outline the
    edge belongs to (edges are grouped by outline, in outline order).
    """

    start: F64
    tangent: F64
    normal: F64
    length: F64
    room: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.length.shape[0])


def wall_edges_of(outlines: Sequence[F64]) -> WallEdges:
    """Outer edges of many (k_i, 2) outlines at once, outward normals, zero-length edges dropped.

    One vectorized pass over all vertices (no per-outline numpy calls): the generator runs it
    once for every room of a scene.
    """
    counts = np.array([o.shape[0] for o in outlines], dtype=np.int64)
    if counts.size == 0:
        empty = np.empty((0, 2))
        return WallEdges(empty, empty, empty, np.empty(0), np.empty(0, dtype=np.int64))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    start = np.concatenate(outlines, axis=0).astype(np.float64, copy=False)
    room = np.repeat(np.arange(counts.size), counts)
    following = np.arange(start.shape[0]) + 1
    last = first + counts - 1
    following[last] = first
    end = start[following]
    cross = relative_cross(start, end, start[first][room])
    side = np.where(np.add.reduceat(cross, first) > 0.0, 1.0, -1.0)[room]
    delta = end - start
    length = np.hypot(delta[:, 0], delta[:, 1])
    keep = length > _MIN_EDGE
    start, delta, length, room, side = start[keep], delta[keep], length[keep], room[keep], side[keep]
    tangent = delta / length[:, None]
    # The interior lies left of each edge for a positive shoelace area, so outward is to the right.
    normal = side[:, None] * np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    return WallEdges(start=start, tangent=tangent, normal=normal, length=length, room=room)
