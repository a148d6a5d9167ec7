"""Rectangular and rectilinear rooms off the axes built by the panels in their own frame.

The panel path (:mod:`sceneforge.geometry.panels`) places hatches flush with a wall only in rooms whose
walls run along the x and z axes (boxes, and floor polygons such as an L); a rectangle or an L turned to
any other angle (a plan drawn at 30°) with a stair opening against a wall went to the booleans.
:func:`panels_in_own_frames` takes the rectangles and the rectilinear outlines (every wall along or
across the first, :func:`_turned_rectilinear`) the panels refused, turns each (and its portals) about its
first corner so that its first wall runs along +x, puts its walls exactly on the axes (they are within
:data:`_SQUARE` of them when the outline is square to that precision, as a plan turned with cos and sin
is; each run of walls in a line on one line, :func:`_runs_on_axes`), builds them with the panels again,
and turns the shells back: positions and normals by the same rotation, UVs again from world positions.
Rooms still refused stay with the booleans.

A plan turned and then written to millimetres (a CAD or Blender export of a rotated plan) is square to
no better than its rounding: a room whose every coordinate (outline and portal quads; of a room the panels
refuse, outline and hatches) lies on a 0.1 mm grid (:func:`_rounded_plans`; no corner of a rectangle turned
with cos and sin off the axes does) and whose
corners lie within :data:`_ROUNDING` of a rectangle's (:class:`_RectangleFits`) is built as that
rectangle, in the frame of its walls' mean direction, and laid onto the outline as drawn by the bilinear
map of the rectangle's corners onto the outline's (:class:`_Bilinear`): the outer faces are the
outline's, the shell stays within its bounds, the inner faces are the mitred offset's to tens of
micrometres. Its portals are taken onto the rectangle by the inverse map, and what is left of the
rounding there is taken off (:func:`_unrounded`): hatches a rounding off a rectangle squared where one
reaches the walls, coordinates within :data:`_ROUNDING` of the cavity's sides or the slabs' faces put on
them. Such a room is built so only where that takes something off (a doorway drawn to the cavity's corner, a
hatch drawn to a wall, each a fraction of a millimetre off: strips of wall or slab that thin otherwise); those
are found before the panels build the other rooms, and left out of that build. Rooms drawn exactly are built as
before.

So is a rounded rectilinear outline (an L, a U: :func:`_rounded_rectilinear`; each run of walls in a line on one
line where its points lie on average, every corner within :data:`_ROUNDING` of the outline so found), laid onto
the outline as drawn by the bilinear map of each cell of the grid of its lines (:class:`_GridMap`: each wall onto
the wall drawn, straight), its portals as a rectangle's, against the cavity's lines (:func:`_rectilinear_cavity`).

Coincident vertices stay coincident (the same float32 inputs turn into the same outputs), so each
shell is as closed as it was in its frame; positions move by a float32 step or two.

Cost: one extra :func:`~sceneforge.geometry.panels.panel_shells` call over the rooms built in their frames
(none on levels without such rooms; each room is built once, but for one whose frame the panels refuse),
O(their portals) to pick their quads, and the grid test over every room's outline and portals (about 1 ms for
1,000 rooms). The rounded rectangles are fitted, their portals
taken back and off the rounding, and every retried shell laid back into world space, in batches over all
rooms (each room's numbers, to the bit, those it gets alone: ``tests/geometry/test_rounded_plans_batched.py``);
a loop over the rooms is left choosing each room's branch (~40 µs a room). A rounded L or U is fitted room
by room (:func:`_rounded_rectilinear`, at most :data:`_RECTILINEAR_CORNERS` corners, O(corners + its grid's nodes)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ..model.ir import Room
from ..tolerances import EXPORT_STEPS
from .outline import outlines_on_axes
from .panels import panel_shells
from .panels.openings import rect_tolerance, rectangle
from .shading import FlatMesh, world_uvs

__all__ = ["panels_in_own_frames"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

#: How far (m) a turned rectangle's corners may lie off the axes of its frame (after the turn) to be
#: put on them: 1 µm, as a portal quad's corners may lie off its rectangle (panels' ``_RECT_EPS``).
_SQUARE = 1e-6

#: How far (m) a rounded plan's corners may lie off the rectangle it was drawn as (each side where its two
#: corners lie on average), and a hatch's corners off its rectangle or its side off a cavity line, to be built
#: as drawn exactly (:class:`_RectangleFits`): a plan turned and written to millimetres puts each
#: coordinate up to 0.5 mm off, a corner up to 0.71 mm, and a hatch's corner as much again against the
#: outline's corners, which are rounded too. (The panels' rule for doorways drawn to a corner,
#: ``doors.export_noise``, allows ``EXPORT_NOISE`` steps, 2 mm, measured against the cavity's corner, which
#: rounding moves farther.)
_ROUNDING = 1.5e-3

#: A rounded plan's grid (m): a turned rectangle whose every coordinate (outline and portal quads) is a whole
#: multiple of it (to 1e-7 m) is a plan turned and then written to a tenth of a millimetre or coarser (a
#: rectangle turned with cos and sin has no such corner off the axes): the finest of the grids an export may
#: have written a plan to (``tolerances.EXPORT_STEPS``, which the panels' export-noise rule reads too).
_GRID = min(EXPORT_STEPS)

#: The most corners of a rounded outline off the axes built as the rectilinear outline drawn
#: (:func:`_rounded_rectilinear`; an L has 6, a U 8; an outline traced from a floor mesh subdivided every 0.1 m,
#: a 10 m square room's 400). Outlines of more are built as written. (Such an outline built as written has its
#: points a fraction of a millimetre off its walls' lines: the panels or the booleans built it with triangles
#: 0.0002-0.16 mm high, tens a room.)
_RECTILINEAR_CORNERS = 4096

#: The most nodes of a rounded rectilinear outline's grid (:class:`_GridMap`, 16 bytes each; a turned staircase
#: of 2,002 corners has 1001²): each node is placed in a pass over the grid, O(nodes).
_GRID_NODES = 1 << 20

#: The most (point, line) pairs :func:`_on_lines` compares at once.
_NEAR_BLOCK = 1 << 18


def panels_in_own_frames(rooms: Sequence[Room], quads: F64, quad_room: I64) -> tuple[B8, list[FlatMesh]]:
    """:func:`~sceneforge.geometry.panels.panel_shells`' answer for ``rooms`` (whether the panels build each, and
    a shell per room they build, in order) with the refused rectangles off the axes that the panels build in
    their own frame added, and the rounded plans' rooms whose portals carry rounding near the room's lines
    (which the panels would build as strips a fraction of a millimetre wide) built so. Those are found before
    the panels build the rest (their portals taken back and off the rounding needs no shell), so the panels
    build each of them once, in its frame; one whose frame the panels refuse is built as written after all."""
    grid, loose = _rounded_plans(rooms, quads, quad_room)
    rooms = _straightened(rooms, grid | loose)
    by_room = np.argsort(quad_room, kind="stable")
    bounds = np.searchsorted(quad_room[by_room], np.arange(len(rooms) + 1))
    # The rounded rectangles (most of a turned plan written to millimetres) fitted, and their portals taken
    # back onto them, in one batch; the rounded Ls and Us with portals room by room.
    fits = _RectangleFits.of(rooms, np.flatnonzero(loose), quads[by_room], bounds)
    prepared: dict[int, tuple[F64, Room, _Bilinear | _GridMap, F64]] = {}
    for i in np.flatnonzero(grid & (bounds[1:] > bounds[:-1])).tolist():
        entry = _rounded_frame(rooms[i], quads[by_room[bounds[i] : bounds[i + 1]]], fits.get(i))
        if entry is not None:
            prepared[i] = entry
    # Their portals off the rounding, all at once. Where that moves nothing and each wall is drawn as one the
    # panels build the room as written (no rounding near its lines); the others are built in their frames alone
    # (a wall drawn in pieces, a floor traced from a subdivided mesh, is bent by the rounding: as written, the
    # panels would cut strips as thin as the bends).
    order = list(prepared)
    unrounded = dict(
        zip(order, _unrounded([prepared[i][1] for i in order], [prepared[i][3] for i in order]), strict=True)
    )
    moved = [
        i for i in order if not np.array_equal(unrounded[i], prepared[i][3]) or _walls_in_pieces(prepared[i][1].floor)
    ]
    first = np.ones(len(rooms), bool)
    first[moved] = False
    fast, meshes = _panels_of(rooms, quads, quad_room, first)
    candidates = np.flatnonzero(~fast | grid)
    chosen: list[int] = []
    origins, turns, local_rooms, local_quads = [], [], [], []
    maps: list[_Bilinear | _GridMap | None] = []  # per chosen room: None (drawn exactly), or its rounded plan's map
    late: list[int] = []  # the chosen rooms the panels refused that are rounded plans but for wall openings
    for i in candidates.tolist():
        floor = rooms[i].floor
        q = quads[by_room[bounds[i] : bounds[i + 1]]]
        # A room the panels refused whose outline and hatches were written to millimetres, its wall openings not
        # (a between door): as a rounded plan (the room's other rooms are not rebuilt, their shells as built).
        entry = _rounded_frame(rooms[i], q, fits.get(i)) if loose[i] and not grid[i] and not fast[i] else None
        if entry is not None:
            turn, local_room, plan_map, q = entry
            late.append(len(chosen))
        elif grid[i]:
            if i in prepared:
                turn, local_room, plan_map, _ = prepared[i]
                q = unrounded[i]
                if fast[i] and i not in moved:
                    continue  # no rounding near the room's lines, no wall in pieces: as the panels built it
            elif fast[i] or q.size:
                continue  # without portals nothing to take off the rounding: as the panels built it; else no fit
            else:
                entry = _rounded_frame(rooms[i], q, fits.get(i))
                if entry is None:
                    continue
                turn, local_room, plan_map, q = entry
        elif not fast[i] and (_turned_rectangle(floor) or _turned_rectilinear(floor)):
            along = floor[1] - floor[0]
            turn = along / float(np.hypot(*along))  # (cos θ, sin θ) of the first wall
            local = _rotate(floor - floor[0], float(turn[0]), -float(turn[1]))
            local = outlines_on_axes(local, np.array([4]), _SQUARE) if floor.shape[0] == 4 else _runs_on_axes(local)
            if not _on_axes(local):
                continue
            plan_map, local_room, q = None, replace(rooms[i], floor=local), _into_frame(q, floor[0], turn)
        else:
            continue
        chosen.append(i)
        origins.append(floor[0])
        turns.append(turn)
        local_rooms.append(local_room)
        local_quads.append(q)
        maps.append(plan_map)
    # Their portals off the rounding, all at once.
    for k, q in zip(late, _unrounded([local_rooms[k] for k in late], [local_quads[k] for k in late]), strict=True):
        local_quads[k] = q
    back: dict[int, FlatMesh] = {}
    if chosen:
        owner = np.repeat(np.arange(len(chosen)), [q.shape[0] for q in local_quads])
        local_fast, local_meshes = panel_shells(local_rooms, np.concatenate(local_quads), owner)
        built = np.flatnonzero(local_fast).tolist()
        if built:
            worlds = _turned_back(
                local_meshes, [origins[k] for k in built], [turns[k] for k in built], [maps[k] for k in built]
            )
            back = {chosen[k]: mesh for k, mesh in zip(built, worlds, strict=True)}
    # Rooms left out of the first build whose frame the panels refused: as the panels build them as written.
    refused = [i for i in moved if i not in back]
    if refused:
        again_fast, again = _panels_of(rooms, quads, quad_room, np.isin(np.arange(len(rooms)), refused))
        back.update(zip(np.flatnonzero(again_fast).tolist(), again, strict=True))
    out_fast = fast.copy()
    out_fast[list(back)] = True
    before = iter(meshes)
    out: list[FlatMesh] = []
    for i in np.flatnonzero(out_fast).tolist():
        own = next(before) if fast[i] else None  # (a room built again replaces the panels' shell)
        mesh = back.get(i, own)
        assert mesh is not None
        out.append(mesh)
    return out_fast, out


def _straightened(rooms: Sequence[Room], rounded: B8) -> list[Room]:
    """``rooms`` with the outline of each rounded plan that is no rectilinear one (:func:`_rounded_rectilinear`:
    a chamfered, gabled or bevelled room, turned and written to millimetres) drawn without the points of its straight
    walls drawn in pieces (:func:`_straight_outline`), so that the panels build those walls straight: as written,
    each piece is bent a fraction of a millimetre at its ends, and the panels cut strips that thin there (a doorway
    spanning a piece between two such points took the booleans). A rectilinear one is laid onto the outline drawn by
    its grid map instead (:func:`_rectilinear_frame`); any other room is as it was."""
    out = list(rooms)
    for i in np.flatnonzero(rounded).tolist():
        floor = rooms[i].floor
        if floor.shape[0] <= 4:
            continue
        straight = _straight_outline(floor)
        if straight is not None and _rectilinear_frame(floor) is None:
            out[i] = replace(rooms[i], floor=straight)
    return out


def _straight_outline(floor: F64) -> F64 | None:
    """``floor`` (k, 2), written to a grid of :data:`~sceneforge.tolerances.EXPORT_STEPS`, without the points of each
    run of points within 1.5 steps of the line through their neighbours whose points all lie within 1.5 steps of
    the line joining the corners at its ends (a straight wall drawn in pieces, each point up to 0.71 of a step off
    it: the rounding); None where there is no such run. A run of a curve (an arc drawn with many short walls)
    strays farther from that line and is kept, as is an outline every point of which is such a point (a circle)."""
    step = next(g for g in (*EXPORT_STEPS, 0.0) if not g or (np.abs(floor / g - np.round(floor / g)) <= 1e-3).all())
    tolerance = 1.5 * step
    prev, nxt = np.roll(floor, 1, axis=0), np.roll(floor, -1, axis=0)
    chord = nxt - prev
    off = np.abs(chord[:, 0] * (floor - prev)[:, 1] - chord[:, 1] * (floor - prev)[:, 0])
    inner = off <= tolerance * np.hypot(chord[:, 0], chord[:, 1])
    corners = np.flatnonzero(~inner)
    if corners.size < 3 or corners.size == floor.shape[0]:
        return None
    # Each point in a run, the corners at its ends: its run's distance from their line, the run's most.
    at = np.flatnonzero(inner)
    after = np.searchsorted(corners, at) % corners.size
    a, b = floor[corners[after - 1]], floor[corners[after]]
    line = b - a
    away = np.abs(line[:, 0] * (floor[at] - a)[:, 1] - line[:, 1] * (floor[at] - a)[:, 0])
    far = away > tolerance * np.hypot(line[:, 0], line[:, 1])
    bent = np.zeros(corners.size, dtype=bool)
    bent[after[far]] = True  # runs (named by the corner ending them) with a point off the line: kept
    keep = ~inner
    keep[at[bent[after]]] = True
    return None if keep.all() else floor[keep]


def _rounded_frame(
    room: Room, quads: F64, fit: tuple[F64, F64, _Bilinear, F64] | None
) -> tuple[F64, Room, _Bilinear | _GridMap, F64] | None:
    """A rounded plan's room in its frame: the turn, the room on the frame's axes, the map onto the outline as
    drawn and its portal ``quads`` taken back (not yet off the rounding); ``fit`` is its rectangle's
    (:class:`_RectangleFits`), None for an L or a U (fitted here) or for an outline neither fits."""
    floor = room.floor
    if floor.shape[0] > 4:
        # A rounded L or U (a hatch drawn to its walls, a fraction of a millimetre off them and off square
        # once rounded): built as the rectilinear outline drawn, as a rounded rectangle is.
        polygon = _rounded_rectilinear(floor)
        if polygon is None:
            return None
        turn, local, grid_map = polygon
        return turn, replace(room, floor=local), grid_map, grid_map.portals_in(_into_frame(quads, floor[0], turn))
    if fit is None:
        return None
    turn, local, plan_map, taken_back = fit
    return turn, replace(room, floor=local), plan_map, taken_back


def _panels_of(rooms: Sequence[Room], quads: F64, quad_room: I64, built: B8) -> tuple[B8, list[FlatMesh]]:
    """:func:`~sceneforge.geometry.panels.panel_shells` of the rooms ``built`` (r,) marks, answered for all of
    ``rooms``: the rooms not built are not fast."""
    if built.all():
        return panel_shells(rooms, quads, quad_room)
    which = np.flatnonzero(built)
    index = np.full(len(rooms), -1, np.int64)
    index[which] = np.arange(which.size)
    mine = built[quad_room]
    part_fast, meshes = panel_shells([rooms[i] for i in which.tolist()], quads[mine], index[quad_room[mine]])
    fast = np.zeros(len(rooms), bool)
    fast[which] = part_fast
    return fast, meshes


def _into_frame(quads: F64, origin: F64, turn: F64) -> F64:
    """``quads`` (q, 4, 3) turned by -``turn`` (cos θ, sin θ) in (x, z) about ``origin`` (2,)."""
    out = quads.copy()
    xz = _rotate(quads[:, :, [0, 2]] - origin, float(turn[0]), -float(turn[1]))
    out[:, :, 0], out[:, :, 2] = xz[..., 0], xz[..., 1]
    return out


def _on_axes(local: F64) -> bool:
    """Whether every edge of the 4-point outline ``local`` runs exactly along x or z."""
    step = np.roll(local, -1, axis=0) - local
    return bool(((step[:, 0] == 0.0) ^ (step[:, 1] == 0.0)).all())


def _walls_off_axes(floor: F64, shortest: float) -> tuple[F64, F64] | None:
    """A 4-point outline's walls (4, 2) and their lengths (4,) where not every wall runs along an axis (those
    are the panels' own case) and every one is longer than ``shortest`` (m); None otherwise."""
    if floor.shape[0] != 4:
        return None
    step = np.roll(floor, -1, axis=0) - floor
    if ((step[:, 0] == 0.0) | (step[:, 1] == 0.0)).all():
        return None
    length = np.hypot(step[:, 0], step[:, 1])
    return None if (length <= shortest).any() else (step, length)


def _turned_rectangle(floor: F64) -> bool:
    """A 4-point outline whose walls are not all along the axes, its corners square to :data:`_SQUARE`."""
    walls = _walls_off_axes(floor, 0.0)
    if walls is None:
        return False
    step, length = walls
    # Each corner square: the next wall's direction off perpendicular by at most _SQUARE over its length.
    unit = step / length[:, None]
    cos = np.abs(np.einsum("ek,ek->e", unit, np.roll(unit, -1, axis=0)))
    return bool((cos * np.roll(length, -1) <= _SQUARE).all())


def _turned_rectilinear(floor: F64) -> bool:
    """An outline of more than 4 points (an L, a U) whose walls are not all along the axes, each along or across
    its first wall to :data:`_SQUARE` over its length (a plan drawn at 30°: its hatches flush with the walls
    are the panels' in its own frame, :func:`~sceneforge.geometry.panels.hatches._flush_in_polygon`)."""
    if floor.shape[0] <= 4:
        return False
    step = np.roll(floor, -1, axis=0) - floor
    if ((step[:, 0] == 0.0) | (step[:, 1] == 0.0)).all():
        return False
    length = np.hypot(step[:, 0], step[:, 1])
    if (length == 0.0).any():
        return False
    first = step[0] / length[0]
    along = np.abs(step @ first)
    across = np.abs(step[:, 0] * first[1] - step[:, 1] * first[0])
    return bool((np.minimum(along, across) <= _SQUARE).all())


def _runs_on_axes(local: F64) -> F64:
    """A turned rectilinear outline (:func:`_turned_rectilinear`) in its frame with each run of walls along one
    axis put on one line: every point of the run takes its first point's value across it (a wall drawn as two in
    a line stays one line; edge by edge, its far end would take its middle point's value, a float64 step off)."""
    out = local.copy()
    step = np.roll(local, -1, axis=0) - local
    fixed = np.where(np.abs(step[:, 1]) <= _SQUARE, 1, 0)  # the coordinate each wall keeps
    k = local.shape[0]
    turns = np.flatnonzero(fixed != np.roll(fixed, 1))
    first = int(turns[0]) if turns.size else 0
    for n in range(k):
        i = (first + n) % k
        out[(i + 1) % k, fixed[i]] = out[i, fixed[i]]
    return out


def _rotate(points: F64, cos: float | F64, sin: float | F64) -> F64:
    """``points`` (..., 2) turned by the angle of (cos, sin) in (x, z) (one angle, or arrays of them broadcast
    against the points' leading axes)."""
    out: F64 = np.stack([points[..., 0] * cos - points[..., 1] * sin, points[..., 0] * sin + points[..., 1] * cos], -1)
    return out


def _turned_back(
    meshes: list[FlatMesh], origins: list[F64], turns: list[F64], maps: list[_Bilinear | _GridMap | None]
) -> list[FlatMesh]:
    """Shells built in their rooms' frames, in world space: positions and normals turned by each room's ``turn``
    (cos θ, sin θ) in (x, z), positions moved to its ``origin``; UVs again from world positions. With a map (a
    rounded plan's), the plan is first laid onto the outline as drawn (normals renormalized). All shells in one
    batch, vertex by vertex the arithmetic of one shell at a time."""
    counts = np.array([mesh[0].shape[0] for mesh in meshes], np.int64)
    owner = np.repeat(np.arange(len(meshes)), counts)
    start = np.zeros(len(meshes) + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    p = np.concatenate([mesh[0] for mesh in meshes]).astype(np.float64)
    n = np.concatenate([mesh[1] for mesh in meshes]).astype(np.float64)
    p_xz, n_xz = p[:, [0, 2]], n[:, [0, 2]]
    bilinear = [k for k, m in enumerate(maps) if isinstance(m, _Bilinear)]
    if bilinear:
        rows = np.concatenate([np.arange(start[k], start[k + 1]) for k in bilinear])
        of = owner[rows]
        params = np.zeros((len(meshes), 6, 2))  # per shell: its map's lo, size, then its 4 corners
        for k in bilinear:
            m = maps[k]
            assert isinstance(m, _Bilinear)
            params[k, 0], params[k, 1], params[k, 2:] = m.lo, m.size, m.corners
        p_xz[rows], n_xz[rows] = _onto_drawn(params[of, 0], params[of, 1], params[of, 2:], p_xz[rows], n_xz[rows])
    for k, m in enumerate(maps):
        if isinstance(m, _GridMap):
            at = slice(int(start[k]), int(start[k + 1]))
            p_xz[at], n_xz[at] = m.onto_drawn(p_xz[at], n_xz[at])
    turn = np.array(turns, np.float64).reshape(-1, 2)[owner]
    origin = np.array(origins, np.float64).reshape(-1, 2)[owner]
    xz = _rotate(p_xz, turn[:, 0], turn[:, 1]) + origin
    world = np.stack([xz[:, 0], p[:, 1], xz[:, 1]], 1).astype(np.float32)
    nxz = _rotate(n_xz, turn[:, 0], turn[:, 1])
    world_n = np.stack([nxz[:, 0], n[:, 1], nxz[:, 1]], 1)
    mapped = np.array([m is not None for m in maps], bool)[owner]
    if mapped.any():
        world_n[mapped] /= np.linalg.norm(world_n[mapped], axis=1)[:, None]
    uvs = world_uvs(world, world_n)
    normals = world_n.astype(np.float32)
    return [
        (world[a:b], normals[a:b], uvs[a:b], mesh[3])
        for mesh, a, b in zip(meshes, start[:-1].tolist(), start[1:].tolist(), strict=True)
    ]


@dataclass(frozen=True, slots=True)
class _RectangleFits:
    """The rounded rectangles among rooms' outlines: 4-point outlines off the axes whose corners lie within
    :data:`_ROUNDING` of a rectangle's (a rectangle's plan turned and written to millimetres), fitted in one
    batch. For each: the frame's turn (cos θ, sin θ) (the walls' mean direction, the one nearest the first
    wall's: the first wall's own is off by its rounding over its length, which a long room's far side
    multiplies), the rectangle on the frame's axes (its corners in the outline's order, about the outline's
    first corner), the map from it onto the outline as drawn (in the frame: :class:`_Bilinear`'s ``lo``,
    ``size``, ``corners``), and the room's portals in the frame taken back onto the rectangle
    (:func:`_portals_in`). ``room`` maps a room's index to its row; ``taken_back`` holds the portals room by
    room, row k's from ``start[k]`` to ``start[k + 1]``. Row by row the arithmetic of one room at a time (~1 ms
    of numpy calls a room spared: a turned office written to millimetres is a thousand of them)."""

    room: dict[int, int]
    turn: F64
    local: F64
    lo: F64
    size: F64
    corners: F64
    taken_back: F64
    start: I64

    @classmethod
    def of(cls, rooms: Sequence[Room], which: I64, by_room: F64, bounds: I64) -> _RectangleFits:
        """Fits of the rooms ``which`` that have 4-point outlines; ``by_room`` the portal quads ordered by room,
        room r's from ``bounds[r]`` to ``bounds[r + 1]``."""
        which = np.array([i for i in which.tolist() if rooms[i].floor.shape[0] == 4], np.int64)
        empty = np.zeros((0, 2))
        if not which.size:
            return cls({}, empty, np.zeros((0, 4, 2)), empty, empty, np.zeros((0, 4, 2)), np.zeros((0, 4, 3)),
                       np.zeros(1, np.int64))  # fmt: skip
        floors = np.stack([rooms[i].floor for i in which.tolist()]).astype(np.float64, copy=False)
        step = np.roll(floors, -1, axis=1) - floors
        length = np.hypot(step[..., 0], step[..., 1])
        ok = ~((step[..., 0] == 0.0) | (step[..., 1] == 0.0)).all(axis=1) & (length > 4.0 * _ROUNDING).all(axis=1)
        angle = np.arctan2(step[..., 1], step[..., 0])
        mean = np.angle(np.sum(length * np.exp(4j * angle), axis=1)) / 4.0
        theta = mean + np.round((angle[:, 0] - mean) / (0.5 * np.pi)) * 0.5 * np.pi
        cos, sin = np.cos(theta), np.sin(theta)
        drawn = _rotate(floors - floors[:, :1], cos[:, None], -sin[:, None])
        rect, x0, x1, z0, z1 = rectangle(drawn[..., 0], drawn[..., 1], np.full((which.size, 1), 2.0 * _ROUNDING))
        high_x = drawn[..., 0] > (0.5 * (x0 + x1))[:, None]
        high_z = drawn[..., 1] > (0.5 * (z0 + z1))[:, None]
        # Each side where its two corners lie on average: sums of the two (zeros added for the others change no
        # bit), over their count.
        n_hx, n_hz = high_x.sum(axis=1), high_z.sum(axis=1)
        ok &= rect & (n_hx == 2) & (n_hz == 2)
        xs = np.stack(
            [
                np.where(high_x, 0.0, drawn[..., 0]).sum(axis=1) / 2,
                np.where(high_x, drawn[..., 0], 0.0).sum(axis=1) / 2,
            ],
            1,
        )
        zs = np.stack(
            [
                np.where(high_z, 0.0, drawn[..., 1]).sum(axis=1) / 2,
                np.where(high_z, drawn[..., 1], 0.0).sum(axis=1) / 2,
            ],
            1,
        )
        hx, hz = high_x.astype(np.int64), high_z.astype(np.int64)
        rows = np.arange(which.size)[:, None]
        local = np.stack([xs[rows, hx], zs[rows, hz]], -1)
        ok &= np.abs(local - drawn).max(axis=(1, 2)) <= _ROUNDING
        corners = np.empty((which.size, 4, 2))
        corners[rows, np.array([0, 1, 3, 2])[hx + 2 * hz]] = drawn
        keep = ok.nonzero()[0]
        which, floors, local, corners = which[keep], floors[keep], local[keep], corners[keep]
        turn = np.stack([cos[keep], sin[keep]], 1)
        lo = np.stack([xs[keep, 0], zs[keep, 0]], 1)
        size = np.stack([xs[keep, 1] - xs[keep, 0], zs[keep, 1] - zs[keep, 0]], 1)
        counts = bounds[which + 1] - bounds[which]
        start = np.zeros(which.size + 1, np.int64)
        np.cumsum(counts, out=start[1:])
        owner = np.repeat(np.arange(which.size), counts)
        pick = np.repeat(bounds[which] - start[:-1], counts) + np.arange(int(start[-1]))
        q = by_room[pick]
        # Into each room's frame (:func:`_into_frame`), then back onto its rectangle (:meth:`_Bilinear.portals_in`).
        framed = q.copy()
        xz = _rotate(q[:, :, [0, 2]] - floors[owner, None, 0], turn[owner, None, 0], -turn[owner, None, 1])
        framed[:, :, 0], framed[:, :, 2] = xz[..., 0], xz[..., 1]
        taken_back = _portals_in(lo[owner, None], size[owner, None], corners[owner, None], framed)
        return cls(dict(zip(which.tolist(), range(which.size), strict=True)), turn, local, lo, size, corners,
                   taken_back, start)  # fmt: skip

    def get(self, i: int) -> tuple[F64, F64, _Bilinear, F64] | None:
        """Room ``i``'s turn, rectangle, map and portals taken back; None where it is no rounded rectangle."""
        k = self.room.get(i)
        if k is None:
            return None
        plan_map = _Bilinear(self.lo[k], self.size[k], self.corners[k])
        return self.turn[k], self.local[k], plan_map, self.taken_back[self.start[k] : self.start[k + 1]]


@dataclass(frozen=True, slots=True)
class _Bilinear:
    """The bilinear map of a rectangle (``lo``, ``size``) on the frame's axes onto the quad ``corners``
    (4, 2) (the images of its corners (low x, low z), (high x, low z), (high x, high z), (low x, high z)):
    the rectangle's sides onto the quad's, lines along the axes onto straight lines. A rounded plan's
    room is built on the rectangle and laid onto the outline as drawn, so its shell has the outline's
    outer faces and stays inside its bounds; the walls' inner faces are the mitred offset's to
    ``thickness × (the corners' rounding / the walls' length)`` (20 µm for 0.2 m walls 10 m long
    rounded to millimetres)."""

    lo: F64
    size: F64
    corners: F64

    def onto_drawn(self, points: F64, normals: F64) -> tuple[F64, F64]:
        """``points`` (n, 2) of the rectangle's frame mapped onto the drawn outline's, and ``normals``
        (n, 2) (the plan parts of 3D normals) carried by the map's inverse transpose (not normalized)."""
        return _onto_drawn(self.lo, self.size, self.corners, points, normals)

    def portals_in(self, quads: F64) -> F64:
        """The room's portal ``quads`` (q, 4, 3) in the frame, taken back onto the rectangle (:func:`_portals_in`)."""
        return _portals_in(self.lo, self.size, self.corners, quads)


def _onto_drawn(lo: F64, size: F64, corners: F64, points: F64, normals: F64) -> tuple[F64, F64]:
    """``points`` (n, 2) of a rectangle's frame (``lo``, ``size`` (..., 2)) mapped onto the outline drawn
    (``corners`` (..., 4, 2): :class:`_Bilinear`'s; one map for all points, or one per point), and ``normals``
    (n, 2) carried by the map's inverse transpose (not normalized)."""
    point, d_s, d_t = _bilinear_at(corners, (points - lo) / size)
    # (∂/∂x, ∂/∂z) = (d_s / size_x, d_t / size_z): the Jacobian's columns; normals go by its inverse transpose.
    jx, jz = d_s / size[..., :1], d_t / size[..., 1:]
    det = jx[:, 0] * jz[:, 1] - jx[:, 1] * jz[:, 0]
    nx = (jz[:, 1] * normals[:, 0] - jz[:, 0] * normals[:, 1]) / det
    nz = (-jx[:, 1] * normals[:, 0] + jx[:, 0] * normals[:, 1]) / det
    return point, np.stack([nx, nz], 1)


def _portals_in(lo: F64, size: F64, corners: F64, quads: F64) -> F64:
    """Portal ``quads`` (q, 4, 3) in a rounded rectangle's frame taken back onto the rectangle (``lo``, ``size``
    (..., 2)) by the inverse of its map onto ``corners`` (..., 4, 2) (:class:`_Bilinear`; one map for all, or one
    per quad): Newton's steps from the rectangle's affine guess, quadratic as the map is nearly affine."""
    out = quads.copy()
    target = quads[..., [0, 2]]
    st = (target - lo) / size
    for _ in range(6):
        point, d_s, d_t = _bilinear_at(corners, st)
        r = point - target
        det = d_s[..., 0] * d_t[..., 1] - d_s[..., 1] * d_t[..., 0]
        st = st - np.stack(
            [(d_t[..., 1] * r[..., 0] - d_t[..., 0] * r[..., 1]) / det,
             (-d_s[..., 1] * r[..., 0] + d_s[..., 0] * r[..., 1]) / det], -1
        )  # fmt: skip
    plan = lo + st * size
    out[..., 0], out[..., 2] = plan[..., 0], plan[..., 1]
    return out


def _walls_in_pieces(local: F64) -> bool:
    """Whether the rectilinear outline ``local`` (k, 2), on the axes, has a point between two walls in one line."""
    along_x = np.roll(local, -1, axis=0)[:, 1] == local[:, 1]
    return bool((along_x == np.roll(along_x, 1)).any())


def _rounded_rectilinear(floor: F64) -> tuple[F64, F64, _GridMap] | None:
    """An outline of more than 4 points off the axes (an L, a U) each of whose walls runs along or across the
    others' mean direction to within a rounding of its two ends (2 × :data:`_ROUNDING` across it) and is longer
    than 4 × :data:`_ROUNDING`, its corners within :data:`_ROUNDING` of a rectilinear outline's (a rectilinear
    plan turned and written to millimetres): the frame's turn (cos θ, sin θ) (as :class:`_RectangleFits`'),
    that outline on the frame's axes (each run of walls in a line on one line, where its points lie on average;
    runs along one axis within :data:`_ROUNDING` of each other, drawn on one line, on one; a point on a run
    within :data:`_ROUNDING` of a line across it on that line, and such points near no line but within
    :data:`_ROUNDING` of each other (T-junctions on both sides of a room) on one) and the map from it
    onto the outline as drawn (:class:`_GridMap`). None for any other outline, for one of more than
    :data:`_RECTILINEAR_CORNERS` corners, and for one whose lines' grid has more than :data:`_GRID_NODES` nodes."""
    if floor.shape[0] > _RECTILINEAR_CORNERS or (framed := _rectilinear_frame(floor)) is None:
        return None
    turn, drawn = framed
    d = np.roll(drawn, -1, axis=0) - drawn
    kept = (np.abs(d[:, 1]) < np.abs(d[:, 0])).astype(np.int64)  # the coordinate each wall keeps (1: z)
    k = floor.shape[0]
    starts = np.flatnonzero(kept != np.roll(kept, 1))
    if starts.size < 4:
        return None
    # Each run of walls keeping one coordinate (from its first wall's start to its last wall's end): that
    # coordinate where its points lie on average.
    run_of = np.zeros(k, dtype=np.int64)
    run_of[starts] = 1
    run_of = (np.cumsum(run_of) - 1) % starts.size  # (walls before the first start belong to the last run)
    values = np.array(
        [
            drawn[np.arange(a, a + (b - a) % k + 1) % k, kept[a]].mean()
            for a, b in zip(starts, np.roll(starts, -1), strict=True)
        ]
    )
    for axis in (0, 1):  # runs along one line, drawn so, on one value
        runs = np.flatnonzero(kept[starts] == axis)
        order = runs[np.argsort(values[runs])]
        groups = np.split(order, np.flatnonzero(np.diff(values[order]) > _ROUNDING) + 1)
        for group in groups:
            values[group] = values[group].mean()
    local = _on_lines(drawn, kept, starts, run_of, values)
    if np.abs(local - drawn).max() > _ROUNDING:
        return None
    grid_map = _GridMap.of(local, drawn)
    return None if grid_map is None else (turn, local, grid_map)


def _rectilinear_frame(floor: F64) -> tuple[F64, F64] | None:
    """The frame of an outline of more than 4 points off the axes each of whose walls runs along or across the
    others' mean direction to within a rounding of its two ends (2 × :data:`_ROUNDING` across it) and is longer
    than 4 × :data:`_ROUNDING` (:func:`_rounded_rectilinear`'s first test): its turn (cos θ, sin θ) and the outline
    turned into it, about its first point; None for any other outline."""
    step = np.roll(floor, -1, axis=0) - floor
    length = np.hypot(step[:, 0], step[:, 1])
    if floor.shape[0] <= 4 or ((step[:, 0] == 0.0) | (step[:, 1] == 0.0)).all() or (length <= 4 * _ROUNDING).any():
        return None
    angle = np.arctan2(step[:, 1], step[:, 0])
    mean = float(np.angle(np.sum(length * np.exp(4j * angle)))) / 4.0
    theta = mean + round((float(angle[0]) - mean) / (0.5 * np.pi)) * 0.5 * np.pi
    turn = np.array([np.cos(theta), np.sin(theta)])
    drawn = _rotate(floor - floor[0], float(turn[0]), -float(turn[1]))
    d = np.roll(drawn, -1, axis=0) - drawn
    if (np.minimum(np.abs(d[:, 0]), np.abs(d[:, 1])) > 2.0 * _ROUNDING).any():
        return None
    return turn, drawn


def _on_lines(drawn: F64, kept: I64, starts: I64, run_of: I64, values: F64) -> F64:
    """:func:`_rounded_rectilinear`'s outline on the axes: each point of ``drawn`` (k, 2) on its walls' runs' lines
    (``kept``: the coordinate each wall keeps; ``starts``: each run's first wall; ``run_of``: each wall's run;
    ``values``: each run's line), a point on a straight run on the first line across it within :data:`_ROUNDING`
    (in the runs' order), and such points near no line but within :data:`_ROUNDING` of each other on one."""
    k = drawn.shape[0]
    local = drawn.copy()
    rows, prev = np.arange(k), np.roll(np.arange(k), 1)  # point i ends wall i - 1 and starts wall i
    local[rows, kept[prev]] = values[run_of[prev]]
    local[rows, kept] = values[run_of]
    # A point on a straight run (a wall drawn as two): on the first line across it (in the runs' order) within
    # a rounding, as drawn; one near none is loose.
    straight = kept[prev] == kept
    loose = np.zeros(k, dtype=bool)
    for axis in (0, 1):
        at = np.flatnonzero(straight & (kept != axis))
        lines = values[kept[starts] == axis]  # (runs alternate: some keep each coordinate)
        if not at.size:
            continue
        for chunk in np.array_split(at, -(-at.size * lines.size // _NEAR_BLOCK)):  # (points, lines) blocks
            near = np.abs(lines[None, :] - local[chunk, axis][:, None]) <= _ROUNDING
            found = near.any(axis=1)
            local[chunk[found], axis] = lines[near[found].argmax(axis=1)]
            loose[chunk[~found]] = True
    for axis in (0, 1):
        _loose_on_lines(local, np.flatnonzero(loose & (kept != axis)), axis)  # (their free coordinate: the other)
    return local


def _loose_on_lines(local: F64, at: I64, axis: int) -> None:
    """Points ``at`` of ``local`` near no line across them along ``axis`` but within :data:`_ROUNDING` of each other
    (partitions meeting both walls of a room on one line, each T-junction rounded its own way), in place: on one
    line, where they lie on average, not grid lines a rounding apart."""
    if at.size < 2:
        return
    order = at[np.argsort(local[at, axis])]
    for group in np.split(order, np.flatnonzero(np.diff(local[order, axis]) > _ROUNDING) + 1):
        local[group, axis] = local[group, axis].mean()


@dataclass(frozen=True, slots=True)
class _GridMap:
    """A rectilinear outline on the frame's axes mapped onto the outline as drawn: the grid of the outline's
    lines (``xs`` (a,), ``zs`` (b,)), each node's image (``nodes`` (a, b, 2)), and in each cell the bilinear map
    of its corners onto their images (:class:`_Bilinear`'s, cell by cell: continuous, as two cells beside each
    other share the images of their common side's ends). A corner's image is the drawn corner; a node inside a
    wall (where another line of the grid crosses it) the point along the drawn wall as far as it is along the
    wall on the axes, so each wall maps onto the drawn wall, straight; any other node goes with the nodes
    beside it along its line. Points outside the grid go by its outermost cells' maps. So a rounded L's room is
    built on the outline on the axes and laid onto the outline as drawn, as :class:`_Bilinear` lays a
    rectangle (and its inner faces lie within ``thickness × rounding / cell size`` of the mitred offset's)."""

    xs: F64
    zs: F64
    nodes: F64

    @classmethod
    def of(cls, local: F64, drawn: F64) -> _GridMap | None:
        """The map of the rectilinear ``local`` (k, 2) onto ``drawn`` (k, 2) (corner by corner); None where the
        grid's lines lie within 4 × :data:`_ROUNDING` of each other, the grid has more than :data:`_GRID_NODES`
        nodes or the outline meets itself."""
        xs, zs = np.unique(local[:, 0]), np.unique(local[:, 1])
        if min(np.diff(xs).min(), np.diff(zs).min()) <= 4.0 * _ROUNDING:
            return None
        if xs.size * zs.size > _GRID_NODES:
            return None
        k = local.shape[0]
        ix, iz = np.searchsorted(xs, local[:, 0]), np.searchsorted(zs, local[:, 1])
        moved = drawn - local
        # Each wall from corner a to corner b, with its nodes from a's to b's (b's is the next wall's first
        # too): its image along the drawn wall, as far as the node is along the wall on the axes.
        a = np.arange(k)
        b = np.roll(a, -1)
        along_x = iz[a] == iz[b]
        at_a, at_b = np.where(along_x, ix[a], iz[a]), np.where(along_x, ix[b], iz[b])
        lo = np.minimum(at_a, at_b)
        count = np.abs(at_b - at_a) + 1
        wall = np.repeat(a, count)
        n = lo[wall] + np.arange(wall.size) - np.repeat(np.cumsum(count) - count, count)
        on_x = along_x[wall]
        lines_at = np.where(on_x, xs[np.minimum(n, xs.size - 1)], zs[np.minimum(n, zs.size - 1)])
        line_a = np.where(on_x, xs[ix[a]][wall], zs[iz[a]][wall])
        line_b = np.where(on_x, xs[ix[b]][wall], zs[iz[b]][wall])
        f = ((lines_at - line_a) / (line_b - line_a))[:, None]
        ma, mb = moved[a][wall], moved[b][wall]
        value = np.where((n == at_b[wall])[:, None], mb, ma + f * (mb - ma))
        value = np.where((n == at_a[wall])[:, None], ma, value)
        node = np.where(on_x, n * zs.size + iz[a][wall], ix[a][wall] * zs.size + n)
        # Two walls through one node (the outline meets itself) write it twice, differently: no map. Else each
        # node takes the last value written (walls in order).
        order = np.argsort(node, kind="stable")
        node, value = node[order], value[order]
        again = node[1:] == node[:-1]
        if (np.abs(value[1:] - value[:-1]).max(axis=1, initial=0.0)[again] > 1e-12).any():
            return None
        last = np.append(~again, True)
        shift: F64 = np.full((xs.size, zs.size, 2), np.nan)
        shift.reshape(-1, 2)[node[last]] = value[last]
        cls._fill_beside(shift, zs)
        nodes = np.stack(np.meshgrid(xs, zs, indexing="ij"), -1) + shift
        return cls(xs, zs, nodes)

    @staticmethod
    def _fill_beside(shift: F64, zs: F64) -> None:
        """The nodes off the outline's walls (NaN in ``shift`` (a, b, 2)), in place: each from the nodes beside
        it along its grid line across z (every such line holds a corner's node), in order along it: between the
        node before it and the next node on a wall, interpolated; before the first, the first's copied; after
        the last, the last's. (Each line's nodes in turn from the one before, so a node between two walls' is
        the same float64 whichever way it is reached.)"""
        free = np.isnan(shift[..., 0])
        if not free.any():
            return
        b = zs.size
        # Per node, the next node on a wall along its line (b: none).
        fixed_at = np.where(free, b, np.arange(b)[None, :])
        after = np.minimum.accumulate(fixed_at[:, ::-1], axis=1)[:, ::-1]
        following = np.concatenate([after[:, 1:], np.full((shift.shape[0], 1), b)], axis=1).T
        by_z = np.ascontiguousarray(shift.transpose(1, 0, 2))  # line by line across z: each step one row
        free_z = free.T
        for j in np.flatnonzero(free_z.any(axis=1)).tolist():
            rows = np.flatnonzero(free_z[j])
            if j == 0:
                by_z[0, rows] = by_z[after[rows, 0], rows]
                continue
            hi = following[j, rows]
            between = hi < b
            inner, outer = rows[between], rows[~between]
            by_z[j, outer] = by_z[j - 1, outer]
            if inner.size:
                hi = hi[between]
                f = ((zs[j] - zs[j - 1]) / (zs[hi] - zs[j - 1]))[:, None]
                below, above = by_z[j - 1, inner], by_z[hi, inner]
                by_z[j, inner] = below + f * (above - below)
        shift[...] = by_z.transpose(1, 0, 2)

    def _cells(self, plan: F64) -> tuple[F64, F64, F64]:
        """For points ``plan`` (..., 2) on the axes: their cell's low corner, size and corners' images
        (..., 4, 2) (low x low z, high x low z, high x high z, low x high z)."""
        i = np.clip(np.searchsorted(self.xs, plan[..., 0], side="right") - 1, 0, self.xs.size - 2)
        j = np.clip(np.searchsorted(self.zs, plan[..., 1], side="right") - 1, 0, self.zs.size - 2)
        lo = np.stack([self.xs[i], self.zs[j]], -1)
        size = np.stack([self.xs[i + 1], self.zs[j + 1]], -1) - lo
        n = self.nodes
        corners = np.stack([n[i, j], n[i + 1, j], n[i + 1, j + 1], n[i, j + 1]], -2)
        return lo, size, corners

    def onto_drawn(self, points: F64, normals: F64) -> tuple[F64, F64]:
        """As :meth:`_Bilinear.onto_drawn`, each point by its cell's map."""
        lo, size, corners = self._cells(points)
        point, d_s, d_t = _bilinear_at(corners, (points - lo) / size)
        jx, jz = d_s / size[:, :1], d_t / size[:, 1:]
        det = jx[:, 0] * jz[:, 1] - jx[:, 1] * jz[:, 0]
        nx = (jz[:, 1] * normals[:, 0] - jz[:, 0] * normals[:, 1]) / det
        nz = (-jx[:, 1] * normals[:, 0] + jx[:, 0] * normals[:, 1]) / det
        return point, np.stack([nx, nz], 1)

    def portals_in(self, quads: F64) -> F64:
        """As :meth:`_Bilinear.portals_in`: each corner in the cell its drawn place falls in, then again in the
        cell the point found falls in where that is another."""
        out, plan = quads, quads[..., [0, 2]]
        for _ in range(2):
            out = _portals_in(*self._cells(plan), quads)
            plan = out[..., [0, 2]]
        return out


def _bilinear_at(c: F64, st: F64) -> tuple[F64, F64, F64]:
    """The bilinear map of the corners ``c`` (..., 4, 2) at (s, t) (..., 2) in the unit square: the point and
    its derivatives along s and t (:meth:`_Bilinear._at`, per point)."""
    s, t = st[..., :1], st[..., 1:]
    c0, c1, c2, c3 = c[..., 0, :], c[..., 1, :], c[..., 2, :], c[..., 3, :]
    point = (1 - s) * (1 - t) * c0 + s * (1 - t) * c1 + s * t * c2 + (1 - s) * t * c3
    d_s = (1 - t) * (c1 - c0) + t * (c2 - c3)
    d_t = (1 - s) * (c3 - c0) + s * (c2 - c1)
    return point, d_s, d_t


def _rounded_plans(rooms: Sequence[Room], quads: F64, quad_room: I64) -> tuple[B8, B8]:
    """(r,) twice: the rooms whose outline is off the axes and whose every coordinate, outline and portal quads,
    lies on :data:`_GRID` (to 1e-7 m): a plan written to millimetres (or to a tenth of one); and those whose
    outline and level portal quads (hatches) do, whatever their openings in the walls. A doorway a level gives as
    the wall two cells share (``between``) is placed along that wall by the ingest, not written: a turned room
    written to millimetres with such a door and a hatch drawn to its corner is a rounded plan all the same (it
    took the booleans, its hatch a rounding off square), which the second answer finds."""
    out = np.zeros(len(rooms), dtype=bool)
    counts = np.array([room.floor.shape[0] for room in rooms], dtype=np.int64)
    which = np.flatnonzero(counts >= 4)
    if not which.size:
        return out, out.copy()
    counts = counts[which]
    points = np.concatenate([rooms[i].floor for i in which.tolist()]).astype(np.float64, copy=False)
    first = np.cumsum(counts) - counts
    nxt = np.arange(points.shape[0]) + 1
    nxt[first + counts - 1] = first  # each point's next, round its own outline
    step = points[nxt] - points
    scaled = points / _GRID
    along = (step[:, 0] == 0.0) | (step[:, 1] == 0.0)
    on_grid = (np.abs(scaled - np.round(scaled)) <= 1e-3).all(axis=1)
    out[which] = ~np.logical_and.reduceat(along, first) & np.logical_and.reduceat(on_grid, first)
    loose = out.copy()
    if out.any() and quads.shape[0]:
        scaled = quads.reshape(quads.shape[0], 12) / _GRID
        off = (np.abs(scaled - np.round(scaled)) > 1e-3).any(axis=1)
        out[quad_room[off]] = False
        loose[quad_room[off & (np.ptp(quads[..., 1], axis=1) == 0.0)]] = False
    return out, loose


def _unrounded(rooms: list[Room], quads: list[F64]) -> list[F64]:
    """Rounded plans' rooms' portal ``quads`` ((q, 4, 3) each) in their frames (each room the rectangle, or the
    rectilinear outline, on the frame's axes) without the rounding: where a level one (a hatch) reaches the
    cavity's walls (to within :data:`_ROUNDING`, or past them; in an L or U, any corner not inside it
    :data:`_ROUNDING` clear of them, :func:`_clear_inside`), each that is not a rectangle along the axes
    (:func:`~.panels.openings.rectangle`) but within :data:`_ROUNDING` of one is put on it (each side where
    its corners lie on average), its sides within :data:`_ROUNDING` of a cavity line on that line; then, along
    each axis, coordinates within :data:`_ROUNDING` of each other or of a line of the room's (the cavity's
    sides, the outline's lines, the slabs' faces) are put on one value (:func:`_one_value_each`, all rooms at
    once). So a doorway drawn to the cavity's corner or to the outline's reflex corner, a hatch drawn to a wall,
    a hatch's side and a doorway's jamb drawn on one line, are built so, not as strips of wall or slab a fraction
    of a millimetre wide (under ``GAP``: by the booleans). Hatches of a room with none reaching its walls, and
    coordinates farther apart, are left as drawn."""
    outs, lines = [], []
    for room, q in zip(rooms, quads, strict=True):
        out, cavity = _hatches_squared(q, room)
        y0, y1, t = room.y, room.y + room.height, room.wall_thickness
        outs.append(out)
        # The outline's lines too: a doorway drawn to a reflex corner, a hatch's side through one, end there.
        floor = room.floor
        xs, zs = np.concatenate([cavity[0], floor[:, 0]]), np.concatenate([cavity[1], floor[:, 1]])
        lines.append((xs, zs, np.array([y0, y0 + t, y1 - t, y1])))
    for axis, which in ((0, 0), (2, 1), (1, 2)):
        done = _one_value_each([out[..., axis] for out in outs], [line[which] for line in lines])
        for out, values in zip(outs, done, strict=True):
            out[..., axis] = values
    return outs


def _hatches_squared(quads: F64, room: Room) -> tuple[F64, tuple[F64, F64]]:
    """:func:`_unrounded`'s first step for one room: its ``quads`` with the level ones near its walls squared,
    and the cavity's lines along x and z."""
    lo, hi, t = room.floor.min(axis=0), room.floor.max(axis=0), room.wall_thickness
    cavity = (np.array([lo[0] + t, hi[0] - t]), np.array([lo[1] + t, hi[1] - t]))
    ring = _rectilinear_cavity(room.floor, t) if room.floor.shape[0] > 4 else None
    if ring is not None:
        cavity = (np.unique(ring[:, 0]), np.unique(ring[:, 1]))
    out = quads.copy()
    level = np.flatnonzero(np.ptp(quads[..., 1], axis=1) == 0.0)
    if not level.size:
        return out, cavity
    plan = quads[level][..., [0, 2]]
    c_lo, c_hi = np.array([cavity[0][0], cavity[1][0]]), np.array([cavity[0][1], cavity[1][1]])
    clear = ((plan.min(axis=1) > c_lo + _ROUNDING) & (plan.max(axis=1) < c_hi - _ROUNDING)).all(axis=1)
    if ring is not None:
        clear = _clear_inside(plan, ring)
    exact = rectangle(plan[..., 0], plan[..., 1], rect_tolerance(quads[level])[:, None])[0]
    rect, u0, u1, v0, v1 = rectangle(plan[..., 0], plan[..., 1], np.full((level.size, 1), 2.0 * _ROUNDING))
    # Beside a hatch flush with the walls every hatch must be a rectangle (the slab faces are the cavity's
    # minus their boxes): all are squared then.
    for k in np.flatnonzero(rect & ~exact & (~clear).any()).tolist():
        squared = plan[k].copy()
        for axis, low, high in ((0, u0[k], u1[k]), (1, v0[k], v1[k])):
            values = plan[k, :, axis]
            top = (values > 0.5 * (low + high)).astype(np.int64)
            sides = np.array([values[top == 0].mean(), values[top == 1].mean()])
            near = np.abs(sides[:, None] - cavity[axis][None, :])
            at = near.argmin(axis=1)
            squared[:, axis] = np.where(near[np.arange(2), at] <= _ROUNDING, cavity[axis][at], sides)[top]
            if np.abs(sides[top] - values).max() > _ROUNDING:
                break
        else:
            out[level[k], :, 0], out[level[k], :, 2] = squared[:, 0], squared[:, 1]
    return out, cavity


def _rectilinear_cavity(floor: F64, t: float) -> F64:
    """The cavity (k, 2) of a rectilinear outline ``floor`` on the axes: each wall's line moved inwards by ``t``,
    each corner where the lines of its two walls meet (mitred), a point on a straight run moved across it."""
    step = np.roll(floor, -1, axis=0) - floor
    turn = (
        1.0
        if float(np.sum(floor[:, 0] * np.roll(floor[:, 1], -1) - np.roll(floor[:, 0], -1) * floor[:, 1])) > 0
        else -1.0
    )
    inward = turn * np.stack([-np.sign(step[:, 1]), np.sign(step[:, 0])], 1)  # (walls along an axis: unit)
    out = floor.copy()
    for wall in (np.roll(np.arange(floor.shape[0]), 1), np.arange(floor.shape[0])):  # the wall before, after
        keeps = (step[wall, 1] == 0.0).astype(np.int64)  # 1: along x, its z moves
        rows = np.arange(floor.shape[0])
        out[rows, keeps] = floor[rows, keeps] + t * inward[wall, keeps]
    return out


def _clear_inside(plan: F64, ring: F64) -> B8:
    """(q,): whether every corner of each of ``plan`` (q, 4, 2) lies inside the rectilinear ``ring`` (m, 2) more
    than :data:`_ROUNDING` from each of its sides."""
    p = plan[:, :, None, :]
    a, b = ring[None, None], np.roll(ring, -1, axis=0)[None, None]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    gap = np.hypot(*np.moveaxis(p - np.clip(p, lo, hi), -1, 0))  # (a side along an axis: its box's nearest point)
    across_z = (a[..., 0] == b[..., 0]) & (p[..., 1] > lo[..., 1]) & (p[..., 1] <= hi[..., 1]) & (p[..., 0] < a[..., 0])
    inside = across_z.sum(axis=2) % 2 == 1
    out: B8 = (inside & (gap.min(axis=2) > _ROUNDING)).all(axis=1)
    return out


def _one_value_each(values: list[F64], lines: list[F64]) -> list[F64]:
    """Each of ``values`` (arrays, one a room) with each run of them (and of that room's ``lines``, given in any
    order, a line as often as it comes) whose neighbours lie within :data:`_ROUNDING` of each other, over no more
    than twice that, on one value: the line where one is among them, else their middle. Runs wider than that
    (values that far apart are drawn apart, not rounded), and runs holding two lines, are left as they are. All
    rooms in one batch, runs within a room."""
    if not values:
        return []
    sizes = [v.size for v in values]
    n = sum(sizes)
    room = np.concatenate(
        [np.repeat(np.arange(len(values)), sizes), np.repeat(np.arange(len(lines)), [a.size for a in lines])]
    )
    value = np.concatenate([v.reshape(-1) for v in values] + list(lines))
    is_line = np.arange(value.size) >= n
    order = np.lexsort((value, room))
    v, r = value[order], room[order]
    # The distinct values of each room (points), and runs of points each within _ROUNDING of the one before.
    new_point = np.ones(v.size, bool)
    new_point[1:] = (r[1:] != r[:-1]) | (v[1:] != v[:-1])
    point = np.cumsum(new_point) - 1
    pv, pr = v[new_point], r[new_point]
    new_run = np.ones(pv.size, bool)
    new_run[1:] = (pr[1:] != pr[:-1]) | (np.diff(pv) > _ROUNDING)
    run = np.cumsum(new_run) - 1
    first = np.flatnonzero(new_run)
    last = np.append(first[1:], pv.size) - 1
    line_run = run[point[is_line[order]]]
    # A run's lines counted once each (a line of the cavity's and of the outline's, or an outline's two corners on it).
    lv = v[is_line[order]]
    distinct = np.ones(lv.size, bool)
    distinct[1:] = (line_run[1:] != line_run[:-1]) | (lv[1:] != lv[:-1])
    lines_in = np.bincount(line_run[distinct], minlength=first.size)
    line_value = np.zeros(first.size)
    line_value[line_run] = lv
    moved = (last > first) & ~(pv[last] - pv[first] > 2.0 * _ROUNDING) & (lines_in <= 1)
    target = np.where(lines_in == 1, line_value, 0.5 * (pv[first] + pv[last]))
    out = value.copy()
    sorted_run = run[point]
    out[order] = np.where(moved[sorted_run], target[sorted_run], v)
    cuts = np.cumsum(sizes)[:-1].tolist()
    return [part.reshape(a.shape) for part, a in zip(np.split(out[:n], cuts), values, strict=True)]
