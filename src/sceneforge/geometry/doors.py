"""Doorways: where a portal quad lies on a room's wall, and where a door between two rooms goes.

Two questions about portals and room walls, both answered in plan view from the outline
edges of :mod:`sceneforge.geometry.outline`:

* :func:`door_cutters` — which portals of a cell lie on which of its walls (the quad inside
  the wall slab, between the outer face and the inner face ± ``ON_WALL_EPS``, and overlapping
  the wall's length and height), and the convex prism that cuts each doorway: the quad
  projected through the wall along the wall's normal, reaching a margin past both faces so
  the boolean never meets a coplanar face. A horizontal quad inside the floor or ceiling slab
  cuts a hatch the same way. Nothing is assumed about the quad beyond convexity.
* :func:`place_door` — docs/scene-format.md's ``between`` + ``door``: the rectangle on the longest wall
  two rooms share (collinear, opposite-facing outline edges that overlap).

The questions both room paths ask — :func:`wall_hits` (which quads lie on which walls),
:func:`slab_hits` (which lie in a floor or ceiling slab) and :func:`inner_corners` (the cavity's
mitred corners) — are answered here once, for the boolean path's cutters and the panel path's
openings (:mod:`sceneforge.geometry.panels`) alike, so both open the same portals.

Cost: every portal against every wall edge of its room, done for all rooms of a scene in one
vectorized pass (per-room calls cost ~0.2 ms each in numpy overhead, a fifth of the whole geometry
stage; batched, ~18 ms for 1,000 rooms) while that is at most ``_HIT_GROUP`` pairs; past it, only
the pairs whose plan bounds overlap, found by sorting (O((p + e) log(p + e)) plus the pairs found),
and tested in groups of that many, so memory stays bounded (a 4,096-sided room with 1,000 doorways
was 4.1 million pairs, 1.1 GB at once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ..arrays import ranges
from ..model.ir import Cell, Portal, Room
from ..tolerances import AREA_EPS, CONTACT_EPS, EXPORT_NOISE, EXPORT_STEPS, ON_WALL_EPS, WELD_EPS
from .outline import WallEdges, wall_edges_of

__all__ = ["box_outlines", "door_cutters", "facing_wall_gaps", "place_door", "place_doors", "scene_door_cutters"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]
_Cols = TypeVar("_Cols", F64, B8, I64)


def cut_margin() -> float:
    """How far (m) a cutting prism reaches past each face of the slab it cuts: 10 × ``WELD_EPS``.

    Past a face so the boolean never meets a coplanar face, and ten times what the weld pass
    merges so no face of the cut is welded onto the wall's. It is also how deep a doorway that
    runs into a corner notches the wall across: 0.1 mm, which nobody sees (a margin of half a
    wall, tried first, left 5 cm notches there).
    """
    return 10.0 * WELD_EPS


#: How far (m) an opening's jamb is drawn back from the cavity's corner where, flush with it, it would pinch the
#: solid (:func:`pinched_corners`): a strip of wall that wide then joins the pillar to the slab. Over the 0.5 mm a
#: triangle of the output stands (docs/scene-format.md), so the strip's faces are no slivers. Along a wall meeting
#: the wall across at a slant the jamb goes back farther (:func:`part_along`), so it keeps PART from that wall.
PART = 1e-3


def part_along(tangent: F64, nxt: I64) -> F64:
    """Per wall edge, how far along it (m) an opening's jamb is drawn back from the cavity's corner at its end to
    keep ``PART`` from the wall across: ``PART`` over the sine of the angle between the two walls (at most ten
    times ``PART``, for walls nearly in line). ``tangent`` (e, 2) unit, ``nxt`` (e,) each edge's next."""
    t, u = tangent, tangent[nxt]
    sine = np.abs(t[:, 0] * u[:, 1] - t[:, 1] * u[:, 0])
    along: F64 = PART / np.maximum(sine, 0.1)
    return along


def pinched_corners(nxt: I64, end_edge: I64, end_slabs: I64, start_edge: I64, start_slabs: I64) -> I64:
    """Per wall edge: the slabs at which the cavity's corner at its end is pinched (bits as below; 0: none).

    Two openings flush with that corner, one in each wall meeting there, both reaching into one slab (below the
    floor's top, above the ceiling's underside), leave the pillar between them touching that slab's corner along
    one edge only, from the higher of their sills up to the floor's top (likewise at the ceiling): four faces on
    that edge, not a 2-manifold solid. ``end_edge`` (n,): the edge of each opening flush with the corner at its
    end, ``end_slabs`` (n,) the slabs it reaches into there (:func:`slabs_reached`: 1 the floor, 2 the ceiling,
    3 both); ``start_*`` likewise for the openings flush with the corner at their start; ``nxt`` (e,) each
    edge's next. Both room paths draw each opening flush with a pinched corner at its end, reaching into a slab
    it is pinched at, back by ``PART`` (the wall before the corner keeps that strip, which joins the pillar to
    the slab), so both build the same solid."""
    n = nxt.shape[0]
    at_end, at_start = np.zeros(n, np.int64), np.zeros(n, np.int64)
    np.bitwise_or.at(at_end, end_edge, end_slabs)
    np.bitwise_or.at(at_start, start_edge, start_slabs)
    pinched: I64 = at_end & at_start[nxt]
    return pinched


def slabs_reached(low: F64, high: F64, floor_top: F64, ceiling: F64) -> I64:
    """Which slabs an opening's jamb spanning heights ``low``..``high`` reaches into (:func:`pinched_corners`'
    bits: 1 the floor, below its top ``floor_top``; 2 the ceiling, above its underside ``ceiling``), by more than
    ``WELD_EPS``."""
    reached: I64 = (low < floor_top - WELD_EPS).astype(np.int64) | 2 * (high > ceiling + WELD_EPS).astype(np.int64)
    return reached


def parted(
    nxt: I64, tangent: F64, edge: I64, y: F64, at_end: B8, at_start: B8, slab_faces: tuple[F64, F64]
) -> tuple[B8, F64]:
    """Which openings both room paths draw back from the cavity's corner at their end (:func:`pinched_corners`),
    and how far along their wall (:func:`part_along`). ``edge`` (n,): each opening's wall edge; ``y`` (n, k) its
    corners' heights; ``at_end``, ``at_start`` (n, k): which corners lie on the cavity's corner at the edge's end,
    at its start (False at an outline's corner: only the cavity's convex corners pinch); ``slab_faces``: the
    floor's top and the ceiling's underside (n,) each. A jamb is two corners on the corner line, not one."""
    slabs = []
    for at in (at_end, at_start):
        low = np.where(at, y, np.inf).min(axis=1)
        high = np.where(at, y, -np.inf).max(axis=1)
        slabs.append(np.where(at.sum(axis=1) >= 2, slabs_reached(low, high, *slab_faces), 0))
    pinch: B8 = (pinched_corners(nxt, edge, slabs[0], edge, slabs[1])[edge] & slabs[0]) != 0
    return pinch, part_along(tangent, nxt)[edge]


def column_reduce(op: np.ufunc, a: _Cols) -> _Cols:
    """``op`` (np.maximum, np.minimum, np.logical_and, np.bitwise_or) over the columns of (n, k) ``a``, one column at a
    time: the same values, to the bit (signed zeros too; a NaN stays a NaN), as the reduction along
    axis 1, which numpy runs row by row (slow for k = 3 or 4)."""
    out: _Cols = op(a[:, 0], a[:, 1])
    for j in range(2, a.shape[1]):
        op(out, a[:, j], out=out)
    return out


def _pairs(groups: npt.NDArray[np.int64], group_start: npt.NDArray[np.int64]) -> tuple[I64, I64]:
    """For items in ``groups`` (i,), every (item, member) with member in group_start[g]:group_start[g+1]."""
    counts = group_start[groups + 1] - group_start[groups]
    item = np.repeat(np.arange(groups.size), counts)
    offsets = np.arange(item.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return item, group_start[groups][item] + offsets


@dataclass(frozen=True, slots=True)
class RoomArrays:
    """Per room: the floor's underside ``y0``, the ceiling's top ``y1``, the wall ``thickness``, and
    the outline's (x, z) bounds ``lo``, ``hi`` (r, 2). Built once per scene from the rooms."""

    y0: F64
    y1: F64
    thickness: F64
    lo: F64
    hi: F64
    #: (r,) the coarsest step of :data:`~sceneforge.tolerances.EXPORT_STEPS` whose grid holds every
    #: coordinate of the outline (a plan written to millimetres), 0 for none; None: 0 for every room.
    step: F64 | None = None


def grid_steps(values: F64) -> F64:
    """Per row of ``values`` (n, k): the coarsest step of :data:`~sceneforge.tolerances.EXPORT_STEPS` every
    value is a whole number of (to 1e-6 of a step, far under any rounding an export does and far over
    float64's at the schema's ±1e6 m), 0 for none."""
    out = np.zeros(values.shape[0])
    for step in sorted(EXPORT_STEPS):  # finest first: a coarser grid the values are on too wins
        ratio = values / step
        with np.errstate(invalid="ignore"):  # a corner off the finite plane is on no grid (NaN compares False)
            out[(np.abs(ratio - np.round(ratio)) <= 1e-6).all(axis=1)] = step
    return out


def export_noise(room_step: F64, quad_step: F64, off_axes: B8) -> F64:
    """Per (quad, wall) pair (or hatch): how far (m) rounding to a grid may have moved a quad's corners off where
    they were drawn, against the wall's faces and ends and the cavity's corners:
    :data:`~sceneforge.tolerances.EXPORT_NOISE` grid steps where the wall (the room) is ``off_axes`` and both the
    room's outline and the quad were written to a grid (``room_step``, ``quad_step``: :func:`grid_steps`;
    the finer of the two, grids nesting); 0 elsewhere. On the axes rounding moves a wall and the quads
    drawn on it alike; a plan not written to a grid (turned exactly, or exported as float32) is as drawn."""
    out: F64 = np.where(off_axes, EXPORT_NOISE * np.minimum(room_step, quad_step), 0.0)
    return out


def room_arrays(rooms: Sequence[Room]) -> RoomArrays:
    """:class:`RoomArrays` of ``rooms`` (one pass over the rooms, then numpy)."""
    counts = np.array([r.floor.shape[0] for r in rooms], dtype=np.int64)
    y0 = np.array([r.y for r in rooms], dtype=np.float64)
    y1 = y0 + np.array([r.height for r in rooms], dtype=np.float64)
    thickness = np.array([r.wall_thickness for r in rooms], dtype=np.float64)
    lo, hi = np.zeros((len(rooms), 2)), np.zeros((len(rooms), 2))
    step = np.zeros(len(rooms))
    filled = counts > 0
    if filled.any():
        points = np.concatenate([r.floor for r in rooms]).astype(np.float64, copy=False)
        first = (np.cumsum(counts) - counts)[filled]
        lo[filled], hi[filled] = np.minimum.reduceat(points, first), np.maximum.reduceat(points, first)
        # A room's grid: the finest of its corners' (grids nest), none for a room without corners.
        step[filled] = np.minimum.reduceat(grid_steps(points), first)
    return RoomArrays(y0, y1, thickness, lo, hi, step)


def box_outlines(rooms: Sequence[Room], lo: F64, hi: F64, tolerance: float = 0.0) -> B8:
    """(r,) whether each room's outline is the rectangle of its (x, z) bounds ``lo``, ``hi`` (r, 2): four corners,
    each within ``tolerance`` of a bound in x and one in z (a valid floor repeats no corner). The vectorized
    :meth:`~sceneforge.model.ir.Room.plan` ``is None``."""
    counts = np.array([r.floor.shape[0] for r in rooms], dtype=np.int64)
    boxed: B8 = counts == 4
    if not boxed.any():
        return boxed
    points = np.concatenate([r.floor for r in rooms if r.floor.shape[0] == 4]).astype(np.float64).reshape(-1, 4, 2)
    near_lo = np.abs(points - lo[boxed][:, None, :]) <= tolerance
    near_hi = np.abs(points - hi[boxed][:, None, :]) <= tolerance
    boxed[boxed] = (near_lo | near_hi).all(axis=(1, 2))
    return boxed


def inner_corners(inward: F64, first: I64, thickness: F64) -> tuple[F64, B8, I64, I64]:
    """The cavity's mitred corners: the outline offset inwards by the wall thickness.

    Edges are numbered outline by outline, ``first`` (r + 1,) where each outline's edges start;
    ``inward`` (e, 2) unit normals into the room, ``thickness`` (e,) each edge's wall thickness.
    Returns, per edge: the offset (e, 2) from its start vertex to the cavity's corner there, whether
    that corner is sound (the two walls meeting there do not fold back onto each other), and the
    previous and next edge of its outline.
    """
    n = inward.shape[0]
    prev = np.arange(n) - 1
    nxt = np.arange(n) + 1
    firsts, lasts = first[:-1], first[1:] - 1
    valid = lasts >= firsts
    prev[firsts[valid]] = lasts[valid]
    nxt[lasts[valid]] = firsts[valid]
    m0, m1 = inward[prev], inward
    denom = 1.0 + np.einsum("ek,ek->e", m0, m1)
    sound: B8 = denom > 1e-6
    offset: F64 = thickness[:, None] * (m0 + m1) / np.where(sound, denom, 1.0)[:, None]
    return offset, sound, prev, nxt


@dataclass(frozen=True, slots=True)
class WallHits:
    """Every (portal quad, wall of its room) pair where the quad lies on the wall: ``quad`` and
    ``edge`` (n,) indices, and per quad corner (n, 4) its signed distance ``dist`` outside the
    wall's outer face, its position ``along`` the edge from its start, and its height ``y``; per pair
    the ``noise`` (n,) rounding to a grid may have left in its corners (:func:`export_noise`)."""

    quad: I64
    edge: I64
    dist: F64
    along: F64
    y: F64
    noise: F64


@dataclass(frozen=True, slots=True)
class PortalWalls:
    """The (portal, room cell) sides :func:`portal_walls` asked and what it found: ``portal``, ``quad_room``
    (the room's row in ``rooms``), ``is_to`` (n,) per side, the rooms, their arrays, outer edges (``first``
    (r + 1,) each room's first) and the sides' :func:`wall_hits` (``hits.quad`` indexes the sides)."""

    portal: I64
    quad_room: I64
    is_to: B8
    rooms: list[Room]
    arrays: RoomArrays
    edges: WallEdges
    first: I64
    hits: WallHits


def portal_walls(
    cells: Sequence[Cell], portals: Sequence[Portal], quads: F64, ask: tuple[B8, B8]
) -> PortalWalls | None:
    """Which walls of their room cells the ``portals`` (their ``quads`` (p, 4, 3)) lie on, each (portal, room
    cell) side once as the geometry stage asks it (a portal's source side first; one whose two cells are one
    room once): the sides ``ask`` (from, to) (p,) each allow, cells without a room not asked. None when no side
    is asked."""
    rooms = [c.room for c in cells if c.room is not None]
    at = {c.cell_id: k for k, c in enumerate(c for c in cells if c.room is not None)}
    room_from = np.array([at.get(p.from_cell, -1) for p in portals], dtype=np.int64)
    room_to = np.array([at.get(p.to_cell, -1) for p in portals], dtype=np.int64)
    asked_from = (room_from >= 0) & ask[0]
    asked_to = (room_to >= 0) & (room_to != room_from) & ask[1]
    portal = np.concatenate([np.flatnonzero(asked_from), np.flatnonzero(asked_to)])
    if portal.size == 0:
        return None
    quad_room = np.concatenate([room_from[asked_from], room_to[asked_to]])
    is_to = np.concatenate([np.zeros(int(asked_from.sum()), bool), np.ones(int(asked_to.sum()), bool)])
    arrays = room_arrays(rooms)
    edges = wall_edges_of([r.floor for r in rooms])
    first = np.searchsorted(edges.room, np.arange(len(rooms) + 1))
    q = np.asarray(quads, dtype=np.float64)[portal]
    hits = wall_hits(q, quad_room, edges.start, edges.tangent, edges.normal, edges.length, first, arrays)
    return PortalWalls(portal, quad_room, is_to, rooms, arrays, edges, first, hits)


#: (portal, wall) pairs tested at once by :func:`wall_hits`: a scene asking no more than this tests them all
#: at once; a larger one tests only the pairs whose plan bounds overlap, this many at a time. A 4,096-sided
#: floor with 1,000 doorways is 4.1 million pairs (~270 bytes each with the temporaries: 1.1 GB at once).
_HIT_GROUP = 1 << 16


def wall_hits(
    quads: F64, quad_room: I64, start: F64, tangent: F64, normal: F64, length: F64, first: I64, rooms: RoomArrays
) -> WallHits:
    """Which portal quads lie on which walls of their rooms: both the boolean path's cutters and
    the panel path's openings ask this, so both cut the same portals.

    Edges are numbered room by room (``first`` (r + 1,)): ``start`` (e, 2), unit ``tangent`` and
    outward unit ``normal`` (e, 2), ``length`` (e,). A quad lies on a wall when all its corners are
    inside the wall slab (between the outer face and the inner face, ± ``ON_WALL_EPS``: a plan turned and
    written to millimetres puts a doorway drawn in the wall up to 1.4 mm off the line of its rounded
    corners), and it overlaps the wall's length and its height (``y0`` to ``y1``) by more than ``CONTACT_EPS``.
    Pairs come by quad, then edge, ascending.

    Memory is bounded by :data:`_HIT_GROUP` pairs (and the hits): past it only the pairs whose plan
    bounds overlap are tested (:func:`_bound_pairs`), in groups; each pair's test is the same arithmetic
    either way, so the hits are the same to the bit.
    """
    counts = first[quad_room + 1] - first[quad_room]
    if int(counts.sum()) <= _HIT_GROUP:
        pq, pe = _pairs(quad_room, first)
        return _hit_test(quads, quad_room, start, tangent, normal, length, rooms, pq, pe)
    got = [
        _hit_test(quads, quad_room, start, tangent, normal, length, rooms, pq, pe)
        for pq, pe in _bound_pairs(quads, quad_room, start, tangent, normal, length, first, rooms)
    ]
    if not got:
        none = np.empty(0, dtype=np.int64)
        return _hit_test(quads, quad_room, start, tangent, normal, length, rooms, none, none)
    pq, pe = np.concatenate([g.quad for g in got]), np.concatenate([g.edge for g in got])
    order = np.lexsort((pe, pq))
    return WallHits(
        pq[order],
        pe[order],
        np.concatenate([g.dist for g in got])[order],
        np.concatenate([g.along for g in got])[order],
        np.concatenate([g.y for g in got])[order],
        np.concatenate([g.noise for g in got])[order],
    )


def _hit_test(
    quads: F64, quad_room: I64, start: F64, tangent: F64, normal: F64, length: F64, rooms: RoomArrays, pq: I64, pe: I64
) -> WallHits:
    """:func:`wall_hits`' test of the (quad ``pq``, edge ``pe``) pairs, row by row (a pair's result
    does not depend on the others asked with it)."""
    eps, off = CONTACT_EPS, ON_WALL_EPS
    r_of = quad_room[pq]
    t, base, top = rooms.thickness[r_of][:, None], rooms.y0[r_of], rooms.y1[r_of]
    q = quads[pq]
    rel = q[:, :, [0, 2]] - start[pe][:, None, :]  # (n, 4, 2)
    dist = np.einsum("nvk,nk->nv", rel, normal[pe])  # signed distance outside the outer face
    along = np.einsum("nvk,nk->nv", rel, tangent[pe])
    y = q[:, :, 1]
    room_step = rooms.step[r_of] if rooms.step is not None else np.zeros(r_of.size)
    noise = export_noise(room_step, grid_steps(q[:, :, [0, 2]].reshape(-1, 8)), (tangent[pe] != 0.0).all(axis=1))
    hit = (
        column_reduce(np.logical_and, (dist <= off) & (dist >= -t - off))
        & (column_reduce(np.maximum, along) > eps)
        & (column_reduce(np.minimum, along) < length[pe] - eps)
        & (column_reduce(np.maximum, y) > base + eps)
        & (column_reduce(np.minimum, y) < top - eps)
    )
    return WallHits(pq[hit], pe[hit], dist[hit], along[hit], y[hit], noise[hit])


def _bound_pairs(
    quads: F64, quad_room: I64, start: F64, tangent: F64, normal: F64, length: F64, first: I64, rooms: RoomArrays
) -> Iterator[tuple[I64, I64]]:
    """(quad, edge) pairs of the same room whose plan bounds overlap, in groups of under :data:`_HIT_GROUP`
    pairs plus one quad's or one edge's own (at most a room's edges or quads): every pair
    :func:`wall_hits`' test can pass, with the others whose bounds meet.

    A hit quad's corners all lie in the wall's slab, a strip, so their hull does, and its extent along the
    edge overlaps the wall's: some point of the hull lies in the rectangle from the edge's start to its
    end, ``-t - ON_WALL_EPS`` to ``ON_WALL_EPS`` across it, and the quad's bounds meet the rectangle's. The
    rectangle's are widened by ``CONTACT_EPS`` more, far beyond the rounding of the test's dot products
    (~1e-9 m at the schema's ±1e6 m coordinates).
    A quad with a corner off the finite plane passes no test (its distance is infinite or NaN); an edge
    whose bounds are not finite is kept against every quad of its room.

    The pairs overlapping on one axis are found by sorting (the edges starting within a quad's extent,
    and the quads starting within an edge's: each overlapping pair once), counted first so the axis
    with fewer is the one enumerated; the other axis filters each group.
    """
    eps = CONTACT_EPS
    e_room = np.repeat(np.arange(first.size - 1), np.diff(first))
    t = rooms.thickness[e_room]
    off = ON_WALL_EPS
    across = np.stack([np.full_like(t, off), -t - off], axis=1)  # (e, 2) the slab's faces, outward first
    end = start + tangent * length[:, None]
    corners = np.concatenate([ends[:, None, :] + across[:, :, None] * normal[:, None, :] for ends in (start, end)], 1)
    with np.errstate(invalid="ignore"):
        e_lo, e_hi = corners.min(axis=1) - eps, corners.max(axis=1) + eps
    e_lo, e_hi = np.where(np.isnan(e_lo), -np.inf, e_lo), np.where(np.isnan(e_hi), np.inf, e_hi)
    plan = quads[:, :, [0, 2]]
    finite = np.flatnonzero(np.isfinite(plan).all(axis=(1, 2)))
    q_lo, q_hi, q_room = plan[finite].min(axis=1), plan[finite].max(axis=1), quad_room[finite]

    def on_axis(k: int) -> tuple[I64, I64, I64, I64, I64, I64]:
        # Ranks of every bound on this axis, so a (room, value) key is one exact integer.
        values = np.concatenate([q_lo[:, k], q_hi[:, k], e_lo[:, k], e_hi[:, k]])
        _, rank = np.unique(values, return_inverse=True)
        m = np.int64(values.size + 1)
        nq, ne = q_room.size, e_room.size
        kq_lo, kq_hi = q_room * m + rank[:nq], q_room * m + rank[nq : 2 * nq]
        ke_lo, ke_hi = e_room * m + rank[2 * nq : 2 * nq + ne], e_room * m + rank[2 * nq + ne :]
        by_e, by_q = np.argsort(ke_lo, kind="stable"), np.argsort(kq_lo, kind="stable")
        # Edges starting within each quad's extent; quads starting (strictly) within each edge's.
        a0, a1 = np.searchsorted(ke_lo[by_e], kq_lo, "left"), np.searchsorted(ke_lo[by_e], kq_hi, "right")
        b0, b1 = np.searchsorted(kq_lo[by_q], ke_lo, "right"), np.searchsorted(kq_lo[by_q], ke_hi, "right")
        return by_e, a0, np.maximum(a1 - a0, 0), by_q, b0, np.maximum(b1 - b0, 0)

    axes = [on_axis(0), on_axis(1)]
    k = 0 if int(axes[0][2].sum() + axes[0][5].sum()) <= int(axes[1][2].sum() + axes[1][5].sum()) else 1
    by_e, a0, na, by_q, b0, nb = axes[k]
    other = 1 - k
    for begin, count, member, owner_is_quad in ((a0, na, by_e, True), (b0, nb, by_q, False)):
        group = (np.cumsum(count) - count) // _HIT_GROUP
        cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), count.size]
        for lo, hi in pairwise(cuts):
            item, at = ranges(begin[lo:hi], count[lo:hi])
            item += lo
            partner = member[at]
            i_q, i_e = (item, partner) if owner_is_quad else (partner, item)
            meets = (q_lo[i_q, other] <= e_hi[i_e, other]) & (q_hi[i_q, other] >= e_lo[i_e, other])
            if meets.any():
                yield finite[i_q[meets]], i_e[meets]


def slab_hits(quads: F64, quad_room: I64, rooms: RoomArrays) -> tuple[F64, tuple[B8, B8]]:
    """Which portal quads lie in the floor slab and which in the ceiling slab of their rooms: both
    paths ask this. A quad is in a slab when all its corners are inside it (± ``ON_WALL_EPS``, as a wall's
    test), it has an area seen from above (a vertical quad cannot open a slab) and it overlaps the outline's
    bounds (by more than ``CONTACT_EPS``). Returns the quads' signed plan areas ((x, z) shoelace) and the
    (floor, ceiling) masks."""
    eps, off = CONTACT_EPS, ON_WALL_EPS
    t, base, top = rooms.thickness[quad_room], rooms.y0[quad_room], rooms.y1[quad_room]
    lo, hi = rooms.lo[quad_room], rooms.hi[quad_room]
    x, y, z = quads[:, :, 0], quads[:, :, 1], quads[:, :, 2]
    plan: F64 = 0.5 * np.sum(x * np.roll(z, -1, axis=1) - np.roll(x, -1, axis=1) * z, axis=1)
    candidates = (
        (np.abs(plan) > AREA_EPS)
        & (column_reduce(np.maximum, x) > lo[:, 0] + eps)
        & (column_reduce(np.minimum, x) < hi[:, 0] - eps)
        & (column_reduce(np.maximum, z) > lo[:, 1] + eps)
        & (column_reduce(np.minimum, z) < hi[:, 1] - eps)
    )
    floor, ceiling = (
        column_reduce(np.logical_and, (y >= (bottom - off)[:, None]) & (y <= (bottom + t + off)[:, None])) & candidates
        for bottom in (base, top - t)
    )
    return plan, (floor, ceiling)


def _wall_prisms(
    rooms: Sequence[Room], arrays: RoomArrays, quads: F64, quad_room: I64, slabs: tuple[B8, B8]
) -> tuple[F64, I64]:
    """Prisms for every (portal, wall) pair where the portal lies on the wall, and their rooms. ``slabs``: which
    quads are hatches of the floor slab and of the ceiling slab (:func:`slab_hits`)."""
    edges = wall_edges_of([r.floor for r in rooms])
    edge_start = np.searchsorted(edges.room, np.arange(len(rooms) + 1))
    hits = wall_hits(quads, quad_room, edges.start, edges.tangent, edges.normal, edges.length, edge_start, arrays)
    pq, pe = hits.quad, hits.edge
    d, t = hits.dist[:, :, None], arrays.thickness[quad_room[pq]][:, None, None]
    margin = cut_margin()
    n3 = np.zeros((pe.size, 1, 3))
    n3[:, 0, 0], n3[:, 0, 2] = edges.normal[pe, 0], edges.normal[pe, 1]
    q = quads[pq].copy()
    # A jamb within the margin of the cavity's corner, or of the outline's, would be coplanar with
    # the wall across (the boolean then leaves faces touching along an edge): it is moved past it.
    offset, _, _, nxt = inner_corners(-edges.normal, edge_start, arrays.thickness[edges.room])
    end = edges.start + edges.tangent * edges.length[:, None]
    inner0 = np.einsum("ek,ek->e", offset, edges.tangent)
    inner1 = np.einsum("ek,ek->e", end + offset[nxt] - edges.start, edges.tangent)
    s = hits.along
    # Cut across the room's inside only (as the panel path): along the wall, no farther than where
    # both faces run, so a doorway drawn to the wall's end does not open the corner to the outside.
    lo_s, hi_s = np.maximum(0.0, inner0[pe]), np.minimum(edges.length[pe], inner1[pe])
    moved = np.clip(s, lo_s[:, None], np.maximum(lo_s, hi_s)[:, None])
    # An opening that, stopped there, would meet the floor's underside (the ceiling's top) at the cavity's
    # corner alone pinches the solid along that line (the wall across and the slab under a slanted jamb
    # touching along an edge): it is cut through the corner instead, up to the outline's end.
    r_of = quad_room[pq]
    at_lo, at_hi = _pinched(moved, hits.y, lo_s, np.maximum(lo_s, hi_s), arrays.y0[r_of], arrays.y1[r_of])
    if at_lo.any() or at_hi.any():
        lo_s = np.where(at_lo, 0.0, lo_s)
        hi_s = np.where(at_hi, edges.length[pe], hi_s)
        moved = np.clip(s, lo_s[:, None], np.maximum(lo_s, hi_s)[:, None])
    # Openings flush with a cavity's corner from both walls meeting there, both into one slab, pinch the
    # solid along the pillar's edge: the one of the wall before the corner is drawn back from it (PART).
    convex_end = (inner1[pe] < edges.length[pe]) & (hi_s == inner1[pe])
    convex_start = (inner0[pe] > 0.0) & (lo_s == inner0[pe])
    at_end = convex_end[:, None] & (np.abs(moved - hi_s[:, None]) < margin)
    at_start = convex_start[:, None] & (np.abs(moved - lo_s[:, None]) < margin)
    slab_faces = arrays.y0[r_of] + arrays.thickness[r_of], arrays.y1[r_of] - arrays.thickness[r_of]
    pinch, back = parted(nxt, edges.tangent, pe, hits.y, at_end, at_start, slab_faces)
    if pinch.any():
        moved = np.where(pinch[:, None], np.minimum(moved, (hi_s - back)[:, None]), moved)
        # One left narrower than PART would cut a sliver of a doorway: it keeps no width (the wall stands).
        narrow = pinch & (moved.max(axis=1) - moved.min(axis=1) < PART)
        moved[narrow] = moved[narrow].min(axis=1)[:, None]
    # Openings into a slab beside a hatch flush with their wall, ending at a jamb, pinch the solid there too.
    hatches = _hatch_plans(quads, quad_room, slabs)
    moved = _beside_hatches(moved, hits.y, pe, r_of, edges, (inner0, inner1), arrays, hatches)
    s_in = moved
    # Only a corner with a side across the wall's length (an upright jamb) can lie in the wall
    # across's plane; a slanted side only touches it at the corner, and a corner moved would tilt
    # it into a wedge-shaped notch there.
    upright = (np.abs(s_in - np.roll(s_in, 1, axis=1)) < margin) | (np.abs(s_in - np.roll(s_in, -1, axis=1)) < margin)
    for corner, sign in ((inner0[pe], -1.0), (inner1[pe], 1.0), (np.zeros(pe.size), -1.0), (edges.length[pe], 1.0)):
        near = (np.abs(s_in - corner[:, None]) < margin) & upright
        moved = np.where(near, corner[:, None] + sign * margin, moved)
    q[:, :, [0, 2]] += (moved - s)[:, :, None] * edges.tangent[pe][:, None, :]
    prisms = np.concatenate([q + (margin - d) * n3, q + (-t - margin - d) * n3], axis=1)
    return prisms, quad_room[pq]


def _hatch_plans(quads: F64, quad_room: I64, slabs: tuple[B8, B8]) -> tuple[F64, I64, I64]:
    """The hatches: their plans (h, 4, 2) in (x, z), rooms (h,) and slabs (h,): 1 the floor, 2 the ceiling
    (:func:`pinched_corners`' bits)."""
    floor, ceiling = slabs
    rows = np.concatenate([np.flatnonzero(floor), np.flatnonzero(ceiling)])
    slab = np.concatenate([np.full(int(floor.sum()), 1), np.full(int(ceiling.sum()), 2)]).astype(np.int64)
    plans: F64 = quads[rows][:, :, [0, 2]]
    return plans, quad_room[rows], slab


def _beside_hatches(
    moved: F64,
    y: F64,
    pe: I64,
    r_of: I64,
    edges: WallEdges,
    inner: tuple[F64, F64],
    arrays: RoomArrays,
    hatches: tuple[F64, I64, I64],
) -> F64:
    """``moved`` (n, 4), the openings' corners along their walls, with each upright jamb that reaches into a slab
    where a hatch of that slab, flush with the wall's inner face, ends at it from outside the opening's span drawn
    back from it by ``PART`` (one left narrower than ``PART`` keeps no width).

    A doorway from the floor's underside cuts the floor slab under its wall; a stair opening drawn to (or past)
    the wall opens the slab beside it, up to the inner face, and where its side meets that face at the doorway's
    jamb the pillar beside the doorway and the slab beyond the opening touch along the jamb's line within the
    slab (from the sill up to the floor's top): four faces on one edge, not a 2-manifold solid. The boolean's
    margins keep the two 0.1 mm apart, and no closing of that notch (:mod:`.margins`) makes a 2-manifold, so its
    slivers stayed. A strip of wall ``PART`` wide beside the jamb joins the pillar to the slab, as at a pinched
    cavity corner (:func:`pinched_corners`). ``y`` (n, 4) the corners' heights, ``pe``, ``r_of`` (n,) each
    opening's wall edge and room, ``inner`` (e,) where each edge's inner face starts and ends along it (the
    cavity's corners), ``hatches``: :func:`_hatch_plans`. The panel path leaves such rooms to the booleans (an
    opening into a slab beside a flush hatch: :func:`~.panels.hatches.flush_clashes`). Bounded memory: (opening, hatch
    of its room) pairs about :data:`_HIT_GROUP` at a time (an opening's are never split)."""
    plans, hatch_room, hatch_slab = hatches
    if plans.shape[0] == 0 or moved.shape[0] == 0:
        return moved
    margin = cut_margin()
    t = arrays.thickness[r_of]
    floor_top, ceiling = arrays.y0[r_of] + t, arrays.y1[r_of] - t
    ends = (column_reduce(np.minimum, moved), column_reduce(np.maximum, moved))
    reached = []
    for end in ends:  # the slabs an upright jamb (two corners at that end) reaches into
        at = np.abs(moved - end[:, None]) < margin
        low, high = np.where(at, y, np.inf).min(axis=1), np.where(at, y, -np.inf).max(axis=1)
        reached.append(np.where(at.sum(axis=1) >= 2, slabs_reached(low, high, floor_top, ceiling), 0))
    rows = np.flatnonzero(((reached[0] | reached[1]) != 0) & (ends[1] - ends[0] > 0.0))
    if rows.size == 0:
        return moved
    order = np.argsort(hatch_room, kind="stable")
    first = np.searchsorted(hatch_room[order], np.arange(arrays.y0.size + 1))
    count = first[r_of[rows] + 1] - first[r_of[rows]]
    pinched = (np.zeros(moved.shape[0], bool), np.zeros(moved.shape[0], bool))
    group = (np.cumsum(count) - count) // _HIT_GROUP
    cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), rows.size]
    for lo, hi in pairwise(cuts):
        item, member = ranges(first[r_of[rows[lo:hi]]], count[lo:hi])
        i, h = rows[lo:hi][item], order[member]
        e = pe[i]
        rel = plans[h] - edges.start[e][:, None, :]
        s = np.einsum("hkx,hx->hk", rel, edges.tangent[e])
        # Distance past the inner face into the wall (negative: the room's side); within the margin: on it.
        u = np.einsum("hkx,hx->hk", rel, edges.normal[e]) + t[i][:, None]
        u = np.where(np.abs(u) <= margin, 0.0, u)
        s2, u2 = np.roll(s, -1, axis=1), np.roll(u, -1, axis=1)
        cross = u * u2 < 0.0
        f = u / np.where(cross, u - u2, 1.0)
        # Where the hatch (convex) meets the inner face's line: its corners on it and its sides crossing it.
        points = np.concatenate([np.where(u == 0.0, s, np.nan), np.where(cross, s + f * (s2 - s), np.nan)], axis=1)
        meets = ~np.isnan(points).all(axis=1) & (u < 0.0).any(axis=1)
        points = np.where(meets[:, None], points, 0.0)  # (no all-NaN row: nanmin would warn)
        a = np.maximum(np.nanmin(points, axis=1), inner[0][e])  # clipped to the cavity, as the hatch is cut
        b = np.minimum(np.nanmax(points, axis=1), inner[1][e])
        flush = meets & (b - a > margin)
        low, high = ends[0][i], ends[1][i]
        np.logical_or.at(
            pinched[0], i, flush & ((reached[0][i] & hatch_slab[h]) != 0) & (np.abs(b - low) <= margin) & (a < low)
        )
        np.logical_or.at(
            pinched[1], i, flush & ((reached[1][i] & hatch_slab[h]) != 0) & (np.abs(a - high) <= margin) & (b > high)
        )
    at_lo, at_hi = pinched
    if not (at_lo.any() or at_hi.any()):
        return moved
    out = np.where(at_lo[:, None], np.maximum(moved, (ends[0] + PART)[:, None]), moved)
    out = np.where(at_hi[:, None], np.minimum(out, (ends[1] - PART)[:, None]), out)
    narrow = (at_lo | at_hi) & (out.max(axis=1) - out.min(axis=1) < PART)
    out[narrow] = out[narrow].min(axis=1)[:, None]
    return out


def _pinched(s: F64, y: F64, lo: F64, hi: F64, y0: F64, y1: F64) -> tuple[B8, B8]:
    """Which openings, their corners (along ``s``, height ``y``: (n, 4)) stopped at the cavity's corners
    ``lo``/``hi`` (n,), meet the floor's underside ``y0`` or the ceiling's top ``y1`` (n,) at such a corner
    alone (within 1 µm and a float32 step): (at ``lo``, at ``hi``). Such an opening (a slanted jamb
    leaning into the room from the corner where its foot, drawn past it, was stopped) leaves the wall
    across and the slab beside the jamb touching along one edge, four faces on it."""
    s2, y2 = np.roll(s, -1, axis=1), np.roll(y, -1, axis=1)
    area = 0.5 * np.abs(np.sum(s * y2 - s2 * y, axis=1))
    at_lo, at_hi = np.zeros(s.shape[0], dtype=bool), np.zeros(s.shape[0], dtype=bool)
    for level in (y0, y1):
        tol = (1e-6 + 2.0 * np.spacing(np.abs(level).astype(np.float32)).astype(np.float64))[:, None]
        a, b = y - level[:, None], y2 - level[:, None]
        a, b = np.where(np.abs(a) <= tol, 0.0, a), np.where(np.abs(b) <= tol, 0.0, b)
        cross = a * b < 0.0
        f = a / np.where(cross, a - b, 1.0)
        points = np.concatenate([np.where(a == 0.0, s, np.nan), np.where(cross, s + f * (s2 - s), np.nan)], axis=1)
        touch = ~np.isnan(points).all(axis=1)
        points = np.where(touch[:, None], points, 0.0)  # (no all-NaN row: nanmin would warn)
        first, last = np.nanmin(points, axis=1), np.nanmax(points, axis=1)
        point = touch & (last - first <= 1e-6) & (area > AREA_EPS)
        at_lo |= point & (np.abs(first - lo) <= 1e-6)
        at_hi |= point & (np.abs(last - hi) <= 1e-6)
    return at_lo, at_hi


def _slab_prisms(arrays: RoomArrays, quads: F64, quad_room: I64, masks: tuple[B8, B8]) -> tuple[F64, I64]:
    """Vertical prisms for horizontal quads lying in a floor or ceiling slab (``masks``: :func:`slab_hits`), and
    their rooms."""
    t, base, top = arrays.thickness[quad_room], arrays.y0[quad_room], arrays.y1[quad_room]
    margin = cut_margin()
    prisms, owners = [], []
    for bottom, inside in zip((base, top - t), masks, strict=True):
        low, high = quads[inside].copy(), quads[inside].copy()
        low[:, :, 1] = (bottom[inside] - margin)[:, None]
        high[:, :, 1] = (bottom[inside] + t[inside] + margin)[:, None]
        prisms.append(np.concatenate([low, high], axis=1))
        owners.append(quad_room[inside])
    return np.concatenate(prisms, axis=0), np.concatenate(owners)


def scene_door_cutters(rooms: Sequence[Room], quads: F64, quad_room: npt.ArrayLike) -> tuple[F64, I64]:
    """Cutting prisms for the portals of many rooms at once.

    ``quads`` (q, 4, 3) float64 portal quads, ``quad_room`` (q,) the index in ``rooms`` of the
    room each quad belongs to (a portal between two rooms appears once per room). Returns
    (prisms (h, 8, 3) float64, owner (h,) int64), sorted by owner (stable): see
    :func:`door_cutters` for what a prism is. One vectorized pass whatever the room count.
    """
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    quad_room = np.asarray(quad_room, dtype=np.int64).reshape(-1)
    if quads.shape[0] == 0:
        return np.empty((0, 8, 3)), np.empty(0, dtype=np.int64)
    arrays = room_arrays(rooms)
    _, masks = slab_hits(quads, quad_room, arrays)
    walls, wall_owner = _wall_prisms(rooms, arrays, quads, quad_room, masks)
    slabs, slab_owner = _slab_prisms(arrays, quads, quad_room, masks)
    prisms, owner = np.concatenate([walls, slabs]), np.concatenate([wall_owner, slab_owner])
    order = np.argsort(owner, kind="stable")
    return prisms[order], owner[order]


def door_cutters(room: Room, quads: F64) -> F64:
    """Cutting prisms for the portals of a room: (h, 8, 3) float64 corner points, world space.

    ``quads`` (p, 4, 3) float64 are the portal quads of the room's cell (either side). Each
    prism is the convex hull of its 8 points: the quad moved onto two planes parallel to the
    wall (or slab) it lies on, ``cut_margin`` beyond the outer and the inner face. A portal
    lying on no wall gives no prism; one lying on two walls (a corner) gives one per wall.
    Safe on any finite input: a degenerate quad gives a flat prism, whose hull is empty.
    """
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    prisms, _ = scene_door_cutters([room], quads, np.zeros(quads.shape[0], dtype=np.int64))
    return prisms


def place_door(room_a: Room, room_b: Room, width: float, height: float, offset: float = 0.0) -> F64 | None:
    """The doorway quad on the wall ``room_a`` and ``room_b`` share, or ``None``.

    A shared wall is a pair of outline edges, one of each room, that are collinear where they
    overlap (b's edge within ``ON_WALL_EPS`` of a's line at both ends of the overlap, as a quad on a
    wall is), face opposite ways and overlap along their length; the longest overlap wins (the first
    in a's outline order on a tie).
    The door is a ``width`` × ``height`` rectangle in the plane midway between the two
    edges, centred on the overlap and shifted ``offset`` metres along it (towards the
    direction a's outline runs), its bottom on the higher of the two floors' top faces
    (``y + wall_thickness``). Returns (4, 3) float64 ordered bottom-left, top-left,
    top-right, bottom-right seen from a, so the right-hand-rule normal points from a into b.

    Returns ``None`` when the rooms share no wall, or when the door does not fit: it must
    stay within the shared stretch and below the lower of the two ceilings' underside.
    """
    return place_doors([room_a], [room_b], [width], [height], [offset])[0]


def _edge_pairs(rooms_a: Sequence[Room], rooms_b: Sequence[Room]) -> tuple[WallEdges, I64, I64, F64, F64, F64, F64, B8]:
    """Every (pair, edge of a, edge of b) of the pairs ``rooms_a[i]``, ``rooms_b[i]``, a's edges outer so that row
    order is a's outline order: the edges of the distinct rooms, each row's pair and edge of a, the stretch of a's
    edge (from its start) that b's overlaps, b's edge's distances off a's line at that stretch's ends (signed,
    along a's outward normal) and whether the two edges face each other."""
    index: dict[int, int] = {}
    unique: list[Room] = []
    for room in (*rooms_a, *rooms_b):
        if id(room) not in index:
            index[id(room)] = len(unique)
            unique.append(room)
    ia = np.array([index[id(r)] for r in rooms_a], dtype=np.int64)
    ib = np.array([index[id(r)] for r in rooms_b], dtype=np.int64)
    edges = wall_edges_of([r.floor for r in unique])
    first = np.searchsorted(edges.room, np.arange(len(unique) + 1))
    count_a, count_b = first[ia + 1] - first[ia], first[ib + 1] - first[ib]
    per_pair = count_a * count_b
    pair = np.repeat(np.arange(len(rooms_a)), per_pair)
    local = np.arange(pair.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    ea = first[ia][pair] + local // count_b[pair]
    eb = first[ib][pair] + local % count_b[pair]
    b_start = edges.start[eb]
    b_end = b_start + edges.tangent[eb] * edges.length[eb][:, None]
    rel0, rel1 = b_start - edges.start[ea], b_end - edges.start[ea]
    na, ta = edges.normal[ea], edges.tangent[ea]
    d0, d1 = np.einsum("nk,nk->n", rel0, na), np.einsum("nk,nk->n", rel1, na)
    s0, s1 = np.einsum("nk,nk->n", rel0, ta), np.einsum("nk,nk->n", rel1, ta)
    lo = np.maximum(0.0, np.minimum(s0, s1))
    hi = np.minimum(edges.length[ea], np.maximum(s0, s1))
    facing = np.einsum("nk,nk->n", na, edges.normal[eb]) < 0.0
    # b's edge off a's line at the ends of the overlap (where b's edge runs past a's, its own ends may
    # lie farther: two walls of a turned plan written to millimetres drift apart past their overlap).
    # Interpolated between b's ends, so edges whose ends are both within eps stay within eps here.
    span = s1 - s0
    step = np.where(span != 0.0, (d1 - d0) / np.where(span != 0.0, span, 1.0), 0.0)
    d_lo, d_hi = d0 + step * (lo - s0), d0 + step * (hi - s0)
    return edges, pair, ea, lo, hi, d_lo, d_hi, facing


def facing_wall_gaps(
    rooms_a: Sequence[Room], rooms_b: Sequence[Room], width: Sequence[float], reach: float
) -> list[float | None]:
    """For each pair ``rooms_a[i]``, ``rooms_b[i]``: how far apart (m) the nearest of their walls that face each
    other along ``width[i]`` or more of their length lie — the greater of the two ends' distances over that
    stretch, the least over such walls — if that is within ``reach``, else None. Why :func:`place_doors` found
    no shared wall where two walls almost are one (a plan turned and written to centimetres)."""
    n = len(rooms_a)
    out: list[float | None] = [None] * n
    if n == 0:
        return out
    _, pair, _, lo, hi, d_lo, d_hi, facing = _edge_pairs(rooms_a, rooms_b)
    gap = np.maximum(np.abs(d_lo), np.abs(d_hi))
    near = facing & (hi - lo >= np.asarray(width, np.float64)[pair] - CONTACT_EPS) & (gap <= reach)
    least = np.full(n, np.inf)
    np.minimum.at(least, pair[near], gap[near])
    for i in np.flatnonzero(np.isfinite(least)).tolist():
        out[i] = float(least[i])
    return out


def place_doors(
    rooms_a: Sequence[Room],
    rooms_b: Sequence[Room],
    width: Sequence[float],
    height: Sequence[float],
    offset: Sequence[float],
) -> list[F64 | None]:
    """:func:`place_door` for many pairs at once: one vectorized pass over every (edge of a, edge of b).

    Ingest places every ``between`` door of a description with one call (a call per door cost
    ~0.1 ms of numpy overhead: half a second on a 5,000-cell office).
    """
    n = len(rooms_a)
    if n == 0:
        return []
    edges, pair, ea, lo, hi, d_lo, d_hi, facing = _edge_pairs(rooms_a, rooms_b)
    per_pair = np.bincount(pair, minlength=n)
    eps = CONTACT_EPS
    # Within ON_WALL_EPS, as wall_hits asks of a quad: the two walls of a plan turned and written to millimetres
    # lie up to 1.4 mm apart there, and the door, midway, is then within that of both and cut in both.
    off = ON_WALL_EPS
    shared = (np.abs(d_lo) <= off) & (np.abs(d_hi) <= off) & facing & (hi - lo > eps)
    overlap = np.where(shared, hi - lo, -np.inf)
    # The longest overlap per pair, the first row on a tie.
    order = np.lexsort((np.arange(pair.size), -overlap, pair))
    best = order[np.searchsorted(pair[order], np.arange(n))]
    found = (per_pair > 0) & shared[np.minimum(best, max(pair.size - 1, 0))] if pair.size else np.zeros(n, bool)
    out: list[F64 | None] = [None] * n
    if not found.any():
        return out
    rows = best[found]
    w = np.asarray(width, dtype=np.float64)[found]
    h = np.asarray(height, dtype=np.float64)[found]
    centre = 0.5 * (lo[rows] + hi[rows]) + np.asarray(offset, dtype=np.float64)[found]
    fits = (centre - 0.5 * w >= lo[rows] - eps) & (centre + 0.5 * w <= hi[rows] + eps)
    ra = [rooms_a[i] for i in np.flatnonzero(found).tolist()]
    rb = [rooms_b[i] for i in np.flatnonzero(found).tolist()]
    bottom = np.maximum([r.y + r.wall_thickness for r in ra], [r.y + r.wall_thickness for r in rb])
    ceiling = np.minimum(
        [r.y + r.height - r.wall_thickness for r in ra], [r.y + r.height - r.wall_thickness for r in rb]
    )
    fits &= bottom + h <= ceiling + eps
    normal = edges.normal[ea[rows]]
    plane_shift = 0.25 * (d_lo[rows] + d_hi[rows])  # midway between a's edge and b's, along the overlap
    mid = edges.start[ea[rows]] + edges.tangent[ea[rows]] * centre[:, None] + normal * plane_shift[:, None]
    # Along = normal × up, so that (up × along) = normal: the quad's normal then points into b.
    along = np.stack([-normal[:, 1], normal[:, 0]], axis=1)
    left, right = mid - along * (0.5 * w)[:, None], mid + along * (0.5 * w)[:, None]
    top = bottom + h
    quads = np.stack(
        [
            np.stack([left[:, 0], bottom, left[:, 1]], 1),
            np.stack([left[:, 0], top, left[:, 1]], 1),
            np.stack([right[:, 0], top, right[:, 1]], 1),
            np.stack([right[:, 0], bottom, right[:, 1]], 1),
        ],
        axis=1,
    )
    for k, i in enumerate(np.flatnonzero(found).tolist()):
        if fits[k]:
            out[i] = quads[k]
    return out
