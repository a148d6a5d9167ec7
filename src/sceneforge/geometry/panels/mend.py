"""T-junction mending of earcut's triangles: an edge with a point of its face inside it is split there.

Earcut drops the points of a straight run (collinear points), so a vertex the faces beside need (a
border's place, an opening's corner) may lie inside an edge of one of its triangles: a T-junction, a
crack once welded. One pass over the triangles of every earcut face of every room at once
(:func:`_mend_faces`, in groups whose (edge, point) pairs fit in memory: :func:`mend_in_groups`) finds
each point within 1 nm of an edge's inside (:func:`_on_segment`) and splits that edge's triangle at its
points, a fan from the opposite corner. :func:`heights2d` (2D triangles' heights) serves the
triangulation too.

Cost: the pass tests each triangle edge against the points near it only (:func:`_near_pairs`),
walking long edges along their lines: a wall with 800 doorways in a row (earcut's bridges run its
whole length past every door) built in 7.5 s when every point in an edge's box was tested, 0.8 s now.
Only the edges a point may lie inside are tested (:func:`_open_edges`): an edge two proper triangles
of the face share has the face on both sides, so none of the face's points is inside it. On a
4,096-point star floor those shared diagonals each ran past hundreds of points; 24 such floors built
in 34 s, 17 s without them. Its slanted sides, each with ~800 of the floor's points in its range along
either axis, are searched block by block along their lines (:func:`_block_walk`): 1.2 million pairs a
floor became 40,000, and 24 such floors whose points are not on whole metres build in 12 s CPU rather
than 25 s. A small face lists every (edge, point) pair of its own instead (:func:`_face_pairs`, up to
:data:`_FACE_PAIRS` pairs).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ...arrays import distinct, ranges
from ..doors import column_reduce

__all__ = ["heights2d", "mend_in_groups"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def _on_segment(d: F64, rel: F64) -> tuple[B8, F64]:
    """Whether points lie strictly inside segments: ``d`` (..., 2) each segment's end minus its start,
    ``rel`` (..., 2) the point minus the start (shapes broadcast). Returns (on, position along the
    segment in units of its squared length). On: within 1e-9 of the line relative to the length,
    and 1e-12 of the squared length away from either end."""
    length2 = np.einsum("...k,...k->...", d, d)
    along = np.einsum("...k,...k->...", rel, d)
    cross = d[..., 0] * rel[..., 1] - d[..., 1] * rel[..., 0]
    slack = 1e-12 * length2
    on: B8 = (cross * cross <= 1e-18 * length2) & (along > slack) & (along < length2 - slack)
    return on, along


def _mend_faces(points: F64, index: I64, face: I64, point_face: I64, faces: int) -> tuple[I64, I64]:
    """Split every triangle with a point of its face inside one of its edges into a fan from its
    opposite corner over those points, until none is left (earcut drops collinear points when it
    bridges holes or gets stuck: each such edge is a T-junction, a crack in the shell).

    All faces at once: ``points`` (p, 2) with ``point_face`` (p,), triangles ``index`` (m, 3) into
    ``points`` with ``face`` (m,) ascending, ``faces`` their count. Returns (index, face), each
    face's triangles those it kept, in order, then its fans. A split triangle fans over its first
    edge holding points, the points in order along it (equal positions in point order); each round
    looks again at the faces the last one split, eight rounds at most: at the fans it made (the
    other triangles' edges and the face's points are as they were, so none of them would split).
    The (edge, point) pairs tested are :func:`_near_pairs`' (every pair :func:`_on_segment`
    accepts is among them) over the edges :func:`_open_edges` leaves open."""
    active = np.ones(faces, dtype=bool)
    fresh = np.ones(index.shape[0], dtype=bool)
    for _ in range(8):
        sel = np.flatnonzero(fresh)
        mine = np.flatnonzero(active[point_face])
        if sel.size == 0:
            break
        corners = np.take(index, sel, axis=0)
        tri = np.take(points, corners, axis=0)  # (np.take: row gathers ~4x faster than fancy indexing)
        start, end = tri.reshape(-1, 2), tri[:, [1, 2, 0]].reshape(-1, 2)
        local = np.empty(points.shape[0], dtype=np.int64)  # a point's place among the active faces' (``mine``)
        local[mine] = np.arange(mine.size)
        # Only edges that may hold a point are searched (on a star-shaped floor earcut's long
        # diagonals pass near thousands of points, and all of them are shared).
        cand = np.flatnonzero(_open_edges(points, index, face, active, sel))
        edge_ends = (local[corners.reshape(-1)[cand]], local[corners[:, [1, 2, 0]].reshape(-1)[cand]])
        edge_face = face[sel].repeat(3)[cand]
        edge, point = _face_pairs(edge_face, point_face[mine], faces)
        if edge is None or point is None:
            edge, point = _near_pairs(start[cand], end[cand], edge_face, points[mine], point_face[mine], edge_ends)
        edge, point = cand[edge], mine[point]
        # An edge's own ends are never inside it (about half the pairs): left out before the test.
        ends = corners.reshape(-1)
        inner = (point != ends[edge]) & (point != corners[:, [1, 2, 0]].reshape(-1)[edge])
        edge, point = edge[inner], point[inner]
        base = np.take(start, edge, axis=0)
        on, along = _on_segment(np.take(end, edge, axis=0) - base, np.take(points, point, axis=0) - base)
        edge, point, along = edge[on], point[on], along[on]
        if edge.size == 0:
            break
        row, side = edge // 3, edge % 3
        first = np.full(sel.size, 3, dtype=np.int64)
        np.minimum.at(first, row, side)
        keep = side == first[row]
        row, point, along = row[keep], point[keep], along[keep]
        order = np.lexsort((point, along, row))
        row, point = row[order], point[order]
        split = distinct(row)
        count = np.bincount(row, minlength=sel.size)[split]
        side = first[split]
        corner = index[sel[split]]
        r = np.arange(split.size)
        a, b, opposite = corner[r, side], corner[r, (side + 1) % 3], corner[r, (side + 2) % 3]
        # Row i's chain a, p1 … pk, b (k = count[i]) at chain[at[i] : at[i] + k + 2]: k + 1 fan triangles.
        at = np.cumsum(count + 2) - (count + 2)
        chain = np.empty(int((count + 2).sum()), dtype=np.int64)
        chain[at], chain[at + count + 1] = a, b
        chain[np.arange(point.size) + 1 + 2 * np.repeat(r, count)] = point  # row i's points after i + 1 ends
        fans = count + 1
        fan_row = np.repeat(r, fans)
        j = np.repeat(at, fans) + np.arange(fan_row.size) - np.repeat(np.cumsum(fans) - fans, fans)
        extra = np.stack([opposite[fan_row], chain[j], chain[j + 1]], axis=1)
        gone = np.zeros(index.shape[0], dtype=bool)
        gone[sel[split]] = True
        split_face = face[sel[split]]
        new_face = np.concatenate([face[~gone], split_face[fan_row]])
        kind = np.concatenate([np.zeros(index.shape[0] - split.size, np.int64), np.ones(fan_row.size, np.int64)])
        order = np.argsort(2 * new_face + kind, kind="stable")
        index, face = np.take(np.concatenate([index[~gone], extra]), order, axis=0), new_face[order]
        fresh = kind[order] == 1
        active = np.zeros(faces, dtype=bool)
        active[split_face] = True
    return index, face


#: Most (edge, point) pairs :func:`_face_pairs` lists: past it :func:`_near_pairs` searches (a crowded face
#: would list millions; an office's earcut faces list ~20,000, which its searches took 3x as long to narrow).
_FACE_PAIRS = 1 << 16


def _face_pairs(edge_face: I64, point_face: I64, faces: int) -> tuple[I64 | None, I64 | None]:
    """Every (edge, point) pair of the same face (edges by ``edge_face``, points by ``point_face``
    ascending), by edge — a superset of :func:`_near_pairs`' with no search, so the same T-junctions —
    or (None, None) when there would be more than :data:`_FACE_PAIRS` of them."""
    count = np.bincount(point_face, minlength=faces)
    per_edge = count[edge_face]
    if int(per_edge.sum()) > _FACE_PAIRS:
        return None, None
    first = np.concatenate([[0], np.cumsum(count)])[edge_face]
    return ranges(first, per_edge)


#: A triangle at least this high (m) is a proper one for :func:`_open_edges`: a thousand times the
#: 1e-9 m within which :func:`_on_segment` puts a point on an edge.
_PROPER = 1e-6


def _open_edges(points: F64, index: I64, face: I64, active: B8, sel: I64) -> B8:
    """Per edge of the triangles ``sel`` (3 each, edge k from corner k to k + 1): whether a point of
    its face may lie inside it. Not where the edge is shared — its reverse is an edge of exactly one
    other triangle of the face, itself once, both triangles :data:`_PROPER` high and wound alike
    (so they lie on the two sides of the edge): a point inside
    it is inside the face with triangles on both sides, so it is no corner of any other triangle
    (they would overlap) and no corner of the face's rings (on the boundary). Those are earcut's
    inner diagonals; what stays open is the faces' borders and anything degenerate or non-manifold.

    ``index`` (m, 3) every triangle, ``face`` (m,) its face, ``active`` the faces whose triangles
    count as neighbours (those of ``sel``)."""
    rows = np.flatnonzero(active[face])
    tri = np.take(index, rows, axis=0)
    n = points.shape[0]
    keys = (tri * n + tri[:, [1, 2, 0]]).reshape(-1)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    mine = np.take(index, sel, axis=0)
    a, b = mine.reshape(-1), mine[:, [1, 2, 0]].reshape(-1)
    forward, backward = a * n + b, b * n + a
    once_f = np.searchsorted(ordered, forward, side="right") - np.searchsorted(ordered, forward, side="left") == 1
    lo = np.searchsorted(ordered, backward, side="left")
    once_b = np.searchsorted(ordered, backward, side="right") - lo == 1
    # Proper: high enough; and the twins wound alike, so on the two sides of the edge (one wound
    # the other way would lie over the edge's triangle, not beside it).
    corners = np.take(points, tri, axis=0)
    u, v = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    turn = np.zeros(index.shape[0])
    turn[rows] = np.sign(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]) * (heights2d(corners) >= _PROPER)
    twin = rows[order[np.minimum(lo, ordered.size - 1)] // 3]
    side = turn[sel].repeat(3)
    open_: B8 = ~(once_f & once_b & (side != 0.0) & (side == turn[twin]))
    return open_


#: Margin (m) of :func:`_near_pairs`' boxes: a point :func:`_on_segment` accepts is within 1e-9 m of the segment.
_NEAR = 1e-7


def _near_pairs(
    start: F64, end: F64, edge_face: I64, points: F64, point_face: I64, ends: tuple[I64, I64] | None = None
) -> tuple[I64, I64]:
    """(edge, point) index pairs (by edge) of the same face whose point lies in the edge's box grown by
    :data:`_NEAR` along u or along v, whichever of the two gives the edge fewer points.

    ``start``/``end`` (e, 2) segments, ``points`` (p, 2). Every pair :func:`_on_segment` accepts is
    among them (its point is within 1e-9 m of the segment, between its ends), so testing these
    instead of every (edge, point of the face) pair finds the same T-junctions. Cost: per axis, a sort
    of the p points and binary searches for the 2e bounds; the pairs are about the points near each
    edge, not all of its face's (a corridor wall with 40 doorways has ~170 points and ~300 triangles).
    ``ends``: where the edges' ends are among ``points`` (points of the edge's own face: the edges of
    triangles over them), if known: an edge's box bounds then come from its ends' ranks (searches per
    distinct value and per point, in order, rather than four per edge). Edges with many points in
    range are walked along their lines instead (:func:`_walk_lines`, :func:`_block_walk`) where that
    costs less: the pairs then grow with the points near each edge, not with those in its range.
    """
    e, p = start.shape[0], points.shape[0]
    axes = []
    values: list[F64] = []
    ranks: list[I64] = []
    for ax in (0, 1):
        # Points ranked by their distinct values; a box [lo, hi] holds the ranks from the number of
        # values below lo to the number at most hi (exact comparisons, both ends in).
        v = points[:, ax]
        by_value = np.argsort(v, kind="stable")
        ordered = v[by_value]
        new = np.ones(p, dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        distinct = ordered[new]
        rank = np.empty(p, dtype=np.int64)
        rank[by_value] = np.cumsum(new) - 1  # np.searchsorted(distinct, v): the run of equal values
        values.append(distinct)
        ranks.append(rank)
        width = distinct.size + 1
        point_key = point_face * width + rank  # exact integers: face first, then rank
        order = np.argsort(point_key, kind="stable")
        keys = point_key[order]
        if ends is None:
            low = np.searchsorted(distinct, np.minimum(start[:, ax], end[:, ax]) - _NEAR, side="left")
            high = np.searchsorted(distinct, np.maximum(start[:, ax], end[:, ax]) + _NEAR, side="right")
            first = np.searchsorted(keys, edge_face * width + low, side="left")
            last = np.searchsorted(keys, edge_face * width + high, side="left")
        else:
            # An edge's box runs from its lower end's value (distinct[that end's rank]: equal, so the same
            # sum) to its upper end's, both ends points of its face: the searches are made once per point,
            # in key order (both bounds rise with it, so the needles come sorted), not twice per edge.
            r0, r1 = rank[ends[0]], rank[ends[1]]
            swap = r1 < r0
            lower, upper = np.where(swap, ends[1], ends[0]), np.where(swap, ends[0], ends[1])
            face_base = keys - rank[order]  # point_face * width, in key order
            lo_r = np.searchsorted(distinct, distinct - _NEAR, side="left")
            hi_r = np.searchsorted(distinct, distinct + _NEAR, side="right")
            at_first, at_last = np.empty(p, dtype=np.int64), np.empty(p, dtype=np.int64)
            at_first[order] = np.searchsorted(keys, face_base + lo_r[rank[order]], side="left")
            at_last[order] = np.searchsorted(keys, face_base + hi_r[rank[order]], side="left")
            first, last = at_first[lower], at_last[upper]
        axes.append((first, last - first, order))
    # Each edge's run of points from the axis it takes, both axes' orders end to end: one expansion.
    use_v = axes[1][1] < axes[0][1]
    count = np.where(use_v, axes[1][1], axes[0][1])
    first = np.where(use_v, axes[1][0] + p, axes[0][0])
    # A long edge across a face with many points on a few lines (a wall with a row of doorways: their
    # tops and sills at one height, their jambs side by side) has most of them in its box along
    # either axis. Walked along its line instead — at each distinct value of its shorter extent, the
    # points of that value within reach of where the line passes — it is a search per such value,
    # taken wherever there are fewer such values than points in the box (a star floor's edges of
    # whole-metre points: ~100 values against ~200 points; 4 values a point made 20 M pairs there).
    minor, lo_r, hi_r = _minor_values(start, end, values)
    walk = np.flatnonzero(hi_r - lo_r < count)
    faces = int(point_face.max(initial=0)) + 1
    if faces * (values[0].size + 1) * (values[1].size + 1) >= 1 << 62:
        walk = walk[:0]  # the walk's (face, minor, major) keys would not fit in 63 bits
    # A long slanted edge across a face of many scattered points (a star floor's border: ~800 of its
    # 4,096 points in either axis' range of an edge, as many values to walk) has most of them in its
    # range along both axes but few near its line: searched block by block of its major axis
    # (:func:`_block_walk`) where that costs less (searches and points) than the box or the walk.
    cost = count.copy()
    cost[walk] = (hi_r - lo_r)[walk]
    crowded = np.flatnonzero(cost > _CROWDED)
    blocked: tuple[I64, I64] | None = None
    if crowded.size and faces * (p // _BLOCK + 1) * (max(values[0].size, values[1].size) + 1) < 1 << 62:
        b_edge, b_point, taken = _block_walk(
            start, end, edge_face, points, point_face, values, ranks, axes, crowded, cost
        )
        count[taken] = 0
        walk = np.setdiff1d(walk, taken, assume_unique=True)
        blocked = (b_edge, b_point)
    count[walk] = 0
    edge = np.repeat(np.arange(e), count)
    at = np.arange(edge.size) + np.repeat(first - (np.cumsum(count) - count), count)
    boxed = np.concatenate([axes[0][2], axes[1][2]])[at]
    parts_e, parts_p = [edge], [boxed]
    if walk.size:
        w_edge, w_point = _walk_lines(start, end, edge_face, point_face, values, ranks, walk, (minor, lo_r, hi_r))
        parts_e.append(w_edge)
        parts_p.append(w_point)
    if blocked is not None:
        parts_e.append(blocked[0])
        parts_p.append(blocked[1])
    if len(parts_e) == 1:
        return edge, boxed
    edges = np.concatenate(parts_e)
    order = np.argsort(edges, kind="stable")
    return edges[order], np.concatenate(parts_p)[order]


#: Points per block of :func:`_block_walk`, and the points in its range above which an edge is searched
#: by blocks as well.
_BLOCK = 32
_CROWDED = 2 * _BLOCK


def _block_walk(
    start: F64,
    end: F64,
    edge_face: I64,
    points: F64,
    point_face: I64,
    values: list[F64],
    ranks: list[I64],
    axes: list[tuple[I64, I64, I64]],
    crowded: I64,
    cost: I64,
) -> tuple[I64, I64, I64]:
    """(edge, point) pairs of those ``crowded`` edges whose searches and points are fewer this way
    than ``cost`` (their points in range along one axis, or the searches of their walk along their
    line), and those edges: for each, the edge's
    face's points in range along its major axis M (``axes[M]``: their run in that axis' (face, rank)
    order), taken in blocks of :data:`_BLOCK` consecutive points of that order, and of each block
    those whose minor value is within reach of where the line passes over the block's M values.

    A point :func:`_on_segment` accepts is within 1e-9 m of the line and between the edge's ends: its M
    value is in the edge's range (so it is in one of the blocks, between that block's first and last
    M value in range), and its minor value within 1e-9 · length / |M extent| of the line's at its M
    value (a margin of :data:`_NEAR` in place of 1e-9) and inside the edge's minor extent; the line's
    minor value at it lies between its values at the block's ends. So every such pair is among
    these. Cost: a search per block (at most ``count / _BLOCK`` + 2 per edge) and the points found."""
    p = points.shape[0]
    delta = np.abs(end - start)
    major = (delta[:, 1] > delta[:, 0]).astype(np.int64)
    out_edge, out_point, taken = [], [], []
    for ax in (0, 1):
        sel = crowded[major[crowded] == ax]
        if not sel.size:
            continue
        m = 1 - ax
        first_all, n_all, order_ax = axes[ax]
        position = np.empty(p, dtype=np.int64)
        position[order_ax] = np.arange(p)
        width_b, width_m = p // _BLOCK + 1, values[m].size + 1
        key = (point_face * width_b + position // _BLOCK) * width_m + ranks[m]  # exact: face, block, minor
        by_key = np.argsort(key, kind="stable")
        keys = key[by_key]
        f, last = first_all[sel], first_all[sel] + n_all[sel]
        n = (last - 1) // _BLOCK - f // _BLOCK + 1
        row = np.repeat(np.arange(sel.size), n)
        block = np.repeat(f // _BLOCK, n) + np.arange(row.size) - np.repeat(np.cumsum(n) - n, n)
        # The block's first and last M values among the edge's points (positions run in value order).
        xa = points[order_ax[np.maximum(f[row], block * _BLOCK)], ax]
        xb = points[order_ax[np.minimum(last[row], (block + 1) * _BLOCK) - 1], ax]
        s0, s1 = start[sel], end[sel]
        d_ax, d_m = s1[:, ax] - s0[:, ax], s1[:, m] - s0[:, m]
        tilted = d_ax != 0.0
        slope = np.divide(d_m, d_ax, out=np.zeros_like(d_m), where=tilted)
        reach = np.where(tilted, _NEAR * np.hypot(d_ax, d_m) / np.where(tilted, np.abs(d_ax), 1.0), np.inf)
        ya = s0[row, m] + (xa - s0[row, ax]) * slope[row]
        yb = s0[row, m] + (xb - s0[row, ax]) * slope[row]
        lo = np.maximum(np.minimum(ya, yb) - reach[row], np.minimum(s0[:, m], s1[:, m])[row] - _NEAR)
        hi = np.minimum(np.maximum(ya, yb) + reach[row], np.maximum(s0[:, m], s1[:, m])[row] + _NEAR)
        base = (edge_face[sel][row] * width_b + block) * width_m
        lo_k = np.searchsorted(keys, base + np.searchsorted(values[m], lo, side="left"), side="left")
        hi_k = np.searchsorted(keys, base + np.searchsorted(values[m], hi, side="right"), side="left")
        found = np.maximum(hi_k - lo_k, 0)
        # Only where its searches and points are fewer than the box's points or the walk's searches.
        better = np.bincount(row, found, minlength=sel.size) + n < cost[sel]
        found = np.where(better[row], found, 0)
        taken.append(sel[better])
        edge = np.repeat(sel[row], found)
        at = np.repeat(lo_k, found) + np.arange(edge.size) - np.repeat(np.cumsum(found) - found, found)
        point = by_key[at]
        # The first and last blocks run past the edge's range: their points outside it are left out.
        inside = (position[point] >= np.repeat(f[row], found)) & (position[point] < np.repeat(last[row], found))
        out_edge.append(edge[inside])
        out_point.append(point[inside])
    if not out_edge:
        return crowded[:0], crowded[:0], crowded[:0]
    return np.concatenate(out_edge), np.concatenate(out_point), np.concatenate(taken)


def _minor_values(start: F64, end: F64, values: list[F64]) -> tuple[I64, I64, I64]:
    """Per edge (e,): the axis of its shorter extent (1, v, for an edge running along u, else 0), and
    the range [lo, hi) of that axis' distinct point ``values`` within it, grown by :data:`_NEAR`."""
    delta = np.abs(end - start)
    minor = (delta[:, 0] >= delta[:, 1]).astype(np.int64)
    lo_r, hi_r = np.empty(start.shape[0], dtype=np.int64), np.empty(start.shape[0], dtype=np.int64)
    for m in (0, 1):
        sel = minor == m
        a, b = start[sel, m], end[sel, m]
        lo_r[sel] = np.searchsorted(values[m], np.minimum(a, b) - _NEAR, side="left")
        hi_r[sel] = np.searchsorted(values[m], np.maximum(a, b) + _NEAR, side="right")
    return minor, lo_r, hi_r


def _walk_lines(
    start: F64,
    end: F64,
    edge_face: I64,
    point_face: I64,
    values: list[F64],
    ranks: list[I64],
    walk: I64,
    minor_values: tuple[I64, I64, I64],
) -> tuple[I64, I64]:
    """(edge, point) pairs of the edges ``walk`` (by edge) found along their lines: at each distinct
    value of an edge's minor axis within its extent (:func:`_minor_values`), the points of its face
    with that value whose other coordinate is within reach of where the line passes there.

    A point :func:`_on_segment` accepts is within 1e-9 m of the line: at its minor value, within
    1e-9 · length / |minor extent| of the line's crossing along the major axis (a margin of
    :data:`_NEAR` in place of 1e-9), and inside the edge's extent; so every such pair is among these.
    ``values``/``ranks``: each axis' distinct point values and every point's rank among them."""
    minor, lo_r, hi_r = minor_values
    out_edge, out_point = [], []
    for m in (0, 1):
        sel = walk[minor[walk] == m]
        if not sel.size:
            continue
        d = 1 - m
        n = hi_r[sel] - lo_r[sel]
        row = np.repeat(np.arange(sel.size), n)
        r = np.repeat(lo_r[sel], n) + np.arange(row.size) - np.repeat(np.cumsum(n) - n, n)
        s0, s1 = start[sel], end[sel]
        dm, dd = s1[:, m] - s0[:, m], s1[:, d] - s0[:, d]
        tilted = dm != 0.0
        slope = np.divide(dd, dm, out=np.zeros_like(dd), where=tilted)
        reach = np.where(tilted, _NEAR * np.hypot(dm, dd) / np.where(tilted, np.abs(dm), 1.0), np.inf)
        crossing = s0[row, d] + (values[m][r] - s0[row, m]) * slope[row]
        lo = np.maximum(crossing - reach[row], np.minimum(s0[:, d], s1[:, d])[row] - _NEAR)
        hi = np.minimum(crossing + reach[row], np.maximum(s0[:, d], s1[:, d])[row] + _NEAR)
        width_m, width_d = values[m].size + 1, values[d].size + 1
        key = (point_face * width_m + ranks[m]) * width_d + ranks[d]  # exact integers: face, minor, major
        order = np.argsort(key, kind="stable")
        keys = key[order]
        base = (edge_face[sel][row] * width_m + r) * width_d
        first = np.searchsorted(keys, base + np.searchsorted(values[d], lo, side="left"), side="left")
        last = np.searchsorted(keys, base + np.searchsorted(values[d], hi, side="right"), side="left")
        count = np.maximum(last - first, 0)
        edge = np.repeat(sel[row], count)
        at = np.repeat(first, count) + np.arange(edge.size) - np.repeat(np.cumsum(count) - count, count)
        out_edge.append(edge)
        out_point.append(order[at])
    return np.concatenate(out_edge), np.concatenate(out_point)


#: Faces mended at once by :func:`mend_in_groups`: consecutive ones whose squared point counts (a bound on
#: the (edge, point) pairs each may test) sum to at most this, a face above it alone. A 4,096-point star
#: floor tests millions of pairs (~100 bytes each with the temporaries): 24 of them, within the
#: floor-point limit, asked for 114 million at once (tens of GB) before faces were grouped.
_MEND_GROUP = 1 << 20


def mend_in_groups(pts: F64, index: I64, face: I64, n_pts: I64, p_start: I64) -> tuple[I64, I64]:
    """:func:`_mend_faces` over the faces of :func:`~.triangulate.earcut_many` (``index`` by ``face`` ascending, face
    k's points ``pts[p_start[k]:p_start[k + 1]]``), in groups of :data:`_MEND_GROUP`: each face is mended
    on its own points and triangles alone, so the result is the same as all at once, the memory that of
    the largest group."""
    faces = n_pts.shape[0]
    weight = n_pts * n_pts
    group = (np.cumsum(weight) - weight) // _MEND_GROUP
    cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), faces]
    if len(cuts) <= 2:
        return _mend_faces(pts, index, face, np.repeat(np.arange(faces), n_pts), faces)
    rows = np.searchsorted(face, cuts)
    out_index, out_face = [], []
    for a, b, r0, r1 in zip(cuts[:-1], cuts[1:], rows[:-1], rows[1:], strict=True):
        p0, p1 = int(p_start[a]), int(p_start[b])
        mine = np.repeat(np.arange(b - a), n_pts[a:b])
        got_index, got_face = _mend_faces(pts[p0:p1], index[r0:r1] - p0, face[r0:r1] - a, mine, b - a)
        out_index.append(got_index + p0)
        out_face.append(got_face + a)
    return np.concatenate(out_index), np.concatenate(out_face)


def heights2d(tri: F64) -> F64:
    """Each 2D triangle's (m, 3, 2) smallest altitude: twice its area over its longest edge."""
    e = tri[:, [1, 2, 0]] - tri
    cross = np.abs(e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0])
    longest = np.sqrt(column_reduce(np.maximum, np.einsum("mek,mek->me", e, e)))
    out: F64 = cross / np.where(longest > 0, longest, 1.0)
    return out
