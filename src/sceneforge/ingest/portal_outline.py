"""A portal mesh's doorway: the minimum-area rectangle around its vertices in their plane (:func:`planar_outline`).

The plane is the least-squares one (SVD); the rectangle has a side along an edge of the points' convex hull
(rotating calipers), unless the upright one is at most :data:`UPRIGHT_SLACK` larger. Points that span less
than ``AREA_EPS`` are ``degenerate``, one more than ``PLANARITY_EPS`` off the plane ``non_planar``. Cost: the
hull is O(vertices × 360) (extreme points in :data:`_DIRECTIONS` directions, :data:`CHUNK` rows at a time),
except a convex 4-vertex one (Blender's Plane), whose hull is read directly (:func:`_quad_hull`, the same
result). :func:`lowest_edge_first` starts a quad at its lowest edge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..arrays import distinct_rows
from ..tolerances import AREA_EPS, PLANARITY_EPS
from .surfaces import cross3

__all__ = ["CHUNK", "UPRIGHT_SLACK", "lowest_edge_first", "planar_outline"]

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
        return "degenerate", f"{p.shape[0]} vertices span no area"
    centre = p.mean(axis=0)
    d = p - centre
    _, sv, vt = np.linalg.svd(d, full_matrices=False)
    if sv.shape[0] < 3 or sv[1] <= 1e-12 * max(float(sv[0]), 1e-300):
        return "degenerate", "the vertices are collinear: they span no area"
    u, v, normal = vt[0], vt[1], cross3(vt[0], vt[1])
    off = float(np.abs(d @ normal).max())
    if off > PLANARITY_EPS:
        return "non_planar", f"vertices lie up to {off:.3g} m off their plane (max {PLANARITY_EPS:g} m)"
    flat = np.stack([d @ u, d @ v], axis=1)
    hull = _quad_hull(flat)
    if hull is None:
        hull = _convex_hull(flat)
    if hull.shape[0] < 3:
        return "degenerate", "the vertices span no area"
    edges = np.roll(hull, -1, axis=0) - hull
    edges = edges / np.linalg.norm(edges, axis=1, keepdims=True)
    across = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    areas = np.empty(edges.shape[0])
    step = max(1, (1 << 22) // hull.shape[0])  # O(h²) over the hull only, in blocks of ≤ 4M products
    for start in range(0, edges.shape[0], step):
        block = slice(start, start + step)
        areas[block] = np.ptp(hull @ edges[block].T, axis=0) * np.ptp(hull @ across[block].T, axis=0)
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


def _convex_hull(flat: F64) -> F64:
    """The convex hull of (n, 2) points, counter-clockwise, without collinear vertices.

    Points strictly inside the polygon of the extreme points in 360 directions are dropped with
    numpy first (chunks of 4,096 rows); Andrew's monotone chain then runs on what is left: the
    boundary, a few dozen points for a Blender grid or n-gon.
    """
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
