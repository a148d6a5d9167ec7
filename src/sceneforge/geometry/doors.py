"""Doorways: where a portal quad lies on a room's wall, and where a door between two rooms goes.

Two questions about portals and room walls, both answered in plan view from the outline
edges of :mod:`sceneforge.geometry.outline`:

* :func:`door_cutters` — which portals of a cell lie on which of its walls (the quad inside
  the wall slab, between the outer face and the inner face ± ``CONTACT_EPS``, and overlapping
  the wall's length and height), and the convex prism that cuts each doorway: the quad
  projected through the wall along the wall's normal, reaching a margin past both faces so
  the boolean never meets a coplanar face. A horizontal quad inside the floor or ceiling slab
  cuts a hatch the same way. Nothing is assumed about the quad beyond convexity.
* :func:`place_door` — DESIGN §2's ``between`` + ``door``: the rectangle on the longest wall
  two rooms share (collinear, opposite-facing outline edges that overlap).

Cost: O(p·e) numpy work for p portals against e wall edges, no per-vertex Python loop; the
only loop is over the (few) doorways found.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..model.ir import Room
from ..tolerances import AREA_EPS, CONTACT_EPS, WELD_EPS
from .outline import wall_edges

__all__ = ["door_cutters", "place_door"]

F64 = npt.NDArray[np.float64]


def _cut_margin() -> float:
    """How far (m) a cutting prism reaches past each face of the slab it cuts: 10 × ``WELD_EPS``.

    Past a face so the boolean never meets a coplanar face, and ten times what the weld pass
    merges so no face of the cut is welded onto the wall's. It is also how deep a doorway that
    runs into a corner notches the wall across: 0.1 mm, which nobody sees (a margin of half a
    wall, tried first, left 5 cm notches there).
    """
    return 10.0 * WELD_EPS


def _wall_prisms(room: Room, quads: F64) -> F64:
    """(h, 8, 3) prisms for every (portal, wall) pair where the portal lies on the wall."""
    edges = wall_edges(room.floor)
    t, eps = room.wall_thickness, CONTACT_EPS
    plan = quads[:, :, [0, 2]]  # (p, 4, 2)
    rel = plan[:, None, :, :] - edges.start[None, :, None, :]  # (p, e, 4, 2)
    dist = np.einsum("pevk,ek->pev", rel, edges.normal)  # signed distance outside the outer face
    along = np.einsum("pevk,ek->pev", rel, edges.tangent)
    in_slab = ((dist <= eps) & (dist >= -t - eps)).all(axis=-1)
    on_length = (along.max(axis=-1) > eps) & (along.min(axis=-1) < edges.length[None, :] - eps)
    y = quads[:, :, 1]
    on_height = (y.max(axis=1) > room.y + eps) & (y.min(axis=1) < room.y + room.height - eps)
    hit_p, hit_e = np.nonzero(in_slab & on_length & on_height[:, None])
    if hit_p.size == 0:
        return np.empty((0, 8, 3))
    margin = _cut_margin()
    n3 = np.zeros((hit_e.size, 1, 3))
    n3[:, 0, 0], n3[:, 0, 2] = edges.normal[hit_e, 0], edges.normal[hit_e, 1]
    d = dist[hit_p, hit_e][:, :, None]  # (h, 4, 1)
    q = quads[hit_p]
    outside = q + (margin - d) * n3
    inside = q + (-t - margin - d) * n3
    return np.concatenate([outside, inside], axis=1)


def _slab_prisms(room: Room, quads: F64) -> F64:
    """(h, 8, 3) vertical prisms for horizontal quads lying in the floor or ceiling slab."""
    t, eps = room.wall_thickness, CONTACT_EPS
    x, y, z = quads[:, :, 0], quads[:, :, 1], quads[:, :, 2]
    # Area of the quad seen from above: a vertical quad has none and cannot cut a slab.
    plan_area = 0.5 * np.abs(
        np.einsum("pv,pv->p", x, np.roll(z, -1, axis=1)) - np.einsum("pv,pv->p", np.roll(x, -1, axis=1), z)
    )
    lo, hi = room.floor.min(axis=0), room.floor.max(axis=0)
    overlaps = (x.max(1) > lo[0] + eps) & (x.min(1) < hi[0] - eps) & (z.max(1) > lo[1] + eps) & (z.min(1) < hi[1] - eps)
    candidates = (plan_area > AREA_EPS) & overlaps
    margin = _cut_margin()
    prisms = []
    for bottom in (room.y, room.y + room.height - t):
        inside = ((y >= bottom - eps) & (y <= bottom + t + eps)).all(axis=1) & candidates
        q = quads[inside]
        low, high = q.copy(), q.copy()
        low[:, :, 1] = bottom - margin
        high[:, :, 1] = bottom + t + margin
        prisms.append(np.concatenate([low, high], axis=1))
    return np.concatenate(prisms, axis=0)


def door_cutters(room: Room, quads: F64) -> F64:
    """Cutting prisms for the portals of a room: (h, 8, 3) float64 corner points, world space.

    ``quads`` (p, 4, 3) float64 are the portal quads of the room's cell (either side). Each
    prism is the convex hull of its 8 points: the quad moved onto two planes parallel to the
    wall (or slab) it lies on, ``_cut_margin`` beyond the outer and the inner face. A portal
    lying on no wall gives no prism; one lying on two walls (a corner) gives one per wall.
    Safe on any finite input: a degenerate quad gives a flat prism, whose hull is empty.
    """
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    if quads.shape[0] == 0:
        return np.empty((0, 8, 3))
    return np.concatenate([_wall_prisms(room, quads), _slab_prisms(room, quads)], axis=0)


def place_door(room_a: Room, room_b: Room, width: float, height: float, offset: float = 0.0) -> F64 | None:
    """The doorway quad on the wall ``room_a`` and ``room_b`` share, or ``None``.

    A shared wall is a pair of outline edges, one of each room, that are collinear (both
    ends of b's edge within ``CONTACT_EPS`` of a's line), face opposite ways and overlap
    along their length; the longest overlap wins (the first in a's outline order on a tie).
    The door is a ``width`` × ``height`` rectangle in the plane midway between the two
    edges, centred on the overlap and shifted ``offset`` metres along it (towards the
    direction a's outline runs), its bottom on the higher of the two floors' top faces
    (``y + wall_thickness``). Returns (4, 3) float64 ordered bottom-left, top-left,
    top-right, bottom-right seen from a, so the right-hand-rule normal points from a into b.

    Returns ``None`` when the rooms share no wall, or when the door does not fit: it must
    stay within the shared stretch and below the lower of the two ceilings' underside.
    """
    a, b = wall_edges(room_a.floor), wall_edges(room_b.floor)
    if len(a) == 0 or len(b) == 0:
        return None
    eps = CONTACT_EPS
    b_end = b.start + b.tangent * b.length[:, None]
    rel0 = b.start[None, :, :] - a.start[:, None, :]  # (ea, eb, 2)
    rel1 = b_end[None, :, :] - a.start[:, None, :]
    d0 = np.einsum("abk,ak->ab", rel0, a.normal)
    d1 = np.einsum("abk,ak->ab", rel1, a.normal)
    s0 = np.einsum("abk,ak->ab", rel0, a.tangent)
    s1 = np.einsum("abk,ak->ab", rel1, a.tangent)
    lo = np.maximum(0.0, np.minimum(s0, s1))
    hi = np.minimum(a.length[:, None], np.maximum(s0, s1))
    facing = (a.normal @ b.normal.T) < 0.0
    shared = (np.abs(d0) <= eps) & (np.abs(d1) <= eps) & facing & (hi - lo > eps)
    if not shared.any():
        return None
    overlap = np.where(shared, hi - lo, -np.inf)
    i, j = np.unravel_index(int(np.argmax(overlap)), overlap.shape)
    centre = 0.5 * (lo[i, j] + hi[i, j]) + offset
    if centre - 0.5 * width < lo[i, j] - eps or centre + 0.5 * width > hi[i, j] + eps:
        return None
    bottom = max(room_a.y + room_a.wall_thickness, room_b.y + room_b.wall_thickness)
    ceiling = min(
        room_a.y + room_a.height - room_a.wall_thickness,
        room_b.y + room_b.height - room_b.wall_thickness,
    )
    if bottom + height > ceiling + eps:
        return None
    normal = a.normal[i]
    plane_shift = 0.25 * (d0[i, j] + d1[i, j])  # midway between a's edge and b's
    mid = a.start[i] + a.tangent[i] * centre + normal * plane_shift
    # Along = normal × up, so that (up × along) = normal: the quad's normal then points into b.
    along = np.array([-normal[1], normal[0]])
    left, right = mid - along * (0.5 * width), mid + along * (0.5 * width)
    top = bottom + height
    return np.array(
        [
            [left[0], bottom, left[1]],
            [left[0], top, left[1]],
            [right[0], top, right[1]],
            [right[0], bottom, right[1]],
        ],
        dtype=np.float64,
    )
