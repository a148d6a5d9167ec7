"""The four slab faces of every room and the hatches' tunnels (:func:`slab_faces`).

The floor's underside and the ceiling's top (P, notched where openings reach y0 or y1), the floor's
top and the ceiling's underside (P′, with a vertex wherever an opening's side meets it), each minus
the hatches through that slab, and each hatch's tunnel. A notch cuts each face as a rectangle spanning
it where it meets that face's level would (:func:`~.near.slab_openings`). Convex rings are fans (from
the centre where one from the first corner would make a triangle under 1 mm high: :func:`_fans`); the
floor's underside and the ceiling's top of every room that is not a plain convex one are the wall
footprints as strips (:func:`_strips`) plus the cavity (earcut over the notched outline made
triangles a fraction of a millimetre high in thin walls); the other rings go to earcut. A room with a hatch
flush with its walls has the cavity's rectangle minus the hatches (:func:`_cavity_polygons`), or its
rectilinear polygon minus them (:func:`_polygon_minus_rects`), or any other polygon's ring minus them, traced
over directed edges (:func:`_polygon_minus_hatches`), as its slab faces' rings.
"""

from __future__ import annotations

import itertools
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ..slivers import SLIVER
from .faces import UP, Faces, X, Z, plan3
from .hatches import (
    ON_LINE,
    FlushSides,
    Hatches,
    SidePlaces,
    flush_tunnels,
    hatch_rings,
    inside_rectilinear,
    open_stretches,
    rectilinear_cavity,
    segment_gaps,
)
from .mend import heights2d
from .near import Near, slab_openings
from .notches import Notches
from .openings import Openings
from .triangulate import THIN
from .wall_faces import wall_polygons
from .walls import Walls, run_polygons

__all__ = ["slab_faces"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]
#: A node of :func:`_loops`: a grid node (i, j) (:func:`_polygon_minus_rects`), a point's index
#: (:func:`_polygon_minus_hatches`).
_Node = TypeVar("_Node", int, tuple[int, int])


def _ring(w: Walls, o: Openings, sel: B8, fast: B8, outer: bool) -> tuple[F64, I64, I64, B8]:
    """Every fast room's outline ring, P (``outer``) notched at the openings ``sel``, or P' with the
    openings' sides inserted: (points (n, 2) room by room in order, room (n,), start (r + 1,), corner (n,))."""
    t = w.thickness[o.edge[sel]]
    # (P' without a mixed run's walls: their cavity corners are the apex, repeated; earcut joined the copies.)
    e_all = np.flatnonzero(fast[w.room] if outer else fast[w.room] & ~w.mixed)
    k = int(sel.sum())
    if outer:
        s_vals = np.stack([o.a[sel], o.a[sel], o.b[sel], o.b[sel]], 1).reshape(-1)
        depth = np.stack([np.zeros(k), t, t, np.zeros(k)], 1).reshape(-1)
        per = 4
    else:
        s_vals = np.stack([o.a[sel], o.b[sel]], 1).reshape(-1)
        depth = np.repeat(t, 2)
        per = 2
    extra_edge = np.repeat(o.edge[sel], per)
    # A point on the outline's (cavity's) own corner, where an opening is flush with the wall's end, is there already.
    ends = (
        np.stack([np.zeros(k), w.length[o.edge[sel]]], 1) if outer else np.stack([w.inner0, w.inner1], 1)[o.edge[sel]]
    )
    if outer:
        new = np.stack([o.a[sel] != ends[:, 0], np.ones(k, bool), np.ones(k, bool), o.b[sel] != ends[:, 1]], 1)
    else:
        # (A window's or notch's corner, [place, place]: one point.)
        new = np.stack([o.a[sel] != ends[:, 0], (o.b[sel] != ends[:, 1]) & (o.b[sel] != o.a[sel])], 1)
    new = new.reshape(-1)
    sub_vals = np.tile(np.arange(float(per)), k)[new]
    extra_edge, s_vals, depth = extra_edge[new], s_vals[new], depth[new]
    edge = np.concatenate([e_all, extra_edge])
    s_key = np.concatenate([np.full(e_all.size, -np.inf), s_vals])
    sub = np.concatenate([np.zeros(e_all.size), sub_vals])
    extra = w.start[extra_edge] + s_vals[:, None] * w.tangent[extra_edge] + depth[:, None] * w.inward[extra_edge]
    pts = np.concatenate([(w.start if outer else w.inner)[e_all], extra])
    order = np.lexsort((sub, s_key, edge))
    pts, room = pts[order], w.room[edge[order]]
    start = np.concatenate([[0], np.cumsum(np.bincount(room, minlength=fast.size))])
    return pts, room, start, np.isneginf(s_key[order])


def _cavity_polygons(points: F64, holes: F64) -> list[tuple[F64, list[int]]]:
    """Rings of a box room's cavity face (its ring ``points``: the rectangle's corners and the points
    inserted on its sides) minus rectangular hatches ``holes`` (h, 4, 2), some flush with its sides."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    x, z = points[:, 0], points[:, 1]
    inside_x, inside_z = (x > lo[0]) & (x < hi[0]), (z > lo[1]) & (z < hi[1])
    rects = sorted(np.concatenate([holes.min(axis=1), holes.max(axis=1)], axis=1)[:, [0, 2, 1, 3]].tolist())
    return wall_polygons(
        float(lo[0]),
        float(hi[0]),
        float(lo[1]),
        float(hi[1]),
        rects,
        sorted(z[(x == lo[0]) & inside_z].tolist()),
        sorted(z[(x == hi[0]) & inside_z].tolist()),
        tuple(sorted(x[(z == lo[1]) & inside_x].tolist())),
        tuple(sorted(x[(z == hi[1]) & inside_x].tolist())),
    )


def _polygon_minus_rects(points: F64, holes: F64) -> list[tuple[F64, list[int]]]:
    """Rings of a rectilinear cavity's face (its ring ``points``: the cavity's corners and the points inserted on
    its sides, every one exactly on its inner edge's line) minus rectangular hatches ``holes`` (h, 4, 2) along the
    axes, some flush with its walls (:func:`~.hatches._flush_in_polygon`): one (outer ring, its holes) per piece.

    The region is found on the grid of the coordinates of the ring's turns and the hatches' corners (a cell is
    kept where its centre lies inside the cavity and in no hatch), its border traced cell side by cell side,
    counter-clockwise around each piece, a vertex kept where it turns and at a hatch's corner; then each point of
    ``points`` on a side of that border is put on it (the vertices the wall faces and openings put on the cavity's
    lines; those on a stretch a hatch takes are left out with it). The grid's size goes with the corners, not
    with the points (a wall of a thousand doorways)."""
    points = points[(points != np.roll(points, 1, axis=0)).any(axis=1)]  # (a point twice in a row: once)
    p0, p1 = points, np.roll(points, -1, axis=0)
    if not ((p0[:, 0] == p1[:, 0]) | (p0[:, 1] == p1[:, 1])).all():
        return []  # (a point off its line: never, every corner and point is on an axis line; the shell check's)
    # The ring's turns: a point whose sides before and after run along different axes.
    d_in, d_out = p0 - np.roll(points, 1, axis=0), p1 - p0
    turns = points[((d_in[:, 0] != 0.0) & (d_out[:, 1] != 0.0)) | ((d_in[:, 1] != 0.0) & (d_out[:, 0] != 0.0))]
    corners = np.concatenate([turns, holes.reshape(-1, 2)])
    x_lines, z_lines = np.unique(corners[:, 0]), np.unique(corners[:, 1])
    cx, cz = np.meshgrid((x_lines[1:] + x_lines[:-1]) / 2, (z_lines[1:] + z_lines[:-1]) / 2, indexing="ij")
    keep = inside_rectilinear(turns, cx, cz)  # (none of the ring's sides passes through a centre)
    for lo, hi in zip(holes.min(axis=1), holes.max(axis=1), strict=True):
        keep &= ~((cx > lo[0]) & (cx < hi[0]) & (cz > lo[1]) & (cz < hi[1]))
    padded = np.zeros((keep.shape[0] + 2, keep.shape[1] + 2), dtype=bool)
    padded[1:-1, 1:-1] = keep
    # Directed cell sides with the kept cell on their left, as (start, end) grid nodes (i, j).
    sides: list[tuple[tuple[int, int], tuple[int, int]]] = []
    ii, jj = np.nonzero(padded[1:, :] != padded[:-1, :])  # sides at x line i, between z lines j - 1 and j
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        j -= 1
        sides.append(((i, j + 1), (i, j)) if padded[i + 1, j + 1] else ((i, j), (i, j + 1)))
    ii, jj = np.nonzero(padded[:, 1:] != padded[:, :-1])
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        i -= 1
        sides.append(((i, j), (i + 1, j)) if padded[i + 1, j + 1] else ((i + 1, j), (i, j)))
    loops = _loops(sides)
    if loops is None:
        return []  # (two cells meeting at a corner alone: never, _flush_in_polygon left such rooms out)
    marks = set(
        map(
            tuple,
            np.stack([np.searchsorted(x_lines, corners[:, 0]), np.searchsorted(z_lines, corners[:, 1])], 1).tolist(),
        )
    )
    rings: list[F64] = []
    for ring in loops:
        n = len(ring)
        kept = []
        for idx, (i, j) in enumerate(ring):
            pi, pj = ring[idx - 1]
            ni, nj = ring[(idx + 1) % n]
            if (i - pi) * (nj - j) - (j - pj) * (ni - i) != 0 or (i, j) in marks:
                kept.append((x_lines[i], z_lines[j]))
        rings.append(_with_points(np.array(kept), points))
    return _faces(rings)[0]


def _loops(edges: list[tuple[_Node, _Node]]) -> list[list[_Node]] | None:
    """The closed loops of directed ``edges`` (each loop's nodes from its least, the loops in the order of those);
    None where a node starts two edges or a loop runs into one that starts none (the pieces are not simple)."""
    step: dict[_Node, _Node] = {}
    for a, b in edges:
        if a in step:
            return None
        step[a] = b
    loops: list[list[_Node]] = []
    while step:
        start = node = min(step)
        loop = []
        while True:
            loop.append(node)
            if node not in step:
                return None
            node = step.pop(node)
            if node == start:
                break
        loops.append(loop)
    return loops


def _faces(rings: list[F64]) -> tuple[list[tuple[F64, list[int]]], bool]:
    """``rings`` grouped into faces for earcut: each outer ring (counter-clockwise: positive area) with the holes
    (the other rings) whose first corner it holds, as (points, ring ends); and whether every hole found one. A
    hole's corner lies on no line of an outer ring (hatches clear of the walls by GAP): the crossing number."""
    area = [float(np.sum(r[:, 0] * np.roll(r[:, 1], -1) - np.roll(r[:, 0], -1) * r[:, 1])) for r in rings]
    pieces: list[list[F64]] = [[r] for r, signed in zip(rings, area, strict=True) if signed > 0.0]
    placed = True
    for r, signed in zip(rings, area, strict=True):
        if signed > 0.0:
            continue
        x, z = float(r[0, 0]), float(r[0, 1])
        for piece in pieces:
            q0, q1 = piece[0], np.roll(piece[0], -1, axis=0)
            straddle = (q0[:, 1] > z) != (q1[:, 1] > z)
            cut = q0[:, 0] + (z - q0[:, 1]) * (q1[:, 0] - q0[:, 0]) / np.where(straddle, q1[:, 1] - q0[:, 1], 1.0)
            if int((straddle & (x < cut)).sum()) % 2 == 1:
                piece.append(r)
                break
        else:
            placed = False
    return [(np.concatenate(piece), np.cumsum([r.shape[0] for r in piece]).tolist()) for piece in pieces], placed


def _polygon_minus_hatches(points: F64, rings: list[F64], flush: list[bool]) -> list[tuple[F64, list[int]]]:
    """Rings of a cavity's face with walls in any direction (its ring ``points``, the cavity's corners and the points
    inserted on its sides) minus hatches ``rings`` (each a counter-clockwise ring), ``flush`` ones with sides on its
    walls (:func:`~.hatches._flush_in_any_polygon`: convex, inside the cavity, a corner on its border on a side of
    it, ``GAP`` from it otherwise): one (outer ring, its holes) per piece; none where the pieces do not come out
    simple (the room then fails the shell check: the booleans').

    The border is traced over directed edges: the ring's, split at the flush hatches' corners on it, less those a
    hatch covers (a side on a wall), and the hatches' sides the other way round, split at the ring's points on them,
    less those on the ring; each node then starts one edge. A hatch's corner on the ring is the ring's point there
    where it lies within :data:`~.hatches.ON_LINE` of one, so the faces beside it meet it."""
    points = points[(points != np.roll(points, 1, axis=0)).any(axis=1)]
    twice = float(np.sum(points[:, 0] * np.roll(points[:, 1], -1) - np.roll(points[:, 0], -1) * points[:, 1]))
    if twice < 0.0:
        points = points[::-1]
    nodes = [p for p in points]
    ring_ids = list(range(len(nodes)))
    cover = [r for r, f in zip(rings, flush, strict=True) if f]
    hatch_ids: list[list[int]] = []
    for hole in cover:
        ids = []
        for p in hole:
            ring = np.array([nodes[i] for i in ring_ids])
            nxt = np.roll(ring, -1, axis=0)
            at = np.hypot(*(ring - p).T)
            if at.min() <= ON_LINE:
                ids.append(ring_ids[int(at.argmin())])
                continue
            gaps = segment_gaps(p[None], ring, nxt)[0]
            k = int(gaps.argmin())
            nodes.append(p)
            ids.append(len(nodes) - 1)
            if gaps[k] <= ON_LINE:
                ring_ids.insert(k + 1, len(nodes) - 1)
        hatch_ids.append(ids)
    xy = np.array(nodes)
    edges: list[tuple[int, int]] = []
    for a, b in zip(ring_ids, ring_ids[1:] + ring_ids[:1], strict=True):
        mid = 0.5 * (xy[a] + xy[b])
        if not any(_in_convex(mid, hole) for hole in cover):
            edges.append((a, b))
    ring = xy[ring_ids]
    ring_nxt = np.roll(ring, -1, axis=0)
    on_ring = set(ring_ids)
    for ids in hatch_ids:
        for j in range(len(ids)):
            a, b = ids[j], ids[(j + 1) % len(ids)]
            pa, pb = xy[a], xy[b]
            # The ring's points on this side, in order from a to b.
            d = pb - pa
            length2 = float(d @ d)
            f = (ring - pa) @ d / length2
            gaps = segment_gaps(ring, pa[None], pb[None])[:, 0]
            inner = np.flatnonzero((gaps <= ON_LINE) & (f > 0.0) & (f < 1.0))
            inner = inner[np.argsort(f[inner])]
            chain = [a, *[ring_ids[i] for i in inner.tolist() if ring_ids[i] not in (a, b)], b]
            for p, q in itertools.pairwise(chain):
                mid = 0.5 * (xy[p] + xy[q])
                if p in on_ring and q in on_ring and segment_gaps(mid[None], ring, ring_nxt).min() <= ON_LINE:
                    continue  # (on a wall)
                edges.append((q, p))
    for hole, f in zip(rings, flush, strict=True):
        if not f:
            base = len(nodes)
            nodes.extend(hole)
            k = hole.shape[0]
            edges += [(base + (i + 1) % k, base + i) for i in range(k)]
    loops = _loops(edges)
    if loops is None:
        return []
    xy = np.array(nodes)
    faces, placed = _faces([xy[loop] for loop in loops])
    return faces if placed else []


def _in_convex(p: F64, ring: F64) -> bool:
    """Whether ``p`` (2,) lies inside the convex counter-clockwise ``ring`` (k, 2) or within
    :data:`~.hatches.ON_LINE` of it."""
    nxt = np.roll(ring, -1, axis=0)
    side = nxt - ring
    cross = side[:, 0] * (p[1] - ring[:, 1]) - side[:, 1] * (p[0] - ring[:, 0])
    return bool((cross >= -ON_LINE * np.hypot(side[:, 0], side[:, 1])).all())


def _with_points(ring: F64, points: F64) -> F64:
    """``ring`` (axis-aligned sides) with each of ``points`` that lies on one of its sides, strictly between its
    ends, put there in order along it."""
    out = []
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        out.append(a[None])
        axis = 0 if a[1] == b[1] else 1  # the coordinate that varies along the side
        lo, hi = min(a[axis], b[axis]), max(a[axis], b[axis])
        on = (points[:, 1 - axis] == a[1 - axis]) & (points[:, axis] > lo) & (points[:, axis] < hi)
        if on.any():
            along = np.unique(points[on, axis])
            row = np.empty((along.size, 2))
            row[:, axis], row[:, 1 - axis] = (along if a[axis] < b[axis] else along[::-1]), a[1 - axis]
            out.append(row)
    return np.concatenate(out)


def _slab_frames(level: F64, sign: float) -> tuple[F64, F64, F64, F64, I64]:
    """Every room's slab face at its ``level`` (per room), facing ``sign`` up, as frame rows (origin, u, v,
    normal, room) for :meth:`~.faces.Faces.add_earcut`."""
    nr = level.size
    origin = np.zeros((nr, 3))
    origin[:, 1] = level
    flat = (np.broadcast_to(X, (nr, 3)), np.broadcast_to(Z, (nr, 3)), np.broadcast_to(sign * UP, (nr, 3)))
    return origin, *flat, np.arange(nr)


def _fans(faces: Faces, ring: tuple[F64, I64, I64, B8], which: B8, centred: bool, level: F64, sign: float) -> None:
    """Triangulate the convex rings of rooms ``which``: from their first corner, or from the corners' mean.

    A ring with a corner all but straight (a point a fraction of a millimetre off the line of its
    neighbours, as an outline rounded to millimetres has where a wall carries an extra point) next
    to its first corner would fan into a triangle that thin: such rings are fanned from the mean."""
    pts, room, start, corner = ring
    k = np.flatnonzero(which[room])
    if k.size == 0:
        return
    if not centred:
        local = k - start[room[k]]
        j = k[(local >= 1) & (local <= start[room[k] + 1] - start[room[k]] - 2)]
        thin = heights2d(np.stack([pts[start[room[j]]], pts[j], pts[j + 1]], 1)) < THIN
        if thin.any():
            flat = np.zeros_like(which)
            flat[room[j[thin]]] = True
            _fans(faces, ring, which & flat, True, level, sign)
            which = which & ~flat
            k = np.flatnonzero(which[room])
            if k.size == 0:
                return
    r = room[k]
    origin = np.zeros((k.size, 3))
    origin[:, 1] = level[r]
    if centred:
        sums = np.zeros((which.size, 2))
        np.add.at(sums, room[corner], pts[corner])
        centre = sums / np.maximum(np.bincount(room[corner], minlength=which.size), 1)[:, None]
        nxt = k + 1
        last = nxt == start[r + 1]
        nxt[last] = start[r[last]]
        tris = np.stack([centre[r], pts[k], pts[nxt]], 1)
        # Two ring points a fraction of a millimetre apart (a slanted notch side's ends across a slab)
        # far from the centre make a fan triangle under SLIVER high (twice its area under SLIVER times
        # its longest edge; none with no area: dropped, :meth:`~.faces.Faces._add_corners`): such rings go to
        # earcut, whose faces get flips and points (:func:`~.triangulate._steiner`) where a sliver is left. Columns,
        # not :func:`~.mend.heights2d`'s (m, 3, 2) copies: every centred fan's triangles pass here.
        ux, uy = tris[:, 1, 0] - tris[:, 0, 0], tris[:, 1, 1] - tris[:, 0, 1]
        vx, vy = tris[:, 2, 0] - tris[:, 0, 0], tris[:, 2, 1] - tris[:, 0, 1]
        area2 = ux * vy - uy * vx
        area2 *= area2
        longest2 = np.maximum(np.maximum(ux * ux + uy * uy, vx * vx + vy * vy), (vx - ux) ** 2 + (vy - uy) ** 2)
        thin = (area2 < (SLIVER * SLIVER) * longest2) & (area2 > 0.0)
        if thin.any():
            slow = np.zeros(which.size, dtype=bool)
            slow[r[thin]] = True
            jobs = [
                (pts[start[q] : start[q + 1]], [int(start[q + 1] - start[q])], q) for q in np.flatnonzero(slow).tolist()
            ]
            faces.add_earcut(jobs, _slab_frames(level, sign))
            fast_rows = ~slow[r]
            tris, origin, r = tris[fast_rows], origin[fast_rows], r[fast_rows]
        faces.add(tris, origin, X, Z, sign * UP, r)
    else:
        local = k - start[r]
        fan = (local >= 1) & (local <= start[r + 1] - start[r] - 2)
        j = k[fan]
        faces.add(np.stack([pts[start[room[j]]], pts[j], pts[j + 1]], 1), origin[fan], X, Z, sign * UP, room[j])


def _strips(
    faces: Faces,
    w: Walls,
    o: Openings,
    sel: B8,
    which: B8,
    level: F64,
    sign: float,
    splits: tuple[I64, F64] = (np.zeros(0, np.int64), np.zeros(0)),
) -> None:
    """The wall footprints of a notched slab face (P minus P'), cut at the notches ``sel`` and across at
    ``splits`` (edge, place: where a flush hatch's side ends), for rooms ``which``."""
    edges = np.flatnonzero(which[w.room] & ~(w.mixed | w.merged))  # (:func:`~.walls.run_polygons`)
    keep = sel & which[o.room]
    split_keep = which[w.room[splits[0]]]
    oe = np.concatenate([o.edge[keep], splits[0][split_keep]])
    a = np.concatenate([o.a[keep], splits[1][split_keep]])
    b = np.concatenate([o.b[keep], splits[1][split_keep]])
    # Pieces of an edge run from its start (or a notch's end b) to the next notch's start a (or its end).
    left_edge = np.concatenate([edges, oe])
    left_out = np.concatenate([np.zeros(edges.size), b])
    left_in = np.concatenate([w.inner0[edges], b])
    lo = np.lexsort((left_out, left_edge))
    right_out = np.concatenate([a, w.length[edges]])
    right_in = np.concatenate([a, w.inner1[edges]])
    ro = np.lexsort((right_out, np.concatenate([oe, edges])))
    e = left_edge[lo]
    s0o, s0i, s1o, s1i = left_out[lo], left_in[lo], right_out[ro], right_in[ro]
    st, tg, iw, th = w.start[e], w.tangent[e], w.inward[e], w.thickness[e][:, None]
    quads = np.stack(
        [
            st + s0o[:, None] * tg,
            st + s1o[:, None] * tg,
            st + s1i[:, None] * tg + th * iw,
            st + s0i[:, None] * tg + th * iw,
        ],
        axis=1,
    )
    r = w.room[e]
    origin = np.zeros((e.size, 3))
    origin[:, 1] = level[r]
    faces.add_quads(quads, origin, X, Z, sign * UP, r)


def slab_faces(
    faces: Faces,
    w: Walls,
    o: Openings,
    h: Hatches,
    fast: B8,
    sides: FlushSides,
    near: Near,
    notches: Notches,
    on_sides: SidePlaces | None = None,
) -> None:
    """Floor underside, floor top, ceiling underside, ceiling top of every fast room, and hatch tunnels.

    Where an opening's corner is near a wall face's bottom (top) border (``near``, :func:`~.near.near_borders`),
    the slab face across that border gets vertices where the wall's does: the cavity's outline (P') the
    opening's sides on it, as for an opening passing into the slab; the footprint strips (P) are cut across there.
    A notch (:class:`~.notches.Notches`) cuts each face as a rectangle would that spans it where it meets the
    face's level (its chord there: the notch clipped to the room is a prism through the wall).
    Hatches' sides get the points ``on_sides`` (:func:`~.hatches.hatch_side_places`) on both faces of their slab
    and their tunnels."""
    nr = fast.size
    if on_sides is None:
        on_sides = SidePlaces(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    rings = hatch_rings(h, on_sides)
    t_room, y0, y1 = w.rooms.thickness, w.rooms.y0, w.rooms.y1
    levels = (y0, y1, y0 + t_room, y1 - t_room)
    wall_openings = o
    for k_spec, (level, sign, outer, slab) in enumerate(
        zip(levels, (-1.0, 1.0, 1.0, -1.0), (True, True, False, False), (0, 1, 0, 1), strict=True)
    ):
        o, mask, close = slab_openings(w, wall_openings, notches, near, k_spec)
        sel = mask & fast[o.room]
        # Of P: openings whose corners need vertices on the outline's edge (the strips are cut across there).
        close = np.zeros_like(sel) if close is None else close & fast[o.room]
        hatched = np.zeros(nr, dtype=bool)
        hatched[h.room[h.slab == slab]] = True
        touched = np.zeros(nr, dtype=bool)
        touched[o.room[sel]] = True
        touched[o.room[close]] = True
        simple = fast & w.convex & ~hatched
        # Convex with nothing on its border: a fan from its first corner. Of P, only these rooms'
        # plain outlines are fanned (the others' P' below): their ring alone, without the notches.
        bare = simple & ~touched
        ring = _ring(w, o, np.zeros_like(sel), bare, outer) if outer else _ring(w, o, sel, fast, outer)
        _fans(faces, ring, bare, False, level, sign)
        if outer:
            # Convex and notched: the wall footprints between the notches, and the cavity's outline
            # with the notches' inner corners on it, fanned from its centre.
            two = close & (o.b != o.a)  # (a window's or notch's corner: one place)
            cuts = (np.concatenate([o.edge[close], o.edge[two]]), np.concatenate([o.a[close], o.b[two]]))
            _strips(faces, w, o, sel, simple & touched, level, sign, cuts)
            _fans(faces, _ring(w, o, sel | close, simple & touched, False), simple & touched, True, level, sign)
            # The rest the same way, the cavity by earcut below: earcut over the notched outline
            # joined far corners to a notch's corners in thin walls (0.2 mm high in a 2 cm wall).
            edge_of, place_of, slab_of = sides.points()
            splits = (
                np.concatenate([edge_of[slab_of == slab], cuts[0]]),
                np.concatenate([place_of[slab_of == slab], cuts[1]]),
            )
            _strips(faces, w, o, sel, fast & ~simple, level, sign, splits)
            faces.add_earcut(run_polygons(w, fast & ~simple), _slab_frames(level, sign))
            ring = _ring(w, o, sel | close, fast & ~simple, False)
        else:
            # Convex with the openings' sides on its border: a fan from the centre.
            _fans(faces, ring, simple & touched, True, level, sign)
        # Everything else (concave outlines, hatches): earcut, one call per face (of the cavity's outline for P).
        pts, _, p_start, _ = ring
        slab_hatch = h.slab == slab
        flush_room = np.zeros(nr, dtype=bool)
        flush_room[h.room[slab_hatch & h.flush]] = True
        joined = np.zeros(nr, dtype=bool)
        joined[h.room[slab_hatch & (h.size != 4)]] = True
        jobs = []
        for room in np.flatnonzero(fast & ~simple).tolist():
            points = pts[p_start[room] : p_start[room + 1]]
            holes = h.points[slab_hatch & (h.room == room)][:, :4]  # (rectangles: a joined outline goes below)
            if flush_room[room]:
                # (A box room's, or a rectilinear floor polygon's: :func:`~.hatches._flush_in_polygon`.)
                box = w.first[room + 1] - w.first[room] == 4
                if box:
                    parts = _cavity_polygons(points, holes)
                elif rectilinear_cavity(w, room) is not None:
                    parts = _polygon_minus_rects(points, holes)
                else:  # (walls in any direction: :func:`~.hatches._flush_in_any_polygon`)
                    mine = np.flatnonzero(slab_hatch & (h.room == room)).tolist()
                    parts = _polygon_minus_hatches(
                        points, [h.points[k][: h.size[k]] for k in mine], [bool(h.flush[k]) for k in mine]
                    )
                jobs += [(ring_pts, ends, room) for ring_pts, ends in parts]
                continue
            mine = np.flatnonzero(slab_hatch & (h.room == room)).tolist() if rings or joined[room] else []
            if any(k in rings or h.size[k] != 4 for k in mine):
                # Hatches with points on their sides (:func:`~.hatches.hatch_side_places`) or joined outlines
                # (:func:`~.hatches._joined`): rings of their own lengths.
                hole_rings = [rings.get(k, h.points[k][: h.size[k]]) for k in mine]
                ends = np.cumsum([points.shape[0], *(ring.shape[0] for ring in hole_rings)]).tolist()
                jobs.append((np.concatenate([points, *hole_rings]), ends, room))
                continue
            ends = [points.shape[0], *(points.shape[0] + 4 * np.arange(1, holes.shape[0] + 1)).tolist()]
            jobs.append((np.concatenate([points, holes.reshape(-1, 2)]), ends, room))
        faces.add_earcut(jobs, _slab_frames(level, sign))
    # Hatch tunnels: a vertical quad per hatch edge through its slab, facing into the hatch.
    k = np.flatnonzero(fast[h.room])
    if k.size:
        p = h.points[k]
        q = np.roll(p, -1, axis=1)
        edge = q - p
        length = np.hypot(edge[..., 0], edge[..., 1])
        tangent = edge / np.where(length > 0, length, 1.0)[..., None]
        # Counter-clockwise in (x, z) (positive shoelace): the hatch lies to the left, (-tz, tx)... flipped
        # into the project's sign by testing against the hatch centre (a quad's: a joined outline, not
        # convex, keeps the left side's).
        normal = np.stack([-tangent[..., 1], tangent[..., 0]], -1)
        centre = p.mean(axis=1, keepdims=True)
        towards = np.einsum("hek,hek->he", (centre - p), normal)
        normal = np.where(((towards < 0) & (h.size[k] == 4)[:, None])[..., None], -normal, normal)
        corners = p.shape[1]
        bottom = np.where(h.slab[k] == 0, y0[h.room[k]], y1[h.room[k]] - t_room[h.room[k]])
        top = bottom + t_room[h.room[k]]
        zeros = np.zeros_like(length)
        bb, tb = np.repeat(bottom[:, None], corners, 1), np.repeat(top[:, None], corners, 1)
        quads = np.stack(
            [
                np.stack([zeros, bb], -1),
                np.stack([length, bb], -1),
                np.stack([length, tb], -1),
                np.stack([zeros, tb], -1),
            ],
            2,
        ).reshape(-1, 4, 2)
        # A side lying on a wall's inner face is built below, cut where the wall's faces need vertices.
        # (A joined outline's padding, sides of no length, has none.)
        by_side = h.valid(k)
        by_side[np.searchsorted(k, sides.hatch), sides.side] = False
        # A side with points on it (:func:`~.hatches.hatch_side_places`) is built below, one quad between each two.
        split = np.zeros((k.size, corners), dtype=bool)
        split[np.searchsorted(k, on_sides.hatch), on_sides.side] = True
        own = (by_side & ~split).reshape(-1)
        faces.add_quads(
            quads[own],
            plan3(p.reshape(-1, 2))[own],
            plan3(tangent.reshape(-1, 2))[own],
            UP,
            plan3(normal.reshape(-1, 2))[own],
            np.repeat(h.room[k], corners)[own],
        )
        if on_sides.hatch.size:
            # Pieces from corner i (0) to the first point, between points, from the last to corner i + 1.
            at = np.searchsorted(k, on_sides.hatch)
            last = np.concatenate(
                [(on_sides.hatch[1:] != on_sides.hatch[:-1]) | (on_sides.side[1:] != on_sides.side[:-1]), [True]]
            )
            first = np.concatenate([[True], last[:-1]])
            u0 = np.concatenate([np.where(first, 0.0, np.roll(on_sides.along, 1)), on_sides.along[last]])
            u1 = np.concatenate([on_sides.along, length[at[last], on_sides.side[last]]])
            row = np.concatenate([at, at[last]])
            col = np.concatenate([on_sides.side, on_sides.side[last]])
            b, tp = bottom[row], top[row]
            pieces = np.stack(
                [np.stack([u0, b], -1), np.stack([u1, b], -1), np.stack([u1, tp], -1), np.stack([u0, tp], -1)], 1
            )
            faces.add_quads(
                pieces,
                plan3(p[row, col]),
                plan3(tangent[row, col]),
                UP,
                plan3(normal[row, col]),
                h.room[k][row],
            )
        # A polygon room's flush side partly on the walls: its stretches in the open, one quad each.
        o_hatch, o_side, u0, u1 = open_stretches(w, h, sides)
        if o_hatch.size:
            row = np.searchsorted(k, o_hatch)
            b, tp = bottom[row], top[row]
            faces.add_quads(
                np.stack(
                    [np.stack([u0, b], -1), np.stack([u1, b], -1), np.stack([u1, tp], -1), np.stack([u0, tp], -1)], 1
                ),
                plan3(p[row, o_side]),
                plan3(tangent[row, o_side]),
                UP,
                plan3(normal[row, o_side]),
                h.room[o_hatch],
            )
    flush_tunnels(faces, w, sides)
