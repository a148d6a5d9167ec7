"""Which way a portal faces: every quad turned so that its right-hand normal points into ``to``.

The format (docs/scene-format.md) says a portal quad's right-hand normal points into ``to``, and
everything after ingest relies on it: the PVS flow walks a directed portal only towards the side
its plane faces, so a quad wound the other way round hid every cell past it (a straight corridor
whose doorways were all wound backwards saw one room ahead instead of all of them), and the
meta's ``plane`` pointed into ``from``. Descriptions are written by hand and by other tools, so a
quad wound the other way is read the other way round (:func:`face_portals`), not trusted.

The side is judged from the cells themselves, not from their boxes' centres (a room nested in a
U, or rooms turned off the axes, put the centres on the wrong sides). A cell votes when it lies
mostly on one side of the portal's plane: at most a quarter as far on the other side as on that
one, measured over its room's corners (floor outline at floor and ceiling height) or, for a cell
without a room, its geometry's convex hull. ``from`` lying behind and ``to`` in front count for
the quad as wound, the contrary against it. An L-shaped room whose inner corner holds the door
straddles the plane and does not vote; the room on the other side then decides. Only when
neither cell votes either way do the box centres decide, and only when both lie clearly on the
wrong sides; otherwise the quad stays as wound.

Cost: one numpy pass over (portal, cell corner) pairs, in bounded chunks (~1 ms for the
1,462 portals of a 1,032-cell office).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..model.ir import Cell, Portal

__all__ = ["face_portals"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: A cell lies on one side of a plane when it reaches at most this fraction as far onto the other.
_MOSTLY = 0.25
#: Cells with more points than this are reduced to their convex hull's (extents along any
#: direction are the hull's): a dense asset touching many portals stays cheap.
_HULL_ABOVE = 256
#: (portal, point) pairs evaluated at once: bounds the temporary arrays (~100 MB at most).
_CHUNK = 1 << 22


def face_portals(cells: Sequence[Cell], portals: Sequence[Portal]) -> tuple[list[Portal], list[int]]:
    """``portals`` with every quad whose normal points into ``from`` turned round (same first corner,
    the other three in reverse order), and the list positions of those turned. Portals naming a
    cell not in ``cells`` are left as they are (validation reports them)."""
    index = {c.cell_id: i for i, c in enumerate(cells)}
    known = [k for k, p in enumerate(portals) if p.from_cell in index and p.to_cell in index]
    if not known:
        return list(portals), []
    quads = np.stack([portals[k].quad for k in known]).astype(np.float64)
    frm = np.array([index[portals[k].from_cell] for k in known], np.int64)
    to = np.array([index[portals[k].to_cell] for k in known], np.int64)
    normal = np.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-300)
    offset = -np.einsum("ij,ij->i", normal, quads.mean(axis=1))

    points, starts, counts = _cell_points(cells)
    lo_f, hi_f = _extents(normal, offset, frm, points, starts, counts)
    lo_t, hi_t = _extents(normal, offset, to, points, starts, counts)
    behind_f, front_f = _mostly(lo_f, hi_f)
    behind_t, front_t = _mostly(lo_t, hi_t)
    votes = behind_f.astype(np.int64) - front_f + front_t - behind_t
    # Neither cell decides: their centres, when both lie clearly on the wrong sides.
    centre, valid = _centres(points, starts, counts)
    reach = np.maximum(np.abs(hi_f - lo_f), np.abs(hi_t - lo_t))
    c_f = np.einsum("ij,ij->i", centre[frm], normal) + offset
    c_t = np.einsum("ij,ij->i", centre[to], normal) + offset
    clear = 1e-3 * np.maximum(reach, 1e-9)
    by_centres = valid[frm] & valid[to] & (c_f > clear) & (c_t < -clear)
    turn = (votes < 0) | ((votes == 0) & by_centres)

    out = list(portals)
    turned = []
    for j in np.flatnonzero(turn).tolist():
        k = known[j]
        p = portals[k]
        out[k] = Portal(p.index, p.from_cell, p.to_cell, np.ascontiguousarray(p.quad[[0, 3, 2, 1]]), p.one_way)
        turned.append(k)
    return out, turned


def _cell_points(cells: Sequence[Cell]) -> tuple[F64, I64, I64]:
    """Every cell's points, concatenated: a room's corners at floor and ceiling height, else its
    surfaces' vertices (their convex hull's past :data:`_HULL_ABOVE`). Returns (points, starts, counts)."""
    counts = np.zeros(len(cells), np.int64)
    rooms = [i for i, c in enumerate(cells) if c.room is not None]
    others: dict[int, F64] = {}
    for i, c in enumerate(cells):
        if c.room is None:
            others[i] = _surface_points(c)
            counts[i] = others[i].shape[0]
    floors = [cells[i].room.floor for i in rooms]  # type: ignore[union-attr]
    k = np.array([f.shape[0] for f in floors], np.int64)
    counts[rooms] = 2 * k
    starts = (np.cumsum(counts) - counts).astype(np.int64)
    points = np.zeros((int(counts.sum()), 3))
    if rooms:
        corners = np.concatenate(floors).astype(np.float64, copy=False)
        y = np.array([cells[i].room.y for i in rooms])  # type: ignore[union-attr]
        h = np.array([cells[i].room.height for i in rooms])  # type: ignore[union-attr]
        room_of = np.repeat(np.arange(len(rooms)), k)
        bottom = starts[rooms][room_of] + np.arange(corners.shape[0]) - np.repeat(np.cumsum(k) - k, k)
        for at, level in ((bottom, y[room_of]), (bottom + k[room_of], (y + h)[room_of])):
            points[at] = np.column_stack([corners[:, 0], level, corners[:, 1]])
    for i, pts in others.items():
        points[starts[i] : starts[i] + counts[i]] = pts
    return points, starts, counts


def _surface_points(cell: Cell) -> F64:
    """A cell's surface vertices (float64), their convex hull's when there are many."""
    own = [s.positions for s in cell.surfaces if s.positions.shape[0]]
    pts: F64 = np.concatenate(own).astype(np.float64) if own else np.zeros((0, 3))
    if pts.shape[0] > _HULL_ABOVE:
        from manifold3d import Manifold  # the compiler's boolean engine: a compiled QuickHull

        hull = np.asarray(Manifold.hull_points(pts).to_mesh().vert_properties[:, :3], np.float64)
        if hull.shape[0]:
            pts = hull
    return pts


def _extents(normal: F64, offset: F64, cell: I64, points: F64, starts: I64, counts: I64) -> tuple[F64, F64]:
    """Per portal, the least and greatest signed distance of ``cell``'s points from its plane
    (0, 0 for a cell without points: it then votes neither way)."""
    n = cell.shape[0]
    lo, hi = np.zeros(n), np.zeros(n)
    k = counts[cell]
    has = np.flatnonzero(k > 0)
    done = 0
    while done < has.shape[0]:  # chunks of at most _CHUNK pairs (at least one portal)
        sizes = k[has[done:]]
        take = max(1, int(np.searchsorted(np.cumsum(sizes), _CHUNK, side="right")))
        rows = has[done : done + take]
        kk = k[rows]
        first = np.cumsum(kk) - kk
        which = np.repeat(np.arange(rows.shape[0]), kk)
        at = np.arange(int(kk.sum())) - first[which] + starts[cell[rows]][which]
        s = np.einsum("ij,ij->i", points[at], normal[rows][which]) + offset[rows][which]
        lo[rows] = np.minimum.reduceat(s, first)
        hi[rows] = np.maximum.reduceat(s, first)
        done += take
    return lo, hi


def _mostly(lo: F64, hi: F64) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Whether the cell lies mostly behind, or mostly in front of, the plane."""
    behind = (lo < 0) & (hi <= _MOSTLY * -lo)
    front = (hi > 0) & (-lo <= _MOSTLY * hi)
    return behind, front


def _centres(points: F64, starts: I64, counts: I64) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Each cell's box centre, and whether it has points at all."""
    valid = counts > 0
    centre = np.zeros((counts.shape[0], 3))
    if valid.any():
        s = starts[valid]
        centre[valid] = (np.minimum.reduceat(points, s) + np.maximum.reduceat(points, s)) / 2
    return centre, valid
