"""Separating planes of two convex polygons: the planes that bound the anti-penumbra of a portal sequence.

What: for polygons X and Y (3, B, V) on either side of X's plane, per edge of X the plane through that
edge and a vertex of Y with X on one side and Y on the other (Teller & Séquin 1991, "Visibility
preprocessing for interactive walkthroughs", SIGGRAPH; the separating-plane / anti-penumbra clipping of
id Software's Quake ``vis`` tool, 1996). Every line through both polygons ends on Y's side — or, oriented
the other way, X's — so clipping by them is conservative: the region kept is a superset of the exact
anti-penumbra, whose boundary is ruled quadric patches. The portal flow (:mod:`.walk`) computes them for
(source, pass) once per walk and shares them among all its candidate targets.

How: per edge, the separating vertex is the one of smallest angle about the edge's line
(:func:`separators`), found by one ratio per (edge, vertex) and checked by the exact tests on that vertex
alone (an exhaustive search over every vertex, ``_separators_exhaustive``, on the few rows where Y touches
X's plane or the check fails). A separating plane is used only if it separates exactly (up to
``SIDE_TOL``), so rounding can only grow the PVS. Degenerate candidate planes (a near-zero edge, a vertex
on the edge's line, a plane containing a polygon: ``DEGENERATE``) are skipped, which can also only grow
it.

Cost: 8 elementwise passes over (V, U, B) and ~60 over (V, B) arrays, against ~55 over padded (B, V, U)
arrays for the exhaustive search; memory O(batch · V²) for the candidates. ~40 % of the flow's time on
office-1000. Rejected (docs/benchmarks.md, PVS): stacked coordinates throughout (cross products by rotated
rows, dot products as sums over the coordinate axis: 15 % faster on batches under 300 walks, 8 % slower on
large ones), the separating vertex's ratios one Y slot at a time into (V, B) buffers (1.00–1.02×),
transposed views instead of contiguous (V, B) copies (−7 % on office-1000 for the copies).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..tolerances import PVS_EPS
from .clipping import SLOTS, next_slot, prev_slot

__all__ = ["DEGENERATE", "SIDE_TOL", "separators"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: A polygon counts as on one side of a separating plane up to this distance (m). Far below
#: PVS_EPS so that the slack of every clip covers the error this admits.
SIDE_TOL = PVS_EPS * 1e-3
#: Edges shorter than this (m), or a vertex closer than this to an edge's line, make no plane:
#: the plane's direction would be dominated by rounding.
DEGENERATE = 1e-5


def separators(x: F64, nx: I64, x_normal: F64, y: F64, ny: I64, keep_x_side: bool) -> tuple[F64, B8]:
    """Separating planes through each edge of polygon X and a vertex of polygon Y, as
    :func:`_separators_exhaustive` finds them, in (4, V, B) layout (planes) and (V, B) (found).

    Which vertex: about the line of an edge, X lies at angle 0 (along the in-plane direction into X)
    and Y's vertices, all on one side of X's plane, at angles towards that side; the plane that
    separates them passes through the vertex of smallest angle, the largest ratio of distance along
    (towards X) over height (above X's plane). The exact tests of the exhaustive search (a plane, X on
    one side, both neighbours of the vertex on the other) then run on that vertex alone and give the
    same plane bit for bit. Rows where Y touches X's plane, or where an edge that should give a plane
    did not (a degenerate pair), are searched exhaustively: the result is the exhaustive one, up to
    which of two tied vertices (the same plane) is used. Cost: 8 elementwise passes over (V, U, B) and
    ~60 over (V, B), against ~55 over padded (B, V, U) arrays for the exhaustive search.
    """
    b, v, u = x.shape[1], x.shape[2], y.shape[2]
    # (3, V, B) copies with the rows innermost: every pass below runs over contiguous memory.
    xt = np.ascontiguousarray(x.transpose(0, 2, 1))
    et = next_slot(xt.transpose(0, 2, 1), nx).transpose(0, 2, 1)
    et -= xt
    edge_len = np.sqrt(et[0] * et[0] + et[1] * et[1] + et[2] * et[2])  # (V, B)
    m0, m1, m2 = x_normal[0][None, :], x_normal[1][None, :], x_normal[2][None, :]
    yt = np.ascontiguousarray(y.transpose(0, 2, 1))  # (3, U, B)
    # Without padded slots (every row as wide as the batch: the usual case) the masks are left out.
    full_x, full_y = bool(nx.min(initial=v) == v), bool(ny.min(initial=u) == u)
    xvalid, yvalid = SLOTS[:v, None] < nx[None, :], SLOTS[:u, None] < ny[None, :]
    # Heights of Y's vertices over X's plane (X is planar: its mean height stands for every vertex),
    # signed so that Y's side is positive.
    up = yt[0] * m0 + yt[1] * m1 + yt[2] * m2  # (U, B)
    height = xt[0] * m0 + xt[1] * m1 + xt[2] * m2
    up -= (height if full_x else np.where(xvalid, height, 0.0)).sum(axis=0) / np.maximum(nx, 1)
    up *= np.where((up if full_y else np.where(yvalid, up, 0.0)).sum(axis=0) < 0.0, -1.0, 1.0)
    edges_ok = edge_len > DEGENERATE
    if not full_x:
        edges_ok &= xvalid
    inward = np.empty_like(et)  # m × e, written in place (np.stack costs ~5 µs of Python a call)
    np.subtract(m1 * et[2], m2 * et[1], out=inward[0])
    np.subtract(m2 * et[0], m0 * et[2], out=inward[1])
    np.subtract(m0 * et[1], m1 * et[0], out=inward[2])
    # About edge i, vertex j of Y is at angle atan2(up_j, along_ij) from X (along: the distance from
    # the edge's line towards X); the smallest angle has the largest along/up.
    w = inward / np.maximum(edge_len, 1e-300)
    along = w[0][:, None] * yt[0][None]  # (V, U, B)
    along += w[1][:, None] * yt[1][None]
    along += w[2][:, None] * yt[2][None]
    along -= (w[0] * xt[0] + w[1] * xt[1] + w[2] * xt[2])[:, None]
    inv_up = 1.0 / np.where(up > DEGENERATE, up, 1.0)
    along *= inv_up[None]
    if not full_y:
        along[:, ~yvalid] = -np.inf
    # The first slot of the largest ratio per edge: a running maximum over Y's slots (np.argmax over
    # the middle axis costs 4× as much).
    best = np.zeros((v, b), np.int64)
    top = along[:, 0].copy()
    for j in range(1, u):
        better = along[:, j] > top
        np.maximum(top, along[:, j], out=top)
        np.copyto(best, j, where=better)
    # Rows whose Y touches or crosses X's plane: the exhaustive search below.
    touching = ~(up > DEGENERATE if full_y else np.where(yvalid, up > DEGENERATE, True)).all(axis=0)
    # The chosen vertex per edge and the steps to its neighbours: one gather of (9, V, B).
    flat = y.reshape(3, b * u)
    base = np.arange(b)[None, :] * u
    last = np.maximum(ny - 1, 0)[None, :]
    yc = flat.take(best + base, axis=1)
    yp = flat.take(np.where(best == 0, last, best - 1) + base, axis=1)
    yp -= yc
    yn = flat.take(np.where(best >= last, 0, best + 1) + base, axis=1)
    yn -= yc
    r = yc - xt
    n0 = et[1] * r[2] - et[2] * r[1]
    n1 = et[2] * r[0] - et[0] * r[2]
    n2 = et[0] * r[1] - et[1] * r[0]
    length = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    scale = 1.0 / np.maximum(length, 1e-300)
    side_x = n0 * inward[0] + n1 * inward[1] + n2 * inward[2]
    side_x *= scale
    side_x /= np.maximum(edge_len, 1e-300)
    np.negative(scale, out=scale, where=side_x > 0.0)
    n0 *= scale
    n1 *= scale
    n2 *= scale
    d_prev = n0 * yp[0] + n1 * yp[1] + n2 * yp[2]
    d_next = n0 * yn[0] + n1 * yn[1] + n2 * yn[2]
    found = edges_ok & (length > DEGENERATE * edge_len) & (np.abs(side_x) > 1e-9)
    found &= np.minimum(d_prev, d_next) >= -SIDE_TOL
    found &= np.maximum(d_prev, d_next) > SIDE_TOL
    planes = np.empty((4, v, b))
    for c, n in enumerate((n0, n1, n2)):
        if keep_x_side:
            np.negative(n, out=planes[c])
        else:
            planes[c] = n
    offset = planes[0] * xt[0]
    offset += planes[1] * xt[1]
    offset += planes[2] * xt[2]
    np.negative(offset, out=planes[3])
    redo = ((edges_ok & ~found).any(axis=0) | touching).nonzero()[0]
    if redo.size:
        xr, mr, yr = (a.take(redo, axis=1) for a in (x, x_normal, y))
        sub, sub_found = _separators_exhaustive(xr, nx[redo], mr, yr, ny[redo], keep_x_side)
        planes[:, :, redo] = sub.transpose(0, 2, 1)
        found[:, redo] = sub_found.T
    lost = ~found
    for c, value in enumerate((0.0, 0.0, 0.0, 1.0)):
        np.copyto(planes[c], value, where=lost)
    return planes, found


def _separators_exhaustive(x: F64, nx: I64, x_normal: F64, y: F64, ny: I64, keep_x_side: bool) -> tuple[F64, B8]:
    """Separating planes through each edge of polygon X and a vertex of polygon Y, every vertex tried.

    ``x`` (3, B, V) with ``nx`` vertices, wound counter-clockwise about ``x_normal`` (3, B);
    ``y`` (3, B, U) with ``ny`` vertices. For edge i of X the plane through it and the vertex of Y
    that puts X and Y on opposite sides. Returns planes (4, B, V) oriented to keep the side of Y
    (``keep_x_side=False``) or of X (``True``), and a (B, V) mask of edges that gave a plane.
    """
    v, u = x.shape[2], y.shape[2]
    a0, a1, a2 = x
    e = next_slot(x, nx)
    e -= x
    e0, e1, e2 = e
    edge_len = np.sqrt(e0 * e0 + e1 * e1 + e2 * e2)
    m0, m1, m2 = x_normal[0][:, None], x_normal[1][:, None], x_normal[2][:, None]
    # inward = x_normal × edge: points into X within X's plane
    i0, i1, i2 = (m1 * e2 - m2 * e1)[:, :, None], (m2 * e0 - m0 * e2)[:, :, None], (m0 * e1 - m1 * e0)[:, :, None]
    r0 = y[0][:, None, :] - a0[:, :, None]  # (B, V_edge, U_vert)
    r1 = y[1][:, None, :] - a1[:, :, None]
    r2 = y[2][:, None, :] - a2[:, :, None]
    e0, e1, e2 = e0[:, :, None], e1[:, :, None], e2[:, :, None]
    # Every (B, V, U) array below is computed in place where the formula allows: fewer temporaries.
    n0 = e1 * r2
    n0 -= e2 * r1
    n1 = e2 * r0
    n1 -= e0 * r2
    n2 = e0 * r1
    n2 -= e1 * r0
    length = n0 * n0
    length += n1 * n1
    length += n2 * n2
    np.sqrt(length, out=length)
    scale = np.maximum(length, 1e-300)
    np.divide(1.0, scale, out=scale)
    # Orient so X lies on the negative side.
    side_x = n0 * i0
    side_x += n1 * i1
    side_x += n2 * i2
    side_x *= scale
    side_x /= np.maximum(edge_len, 1e-300)[:, :, None]
    np.negative(scale, out=scale, where=side_x > 0.0)
    n0 *= scale
    n1 *= scale
    n2 *= scale
    yp, yn = prev_slot(y, ny), next_slot(y, ny)
    yp -= y
    yn -= y
    d_prev = n0 * yp[0][:, None, :]
    d_prev += n1 * yp[1][:, None, :]
    d_prev += n2 * yp[2][:, None, :]
    d_next = n0 * yn[0][:, None, :]
    d_next += n1 * yn[1][:, None, :]
    d_next += n2 * yn[2][:, None, :]
    edges_ok = (SLOTS[:v] < nx[:, None]) & (edge_len > DEGENERATE)
    ok = edges_ok[:, :, None] & (SLOTS[:u] < ny[:, None])[:, None, :]
    ok &= length > DEGENERATE * edge_len[:, :, None]
    np.abs(side_x, out=side_x)
    ok &= side_x > 1e-9
    ok &= np.minimum(d_prev, d_next) >= -SIDE_TOL
    ok &= np.maximum(d_prev, d_next) > SIDE_TOL
    best = np.argmax(ok, axis=2)  # first vertex giving a separating plane, per edge
    bi, vi = np.indices(best.shape, sparse=True)
    found = ok[bi, vi, best]
    sign = -1.0 if keep_x_side else 1.0
    planes = np.empty((4, x.shape[1], v))
    planes[0], planes[1], planes[2] = n0[bi, vi, best] * sign, n1[bi, vi, best] * sign, n2[bi, vi, best] * sign
    planes[3] = -(planes[0] * a0 + planes[1] * a1 + planes[2] * a2)
    # Edges without a plane get one that keeps everything: 0·x + 1 ≥ 0.
    planes[:, ~found] = np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    return planes, found
