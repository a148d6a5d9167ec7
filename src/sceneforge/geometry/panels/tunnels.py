"""Each opening's tunnel through its wall: jambs, lintels, sills and the slabs' faces in the inner plane.

Per opening (:func:`tunnels`), two jambs, a lintel and a sill where the opening stops inside the wall's
height (with a vertex on its inner edge where a flush hatch's side ends under it), and where it passes
below the floor's top (or above the ceiling's underside) the floor (ceiling) slab's face in the inner
wall plane. Jambs are cut so that no triangle is much thinner than the wall (:func:`_jamb_fan`), with
vertices at the heights the faces beside them need: where flush with the outline's (the cavity's)
corner, the ends of the faces across (:func:`_corner_jamb_heights`);
a pillar's two jambs each the other's (:func:`_pillar_heights`); two jambs meeting along a reflex corner's
line each the other's on its outer edge (:func:`_reflex_heights`).

Per window or notch of another shape (:func:`window_tunnels`), a tunnel of one quad per side (of a
notch, of the quad clipped to the room: not the sides on y0 or y1, where it is open), with a vertex on
its inner edge where it crosses the floor's top or the ceiling's underside (:func:`_jamb_fan`) and, on the
cavity's corner beside a rectangle of the wall across (a pillar), where that one's bottom and top fall
(:func:`_notch_pillar_sides`; on the outline's reflex corner, on its outer edge, and the jambs across get its
ends: :func:`_reflex_heights`), and the slab's face in the inner plane clipped to the notch (:func:`_slab_bands`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .faces import UP, Faces, plan3
from .joined import band_pieces
from .near import Near
from .notches import Notches, area2, clip, notch_corners
from .openings import Openings, Windows, corner_openings, corner_pairs, notch_corner_side
from .walls import Walls

__all__ = ["tunnels", "window_tunnels"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def window_tunnels(
    faces: Faces,
    w: Walls,
    win: Windows,
    notches: Notches,
    o: Openings | None = None,
    flush_ends: tuple[I64, I64, F64] | None = None,
) -> None:
    """Each window's and notch's tunnel through its wall: per side of its quad (of a notch, of the
    quad clipped to the room: not the sides on the floor's underside or the ceiling's top, where it
    is open), the side × the wall's thickness, facing into the opening (counter-clockwise in (s, y):
    the opening is left of each side). A side crossing the floor's top or the ceiling's underside
    gets a vertex there on its inner edge, where the inner face's border and the slab's face in the
    inner plane meet it (a jamb, :func:`_jamb_fan`); where a notch passes below the floor's top
    (above the ceiling's underside) the slab's face in the inner plane is the notch clipped to it. A notch's
    side on the cavity's corner, where a rectangle of ``o`` of the wall across is flush with it (a pillar), gets
    that rectangle's bottom and top inside it on its inner edge too, where the rectangle's jamb meets it (on the
    outline's reflex corner, those of the rectangles there on its outer edge). A notch's side on the floor's top
    (the ceiling's underside) gets on its inner edge the ends of ``flush_ends`` (edge, slab: 0 floor or 1 ceiling,
    place along the edge: the ends of flush hatches' sides on that wall, :func:`~.hatches.FlushSides`) inside it,
    where the hatch's tunnel face meets it (a doorway joined to a window standing over a stair opening's end), as a
    rectangle's sill does (:func:`tunnels`)."""
    n = win.edge.size
    p, q = win.poly, np.roll(win.poly, -1, axis=1)  # (n, 4, 2): each side from p to q
    room, edge = np.repeat(win.room, 4), np.repeat(win.edge, 4)
    p, q = p.reshape(-1, 2), q.reshape(-1, 2)
    levels = np.full((4 * n, 2), np.nan)
    if notches.edge.size:
        # The points on straight walls (by the edge starting there) with a notch flush from each wall.
        shared = {
            corner
            for corner, flush in notch_corners(w, notches).items()
            if sum(at == 0.0 or at == w.length[e] for _, e, at in flush) > 1
        }
        sides = [
            (r, e, a, b)
            for r, e, poly in zip(notches.room.tolist(), notches.edge.tolist(), notches.poly, strict=True)
            for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True)
            if not (a[1] == b[1] and a[1] in (w.rooms.y0[r], w.rooms.y1[r]))
            # (None on a point a rounded plan keeps on a straight wall where a notch across it is flush there too:
            # one opening with this one, their sides alike, openings._notch_pair_ok.)
            and not (a[0] == b[0] and a[0] == w.inner0[e] == 0.0 and e in shared)
            and not (a[0] == b[0] and a[0] == w.inner1[e] == w.length[e] and int(w.live_nxt[e]) in shared)
        ]
        room = np.concatenate([room, np.array([x[0] for x in sides], np.int64)])
        edge = np.concatenate([edge, np.array([x[1] for x in sides], np.int64)])
        p = np.concatenate([p, np.array([x[2] for x in sides]).reshape(-1, 2)])
        q = np.concatenate([q, np.array([x[3] for x in sides]).reshape(-1, 2)])
        t = w.rooms.thickness[room]
        levels = np.stack([w.rooms.y0[room] + t, w.rooms.y1[room] - t], 1)
        levels[: 4 * n] = np.nan
        _slab_bands(faces, w, notches)
    if room.size == 0:
        return
    t = w.rooms.thickness[room]
    tan3, in3 = plan3(w.tangent[edge]), plan3(w.inward[edge])
    start3 = plan3(w.start[edge])
    ds, dy = q[:, 0] - p[:, 0], q[:, 1] - p[:, 1]
    length = np.sqrt(ds * ds + dy * dy)
    ps, py = p[:, 0], p[:, 1]
    origin = start3 + ps[:, None] * tan3 + py[:, None] * UP
    axis_u = (ds[:, None] * tan3 + dy[:, None] * UP) / length[:, None]
    normal = (-dy[:, None] * tan3 + ds[:, None] * UP) / length[:, None]
    # Where each side crosses the floor's top and the ceiling's underside, along it (windows: nowhere).
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = (levels - py[:, None]) / dy[:, None]
    cut = (cross > 0.0) & (cross < 1.0) & (dy[:, None] != 0.0)
    at = np.where(cut, cross * length[:, None], np.nan)
    plain = ~cut.any(axis=1)
    pillar = _notch_pillar_sides(w, o, notches, edge, p, q, 4 * n) if o is not None and notches.edge.size else {}
    on_slab = _notch_sill_places(edge, p, q, levels, flush_ends, 4 * n)
    if pillar or on_slab:
        # (Along the side from p; its slab crossings too: the ring replaces the fan.)
        jobs = []
        for side in sorted(pillar.keys() | on_slab.keys()):
            inside, outside = pillar.get(side, ([], []))
            ends = {0.0, float(length[side]), *at[side][cut[side]].tolist(), *on_slab.get(side, [])}
            inner = sorted(ends | {abs(v - float(py[side])) for v in inside})
            back = sorted({abs(v - float(py[side])) for v in outside}, reverse=True)
            ring = [[0.0, 0.0], *([float(t[side]), v] for v in inner), [0.0, float(length[side])]]
            ring += [[0.0, v] for v in back]
            jobs.append((np.array(ring, dtype=np.float64), [len(ring)], side))
        faces.add_earcut(jobs, (origin, in3, axis_u, normal, room))
        ringed = [side for _, _, side in jobs]
        plain[ringed] = False
        cut[ringed] = False
    zero = np.zeros(room.size)
    depth = t
    quads = np.stack(
        [
            np.stack([zero, zero], -1),
            np.stack([length, zero], -1),
            np.stack([length, depth], -1),
            np.stack([zero, depth], -1),
        ],
        1,
    )
    faces.add_quads(quads[plain], origin[plain], axis_u[plain], in3[plain], normal[plain], room[plain])
    k = np.flatnonzero(~plain & cut.any(axis=1))
    if k.size:
        e1 = np.nanmin(at[k], axis=1)
        e2 = np.where(cut[k].all(axis=1), np.nanmax(at[k], axis=1), length[k])
        tris, live = _jamb_fan(t[k], zero[k], e1, e2, length[k])
        row = np.repeat(k[:, None], 4, 1)[live]
        faces.add(tris[live], origin[row], in3[row], axis_u[row], normal[row], room[row])


def _notch_sill_places(
    edge: I64, p: F64, q: F64, levels: F64, flush_ends: tuple[I64, I64, F64] | None, first: int
) -> dict[int, list[float]]:
    """By side (rows from ``first`` on: the notches' sides from ``p`` to ``q`` on ``edge``, ``levels`` (n, 2) the
    floor's top and the ceiling's underside of each), the places along it from ``p`` where an end of
    ``flush_ends`` (edge, slab, place along the edge) falls inside a side lying on that slab's face."""
    out: dict[int, list[float]] = {}
    if flush_ends is None or flush_ends[0].size == 0:
        return out
    on_edge, slab, place = flush_ends
    for k in range(first, edge.size):
        if p[k, 1] != q[k, 1]:
            continue
        for level in (0, 1):
            if p[k, 1] != levels[k, level]:
                continue
            lo, hi = sorted((float(p[k, 0]), float(q[k, 0])))
            mine = place[(on_edge == edge[k]) & (slab == level) & (place > lo) & (place < hi)]
            if mine.size:
                out[k] = [abs(float(v) - float(p[k, 0])) for v in mine.tolist()]
    return out


def _notch_pillar_sides(
    w: Walls, o: Openings, notches: Notches, edge: I64, p: F64, q: F64, first: int
) -> dict[int, tuple[list[float], list[float]]]:
    """By side (rows from ``first`` on: the notches' sides from ``p`` to ``q`` on ``edge``), the heights its
    inner and outer edge need where it lies on a corner line with rectangles of ``o`` of the wall across flush
    with that corner too: the bottoms and tops of those inside the side, on its inner edge at the cavity's
    corner (a pillar: the rectangle's jamb meets it there, :func:`~.openings._notch_pillar_ok` let it
    through; of a notch of ``notches`` there, its side's ends, :func:`~.openings._notch_pair_ok`), on its outer
    edge at the outline's reflex corner (as :func:`_reflex_heights`)."""
    lo_of, hi_of = corner_openings(w, o.edge, o.a, o.b)
    out: dict[int, tuple[list[float], list[float]]] = {}
    for k in range(first, edge.size):
        if p[k, 0] != q[k, 0]:
            continue
        e, s = int(edge[k]), float(p[k, 0])
        j = int(hi_of[w.live_prev[e]] if s == w.inner0[e] else lo_of[w.live_nxt[e]] if s == w.inner1[e] else -1)
        pillar = [j] if j >= 0 else []
        if s == 0.0 and w.inner0[e] < 0.0:
            reflex = np.flatnonzero((o.edge == w.prev[e]) & (o.b == w.length[o.edge]))
        elif s == w.length[e] and w.inner0[w.nxt[e]] < 0.0:
            reflex = np.flatnonzero((o.edge == w.nxt[e]) & (o.a == 0.0))
        else:
            reflex = np.zeros(0, np.int64)
        lo, hi = sorted((float(p[k, 1]), float(q[k, 1])))
        heights = [
            [float(v) for m in rows for v in (o.c[m], o.d[m]) if lo < v < hi] for rows in (pillar, reflex.tolist())
        ]
        # A notch of the wall across flush with the same cavity corner (openings._notch_pair_ok): its side's ends.
        across, at = (w.live_prev[e], w.inner1) if s == w.inner0[e] else (w.live_nxt[e], w.inner0)
        if s in (w.inner0[e], w.inner1[e]):
            for f, poly in zip(notches.edge.tolist(), notches.poly, strict=True):
                span = notch_corner_side(poly, float(at[f])) if f == across else None
                heights[0] += [v for v in span or () if lo < v < hi]
        if heights[0] or heights[1]:
            out[k] = (heights[0], heights[1])
    return out


def _slab_bands(faces: Faces, w: Walls, notches: Notches) -> None:
    """The floor (ceiling) slab's face in the inner wall plane where a notch passes below its top
    (above its underside): the notch clipped to the slab's band, facing out of the room."""
    jobs: list[tuple[F64, list[int], int]] = []
    rows: list[int] = []
    for r, e, poly in zip(notches.room.tolist(), notches.edge.tolist(), notches.poly, strict=True):
        t, y0, y1 = w.rooms.thickness[r], w.rooms.y0[r], w.rooms.y1[r]
        for level, above in ((y0 + t, False), (y1 - t, True)):
            bands = [clip(poly, 1, float(level), above)]
            rectilinear = poly.shape[0] > 4 and bool(((np.roll(poly, -1, axis=0) - poly) == 0).any(axis=1).all())
            if rectilinear and bands[0].shape[0] >= 3:
                # A joined opening (:mod:`.joined`) may pass into the slab in pieces apart (galleries on both
                # jambs of a doorway up to the ceiling's top): each its own face (one piece: the clip, as before).
                pieces = band_pieces(poly, float(level), above) or []
                bands = pieces if len(pieces) > 1 else bands
            for band in bands:
                if band.shape[0] >= 3 and abs(area2(band)) > 0.0:
                    jobs.append((band, [band.shape[0]], len(rows)))
                    rows.append(e)
    if not jobs:
        return
    e = np.array(rows, np.int64)
    r = w.room[e]
    origin = plan3(w.start[e] + w.rooms.thickness[r][:, None] * w.inward[e])
    ups = np.broadcast_to(UP, origin.shape)
    faces.add_earcut(jobs, (origin, plan3(w.tangent[e]), ups, -plan3(w.inward[e]), r))


def tunnels(
    faces: Faces,
    w: Walls,
    o: Openings,
    near: Near,
    sill_places: tuple[I64, I64, F64],
    through: tuple[I64, I64],
    left: tuple[I64, I64, F64, F64] | None = None,
    notches: Notches | None = None,
) -> None:
    """Jambs, lintels, sills and the slabs' faces in the inner wall plane, for every opening; ``sill_places``
    (opening, 0 sill or 1 lintel, place along the edge): vertices on their inner edges
    (:func:`~.hatches.flush_sill_places`); ``through`` (opening, 0 floor or 1 ceiling): openings through that
    slab where a flush hatch takes it (:func:`~.hatches.flush_through`), which get no slab face in the inner plane
    but on the stretches ``left`` (opening, slab, a, b) where they run on past the hatch's side."""
    n = o.edge.size
    if n == 0:
        return
    r = o.room
    t, y0, y1 = w.rooms.thickness[r], w.rooms.y0[r], w.rooms.y1[r]
    a, b, c, d = o.a, o.b, o.c, o.d
    start, tan, inward = w.start[o.edge], w.tangent[o.edge], w.inward[o.edge]
    tan3, in3 = plan3(tan), plan3(inward)
    # Jambs: frame (depth, y) at s = a (normal +tangent, into the opening) and s = b (normal -tangent).
    e1 = np.where((c < y0 + t) & (y0 + t < d), y0 + t, c)
    e2 = np.where((c < y1 - t) & (y1 - t < d), y1 - t, d)
    zero = np.zeros(n)
    tris, live = _jamb_fan(t, c, e1, e2, d)
    grid = np.repeat(np.arange(n)[:, None], 4, 1)
    extra = _pillar_heights(
        w, o, e1, e2, notches if notches is not None else Notches(np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    )
    corner = _corner_jamb_heights(w, o, near)
    for at_corner, reflex in zip(corner, _reflex_heights(w, o, notches), strict=True):
        for q, heights in reflex.items():
            at_corner.setdefault(q, ([], []))[0].extend(heights)
    # Openings flush with a point on a straight wall from both sides (a point a rounded plan keeps where the wall
    # was drawn bent, geometry/frames.py) are one opening across it where both run: each jamb there only where
    # the other does not (two doors of other heights sharing a jamb: the taller one's, over the other's lintel),
    # none where they are alike (their two would stand back to back: a pillar of no width, an edge of four faces).
    i, j = corner_pairs(w, o.edge, a, b)
    flat = (a[i] == 0.0) & (b[j] == w.length[o.edge[j]])
    i, j = i[flat], j[flat]
    for s, sign, more, across, (mine, other) in (
        (a, 1.0, extra[0], corner[0], (i, j)),
        (b, -1.0, extra[1], corner[1], (j, i)),
    ):
        covered: dict[int, list[tuple[float, float]]] = {}
        for k, m in zip(mine.tolist(), other.tolist(), strict=True):
            covered.setdefault(k, []).append((float(c[m]), float(d[m])))
        origin = plan3(start + s[:, None] * tan)
        pillar = np.zeros(n, dtype=bool)
        pillar[list(more)] = True
        pillar[list(across)] = True
        pillar[mine] = True
        plain = live & ~pillar[:, None]
        row = grid[plain]
        faces.add(tris[plain], np.take(origin, row, axis=0), in3[row], UP, sign * tan3[row], r[row])
        # A pillar's jamb with the other jamb's heights on its edge at the corner, or one with the heights
        # where the face across the corner has vertices on its end (on its inner, or outer, edge): earcut (and flips).
        jobs = []
        for q in sorted({*more, *across, *covered}):
            outside, inside = across.get(q, ([], []))
            for bottom, top in _uncovered(float(c[q]), float(d[q]), covered.get(q, [])):
                levels = sorted(
                    {bottom, top, *(v for v in (e1[q], e2[q], *more.get(q, []), *inside) if bottom < v < top)}
                )
                back = sorted({v for v in outside if bottom < v < top}, reverse=True)
                ring = [[0.0, bottom], *([t[q], v] for v in levels), [0.0, top], *([0.0, v] for v in back)]
                jobs.append((np.array(ring, dtype=np.float64), [len(ring)], q))
        ups = np.broadcast_to(UP, origin.shape)
        faces.add_earcut(jobs, (origin, in3, ups, sign * tan3, r))
    # Lintel (below the wall above) and sill (above the wall below), frame (s, depth) at height y. One
    # with vertices on its inner edge (where a flush hatch's side ends below it: ``sill_places``) is a
    # polygon for earcut; the rest are quads.
    at_opening, at_slab, at_place = sill_places
    for level, keep, up, slab in ((d, d < y1, -1.0, 1), (c, c > y0, 1.0, 0)):
        mine = at_slab == slab
        placed = np.zeros(n, dtype=bool)
        placed[at_opening[mine]] = True
        if placed.any():
            jobs = []
            for q in np.flatnonzero(keep & placed).tolist():
                inner = sorted({v for v in at_place[mine & (at_opening == q)].tolist()}, reverse=True)
                ring = [[a[q], 0.0], [b[q], 0.0], [b[q], t[q]], *([v, t[q]] for v in inner), [a[q], t[q]]]
                jobs.append((np.array(ring, dtype=np.float64), [len(ring)], q))
            origin = plan3(start) + level[:, None] * UP
            faces.add_earcut(jobs, (origin, tan3, in3, np.broadcast_to(up * UP, origin.shape), r))
        k = np.flatnonzero(keep & ~placed)
        quads = np.stack(
            [
                np.stack([a[k], zero[k]], -1),
                np.stack([b[k], zero[k]], -1),
                np.stack([b[k], t[k]], -1),
                np.stack([a[k], t[k]], -1),
            ],
            1,
        )
        origin = plan3(start[k]) + level[k, None] * UP
        faces.add_quads(quads, origin, tan3[k], in3[k], up * UP, r[k])
    # The floor (ceiling) slab's face in the inner wall plane where the opening passes below its top
    # (above its underside): frame (s, y) on the inner plane, facing out of the room.
    origin_in = plan3(start + t[:, None] * inward)
    through_opening, through_slab = through
    for slab, (lo, hi, keep) in enumerate(((c, y0 + t, c < y0 + t), (y1 - t, d, d > y1 - t))):
        # (Not where a flush hatch takes the slab: that opening passes through it into the hatch.)
        keep = keep.copy()
        keep[through_opening[through_slab == slab]] = False
        k = np.flatnonzero(keep)
        s0, s1 = a[k], b[k]
        if left is not None and left[0].size:
            mine = left[1] == slab
            k = np.concatenate([k, left[0][mine]])
            s0, s1 = np.concatenate([s0, left[2][mine]]), np.concatenate([s1, left[3][mine]])
        quads = np.stack(
            [
                np.stack([s0, lo[k]], -1),
                np.stack([s1, lo[k]], -1),
                np.stack([s1, hi[k]], -1),
                np.stack([s0, hi[k]], -1),
            ],
            1,
        )
        faces.add_quads(quads, origin_in[k], tan3[k], UP, -in3[k], r[k])


def _uncovered(lo: float, hi: float, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches of [``lo``, ``hi``] that none of ``spans`` (lo, hi) covers, bottom up."""
    out, at = [], lo
    for s0, s1 in sorted(spans):
        if s0 > at:
            out.append((at, min(s0, hi)))
        at = max(at, s1)
        if at >= hi:
            break
    if at < hi:
        out.append((at, hi))
    return [(u, v) for u, v in out if v > u]


def _jamb_fan(t: F64, c: F64, e1: F64, e2: F64, d: F64) -> tuple[F64, B8]:
    """Jambs (n,) in their frame (depth, along the opening's side): the side from ``c`` to ``d`` through
    a wall ``t`` thick, with vertices at ``e1`` and ``e2`` on its inner edge (where the floor's top and
    the ceiling's underside meet it, or ``c`` / ``d``). Triangles (n, 4, 3, 2) and which have an area.

    The jamb A (0, c), B (t, c), C (t, e1), D (t, e2), E (t, d), F (0, d) as ABC, ACF, CDF, DEF: each
    triangle at least about as high as the wall is thick or its own slab step (a fan from A made
    triangles t²/(d - c) high: 0.15 mm in a 2 cm wall)."""
    zero = np.zeros(c.size)
    pa, pb, pc = np.stack([zero, c], -1), np.stack([t, c], -1), np.stack([t, e1], -1)
    pd, pe, pf = np.stack([t, e2], -1), np.stack([t, d], -1), np.stack([zero, d], -1)
    fan = [np.stack(tri, 1) for tri in ((pa, pb, pc), (pa, pc, pf), (pc, pd, pf), (pd, pe, pf))]
    tris = np.stack(fan, 1)  # (n, 4, 3, 2)
    area = np.abs(
        (tris[..., 1, 0] - tris[..., 0, 0]) * (tris[..., 2, 1] - tris[..., 0, 1])
        - (tris[..., 2, 0] - tris[..., 0, 0]) * (tris[..., 1, 1] - tris[..., 0, 1])
    )
    live: B8 = area > 0
    return tris, live


def _corner_jamb_heights(
    w: Walls, o: Openings, near: Near
) -> tuple[dict[int, tuple[list[float], list[float]]], dict[int, tuple[list[float], list[float]]]]:
    """By opening, the heights its jamb at a (at b) needs on its outer (depth 0) and inner (depth t)
    edge: where it is flush with the outline's (the cavity's) corner, the face of the wall before
    (after) ends along that edge, and that face's end gets vertices where an opening's corners near
    it project (:func:`~.near.near_borders`): their heights inside this jamb. Only the openings that need
    some are listed (none where no opening is near a face's end: no Python loop over every opening)."""
    out: tuple[dict[int, tuple[list[float], list[float]]], dict[int, tuple[list[float], list[float]]]] = ({}, {})
    if not (near.left.any() or near.right.any()):
        return out
    r = o.room
    y0, y1, t = w.rooms.y0[r], w.rooms.y1[r], w.rooms.thickness[r]
    faces = ((np.zeros(o.edge.size), w.length[o.edge], y0, y1), (w.inner0[o.edge], w.inner1[o.edge], y0 + t, y1 - t))
    for depth, (u0, u1, v0, v1) in enumerate(faces):
        hc, hd = np.maximum(o.c, v0), np.minimum(o.d, v1)
        # Jamb at a of an opening flush with its face's start: the face before, its near-end corners.
        for side, flush, close, across in (
            (0, o.a == u0, near.right[depth], w.live_nxt if depth else w.nxt),
            (1, o.b == u1, near.left[depth], w.live_prev if depth else w.prev),
        ):
            if not close.any():
                continue
            heights: dict[int, list[float]] = {}
            for e, lo, hi in zip(across[o.edge[close]].tolist(), hc[close].tolist(), hd[close].tolist(), strict=True):
                heights.setdefault(e, []).extend((lo, hi))
            for q in np.flatnonzero(flush & np.isin(o.edge, list(heights))).tolist():
                mine = [v for v in heights[int(o.edge[q])] if o.c[q] < v < o.d[q]]
                if mine:
                    out[side].setdefault(q, ([], []))[depth].extend(mine)
    return out


def _reflex_heights(
    w: Walls, o: Openings, notches: Notches | None = None
) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """By opening, the heights its jamb at a (at b) needs on its outer edge where it is flush with a reflex
    corner of the outline and the wall before (after) has openings flush with that corner too: their bottoms and
    tops inside this jamb (of a joined opening of ``notches`` there, its side's ends: its side gets the jambs'
    heights, :func:`_notch_pillar_sides`). The two jambs meet along the corner's line where both openings run,
    and each meets the outer face of the wall across where only it does (that face gets its heights on its end,
    :func:`~.wall_faces.wall_faces`). Only the openings that need some are listed."""
    out: tuple[dict[int, list[float]], dict[int, list[float]]] = ({}, {})
    i, j = corner_pairs(w, o.edge, o.a, o.b, outline=True)
    for side, mine, other in ((0, i, j), (1, j, i)):  # the jamb at a of i, at b of j
        for k, m in zip(mine.tolist(), other.tolist(), strict=True):
            heights = [v for v in (o.c[m], o.d[m]) if o.c[k] < v < o.d[k]]
            if heights:
                out[side].setdefault(k, []).extend(heights)
    # A notch flush with the corner (a joined opening at the outline's end, openings.py let it through): its
    # side's ends there.
    for e, poly in zip(*((notches.edge.tolist(), notches.poly) if notches is not None else ([], [])), strict=True):
        # (The corner a reflex one: the cavity's corner past the outline's on the wall after it.)
        for side, at, across, after in ((1, 0.0, int(w.prev[e]), e), (0, float(w.length[e]), int(w.nxt[e]), None)):
            span = notch_corner_side(poly, at)
            if span is None or w.inner0[across if after is None else after] >= 0.0:
                continue
            flush = (o.edge == across) & ((o.b == w.length[o.edge]) if side == 1 else (o.a == 0.0))
            for k in np.flatnonzero(flush).tolist():
                heights = [v for v in span if o.c[k] < v < o.d[k]]
                if heights:
                    out[side].setdefault(k, []).extend(heights)
    return out


def _pillar_heights(
    w: Walls, o: Openings, e1: F64, e2: F64, notches: Notches
) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """By opening, the heights its jamb at a (at b) needs beyond its own ends and slab steps: where
    it is flush with the cavity's corner and the wall before (after) has an opening flush with the
    same corner, that opening's bottom and top, where they fall inside this jamb. Only the openings
    that need some are listed (none on most levels: no Python loop over every opening)."""
    lo_of, hi_of = corner_openings(w, o.edge, o.a, o.b)
    out: tuple[dict[int, list[float]], dict[int, list[float]]] = ({}, {})
    i, j = corner_pairs(w, o.edge, o.a, o.b)
    for side, mine, other in ((0, i, j), (1, j, i)):  # the jamb at a of i, at b of j
        for k, m in zip(mine.tolist(), other.tolist(), strict=True):
            own = {o.c[k], o.d[k], e1[k], e2[k], *out[side].get(k, [])}
            heights = [v for v in (o.c[m], o.d[m]) if o.c[k] < v < o.d[k] and v not in own]
            if heights:
                out[side].setdefault(k, []).extend(heights)
    # A notch flush with the corner (the rectangle across alone there, openings.py checked): its side's ends.
    for e, poly in zip(notches.edge.tolist(), notches.poly, strict=True):
        for side, at, j in ((1, w.inner0[e], hi_of[w.live_prev[e]]), (0, w.inner1[e], lo_of[w.live_nxt[e]])):
            span = notch_corner_side(poly, float(at))
            if j < 0 or span is None:
                continue
            own = {o.c[j], o.d[j], e1[j], e2[j], *out[side].get(j, [])}
            heights = [v for v in span if o.c[j] < v < o.d[j] and v not in own]
            if heights:
                out[side].setdefault(j, []).extend(heights)
    return out
