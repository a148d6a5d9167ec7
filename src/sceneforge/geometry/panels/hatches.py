"""Hatches: horizontal portal quads in a floor or ceiling slab, and the vertices they need beside walls.

A hatch (:class:`Hatches`, :func:`hatches`) is clipped to the cavity, as the boolean path's cutters are.
It must lie inside the cavity (convex or not) clear of its walls (:func:`_inside_concave`), or, in a box
room (or one whose walls all run along the axes: :func:`_flush_in_polygon`; or any other floor polygon, a
bevelled room, any plan turned: :func:`_flush_in_any_polygon`, its hatch a rectangle in its own axes) whose
hatches are all rectangles along the axes (but in the last), flush with them (:func:`_flush_hatches`: no
doorway passing into that slab beside it but one through its whole thickness, within the side or running on
past its ends, or one from the slab's middle inside the side (:func:`_notched_tunnels`), :func:`flush_clashes`,
:func:`flush_through`), and ``GAP`` clear of the other hatches of its slab; else its room takes the boolean
path. Its slab faces and its tunnel are :mod:`.slabs`'s.

Hatches of one slab that touch or overlap are first joined into one, the outline of their union
(:func:`_joined`, :func:`~.joined.rect_union`): where they are rectangles along one pair of axes whose
union is one simple polygon. A union that is a rectangle is a hatch like any other; any other outline
(its corners the first ``Hatches.size`` of its row) only where each of its rectangles lies inside the
cavity clear of the walls, in a room with no flush hatch. Its tunnel is one quad per side of the outline,
and its corners' vertices on a wall's line (:func:`hatch_places`) go by the run of their own sides.

A hatch a few millimetres from a wall gets vertices on the wall's line beside its corners, on the slab
faces and the wall's faces (:func:`hatch_places`), as an opening's corner near a face's border does
(:mod:`.near`); its side along that wall gets vertices across from the line's (on both slab faces and
its tunnel, and on the slab's outer face's cavity line where that lacks them:
:func:`hatch_side_places`; the hatches' rings with them, :func:`hatch_rings`).

A rectangular hatch flush with walls: the cavity's slab faces are its rectangle minus the hatches (a box
room's, :func:`~.slabs._cavity_polygons`; its polygon minus them in a room with a floor polygon,
:func:`~.slabs._polygon_minus_rects`, a side's stretches in the open tunnels of their own,
:func:`open_stretches`), and where a flush side's tunnel meets the wall (its
ends, and the corners of doorways standing on the slab's face beside it: :func:`flush_sides`,
:func:`flush_places`) the wall's faces get vertices on their bottom (top) edges and the footprint
strips are cut across, and so do the sills (lintels) of doorways standing on the slab's face over the
side's end (:func:`flush_sill_places`); the side's tunnel is :func:`flush_tunnels`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ...arrays import ranges
from ...tolerances import WELD_EPS
from ..doors import export_noise, grid_steps, slab_hits
from ..outline import orient2
from ..slivers import SLIVER
from .faces import UP, Faces, plan3
from .joined import rect_union, snapped
from .near import NEAR_MARGIN, Near, slab_openings
from .notches import Notches
from .openings import Openings, poly_boxes, rect_tolerance, rectangle
from .walls import GAP, Walls

__all__ = [
    "ON_LINE",
    "FlushSides",
    "Hatches",
    "SidePlaces",
    "flush_clashes",
    "flush_places",
    "flush_sides",
    "flush_sill_places",
    "flush_through",
    "flush_tunnels",
    "hatch_places",
    "hatch_rings",
    "hatch_side_places",
    "hatches",
    "inside_rectilinear",
    "open_stretches",
    "rectilinear_cavity",
    "segment_gaps",
    "snap_flush_to_openings",
    "with_hatch_places",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Hatches:
    """Slab openings (h,): plan polygon (h, k, 2) counter-clockwise, slab 0 floor / 1 ceiling.

    ``k`` is 4 unless hatches that meet were joined into the outline of their union (:func:`_joined`):
    a hatch's corners are its first ``size`` points, the rest repeat its first corner (sides of no length)."""

    room: I64
    slab: I64
    points: F64
    #: (h,) a side lies on the cavity's wall (a box room's hatch drawn to or past the wall): see :func:`_flush_hatches`.
    flush: B8
    #: (h,) how many corners each has (4 but for a joined outline's).
    size: I64

    def valid(self, rows: I64 | None = None) -> B8:
        """(n, k): which points of the hatches ``rows`` (all by default) are corners, not padding."""
        size = self.size if rows is None else self.size[rows]
        out: B8 = np.arange(self.points.shape[1]) < size[:, None]
        return out


def hatch_places(
    w: Walls, h: Hatches, fast: B8, o: Openings, shaped: list[tuple[int, int, F64]]
) -> tuple[I64, F64, I64]:
    """Places on the walls' lines where the slab faces and the walls' faces need a vertex beside a hatch
    near a wall (a stair opening a few millimetres from it): (edge, place along it, slab) rows.

    A hatch's corner at gap ``g`` from the cavity's line of a wall, its side a run ``s`` along it, the
    line's farther end ``D`` away, may end in a triangle with that end about ``g·s/D`` high, as an
    opening's corner near a wall face's border does (:func:`~.near.near_borders`): where ``g·s`` is under
    ``NEAR_MARGIN · SLIVER · D`` the line gets a vertex where the corner projects onto it, on both slab
    faces across it and on both faces of the wall (their bottom border for a floor hatch, top for a
    ceiling's). Flush hatches (a side on the wall) have their own places (:func:`flush_places`), and a
    wall with an opening within :data:`_HATCH_CLEAR` of the place along it gets none there (its faces'
    borders run round that opening's corners, which have rules of their own)."""
    use = np.flatnonzero(fast[h.room] & ~h.flush)
    if use.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    room = h.room[use]
    count = w.first[room + 1] - w.first[room]
    hatch, edge = ranges(w.first[room], count)
    pts = h.points[use][hatch]  # (n, 4, 2): each hatch against each wall of its room
    rel = pts - w.start[edge][:, None, :]
    along = np.einsum("nvk,nk->nv", rel, w.tangent[edge])
    gap = np.einsum("nvk,nk->nv", rel, w.inward[edge]) - w.thickness[edge][:, None]
    run = along.max(axis=1, keepdims=True) - along.min(axis=1, keepdims=True)
    size = h.size[use][hatch]
    if (size != 4).any():
        # A joined outline's corner: the run of its own sides along the wall (the longer of the two
        # meeting there), not the whole outline's (a 5 cm arm's corner 5 mm from the wall of a hatch 60 cm
        # long beside it left a triangle 0.495 mm high).
        span = np.abs(np.roll(along, -1, axis=1) - along)  # side i: from corner i to i + 1
        prev = (np.arange(along.shape[1]) - 1) % size[:, None]
        own = np.maximum(span, np.take_along_axis(span, prev, axis=1))
        run = np.where((size != 4)[:, None], own, run)
    lo, hi = w.inner0[edge][:, None], w.inner1[edge][:, None]
    far = np.maximum(along - lo, hi - along)
    near = (gap > 0.0) & (along > lo) & (along < hi) & (gap * run < NEAR_MARGIN * SLIVER * far)
    near &= h.valid(use[hatch])  # (a joined outline's padding repeats its first corner)
    row, corner = np.nonzero(near)
    edge, place, slab = edge[row], along[row, corner], h.slab[use][hatch[row]]
    # Not beside a wall's opening: the openings' spans along their walls, rectangles' and other shapes'.
    boxes = poly_boxes([poly for _, _, poly in shaped])
    o_edge = np.concatenate([o.edge, np.array([e for _, e, _ in shaped], np.int64)])
    o_a, o_b = np.concatenate([o.a, boxes[:, 0]]), np.concatenate([o.b, boxes[:, 1]])
    order = np.argsort(o_edge, kind="stable")
    o_edge, o_a, o_b = o_edge[order], o_a[order], o_b[order]
    pair, at = _pairs_on_edges(edge, o_edge)
    clash = (place[pair] > o_a[at] - _HATCH_CLEAR) & (place[pair] < o_b[at] + _HATCH_CLEAR)
    keep = np.ones(edge.size, dtype=bool)
    keep[pair[clash]] = False
    return edge[keep], place[keep], slab[keep]


#: How far (m) along a wall from an opening's side a hatch's place on it must be (:func:`hatch_places`).
_HATCH_CLEAR = 0.005


def with_hatch_places(near: Near, places: tuple[I64, F64, I64]) -> Near:
    """``near`` with :func:`hatch_places`' rows as points of both faces of their walls."""
    edge, place, slab = places
    if edge.size == 0:
        return near
    return replace(
        near,
        edge=np.concatenate([near.edge, edge, edge]),
        place=np.concatenate([near.place, place, place]),
        face=np.concatenate([near.face, np.zeros(edge.size, np.int64), np.ones(edge.size, np.int64)]),
        border=np.concatenate([near.border, slab, slab]),
    )


@dataclass(slots=True)
class SidePlaces:
    """Points on hatches' sides (:func:`hatch_side_places`), sorted by (hatch, side, along): the hatch
    (k,), its side (0–3: from its corner i to corner i + 1), the distance along that side from corner i."""

    hatch: I64
    side: I64
    along: F64


def hatch_side_places(
    w: Walls, h: Hatches, fast: B8, o: Openings, notches: Notches, near: Near
) -> tuple[SidePlaces, Near]:
    """Points on the sides of hatches running along a wall a few millimetres to centimetres from it, across
    from the vertices of the wall's cavity line (an opening's sides where it stands on the floor's top,
    the places of :func:`~.near.near_borders` and :func:`hatch_places`), and ``near`` with the places the
    slab's outer face (the floor's underside, the ceiling's top) then needs on its cavity line.

    Between a hatch's side at gap ``g`` from the cavity's line and that line, two vertices of the line
    ``s`` apart have no vertex across from them but the side's far corner ``D`` along: every
    triangulation joins them to it, a triangle about ``g·s/D`` high (a 6 mm strip, vertices 3 cm apart,
    the corner 4.5 m away: 0.04 mm). Where ``g·s`` is under ``NEAR_MARGIN · SLIVER · D`` (``s`` the
    vertex's nearer neighbour on the line, ``D`` the side's farther end) the vertex of the slab's inner
    face (its top, the ceiling's underside) gets one on the side where it projects onto it, and the
    strip falls into quads ``g`` wide; none within :data:`_HATCH_CLEAR` of the side's ends or of the
    last one kept (the corner or that point serves as its partner). Both faces of the slab get the
    points on the hatch's side (its tunnel takes them too), and the outer face's cavity line one where
    it has no vertex within :data:`_HATCH_CLEAR` (the footprint strip under the wall is cut across
    there, the wall's outer face gets a vertex on that border), unless an opening through that face
    runs there (the point is left out). Sides of hatches in a slab with a flush hatch are left as
    they are, and so are sides not parallel to the wall."""
    none = SidePlaces(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    flush_slab = np.zeros((fast.size, 2), dtype=bool)
    flush_slab[h.room[h.flush], h.slab[h.flush]] = True
    use = np.flatnonzero(fast[h.room] & ~h.flush & ~flush_slab[h.room, h.slab])
    if use.size == 0:
        return none, near
    room = h.room[use]
    pair, edge = ranges(w.first[room], w.first[room + 1] - w.first[room])
    hatch = use[pair]
    p = h.points[hatch]
    q = np.roll(p, -1, axis=1)
    start, tangent, inward = w.start[edge][:, None], w.tangent[edge][:, None], w.inward[edge][:, None]
    s_p, s_q = ((p - start) * tangent).sum(axis=2), ((q - start) * tangent).sum(axis=2)
    g_p = ((p - start) * inward).sum(axis=2) - w.thickness[edge][:, None]
    g_q = ((q - start) * inward).sum(axis=2) - w.thickness[edge][:, None]
    lo, hi = np.minimum(s_p, s_q), np.maximum(s_p, s_q)
    # The hatch's side facing the wall (its nearest), parallel to it, longer than two clearances.
    nearest = g_p.min(axis=1, keepdims=True)
    ok = (g_p > 0.0) & (g_p <= nearest + 1e-9) & (np.abs(g_p - g_q) <= 1e-6 * (hi - lo)) & (hi - lo > 2 * _HATCH_CLEAR)
    row, side = np.nonzero(ok)
    if row.size == 0:
        return none, near
    # Every hatch against every wall of its room, by edge: its span along the wall and its gap from it.
    by_edge = np.argsort(edge, kind="stable")
    all_edge, all_hatch = edge[by_edge], hatch[by_edge]
    all_lo, all_hi, all_gap = lo.min(axis=1)[by_edge], hi.max(axis=1)[by_edge], nearest[by_edge, 0]
    hatch, edge, slab = hatch[row], edge[row], h.slab[hatch[row]]
    s_p, s_q, gap, lo, hi = s_p[row, side], s_q[row, side], g_p[row, side], lo[row, side], hi[row, side]
    # Each face's cavity-line places: the sides of the openings on its outline P' (:func:`~.slabs.slab_faces`).
    # Only the walls some side runs along are looked at.
    wanted = np.zeros(w.length.size, dtype=bool)
    wanted[edge] = True
    walls = np.flatnonzero(wanted)
    lines = []
    for spec in range(4):
        oo, mask, close = slab_openings(w, o, notches, near, spec)
        sel = (mask if close is None else mask | close) & wanted[oo.edge]
        lines.append((np.concatenate([oo.edge[sel], oo.edge[sel]]), np.concatenate([oo.a[sel], oo.b[sel]])))
    # The spans of the openings through each outer face's border: the wall's outer face has no border
    # there (a notch's whole box: its face drops border points within it, :func:`~.wall_faces._notched_ring`).
    boxes = poly_boxes(list(notches.poly))
    through = []
    for k, (level, inside) in enumerate(((w.rooms.y0, o.c), (w.rooms.y1, o.d))):
        rect = (inside <= level[o.room]) if k == 0 else (inside >= level[o.room])
        cut = (boxes[:, 2] <= level[notches.room]) if k == 0 else (boxes[:, 3] >= level[notches.room])
        through.append(
            (
                np.concatenate([o.edge[rect], notches.edge[cut]]),
                np.concatenate([o.a[rect], boxes[cut, 0]]),
                np.concatenate([o.b[rect], boxes[cut, 1]]),
            )
        )
    out_hatch, out_side, out_along, add_edge, add_place, add_slab = [], [], [], [], [], []
    for k in (0, 1):
        mine = np.flatnonzero(slab == k)
        if mine.size == 0:
            continue
        (a_edge, a_place), (b_edge, b_place), notched = lines[2 + k], lines[k], through[k]
        # Every vertex of the line on either face, and its ends: each inner face vertex's nearer neighbour.
        e_all = np.concatenate([a_edge, b_edge, walls, walls])
        v_all = np.concatenate([a_place, b_place, w.inner0[walls], w.inner1[walls]])
        order = np.lexsort((v_all, e_all))
        e_all, v_all = e_all[order], v_all[order]
        new = np.concatenate([[True], (e_all[1:] != e_all[:-1]) | (v_all[1:] != v_all[:-1])])
        ue, uv = e_all[new], v_all[new]
        step = np.where(ue[1:] == ue[:-1], uv[1:] - uv[:-1], np.inf)
        spacing = np.minimum(np.concatenate([[np.inf], step]), np.concatenate([step, [np.inf]]))
        where = np.empty_like(order)
        where[order] = np.arange(order.size)
        a_order = np.lexsort((a_place, a_edge))
        a_edge, a_place = a_edge[a_order], a_place[a_order]
        a_spacing = spacing[(np.cumsum(new) - 1)[where[a_order]]]
        # Pairs (side, inner face vertex on its wall's line) within the side's span, clear of its ends.
        r, j = _pairs_on_edges(edge[mine], a_edge)
        r = mine[r]
        x = a_place[j]
        inside = (x > lo[r] + _HATCH_CLEAR) & (x < hi[r] - _HATCH_CLEAR)
        r, j, x = r[inside], j[inside], x[inside]
        far = np.maximum(x - lo[r], hi[r] - x)
        need = gap[r] * a_spacing[j] < NEAR_MARGIN * SLIVER * far
        r, x = r[need], x[need]
        # Not where another hatch of the slab lies between the side and the wall.
        i, at = _pairs_on_edges(edge[r], all_edge)
        between = (
            (all_hatch[at] != hatch[r[i]])
            & (h.slab[all_hatch[at]] == k)
            & (all_gap[at] < gap[r[i]])
            & (all_lo[at] < x[i])
            & (all_hi[at] > x[i])
        )
        keep = np.ones(r.size, dtype=bool)
        keep[i[between]] = False
        r, x = r[keep], x[keep]
        # Whether the outer face's cavity line has a vertex within _HATCH_CLEAR; where it has none and an
        # opening through that face runs there (its notch), the point is left out.
        b_order = np.argsort(b_edge, kind="stable")
        i, at = _pairs_on_edges(edge[r], b_edge[b_order])
        has = np.zeros(r.size, dtype=bool)
        has[i[np.abs(x[i] - b_place[b_order][at]) < _HATCH_CLEAR]] = True
        n_edge, n_a, n_b = notched
        n_order = np.argsort(n_edge, kind="stable")
        i, at = _pairs_on_edges(edge[r], n_edge[n_order])
        at = n_order[at]
        clash = (x[i] > n_a[at] - _HATCH_CLEAR) & (x[i] < n_b[at] + _HATCH_CLEAR) & ~has[i]
        keep = np.ones(r.size, dtype=bool)
        keep[i[clash]] = False
        r, x, has = r[keep], x[keep], has[keep]
        # Clear of the last point kept on the side.
        order = np.lexsort((x, r))
        r, x, has = r[order], x[order], has[order]
        close_to_last = (r[1:] == r[:-1]) & (x[1:] - x[:-1] < _HATCH_CLEAR)
        keep = np.concatenate([[True], ~close_to_last])[: r.size]
        r, x, has = r[keep], x[keep], has[keep]
        if r.size == 0:
            continue
        out_hatch.append(hatch[r])
        out_side.append(side[r])
        # Along the side from its first corner (its length times the share of its span along the wall).
        ends = np.roll(h.points[hatch[r]], -1, axis=1) - h.points[hatch[r]]
        length = np.hypot(*ends[np.arange(r.size), side[r]].T)
        out_along.append((x - s_p[r]) / (s_q[r] - s_p[r]) * length)
        add_edge.append(edge[r][~has])
        add_place.append(x[~has])
        add_slab.append(np.full(int((~has).sum()), k, np.int64))
    if not out_hatch:
        return none, near
    hk, sk, ak = np.concatenate(out_hatch), np.concatenate(out_side), np.concatenate(out_along)
    order = np.lexsort((ak, sk, hk))
    places = SidePlaces(hk[order], sk[order], ak[order])
    ae, ap, ab = np.concatenate(add_edge), np.concatenate(add_place), np.concatenate(add_slab)
    if ae.size:
        # Once per (edge, place, slab): two hatches' sides may take the same vertex.
        order = np.lexsort((ap, ab, ae))
        ae, ap, ab = ae[order], ap[order], ab[order]
        first = np.concatenate([[True], (ae[1:] != ae[:-1]) | (ab[1:] != ab[:-1]) | (ap[1:] != ap[:-1])])
        ae, ap, ab = ae[first], ap[first], ab[first]
        near = replace(
            near,
            edge=np.concatenate([near.edge, ae]),
            place=np.concatenate([near.place, ap]),
            face=np.concatenate([near.face, np.zeros(ae.size, np.int64)]),
            border=np.concatenate([near.border, ab]),
        )
    return places, near


def hatches(w: Walls, quads: F64, quad_room: I64, bad: B8) -> Hatches:
    """Horizontal portal quads in a floor or ceiling slab; rooms with unusable ones marked in ``bad``."""
    # The same test as the boolean path's cutters (doors.slab_hits), so both open the same hatches.
    plan, masks = slab_hits(quads, quad_room, w.rooms)
    rooms_out, slabs, points = [], [], []
    for slab, inside in enumerate(masks):
        pts = quads[inside][:, :, [0, 2]]
        flip = plan[inside] < 0
        pts[flip] = pts[flip][:, ::-1]
        rooms_out.append(quad_room[inside])
        slabs.append(np.full(int(inside.sum()), slab))
        points.append(pts)
    room = np.concatenate(rooms_out)
    h = Hatches(
        room,
        np.concatenate(slabs).astype(np.int64),
        np.concatenate(points),
        np.zeros(room.size, bool),
        np.full(room.size, 4, np.int64),
    )
    if h.room.size == 0:
        return h
    # Inside the cavity, GAP clear of every inner edge: in a convex one each corner on the inner side of
    # every edge line; in any other, :func:`_inside_concave`.
    cavity_ok = w.convex[h.room]
    e_count = w.first[h.room + 1] - w.first[h.room]
    hi_idx = np.repeat(np.arange(h.room.size), e_count)
    he = w.first[h.room][hi_idx] + np.arange(hi_idx.size) - np.repeat(np.cumsum(e_count) - e_count, e_count)
    rel = h.points[hi_idx] - w.inner[he][:, None, :]
    depth = np.einsum("nvk,nk->nv", rel, w.inward[he])
    inside_edge = (depth >= GAP).all(axis=1)
    ok = cavity_ok.copy()
    np.logical_and.at(ok, hi_idx, inside_edge)
    concave = ~cavity_ok
    if concave.any():  # only the concave rooms' (hatch, edge) pairs: the others' results are not read
        pairs = concave[hi_idx]
        ok[concave] = _inside_concave(w, h, hi_idx[pairs], he[pairs])[concave]
    h, ok = _joined(h, ok, _rounding(w, h))
    rounding = _rounding(w, h)
    general = np.zeros(h.room.size, dtype=bool)
    if not ok.all() or rounding.any():
        general = _flush_hatches(w, h, ok, rounding)
    bad[h.room[~ok]] = True
    bad[h.room[_close_pairs(h)[0]]] = True
    # A joined outline is no rectangle: not in a room whose hatches are flush with its walls (their
    # slab faces are rectangles minus rectangles, :func:`~.slabs._cavity_polygons`).
    # (Marks, not np.intersect1d: its np.unique imports numpy.ma, ~12 ms a build has no use for.)
    # Nor any other hatch that is not a rectangle along the axes (a stair well a hair off square beside an
    # atrium): those slab faces would run round its box while its tunnel follows its sides, a crack.
    joined, flush = np.zeros(bad.size, bool), np.zeros(bad.size, bool)
    pts = h.points[:, :4]
    square = rectangle(pts[..., 0], pts[..., 1], rect_tolerance(pts)[:, None])[0]
    joined[h.room[(h.size != 4) | ~square]] = True
    flush[h.room[h.flush & ~general]] = True
    bad |= joined & flush
    # (Rooms whose walls run in any direction trace their slab faces from each hatch's corners, not boxes:
    # :func:`~.slabs._polygon_minus_hatches`; a joined outline beside a flush hatch is still the booleans'.)
    anywhere, outlines = np.zeros(bad.size, bool), np.zeros(bad.size, bool)
    anywhere[h.room[general]] = True
    outlines[h.room[h.size != 4]] = True
    bad |= anywhere & outlines
    return h


def _close_pairs(h: Hatches) -> tuple[I64, I64]:
    """Pairs (i, j) of hatches of one slab of one room whose boxes are not ``GAP`` apart (conservative:
    they may meet). Only pairs within a (room, slab) group are compared: sorted by group, each hatch
    against the later ones."""
    key = h.room * 2 + h.slab
    order = np.argsort(key, kind="stable")
    key = key[order]
    ends = np.searchsorted(key, key, side="right")
    n = ends - np.arange(key.size) - 1
    i = np.repeat(np.arange(key.size), n)
    j = i + 1 + np.arange(i.size) - np.repeat(np.cumsum(n) - n, n)
    i, j = order[i], order[j]
    lo_b, hi_b = h.points.min(axis=1), h.points.max(axis=1)
    apart = (lo_b[j] >= hi_b[i] + GAP).any(axis=1) | (lo_b[i] >= hi_b[j] + GAP).any(axis=1)
    return i[~apart], j[~apart]


def _rounding(w: Walls, h: Hatches) -> F64:
    """(h,) how far rounding a turned plan to a grid may have moved each hatch's corners off the rectangles it
    was drawn as (:func:`~..doors.export_noise`'s ``EXPORT_NOISE`` grid steps, where its room's outline and the
    hatch were both written to a grid, in a room with a wall off the axes; 0 for a plan as drawn, and on the axes,
    where rounding moves a plan's rectangles alike)."""
    if w.rooms.step is None or h.room.size == 0:
        return np.zeros(h.room.size)
    quad_step = grid_steps(h.points[:, :4].reshape(h.room.size, 8))
    return export_noise(w.rooms.step[h.room], quad_step, _off_axes(w)[h.room])


def _off_axes(w: Walls) -> B8:
    """(rooms,) whether each room has a wall off the axes (a bevelled room, any plan turned)."""
    out = np.zeros(w.first.size - 1, dtype=bool)
    out[w.room[(w.tangent != 0.0).all(axis=1)]] = True
    return out


def _joined(h: Hatches, ok: B8, rounding: F64) -> tuple[Hatches, B8]:
    """``h`` with each group of hatches of one slab that meet (touch or overlap: a stair void drawn as two
    rectangles making an L, a rectangle drawn twice, shifted, two side by side each to a cell above) as one
    hatch, the outline of their union (:func:`~.joined.rect_union`), and ``ok`` for the hatches then.

    A group is joined only where every hatch of it is a rectangle along one pair of axes (the plan's, or
    the first one's sides: :func:`_group_frame`; within :func:`~.openings.rect_tolerance`), every two of
    their coordinates along each axis are equal or ``GAP`` apart (corners within ``WELD_EPS`` of each
    other put on one, :func:`~.joined.snapped`; both within ``rounding`` (h,) where a turned plan's
    rounding to a grid allows more, :func:`_rounding`), and the union is one simple polygon (not hatches
    meeting at a corner alone, none enclosing a piece of slab). A union that is a rectangle is a hatch
    as any other (inside the cavity or, in a box room, flush with its walls); any other outline only
    where each hatch of it lies inside the cavity clear of its walls (so does the union then). Groups
    not joined are left as they are (:func:`_close_pairs` finds them: the boolean path's)."""
    i, j = _close_pairs(h)
    if i.size == 0:
        return h, ok
    # Groups: the connected pieces of the graph of close pairs (few hatches: a union-find in Python).
    parent = {int(k): int(k) for k in np.concatenate([i, j]).tolist()}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for k in sorted(parent):
        groups.setdefault(root(k), []).append(k)
    drop: list[int] = []
    rings: list[tuple[int, F64, bool]] = []  # (first member, outline, ok)
    for members in groups.values():
        m = np.array(members, dtype=np.int64)
        pts = h.points[m][:, :4]
        origin, u, v = _group_frame(pts)
        local = np.stack([((pts - origin) * u).sum(axis=2), ((pts - origin) * v).sum(axis=2)], axis=2)
        # Off the axes, a plan written to a grid holds its rectangles to its rounding only.
        noise = float(rounding[m].max())
        rect, x0, x1, z0, z1 = rectangle(local[..., 0], local[..., 1], np.maximum(rect_tolerance(pts), noise)[:, None])
        if not rect.all():
            continue
        x_map = snapped([*x0.tolist(), *x1.tolist()], max(WELD_EPS, noise))
        z_map = snapped([*z0.tolist(), *z1.tolist()], max(WELD_EPS, noise))
        if x_map is None or z_map is None:
            continue
        boxes = [(x_map[a], x_map[b], z_map[c], z_map[d]) for a, b, c, d in zip(x0, x1, z0, z1, strict=True)]
        outline = rect_union(boxes)
        if outline is None or (outline.shape[0] > 4 and not ok[m].all()):
            continue
        drop += members
        rings.append((members[0], origin + outline[:, :1] * u + outline[:, 1:] * v, bool(ok[m].all())))
    if not rings:
        return h, ok
    keep = np.ones(h.room.size, dtype=bool)
    keep[drop] = False
    first = np.array([k for k, _, _ in rings], dtype=np.int64)
    size = np.array([ring.shape[0] for _, ring, _ in rings], dtype=np.int64)
    width = max(h.points.shape[1], int(size.max()))
    points = np.concatenate([h.points[keep], np.repeat(h.points[keep][:, :1], width - h.points.shape[1], axis=1)], 1)
    joined = np.empty((first.size, width, 2))
    for row, (_, ring, _) in enumerate(rings):
        joined[row] = ring[0]
        joined[row, : ring.shape[0]] = ring
    out = Hatches(
        np.concatenate([h.room[keep], h.room[first]]),
        np.concatenate([h.slab[keep], h.slab[first]]),
        np.concatenate([points, joined]),
        np.zeros(int(keep.sum()) + first.size, dtype=bool),
        np.concatenate([h.size[keep], size]),
    )
    return out, np.concatenate([ok[keep], np.array([good for _, _, good in rings], dtype=bool)])


def _group_frame(pts: F64) -> tuple[F64, F64, F64]:
    """The axes a group of hatches (g, 4, 2) is joined in: the plan's where the first hatch's first side
    runs along one of them (origin 0: the corners as they are), else that side's direction and the one a
    quarter turn from it, about its first corner (a plan drawn at 30°: its rectangles are rectangles there)."""
    side = pts[0, 1] - pts[0, 0]
    if side[0] == 0.0 or side[1] == 0.0:
        return np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0])
    u = side / np.hypot(side[0], side[1])
    return pts[0, 0].copy(), u, np.array([-u[1], u[0]])


def _flush_hatches(w: Walls, h: Hatches, ok: B8, rounding: F64) -> B8:
    """Box rooms' rectangular hatches that are not clear of the walls: clipped to the cavity (a hatch
    opens the room's floor or ceiling, not the walls' footprints, as the boolean path's cutters), each
    side then flush with a wall (within ``WELD_EPS``, snapped) or ``GAP`` clear of it. Those that
    qualify get their clipped rectangle in ``h.points``, ``h.flush`` and ``ok`` set. So do hatches of
    rooms with a floor polygon: along the axes (:func:`_flush_in_polygon`), or with walls in any direction
    (:func:`_flush_in_any_polygon`, also hatches clear of the walls by less than a turned plan's ``rounding``
    (h,), which its rounding may have moved off a wall); those are returned (h,), their slab faces traced
    as :func:`~.slabs._polygon_minus_hatches` does."""
    k = np.flatnonzero(~ok & (h.size == 4))
    room = h.room[k]
    first = w.first[room]
    box_room = (w.first[room + 1] - first) == 4
    edges = first[:, None] + np.arange(4)
    edges = np.where(box_room[:, None], edges, first[:, None])
    axis = (w.tangent[edges] == 0.0).any(axis=2).all(axis=1) & box_room
    corners = w.inner[edges]  # (k, 4, 2): the cavity's corners
    c_lo, c_hi = corners.min(axis=1), corners.max(axis=1)
    pts = h.points[k][:, :4]
    rect, x0, x1, z0, z1 = rectangle(pts[..., 0], pts[..., 1], rect_tolerance(pts)[:, None])
    lo, hi = np.maximum(np.stack([x0, z0], 1), c_lo), np.minimum(np.stack([x1, z1], 1), c_hi)
    for target, level in ((lo, c_lo), (hi, c_hi)):
        snap = np.abs(target - level) <= WELD_EPS
        target[snap] = level[snap]
    clear = ((lo == c_lo) | (lo >= c_lo + GAP)) & ((hi == c_hi) | (hi <= c_hi - GAP)) & (hi - lo >= GAP)
    good = axis & rect & clear.all(axis=1)
    k, lo, hi = k[good], lo[good], hi[good]
    # Counter-clockwise in (x, z) (positive shoelace), as every hatch.
    h.points[k, :4] = np.stack([lo, np.stack([hi[:, 0], lo[:, 1]], 1), hi, np.stack([lo[:, 0], hi[:, 1]], 1)], 1)
    h.points[k, 4:] = lo[:, None]  # (padding: the first corner, where a joined outline made the rows longer)
    h.flush[k] = True
    ok[k] = True
    polygon = (h.size == 4) & (w.first[h.room + 1] - w.first[h.room] != 4)
    general = np.zeros(h.room.size, dtype=bool)
    for q in np.flatnonzero(polygon & (~ok | (rounding > 0.0))).tolist():
        r = int(h.room[q])
        if rectilinear_cavity(w, r) is not None:
            clipped = None if ok[q] else _flush_in_polygon(w, r, h.points[q, :4])
        else:
            clipped = _flush_in_any_polygon(w, r, h.points[q, :4], float(rounding[q]))
            general[q] = clipped is not None
        if clipped is not None:
            h.points[q, :4] = clipped
            h.points[q, 4:] = clipped[0]
            h.flush[q] = True
            ok[q] = True
    return general


def rectilinear_cavity(w: Walls, room: int) -> F64 | None:
    """The cavity's corners (m, 2) of a room whose every wall runs along an axis and keeps its inner face
    (none collapsed), each inner edge exactly along its axis; else ``None``."""
    e = np.arange(w.first[room], w.first[room + 1])
    if w.collapsed[e].any() or w.mixed[e].any() or w.merged[e].any():
        return None
    if not ((w.tangent[e] == 0.0).any(axis=1)).all():
        return None
    c = w.inner[e]
    along_x = w.tangent[e, 1] == 0.0  # an edge along x keeps its z
    d = np.roll(c, -1, axis=0) - c
    if not (np.where(along_x, d[:, 1], d[:, 0]) == 0.0).all():
        return None
    return c


def inside_rectilinear(c: F64, x: F64, z: F64) -> B8:
    """Whether each point (``x``, ``z``) lies inside the rectilinear ring ``c`` (crossing number; the points are
    never on its lines: cells' centres between the ring's coordinates)."""
    c0, c1 = c, np.roll(c, -1, axis=0)
    vertical = c0[:, 0] == c1[:, 0]
    xe, za, zb = (
        c0[vertical, 0],
        np.minimum(c0[vertical, 1], c1[vertical, 1]),
        np.maximum(c0[vertical, 1], c1[vertical, 1]),
    )
    cross = (z[..., None] > za) & (z[..., None] < zb) & (x[..., None] < xe)
    out: B8 = cross.sum(axis=-1) % 2 == 1
    return out


def _flush_in_polygon(w: Walls, room: int, pts: F64) -> F64 | None:
    """A hatch ``pts`` (4, 2) of a room with a floor polygon (not a box) that is not clear of its walls, clipped to
    the cavity, where the panels build it flush: every wall of the room along an axis (:func:`rectilinear_cavity`),
    the hatch a rectangle along the axes, its part inside the cavity a rectangle, each of whose coordinates is one
    of the cavity's (within ``WELD_EPS``, snapped) or ``GAP`` clear of them all (each side then on the walls'
    inner faces, one or several in a line, wholly or in stretches, the rest in the open: :func:`open_stretches`), at
    least one side on a wall, and no corner on a
    cavity's corner with neither of its sides on a wall (the slab left would touch itself there). The clipped
    rectangle counter-clockwise, or ``None`` (the boolean path's)."""
    c = rectilinear_cavity(w, room)
    if c is None:
        return None
    rect, x0, x1, z0, z1 = rectangle(pts[None, :, 0], pts[None, :, 1], rect_tolerance(pts[None])[:, None])
    if not rect[0]:
        return None
    bounds = []
    for lo, hi, lines in ((x0[0], x1[0], np.unique(c[:, 0])), (z0[0], z1[0], np.unique(c[:, 1]))):
        snap = [float(lines[np.argmin(np.abs(lines - v))]) for v in (lo, hi)]
        lo, hi = (s if abs(s - v) <= WELD_EPS else float(v) for s, v in zip(snap, (lo, hi), strict=True))
        # The rectangle's cells between the cavity's lines: those inside the cavity must make a rectangle.
        cuts = np.unique(np.concatenate([[lo, hi], lines[(lines > lo) & (lines < hi)]]))
        bounds.append(cuts)
    xs, zs = bounds
    cx, cz = np.meshgrid((xs[1:] + xs[:-1]) / 2, (zs[1:] + zs[:-1]) / 2, indexing="ij")
    inside = inside_rectilinear(c, cx, cz)
    if not inside.any():
        return None
    i, j = np.nonzero(inside)
    i0, i1, j0, j1 = i.min(), i.max() + 1, j.min(), j.max() + 1
    if not inside[i0:i1, j0:j1].all():
        return None
    at: list[list[float]] = [[float(xs[i0]), float(xs[i1])], [float(zs[j0]), float(zs[j1])]]
    # Against the walls beside it (an inner edge across the rectangle's span, GAP either side, on each axis; a
    # wall's corner lies on one): each side on one's line (within WELD_EPS: put on it, as a turned plan's walls of
    # one line a float64 step apart, the posts of a U, leave the grid's line on the other's) or GAP clear of it.
    c1 = np.roll(c, -1, axis=0)
    for axis in (0, 1):
        other = 1 - axis
        span_lo, span_hi = at[other]
        along_axis = c[:, axis] == c1[:, axis]  # edges keeping this coordinate
        beside = along_axis & (np.maximum(c[:, other], c1[:, other]) > span_lo - GAP)
        beside &= np.minimum(c[:, other], c1[:, other]) < span_hi + GAP
        lines = np.unique(c[beside, axis])
        for end in (0, 1):
            v = at[axis][end]
            near = lines[np.abs(lines - v) <= WELD_EPS]
            if near.size > 1:
                return None
            v = float(near[0]) if near.size else v
            gap = np.abs(lines - v)
            if not ((gap == 0.0) | (gap >= GAP)).all():
                return None
            at[axis][end] = v
    (lo_x, hi_x), (lo_z, hi_z) = at
    if hi_x - lo_x < GAP or hi_z - lo_z < GAP:
        return None
    out = np.array([[lo_x, lo_z], [hi_x, lo_z], [hi_x, hi_z], [lo_x, hi_z]])
    on = _sides_on_walls(c, out)
    if not on.any():
        return None
    # A corner on a cavity's corner with both its sides open: the slab left touches itself there.
    at_corner = (out[:, None, :] == c[None, :, :]).all(axis=2).any(axis=1)
    if (at_corner & ~on & ~np.roll(on, 1)).any():
        return None
    return out


def _clip_area(poly: F64, clip: F64) -> float:
    """The area of the polygon ``poly`` (m, 2) (any simple one) within the convex counter-clockwise ``clip``
    (k, 2) (Sutherland-Hodgman: the clipped ring may run along the clip's sides twice, its area is right)."""
    out = poly
    for a, b in zip(clip, np.roll(clip, -1, axis=0), strict=True):
        if out.shape[0] == 0:
            return 0.0
        d = orient2(a, b, out)  # > 0: inside (left of a -> b)
        nxt, d_nxt = np.roll(out, -1, axis=0), np.roll(d, -1)
        rows: list[F64] = []
        for p, q, dp, dq in zip(out, nxt, d.tolist(), d_nxt.tolist(), strict=True):
            if dp >= 0.0:
                rows.append(p)
            if (dp >= 0.0) != (dq >= 0.0):
                rows.append(p + (q - p) * (dp / (dp - dq)))
        out = np.array(rows).reshape(-1, 2)
    if out.shape[0] < 3:
        return 0.0
    return 0.5 * float(np.sum(out[:, 0] * np.roll(out[:, 1], -1) - np.roll(out[:, 0], -1) * out[:, 1]))


def segment_gaps(points: F64, a: F64, b: F64) -> F64:
    """(p, s): the distance from each of ``points`` (p, 2) to each segment ``a`` -> ``b`` (s, 2)."""
    seg = b - a
    length2 = np.maximum(np.einsum("sk,sk->s", seg, seg), 1e-300)
    rel = points[:, None, :] - a[None]
    f = np.clip(np.einsum("psk,sk->ps", rel, seg) / length2, 0.0, 1.0)
    gap = rel - f[..., None] * seg[None]
    out: F64 = np.hypot(gap[..., 0], gap[..., 1])
    return out


#: How far (m) a clipped hatch's corner or side may lie off a wall's line and be on it (float noise of
#: lines met in any direction; :func:`flush_sides` finds a side on a wall to 1e-9 m); the slab faces traced round
#: such hatches (:func:`~.slabs._polygon_minus_hatches`) put a point on the cavity's ring within as much.
ON_LINE = 1e-9


def _flush_in_any_polygon(w: Walls, room: int, pts: F64, rounding: float) -> F64 | None:
    """A hatch ``pts`` (4, 2) of a room with a floor polygon whose walls do not all run along the axes (a bevelled or
    chamfered room, any plan turned), clipped to the cavity where the panels build it flush: no wall collapsed or in a
    run turning both ways, the hatch a rectangle (in its first side's axes; to ``rounding`` where a turned plan was
    written to a grid), each side either left in the open or put on the line of the walls it reaches, runs past or
    comes within ``WELD_EPS`` of (``rounding`` of a wall off the axes: such a plan's rounding moved the hatch off the
    wall) from inside, those walls parallel to it within that much over the hatch's size. The clipped quad (each
    corner where the lines of its two sides meet) must lie inside the cavity, hold all the hatch's part of the cavity
    (but for what the snap took), put at least one side on a wall, keep every cavity corner on its border (on a side
    put on a wall, or at its corner) or ``GAP`` from it, and every corner of its own on the cavity's border (with a
    side on a wall) or ``GAP`` from it. The clipped quad counter-clockwise, or ``None`` (the boolean path's; a hatch
    that was clear of the walls stays so)."""
    e = np.arange(w.first[room], w.first[room + 1])
    if w.collapsed[e].any() or w.mixed[e].any() or w.merged[e].any():
        return None
    c, n = w.inner[e], w.inward[e]
    c1 = np.roll(c, -1, axis=0)
    off_axes = (w.tangent[e] != 0.0).all(axis=1)
    reach = np.where(off_axes, max(rounding, WELD_EPS), WELD_EPS)  # (e,) how near a side may be to snap
    # The hatch's frame: its sides' mean direction (modulo a quarter turn), nearest its first side's; each side
    # where its two corners lie on average (a rounded hatch is a rounding off square).
    sides = np.roll(pts, -1, axis=0) - pts
    length = np.hypot(sides[:, 0], sides[:, 1])
    angle = np.arctan2(sides[:, 1], sides[:, 0])
    mean = float(np.angle(np.sum(length * np.exp(4j * angle)))) / 4.0
    theta = mean + round((float(angle[0]) - mean) / (0.5 * np.pi)) * 0.5 * np.pi
    u = np.array([np.cos(theta), np.sin(theta)])
    v = np.array([-u[1], u[0]])
    origin = pts[0]
    local = np.stack([(pts - origin) @ u, (pts - origin) @ v], 1)
    tolerance = max(float(rect_tolerance(pts[None])[0]), 2.0 * rounding)
    rect, u0, u1, v0, v1 = rectangle(local[None, :, 0], local[None, :, 1], np.array([[tolerance]]))
    if not rect[0]:
        return None
    high_u, high_v = local[:, 0] > 0.5 * float(u0[0] + u1[0]), local[:, 1] > 0.5 * float(v0[0] + v1[0])
    lo_u, hi_u = float(local[~high_u, 0].mean()), float(local[high_u, 0].mean())
    lo_v, hi_v = float(local[~high_v, 1].mean()), float(local[high_v, 1].mean())
    size = max(hi_u - lo_u, hi_v - lo_v)
    # The four sides (bottom, right, top, left: counter-clockwise), each as a line (outward normal m, offset o:
    # m · x = o on it), or the line of the walls it is put on.
    corners = origin + np.array([[lo_u, lo_v], [hi_u, lo_v], [hi_u, hi_v], [lo_u, hi_v]]) @ np.stack([u, v])
    normals = [-v, u, v, -u]
    wall_at = np.einsum("ek,ek->e", c, -n)  # each wall's line: -n · x = wall_at
    lines: list[tuple[F64, float]] = []
    on_wall = np.zeros(4, dtype=bool)
    for j in range(4):
        m = normals[j]
        o = float(m @ corners[j])  # this side's line
        along = np.array([-m[1], m[0]])
        a_lo, a_hi = sorted((float(along @ corners[j]), float(along @ corners[(j + 1) % 4])))
        # Walls facing the side (inward normal against its outward one), parallel to it within their reach over the
        # hatch's size, beside it along its direction, whose line crosses the hatch or lies within reach past it.
        facing = (n @ m) < 0.0
        tilt = np.abs(n[:, 0] * m[1] - n[:, 1] * m[0]) * size
        s_lo, s_hi = np.minimum(c @ along, c1 @ along), np.maximum(c @ along, c1 @ along)
        near = facing & (tilt <= reach) & (s_hi > a_lo + GAP) & (s_lo < a_hi - GAP)
        # (Measured at the middles of the side and the one across, along each wall's normal: the offsets of lines a
        # rounding off parallel differ by that angle times their distance from the origin, millimetres a few metres
        # out, more than the reach.)
        mid, mid_back = 0.5 * (corners[j] + corners[(j + 1) % 4]), 0.5 * (corners[(j + 2) % 4] + corners[(j + 3) % 4])
        past, past_back = wall_at + n @ mid, wall_at + n @ mid_back  # how far each wall's line lies beyond them
        near &= (past_back > GAP) & (past <= reach)
        if not near.any():
            lines.append((m, o))
            continue
        at = past[near]
        if float(np.ptp(at)) > ON_LINE * 1e3:
            return None  # (walls on several lines across the hatch: the clip is no quad)
        k = int(np.flatnonzero(near)[np.argmin(at)])
        lines.append((-n[k], float(wall_at[k])))
        on_wall[j] = True
    if not on_wall.any():
        return None
    out = np.empty((4, 2))
    for j in range(4):
        (m0, o0), (m1, o1) = lines[j - 1], lines[j]
        det = m0[0] * m1[1] - m0[1] * m1[0]
        if abs(det) < 0.5:
            return None
        out[j] = np.array([o0 * m1[1] - o1 * m0[1], m0[0] * o1 - m1[0] * o0]) / det
    edges = np.roll(out, -1, axis=0) - out
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    if (lengths < GAP).any() or (orient2(out, np.roll(out, -1, axis=0), np.roll(out, -2, axis=0)) <= 0.0).any():
        return None
    area = 0.5 * float(np.sum(out[:, 0] * np.roll(out[:, 1], -1) - np.roll(out[:, 0], -1) * out[:, 1]))
    ring = c if float(np.sum(c[:, 0] * c1[:, 1] - c1[:, 0] * c[:, 1])) > 0.0 else c[::-1]
    perimeter = float(lengths.sum())
    # Inside the cavity, and all the hatch's part of it (less what the snap onto the walls took or gave).
    if abs(_clip_area(ring, out) - area) > ON_LINE * perimeter:
        return None
    if abs(_clip_area(ring, pts) - area) > 2.0 * float(reach.max()) * perimeter + ON_LINE * perimeter:
        return None
    # Cavity corners on the quad's border only on a side put on a wall (or at a corner); the others GAP from it.
    q1 = np.roll(out, -1, axis=0)
    gaps = segment_gaps(c, out, q1)  # (e, 4)
    on = gaps <= ON_LINE
    if ((gaps < GAP) & ~on).any() or (on & ~on_wall[None, :]).any():
        return None
    # The quad's corners on the cavity's border only where a side of theirs is on a wall; the others GAP from it.
    corner_gaps = segment_gaps(out, c, c1).min(axis=1)  # (4,)
    corner_on = corner_gaps <= ON_LINE
    if ((corner_gaps < GAP) & ~corner_on).any() or (corner_on & ~on_wall & ~np.roll(on_wall, 1)).any():
        return None
    return out


def _sides_on_walls(c: F64, rect: F64) -> B8:
    """Per side of ``rect`` (4, 2) (side j from corner j to j + 1), whether it runs along an inner edge of the
    rectilinear cavity ``c`` (m, 2) (wholly or in part) rather than meeting the walls' lines at its ends alone."""
    c0, c1 = c, np.roll(c, -1, axis=0)
    out = np.zeros(4, dtype=bool)
    for j in range(4):
        p, q = rect[j], rect[(j + 1) % 4]
        axis = 0 if p[1] == q[1] else 1  # the coordinate that varies along the side
        fixed = 1 - axis
        lo, hi = min(p[axis], q[axis]), max(p[axis], q[axis])
        same = (c0[:, fixed] == p[fixed]) & (c1[:, fixed] == p[fixed])
        e_lo, e_hi = np.minimum(c0[:, axis], c1[:, axis]), np.maximum(c0[:, axis], c1[:, axis])
        overlap = np.minimum(e_hi, hi) - np.maximum(e_lo, lo)
        # On the walls: the inner edges along its line (one, or a run of them where the outline has a point on a
        # straight wall) hold it, or part of it (an arm's side, the rest in the open past the inner corner).
        out[j] = bool((same & (overlap > 0.0)).any())
    return out


def snap_flush_to_openings(w: Walls, o: Openings, h: Hatches) -> None:
    """Put each side of a flush hatch that lies within ``WELD_EPS`` of a corner of an opening of its room (along
    the axis that corner's wall runs on) on that corner's line, in place: a stair opening drawn to a doorway's
    jamb in sums of decimals (x 2.5500000000000003 against the jamb's 2.55) left a strip 3e-16 m wide between
    the two lines, zero-area triangles in the wall's face. Flush hatches are rectangles along the axes; a side on
    the cavity's line (where the walls' corners are built) is not moved: the openings' corners within ``WELD_EPS``
    of it are put on it instead (a plan turned into its frame: a doorway's jamb drawn on the line of a notch's inner
    face, where a floor hatch's side ends, 1e-15 m off it, cracked the shell there)."""
    k = np.flatnonzero(h.flush)
    if k.size == 0 or o.edge.size == 0:
        return
    # Each opening corner's coordinate along its wall's axis (walls along the axes: x for a wall along x).
    axis = np.where(w.tangent[o.edge, 1] == 0.0, 0, 1)
    along = w.start[o.edge, axis] + w.tangent[o.edge, axis] * np.stack([o.a, o.b])  # (2, o)
    skew = _off_axes(w)  # (a room with a wall off the axes: its hatches as clipped)
    for q in k.tolist():
        mine = o.room == h.room[q]
        if not mine.any() or skew[h.room[q]]:
            continue
        pts = h.points[q]
        cavity = w.inner[w.first[h.room[q]] : w.first[h.room[q] + 1]]
        for ax in (0, 1):
            lines = along[:, mine & (axis == ax)].reshape(-1)
            # A side on the cavity's line stays there (a jamb at the cavity's corner is built onto it).
            # (A set of the four values: np.setdiff1d's np.unique imports numpy.ma, ~12 ms a build has no use for.)
            for value in set(pts[:4, ax].tolist()) - set(cavity[:, ax].tolist()):
                near = lines[(np.abs(lines - value) <= WELD_EPS) & (lines != value)]
                if near.size:
                    pts[pts[:, ax] == value, ax] = near[0]
            # A side on the cavity's line: the corners of openings (not on a cavity line themselves) moved onto it.
            for value in set(pts[:4, ax].tolist()) & set(cavity[:, ax].tolist()):
                off = (np.abs(along - value) <= WELD_EPS) & (along != value) & (mine & (axis == ax))[None]
                off &= ~(along[..., None] == cavity[:, ax]).any(axis=-1)
                end, which = np.nonzero(off)
                # (Along the wall as the hatch's places are measured: from the wall's start.)
                moved = (value - w.start[o.edge[which], ax]) * w.tangent[o.edge[which], ax]
                o.a[which[end == 0]], o.b[which[end == 1]] = moved[end == 0], moved[end == 1]
                along[end, which] = value


@dataclass(slots=True)
class FlushSides:
    """Sides of flush hatches lying on a wall's inner face (n,): the hatch and its side (0-3), the
    edge, the side's span [s0, s1] along the edge, the slab; and the places (k,) along each side
    (``of`` the side) where its tunnel face needs a vertex: its ends and the corners of openings
    standing on that slab's face beside it."""

    hatch: I64
    side: I64
    edge: I64
    s0: F64
    s1: F64
    slab: I64
    of: I64
    place: F64
    #: (g,) stretches of sides where an opening passes through the slab's whole thickness (:func:`flush_through`):
    #: no tunnel face there.
    gap_of: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    gap_a: F64 = field(default_factory=lambda: np.zeros(0))
    gap_b: F64 = field(default_factory=lambda: np.zeros(0))
    #: (g,) of each gap, the height the side's tunnel face keeps under (floor) or over (ceiling) it where the opening
    #: passes only partway into the slab (a doorway from the slab's middle: its sill); NaN where it passes through.
    gap_at: F64 = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def with_ends(cls, hatch: I64, side: I64, edge: I64, s0: F64, s1: F64, slab: I64) -> FlushSides:
        """Sides whose places are their two ends."""
        of = np.concatenate([np.arange(edge.size), np.arange(edge.size)])
        return cls(hatch, side, edge, s0, s1, slab, of, np.concatenate([s0, s1]))

    def only(self, keep: B8) -> FlushSides:
        """The sides where ``keep`` (n,) holds, in order, with their ends as places."""
        return FlushSides.with_ends(
            self.hatch[keep], self.side[keep], self.edge[keep], self.s0[keep], self.s1[keep], self.slab[keep]
        )

    def points(self) -> tuple[I64, F64, I64]:
        """(edge, place, slab) of every place."""
        return self.edge[self.of], self.place, self.slab[self.of]


def flush_sides(w: Walls, h: Hatches, fast: B8) -> FlushSides:
    """The sides of the ``fast`` rooms' flush hatches that lie on a wall's inner face, with their ends as places:
    box rooms' first, then those of rooms with a floor polygon (:func:`_flush_in_polygon`)."""
    flush = h.flush & fast[h.room]
    box = w.first[h.room + 1] - w.first[h.room] == 4
    k = np.flatnonzero(flush & box)
    edges = w.first[h.room[k]][:, None] + np.arange(4)  # box rooms: four edges each
    start, inward = w.inner[edges], w.inward[edges]  # (k, 4, 2)
    pts = h.points[k][:, :4]
    dist = np.einsum("kjen,ken->kje", pts[:, :, None, :] - start[:, None, :, :], inward)  # (k, side, edge)
    on = (np.abs(dist) <= 1e-9) & (np.abs(np.roll(dist, -1, axis=1)) <= 1e-9)
    row, side, which = np.nonzero(on)
    hatch, edge = k[row], edges[row, which]
    pts = h.points[hatch][:, :4]
    n = np.arange(hatch.size)
    ends = [np.einsum("nk,nk->n", pts[n, j] - w.start[edge], w.tangent[edge]) for j in (side, (side + 1) % 4)]
    s0, s1 = np.minimum(*ends), np.maximum(*ends)
    # A polygon room's: each side's stretch on each inner edge along its line (one, or a run of them in a line
    # where the outline has a point on a straight wall: :func:`_sides_on_walls`).
    rows: list[tuple[int, int, int, float, float]] = []
    for q in np.flatnonzero(flush & ~box).tolist():
        e = np.arange(w.first[h.room[q]], w.first[h.room[q] + 1])
        for j in range(4):
            a, b = h.points[q, j], h.points[q, (j + 1) % 4]
            across = [np.einsum("ek,ek->e", v - w.inner[e], w.inward[e]) for v in (a, b)]
            span = [np.einsum("ek,ek->e", v - w.start[e], w.tangent[e]) for v in (a, b)]
            lo, hi = np.maximum(np.minimum(*span), w.inner0[e]), np.minimum(np.maximum(*span), w.inner1[e])
            hit = (np.abs(across[0]) <= 1e-9) & (np.abs(across[1]) <= 1e-9) & (hi > lo)
            rows += [
                (q, j, x, u, v) for x, u, v in zip(e[hit].tolist(), lo[hit].tolist(), hi[hit].tolist(), strict=True)
            ]
    if rows:
        hatch, side, edge = (
            np.concatenate([box_col, np.array([r[i] for r in rows], np.int64)])
            for i, box_col in enumerate((hatch, side, edge))
        )
        s0, s1 = (np.concatenate([box_col, np.array([r[i] for r in rows])]) for i, box_col in ((3, s0), (4, s1)))
    return FlushSides.with_ends(hatch, side, edge, s0, s1, h.slab[hatch])


def open_stretches(w: Walls, h: Hatches, sides: FlushSides) -> tuple[I64, I64, F64, F64]:
    """The stretches of polygon rooms' flush hatch sides that lie on no wall (a side along an arm of an L, past the
    inner corner): (hatch, side, start, end), ``start`` < ``end`` along the side from its first corner. Their
    tunnels are quads of the hatch's own (:func:`~.slabs.slab_faces`); the stretches on the walls are ``sides``'."""
    box = w.first[h.room[sides.hatch] + 1] - w.first[h.room[sides.hatch]] == 4
    out: list[tuple[int, int, float, float]] = []
    if box.all():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    covered: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for i in np.flatnonzero(~box).tolist():
        q, j, e = int(sides.hatch[i]), int(sides.side[i]), int(sides.edge[i])
        p, tangent = h.points[q, j], h.points[q, (j + 1) % 4] - h.points[q, j]
        tangent = tangent / np.hypot(*tangent)
        ends = [float(np.dot(w.start[e] + s * w.tangent[e] - p, tangent)) for s in (sides.s0[i], sides.s1[i])]
        covered.setdefault((q, j), []).append((min(ends), max(ends)))
    for (q, j), spans in sorted(covered.items()):
        length = float(np.hypot(*(h.points[q, (j + 1) % 4] - h.points[q, j])))
        at = 0.0
        # (Float noise of the projections aside: a stretch in the open is GAP long or more.)
        for a, b in sorted(spans):
            if a > at + 1e-9:
                out.append((q, j, at, a))
            at = max(at, b)
        if at < length - 1e-9:
            out.append((q, j, at, length))
    return (
        np.array([r[0] for r in out], np.int64),
        np.array([r[1] for r in out], np.int64),
        np.array([r[2] for r in out]),
        np.array([r[3] for r in out]),
    )


def _pairs_on_edges(edge: I64, o_edge: I64) -> tuple[I64, I64]:
    """Every (row of ``edge``, opening) pair on the same edge, ``o_edge`` the openings' edges, sorted (as
    :func:`~.openings.openings` leaves them)."""
    first = np.searchsorted(o_edge, edge, side="left")
    return ranges(first, np.searchsorted(o_edge, edge, side="right") - first)


def flush_places(w: Walls, o: Openings, sides: FlushSides, near: Near) -> FlushSides:
    """``sides`` with the corners of the openings standing on the slab's face beside each side added as
    places, and of those whose corners are near that face (``near``: the wall's inner face gets vertices
    over them on its border with the slab, :func:`~.near.near_borders`)."""
    row, j = _pairs_on_edges(sides.edge, o.edge)
    r = o.room[j]
    on_face = np.where(
        sides.slab[row] == 0,
        (o.c[j] == w.rooms.y0[r] + w.rooms.thickness[r]) | near.bottom[1][j],
        (o.d[j] == w.rooms.y1[r] - w.rooms.thickness[r]) | near.top[1][j],
    )
    of, place = [sides.of], [sides.place]
    for corner in (o.a[j], o.b[j]):
        keep = on_face & (corner > sides.s0[row]) & (corner < sides.s1[row])
        of.append(row[keep])
        place.append(corner[keep])
    # Windows' and notches' corners near the inner face's border with that slab (few: pairs by broadcasting).
    edge, at, border = near.points(1)
    if edge.size and sides.edge.size:
        row, k = np.nonzero((sides.edge[:, None] == edge) & (sides.slab[:, None] == border))
        keep = (at[k] > sides.s0[row]) & (at[k] < sides.s1[row])
        of.append(row[keep])
        place.append(at[k][keep])
    return replace(sides, of=np.concatenate(of), place=np.concatenate(place))


def flush_clashes(w: Walls, o: Openings, sides: FlushSides, bad: B8) -> None:
    """Rooms with an opening that passes into a slab under (over) a wall a hatch of that slab is
    flush with, beside the hatch (within ``GAP``): both would cut the same corner of slab and wall.
    The boolean path builds them, but for an opening through the slab's whole thickness within the side or
    running on past its ends, or from the slab's middle inside the side (:func:`_through`, :func:`flush_through`).
    (One standing on the slab's face over an end of the side is built: its sill gets a vertex there,
    :func:`flush_sill_places`.)"""
    if sides.edge.size == 0 or o.edge.size == 0:
        return
    row, j = _pairs_on_edges(sides.edge, o.edge)
    r = o.room[j]
    y0, y1, t = w.rooms.y0[r], w.rooms.y1[r], w.rooms.thickness[r]
    into = np.where(sides.slab[row] == 0, o.c[j] < y0 + t, o.d[j] > y1 - t)
    near = (o.a[j] < sides.s1[row] + GAP) & (o.b[j] > sides.s0[row] - GAP)
    bad[r[into & near & ~_through(w, o, sides, row, j)]] = True


def _through(w: Walls, o: Openings, sides: FlushSides, row: I64, j: I64) -> B8:
    """Whether each (side ``row``, opening ``j``) pair of one edge is an opening through the side's slab's
    whole thickness (from the floor's underside up past its top; from below the ceiling's underside to its
    top), over the side: each end flush with the side's or ``GAP`` or more from it, inside or past it (a balcony
    opening from wall to wall under an atrium's hatch as large as the room; a doorway from the floor's underside
    running on past a stair opening's end), or from the slab's middle (its sill or lintel ``GAP`` or more inside
    the slab), each end ``GAP`` or more inside the side (a doorway from the floor slab's middle over a stair
    opening: the side's tunnel face keeps the slab's wall under it, :func:`_notched_tunnels`). Where the hatch
    takes the slab, the wall's inner plane is open up to (down to) the opening's top (bottom), and the side's
    tunnel stops at its jambs (or steps up to its sill, down to its lintel)."""
    r = o.room[j]
    y0, y1, t = w.rooms.y0[r], w.rooms.y1[r], w.rooms.thickness[r]
    through = np.where(sides.slab[row] == 0, (o.c[j] == y0) & (o.d[j] > y0 + t), (o.d[j] == y1) & (o.c[j] < y1 - t))
    a, b, s0, s1 = o.a[j], o.b[j], sides.s0[row], sides.s1[row]
    # One from the slab's middle (its sill GAP or more inside the slab), GAP or more inside the side's ends: the
    # side's tunnel face keeps the slab's wall under (over) it, up to (down from) its sill (lintel). (Flush with an
    # end or past it, the hatch's tunnel face across would need a vertex at the sill's height on its edge there.)
    partway = np.where(
        sides.slab[row] == 0,
        (o.c[j] >= y0 + GAP) & (o.c[j] <= y0 + t - GAP) & (o.d[j] > y0 + t),
        (o.d[j] <= y1 - GAP) & (o.d[j] >= y1 - t + GAP) & (o.c[j] < y1 - t),
    )
    partway &= (a >= s0 + GAP) & (b <= s1 - GAP)
    # Each end flush with the side's, or GAP or more from it: inside the side, or past its end (a doorway from
    # the floor's underside running on past a stair opening drawn against its wall: past the side, the slab
    # left beside the hatch gets its face in the inner plane, :func:`flush_through`).
    ends: B8 = ((np.abs(a - s0) >= GAP) | (a == s0)) & ((np.abs(b - s1) >= GAP) | (b == s1))
    inside: B8 = (through & ends & (a <= s1 - GAP) & (b >= s0 + GAP)) | partway
    return inside


def flush_through(
    w: Walls, o: Openings, sides: FlushSides
) -> tuple[FlushSides, tuple[I64, I64], tuple[I64, I64, F64, F64]]:
    """``sides`` with the openings through a side's slab (:func:`_through`) as places and gaps (their stretch
    within the side), those openings: (opening, slab) for :func:`~.tunnels.tunnels`, which leaves out their slab
    faces in the inner plane, and what is left of those faces: (opening, slab, a, b) rows, the stretches [a, b]
    along the edge of the opening that no flush side takes (where it runs on past a side's end)."""
    if sides.edge.size == 0 or o.edge.size == 0:
        empty = np.zeros(0, np.int64)
        return sides, (empty, empty), (empty, empty, np.zeros(0), np.zeros(0))
    row, j = _pairs_on_edges(sides.edge, o.edge)
    k = _through(w, o, sides, row, j)
    row, j = row[k], j[k]
    lo, hi = np.maximum(o.a[j], sides.s0[row]), np.minimum(o.b[j], sides.s1[row])
    r = o.room[j]
    floor = sides.slab[row] == 0
    sill = np.where(floor, o.c[j], o.d[j])  # (the lintel in a ceiling)
    partway = np.where(floor, sill > w.rooms.y0[r], sill < w.rooms.y1[r])
    out = replace(
        sides,
        of=np.concatenate([sides.of, row, row]),
        place=np.concatenate([sides.place, lo, hi]),
        gap_of=row,
        gap_a=lo,
        gap_b=hi,
        gap_at=np.where(partway, sill, np.nan),
    )
    # Each (opening, slab): its span less the stretches the sides take (few: a loop).
    taken: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for q, slab, u, v in zip(j.tolist(), sides.slab[row].tolist(), lo.tolist(), hi.tolist(), strict=True):
        taken.setdefault((q, slab), []).append((u, v))
    left: list[tuple[int, int, float, float]] = []
    for (q, slab), spans in sorted(taken.items()):
        at = float(o.a[q])
        for u, v in sorted(spans):
            if u > at:
                left.append((q, slab, at, u))
            at = max(at, v)
        if at < float(o.b[q]):
            left.append((q, slab, at, float(o.b[q])))
    return (
        out,
        (j, sides.slab[row]),
        (
            np.array([r[0] for r in left], np.int64),
            np.array([r[1] for r in left], np.int64),
            np.array([r[2] for r in left], np.float64),
            np.array([r[3] for r in left], np.float64),
        ),
    )


def flush_sill_places(w: Walls, o: Openings, sides: FlushSides) -> tuple[I64, I64, F64]:
    """The vertices the sills (lintels) of openings standing on a slab's face need on their inner edge:
    where a flush hatch's side along that wall ends under (over) the opening (a doorway beside a stair
    opening drawn against its wall, over the opening's end). Its tunnel's face in the wall's inner plane
    meets the sill from there on, the slab's face up to there: (opening, slab: 0 sill, 1 lintel, place)."""
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if sides.edge.size == 0 or o.edge.size == 0:
        return none
    row, j = _pairs_on_edges(sides.edge, o.edge)
    r = o.room[j]
    slab = sides.slab[row]
    on_face = np.where(
        slab == 0, o.c[j] == w.rooms.y0[r] + w.rooms.thickness[r], o.d[j] == w.rooms.y1[r] - w.rooms.thickness[r]
    )
    out = [none]
    for end in (sides.s0[row], sides.s1[row]):
        keep = on_face & (o.a[j] < end) & (end < o.b[j])
        out.append((j[keep], slab[keep], end[keep]))
    return (
        np.concatenate([x[0] for x in out]),
        np.concatenate([x[1] for x in out]),
        np.concatenate([x[2] for x in out]),
    )


def _notched_tunnels(faces: Faces, w: Walls, sides: FlushSides, notched: I64, of: I64, place: F64) -> None:
    """The tunnel faces of the flush sides ``notched`` (few: a loop) as one ring each, in (along the edge, up) on
    the wall's inner plane: its places along the slab's outer face (the floor's underside, the ceiling's top), and
    along the slab's face in the room the same but over each gap, where it steps to the opening's sill (lintel)
    partway into the slab (through the slab's whole thickness: to its outer face) and back. ``of``, ``place``: the
    sides' places sorted by (side, place)."""
    jobs: list[tuple[F64, list[int], int]] = []
    rows: list[int] = []
    for i in notched.tolist():
        room = int(w.room[sides.edge[i]])
        t = float(w.rooms.thickness[room])
        floor = int(sides.slab[i]) == 0
        bottom = float(w.rooms.y0[room]) if floor else float(w.rooms.y1[room]) - t
        top = bottom + t
        at = sorted(set(place[of == i].tolist()))
        mine = sides.gap_of == i
        gaps = sorted(
            zip(sides.gap_a[mine].tolist(), sides.gap_b[mine].tolist(), sides.gap_at[mine].tolist(), strict=True)
        )
        # The pieces between the gaps through the whole slab, each one ring.
        pieces, start = [], at[0]
        for a, b, level in gaps:
            if np.isnan(level):
                pieces.append((start, a))
                start = b
        pieces.append((start, at[-1]))
        # The slab's face in the room is the far edge from the outer one (floor: its top; ceiling: its underside).
        outer, inner = (bottom, top) if floor else (top, bottom)
        for u, v in pieces:
            if v <= u:
                continue
            stops = [x for x in at if u <= x <= v]
            near = [[x, outer] for x in stops]
            far: list[list[float]] = []
            for x in stops:
                gap = next((g for g in gaps if not np.isnan(g[2]) and g[0] <= x <= g[1]), None)
                if gap is None:
                    far.append([x, inner])
                elif x == gap[0]:
                    far += [[x, inner], [x, gap[2]]]
                elif x == gap[1]:
                    far += [[x, gap[2]], [x, inner]]
            ring = near + far[::-1]
            if not floor:
                ring = ring[::-1]  # counter-clockwise in (along, up) either way
            jobs.append((np.array(ring, np.float64), [len(ring)], len(rows)))
            rows.append(i)
    k = np.array(rows, np.int64)
    e, r = sides.edge[k], w.room[sides.edge[k]]
    origin = plan3(w.start[e] + w.rooms.thickness[r][:, None] * w.inward[e])
    up = np.broadcast_to(UP, origin.shape).astype(np.float64)
    faces.add_earcut(jobs, (origin, plan3(w.tangent[e]), up, plan3(w.inward[e]), r))


def _inside_concave(w: Walls, h: Hatches, hatch: I64, edge: I64) -> B8:
    """Whether each hatch lies inside its room's cavity P' (any shape) and ``GAP`` clear of its
    edges: every corner inside P' (crossing number) and ``GAP`` from every inner edge, every inner
    vertex ``GAP`` outside the hatch, and no hatch edge crossing an inner edge. ``hatch``, ``edge``
    (n,): every (hatch, inner edge of its room) pair."""
    p0, p1 = w.inner[edge], w.inner[w.nxt[edge]]
    q = h.points[hatch]  # (n, 4, 2), counter-clockwise in (x, z)
    seg = p1 - p0
    length2 = np.einsum("nk,nk->n", seg, seg)
    rel = q - p0[:, None, :]
    along = np.clip(np.einsum("nvk,nk->nv", rel, seg) / np.where(length2 > 0, length2, 1.0)[:, None], 0.0, 1.0)
    gap = rel - along[..., None] * seg[:, None, :]
    near = (np.einsum("nvk,nvk->nv", gap, gap) < GAP * GAP).any(axis=1)
    # Crossing number of each corner: inner edges straddling its z, crossed on its +x side.
    z0, z1, x0, x1 = p0[:, None, 1], p1[:, None, 1], p0[:, None, 0], p1[:, None, 0]
    straddle = (z0 > q[..., 1]) != (z1 > q[..., 1])
    cut = x0 + (q[..., 1] - z0) * (x1 - x0) / np.where(z1 != z0, z1 - z0, 1.0)
    crossings = np.zeros((h.room.size, 4), dtype=np.int64)
    np.add.at(crossings, hatch, (straddle & (q[..., 0] < cut)).astype(np.int64))
    inside: B8 = (crossings % 2 == 1).all(axis=1)
    # The inner edge's start vertex against the hatch: outside one of its edge lines by GAP.
    qn = np.roll(q, -1, axis=1)
    side = qn - q
    side_len = np.maximum(np.hypot(side[..., 0], side[..., 1]), 1e-300)
    depth = (side[..., 0] * (p0[:, None, 1] - q[..., 1]) - side[..., 1] * (p0[:, None, 0] - q[..., 0])) / side_len
    vertex_near = (-depth).max(axis=1) < GAP

    a0, a1 = p0[:, None, :], p1[:, None, :]
    crosses = (orient2(a0, a1, q) * orient2(a0, a1, qn) < 0) & (orient2(q, qn, a0) * orient2(q, qn, a1) < 0)
    crossing = crosses.any(axis=1)
    inside[hatch[near | vertex_near | crossing]] = False
    return inside


def hatch_rings(h: Hatches, on_sides: SidePlaces) -> dict[int, F64]:
    """The rings of the hatches with points on their sides (:func:`hatch_side_places`): each corner followed
    by the points on the side from it, placed as the tunnels' quads place them (corner + along · unit side)."""
    if on_sides.hatch.size == 0:
        return {}
    # on_sides is sorted by (hatch, side, along): one run per hatch.
    first = np.flatnonzero(np.concatenate([[True], on_sides.hatch[1:] != on_sides.hatch[:-1]]))
    cuts = np.append(first, on_sides.hatch.size).tolist()
    out = {}
    for k, lo, hi in zip(on_sides.hatch[first].tolist(), cuts[:-1], cuts[1:], strict=True):
        p = h.points[k][: h.size[k]]
        edge = np.roll(p, -1, axis=0) - p
        tangent = edge / np.hypot(edge[:, 0], edge[:, 1])[:, None]
        side, along = on_sides.side[lo:hi], on_sides.along[lo:hi]
        points = np.concatenate([p, p[side] + along[:, None] * tangent[side]])
        # Corner j, then the points of side j in order (the sort is stable: they are in order already).
        order = np.argsort(np.concatenate([np.arange(p.shape[0]), side]), kind="stable")
        out[k] = points[order]
    return out


def flush_tunnels(faces: Faces, w: Walls, sides: FlushSides) -> None:
    """The tunnel faces of flush hatch sides: in the wall's inner plane, through the slab, facing into
    the hatch, one rectangle between each two consecutive places of the side; a side an opening passes
    partway into the slab over (a doorway from the slab's middle) one ring, notched under it
    (:func:`_notched_tunnels`)."""
    order = np.lexsort((sides.place, sides.of))
    of, place = sides.of[order], sides.place[order]
    pair = np.flatnonzero((of[1:] == of[:-1]) & (place[1:] > place[:-1]))
    if pair.size == 0:
        return
    notched = np.unique(sides.gap_of[~np.isnan(sides.gap_at)])
    if notched.size:
        _notched_tunnels(faces, w, sides, notched, of, place)
        pair = pair[~np.isin(of[pair], notched)]
    if sides.gap_of.size:  # stretches an opening through the slab takes (few: pairs by broadcasting)
        a0, b0 = place[pair], place[pair + 1]
        inside = (
            (of[pair][:, None] == sides.gap_of) & (a0[:, None] >= sides.gap_a) & (b0[:, None] <= sides.gap_b)
        ).any(axis=1)
        pair = pair[~inside]
    i = of[pair]
    e, r = sides.edge[i], w.room[sides.edge[i]]
    t = w.rooms.thickness[r]
    bottom = np.where(sides.slab[i] == 0, w.rooms.y0[r], w.rooms.y1[r] - t)
    top = bottom + t
    a, b = place[pair], place[pair + 1]
    quads = np.stack(
        [np.stack([a, bottom], -1), np.stack([b, bottom], -1), np.stack([b, top], -1), np.stack([a, top], -1)], 1
    )
    origin = plan3(w.start[e] + t[:, None] * w.inward[e])
    faces.add_quads(quads, origin, plan3(w.tangent[e]), UP, plan3(w.inward[e]), r)
