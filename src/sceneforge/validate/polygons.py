"""Floor outlines' checks: :func:`check_polygon` of one (k, 2) outline, :func:`check_polygons` of many.

An outline is checked as rooms are built from it, without the vertices on the line of their neighbours
(:func:`~sceneforge.geometry.outline.simplify_outline`); the answer is ``(code, message)`` for its first
problem (``degenerate``: a repeated vertex or an area below ``AREA_EPS``; ``self_intersecting``: edges that
cross, touch or fold back onto each other, named by their numbers as given), or None when it is simple.
Edge tests are exact (:func:`~sceneforge.geometry.outline.segments_meet`).

Cost: a star-shaped outline is proved simple in O(k); else the pairs of edges tested are every pair of a
small outline (at most :data:`_ALL_PAIRS_EDGES` edges), those whose boxes share a grid cell of a large one,
and for an outline whose boxes crowd every grid a Shamos–Hoey sweep first (:func:`_sweep`, O(k log k));
pairs are tested a bounded run at a time (:data:`_PAIR_RUN`). Naming the first crossing of an outline that
crosses spends a budget shared by one description's outlines (:data:`_SCAN_PAIRS`). Many small outlines are
checked together in a few numpy passes (:func:`check_polygons`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..arrays import distinct, distinct_rows
from ..tolerances import AREA_EPS

__all__ = ["check_polygon", "check_polygons"]


def check_polygon(points: np.ndarray, scan: list[int] | None = None) -> tuple[str, str] | None:
    """Check a (k, 2) floor outline: ``(code, message)`` for the first problem, or None if it is simple.

    The outline is checked as rooms are built from it: without the vertices on the line of their
    neighbours (:func:`~sceneforge.geometry.outline.simplify_outline`), so a repeated corner or a
    point a hair past a corner is no error. ``scan``: the pairs left for naming first crossings
    (:data:`_SCAN_PAIRS`), shared by the outlines of one description and spent in place."""
    from ..geometry.outline import outline_keeps, star_simple

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
    from ..geometry.outline import ORIENT_BOUND, TINY

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
    from ..geometry.outline import segments_meet

    return segments_meet(a, b, c, d)


def _folds(p: np.ndarray, nxt: np.ndarray, axis: int) -> np.ndarray:
    """Whether the edge into each vertex of ``p`` (its outline along ``axis``) and the edge out of it fold
    back onto each other (a spike of no width)."""
    from ..geometry.outline import orient2

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
    from ..geometry.outline import outlines_keep

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
