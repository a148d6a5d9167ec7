"""Vertices the faces' borders need beside openings' corners, and the openings each slab face gets.

An opening whose corner lies so near a face's border that every triangulation of the strip between
them would join it to the border's far corners in a triangle under 0.5 mm high (a doorway 5 mm under
the ceiling of a 60 m hall: 0.17 mm) gives the border a vertex where the corner projects onto it
(:func:`near_borders`: gap × the run along the border < 1.25 × 0.5 mm × the distance to the border's
nearer end, or a neighbour's sill or lintel at nearly its height), and the face across that border the
same vertex: the slab's face in P′ the opening's sides, its footprint strips cut across there, and at
a wall's end the next wall's face its heights (and the jamb of an opening of that wall flush with the
corner, :func:`~.tunnels._corner_jamb_heights`). Such faces go to earcut. A window or notch of another
shape takes part in the same rule as its box: near the bottom or top border it gets a vertex there
under its corners at that height (its side there as the run; none under a lone corner, whose sides
leave at a slant: :func:`_lone_corner_places`), and the slab's face across gets them too; near a face's
end it gets none (that takes a gap under a millimetre in walls a few metres tall).

:func:`slab_openings` gives each slab face its openings: the wall openings reaching it, the notches'
chords where they meet its level (on each slab face the vertices and notch a rectangle spanning it
there would give: :func:`_with_chords`), and the places of :class:`Near` on its border as openings of
no width (:func:`_with_places`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ...arrays import distinct
from ...tolerances import WELD_EPS
from ..slivers import SLIVER
from .joined import stretches_at
from .notches import Notches, chord_at
from .openings import Openings, near_same_edge, poly_boxes
from .walls import Walls

__all__ = ["NEAR_MARGIN", "Near", "near_borders", "slab_openings"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: How much higher than :data:`~sceneforge.geometry.slivers.SLIVER` (the 0.5 mm rule) the triangles an opening's corner
#: makes with a border's far corners must be before the border goes without a vertex over it
#: (:func:`near_borders`): a margin for the diagonal being longer than the border.
NEAR_MARGIN = 1.25

#: How many openings ahead along its wall each one is compared with for sills or lintels at nearly
#: one height (:func:`near_borders`): the next few, those a thin triangle may join it to.
_NEAR_NEIGHBOURS = 4


@dataclass(slots=True)
class Near:
    """Per opening (o,), per wall face (row 0 outer, row 1 inner): whether its corners lie so near that
    face's bottom, top, start (``left``) or end (``right``) border that the border needs vertices where
    they project onto it (:func:`near_borders`)."""

    bottom: B8  # (2, o)
    top: B8
    left: B8
    right: B8
    #: The same for windows and notches (other shapes), as points (k,): the edge, the place along it,
    #: the face (0 outer, 1 inner) and its border (0 bottom, 1 top) that needs a vertex there.
    edge: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    place: F64 = field(default_factory=lambda: np.zeros(0))
    face: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    border: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    def points(self, face: int, border: int | None = None) -> tuple[I64, F64, I64]:
        """(edge, place, border) of the points on ``face``'s borders (only ``border``'s, if given)."""
        keep = (self.face == face) & ((self.border == border) if border is not None else True)
        return self.edge[keep], self.place[keep], self.border[keep]


def near_borders(w: Walls, o: Openings, shaped: list[tuple[int, int, F64]] | None = None) -> Near:
    """Which openings' corners need vertices on which borders of their wall's faces.

    A corner at gap ``g`` from a border, beside a run ``s`` along it (the opening's own width, or the
    space to the next opening of its wall where that is less), the border's nearer end ``D`` away (from
    the opening's far side), may end in a triangle with that end's corner about ``g·s/D`` high: with
    no vertex on the border over the corner, every triangulation has one (the strip between the
    opening and the border has no other vertices to use; the picture frame's shorter diagonal and the
    Delaunay flips take the nearer end, earcut alone may take the farther one only where its
    triangles are 1 mm high or more). Where ``g·s < NEAR_MARGIN · SLIVER · D`` the border gets a
    vertex at the corner's projection, and so does the face across that border edge (the slab's face,
    the next wall's face); a corner on the border (``g`` 0: a notch) needs none. Two of the next
    :data:`_NEAR_NEIGHBOURS` openings of a wall whose sills or lintels differ by ``g`` over a span ``D``
    (from the first's start to the farther end) are held to the same rule, with the narrower run (a
    shaped opening's side at that height, where it has one).

    Windows and notches of other shapes (``shaped``: room, edge, corners (k, 2) in (s, y)) take part as
    their boxes, the same rule, among the rectangles of their wall, their own run along the bottom (top)
    border being their side at their lowest (highest) corners; where that is a lone corner they get no
    vertex there (their sides leave it at a slant), but beside another opening the border gets one
    halfway between them (:func:`_lone_corner_places`). One whose box's bottom (top) is near a face's bottom
    (top) border gets a vertex there under each corner at that height and each corner near it by its
    own gap (:attr:`Near.edge`; a notch's corners on the border need none). Their corners near a
    face's end get none: with a run the height of the opening, that takes a gap under a millimetre in
    walls a few metres tall."""
    rect_n = o.edge.size
    if shaped:
        # Rectangles and the shaped openings' boxes, in (edge, a) order as the rule below takes them.
        poly = [p for _, _, p in shaped]
        boxes = poly_boxes(poly)
        both = Openings(
            np.concatenate([o.room, np.array([x[0] for x in shaped], np.int64)]),
            np.concatenate([o.edge, np.array([x[1] for x in shaped], np.int64)]),
            *(np.concatenate([v, boxes[:, k]]) for k, v in enumerate((o.a, o.b, o.c, o.d))),
        )
        order = np.lexsort((both.a, both.edge))
        a, b, c, d = (v[order] for v in (both.a, both.b, both.c, both.d))
        o = Openings(both.room[order], both.edge[order], a, b, c, d)
    r = o.room
    y0, y1, t = w.rooms.y0[r], w.rooms.y1[r], w.rooms.thickness[r]
    n = o.edge.size
    # Along the wall: the opening's width, or less the space to its neighbours (sorted by edge, a).
    run = o.b - o.a
    between = o.a[1:] - o.b[:-1]
    apart = (o.edge[1:] == o.edge[:-1]) & (between > 0.0)
    space = np.full(n + 1, np.inf)
    space[1:-1][apart] = between[apart]
    apart_run = np.minimum(space[:-1], space[1:])
    run = np.minimum(run, apart_run)
    run_low, run_high = run, run
    if shaped:
        # A shaped opening's own run along a border is its side at its lowest (highest) corners. Where
        # that is one corner, none: its sides leave it at a slant, so no triangle joins it to the far
        # corners thinly, and a vertex over it would make one with its steep sides (0.3 mm under a
        # diamond 11 cm wide, 2.4 m tall, 7 mm from the ceiling).
        rows_of = order >= rect_n
        # Where each one's corners at its lowest (highest) height start and end along the wall (a
        # rectangle's: its sides; a lone corner: its place twice), also for the lone corners' neighbours below.
        ends = np.array(
            [
                [fn(p[p[:, 1] == level, 0]) for level in (p[:, 1].min(), p[:, 1].max()) for fn in (np.min, np.max)]
                for p in poly
            ]
        ).reshape(-1, 4)[order[rows_of] - rect_n]
        side_runs = ends[:, [1, 3]] - ends[:, [0, 2]]
        point = np.zeros((n, 2), dtype=bool)
        point[rows_of] = side_runs == 0.0
        run_low, run_high = run.copy(), run.copy()
        run_low[rows_of] = np.minimum(side_runs[:, 0], apart_run[rows_of])
        run_high[rows_of] = np.minimum(side_runs[:, 1], apart_run[rows_of])
        extreme_ends = np.stack([o.a, o.b, o.a, o.b], -1)
        extreme_ends[rows_of] = ends
    # The short edges the neighbours' rule below weighs: a shaped opening's side at that height where it
    # has one (a trapezoid's narrow top can be much shorter than its box), else its run.
    side_low, side_high = run, run
    if shaped:
        side_low, side_high = np.where(point[:, 0], run, run_low), np.where(point[:, 1], run, run_high)
    reach = NEAR_MARGIN * SLIVER
    # Openings of one wall over one another (within WELD_EPS along it), each way.
    i, j = near_same_edge(o.edge, o.a, o.b, WELD_EPS)
    mine, other = np.concatenate([i, j]), np.concatenate([j, i])
    rows: list[list[B8]] = [[], [], [], []]
    points: list[tuple[int, float, int, int]] = []
    for face, (u0, u1, v0, v1) in enumerate(
        (
            (np.zeros(n), w.length[o.edge], y0, y1),
            (w.inner0[o.edge], w.inner1[o.edge], y0 + t, y1 - t),
        )
    ):
        c, d = np.maximum(o.c, v0), np.minimum(o.d, v1)
        rise = d - c
        along, up = np.minimum(o.b - u0, u1 - o.a), np.minimum(d - v0, v1 - c)
        low, high = (c - v0) * run_low < reach * along, (v1 - d) * run_high < reach * along
        # Two neighbours along the wall whose sills or lintels lie at nearly one height: a corner of one
        # a little above the other's top (below its bottom) makes the same thin triangle with it, and
        # both get vertices on that border (the triangulation then joins them to those instead).
        for ahead in range(1, _NEAR_NEIGHBOURS + 1):
            i = np.flatnonzero(o.edge[ahead:] == o.edge[:-ahead])
            j = i + ahead
            span = np.maximum(o.b[i], o.b[j]) - o.a[i]
            for level_i, level_j, mark_i, mark_j, run_i, run_j in (
                (c, c, low, low, side_low, side_low),
                (d, d, high, high, side_high, side_high),
                (c, d, low, high, side_low, side_high),
                (d, c, high, low, side_high, side_low),
            ):
                narrow = np.minimum(run_i[i], run_j[j])
                step = np.abs(level_i[i] - level_j[j])
                close = (step > 0.0) & (step * narrow < reach * span)
                mark_i[i[close]] = True
                mark_j[j[close]] = True
        # Where one over (under) it reaches the border, the border runs along that one's notch there:
        # no vertex in it (the slab's faces and the tunnel's would need one too).
        blocked = np.zeros((2, n), dtype=bool)
        blocked[0, mine[c[other] <= v0[other]]] = True
        blocked[1, mine[d[other] >= v1[other]]] = True
        low &= ~blocked[0]
        high &= ~blocked[1]
        if shaped:
            low[point[:, 0]], high[point[:, 1]] = False, False
            gaps = np.stack([c - v0, v1 - d])
            points += _lone_corner_places(o.edge, face, point, extreme_ends, apart, gaps, blocked, along)
        rows[0].append((c > v0) & low)
        rows[1].append((d < v1) & high)
        rows[2].append((o.a > u0) & ((o.a - u0) * rise < reach * up))
        rows[3].append((o.b < u1) & ((u1 - o.b) * rise < reach * up))
        if shaped:
            # Per shaped opening and border: its corners at the box's height there, or near by their own gap.
            for border, marks, level, extreme in ((0, rows[0][face], v0, c), (1, rows[1][face], v1, d)):
                for k in np.flatnonzero(marks & (order >= rect_n)).tolist():
                    corners = poly[int(order[k]) - rect_n]
                    gap = np.abs(corners[:, 1] - level[k])
                    inside = (corners[:, 1] > v0[k]) & (corners[:, 1] < v1[k])
                    pick = inside & ((corners[:, 1] == extreme[k]) | (gap * run[k] < reach * along[k]))
                    points += [(int(o.edge[k]), p, face, border) for p in distinct(corners[pick, 0]).tolist()]
    bottom, top, left, right = (np.stack(row) for row in rows)
    if not shaped:
        return Near(bottom, top, left, right)
    rect = order < rect_n
    back = np.argsort(order[rect])  # the rectangles' rows, in their own order
    bottom, top, left, right = (m[:, rect][:, back] for m in (bottom, top, left, right))
    pts = np.array(points, np.float64).reshape(-1, 4)
    ints = pts[:, [0, 2, 3]].astype(np.int64)
    return Near(bottom, top, left, right, ints[:, 0], pts[:, 1], ints[:, 1], ints[:, 2])


def _lone_corner_places(
    edge: I64, face: int, lone: B8, ends: F64, apart: B8, gaps: F64, blocked: B8, along: F64
) -> list[tuple[int, float, int, int]]:
    """Places on a wall face's bottom (border 0) and top (border 1) borders for lone corners near them.

    Per opening (o,) in (edge, a) order: ``lone`` (o, 2) whether its lowest (highest) corner is alone
    there (a diamond's point), ``ends`` (o, 4) where its corners at its lowest and at its highest height
    start and end along the wall, ``gaps`` (2, o) the gap from that height to the face's bottom (top)
    border, ``blocked`` (2, o) whether one over (under) it reaches that border, ``along`` the distance
    to the border's nearer end. ``apart[k]``: openings k and k + 1 are neighbours on one edge.

    A lone corner at gap ``g`` whose neighbour's nearest corner at its own extreme height lies ``s``
    along the wall from it may end in a triangle with those two and a vertex of the border ``D`` away,
    ``g·s/D`` high (at one height): the rule of :func:`near_borders`, with ``s`` that run. A vertex
    under (over) the lone corner itself would make a sliver with its steep sides, so the border gets
    one halfway between the two corners instead, which the triangulation joins both to (a triangle
    about ``min(g, s/2)`` high) rather than to the border's far vertices; none where either corner is
    on the border (a vertex of it already) or another opening over (under) it reaches the border.
    Returned as (edge, place, face, border) rows, as :attr:`Near.edge` takes them."""
    out: list[tuple[int, float, int, int]] = []
    k = np.flatnonzero(apart)
    reach = NEAR_MARGIN * SLIVER
    for border in (0, 1):
        first, last = ends[:, 2 * border], ends[:, 2 * border + 1]
        run = first[k + 1] - last[k]
        # (A neighbour's corner on the border is a vertex of it already.)
        need = (gaps[border, k] > 0.0) & (gaps[border, k + 1] > 0.0) & ~blocked[border, k] & ~blocked[border, k + 1]
        thin = np.zeros(k.size, dtype=bool)
        for m in (k, k + 1):
            thin |= lone[m, border] & (gaps[border, m] * run < reach * along[m])
        need &= thin
        place = (last[k] + first[k + 1])[need] / 2
        out += [(e, x, face, border) for e, x in zip(edge[k[need]].tolist(), place.tolist(), strict=True)]
    return out


def slab_openings(w: Walls, o: Openings, notches: Notches, near: Near, spec: int) -> tuple[Openings, B8, B8 | None]:
    """The openings that cut or mark slab face ``spec`` (0 the floor's underside, 1 the ceiling's top, 2 the
    floor's top, 3 the ceiling's underside): ``o`` with the notches' chords and the places of ``near`` on
    that face's border as openings, those notched into it or whose sides go on the cavity's outline
    (mask), and for the outer faces (0, 1) those whose sides also cut the wall footprints (``close``)."""
    y0, y1, t = w.rooms.y0[o.room], w.rooms.y1[o.room], w.rooms.thickness[o.room]
    mask, close = (
        (o.c <= y0, near.bottom[0]),
        (o.d >= y1, near.top[0]),
        ((o.c <= y0 + t) | near.bottom[1], None),
        ((o.d >= y1 - t) | near.top[1], None),
    )[spec]
    if notches.edge.size:
        o, mask, close = _with_chords(w, o, notches, spec, mask, close)
    if near.edge.size:
        o, mask, close = _with_places(w, o, near.points(spec // 2, spec % 2), mask, close)
    return o, mask, close


def _with_chords(
    w: Walls, o: Openings, notches: Notches, spec: int, mask: B8, close: B8 | None
) -> tuple[Openings, B8, B8 | None]:
    """``o`` with an opening [a, b] per notch that meets the level of slab face ``spec`` (0 the floor's
    underside, 1 the ceiling's top, 2 the floor's top, 3 the ceiling's underside) where it meets it,
    selected in ``mask`` (and not in ``close``)."""
    rows: list[tuple[int, int, float, float]] = []
    for r, e, poly in zip(notches.room.tolist(), notches.edge.tolist(), notches.poly, strict=True):
        t, y0, y1 = w.rooms.thickness[r], w.rooms.y0[r], w.rooms.y1[r]
        level = float((y0, y1, y0 + t, y1 - t)[spec])
        chord = chord_at(poly, 1, level)
        if chord is None:
            continue
        sides = np.roll(poly, -1, axis=0) - poly
        if poly.shape[0] <= 4 or not (sides == 0).any(axis=1).all():
            rows.append((r, e, *chord))  # (a quad, or a shape's clip: convex, one stretch)
            continue
        # A joined opening (:mod:`.joined`, its sides along the axes) may meet the slab's face in stretches
        # apart (two galleries up to the ceiling's underside on a doorway's jambs): each its own.
        pieces = stretches_at(poly, level)
        pieces = pieces if len(pieces) > 1 else [chord]
        rows.extend((r, e, *piece) for piece in pieces)
        # A corner of it on that level inside a stretch (a step there: a doorway from the floor's top beside one
        # from its underside) is a vertex of the face's border too.
        corners = np.unique(poly[poly[:, 1] == level, 0]).tolist()
        rows.extend((r, e, u, u) for u in corners if any(a < u < b for a, b in pieces))
    if not rows:
        return o, mask, close
    room, edge = np.array([x[0] for x in rows], np.int64), np.array([x[1] for x in rows], np.int64)
    a, b = np.array([x[2] for x in rows]), np.array([x[3] for x in rows])
    nan = np.full(a.size, np.nan)
    out = Openings(
        *(np.concatenate(pair) for pair in ((o.room, room), (o.edge, edge), (o.a, a), (o.b, b), (o.c, nan), (o.d, nan)))
    )
    mask = np.concatenate([mask, np.ones(a.size, bool)])
    return out, mask, None if close is None else np.concatenate([close, np.zeros(a.size, bool)])


def _with_places(
    w: Walls, o: Openings, points: tuple[I64, F64, I64], mask: B8, close: B8 | None
) -> tuple[Openings, B8, B8 | None]:
    """``o`` with an opening [place, place] per point (edge, place, border) where a slab face needs a
    vertex under a window's or notch's corner near the wall face across (:attr:`Near.edge`): selected in
    ``mask`` for the cavity's outline (P', ``close`` None), in ``close`` for the outline (P)."""
    edge, place, _ = points
    if edge.size == 0:
        return o, mask, close
    nan = np.full(edge.size, np.nan)
    out = Openings(
        *(
            np.concatenate(pair)
            for pair in ((o.room, w.room[edge]), (o.edge, edge), (o.a, place), (o.b, place), (o.c, nan), (o.d, nan))
        )
    )
    if close is None:
        return out, np.concatenate([mask, np.ones(edge.size, bool)]), None
    return out, np.concatenate([mask, np.zeros(edge.size, bool)]), np.concatenate([close, np.ones(edge.size, bool)])
