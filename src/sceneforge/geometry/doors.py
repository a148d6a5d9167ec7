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

Cost: O(p·e) numpy work for p portals against the e wall edges of their rooms, done for all
rooms of a scene in one vectorized pass (per-room calls cost ~0.2 ms each in numpy overhead,
a fifth of the whole geometry stage; batched, ~18 ms for 1,000 rooms).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..model.ir import Room
from ..tolerances import AREA_EPS, CONTACT_EPS, WELD_EPS
from .outline import wall_edges, wall_edges_of

__all__ = ["door_cutters", "place_door", "scene_cutters_with_walls", "scene_door_cutters"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _cut_margin() -> float:
    """How far (m) a cutting prism reaches past each face of the slab it cuts: 10 × ``WELD_EPS``.

    Past a face so the boolean never meets a coplanar face, and ten times what the weld pass
    merges so no face of the cut is welded onto the wall's. It is also how deep a doorway that
    runs into a corner notches the wall across: 0.1 mm, which nobody sees (a margin of half a
    wall, tried first, left 5 cm notches there).
    """
    return 10.0 * WELD_EPS


def _pairs(groups: npt.NDArray[np.int64], group_start: npt.NDArray[np.int64]) -> tuple[I64, I64]:
    """For items in ``groups`` (i,), every (item, member) with member in group_start[g]:group_start[g+1]."""
    counts = group_start[groups + 1] - group_start[groups]
    item = np.repeat(np.arange(groups.size), counts)
    offsets = np.arange(item.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return item, group_start[groups][item] + offsets


def _wall_prisms(rooms: Sequence[Room], quads: F64, quad_room: I64) -> tuple[F64, I64, F64]:
    """Prisms for every (portal, wall) pair where the portal lies on the wall, their rooms and wall normals."""
    edges = wall_edges_of([r.floor for r in rooms])
    edge_start = np.searchsorted(edges.room, np.arange(len(rooms) + 1))
    pq, pe = _pairs(quad_room, edge_start)
    t = np.array([r.wall_thickness for r in rooms])[quad_room[pq]][:, None]
    base = np.array([r.y for r in rooms])[quad_room[pq]]
    top = base + np.array([r.height for r in rooms])[quad_room[pq]]
    eps = CONTACT_EPS
    rel = quads[pq][:, :, [0, 2]] - edges.start[pe][:, None, :]  # (n, 4, 2)
    dist = np.einsum("nvk,nk->nv", rel, edges.normal[pe])  # signed distance outside the outer face
    along = np.einsum("nvk,nk->nv", rel, edges.tangent[pe])
    y = quads[pq][:, :, 1]
    hit = (
        ((dist <= eps) & (dist >= -t - eps)).all(axis=1)
        & (along.max(axis=1) > eps)
        & (along.min(axis=1) < edges.length[pe] - eps)
        & (y.max(axis=1) > base + eps)
        & (y.min(axis=1) < top - eps)
    )
    pq, pe, d, t = pq[hit], pe[hit], dist[hit][:, :, None], t[hit][:, :, None]
    margin = _cut_margin()
    n3 = np.zeros((pe.size, 1, 3))
    n3[:, 0, 0], n3[:, 0, 2] = edges.normal[pe, 0], edges.normal[pe, 1]
    q = quads[pq]
    prisms = np.concatenate([q + (margin - d) * n3, q + (-t - margin - d) * n3], axis=1)
    return prisms, quad_room[pq], edges.normal[pe]


def _slab_prisms(rooms: Sequence[Room], quads: F64, quad_room: I64) -> tuple[F64, I64]:
    """Vertical prisms for horizontal quads lying in a floor or ceiling slab, and their rooms."""
    eps = CONTACT_EPS
    t = np.array([r.wall_thickness for r in rooms])[quad_room]
    base = np.array([r.y for r in rooms])[quad_room]
    height = np.array([r.height for r in rooms])[quad_room]
    lo = np.array([r.floor.min(axis=0) for r in rooms]).reshape(-1, 2)[quad_room]
    hi = np.array([r.floor.max(axis=0) for r in rooms]).reshape(-1, 2)[quad_room]
    x, y, z = quads[:, :, 0], quads[:, :, 1], quads[:, :, 2]
    # Area of the quad seen from above: a vertical quad has none and cannot cut a slab.
    plan_area = 0.5 * np.abs(np.sum(x * np.roll(z, -1, axis=1) - np.roll(x, -1, axis=1) * z, axis=1))
    candidates = (
        (plan_area > AREA_EPS)
        & (x.max(axis=1) > lo[:, 0] + eps)
        & (x.min(axis=1) < hi[:, 0] - eps)
        & (z.max(axis=1) > lo[:, 1] + eps)
        & (z.min(axis=1) < hi[:, 1] - eps)
    )
    margin = _cut_margin()
    prisms, owners = [], []
    for bottom in (base, base + height - t):
        inside = ((y >= (bottom - eps)[:, None]) & (y <= (bottom + t + eps)[:, None])).all(axis=1) & candidates
        low, high = quads[inside].copy(), quads[inside].copy()
        low[:, :, 1] = (bottom[inside] - margin)[:, None]
        high[:, :, 1] = (bottom[inside] + t[inside] + margin)[:, None]
        prisms.append(np.concatenate([low, high], axis=1))
        owners.append(quad_room[inside])
    return np.concatenate(prisms, axis=0), np.concatenate(owners)


def scene_cutters_with_walls(rooms: Sequence[Room], quads: F64, quad_room: npt.ArrayLike) -> tuple[F64, I64, F64]:
    """:func:`scene_door_cutters` plus, per prism, the (x, z) outward unit normal of the wall it
    cuts: (h, 2) float64, zero for a prism through a floor or ceiling slab."""
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    quad_room = np.asarray(quad_room, dtype=np.int64).reshape(-1)
    if quads.shape[0] == 0:
        return np.empty((0, 8, 3)), np.empty(0, dtype=np.int64), np.empty((0, 2))
    walls, wall_owner, wall_normal = _wall_prisms(rooms, quads, quad_room)
    slabs, slab_owner = _slab_prisms(rooms, quads, quad_room)
    prisms, owner = np.concatenate([walls, slabs]), np.concatenate([wall_owner, slab_owner])
    normal = np.concatenate([wall_normal, np.zeros((slabs.shape[0], 2))])
    order = np.argsort(owner, kind="stable")
    return prisms[order], owner[order], normal[order]


def scene_door_cutters(rooms: Sequence[Room], quads: F64, quad_room: npt.ArrayLike) -> tuple[F64, I64]:
    """Cutting prisms for the portals of many rooms at once.

    ``quads`` (q, 4, 3) float64 portal quads, ``quad_room`` (q,) the index in ``rooms`` of the
    room each quad belongs to (a portal between two rooms appears once per room). Returns
    (prisms (h, 8, 3) float64, owner (h,) int64), sorted by owner (stable): see
    :func:`door_cutters` for what a prism is. One vectorized pass whatever the room count.
    """
    prisms, owner, _ = scene_cutters_with_walls(rooms, quads, quad_room)
    return prisms, owner


def door_cutters(room: Room, quads: F64) -> F64:
    """Cutting prisms for the portals of a room: (h, 8, 3) float64 corner points, world space.

    ``quads`` (p, 4, 3) float64 are the portal quads of the room's cell (either side). Each
    prism is the convex hull of its 8 points: the quad moved onto two planes parallel to the
    wall (or slab) it lies on, ``_cut_margin`` beyond the outer and the inner face. A portal
    lying on no wall gives no prism; one lying on two walls (a corner) gives one per wall.
    Safe on any finite input: a degenerate quad gives a flat prism, whose hull is empty.
    """
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    prisms, _ = scene_door_cutters([room], quads, np.zeros(quads.shape[0], dtype=np.int64))
    return prisms


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
