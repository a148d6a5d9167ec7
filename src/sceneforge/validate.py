"""Semantic validation: the rules the wire schema cannot express.

Two entry points, run by the compiler at two moments:

* :func:`validate_description` before lowering: ids (unknown, duplicate), portal quads
  (degenerate, non-planar, non-convex, self-intersecting), floor polygons, the limits on
  cells, portals, portals of a cell, instance groups, materials and floor points, and the warnings that need
  only the graph (empty cell, unreachable cell).
* :func:`validate_scene` after geometry: the triangle limit, geometry placed beyond
  ±MAX_COORDINATE (by assets, transforms, instances), and the warnings that need geometry
  (a portal that does not touch the cells it joins, or that lies on no wall or slab of a room
  cell it joins, so that no opening is cut there).

Errors raise :class:`SceneInvalid` with every error found (not just the first); warnings are
returned. Every issue's path is a JSON pointer into the description. Quad checks are
vectorized over all portals at once.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .arrays import distinct, distinct_rows
from .config import Limits
from .errors import Issue, LimitExceeded, SceneInvalid
from .model.description import MAX_COORDINATE, SceneDescription, past_extent
from .model.ir import DEFAULT_MATERIAL, SceneIR, Surface
from .tolerances import AREA_EPS, CONTACT_EPS, CONVEX_EPS, PLANARITY_EPS

if TYPE_CHECKING:
    from .geometry.doors import RoomArrays

__all__ = [
    "check_polygon",
    "check_polygons",
    "check_quads",
    "instance_extent",
    "validate_description",
    "validate_scene",
]


def check_quads(quads: np.ndarray) -> list[tuple[int, str, str]]:
    """Check (n, 4, 3) quads; return ``(index, code, message)`` for each bad one (first problem only)."""
    if len(quads) == 0:
        return []
    q = np.asarray(quads, dtype=np.float64)
    edges = np.roll(q, -1, axis=1) - q  # (n, 4, 3): edge i runs from vertex i to i+1
    # The largest corner triangle tells a degenerate quad (all points nearly collinear) from a bow-tie,
    # whose Newell normal cancels out; its normal is the reference for planarity and convexity.
    corner = np.cross(edges, np.roll(edges, -1, axis=1))  # (n, 4, 3): 2·area of triangle (i, i+1, i+2)
    corner_area = 0.5 * np.linalg.norm(corner, axis=2)
    area = corner_area.max(axis=1)
    reference = corner[np.arange(len(q)), corner_area.argmax(axis=1)]
    safe = np.where(area[:, None] > 0, reference / np.maximum(2 * area, 1e-300)[:, None], 0.0)
    centre = q.mean(axis=1, keepdims=True)
    off_plane = np.abs(np.einsum("nkj,nj->nk", q - centre, safe)).max(axis=1)
    turns = np.einsum("nkj,nj->nk", corner, safe)  # (n, 4) signed turn at each vertex
    # Diagonals of a simple quad cross; in a bow-tie one pair of opposite edges crosses instead.
    d1, d2 = q[:, 2] - q[:, 0], q[:, 3] - q[:, 1]
    diag_cross = np.einsum("nj,nj->n", np.cross(d1, d2), safe)
    mixed_turns = (turns > CONVEX_EPS).any(axis=1) & (turns < -CONVEX_EPS).any(axis=1)
    bad = (area < AREA_EPS) | (off_plane > PLANARITY_EPS) | (np.abs(diag_cross) <= CONVEX_EPS) | mixed_turns
    out: list[tuple[int, str, str]] = []
    for i in np.flatnonzero(bad).tolist():  # messages for the bad quads only
        if area[i] < AREA_EPS:
            out.append((i, "degenerate", f"quad spans {area[i]:.3g} m², below {AREA_EPS:g} m²"))
        elif off_plane[i] > PLANARITY_EPS:
            out.append(
                (
                    i,
                    "non_planar",
                    f"quad vertices lie up to {off_plane[i]:.3g} m off their plane (max {PLANARITY_EPS:g} m)",
                )
            )
        else:
            code = "self_intersecting" if _bow_tie(q[i], safe[i]) else "non_convex"
            out.append(
                (i, code, "quad edges cross each other" if code == "self_intersecting" else "quad is not convex")
            )
    return out


def _bow_tie(quad: np.ndarray, normal: np.ndarray) -> bool:
    # Project to 2D and test whether edge 0-1 crosses 2-3 or edge 1-2 crosses 3-0.
    axis = int(np.argmax(np.abs(normal)))
    p = np.delete(quad, axis, axis=1)
    return _segments_cross(p[0], p[1], p[2], p[3]) or _segments_cross(p[1], p[2], p[3], p[0])


def _segments_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    from .geometry.outline import orient_signs

    return bool(orient_signs(a, b, c) * orient_signs(a, b, d) < 0 and orient_signs(c, d, a) * orient_signs(c, d, b) < 0)


def check_polygon(points: np.ndarray, scan: list[int] | None = None) -> tuple[str, str] | None:
    """Check a (k, 2) floor outline: ``(code, message)`` for the first problem, or None if it is simple.

    The outline is checked as rooms are built from it: without the vertices on the line of their
    neighbours (:func:`~sceneforge.geometry.outline.simplify_outline`), so a repeated corner or a
    point a hair past a corner is no error. ``scan``: the pairs left for naming first crossings
    (:data:`_SCAN_PAIRS`), shared by the outlines of one description and spent in place."""
    from .geometry.outline import outline_keeps, star_simple

    given = np.asarray(points, dtype=np.float64)
    kept = outline_keeps(given)  # messages number the edges as given: edge i of p is edge kept[i]
    p = given[kept]
    nxt = np.roll(p, -1, axis=0)
    if (np.linalg.norm(nxt - p, axis=1) < 1e-9).any():
        return "degenerate", "floor polygon repeats a vertex"
    # A large star-shaped outline (a round room, a dense star) is proved simple in O(k) before any pair is tested.
    simple = len(p) > _ALL_PAIRS_EDGES and star_simple(p)
    crossing = None if simple else _first_crossing(p, nxt, scan if scan is not None else [_SCAN_PAIRS])
    if crossing is not None:
        i, j = crossing
        return "self_intersecting", f"floor polygon edges {int(kept[i])} and {int(kept[j])} cross"
    # Neighbouring edges folding back onto each other (a spike of no width).
    fold = _folds(p, nxt, axis=0)
    if fold.any():
        e = int(np.argmax(fold))
        before = int(kept[e - 1])  # edge -1 is the last
        return "self_intersecting", f"floor polygon edges {before} and {int(kept[e])} fold back onto each other"
    area = float(_areas(p[None])[0])
    if area < AREA_EPS:
        return "degenerate", f"floor polygon has area {area:.3g} m², below {AREA_EPS:g} m²"
    return None


#: Outlines of at most this many edges test every pair of them; larger ones the pairs whose boxes meet.
_ALL_PAIRS_EDGES = 256
#: Grid cells per edge, and partners per edge, :func:`_box_pairs` may list (on average).
_GRID_PAIRS = 256
#: Edge pairs tested at once by :func:`check_polygon` (~100 bytes each with the temporaries).
_PAIR_RUN = 1 << 20
#: Edge pairs :func:`_first_crossing` tests, in order, to name the first crossing of an outline the
#: grid cannot split and the sweep finds crossing (~0.3 s); past them it names the sweep's pair. One
#: budget for all the outlines of a description (:func:`check_polygons`): 24 crossing stars of 4,096
#: points, within the floor-point limit, took 0.7 s each.
_SCAN_PAIRS = 2 << 20


def _first_crossing(p: np.ndarray, nxt: np.ndarray, scan: list[int]) -> tuple[int, int] | None:
    """The first pair (i < j, in order of i then j) of non-adjacent edges p[i]→nxt[i] of an outline that
    meet (:func:`_edges_meet`), or None.

    Pairs are tested a bounded run at a time: every pair of a small outline; of a large one those whose
    bounding boxes share a grid cell (:func:`_box_pairs`). An outline whose boxes crowd every grid (a
    dense star: thousands of long edges fanning out) is first swept (:func:`_sweep`, O(k log k)); it
    took every pair, 1.1 s at 4,096 points and 23 s at 20,000. Swept clean, only the pairs the sweep
    saw side by side are tested as every pair was (a pair a hair apart, which rounding could call
    meeting, is side by side unless another edge passes between them, closer still). Once the sweep
    finds edges that meet, every pair is tested in order while ``scan[0]`` (pairs left, spent here) lasts,
    so that the message names the pair testing every pair named; past them it names the pair the sweep
    found.

    On an outline the sweep takes, a pair a hair apart that float arithmetic calls meeting but the sweep
    does not see side by side is missed; the exact tests call it apart too."""
    k = len(p)
    witness: tuple[int, int] | None = None
    runs: Iterator[tuple[np.ndarray, np.ndarray]] | None = _edge_pairs(p, nxt)
    if runs is None:
        witness, near = _sweep(p)
        if witness is None:
            i, j = near
            meet = _edges_meet(p[i], nxt[i], p[j], nxt[j])
            if not meet.any():
                return None
            e = int(np.argmax(meet))
            witness = int(i[e]), int(j[e])
        runs = _row_runs(k)
    for i, j in runs:
        if witness is not None and scan[0] <= 0:
            i0, j0 = sorted(witness)
            return (i0, j0) if (j0 - i0) % k not in (1, k - 1) else None
        if witness is not None:
            scan[0] -= i.size
        crossing = _edges_meet(p[i], nxt[i], p[j], nxt[j])
        if crossing.any():
            e = int(np.argmax(crossing))
            return int(i[e]), int(j[e])
    return None


def _edge_pairs(p: np.ndarray, nxt: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]] | None:
    """The pairs (i < j) of non-adjacent edges p[i]→nxt[i] of an outline that may cross, in runs of
    at most :data:`_PAIR_RUN`, ordered by i then j. Every pair while the outline is small. Else the
    pairs whose bounding boxes share a cell of a grid of about k cells (edges that cross or touch
    have boxes that meet, and boxes that meet share a cell): a 4,096-point outline tested all 8
    million pairs in 5 s and 1.4 GB; a sensible one has a few per edge. None for an outline whose
    boxes crowd the grid (long edges across it)."""
    k = len(p)
    if k <= _ALL_PAIRS_EDGES:
        i, j = np.triu_indices(k, 2)
        keep = ~((i == 0) & (j == k - 1))
        return iter([(i[keep], j[keep])])
    near = _box_pairs(p, nxt)
    if near is None:
        return None
    i, j = near
    return ((i[at : at + _PAIR_RUN], j[at : at + _PAIR_RUN]) for at in range(0, i.size, _PAIR_RUN))


def _row_runs(k: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every pair (i < j) of non-adjacent edges of a k-edge outline, ordered by i then j, a run of
    rows (at most about :data:`_PAIR_RUN` pairs) at a time."""
    rows = max(1, _PAIR_RUN // k)
    for r0 in range(0, k, rows):
        r = np.arange(r0, min(r0 + rows, k))
        n = np.maximum(k - r - 2, 0)  # partners r + 2 … k - 1
        i = np.repeat(r, n)
        j = i + 2 + np.arange(i.size) - np.repeat(np.cumsum(n) - n, n)
        keep = ~((i == 0) & (j == k - 1))
        yield i[keep], j[keep]


def _sweep(p: np.ndarray) -> tuple[tuple[int, int] | None, tuple[np.ndarray, np.ndarray]]:
    """A sweep over the outline ``p`` (k, 2) (Shamos–Hoey: edges kept in order along a line moving in
    x, a new neighbour tested as it comes), with exact orientation tests: O(k log k) tests, in Python.

    Returns a pair of edges that share a point (beyond the corner adjacent edges share), or None when
    the outline is simple; and the non-adjacent pairs (i, j), i < j, ordered, that were neighbours on
    the line before the sweep stopped. A pair that meets may be adjacent (a fold); the sweep stops at
    the first it finds, which is not the first in edge order."""
    from .geometry.outline import ORIENT_BOUND, TINY

    k = len(p)
    xs: list[float] = p[:, 0].tolist()
    ys: list[float] = p[:, 1].tolist()
    exact_x, exact_y = _exact_coordinates(p)

    def orient(a: int, b: int, c: int) -> int:
        """The sign of :func:`~sceneforge.geometry.outline.orient2` of vertices a, b, c, exactly."""
        ax, ay = xs[a], ys[a]
        left, right = (xs[b] - ax) * (ys[c] - ay), (ys[b] - ay) * (xs[c] - ax)
        bound = ORIENT_BOUND * (abs(left) + abs(right))
        det = left - right
        if bound > TINY and abs(det) > bound:
            return 1 if det > 0 else -1
        ex, ey = exact_x[a], exact_y[a]
        exact = (exact_x[b] - ex) * (exact_y[c] - ey) - (exact_y[b] - ey) * (exact_x[c] - ex)
        return (exact > 0) - (exact < 0)

    def within(a: int, b: int, c: int) -> bool:
        """Whether c, on the line through a and b, lies on the segment a–b."""
        return min(xs[a], xs[b]) <= xs[c] <= max(xs[a], xs[b]) and min(ys[a], ys[b]) <= ys[c] <= max(ys[a], ys[b])

    def adjacent(s: int, t: int) -> bool:
        return (s - t) % k in (1, k - 1)

    def meet(s: int, t: int) -> bool:
        """Whether edges s and t share a point, beyond the corner of adjacent ones."""
        a0, a1, b0, b1 = s, (s + 1) % k, t, (t + 1) % k
        if adjacent(s, t):
            u, w, z = (a0, a1, b1) if a1 == b0 else (b0, b1, a1)  # u→w then w→z
            if orient(u, w, z) != 0:
                return False
            dot = (exact_x[w] - exact_x[u]) * (exact_x[z] - exact_x[w])
            return dot + (exact_y[w] - exact_y[u]) * (exact_y[z] - exact_y[w]) < 0
        o1, o2, o3, o4 = orient(a0, a1, b0), orient(a0, a1, b1), orient(b0, b1, a0), orient(b0, b1, a1)
        if o1 * o2 < 0 and o3 * o4 < 0:
            return True
        return (
            (o1 == 0 and within(a0, a1, b0))
            or (o2 == 0 and within(a0, a1, b1))
            or (o3 == 0 and within(b0, b1, a0))
            or (o4 == 0 and within(b0, b1, a1))
        )

    # Each edge from its lower end to its higher one, in (x, y) order; vertices visited in that order.
    start = np.arange(k)
    end = np.roll(start, -1)
    first_is_low = (p[:, 0] < p[end, 0]) | ((p[:, 0] == p[end, 0]) & (p[:, 1] < p[end, 1]))
    low, high = np.where(first_is_low, start, end).tolist(), np.where(first_is_low, end, start).tolist()
    order = np.lexsort((p[:, 1], p[:, 0]))
    near: list[tuple[int, int]] = []

    def seen(s: int, t: int) -> tuple[int, int] | None:
        near.append((s, t))
        return (s, t) if meet(s, t) else None

    def result(witness: tuple[int, int] | None) -> tuple[tuple[int, int] | None, tuple[np.ndarray, np.ndarray]]:
        pairs = np.array(near, dtype=np.int64).reshape(-1, 2)
        pairs = distinct_rows(np.sort(pairs, axis=1))
        apart = (pairs[:, 1] - pairs[:, 0] > 1) & ((pairs[:, 0] != 0) | (pairs[:, 1] != k - 1))
        return witness, (pairs[apart, 0], pairs[apart, 1])

    same = (np.diff(p[order, 0]) == 0) & (np.diff(p[order, 1]) == 0)
    if same.any():  # two corners at one point: their edges meet there
        u, w = (int(v) for v in order[int(np.argmax(same)) : int(np.argmax(same)) + 2])
        at_u, at_w = ((u - 1) % k, u), ((w - 1) % k, w)
        pair = next(((s, t) for s in at_u for t in at_w if not adjacent(s, t)), (u, w))
        return result(pair)
    line: list[int] = []  # the edges the sweep line crosses, lowest first
    for v in order.tolist():
        edges = ((v - 1) % k, v)
        # Where v goes on the line: the first edge it is not above.
        lo, hi = 0, len(line)
        while lo < hi:
            mid = (lo + hi) // 2
            s = line[mid]
            if orient(low[s], high[s], v) > 0:
                lo = mid + 1
            else:
                hi = mid
        stop = lo
        while stop < len(line) and orient(low[line[stop]], high[line[stop]], v) == 0:
            s = line[stop]
            if s not in edges or high[s] != v:  # v lies on an edge that does not end there
                t = edges[1] if adjacent(s, edges[0]) else edges[0]
                return result((s, t))
            stop += 1
        ending = [e for e in edges if high[e] == v]
        if stop - lo != len(ending):
            return result(edges)  # not reached with exact tests; a full test then decides
        del line[lo:stop]
        starting = [e for e in edges if low[e] == v]
        if len(starting) == 2:
            a, b = starting
            turn = orient(v, high[a], high[b])
            if turn == 0:
                return result((a, b))  # both leave v along one line: a fold
            if turn < 0:
                starting = [b, a]
        line[lo:lo] = starting
        above = lo + len(starting)
        found = None
        if lo > 0 and above < len(line) and not starting:
            found = seen(line[lo - 1], line[lo])
        if starting and lo > 0:
            found = found or seen(line[lo - 1], line[lo])
        if starting and above < len(line):
            found = found or seen(line[above - 1], line[above])
        if found:
            return result(found)
    return result(None)


def _exact_coordinates(p: np.ndarray) -> tuple[list[int], list[int]]:
    """The coordinates of ``p`` (k, 2) as integers on one scale (every float is an integer times a
    power of two): orientation tests on them are exact."""
    mantissa, exponent = np.frexp(p)  # p = mantissa · 2**exponent, 0.5 <= |mantissa| < 1
    whole = (mantissa * 2.0**53).astype(np.int64).tolist()  # exact: 53 bits
    shift = (exponent - int(exponent.min())).tolist()
    xs = [m[0] << s[0] for m, s in zip(whole, shift, strict=True)]
    ys = [m[1] << s[1] for m, s in zip(whole, shift, strict=True)]
    return xs, ys


def _box_pairs(p: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_edge_pairs`' pairs whose boxes share a grid cell, sorted, on the coarsest of grids of
    √k, 4√k and 16√k cells a side where the boxes cover at most :data:`_GRID_PAIRS` cells per edge
    and share cells with at most as many partners per edge (a dense ring of spikes needs the finer
    ones); else None."""
    for side in (int(np.ceil(np.sqrt(len(p)))) * f for f in (1, 4, 16)):
        pairs = _grid_pairs(p, nxt, side)
        if pairs is not None:
            return pairs
    return None


def _grid_pairs(p: np.ndarray, nxt: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_box_pairs` on a grid of ``side`` × ``side`` cells over the outline's box."""
    k = len(p)
    lo, hi = np.minimum(p, nxt), np.maximum(p, nxt)
    origin = lo.min(axis=0)
    span = hi.max(axis=0) - origin
    size = np.where(span > 0, span / side, 1.0)
    # The same arithmetic for every bound, so boxes that meet get cell ranges that meet.
    first = np.clip(((lo - origin) / size).astype(np.int64), 0, side - 1)
    last = np.clip(((hi - origin) / size).astype(np.int64), 0, side - 1)
    across = last - first + 1
    per = across[:, 0] * across[:, 1]
    if int(per.sum()) > _GRID_PAIRS * k:
        return None
    edge = np.repeat(np.arange(k), per)
    local = np.arange(edge.size) - np.repeat(np.cumsum(per) - per, per)
    cell = (first[edge, 0] + local // across[edge, 1]) * side + first[edge, 1] + local % across[edge, 1]
    order = np.lexsort((edge, cell))
    edge, cell = edge[order], cell[order]
    after = np.searchsorted(cell, cell, side="right") - np.arange(cell.size) - 1  # partners later in its cell
    if int(after.sum()) > _GRID_PAIRS * k:
        return None
    i = np.repeat(edge, after)
    at = np.repeat(np.arange(cell.size) + 1, after) + np.arange(i.size) - np.repeat(np.cumsum(after) - after, after)
    j = edge[at]
    key = distinct(np.minimum(i, j) * k + np.maximum(i, j))
    i, j = np.divmod(key, k)
    keep = (j > i + 1) & ~((i == 0) & (j == k - 1))
    return i[keep], j[keep]


def _edges_meet(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whether edges a→b and c→d (points (..., 2)) cross or touch, or run collinear over a shared
    stretch (an outline running back over itself): a mask of the leading shape, exact
    (:func:`~sceneforge.geometry.outline.segments_meet`)."""
    from .geometry.outline import segments_meet

    return segments_meet(a, b, c, d)


def _folds(p: np.ndarray, nxt: np.ndarray, axis: int) -> np.ndarray:
    """Whether the edge into each vertex of ``p`` (its outline along ``axis``) and the edge out of it fold
    back onto each other (a spike of no width)."""
    from .geometry.outline import orient2

    back = np.roll(p, 1, axis=axis)
    out: np.ndarray = (orient2(back, p, nxt) == 0) & (np.einsum("...k,...k->...", p - back, nxt - p) < 0)
    return out


def _areas(p: np.ndarray) -> np.ndarray:
    """The areas of outlines ``p`` (n, k, 2) (either winding), from coordinates relative to each
    outline's first vertex: products of absolute coordinates cancel far out (a room 1 cm across at
    900 km summed to 0 m²); these differences of nearby coordinates are exact."""
    q = p - p[:, :1]
    nq = np.roll(q, -1, axis=1)
    cross = np.einsum("nk,nk->n", q[:, :, 0], nq[:, :, 1]) - np.einsum("nk,nk->n", nq[:, :, 0], q[:, :, 1])
    out: np.ndarray = 0.5 * np.abs(cross)
    return out


#: Outlines of at most this many vertices (after simplifying) are checked together by
#: :func:`check_polygons`, in chunks of at most :data:`_PAIRS_AT_ONCE` edge pairs; larger ones alone.
_BATCH_VERTICES = 64
_PAIRS_AT_ONCE = 1 << 20


def check_polygons(floors: Sequence[np.ndarray]) -> list[tuple[str, str] | None]:
    """:func:`check_polygon` of many (k_i, 2) outlines, the same answers: outlines of a size checked
    together in a few numpy passes (a level of a thousand polygon rooms, drawn off the axes, took
    0.3 s one outline at a time), and :func:`check_polygon` itself asked again only for those with
    a problem (for its message) or too many vertices to batch."""
    from .geometry.outline import outlines_keep

    answers: list[tuple[str, str] | None] = [None] * len(floors)
    if not floors:
        return answers
    counts = np.array([f.shape[0] for f in floors], dtype=np.int64)
    starts = np.cumsum(counts) - counts
    keep = outlines_keep(np.concatenate(floors).astype(np.float64, copy=False), counts)
    kept = np.concatenate(floors).astype(np.float64, copy=False)[keep]
    sizes = np.add.reduceat(keep.astype(np.int64), starts)
    first = np.cumsum(sizes) - sizes
    ask = np.zeros(len(floors), dtype=bool)
    ask[sizes > _BATCH_VERTICES] = True
    for k in distinct(sizes[sizes <= _BATCH_VERTICES]).tolist():
        i, j = np.triu_indices(k, 2)
        pairs = ~((i == 0) & (j == k - 1))
        i, j = i[pairs], j[pairs]
        outlines = np.flatnonzero(sizes == k)
        step = max(1, _PAIRS_AT_ONCE // max(1, i.size))
        for at in range(0, outlines.size, step):
            which = outlines[at : at + step]
            p = kept[first[which][:, None] + np.arange(k)]  # (n, k, 2)
            nxt = np.roll(p, -1, axis=1)
            bad = (np.linalg.norm(nxt - p, axis=2) < 1e-9).any(axis=1)
            bad |= _edges_meet(p[:, i], nxt[:, i], p[:, j], nxt[:, j]).any(axis=1)
            bad |= _folds(p, nxt, axis=1).any(axis=1)
            # With a hair of slack: a sum over more rows might round the other way at the limit.
            bad |= _areas(p) < AREA_EPS * (1.0 + 1e-9)
            ask[which[bad]] = True
    scan = [_SCAN_PAIRS]  # one budget for naming crossings in all of them
    for n in np.flatnonzero(ask).tolist():
        answers[n] = check_polygon(floors[n], scan)
    return answers


def validate_description(desc: SceneDescription, limits: Limits) -> list[Issue]:
    """Raise :class:`SceneInvalid` with every error; return the warnings."""
    for count, setting, maximum, path, what in (
        (len(desc.cells), "SCENEFORGE_MAX_CELLS", limits.max_cells, "/cells", "cell count"),
        (len(desc.portals), "SCENEFORGE_MAX_PORTALS", limits.max_portals, "/portals", "portal count"),
        (len(desc.instances), "SCENEFORGE_MAX_INSTANCE_GROUPS", limits.max_instance_groups, "/instances",
         "instance group count"),
        (len(desc.materials), "SCENEFORGE_MAX_MATERIALS", limits.max_materials, "/materials", "material count"),
        (len(desc.props), "SCENEFORGE_MAX_PROPS", limits.max_props, "/props", "prop count"),
        (sum(len(i.transforms) for i in desc.instances), "SCENEFORGE_MAX_INSTANCE_TRANSFORMS",
         limits.max_instance_transforms, "/instances", "instance transform count"),
        (sum(len(c.meshes) for c in desc.cells), "SCENEFORGE_MAX_MESHES", limits.max_meshes, "/cells", "mesh count"),
    ):  # fmt: skip
        if count > maximum:
            raise LimitExceeded(setting, count, maximum, path=path, what=what)
    if desc.portals:
        per_cell = Counter(
            e for p in desc.portals for e in ((p.source,) if p.source == p.target else (p.source, p.target))
        )
        cell_id, count = per_cell.most_common(1)[0]
        if count > limits.max_cell_portals:
            at = next((f"/cells/{i}" for i, c in enumerate(desc.cells) if c.cell_id == cell_id), "/portals")
            what = f"portal count of cell {cell_id!r}"
            raise LimitExceeded("SCENEFORGE_MAX_CELL_PORTALS", count, limits.max_cell_portals, path=at, what=what)
    floor_points = sum(len(c.room.floor) for c in desc.cells if c.room is not None and c.room.floor is not None)
    if floor_points > limits.max_floor_points:
        raise LimitExceeded(
            "SCENEFORGE_MAX_FLOOR_POINTS",
            floor_points,
            limits.max_floor_points,
            path="/cells",
            what="floor point count",
        )
    errors: list[Issue] = []
    warnings: list[Issue] = []
    index: dict[str, int] = {}
    for i, cell in enumerate(desc.cells):
        if cell.cell_id in index:
            errors.append(
                Issue(
                    f"/cells/{i}/cellId",
                    "duplicate_id",
                    f"cellId {cell.cell_id!r} is also used by /cells/{index[cell.cell_id]}",
                )
            )
        else:
            index[cell.cell_id] = i
    materials = set(desc.materials) | {DEFAULT_MATERIAL}
    # The cells instances are placed in, looked up per empty cell: a scan of every instance per cell
    # took 68 s for 20,000 empty cells and 20,000 instances (a 2.5 MB description).
    instanced = {x.cell_id for x in desc.instances}

    def need_material(material: str | None, path: str) -> None:
        if material is not None and material not in materials:
            errors.append(Issue(path, "unknown_material", f"material {material!r} is not defined in /materials"))

    boxes: list[tuple[float, ...]] = []  # (cell, min xyz, max xyz, wall thickness): checked at once below
    outlines: list[tuple[int, float, float, float]] = []  # (cell, farthest coordinate, wall thickness, height)
    # Every floor outline checked at once, and its farthest coordinate taken, before the cells in order.
    floors = [
        np.asarray(r.floor, dtype=np.float64)
        for r in (c.room for c in desc.cells)
        if r is not None and (r.min is None or r.max is None) and r.floor is not None
    ]
    problems = iter(check_polygons(floors))
    counts = np.array([f.shape[0] for f in floors], dtype=np.int64)
    reaches = np.abs(np.concatenate(floors)).max(axis=1) if floors else np.empty(0)
    farthest = iter(np.maximum.reduceat(reaches, np.cumsum(counts) - counts).tolist() if floors else [])
    for i, cell in enumerate(desc.cells):
        room = cell.room
        if room is not None:
            need_material(room.material, f"/cells/{i}/room/material")
            if room.min is not None and room.max is not None:
                boxes.append((i, *room.min, *room.max, room.wall_thickness))
            elif room.floor is not None:
                reach = max(next(farthest), abs(room.y), abs(room.y + room.height))
                outlines.append((i, reach, room.wall_thickness, room.height))
                problem = next(problems)
                if problem:
                    errors.append(Issue(f"/cells/{i}/room/floor", *problem))
                elif room.height <= 2 * room.wall_thickness:
                    errors.append(
                        Issue(
                            f"/cells/{i}/room/height",
                            "room_too_small",
                            "room height must exceed twice the wall thickness",
                        )
                    )
        for j, mesh in enumerate(cell.meshes):
            need_material(mesh.material_id, f"/cells/{i}/meshes/{j}/materialId")
        if not cell.meshes and cell.room is None and cell.cell_id not in instanced:
            warnings.append(Issue(f"/cells/{i}", "empty_cell", f"cell {cell.cell_id!r} has no geometry", "warning"))

    errors.extend(_room_issues(np.asarray(boxes, dtype=np.float64).reshape(-1, 8), outlines))

    for k, inst in enumerate(desc.instances):
        if inst.cell_id not in index:
            errors.append(Issue(f"/instances/{k}/cellId", "unknown_id", f"no cell {inst.cell_id!r}"))
        need_material(inst.material_id, f"/instances/{k}/materialId")

    edges: list[tuple[int, int, bool]] = []
    quads, quad_portals = [], []
    for k, p in enumerate(desc.portals):
        ends = ("between/0", "between/1") if p.between else ("from", "to")
        ids = (p.source, p.target)
        known = True
        for end, cid in zip(ends, ids, strict=True):
            if cid not in index:
                errors.append(Issue(f"/portals/{k}/{end}", "unknown_id", f"no cell {cid!r}"))
                known = False
        if ids[0] == ids[1]:
            errors.append(Issue(f"/portals/{k}/{ends[1]}", "self_portal", f"portal joins cell {ids[0]!r} to itself"))
            known = False
        if known:
            edges.append((index[ids[0]], index[ids[1]], p.one_way))
        if p.quad is not None:
            quads.append(p.quad)
            quad_portals.append(k)
    for q, code, message in check_quads(np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)):
        errors.append(Issue(f"/portals/{quad_portals[q]}/quad", code, message))

    if errors:
        raise SceneInvalid(errors)
    warnings.extend(_unreachable(desc, edges))
    return warnings


def _room_issues(boxes: np.ndarray, outlines: list[tuple[int, float, float, float]]) -> list[Issue]:
    """Box rooms (rows of cell, min xyz, max xyz, wall thickness) not larger than twice their walls on every
    axis; then every room (the boxes and ``outlines``: cell, farthest coordinate, wall thickness, height) so far
    from the origin that float32 positions (the GLB's) cannot hold its walls: a wall no more than one float32
    step thick there can collapse (its faces' triangles lose their height, the shell opens), and so can the
    space inside (a box's narrowest, an outline's height, less its walls) no more than one step across, which
    the booleans cannot cut either: relative to the coordinates it is within their tolerance, and doorways
    cut into it multiply triangles without bound."""
    issues = []
    size = boxes[:, 4:7] - boxes[:, 1:4]
    for k in np.flatnonzero(size.min(axis=1) <= 2.0 * boxes[:, 7]).tolist():
        shown = [float(v) for v in size[k]]
        wall = float(boxes[k, 7])
        below = [axis for axis, v in zip("xyz", shown, strict=True) if v < 0.0]
        if below:  # a corner given the wrong way round: no room can be that small
            message = (
                f"room box max is below its min on {', '.join(below)} (max - min = {shown} m): min is the low"
                " corner, max the high one"
            )
        else:
            thin = [axis for axis, v in zip("xyz", shown, strict=True) if v <= 2.0 * wall]
            message = (
                f"room box {shown} m is not larger than twice its wall thickness ({wall:g} m) on"
                f" {', '.join(thin)}: its walls, floor and ceiling leave no space inside"
            )
        issues.append(Issue(f"/cells/{int(boxes[k, 0])}/room", "room_too_small", message))
    far = np.asarray(outlines, dtype=np.float64).reshape(-1, 4)
    cells = np.concatenate([boxes[:, 0], far[:, 0]]).astype(np.int64)
    reach = np.concatenate([np.abs(boxes[:, 1:7]).max(axis=1, initial=0.0), far[:, 1]])
    thickness = np.concatenate([boxes[:, 7], far[:, 2]])
    inside = np.concatenate([size.min(axis=1, initial=np.inf), far[:, 3]]) - 2.0 * thickness
    step = np.spacing(reach.astype(np.float32)).astype(np.float64)
    for k in np.flatnonzero(thickness <= step).tolist():
        message = (
            f"walls {thickness[k]:g} m thick, {reach[k]:,.0f} m from the origin: float32 positions (the GLB's)"
            f" step by {step[k]:g} m there, too coarse to keep them (they need more than {step[k]:g} m);"
            " move the level nearer the origin or thicken the walls"
        )
        issues.append(Issue(f"/cells/{cells[k]}/room/wallThickness", "precision_lost", message))
    # Rooms whose walls leave no space at all are room_too_small above.
    for k in np.flatnonzero((inside > 0.0) & (inside <= step)).tolist():
        message = (
            f"the space inside is {inside[k]:g} m across, {reach[k]:,.0f} m from the origin: float32 positions"
            f" (the GLB's) step by {step[k]:g} m there, too coarse to keep it open (it needs more than"
            f" {step[k]:g} m); move the level nearer the origin or make the room larger"
        )
        issues.append(Issue(f"/cells/{cells[k]}/room", "precision_lost", message))
    return issues


def _unreachable(desc: SceneDescription, edges: list[tuple[int, int, bool]]) -> list[Issue]:
    """Cells no sight or walk path reaches from the first cell (portals taken both ways)."""
    n = len(desc.cells)
    if n < 2:
        return []
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for a, b, _one_way in edges:
        adjacency[a].append(b)
        adjacency[b].append(a)
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    queue = deque([0])
    while queue:
        for nxt in adjacency[queue.popleft()]:
            if not seen[nxt]:
                seen[nxt] = True
                queue.append(nxt)
    first = desc.cells[0].cell_id
    return [
        Issue(
            f"/cells/{i}",
            "unreachable_cell",
            f"cell {desc.cells[i].cell_id!r} has no portal path to {first!r}",
            "warning",
        )
        for i in np.flatnonzero(~seen)
    ]


def instance_extent(surfaces: Sequence[Surface], transforms: np.ndarray) -> np.ndarray:
    """(n,) the largest |coordinate| of ``surfaces`` placed by each of ``transforms`` (n, 4, 4), from
    their joint bounding box (centre moved by the matrix, half-size by its absolute value): O(n)."""
    boxes = [(s.positions.min(axis=0), s.positions.max(axis=0)) for s in surfaces if s.vertex_count]
    if not boxes or len(transforms) == 0:
        return np.zeros(len(transforms))
    lo = np.min([b[0] for b in boxes], axis=0).astype(np.float64)
    hi = np.max([b[1] for b in boxes], axis=0).astype(np.float64)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    t = np.asarray(transforms, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        moved = np.einsum("nij,j->ni", t[:, :3, :3], centre) + t[:, :3, 3]
        reach = np.abs(moved) + np.einsum("nij,j->ni", np.abs(t[:, :3, :3]), half)
    return np.where(np.isfinite(reach).all(axis=1), reach.max(axis=1), np.inf)


def _extent_issues(ir: SceneIR) -> list[Issue]:
    """Geometry placed beyond ±MAX_COORDINATE (by an asset, a transform, an instance): one error per cell."""
    issues = []
    for cell in ir.cells:  # per cell and surface, each a vectorized reduction
        reach = max((float(np.abs(s.positions).max(initial=0.0)) for s in cell.surfaces), default=0.0)
        for group in cell.instances:
            reach = max(reach, float(instance_extent(group.surfaces, group.transforms).max(initial=0.0)))
        if not reach <= MAX_COORDINATE:
            where = f"reaches {past_extent(reach)} m from the origin, beyond ±{MAX_COORDINATE:g} m"
            message = f"the geometry of cell {cell.cell_id!r} {where}"
            issues.append(Issue(cell.path, "out_of_range", message))
    return issues


def validate_scene(ir: SceneIR, limits: Limits, *, surface_triangles: int | None = None) -> list[Issue]:
    """After geometry: raise :class:`LimitExceeded` on the triangle limit; return geometry warnings, and an
    error for each cell whose geometry (surfaces, instances as placed) reaches beyond ±MAX_COORDINATE.

    ``surface_triangles`` is the cells' own triangle count when some cells' geometry came from a
    cache (their surfaces are not in ``ir`` yet); instances are always counted here.
    """
    triangles = sum(s.triangle_count for c in ir.cells for s in c.surfaces)
    if surface_triangles is not None:
        triangles = surface_triangles
    triangles += sum(s.triangle_count * len(g.transforms) for c in ir.cells for g in c.instances for s in g.surfaces)
    if triangles > limits.max_triangles:
        raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", triangles, limits.max_triangles, what="triangle count")
    extent = _extent_issues(ir)
    if extent or not ir.portals:
        return extent
    from .geometry.bounds import cell_boxes

    all_boxes = cell_boxes(ir.cells)
    boxes = {c.cell_id: all_boxes[i] for i, c in enumerate(ir.cells)}
    quads = np.stack([p.quad for p in ir.portals])  # (n, 4, 3)
    warnings = []
    apart: dict[str, np.ndarray] = {}
    for side in ("from_cell", "to_cell"):
        aabb = np.stack([boxes[getattr(p, side)] for p in ir.portals])  # (n, 6)
        # Distance from the quad's own box to the cell's box: zero when they touch or overlap (a quad
        # reaching past the box on both sides of an axis, a doorway drawn past both ends of its wall,
        # overlaps it there: its corners' own distances would say it lies that far off).
        gap = np.maximum(aabb[:, :3] - quads.max(axis=1), quads.min(axis=1) - aabb[:, 3:]).clip(min=0).max(axis=1)
        apart[side] = gap > CONTACT_EPS
        for k in np.flatnonzero(apart[side]):
            p = ir.portals[int(k)]
            cell = getattr(p, side)
            role = "source" if side == "from_cell" else "target"
            warnings.append(
                Issue(
                    f"/portals/{p.index}",
                    "portal_not_touching",
                    f"portal {p.from_cell}->{p.to_cell} is {gap[k]:.3g} m from its {role} cell {cell!r}",
                    "warning",
                )
            )
    return warnings + _portals_off_walls(ir, quads, apart["from_cell"], apart["to_cell"])


def _portals_off_walls(ir: SceneIR, quads: np.ndarray, apart_from: np.ndarray, apart_to: np.ndarray) -> list[Issue]:
    """``portal_not_on_wall``: a portal whose quad lies on no wall and in no slab of one of its room
    cells, so the geometry stage cuts no opening there (the doorway is a solid wall on that side).

    The test is the one the geometry stage cuts by (:func:`~sceneforge.geometry.doors.wall_hits`,
    :func:`~sceneforge.geometry.doors.slab_hits`), for every (portal, room cell) at once; the
    distance to the nearest wall (or slab) is measured for the portals it warns about only. A side
    already reported as ``portal_not_touching`` (``apart_from``, ``apart_to`` (n,)) is not reported again;
    cells without a room (meshes) are not asked."""
    from .geometry.doors import room_arrays, slab_hits, wall_hits
    from .geometry.outline import wall_edges_of

    room_cells = [c for c in ir.cells if c.room is not None]
    if not room_cells:
        return []
    index = {c.cell_id: k for k, c in enumerate(room_cells)}
    rooms = [c.room for c in room_cells if c.room is not None]
    room_from = np.array([index.get(p.from_cell, -1) for p in ir.portals], dtype=np.int64)
    room_to = np.array([index.get(p.to_cell, -1) for p in ir.portals], dtype=np.int64)
    # Every (portal, room cell) once, as the geometry stage asks (a portal's source side first).
    asked_from = (room_from >= 0) & ~apart_from
    asked_to = (room_to >= 0) & ~apart_to & (room_to != room_from)
    portal = np.concatenate([np.flatnonzero(asked_from), np.flatnonzero(asked_to)])
    quad_room = np.concatenate([room_from[asked_from], room_to[asked_to]])
    is_to = np.concatenate([np.zeros(int(asked_from.sum()), bool), np.ones(int(asked_to.sum()), bool)])
    if portal.size == 0:
        return []
    q = np.asarray(quads, dtype=np.float64)[portal]
    arrays = room_arrays(rooms)
    edges = wall_edges_of([r.floor for r in rooms])
    first = np.searchsorted(edges.room, np.arange(len(rooms) + 1))
    hits = wall_hits(q, quad_room, edges.start, edges.tangent, edges.normal, edges.length, first, arrays)
    plan, (floor, ceiling) = slab_hits(q, quad_room, arrays)
    cut = floor | ceiling
    cut[hits.quad] = True
    off = np.flatnonzero(~cut)
    if off.size == 0:
        return []
    flat = np.abs(plan[off]) > AREA_EPS  # a quad seen from above could open a slab too
    gap = _wall_gap(q[off], quad_room[off], edges.start, edges.tangent, edges.normal, edges.length, first, arrays)
    gap = np.minimum(gap, np.where(flat, _slab_gap(q[off], quad_room[off], arrays), np.inf))
    order = np.lexsort((is_to[off], portal[off]))  # by portal, its source side first
    eps_mm = CONTACT_EPS * 1e3
    issues = []
    for j in order.tolist():
        k = int(off[j])
        p = ir.portals[int(portal[k])]
        cell = p.to_cell if is_to[k] else p.from_cell
        what, cuts = ("every wall and slab", "walls and slabs") if flat[j] else ("every wall", "walls")
        if not np.isfinite(gap[j]):
            where = f"lies on no wall of cell {cell!r}"
        elif gap[j] <= CONTACT_EPS:
            where = f"touches the walls of cell {cell!r} but overlaps none by more than {eps_mm:g} mm"
        else:
            distance = f"{gap[j] * 1e3:.3g} mm" if gap[j] < 1.0 else f"{gap[j]:.3g} m"
            where = f"lies {distance} off {what} of cell {cell!r}"
        message = (
            f"portal {p.from_cell}->{p.to_cell}: its quad {where}: no opening is cut there;"
            f" {cuts} within {eps_mm:g} mm (CONTACT_EPS) are cut"
        )
        issues.append(Issue(f"/portals/{p.index}", "portal_not_on_wall", message, "warning"))
    return issues


def _wall_gap(
    quads: np.ndarray,
    quad_room: np.ndarray,
    start: np.ndarray,
    tangent: np.ndarray,
    normal: np.ndarray,
    length: np.ndarray,
    first: np.ndarray,
    rooms: RoomArrays,
) -> np.ndarray:
    """(q,) how far each quad is from lying on the nearest wall of its room (``inf`` for a room without
    walls): per wall, the farthest its corners lie outside the wall slab (across the wall), combined with
    how far the quad is from reaching the wall's length and its height, as one distance."""
    counts = first[quad_room + 1] - first[quad_room]
    item = np.repeat(np.arange(quad_room.size), counts)
    edge = first[quad_room][item] + np.arange(item.size) - np.repeat(np.cumsum(counts) - counts, counts)
    r = quad_room[item]
    q = quads[item]
    rel = q[:, :, [0, 2]] - start[edge][:, None, :]
    dist = np.einsum("nvk,nk->nv", rel, normal[edge])  # outside the outer face
    along = np.einsum("nvk,nk->nv", rel, tangent[edge])
    y = q[:, :, 1]
    across = np.maximum(np.maximum(dist.max(axis=1), -rooms.thickness[r] - dist.min(axis=1)), 0.0)
    beside = np.maximum(np.maximum(-along.max(axis=1), along.min(axis=1) - length[edge]), 0.0)
    below = np.maximum(np.maximum(rooms.y0[r] - y.max(axis=1), y.min(axis=1) - rooms.y1[r]), 0.0)
    gap = np.full(quad_room.size, np.inf)
    np.minimum.at(gap, item, np.sqrt(across**2 + beside**2 + below**2))
    return gap


def _slab_gap(quads: np.ndarray, quad_room: np.ndarray, rooms: RoomArrays) -> np.ndarray:
    """(q,) how far each quad is from lying in its room's floor or ceiling slab: the farthest its
    corners lie above or below the slab, combined with how far it is from the outline's bounds."""
    t, base, top = rooms.thickness[quad_room], rooms.y0[quad_room], rooms.y1[quad_room]
    xz = quads[:, :, [0, 2]]
    lo, hi = rooms.lo[quad_room], rooms.hi[quad_room]
    beside = np.maximum(np.maximum(lo - xz.max(axis=1), xz.min(axis=1) - hi), 0.0)
    y = quads[:, :, 1]
    out = np.full(quad_room.size, np.inf)
    for bottom in (base, top - t):
        across = np.maximum(np.maximum(bottom - y.min(axis=1), y.max(axis=1) - bottom - t), 0.0)
        out = np.minimum(out, np.sqrt(across**2 + (beside**2).sum(axis=1)))
    return out
