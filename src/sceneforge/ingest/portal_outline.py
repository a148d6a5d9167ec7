"""A portal mesh's doorway: the minimum-area rectangle around its vertices in their plane (:func:`planar_outline`).

The plane is the least-squares one (SVD); the rectangle has a side along an edge of the points' convex hull
(rotating calipers), unless the upright one is at most :data:`UPRIGHT_SLACK` larger. Points that span less
than ``AREA_EPS`` are ``degenerate``, one more than ``PLANARITY_EPS`` off the plane ``non_planar``. Cost: up to
2,048 vertices the hull is O(vertices × 360) (extreme points in :data:`_DIRECTIONS` directions, :data:`CHUNK`
rows at a time) and the rectangle O(hull²), except a convex 4-vertex one (Blender's Plane), whose hull is read
directly (:func:`_quad_hull`, the same result); past that, O(n log n): manifold3d's hull and a binary search
per caliper (a 100,000-vertex circle: 0.2 s). :func:`lowest_edge_first` starts a quad at its lowest edge.

:func:`planar_outlines` (:func:`stacked_outlines`, :func:`lowest_edges_first`) gives the same results, bit for
bit, for many sets at once: the sets of one vertex count are stacked, and each step above runs in numpy over
the stack — the stacked SVD, products and sums are the single ones run on each slice, the monotone chain
takes one step per point for every set. A set the stack cannot follow exactly (its filter drops a point, two
of its rounded points coincide, a 4-point set that is not a clear convex quad, more than 2,048 vertices) is
outlined alone. Cost at 60,000 sets: ~6 µs a Plane, ~50 µs a 32-gon, against ~0.14 ms and ~0.37 ms alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..arrays import distinct_rows
from ..tolerances import AREA_EPS, PLANARITY_EPS
from .surfaces import cross3

__all__ = [
    "CHUNK",
    "UPRIGHT_SLACK",
    "lowest_edge_first",
    "lowest_edges_first",
    "planar_outline",
    "planar_outlines",
    "stacked_outlines",
]

#: What a portal mesh that is not flat is told: the doorway artists draw as a box or a thickened plane.
NOT_FLAT = "; a doorway is one flat face: a Plane, not a box (a cube scaled thin) or a plane with Solidify"

F64 = npt.NDArray[np.float64]


#: Directions sampled for a portal outline's hull: extreme points every 1°.
_DIRECTIONS = 360


#: Rows of the (points × directions) projection computed at once (bounded memory on big meshes).
CHUNK = 4096


#: A 4-vertex portal takes the quick hull (:func:`_quad_hull`) when each of its turns is at least this
#: fraction of its squared extent (a cross product; a Plane's is 4×, a 1:1000 sliver's ~0.004×).
_QUAD_TURN = 1e-6


#: An upright outline is preferred to the minimum-area one when at most this much larger.
UPRIGHT_SLACK = 0.02


def planar_outline(points: F64) -> tuple[F64, F64] | tuple[str, str]:
    """The minimum-area rectangle around planar ``points`` (n, 3) in their plane.

    Returns ``(quad, normal)``: the (4, 3) corners as a ring, counter-clockwise seen from the
    unit ``normal`` side; or ``(code, message)``: ``degenerate`` when the points span less than
    ``AREA_EPS`` (collinear, coincident, fewer than 3) and ``non_planar`` when one lies more than
    ``PLANARITY_EPS`` off their best-fit plane. The plane is the least-squares one (SVD); the
    rectangle has a side along an edge of the points' convex hull (rotating calipers: the
    smallest is always among those), unless the upright one (sides along the plane's vertical,
    +Y) is at most ``UPRIGHT_SLACK`` larger; it is measured over every point, so it always
    contains the shape.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if p.shape[0] < 3:
        return "degenerate", f"{p.shape[0]} {'vertex spans' if p.shape[0] == 1 else 'vertices span'} no area"
    centre = p.mean(axis=0)
    d = p - centre
    _, sv, vt = np.linalg.svd(d, full_matrices=False)
    if sv.shape[0] < 3 or sv[1] <= 1e-12 * max(float(sv[0]), 1e-300):
        return "degenerate", _spanless(float(sv[0]))
    u, v, normal = vt[0], vt[1], cross3(vt[0], vt[1])
    off = float(np.abs(d @ normal).max())
    if off > PLANARITY_EPS:
        return "non_planar", f"vertices lie up to {off:.3g} m off their plane (max {PLANARITY_EPS:g} m){NOT_FLAT}"
    flat = np.stack([d @ u, d @ v], axis=1)
    hull = _quad_hull(flat)
    if hull is None:
        hull = _convex_hull(flat)
    if hull.shape[0] < 3:
        return "degenerate", "the vertices span no area"
    edges = np.roll(hull, -1, axis=0) - hull
    edges = edges / np.linalg.norm(edges, axis=1, keepdims=True)
    across = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    areas = (
        _caliper_areas(hull, edges, across) if hull.shape[0] > _STACKED_MAX else _all_pairs_areas(hull, edges, across)
    )
    k = int(np.argmin(areas))
    e, f = edges[k], across[k]
    # Doorways stand upright: the rectangle with sides along the plane's vertical (+Y projected
    # into it) is taken when it is within UPRIGHT_SLACK of the minimum (a 32-gon's minimum is
    # turned by half an edge, 0.5 % smaller). Horizontal planes have no vertical: the minimum.
    vertical = np.array([u[1], v[1]])
    if float(np.linalg.norm(vertical)) > 0.1:
        f_up = vertical / np.linalg.norm(vertical)
        e_up = np.array([f_up[1], -f_up[0]])  # (e_up, f_up) counter-clockwise, like (e, f)
        upright_area = float(np.ptp(hull @ e_up) * np.ptp(hull @ f_up))
        if upright_area <= areas[k] * (1 + UPRIGHT_SLACK):
            e, f = e_up, f_up
    a, b = flat @ e, flat @ f
    corners2 = np.array([[a.min(), b.min()], [a.max(), b.min()], [a.max(), b.max()], [a.min(), b.max()]])
    area = float(np.ptp(a) * np.ptp(b))
    if area < AREA_EPS:
        return "degenerate", f"the outline spans {area:.3g} m², below {AREA_EPS:g} m²"
    # (e, f) is counter-clockwise in (u, v), so the ring winds around u × v = normal.
    plane2 = corners2[:, :1] * e + corners2[:, 1:] * f  # back to (u, v) coordinates
    quad = centre + plane2[:, :1] * u + plane2[:, 1:] * v
    return quad, normal


#: A point set spread less than this (metres, its largest singular value) is one point, not a line.
_ONE_POINT = 1e-9


def _spanless(spread: float) -> str:
    """What a point set that spans no area is (``spread``: its largest singular value about its centre)."""
    if spread < _ONE_POINT:
        return "the vertices coincide (an object scaled to a point?): they span no area"
    return "the vertices are collinear: they span no area"


def _all_pairs_areas(hull: F64, edges: F64, across: F64) -> F64:
    """The area of the rectangle with a side along each edge of ``hull``: every vertex projected on every
    edge's direction, O(h²) in blocks of ≤ 4M products (what :func:`stacked_outlines` repeats bit for bit)."""
    areas = np.empty(edges.shape[0])
    step = max(1, (1 << 22) // hull.shape[0])
    for start in range(0, edges.shape[0], step):
        block = slice(start, start + step)
        areas[block] = np.ptp(hull @ edges[block].T, axis=0) * np.ptp(hull @ across[block].T, axis=0)
    return areas


def _caliper_areas(hull: F64, edges: F64, across: F64) -> F64:
    """:func:`_all_pairs_areas` in O(h log h) for a big hull (a 100,000-vertex circle: minutes as all pairs).

    The vertex of a counter-clockwise convex polygon farthest along a direction is the one between the
    two edges whose outward normals bracket it, and the edges' angles increase around the ring: a binary
    search per direction (the rotating calipers' four contacts, found at once). Its two neighbours either
    side are tried too, so an angle rounded across a nearly straight vertex still finds the farthest.
    """
    h = hull.shape[0]
    turn = np.arctan2(edges[:, 1], edges[:, 0])
    turn = turn[0] + np.concatenate([[0.0], np.cumsum(np.mod(np.diff(turn), 2 * np.pi))])
    normal = turn - np.pi / 2  # outward normal of each edge; vertex k + 1 is farthest from normal k to k + 1

    def farthest(direction: F64) -> F64:
        angle = normal[0] + np.mod(np.arctan2(direction[:, 1], direction[:, 0]) - normal[0], 2 * np.pi)
        k = np.searchsorted(normal, angle)[:, None] + np.arange(-2, 3)[None, :]
        out: F64 = np.einsum("dij,dj->di", hull[k % h], direction).max(axis=1)
        return out

    return (farthest(edges) + farthest(-edges)) * (farthest(across) + farthest(-across))


def _convex_hull(flat: F64) -> F64:
    """The convex hull of (n, 2) points, counter-clockwise from the lowest x (then y), without collinear
    vertices.

    Points strictly inside the polygon of the extreme points in 360 directions are dropped with
    numpy first (chunks of 4,096 rows); Andrew's monotone chain then runs on what is left: the
    boundary, a few dozen points for a Blender grid or n-gon. Past ``_STACKED_MAX`` points both are
    O(n) Python or O(n × 360) numpy (a 100,000-vertex circle left 100,000 points to the chain): those go
    to manifold3d's compiled QuickHull (``CrossSection.hull_points``, the input's own coordinates).
    """
    if flat.shape[0] > _STACKED_MAX:
        from manifold3d import CrossSection

        rest = distinct_rows(np.round(flat, 12))
        rings = CrossSection.hull_points(rest).to_polygons() if rest.shape[0] >= 3 else []
        if not rings:
            return rest[:0]
        hull = np.asarray(rings[0], dtype=np.float64)
        return np.roll(hull, -int(np.lexsort((hull[:, 1], hull[:, 0]))[0]), axis=0)
    angles = np.arange(_DIRECTIONS) * (2 * np.pi / _DIRECTIONS)
    dirs = np.stack([np.cos(angles), np.sin(angles)])  # (2, K)
    best_value = np.full(_DIRECTIONS, -np.inf)
    best_index = np.zeros(_DIRECTIONS, np.int64)
    for start in range(0, flat.shape[0], CHUNK):
        proj = flat[start : start + CHUNK] @ dirs
        arg = proj.argmax(axis=0)
        value = proj[arg, np.arange(_DIRECTIONS)]
        better = value > best_value
        best_value[better], best_index[better] = value[better], arg[better] + start
    ring = best_index[np.r_[True, best_index[1:] != best_index[:-1]]]  # extreme points in angular order
    if ring.shape[0] > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    inner = flat[ring]
    keep = np.ones(flat.shape[0], bool)
    if inner.shape[0] >= 3:
        edge = np.roll(inner, -1, axis=0) - inner
        scale = float(np.abs(flat).max()) ** 2
        for start in range(0, flat.shape[0], CHUNK):
            rel = flat[start : start + CHUNK, None, :] - inner[None]
            cross = edge[None, :, 0] * rel[:, :, 1] - edge[None, :, 1] * rel[:, :, 0]
            keep[start : start + CHUNK] = ~(cross > 1e-12 * scale).all(axis=1)
    rest = distinct_rows(np.round(flat[keep], 12))  # sorted by x, then y
    if rest.shape[0] < 3:
        return rest
    lower, upper = _chain(rest), _chain(rest[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _chain(points: Any) -> list[Any]:
    """One half of Andrew's monotone chain over ``points`` sorted by x, then y: left turns only."""
    out: list[Any] = []
    for q in points:
        while len(out) >= 2:
            a, b = out[-2], out[-1]
            if (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]) > 0:
                break
            out.pop()
        out.append(q)
    return out


def _quad_hull(flat: F64) -> F64 | None:
    """What :func:`_convex_hull` gives for 4 points forming a clearly convex quad (Blender's Plane),
    found without its 360-direction filter (most of a portal's cost); ``None`` for anything else.

    The filter drops only points strictly inside the polygon of the extreme points, and no corner
    of a convex quad is: so the hull is the monotone chain over the same rounded, sorted points,
    with the same arithmetic, and the same array. "Clearly": each turn's cross product is above
    ``_QUAD_TURN`` × the squared extent, far from where rounding could make the two disagree.
    """
    if flat.shape[0] != 4:
        return None
    rows = sorted(map(tuple, np.round(flat, 12).tolist()))  # np.unique's order: by x, then y
    if len(set(rows)) != 4:
        return None
    lower, upper = _chain(rows), _chain(rows[::-1])
    ring = lower[:-1] + upper[:-1]
    if len(ring) != 4:
        return None
    least = _QUAD_TURN * max(abs(x) for row in rows for x in row) ** 2
    for k in range(4):
        (ax, ay), (bx, by), (cx, cy) = ring[k - 1], ring[k], ring[(k + 1) % 4]
        if (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) <= least:
            return None
    return np.array(ring)


def lowest_edge_first(quad: F64) -> F64:
    """``quad`` rotated to start at its lowest edge (by mean y, then x, then z): a canonical ring."""
    mid = (quad + np.roll(quad, -1, axis=0)) / 2
    keys = np.round(mid, 6)
    start = int(np.lexsort((keys[:, 2], keys[:, 0], keys[:, 1]))[0])
    return np.ascontiguousarray(np.roll(quad, -start, axis=0))


def lowest_edges_first(quads: F64) -> F64:
    """:func:`lowest_edge_first` of each of the (n, 4, 3) ``quads`` (the same keys, the same ties)."""
    mid = (quads + np.roll(quads, -1, axis=1)) / 2
    keys = np.round(mid, 6)
    start = np.lexsort((keys[..., 2], keys[..., 0], keys[..., 1]), axis=-1)[:, 0]
    turn = (start[:, None] + np.arange(4)[None]) % 4
    out: F64 = quads[np.arange(quads.shape[0])[:, None], turn]
    return out


# -- many outlines at once -------------------------------------------------------------------

#: The most vertices a point set may have to be outlined with others of its count (:func:`planar_outlines`):
#: its hull's (h × h) caliper products then fit :func:`planar_outline`'s one block of ≤ 4M.
_STACKED_MAX = 2048

#: Elements of one stacked temporary ((sets × points × directions) projections, (sets × h × h) calipers).
_STACK_ELEMENTS = 1 << 22

#: Elements of one block of (sets × points × directions) projections, whose argmax over the points
#: (a strided axis, copied first) is 3× faster when the block stays in cache.
_PROJECTED = 1 << 18

Outline = tuple[F64, F64] | tuple[str, str]


def planar_outlines(point_sets: list[F64]) -> list[Outline]:
    """:func:`planar_outline` of each (n, 3) array of ``point_sets``: the same quads, normals and
    messages, bit for bit, for many sets at once (a tagged GLB's 60,000 doorways).

    Sets of one vertex count are stacked and outlined together (:func:`stacked_outlines`).
    """
    out: list[Outline | None] = [None] * len(point_sets)
    counts = np.fromiter((np.shape(p)[0] for p in point_sets), np.int64, len(point_sets))
    for n in np.unique(counts).tolist():
        members = np.flatnonzero(counts == n)
        stack = np.stack([np.asarray(point_sets[k], dtype=np.float64).reshape(-1, 3) for k in members])
        for k, found in zip(members.tolist(), stacked_outlines(stack), strict=True):
            out[k] = found
    return out  # type: ignore[return-value]


def stacked_outlines(points: F64) -> list[Outline]:
    """:func:`planar_outline` of each of the (G, n, 3) ``points``, bit for bit, in numpy over the stack.

    Every step is the one :func:`planar_outline` takes, on (G, …) arrays: the same reductions over the
    same axes (a stacked SVD, matrix product or sum is the single one run on each slice), the same
    element-wise arithmetic, the same monotone chain (:func:`_stacked_chain`, its steps over the sorted
    points, each for all sets). A set the stack does not follow exactly — its 360-direction filter drops a
    point, two rounded points coincide, a 4-point set is not a clear convex quad, too many vertices, a
    non-finite coordinate, an SVD that does not converge — is outlined alone by :func:`planar_outline`.
    """
    p = np.asarray(points, dtype=np.float64)
    g, n = p.shape[0], p.shape[1]
    if n < 3 or n > _STACKED_MAX or g < 2:
        return [planar_outline(p[k]) for k in range(g)]
    out: list[Outline | None] = [None] * g
    alone = np.asarray(~np.isfinite(p).all(axis=(1, 2)), dtype=bool)
    try:
        centre = p.mean(axis=1)
        d = p - centre[:, None]
        _, sv, vt = np.linalg.svd(d, full_matrices=False)
    except np.linalg.LinAlgError:
        return [planar_outline(p[k]) for k in range(g)]
    collinear = sv[:, 1] <= 1e-12 * np.maximum(sv[:, 0], 1e-300)
    u, v = vt[:, 0], vt[:, 1]
    normal = cross3(u, v)
    off = np.abs(np.matmul(d, normal[:, :, None])[..., 0]).max(axis=1)
    planar = ~alone & ~collinear & (off <= PLANARITY_EPS)
    for k in np.flatnonzero(~alone & collinear).tolist():
        out[k] = ("degenerate", _spanless(float(sv[k, 0])))
    for k in np.flatnonzero(~alone & ~collinear & ~planar).tolist():
        out[k] = (
            "non_planar",
            f"vertices lie up to {float(off[k]):.3g} m off their plane (max {PLANARITY_EPS:g} m){NOT_FLAT}",
        )
    rows = np.flatnonzero(planar)
    flat = np.stack([np.matmul(d[rows], u[rows, :, None])[..., 0], np.matmul(d[rows], v[rows, :, None])[..., 0]], 2)
    hulls, lengths, followed = (_stacked_quad_hulls if n == 4 else _stacked_convex_hulls)(flat)
    alone[rows[~followed]] = True
    for k in np.flatnonzero(alone).tolist():
        out[k] = planar_outline(p[k])
    rows, flat, hulls, lengths = rows[followed], flat[followed], hulls[followed], lengths[followed]
    for k in rows[lengths < 3].tolist():
        out[k] = ("degenerate", "the vertices span no area")
    for h in np.unique(lengths[lengths >= 3]).tolist():
        at = np.flatnonzero(lengths == h)
        step = max(1, _STACK_ELEMENTS // (h * h))
        for start in range(0, at.shape[0], step):
            block = at[start : start + step]
            sel = rows[block]
            _finish(out, sel, centre[sel], u[sel], v[sel], normal[sel], flat[block], hulls[block, :h])
    return out  # type: ignore[return-value]


def _finish(
    out: list[Outline | None], sel: Any, centre: F64, u: F64, v: F64, normal: F64, flat: F64, hull: F64
) -> None:
    """:func:`planar_outline` from the hull on: the calipers, the upright choice, the rectangle (``out[sel]``)."""
    g = hull.shape[0]
    edges = np.roll(hull, -1, axis=1) - hull
    edges = edges / np.linalg.norm(edges, axis=2, keepdims=True)
    across = np.stack([-edges[..., 1], edges[..., 0]], axis=2)
    areas = np.ptp(np.matmul(hull, edges.transpose(0, 2, 1)), axis=1)
    areas = areas * np.ptp(np.matmul(hull, across.transpose(0, 2, 1)), axis=1)
    k = np.argmin(areas, axis=1)
    every = np.arange(g)
    e, f, least = edges[every, k], across[every, k], areas[every, k]
    vertical = np.stack([u[:, 1], v[:, 1]], axis=1)
    # np.linalg.norm of one 2-vector is a dot product: one per slice of a stacked (1, 2) @ (2, 1).
    length = np.sqrt(np.matmul(vertical[:, None, :], vertical[:, :, None])[:, 0, 0])
    up = length > 0.1
    f_up = vertical[up] / length[up, None]
    e_up = np.stack([f_up[:, 1], -f_up[:, 0]], axis=1)
    h_up = hull[up]
    upright = np.ptp(np.matmul(h_up, e_up[:, :, None])[..., 0], axis=1)
    upright = upright * np.ptp(np.matmul(h_up, f_up[:, :, None])[..., 0], axis=1)
    take = np.zeros(g, bool)
    take[up] = upright <= least[up] * (1 + UPRIGHT_SLACK)
    e[take], f[take] = e_up[take[up]], f_up[take[up]]
    a, b = np.matmul(flat, e[:, :, None])[..., 0], np.matmul(flat, f[:, :, None])[..., 0]
    lo_a, hi_a, lo_b, hi_b = a.min(axis=1), a.max(axis=1), b.min(axis=1), b.max(axis=1)
    corners2 = np.stack(
        [np.stack([lo_a, lo_b], 1), np.stack([hi_a, lo_b], 1), np.stack([hi_a, hi_b], 1), np.stack([lo_a, hi_b], 1)], 1
    )
    area = np.ptp(a, axis=1) * np.ptp(b, axis=1)
    plane2 = corners2[..., :1] * e[:, None] + corners2[..., 1:] * f[:, None]
    quad = centre[:, None] + plane2[..., :1] * u[:, None] + plane2[..., 1:] * v[:, None]
    small = area < AREA_EPS
    for j, k in enumerate(np.asarray(sel).tolist()):
        if small[j]:
            out[k] = ("degenerate", f"the outline spans {float(area[j]):.3g} m², below {AREA_EPS:g} m²")
        else:
            out[k] = (quad[j], normal[j])


def _stacked_chain(points: F64, count: Any) -> tuple[Any, Any]:
    """:func:`_chain` over each of the (G, m, 2) ``points`` (sorted by x, then y; the first ``count[g]``
    of row g): the kept indices (G, m) and how many. One step per point, each for every set at once;
    a step pops, for the sets whose last two kept points and this one make no left turn, until none do."""
    g, m = points.shape[0], points.shape[1]
    kept = np.zeros((g, m), np.int64)
    top = np.zeros(g, np.int64)
    every = np.arange(g)
    for j in range(m):
        live = j < count
        q = points[:, j]
        while True:
            can = live & (top >= 2)
            if not can.any():
                break
            a = points[every, kept[every, np.maximum(top - 2, 0)]]
            b = points[every, kept[every, np.maximum(top - 1, 0)]]
            turn = (b[:, 0] - a[:, 0]) * (q[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (q[:, 0] - a[:, 0])
            pop = can & ~(turn > 0)
            if not pop.any():
                break
            top = top - pop
        kept[every[live], top[live]] = j
        top = top + live
    return kept, top


def _stacked_rings(rest: F64, count: Any) -> tuple[F64, Any]:
    """The monotone chain's hull (``lower[:-1] + upper[:-1]``) of each of the (G, m, 2) sorted ``rest``
    (the first ``count[g]`` rows of set g): (G, m, 2) rings, padded, and their lengths."""
    g, m = rest.shape[0], rest.shape[1]
    every = np.arange(g)
    lower, nl = _stacked_chain(rest, count)
    # The upper chain runs over the points reversed: each set's own first count[g] rows, last first.
    back = np.clip(count[:, None] - 1 - np.arange(m)[None], 0, m - 1)
    reverse = rest[every[:, None], back]
    upper, nu = _stacked_chain(reverse, count)
    lengths = np.maximum(nl - 1, 0) + np.maximum(nu - 1, 0)
    slot = np.arange(m)[None]
    # Ring position s: lower[s] while s < nl - 1, then upper[s - (nl - 1)] (an index into reverse).
    in_lower = slot < (nl - 1)[:, None]
    from_lower = rest[every[:, None], lower[every[:, None], np.minimum(slot, m - 1)]]
    j = np.clip(slot - (nl - 1)[:, None], 0, m - 1)
    from_upper = reverse[every[:, None], upper[every[:, None], j]]
    rings = np.where(in_lower[..., None], from_lower, from_upper)
    return rings, lengths


def _stacked_quad_hulls(flat: F64) -> tuple[F64, Any, Any]:
    """:func:`_quad_hull` of each of the (G, 4, 2) ``flat``: (hulls, lengths, followed); a set that is
    not a clear convex quad is not followed (:func:`planar_outline` takes its general hull)."""
    g = flat.shape[0]
    rows = np.round(flat, 12)
    order = np.lexsort((rows[..., 1], rows[..., 0]), axis=-1)  # sorted()'s order: by x, then y, stable
    rows = np.take_along_axis(rows, order[..., None], axis=1)
    distinct = (rows[:, 1:] != rows[:, :-1]).any(axis=2).all(axis=1)
    ring, lengths = _stacked_rings(rows, np.full(g, 4))
    ok = distinct & (lengths == 4)
    # max(...) ** 2 as Python floats: float.__pow__ (the C library's pow), not numpy's x * x.
    least = _QUAD_TURN * np.array([x**2 for x in np.abs(rows).max(axis=(1, 2)).tolist()], dtype=np.float64)
    for k in range(4):
        a, b, c = ring[:, k - 1], ring[:, k], ring[:, (k + 1) % 4]
        turn = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        ok &= ~(turn <= least)
    return ring, np.where(ok, 4, 0), ok


def _stacked_convex_hulls(flat: F64) -> tuple[F64, Any, Any]:
    """:func:`_convex_hull` of each of the (G, n, 2) ``flat`` (n ≤ CHUNK): (hulls padded to n, lengths,
    followed). Followed: the sets whose 360-direction filter keeps every point and whose rounded points
    are distinct (a Blender n-gon's: every vertex on its hull); the chain then runs on all of them, sorted."""
    g, n = flat.shape[0], flat.shape[1]
    angles = np.arange(_DIRECTIONS) * (2 * np.pi / _DIRECTIONS)
    dirs = np.stack([np.cos(angles), np.sin(angles)])
    best = np.empty((g, _DIRECTIONS), np.int64)
    step = max(1, _PROJECTED // (n * _DIRECTIONS))  # small blocks: the argmax over points stays in cache
    for start in range(0, g, step):
        best[start : start + step] = np.matmul(flat[start : start + step], dirs).argmax(axis=1)
    # A point extreme in some direction is a vertex of the filter's polygon, kept (its own edge's product
    # is 0); only the sets with a point that is not need the filter's test.
    extreme = np.zeros((g, n), bool)
    extreme[np.arange(g)[:, None], best] = True
    kept = np.ones(g, bool)
    test = np.flatnonzero(~extreme.all(axis=1))
    step = max(1, _STACK_ELEMENTS // (n * n))
    for start in range(0, test.shape[0], step):
        sets = test[start : start + step]
        kept[sets] = _all_kept(flat[sets], best[sets])
    rows = np.round(flat, 12)
    order = np.lexsort((rows[..., 1], rows[..., 0]), axis=-1)
    rows = np.take_along_axis(rows, order[..., None], axis=1)
    distinct = (rows[:, 1:] != rows[:, :-1]).any(axis=2).all(axis=1)
    followed = kept & distinct
    rings, lengths = _stacked_rings(rows, np.full(g, n))
    return rings, lengths, followed


def _all_kept(flat: F64, best: Any) -> Any:
    """Whether :func:`_convex_hull`'s filter keeps every point of each of the (G, n, 2) ``flat``, given the
    extreme point in each direction ``best`` (G, 360): the ring of their runs, the last run dropped when it
    is the first's point, and no point strictly inside all of its edges (with its margin, the same products)."""
    g = flat.shape[0]
    starts = np.ones(best.shape, bool)
    starts[:, 1:] = best[:, 1:] != best[:, :-1]
    runs = starts.sum(axis=1)
    wrap = (runs > 1) & (best[:, 0] == best[:, -1])
    last = _DIRECTIONS - 1 - np.argmax(starts[:, ::-1], axis=1)
    starts[np.flatnonzero(wrap), last[wrap]] = False
    size = runs - wrap
    width = int(size.max())
    slots = np.argsort(~starts, axis=1, kind="stable")[:, :width]  # each set's run starts, in order
    ring = np.take_along_axis(best, slots, axis=1)
    every = np.arange(g)[:, None]
    inner = flat[every, ring]  # (G, width, 2)
    j = np.arange(width)[None]
    after = np.where(j + 1 < size[:, None], j + 1, 0)
    edge = inner[every, after] - inner
    scale = np.array([x**2 for x in np.abs(flat).max(axis=(1, 2)).tolist()], dtype=np.float64)  # float ** 2
    rel = flat[:, :, None, :] - inner[:, None, :, :]
    cross = edge[:, None, :, 0] * rel[..., 1] - edge[:, None, :, 1] * rel[..., 0]
    inside = (cross > (1e-12 * scale)[:, None, None]) | ~(j < size[:, None])[:, None, :]
    dropped = inside.all(axis=2).any(axis=1)
    return (size < 3) | ~dropped
