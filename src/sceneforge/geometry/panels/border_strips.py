"""Strips from openings to a wall face's borders as quads of their own, so the ring keeps the border's
vertices.

Before earcut, a face's ring keeps the vertices its borders get beside openings' corners
(:mod:`.near`) as corners where it can (earcut drops the points of a straight run, and the T-junction
mend's fans over them took Delaunay flips growing with the square of the openings): an opening whose
corners got them, with none between and no other opening between it and that border, is a notch to
the border, the strip a quad of its own (rectangles: :func:`border_strips`; windows and notches of
other shapes, by their side along the border: :func:`shaped_strips`), and one with strips (or
reaching) both borders a cut from border to border, the face's columns beside it
(:func:`strip_notches`). Two openings one over the other with overlapping spans and no other near
them (a doorway under a window) are one opening with the band between them a quad
(:func:`stacked_pairs`): else the band is a strip the wall's length whose vertices earcut joined metres
apart. A cut whose sides are not straight (a pair a little along, a trapezoid) bounds its columns by
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...arrays import distinct
from .openings import Openings, Windows, near_same_edge
from .walls import GAP

__all__ = ["border_strips", "shaped_strips", "stacked_pairs", "strip_notches"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: An opening of a wall face as :func:`shaped_strips` weighs it: (which, a, b, c, d, corners or None).
_StripRow = tuple[int, float, float, float, float, F64 | None]


def shaped_strips(
    entries: dict[int, list[list[Any]]],
    win: Windows,
    o: Openings,
    holes: F64,
    face: tuple[F64, F64, F64, F64],
    places: tuple[I64, F64, I64],
) -> tuple[Windows, tuple[I64, F64]]:
    """Windows and notches of other shapes (holes in this face) whose side along the face's bottom (top)
    border has a vertex on that border under (over) each of its two corners (``places``: edge, place,
    border) and no other between its box's sides, and no other opening between them and that border:
    each becomes a notch to that border in ``entries`` (by edge, [a, b, c, d, path] as
    :func:`~.notches.face_notches` gives them; changed in place, a converted window added), the strip between
    a quad of its own. Returns the windows left as holes and the strips (edge (k,), quads (k, 4, 2)).

    As :func:`border_strips` for rectangles: earcut drops the points of a straight run of its ring
    (the border's vertices under the corners), and the T-junction mend fans the long border edge over
    them from one corner; 1,000 trapezoid windows 10 cm over a long wall's bottom border took ~2,000
    rounds of Delaunay flips to undo those fans. As notch corners they stay in the ring."""
    u0, u1, v0, v1 = face
    p_edge, p_place, p_border = places
    edges = set(entries) | set(win.edge.tolist())
    empty = (win, (np.zeros(0, np.int64), np.zeros((0, 4, 2))))
    if not edges:
        return empty
    mine = np.isin(p_edge, np.array(sorted(edges), np.int64))
    listed: dict[tuple[int, int], list[float]] = {}
    for e, place, border in zip(p_edge[mine].tolist(), p_place[mine].tolist(), p_border[mine].tolist(), strict=True):
        listed.setdefault((e, border), []).append(place)
    if not listed:
        return empty
    spots = {key: distinct(np.array(v, np.float64)) for key, v in listed.items()}
    # Each edge's openings as (which, a, b, c, d, corners counter-clockwise or None): rectangles (which -1,
    # no corners), its notches' entries (which: their place in ``entries``; corners where a hole), its
    # windows (which -2 - their row in ``win``).
    by_edge: dict[int, list[_StripRow]] = {}
    for e in sorted(edges):
        fu0, fu1, fv0, fv1 = float(u0[e]), float(u1[e]), float(v0[e]), float(v1[e])
        rows: list[_StripRow] = [(-1, a, b, c, d, None) for a, b, c, d in holes[o.edge == e].tolist()]
        for k, h in enumerate(entries.get(e, [])):
            hole = h[0] > fu0 and h[1] < fu1 and h[2] > fv0 and h[3] < fv1
            rows.append((k, h[0], h[1], h[2], h[3], np.array(h[4], np.float64) if hole else None))
        by_edge[e] = rows
    for k, (e, poly) in enumerate(zip(win.edge.tolist(), win.poly, strict=True)):
        lo, hi = poly.min(axis=0).tolist(), poly.max(axis=0).tolist()
        by_edge[e].append((-2 - k, lo[0], hi[0], lo[1], hi[1], poly))
    converted = np.zeros(win.edge.size, dtype=bool)
    strip_edge: list[int] = []
    strip_quads: list[list[list[float]]] = []
    for e, rows in by_edge.items():
        fu0, fu1, fv0, fv1 = float(u0[e]), float(u1[e]), float(v0[e]), float(v1[e])
        # The rows whose spans along the wall may overlap one's, a run of them sorted by start: from the first
        # whose farthest end so far passes its start to the last starting before its end.
        rows.sort(key=lambda r: r[1])
        starts = np.array([r[1] for r in rows])
        reach = np.maximum.accumulate(np.array([r[2] for r in rows]))
        for row in rows:
            which, a, b, c, d, poly = row
            if poly is None or a <= fu0 or b >= fu1:
                continue
            sides: dict[int, tuple[float, float, int]] = {}  # border: its side's ends along the wall, first corner
            for border, level in ((0, c), (1, d)):
                got = spots.get((e, border))
                at = np.flatnonzero(poly[:, 1] == level)
                if got is None or at.size != 2:
                    continue
                p, q = sorted(poly[at, 0].tolist())
                if got[(got >= a) & (got <= b)].tolist() != [p, q]:
                    continue
                # No other opening over (under) the strip: along the wall within its span, on that side.
                lo, hi = int(np.searchsorted(reach, a, "right")), int(np.searchsorted(starts, b, "left"))
                near = [r for r in rows[lo:hi] if r is not row and r[2] > a]
                if any((r[3] < c if border == 0 else r[4] > d) for r in near):
                    continue
                k = poly.shape[0]
                sides[border] = (
                    p,
                    q,
                    next(i for i in range(k) if poly[i, 1] == level and poly[(i + 1) % k, 1] == level),
                )
            if not sides:
                continue
            # The ring's path: from the border up (down) to the side's first corner, around the opening
            # clockwise (its corners counter-clockwise, backwards) to the side's other, back to the border.
            # With strips to both borders, a cut: its sides' paths from the bottom border to the top one.
            k = poly.shape[0]
            if len(sides) == 2:
                (p0, q0, s0), (p1, q1, s1) = sides[0], sides[1]
                left_path = [[p0, fv0], *(poly[(s0 - i) % k].tolist() for i in range((s0 - s1 - 1) % k + 1)), [p1, fv1]]
                right_path = [[q0, fv0], *(poly[(s0 + 1 + i) % k].tolist() for i in range((s1 - s0 - 1) % k + 1))]
                entry = [a, b, fv0, fv1, [], left_path, [*right_path, [q1, fv1]]]
            else:
                border = next(iter(sides))
                p, q, s = sides[border]
                far = fv0 if border == 0 else fv1
                ends = ([p, far], [q, far]) if border == 0 else ([q, far], [p, far])
                path = [ends[0], *(poly[(s - i) % k].tolist() for i in range(k)), ends[1]]
                entry = [a, b, far, d, path] if border == 0 else [a, b, c, far, path]
            if which <= -2:
                converted[-2 - which] = True
                entries.setdefault(e, []).append(entry)
            else:
                entries[e][which] = entry
            for border, (p, q, _) in sides.items():
                low, high = (fv0, c) if border == 0 else (d, fv1)
                strip_edge.append(e)
                strip_quads.append([[p, low], [q, low], [q, high], [p, high]])
    for e in {int(x) for x in win.edge[converted].tolist()}:
        entries[e].sort(key=lambda h: h[0])
    left = ~converted
    side_win = Windows(win.room[left], win.edge[left], win.poly[left])
    return side_win, (np.array(strip_edge, np.int64), np.array(strip_quads, np.float64).reshape(-1, 4, 2))


def border_strips(
    o: Openings,
    near: tuple[B8, B8],
    face: tuple[F64, F64, F64, F64],
    clipped: tuple[F64, F64],
    places: tuple[I64, F64, I64],
    ok: B8,
) -> tuple[I64, I64]:
    """The openings (rows of ``o``) whose strip to the face's bottom (top) border becomes a quad of its own,
    the opening a notch in the border (:func:`strip_notches`): those whose corners get vertices on that
    border (``near``: :attr:`~.near.Near.bottom`, :attr:`~.near.Near.top` of this face), strictly inside the face's
    ends, on an edge ``ok`` (a fast room's, no window), with no other opening between them and that border
    (along the wall within their span) and no other vertex of that border between their sides (``places``: the edge, the
    place along it and the border, 0 bottom or 1 top, of each). One with a strip to a border that reaches
    (or has a strip to) the other one too is a cut from border to border: the face falls in columns.

    Earcut drops the points of a straight run of its ring (the border's vertices under the corners), and
    the T-junction mend then fans each long border edge over them from one corner: a wall of 1,000
    doorways 10 cm over the floor took ~1,000 rounds of Delaunay flips to undo those fans (1.8 s a pair of
    rooms). As notch corners they stay in the ring, and the strip's quad is two triangles."""
    u0, u1, v0, v1 = (x[o.edge] for x in face)
    hc, hd = clipped
    # Another opening over or under one (along the wall within its span): its strip to a border is kept
    # only where none lies between it and that border (a doorway under a window: the window's strip to
    # the ceiling, the doorway's to the floor).
    i, j = near_same_edge(o.edge, o.a, o.b, 0.0)
    under, over = np.zeros(o.edge.size, dtype=bool), np.zeros(o.edge.size, dtype=bool)
    for x, y in ((i, j), (j, i)):
        under[x[hc[y] < hd[x]]] = True  # y lies lower (or they overlap: both marked)
        over[x[hd[y] > hc[x]]] = True
    base = ok[o.edge] & (o.a > u0) & (o.b < u1) & (hc < hd)
    p_edge, p_place, p_border = places
    edge = o.edge.astype(np.float64)
    out = []
    for border, (marks, clear, blocked, stacked) in enumerate(
        zip(near, (hc > v0, hd < v1), (under, over), (over, under), strict=True)
    ):
        # The border's places in (edge, place) order (complex numbers compare that way): those between a and b.
        keys = distinct(p_edge[p_border == border] + 1j * p_place[p_border == border])
        between = np.searchsorted(keys, edge + 1j * o.b, "left") - np.searchsorted(keys, edge + 1j * o.a, "right")
        # Also one over (under) another whose corners have border vertices for another reason, at its sides
        # exactly (a neighbour's lintel at nearly the height of its sill): with the one under it, a cut from
        # border to border (:func:`stacked_pairs`).
        span = np.searchsorted(keys, edge + 1j * o.b, "right") - np.searchsorted(keys, edge + 1j * o.a, "left")
        marks = marks | (stacked & (span == 2) & (o.a < o.b))
        out.append(np.flatnonzero(base & marks & clear & ~blocked & (between == 0)))  # (one reaching it is a notch)
    return out[0], out[1]


def stacked_pairs(
    o: Openings,
    strips: Sequence[I64],
    face: tuple[F64, F64, F64, F64],
    clipped: tuple[F64, F64],
    places: tuple[I64, F64, I64],
    ok: B8,
) -> tuple[I64, I64]:
    """Pairs (lower rows, upper rows of ``o``) of openings one over the other whose spans along the wall
    overlap (a doorway and the window over it), each overlapping no other opening, strictly inside the
    face's ends, on an edge ``ok``: with the band between them a quad of its own (its corners theirs)
    they are one opening of the face (:func:`strip_notches`): a notch where the lower reaches the face's
    bottom border or has a strip to it (``strips``: :func:`border_strips`) or the upper the top, a cut from
    border to border where both do (with slanted sides where their spans differ), else a hole. Not a pair:
    one where a vertex of the border it reaches (``places``: edge, place, border 0 bottom or 1 top) lies
    under (over) the other one only, or another opening comes within ``GAP`` of either along the wall.

    Left in one ring, the band is a strip the length of the wall (between the doorways' tops and the
    windows' bottoms, from one end to the other) whose vertices earcut joined metres apart: 200 such
    pairs in a 12 m wall took 159,003 Delaunay flips in ~400 rounds."""
    u0, u1, v0, v1 = (x[o.edge] for x in face)
    hc, hd = clipped
    i, j = near_same_edge(o.edge, o.a, o.b, GAP)
    near = np.bincount(np.concatenate([i, j]), minlength=o.edge.size)
    alone = (near[i] == 1) & (near[j] == 1) & (o.a[j] < o.b[i])  # (sorted by a: overlapping)
    i, j = i[alone], j[alone]
    swap = hc[j] < hc[i]
    i, j = np.where(swap, j, i), np.where(swap, i, j)  # i the lower
    down, up = np.zeros(o.edge.size, dtype=bool), np.zeros(o.edge.size, dtype=bool)
    down[strips[0]], up[strips[1]] = True, True
    down |= hc <= v0
    up |= hd >= v1
    lo, hi = np.minimum(o.a[i], o.a[j]), np.maximum(o.b[i], o.b[j])
    keep = ok[o.edge[i]] & (lo > u0[i]) & (hi < u1[i]) & (hd[i] < hc[j])
    # A border vertex under (over) the other one's overhang (its ends too) would be left out of the ring.
    p_edge, p_place, p_border = places
    edge = o.edge[i].astype(np.float64)
    for border, reaches, mine in ((0, down[i], i), (1, up[j], j)):
        keys = distinct(p_edge[p_border == border] + 1j * p_place[p_border == border])
        count = np.searchsorted(keys, edge + 1j * hi, "right") - np.searchsorted(keys, edge + 1j * lo, "left")
        own = np.searchsorted(keys, edge + 1j * o.b[mine], "right") - np.searchsorted(
            keys, edge + 1j * o.a[mine], "left"
        )
        keep &= ~reaches | (count <= own)
    return i[keep], j[keep]


def strip_notches(
    holes: F64, strips: Sequence[I64], v0: F64, v1: F64, stacked: tuple[I64, I64] | None = None
) -> list[list[Any]]:
    """``holes`` (o, 4) [a, b, c, d] as lists, those of ``strips`` (bottom, top rows: :func:`border_strips`)
    as notches reaching that border, [a, b, c, d, path]: the ring's path around the opening and its
    strip, the opening's corners on the path's sides (they are the strip quad's corners too). One that
    then reaches both borders is a cut from border to border, [a, b, v0, v1, heights]: the opening's
    heights strictly inside the face, where the columns beside it need vertices on their sides
    (:func:`~.wall_faces.wall_polygons`)."""
    out: list[list[Any]] = holes.tolist()
    low, high = set(strips[0].tolist()), set(strips[1].tolist())
    for r in sorted(low | high):
        a, b, c, d = out[r]
        bottom, top = float(v0[r]), float(v1[r])
        down, up = r in low or c <= bottom, r in high or d >= top
        if down and up:
            out[r] = [a, b, bottom, top, [v for v in (c, d) if bottom < v < top]]
        elif down:
            out[r] = [a, b, bottom, d, [[a, bottom], [a, c], [a, d], [b, d], [b, c], [b, bottom]]]
        else:
            out[r] = [a, b, c, top, [[b, top], [b, d], [b, c], [a, c], [a, d], [a, top]]]
    # A pair one over the other (:func:`stacked_pairs`): the lower one's entry the pair's, the band between
    # them left to its quad; the upper one's entry empty. Its path: up the left sides (the lower's, the
    # band's, the upper's), across the top, down the right ones; reaching both borders, a cut.
    for r, u in zip(*(x.tolist() for x in stacked or ()), strict=True):
        bottom, top = float(v0[r]), float(v1[r])
        (a1, b1, c1, d1), (a2, b2, c2, d2) = holes[r].tolist(), holes[u].tolist()
        down, up = r in low or c1 <= bottom, u in high or d2 >= top
        lo, hi = min(a1, a2), max(b1, b2)
        if down and up and a1 == a2 and b1 == b2:
            out[r], out[u] = [lo, hi, bottom, top, [v for v in (c1, d1, c2, d2) if bottom < v < top]], []
            continue
        left = [[a1, bottom]] * down + [[a1, c1]] * (c1 > bottom) + [[a1, d1], [a2, c2]]
        left += [[a2, d2]] * (d2 < top) + [[a2, top]] * up
        right = [[b1, bottom]] * down + [[b1, c1]] * (c1 > bottom) + [[b1, d1], [b2, c2]]
        right += [[b2, d2]] * (d2 < top) + [[b2, top]] * up
        if down and up:
            out[r] = [lo, hi, bottom, top, [], left, right]
        elif down:
            out[r] = [lo, hi, bottom, d2, left + right[::-1]]
        elif up:
            out[r] = [lo, hi, c1, top, right[::-1] + left]
        else:
            out[r] = [lo, hi, c1, d2, right + left[::-1]]
        out[u] = []
    return out
