"""Notches: shaped openings that reach a border of their wall's faces, clipped to the room; the 2D
convex-polygon helpers they and the tunnels use.

A notch (:class:`Notches`) is a portal quad on a wall that is not a rectangle in its wall's axes
(any convex quad: a trapezoid doorway from the floor's underside or top, a doorway turned a degree in
its wall, one up to or past the ceiling, one drawn past the wall's end at the cavity's corner, a window
across the floor's top) and reaches or crosses a border of the wall's faces. It is clipped to the room
as the boolean path's cutter is (:func:`notch`: its corners moved along the wall to where both faces
run, cut off at y0 and y1; at a point the outline keeps on a straight wall, cut off there, the rest the
wall after's, or moved onto it where it passes it by ``CONTACT_EPS`` or less: the wall after gets none of it,
as the boolean path's cutters do not); in each face, that shape clipped to the face is a notch in its ring
(:func:`_notch_path`) or a hole (:func:`face_notches`). The panels cut it only where every corner of
its pieces lies on each border line or ``GAP`` from it, every stretch of a border it crosses is
``GAP`` or longer, it touches the wall's ends only at the cavity's corner, and in each face it is one
notch or hole that does not run from border to opposite border, or a cut from its bottom border to its top
one (a slanted doorway through the inner face's whole height: the face falls in columns bounded by its sides,
none beside it where it is flush with that end, as for a joined opening, :func:`_cut_paths`). Across a point a
straight wall keeps, a piece may also leave pieces of the face rings of their own, or run from end to end of its
wall; one touching that point's line in a corner alone parts the face there (:func:`_chains`). Else its room
takes the boolean path.

The helpers, on convex polygons (k, 2) in a face's axes: :func:`clip` (Sutherland–Hodgman, one line),
:func:`chord_at` (where a line meets one), :func:`area2`, :func:`counter_clockwise`. Python loops over
the notches: only walls drawn with such openings have any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ...tolerances import CONTACT_EPS, WELD_EPS
from .walls import GAP, Walls

__all__ = ["Notches", "area2", "chord_at", "clip", "counter_clockwise", "face_notches", "notch", "notch_corners"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Notches:
    """Wall openings (n,) that are not rectangles in their wall's axes (any convex quad, as windows)
    and reach or cross a border of its faces: the floor's underside or top, the ceiling's underside
    or top, the cavity's corner. ``poly``: each one's corners (s along the edge, y), counter-clockwise,
    clipped to where the room is cut (along the wall to where both faces run, in height to [y0, y1])."""

    room: I64
    edge: I64
    poly: list[F64]

    def only(self, keep: B8) -> Notches:
        """The notches where ``keep`` (n,) holds, in order."""
        return Notches(
            self.room[keep], self.edge[keep], [p for p, k in zip(self.poly, keep.tolist(), strict=True) if k]
        )


def notch_corners(w: Walls, notches: Notches) -> dict[int, list[tuple[int, int, float]]]:
    """The notches flush with each corner of the walls' cavity (an end of a wall's span where both faces run,
    ``w.inner0`` / ``w.inner1``), by the edge starting at that corner: (notch, its edge, that end's place along its
    edge), in notch order. A corner where the wall runs on straight (a point the outline keeps) has its place at
    0 or at the edge's length."""
    corners: dict[int, list[tuple[int, int, float]]] = {}
    for k, (e, poly) in enumerate(zip(notches.edge.tolist(), notches.poly, strict=True)):
        if poly[:, 0].min() == w.inner0[e]:
            corners.setdefault(e, []).append((k, e, float(w.inner0[e])))
        if poly[:, 0].max() == w.inner1[e]:
            corners.setdefault(int(w.live_nxt[e]), []).append((k, e, float(w.inner1[e])))
    return corners


def counter_clockwise(poly: F64) -> F64:
    """``poly`` (w, 4, 2) with each quad's corners in counter-clockwise order (positive area in (s, y))."""
    s, y = poly[..., 0], poly[..., 1]
    area2 = (s * np.roll(y, -1, axis=1) - np.roll(s, -1, axis=1) * y).sum(axis=1)
    out = poly.copy()
    out[area2 < 0] = poly[area2 < 0][:, ::-1]
    return out


def clip(poly: F64, axis: int, level: float, above: bool) -> F64:
    """Convex polygon ``poly`` (k, 2) clipped to coordinate ``axis`` >= ``level`` (``above``) or <= it
    (Sutherland–Hodgman); points where a side crosses the line lie on it exactly; repeats dropped."""
    out: list[F64] = []
    k = poly.shape[0]
    for i in range(k):
        p, q = poly[i], poly[(i + 1) % k]
        dp, dq = p[axis] - level, q[axis] - level
        if not above:
            dp, dq = -dp, -dq
        if dp >= 0.0:
            out.append(p)
        if (dp > 0.0 > dq) or (dp < 0.0 < dq):
            x = p + (q - p) * (dp / (dp - dq))
            x[axis] = level
            out.append(x)
    kept = [x for i, x in enumerate(out) if not np.array_equal(x, out[i - 1])] if len(out) > 1 else out
    return np.array(kept, dtype=np.float64).reshape(-1, 2)


def _clip_box(poly: F64, u0: float, u1: float, v0: float, v1: float) -> F64:
    """``poly`` clipped to [u0, u1] × [v0, v1]."""
    for axis, level, above in ((0, u0, True), (0, u1, False), (1, v0, True), (1, v1, False)):
        poly = clip(poly, axis, level, above)
        if poly.shape[0] < 3:
            return poly[:0]  # (a side or a corner left on the line: nothing, whatever count of points)
    return poly


def area2(poly: F64) -> float:
    """Twice the signed area of ``poly`` (k, 2)."""
    s, y = poly[:, 0], poly[:, 1]
    return float((s * np.roll(y, -1) - np.roll(s, -1) * y).sum())


def border_position(face: tuple[float, float, float, float], point: Sequence[float]) -> float:
    """Where ``point`` (on the border of the rectangle ``face`` (u0, u1, v0, v1)) lies along it, counter-clockwise
    from (u0, v0)."""
    u0, u1, v0, v1 = face
    u, v = point
    width, height = u1 - u0, v1 - v0
    if v == v0 and u < u1:
        return u - u0
    if u == u1 and v < v1:
        return width + v - v0
    if v == v1 and u > u0:
        return width + height + u1 - u
    return 2 * width + height + v1 - v


def chord_at(poly: F64, axis: int, level: float) -> tuple[float, float] | None:
    """Where the line ``axis`` = ``level`` meets convex ``poly``: the other coordinate's least and
    greatest, or None where it misses."""
    other = 1 - axis
    hits = []
    k = poly.shape[0]
    for i in range(k):
        p, q = poly[i], poly[(i + 1) % k]
        dp, dq = p[axis] - level, q[axis] - level
        if dp == 0.0:
            hits.append(float(p[other]))
        if (dp > 0.0 > dq) or (dp < 0.0 < dq):
            hits.append(float(p[other] + (q[other] - p[other]) * (dp / (dp - dq))))
    return (min(hits), max(hits)) if hits else None


def _notch_path(piece: F64, u0: float, u1: float, v0: float, v1: float) -> list[list[float]] | None:
    """How a face [u0, u1] × [v0, v1]'s ring runs around ``piece`` (its convex opening, counter-clockwise,
    inside the face): for a notch (sides of it on the border, one run of them) its corners clockwise from
    where the border enters it to where it leaves; for one touching the border at a corner of its own,
    from that corner around it and back; for a hole its corners. None where it touches the border at
    the face's corner, in two points or in two runs (it would split the face: left to the booleans)."""
    k = piece.shape[0]
    u, v = piece[:, 0], piece[:, 1]
    lines = np.stack([u == u0, u == u1, v == v0, v == v1], 1)
    on: B8 = np.asarray(lines.any(axis=1))
    along = (lines & np.roll(lines, -1, axis=0)).any(axis=1)  # side i (i to i + 1) on the border
    if not along.any():
        if not on.any():
            corners: list[list[float]] = piece.tolist()
            return corners
        if on.sum() > 1 or lines.sum() > 1:
            return None
        # One corner on the border (a window whose corner was drawn onto the floor's top): the ring
        # runs to it, around the opening and back to it.
        s = int(np.flatnonzero(on)[0])
        return [piece[(s - i) % k].tolist() for i in range(k + 1)]
    starts = np.flatnonzero(along & ~np.roll(along, 1))
    if starts.size != 1 or along.all():
        return None
    s = int(starts[0])
    n = int(np.argmin(np.roll(along, -s)))  # border sides from s on
    e = (s + n) % k
    inner = [(e + 1 + i) % k for i in range(k - n - 1)]  # corners off the border, e to s the other way
    if on[inner].any():
        return None
    return [piece[(s - i) % k].tolist() for i in range(k - n + 1)]


def _chains(
    piece: F64, u0: float, u1: float, v0: float, v1: float, pinch: Sequence[float] = ()
) -> tuple[F64, list[list[list[float]]]] | None:
    """``piece`` (counter-clockwise, inside the face [u0, u1] × [v0, v1]; repeated corners dropped) and its
    chains: each stretch of its outline off the face's border, from where it leaves the border to where it
    comes back, its corners in order. A corner of it touching the border alone on an end line in ``pinch`` (a
    point a straight wall keeps: the face goes on across it in the wall after) ends one chain and starts the
    next, the face in pieces either side of it; None where one touches the border alone elsewhere (pinched)."""
    keep = np.any(piece != np.roll(piece, 1, axis=0), axis=1)
    piece = piece[keep]
    k = piece.shape[0]
    u, v = piece[:, 0], piece[:, 1]
    lines = np.stack([u == u0, u == u1, v == v0, v == v1], 1)
    on_border = (lines & np.roll(lines, -1, axis=0)).any(axis=1)  # side i (i to i + 1) on the border
    splits = np.isin(u, np.asarray(pinch, np.float64)) & ~on_border & ~np.roll(on_border, 1)
    chains = []
    for s in np.flatnonzero(~on_border & np.roll(on_border, 1)).tolist():
        n = int(np.argmax(np.roll(on_border, -s)))  # the sides of the chain from corner s on
        chain = [piece[s].tolist()]
        for i in range(1, n + 1):
            chain.append(piece[(s + i) % k].tolist())
            if i < n and splits[(s + i) % k]:
                chains.append(chain)
                chain = [chain[-1]]
            elif i < n and lines[(s + i) % k].any():
                return None
        chains.append(chain)
    return piece, chains


def _notch_islands(
    piece: F64, u0: float, u1: float, v0: float, v1: float, pinch: Sequence[float] = ()
) -> list[Any] | None:
    """For ``piece`` (a joined opening, counter-clockwise, inside the face [u0, u1] × [v0, v1]) that meets the
    face's border in several runs without running from its bottom border to its top one (a doorway from the
    floor's top with doorways from its underside on both jambs): [path, rings], the face's ring around it as
    :func:`_notch_path` gives (its side from where the border enters it to where it leaves, clockwise), and
    each piece of the face it encloses with the border (under the middle doorway) as a ring of its own
    [side, p, q] (:func:`_cut_paths`). None where a corner of it touches the border alone."""
    found = _chains(piece, u0, u1, v0, v1, pinch)
    if found is None or len(found[1]) < 2:
        return None
    width, height = u1 - u0, v1 - v0
    box = (float(u0), float(u1), float(v0), float(v1))

    def at(point: list[float]) -> float:
        return border_position(box, point)

    chains = sorted(((at(c[-1]) - at(c[0])) % (2 * (width + height)), c) for c in found[1])
    outer = chains[-1][1]
    return [outer[::-1], [[chain[::-1], chain[0], chain[-1]] for _, chain in chains[:-1]]]


def _end_to_end(
    piece: F64, u0: float, u1: float, v0: float, v1: float, pinch: Sequence[float] = ()
) -> list[Any] | None:
    """For ``piece`` (a joined opening, counter-clockwise, inside the face [u0, u1] × [v0, v1]) that touches
    both of the face's ends (a doorway and a window side by side from the cavity's corner to the other): the
    face falls in pieces, one per stretch of its outline off the border (over the doorway and the window, under
    the window), each a ring of its own [side, p, q] (:func:`_cut_paths`): a piece of a face meets the rest of
    the border in one walk, as the opening is one simple polygon. None where a corner of it touches the border
    alone (pinched) or it fills the face, but for a face ending at a point a straight wall keeps (an end in
    ``pinch``: a slanted doorway through the whole height of an outline subdivided finely), which is then no
    face at all: no ring."""
    found = _chains(piece, u0, u1, v0, v1, pinch)
    if found is None or (not found[1] and u0 not in pinch and u1 not in pinch):
        return None
    return [[chain[::-1], chain[0], chain[-1]] for chain in found[1]]


def _cut_paths(piece: F64, u0: float, u1: float, v0: float, v1: float, pinch: Sequence[float] = ()) -> list[Any] | None:
    """How the face [u0, u1] × [v0, v1] falls in pieces around ``piece`` (a joined opening, counter-clockwise,
    inside the face), which reaches both its bottom and its top border (a doorway beside a gallery up to the
    ceiling's underside): [left, right, rings]. ``left`` (``right``): the piece's side bounding the column on
    its left (right), from the bottom border to the top one; None where the piece touches that end of the face
    (flush with the cavity's corner, or with a point a straight wall keeps: one column, the border running from
    its bottom over that end to its top in one run). Every other stretch of its outline between two of its runs
    along the face's border (at a face's end; between two galleries on a doorway's jambs, over the doorway) bounds a
    piece of the face of its own, in ``rings`` as [side, p, q]: the piece's side from q back to p, and the
    face's border to walk from p to q counter-clockwise (:func:`~.wall_faces._end_ring`; no other opening
    lies there: they keep clear of the piece's span). A corner of it alone on an end line in ``pinch`` (a point
    a straight wall keeps: the face goes on across it in the wall after) parts the column there, each piece of
    it a ring of its own (:func:`_chains`). None where another corner of it touches the border alone (pinched),
    it touches both ends of the face, or two sides run from border to border the same way."""
    found = _chains(piece, u0, u1, v0, v1, pinch)
    if found is None:
        return None
    piece, chains = found
    u = piece[:, 0]
    if piece.shape[0] < 4 or (u.min() <= u0 and u.max() >= u1) or not chains:
        return None
    left: list[list[float]] | None = None
    right: list[list[float]] | None = None
    rings: list[Any] = []
    for chain in chains:
        (pu, pv), (qu, qv) = chain[0], chain[-1]
        p_bottom, q_top = pv == v0 and u0 < pu < u1, qv == v1 and u0 < qu < u1
        p_top, q_bottom = pv == v1 and u0 < pu < u1, qv == v0 and u0 < qu < u1
        if p_bottom and q_top:
            if right is not None:
                return None
            right = chain
        elif p_top and q_bottom:
            if left is not None:
                return None
            left = chain[::-1]
        else:
            rings.append([chain[::-1], chain[0], chain[-1]])
    if (left is None) != (u.min() <= u0) or (right is None) != (u.max() >= u1):
        return None
    return [left, right, rings]


def notch(
    poly: F64,
    s_levels: tuple[float, float, float, float],
    y_levels: tuple[float, float, float, float],
    s_reach: float = WELD_EPS,
) -> F64 | None:
    """A shaped opening (``poly`` (4, 2) in (s, y)) reaching or crossing its wall's borders, clipped
    to where the room is cut, counter-clockwise; an empty one where nothing is left; None where the
    panels cannot cut it. ``s_levels``: 0, the wall's length, the inner face's ends (inner0, inner1);
    ``y_levels``: y0, the floor's top, the ceiling's underside, y1.

    Each corner within ``WELD_EPS`` of one of those lines (of the s ones, ``s_reach``: more on a wall
    off the axes of a plan written to a grid, :func:`~sceneforge.geometry.doors.export_noise`) is put
    on it; then every corner of the pieces the faces get (the opening in the outer face, in the inner
    face, in each slab's band of the inner plane) lies on each line or ``GAP`` or more from it, every
    side and every stretch of a line it crosses is ``GAP`` or longer (or a point: a corner on it), it
    touches the wall's ends only at the cavity's corner, and each face's piece is a hole, one notch that does
    not run from border to opposite border, or a cut from the face's bottom border to its top one
    (:func:`_cut_paths`)."""
    zero, length, inner0, inner1 = s_levels
    y0, floor_top, ceiling, y1 = y_levels
    pts = counter_clockwise(poly[None])[0].copy()
    for axis, levels, reach in ((0, s_levels, s_reach), (1, y_levels, WELD_EPS)):
        for level in levels:
            snap = np.abs(pts[:, axis] - level) <= reach
            pts[snap, axis] = level
    lo_s, hi_s = max(zero, inner0), min(length, inner1)
    # Where the wall runs on straight past its end (a point a rounded plan keeps on it: the cavity's corner there
    # too) the opening goes on across, on the wall after: it is clipped there, the rest of it that wall's. Moved
    # onto the point, a slanted side crossing it was bent there, each wall's piece another shape than the drawn
    # one's, their sides on the point's line apart (left to the booleans, which kept slivers there).
    straight = [level for level, end in ((zero, inner0), (length, inner1)) if level == end]
    for level in straight:
        past = pts[:, 0] < level if level == zero else pts[:, 0] > level
        if np.abs(pts[past, 0] - level).max(initial=0.0) <= CONTACT_EPS:
            # (Past it by CONTACT_EPS or less, the wall after is not cut, as by the booleans (doors.wall_hits): its
            # corners there are moved onto the point, as their cutter's; one alone there parts the face.)
            pts[past, 0] = level
        else:
            pts = clip(pts, 0, level, level == zero)
    if pts.shape[0] < 3:
        return np.zeros((0, 2))
    # Along the wall its corners are moved to where both faces run, as the boolean path's cutters'
    # are (a doorway drawn past the wall's end stops at the wall across); in height it is clipped.
    pts[:, 0] = np.clip(pts[:, 0], lo_s, hi_s)
    pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
    # The turn at each corner: none turns clockwise in a convex shape. A corner moved onto that line between
    # two others moved there (a diamond's corner past the wall's end) turns not at all and is no corner of the
    # shape: kept, it was a vertex on the flush side that the wall across did not get (a crack).
    into, out = pts - np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0) - pts
    turn = into[:, 0] * out[:, 1] - into[:, 1] * out[:, 0]
    pts = pts[turn != 0.0]
    if pts.shape[0] < 3:
        return np.zeros((0, 2))
    if (turn < 0.0).any():
        return None
    clipped = _clip_box(pts, lo_s, hi_s, y0, y1)
    if clipped.shape[0] < 3:
        return clipped.reshape(0, 2)  # only touching the cavity's corner: nothing of the room to cut
    if area2(clipped) <= 2 * GAP * GAP:
        return None
    sides = np.roll(clipped, -1, axis=0) - clipped
    if np.hypot(sides[:, 0], sides[:, 1]).min() < GAP:
        return None
    corners = [clipped]
    for level in (floor_top, ceiling, y0, y1):
        chord = chord_at(clipped, 1, level)
        if chord is not None and 0.0 < chord[1] - chord[0] < GAP:
            return None
        if chord is not None and level in (floor_top, ceiling):
            corners.append(np.array([[chord[0], level], [chord[1], level]]))
    for level, end in ((lo_s, inner0), (hi_s, inner1)):
        chord = chord_at(clipped, 0, level)
        if chord is None or chord[0] == chord[1]:
            continue  # (a corner on that line: a slanted side meeting the wall across there alone)
        if level != end or chord[1] - chord[0] < GAP:
            return None  # at a reflex corner: left to the booleans
        # (At the outline's end only where the wall runs on straight, a point a rounded plan keeps on it: the
        # cavity's corner there too, openings.py pairs it with the notch across.)
    every = np.concatenate(corners)
    for axis, levels in ((0, s_levels), (1, y_levels)):
        for level in levels:
            gap = np.abs(every[:, axis] - level)
            if ((gap > 0.0) & (gap < GAP)).any():
                return None
    for piece, box in (
        (clipped, (zero, length, y0, y1)),
        (_clip_box(clipped, inner0, inner1, floor_top, ceiling), (inner0, inner1, floor_top, ceiling)),
    ):
        if piece.shape[0] == 0:
            continue
        u, v = piece[:, 0], piece[:, 1]
        # Across a point on a straight wall (on its line along a side), the rest of the opening is the wall
        # after's: a slanted side crossing that line leaves the face's corner beside it a ring of its own, and
        # the piece of a wall between two such points (an outline subdivided finely) may run from end to end of
        # it, the face in pieces above and below (:func:`face_notches`).
        # A corner of it alone on that line (drawn onto the point) parts the face there too: the face goes on
        # across it in the wall after, the pieces either side of the corner rings of their own.
        across = any((u == level).any() for level in straight)
        if u.min() <= box[0] and u.max() >= box[1]:
            if across and _end_to_end(piece, *box, straight) is not None:
                continue
            return None
        if v.min() <= box[2] and v.max() >= box[3]:
            # From the bottom border to the top one (a slanted doorway from the floor's top, or below it, up to the
            # ceiling's underside, or above it): the face falls in columns bounded by its sides, as a joined
            # opening's cut does (:func:`face_notches`); none where a corner of it touches the border alone.
            if _cut_paths(piece, *box, straight) is None:
                return None
            continue
        if _notch_path(piece, *box) is None and not (across and _notch_islands(piece, *box, straight) is not None):
            return None
    return clipped


def face_notches(
    w: Walls, notches: Notches, inner: bool, face: tuple[F64, F64, F64, F64]
) -> tuple[dict[int, list[list[Any]]], I64, F64, B8]:
    """Each notch in one side's wall faces (``face``: u0, u1, v0, v1 by edge): by edge, its piece in
    the face as a hole entry [a, b, c, d, path] (:func:`~.wall_faces._cut`); and (edge, height, right end) of the
    vertices the faces across the cavity's corner need on their ends where a notch is flush with it
    (the face before gets them on its right end, the face after on its left)."""
    u0, u1, v0, v1 = face
    before, after = (w.live_prev, w.live_nxt) if inner else (w.prev, w.nxt)
    holes: dict[int, list[list[Any]]] = {}
    ends: list[tuple[int, float, bool]] = []
    for e, poly in zip(notches.edge.tolist(), notches.poly, strict=True):
        box = (float(u0[e]), float(u1[e]), float(v0[e]), float(v1[e]))
        # (The ends where the wall runs on straight, a point the outline keeps: a corner alone there parts the face.)
        pinch = [at for at, on in ((box[0], w.inner0[e] == 0.0), (box[1], w.inner1[e] == w.length[e])) if on]
        piece = _clip_box(poly, *box) if inner else poly
        if piece.shape[0] == 0:
            continue
        lo, hi = piece.min(axis=0), piece.max(axis=0)
        if lo[0] <= box[0] and hi[0] >= box[1]:
            # From one end to the other (a doorway beside a window, from corner to corner): pieces of the face
            # only, rings of their own; a cut of the face's full height leaves no column beside it.
            holes.setdefault(e, []).append([*box, [], None, None, _end_to_end(piece, *box, pinch)])
        elif lo[1] <= box[2] and hi[1] >= box[3]:
            # From the bottom border to the top one (a doorway from the floor's top beside a window up to the
            # ceiling's underside, sharing its jamb): a cut, the columns beside it bounded by its sides.
            left, right, rings = _cut_paths(piece, *box, pinch)  # type: ignore[misc]
            holes.setdefault(e, []).append([lo[0], hi[0], box[2], box[3], [], left, right, rings])
        else:
            path = _notch_path(piece, *box)
            islands = None if path is not None else _notch_islands(piece, *box, pinch)
            if islands is not None:
                # Pieces of the face it encloses with the border: rings of their own (after the path).
                holes.setdefault(e, []).append([lo[0], hi[0], lo[1], hi[1], islands[0], islands[1]])
            else:
                holes.setdefault(e, []).append([lo[0], hi[0], lo[1], hi[1], path])
        for at, across, right in ((box[0], int(before[e]), True), (box[1], int(after[e]), False)):
            chord = chord_at(piece, 0, at) if at in (lo[0], hi[0]) else None
            if chord is not None:
                ends += [(across, chord[0], right), (across, chord[1], right)]
    edge = np.array([x[0] for x in ends], np.int64)
    return holes, edge, np.array([x[1] for x in ends], np.float64), np.array([x[2] for x in ends], bool)
