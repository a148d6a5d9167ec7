"""The entry, :func:`panel_shells`: which rooms take the panel path, and their shells.

The steps in order: the walls and their cavity (:mod:`.walls`); the openings, windows and notches
(:mod:`.openings`) and the hatches (:mod:`.hatches`), with the clashes that leave rooms to the
booleans (:func:`~.hatches.flush_clashes`, :func:`_notch_clashes`); the vertices borders need
(:mod:`.near`, :func:`~.hatches.hatch_places`); the faces (:mod:`.wall_faces`, :mod:`.tunnels`,
:mod:`.slabs`), triangulated together (:meth:`~.faces.Faces.finish`) and welded (:mod:`.weld`).

Rooms with windows, notches, collapsed walls, a floor polygon with a hatch flush with its walls or openings of
both walls flush with a reflex corner at different heights have their shells checked once built (every edge,
corners merged by float32 position, crossed once each way: closed and 2-manifold,
:func:`_closed_or_left`); one that fails goes to the boolean path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ...arrays import distinct, row_ids
from ...model.ir import Room
from ..shading import FlatMesh
from .faces import Faces
from .hatches import (
    FlushSides,
    Hatches,
    flush_clashes,
    flush_places,
    flush_sides,
    flush_sill_places,
    flush_through,
    hatch_places,
    hatch_side_places,
    hatches,
    snap_flush_to_openings,
    with_hatch_places,
)
from .near import near_borders
from .notches import Notches
from .openings import Openings, Windows, corner_pairs, openings
from .slabs import slab_faces
from .tunnels import tunnels, window_tunnels
from .wall_faces import wall_faces
from .walls import Walls, walls
from .weld import weld

__all__ = ["panel_shells"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def panel_shells(rooms: Sequence[Room], quads: F64, quad_room: I64) -> tuple[B8, list[FlatMesh]]:
    """Which rooms take the panel path, and their flat-shaded shells (one per such room, in order).

    ``quads`` (q, 4, 3) portal quads, ``quad_room`` (q,) the room each belongs to (a portal between
    two rooms appears once per room). Rooms not chosen are left to the boolean path.
    """
    r = len(rooms)
    if r == 0:
        return np.zeros(0, dtype=bool), []
    w = walls(rooms)
    bad = ~w.ok
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
    quad_room = np.asarray(quad_room, dtype=np.int64).reshape(-1)
    o, win, notches = openings(w, quads, quad_room, bad)
    h = hatches(w, quads, quad_room, bad)
    snap_flush_to_openings(w, o, h)
    sides = flush_sides(w, h, ~bad)
    flush_clashes(w, o, sides, bad)
    if notches.edge.size:
        _notch_clashes(w, o, h, sides, notches, bad)
    fast = ~bad
    if not fast.any():
        return fast, []
    keep = fast[o.room]
    o = Openings(o.room[keep], o.edge[keep], o.a[keep], o.b[keep], o.c[keep], o.d[keep])
    keep = fast[win.room]
    win = Windows(win.room[keep], win.edge[keep], win.poly[keep])
    notches = notches.only(fast[notches.room])
    shaped = [(int(r), int(e), p) for r, e, p in zip(win.room, win.edge, win.poly, strict=True)]
    shaped += [(int(r), int(e), p) for r, e, p in zip(notches.room, notches.edge, notches.poly, strict=True)]
    near = with_hatch_places(near_borders(w, o, shaped), hatch_places(w, h, fast, o, shaped))
    on_sides, near = hatch_side_places(w, h, fast, o, notches, near)
    sides, through, left = flush_through(w, o, flush_places(w, o, sides.only(fast[h.room[sides.hatch]]), near))
    faces = Faces([], [], [])
    wall_faces(faces, w, o, win, notches, fast, sides.points(), near)
    tunnels(faces, w, o, near, flush_sill_places(w, o, sides), through, left, notches)
    ends = (np.tile(sides.edge, 2), np.tile(sides.slab, 2), np.concatenate([sides.s0, sides.s1]))
    window_tunnels(faces, w, win, notches, o, ends)
    slab_faces(faces, w, o, h, fast, sides, near, notches, on_sides)
    faces.finish()
    meshes = weld(faces, fast)
    # (Rooms with a floor polygon and a hatch flush with its walls: the newest rule, checked too.)
    polygon_flush = h.room[h.flush & (w.first[h.room + 1] - w.first[h.room] != 4)]
    # (And rooms whose openings of both walls flush with a reflex corner differ in height: the newest of all.)
    i, j = corner_pairs(w, o.edge, o.a, o.b, outline=True)
    reflex = o.room[i[(o.c[i] != o.c[j]) | (o.d[i] != o.d[j])]]
    # (And rooms with an opening partway into a slab over a flush hatch's side: its tunnel face notched.)
    partway = w.room[sides.edge[sides.gap_of[~np.isnan(sides.gap_at)]]]
    shaped_rooms = distinct(
        np.concatenate([win.room, notches.room, w.room[w.collapsed], polygon_flush, reflex, partway])
    )
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
    rooms = checked[slot[checked] >= 0]
    open_rooms = rooms[_open_shells([meshes[i] for i in slot[rooms].tolist()])]
    if open_rooms.size == 0:
        return fast, meshes
    kept = fast.copy()
    kept[open_rooms] = False
    return kept, [mesh for r, mesh in zip(np.flatnonzero(fast).tolist(), meshes, strict=True) if kept[r]]


def _open_shells(meshes: list[FlatMesh]) -> B8:
    """Which of ``meshes`` have an edge (corners merged by position within each mesh) not crossed once each
    way: not closed, oriented and 2-manifold (an edge of four faces, as where a solid touches itself along a
    line, is not). All at once: the corners merged by (mesh, position), so no two meshes share one."""
    if not meshes:
        return np.zeros(0, dtype=bool)
    counts = np.array([mesh[0].shape[0] for mesh in meshes])
    owner = np.repeat(np.arange(len(meshes)), counts)
    positions = np.concatenate([mesh[0] for mesh in meshes]).astype(np.float64)
    vertex = row_ids(np.column_stack([owner, positions]))  # corners merged by (mesh, position)
    first = np.cumsum(counts) - counts
    corner = np.concatenate([mesh[3].astype(np.int64) + at for mesh, at in zip(meshes, first.tolist(), strict=True)])
    tri = vertex[corner].reshape(-1, 3)
    n = int(vertex.max(initial=0)) + 1
    start, end = tri.reshape(-1), tri[:, [1, 2, 0]].reshape(-1)
    forward, backward = start * n + end, end * n + start
    edges = np.sort(forward)
    # Each edge once, and its reverse once: the edges one way are those the other way, none repeated.
    once = np.searchsorted(edges, forward, "right") - np.searchsorted(edges, forward, "left") == 1
    back = np.searchsorted(edges, backward, "right") - np.searchsorted(edges, backward, "left") == 1
    bad = np.zeros(len(meshes), dtype=bool)
    mesh_of = np.empty(n, dtype=np.int64)
    mesh_of[vertex] = owner
    bad[mesh_of[start[~(once & back)]]] = True
    return bad


def _notch_clashes(w: Walls, o: Openings, h: Hatches, sides: FlushSides, notches: Notches, bad: B8) -> None:
    """Rooms with a notch that the panels do not match up with the rest, marked in ``bad``: a room with a
    hatch flush with its walls whose sides were not placed on walls; a notch flush with the cavity's corner
    where an opening of its wall or of the wall across needs vertices on that corner's line
    (:func:`~.near.near_borders`), which the notch's jamb would need too. (A flush hatch in a slab the notch
    reaches, or with a side on the notch's wall or a wall meeting that one, is left to the closed check, as
    notches are, :func:`_closed_or_left`: the faces get the flush sides' vertices, and where the notch's would
    need one more the shell has a crack there and the room goes to the booleans.)"""
    # Only rooms with both (each of which the booleans would otherwise build): a short loop over their notches.
    for k in np.flatnonzero(np.isin(notches.room, h.room[h.flush])).tolist():
        r = int(notches.room[k])
        if not np.isin(np.flatnonzero(h.flush & (h.room == r)), sides.hatch).all():
            bad[r] = True
    ends = []
    for e, poly in zip(notches.edge.tolist(), notches.poly, strict=True):
        if poly[:, 0].min() == w.inner0[e]:
            ends.append((e, True))
        if poly[:, 0].max() == w.inner1[e]:
            ends.append((e, False))
    if not ends:
        return
    near = near_borders(w, o)
    start = set(o.edge[near.left[1]].tolist())  # edges whose inner face's start needs vertices
    end = set(o.edge[near.right[1]].tolist())
    for e, at_start in ends:
        if (e in start or int(w.live_prev[e]) in end) if at_start else (e in end or int(w.live_nxt[e]) in start):
            bad[w.room[e]] = True
