"""Lawson flips of planar triangulations to the constrained Delaunay triangulation.

Shared by the panel path's faces (:mod:`.panels.triangulate`: earcut's thin triangles flipped away) and the
boolean path's sliver splits (:mod:`.slivers`): both hand 2D points and the triangles over them, and get the
same vertices and boundary edges back, each interior edge flipped until none needs it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from .outline import orient2

__all__ = ["flip_needed", "flip_to_delaunay"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def flip_needed(pa: F64, pb: F64, pc: F64, pd: F64) -> B8:
    """Per interior edge a–b between triangles (a, b, c) and (b, a, d), points (e, 2): whether a Lawson
    flip to c–d is due — the quad a, c, b, d is convex and the angles at c and d sum past π
    (sin(α + β) < 0; cocircular points, as a rectangle's, never flip)."""
    convex = (orient2(pa, pb, pc) * orient2(pa, pb, pd) < 0) & (orient2(pc, pd, pa) * orient2(pc, pd, pb) < 0)
    u1, v1, u2, v2 = pa - pc, pb - pc, pa - pd, pb - pd
    dot1, dot2 = np.einsum("ek,ek->e", u1, v1), np.einsum("ek,ek->e", u2, v2)
    cross1 = np.abs(u1[:, 0] * v1[:, 1] - u1[:, 1] * v1[:, 0])
    cross2 = np.abs(u2[:, 0] * v2[:, 1] - u2[:, 1] * v2[:, 0])
    total = cross1 * dot2 + dot1 * cross2
    due: B8 = convex & (total < -1e-9 * (cross1 * np.abs(dot2) + np.abs(dot1) * cross2))
    return due


def flip_to_delaunay(points: F64, index: I64, rounds: int | None = None) -> I64:
    """Lawson flips of the triangles ``index`` (m, 3) over ``points`` (p, 2): every interior edge
    (exactly two triangles) whose quad is convex and whose opposite angles sum past π is replaced by
    the quad's other diagonal, in rounds: of the edges that need a flip, ranked by their key (the
    smaller vertex, then the larger), a round flips each that ranks first among them in both its
    triangles, so no two share a triangle. Vertices and boundary edges stay, so no T-junction
    appears; the result is the Delaunay triangulation of each face constrained to its rings (the
    smallest angle as large as it gets). Orientation is not kept (faces are wound from their normals).

    Rounds go on until no edge needs a flip: a flip can make its neighbours' edges need one, and in a
    strip with many holes (1,000 doorways in one wall) a diagonal travels the face one quad per round,
    some 1,000 rounds. ``rounds`` caps them (None: 100 + m, far above what a face takes, a guard
    against a cycle of rounding errors: in exact arithmetic an edge flipped away never comes back).

    Cost: one sort of the 3m half-edges to pair each interior edge's two, kept paired through the
    flips (``twin``); after that a round judges only the edges of the triangles flipped in the round
    before (a verdict changes only with an edge's two triangles) and ranks them with the edges still
    waiting for a flip. So O(m log m) plus, per round, the flips and the waiting edges, not m per
    round (bench/hostile.py's portals-walls, 60 walls of 1,000 doorways: 996 rounds, 0.36 million
    flips, about 1 s in all). An edge of three or more triangles never flips; a flip's new diagonal is taken
    as a new edge of two (it cannot already be one unless triangles overlap, which earcut's do not)."""
    index = index.copy()
    m, n = index.shape[0], int(points.shape[0])
    limit = 100 + m if rounds is None else rounds
    flat = index.reshape(-1)  # half-edge h = 3t + j runs from flat[h] to flat[nxt[h]]; flat[prv[h]] faces it
    step = np.arange(3 * m, dtype=np.int64)
    nxt, prv = step - step % 3 + (step % 3 + 1) % 3, step - step % 3 + (step % 3 + 2) % 3
    key = np.minimum(flat, flat[nxt]) * n + np.maximum(flat, flat[nxt])
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    i = np.flatnonzero(same)
    lone = ~np.concatenate([[False], same])[i] & ~np.concatenate([same, [False]])[i + 1]
    e1, e2 = order[i[lone]], order[i[lone] + 1]  # each interior edge's two half-edges, e1 < e2
    twin = np.full(3 * m, -1, dtype=np.int64)  # the other half-edge of an interior edge, else -1
    twin[e1], twin[e2] = e2, e1
    remap = step.copy()  # where each half-edge moves in the round's flips; itself between rounds
    free = np.iinfo(np.int64).max
    best = np.full(m, free, dtype=np.int64)  # the first rank among a triangle's edges that need a flip
    flipped = np.zeros(m, dtype=bool)
    waiting, look = e1[:0], e1  # edges (by their smaller half-edge) that need a flip / to judge
    for _ in range(limit):
        e2 = twin[look]
        pa, pb, pc, pd = (np.take(points, flat[v], axis=0) for v in (look, nxt[look], prv[look], prv[e2]))
        bad = flip_needed(pa, pb, pc, pd)
        need = np.concatenate([waiting, look[bad]])
        if need.size == 0:
            break
        ea, eb = flat[need], flat[nxt[need]]
        need = need[np.argsort(np.minimum(ea, eb) * n + np.maximum(ea, eb), kind="stable")]
        t1, t2 = need // 3, twin[need] // 3
        rank = np.arange(need.size)
        np.minimum.at(best, t1, rank)
        np.minimum.at(best, t2, rank)
        pick = (best[t1] == rank) & (best[t2] == rank)
        best[t1] = best[t2] = free
        e1, e2, f1, f2 = need[pick], twin[need[pick]], t1[pick], t2[pick]
        flipped[f1] = flipped[f2] = True
        waiting = need[~flipped[t1] & ~flipped[t2]]  # their triangles are as they were: still need one
        flipped[f1] = flipped[f2] = False
        # Edge a-b of triangles (a, b, c) and (·, ·, d) becomes c-d of (c, a, d) and (c, d, b); the
        # quad's sides move to new half-edges, their twins (maybe moved too) are told.
        c, d, ea, eb = flat[prv[e1]], flat[prv[e2]], flat[e1], flat[nxt[e1]]
        along = flat[e2] == ea
        old = np.concatenate([nxt[e1], prv[e1], nxt[e2], prv[e2]])  # b-c, c-a; then b-d, d-a (or a-d, d-b)
        moved = [3 * f2 + 2, 3 * f1, np.where(along, 3 * f2 + 1, 3 * f1 + 1), np.where(along, 3 * f1 + 1, 3 * f2 + 1)]
        new = np.concatenate(moved)
        other = twin[old]
        remap[old] = new
        other = np.where(other >= 0, remap[np.maximum(other, 0)], -1)
        remap[old] = old
        index[f1] = np.stack([c, ea, d], axis=1)
        index[f2] = np.stack([c, d, eb], axis=1)
        twin[new] = other
        twin[other[other >= 0]] = new[other >= 0]
        twin[3 * f1 + 2], twin[3 * f2] = 3 * f2, 3 * f1 + 2
        h = np.concatenate([3 * f1, 3 * f1 + 1, 3 * f1 + 2, 3 * f2, 3 * f2 + 1, 3 * f2 + 2])
        look = distinct(np.minimum(h, twin[h])[twin[h] >= 0])
    return index
