"""Which way a portal faces: every quad turned so that its right-hand normal points into ``to``.

The format (docs/scene-format.md) says a portal quad's right-hand normal points into ``to``, and
everything after ingest relies on it: the PVS flow walks a directed portal only towards the side
its plane faces, so a quad wound the other way round hid every cell past it (a straight corridor
whose doorways were all wound backwards saw one room ahead instead of all of them), and the
meta's ``plane`` pointed into ``from``. Descriptions are written by hand and by other tools, so a
quad wound the other way is read the other way round (:func:`face_portals`), not trusted.

The side is judged from the cells themselves, not from their boxes' centres (a room nested in a
U, or rooms turned off the axes, put the centres on the wrong sides). A cell votes when it lies
mostly on one side of the portal's plane: at most a quarter as far on the other side as on that
one, measured over its room's corners (floor outline at floor and ceiling height) or, for a cell
without a room, its geometry's convex hull. ``from`` lying behind and ``to`` in front count for
the quad as wound, the contrary against it. An L-shaped room whose inner corner holds the door
straddles the plane and does not vote; the room on the other side then decides. Two rooms locked
into each other (L- or S-shaped, a plan drawn on squared paper) both reach far past the plane on
either side, and their votes can both be wrong: where both rooms straddle it, their floor outlines
decide first when they can (:func:`.plan_sides.plans_across`: the ground just behind the doorway's
middle one room's alone, just in front the other's). Only when neither cell votes either way do the
box centres decide, and only when both lie clearly on the wrong sides; otherwise the quad stays as
wound.

Cost: a room with more than :data:`_OUTLINE_ABOVE` corners is measured through its outline's convex
hull in plan, found once for all such rooms (an outline that turns left all the way round is its own;
the others' by vectorized quickhull passes). A portal's nearest and farthest corners are then among
twelve: the hull vertices a binary search over the hull's edge directions finds for its normal and
the opposite (with their neighbours, against rounding), at floor and ceiling height; O(log n) a
portal whatever the room's size (hubs-4096-limit, 24 rooms of 4,096 sides and 12,000 portals: ~0.06 s,
where every corner against every portal took ~9 s). Other cells (rooms with few corners, cells of
assets: at most :data:`_HULL_ABOVE` points, else their 3D hull's) are measured point by point, one
numpy pass over (portal, point) pairs in bounded chunks (~1 ms for the 1,462 portals of a 1,032-cell
office). Both take the points' distances the same way, so the extents are those of every corner,
but where the hull leaves out corners that lie on its edges but for rounding: theirs can differ from
the extents in the last bits, too little to turn a vote (tests/ingest/test_portal_sides_many_sided.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from ..model.ir import Cell, Portal
from ..tolerances import ON_WALL_EPS
from .plan_sides import cell_outlines, plans_across

__all__ = ["face_portals"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: A cell lies on one side of a plane when it reaches at most this fraction as far onto the other.
_MOSTLY = 0.25
#: Cells with more points than this are reduced to their convex hull's (extents along any
#: direction are the hull's): a dense asset touching many portals stays cheap.
_HULL_ABOVE = 256
#: (portal, point) pairs evaluated at once: bounds the temporary arrays (~100 MB at most).
_CHUNK = 1 << 22
#: Rooms with more corners than this are measured through their outline's convex hull (twelve
#: points and a binary search a portal) instead of corner by corner (64 points a portal at most here):
#: the office levels' rooms, boxes and short outlines, stay on the plain path.
_OUTLINE_ABOVE = 32


def face_portals(cells: Sequence[Cell], portals: Sequence[Portal]) -> tuple[list[Portal], list[int]]:
    """``portals`` with every quad whose normal points into ``from`` turned round (same first corner,
    the other three in reverse order), and the list positions of those turned. Portals naming a
    cell not in ``cells`` are left as they are (validation reports them)."""
    index = {c.cell_id: i for i, c in enumerate(cells)}
    known = [k for k, p in enumerate(portals) if p.from_cell in index and p.to_cell in index]
    if not known:
        return list(portals), []
    quads = np.stack([portals[k].quad for k in known]).astype(np.float64)
    frm = np.array([index[portals[k].from_cell] for k in known], np.int64)
    to = np.array([index[portals[k].to_cell] for k in known], np.int64)
    normal = np.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-300)
    offset = -np.einsum("ij,ij->i", normal, quads.mean(axis=1))

    points, starts, counts, rooms = _cell_points(cells)
    hulls = _OutlineHulls(rooms, frm, to, points, starts, counts)
    lo_f, hi_f = _extents(normal, offset, frm, points, starts, counts, hulls)
    lo_t, hi_t = _extents(normal, offset, to, points, starts, counts, hulls)
    behind_f, front_f = _mostly(lo_f, hi_f)
    behind_t, front_t = _mostly(lo_t, hi_t)
    votes = behind_f.astype(np.int64) - front_f + front_t - behind_t
    # Neither cell decides: their centres, when both lie clearly on the wrong sides.
    centre, valid = _centres(points, starts, counts)
    reach = np.maximum(np.abs(hi_f - lo_f), np.abs(hi_t - lo_t))
    c_f = np.einsum("ij,ij->i", centre[frm], normal) + offset
    c_t = np.einsum("ij,ij->i", centre[to], normal) + offset
    clear = 1e-3 * np.maximum(reach, 1e-9)
    by_centres = valid[frm] & valid[to] & (c_f > clear) & (c_t < -clear)
    # Two rooms locked into each other both reach past the plane, far on either side: their plans tell.
    local = np.zeros(len(known), np.int64)
    locked = np.flatnonzero(_straddles(lo_f, hi_f) & _straddles(lo_t, hi_t))
    if locked.size:
        wanted = np.unique(np.concatenate([frm[locked], to[locked]])).tolist()
        floors: list[F64 | None] = [None] * len(cells)
        for i, outline in zip(
            wanted, cell_outlines([cells[i] for i in wanted], [portals[k] for k in known]), strict=True
        ):
            floors[i] = outline
        upright = (np.abs(normal[locked, 1]) < 0.5)[:, None]
        local[locked] = plans_across(
            quads[locked].mean(axis=1)[:, [0, 2]],
            np.where(upright, normal[locked][:, [0, 2]], 0.0),
            [floors[i] for i in frm[locked].tolist()],
            [floors[i] for i in to[locked].tolist()],
        )
    turn = (local < 0) | ((local == 0) & ((votes < 0) | ((votes == 0) & by_centres)))

    out = list(portals)
    turned = []
    for j in np.flatnonzero(turn).tolist():
        k = known[j]
        p = portals[k]
        out[k] = replace(p, quad=np.ascontiguousarray(p.quad[[0, 3, 2, 1]]))
        turned.append(k)
    return out, turned


def _cell_points(cells: Sequence[Cell]) -> tuple[F64, I64, I64, I64]:
    """Every cell's points, concatenated: a room's corners at floor and ceiling height, else its
    surfaces' vertices (their convex hull's past :data:`_HULL_ABOVE`). Returns (points, starts, counts,
    the positions of the cells with a room)."""
    counts = np.zeros(len(cells), np.int64)
    rooms = [i for i, c in enumerate(cells) if c.room is not None]
    others: dict[int, F64] = {}
    for i, c in enumerate(cells):
        if c.room is None:
            others[i] = _surface_points(c)
            counts[i] = others[i].shape[0]
    floors = [cells[i].room.floor for i in rooms]  # type: ignore[union-attr]
    k = np.array([f.shape[0] for f in floors], np.int64)
    counts[rooms] = 2 * k
    starts = (np.cumsum(counts) - counts).astype(np.int64)
    points = np.zeros((int(counts.sum()), 3))
    if rooms:
        corners = np.concatenate(floors).astype(np.float64, copy=False)
        y = np.array([cells[i].room.y for i in rooms])  # type: ignore[union-attr]
        h = np.array([cells[i].room.height for i in rooms])  # type: ignore[union-attr]
        room_of = np.repeat(np.arange(len(rooms)), k)
        bottom = starts[rooms][room_of] + np.arange(corners.shape[0]) - np.repeat(np.cumsum(k) - k, k)
        for at, level in ((bottom, y[room_of]), (bottom + k[room_of], (y + h)[room_of])):
            points[at] = np.column_stack([corners[:, 0], level, corners[:, 1]])
    for i, pts in others.items():
        points[starts[i] : starts[i] + counts[i]] = pts
    return points, starts, counts, np.array(rooms, np.int64)


def _surface_points(cell: Cell) -> F64:
    """A cell's surface vertices (float64), their convex hull's when there are many."""
    own = [s.positions for s in cell.surfaces if s.positions.shape[0]]
    pts: F64 = np.concatenate(own).astype(np.float64) if own else np.zeros((0, 3))
    if pts.shape[0] > _HULL_ABOVE:
        from manifold3d import Manifold  # the compiler's boolean engine: a compiled QuickHull

        hull = np.asarray(Manifold.hull_points(pts).to_mesh().vert_properties[:, :3], np.float64)
        if hull.shape[0]:
            pts = hull
    return pts


def _extents(
    normal: F64, offset: F64, cell: I64, points: F64, starts: I64, counts: I64, hulls: _OutlineHulls
) -> tuple[F64, F64]:
    """Per portal, the least and greatest signed distance of ``cell``'s points from its plane
    (0, 0 for a cell without points: it then votes neither way): of the few points that can be
    extreme for a room with a hull in ``hulls``, else of every point."""
    n = cell.shape[0]
    lo, hi = np.zeros(n), np.zeros(n)
    k = counts[cell]
    fast = hulls.rank[cell] >= 0
    if fast.any():
        rows = np.flatnonzero(fast)
        at = hulls.candidates(normal[rows], cell[rows])
        w = at.shape[1]
        s = _distances(points[at.reshape(-1)], np.repeat(normal[rows], w, axis=0), np.repeat(offset[rows], w))
        lo[rows], hi[rows] = s.reshape(-1, w).min(axis=1), s.reshape(-1, w).max(axis=1)
    has = np.flatnonzero((k > 0) & ~fast)
    done = 0
    while done < has.shape[0]:  # chunks of at most _CHUNK pairs (at least one portal)
        sizes = k[has[done:]]
        take = max(1, int(np.searchsorted(np.cumsum(sizes), _CHUNK, side="right")))
        rows = has[done : done + take]
        kk = k[rows]
        first = np.cumsum(kk) - kk
        which = np.repeat(np.arange(rows.shape[0]), kk)
        at = np.arange(int(kk.sum())) - first[which] + starts[cell[rows]][which]
        s = _distances(points[at], normal[rows][which], offset[rows][which])
        lo[rows] = np.minimum.reduceat(s, first)
        hi[rows] = np.maximum.reduceat(s, first)
        done += take
    return lo, hi


def _distances(points: F64, normal: F64, offset: F64) -> F64:
    """Signed distances of ``points`` (n, 3) from the planes (``normal`` (n, 3), ``offset`` (n,)): one
    expression for both paths, so a point measured by either gets the same value."""
    return np.einsum("ij,ij->i", points, normal) + offset  # type: ignore[no-any-return]


class _OutlineHulls:
    """The convex hulls (in plan) of the outlines of the portals' rooms (``frm``, ``to``) with more
    than :data:`_OUTLINE_ABOVE` corners, all found together (:func:`_hull_2d`), and each hull's
    outward edge directions as angles that never decrease round it, for :meth:`candidates`. A
    room's points are its outline at floor height then at ceiling height (:func:`_cell_points`):
    along a direction (a, b, c) the farthest are the outline's farthest along (a, c), at the one
    height or the other."""

    def __init__(self, rooms: I64, frm: I64, to: I64, points: F64, starts: I64, counts: I64) -> None:
        #: Per cell, its position among the hulls (-1: measured point by point).
        self.rank = np.full(counts.shape[0], -1, np.int64)
        wanted = np.zeros(counts.shape[0], np.bool_)
        wanted[frm] = wanted[to] = True
        rooms = rooms[wanted[rooms] & (counts[rooms] > 2 * _OUTLINE_ABOVE)]
        if not rooms.shape[0]:
            return
        self.rank[rooms] = np.arange(rooms.shape[0])
        k = counts[rooms] // 2
        self.corners = k  # per hull: the room's corner count (its ceiling points follow its floor's)
        first = np.cumsum(k) - k
        room_of = np.repeat(np.arange(rooms.shape[0]), k)
        #: Per corner (rooms in rank order): its floor-height row in ``points``.
        row = starts[rooms][room_of] + np.arange(int(k.sum())) - first[room_of]
        vert, owner = _hull_2d(points[row][:, [0, 2]], room_of)
        self.vert = row[vert]  # hull vertices, counter-clockwise in (x, z), rooms in rank order
        m = np.bincount(owner, minlength=rooms.shape[0])
        self.hstart = np.cumsum(m) - m
        self.hcount = m
        # Edge i runs from vertex i to i + 1, its outward normal (dz, -dx); the normals turn
        # counter-clockwise round the hull, and vertex i is the farthest along every direction
        # between the normals of edges i - 1 and i. Each hull's normals as angles turned from its
        # first edge's, summed from the turns at its vertices (each in [0, pi]; rounding can make
        # a turn between nearly collinear edges a hair negative: taken as none), never decrease.
        nxt = np.arange(owner.shape[0]) + 1
        nxt[self.hstart + m - 1] = self.hstart
        d = points[self.vert[nxt]] - points[self.vert]
        angle = np.arctan2(-d[:, 0], d[:, 2])
        self.first = angle[self.hstart]
        turn = np.mod(angle[nxt] - angle, 2 * np.pi)
        turn[turn > 1.5 * np.pi] = 0.0
        turned = np.cumsum(turn) - turn
        # Complex numbers order lexicographically (real, then imaginary): (hull, angle) as one
        # sorted key lets a single searchsorted find every portal's edge in its own hull.
        self.key = owner + 1j * (turned - turned[self.hstart][owner])

    def candidates(self, normal: F64, cell: I64) -> I64:
        """Per portal (rows), the ``points`` rows that can be its cell's nearest and farthest along
        ``normal``: the hull vertex farthest along its plan part, found by binary search, and its
        neighbours (rounding in the angles may put the search one edge off), and the same for the
        opposite direction, each at floor and ceiling height: (rows, 12)."""
        q = self.rank[cell]
        start, m = self.hstart[q], self.hcount[q]
        out = []
        for sign in (1.0, -1.0):
            theta = np.mod(np.arctan2(sign * normal[:, 2], sign * normal[:, 0]) - self.first[q], 2 * np.pi)
            # the first edge whose normal turns as far as theta starts at the farthest vertex;
            # past the hull's last edge, its first
            j = np.searchsorted(self.key, q + 1j * theta) - start
            j[j >= m] = 0
            for step in (-1, 0, 1):
                v = self.vert[start + (j + step) % m]
                out += [v, v + self.corners[q]]
        return np.stack(out, axis=1)


def _hull_2d(p: F64, group: I64) -> tuple[I64, I64]:
    """Convex hulls of the point sets ``p`` (n, 2) grouped by ``group`` (sorted, each set's numbers
    0, 1, ...). Returns the hull vertices (indices into ``p``) and their sets, each set's counter-
    clockwise, turning left at every vertex as float64 tells (collinear points left out)."""
    sets = int(group[-1]) + 1
    # A set that, in its order, turns left at every point and goes round once (a round room's
    # outline) is its own hull; the others' hulls come from quickhull.
    turn, heading = _turns(p, np.arange(group.shape[0]), group, sets)
    convex = np.bincount(group, turn <= 0, sets) == 0
    convex &= np.bincount(group, np.mod(heading + np.pi, 2 * np.pi) - np.pi, sets) < 3 * np.pi
    rest = np.flatnonzero(~convex[group])
    vert, owner = np.flatnonzero(convex[group]), group[convex[group]]
    if rest.shape[0]:
        sub, dense = np.unique(group[rest], return_inverse=True)
        hv, ho = _quickhull(p[rest], dense)
        hv, ho = rest[hv], sub[ho]
        # Rounding can leave quickhull a point a hair outside an edge of nearly collinear corners,
        # and out of order; sorted by angle round an inside point (the vertices' mean) they are
        # in order.
        m = np.bincount(ho, minlength=sets)
        centre = np.column_stack([np.bincount(ho, p[hv, k], sets) / np.maximum(m, 1) for k in (0, 1)])
        d = p[hv] - centre[ho]
        by = np.lexsort((np.arctan2(d[:, 1], d[:, 0]), ho))
        vert, owner = np.concatenate([vert, hv[by]]), np.concatenate([owner, ho[by]])
        by = np.argsort(owner, kind="stable")
        vert, owner = vert[by], owner[by]
    # Points that do not turn left lie inside the others' hull: dropped, all at once, until none is
    # left (a pass or two: the points left are all but convex already).
    while True:
        turn, _ = _turns(p, vert, owner, sets)
        drop = turn <= 0
        # a set that would keep fewer than two (a segment's ends: collinear points) keeps them all
        drop &= (np.bincount(owner, minlength=sets) - np.bincount(owner, drop, sets))[owner] >= 2
        if not drop.any():
            return vert, owner
        vert, owner = vert[~drop], owner[~drop]


def _turns(p: F64, vert: I64, owner: I64, sets: int) -> tuple[F64, F64]:
    """At each point ``p[vert]`` of the closed paths (one a set, in order): how far it turns left
    (the cross product of the edges in and out), and by what angle the heading turns there."""
    m = np.bincount(owner, minlength=sets)
    start = np.cumsum(m) - m
    pos = np.arange(owner.shape[0]) - start[owner]
    a = p[vert[start[owner] + (pos - 1) % m[owner]]]
    b = p[vert]
    c = p[vert[start[owner] + (pos + 1) % m[owner]]]
    e0, e1 = b - a, c - b
    cross = e0[:, 0] * e1[:, 1] - e0[:, 1] * e1[:, 0]
    return cross, np.arctan2(e1[:, 1], e1[:, 0]) - np.arctan2(e0[:, 1], e0[:, 0])


def _quickhull(p: F64, group: I64) -> tuple[I64, I64]:
    """The vertices of :func:`_hull_2d`'s hulls, all sets at once by quickhull: each pass splits every
    hull edge with points outside it at the farthest of them, and drops the points inside; a few
    passes for round or star outlines (the depth of the split tree), one per outside point at most.
    Returns the vertices (in order but for rounding) and their sets."""
    order = np.lexsort((p[:, 1], p[:, 0], group))
    sizes = np.bincount(group)
    last = np.cumsum(sizes) - 1
    a, b = order[last - sizes + 1], order[last]  # least and greatest (x, y) of each set
    # The hull so far as a list of directed edges (start, end), each set's in order: a→b then b→a.
    e0 = np.stack([a, b], axis=1).reshape(-1)
    e1 = np.stack([b, a], axis=1).reshape(-1)
    eg = np.repeat(np.arange(sizes.shape[0]), 2)
    depth = _right_of(p, a[group], b[group], np.arange(p.shape[0]))
    own = np.where(depth > 0, 2 * group, 2 * group + 1)
    live = np.flatnonzero(depth != 0)
    own, depth = own[live], np.abs(depth[live])
    while live.shape[0]:
        by = np.lexsort((depth, own))
        ends = np.flatnonzero(np.append(own[by][1:] != own[by][:-1], True))
        split, far = own[by][ends], live[by][ends]  # each edge with points outside: its farthest
        grow = np.zeros(e0.shape[0], np.int64)
        grow[split] = 1
        at = np.cumsum(1 + grow) - (1 + grow)  # where each edge's first piece goes
        c = np.zeros(e0.shape[0], np.int64)
        c[split] = far
        n0, n1 = np.repeat(e0, 1 + grow), np.repeat(e1, 1 + grow)
        n1[at[split]] = far
        n0[at[split] + 1] = far
        eg = np.repeat(eg, 1 + grow)
        # a point outside a split edge is outside (start, far), outside (far, end), or inside
        ci = c[own]
        d0 = _right_of(p, e0[own], ci, live)
        d1 = _right_of(p, ci, e1[own], live)
        keep = (d0 > 0) | (d1 > 0)
        own = np.where(d0 > 0, at[own], at[own] + 1)[keep]
        depth = np.where(d0 > 0, d0, d1)[keep]
        live = live[keep]
        e0, e1 = n0, n1
    return e0, eg


def _right_of(p: F64, a: I64, b: I64, at: I64) -> F64:
    """How far (times |b − a|) each point ``p[at]`` lies right of the line from ``p[a]`` to ``p[b]``."""
    d = p[b] - p[a]
    q = p[at] - p[a]
    return d[:, 1] * q[:, 0] - d[:, 0] * q[:, 1]


def _straddles(lo: F64, hi: F64) -> npt.NDArray[np.bool_]:
    """Whether the cell reaches past the plane on both sides (beyond :data:`~sceneforge.tolerances.ON_WALL_EPS`)."""
    return (lo < -ON_WALL_EPS) & (hi > ON_WALL_EPS)


def _mostly(lo: F64, hi: F64) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Whether the cell lies mostly behind, or mostly in front of, the plane."""
    behind = (lo < 0) & (hi <= _MOSTLY * -lo)
    front = (hi > 0) & (-lo <= _MOSTLY * hi)
    return behind, front


def _centres(points: F64, starts: I64, counts: I64) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Each cell's box centre, and whether it has points at all."""
    valid = counts > 0
    centre = np.zeros((counts.shape[0], 3))
    if valid.any():
        s = starts[valid]
        centre[valid] = (np.minimum.reduceat(points, s) + np.maximum.reduceat(points, s)) / 2
    return centre, valid
