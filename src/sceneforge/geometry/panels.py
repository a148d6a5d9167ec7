"""Rooms with vertical walls built from flat panels: the geometry stage's general fast path.

A room is its outline P (x, z) extruded from ``y0`` to ``y1``, hollowed by the cavity P′ (P offset
inwards by ``t``, mitred corners; a short edge whose inner edge would fold back (at a convex corner)
drops out of P′, its live neighbours' inner edges meeting at one apex, round after round: :func:`_collapse`) between
``y0 + t`` and ``y1 - t`` (:mod:`sceneforge.geometry.rooms`).
With no boolean, its shell is a set of planar faces written down directly:

* per outline edge, the outer wall face (the edge × [y0, y1]) and the inner one (the inner edge ×
  [y0 + t, y1 - t]), each minus its openings: the rectangles where portal quads project onto the
  wall, clipped to the face (an opening from the slab's underside or its top face, or reaching the
  ceiling, is a notch in the face's border; a window a hole inside it);
* per opening, its tunnel through the wall: two jambs, a lintel and a sill where the opening stops
  inside the wall's height, and where it passes below the floor's top (or above the ceiling's
  underside) the floor (ceiling) slab's face in the inner wall plane;
* per window of another shape (a portal quad whose projection on the wall is a trapezoid, a diamond,
  any convex quad, wholly inside the wall's faces), a hole of that shape in both faces and a tunnel of
  one quad per side;
* per notch (such a quad that reaches or crosses a border of the wall's faces: a trapezoid doorway
  from the floor's underside or top, a doorway turned a degree in its wall, one up to or past the
  ceiling, one drawn past the wall's end at the cavity's corner, a window across the floor's top),
  the quad clipped to the room as the boolean path's cutter is (its corners moved along the wall to
  where both faces run, cut off at y0 and y1): in each face, that shape clipped to the face, a notch
  in its ring (:func:`_notch_path`) or a hole; a tunnel of one quad per side (not those on y0 or y1,
  where it is open), with a vertex on its inner edge where it crosses the floor's top or the
  ceiling's underside (:func:`_jamb_fan`); the slab's face in the inner plane clipped to it
  (:func:`_slab_bands`); and on each slab face the vertices and notch a rectangle spanning it where it
  meets that face's level would give (:func:`_with_chords`);
* the floor's underside and the ceiling's top (P, notched where openings reach y0 or y1), the
  floor's top and the ceiling's underside (P′, with a vertex wherever an opening's side meets it),
  each minus the hatches through that slab (horizontal portal quads), and each hatch's tunnel.

An opening whose corner lies so near a face's border that every triangulation of the strip between
them would join it to the border's far corners in a triangle under 0.5 mm high (a doorway 5 mm under
the ceiling of a 60 m hall: 0.17 mm) gives the border a vertex where the corner projects onto it
(:func:`_near_borders`: gap × the run along the border < 1.25 × 0.5 mm × the distance to the
border's nearer end, or a neighbour's sill or lintel at nearly its height), and the face across that
border the same vertex, as above: the slab's face in P′ the opening's sides, its footprint strips
cut across there, and at a wall's end the next wall's face its heights (and the jamb of an opening
of that wall flush with the corner, :func:`_corner_jamb_heights`). Such faces go to earcut. A window
or notch of another shape takes part in the same rule as its box: near the bottom or top border it
gets a vertex there under its corners at that height (its side there as the run; none under a lone
corner, whose sides leave at a slant), and the slab's face across gets them too; near a face's end
it gets none (that takes a gap under a millimetre in walls a few metres tall).

Before earcut, a face's ring keeps those border vertices as corners where it can (earcut drops the
points of a straight run, and the T-junction mend's fans over them took Delaunay flips growing with the
square of the openings): an opening whose corners got them, with none between and no other opening
between it and that border, is a notch to the border, the strip a quad of its own (rectangles:
:func:`_border_strips`; windows and notches of other shapes, by their side along the border:
:func:`_shaped_strips`), and one with strips (or reaching) both borders a cut from border to border,
the face's columns beside it. Two openings one over the other with overlapping spans and no other
near them (a doorway under a window) are one opening with the band between them a quad
(:func:`_stacked_pairs`): else the band is a strip the wall's length whose vertices earcut joined metres
apart. A cut whose sides are not straight (a pair a little along, a trapezoid) bounds its columns by them.

Every edge of every face ends on vertices of the faces beside it (no T-junction), so the shell is
closed, and faces are wound from their known normals. It is the solid the boolean path
(:mod:`sceneforge.geometry.rooms`) cuts, without its cutting margins: faces meet exactly.

Triangulation, all rooms at once: rectangles and convex polygons are fans (from the centre where one
from the first corner would make a triangle under 1 mm high, :func:`_fans`); a face with one
opening is a "picture frame" of four trapezoids (fewer where the opening touches the border);
the rest — faces with several openings, notched or concave floors, hatches — go to earcut
(mapbox-earcut), one call per such face, then one pass over all of their triangles (every face of
every room at once, walls and slabs together: :meth:`_Faces.finish`) leaves out earcut's flat ones
(three points of one line, within 1 nm) and splits those
with a point of the face inside an edge (earcut drops collinear points: T-junctions), and faces
left with a triangle under 1 mm high get Delaunay edge flips (earcut ignores shape: in a 2 cm
wall's face it joined points metres apart). A face still holding a triangle under 0.5 mm high after
the flips gets points strictly inside it, one off the shortest edge of its thinnest triangle a round,
kept where they make that face's thinnest triangle higher (:func:`_steiner`): no T-junction, every
face in its plane, the faces without such a triangle as they were. A hatch a few millimetres from a
wall gets vertices on the wall's line beside its corners, on the slab faces and the wall's faces
(:func:`_hatch_places`), as an opening's corner near a face's border does; its side along that wall
gets vertices across from the line's (on both slab faces and its tunnel, and on the slab's outer face's
cavity line where that lacks them: :func:`_hatch_side_places`). Jambs are cut so that no
triangle is much thinner than the wall, and the floor's underside and the ceiling's top of every
room that is not a plain convex one are the wall footprints as strips plus the cavity (earcut over the notched outline
made triangles a fraction of a millimetre high in thin walls). The faces are
built as 2D triangles in per-face frames (origin, two axes, normal) and lifted to 3D in one pass;
one hash weld (meshoptimizer's ``generateVertexRemap`` over room, float32 position and normal,
hashed a cache-sized run of rooms at a time) makes flat-shaded indexed meshes.

Along its wall an opening is clipped to where both faces run (the cavity's corner; the outline's
at a reflex corner), as the boolean path's cutters are: a doorway drawn to the wall's end stops at
the wall across. One flush with a face's end notches that face's side, and the face it meets
there (the wall before or after) gets the opening's heights on its end edge, where the opening's
jamb ends (no T-junction); both faces go to earcut. At an apex (:func:`_collapse`: the walls between lost
their inner faces) the inner face across is the live wall's past them (:attr:`_Walls.live_nxt`), the outer
face's neighbour the outline's. A shaped one that, stopped there, meets the
floor's underside (the ceiling's top) at that corner alone pinches the solid (the wall across and the
slab beside its jamb touch along an edge): its shell fails the check below (:func:`_closed_or_left`),
and the booleans cut it through the corner, up to the outline's end.

Hatches are clipped to the cavity too (as the boolean path's cutters are). In a box room a
rectangular hatch may then lie flush with walls (:func:`_flush_hatches`): the cavity's slab faces
are its rectangle minus the hatches (:func:`_cavity_polygons`), and where a flush side's tunnel
meets the wall (its ends, and the corners of doorways standing on the slab's face beside it) the
wall's faces get vertices on their bottom (top) edges and the footprint strips are cut across.

Rooms with windows, notches or collapsed walls have their shells checked once built (every edge,
corners merged by float32 position, crossed once each way: closed and 2-manifold); one that fails
goes to the boolean path.

A room takes this path when its outline's inner offset keeps every edge (length and direction) and
does not cross itself (a concave outline's slot narrower than two walls would) or loses edges as
:func:`_collapse` drops them (a run turning both ways, a niche narrower than two walls filled in, only where
the cavity is the mitred offset's and the run's footprint simple: :func:`_walls`), every opening is a
rectangle in its wall's (along, up) axes (up to float32 rounding of its corners), a window (any
convex quad ``_GAP`` inside the wall's faces: the cavity's corners, the outline's ends, the floor's
top and the ceiling's underside; its box ``_GAP`` clear of the boxes of the wall's other openings)
or a notch (any convex quad reaching those borders, :func:`_notch`: every corner of its pieces on
each border line or ``_GAP`` from it, every stretch of a border it crosses ``_GAP`` or longer, at a
wall's end only at the cavity's corner, with no other opening flush with that corner and no vertex
needed on it (:func:`_notch_clashes`), in each face one notch or hole that does not run from border
to opposite border, its span along the wall ``_GAP`` clear of the other openings', no hatch flush with the
room's walls),
rectangles clear of other openings on the same wall (one inside another is left out: the larger
cuts; two that overlap or touch and together make a rectangle are cut as that rectangle), flush with
the cavity's corner with at most one opening of the other wall there (a pillar: each jamb gets the
other's heights, unless one falls where the other passes through a slab), with the outline's
(reflex) corner only at the heights another wall's opening flush with it has, every hatch lies
inside the cavity (convex or not) clear of its walls, or flush with them in a box room (no doorway
passing into that slab beside it, none standing on the slab's face over one of its ends), and clear
of other hatches, and every border an opening comes near it either touches (within ``WELD_EPS``,
snapped) or keeps ``_GAP`` from. Anything else goes to the boolean path.

Cost: O(faces + openings) numpy work plus one earcut call (~10–30 µs) per face of the third
kind; see :mod:`sceneforge.geometry.rooms` for figures. The T-junction pass tests each triangle
edge against the points near it only (:func:`_near_pairs`), walking long edges along their lines:
a wall with 800 doorways in a row (earcut's bridges run its whole length past every door) built
in 7.5 s when every point in an edge's box was tested, 0.8 s now. Only the edges a point may lie
inside are tested (:func:`_open_edges`): an edge two proper triangles of the face share has the
face on both sides, so none of the face's points is inside it. On a 4,096-point star floor those
shared diagonals each ran past hundreds of points; 24 such floors built in 34 s, 17 s without them.
Its slanted sides, each with ~800 of the floor's points in its range along either axis, are searched
block by block along their lines (:func:`_block_walk`): 1.2 million pairs a floor became 40,000, and
24 such floors whose points are not on whole metres build in 12 s CPU rather than 25 s.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import mapbox_earcut  # imported with the module (~3 ms), not inside the first build that reaches earcut
import numpy as np
import numpy.typing as npt

from ..arrays import distinct, ranges
from ..model.ir import Room
from ..tolerances import AREA_EPS, WELD_EPS
from .doors import RoomArrays, column_reduce, inner_corners, room_arrays, slab_hits, wall_hits
from .outline import MITER_LIMIT, orient2, relative_cross, segments_meet, star_simple
from .shading import FlatMesh, cluster_rows, pack_normals, world_uvs
from .slivers import SLIVER

__all__ = ["panel_shells"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

#: Smallest clearance (m) between an opening and a border it does not touch (the cavity's corners,
#: the floor's or ceiling's faces, another opening): ten times the weld tolerance. Below it a face
#: that thin would follow, and the room takes the boolean path.
_GAP = 10.0 * WELD_EPS
#: A quad corner within this (m) of its rectangle's side counts as on it, plus two float32 steps at
#: the quad's coordinates (:func:`_rect_tolerance`): exported quads carry float32 rounding (~4 µm at
#: 50 m), and one off by that is still the rectangle it was drawn as, not a shape for the booleans.
_RECT_EPS = 1e-6

_UP = np.array([0.0, 1.0, 0.0])
_SPLIT_02 = np.array([0, 1, 2, 0, 2, 3])  # a quad's two triangles, split along its diagonal (0, 2)
_SPLIT_13 = np.array([1, 2, 3, 1, 3, 0])  # ... along (1, 3), wound the same way
_X = np.array([1.0, 0.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


def _rect_tolerance(quads: F64) -> F64:
    """Per quad (q, 4, k): how far (m) a corner may be off its rectangle's side (:data:`_RECT_EPS`)."""
    reach = np.abs(quads).max(axis=tuple(range(1, quads.ndim)), initial=0.0)
    out: F64 = _RECT_EPS + 2.0 * np.spacing(reach.astype(np.float32)).astype(np.float64)
    return out


#: A queued earcut batch of :class:`_Faces`: its place in the lists, its jobs and their frames.
_EarcutBatch = tuple[int, list[tuple[F64, list[int], int]], tuple[F64, F64, F64, F64, I64]]


@dataclass(slots=True)
class _Faces:
    """Triangles (m, 3, 3) built from 2D ones in face frames (3D = origin + u·axis_u + v·axis_v),
    wound counter-clockwise about their face's normal (out of the solid), with normals and rooms.

    Faces for earcut are queued (:meth:`add_earcut`) and triangulated together by :meth:`finish`, in
    the places they were queued at."""

    corners: list[F64]
    normal: list[F64]
    room: list[I64]
    earcut: list[_EarcutBatch] = field(default_factory=list)

    def add(
        self, tris: F64, origin: F64, axis_u: F64, axis_v: F64, normal: F64, room: I64, at: int | None = None
    ) -> None:
        """``tris`` (m, 3, 2); frame arrays (m, 3) or (3,); ``room`` (m,) or a scalar array. Appended, or put
        in place ``at`` (a queued earcut batch's, :meth:`finish`)."""
        m = tris.shape[0]
        if m == 0:
            return
        corners = _in_frame(tris.reshape(m, 3, 2), origin, axis_u, axis_v)
        self._add_corners(corners, np.broadcast_to(normal, (m, 3)), np.broadcast_to(room, (m,)), at)

    def add_quads(self, quads: F64, origin: F64, axis_u: F64, axis_v: F64, normal: F64, room: I64) -> None:
        """Convex quads (n, 4, 2), two triangles each; frame arrays per quad (n, 3) or broadcastable.

        The quad's corners are placed in 3D once, then split along its shorter diagonal, (0, 1, 2), (0, 2, 3)
        unless (1, 3) is the shorter: the same numbers as placing each triangle's corners, without repeating
        the frame arrays per triangle. Split along the longer diagonal, a picture frame's side piece beside
        an opening a centimetre from the wall's end (1 cm wide, the wall's height tall) made a triangle as
        thin as 1 cm × the opening's height / the wall's height: 0.2 mm in a shaft 100 m tall."""
        n = quads.shape[0]
        if n == 0:
            return
        d02, d13 = quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1]
        other = np.einsum("nk,nk->n", d13, d13) < np.einsum("nk,nk->n", d02, d02) * (1.0 - 1e-9)
        split = np.where(other[:, None], _SPLIT_13, _SPLIT_02)
        corners = np.take_along_axis(_in_frame(quads, origin, axis_u, axis_v), split[:, :, None], axis=1)
        corners = corners.reshape(-1, 3, 3)
        normal = np.asarray(normal)
        normals = np.broadcast_to(normal, (2 * n, 3)) if normal.ndim == 1 else np.repeat(normal, 2, axis=0)
        self._add_corners(corners, normals, np.repeat(np.broadcast_to(room, (n,)), 2))

    def _add_corners(self, corners: F64, normals: F64, room: I64, at: int | None = None) -> None:
        """Triangles (m, 3, 3) with their face normals (m, 3): wound to face along them, degenerate ones dropped.
        Appended, or put in place ``at``.

        A batch is usually wound one way throughout, without degenerate triangles: then it is kept
        as it is (or as a reversed view), with no copies."""
        cross = _cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        facing = np.einsum("mk,mk->m", cross, normals)
        back = facing < 0
        if back.all():
            corners = corners[:, ::-1]
        elif back.any():
            corners = np.where(back[:, None, None], corners[:, ::-1], corners)
        live = facing != 0.0
        if not live.all():
            corners, normals, room = corners[live], normals[live], room[live]
        if at is None:
            self.corners.append(corners)
            self.normal.append(normals)
            self.room.append(room)
        else:
            self.corners[at], self.normal[at], self.room[at] = corners, normals, room

    def add_earcut(self, jobs: list[tuple[F64, list[int], int]], frames: tuple[F64, F64, F64, F64, I64]) -> None:
        """Queue each polygon ``(points, ring ends, frame row)`` for earcut; ``frames`` (origin, u, v,
        normal, room) rows. Its triangles take this place among the faces' (:meth:`finish`)."""
        if not jobs:
            return
        self.earcut.append((len(self.corners), jobs, frames))
        self.corners.append(np.zeros((0, 3, 3)))
        self.normal.append(np.zeros((0, 3)))
        self.room.append(np.zeros(0, dtype=np.int64))

    def finish(self) -> None:
        """Triangulate every queued earcut face in one :func:`_earcut_many` call, each face as it would
        be alone, its triangles put where its batch was queued. (The T-junction and flip passes cost a
        dozen numpy calls per round whatever the batch: six calls, one per wall side and slab face,
        took about 1.6× what one takes on an office: docs/benchmarks.md.)"""
        if not self.earcut:
            return
        batches, self.earcut = self.earcut, []
        tris, job = _earcut_many([one for _, jobs, _ in batches for one in jobs])
        first_job = np.cumsum([0, *(len(jobs) for _, jobs, _ in batches)])
        cut = np.searchsorted(job, first_job)  # jobs ascend: each batch's triangles are one run
        for k, (at, jobs, frames) in enumerate(batches):
            lo, hi = int(cut[k]), int(cut[k + 1])
            rows = np.array([row for _, _, row in jobs], np.int64)[job[lo:hi] - first_job[k]]
            origin, axis_u, axis_v, normal, room = frames
            origin, axis_u, axis_v, normal = (np.take(a, rows, axis=0) for a in (origin, axis_u, axis_v, normal))
            self.add(tris[lo:hi], origin, axis_u, axis_v, normal, np.take(room, rows), at)


def _cross(a: F64, b: F64) -> F64:
    """``np.cross`` of (m, 3) rows: the same products and differences, without its axis moves."""
    out = np.empty(a.shape)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        np.multiply(a[:, j], b[:, k], out=out[:, i])
        out[:, i] -= a[:, k] * b[:, j]
    return out


def _in_frame(points: F64, origin: F64, axis_u: F64, axis_v: F64) -> F64:
    """(n, k, 2) face-frame points → (n, k, 3): origin + u·axis_u + v·axis_v; frame arrays (n, 3) or (3,).

    One coordinate at a time over all the points, summed in that order: numpy's loops then run along
    the points (an (n, k, 3) broadcast ran them along the three coordinates, ~5–15× slower)."""
    u, v = points[..., 0], points[..., 1]
    out = np.empty((*points.shape[:-1], 3))
    frames = [np.asarray(a, dtype=np.float64) for a in (origin, axis_u, axis_v)]
    for c in range(3):
        o, au, av = (a[:, c, None] if a.ndim == 2 else a[c] for a in frames)
        coordinate = out[..., c]
        np.multiply(u, au, out=coordinate)
        coordinate += o
        coordinate += v * av
    return out


def _plan3(xz: F64) -> F64:
    """(…, 2) plan vectors → (…, 3) with y = 0."""
    out = np.zeros((*xz.shape[:-1], 3))
    out[..., 0], out[..., 2] = xz[..., 0], xz[..., 1]
    return out


@dataclass(slots=True)
class _Walls:
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
    merged: B8  # (e,) a live wall whose footprint strip is part of such a run's polygon (:func:`_run_polygons`)
    #: (e,) the live edge before (after) each live edge: the wall across its cavity's corner, past collapsed
    #: edges (a chamfer's: the apex); ``prev`` (``nxt``) where none collapsed and for collapsed edges.
    live_prev: I64
    live_nxt: I64


def _walls(rooms: Sequence[Room]) -> _Walls:
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
    edge_ok = (length > _GAP) & good_corner & ((inner1 - inner0 > _GAP) | collapsed)
    ok = np.ones(r, dtype=bool)
    np.logical_and.at(ok, room, edge_ok)
    convex = np.ones(r, dtype=bool)
    np.logical_and.at(convex, room, turn * side >= 0.0)
    inner_cross = relative_cross(inner, inner[nxt], base)
    inner_area = 0.5 * np.add.reduceat(inner_cross, first[:-1]) if start.shape[0] else np.zeros(0)
    h = np.array([x.height for x in rooms])
    ok &= (counts >= 3) & (np.abs(area) > AREA_EPS) & (inner_area * area > 0) & (np.abs(inner_area) > AREA_EPS)
    ok &= (h > 2 * tt + 2 * _GAP) & (tt > _GAP)
    # A concave outline's cavity may cross itself with every inner edge kept: a neck narrower than
    # two walls (two rooms joined by a slot) gives inner edges that pass each other. Its faces would
    # not close; the booleans build such a room (its cavity falls apart in pieces).
    if mixed.any():
        # Runs turning both ways: kept where the cavity is the mitred offset the booleans take (to a
        # micrometre); an opening on one of their walls is left to the booleans (in :func:`_openings`).
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
    return _Walls(
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
    normal reaches the apex: its slab strips are triangles. An apex must lie deeper than ``_GAP`` behind
    every dropped edge, its neighbours' lines not parallel (or one line: :func:`_parallel_meet`): else the
    edges stay folded, which :func:`_walls` refuses (the booleans build the room; so do folds left after the
    last round). Two walls facing each other whose offset lines passed each other both drop (the sides of a
    niche narrower than two walls). A run that turns both ways (a niche, a pilaster's or a jog's walls) is
    not the offset by construction: such runs are marked ``mixed``, and :func:`_walls` keeps their rooms
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
    # cross. A run of two or more that turns both ways is kept for :func:`_walls` to check against the
    # mitred offset (``mixed``).
    run = gone[prev[dropped]] | gone[nxt[dropped]]
    # (A run's edges share ``after``: each edge of a run with one such edge is marked. Its footprint is one
    # polygon, not a fan: :func:`_walls` checks it is simple instead of each apex's depth.)
    mixed = np.zeros(n, dtype=bool)
    turns = (run & ~(convex_corner[dropped] & convex_corner[nxt[dropped]])) | hit[dropped]
    mixed[dropped] = np.isin(after, after[turns])
    bad = ((depth <= _GAP) & ~mixed[dropped]) | ~sound[after]
    if bad.any():
        # Kept folded (zero width, so :func:`_walls` refuses the room): the booleans build it.
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


@dataclass(slots=True)
class _Openings:
    """Wall openings (o,) after clipping and snapping: s in [a, b] along the edge, y in [c, d]."""

    room: I64
    edge: I64
    a: F64
    b: F64
    c: F64
    d: F64


@dataclass(slots=True)
class _Windows:
    """Wall openings (w,) that are not rectangles in their wall's axes (a trapezoid, a diamond, any
    convex quad), each wholly inside both faces of its wall and ``_GAP`` clear of their borders and
    of the wall's other openings: ``poly`` (w, 4, 2) its corners (s along the edge, y), counter-clockwise."""

    room: I64
    edge: I64
    poly: F64


@dataclass(slots=True)
class _Notches:
    """Wall openings (n,) that are not rectangles in their wall's axes (any convex quad, as windows)
    and reach or cross a border of its faces: the floor's underside or top, the ceiling's underside
    or top, the cavity's corner. ``poly``: each one's corners (s along the edge, y), counter-clockwise,
    clipped to where the room is cut (along the wall to where both faces run, in height to [y0, y1])."""

    room: I64
    edge: I64
    poly: list[F64]

    def only(self, keep: B8) -> _Notches:
        """The notches where ``keep`` (n,) holds, in order."""
        return _Notches(
            self.room[keep], self.edge[keep], [p for p, k in zip(self.poly, keep.tolist(), strict=True) if k]
        )


@dataclass(slots=True)
class _Hatches:
    """Slab openings (h,): plan polygon (h, 4, 2) counter-clockwise, slab 0 floor / 1 ceiling."""

    room: I64
    slab: I64
    points: F64
    #: (h,) a side lies on the cavity's wall (a box room's hatch drawn to or past the wall): see :func:`_flush_hatches`.
    flush: B8


def _openings(w: _Walls, quads: F64, quad_room: I64, bad: B8) -> tuple[_Openings, _Windows, _Notches]:
    """Portal quads lying on walls, as rectangles in wall axes, and the other shapes: windows
    (:class:`_Windows`) and notches (:class:`_Notches`); rooms with unusable ones marked in ``bad``."""
    # The same test as the boolean path's cutters (doors.wall_hits), so both cut the same portals.
    hits = wall_hits(quads, quad_room, w.start, w.tangent, -w.inward, w.length, w.first, w.rooms)
    pe, along, y, r_of = hits.edge, hits.along, hits.y, quad_room[hits.quad]
    # On a wall of a run turning both ways that lost its inner face (a filled niche's back): booleans.
    bad[r_of[w.mixed[pe] | w.merged[pe]]] = True
    t, y0, y1 = w.rooms.thickness[r_of], w.rooms.y0[r_of], w.rooms.y1[r_of]
    rect, a, b, c, d = _rectangle(along, y, _rect_tolerance(quads[hits.quad])[:, None])
    windows = _windows(w, pe, along, y, r_of, ~rect, (a, b, c, d))
    shaped = ~rect & ~windows  # reaching or crossing a border (or unusable): see _notch below
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
    for target, level in ((c, y0), (c, floor_top), (d, y1), (d, ceiling), (a, lo_s), (b, hi_s), (a, hi_s), (b, lo_s)):
        snap = np.abs(target - level) <= WELD_EPS
        target[snap] = level[snap]
    # Wholly past the cavity's corner: nothing of the room to cut.
    inside = b > a
    pe, a, b, c, d, rect, r_of = pe[inside], a[inside], b[inside], c[inside], d[inside], rect[inside], r_of[inside]
    is_shaped, s_y = shaped[inside], s_y[inside]
    y0, y1, floor_top, ceiling = y0[inside], y1[inside], floor_top[inside], ceiling[inside]
    inner0, inner1, length, lo_s, hi_s = inner0[inside], inner1[inside], length[inside], lo_s[inside], hi_s[inside]

    def clear(v: F64, level: F64) -> B8:
        out: B8 = (v == level) | (np.abs(v - level) >= _GAP)
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
        & (b - a >= _GAP)
        & clear(c, y0)
        & clear(c, floor_top)
        & clear(d, y1)
        & clear(d, ceiling)
        & (d - c >= _GAP)
        & (d >= floor_top + _GAP)
        & (c <= ceiling - _GAP)
    )
    bad[r_of[~good & ~is_shaped]] = True
    is_window = windows[inside]
    win_edge, win_poly = pe[is_window], np.stack([along, y], -1)[windows]
    win_ok = good[is_window]
    good &= ~is_window & ~is_shaped
    notches = _notches(w, pe[is_shaped], s_y[is_shaped], bad)
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
    # Only openings whose spans along the wall come within _GAP can be either (each pair both ways).
    i, j = _near_same_edge(edge, a, b, _GAP)
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
    # Openings on one wall must keep _GAP apart in s or in y: every pair of one edge near in s.
    i, j = _near_same_edge(edge, a, b, _GAP)
    apart = (a[j] >= b[i] + _GAP) | (a[i] >= b[j] + _GAP) | (c[j] >= d[i] + _GAP) | (c[i] >= d[j] + _GAP)
    bad[w.room[edge[i[~apart]]]] = True
    # Openings flush with one corner line from both walls meeting there leave a pillar between them:
    # its two jambs meet along that line. At the cavity's corner, one opening from each wall, each
    # jamb gets the other's heights (:func:`_pillar_heights`) unless one falls where the other passes
    # through a slab (that slab's face would need it too); at the outline's (reflex) corner they must
    # span the same heights. Else the boolean path builds the room.
    ne = w.room.size
    lo_of, hi_of = _corner_openings(w, edge, a, b)
    inner = (lo_of >= 0) & (hi_of[w.live_prev] >= 0)
    if inner.any():
        e = np.flatnonzero(inner)
        i, j = lo_of[e], hi_of[w.live_prev[e]]
        r = w.room[e]
        top, ceiling = w.rooms.y0[r] + w.rooms.thickness[r], w.rooms.y1[r] - w.rooms.thickness[r]
        clash = (i == -2) | (j == -2)
        i, j = np.maximum(i, 0), np.maximum(j, 0)
        clash |= ((c[i] < c[j]) & (c[j] < top)) | ((c[j] < c[i]) & (c[i] < top))
        clash |= ((ceiling < d[i]) & (d[i] < d[j])) | ((ceiling < d[j]) & (d[j] < d[i]))
        bad[r[clash]] = True
    at_lo, at_hi = a == 0.0, b == w.length[edge]
    both, from_before = np.zeros(ne, dtype=bool), np.zeros(ne, dtype=bool)
    both[edge[at_lo]] = True
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
        bad[w.room[lonely[both[lonely]]]] = True
    win_edge, win_poly = _distinct_windows(win_edge[win_ok], win_poly[win_ok])
    s, y = win_poly[..., 0], win_poly[..., 1]
    boxes = [np.stack([s.min(1), s.max(1), y.min(1), y.max(1)], 1)]
    if notches.edge.size:
        boxes.append(_boxes(notches.poly))
        # A notch at the cavity's corner with another opening flush with it too (of the wall across, a
        # rectangle or a notch): a pillar whose jambs the panels do not match up (left to the booleans).
        corners: dict[int, int] = {}  # by the edge starting at the corner: notches flush with it
        for k, (e, p) in enumerate(zip(notches.edge.tolist(), notches.poly, strict=True)):
            at_start, at_end = p[:, 0].min() == w.inner0[e], p[:, 0].max() == w.inner1[e]
            if (at_start and hi_of[w.live_prev[e]] != -1) or (at_end and lo_of[w.live_nxt[e]] != -1):
                bad[notches.room[k]] = True
            for corner in [e] * bool(at_start) + [int(w.live_nxt[e])] * bool(at_end):
                corners[corner] = corners.get(corner, 0) + 1
        bad[w.room[[e for e, count in corners.items() if count > 1]]] = True
    shaped_edge = np.concatenate([win_edge, notches.edge])
    is_notch = np.arange(shaped_edge.size) >= win_edge.size
    _windows_apart(w, shaped_edge, np.concatenate(boxes), is_notch, edge, np.stack([a, b, c, d], 1), bad)
    windows_out = _Windows(w.room[win_edge], win_edge, win_poly)
    return _Openings(w.room[edge], edge, a, b, c, d), windows_out, notches


def _boxes(polys: Sequence[F64]) -> F64:
    """(n, 4): each polygon's (k, 2) box in its wall's axes, [a, b, c, d] (along from, to; up from, to)."""
    return np.array([[p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()] for p in polys]).reshape(-1, 4)


def _notches(w: _Walls, edge: I64, s_y: F64, bad: B8) -> _Notches:
    """The shaped wall hits that are not windows (``s_y`` (n, 4, 2) their corners in (s, y)) as
    notches (:func:`_notch`), each shape once per wall (a portal each way); rooms with ones the panels
    cannot cut marked in ``bad``. A Python loop: only walls drawn with such openings have any."""
    rooms, edges, polys, seen = [], [], [], set()
    r = w.rooms
    for e, corners in zip(edge.tolist(), s_y, strict=True):
        room = int(w.room[e])
        t, y0, y1 = float(r.thickness[room]), float(r.y0[room]), float(r.y1[room])
        levels = (0.0, float(w.length[e]), float(w.inner0[e]), float(w.inner1[e]))
        piece = _notch(corners, levels, (y0, y0 + t, y1 - t, y1))
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
    return _Notches(np.array(rooms, np.int64), np.array(edges, np.int64), polys)


def _windows(w: _Walls, edge: I64, along: F64, y: F64, room: I64, shaped: B8, box: tuple[F64, F64, F64, F64]) -> B8:
    """Which wall hits are windows (:class:`_Windows`): not rectangles (``shaped``), with edges and
    area of their own, ``_GAP`` inside both faces of their wall (the cavity's corners, the outline's
    ends, the floor's top and the ceiling's underside), before any clipping."""
    a, b, c, d = box
    lo_s = np.maximum(0.0, w.inner0[edge])
    hi_s = np.minimum(w.length[edge], w.inner1[edge])
    floor_top = w.rooms.y0[room] + w.rooms.thickness[room]
    ceiling = w.rooms.y1[room] - w.rooms.thickness[room]
    inside = (a >= lo_s + _GAP) & (b <= hi_s - _GAP) & (c >= floor_top + _GAP) & (d <= ceiling - _GAP)
    ds, dy = np.roll(along, -1, axis=1) - along, np.roll(y, -1, axis=1) - y
    sides = np.sqrt(ds * ds + dy * dy).min(axis=1, initial=np.inf) if along.size else np.zeros(0)
    area2 = (along * np.roll(y, -1, axis=1) - np.roll(along, -1, axis=1) * y).sum(axis=1)
    out: B8 = shaped & inside & (sides >= _GAP) & (np.abs(area2) >= 2 * _GAP * _GAP)
    return out


def _counter_clockwise(poly: F64) -> F64:
    """``poly`` (w, 4, 2) with each quad's corners in counter-clockwise order (positive area in (s, y))."""
    s, y = poly[..., 0], poly[..., 1]
    area2 = (s * np.roll(y, -1, axis=1) - np.roll(s, -1, axis=1) * y).sum(axis=1)
    out = poly.copy()
    out[area2 < 0] = poly[area2 < 0][:, ::-1]
    return out


def _distinct_windows(edge: I64, poly: F64) -> tuple[I64, F64]:
    """Windows counter-clockwise from their lowest corner (least s, then least y), each shape once per
    wall: the same window given twice (two one-way portals, one each way) cuts once, as a rectangle does."""
    if edge.size == 0:
        return edge, poly.reshape(0, 4, 2)
    ccw = _counter_clockwise(poly)
    first = np.lexsort((ccw[..., 1], ccw[..., 0]), axis=-1)[:, 0]
    turn = (first[:, None] + np.arange(4)) % 4
    ccw = np.take_along_axis(ccw, turn[..., None], axis=1)
    rows = np.column_stack([edge.astype(np.float64), ccw.reshape(-1, 8)])
    _, keep = np.unique(rows, axis=0, return_index=True)
    keep.sort()
    return edge[keep], ccw[keep]


def _windows_apart(w: _Walls, edge: I64, shaped: F64, is_notch: B8, rect_edge: I64, rect: F64, bad: B8) -> None:
    """Marks in ``bad`` the rooms where a window's or notch's box (``shaped`` (n, 4): [a, b, c, d])
    comes within ``_GAP`` of another opening's on the same wall (a rectangle's in ``rect``, or another
    window's or notch's). A notch (``is_notch``) must be ``_GAP`` apart from the others along the wall: one
    above or below another opening (a notch in the slab's band under a doorway standing on the floor's top)
    made faces whose edges did not meet. Only the pairs of one wall that come within ``_GAP`` along it are
    compared (:func:`_near_same_edge`), so the cost grows with the openings, not with the windows times the
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
    i, j = _near_same_edge(edges, a, b, _GAP)
    apart = (a[j] >= b[i] + _GAP) | (a[i] >= b[j] + _GAP)
    apart |= ~(notch[i] | notch[j]) & ((c[j] >= d[i] + _GAP) | (c[i] >= d[j] + _GAP))
    bad[w.room[edges[i[~apart & (window[i] | window[j])]]]] = True


def _clip(poly: F64, axis: int, level: float, above: bool) -> F64:
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
        poly = _clip(poly, axis, level, above)
        if poly.shape[0] < 3:
            return poly.reshape(0, 2)
    return poly


def _area2(poly: F64) -> float:
    """Twice the signed area of ``poly`` (k, 2)."""
    s, y = poly[:, 0], poly[:, 1]
    return float((s * np.roll(y, -1) - np.roll(s, -1) * y).sum())


def _chord(poly: F64, axis: int, level: float) -> tuple[float, float] | None:
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


def _notch(
    poly: F64, s_levels: tuple[float, float, float, float], y_levels: tuple[float, float, float, float]
) -> F64 | None:
    """A shaped opening (``poly`` (4, 2) in (s, y)) reaching or crossing its wall's borders, clipped
    to where the room is cut, counter-clockwise; an empty one where nothing is left; None where the
    panels cannot cut it. ``s_levels``: 0, the wall's length, the inner face's ends (inner0, inner1);
    ``y_levels``: y0, the floor's top, the ceiling's underside, y1.

    Each corner within ``WELD_EPS`` of one of those lines is put on it; then every corner of the
    pieces the faces get (the opening in the outer face, in the inner face, in each slab's band of
    the inner plane) lies on each line or ``_GAP`` or more from it, every side and every stretch of a
    line it crosses is ``_GAP`` or longer (or a point: a corner on it), it touches the wall's ends only
    at the cavity's corner, and each face's piece is a hole or one notch that does not run from
    border to opposite border."""
    zero, length, inner0, inner1 = s_levels
    y0, floor_top, ceiling, y1 = y_levels
    pts = _counter_clockwise(poly[None])[0].copy()
    for axis, levels in ((0, s_levels), (1, y_levels)):
        for level in levels:
            snap = np.abs(pts[:, axis] - level) <= WELD_EPS
            pts[snap, axis] = level
    lo_s, hi_s = max(zero, inner0), min(length, inner1)
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
    if _area2(clipped) <= 2 * _GAP * _GAP:
        return None
    sides = np.roll(clipped, -1, axis=0) - clipped
    if np.hypot(sides[:, 0], sides[:, 1]).min() < _GAP:
        return None
    corners = [clipped]
    for level in (floor_top, ceiling, y0, y1):
        chord = _chord(clipped, 1, level)
        if chord is not None and 0.0 < chord[1] - chord[0] < _GAP:
            return None
        if chord is not None and level in (floor_top, ceiling):
            corners.append(np.array([[chord[0], level], [chord[1], level]]))
    for level, end in ((lo_s, inner0), (hi_s, inner1)):
        chord = _chord(clipped, 0, level)
        if chord is None or chord[0] == chord[1]:
            continue  # (a corner on that line: a slanted side meeting the wall across there alone)
        if level != end or level in (zero, length) or chord[1] - chord[0] < _GAP:
            return None  # at the outline's end, or at a reflex corner: left to the booleans
    every = np.concatenate(corners)
    for axis, levels in ((0, s_levels), (1, y_levels)):
        for level in levels:
            gap = np.abs(every[:, axis] - level)
            if ((gap > 0.0) & (gap < _GAP)).any():
                return None
    for piece, box in (
        (clipped, (zero, length, y0, y1)),
        (_clip_box(clipped, inner0, inner1, floor_top, ceiling), (inner0, inner1, floor_top, ceiling)),
    ):
        if piece.shape[0] == 0:
            continue
        u, v = piece[:, 0], piece[:, 1]
        if (u.min() <= box[0] and u.max() >= box[1]) or (v.min() <= box[2] and v.max() >= box[3]):
            return None
        if _notch_path(piece, *box) is None:
            return None
    return clipped


def _overlaps_joined(edge: I64, a: F64, b: F64, c: F64, d: F64) -> tuple[I64, F64, F64, F64, F64]:
    """Openings of one wall that overlap or touch (within ``WELD_EPS``) where their union is their
    bounding rectangle — the same heights, overlapping along the wall (a doorway drawn twice, shifted;
    a double door as two portals), or the same span along the wall, overlapping in height — joined into
    that rectangle, which is what the boolean path cuts for them. Pairs where one holds the other are
    left to the caller (the larger cuts). Returned sorted by edge, then ``a``, as given."""
    while True:
        i, j = _near_same_edge(edge, a, b, WELD_EPS)
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


def _group_reduce(ufunc: np.ufunc, values: F64, group: I64) -> F64:
    """``values`` with each entry set to ``ufunc`` over its group (``group`` holds each one's root)."""
    out = values.copy()
    ufunc.at(out, group, values)
    return out


def _corner_openings(w: _Walls, edge: I64, a: F64, b: F64) -> tuple[I64, I64]:
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


def _near_same_edge(edge: I64, a: F64, b: F64, reach: float) -> tuple[I64, I64]:
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


#: How much higher than :data:`~.slivers.SLIVER` (the 0.5 mm rule) the triangles an opening's corner
#: makes with a border's far corners must be before the border goes without a vertex over it
#: (:func:`_near_borders`): a margin for the diagonal being longer than the border.
_NEAR_MARGIN = 1.25

#: How many openings ahead along its wall each one is compared with for sills or lintels at nearly
#: one height (:func:`_near_borders`): the next few, those a thin triangle may join it to.
_NEAR_NEIGHBOURS = 4


@dataclass(slots=True)
class _Near:
    """Per opening (o,), per wall face (row 0 outer, row 1 inner): whether its corners lie so near that
    face's bottom, top, start (``left``) or end (``right``) border that the border needs vertices where
    they project onto it (:func:`_near_borders`)."""

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


def _near_borders(w: _Walls, o: _Openings, shaped: list[tuple[int, int, F64]] | None = None) -> _Near:
    """Which openings' corners need vertices on which borders of their wall's faces.

    A corner at gap ``g`` from a border, beside a run ``s`` along it (the opening's own width, or the
    space to the next opening of its wall where that is less), the border's nearer end ``D`` away (from
    the opening's far side), may end in a triangle with that end's corner about ``g·s/D`` high: with
    no vertex on the border over the corner, every triangulation has one (the strip between the
    opening and the border has no other vertices to use; the picture frame's shorter diagonal and the
    Delaunay flips take the nearer end, earcut alone may take the farther one only where its
    triangles are 1 mm high or more). Where ``g·s < _NEAR_MARGIN · SLIVER · D`` the border gets a
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
    own gap (:attr:`_Near.edge`; a notch's corners on the border need none). Their corners near a
    face's end get none: with a run the height of the opening, that takes a gap under a millimetre in
    walls a few metres tall."""
    rect_n = o.edge.size
    if shaped:
        # Rectangles and the shaped openings' boxes, in (edge, a) order as the rule below takes them.
        poly = [p for _, _, p in shaped]
        boxes = _boxes(poly)
        both = _Openings(
            np.concatenate([o.room, np.array([x[0] for x in shaped], np.int64)]),
            np.concatenate([o.edge, np.array([x[1] for x in shaped], np.int64)]),
            *(np.concatenate([v, boxes[:, k]]) for k, v in enumerate((o.a, o.b, o.c, o.d))),
        )
        order = np.lexsort((both.a, both.edge))
        a, b, c, d = (v[order] for v in (both.a, both.b, both.c, both.d))
        o = _Openings(both.room[order], both.edge[order], a, b, c, d)
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
    reach = _NEAR_MARGIN * SLIVER
    # Openings of one wall over one another (within WELD_EPS along it), each way.
    i, j = _near_same_edge(o.edge, o.a, o.b, WELD_EPS)
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
        return _Near(bottom, top, left, right)
    rect = order < rect_n
    back = np.argsort(order[rect])  # the rectangles' rows, in their own order
    bottom, top, left, right = (m[:, rect][:, back] for m in (bottom, top, left, right))
    pts = np.array(points, np.float64).reshape(-1, 4)
    ints = pts[:, [0, 2, 3]].astype(np.int64)
    return _Near(bottom, top, left, right, ints[:, 0], pts[:, 1], ints[:, 1], ints[:, 2])


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
    ``g·s/D`` high (at one height): the rule of :func:`_near_borders`, with ``s`` that run. A vertex
    under (over) the lone corner itself would make a sliver with its steep sides, so the border gets
    one halfway between the two corners instead, which the triangulation joins both to (a triangle
    about ``min(g, s/2)`` high) rather than to the border's far vertices; none where either corner is
    on the border (a vertex of it already) or another opening over (under) it reaches the border.
    Returned as (edge, place, face, border) rows, as :attr:`_Near.edge` takes them."""
    out: list[tuple[int, float, int, int]] = []
    k = np.flatnonzero(apart)
    reach = _NEAR_MARGIN * SLIVER
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


def _hatch_places(
    w: _Walls, h: _Hatches, fast: B8, o: _Openings, shaped: list[tuple[int, int, F64]]
) -> tuple[I64, F64, I64]:
    """Places on the walls' lines where the slab faces and the walls' faces need a vertex beside a hatch
    near a wall (a stair opening a few millimetres from it): (edge, place along it, slab) rows.

    A hatch's corner at gap ``g`` from the cavity's line of a wall, its side a run ``s`` along it, the
    line's farther end ``D`` away, may end in a triangle with that end about ``g·s/D`` high, as an
    opening's corner near a wall face's border does (:func:`_near_borders`): where ``g·s`` is under
    ``_NEAR_MARGIN · SLIVER · D`` the line gets a vertex where the corner projects onto it, on both slab
    faces across it and on both faces of the wall (their bottom border for a floor hatch, top for a
    ceiling's). Flush hatches (a side on the wall) have their own places (:func:`_flush_places`), and a
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
    lo, hi = w.inner0[edge][:, None], w.inner1[edge][:, None]
    far = np.maximum(along - lo, hi - along)
    near = (gap > 0.0) & (along > lo) & (along < hi) & (gap * run < _NEAR_MARGIN * SLIVER * far)
    row, corner = np.nonzero(near)
    edge, place, slab = edge[row], along[row, corner], h.slab[use][hatch[row]]
    # Not beside a wall's opening: the openings' spans along their walls, rectangles' and other shapes'.
    boxes = _boxes([poly for _, _, poly in shaped])
    o_edge = np.concatenate([o.edge, np.array([e for _, e, _ in shaped], np.int64)])
    o_a, o_b = np.concatenate([o.a, boxes[:, 0]]), np.concatenate([o.b, boxes[:, 1]])
    order = np.argsort(o_edge, kind="stable")
    o_edge, o_a, o_b = o_edge[order], o_a[order], o_b[order]
    pair, at = _pairs_on_edges(edge, o_edge)
    clash = (place[pair] > o_a[at] - _HATCH_CLEAR) & (place[pair] < o_b[at] + _HATCH_CLEAR)
    keep = np.ones(edge.size, dtype=bool)
    keep[pair[clash]] = False
    return edge[keep], place[keep], slab[keep]


#: How far (m) along a wall from an opening's side a hatch's place on it must be (:func:`_hatch_places`).
_HATCH_CLEAR = 0.005


def _with_hatch_places(near: _Near, places: tuple[I64, F64, I64]) -> _Near:
    """``near`` with :func:`_hatch_places`' rows as points of both faces of their walls."""
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
class _SidePlaces:
    """Points on hatches' sides (:func:`_hatch_side_places`), sorted by (hatch, side, along): the hatch
    (k,), its side (0–3: from its corner i to corner i + 1), the distance along that side from corner i."""

    hatch: I64
    side: I64
    along: F64


def _hatch_side_places(
    w: _Walls, h: _Hatches, fast: B8, o: _Openings, notches: _Notches, near: _Near
) -> tuple[_SidePlaces, _Near]:
    """Points on the sides of hatches running along a wall a few millimetres to centimetres from it, across
    from the vertices of the wall's cavity line (an opening's sides where it stands on the floor's top,
    the places of :func:`_near_borders` and :func:`_hatch_places`), and ``near`` with the places the
    slab's outer face (the floor's underside, the ceiling's top) then needs on its cavity line.

    Between a hatch's side at gap ``g`` from the cavity's line and that line, two vertices of the line
    ``s`` apart have no vertex across from them but the side's far corner ``D`` along: every
    triangulation joins them to it, a triangle about ``g·s/D`` high (a 6 mm strip, vertices 3 cm apart,
    the corner 4.5 m away: 0.04 mm). Where ``g·s`` is under ``_NEAR_MARGIN · SLIVER · D`` (``s`` the
    vertex's nearer neighbour on the line, ``D`` the side's farther end) the vertex of the slab's inner
    face (its top, the ceiling's underside) gets one on the side where it projects onto it, and the
    strip falls into quads ``g`` wide; none within :data:`_HATCH_CLEAR` of the side's ends or of the
    last one kept (the corner or that point serves as its partner). Both faces of the slab get the
    points on the hatch's side (its tunnel takes them too), and the outer face's cavity line one where
    it has no vertex within :data:`_HATCH_CLEAR` (the footprint strip under the wall is cut across
    there, the wall's outer face gets a vertex on that border), unless an opening through that face
    runs there (the point is left out). Sides of hatches in a slab with a flush hatch are left as
    they are, and so are sides not parallel to the wall."""
    none = _SidePlaces(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
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
    # Each face's cavity-line places: the sides of the openings on its outline P' (:func:`_slab_faces`).
    # Only the walls some side runs along are looked at.
    wanted = np.zeros(w.length.size, dtype=bool)
    wanted[edge] = True
    walls = np.flatnonzero(wanted)
    lines = []
    for spec in range(4):
        oo, mask, close = _slab_openings(w, o, notches, near, spec)
        sel = (mask if close is None else mask | close) & wanted[oo.edge]
        lines.append((np.concatenate([oo.edge[sel], oo.edge[sel]]), np.concatenate([oo.a[sel], oo.b[sel]])))
    # The spans of the openings through each outer face's border: the wall's outer face has no border
    # there (a notch's whole box: its face drops border points within it, :func:`_notched_ring`).
    boxes = _boxes(list(notches.poly))
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
        need = gap[r] * a_spacing[j] < _NEAR_MARGIN * SLIVER * far
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
    places = _SidePlaces(hk[order], sk[order], ak[order])
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


def _hatches(w: _Walls, quads: F64, quad_room: I64, bad: B8) -> _Hatches:
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
    h = _Hatches(room, np.concatenate(slabs).astype(np.int64), np.concatenate(points), np.zeros(room.size, bool))
    if h.room.size == 0:
        return h
    # Inside the cavity, _GAP clear of every inner edge: in a convex one each corner on the inner side of
    # every edge line; in any other, :func:`_inside_concave`.
    cavity_ok = w.convex[h.room]
    e_count = w.first[h.room + 1] - w.first[h.room]
    hi_idx = np.repeat(np.arange(h.room.size), e_count)
    he = w.first[h.room][hi_idx] + np.arange(hi_idx.size) - np.repeat(np.cumsum(e_count) - e_count, e_count)
    rel = h.points[hi_idx] - w.inner[he][:, None, :]
    depth = np.einsum("nvk,nk->nv", rel, w.inward[he])
    inside_edge = (depth >= _GAP).all(axis=1)
    ok = cavity_ok.copy()
    np.logical_and.at(ok, hi_idx, inside_edge)
    concave = ~cavity_ok
    if concave.any():  # only the concave rooms' (hatch, edge) pairs: the others' results are not read
        pairs = concave[hi_idx]
        ok[concave] = _inside_concave(w, h, hi_idx[pairs], he[pairs])[concave]
    if not ok.all():
        _flush_hatches(w, h, ok)
    bad[h.room[~ok]] = True
    # Hatches of one slab of one room keep apart: their boxes _GAP apart (conservative). Only pairs
    # within a (room, slab) group are compared: sorted by group, each hatch against the later ones.
    key = h.room * 2 + h.slab
    order = np.argsort(key, kind="stable")
    key = key[order]
    ends = np.searchsorted(key, key, side="right")
    n = ends - np.arange(key.size) - 1
    i = np.repeat(np.arange(key.size), n)
    j = i + 1 + np.arange(i.size) - np.repeat(np.cumsum(n) - n, n)
    i, j = order[i], order[j]
    lo_b, hi_b = h.points.min(axis=1), h.points.max(axis=1)
    apart = (lo_b[j] >= hi_b[i] + _GAP).any(axis=1) | (lo_b[i] >= hi_b[j] + _GAP).any(axis=1)
    bad[h.room[i[~apart]]] = True
    return h


def _rectangle(u: F64, v: F64, eps: F64) -> tuple[B8, F64, F64, F64, F64]:
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


def _flush_hatches(w: _Walls, h: _Hatches, ok: B8) -> None:
    """Box rooms' rectangular hatches that are not clear of the walls: clipped to the cavity (a hatch
    opens the room's floor or ceiling, not the walls' footprints, as the boolean path's cutters), each
    side then flush with a wall (within ``WELD_EPS``, snapped) or ``_GAP`` clear of it. Those that
    qualify get their clipped rectangle in ``h.points``, ``h.flush`` and ``ok`` set."""
    k = np.flatnonzero(~ok)
    room = h.room[k]
    first = w.first[room]
    box_room = (w.first[room + 1] - first) == 4
    edges = first[:, None] + np.arange(4)
    edges = np.where(box_room[:, None], edges, first[:, None])
    axis = (w.tangent[edges] == 0.0).any(axis=2).all(axis=1) & box_room
    corners = w.inner[edges]  # (k, 4, 2): the cavity's corners
    c_lo, c_hi = corners.min(axis=1), corners.max(axis=1)
    pts = h.points[k]
    rect, x0, x1, z0, z1 = _rectangle(pts[..., 0], pts[..., 1], _rect_tolerance(pts)[:, None])
    lo, hi = np.maximum(np.stack([x0, z0], 1), c_lo), np.minimum(np.stack([x1, z1], 1), c_hi)
    for target, level in ((lo, c_lo), (hi, c_hi)):
        snap = np.abs(target - level) <= WELD_EPS
        target[snap] = level[snap]
    clear = ((lo == c_lo) | (lo >= c_lo + _GAP)) & ((hi == c_hi) | (hi <= c_hi - _GAP)) & (hi - lo >= _GAP)
    good = axis & rect & clear.all(axis=1)
    k, lo, hi = k[good], lo[good], hi[good]
    # Counter-clockwise in (x, z) (positive shoelace), as every hatch.
    h.points[k] = np.stack([lo, np.stack([hi[:, 0], lo[:, 1]], 1), hi, np.stack([lo[:, 0], hi[:, 1]], 1)], 1)
    h.flush[k] = True
    ok[k] = True


@dataclass(slots=True)
class _FlushSides:
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

    @classmethod
    def with_ends(cls, hatch: I64, side: I64, edge: I64, s0: F64, s1: F64, slab: I64) -> _FlushSides:
        """Sides whose places are their two ends."""
        of = np.concatenate([np.arange(edge.size), np.arange(edge.size)])
        return cls(hatch, side, edge, s0, s1, slab, of, np.concatenate([s0, s1]))

    def only(self, keep: B8) -> _FlushSides:
        """The sides where ``keep`` (n,) holds, in order, with their ends as places."""
        return _FlushSides.with_ends(
            self.hatch[keep], self.side[keep], self.edge[keep], self.s0[keep], self.s1[keep], self.slab[keep]
        )

    def points(self) -> tuple[I64, F64, I64]:
        """(edge, place, slab) of every place."""
        return self.edge[self.of], self.place, self.slab[self.of]


def _flush_sides(w: _Walls, h: _Hatches, fast: B8) -> _FlushSides:
    """The sides of the ``fast`` rooms' flush hatches that lie on a wall's inner face, with their ends as places."""
    k = np.flatnonzero(h.flush & fast[h.room])
    edges = w.first[h.room[k]][:, None] + np.arange(4)  # box rooms: four edges each
    start, inward = w.inner[edges], w.inward[edges]  # (k, 4, 2)
    pts = h.points[k]
    dist = np.einsum("kjen,ken->kje", pts[:, :, None, :] - start[:, None, :, :], inward)  # (k, side, edge)
    on = (np.abs(dist) <= 1e-9) & (np.abs(np.roll(dist, -1, axis=1)) <= 1e-9)
    row, side, which = np.nonzero(on)
    edge = edges[row, which]
    ends = [np.einsum("nk,nk->n", pts[row, j] - w.start[edge], w.tangent[edge]) for j in (side, (side + 1) % 4)]
    return _FlushSides.with_ends(k[row], side, edge, np.minimum(*ends), np.maximum(*ends), h.slab[k][row])


def _pairs_on_edges(edge: I64, o_edge: I64) -> tuple[I64, I64]:
    """Every (row of ``edge``, opening) pair on the same edge, ``o_edge`` the openings' edges, sorted (as
    :func:`_openings` leaves them)."""
    first = np.searchsorted(o_edge, edge, side="left")
    return ranges(first, np.searchsorted(o_edge, edge, side="right") - first)


def _flush_places(w: _Walls, o: _Openings, sides: _FlushSides, near: _Near) -> _FlushSides:
    """``sides`` with the corners of the openings standing on the slab's face beside each side added as
    places, and of those whose corners are near that face (``near``: the wall's inner face gets vertices
    over them on its border with the slab, :func:`_near_borders`)."""
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


def _flush_clashes(w: _Walls, o: _Openings, sides: _FlushSides, bad: B8) -> None:
    """Rooms with an opening that passes into a slab under (over) a wall a hatch of that slab is
    flush with, beside the hatch (within ``_GAP``): both would cut the same corner of slab and wall;
    or that stands on that slab's face over one end of the hatch's side. The boolean path builds them."""
    if sides.edge.size == 0 or o.edge.size == 0:
        return
    row, j = _pairs_on_edges(sides.edge, o.edge)
    r = o.room[j]
    y0, y1, t = w.rooms.y0[r], w.rooms.y1[r], w.rooms.thickness[r]
    into = np.where(sides.slab[row] == 0, o.c[j] < y0 + t, o.d[j] > y1 - t)
    near = (o.a[j] < sides.s1[row] + _GAP) & (o.b[j] > sides.s0[row] - _GAP)
    bad[r[into & near]] = True
    # Standing on the slab's face and over one end of the side: its sill (lintel) would need a vertex
    # where the hatch begins; wholly over the side, or beside it, is fine.
    on_face = np.where(sides.slab[row] == 0, o.c[j] == y0 + t, o.d[j] == y1 - t)
    a, b = o.a[j], o.b[j]
    across = ((a < sides.s0[row]) & (sides.s0[row] < b)) | ((a < sides.s1[row]) & (sides.s1[row] < b))
    bad[r[on_face & across]] = True


def _inside_concave(w: _Walls, h: _Hatches, hatch: I64, edge: I64) -> B8:
    """Whether each hatch lies inside its room's cavity P' (any shape) and ``_GAP`` clear of its
    edges: every corner inside P' (crossing number) and ``_GAP`` from every inner edge, every inner
    vertex ``_GAP`` outside the hatch, and no hatch edge crossing an inner edge. ``hatch``, ``edge``
    (n,): every (hatch, inner edge of its room) pair."""
    p0, p1 = w.inner[edge], w.inner[w.nxt[edge]]
    q = h.points[hatch]  # (n, 4, 2), counter-clockwise in (x, z)
    seg = p1 - p0
    length2 = np.einsum("nk,nk->n", seg, seg)
    rel = q - p0[:, None, :]
    along = np.clip(np.einsum("nvk,nk->nv", rel, seg) / np.where(length2 > 0, length2, 1.0)[:, None], 0.0, 1.0)
    gap = rel - along[..., None] * seg[:, None, :]
    near = (np.einsum("nvk,nvk->nv", gap, gap) < _GAP * _GAP).any(axis=1)
    # Crossing number of each corner: inner edges straddling its z, crossed on its +x side.
    z0, z1, x0, x1 = p0[:, None, 1], p1[:, None, 1], p0[:, None, 0], p1[:, None, 0]
    straddle = (z0 > q[..., 1]) != (z1 > q[..., 1])
    cut = x0 + (q[..., 1] - z0) * (x1 - x0) / np.where(z1 != z0, z1 - z0, 1.0)
    crossings = np.zeros((h.room.size, 4), dtype=np.int64)
    np.add.at(crossings, hatch, (straddle & (q[..., 0] < cut)).astype(np.int64))
    inside: B8 = (crossings % 2 == 1).all(axis=1)
    # The inner edge's start vertex against the hatch: outside one of its edge lines by _GAP.
    qn = np.roll(q, -1, axis=1)
    side = qn - q
    side_len = np.maximum(np.hypot(side[..., 0], side[..., 1]), 1e-300)
    depth = (side[..., 0] * (p0[:, None, 1] - q[..., 1]) - side[..., 1] * (p0[:, None, 0] - q[..., 0])) / side_len
    vertex_near = (-depth).max(axis=1) < _GAP

    a0, a1 = p0[:, None, :], p1[:, None, :]
    crosses = (orient2(a0, a1, q) * orient2(a0, a1, qn) < 0) & (orient2(q, qn, a0) * orient2(q, qn, a1) < 0)
    crossing = crosses.any(axis=1)
    inside[hatch[near | vertex_near | crossing]] = False
    return inside


def _frame_quads(outer: F64, hole: F64, drop_bottom: B8, drop_top: B8) -> tuple[F64, B8]:
    """The four trapezoids (n, 4, 4, 2) in (u, v) of rectangles ``outer`` (n, 4) [u0, u1, v0, v1]
    around ``hole`` [a, b, c, d], and which to keep (a hole touching the bottom or top leaves no piece there)."""
    u0, u1, v0, v1 = outer.T
    a, b, c, d = hole.T

    def pts(us: list[F64], vs: list[F64]) -> F64:
        return np.stack([np.stack(us, -1), np.stack(vs, -1)], -1)

    quads = np.stack(
        [
            pts([u0, u1, b, a], [v0, v0, c, c]),
            pts([u1, u1, b, b], [v0, v1, d, c]),
            pts([u1, u0, a, b], [v1, v1, d, d]),
            pts([u0, u0, a, a], [v1, v0, c, d]),
        ],
        axis=1,
    )
    keep = np.ones((outer.shape[0], 4), dtype=bool)
    keep[:, 0] = ~drop_bottom
    keep[:, 2] = ~drop_top
    return quads, keep


def _on_segment(d: F64, rel: F64) -> tuple[B8, F64]:
    """Whether points lie strictly inside segments: ``d`` (..., 2) each segment's end minus its start,
    ``rel`` (..., 2) the point minus the start (shapes broadcast). Returns (on, position along the
    segment in units of its squared length). On: within 1e-9 of the line relative to the length,
    and 1e-12 of the squared length away from either end."""
    length2 = np.einsum("...k,...k->...", d, d)
    along = np.einsum("...k,...k->...", rel, d)
    cross = d[..., 0] * rel[..., 1] - d[..., 1] * rel[..., 0]
    slack = 1e-12 * length2
    on: B8 = (cross * cross <= 1e-18 * length2) & (along > slack) & (along < length2 - slack)
    return on, along


def _mend_faces(points: F64, index: I64, face: I64, point_face: I64, faces: int) -> tuple[I64, I64]:
    """Split every triangle with a point of its face inside one of its edges into a fan from its
    opposite corner over those points, until none is left (earcut drops collinear points when it
    bridges holes or gets stuck: each such edge is a T-junction, a crack in the shell).

    All faces at once: ``points`` (p, 2) with ``point_face`` (p,), triangles ``index`` (m, 3) into
    ``points`` with ``face`` (m,) ascending, ``faces`` their count. Returns (index, face), each
    face's triangles those it kept, in order, then its fans. A split triangle fans over its first
    edge holding points, the points in order along it (equal positions in point order); each round
    looks again at the faces the last one split, eight rounds at most: at the fans it made (the
    other triangles' edges and the face's points are as they were, so none of them would split).
    The (edge, point) pairs tested are :func:`_near_pairs`' (every pair :func:`_on_segment`
    accepts is among them) over the edges :func:`_open_edges` leaves open."""
    active = np.ones(faces, dtype=bool)
    fresh = np.ones(index.shape[0], dtype=bool)
    for _ in range(8):
        sel = np.flatnonzero(fresh)
        mine = np.flatnonzero(active[point_face])
        if sel.size == 0:
            break
        corners = np.take(index, sel, axis=0)
        tri = np.take(points, corners, axis=0)  # (np.take: row gathers ~4x faster than fancy indexing)
        start, end = tri.reshape(-1, 2), tri[:, [1, 2, 0]].reshape(-1, 2)
        local = np.empty(points.shape[0], dtype=np.int64)  # a point's place among the active faces' (``mine``)
        local[mine] = np.arange(mine.size)
        # Only edges that may hold a point are searched (on a star-shaped floor earcut's long
        # diagonals pass near thousands of points, and all of them are shared).
        cand = np.flatnonzero(_open_edges(points, index, face, active, sel))
        edge_ends = (local[corners.reshape(-1)[cand]], local[corners[:, [1, 2, 0]].reshape(-1)[cand]])
        edge_face = face[sel].repeat(3)[cand]
        edge, point = _face_pairs(edge_face, point_face[mine], faces)
        if edge is None or point is None:
            edge, point = _near_pairs(start[cand], end[cand], edge_face, points[mine], point_face[mine], edge_ends)
        edge, point = cand[edge], mine[point]
        # An edge's own ends are never inside it (about half the pairs): left out before the test.
        ends = corners.reshape(-1)
        inner = (point != ends[edge]) & (point != corners[:, [1, 2, 0]].reshape(-1)[edge])
        edge, point = edge[inner], point[inner]
        base = np.take(start, edge, axis=0)
        on, along = _on_segment(np.take(end, edge, axis=0) - base, np.take(points, point, axis=0) - base)
        edge, point, along = edge[on], point[on], along[on]
        if edge.size == 0:
            break
        row, side = edge // 3, edge % 3
        first = np.full(sel.size, 3, dtype=np.int64)
        np.minimum.at(first, row, side)
        keep = side == first[row]
        row, point, along = row[keep], point[keep], along[keep]
        order = np.lexsort((point, along, row))
        row, point = row[order], point[order]
        split = distinct(row)
        count = np.bincount(row, minlength=sel.size)[split]
        side = first[split]
        corner = index[sel[split]]
        r = np.arange(split.size)
        a, b, opposite = corner[r, side], corner[r, (side + 1) % 3], corner[r, (side + 2) % 3]
        # Row i's chain a, p1 … pk, b (k = count[i]) at chain[at[i] : at[i] + k + 2]: k + 1 fan triangles.
        at = np.cumsum(count + 2) - (count + 2)
        chain = np.empty(int((count + 2).sum()), dtype=np.int64)
        chain[at], chain[at + count + 1] = a, b
        chain[np.arange(point.size) + 1 + 2 * np.repeat(r, count)] = point  # row i's points after i + 1 ends
        fans = count + 1
        fan_row = np.repeat(r, fans)
        j = np.repeat(at, fans) + np.arange(fan_row.size) - np.repeat(np.cumsum(fans) - fans, fans)
        extra = np.stack([opposite[fan_row], chain[j], chain[j + 1]], axis=1)
        gone = np.zeros(index.shape[0], dtype=bool)
        gone[sel[split]] = True
        split_face = face[sel[split]]
        new_face = np.concatenate([face[~gone], split_face[fan_row]])
        kind = np.concatenate([np.zeros(index.shape[0] - split.size, np.int64), np.ones(fan_row.size, np.int64)])
        order = np.argsort(2 * new_face + kind, kind="stable")
        index, face = np.take(np.concatenate([index[~gone], extra]), order, axis=0), new_face[order]
        fresh = kind[order] == 1
        active = np.zeros(faces, dtype=bool)
        active[split_face] = True
    return index, face


#: Most (edge, point) pairs :func:`_face_pairs` lists: past it :func:`_near_pairs` searches (a crowded face
#: would list millions; an office's earcut faces list ~20,000, which its searches took 3x as long to narrow).
_FACE_PAIRS = 1 << 16


def _face_pairs(edge_face: I64, point_face: I64, faces: int) -> tuple[I64 | None, I64 | None]:
    """Every (edge, point) pair of the same face (edges by ``edge_face``, points by ``point_face``
    ascending), by edge — a superset of :func:`_near_pairs`' with no search, so the same T-junctions —
    or (None, None) when there would be more than :data:`_FACE_PAIRS` of them."""
    count = np.bincount(point_face, minlength=faces)
    per_edge = count[edge_face]
    if int(per_edge.sum()) > _FACE_PAIRS:
        return None, None
    first = np.concatenate([[0], np.cumsum(count)])[edge_face]
    return ranges(first, per_edge)


#: A triangle at least this high (m) is a proper one for :func:`_open_edges`: a thousand times the
#: 1e-9 m within which :func:`_on_segment` puts a point on an edge.
_PROPER = 1e-6


def _open_edges(points: F64, index: I64, face: I64, active: B8, sel: I64) -> B8:
    """Per edge of the triangles ``sel`` (3 each, edge k from corner k to k + 1): whether a point of
    its face may lie inside it. Not where the edge is shared — its reverse is an edge of exactly one
    other triangle of the face, itself once, both triangles :data:`_PROPER` high and wound alike
    (so they lie on the two sides of the edge): a point inside
    it is inside the face with triangles on both sides, so it is no corner of any other triangle
    (they would overlap) and no corner of the face's rings (on the boundary). Those are earcut's
    inner diagonals; what stays open is the faces' borders and anything degenerate or non-manifold.

    ``index`` (m, 3) every triangle, ``face`` (m,) its face, ``active`` the faces whose triangles
    count as neighbours (those of ``sel``)."""
    rows = np.flatnonzero(active[face])
    tri = np.take(index, rows, axis=0)
    n = points.shape[0]
    keys = (tri * n + tri[:, [1, 2, 0]]).reshape(-1)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    mine = np.take(index, sel, axis=0)
    a, b = mine.reshape(-1), mine[:, [1, 2, 0]].reshape(-1)
    forward, backward = a * n + b, b * n + a
    once_f = np.searchsorted(ordered, forward, side="right") - np.searchsorted(ordered, forward, side="left") == 1
    lo = np.searchsorted(ordered, backward, side="left")
    once_b = np.searchsorted(ordered, backward, side="right") - lo == 1
    # Proper: high enough; and the twins wound alike, so on the two sides of the edge (one wound
    # the other way would lie over the edge's triangle, not beside it).
    corners = np.take(points, tri, axis=0)
    u, v = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    turn = np.zeros(index.shape[0])
    turn[rows] = np.sign(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]) * (_heights2d(corners) >= _PROPER)
    twin = rows[order[np.minimum(lo, ordered.size - 1)] // 3]
    side = turn[sel].repeat(3)
    open_: B8 = ~(once_f & once_b & (side != 0.0) & (side == turn[twin]))
    return open_


#: Margin (m) of :func:`_near_pairs`' boxes: a point :func:`_on_segment` accepts is within 1e-9 m of the segment.
_NEAR = 1e-7


def _near_pairs(
    start: F64, end: F64, edge_face: I64, points: F64, point_face: I64, ends: tuple[I64, I64] | None = None
) -> tuple[I64, I64]:
    """(edge, point) index pairs (by edge) of the same face whose point lies in the edge's box grown by
    :data:`_NEAR` along u or along v, whichever of the two gives the edge fewer points.

    ``start``/``end`` (e, 2) segments, ``points`` (p, 2). Every pair :func:`_on_segment` accepts is
    among them (its point is within 1e-9 m of the segment, between its ends), so testing these
    instead of every (edge, point of the face) pair finds the same T-junctions. Cost: per axis, a sort
    of the p points and binary searches for the 2e bounds; the pairs are about the points near each
    edge, not all of its face's (a corridor wall with 40 doorways has ~170 points and ~300 triangles).
    ``ends``: where the edges' ends are among ``points`` (points of the edge's own face: the edges of
    triangles over them), if known: an edge's box bounds then come from its ends' ranks (searches per
    distinct value and per point, in order, rather than four per edge). Edges with many points in
    range are walked along their lines instead (:func:`_walk_lines`, :func:`_block_walk`) where that
    costs less: the pairs then grow with the points near each edge, not with those in its range.
    """
    e, p = start.shape[0], points.shape[0]
    axes = []
    values: list[F64] = []
    ranks: list[I64] = []
    for ax in (0, 1):
        # Points ranked by their distinct values; a box [lo, hi] holds the ranks from the number of
        # values below lo to the number at most hi (exact comparisons, both ends in).
        v = points[:, ax]
        by_value = np.argsort(v, kind="stable")
        ordered = v[by_value]
        new = np.ones(p, dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        distinct = ordered[new]
        rank = np.empty(p, dtype=np.int64)
        rank[by_value] = np.cumsum(new) - 1  # np.searchsorted(distinct, v): the run of equal values
        values.append(distinct)
        ranks.append(rank)
        width = distinct.size + 1
        point_key = point_face * width + rank  # exact integers: face first, then rank
        order = np.argsort(point_key, kind="stable")
        keys = point_key[order]
        if ends is None:
            low = np.searchsorted(distinct, np.minimum(start[:, ax], end[:, ax]) - _NEAR, side="left")
            high = np.searchsorted(distinct, np.maximum(start[:, ax], end[:, ax]) + _NEAR, side="right")
            first = np.searchsorted(keys, edge_face * width + low, side="left")
            last = np.searchsorted(keys, edge_face * width + high, side="left")
        else:
            # An edge's box runs from its lower end's value (distinct[that end's rank]: equal, so the same
            # sum) to its upper end's, both ends points of its face: the searches are made once per point,
            # in key order (both bounds rise with it, so the needles come sorted), not twice per edge.
            r0, r1 = rank[ends[0]], rank[ends[1]]
            swap = r1 < r0
            lower, upper = np.where(swap, ends[1], ends[0]), np.where(swap, ends[0], ends[1])
            face_base = keys - rank[order]  # point_face * width, in key order
            lo_r = np.searchsorted(distinct, distinct - _NEAR, side="left")
            hi_r = np.searchsorted(distinct, distinct + _NEAR, side="right")
            at_first, at_last = np.empty(p, dtype=np.int64), np.empty(p, dtype=np.int64)
            at_first[order] = np.searchsorted(keys, face_base + lo_r[rank[order]], side="left")
            at_last[order] = np.searchsorted(keys, face_base + hi_r[rank[order]], side="left")
            first, last = at_first[lower], at_last[upper]
        axes.append((first, last - first, order))
    # Each edge's run of points from the axis it takes, both axes' orders end to end: one expansion.
    use_v = axes[1][1] < axes[0][1]
    count = np.where(use_v, axes[1][1], axes[0][1])
    first = np.where(use_v, axes[1][0] + p, axes[0][0])
    # A long edge across a face with many points on a few lines (a wall with a row of doorways: their
    # tops and sills at one height, their jambs side by side) has most of them in its box along
    # either axis. Walked along its line instead — at each distinct value of its shorter extent, the
    # points of that value within reach of where the line passes — it is a search per such value,
    # taken wherever there are fewer such values than points in the box (a star floor's edges of
    # whole-metre points: ~100 values against ~200 points; 4 values a point made 20 M pairs there).
    minor, lo_r, hi_r = _minor_values(start, end, values)
    walk = np.flatnonzero(hi_r - lo_r < count)
    faces = int(point_face.max(initial=0)) + 1
    if faces * (values[0].size + 1) * (values[1].size + 1) >= 1 << 62:
        walk = walk[:0]  # the walk's (face, minor, major) keys would not fit in 63 bits
    # A long slanted edge across a face of many scattered points (a star floor's border: ~800 of its
    # 4,096 points in either axis' range of an edge, as many values to walk) has most of them in its
    # range along both axes but few near its line: searched block by block of its major axis
    # (:func:`_block_walk`) where that costs less (searches and points) than the box or the walk.
    cost = count.copy()
    cost[walk] = (hi_r - lo_r)[walk]
    crowded = np.flatnonzero(cost > _CROWDED)
    blocked: tuple[I64, I64] | None = None
    if crowded.size and faces * (p // _BLOCK + 1) * (max(values[0].size, values[1].size) + 1) < 1 << 62:
        b_edge, b_point, taken = _block_walk(
            start, end, edge_face, points, point_face, values, ranks, axes, crowded, cost
        )
        count[taken] = 0
        walk = np.setdiff1d(walk, taken, assume_unique=True)
        blocked = (b_edge, b_point)
    count[walk] = 0
    edge = np.repeat(np.arange(e), count)
    at = np.arange(edge.size) + np.repeat(first - (np.cumsum(count) - count), count)
    boxed = np.concatenate([axes[0][2], axes[1][2]])[at]
    parts_e, parts_p = [edge], [boxed]
    if walk.size:
        w_edge, w_point = _walk_lines(start, end, edge_face, point_face, values, ranks, walk, (minor, lo_r, hi_r))
        parts_e.append(w_edge)
        parts_p.append(w_point)
    if blocked is not None:
        parts_e.append(blocked[0])
        parts_p.append(blocked[1])
    if len(parts_e) == 1:
        return edge, boxed
    edges = np.concatenate(parts_e)
    order = np.argsort(edges, kind="stable")
    return edges[order], np.concatenate(parts_p)[order]


#: Points per block of :func:`_block_walk`, and the points in its range above which an edge is searched
#: by blocks as well.
_BLOCK = 32
_CROWDED = 2 * _BLOCK


def _block_walk(
    start: F64,
    end: F64,
    edge_face: I64,
    points: F64,
    point_face: I64,
    values: list[F64],
    ranks: list[I64],
    axes: list[tuple[I64, I64, I64]],
    crowded: I64,
    cost: I64,
) -> tuple[I64, I64, I64]:
    """(edge, point) pairs of those ``crowded`` edges whose searches and points are fewer this way
    than ``cost`` (their points in range along one axis, or the searches of their walk along their
    line), and those edges: for each, the edge's
    face's points in range along its major axis M (``axes[M]``: their run in that axis' (face, rank)
    order), taken in blocks of :data:`_BLOCK` consecutive points of that order, and of each block
    those whose minor value is within reach of where the line passes over the block's M values.

    A point :func:`_on_segment` accepts is within 1e-9 m of the line and between the edge's ends: its M
    value is in the edge's range (so it is in one of the blocks, between that block's first and last
    M value in range), and its minor value within 1e-9 · length / |M extent| of the line's at its M
    value (a margin of :data:`_NEAR` in place of 1e-9) and inside the edge's minor extent; the line's
    minor value at it lies between its values at the block's ends. So every such pair is among
    these. Cost: a search per block (at most ``count / _BLOCK`` + 2 per edge) and the points found."""
    p = points.shape[0]
    delta = np.abs(end - start)
    major = (delta[:, 1] > delta[:, 0]).astype(np.int64)
    out_edge, out_point, taken = [], [], []
    for ax in (0, 1):
        sel = crowded[major[crowded] == ax]
        if not sel.size:
            continue
        m = 1 - ax
        first_all, n_all, order_ax = axes[ax]
        position = np.empty(p, dtype=np.int64)
        position[order_ax] = np.arange(p)
        width_b, width_m = p // _BLOCK + 1, values[m].size + 1
        key = (point_face * width_b + position // _BLOCK) * width_m + ranks[m]  # exact: face, block, minor
        by_key = np.argsort(key, kind="stable")
        keys = key[by_key]
        f, last = first_all[sel], first_all[sel] + n_all[sel]
        n = (last - 1) // _BLOCK - f // _BLOCK + 1
        row = np.repeat(np.arange(sel.size), n)
        block = np.repeat(f // _BLOCK, n) + np.arange(row.size) - np.repeat(np.cumsum(n) - n, n)
        # The block's first and last M values among the edge's points (positions run in value order).
        xa = points[order_ax[np.maximum(f[row], block * _BLOCK)], ax]
        xb = points[order_ax[np.minimum(last[row], (block + 1) * _BLOCK) - 1], ax]
        s0, s1 = start[sel], end[sel]
        d_ax, d_m = s1[:, ax] - s0[:, ax], s1[:, m] - s0[:, m]
        tilted = d_ax != 0.0
        slope = np.divide(d_m, d_ax, out=np.zeros_like(d_m), where=tilted)
        reach = np.where(tilted, _NEAR * np.hypot(d_ax, d_m) / np.where(tilted, np.abs(d_ax), 1.0), np.inf)
        ya = s0[row, m] + (xa - s0[row, ax]) * slope[row]
        yb = s0[row, m] + (xb - s0[row, ax]) * slope[row]
        lo = np.maximum(np.minimum(ya, yb) - reach[row], np.minimum(s0[:, m], s1[:, m])[row] - _NEAR)
        hi = np.minimum(np.maximum(ya, yb) + reach[row], np.maximum(s0[:, m], s1[:, m])[row] + _NEAR)
        base = (edge_face[sel][row] * width_b + block) * width_m
        lo_k = np.searchsorted(keys, base + np.searchsorted(values[m], lo, side="left"), side="left")
        hi_k = np.searchsorted(keys, base + np.searchsorted(values[m], hi, side="right"), side="left")
        found = np.maximum(hi_k - lo_k, 0)
        # Only where its searches and points are fewer than the box's points or the walk's searches.
        better = np.bincount(row, found, minlength=sel.size) + n < cost[sel]
        found = np.where(better[row], found, 0)
        taken.append(sel[better])
        edge = np.repeat(sel[row], found)
        at = np.repeat(lo_k, found) + np.arange(edge.size) - np.repeat(np.cumsum(found) - found, found)
        point = by_key[at]
        # The first and last blocks run past the edge's range: their points outside it are left out.
        inside = (position[point] >= np.repeat(f[row], found)) & (position[point] < np.repeat(last[row], found))
        out_edge.append(edge[inside])
        out_point.append(point[inside])
    if not out_edge:
        return crowded[:0], crowded[:0], crowded[:0]
    return np.concatenate(out_edge), np.concatenate(out_point), np.concatenate(taken)


def _minor_values(start: F64, end: F64, values: list[F64]) -> tuple[I64, I64, I64]:
    """Per edge (e,): the axis of its shorter extent (1, v, for an edge running along u, else 0), and
    the range [lo, hi) of that axis' distinct point ``values`` within it, grown by :data:`_NEAR`."""
    delta = np.abs(end - start)
    minor = (delta[:, 0] >= delta[:, 1]).astype(np.int64)
    lo_r, hi_r = np.empty(start.shape[0], dtype=np.int64), np.empty(start.shape[0], dtype=np.int64)
    for m in (0, 1):
        sel = minor == m
        a, b = start[sel, m], end[sel, m]
        lo_r[sel] = np.searchsorted(values[m], np.minimum(a, b) - _NEAR, side="left")
        hi_r[sel] = np.searchsorted(values[m], np.maximum(a, b) + _NEAR, side="right")
    return minor, lo_r, hi_r


def _walk_lines(
    start: F64,
    end: F64,
    edge_face: I64,
    point_face: I64,
    values: list[F64],
    ranks: list[I64],
    walk: I64,
    minor_values: tuple[I64, I64, I64],
) -> tuple[I64, I64]:
    """(edge, point) pairs of the edges ``walk`` (by edge) found along their lines: at each distinct
    value of an edge's minor axis within its extent (:func:`_minor_values`), the points of its face
    with that value whose other coordinate is within reach of where the line passes there.

    A point :func:`_on_segment` accepts is within 1e-9 m of the line: at its minor value, within
    1e-9 · length / |minor extent| of the line's crossing along the major axis (a margin of
    :data:`_NEAR` in place of 1e-9), and inside the edge's extent; so every such pair is among these.
    ``values``/``ranks``: each axis' distinct point values and every point's rank among them."""
    minor, lo_r, hi_r = minor_values
    out_edge, out_point = [], []
    for m in (0, 1):
        sel = walk[minor[walk] == m]
        if not sel.size:
            continue
        d = 1 - m
        n = hi_r[sel] - lo_r[sel]
        row = np.repeat(np.arange(sel.size), n)
        r = np.repeat(lo_r[sel], n) + np.arange(row.size) - np.repeat(np.cumsum(n) - n, n)
        s0, s1 = start[sel], end[sel]
        dm, dd = s1[:, m] - s0[:, m], s1[:, d] - s0[:, d]
        tilted = dm != 0.0
        slope = np.divide(dd, dm, out=np.zeros_like(dd), where=tilted)
        reach = np.where(tilted, _NEAR * np.hypot(dm, dd) / np.where(tilted, np.abs(dm), 1.0), np.inf)
        crossing = s0[row, d] + (values[m][r] - s0[row, m]) * slope[row]
        lo = np.maximum(crossing - reach[row], np.minimum(s0[:, d], s1[:, d])[row] - _NEAR)
        hi = np.minimum(crossing + reach[row], np.maximum(s0[:, d], s1[:, d])[row] + _NEAR)
        width_m, width_d = values[m].size + 1, values[d].size + 1
        key = (point_face * width_m + ranks[m]) * width_d + ranks[d]  # exact integers: face, minor, major
        order = np.argsort(key, kind="stable")
        keys = key[order]
        base = (edge_face[sel][row] * width_m + r) * width_d
        first = np.searchsorted(keys, base + np.searchsorted(values[d], lo, side="left"), side="left")
        last = np.searchsorted(keys, base + np.searchsorted(values[d], hi, side="right"), side="left")
        count = np.maximum(last - first, 0)
        edge = np.repeat(sel[row], count)
        at = np.repeat(first, count) + np.arange(edge.size) - np.repeat(np.cumsum(count) - count, count)
        out_edge.append(edge)
        out_point.append(order[at])
    return np.concatenate(out_edge), np.concatenate(out_point)


def _earcut_many(jobs: list[tuple[F64, list[int], int]]) -> tuple[F64, I64]:
    """Triangles (m, 3, 2) of many polygons with holes (``points`` (n, 2), ring ``ends``, outer first),
    and the job each belongs to (m,), job by job: earcut one by one (its uint32 corner lists joined,
    then widened once), then :func:`_mend_faces` on all, Delaunay flips on the faces with thin
    triangles and points inside those still holding a sliver (:func:`_steiner`)."""
    triangulate = mapbox_earcut.triangulate_float64
    indices = [
        triangulate(points[:, ::-1] if _holes_stacked(points, ends) else points, np.asarray(ends, dtype=np.uint32))
        for points, ends, _ in jobs
    ]
    n_pts = np.array([p.shape[0] for p, _, _ in jobs], np.int64)
    n_tri = np.array([i.shape[0] for i in indices], np.int64) // 3
    p_start = np.concatenate([[0], np.cumsum(n_pts)])
    face = np.repeat(np.arange(len(jobs)), n_tri)
    pts = np.concatenate([p for p, _, _ in jobs])
    index = np.concatenate(indices).astype(np.int64).reshape(-1, 3) + p_start[face][:, None]
    # Earcut may give triangles of three points on one line (a ring with long runs of collinear
    # points, its holes bridged to them, turned off the axes): no area, a corner within the 1 nm of
    # the opposite edge that :func:`_on_segment` counts as on it, and the mending below would fan such
    # a triangle over its own corner, round after round (20,000 flat triangles from 700). Left out,
    # its long edge is a T-junction the mending splits.
    flat = _heights2d(np.take(pts, index, axis=0)) <= _FLAT
    if flat.any():
        index, face = index[~flat], face[~flat]
    index, face = _mend_in_groups(pts, index, face, n_pts, p_start)
    # Earcut does not look at shape: in a thin strip (a 2 cm wall's face under a doorway) it may join
    # points metres apart. Faces with a triangle under _THIN high get Delaunay edge flips.
    tri = np.take(pts, index, axis=0)
    thin = np.zeros(len(jobs), dtype=bool)
    thin[face[_heights2d(tri) < _THIN]] = True
    rows = np.flatnonzero(thin[face])
    if rows.size:
        index[rows] = _flip_to_delaunay(pts, index[rows])
        tri = np.take(pts, index, axis=0)
        if (_heights2d(tri[rows]) < SLIVER).any():
            pts, index, face = _steiner(pts, index, face)
            tri = np.take(pts, index, axis=0)
    return tri, face


#: Holes a face has before :func:`_holes_stacked` looks at how they lie.
_STACK_HOLES = 16


def _holes_stacked(points: F64, ends: list[int]) -> bool:
    """Whether a face's holes (rings after the first of ``points``, ``ends``) share their leftmost
    coordinates far more than their lowest: earcut joins holes to the outline in order of their leftmost
    point, each by a search along the outline grown by those before, and holes stacked in a column
    (1,000 windows up a tall wall, every one's leftmost u the same) took it ~n^2.8 (10 s a pair of
    rooms); with the axes swapped (the same points, the triangles' corners the same indices) they
    are a row, as fast as a wall of doorways."""
    if len(ends) - 1 <= _STACK_HOLES:  # (the first ring is the outline)
        return False
    starts = np.asarray(ends[:-1], dtype=np.int64)
    holes = points[starts[0] :]
    low = np.minimum.reduceat(holes, starts - starts[0], axis=0)
    return 2 * distinct(low[:, 0]).size < distinct(low[:, 1]).size


#: Faces mended at once by :func:`_mend_in_groups`: consecutive ones whose squared point counts (a bound on
#: the (edge, point) pairs each may test) sum to at most this, a face above it alone. A 4,096-point star
#: floor tests millions of pairs (~100 bytes each with the temporaries): 24 of them, within the
#: floor-point limit, asked for 114 million at once (tens of GB) before faces were grouped.
_MEND_GROUP = 1 << 20


def _mend_in_groups(pts: F64, index: I64, face: I64, n_pts: I64, p_start: I64) -> tuple[I64, I64]:
    """:func:`_mend_faces` over the faces of :func:`_earcut_many` (``index`` by ``face`` ascending, face
    k's points ``pts[p_start[k]:p_start[k + 1]]``), in groups of :data:`_MEND_GROUP`: each face is mended
    on its own points and triangles alone, so the result is the same as all at once, the memory that of
    the largest group."""
    faces = n_pts.shape[0]
    weight = n_pts * n_pts
    group = (np.cumsum(weight) - weight) // _MEND_GROUP
    cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), faces]
    if len(cuts) <= 2:
        return _mend_faces(pts, index, face, np.repeat(np.arange(faces), n_pts), faces)
    rows = np.searchsorted(face, cuts)
    out_index, out_face = [], []
    for a, b, r0, r1 in zip(cuts[:-1], cuts[1:], rows[:-1], rows[1:], strict=True):
        p0, p1 = int(p_start[a]), int(p_start[b])
        mine = np.repeat(np.arange(b - a), n_pts[a:b])
        got_index, got_face = _mend_faces(pts[p0:p1], index[r0:r1] - p0, face[r0:r1] - a, mine, b - a)
        out_index.append(got_index + p0)
        out_face.append(got_face + a)
    return np.concatenate(out_index), np.concatenate(out_face)


#: Earcut's triangles no higher than this (m) are flat (:func:`_earcut_many`): :func:`_on_segment`'s 1 nm.
_FLAT = 1e-9
#: Triangles of an earcut face lower than this (m) send the face to :func:`_flip_to_delaunay`.
_THIN = 1e-3


def _heights2d(tri: F64) -> F64:
    """Each 2D triangle's (m, 3, 2) smallest altitude: twice its area over its longest edge."""
    e = tri[:, [1, 2, 0]] - tri
    cross = np.abs(e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0])
    longest = np.sqrt(column_reduce(np.maximum, np.einsum("mek,mek->me", e, e)))
    out: F64 = cross / np.where(longest > 0, longest, 1.0)
    return out


def _flip_needed(pa: F64, pb: F64, pc: F64, pd: F64) -> B8:
    """Per interior edge a–b between triangles (a, b, c) and (b, a, d), points (e, 2): whether a Lawson
    flip to c–d is due — the quad a, c, b, d is convex and the angles at c and d sum past π
    (sin(α + β) < 0; cocircular points, as a rectangle's, never flip)."""
    convex = (orient2(pa, pb, pc) * orient2(pa, pb, pd) < 0) & (orient2(pc, pd, pa) * orient2(pc, pd, pb) < 0)
    u1, v1, u2, v2 = pa - pc, pb - pc, pa - pd, pb - pd
    dot1, dot2 = np.einsum("ek,ek->e", u1, v1), np.einsum("ek,ek->e", u2, v2)
    cross1 = np.abs(u1[:, 0] * v1[:, 1] - u1[:, 1] * v1[:, 0])
    cross2 = np.abs(u2[:, 0] * v2[:, 1] - u2[:, 1] * v2[:, 0])
    total = cross1 * dot2 + dot1 * cross2
    due: B8 = convex & (total < -1e-9 * (cross1 * np.abs(dot2) + np.abs(dot1) * cross2))
    return due


def _flip_to_delaunay(points: F64, index: I64, rounds: int | None = None) -> I64:
    """Lawson flips of the triangles ``index`` (m, 3) over ``points`` (p, 2): every interior edge
    (exactly two triangles) whose quad is convex and whose opposite angles sum past π is replaced by
    the quad's other diagonal, in rounds: of the edges that need a flip, ranked by their key (the
    smaller vertex, then the larger), a round flips each that ranks first among them in both its
    triangles, so no two share a triangle. Vertices and boundary edges stay, so no T-junction
    appears; the result is the Delaunay triangulation of each face constrained to its rings (the
    smallest angle as large as it gets). Orientation is not kept (faces are wound from their normals).

    Rounds go on until no edge needs a flip: a flip can make its neighbours' edges need one, and in a
    strip with many holes (1,000 doorways in one wall) a diagonal travels the face one quad per round,
    some 1,000 rounds. ``rounds`` caps them (None: 100 + m, far above what a face takes, a guard
    against a cycle of rounding errors: in exact arithmetic an edge flipped away never comes back).

    Cost: one sort of the 3m half-edges to pair each interior edge's two, kept paired through the
    flips (``twin``); after that a round judges only the edges of the triangles flipped in the round
    before (a verdict changes only with an edge's two triangles) and ranks them with the edges still
    waiting for a flip. So O(m log m) plus, per round, the flips and the waiting edges, not m per
    round (bench/hostile.py's portals-walls, 60 walls of 1,000 doorways: 996 rounds, 0.36 million
    flips, about 1 s in all). An edge of three or more triangles never flips; a flip's new diagonal is taken
    as a new edge of two (it cannot already be one unless triangles overlap, which earcut's do not)."""
    index = index.copy()
    m, n = index.shape[0], int(points.shape[0])
    limit = 100 + m if rounds is None else rounds
    flat = index.reshape(-1)  # half-edge h = 3t + j runs from flat[h] to flat[nxt[h]]; flat[prv[h]] faces it
    step = np.arange(3 * m, dtype=np.int64)
    nxt, prv = step - step % 3 + (step % 3 + 1) % 3, step - step % 3 + (step % 3 + 2) % 3
    key = np.minimum(flat, flat[nxt]) * n + np.maximum(flat, flat[nxt])
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    i = np.flatnonzero(same)
    lone = ~np.concatenate([[False], same])[i] & ~np.concatenate([same, [False]])[i + 1]
    e1, e2 = order[i[lone]], order[i[lone] + 1]  # each interior edge's two half-edges, e1 < e2
    twin = np.full(3 * m, -1, dtype=np.int64)  # the other half-edge of an interior edge, else -1
    twin[e1], twin[e2] = e2, e1
    remap = step.copy()  # where each half-edge moves in the round's flips; itself between rounds
    free = np.iinfo(np.int64).max
    best = np.full(m, free, dtype=np.int64)  # the first rank among a triangle's edges that need a flip
    flipped = np.zeros(m, dtype=bool)
    waiting, look = e1[:0], e1  # edges (by their smaller half-edge) that need a flip / to judge
    for _ in range(limit):
        e2 = twin[look]
        pa, pb, pc, pd = (np.take(points, flat[v], axis=0) for v in (look, nxt[look], prv[look], prv[e2]))
        bad = _flip_needed(pa, pb, pc, pd)
        need = np.concatenate([waiting, look[bad]])
        if need.size == 0:
            break
        ea, eb = flat[need], flat[nxt[need]]
        need = need[np.argsort(np.minimum(ea, eb) * n + np.maximum(ea, eb), kind="stable")]
        t1, t2 = need // 3, twin[need] // 3
        rank = np.arange(need.size)
        np.minimum.at(best, t1, rank)
        np.minimum.at(best, t2, rank)
        pick = (best[t1] == rank) & (best[t2] == rank)
        best[t1] = best[t2] = free
        e1, e2, f1, f2 = need[pick], twin[need[pick]], t1[pick], t2[pick]
        flipped[f1] = flipped[f2] = True
        waiting = need[~flipped[t1] & ~flipped[t2]]  # their triangles are as they were: still need one
        flipped[f1] = flipped[f2] = False
        # Edge a-b of triangles (a, b, c) and (·, ·, d) becomes c-d of (c, a, d) and (c, d, b); the
        # quad's sides move to new half-edges, their twins (maybe moved too) are told.
        c, d, ea, eb = flat[prv[e1]], flat[prv[e2]], flat[e1], flat[nxt[e1]]
        along = flat[e2] == ea
        old = np.concatenate([nxt[e1], prv[e1], nxt[e2], prv[e2]])  # b-c, c-a; then b-d, d-a (or a-d, d-b)
        moved = [3 * f2 + 2, 3 * f1, np.where(along, 3 * f2 + 1, 3 * f1 + 1), np.where(along, 3 * f1 + 1, 3 * f2 + 1)]
        new = np.concatenate(moved)
        other = twin[old]
        remap[old] = new
        other = np.where(other >= 0, remap[np.maximum(other, 0)], -1)
        remap[old] = old
        index[f1] = np.stack([c, ea, d], axis=1)
        index[f2] = np.stack([c, d, eb], axis=1)
        twin[new] = other
        twin[other[other >= 0]] = new[other >= 0]
        twin[3 * f1 + 2], twin[3 * f2] = 3 * f2, 3 * f1 + 2
        h = np.concatenate([3 * f1, 3 * f1 + 1, 3 * f1 + 2, 3 * f2, 3 * f2 + 1, 3 * f2 + 2])
        look = distinct(np.minimum(h, twin[h])[twin[h] >= 0])
    return index


#: How far (in lengths of a sliver's shortest edge) from that edge's midpoint :func:`_steiner` puts its point,
#: round by round: the apex of an equilateral triangle on it first, then lower, higher.
_STEINER_REACH = (0.866, 0.5, 1.5, 0.3, 3.0)
#: Rounds of :func:`_steiner`: a point per face a round.
_STEINER_ROUNDS = 10


def _steiner(points: F64, index: I64, face: I64) -> tuple[F64, I64, I64]:
    """The faces of ``index`` (m, 3) over ``points`` (p, 2) (``face`` (m,), ascending) that still hold
    a triangle under :data:`~.slivers.SLIVER` high after :func:`_flip_to_delaunay`, with points added
    inside them: the points, triangles and faces (ascending) after.

    Such a sliver is left where a corner lies a few millimetres from a line of the face's rings
    (an opening's side, a border) and a short edge of those rings has no vertex a Delaunay flip could
    reach that makes it a fat triangle (a trapezoid's 3 mm side 5 mm under a neighbour's corner 4 cm
    away). A round takes each face's thinnest triangle, puts a point off the middle of its shortest
    edge, on the triangle's side, :data:`_STEINER_REACH` of that edge's length away, splits the face's
    triangle holding it in three and flips the face to Delaunay again; the face keeps the point when
    its thinnest triangle got higher, or stayed as high with fewer slivers, else it stays as it was
    (the next round tries the next distance). A point strictly inside a face is no vertex of any other
    face: no T-junction, every face in its plane. Only the faces with a sliver are touched: the rounds
    work on those faces' triangles alone, keeping their heights as they go."""
    height = _heights2d(np.take(points, index, axis=0))
    work = np.zeros(int(face.max(initial=-1)) + 1, dtype=bool)
    work[face[height < SLIVER]] = True
    rest = ~work[face]
    index_all, face_all = index, face
    index_rest, face_rest = index[rest], face[rest]
    index, face, height = index[~rest], face[~rest], height[~rest]
    changed = False
    for k in range(_STEINER_ROUNDS):
        low = np.flatnonzero(height < SLIVER)
        if low.size == 0:
            break
        low = low[np.lexsort((height[low], face[low]))]
        low = low[np.concatenate([[True], face[low][1:] != face[low][:-1]])]  # a face's thinnest
        f = face[low]
        tri = np.take(points, index[low], axis=0)
        edge = tri[:, [1, 2, 0]] - tri
        length2 = np.einsum("mek,mek->me", edge, edge)
        j = np.argmin(length2, axis=1)
        n = np.arange(low.size)
        a, b, c = tri[n, j], tri[n, (j + 1) % 3], tri[n, (j + 2) % 3]
        d = b - a
        normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
        normal *= np.where(np.einsum("mk,mk->m", normal, c - a) < 0, -1.0, 1.0)[:, None]
        q = 0.5 * (a + b) + normal * _STEINER_REACH[k % len(_STEINER_REACH)]
        # The triangle of its face holding each point, strictly inside (any winding: flips do not keep it).
        rows = np.flatnonzero(np.isin(face, f))
        cand = np.searchsorted(f, face[rows])
        t = np.take(points, index[rows], axis=0)
        side = np.stack([orient2(t[:, i], t[:, (i + 1) % 3], q[cand]) for i in range(3)], axis=1)
        span = np.sqrt(np.einsum("mek,mek->me", t[:, [1, 2, 0]] - t, t[:, [1, 2, 0]] - t))
        gap = side / np.maximum(span, 1e-300)
        inside = ((gap > _FLAT).all(axis=1)) | ((gap < -_FLAT).all(axis=1))
        host = rows[inside]
        host = host[np.concatenate([[True], face[host][1:] != face[host][:-1]])] if host.size else host
        if host.size == 0:
            continue
        hf = face[host]
        new_id = points.shape[0] + np.arange(host.size)
        points = np.concatenate([points, q[np.searchsorted(f, hf)]])
        sub = np.flatnonzero(np.isin(face, hf))
        x, y, z = (index[host, i] for i in range(3))
        grown = index.copy()
        grown[host] = np.stack([x, y, new_id], axis=1)
        sub_index = np.concatenate([grown[sub], np.stack([y, z, new_id], 1), np.stack([z, x, new_id], 1)])
        sub_face = np.concatenate([face[sub], hf, hf])
        sub_index = _flip_to_delaunay(points, sub_index)
        # Keep a face's new triangles when its thinnest got higher (or as high with fewer slivers).
        new_h = _heights2d(np.take(points, sub_index, axis=0))
        slot = np.searchsorted(hf, sub_face)
        old_slot = np.searchsorted(hf, face[sub])
        old_min, new_min = np.full(hf.size, np.inf), np.full(hf.size, np.inf)
        np.minimum.at(old_min, old_slot, height[sub])
        np.minimum.at(new_min, slot, new_h)
        old_n = np.bincount(old_slot, weights=height[sub] < SLIVER, minlength=hf.size)
        new_n = np.bincount(slot, weights=new_h < SLIVER, minlength=hf.size)
        better = (new_min > old_min) | ((new_min == old_min) & (new_n < old_n))
        if not better.any():
            continue
        gone = np.isin(face, hf[better])
        keep = better[slot]
        index = np.concatenate([index[~gone], sub_index[keep]])
        face = np.concatenate([face[~gone], sub_face[keep]])
        height = np.concatenate([height[~gone], new_h[keep]])
        order = np.argsort(face, kind="stable")
        index, face, height = index[order], face[order], height[order]
        changed = True
    if not changed:
        return points, index_all, face_all
    index, face = np.concatenate([index_rest, index]), np.concatenate([face_rest, face])
    order = np.argsort(face, kind="stable")
    return points, index[order], face[order]


def _wall_polygons(
    u0: float,
    u1: float,
    v0: float,
    v1: float,
    holes: list[list[Any]],
    left: list[float],
    right: list[float],
    below: tuple[float, ...] = (),
    above: tuple[float, ...] = (),
) -> list[tuple[F64, list[int]]]:
    """Rings of a wall face [u0, u1] × [v0, v1] minus openings ``holes`` [a, b, c, d] (clipped, sorted by a).

    An opening touching both the bottom and the top splits the face into columns, one touching both
    sides of a column splits it into rows; one touching a side or a corner (flush with the face's
    end) is a notch in the border. ``left`` / ``right``: heights of extra vertices on the face's side
    edges (where a jamb of the neighbouring wall's opening ends on them); ``below`` / ``above``: places
    of extra vertices on its bottom and top edges (where a hatch flush with the wall meets it), sorted.
    """
    full = [h for h in holes if h[2] <= v0 and h[3] >= v1]
    lefts = [u0] + [h[1] for h in full]
    rights = [h[0] for h in full] + [u1]
    # The heights on each column's sides: the face's ends', or those of a cut from border to border
    # (:func:`_strip_notches`: an opening and its strips to both borders) beside it.
    jambs: list[list[float]] = [h[4] if len(h) > 4 else [] for h in full]
    # A cut with slanted sides ([a, b, v0, v1, [], left path, right path]: a doorway and a window over it a
    # little along, a trapezoid with strips to both borders) bounds the columns beside it by those paths.
    paths: list[list[list[float]] | None] = [h[5] if len(h) > 5 else None for h in full]
    after: list[list[list[float]] | None] = [h[6] if len(h) > 5 else None for h in full]
    out = []
    # (Each column's openings from those starting within it: holes are sorted by a, and a face cut into
    # 1,000 columns would otherwise test every opening against every column.)
    starts = [h[0] for h in holes]
    for lo, hi, on_left, on_right, lo_path, hi_path in zip(
        lefts, rights, [left, *jambs], [*jambs, right], [None, *after], [*paths, None], strict=True
    ):
        if hi <= lo:  # a full-height opening flush with the face's end
            continue
        within = holes[bisect_left(starts, lo) : bisect_right(starts, hi)]
        column = [h for h in within if h[0] >= lo and h[1] <= hi and not (h[2] <= v0 and h[3] >= v1)]
        bands = sorted((h for h in column if h[0] <= lo and h[1] >= hi), key=lambda h: h[2])
        bottoms = [v0] + [h[3] for h in bands]
        tops = [h[2] for h in bands] + [v1]
        for bottom, top in zip(bottoms, tops, strict=True):
            if top <= bottom:  # a full-width opening flush with the bottom or the top
                continue
            mine = [h for h in column if h[2] >= bottom and h[3] <= top and not (h[0] <= lo and h[1] >= hi)]
            sides = ([v for v in on_left if bottom < v < top], [v for v in on_right if bottom < v < top])
            # (``below`` and ``above`` are sorted: the places strictly between lo and hi by a search.)
            ends = (
                list(below[bisect_right(below, lo) : bisect_left(below, hi)]) if bottom == v0 else [],
                list(above[bisect_right(above, lo) : bisect_left(above, hi)]) if top == v1 else [],
            )
            whole = bottom == v0 and top == v1  # (none of the column's openings reaches its sides: no rows)
            out.append(_notched_ring(lo, hi, bottom, top, mine, *sides, *ends, *((lo_path, hi_path) if whole else ())))
    return out


def _notched_ring(
    lo: float,
    hi: float,
    v0: float,
    v1: float,
    mine: list[list[float]],
    left: list[float],
    right: list[float],
    below: list[float],
    above: list[float],
    lo_path: list[list[float]] | None = None,
    hi_path: list[list[float]] | None = None,
) -> tuple[F64, list[int]]:
    """The ring (and hole rings) of [lo, hi] × [v0, v1] minus openings ``mine`` (sorted by a, none
    touching two opposite sides), with extra points at heights ``left`` / ``right`` on its sides and
    at places ``below`` / ``above`` on its bottom and top edges. ``lo_path`` / ``hi_path``: where a side
    is a cut's slanted side instead (its points from the bottom border to the top one, no opening of the
    column touching that side)."""
    at_l = [h for h in mine if h[0] <= lo]
    at_r = [h for h in mine if h[1] >= hi]
    bottom = [h for h in mine if h[2] <= v0 and h[0] > lo and h[1] < hi]
    top = [h for h in mine if h[3] >= v1 and h[0] > lo and h[1] < hi]
    bl = next((h for h in at_l if h[2] <= v0), None)
    br = next((h for h in at_r if h[2] <= v0), None)
    tr = next((h for h in at_r if h[3] >= v1), None)
    tl = next((h for h in at_l if h[3] >= v1), None)
    ring = _cut(bl, [[lo, bl[3]], [bl[1], bl[3]], [bl[1], v0]]) if bl else [lo_path[0] if lo_path else [lo, v0]]
    first, last = (bl[1] if bl else lo), (br[0] if br else hi)
    along: list[tuple[float, list[float] | None]] = [(h[0], h) for h in bottom]
    along += [(u, None) for u in _outside(below, first, last, [(h[0], h[1]) for h in bottom])]
    for _, h in sorted(along, key=lambda item: item[0]):
        ring += [[_, v0]] if h is None else _cut(h, [[h[0], v0], [h[0], h[3]], [h[1], h[3]], [h[1], v0]])
    ring += _cut(br, [[br[0], v0], [br[0], br[3]], [hi, br[3]]]) if br else (hi_path or [[hi, v0]])
    side: list[tuple[float, list[float] | None]] = [(h[2], h) for h in at_r if h[2] > v0 and h[3] < v1]
    low, high = (br[3] if br else v0), (tr[2] if tr else v1)
    side += [(v, None) for v in _outside(right, low, high, [(h[2], h[3]) for h in at_r])]
    for v, h in sorted(side, key=lambda item: item[0]):
        ring += [[hi, v]] if h is None else _cut(h, [[hi, h[2]], [h[0], h[2]], [h[0], h[3]], [hi, h[3]]])
    ring += _cut(tr, [[hi, tr[2]], [tr[0], tr[2]], [tr[0], v1]]) if tr else ([] if hi_path else [[hi, v1]])
    first, last = (tl[1] if tl else lo), (tr[0] if tr else hi)
    along = [(h[1], h) for h in top]
    along += [(u, None) for u in _outside(above, first, last, [(h[0], h[1]) for h in top])]
    for _, h in sorted(along, key=lambda item: -item[0]):
        ring += [[_, v1]] if h is None else _cut(h, [[h[1], v1], [h[1], h[2]], [h[0], h[2]], [h[0], v1]])
    ring += _cut(tl, [[tl[1], v1], [tl[1], tl[2]], [lo, tl[2]]]) if tl else (lo_path[:0:-1] if lo_path else [[lo, v1]])
    side = [(h[3], h) for h in at_l if h[2] > v0 and h[3] < v1]
    low, high = (bl[3] if bl else v0), (tl[2] if tl else v1)
    side += [(v, None) for v in _outside(left, low, high, [(h[2], h[3]) for h in at_l])]
    for v, h in sorted(side, key=lambda item: -item[0]):
        ring += [[lo, v]] if h is None else _cut(h, [[lo, h[3]], [h[1], h[3]], [h[1], h[2]], [lo, h[2]]])
    ends = [len(ring)]
    for h in mine:
        a, b, c, d = h[:4]
        if c > v0 and d < v1 and a > lo and b < hi:
            ring += _cut(h, [[a, c], [b, c], [b, d], [a, d]])
            ends.append(len(ring))
    return np.array(ring, dtype=np.float64), ends


def _outside(values: Sequence[float], lo: float, hi: float, spans: list[tuple[float, float]]) -> list[float]:
    """``values`` strictly between ``lo`` and ``hi`` and in none of the closed ``spans`` (start, end), in
    their order; by a search among the spans (a wall of 1,000 notches has 2,000 places to test)."""
    inside = [v for v in values if lo < v < hi]
    if not spans or not inside:
        return inside
    span = np.array(sorted(spans))
    reach = np.maximum.accumulate(span[:, 1])  # the farthest end of the spans starting at or before each
    at = np.searchsorted(span[:, 0], inside, side="right") - 1
    covered = (at >= 0) & (reach[np.maximum(at, 0)] >= np.array(inside))
    return [v for v, c in zip(inside, covered.tolist(), strict=True) if not c]


def _cut(hole: list[Any], corners: list[list[float]]) -> list[list[float]]:
    """The points a face's ring takes around ``hole`` [a, b, c, d]: its rectangle's ``corners`` (from
    where the border enters it to where it leaves, or all four of a hole), or for a notch or window of
    another shape ([a, b, c, d, path]: its box and :func:`_notch_path`), its own corners."""
    return hole[4] if len(hole) > 4 else corners


def _plain_rings(
    u0: F64, u1: F64, v0: F64, v1: F64, chosen: B8, hole_edge: I64, holes: F64
) -> list[tuple[F64, list[int]]]:
    """:func:`_wall_polygons` of the faces ``chosen`` (by edge, in edge order), all at once, where it
    gives one ring: each opening strictly between the face's sides and none of full height, so each
    is a notch in the bottom (``c <= v0``), one in the top (``d >= v1``) or a hole. Face frames
    ``u0, u1, v0, v1`` (e,) by edge; ``holes`` (o, 4) [a, b, c, d] clipped, by ``hole_edge`` (ascending).

    The same points in the same order as :func:`_notched_ring`: (u0, v0), the bottom notches by a,
    (u1, v0), (u1, v1), the top notches by descending a, (u0, v1); then the holes by a."""
    face_edge = np.flatnonzero(chosen)
    k = face_edge.size
    if k == 0:
        return []
    face_of = np.full(chosen.size, -1, dtype=np.int64)
    face_of[face_edge] = np.arange(k)
    rows = np.flatnonzero(chosen[hole_edge])
    f = face_of[hole_edge[rows]]
    a, b, c, d = holes[rows].T
    fv0, fv1 = v0[face_edge], v1[face_edge]
    bottom, top = c <= fv0[f], d >= fv1[f]
    inner = ~bottom & ~top

    def rank(mask: B8) -> tuple[I64, I64, I64]:
        """Rows ``mask`` picks, their rank among their face's such rows, and the count per face."""
        picked = np.flatnonzero(mask)
        count = np.bincount(f[picked], minlength=k)
        return picked, np.arange(picked.size) - (np.cumsum(count) - count)[f[picked]], count

    bi, bj, nb = rank(bottom)
    ti, tj, nt = rank(top)
    hi, hj, nh = rank(inner)
    length = 4 + 4 * (nb + nt)
    size = length + 4 * nh
    base = np.cumsum(size) - size
    pts = np.empty((int(size.sum()), 2))
    fu0, fu1 = u0[face_edge], u1[face_edge]
    for at, u, v in ((base, fu0, fv0), (base + 1 + 4 * nb, fu1, fv0), (base + 2 + 4 * nb, fu1, fv1)):
        pts[at, 0], pts[at, 1] = u, v
    at = base + 3 + 4 * (nb + nt)
    pts[at, 0], pts[at, 1] = fu0, fv1

    def put(at: I64, us: tuple[F64, ...], vs: tuple[F64, ...]) -> None:
        for i, (u, v) in enumerate(zip(us, vs, strict=True)):
            pts[at + i, 0], pts[at + i, 1] = u, v

    g = f[bi]
    put(base[g] + 1 + 4 * bj, (a[bi], a[bi], b[bi], b[bi]), (fv0[g], d[bi], d[bi], fv0[g]))
    g = f[ti]
    put(base[g] + 3 + 4 * nb[g] + 4 * (nt[g] - 1 - tj), (b[ti], b[ti], a[ti], a[ti]), (fv1[g], c[ti], c[ti], fv1[g]))
    g = f[hi]
    put(base[g] + length[g] + 4 * hj, (a[hi], b[hi], b[hi], a[hi]), (c[hi], c[hi], d[hi], d[hi]))
    return [
        (pts[s0 : s0 + n], list(range(r, n + 1, 4)))
        for s0, n, r in zip(base.tolist(), size.tolist(), length.tolist(), strict=True)
    ]


def _wall_faces(
    faces: _Faces,
    w: _Walls,
    o: _Openings,
    win: _Windows,
    notches: _Notches,
    fast: B8,
    flush: tuple[I64, F64, I64],
    near: _Near,
) -> None:
    """Outer and inner faces of every wall of the ``fast`` rooms, with their openings.

    A face with an opening flush with one of its ends, and the face it meets there (which gets
    the opening's heights on its end edge, where the opening's jamb ends), go to earcut; so does a
    face with a window (:class:`_Windows`), a hole of its own shape in the ring that holds it, and
    one with an opening's corner near its border (``near``, :func:`_near_borders`): the border gets a
    vertex where the corner projects onto it, and at an end so does the face it meets there. So does a
    face with a notch (:class:`_Notches`): the opening clipped to the face, its corners in the ring
    where it meets the border (a hole where it does not); one flush with the cavity's corner gives the
    face across its heights there, as a rectangle flush with it does."""
    y0, y1, tt = w.rooms.y0, w.rooms.y1, w.rooms.thickness
    ne = w.room.size
    edges = np.flatnonzero(fast[w.room])
    count = np.bincount(o.edge, minlength=ne)
    origin_out = _plan3(w.start)
    origin_in = _plan3(w.start + tt[w.room][:, None] * w.inward)
    tan3, out3 = _plan3(w.tangent), -_plan3(w.inward)
    for k_side, side in enumerate(("outer", "inner")):
        # The face across an end: the outline's neighbour's outer face, the cavity's (past collapsed edges) inner.
        if side == "outer":
            u0, u1 = np.zeros(ne), w.length
            v0, v1 = y0[w.room], y1[w.room]
            origin, normal = origin_out, out3
            before, after = w.prev, w.nxt
        else:
            u0, u1 = w.inner0, w.inner1
            v0, v1 = (y0 + tt)[w.room], (y1 - tt)[w.room]
            origin, normal = origin_in, -out3
            before, after = w.live_prev, w.live_nxt
        # Openings clipped to this face; those that miss it (wholly in a slab) leave it whole.
        hc, hd = np.maximum(o.c, v0[o.edge]), np.minimum(o.d, v1[o.edge])
        holes = np.stack([o.a, o.b, hc, hd], axis=1)
        # Flush with the face's start (end): the face before (after) gets the opening's heights on its end.
        at_lo, at_hi = o.a == u0[o.edge], o.b == u1[o.edge]
        side_edge = np.concatenate([np.tile(before[o.edge[at_lo]], 2), np.tile(after[o.edge[at_hi]], 2)])
        side_v = np.concatenate([o.c[at_lo], o.d[at_lo], o.c[at_hi], o.d[at_hi]])
        side_right = np.repeat([True, False], [2 * int(at_lo.sum()), 2 * int(at_hi.sum())])
        # Near the face's start (end): its corners' heights on that end, and on the end of the face before (after).
        lo_near, hi_near = near.left[k_side], near.right[k_side]
        if lo_near.any() or hi_near.any():
            e_lo, e_hi = o.edge[lo_near], o.edge[hi_near]
            side_edge = np.concatenate([side_edge, np.tile(e_lo, 2), np.tile(before[e_lo], 2)])
            side_edge = np.concatenate([side_edge, np.tile(e_hi, 2), np.tile(after[e_hi], 2)])
            heights = [hc[lo_near], hd[lo_near]] * 2 + [hc[hi_near], hd[hi_near]] * 2
            side_v = np.concatenate([side_v, *heights])
            n_lo, n_hi = 2 * e_lo.size, 2 * e_hi.size
            side_right = np.concatenate([side_right, np.repeat([False, True, True, False], [n_lo, n_lo, n_hi, n_hi])])
        shaped = _face_notches(w, notches, k_side == 1, (u0, u1, v0, v1))
        if notches.edge.size:
            side_edge = np.concatenate([side_edge, shaped[1]])
            side_v = np.concatenate([side_v, shaped[2]])
            side_right = np.concatenate([side_right, shaped[3]])
        # (A face with its own opening flush at that end, a pillar, keeps those outside its notch.)
        inside = (side_v > v0[side_edge]) & (side_v < v1[side_edge])
        side_edge, side_v, side_right = side_edge[inside], side_v[inside], side_right[inside]
        special = np.zeros(ne, dtype=bool)
        special[o.edge[at_lo | at_hi]] = True
        special[side_edge] = True
        special[list(shaped[0])] = True
        # A face with a window goes to earcut too, as one ring when it is otherwise plain (below).
        windowed = np.zeros(ne, dtype=bool)
        windowed[win.edge] = True
        # Where a flush hatch's tunnel meets the face: points on its bottom (floor) or top (ceiling) edge.
        f_edge, f_place, f_slab = flush
        # Where an opening's corner near the bottom (top) border projects onto it: points there too.
        low, high = near.bottom[k_side], near.top[k_side]
        if low.any() or high.any():
            f_edge = np.concatenate([f_edge, np.tile(o.edge[low], 2), np.tile(o.edge[high], 2)])
            f_place = np.concatenate([f_place, o.a[low], o.b[low], o.a[high], o.b[high]])
            f_slab = np.concatenate([f_slab, np.repeat([0, 1], [2 * int(low.sum()), 2 * int(high.sum())])])
        # And under (over) a window's or notch's corners near it.
        if near.edge.size:
            f_edge, f_place, f_slab = (
                np.concatenate(pair) for pair in zip((f_edge, f_place, f_slab), near.points(k_side), strict=True)
            )
        f_in = (f_place > u0[f_edge]) & (f_place < u1[f_edge])
        f_edge, f_place, f_slab = f_edge[f_in], f_place[f_in], f_slab[f_in]
        special[f_edge] = True
        rims: dict[tuple[int, int], list[float]] = {}
        for e, place, slab in zip(f_edge.tolist(), f_place.tolist(), f_slab.tolist(), strict=True):
            rims.setdefault((e, slab), []).append(place)
        # (A face with a window or a notch of another shape keeps its rectangles as they are.)
        ok = fast[w.room] & ~windowed
        ok[list(shaped[0])] = False
        # Windows and notches of other shapes whose side along a border has its vertices there: notches.
        side_win, strip_quads = _shaped_strips(shaped[0], win, o, holes, (u0, u1, v0, v1), (f_edge, f_place, f_slab))
        if strip_quads[0].size:
            e = strip_quads[0]
            faces.add_quads(strip_quads[1], origin[e], tan3[e], _UP, normal[e], w.room[e])
            special[e] = True
        strips = _border_strips(o, (low, high), (u0, u1, v0, v1), (hc, hd), (f_edge, f_place, f_slab), ok)
        stacked = _stacked_pairs(o, strips, (u0, u1, v0, v1), (hc, hd), (f_edge, f_place, f_slab), ok)
        hole_rows = _strip_notches(holes, strips, v0[o.edge], v1[o.edge], stacked)
        if stacked[0].size:
            i, j = stacked
            e = o.edge[i]
            band_u = np.stack([o.a[i], o.b[i], o.b[j], o.a[j]], -1)
            bands = np.stack([band_u, np.stack([hd[i], hd[i], hc[j], hc[j]], -1)], -1)
            faces.add_quads(bands, origin[e], tan3[e], _UP, normal[e], w.room[e])
            special[e] = True
        for rows, lo_v, hi_v in ((strips[0], v0[o.edge], hc), (strips[1], hd, v1[o.edge])):
            e = o.edge[rows]
            quads = np.stack(
                [np.stack([o.a, o.b, o.b, o.a], -1)[rows], np.stack([lo_v, lo_v, hi_v, hi_v], -1)[rows]], -1
            )
            faces.add_quads(quads, origin[e], tan3[e], _UP, normal[e], w.room[e])
        plain = edges[(count[edges] == 0) & ~special[edges] & ~windowed[edges]]
        rect = np.stack([u0, u1, u1, u0], -1), np.stack([v0, v0, v1, v1], -1)
        quads = np.stack([rect[0][plain], rect[1][plain]], -1)
        faces.add_quads(quads, origin[plain], tan3[plain], _UP, normal[plain], w.room[plain])
        single = (count[o.edge] == 1) & ~special[o.edge] & ~windowed[o.edge]
        se = o.edge[single]
        keep_rows = fast[w.room[se]]
        se, sh = se[keep_rows], holes[single][keep_rows]
        outer = np.stack([u0[se], u1[se], v0[se], v1[se]], -1)
        quads4, keep = _frame_quads(outer, sh, sh[:, 2] <= v0[se], sh[:, 3] >= v1[se])
        rep = np.repeat(np.arange(se.size), 4).reshape(-1, 4)[keep]
        faces.add_quads(quads4[keep], origin[se][rep], tan3[se][rep], _UP, normal[se][rep], w.room[se][rep])
        multi = edges[(count[edges] >= 2) | special[edges] | windowed[edges]]
        ends: dict[tuple[int, bool], list[float]] = {}
        for e, right, v in zip(side_edge.tolist(), side_right.tolist(), side_v.tolist(), strict=True):
            ends.setdefault((e, right), []).append(v)
        # Faces whose openings all lie inside their sides and none of full height (most office walls):
        # one ring each, built for all of them at once; the rest one by one (_wall_polygons).
        full = np.zeros(ne, dtype=bool)
        full[o.edge[(hc <= v0[o.edge]) & (hd >= v1[o.edge])]] = True
        plain_face = np.zeros(ne, dtype=bool)
        plain_face[multi] = True
        plain_face &= ~special & ~full
        plain_rings = iter(_plain_rings(u0, u1, v0, v1, plain_face, o.edge, holes))
        # Openings are sorted by (edge, a): each edge's are one run.
        other = multi[~plain_face[multi]]
        lo, hi = np.searchsorted(o.edge, other).tolist(), np.searchsorted(o.edge, other, side="right").tolist()
        other_rings = iter(
            [
                _wall_polygons(
                    u0_e,
                    u1_e,
                    v0_e,
                    v1_e,
                    _with_notches(hole_rows[lo[i] : hi[i]], shaped[0].get(e)),
                    sorted(set(ends.get((e, False), []))),
                    sorted(set(ends.get((e, True), []))),
                    tuple(sorted(set(rims.get((e, 0), [])))),
                    tuple(sorted(set(rims.get((e, 1), [])))),
                )
                for i, (e, (u0_e, u1_e, v0_e, v1_e)) in enumerate(
                    zip(other.tolist(), np.stack([u0, u1, v0, v1], 1)[other].tolist(), strict=True)
                )
            ]
        )
        jobs: list[tuple[F64, list[int], int]] = []
        for e, is_plain in zip(multi.tolist(), plain_face[multi].tolist(), strict=True):
            if is_plain:
                jobs.append((*next(plain_rings), e))
            else:
                jobs += [(points, ring_ends, e) for points, ring_ends in next(other_rings)]
        if side_win.edge.size:
            jobs = _with_windows(jobs, side_win)
        ups = np.broadcast_to(_UP, origin.shape)
        faces.add_earcut(jobs, (origin, tan3, ups, normal, w.room))


#: An opening of a wall face as :func:`_shaped_strips` weighs it: (which, a, b, c, d, corners or None).
_StripRow = tuple[int, float, float, float, float, F64 | None]


def _shaped_strips(
    entries: dict[int, list[list[Any]]],
    win: _Windows,
    o: _Openings,
    holes: F64,
    face: tuple[F64, F64, F64, F64],
    places: tuple[I64, F64, I64],
) -> tuple[_Windows, tuple[I64, F64]]:
    """Windows and notches of other shapes (holes in this face) whose side along the face's bottom (top)
    border has a vertex on that border under (over) each of its two corners (``places``: edge, place,
    border) and no other between its box's sides, and no other opening between them and that border:
    each becomes a notch to that border in ``entries`` (by edge, [a, b, c, d, path] as
    :func:`_face_notches` gives them; changed in place, a converted window added), the strip between
    a quad of its own. Returns the windows left as holes and the strips (edge (k,), quads (k, 4, 2)).

    As :func:`_border_strips` for rectangles: earcut drops the points of a straight run of its ring
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
    side_win = _Windows(win.room[left], win.edge[left], win.poly[left])
    return side_win, (np.array(strip_edge, np.int64), np.array(strip_quads, np.float64).reshape(-1, 4, 2))


def _border_strips(
    o: _Openings,
    near: tuple[B8, B8],
    face: tuple[F64, F64, F64, F64],
    clipped: tuple[F64, F64],
    places: tuple[I64, F64, I64],
    ok: B8,
) -> tuple[I64, I64]:
    """The openings (rows of ``o``) whose strip to the face's bottom (top) border becomes a quad of its own,
    the opening a notch in the border (:func:`_strip_notches`): those whose corners get vertices on that
    border (``near``: :attr:`_Near.bottom`, :attr:`_Near.top` of this face), strictly inside the face's
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
    i, j = _near_same_edge(o.edge, o.a, o.b, 0.0)
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
        # border to border (:func:`_stacked_pairs`).
        span = np.searchsorted(keys, edge + 1j * o.b, "right") - np.searchsorted(keys, edge + 1j * o.a, "left")
        marks = marks | (stacked & (span == 2) & (o.a < o.b))
        out.append(np.flatnonzero(base & marks & clear & ~blocked & (between == 0)))  # (one reaching it is a notch)
    return out[0], out[1]


def _stacked_pairs(
    o: _Openings,
    strips: Sequence[I64],
    face: tuple[F64, F64, F64, F64],
    clipped: tuple[F64, F64],
    places: tuple[I64, F64, I64],
    ok: B8,
) -> tuple[I64, I64]:
    """Pairs (lower rows, upper rows of ``o``) of openings one over the other whose spans along the wall
    overlap (a doorway and the window over it), each overlapping no other opening, strictly inside the
    face's ends, on an edge ``ok``: with the band between them a quad of its own (its corners theirs)
    they are one opening of the face (:func:`_strip_notches`): a notch where the lower reaches the face's
    bottom border or has a strip to it (``strips``: :func:`_border_strips`) or the upper the top, a cut from
    border to border where both do (with slanted sides where their spans differ), else a hole. Not a pair:
    one where a vertex of the border it reaches (``places``: edge, place, border 0 bottom or 1 top) lies
    under (over) the other one only, or another opening comes within ``_GAP`` of either along the wall.

    Left in one ring, the band is a strip the length of the wall (between the doorways' tops and the
    windows' bottoms, from one end to the other) whose vertices earcut joined metres apart: 200 such
    pairs in a 12 m wall took 159,003 Delaunay flips in ~400 rounds."""
    u0, u1, v0, v1 = (x[o.edge] for x in face)
    hc, hd = clipped
    i, j = _near_same_edge(o.edge, o.a, o.b, _GAP)
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


def _strip_notches(
    holes: F64, strips: Sequence[I64], v0: F64, v1: F64, stacked: tuple[I64, I64] | None = None
) -> list[list[Any]]:
    """``holes`` (o, 4) [a, b, c, d] as lists, those of ``strips`` (bottom, top rows: :func:`_border_strips`)
    as notches reaching that border, [a, b, c, d, path]: the ring's path around the opening and its
    strip, the opening's corners on the path's sides (they are the strip quad's corners too). One that
    then reaches both borders is a cut from border to border, [a, b, v0, v1, heights]: the opening's
    heights strictly inside the face, where the columns beside it need vertices on their sides
    (:func:`_wall_polygons`)."""
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
    # A pair one over the other (:func:`_stacked_pairs`): the lower one's entry the pair's, the band between
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


def _face_notches(
    w: _Walls, notches: _Notches, inner: bool, face: tuple[F64, F64, F64, F64]
) -> tuple[dict[int, list[list[Any]]], I64, F64, B8]:
    """Each notch in one side's wall faces (``face``: u0, u1, v0, v1 by edge): by edge, its piece in
    the face as a hole entry [a, b, c, d, path] (:func:`_cut`); and (edge, height, right end) of the
    vertices the faces across the cavity's corner need on their ends where a notch is flush with it
    (the face before gets them on its right end, the face after on its left)."""
    u0, u1, v0, v1 = face
    before, after = (w.live_prev, w.live_nxt) if inner else (w.prev, w.nxt)
    holes: dict[int, list[list[Any]]] = {}
    ends: list[tuple[int, float, bool]] = []
    for e, poly in zip(notches.edge.tolist(), notches.poly, strict=True):
        box = (float(u0[e]), float(u1[e]), float(v0[e]), float(v1[e]))
        piece = _clip_box(poly, *box) if inner else poly
        if piece.shape[0] == 0:
            continue
        lo, hi = piece.min(axis=0), piece.max(axis=0)
        holes.setdefault(e, []).append([lo[0], hi[0], lo[1], hi[1], _notch_path(piece, *box)])
        for at, across, right in ((box[0], int(before[e]), True), (box[1], int(after[e]), False)):
            chord = _chord(piece, 0, at) if at in (lo[0], hi[0]) else None
            if chord is not None:
                ends += [(across, chord[0], right), (across, chord[1], right)]
    edge = np.array([x[0] for x in ends], np.int64)
    return holes, edge, np.array([x[1] for x in ends], np.float64), np.array([x[2] for x in ends], bool)


def _with_notches(holes: list[list[Any]], notches: list[list[Any]] | None) -> list[list[Any]]:
    """A face's rectangular openings [a, b, c, d] (sorted by a; empty ones left out: the upper of a pair
    cut as one, :func:`_strip_notches`) and its notches' entries, sorted by a."""
    holes = [h for h in holes if h]
    return holes if notches is None else sorted(holes + notches, key=lambda h: h[0])


def _with_windows(jobs: list[tuple[F64, list[int], int]], win: _Windows) -> list[tuple[F64, list[int], int]]:
    """``jobs`` (rings of wall faces: points, ring ends, edge) with each window's corners added as a
    hole of the ring of its edge that holds it (a face cut into columns or rows by other openings
    has several; the window is clear of them all, so inside one outer ring), in window order.

    Which ring holds a window: the only one of its edge, or where the edge has several, its centre
    against every side of each (crossing number), the first ring that holds it; those (window, side)
    rows are made in groups of windows of at most :data:`_WINDOW_ROWS` rows (1,000 trapezoid windows in
    a wall whose borders hold 4,000 vertices made 4 million rows at once, ~0.5 GB)."""
    if not jobs or win.edge.size == 0:
        return list(jobs)
    job_edge = np.array([e for _, _, e in jobs], np.int64)
    sides = np.array([ends[0] for _, ends, _ in jobs], np.int64)
    rings = np.concatenate([points[: ends[0]] for points, ends, _ in jobs])
    ring_start = np.cumsum(sides) - sides
    by_edge = np.argsort(job_edge, kind="stable")
    lo = np.searchsorted(job_edge[by_edge], win.edge)
    n = np.searchsorted(job_edge[by_edge], win.edge, side="right") - lo
    holder = np.full(win.edge.size, -1, np.int64)  # the job whose ring holds each window
    one = n == 1
    holder[one] = by_edge[lo[one]]
    several = np.flatnonzero(n > 1)
    if several.size:
        lo, n = _rings_across(win, several, lo, n, job_edge[by_edge], rings, ring_start[by_edge], sides[by_edge])
    # Rows a window of ``several`` makes: every side of every ring of its edge (that may hold it).
    total = np.concatenate([[0], np.cumsum(sides[by_edge])])
    rows = total[lo[several] + n[several]] - total[lo[several]]
    group = (np.cumsum(rows) - rows) // _WINDOW_ROWS
    for g in distinct(group).tolist():
        mine = several[group == g]
        holder[mine] = _ring_holding(win, mine, lo[mine], n[mine], by_edge, sides, ring_start, rings)
    out = list(jobs)
    window = np.flatnonzero(holder >= 0)
    holder = holder[window]
    order = np.argsort(holder, kind="stable")  # each job's windows in window order
    bounds = np.flatnonzero(np.diff(holder[order], prepend=-1, append=-1))
    for lo_k, hi_k in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k, polys = int(holder[order[lo_k]]), win.poly[window[order[lo_k:hi_k]]]
        points, ends, e = out[k]
        last = ends[-1]
        out[k] = (
            np.concatenate([points, polys.reshape(-1, 2)]),
            [*ends, *(last + 4 * np.arange(1, len(polys) + 1)).tolist()],
            e,
        )
    return out


def _rings_across(
    win: _Windows, several: I64, lo: I64, n: I64, edge: I64, rings: F64, start: I64, sides: I64
) -> tuple[I64, I64]:
    """``lo``, ``n`` (the run of rings, in (edge, job) order, each window's edge has) narrowed for the
    windows ``several`` to the rings whose span along the wall holds the window's centre: only those can
    hold it, so the first that does is the same. Rings of one edge (``edge``, ``start``, ``sides``: where
    each one's points lie in ``rings``) are a face's columns left to right, so those ends rise along the
    run; where they do not on some edge, nothing is narrowed. A face cut into 1,000 columns by trapezoids
    with strips to both borders tested each of its other windows against every column's sides."""
    lo, n = lo.copy(), n.copy()
    u = rings[ranges(start, sides)[1], 0]
    offset = np.cumsum(sides) - sides
    u_lo, u_hi = np.minimum.reduceat(u, offset), np.maximum.reduceat(u, offset)
    same = edge[1:] == edge[:-1]
    if (same & ((np.diff(u_lo) < 0) | (np.diff(u_hi) < 0))).any():
        return lo, n
    centre = win.poly[several, :, 0].mean(axis=1)
    at = win.edge[several].astype(np.float64)
    first = np.searchsorted(edge + 1j * u_hi, at + 1j * centre, "left")
    last = np.searchsorted(edge + 1j * u_lo, at + 1j * centre, "right")
    first = np.clip(first, lo[several], lo[several] + n[several])
    last = np.clip(last, first, lo[several] + n[several])
    lo[several], n[several] = first, last - first
    return lo, n


#: (window, ring side) rows :func:`_with_windows` makes at once, at most (about 100 bytes each with the temporaries).
_WINDOW_ROWS = 1 << 20


def _ring_holding(
    win: _Windows, windows: I64, lo: I64, n: I64, by_edge: I64, sides: I64, ring_start: I64, rings: F64
) -> I64:
    """For each of ``windows``, the first job (of ``by_edge[lo:lo + n]``, its edge's rings in job order)
    whose outer ring holds the window's centre (crossing number), or -1."""
    which, at = ranges(lo, n)
    pair_win, pair_job = windows[which], by_edge[at]
    # (pair, side) rows: side j of the pair's ring runs from its point j to point j + 1.
    m = sides[pair_job]
    row_pair, j = ranges(np.zeros_like(m), m)
    first = ring_start[pair_job][row_pair]
    a = rings[first + j]
    b = rings[first + (j + 1) % m[row_pair]]
    point = win.poly[pair_win].mean(axis=1)[row_pair]
    crosses = (a[:, 1] > point[:, 1]) != (b[:, 1] > point[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = a[:, 0] + (point[:, 1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    inside = np.bincount(row_pair, weights=crosses & (point[:, 0] < x), minlength=pair_job.size) % 2 == 1
    # The first ring holding each window (pairs are in window order, then job order).
    held = inside.nonzero()[0]
    first = np.full(windows.size, pair_job.size)
    np.minimum.at(first, np.searchsorted(windows, pair_win[held]), held)
    out: I64 = np.where(first < pair_job.size, pair_job[np.minimum(first, pair_job.size - 1)], -1)
    return out


def _window_tunnels(faces: _Faces, w: _Walls, win: _Windows, notches: _Notches) -> None:
    """Each window's and notch's tunnel through its wall: per side of its quad (of a notch, of the
    quad clipped to the room: not the sides on the floor's underside or the ceiling's top, where it
    is open), the side × the wall's thickness, facing into the opening (counter-clockwise in (s, y):
    the opening is left of each side). A side crossing the floor's top or the ceiling's underside
    gets a vertex there on its inner edge, where the inner face's border and the slab's face in the
    inner plane meet it (a jamb, :func:`_jamb_fan`); where a notch passes below the floor's top
    (above the ceiling's underside) the slab's face in the inner plane is the notch clipped to it."""
    n = win.edge.size
    p, q = win.poly, np.roll(win.poly, -1, axis=1)  # (n, 4, 2): each side from p to q
    room, edge = np.repeat(win.room, 4), np.repeat(win.edge, 4)
    p, q = p.reshape(-1, 2), q.reshape(-1, 2)
    levels = np.full((4 * n, 2), np.nan)
    if notches.edge.size:
        sides = [
            (r, e, a, b)
            for r, e, poly in zip(notches.room.tolist(), notches.edge.tolist(), notches.poly, strict=True)
            for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True)
            if not (a[1] == b[1] and a[1] in (w.rooms.y0[r], w.rooms.y1[r]))
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
    tan3, in3 = _plan3(w.tangent[edge]), _plan3(w.inward[edge])
    start3 = _plan3(w.start[edge])
    ds, dy = q[:, 0] - p[:, 0], q[:, 1] - p[:, 1]
    length = np.sqrt(ds * ds + dy * dy)
    ps, py = p[:, 0], p[:, 1]
    origin = start3 + ps[:, None] * tan3 + py[:, None] * _UP
    axis_u = (ds[:, None] * tan3 + dy[:, None] * _UP) / length[:, None]
    normal = (-dy[:, None] * tan3 + ds[:, None] * _UP) / length[:, None]
    # Where each side crosses the floor's top and the ceiling's underside, along it (windows: nowhere).
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = (levels - py[:, None]) / dy[:, None]
    cut = (cross > 0.0) & (cross < 1.0) & (dy[:, None] != 0.0)
    at = np.where(cut, cross * length[:, None], np.nan)
    plain = ~cut.any(axis=1)
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
    k = np.flatnonzero(~plain)
    if k.size:
        e1 = np.nanmin(at[k], axis=1)
        e2 = np.where(cut[k].all(axis=1), np.nanmax(at[k], axis=1), length[k])
        tris, live = _jamb_fan(t[k], zero[k], e1, e2, length[k])
        row = np.repeat(k[:, None], 4, 1)[live]
        faces.add(tris[live], origin[row], in3[row], axis_u[row], normal[row], room[row])


def _slab_bands(faces: _Faces, w: _Walls, notches: _Notches) -> None:
    """The floor (ceiling) slab's face in the inner wall plane where a notch passes below its top
    (above its underside): the notch clipped to the slab's band, facing out of the room."""
    jobs: list[tuple[F64, list[int], int]] = []
    rows: list[int] = []
    for r, e, poly in zip(notches.room.tolist(), notches.edge.tolist(), notches.poly, strict=True):
        t, y0, y1 = w.rooms.thickness[r], w.rooms.y0[r], w.rooms.y1[r]
        for level, above in ((y0 + t, False), (y1 - t, True)):
            band = _clip(poly, 1, float(level), above)
            if band.shape[0] >= 3 and abs(_area2(band)) > 0.0:
                jobs.append((band, [band.shape[0]], len(rows)))
                rows.append(e)
    if not jobs:
        return
    e = np.array(rows, np.int64)
    r = w.room[e]
    origin = _plan3(w.start[e] + w.rooms.thickness[r][:, None] * w.inward[e])
    ups = np.broadcast_to(_UP, origin.shape)
    faces.add_earcut(jobs, (origin, _plan3(w.tangent[e]), ups, -_plan3(w.inward[e]), r))


def _tunnels(faces: _Faces, w: _Walls, o: _Openings, near: _Near) -> None:
    """Jambs, lintels, sills and the slabs' faces in the inner wall plane, for every opening."""
    n = o.edge.size
    if n == 0:
        return
    r = o.room
    t, y0, y1 = w.rooms.thickness[r], w.rooms.y0[r], w.rooms.y1[r]
    a, b, c, d = o.a, o.b, o.c, o.d
    start, tan, inward = w.start[o.edge], w.tangent[o.edge], w.inward[o.edge]
    tan3, in3 = _plan3(tan), _plan3(inward)
    # Jambs: frame (depth, y) at s = a (normal +tangent, into the opening) and s = b (normal -tangent).
    e1 = np.where((c < y0 + t) & (y0 + t < d), y0 + t, c)
    e2 = np.where((c < y1 - t) & (y1 - t < d), y1 - t, d)
    zero = np.zeros(n)
    tris, live = _jamb_fan(t, c, e1, e2, d)
    grid = np.repeat(np.arange(n)[:, None], 4, 1)
    extra = _pillar_heights(w, o, e1, e2)
    corner = _corner_jamb_heights(w, o, near)
    for s, sign, more, across in ((a, 1.0, extra[0], corner[0]), (b, -1.0, extra[1], corner[1])):
        origin = _plan3(start + s[:, None] * tan)
        pillar = np.zeros(n, dtype=bool)
        pillar[list(more)] = True
        pillar[list(across)] = True
        plain = live & ~pillar[:, None]
        row = grid[plain]
        faces.add(tris[plain], np.take(origin, row, axis=0), in3[row], _UP, sign * tan3[row], r[row])
        # A pillar's jamb with the other jamb's heights on its edge at the corner, or one with the heights
        # where the face across the corner has vertices on its end (on its inner, or outer, edge): earcut (and flips).
        jobs = []
        for q in sorted({*more, *across}):
            outside, inside = across.get(q, ([], []))
            levels = sorted({c[q], e1[q], e2[q], d[q], *more.get(q, []), *inside})
            back = sorted({v for v in outside if c[q] < v < d[q]}, reverse=True)
            ring = [[0.0, c[q]], *([t[q], v] for v in levels), [0.0, d[q]], *([0.0, v] for v in back)]
            jobs.append((np.array(ring, dtype=np.float64), [len(ring)], q))
        ups = np.broadcast_to(_UP, origin.shape)
        faces.add_earcut(jobs, (origin, in3, ups, sign * tan3, r))
    # Lintel (below the wall above) and sill (above the wall below), frame (s, depth) at height y.
    for level, keep, up in ((d, d < y1, -1.0), (c, c > y0, 1.0)):
        k = np.flatnonzero(keep)
        quads = np.stack(
            [
                np.stack([a[k], zero[k]], -1),
                np.stack([b[k], zero[k]], -1),
                np.stack([b[k], t[k]], -1),
                np.stack([a[k], t[k]], -1),
            ],
            1,
        )
        origin = _plan3(start[k]) + level[k, None] * _UP
        faces.add_quads(quads, origin, tan3[k], in3[k], up * _UP, r[k])
    # The floor (ceiling) slab's face in the inner wall plane where the opening passes below its top
    # (above its underside): frame (s, y) on the inner plane, facing out of the room.
    origin_in = _plan3(start + t[:, None] * inward)
    for lo, hi, keep in ((c, y0 + t, c < y0 + t), (y1 - t, d, d > y1 - t)):
        k = np.flatnonzero(keep)
        quads = np.stack(
            [
                np.stack([a[k], lo[k]], -1),
                np.stack([b[k], lo[k]], -1),
                np.stack([b[k], hi[k]], -1),
                np.stack([a[k], hi[k]], -1),
            ],
            1,
        )
        faces.add_quads(quads, origin_in[k], tan3[k], _UP, -in3[k], r[k])


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
    w: _Walls, o: _Openings, near: _Near
) -> tuple[dict[int, tuple[list[float], list[float]]], dict[int, tuple[list[float], list[float]]]]:
    """By opening, the heights its jamb at a (at b) needs on its outer (depth 0) and inner (depth t)
    edge: where it is flush with the outline's (the cavity's) corner, the face of the wall before
    (after) ends along that edge, and that face's end gets vertices where an opening's corners near
    it project (:func:`_near_borders`): their heights inside this jamb. Only the openings that need
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


def _pillar_heights(w: _Walls, o: _Openings, e1: F64, e2: F64) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """By opening, the heights its jamb at a (at b) needs beyond its own ends and slab steps: where
    it is flush with the cavity's corner and the wall before (after) has an opening flush with the
    same corner, that opening's bottom and top, where they fall inside this jamb. Only the openings
    that need some are listed (none on most levels: no Python loop over every opening)."""
    lo_of, hi_of = _corner_openings(w, o.edge, o.a, o.b)
    out: tuple[dict[int, list[float]], dict[int, list[float]]] = ({}, {})
    for side, mine, other in ((0, lo_of, hi_of[w.live_prev]), (1, hi_of, lo_of[w.live_nxt])):
        edges = np.flatnonzero((mine >= 0) & (other >= 0))
        for i, j in zip(mine[edges].tolist(), other[edges].tolist(), strict=True):
            own = {o.c[i], o.d[i], e1[i], e2[i]}
            heights = [v for v in (o.c[j], o.d[j]) if o.c[i] < v < o.d[i] and v not in own]
            if heights:
                out[side][i] = heights
            else:
                out[side].pop(i, None)
    return out


def _ring(w: _Walls, o: _Openings, sel: B8, fast: B8, outer: bool) -> tuple[F64, I64, I64, B8]:
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
    return _wall_polygons(
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


def _slab_frames(level: F64, sign: float) -> tuple[F64, F64, F64, F64, I64]:
    """Every room's slab face at its ``level`` (per room), facing ``sign`` up, as frame rows (origin, u, v,
    normal, room) for :meth:`_Faces.add_earcut`."""
    nr = level.size
    origin = np.zeros((nr, 3))
    origin[:, 1] = level
    flat = (np.broadcast_to(_X, (nr, 3)), np.broadcast_to(_Z, (nr, 3)), np.broadcast_to(sign * _UP, (nr, 3)))
    return origin, *flat, np.arange(nr)


def _fans(faces: _Faces, ring: tuple[F64, I64, I64, B8], which: B8, centred: bool, level: F64, sign: float) -> None:
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
        thin = _heights2d(np.stack([pts[start[room[j]]], pts[j], pts[j + 1]], 1)) < _THIN
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
        # its longest edge; none with no area: dropped, :meth:`_Faces._add_corners`): such rings go to
        # earcut, whose faces get flips and points (:func:`_steiner`) where a sliver is left. Columns,
        # not :func:`_heights2d`'s (m, 3, 2) copies: every centred fan's triangles pass here.
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
        faces.add(tris, origin, _X, _Z, sign * _UP, r)
    else:
        local = k - start[r]
        fan = (local >= 1) & (local <= start[r + 1] - start[r] - 2)
        j = k[fan]
        faces.add(np.stack([pts[start[room[j]]], pts[j], pts[j + 1]], 1), origin[fan], _X, _Z, sign * _UP, room[j])


def _strips(
    faces: _Faces,
    w: _Walls,
    o: _Openings,
    sel: B8,
    which: B8,
    level: F64,
    sign: float,
    splits: tuple[I64, F64] = (np.zeros(0, np.int64), np.zeros(0)),
) -> None:
    """The wall footprints of a notched slab face (P minus P'), cut at the notches ``sel`` and across at
    ``splits`` (edge, place: where a flush hatch's side ends), for rooms ``which``."""
    edges = np.flatnonzero(which[w.room] & ~(w.mixed | w.merged))  # (:func:`_run_polygons`)
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
    faces.add_quads(quads, origin, _X, _Z, sign * _UP, r)


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


def _run_polygons(w: _Walls, which: B8) -> list[tuple[F64, list[int], int]]:
    """The footprint of each run of walls that turns both ways and lost its inner faces (``w.mixed``: a niche
    narrower than two walls filled in), in rooms ``which``: the run's outline and the apex, one polygon for
    earcut (a fan from the apex, as a convex run's strips are, joined a 1 cm niche's sides to an apex 20 cm
    away in triangles 0.2 mm high; earcut's faces get Delaunay flips). A few runs per room that has them."""
    jobs = []
    for k, before, run, after in _mixed_runs(w.mixed & which[w.room], w.room, w.prev, w.nxt):
        points = _run_ring(w.start, w.inner, w.nxt, before, run, after, bool(w.merged[after]))
        jobs.append((points, [points.shape[0]], k))
    return jobs


def _slab_openings(
    w: _Walls, o: _Openings, notches: _Notches, near: _Near, spec: int
) -> tuple[_Openings, B8, B8 | None]:
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


def _slab_faces(
    faces: _Faces,
    w: _Walls,
    o: _Openings,
    h: _Hatches,
    fast: B8,
    sides: _FlushSides,
    near: _Near,
    notches: _Notches,
    on_sides: _SidePlaces | None = None,
) -> None:
    """Floor underside, floor top, ceiling underside, ceiling top of every fast room, and hatch tunnels.

    Where an opening's corner is near a wall face's bottom (top) border (``near``, :func:`_near_borders`),
    the slab face across that border gets vertices where the wall's does: the cavity's outline (P') the
    opening's sides on it, as for an opening passing into the slab; the footprint strips (P) are cut across there.
    A notch (:class:`_Notches`) cuts each face as a rectangle would that spans it where it meets the
    face's level (its chord there: the notch clipped to the room is a prism through the wall).
    Hatches' sides get the points ``on_sides`` (:func:`_hatch_side_places`) on both faces of their slab
    and their tunnels."""
    nr = fast.size
    if on_sides is None:
        on_sides = _SidePlaces(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    rings = _hatch_rings(h, on_sides)
    t_room, y0, y1 = w.rooms.thickness, w.rooms.y0, w.rooms.y1
    levels = (y0, y1, y0 + t_room, y1 - t_room)
    wall_openings = o
    for k_spec, (level, sign, outer, slab) in enumerate(
        zip(levels, (-1.0, 1.0, 1.0, -1.0), (True, True, False, False), (0, 1, 0, 1), strict=True)
    ):
        o, mask, close = _slab_openings(w, wall_openings, notches, near, k_spec)
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
            faces.add_earcut(_run_polygons(w, fast & ~simple), _slab_frames(level, sign))
            ring = _ring(w, o, sel | close, fast & ~simple, False)
        else:
            # Convex with the openings' sides on its border: a fan from the centre.
            _fans(faces, ring, simple & touched, True, level, sign)
        # Everything else (concave outlines, hatches): earcut, one call per face (of the cavity's outline for P).
        pts, _, p_start, _ = ring
        slab_hatch = h.slab == slab
        flush_room = np.zeros(nr, dtype=bool)
        flush_room[h.room[slab_hatch & h.flush]] = True
        jobs = []
        for room in np.flatnonzero(fast & ~simple).tolist():
            points = pts[p_start[room] : p_start[room + 1]]
            holes = h.points[slab_hatch & (h.room == room)]
            if flush_room[room]:
                jobs += [(ring_pts, ends, room) for ring_pts, ends in _cavity_polygons(points, holes)]
                continue
            mine = np.flatnonzero(slab_hatch & (h.room == room)).tolist() if rings else []
            if any(k in rings for k in mine):
                # Hatches with points on their sides (:func:`_hatch_side_places`): rings of their own lengths.
                hole_rings = [rings.get(k, h.points[k]) for k in mine]
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
        # into the project's sign by testing against the hatch centre.
        normal = np.stack([-tangent[..., 1], tangent[..., 0]], -1)
        centre = p.mean(axis=1, keepdims=True)
        towards = np.einsum("hek,hek->he", (centre - p), normal)
        normal = np.where((towards < 0)[..., None], -normal, normal)
        bottom = np.where(h.slab[k] == 0, y0[h.room[k]], y1[h.room[k]] - t_room[h.room[k]])
        top = bottom + t_room[h.room[k]]
        zeros = np.zeros_like(length)
        bb, tb = np.repeat(bottom[:, None], 4, 1), np.repeat(top[:, None], 4, 1)
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
        by_side = np.ones((k.size, 4), dtype=bool)
        by_side[np.searchsorted(k, sides.hatch), sides.side] = False
        # A side with points on it (:func:`_hatch_side_places`) is built below, one quad between each two.
        split = np.zeros((k.size, 4), dtype=bool)
        split[np.searchsorted(k, on_sides.hatch), on_sides.side] = True
        own = (by_side & ~split).reshape(-1)
        faces.add_quads(
            quads[own],
            _plan3(p.reshape(-1, 2))[own],
            _plan3(tangent.reshape(-1, 2))[own],
            _UP,
            _plan3(normal.reshape(-1, 2))[own],
            np.repeat(h.room[k], 4)[own],
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
                _plan3(p[row, col]),
                _plan3(tangent[row, col]),
                _UP,
                _plan3(normal[row, col]),
                h.room[k][row],
            )
    _flush_tunnels(faces, w, sides)


def _hatch_rings(h: _Hatches, on_sides: _SidePlaces) -> dict[int, F64]:
    """The rings of the hatches with points on their sides (:func:`_hatch_side_places`): each corner followed
    by the points on the side from it, placed as the tunnels' quads place them (corner + along · unit side)."""
    if on_sides.hatch.size == 0:
        return {}
    # on_sides is sorted by (hatch, side, along): one run per hatch.
    first = np.flatnonzero(np.concatenate([[True], on_sides.hatch[1:] != on_sides.hatch[:-1]]))
    cuts = np.append(first, on_sides.hatch.size).tolist()
    out = {}
    for k, lo, hi in zip(on_sides.hatch[first].tolist(), cuts[:-1], cuts[1:], strict=True):
        p = h.points[k]
        edge = np.roll(p, -1, axis=0) - p
        tangent = edge / np.hypot(edge[:, 0], edge[:, 1])[:, None]
        side, along = on_sides.side[lo:hi], on_sides.along[lo:hi]
        points = np.concatenate([p, p[side] + along[:, None] * tangent[side]])
        # Corner j, then the points of side j in order (the sort is stable: they are in order already).
        order = np.argsort(np.concatenate([np.arange(4), side]), kind="stable")
        out[k] = points[order]
    return out


def _with_chords(
    w: _Walls, o: _Openings, notches: _Notches, spec: int, mask: B8, close: B8 | None
) -> tuple[_Openings, B8, B8 | None]:
    """``o`` with an opening [a, b] per notch that meets the level of slab face ``spec`` (0 the floor's
    underside, 1 the ceiling's top, 2 the floor's top, 3 the ceiling's underside) where it meets it,
    selected in ``mask`` (and not in ``close``)."""
    rows = []
    for r, e, poly in zip(notches.room.tolist(), notches.edge.tolist(), notches.poly, strict=True):
        t, y0, y1 = w.rooms.thickness[r], w.rooms.y0[r], w.rooms.y1[r]
        chord = _chord(poly, 1, float((y0, y1, y0 + t, y1 - t)[spec]))
        if chord is not None:
            rows.append((r, e, *chord))
    if not rows:
        return o, mask, close
    room, edge = np.array([x[0] for x in rows], np.int64), np.array([x[1] for x in rows], np.int64)
    a, b = np.array([x[2] for x in rows]), np.array([x[3] for x in rows])
    nan = np.full(a.size, np.nan)
    out = _Openings(
        *(np.concatenate(pair) for pair in ((o.room, room), (o.edge, edge), (o.a, a), (o.b, b), (o.c, nan), (o.d, nan)))
    )
    mask = np.concatenate([mask, np.ones(a.size, bool)])
    return out, mask, None if close is None else np.concatenate([close, np.zeros(a.size, bool)])


def _with_places(
    w: _Walls, o: _Openings, points: tuple[I64, F64, I64], mask: B8, close: B8 | None
) -> tuple[_Openings, B8, B8 | None]:
    """``o`` with an opening [place, place] per point (edge, place, border) where a slab face needs a
    vertex under a window's or notch's corner near the wall face across (:attr:`_Near.edge`): selected in
    ``mask`` for the cavity's outline (P', ``close`` None), in ``close`` for the outline (P)."""
    edge, place, _ = points
    if edge.size == 0:
        return o, mask, close
    nan = np.full(edge.size, np.nan)
    out = _Openings(
        *(
            np.concatenate(pair)
            for pair in ((o.room, w.room[edge]), (o.edge, edge), (o.a, place), (o.b, place), (o.c, nan), (o.d, nan))
        )
    )
    if close is None:
        return out, np.concatenate([mask, np.ones(edge.size, bool)]), None
    return out, np.concatenate([mask, np.zeros(edge.size, bool)]), np.concatenate([close, np.ones(edge.size, bool)])


def _flush_tunnels(faces: _Faces, w: _Walls, sides: _FlushSides) -> None:
    """The tunnel faces of flush hatch sides: in the wall's inner plane, through the slab, facing into
    the hatch, one rectangle between each two consecutive places of the side."""
    order = np.lexsort((sides.place, sides.of))
    of, place = sides.of[order], sides.place[order]
    pair = np.flatnonzero((of[1:] == of[:-1]) & (place[1:] > place[:-1]))
    if pair.size == 0:
        return
    i = of[pair]
    e, r = sides.edge[i], w.room[sides.edge[i]]
    t = w.rooms.thickness[r]
    bottom = np.where(sides.slab[i] == 0, w.rooms.y0[r], w.rooms.y1[r] - t)
    top = bottom + t
    a, b = place[pair], place[pair + 1]
    quads = np.stack(
        [np.stack([a, bottom], -1), np.stack([b, bottom], -1), np.stack([b, top], -1), np.stack([a, top], -1)], 1
    )
    origin = _plan3(w.start[e] + t[:, None] * w.inward[e])
    faces.add_quads(quads, origin, _plan3(w.tangent[e]), _UP, _plan3(w.inward[e]), r)


def panel_shells(rooms: Sequence[Room], quads: F64, quad_room: I64) -> tuple[B8, list[FlatMesh]]:
    """Which rooms take the panel path, and their flat-shaded shells (one per such room, in order).

    ``quads`` (q, 4, 3) portal quads, ``quad_room`` (q,) the room each belongs to (a portal between
    two rooms appears once per room). Rooms not chosen are left to the boolean path.
    """
    r = len(rooms)
    if r == 0:
        return np.zeros(0, dtype=bool), []
    w = _walls(rooms)
    bad = ~w.ok
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    quad_room = np.asarray(quad_room, dtype=np.int64).reshape(-1)
    o, win, notches = _openings(w, quads, quad_room, bad)
    h = _hatches(w, quads, quad_room, bad)
    sides = _flush_sides(w, h, ~bad)
    _flush_clashes(w, o, sides, bad)
    if notches.edge.size:
        _notch_clashes(w, o, h, notches, bad)
    fast = ~bad
    if not fast.any():
        return fast, []
    keep = fast[o.room]
    o = _Openings(o.room[keep], o.edge[keep], o.a[keep], o.b[keep], o.c[keep], o.d[keep])
    keep = fast[win.room]
    win = _Windows(win.room[keep], win.edge[keep], win.poly[keep])
    notches = notches.only(fast[notches.room])
    shaped = [(int(r), int(e), p) for r, e, p in zip(win.room, win.edge, win.poly, strict=True)]
    shaped += [(int(r), int(e), p) for r, e, p in zip(notches.room, notches.edge, notches.poly, strict=True)]
    near = _with_hatch_places(_near_borders(w, o, shaped), _hatch_places(w, h, fast, o, shaped))
    on_sides, near = _hatch_side_places(w, h, fast, o, notches, near)
    sides = _flush_places(w, o, sides.only(fast[h.room[sides.hatch]]), near)
    faces = _Faces([], [], [])
    _wall_faces(faces, w, o, win, notches, fast, sides.points(), near)
    _tunnels(faces, w, o, near)
    _window_tunnels(faces, w, win, notches)
    _slab_faces(faces, w, o, h, fast, sides, near, notches, on_sides)
    faces.finish()
    meshes = _weld(faces, fast)
    shaped_rooms = distinct(np.concatenate([win.room, notches.room, w.room[w.collapsed]]))
    return _closed_or_left(fast, meshes, shaped_rooms)


def _closed_or_left(fast: B8, meshes: list[FlatMesh], checked: I64) -> tuple[B8, list[FlatMesh]]:
    """The rooms of ``checked`` (those with windows or notches of other shapes, whose rules are the newest
    and least proven) whose shell is not a closed 2-manifold — an edge not crossed once each way, the corners merged by
    their float32 position — left to the boolean path after all: a crack or a pinch is never written.
    Costs a sort of those rooms' edges only (no other room is checked)."""
    if checked.size == 0:
        return fast, meshes
    slot = np.full(fast.size, -1, dtype=np.int64)
    slot[fast] = np.arange(int(fast.sum()))
    open_rooms = [int(r) for r in checked.tolist() if slot[r] >= 0 and not _shell_closed(meshes[slot[r]])]
    if not open_rooms:
        return fast, meshes
    kept = fast.copy()
    kept[open_rooms] = False
    return kept, [mesh for r, mesh in zip(np.flatnonzero(fast).tolist(), meshes, strict=True) if kept[r]]


def _shell_closed(mesh: FlatMesh) -> bool:
    """Whether every edge of ``mesh`` (corners merged by position) is crossed once each way: closed,
    oriented and 2-manifold (an edge of four faces, as where a solid touches itself along a line, is not)."""
    positions, _, _, indices = mesh
    _, vertex = np.unique(positions, axis=0, return_inverse=True)
    tri = vertex.reshape(-1)[indices.astype(np.int64)].reshape(-1, 3)
    n = int(vertex.max(initial=0)) + 1
    start, end = tri.reshape(-1), tri[:, [1, 2, 0]].reshape(-1)
    forward, backward = np.sort(start * n + end), np.sort(end * n + start)
    # Equal sorted lists: each edge as often one way as the other; no repeat: once each way.
    return bool(np.array_equal(forward, backward) and not (forward[1:] == forward[:-1]).any())


def _notch_clashes(w: _Walls, o: _Openings, h: _Hatches, notches: _Notches, bad: B8) -> None:
    """Rooms with a notch that the panels do not match up with the rest, marked in ``bad``: a room
    with a hatch flush with its walls; a notch flush with the cavity's corner where an opening of its
    wall or of the wall across needs vertices on that corner's line (:func:`_near_borders`), which
    the notch's jamb would need too."""
    bad[notches.room[np.isin(notches.room, h.room[h.flush])]] = True
    ends = []
    for e, poly in zip(notches.edge.tolist(), notches.poly, strict=True):
        if poly[:, 0].min() == w.inner0[e]:
            ends.append((e, True))
        if poly[:, 0].max() == w.inner1[e]:
            ends.append((e, False))
    if not ends:
        return
    near = _near_borders(w, o)
    start = set(o.edge[near.left[1]].tolist())  # edges whose inner face's start needs vertices
    end = set(o.edge[near.right[1]].tolist())
    for e, at_start in ends:
        if (e in start or int(w.live_prev[e]) in end) if at_start else (e in end or int(w.live_nxt[e]) in start):
            bad[w.room[e]] = True


#: Coordinates (m) nearer 0 than this are written as 0 by :func:`_weld`: far below anything a level draws.
#: A corner reached two ways differs by the float64 error of a point computed along a wall (~1e-16 per metre
#: of the scene's size); float32 keeps values near 0 apart in steps of ~1.2e-7 × the value, so two such
#: copies of a coordinate of 2e-9 (an apex where an outline's noise put a corner 1e-9 off an axis) were
#: two vertices, a crack, nearly always; at 1 µm, once in ~1,000 for a 10 m scene.
_ZERO = 1e-6
#: Mantissa bits a panel corner keeps before it is written as float32 (:func:`_weld`): float32's 24 and 16
#: more, far above the float64 error of a corner computed along a wall (~1e-16 relative).
_KEPT_BITS = 40
_ROUND_BIT = np.uint64(1 << (52 - _KEPT_BITS - 1))
_KEEP_MASK = np.uint64(~((1 << (52 - _KEPT_BITS)) - 1) & 0xFFFFFFFFFFFFFFFF)


def _weld(faces: _Faces, fast: B8) -> list[FlatMesh]:
    room = np.concatenate(faces.room).astype(np.int64, copy=False)
    # Triangles sorted by room, stably (radix sort on 16-bit room numbers where they fit).
    order = np.argsort(room.astype(np.uint16) if fast.size <= 1 << 16 else room, kind="stable")
    room = room[order]
    m = room.size
    # Corners as float32 (what is written) straight from each batch, -0.0 made 0.0 on the way (+ 0.0 in
    # float64, then rounded) so both hash alike: no (m, 3, 3) float64 copies of them all. A coordinate
    # within _ZERO of 0 is written as 0: a corner on an axis is reached two ways (one wall's start,
    # the wall before it's start plus its length along its turned tangent), the second 1e-16 off,
    # which float32 keeps apart from 0.0 (a crack where it is 0.0 in the other faces).
    # Before float32, each coordinate is rounded to _KEPT_BITS bits of mantissa: a corner reached two ways
    # (1e-15 apart) next to a float32 rounding midpoint (a turned level's corners sit on them) became two
    # float32 values a step apart, a crack; within 2^-41 of a midpoint both now land on it, one value.
    corners = np.empty((m, 3, 3), dtype=np.float32)
    at = 0
    for part in faces.corners:
        block = corners[at : at + part.shape[0]]
        bits = np.add(part, 0.0).view(np.uint64)
        bits += _ROUND_BIT
        bits &= _KEEP_MASK
        np.copyto(block, bits.view(np.float64), casting="same_kind")
        block[np.abs(block) < _ZERO] = 0.0
        at += part.shape[0]
    normal = np.concatenate(faces.normal)  # in batch order: packed first, then the packed keys sorted
    # Key (24 bytes a corner): the face normal packed to 2^-19 steps, the float32 position, the room;
    # written a field (a coordinate) at a time over all corners, so numpy's copies run along the
    # corners, not along one corner's 2 or 3 values.
    keys = np.empty((m, 3, 6), dtype=np.uint32)
    keys.view(np.int64)[:, :, 0] = np.repeat(np.take(pack_normals(normal), order), 3).reshape(m, 3)
    sorted_corners = np.take(corners, order, axis=0)
    del corners
    for c in range(3):
        keys.view(np.float32)[:, :, 2 + c] = sorted_corners[:, :, c]
    del sorted_corners
    keys[:, :, 5] = np.repeat(room.astype(np.uint32), 3).reshape(m, 3)
    rows = keys.reshape(-1, 6)
    rooms_fast = np.flatnonzero(fast)
    tri_start = np.searchsorted(room, rooms_fast)
    # The room is a key column and triangles are sorted by room: no cluster spans two rooms.
    ids, first = cluster_rows(rows, 3 * tri_start)
    # Ids follow first occurrence: each room's vertices are contiguous. Corner i is a corner of
    # triangle i // 3 (no (3m, 3) repeat of the normals: page faults).
    tri = first // 3
    p32 = np.empty((first.size, 3), dtype=np.float32)  # a coordinate at a time (whole rows: an (n, 6) temporary)
    for c in range(3):
        np.take(rows.view(np.float32)[:, 2 + c], first, out=p32[:, c])
    vnormals = np.take(normal, np.take(order, tri), axis=0)
    vnormals += 0.0  # -0.0 written as 0.0
    n32, uv32 = vnormals.astype(np.float32), world_uvs(p32, vnormals)
    vert_room = room[tri]
    vert_start = np.searchsorted(vert_room, rooms_fast)
    vert_end = np.searchsorted(vert_room, rooms_fast, side="right")
    tri_end = np.searchsorted(room, rooms_fast, side="right")
    base = np.zeros(fast.size, dtype=np.int64)
    base[rooms_fast] = vert_start
    ids -= np.repeat(base[room], 3)
    indices = ids.reshape(-1, 3)
    indices32 = indices.astype(np.uint32)
    out: list[FlatMesh] = []
    for v0, v1, t0, t1 in zip(
        vert_start.tolist(), vert_end.tolist(), tri_start.tolist(), tri_end.tolist(), strict=True
    ):
        out.append((p32[v0:v1], n32[v0:v1], uv32[v0:v1], indices32[t0:t1]))
    return out
