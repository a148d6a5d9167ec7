"""The walls of every room, per outline edge, and the cavity P′ they enclose (:class:`Walls`, :func:`walls`).

A room is its outline P (x, z) extruded from ``y0`` to ``y1``, hollowed by the cavity P′ (P offset
inwards by the wall's thickness ``t``, mitred corners) between ``y0 + t`` and ``y1 - t``. A short edge
whose inner edge would fold back (at a convex corner) drops out of P′, its live neighbours' inner edges
meeting at one apex, round after round (:func:`_collapse`): a chamfer of a few centimetres, a rounded
corner of many short walls. At an apex (the walls between lost their inner faces) the inner face
across is the live wall's past them (:attr:`Walls.live_nxt`), the outer face's neighbour the outline's.

A room stays on the panel path (:attr:`Walls.ok`) when its outline's inner offset keeps every edge
(length and direction) and does not cross itself (a concave outline's slot narrower than two walls
would: :func:`_cavity_simple`), or loses edges as :func:`_collapse` drops them: a run turning both ways
(a niche narrower than two walls filled in, :attr:`Walls.mixed`) only where the cavity is the mitred
offset's (:func:`_offset_matches`) and the run's footprint simple (:func:`_simple_along`). Such a run's
footprint is one polygon of the slab faces (:func:`run_polygons`).

Also :data:`GAP`, the clearance every step holds openings and hatches to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ...arrays import distinct
from ...model.ir import Room
from ...tolerances import AREA_EPS, WELD_EPS
from ..doors import RoomArrays, inner_corners, room_arrays
from ..outline import MITER_LIMIT, relative_cross, segments_meet, star_simple
from ..slivers import SLIVER

__all__ = ["GAP", "Walls", "run_polygons", "walls"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: Smallest clearance (m) between an opening and a border it does not touch (the cavity's corners,
#: the floor's or ceiling's faces, another opening): ten times the weld tolerance. Below it a face
#: that thin would follow, and the room takes the boolean path.
GAP = 10.0 * WELD_EPS


@dataclass(slots=True)
class Walls:
    """Per outline edge e (edges numbered like outline vertices, room by room)."""

    room: I64
    start: F64  # (e, 2) first vertex
    tangent: F64  # (e, 2) unit
    inward: F64  # (e, 2) unit, into the room
    length: F64
    inner0: F64  # inner edge's start, along the tangent from ``start``
    inner1: F64
    first: I64  # (r + 1,) first edge of each room
    inner: F64  # (e, 2) inner (cavity) vertex at the edge's start
    convex: B8  # (r,)
    ok: B8  # (r,)
    thickness: F64  # (e,) the room's wall thickness (a collapsed edge's: its apex's depth)
    rooms: RoomArrays  # per room: heights, wall thickness, outline bounds
    prev: I64  # (e,) the edge before, in its outline
    nxt: I64  # (e,) the edge after
    collapsed: B8  # (e,) a short edge with no inner face (its neighbours' meet at one apex: :func:`_collapse`)
    mixed: B8  # (e,) collapsed in a run turning both ways (a niche narrower than two walls filled in)
    merged: B8  # (e,) a live wall whose footprint strip is part of such a run's polygon (:func:`run_polygons`)
    #: (e,) the live edge before (after) each live edge: the wall across its cavity's corner, past collapsed
    #: edges (a chamfer's: the apex); ``prev`` (``nxt``) where none collapsed and for collapsed edges.
    live_prev: I64
    live_nxt: I64


def walls(rooms: Sequence[Room]) -> Walls:
    counts = np.array([r.floor.shape[0] for r in rooms], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)])
    start = np.concatenate([r.floor for r in rooms]).astype(np.float64, copy=False)
    room = np.repeat(np.arange(len(rooms)), counts)
    arrays = room_arrays(rooms)
    tt = arrays.thickness
    t = tt[room]
    nxt = np.arange(start.shape[0]) + 1
    nxt[first[1:] - 1] = first[:-1]
    prev = np.arange(start.shape[0]) - 1
    prev[first[:-1]] = first[1:] - 1
    end = start[nxt]
    delta = end - start
    length = np.hypot(delta[:, 0], delta[:, 1])
    safe = np.where(length > 0, length, 1.0)
    tangent = delta / safe[:, None]
    base = start[np.minimum(first[:-1], max(start.shape[0] - 1, 0))][room] if start.shape[0] else start
    area = 0.5 * np.add.reduceat(relative_cross(start, end, base), first[:-1]) if start.shape[0] else np.zeros(0)
    side = np.where(area > 0.0, 1.0, -1.0)[room]
    # Positive shoelace area: the interior is to the left of each edge (x, z), i.e. (-tz, tx)... in the
    # project's frame the outward normal of a positive outline is (tz, -tx) (see outline.py).
    inward = -side[:, None] * np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    offset, good_corner, _, _ = inner_corners(inward, first, t)
    inner = start + offset
    inner0 = np.einsum("ek,ek->e", inner - start, tangent)
    inner1 = np.einsum("ek,ek->e", inner[nxt] - start, tangent)
    turn = tangent[prev, 0] * tangent[:, 1] - tangent[prev, 1] * tangent[:, 0]  # sign = area sign when convex
    collapsed = np.zeros(start.shape[0], dtype=bool)
    corner_convex = turn * side >= 0.0
    fold = _folded(inner1 - inner0, good_corner, corner_convex, nxt)
    mixed = np.zeros(start.shape[0], dtype=bool)
    if fold.any():
        collapsed, mixed, good_corner, t, inner, inner0, inner1 = _collapse(
            fold, room, side, start, tangent, inward, t, inner, inner0, inner1, good_corner, corner_convex, prev, nxt
        )
    r = len(rooms)
    edge_ok = (length > GAP) & good_corner & ((inner1 - inner0 > GAP) | collapsed)
    ok = np.ones(r, dtype=bool)
    np.logical_and.at(ok, room, edge_ok)
    convex = np.ones(r, dtype=bool)
    np.logical_and.at(convex, room, turn * side >= 0.0)
    inner_cross = relative_cross(inner, inner[nxt], base)
    inner_area = 0.5 * np.add.reduceat(inner_cross, first[:-1]) if start.shape[0] else np.zeros(0)
    h = np.array([x.height for x in rooms])
    ok &= (counts >= 3) & (np.abs(area) > AREA_EPS) & (inner_area * area > 0) & (np.abs(inner_area) > AREA_EPS)
    ok &= (h > 2 * tt + 2 * GAP) & (tt > GAP)
    # A concave outline's cavity may cross itself with every inner edge kept: a neck narrower than
    # two walls (two rooms joined by a slot) gives inner edges that pass each other. Its faces would
    # not close; the booleans build such a room (its cavity falls apart in pieces).
    if mixed.any():
        # Runs turning both ways: kept where the cavity is the mitred offset the booleans take (to a
        # micrometre); an opening on one of their walls is left to the booleans (in :func:`~.openings.openings`).
        for k in distinct(room[mixed]).tolist():
            if ok[k]:
                ring = np.arange(first[k], first[k + 1])
                ok[k] = _offset_matches(start[ring], inner[ring[~collapsed[ring]]], float(tt[k]))
    mixed &= collapsed
    merged = np.zeros(start.shape[0], dtype=bool)
    for k, before, run, after in _mixed_runs(mixed, room, prev, nxt):
        # The run's footprint alone (its outline and the apex), or with the strips of the walls either side
        # where the first is not simple (a pilaster a few centimetres from a corner: the strip of the wall
        # across, its end joined to the apex, runs over the pilaster). Their walls then take no opening.
        if not ok[k] or _simple_along(_run_ring(start, inner, nxt, before, run, after, False), float(side[after])):
            continue
        ring = _run_ring(start, inner, nxt, before, run, after, True)
        if merged[before] or merged[after] or not _simple_along(ring, float(side[after])):
            ok[k] = False
        merged[before] = merged[after] = True
    concave = np.flatnonzero(ok & ~convex)
    if concave.size and collapsed.any():  # the cavity without its collapsed edges' (zero-length) inner edges
        kept = ~collapsed
        kept_first = np.concatenate([[0], np.cumsum(np.bincount(room[kept], minlength=r))])
        ok[concave] = _cavity_simple(inner[kept], kept_first, concave)
    elif concave.size:
        ok[concave] = _cavity_simple(inner, first, concave)
    live_prev, live_nxt = prev, nxt
    if collapsed.any():
        live = np.flatnonzero(~collapsed)
        live_prev, live_nxt = prev.copy(), nxt.copy()
        live_nxt[live] = _next_live(live, nxt, collapsed)
        live_prev[live_nxt[live]] = live
    return Walls(
        room,
        start,
        tangent,
        inward,
        length,
        inner0,
        inner1,
        first,
        inner,
        convex,
        ok,
        t,
        arrays,
        prev,
        nxt,
        collapsed,
        mixed,
        merged,
        live_prev,
        live_nxt,
    )


#: The cavity of a run turning both ways may differ from the mitred offset by this much area per metre of
#: outline (m²/m: a band a micrometre wide; Clipper2 rounds to 1e-8 m).
_OFFSET_BAND = 1e-6


def _offset_matches(outline: F64, cavity: F64, thickness: float) -> bool:
    """Whether ``cavity`` (its corners in order) is the mitred inward offset of ``outline`` by ``thickness``
    as the boolean path takes it (manifold3d's CrossSection, Clipper2), one piece: their difference both ways
    is under :data:`_OFFSET_BAND` per metre of outline. One Clipper offset per room asked (rooms with a run of
    short walls turning both ways only)."""
    from manifold3d import CrossSection, FillRule, JoinType

    if cavity.shape[0] < 3:
        return False
    centre = outline.mean(axis=0)
    outer = CrossSection([outline - centre], FillRule.NonZero)
    offset = outer.offset(-thickness, JoinType.Miter, MITER_LIMIT)
    mine = CrossSection([cavity - centre], FillRule.NonZero)
    if offset.num_contour() != 1 or mine.num_contour() != 1:
        return False
    perimeter = float(np.linalg.norm(np.roll(outline, -1, axis=0) - outline, axis=1).sum())
    apart = (offset - mine).area() + (mine - offset).area()
    return bool(apart <= _OFFSET_BAND * perimeter)


#: Inner edges shorter than this (m) drop out of the cavity (:func:`_collapse`).
#: An inner edge between two convex corners shorter than this (m) drops out of the cavity (:func:`_folded`).
_SHORT_INNER = 4.0 * SLIVER
#: Rounds of :func:`_collapse`: each drops every inner edge folded against its live neighbours; an edge
#: folds in a later round only after a neighbour went (a rounded corner of many short walls goes in one).
_COLLAPSE_ROUNDS = 8


def _folded(length: F64, sound: B8, convex: B8, nxt: I64) -> B8:
    """Edges whose inner edge (``length`` along the edge, negative when its corners pass each other) drops out
    of the cavity: folded back, or under :data:`~sceneforge.geometry.slivers.SLIVER` (every triangle holding
    it would be a sliver), or between two convex corners (``convex``: at each edge's start) under
    :data:`_SHORT_INNER`: the few millimetres an arc rounded a little wider than the walls keeps inside,
    whose triangles in the floor's top would be slivers too (an arc of 6 mm radius in 8 walls: 0.7 mm inner
    edges, triangles 0.3 mm high). Dropping such an edge moves the cavity's corner by less than its length.
    Both corners of the edge must be sound (the walls meeting there do not fold onto each other)."""
    short = (length < SLIVER) | ((length < _SHORT_INNER) & convex & convex[nxt])
    return short & sound & sound[nxt]


def _collapse(
    fold: B8,
    room: I64,
    side: F64,
    start: F64,
    tangent: F64,
    inward: F64,
    t: F64,
    inner: F64,
    inner0: F64,
    inner1: F64,
    sound: B8,
    convex_corner: B8,
    prev: I64,
    nxt: I64,
) -> tuple[B8, B8, B8, F64, F64, F64, F64]:
    """The cavity without the inner edges :func:`_folded` finds (``fold``): a short edge at a convex corner, a
    chamfer of a few centimetres where walls are 10 cm thick, a rounded corner of a smaller radius than the
    walls, a point a hair off a wall's line near a corner. ``side``: each edge's outline orientation (±1),
    ``convex_corner``: whether the corner at each edge's start is convex.

    Such an edge drops out of the cavity: the inner edges of the live edges before and after it meet at
    one apex, where their offset lines cross; dropping it may fold a neighbour in turn (each round drops
    every folded edge, :data:`_COLLAPSE_ROUNDS` at most). In a convex run this is the inward offset
    exactly (the intersection of the walls' half-planes, as the booleans' offset gives it: an edge folded
    against its neighbours has no part in it). A dropped edge's inner face is the apex (no width) and its
    wall as thick as the apex lies deep, so every face built from the edge's thickness along its inward
    normal reaches the apex: its slab strips are triangles. An apex must lie deeper than ``GAP`` behind
    every dropped edge, its neighbours' lines not parallel (or one line: :func:`_parallel_meet`): else the
    edges stay folded, which :func:`walls` refuses (the booleans build the room; so do folds left after the
    last round). Two walls facing each other whose offset lines passed each other both drop (the sides of a
    niche narrower than two walls). A run that turns both ways (a niche, a pilaster's or a jog's walls) is
    not the offset by construction: such runs are marked ``mixed``, and :func:`walls` keeps their rooms
    only where the cavity is the mitred offset's (:func:`_offset_matches`).

    Returns which edges dropped out, which of them in a mixed run, each edge's start corner soundness and
    thickness, the cavity corners and the inner edges' ends (copies)."""
    n = start.shape[0]
    rooms = int(room[-1]) + 1
    gone = np.zeros(n, dtype=bool)
    live_prev, live_next = prev.copy(), nxt.copy()
    sound, convex = sound.copy(), convex_corner.copy()
    corner = inner.copy()  # the cavity corner at each live edge's start
    hit = np.zeros(n, dtype=bool)  # dropped as one of two walls facing each other across less than two walls
    for _ in range(_COLLAPSE_ROUNDS):
        drop = fold & ~gone
        # A cavity keeps three edges at least (a room all of whose walls fold has none: the booleans').
        drop &= (np.bincount(room[~(gone | drop)], minlength=rooms) >= 3)[room]
        if not drop.any():
            break
        gone |= drop
        # Relink: each live edge's live neighbours, past the dropped ones (a ring's run ends at live edges).
        live = (~gone).nonzero()[0]
        live_next[live] = _next_live(live, live_next, gone)
        live_prev[live_next[live]] = live
        # The corners that changed: at the start of each live edge whose live predecessor is new.
        moved = live[gone[prev[live]]]
        p = live_prev[moved]
        a = start[p] + t[p, None] * inward[p]
        b = start[moved] + t[moved, None] * inward[moved]
        cross = tangent[p, 0] * tangent[moved, 1] - tangent[p, 1] * tangent[moved, 0]
        rel = b - a
        along = (rel[:, 0] * tangent[moved, 1] - rel[:, 1] * tangent[moved, 0]) / np.where(cross != 0.0, cross, 1.0)
        corner[moved] = a + along[:, None] * tangent[p]
        sound[moved] = np.abs(cross) > 1e-9
        convex[moved] = cross * side[moved] >= 0.0
        facing, collided = _parallel_meet(p, moved, a, b, start, tangent, inward, nxt, live_next, corner, sound)
        # Folded now: live edges whose corners (either end) moved and pass each other.
        ends = np.zeros(n, dtype=bool)
        ends[moved] = True
        ends[p] = True
        check = live[ends[live]]
        length = np.zeros(n)
        length[check] = np.einsum("ek,ek->e", corner[live_next[check]] - corner[check], tangent[check])
        fold = np.zeros(n, dtype=bool)
        fold[check] = _folded(length, sound, convex, live_next)[check]
        fold[facing] = False  # (their corner is no point: the one that goes is ``collided``)
        fold[collided] = True
        hit[collided] = True
    t, inner, inner0, inner1 = t.copy(), corner, inner0.copy(), inner1.copy()
    if not gone.any():
        return gone, gone.copy(), sound, t, inner, inner0, inner1
    live = (~gone).nonzero()[0]
    dropped = gone.nonzero()[0]
    # Each dropped edge's apex: the corner at the start of the next live edge.
    after = _next_live(dropped, nxt, gone)
    apex = corner[after]
    inner[dropped] = apex
    inner0[dropped] = inner1[dropped] = np.einsum("ek,ek->e", apex - start[dropped], tangent[dropped])
    depth = np.einsum("ek,ek->e", apex - start[dropped], inward[dropped])
    t[dropped] = depth
    inner0[live] = np.einsum("ek,ek->e", corner[live] - start[live], tangent[live])
    inner1[live] = np.einsum("ek,ek->e", corner[live_next[live]] - start[live], tangent[live])
    # Every apex lies behind its dropped edges (each fan triangle wound as the outline); their neighbours
    # cross. A run of two or more that turns both ways is kept for :func:`walls` to check against the
    # mitred offset (``mixed``).
    run = gone[prev[dropped]] | gone[nxt[dropped]]
    # (A run's edges share ``after``: each edge of a run with one such edge is marked. Its footprint is one
    # polygon, not a fan: :func:`walls` checks it is simple instead of each apex's depth.)
    mixed = np.zeros(n, dtype=bool)
    turns = (run & ~(convex_corner[dropped] & convex_corner[nxt[dropped]])) | hit[dropped]
    mixed[dropped] = np.isin(after, after[turns])
    bad = ((depth <= GAP) & ~mixed[dropped]) | ~sound[after]
    if bad.any():
        # Kept folded (zero width, so :func:`walls` refuses the room): the booleans build it.
        back = dropped[bad]
        gone[back] = False
        inner0[back] = inner1[back] = 0.0
    return gone, mixed, sound, t, inner, inner0, inner1


#: Two parallel offset lines this near (m) are one line (:func:`_parallel_meet`).
_SAME_LINE = 1e-9


def _parallel_meet(
    p: I64,
    moved: I64,
    a: F64,
    b: F64,
    start: F64,
    tangent: F64,
    inward: F64,
    nxt: I64,
    live_next: I64,
    corner: F64,
    sound: B8,
) -> tuple[I64, I64]:
    """Corners between parallel live neighbours (``p`` before ``moved``, their offset lines through ``a`` and
    ``b``), which :func:`_collapse` left unsound. Walls of one line (the two pieces of a straight wall either side
    of a niche narrower than two walls, once the niche's walls went): the corner is on that line, across from the
    middle of the dropped run's outline (the apex its outer edges are fanned from), and sound. Walls facing each
    other whose offset lines met or passed each other (a niche's sides, narrower apart than two walls, once its
    back went; a room's wall and a pilaster's side less than two walls from it, once the wall between went):
    the cavity between them is empty, and the one whose inner edge's other end lies within the other's span
    goes (both where those ends are across from each other, as a niche's sides' are). Others stay unsound.
    Returns the edges of facing pairs, and those of them to drop."""
    par = ~sound[moved]
    if not par.any():
        return moved[:0], moved[:0]
    pp, mm, aa, bb = p[par], moved[par], a[par], b[par]
    gap = np.einsum("ek,ek->e", bb - aa, inward[pp])  # the next line's distance into the room from the last
    same = np.einsum("ek,ek->e", tangent[pp], tangent[mm]) > 0.0
    line = same & (np.abs(gap) <= _SAME_LINE)
    mouth = 0.5 * (start[nxt[pp[line]]] + start[mm[line]])
    at = np.einsum("ek,ek->e", mouth - aa[line], tangent[pp[line]])
    corner[mm[line]] = aa[line] + at[:, None] * tangent[pp[line]]
    sound[mm[line]] = True
    facing = ~same & (gap <= _SAME_LINE)
    pp, mm = pp[facing], mm[facing]
    sound[mm] = True  # no corner left between them
    # Along p's direction: where p's inner edge starts, where moved's ends.
    s_p = np.einsum("ek,ek->e", corner[pp], tangent[pp])
    s_m = np.einsum("ek,ek->e", corner[live_next[mm]], tangent[pp])
    return np.concatenate([pp, mm]), np.concatenate([pp[s_p >= s_m - _SAME_LINE], mm[s_m >= s_p - _SAME_LINE]])


def _next_live(edges: I64, nxt: I64, gone: B8) -> I64:
    """The first edge after each of ``edges`` (by ``nxt``) that is not ``gone`` (three edges of each ring at
    least are live)."""
    out = nxt[edges]
    for _ in range(nxt.shape[0]):
        pending = gone[out]
        if not pending.any():
            break
        out[pending] = nxt[out[pending]]
    return out


#: Edge pairs tested at once by :func:`_cavity_simple` (~100 bytes each with the temporaries).
_PAIR_RUN = 1 << 18
#: Cavities of at most this many edges test every pair of them; larger ones the pairs whose boxes meet.
_ALL_PAIRS_EDGES = 64


def _cavity_simple(inner: F64, first: I64, rooms: I64) -> B8:
    """Per room of ``rooms``: whether its cavity outline (``inner``, rooms' vertices end to end from
    ``first``) is simple: no two edges that are not neighbours cross, touch or overlap. Only concave
    rooms are asked (a few per level, of a few edges each): every pair of a small cavity's edges, all
    such rooms at once; a larger one is proved simple when it is star-shaped (:func:`star_simple`, O(k):
    a dense star's long edges meet hundreds of boxes each), else tested on the pairs whose boxes meet
    (:func:`_box_pairs`)."""
    out = np.ones(rooms.size, dtype=bool)
    counts = first[rooms + 1] - first[rooms]
    pairs_i: list[I64] = []
    pairs_j: list[I64] = []
    for k, r in enumerate(rooms.tolist()):
        n = int(counts[k])
        if n > _ALL_PAIRS_EDGES:
            ring = np.arange(first[r], first[r + 1])
            out[k] = star_simple(inner[ring]) or not any(
                _edges_meet(inner, ring[i], ring[j], first).any() for i, j in _box_pairs(inner[ring])
            )
            continue
        i, j = np.triu_indices(n, 2)
        keep = ~((i == 0) & (j == n - 1))  # the last edge and the first are neighbours
        pairs_i.append(i[keep] + first[r])
        pairs_j.append(j[keep] + first[r])
    if pairs_i:
        i, j = np.concatenate(pairs_i), np.concatenate(pairs_j)
        room_of = np.repeat(np.arange(first.size - 1), np.diff(first))
        index = np.full(first.size - 1, -1, dtype=np.int64)
        index[rooms] = np.arange(rooms.size)
        out[index[room_of[i[_edges_meet(inner, i, j, first)]]]] = False
    return out


def _edges_meet(points: F64, i: I64, j: I64, first: I64) -> B8:
    """Whether outline edges ``i`` and ``j`` (each from its point to the next of its outline, outlines
    end to end from ``first``) cross, touch or run over a shared stretch."""
    room_of = np.searchsorted(first, i, side="right") - 1
    nxt_i = np.where(i + 1 < first[room_of + 1], i + 1, first[room_of])
    room_of = np.searchsorted(first, j, side="right") - 1
    nxt_j = np.where(j + 1 < first[room_of + 1], j + 1, first[room_of])
    return segments_meet(points[i], points[nxt_i], points[j], points[nxt_j])


def _box_pairs(ring: F64) -> list[tuple[I64, I64]]:
    """The pairs (i, j) of non-neighbouring edges of the closed outline ``ring`` (k, 2) whose bounding
    boxes meet (edges that cross or touch do), as positions in ``ring``, in runs of about
    :data:`_PAIR_RUN`: a sweep along x (sorted by each edge's least x, the partners of an edge are
    those starting before it ends), then the z test. O(k log k + pairs whose x-extents meet)."""
    k = ring.shape[0]
    nxt = np.roll(ring, -1, axis=0)
    lo, hi = np.minimum(ring, nxt), np.maximum(ring, nxt)
    order = np.argsort(lo[:, 0], kind="stable")
    xs = lo[order, 0]
    end = np.searchsorted(xs, hi[order, 0], side="right")
    n = np.maximum(end - np.arange(k) - 1, 0)  # partners of each sorted edge: the ones after it, up to end
    runs = []
    total = np.cumsum(n)
    at = 0
    while at < k:
        stop = max(at + 1, int(np.searchsorted(total, total[at] - n[at] + _PAIR_RUN, side="right")))
        rows = np.arange(at, min(stop, k))
        cnt = n[rows]
        a = np.repeat(rows, cnt)
        b = a + 1 + np.arange(a.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        i, j = order[a], order[b]
        meet = (lo[i, 1] <= hi[j, 1]) & (lo[j, 1] <= hi[i, 1])
        gap = np.abs(i - j)
        meet &= (gap != 1) & (gap != k - 1)
        runs.append((i[meet], j[meet]))
        at = int(rows[-1]) + 1
    return runs


def _mixed_runs(mixed: B8, room: I64, prev: I64, nxt: I64) -> list[tuple[int, int, list[int], int]]:
    """Each run of ``mixed`` edges (collapsed, turning both ways): its room, the live edge before it, its
    edges in order and the live edge after it."""
    out = []
    for first in np.flatnonzero(mixed & ~mixed[prev]).tolist():
        run = [first]
        while mixed[nxt[run[-1]]]:
            run.append(int(nxt[run[-1]]))
        out.append((int(room[first]), int(prev[first]), run, int(nxt[run[-1]])))
    return out


def _run_ring(start: F64, inner: F64, nxt: I64, before: int, run: list[int], after: int, merged: bool) -> F64:
    """A mixed run's footprint: the outline from the run's first corner to the next live edge's start, then
    the apex (that edge's cavity corner); ``merged``, with the footprint strips of the live edges either side:
    the outline from ``before``'s start to ``after``'s end, then the cavity's corners back."""
    if not merged:
        return np.concatenate([start[run], start[[after]], inner[[after]]])
    outline = start[[before, *run, after, int(nxt[after])]]
    return np.concatenate([outline, inner[[int(nxt[after]), after, before]]])


def _simple_along(points: F64, side: float) -> bool:
    """Whether the closed ring ``points`` is simple (no two edges but neighbours meet) and wound as ``side``
    (the outline's orientation, ±1) with some area, every corner at least ``_RUN_CLEARANCE`` from the edges
    it is not on: a corner nearer an edge across makes a triangle that thin whatever the triangulation (a
    pilaster's corner 0.18 mm off the line from the outline's corner to the apex: the ring with the strips
    either side is taken instead, where that corner is clear)."""
    k = points.shape[0]
    nxt = np.roll(points, -1, axis=0)
    area = 0.5 * float(relative_cross(points, nxt, points[0]).sum())
    if area * side <= AREA_EPS * 1e-3:
        return False
    i, j = np.triu_indices(k, 2)
    keep = ~((i == 0) & (j == k - 1))
    if segments_meet(points[i[keep]], nxt[i[keep]], points[j[keep]], nxt[j[keep]]).any():
        return False
    # Each corner against each edge not ending at it: the distance to the segment.
    corner, edge = np.divmod(np.arange(k * k), k)
    away = (edge != corner) & ((edge + 1) % k != corner)
    corner, edge = corner[away], edge[away]
    a, d = points[edge], nxt[edge] - points[edge]
    rel = points[corner] - a
    t = np.clip(np.einsum("ek,ek->e", rel, d) / np.maximum(np.einsum("ek,ek->e", d, d), 1e-300), 0.0, 1.0)
    gap = rel - t[:, None] * d
    return bool(np.einsum("ek,ek->e", gap, gap).min(initial=np.inf) >= _RUN_CLEARANCE**2)


#: Least distance (m) of a mixed run's footprint corner from the edges it is not on (:func:`_simple_along`).
_RUN_CLEARANCE = 2.0 * SLIVER


def run_polygons(w: Walls, which: B8) -> list[tuple[F64, list[int], int]]:
    """The footprint of each run of walls that turns both ways and lost its inner faces (``w.mixed``: a niche
    narrower than two walls filled in), in rooms ``which``: the run's outline and the apex, one polygon for
    earcut (a fan from the apex, as a convex run's strips are, joined a 1 cm niche's sides to an apex 20 cm
    away in triangles 0.2 mm high; earcut's faces get Delaunay flips). A few runs per room that has them."""
    jobs = []
    for k, before, run, after in _mixed_runs(w.mixed & which[w.room], w.room, w.prev, w.nxt):
        points = _run_ring(w.start, w.inner, w.nxt, before, run, after, bool(w.merged[after]))
        jobs.append((points, [points.shape[0]], k))
    return jobs
