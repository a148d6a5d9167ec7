"""Box rooms built directly from their doorway layout: the fast path of the geometry stage.

Most generated levels are axis-aligned box rooms whose doorways are axis-aligned rectangles
in the walls. For those the shell needs no boolean: every face is a rectangle, a rectangle
with one rectangular hole (a "picture frame" of four trapezoids over the 4 + 4 corners), or,
for a doorway flush with the floor, a rectangle with a notch (the frame without its bottom
piece); each doorway adds its tunnel (two jambs, a lintel, a sill) and the cavity floor is
fanned from its centre over every doorway corner on its edges. Every edge of every face ends
on the vertices of the faces beside it — no T-junctions — so the shell is closed, and the
faces are wound from their known normals. All rooms are built at once as batches of quads
and triangles with a room index; one hash weld (meshoptimizer ``generateVertexRemap`` over
(room, exact position, normal)) turns the soup into flat-shaded indexed meshes.

A room takes this path when its outline is an axis-aligned rectangle and every cutting prism
of :func:`~sceneforge.geometry.doors.scene_cutters_with_walls` goes through a wall (not the
floor or the ceiling), is an axis-aligned box, keeps ``_GAP`` clear of the cavity's corners
and of the ceiling, is at most one per wall, and either stands on the floor's top face
(within ``WELD_EPS``, snapped onto it) or ``_GAP`` above it. Anything else (polygons, hatches,
slanted or overlapping doorways, doorways into corners) goes to manifold3d
(:mod:`sceneforge.geometry.rooms`), whose output this path matches face for face in shape.

Cost, 1,000-room maze (3,376 doorway sides), development machine: ~25 ms for all shells
against ~0.9 s for the manifold path (0.25 ms per room of per-call boolean work).

Approaches tried: earcut per face with holes (one Python call per face, ~10 µs each, ~100 ms
for a 1,000-room maze, and a hole touching the border needs special cases anyway); a global
grid per room (every face split at every doorway coordinate, conforming by construction but
5–6× the triangles, which the encoder and the GLB size pay for).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..model.ir import Room
from ..tolerances import AREA_EPS, WELD_EPS
from .shading import FlatMesh, world_uvs

__all__ = ["box_shells", "box_walls"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

#: Smallest clearance (m) between a doorway and the cavity's corners or ceiling, or between a doorway
#: and the floor when it does not stand on it: below it a sliver face would follow; such rooms take
#: the boolean path. Ten times the weld tolerance, like the cutting prisms' margin.
_GAP = 10.0 * WELD_EPS
#: A prism coordinate within this (m) of its box's min or max counts as on it (rounding of q ± d·n).
_BOX_EPS = 1e-9

#: Unit normals by code: 0 -x, 1 +x, 2 -y, 3 +y, 4 -z, 5 +z.
_NORMALS = np.array([[-1.0, 0, 0], [1.0, 0, 0], [0, -1.0, 0], [0, 1.0, 0], [0, 0, -1.0], [0, 0, 1.0]])


def _box_rooms(rooms: Sequence[Room]) -> tuple[B8, F64]:
    """Which rooms are axis-aligned boxes, and their [x0, x1, z0, z1, y0, y1, t] (r, 7)."""
    out = np.zeros((len(rooms), 7))
    ok = np.array([r.floor.shape == (4, 2) for r in rooms], dtype=bool)
    if not ok.any():
        return ok, out
    idx = np.flatnonzero(ok).tolist()
    floors = np.stack([rooms[i].floor for i in idx]).astype(np.float64)  # (b, 4, 2)
    lo, hi = floors.min(axis=1), floors.max(axis=1)
    on_x = (floors[:, :, 0] == lo[:, None, 0]) | (floors[:, :, 0] == hi[:, None, 0])
    on_z = (floors[:, :, 1] == lo[:, None, 1]) | (floors[:, :, 1] == hi[:, None, 1])
    # Four distinct corners: the corner codes (x at min/max, z at min/max) are a permutation.
    code = (floors[:, :, 0] == hi[:, None, 0]) * 2 + (floors[:, :, 1] == hi[:, None, 1])
    distinct = np.sort(code, axis=1) == np.arange(4)
    good = on_x.all(axis=1) & on_z.all(axis=1) & distinct.all(axis=1) & (hi > lo).all(axis=1)
    y = np.array([rooms[i].y for i in idx], dtype=np.float64)
    h = np.array([rooms[i].height for i in idx], dtype=np.float64)
    t = np.array([rooms[i].wall_thickness for i in idx], dtype=np.float64)
    w, d = hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1]
    # Walls that fill the room are reported by the boolean path (``room_too_small``).
    good &= (w > 2 * t) & (d > 2 * t) & (h > 2 * t) & ((w - 2 * t) * (d - 2 * t) > AREA_EPS)
    ok[idx] = good
    out[idx] = np.stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], y, y + h, t], axis=1)
    return ok, out + 0.0


def box_walls(rooms: Sequence[Room], prisms: F64, owner: I64, wall_normal: F64) -> tuple[B8, F64, F64, B8, B8]:
    """Decide which rooms take the fast path and lay out their doorways.

    ``prisms`` (h, 8, 3), ``owner`` (h,), ``wall_normal`` (h, 2) as returned by
    :func:`~sceneforge.geometry.doors.scene_cutters_with_walls`. Returns ``fast`` (r,) bool,
    ``box`` (r, 7) [x0, x1, z0, z1, y0, y1, t], ``door`` (r, 4, 4) [s0, s1, c, d] per wall
    (0 x = x0, 1 x = x1, 2 z = z0, 3 z = z1; s along the wall's tangent axis, c..d in y),
    ``has_door`` (r, 4) and ``flush`` (r, 4) (doorway standing on the floor's top face).
    """
    r = len(rooms)
    fast, box = _box_rooms(rooms)
    door = np.zeros((r, 4, 4))
    has_door = np.zeros((r, 4), dtype=bool)
    flush = np.zeros((r, 4), dtype=bool)
    if prisms.shape[0] == 0:
        return fast, box, door, has_door, flush
    lo, hi = prisms.min(axis=1), prisms.max(axis=1)  # (h, 3)
    aligned = ((np.abs(prisms - lo[:, None]) <= _BOX_EPS) | (np.abs(prisms - hi[:, None]) <= _BOX_EPS)).all(axis=(1, 2))
    nx, nz = wall_normal[:, 0], wall_normal[:, 1]
    wall = np.select([nx < -0.5, nx > 0.5, nz < -0.5, nz > 0.5], [0, 1, 2, 3], -1)
    b = box[owner]
    t = b[:, 6]
    along_x = wall >= 2  # walls z = const run along x
    s0 = np.where(along_x, lo[:, 0], lo[:, 2])
    s1 = np.where(along_x, hi[:, 0], hi[:, 2])
    in0 = np.where(along_x, b[:, 0], b[:, 2]) + t
    in1 = np.where(along_x, b[:, 1], b[:, 3]) - t
    c, d = lo[:, 1], hi[:, 1]
    floor_top, ceiling = b[:, 4] + t, b[:, 5] - t
    on_floor = np.abs(c - floor_top) <= WELD_EPS
    good = (
        aligned
        & (wall >= 0)
        & (s0 >= in0 + _GAP)
        & (s1 <= in1 - _GAP)
        & (s1 - s0 >= _GAP)
        & (on_floor | (c >= floor_top + _GAP))
        & (d <= ceiling - _GAP)
        & (d - np.where(on_floor, floor_top, c) >= _GAP)
    )
    # At most one doorway per wall: a second one on the same (room, wall) sends the room to manifold.
    key = owner * 4 + np.maximum(wall, 0)
    counts = np.bincount(key, minlength=4 * r)
    good &= counts[key] == 1
    bad_rooms = np.unique(owner[~good])
    fast[bad_rooms] = False
    sel = good & fast[owner]
    o, w = owner[sel], wall[sel]
    door[o, w] = np.stack([s0[sel], s1[sel], np.where(on_floor, floor_top, c)[sel], d[sel]], axis=1)
    has_door[o, w] = True
    flush[o, w] = on_floor[sel]
    return fast, box, door, has_door, flush


def _lift(axis_x: B8, plane: F64, s: F64, y: F64) -> F64:
    """Points on walls: (…, 3) with the wall's normal coordinate ``plane``, tangent ``s``, height ``y``.

    ``axis_x`` (…) says the wall is x = plane (tangent along z); otherwise z = plane (tangent along x).
    """
    axis_x, plane, s, y = np.broadcast_arrays(axis_x, plane, s, y)
    return np.stack([np.where(axis_x, plane, s), y, np.where(axis_x, s, plane)], axis=-1)


def _oriented_quads(quads: F64, normal: F64) -> F64:
    """Triangles (2q, 3, 3) of convex planar quads (q, 4, 3), wound counter-clockwise about ``normal`` (q, 3)."""
    facing = np.einsum("qk,qk->q", np.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1]), normal)
    quads = np.where((facing < 0.0)[:, None, None], quads[:, ::-1], quads)
    return np.stack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], axis=1).reshape(-1, 3, 3)


def _oriented_triangles(tris: F64, normal: F64) -> F64:
    facing = np.einsum("qk,qk->q", np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), normal)
    return np.where((facing < 0.0)[:, None, None], tris[:, ::-1], tris)


def _rect(axis_x: B8, plane: F64, s0: F64, s1: F64, y0: F64, y1: F64) -> F64:
    s = np.stack([s0, s1, s1, s0], axis=-1)
    y = np.stack([y0, y0, y1, y1], axis=-1)
    return _lift(axis_x[..., None], plane[..., None], s, y)


def _frame(axis_x: B8, plane: F64, outer: F64, hole: F64) -> F64:
    """The four trapezoids (n, 4, 4, 3) of rectangles ``outer`` (n, 4) [s0, s1, y0, y1] around ``hole``.

    Order: bottom, right, top, left; the bottom one is empty when the hole stands on the bottom edge.
    """
    u0, u1, v0, v1 = outer.T
    a, b, c, d = hole.T
    s = np.stack(
        [
            np.stack([u0, u1, b, a], -1),
            np.stack([u1, u1, b, b], -1),
            np.stack([u1, u0, a, b], -1),
            np.stack([u0, u0, a, a], -1),
        ],
        1,
    )
    y = np.stack(
        [
            np.stack([v0, v0, c, c], -1),
            np.stack([v0, v1, d, c], -1),
            np.stack([v1, v1, d, d], -1),
            np.stack([v1, v0, c, d], -1),
        ],
        1,
    )
    return _lift(axis_x[:, None, None], plane[:, None, None], s, y)


def _soup(box: F64, door: F64, has_door: B8, flush: B8) -> tuple[F64, I64, I64]:
    """Every triangle of every box shell: (corners (m, 3, 3), normal code (m,), room (m,)), by room."""
    r = box.shape[0]
    x0, x1, z0, z1, y0, y1, t = box.T
    rooms = np.arange(r)
    quads: list[F64] = []
    codes: list[I64] = []
    owners: list[I64] = []
    tris: list[F64] = []
    tri_codes: list[I64] = []
    tri_owners: list[I64] = []

    def add(q: F64, code: I64 | int, owner: I64) -> None:
        quads.append(q.reshape(-1, 4, 3))
        codes.append(np.broadcast_to(np.asarray(code), owner.shape).reshape(-1))
        owners.append(owner.reshape(-1))

    # Floor underside, ceiling top, ceiling underside: plain rectangles in y planes.
    for y, face, inset in ((y0, 2, 0.0 * t), (y1, 3, 0.0 * t), (y1 - t, 2, t)):
        xs = np.stack([x0 + inset, x1 - inset, x1 - inset, x0 + inset], -1)
        zs = np.stack([z0 + inset, z0 + inset, z1 - inset, z1 - inset], -1)
        add(np.stack([xs, np.broadcast_to(y[:, None], xs.shape), zs], -1), face, rooms)
    # Walls: (r, 4) arrays, wall k: 0 x = x0, 1 x = x1, 2 z = z0, 3 z = z1.
    axis_x = np.broadcast_to(np.array([True, True, False, False]), (r, 4))
    out_plane = np.stack([x0, x1, z0, z1], 1)
    in_plane = np.stack([x0 + t, x1 - t, z0 + t, z1 - t], 1)
    lo_s = np.where(axis_x, z0[:, None], x0[:, None])
    hi_s = np.where(axis_x, z1[:, None], x1[:, None])
    out_code = np.broadcast_to(np.array([0, 1, 4, 5]), (r, 4))
    in_code = np.broadcast_to(np.array([1, 0, 5, 4]), (r, 4))
    wall_room = np.broadcast_to(rooms[:, None], (r, 4))
    yy0, yy1, tt = (np.broadcast_to(v[:, None], (r, 4)) for v in (y0, y1, t))
    outer = np.stack([lo_s, hi_s, yy0, yy1], -1)  # (r, 4, 4)
    inner = np.stack([lo_s + tt, hi_s - tt, yy0 + tt, yy1 - tt], -1)
    plain = ~has_door
    for rect, plane, faces in ((outer, out_plane, out_code), (inner, in_plane, in_code)):
        add(_rect(axis_x[plain], plane[plain], *rect[plain].T), faces[plain], wall_room[plain])
    if has_door.any():
        ax, po, pi, hole = axis_x[has_door], out_plane[has_door], in_plane[has_door], door[has_door]
        owner, oc, ic, fl = wall_room[has_door], out_code[has_door], in_code[has_door], flush[has_door]
        add(_frame(ax, po, outer[has_door], hole), oc[:, None].repeat(4, 1), owner[:, None].repeat(4, 1))
        frame = _frame(ax, pi, inner[has_door], hole)
        keep = np.ones((owner.size, 4), dtype=bool)
        keep[:, 0] = ~fl  # a doorway on the floor leaves no wall below it
        add(frame[keep], ic[:, None].repeat(4, 1)[keep], owner[:, None].repeat(4, 1)[keep])
        a, b, c, d = hole.T
        # Tunnel: jamb at s = a faces +s, at s = b faces -s; the lintel faces down, the sill up.
        depth = np.stack([po, pi, pi, po], -1)
        # +s is +z on x walls and +x on z walls.
        for s, code_x, code_z in ((a, 5, 1), (b, 4, 0)):
            q = _lift(ax[:, None], depth, s[:, None].repeat(4, 1), np.stack([c, c, d, d], -1))
            add(q, np.where(ax, code_x, code_z), owner)
        for y, face in ((d, 2), (c, 3)):
            add(_lift(ax[:, None], depth, np.stack([a, a, b, b], -1), y[:, None].repeat(4, 1)), face, owner)
    # Cavity floor: a rectangle, or for rooms with doorways on the floor a fan from its centre
    # over the corners and every doorway's two corners on its edges (no T-junction at a sill).
    fanned = flush.any(axis=1)
    top = y0 + t
    sel = ~fanned
    xs = np.stack([x0 + t, x1 - t, x1 - t, x0 + t], -1)[sel]
    zs = np.stack([z0 + t, z0 + t, z1 - t, z1 - t], -1)[sel]
    add(np.stack([xs, np.broadcast_to(top[sel][:, None], xs.shape), zs], -1), 3, rooms[sel])
    if fanned.any():
        f = np.flatnonzero(fanned)
        fa, fb = np.where(flush[f], door[f, :, 0], inner[f, :, 0]), np.where(flush[f], door[f, :, 1], inner[f, :, 0])
        stops = np.stack([inner[f, :, 0], fa, fb, inner[f, :, 1]], -1)  # (n, 4, 4) along each wall's bottom edge
        start = _lift(axis_x[f][:, :, None], in_plane[f][:, :, None], stops[:, :, :3], top[f][:, None, None])
        end = _lift(axis_x[f][:, :, None], in_plane[f][:, :, None], stops[:, :, 1:], top[f][:, None, None])
        centre = np.stack([(x0[f] + x1[f]) / 2, top[f], (z0[f] + z1[f]) / 2], -1)
        seg = np.concatenate([start[..., None, :], end[..., None, :]], -2).reshape(f.size, 12, 2, 3)
        owner = np.broadcast_to(f[:, None], (f.size, 12))
        nonempty = (seg[:, :, 0] != seg[:, :, 1]).any(axis=-1)
        tri = np.concatenate([np.broadcast_to(centre[:, None, None], (f.size, 12, 1, 3)), seg], axis=2)
        tris.append(tri[nonempty])
        tri_codes.append(np.full(int(nonempty.sum()), 3))
        tri_owners.append(owner[nonempty])

    q = np.concatenate(quads)
    q_code = np.concatenate(codes).astype(np.int64)
    triangles = [_oriented_quads(q, _NORMALS[q_code])]
    tri_code = [q_code.repeat(2)]
    tri_owner = [np.concatenate(owners).astype(np.int64).repeat(2)]
    if tris:
        t3 = np.concatenate(tris)
        c3 = np.concatenate(tri_codes).astype(np.int64)
        triangles.append(_oriented_triangles(t3, _NORMALS[c3]))
        tri_code.append(c3)
        tri_owner.append(np.concatenate(tri_owners).astype(np.int64))
    corners = np.concatenate(triangles)
    normal_code = np.concatenate(tri_code)
    owner = np.concatenate(tri_owner)
    order = np.argsort(owner, kind="stable")
    return corners[order] + 0.0, normal_code[order], owner[order]


def box_shells(box: F64, door: F64, has_door: B8, flush: B8) -> list[FlatMesh]:
    """Flat-shaded shells of box rooms laid out by :func:`box_walls` (rows of ``box`` etc.).

    Returns one :data:`~sceneforge.geometry.shading.FlatMesh` per row: vertices shared by the
    triangles of one plane, split across hard edges, world UVs, indices local to the mesh.
    """
    import meshoptimizer

    r = box.shape[0]
    if r == 0:
        return []
    corners, code, owner = _soup(box, door, has_door, flush)
    m = corners.shape[0]
    points = corners.reshape(-1, 3)
    keys = np.empty((3 * m, 8), dtype=np.uint32)
    keys[:, :6] = np.ascontiguousarray(points).view(np.uint32).reshape(-1, 6)
    keys[:, 6] = owner.repeat(3).astype(np.uint32)
    keys[:, 7] = code.repeat(3).astype(np.uint32)
    remap = np.empty(3 * m, dtype=np.uint32)
    identity = np.arange(3 * m, dtype=np.uint32)
    meshoptimizer.generate_vertex_remap(remap, identity, 3 * m, keys, 3 * m, 32)
    ids = remap.astype(np.int64)
    # Ids follow first occurrence and the soup is sorted by room: each room's vertices are contiguous.
    running = np.maximum.accumulate(ids)
    starts = np.empty(3 * m, dtype=bool)
    starts[0] = True
    starts[1:] = ids[1:] > running[:-1]
    first = np.flatnonzero(starts)
    positions = points[first]
    normals = _NORMALS[code.repeat(3)[first]]
    uvs = world_uvs(positions, normals)
    vert_room = owner.repeat(3)[first]
    vert_start = np.searchsorted(vert_room, np.arange(r + 1))
    tri_start = np.searchsorted(owner, np.arange(r + 1))
    indices = (ids.reshape(-1, 3) - vert_start[owner][:, None]).astype(np.uint32)
    p32, n32, uv32 = positions.astype(np.float32), normals.astype(np.float32), uvs.astype(np.float32)
    out: list[FlatMesh] = []
    for i in range(r):
        v0, v1, t0, t1 = vert_start[i], vert_start[i + 1], tri_start[i], tri_start[i + 1]
        out.append((p32[v0:v1], n32[v0:v1], uv32[v0:v1], indices[t0:t1]))
    return out
