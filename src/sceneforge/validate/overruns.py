"""Portals drawn past the rooms they open into (:func:`portals_past_rooms`): the ``portal_past_room`` warning.

What: a portal quad that the geometry stage cuts into a wall or slab of a room cell it joins
(docs/geometry.md), with a corner more than :data:`~sceneforge.tolerances.CONTACT_EPS` outside that room's
outer box (across the quad's plane, :data:`~sceneforge.tolerances.ON_WALL_EPS`: how far off a wall's face a quad
cut into it may lie): a doorway drawn wider than the wall it opens (a hall's 4 m opening onto the end of a 2 m corridor,
a doorway spanning two rooms' walls with only one of them its target) or taller than the room (a 3.2 m door
into a 3 m room). The opening into that room is cut only within its walls, so the other side's opening (the
quad within that room's walls, floor and ceiling: a quad over a wall's end or a slab's thickness opens nothing
there) is the larger one: through the rest of it one sees the outside of this room's walls, or the cells named
(those whose boxes that opening reaches besides the two it joins). Sight is still computed through the whole
quad (the PVS is conservative, larger than what can be seen).

Between two box rooms (outlines of four corners at their boxes' bounds) the boxes are compared. Where either
room is not a box (a polygon, a turned plan), a doorway's openings are compared along the walls it is cut into:
the other side's opening (the quad between that room's cavity corners along its wall) against this room's wall
from end to end, past an end only where the outline's corner there is convex (at a reflex one the room goes on
along the wall's line); a slab's opening in such a room is compared by its height only. Vectorized over every
(portal, room) pair cut; at most :data:`MAX_LISTED` warnings, then one saying how many more there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import Issue
from ..model.ir import Portal
from ..tolerances import CONTACT_EPS, ON_WALL_EPS

if TYPE_CHECKING:
    from ..geometry.doors import RoomArrays

__all__ = ["MAX_LISTED", "SideWalls", "portals_past_rooms"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

#: Portal sides listed, one warning each.
MAX_LISTED = 100
_AXES = ("x", "y", "z")
#: Walls closer to parallel than this (1 - |cos|) are compared along each other (a quad cut into both lies on both):
#: 14 mrad (1e-4), past the 11 mrad two 0.25 m walls of a plan turned and written to millimetres may differ by (each
#: end rounded up to 0.71 mm off tilts each up to 5.7 mrad). 1e-6 (1.4 mrad) left such walls uncompared: a doorway
#: past either's end unreported.
_PARALLEL = 1e-4


@dataclass(frozen=True, slots=True)
class SideWalls:
    """Per portal side (k,): the wall it is cut into (``edge``, -1 for none: a slab's opening), that wall's outer
    face (``start`` (k, 2), unit ``tangent`` (k, 2), ``length``, ``end`` (k, 2)), where the room's inside lies
    along it (``lo``, ``hi``: between the cavity's corners), whether the outline's corner at each end is convex
    (``convex0``, ``convex1``: past it along the wall's line lies the outside) and the quad's corners along it
    (``along`` (k, 4)). A side cut into walls in a row has them as one: from the first's start to the last's end,
    over the walls between and beside them that it passes in their slab (``validate/scene.py``)."""

    edge: I64
    start: F64
    tangent: F64
    length: F64
    end: F64
    lo: F64
    hi: F64
    convex0: B8
    convex1: B8
    along: F64

    def only(self, rows: I64) -> SideWalls:
        """These sides' walls, in the order of ``rows``."""
        return SideWalls(*(getattr(self, f.name)[rows] for f in fields(self)))


def portals_past_rooms(
    portals: Sequence[Portal],
    portal: I64,
    is_to: B8,
    quads: F64,
    quad_room: I64,
    rooms: RoomArrays,
    boxed: B8,
    cell_ids: Sequence[str],
    boxes: F64,
    walls: SideWalls,
) -> list[Issue]:
    """``portal_past_room`` for each cut (portal side): ``portal`` (k,) the portal's index, ``is_to`` whether the
    side is its target, ``quads`` (k, 4, 3), ``quad_room`` (k,) the room's row in ``rooms``, ``boxed`` (r,) whether
    each room's outline is its box (along x and z only such a room's opening is known from its box), ``walls`` the
    wall each side is cut into (along it the others' openings are compared); ``cell_ids`` and ``boxes`` (n, 6)
    every cell's id and box, to name the cells the larger opening reaches besides its own two."""
    lo = np.stack([rooms.lo[quad_room, 0], rooms.y0[quad_room], rooms.lo[quad_room, 1]], axis=1)
    hi = np.stack([rooms.hi[quad_room, 0], rooms.y1[quad_room], rooms.hi[quad_room, 1]], axis=1)
    # The other side of each: its row here, -1 where that side is cut in no room (a mesh cell, no wall hit).
    row = np.full((2, len(portals)), -1, np.int64)
    row[is_to.astype(np.int64), portal] = np.arange(portal.size)
    other = row[1 - is_to.astype(np.int64), portal]
    both = np.flatnonzero(other >= 0)
    # Per side and axis, how far the other side's opening reaches past this room's box: a quad past both rooms
    # alike is cut alike on both sides. That opening is the quad within the other room's walls, floor and ceiling
    # (its box less the walls' thickness): what the quad covers of a wall's end or a slab's thickness opens
    # nothing there (a doorway drawn from the underside of a thicker floor, or up to the top of a thicker
    # ceiling, opens from floor to ceiling on both sides alike).
    q_lo, q_hi = quads.min(axis=1), quads.max(axis=1)
    o = other[both]
    t = rooms.thickness[quad_room][:, None]
    open_lo, open_hi = np.maximum(q_lo[both], lo[o] + t[o]), np.minimum(q_hi[both], hi[o] - t[o])
    below = np.zeros((both.size, 4))
    above = np.zeros((both.size, 4))
    below[:, :3] = (lo[both] - open_lo).clip(min=0.0)
    above[:, :3] = (open_hi - hi[both]).clip(min=0.0)
    # Along x and z a room's box bounds its walls only where the outline is that box: a turned or polygon room's
    # box reaches past the wall the quad is in (a doorway drawn past both ends of a turned plan's shared wall, cut
    # alike on both sides, would read as past each room, each opening "larger"). Where either room is such a
    # room the openings are compared along the walls the quad is cut into (column 3); its height is exact.
    # (A slab's opening, cut into no wall, is compared by the box where the other room is a box.)
    pair = np.flatnonzero(~boxed[quad_room[o]] | ~boxed[quad_room[both]])
    before, after, compared, ends_lo, ends_hi = _along_wall(walls, both[pair], o[pair])
    below[pair, 3], above[pair, 3] = before, after
    open_lo[pair[compared], 0:3:2], open_hi[pair[compared], 0:3:2] = ends_lo[compared], ends_hi[compared]
    loose = ~boxed[quad_room[o]]
    loose[pair[compared]] = True
    below[loose, 0:3:2] = 0.0
    above[loose, 0:3:2] = 0.0
    past = np.maximum(below, above)
    # Across the quad's plane (an axis along which it spans no more than ON_WALL_EPS: a wall's or a slab's normal),
    # lying up to ON_WALL_EPS past the box is lying off the face the quad is cut into (a plan written to
    # millimetres), not an opening larger than the room.
    tol = np.full(past.shape, CONTACT_EPS)
    tol[:, :3] = np.where((q_hi - q_lo)[both] <= ON_WALL_EPS, ON_WALL_EPS, CONTACT_EPS)
    excess = past - tol
    far = both[excess.max(axis=1) > 0.0]
    if far.size == 0:
        return []
    at = np.zeros(portal.size, np.int64)
    at[both] = np.arange(both.size)
    far = far[np.lexsort((is_to[far], portal[far]))]  # by portal, its source side first
    issues = []
    for j in far[:MAX_LISTED].tolist():
        p = portals[int(portal[j])]
        cell, across = (p.to_cell, p.from_cell) if is_to[j] else (p.from_cell, p.to_cell)
        k = int(at[j])
        axis = int(np.argmax(excess[k]))
        low = bool(below[k, axis] >= above[k, axis])
        if axis == 3:  # along the wall: from its start (its outer face's ends named in x, z)
            a, b = walls.start[j], walls.end[j]
            side = f"along its wall from ({a[0]:.4g}, {a[1]:.4g}) to ({b[0]:.4g}, {b[1]:.4g})"
            span = f"{walls.along[j].min():.4g} to {walls.along[j].max():.4g} m along it"
            extent = f"the wall's 0 to {walls.length[j]:.4g}"
        else:
            side = ("below" if low else "above") if axis == 1 else f"on its {'-' if low else '+'}{_AXES[axis]} side"
            span = f"{_AXES[axis]} {quads[j, :, axis].min():.4g} to {quads[j, :, axis].max():.4g}"
            extent = f"the room's {lo[j, axis]:.4g} to {hi[j, axis]:.4g}"
        # What the other side's opening reaches (not the quad's part over a wall's end or a slab's thickness,
        # which opens nothing); across the quad's plane, where the opening has no extent, the quad.
        flat = open_lo[k] > open_hi[k]
        seen_lo, seen_hi = np.where(flat, q_lo[j], open_lo[k]), np.where(flat, q_hi[j], open_hi[k])
        others = _cells_reached(seen_lo, seen_hi, boxes, cell_ids, {p.from_cell, p.to_cell})
        onto = f"onto cell{'s' if len(others) > 1 else ''} {', '.join(map(repr, others))}" if others else ""
        message = (
            f"{p.label}: its quad reaches {_metres(past[k, axis])} past the room of cell {cell!r}, {side} ({span}"
            f" against {extent}): the opening into {cell!r} is cut only within its walls, so the one"
            f" into {across!r} is larger and looks past {cell!r}{' ' + onto if onto else ''}; draw the quad within"
            " both rooms"
        )
        issues.append(Issue(p.pointer, "portal_past_room", message, "warning"))
    if far.size > MAX_LISTED:
        rest = far.size - MAX_LISTED
        issues.append(
            Issue(
                "/portals",
                "portal_past_room",
                f"{rest} more portal sides reach past their rooms' boxes (the first {MAX_LISTED} are listed)",
                "warning",
            )
        )
    return issues


def _along_wall(walls: SideWalls, mine: I64, theirs: I64) -> tuple[F64, F64, B8, F64, F64]:
    """How far the opening of each side ``theirs`` (m,) into its room — the quad within that room's inside along
    its wall — reaches past the wall side ``mine`` is cut into, before its start and past its end (along it; 0
    where that end's corner is not convex: the room goes on along the wall's line there, or where either side is
    cut into no wall or the two walls are not parallel); whether it was compared, and that opening's (x, z) bounds."""
    compared = (walls.edge[mine] >= 0) & (walls.edge[theirs] >= 0)
    compared &= np.abs(np.einsum("mk,mk->m", walls.tangent[mine], walls.tangent[theirs])) >= 1.0 - _PARALLEL
    s = walls.along[theirs]
    a, b = np.maximum(s.min(axis=1), walls.lo[theirs]), np.minimum(s.max(axis=1), walls.hi[theirs])
    compared &= a <= b  # (an opening within a wall's end opens nothing: the quad's own extent is not its opening)
    ends = walls.start[theirs][:, None, :] + walls.tangent[theirs][:, None, :] * np.stack([a, b], axis=1)[:, :, None]
    # Those ends along this side's wall, from its start.
    at = np.einsum("mjk,mk->mj", ends - walls.start[mine][:, None, :], walls.tangent[mine])
    before = np.where(compared & walls.convex0[mine], (-at.min(axis=1)).clip(min=0.0), 0.0)
    after = np.where(compared & walls.convex1[mine], (at.max(axis=1) - walls.length[mine]).clip(min=0.0), 0.0)
    return before, after, compared, ends.min(axis=1), ends.max(axis=1)


def _cells_reached(q_lo: F64, q_hi: F64, boxes: F64, cell_ids: Sequence[str], own: set[str]) -> list[str]:
    """The cells besides ``own`` whose boxes the bounds ``q_lo``, ``q_hi`` (3,) of (part of) a quad reach into:
    overlapping them by more than the tolerance on two axes and touching them on the third (a wall's quad is flat
    across it), at most 3."""
    overlap = np.minimum(boxes[:, 3:], q_hi) - np.maximum(boxes[:, :3], q_lo)
    reached = (overlap >= -CONTACT_EPS).all(axis=1) & ((overlap > CONTACT_EPS).sum(axis=1) >= 2)
    return [cell_ids[k] for k in np.flatnonzero(reached).tolist() if cell_ids[k] not in own][:3]


def _metres(d: float) -> str:
    return f"{d * 1e3:.3g} mm" if d < 1.0 else f"{d:.3g} m"
