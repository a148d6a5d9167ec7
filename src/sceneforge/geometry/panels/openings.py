"""Portal quads on walls, sorted into rectangles (:class:`Openings`), windows (:class:`Windows`) and
notches (:class:`~.notches.Notches`) by :func:`openings`; rooms with others left to the boolean path.

The quads on each wall are found by the same test as the boolean path's cutters
(:func:`~sceneforge.geometry.doors.wall_hits`), so both cut the same portals. An opening is a rectangle
in its wall's (along, up) axes, up to float32 rounding of its corners (:func:`rectangle`,
:func:`rect_tolerance`); a window any convex quad ``GAP`` inside the wall's faces (the cavity's
corners, the outline's ends, the floor's top and the ceiling's underside), its box ``GAP`` clear of
the boxes of the wall's other openings; a notch any convex quad reaching those borders
(:mod:`.notches`), its span along the wall ``GAP`` clear of the other openings'.

Along its wall an opening is clipped to where both faces run (the cavity's corner; the outline's
at a reflex corner), as the boolean path's cutters are: a doorway drawn to the wall's end stops at
the wall across. One flush with a face's end notches that face's side, and the face it meets
there (the wall before or after) gets the opening's heights on its end edge, where the opening's
jamb ends (no T-junction); both faces go to earcut. A shaped one that, stopped there, meets the
floor's underside (the ceiling's top) at that corner alone pinches the solid (the wall across and the
slab beside its jamb touch along an edge): its shell fails the closed check
(:func:`~.shell._closed_or_left`), and the booleans cut it through the corner, up to the outline's end.

Rectangles are kept clear of other openings on the same wall (one inside another is left out: the
larger cuts; two that overlap or touch and together make a rectangle are cut as that rectangle,
:func:`_overlaps_joined`; any others that meet are one notch, the outline of their union,
:func:`_unions_joined`), flush with the cavity's corner beside any openings of the other wall flush with
it there (a pillar, :func:`corner_pairs`; one that with one of them would pass through one slab, which the pillar
would touch along an edge alone, is drawn back from the corner first, :func:`_parted`), or with the outline's
(reflex) corner beside any of the other wall flush with it there (their jambs meet along its line,
:func:`~.tunnels._reflex_heights`); every border an opening comes near it
either touches (within ``WELD_EPS``, snapped) or keeps ``GAP`` from. Along a wall off the axes of a plan
written to a grid (a plan turned and written to millimetres), a side within the rounding's reach of the wall's
end or the cavity's corner (:func:`~sceneforge.geometry.doors.export_noise`: 2 mm) is put on it: a doorway drawn
to the corner, left a fraction of a millimetre short of it or past it by the rounding, stops there as drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ...arrays import distinct
from ...tolerances import WELD_EPS
from ..doors import PART, column_reduce, parted, wall_hits
from .joined import joined_notch
from .notches import Notches, counter_clockwise, notch, notch_corners
from .walls import GAP, Walls

__all__ = [
    "Openings",
    "Windows",
    "corner_openings",
    "corner_pairs",
    "near_same_edge",
    "openings",
    "poly_boxes",
    "rect_tolerance",
    "rectangle",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: A quad corner within this (m) of its rectangle's side counts as on it, plus two float32 steps at
#: the quad's coordinates (:func:`rect_tolerance`): exported quads carry float32 rounding (~4 µm at
#: 50 m), and one off by that is still the rectangle it was drawn as, not a shape for the booleans.
_RECT_EPS = 1e-6


def rect_tolerance(quads: F64) -> F64:
    """Per quad (q, 4, k): how far (m) a corner may be off its rectangle's side (:data:`_RECT_EPS`)."""
    reach = np.abs(quads).max(axis=tuple(range(1, quads.ndim)), initial=0.0)
    out: F64 = _RECT_EPS + 2.0 * np.spacing(reach.astype(np.float32)).astype(np.float64)
    return out


@dataclass(slots=True)
class Openings:
    """Wall openings (o,) after clipping and snapping: s in [a, b] along the edge, y in [c, d]."""

    room: I64
    edge: I64
    a: F64
    b: F64
    c: F64
    d: F64


@dataclass(slots=True)
class Windows:
    """Wall openings (w,) that are not rectangles in their wall's axes (a trapezoid, a diamond, any
    convex quad), each wholly inside both faces of its wall and ``GAP`` clear of their borders and
    of the wall's other openings: ``poly`` (w, 4, 2) its corners (s along the edge, y), counter-clockwise."""

    room: I64
    edge: I64
    poly: F64


def openings(w: Walls, quads: F64, quad_room: I64, bad: B8) -> tuple[Openings, Windows, Notches]:
    """Portal quads lying on walls, as rectangles in wall axes, and the other shapes: windows
    (:class:`Windows`) and notches (:class:`~.notches.Notches`); rooms with unusable ones marked in ``bad``."""
    # The same test as the boolean path's cutters (doors.wall_hits), so both cut the same portals.
    hits = wall_hits(quads, quad_room, w.start, w.tangent, -w.inward, w.length, w.first, w.rooms)
    pe, along, y, r_of = hits.edge, hits.along, hits.y, quad_room[hits.quad]
    # On a wall of a run turning both ways that lost its inner face (a filled niche's back): booleans.
    bad[r_of[w.mixed[pe] | w.merged[pe]]] = True
    t, y0, y1 = w.rooms.thickness[r_of], w.rooms.y0[r_of], w.rooms.y1[r_of]
    rect, a, b, c, d = rectangle(along, y, rect_tolerance(quads[hits.quad])[:, None])
    windows = _windows(w, pe, along, y, r_of, ~rect, (a, b, c, d), hits.noise)
    shaped = ~rect & ~windows  # reaching or crossing a border (or unusable): see notches.notch
    rect |= windows | shaped  # left out below: neither cut as rectangles nor sent to the booleans
    s_y = np.stack([along, y], -1)
    c, d = np.maximum(c, y0), np.minimum(d, y1)
    # An opening is cut across the room's inside only: along the wall, clipped to where both the
    # outer and the inner face run (the cavity's corner, or the outline's at a reflex corner), so a
    # doorway drawn to the wall's end stops at the wall across instead of opening the corner.
    inner0, inner1, length = w.inner0[pe], w.inner1[pe], w.length[pe]
    lo_s, hi_s = np.maximum(0.0, inner0), np.minimum(length, inner1)
    a, b = np.maximum(a, lo_s), np.minimum(b, hi_s)
    floor_top, ceiling = y0 + t, y1 - t
    # (A doorway from where the cavity's corner is, 10.05 - 0.1 = 9.950000000000001 against its 9.95, is
    # wholly past it: a snapped to that corner, not a sliver 1e-15 m wide that sent both rooms to the booleans.)
    for target, level in ((c, y0), (c, floor_top), (d, y1), (d, ceiling)):
        snap = np.abs(target - level) <= WELD_EPS
        target[snap] = level[snap]
    # Along a wall off the axes of a plan written to a grid, a side that rounding left a fraction of a
    # millimetre short of the wall's end (a doorway drawn to the cavity's corner) is put on it, as drawn.
    noise = np.maximum(hits.noise, WELD_EPS)
    for target, level in ((a, lo_s), (b, hi_s), (a, hi_s), (b, lo_s)):
        snap = np.abs(target - level) <= noise
        target[snap] = level[snap]
    # Wholly past the cavity's corner: nothing of the room to cut.
    inside = b > a
    pe, a, b, c, d, rect, r_of = pe[inside], a[inside], b[inside], c[inside], d[inside], rect[inside], r_of[inside]
    is_shaped, s_y, noise = shaped[inside], s_y[inside], noise[inside]
    y0, y1, floor_top, ceiling = y0[inside], y1[inside], floor_top[inside], ceiling[inside]
    inner0, inner1, length, lo_s, hi_s = inner0[inside], inner1[inside], length[inside], lo_s[inside], hi_s[inside]
    # Openings flush with a cavity's corner from both walls meeting there, both into one slab, pinch the
    # solid along the pillar's edge: the one of the wall before the corner is drawn back from it, as the
    # boolean path's cutters are (:func:`~sceneforge.geometry.doors.pinched_corners`); a shaped one, and one left
    # narrower than PART, by them.
    b, pinch = _parted(w, pe, b, s_y, noise, is_shaped, (lo_s, hi_s, floor_top, ceiling))
    bad[r_of[pinch & (is_shaped | (b - a < PART))]] = True  # (one left narrower than PART: no doorway there)

    def clear(v: F64, level: F64) -> B8:
        out: B8 = (v == level) | (np.abs(v - level) >= GAP)
        return out

    good = (
        rect
        # Flush with a face's end (the cavity's corner, the outline's) or clear of it, on both faces.
        & clear(a, lo_s)
        & clear(a, np.zeros_like(a))
        & clear(a, inner0)
        & clear(b, hi_s)
        & clear(b, length)
        & clear(b, inner1)
        & (b - a >= GAP)
        & clear(c, y0)
        & clear(c, floor_top)
        & clear(d, y1)
        & clear(d, ceiling)
        & (d - c >= GAP)
        & (d >= floor_top + GAP)
        & (c <= ceiling - GAP)
    )
    bad[r_of[~good & ~is_shaped]] = True
    is_window = windows[inside]
    win_edge, win_poly = pe[is_window], np.stack([along, y], -1)[windows]
    win_ok = good[is_window]
    good &= ~is_window & ~is_shaped
    notches = _notches(w, pe[is_shaped], s_y[is_shaped], noise[is_shaped], bad)
    edge, a, b, c, d = pe[good], a[good], b[good], c[good], d[good]
    order = np.lexsort((d, c, b, a, edge))
    edge, a, b, c, d = edge[order], a[order], b[order], c[order], d[order]
    # The same opening twice (two portals on one doorway) cuts once.
    repeat = np.zeros(edge.size, dtype=bool)
    repeat[1:] = (edge[1:] == edge[:-1]) & (a[1:] == a[:-1]) & (b[1:] == b[:-1]) & (c[1:] == c[:-1]) & (d[1:] == d[:-1])
    edge, a, b, c, d = edge[~repeat], a[~repeat], b[~repeat], c[~repeat], d[~repeat]
    edge, a, b, c, d = _overlaps_joined(edge, a, b, c, d)
    # One inside another (within WELD_EPS: a portal each way, drawn twice with export noise, or a
    # smaller one in a doorway) cuts nothing more: left out, the larger cuts (of two alike, the first).
    # Only openings whose spans along the wall come within GAP can be either (each pair both ways).
    i, j = near_same_edge(edge, a, b, GAP)
    i, j = np.concatenate([i, j]), np.concatenate([j, i])
    within = (
        (a[j] <= a[i] + WELD_EPS) & (b[j] >= b[i] - WELD_EPS) & (c[j] <= c[i] + WELD_EPS) & (d[j] >= d[i] - WELD_EPS)
    )
    mutual = (
        (a[i] <= a[j] + WELD_EPS) & (b[i] >= b[j] - WELD_EPS) & (c[i] <= c[j] + WELD_EPS) & (d[i] >= d[j] - WELD_EPS)
    )
    inside = np.zeros(edge.size, dtype=bool)
    inside[i[within & (~mutual | (j < i))]] = True
    edge, a, b, c, d = edge[~inside], a[~inside], b[~inside], c[~inside], d[~inside]
    # Openings on one wall must keep GAP apart in s or in y (every pair of one edge near in s), or meet
    # (within WELD_EPS): those are cut together as the outline of their union (:mod:`.joined`).
    i, j = near_same_edge(edge, a, b, GAP)
    apart = (a[j] >= b[i] + GAP) | (a[i] >= b[j] + GAP) | (c[j] >= d[i] + GAP) | (c[i] >= d[j] + GAP)
    meet = (a[j] <= b[i] + WELD_EPS) & (a[i] <= b[j] + WELD_EPS) & (c[j] <= d[i] + WELD_EPS) & (c[i] <= d[j] + WELD_EPS)
    bad[w.room[edge[i[~apart & ~meet]]]] = True
    if (~apart & meet).any():
        (edge, a, b, c, d), notches = _unions_joined(w, (edge, a, b, c, d), i[meet], j[meet], notches, bad)
    # Openings flush with one corner line from both walls meeting there leave a pillar between them:
    # its two jambs meet along that line. At the cavity's corner (any number from each wall), each
    # jamb gets the heights of those across (:func:`~.tunnels._pillar_heights`): no sill or lintel of one falls
    # where another passes through a slab, as two that reach into one slab were parted above (:func:`_parted`);
    # at the outline's (reflex) corner each gets them on its outer edge (:func:`~.tunnels._reflex_heights`); where
    # the two walls run on straight (the cavity's corner there too) they must span the same heights, or be one
    # from each wall whose jambs there the panels part (:func:`_straight_pairs_ok`). Else the boolean path builds
    # the room.
    ne = w.room.size
    lo_of, hi_of = corner_openings(w, edge, a, b)
    at_lo, at_hi = a == 0.0, b == w.length[edge]
    both, from_before = np.zeros(ne, dtype=bool), np.zeros(ne, dtype=bool)
    both[edge[at_lo & (w.inner0[edge] >= 0.0)]] = True
    from_before[w.nxt[edge[at_hi]]] = True
    both &= from_before
    if both.any():
        # (corner's edge, c, d) of the openings flush with it from the edge after, and from the edge before.
        rows = np.concatenate(
            [
                np.column_stack([edge[at_lo], c[at_lo], d[at_lo]]),
                np.column_stack([w.nxt[edge[at_hi]], c[at_hi], d[at_hi]]),
            ]
        )
        unique, count = np.unique(rows, axis=0, return_counts=True)
        lonely = unique[count == 1, 0].astype(np.int64)
        # Each such corner: one opening from each wall, which the panels part, or the booleans (counts per edge
        # up front: a scan of every opening for each corner was a loop of thousands over 100,000 openings).
        lonely = distinct(lonely[both[lonely]])
        mine, theirs = np.flatnonzero(at_lo), np.flatnonzero(at_hi)
        one = (np.bincount(edge[mine], minlength=ne) == 1) & (np.bincount(w.nxt[edge[theirs]], minlength=ne) == 1)
        pair = lonely[one[lonely]]
        mine_of, theirs_of = np.full(ne, -1), np.full(ne, -1)
        mine_of[edge[mine]], theirs_of[w.nxt[edge[theirs]]] = mine, theirs
        ok = np.zeros(ne, dtype=bool)
        ok[pair] = _straight_pairs_ok(w, pair, c, d, mine_of[pair], theirs_of[pair])
        bad[w.room[lonely[~ok[lonely]]]] = True
    win_edge, win_poly = _distinct_windows(win_edge[win_ok], win_poly[win_ok])
    s, y = win_poly[..., 0], win_poly[..., 1]
    boxes = [np.stack([s.min(1), s.max(1), y.min(1), y.max(1)], 1)]
    if notches.edge.size:
        # A notch at the cavity's corner with another opening flush with it too (of the wall across): a
        # pillar. With one rectangle there the rectangle's jamb gets the notch side's ends
        # (:func:`_notch_pillar_ok`); with a notch of that wall, each side gets the other's ends
        # (:func:`_notch_pair_ok`); with several openings the panels do not match its jambs up.
        for corner, flush in notch_corners(w, notches).items():
            for k, e, at in flush:
                # The rectangle across flush with that corner, if any (of the wall before at a notch's start).
                j = hi_of[w.live_prev[e]] if e == corner else lo_of[corner]
                # (Where the wall runs on straight, a point a rounded plan keeps on it, only with a notch across.)
                straight = at == 0.0 or at == w.length[e]
                if j != -1 and (straight or not _notch_pillar_ok(w, e, notches.poly[k], at, int(j), c, d)):
                    bad[notches.room[k]] = True
            # (Where the wall runs on straight, a notch flush with that point from each wall: one opening across it.)
            straight = w.inner0[corner] == 0.0
            if straight and len(flush) == 2:
                _straight_sides_met(w, notches, flush)
            # (One alone there: its side on the point's line is a jamb, tunnels.window_tunnels; a corner alone on
            # it parts the face there, notches._chains.)
            if len(flush) > 2 or (len(flush) == 2 and not _notch_pair_ok(w, notches, flush)):
                bad[w.room[corner]] = True
        boxes.append(poly_boxes(notches.poly))
    shaped_edge = np.concatenate([win_edge, notches.edge])
    is_notch = np.arange(shaped_edge.size) >= win_edge.size
    _windows_apart(w, shaped_edge, np.concatenate(boxes), is_notch, edge, np.stack([a, b, c, d], 1), bad)
    windows_out = Windows(w.room[win_edge], win_edge, win_poly)
    return Openings(w.room[edge], edge, a, b, c, d), windows_out, notches


def _straight_pairs_ok(w: Walls, e: I64, c: F64, d: F64, i: I64, j: I64) -> B8:
    """Whether openings ``i`` (flush with the start of edges ``e``) and ``j`` (with the end of the edge before each),
    where the two walls run on straight, of other heights, can be cut as the panels cut them: one opening where
    both run, each jamb there only where the other does not (:func:`~.tunnels.tunnels`). Their bottoms and tops
    equal or GAP or more apart (no strip of jamb thinner), and the floor's (ceiling's) slab face in the inner
    plane, where both pass into it, from one height: its edges there meet with no vertex between."""
    r = w.room[e]
    floor_top = w.rooms.y0[r] + w.rooms.thickness[r]
    ceiling = w.rooms.y1[r] - w.rooms.thickness[r]
    ends = np.stack([c[i], d[i]], 1)[:, :, None] - np.stack([c[j], d[j]], 1)[:, None, :]
    apart = ((ends == 0.0) | (np.abs(ends) >= GAP)).all(axis=(1, 2))
    floor_ok = (c[i] == c[j]) | (np.maximum(c[i], c[j]) >= floor_top)
    ceiling_ok = (d[i] == d[j]) | (np.minimum(d[i], d[j]) <= ceiling)
    out: B8 = apart & floor_ok & ceiling_ok
    return out


def poly_boxes(polys: Sequence[F64]) -> F64:
    """(n, 4): each polygon's (k, 2) box in its wall's axes, [a, b, c, d] (along from, to; up from, to)."""
    return np.array([[p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()] for p in polys]).reshape(-1, 4)


def _unions_joined(
    w: Walls, rects: tuple[I64, F64, F64, F64, F64], i: I64, j: I64, notches: Notches, bad: B8
) -> tuple[tuple[I64, F64, F64, F64, F64], Notches]:
    """The rectangles ``rects`` (edge, a, b, c, d; sorted by edge, then a) that meet one another (pairs
    ``i``, ``j``) taken out, each group's union added to ``notches`` as one opening of its outline
    (:func:`~.joined.joined_notch`); rooms with a group the panels do not cut marked in ``bad`` (its
    rectangles kept: the room goes to the booleans). A Python loop over the groups: only walls drawn with
    openings that meet have any."""
    edge, a, b, c, d = rects
    group = _components(edge.size, i, j)
    members: dict[int, list[int]] = {}
    for k in np.unique(np.concatenate([i, j])).tolist():
        members.setdefault(int(group[k]), []).append(k)
    gone = np.zeros(edge.size, dtype=bool)
    rooms, edges, polys = [], [], []
    r = w.rooms
    for rows in members.values():
        e = int(edge[rows[0]])
        room = int(w.room[e])
        t, y0, y1 = float(r.thickness[room]), float(r.y0[room]), float(r.y1[room])
        outline = joined_notch(
            list(zip(a[rows].tolist(), b[rows].tolist(), c[rows].tolist(), d[rows].tolist(), strict=True)),
            (0.0, float(w.length[e]), float(w.inner0[e]), float(w.inner1[e])),
            (y0, y0 + t, y1 - t, y1),
        )
        if outline is None:
            bad[room] = True
            continue
        gone[rows] = True
        rooms.append(room)
        edges.append(e)
        polys.append(outline)
    keep = ~gone
    joined = Notches(
        np.concatenate([notches.room, np.array(rooms, np.int64)]),
        np.concatenate([notches.edge, np.array(edges, np.int64)]),
        [*notches.poly, *polys],
    )
    return (edge[keep], a[keep], b[keep], c[keep], d[keep]), joined


def notch_corner_side(poly: F64, at: float) -> tuple[float, float] | None:
    """The span (bottom, top) of the side of notch piece ``poly`` (k, 2) that lies on the line s = ``at``
    (its end flush with the cavity's corner), None where it touches that line in a point only."""
    y = poly[poly[:, 0] == at, 1]
    return (float(y.min()), float(y.max())) if y.size > 1 and y.min() < y.max() else None


def _notch_pillar_ok(w: Walls, e: int, poly: F64, at: float, j: int, c: F64, d: F64) -> bool:
    """Whether the pillar between a notch flush with the cavity's corner (its side on s = ``at`` of
    edge ``e``) and rectangle ``j`` of the wall across, flush with the same corner, is one the panels
    build: the rectangle's jamb gets the notch side's ends (:func:`~.tunnels._pillar_heights`), the end of the
    notch's inner face beside it the rectangle's bottom and top (:func:`~.wall_faces._side_span`: where the
    notch meets that end, not its box) and so does the notch's side, on its inner edge
    (:func:`~.tunnels._notch_pillar_sides`); as for two rectangles neither may pass into a slab the other stops
    short of."""
    if j < 0:
        return False
    span = notch_corner_side(poly, at)
    if span is None:
        return False
    r = int(w.room[e])
    top, ceiling = w.rooms.y0[r] + w.rooms.thickness[r], w.rooms.y1[r] - w.rooms.thickness[r]
    lo, hi = span
    return not (lo < c[j] < top or c[j] < lo < top or ceiling < d[j] < hi or ceiling < hi < d[j])


def _notch_pair_ok(w: Walls, notches: Notches, flush: list[tuple[int, int, float]]) -> bool:
    """Whether the pillar between two notches flush with one cavity corner from its two walls (``flush``: each
    notch, its edge, its side's place on the corner) is one the panels build: each side on the corner's line,
    on its inner edge the other's ends (:func:`~.tunnels._notch_pillar_sides`); neither passing into a slab the
    other stops short of. (Rectangles of both walls through one slab there were parted before they were joined,
    :func:`_parted`: not both flush with the corner.)"""
    (k, e, at), (m, f, other) = flush
    if e == f:
        return False
    mine, across = notch_corner_side(notches.poly[k], at), notch_corner_side(notches.poly[m], other)
    if mine is None or across is None:
        return False
    spans = mine, across
    if (at == 0.0 and other == w.length[f]) or (at == w.length[e] and other == 0.0):
        # Where the wall runs on straight (a point a rounded plan keeps on it): one opening across it, no side
        # there (:func:`~.tunnels.window_tunnels`), so the two sides must be one.
        return mine == across
    r = int(w.room[e])
    top, ceiling = w.rooms.y0[r] + w.rooms.thickness[r], w.rooms.y1[r] - w.rooms.thickness[r]
    return not any(
        a < b < top or b < a < top or ceiling < q < p or ceiling < p < q
        for (a, p), (b, q) in ((spans[0], spans[1]), (spans[1], spans[0]))
    )


def _straight_sides_met(w: Walls, notches: Notches, flush: list[tuple[int, int, float]]) -> None:
    """The sides of two notches on the line of a point on a straight wall (``flush``: each notch, its edge, its
    side's place on that line, as :func:`_notch_pair_ok` takes them) made one where they are a float rounding
    apart: each piece was clipped there in its own wall's axes (:func:`~.notches.notch`), and a slanted side
    crossing the line met it at heights a few ulps apart (:func:`_notch_pair_ok` asks them alike)."""
    (k, e, at), (m, f, other) = flush
    if e == f or not ((at == 0.0 and other == w.length[f]) or (at == w.length[e] and other == 0.0)):
        return
    mine, across = notch_corner_side(notches.poly[k], at), notch_corner_side(notches.poly[m], other)
    if mine is None or across is None or mine == across:
        return
    if max(abs(mine[0] - across[0]), abs(mine[1] - across[1])) > WELD_EPS:
        return
    poly = notches.poly[m]
    on = poly[:, 0] == other
    y = poly[on, 1]
    poly[on, 1] = np.where(y == across[0], mine[0], np.where(y == across[1], mine[1], y))


def _notches(w: Walls, edge: I64, s_y: F64, noise: F64, bad: B8) -> Notches:
    """The shaped wall hits that are not windows (``s_y`` (n, 4, 2) their corners in (s, y)) as
    notches (:func:`~.notches.notch`; ``noise`` (n,) how far along the wall a corner is put on the wall's
    end or the cavity's corner, :func:`~sceneforge.geometry.doors.export_noise`), each shape once per wall
    (a portal each way); rooms with ones the panels cannot cut marked in ``bad``. A Python loop: only walls
    drawn with such openings have any."""
    rooms, edges, polys, seen = [], [], [], set()
    r = w.rooms
    for e, corners, reach in zip(edge.tolist(), s_y, noise.tolist(), strict=True):
        room = int(w.room[e])
        t, y0, y1 = float(r.thickness[room]), float(r.y0[room]), float(r.y1[room])
        levels = (0.0, float(w.length[e]), float(w.inner0[e]), float(w.inner1[e]))
        piece = notch(corners, levels, (y0, y0 + t, y1 - t, y1), reach)
        if piece is None:
            bad[room] = True
            continue
        if piece.shape[0] == 0:
            continue
        first = int(np.lexsort((piece[:, 1], piece[:, 0]))[0])
        key = (e, np.roll(piece, -first, axis=0).tobytes())
        if key in seen:
            continue
        seen.add(key)
        rooms.append(room)
        edges.append(e)
        polys.append(piece)
    return Notches(np.array(rooms, np.int64), np.array(edges, np.int64), polys)


def _windows(
    w: Walls, edge: I64, along: F64, y: F64, room: I64, shaped: B8, box: tuple[F64, F64, F64, F64], noise: F64
) -> B8:
    """Which wall hits are windows (:class:`Windows`): not rectangles (``shaped``), with edges and
    area of their own, ``GAP`` inside both faces of their wall (the cavity's corners, the outline's
    ends, the floor's top and the ceiling's underside), before any clipping; along the wall also more
    than ``noise`` (:func:`~sceneforge.geometry.doors.export_noise`) inside them: a window drawn to the
    cavity's corner of a plan turned and written to millimetres, rounded a fraction of a millimetre off
    it, is a notch flush with the corner (:func:`~.notches.notch` puts it there), not a hole beside a
    strip of wall that thin."""
    a, b, c, d = box
    lo_s = np.maximum(0.0, w.inner0[edge])
    hi_s = np.minimum(w.length[edge], w.inner1[edge])
    floor_top = w.rooms.y0[room] + w.rooms.thickness[room]
    ceiling = w.rooms.y1[room] - w.rooms.thickness[room]
    inside = (a >= lo_s + GAP) & (b <= hi_s - GAP) & (c >= floor_top + GAP) & (d <= ceiling - GAP)
    inside &= (a - lo_s > noise) & (hi_s - b > noise)
    ds, dy = np.roll(along, -1, axis=1) - along, np.roll(y, -1, axis=1) - y
    sides = np.sqrt(ds * ds + dy * dy).min(axis=1, initial=np.inf) if along.size else np.zeros(0)
    area2 = (along * np.roll(y, -1, axis=1) - np.roll(along, -1, axis=1) * y).sum(axis=1)
    out: B8 = shaped & inside & (sides >= GAP) & (np.abs(area2) >= 2 * GAP * GAP)
    return out


def _distinct_windows(edge: I64, poly: F64) -> tuple[I64, F64]:
    """Windows counter-clockwise from their lowest corner (least s, then least y), each shape once per
    wall: the same window given twice (two one-way portals, one each way) cuts once, as a rectangle does."""
    if edge.size == 0:
        return edge, poly.reshape(0, 4, 2)
    ccw = counter_clockwise(poly)
    first = np.lexsort((ccw[..., 1], ccw[..., 0]), axis=-1)[:, 0]
    turn = (first[:, None] + np.arange(4)) % 4
    ccw = np.take_along_axis(ccw, turn[..., None], axis=1)
    rows = np.column_stack([edge.astype(np.float64), ccw.reshape(-1, 8)])
    _, keep = np.unique(rows, axis=0, return_index=True)
    keep.sort()
    return edge[keep], ccw[keep]


def _windows_apart(w: Walls, edge: I64, shaped: F64, is_notch: B8, rect_edge: I64, rect: F64, bad: B8) -> None:
    """Marks in ``bad`` the rooms where a window's or notch's box (``shaped`` (n, 4): [a, b, c, d])
    comes within ``GAP`` of another opening's on the same wall (a rectangle's in ``rect``, or another
    window's or notch's). A notch (``is_notch``) must be ``GAP`` apart from the others along the wall: one
    above or below another opening (a notch in the slab's band under a doorway standing on the floor's top)
    made faces whose edges did not meet. Only the pairs of one wall that come within ``GAP`` along it are
    compared (:func:`near_same_edge`), so the cost grows with the openings, not with the windows times the
    openings of the whole scene."""
    if edge.size == 0:
        return
    boxes = np.concatenate([shaped, rect])
    edges = np.concatenate([edge, rect_edge])
    window = np.arange(edges.size) < edge.size
    notch = np.concatenate([is_notch, np.zeros(rect_edge.size, dtype=bool)])
    order = np.lexsort((boxes[:, 0], edges))
    edges, window, notch = edges[order], window[order], notch[order]
    a, b, c, d = boxes[order].T
    i, j = near_same_edge(edges, a, b, GAP)
    apart = (a[j] >= b[i] + GAP) | (a[i] >= b[j] + GAP)
    apart |= ~(notch[i] | notch[j]) & ((c[j] >= d[i] + GAP) | (c[i] >= d[j] + GAP))
    bad[w.room[edges[i[~apart & (window[i] | window[j])]]]] = True


def _overlaps_joined(edge: I64, a: F64, b: F64, c: F64, d: F64) -> tuple[I64, F64, F64, F64, F64]:
    """Openings of one wall that overlap or touch (within ``WELD_EPS``) where their union is their
    bounding rectangle — the same heights, overlapping along the wall (a doorway drawn twice, shifted;
    a double door as two portals), or the same span along the wall, overlapping in height — joined into
    that rectangle, which is what the boolean path cuts for them. Pairs where one holds the other are
    left to the caller (the larger cuts). Returned sorted by edge, then ``a``, as given."""
    while True:
        i, j = near_same_edge(edge, a, b, WELD_EPS)
        if i.size == 0:
            break
        same_heights = (np.abs(c[i] - c[j]) <= WELD_EPS) & (np.abs(d[i] - d[j]) <= WELD_EPS)
        same_span = (np.abs(a[i] - a[j]) <= WELD_EPS) & (np.abs(b[i] - b[j]) <= WELD_EPS)
        same_span &= (c[j] <= d[i] + WELD_EPS) & (c[i] <= d[j] + WELD_EPS)
        j_in_i = (
            (a[i] <= a[j] + WELD_EPS)
            & (b[i] >= b[j] - WELD_EPS)
            & (c[i] <= c[j] + WELD_EPS)
            & (d[i] >= d[j] - WELD_EPS)
        )
        i_in_j = (
            (a[j] <= a[i] + WELD_EPS)
            & (b[j] >= b[i] - WELD_EPS)
            & (c[j] <= c[i] + WELD_EPS)
            & (d[j] >= d[i] - WELD_EPS)
        )
        join = (same_heights | same_span) & ~j_in_i & ~i_in_j
        if not join.any():
            break
        group = _components(edge.size, i[join], j[join])
        keep = group == np.arange(edge.size)
        a, c = _group_reduce(np.minimum, a, group), _group_reduce(np.minimum, c, group)
        b, d = _group_reduce(np.maximum, b, group), _group_reduce(np.maximum, d, group)
        edge, a, b, c, d = edge[keep], a[keep], b[keep], c[keep], d[keep]
        order = np.lexsort((d, c, b, a, edge))
        edge, a, b, c, d = edge[order], a[order], b[order], c[order], d[order]
    return edge, a, b, c, d


def _components(n: int, i: I64, j: I64) -> I64:
    """Per item of ``n``, the smallest item of its component in the graph of pairs (``i``, ``j``): a
    union-find over the pairs (few: only walls drawn with overlapping openings have any)."""
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    for x, y in zip(i.tolist(), j.tolist(), strict=True):
        rx, ry = root(x), root(y)
        parent[max(rx, ry)] = min(rx, ry)
    return np.array([root(k) for k in range(n)], dtype=np.int64)


def _parted(
    w: Walls, pe: I64, b: F64, s_y: F64, noise: F64, shaped: B8, bounds: tuple[F64, F64, F64, F64]
) -> tuple[F64, B8]:
    """The openings' ends ``b`` with those flush with a pinched cavity's corner at their end drawn back from it
    (:func:`~sceneforge.geometry.doors.parted`, which the boolean path's cutters take too), and which openings
    that is. ``s_y`` (n, 4, 2): the openings' corners (along, up); a corner within ``noise`` of a corner of the
    cavity lies on it; ``bounds``: where they stop along the wall and the slabs' inner faces (``lo_s``, ``hi_s``,
    ``floor_top``, ``ceiling``)."""
    lo_s, hi_s, floor_top, ceiling = bounds
    s = np.clip(s_y[..., 0], lo_s[:, None], np.maximum(lo_s, hi_s)[:, None])
    at_end = (w.inner1[pe] < w.length[pe])[:, None] & (np.abs(s - hi_s[:, None]) <= noise[:, None])
    at_start = (w.inner0[pe] > 0.0)[:, None] & (np.abs(s - lo_s[:, None]) <= noise[:, None])
    pinch, back = parted(w.live_nxt, w.tangent, pe, s_y[..., 1], at_end, at_start, (floor_top, ceiling))
    return np.where(pinch & ~shaped, hi_s - back, b), pinch


def _group_reduce(ufunc: np.ufunc, values: F64, group: I64) -> F64:
    """``values`` with each entry set to ``ufunc`` over its group (``group`` holds each one's root)."""
    out = values.copy()
    ufunc.at(out, group, values)
    return out


def corner_openings(w: Walls, edge: I64, a: F64, b: F64) -> tuple[I64, I64]:
    """Per edge: the opening flush with the cavity's corner at its start (``lo``) and at its end
    (``hi``): its index, -1 for none, -2 for several."""
    ne = w.room.size
    out = []
    for flush in (a == w.inner0[edge], b == w.inner1[edge]):
        index = np.full(ne, -1, dtype=np.int64)
        index[edge[flush]] = np.flatnonzero(flush)
        index[np.bincount(edge[flush], minlength=ne) > 1] = -2
        out.append(index)
    return out[0], out[1]


def corner_pairs(w: Walls, edge: I64, a: F64, b: F64, outline: bool = False) -> tuple[I64, I64]:
    """Every pair (i, j) of openings flush with one cavity corner from the two walls meeting there: ``i`` at the
    start of its edge, ``j`` at the end of the live edge before it (a pillar's two jambs, :func:`corner_openings`
    for each corner's only one). ``outline``: flush with one (reflex) corner of the outline instead, ``j`` at
    the end of the edge before (two jambs meeting along the corner's line, on their outer edges)."""
    if outline:
        lo = np.flatnonzero((a == 0.0) & (w.inner0[edge] < 0.0))
        hi = np.flatnonzero(b == w.length[edge])
        key_lo, key_hi = w.prev[edge[lo]], edge[hi]
    else:
        lo = np.flatnonzero(a == w.inner0[edge])
        hi = np.flatnonzero(b == w.inner1[edge])
        key_lo, key_hi = w.live_prev[edge[lo]], edge[hi]
    order = np.argsort(key_hi, kind="stable")
    first = np.searchsorted(key_hi[order], key_lo, side="left")
    n = np.searchsorted(key_hi[order], key_lo, side="right") - first
    i = np.repeat(lo, n)
    at = np.repeat(first, n) + np.arange(i.size) - np.repeat(np.cumsum(n) - n, n)
    return i, hi[order[at]]


def near_same_edge(edge: I64, a: F64, b: F64, reach: float) -> tuple[I64, I64]:
    """Every pair (i, j), i < j, of openings on one edge whose spans come within ``reach``: the j
    after i (openings sorted by edge, then ``a``) that start before ``b[i] + reach``. A pair not
    among them is ``reach`` or more apart along the wall. Found by one search per opening, in
    (edge, a) order (complex numbers compare that way), so a wall of n doorways in a row costs
    O(n log n), not its n² pairs."""
    keys = edge.astype(np.float64) + 1j * a
    end = np.searchsorted(keys, edge.astype(np.float64) + 1j * (b + reach), side="left")
    n = np.maximum(end - np.arange(edge.size) - 1, 0)
    i = np.repeat(np.arange(edge.size), n)
    j = i + 1 + np.arange(i.size) - np.repeat(np.cumsum(n) - n, n)
    return i, j


def rectangle(u: F64, v: F64, eps: F64) -> tuple[B8, F64, F64, F64, F64]:
    """Whether each quad, its four corners at (``u``, ``v``) (n, 4), is a rectangle along the u and v
    axes within ``eps`` (n, 1): each corner on two sides, and the four (low or high u, low or high v)
    combinations once each (as bits of 15). Also its bounds: low u, high u, low v, high v (n,)."""
    u0, u1 = column_reduce(np.minimum, u), column_reduce(np.maximum, u)
    v0, v1 = column_reduce(np.minimum, v), column_reduce(np.maximum, v)
    on_u0, on_u1 = np.abs(u - u0[:, None]) <= eps, np.abs(u - u1[:, None]) <= eps
    on_v0, on_v1 = np.abs(v - v0[:, None]) <= eps, np.abs(v - v1[:, None]) <= eps
    corners_on_sides = column_reduce(np.logical_and, (on_u0 | on_u1) & (on_v0 | on_v1))
    rect = corners_on_sides & (column_reduce(np.bitwise_or, np.left_shift(1, on_u1 * 2 + on_v1)) == 15)
    return rect, u0, u1, v0, v1
