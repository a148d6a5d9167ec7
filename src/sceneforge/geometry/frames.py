"""Rectangular rooms off the axes built by the panels in their own frame.

The panel path (:mod:`sceneforge.geometry.panels`) places hatches flush with a wall only in box
rooms along the x and z axes; a rectangle turned to any other angle (a plan drawn at 30°) with a
stair opening against a wall went to the booleans. :func:`panels_in_own_frames` takes the
rectangles the panels refused, turns each (and its portals) about its first corner so that its
first wall runs along +x, puts its walls exactly on the axes (they are within :data:`_SQUARE` of
them when the rectangle is square to that precision, as a plan turned with cos and sin is), builds
them with the panels again, and turns the shells back: positions and normals by the same rotation,
UVs again from world positions. Rooms still refused stay with the booleans.

Coincident vertices stay coincident (the same float32 inputs turn into the same outputs), so each
shell is as closed as it was in its frame; positions move by a float32 step or two.

Cost: one extra :func:`~sceneforge.geometry.panels.panel_shells` call over the rooms retried
(none on levels without such rooms), O(their portals) to pick their quads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from ..model.ir import Room
from .outline import outlines_on_axes
from .panels import panel_shells
from .shading import FlatMesh, world_uvs

__all__ = ["panels_in_own_frames"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

#: How far (m) a turned rectangle's corners may lie off the axes of its frame (after the turn) to be
#: put on them: 1 µm, as a portal quad's corners may lie off its rectangle (panels' ``_RECT_EPS``).
_SQUARE = 1e-6


def panels_in_own_frames(
    rooms: Sequence[Room], quads: F64, quad_room: I64, fast: B8, meshes: list[FlatMesh]
) -> tuple[B8, list[FlatMesh]]:
    """``fast`` and ``meshes`` (:func:`~sceneforge.geometry.panels.panel_shells`' answer, a shell per
    fast room in order) with the refused rectangles off the axes that the panels build in their own
    frame added."""
    chosen: list[int] = []
    origins, turns, local_rooms = [], [], []
    for i in np.flatnonzero(~fast).tolist():
        floor = rooms[i].floor
        if not _turned_rectangle(floor):
            continue
        along = floor[1] - floor[0]
        turn = along / float(np.hypot(*along))  # (cos θ, sin θ) of the first wall
        local = outlines_on_axes(_rotate(floor - floor[0], float(turn[0]), -float(turn[1])), np.array([4]), _SQUARE)
        if _on_axes(local):
            chosen.append(i)
            origins.append(floor[0])
            turns.append(turn)
            local_rooms.append(replace(rooms[i], floor=local))
    if not chosen:
        return fast, meshes
    index = np.full(len(rooms), -1, dtype=np.int64)
    index[chosen] = np.arange(len(chosen))
    mine = index[quad_room] >= 0
    owner = index[quad_room[mine]]
    q = quads[mine].copy()
    base, turn = np.array(origins)[owner], np.array(turns)[owner]
    xz = _rotate_rows(q[:, :, [0, 2]] - base[:, None, :], turn[:, 0], -turn[:, 1])
    q[:, :, 0], q[:, :, 2] = xz[..., 0], xz[..., 1]
    local_fast, local_meshes = panel_shells(local_rooms, q, owner)
    if not local_fast.any():
        return fast, meshes
    built = np.flatnonzero(local_fast).tolist()
    back = {chosen[k]: _turned_back(mesh, origins[k], turns[k]) for k, mesh in zip(built, local_meshes, strict=True)}
    out_fast = fast.copy()
    out_fast[list(back)] = True
    before = iter(meshes)
    return out_fast, [back[i] if i in back else next(before) for i in np.flatnonzero(out_fast).tolist()]


def _on_axes(local: F64) -> bool:
    """Whether every edge of the 4-point outline ``local`` runs exactly along x or z."""
    step = np.roll(local, -1, axis=0) - local
    return bool(((step[:, 0] == 0.0) ^ (step[:, 1] == 0.0)).all())


def _turned_rectangle(floor: F64) -> bool:
    """A 4-point outline whose walls are not all along the axes, its corners square to :data:`_SQUARE`."""
    if floor.shape[0] != 4:
        return False
    step = np.roll(floor, -1, axis=0) - floor
    if ((step[:, 0] == 0.0) | (step[:, 1] == 0.0)).all():
        return False  # on the axes: the panels' own case
    length = np.hypot(step[:, 0], step[:, 1])
    if (length <= 0.0).any():
        return False
    # Each corner square: the next wall's direction off perpendicular by at most _SQUARE over its length.
    unit = step / length[:, None]
    cos = np.abs(np.einsum("ek,ek->e", unit, np.roll(unit, -1, axis=0)))
    return bool((cos * np.roll(length, -1) <= _SQUARE).all())


def _rotate(points: F64, cos: float, sin: float) -> F64:
    """``points`` (n, 2) turned by the angle of (cos, sin) in (x, z)."""
    out: F64 = np.stack([points[:, 0] * cos - points[:, 1] * sin, points[:, 0] * sin + points[:, 1] * cos], 1)
    return out


def _rotate_rows(points: F64, cos: F64, sin: F64) -> F64:
    """``points`` (q, 4, 2), row r turned by the angle of (cos[r], sin[r])."""
    c, s = cos[:, None], sin[:, None]
    out: F64 = np.stack([points[..., 0] * c - points[..., 1] * s, points[..., 0] * s + points[..., 1] * c], -1)
    return out


def _turned_back(mesh: FlatMesh, origin: F64, turn: F64) -> FlatMesh:
    """A shell built in a room's frame, in world space: positions and normals turned by ``turn``
    (cos θ, sin θ) in (x, z), positions moved to ``origin``; UVs again from world positions."""
    positions, normals, _, indices = mesh
    p = positions.astype(np.float64)
    xz = _rotate(p[:, [0, 2]], float(turn[0]), float(turn[1])) + origin
    world = np.stack([xz[:, 0], p[:, 1], xz[:, 1]], 1).astype(np.float32)
    n = normals.astype(np.float64)
    nxz = _rotate(n[:, [0, 2]], float(turn[0]), float(turn[1]))
    world_n = np.stack([nxz[:, 0], n[:, 1], nxz[:, 1]], 1)
    return world, world_n.astype(np.float32), world_uvs(world, world_n), indices
