"""Earcut over many faces at once, then flips and points where earcut left slivers.

:func:`earcut_many` triangulates every queued face (mapbox-earcut, one call per face; a face whose
holes stand in a column is triangulated with its axes swapped, :func:`_holes_stacked`), then, in one
pass over all of their triangles (every face of every room, walls and slabs together:
:meth:`~.faces.Faces.finish`), leaves out earcut's flat ones (three points of one line, within 1 nm)
and splits those with a point of the face inside an edge (earcut drops collinear points: T-junctions,
:func:`~.mend.mend_in_groups`), in the faces that hold one alone (:func:`_torn`: a point whose triangles'
angles fall short of the face's angle there). Faces left with a triangle under 1 mm high get Delaunay edge flips
(:func:`flip_to_delaunay`; earcut ignores shape: in a 2 cm wall's face it joined points metres
apart). A face still holding a triangle under 0.5 mm high after the flips gets points strictly inside
it, one off the shortest edge of its thinnest triangle a round, kept where they make that face's
thinnest triangle higher (:func:`_steiner`): no T-junction, every face in its plane, the faces without
such a triangle as they were.

Cost: one earcut call (~10–30 µs) per face; the flips and the mend a dozen numpy calls per round over
every face at once, the mend over the torn faces only (24 of office-200's 132; office-1000's earcut faces took
18.0 ms mending them all, 11.3 ms now).
"""

from __future__ import annotations

import mapbox_earcut  # imported with the module (~3 ms), not inside the first build that reaches earcut
import numpy as np
import numpy.typing as npt

from ...arrays import distinct, ranges
from ..delaunay import flip_to_delaunay
from ..outline import orient2
from ..slivers import SLIVER
from .mend import heights2d, mend_in_groups

__all__ = ["THIN", "earcut_many"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def earcut_many(jobs: list[tuple[F64, list[int], int]]) -> tuple[F64, I64]:
    """Triangles (m, 3, 2) of many polygons with holes (``points`` (n, 2), ring ``ends``, outer first),
    and the job each belongs to (m,), job by job: earcut one by one (its uint32 corner lists joined,
    then widened once), then :func:`~.mend._mend_faces` on all, Delaunay flips on the faces with thin
    triangles and points inside those still holding a sliver (:func:`_steiner`)."""
    triangulate = mapbox_earcut.triangulate_float64
    indices = [
        triangulate(points[:, ::-1] if _holes_stacked(points, ends) else points, np.asarray(ends, dtype=np.uint32))
        for points, ends, _ in jobs
    ]
    n_pts = np.array([p.shape[0] for p, _, _ in jobs], np.int64)
    n_tri = np.array([i.shape[0] for i in indices], np.int64) // 3
    p_start = np.concatenate([[0], np.cumsum(n_pts)])
    face = np.repeat(np.arange(len(jobs)), n_tri)
    pts = np.concatenate([p for p, _, _ in jobs])
    index = np.concatenate(indices).astype(np.int64).reshape(-1, 3) + p_start[face][:, None]
    # Earcut may give triangles of three points on one line (a ring with long runs of collinear
    # points, its holes bridged to them, turned off the axes): no area, a corner within the 1 nm of
    # the opposite edge that :func:`~.mend._on_segment` counts as on it, and the mending below would fan such
    # a triangle over its own corner, round after round (20,000 flat triangles from 700). Left out,
    # its long edge is a T-junction the mending splits.
    flat = heights2d(np.take(pts, index, axis=0)) <= _FLAT
    if flat.any():
        index, face = index[~flat], face[~flat]
    index, face = _mended(pts, index, face, n_pts, p_start, _torn(jobs, pts, index, face, p_start))
    # Earcut does not look at shape: in a thin strip (a 2 cm wall's face under a doorway) it may join
    # points metres apart. Faces with a triangle under THIN high get Delaunay edge flips.
    tri = np.take(pts, index, axis=0)
    thin = np.zeros(len(jobs), dtype=bool)
    thin[face[heights2d(tri) < THIN]] = True
    rows = np.flatnonzero(thin[face])
    if rows.size:
        index[rows] = flip_to_delaunay(pts, index[rows])
        tri = np.take(pts, index, axis=0)
        if (heights2d(tri[rows]) < SLIVER).any():
            pts, index, face = _steiner(pts, index, face)
            tri = np.take(pts, index, axis=0)
    return tri, face


def _torn(jobs: list[tuple[F64, list[int], int]], pts: F64, index: I64, face: I64, p_start: I64) -> B8:
    """Per face: whether some point of its rings lies on an edge of its triangles rather than at their corners (a
    T-junction: earcut dropped the point where it is collinear, or where a ring bridged to a hole passes it twice).
    Around each point the triangles with a corner there fill the face's angle at it exactly when none has it on an
    edge (they do not overlap): the face's angle (2π less the outside's, summed over the point's places in its
    rings: a point twice on a bridge, on two rings) against the triangles' angles there, off by π or more where
    torn; 1e-6 of a radian tells them apart."""
    starts = p_start.tolist()
    end = np.array([starts[k] + e for k, (_, ends, _) in enumerate(jobs) for e in ends], np.int64)
    first = np.array([r == 0 for _, ends, _ in jobs for r in range(len(ends))], dtype=bool)
    start = np.roll(end, 1)
    start[first] = p_start[:-1]
    owner, at = ranges(start, end - start)
    nxt = np.where(at + 1 == end[owner], start[owner], at + 1)
    prv = np.where(at == start[owner], end[owner] - 1, at - 1)
    to_next, to_prev = pts[nxt] - pts[at], pts[prv] - pts[at]
    # The way round each ring the face lies on its left: the outline's counter-clockwise, a hole's clockwise.
    area = np.bincount(owner, weights=pts[at, 0] * pts[nxt, 1] - pts[nxt, 0] * pts[at, 1], minlength=end.size)
    ring_sign = np.where(area > 0, 1.0, -1.0) * np.where(first, 1.0, -1.0)
    # The face's angle at a ring point: from the way on to the way back, turning the face's way round.
    sign = ring_sign[owner]
    cross = to_next[:, 0] * to_prev[:, 1] - to_next[:, 1] * to_prev[:, 0]
    inside = np.arctan2(sign * cross, np.einsum("ik,ik->i", to_next, to_prev)) % (2.0 * np.pi)
    want = np.bincount(at, weights=inside, minlength=pts.shape[0])
    tri = np.take(pts, index, axis=0)
    u, v = np.roll(tri, -1, axis=1) - tri, np.roll(tri, 1, axis=1) - tri
    corner = np.abs(np.arctan2(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0], np.einsum("tck,tck->tc", u, v)))
    got = np.bincount(index.reshape(-1), weights=corner.reshape(-1), minlength=pts.shape[0])
    point_face = np.repeat(np.arange(len(jobs)), np.diff(p_start))
    torn = np.zeros(len(jobs), dtype=bool)
    torn[point_face[np.abs(want - got) > 1e-6]] = True
    return torn


def _mended(pts: F64, index: I64, face: I64, n_pts: I64, p_start: I64, torn: B8) -> tuple[I64, I64]:
    """:func:`~.mend.mend_in_groups` of the faces ``torn`` marks, the others' triangles as they are; (index, face)
    by face ascending, as it gives them (most walls' rings keep every point: an office's earcut faces 132, 24 of
    them torn)."""
    if torn.all():
        return mend_in_groups(pts, index, face, n_pts, p_start)
    if not torn.any():
        return index, face
    chosen = np.flatnonzero(torn)
    rows = torn[face]
    # The torn faces renumbered 0..k-1 with their points alone, mended, put back in their places.
    points = ranges(p_start[chosen], n_pts[chosen])[1]
    local = np.full(pts.shape[0], -1, np.int64)
    local[points] = np.arange(points.size)
    sub_start = np.concatenate([[0], np.cumsum(n_pts[chosen])])
    renumber = np.full(torn.size, -1, np.int64)
    renumber[chosen] = np.arange(chosen.size)
    got, got_face = mend_in_groups(pts[points], local[index[rows]], renumber[face[rows]], n_pts[chosen], sub_start)
    all_index = np.concatenate([index[~rows], points[got]])
    all_face = np.concatenate([face[~rows], chosen[got_face]])
    order = np.argsort(all_face, kind="stable")
    return all_index[order], all_face[order]


#: Holes a face has before :func:`_holes_stacked` looks at how they lie.
_STACK_HOLES = 16


def _holes_stacked(points: F64, ends: list[int]) -> bool:
    """Whether a face's holes (rings after the first of ``points``, ``ends``) share their leftmost
    coordinates far more than their lowest: earcut joins holes to the outline in order of their leftmost
    point, each by a search along the outline grown by those before, and holes stacked in a column
    (1,000 windows up a tall wall, every one's leftmost u the same) took it ~n^2.8 (10 s a pair of
    rooms); with the axes swapped (the same points, the triangles' corners the same indices) they
    are a row, as fast as a wall of doorways."""
    if len(ends) - 1 <= _STACK_HOLES:  # (the first ring is the outline)
        return False
    starts = np.asarray(ends[:-1], dtype=np.int64)
    holes = points[starts[0] :]
    low = np.minimum.reduceat(holes, starts - starts[0], axis=0)
    return 2 * distinct(low[:, 0]).size < distinct(low[:, 1]).size


#: Earcut's triangles no higher than this (m) are flat (:func:`earcut_many`): :func:`~.mend._on_segment`'s 1 nm.
_FLAT = 1e-9
#: Triangles of an earcut face lower than this (m) send the face to :func:`flip_to_delaunay`.
THIN = 1e-3


#: How far (in lengths of a sliver's shortest edge) from that edge's midpoint :func:`_steiner` puts its point,
#: round by round: the apex of an equilateral triangle on it first, then lower, higher.
_STEINER_REACH = (0.866, 0.5, 1.5, 0.3, 3.0)
#: Rounds of :func:`_steiner`: a point per face a round.
_STEINER_ROUNDS = 10


def _steiner(points: F64, index: I64, face: I64) -> tuple[F64, I64, I64]:
    """The faces of ``index`` (m, 3) over ``points`` (p, 2) (``face`` (m,), ascending) that still hold
    a triangle under :data:`~sceneforge.geometry.slivers.SLIVER` high after :func:`flip_to_delaunay`, with points added
    inside them: the points, triangles and faces (ascending) after.

    Such a sliver is left where a corner lies a few millimetres from a line of the face's rings
    (an opening's side, a border) and a short edge of those rings has no vertex a Delaunay flip could
    reach that makes it a fat triangle (a trapezoid's 3 mm side 5 mm under a neighbour's corner 4 cm
    away). A round takes each face's thinnest triangle, puts a point off the middle of its shortest
    edge, on the triangle's side, :data:`_STEINER_REACH` of that edge's length away, splits the face's
    triangle holding it in three and flips the face to Delaunay again; the face keeps the point when
    its thinnest triangle got higher, or stayed as high with fewer slivers, else it stays as it was
    (the next round tries the next distance). A point strictly inside a face is no vertex of any other
    face: no T-junction, every face in its plane. Only the faces with a sliver are touched: the rounds
    work on those faces' triangles alone, keeping their heights as they go."""
    height = heights2d(np.take(points, index, axis=0))
    work = np.zeros(int(face.max(initial=-1)) + 1, dtype=bool)
    work[face[height < SLIVER]] = True
    rest = ~work[face]
    index_all, face_all = index, face
    index_rest, face_rest = index[rest], face[rest]
    index, face, height = index[~rest], face[~rest], height[~rest]
    changed = False
    for k in range(_STEINER_ROUNDS):
        low = np.flatnonzero(height < SLIVER)
        if low.size == 0:
            break
        low = low[np.lexsort((height[low], face[low]))]
        low = low[np.concatenate([[True], face[low][1:] != face[low][:-1]])]  # a face's thinnest
        f = face[low]
        tri = np.take(points, index[low], axis=0)
        edge = tri[:, [1, 2, 0]] - tri
        length2 = np.einsum("mek,mek->me", edge, edge)
        j = np.argmin(length2, axis=1)
        n = np.arange(low.size)
        a, b, c = tri[n, j], tri[n, (j + 1) % 3], tri[n, (j + 2) % 3]
        d = b - a
        normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
        normal *= np.where(np.einsum("mk,mk->m", normal, c - a) < 0, -1.0, 1.0)[:, None]
        q = 0.5 * (a + b) + normal * _STEINER_REACH[k % len(_STEINER_REACH)]
        # The triangle of its face holding each point, strictly inside (any winding: flips do not keep it).
        rows = np.flatnonzero(np.isin(face, f))
        cand = np.searchsorted(f, face[rows])
        t = np.take(points, index[rows], axis=0)
        side = np.stack([orient2(t[:, i], t[:, (i + 1) % 3], q[cand]) for i in range(3)], axis=1)
        span = np.sqrt(np.einsum("mek,mek->me", t[:, [1, 2, 0]] - t, t[:, [1, 2, 0]] - t))
        gap = side / np.maximum(span, 1e-300)
        inside = ((gap > _FLAT).all(axis=1)) | ((gap < -_FLAT).all(axis=1))
        host = rows[inside]
        host = host[np.concatenate([[True], face[host][1:] != face[host][:-1]])] if host.size else host
        if host.size == 0:
            continue
        hf = face[host]
        new_id = points.shape[0] + np.arange(host.size)
        points = np.concatenate([points, q[np.searchsorted(f, hf)]])
        sub = np.flatnonzero(np.isin(face, hf))
        x, y, z = (index[host, i] for i in range(3))
        grown = index.copy()
        grown[host] = np.stack([x, y, new_id], axis=1)
        sub_index = np.concatenate([grown[sub], np.stack([y, z, new_id], 1), np.stack([z, x, new_id], 1)])
        sub_face = np.concatenate([face[sub], hf, hf])
        sub_index = flip_to_delaunay(points, sub_index)
        # Keep a face's new triangles when its thinnest got higher (or as high with fewer slivers).
        new_h = heights2d(np.take(points, sub_index, axis=0))
        slot = np.searchsorted(hf, sub_face)
        old_slot = np.searchsorted(hf, face[sub])
        old_min, new_min = np.full(hf.size, np.inf), np.full(hf.size, np.inf)
        np.minimum.at(old_min, old_slot, height[sub])
        np.minimum.at(new_min, slot, new_h)
        old_n = np.bincount(old_slot, weights=height[sub] < SLIVER, minlength=hf.size)
        new_n = np.bincount(slot, weights=new_h < SLIVER, minlength=hf.size)
        better = (new_min > old_min) | ((new_min == old_min) & (new_n < old_n))
        if not better.any():
            continue
        gone = np.isin(face, hf[better])
        keep = better[slot]
        index = np.concatenate([index[~gone], sub_index[keep]])
        face = np.concatenate([face[~gone], sub_face[keep]])
        height = np.concatenate([height[~gone], new_h[keep]])
        order = np.argsort(face, kind="stable")
        index, face, height = index[order], face[order], height[order]
        changed = True
    if not changed:
        return points, index_all, face_all
    index, face = np.concatenate([index_rest, index]), np.concatenate([face_rest, face])
    order = np.argsort(face, kind="stable")
    return points, index[order], face[order]
