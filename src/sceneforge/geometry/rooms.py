"""Procedural rooms: the shell of every room cell, with doorways cut where its portals lie.

A room is its outer outline (x, z) extruded from ``y`` to ``y + height``, hollowed by the
outline offset inwards by ``wall_thickness`` (mitred corners) between the floor's top and
the ceiling's underside. Floor, ceiling and walls are therefore all ``wall_thickness`` thick
and lie inside the outer outline: two rooms whose outlines touch share a wall of twice
the thickness without overlapping, and a cell's box is its outline's box. Every portal
lying on a wall (or in the floor or ceiling slab) subtracts a prism, the portal quad
projected through that slab (:mod:`sceneforge.geometry.doors`).

The result is one closed, oriented 2-manifold per room — the outer surface and the inner
cavity — so outer faces point out of the solid and inner faces point into the room, which
is what a renderer inside the room needs. One :class:`~sceneforge.model.ir.Surface` in the
room's material is appended to its cell, flat-shaded with world-scaled UVs
(:mod:`sceneforge.geometry.shading`).

Booleans are manifold3d's (exact-predicate mesh booleans with symbolic perturbation,
github.com/elalish/manifold), which guarantee a watertight result even where a doorway is
flush with the floor or runs into a corner. The plan polygon goes to manifold as (x, -z)
so that its +z extrusion maps to world +Y by a proper rotation (world = (a, c, -b)),
keeping the triangle winding.

Cost (``generate_rooms``, grid of touching 4×3×4 m box rooms, 0–4 doorways each, 3.06
on average; 2 cores shared with other work, so best of 3 and still ±50 %)::

    1,000 rooms   0.44–0.56 s      5,000 rooms   2.7–3.9 s

About 0.25 ms per room is manifold (extrude, mitred offset, one batch subtract of cavity
and door prisms, ~0.08 ms per doorway); everything else is batched over all rooms.
Rooms with vertical walls whose openings are rectangles in their walls (any number per wall, from
the slab's underside, windows, hatches, floor polygons including concave ones), or openings of any
convex shape inside a wall or reaching its slabs or the cavity's corner, skip the booleans
(:mod:`sceneforge.geometry.panels`); manifold is the fallback for every other shape, and
:func:`generate_rooms` returns how many rooms used it (the meta's ``stats.booleanCells``).
CPU time of this stage, this machine (2 shared cores), panels vs. the former box-only fast path:
1,000-room maze 0.08 s (0.11 s), 32×32 grid with doorways from the slab's underside 0.13 s
(1.6 s: every room fell back to manifold), 1,032-cell office level 0.18 s (0.57 s, 741 rooms on
manifold). Since then (batched T-junction mend, cache-sized weld hashing, fewer temporaries; same
bytes), medians in process: 1,032-cell office 0.10 s (0.14 s before), 5,756-cell office 0.51 s
(0.96 s), 1,000-room maze 0.058 s (0.071 s). Then (multi-opening wall rings built at once, leaner
T-junction rounds, column-wise hit tests, coordinate-wise frames and weld keys; same bytes),
interleaved A/B medians on a loaded machine: office 0.085 → 0.061 s, 5,756 cells 0.45 → 0.30 s, maze
0.043 → 0.034 s.

Approaches measured on the way, with their numbers: docs/benchmarks.md (Compile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..arrays import distinct, first_rows
from ..errors import Issue, PassError, SceneInvalid
from ..model.ir import Room, SceneIR, Surface
from ..tolerances import AREA_EPS
from .doors import PART, cut_margin, door_cutters, scene_door_cutters
from .frames import panels_in_own_frames
from .margins import close_margins
from .outline import MITER_LIMIT
from .shading import FlatMesh, flat_shade
from .slivers import WORK, remove_slivers

if TYPE_CHECKING:
    from manifold3d import CrossSection, Manifold

__all__ = ["generate_rooms", "room_shell"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


_FLIP_B = np.array([1.0, -1.0, 1.0])
#: Booleans of a room farther out run shifted by a multiple of this (2**16 m): see ``_cut_shell``.
_FRAME = 65536.0
_FLIP_Z = np.array([1.0, 1.0, -1.0])
#: Elements of the (corners, edges) comparisons of :func:`_pinches` and :func:`_onto_cavity_lines` made at a time
#: (bounds their memory).
_CHUNK = 1 << 18


class _RoomTooSmall(ValueError):
    """The outline has no area left once walls of the given thickness are taken off."""


def _to_manifold(points: F64) -> F64:
    """World (x, y, z) → manifold (x, -z, y)."""
    out: F64 = points[..., [0, 2, 1]] * _FLIP_B
    return out


def _to_world(points: F64) -> F64:
    """Manifold (a, b, c) → world (a, c, -b)."""
    out: F64 = points[..., [0, 2, 1]] * _FLIP_Z
    return out


def room_shell(room: Room, portal_quads: F64) -> tuple[F64, I64]:
    """The room's shell with doorways cut: (vertices (n, 3) float64, triangles (m, 3) int64).

    Closed and oriented (counter-clockwise seen from outside the solid), vertices shared
    between triangles (smooth indexing; :func:`~sceneforge.geometry.shading.flat_shade`
    splits them). ``portal_quads`` (p, 4, 3) are the quads of the cell's portals.
    Raises ``_RoomTooSmall`` when the walls leave no room inside.
    """
    return _cut_shell(room, door_cutters(room, portal_quads))


def _cut_shell(room: Room, prisms: F64) -> tuple[F64, I64]:
    """:func:`room_shell` with the cutting prisms (h, 8, 3) already found."""
    from manifold3d import CrossSection, FillRule, JoinType, Manifold, OpType

    t, h = room.wall_thickness, room.height
    # Non-zero filling takes the outline in either winding (an area-sign check cost more than this).
    # Far out, the booleans run in the room's own frame: their tolerance grows with the coordinates, and 100
    # overlapping hatches 1,000 km out did not finish. The shift is a whole multiple of 65,536 m (exact both
    # ways for the outline and cutters); a room within 32 km of the origin is not moved.
    shift = np.round(np.array([room.floor[:, 0].mean(), room.y, room.floor[:, 1].mean()]) / _FRAME) * _FRAME
    outer = CrossSection([(room.floor - shift[[0, 2]]) * _FLIP_B[:2]], FillRule.NonZero)
    if outer.area() <= AREA_EPS:
        raise _RoomTooSmall("its floor outline has no area")
    inner = outer.offset(-t, JoinType.Miter, MITER_LIMIT)
    if h <= 2.0 * t or inner.is_empty() or inner.area() <= AREA_EPS:
        raise _RoomTooSmall(f"walls, floor and ceiling {t:g} m thick leave no space inside")
    solids = [
        outer.extrude(h).translate((0.0, 0.0, room.y - shift[1])),
        inner.extrude(h - 2.0 * t).translate((0.0, 0.0, room.y + t - shift[1])),
    ]
    # A hatch (a prism whose two ends are level) opens the cavity's floor or ceiling only, not the
    # walls' footprints: it is cut within the cavity's column (as the panel path clips it).
    level = (np.ptp(prisms[:, :4, 1], axis=1) == 0.0) & (np.ptp(prisms[:, 4:, 1], axis=1) == 0.0)
    column = inner.extrude(h + 2.0).translate((0.0, 0.0, room.y - 1.0 - shift[1])) if level.any() else None
    prisms = _onto_slab_planes(prisms, room)
    local = _to_manifold(prisms - shift)
    if level.any():
        local, prisms = _onto_cavity_lines(local, prisms, level, inner.to_polygons(), shift)
    cutters: list[Manifold] = []
    for prism, hatch in zip(local, level.tolist(), strict=True):
        cutter = Manifold.hull_points(prism)
        if hatch and column is not None and not cutter.is_empty():
            cutter = cutter ^ column
            # A hatch lying on the walls beside the cavity, its side on the cavity's line, clips to no area; the
            # exact contact may still leave a sheet of no thickness there, whose cut cracks the slab (two
            # sides at one place): it opens nothing and is left out.
            if cutter.volume() <= AREA_EPS * (t + 2.0 * cut_margin()):
                cutter = Manifold()
        cutters.append(cutter)
    if level.any():
        cutters = _parted_hatches(cutters, local, level, inner)
    solids += [cutter for cutter in cutters if not cutter.is_empty()]
    shell = Manifold.batch_boolean(solids, OpType.Subtract)
    status = shell.status()
    if status.name != "NoError":
        raise PassError("geometry", f"room boolean failed: {status.name}")
    mesh = shell.to_mesh64()
    vertices = _to_world(np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3])
    if shift.any():  # (adding 0 would turn -0.0 into 0.0)
        vertices = vertices + shift
    vertices, triangles = close_margins(
        vertices, np.asarray(mesh.tri_verts, dtype=np.int64), prisms, room, cut_margin()
    )
    return remove_slivers(vertices, triangles)


def _parted_hatches(
    cutters: list[Manifold], local: F64, level: npt.NDArray[np.bool_], inner: CrossSection
) -> list[Manifold]:
    """``cutters`` with the hatches of a slab drawn back by ``PART`` (a square that wide either side) around every
    point where their union within the cavity touches itself (``local``: the prisms in manifold's frame).

    Two hatches of one slab meeting at a corner alone (in the open, or either side of the cavity's reflex corner,
    the wall's foot across) leave the slab either side touching along that corner's upright line: four faces on
    one edge, as drawn (a shell closed by its indices, two vertices at each float32 place). The square of slab
    left there joins the two, as a strip of wall joins a pillar to a slab at a pinched corner
    (:data:`~.doors.PART`)."""
    from manifold3d import CrossSection, FillRule, Manifold, OpType

    rows = np.flatnonzero(level)
    bottoms = local[rows, :, 2].min(axis=1)
    out = list(cutters)
    for bottom in distinct(bottoms).tolist():
        members = [int(i) for i in rows[bottoms == bottom] if not cutters[int(i)].is_empty()]
        if not members:
            continue
        # (One section each: non-zero filling of quads wound both ways together would leave their overlap out.)
        plans = [CrossSection([local[i, :4, :2]], FillRule.NonZero) for i in members]
        union = CrossSection.batch_boolean(plans, OpType.Add) ^ inner
        points = _pinches([np.asarray(ring, dtype=np.float64) for ring in union.to_polygons()])
        if points.shape[0] == 0:
            continue
        top = float(local[members, :, 2].max())
        squares = [
            Manifold.cube((2.0 * PART, 2.0 * PART, top - bottom + 2.0), center=True).translate(
                (x, z, 0.5 * (bottom + top))
            )
            for x, z in points.tolist()
        ]
        carve = Manifold.batch_boolean(squares, OpType.Add)
        for i in members:
            out[i] = out[i] - carve
    return out


def _pinches(rings: list[F64]) -> F64:
    """The points (p, 2) where the polygon ``rings`` touch themselves or each other: a corner within a float32
    rounding (and 1 µm) of another corner or of an edge not its own, one point per touch (``PART`` apart)."""
    if not rings:
        return np.empty((0, 2))
    v = np.concatenate(rings)
    n = v.shape[0]
    if n * n > WORK:  # bounded work (thousands of hatches in one slab): left as drawn
        return np.empty((0, 2))
    sizes = np.array([len(r) for r in rings])
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    nxt = first + (np.arange(n) - first + 1) % np.repeat(sizes, sizes)
    d = v[nxt] - v
    length2 = np.maximum((d * d).sum(axis=1), 1e-300)
    tol = 1e-6 + 2.0 * float(np.spacing(np.float32(np.abs(v).max())))
    touch = np.zeros(n, dtype=bool)
    rows = max(1, _CHUNK // n)
    for lo in range(0, n, rows):  # each corner (rows) against each edge (columns), (rows, n) at a time
        p = v[lo : lo + rows, None, :] - v[None]
        s = np.clip((p * d[None]).sum(axis=2) / length2, 0.0, 1.0)
        gap = np.hypot(p[..., 0] - s * d[:, 0], p[..., 1] - s * d[:, 1])
        corner = np.arange(lo, min(lo + rows, n))[:, None]
        own = (np.arange(n)[None, :] == corner) | (nxt[None, :] == corner)  # its two edges
        touch[lo : lo + rows] = ((gap <= tol) & ~own).any(axis=1)
    found = v[touch]
    # (Each against those kept before it at once: one point against each kept, in Python, took 12 s for the
    # 2,704 touches of a checkerboard of 1,405 hatches.)
    kept = np.empty_like(found)
    m = 0
    for point in found:
        if (np.abs(kept[:m] - point).max(axis=1, initial=0.0) > PART).all():
            kept[m] = point
            m += 1
    return kept[:m]


def _onto_cavity_lines(
    local: F64, prisms: F64, level: npt.NDArray[np.bool_], polygons: list[F64], shift: F64
) -> tuple[F64, F64]:
    """The hatches' prisms (rows ``level`` of ``local``, manifold's frame; ``prisms`` the same in the world) with
    every plan corner within two float32 steps of a corner of the cavity (``polygons``, the mitred offset as the
    booleans cut it) moved onto it, else onto the nearest line of a cavity's edge that near (twice: a corner near
    two lines).

    The offset puts the cavity's lines a float64 step off the outline's less the thickness (x = 2.0 - 0.1 comes
    out 1.9000000000000001): a hatch drawn flush with the cavity (x = 1.9) whose side runs on along its wall past
    a reflex corner, or lies on the wall beside the cavity, kept a strip of that width within the column, and the
    cut left a crack a float64 step wide in the slab, its two sides one float32 place (edges of four faces as
    written). On the line the contact is exact, which manifold's symbolic perturbation resolves."""
    edges = [(p, np.roll(p, -1, axis=0)) for p in (np.asarray(q, dtype=np.float64) for q in polygons) if len(p)]
    if not edges:
        return local, prisms
    start = np.concatenate([a for a, _ in edges])
    direction = np.concatenate([b - a for a, b in edges])
    length = np.hypot(direction[:, 0], direction[:, 1])
    keep = length > 0.0
    start, direction, length = start[keep], direction[keep], length[keep]
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) / length[:, None]  # exact along the axes
    offset = np.einsum("ek,ek->e", normal, start)
    rows = np.flatnonzero(level)
    plan = local[rows][:, :, :2].reshape(-1, 2)
    # (Corners by chunks of (corners, edges) comparisons: a thousand hatches in a cavity of 16,384 corners
    # compared at once took 4 GB.)
    step = max(1, _CHUNK // start.shape[0])
    out = np.concatenate(
        [_onto_lines(plan[lo : lo + step], start, normal, offset) for lo in range(0, plan.shape[0], step)]
    )
    moved = (out != plan).any(axis=1).reshape(rows.size, -1).any(axis=1)
    if not moved.any():
        return local, prisms
    local, prisms = local.copy(), prisms.copy()
    local[rows, :, :2] = out.reshape(rows.size, -1, 2)
    changed = rows[moved]
    prisms[changed] = _to_world(local[changed]) + shift if shift.any() else _to_world(local[changed])
    return local, prisms


def _onto_lines(plan: F64, start: F64, normal: F64, offset: F64) -> F64:
    """:func:`_onto_cavity_lines` for plan corners ``plan`` (c, 2): the cavity's corners ``start`` (e, 2), its
    edges' lines ``normal`` · p = ``offset``."""
    tol = 2.0 * np.spacing(np.abs(plan).max(axis=1).astype(np.float32)).astype(np.float64)
    near = (np.abs(plan[:, None, :] - start[None, :, :]) <= tol[:, None, None]).all(axis=2)
    on_corner = near.any(axis=1)
    out = np.where(on_corner[:, None], start[np.argmax(near, axis=1)], plan)
    for _ in range(2):
        gap = out @ normal.T - offset  # (c, e)
        close = (np.abs(gap) <= tol[:, None]) & (gap != 0.0) & ~on_corner[:, None]
        nearest = np.argmin(np.where(close, np.abs(gap), np.inf), axis=1)
        hit = close.any(axis=1)
        # Along the axes, x - (x - c) is c exactly (Sterbenz): the corner lands on the line.
        out = np.where(hit[:, None], out - gap[np.arange(out.shape[0]), nearest][:, None] * normal[nearest], out)
    return out


def _onto_slab_planes(prisms: F64, room: Room) -> F64:
    """``prisms`` with every height within a float32 step (and 1 µm) of a slab face moved onto that face.

    A doorway edge a hair off the floor's underside (float noise from an export: 6e-10 m) would cut
    a sliver that the float32 output collapses, opening the shell; flush with the face, manifold's
    symbolic perturbation closes it exactly."""
    if prisms.size == 0:
        return prisms
    t, h = room.wall_thickness, room.height
    planes = room.y + np.array([0.0, t, h - t, h])
    tolerance = 1e-6 + 2.0 * np.spacing(np.abs(planes).astype(np.float32)).astype(np.float64)
    y = prisms[..., 1]
    gap = np.abs(y[..., None] - planes)
    near = gap <= tolerance
    if not near.any():
        return prisms
    out = prisms.copy()
    hit = near.any(axis=-1)
    out[..., 1][hit] = planes[np.argmax(near, axis=-1)][hit]
    return out


def _room_quads(ir: SceneIR, room_of_cell: dict[str, int]) -> tuple[F64, I64]:
    """Every portal quad once per room cell it touches: (quads (q, 4, 3), room index (q,)).

    A quad a room already has to float32 precision (the GLB's: the same portal listed twice,
    or copies a hair apart) is left out: cut again it opens nothing the output can show, and near-equal cutters
    make the booleans' triangles multiply far from the origin (50 copies of one hatch 1,000 km out, 1e-7 m
    apart, did not finish)."""
    quads: list[F64] = []
    owners: list[int] = []
    for portal in ir.portals:
        for cell_id in {portal.from_cell, portal.to_cell}:
            room = room_of_cell.get(cell_id)
            if room is not None:
                quads.append(portal.quad)
                owners.append(room)
    quad_rows = np.asarray(quads, dtype=np.float64).reshape(-1, 12)
    owner_rows = np.asarray(owners, dtype=np.int64)
    # The first of rows equal in float32 is kept, in input order (+0.0 makes -0.0 and 0.0 one key).
    keys = np.column_stack([owner_rows, quad_rows.astype(np.float32).astype(np.float64) + 0.0])
    keep = first_rows(keys)
    return quad_rows[keep].reshape(-1, 4, 3), owner_rows[keep]


def generate_rooms(ir: SceneIR, *, fast_paths: bool = True) -> int:
    """:func:`build_rooms`, answering how many rooms took the boolean path."""
    return len(build_rooms(ir, fast_paths=fast_paths))


def build_rooms(ir: SceneIR, *, fast_paths: bool = True) -> list[int]:
    """Append the generated shell of every room cell to ``cell.surfaces``; others are untouched.

    One surface per room, in ``room.material``: floor, ceiling and walls as one closed solid,
    doorways cut through every wall (or floor/ceiling slab) a portal of the cell lies on.
    Rooms with vertical walls and rectangular openings are built from panels
    (:mod:`sceneforge.geometry.panels`); the rest (and every room with ``fast_paths=False``, which
    tests use as the reference) by booleans. Returns the indices in ``ir.cells`` of the cells whose rooms
    took the boolean path.
    Raises :class:`SceneInvalid` (code ``room_too_small``, path ``<cell>/room``) for every
    room whose walls fill it, before changing any cell: the IR is never half-updated.
    """
    at = [k for k, cell in enumerate(ir.cells) if cell.room is not None]
    cells = [ir.cells[k] for k in at]
    rooms = [cell.room for cell in cells if cell.room is not None]
    quads, owners = _room_quads(ir, {cell.cell_id: i for i, cell in enumerate(cells)})
    if fast_paths:
        fast, fast_meshes = panels_in_own_frames(rooms, quads, owners)
    else:
        fast, fast_meshes = np.zeros(len(rooms), dtype=bool), []
    slow = np.flatnonzero(~fast)
    # Cutting prisms only for the rooms the booleans build.
    slow_index = np.full(len(rooms), -1, dtype=np.int64)
    slow_index[slow] = np.arange(slow.size)
    mine = slow_index[owners] >= 0
    slow_rooms = [rooms[i] for i in slow.tolist()]
    prisms, prism_room = scene_door_cutters(slow_rooms, quads[mine], slow_index[owners[mine]])
    bounds = np.searchsorted(prism_room, np.arange(len(slow_rooms) + 1))
    vertices: list[F64] = []
    triangles: list[I64] = []
    issues: list[Issue] = []
    for k, i in enumerate(slow.tolist()):
        cell, room = cells[i], rooms[i]
        try:
            v, t = _cut_shell(room, prisms[bounds[k] : bounds[k + 1]])
        except _RoomTooSmall as exc:
            issues.append(Issue(f"{cell.path}/room", "room_too_small", f"room of cell {cell.cell_id!r}: {exc}"))
            continue
        vertices.append(v)
        triangles.append(t)
    if issues:
        raise SceneInvalid(issues)
    meshes: list[FlatMesh | None] = [None] * len(rooms)
    for i, mesh in zip(np.flatnonzero(fast).tolist(), fast_meshes, strict=True):
        meshes[i] = mesh
    for i, mesh in zip(slow.tolist(), flat_shade(vertices, triangles), strict=True):
        meshes[i] = mesh
    for cell, room, shaded in zip(cells, rooms, meshes, strict=True):
        assert shaded is not None
        positions, normals, uvs, indices = shaded
        cell.surfaces.append(Surface(room.material, positions, normals, uvs, indices))
    return [at[i] for i in slow.tolist()]
