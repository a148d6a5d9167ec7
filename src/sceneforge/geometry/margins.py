"""Close the boolean path's cutting margins: no 0.1 mm slivers where a cutting prism overhung a face.

A cutting prism (:func:`~sceneforge.geometry.doors.door_cutters`) reaches ``margin`` (0.1 mm)
past each face of the wall or slab it cuts, so that manifold never meets a coplanar face. Where
that overhang lies on another face — the floor's top face in front of a doorway standing on it,
the wall across when a doorway runs into a corner — manifold's result splits the face along the
prism's end plane, 0.1 mm from the edge it belongs on: strips of sliver triangles 0.1 mm high,
and 0.1 mm notches in the wall across.

:func:`close_margins` moves every vertex lying on a prism's end plane (or on a jamb the cutter
moved past the cavity's corner) back by the margin, onto the face it overhung, where the boolean
made its partner (the corner of the opening on that face), merges the two, and drops the
triangles that collapse: an edge collapse along the 0.1 mm edge joining them. A vertex the boolean
left strictly inside a margin, on no margin plane, moves onto the face too: at a doorway standing on
the floor run into a cavity corner, the sill coplanar with the floor's top, manifold sometimes puts
one on the floor 0.085 mm into the strip in front of the doorway, on the wall across (whether it
does depends on the room's other cutters); left there, the notch folded over it as it closed (an
edge of four faces), and the boolean's mesh was kept with its slivers. A vertex also lying
on another face of the room or a prism stays on it: where the cavity's corner is not square (a
Voronoi room's), the end's margin notches the wall across at a slant and the jamb moved past the
corner is parallel to no face (it is found by its distance to the corner instead), so the vertex
moves along the wall across, or to where two jambs' faces meet, into the corner — the shortest
move that reaches every face it overhung (:func:`_moves`). Where the overhang
cut into a slab (a doorway from the slab's underside), the moved vertex has no partner and the
notch simply closes. A triangle left flat (a moved vertex come to lie on an edge) is flipped away
against its neighbour, or where flips go round in circles, an edge of it is collapsed
(:func:`~.slivers.remove_slivers`). The result is kept only when it is still closed and oriented,
has no flat triangle, and grew by no more than the notches took; otherwise the boolean's own mesh
is returned, slivers and all: never a worse solid.

Not closed yet (the mesh is returned as it was): a fan of triangles that the move lays flat along
one line, as where a doorway's top is flush with the ceiling's underside next to a window through
it (about 1 room in 400 of random rooms with openings); and a face the boolean left with vertices
of its own inside it near such a corner (two doorways' sills inside the floor slab meeting at a
slanted cavity corner: 1 of 143 boolean rooms of split-level Voronoi plans), which the moves fold.
A notch whose closing would pinch the solid (an edge of four faces) is never closed either: the cutters
part the one such case the levels drew (a doorway into a slab whose jamb a flush hatch ends at:
:func:`~sceneforge.geometry.doors.door_cutters` draws that jamb back by ``PART``).

Cost: one (vertices × margin planes) distance test and a partner search per moved vertex, in
numpy, in chunks of bounded memory; a shell where either would pass :data:`~.slivers.WORK`
comparisons keeps its margins (thousands of openings in one room). The vertices on a margin plane
are tested against the other planes too (one 3 × 3 solve each where the sum does not do), and
keep the sums where that would pass :data:`~.slivers.WORK`. Rooms reach this path only when the
panel path (:mod:`sceneforge.geometry.panels`) cannot build them.
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt

from ..model.ir import Room
from .doors import inner_corners
from .outline import wall_edges_of
from .slivers import WORK, is_closed, remove_slivers, signed_volume

__all__ = ["close_margins"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: How close (m) a vertex must lie to a prism's end plane, and to its partner once moved: manifold's
#: intersections are exact to ~1e-15 relative, so this only has to absorb float64 rounding.
_ON = 1e-8
#: Elements of the (rows, columns, 3) comparisons made at a time (bounds their memory).
_CHUNK = 1 << 18
#: Farthest (in margins) a vertex moves to close a margin: a doorway run into a cavity corner of 6°
#: moves the vertex where its end meets the wall across ~10 margins along that wall.
_REACH = 20.0


def close_margins(vertices: F64, triangles: I64, prisms: F64, room: Room, margin: float) -> tuple[F64, I64]:
    """The boolean's shell ``(vertices (n, 3), triangles (m, 3))`` of ``room`` with its cutting margins closed.

    ``prisms`` (h, 8, 3) are the prisms that were cut, world space: corners 0-3 on one end plane,
    4-7 the same corners on the other, each end ``margin`` past the face of its slab (and a jamb
    that reaches the cavity's corner ``margin`` past the wall across).
    """
    if prisms.shape[0] == 0 or triangles.shape[0] == 0:
        return vertices, triangles
    (normals, offsets, shift, lo, hi), held = _margin_planes(prisms, room, margin)
    if normals.shape[0] == 0 or vertices.shape[0] * normals.shape[0] > WORK:
        return vertices, triangles
    scale = 1.0 + float(np.abs(vertices).max())
    move = np.zeros_like(vertices)
    found: list[I64] = []
    planes: list[npt.NDArray[np.bool_]] = []
    rows = max(1, _CHUNK // normals.shape[0])
    for start in range(0, vertices.shape[0], rows):  # (rows, k, 3) at a time: bounded memory
        v = vertices[start : start + rows]
        gap = v @ normals.T - offsets
        inside = _within(v, lo, hi, 2.0 * margin)
        on = (np.abs(gap) <= _ON * scale) & inside
        # A vertex on two margin planes (an end and a jamb, at the corner) moves off both.
        move[start : start + rows] = on.astype(np.float64) @ (shift[:, None] * normals)
        # A vertex of the boolean's own strictly inside a margin (between the plane and the face it overhung),
        # on no margin plane, goes onto that face too: left there, the notch folds over it as it closes.
        short = shift - gap  # how far the vertex still is from the face, along the normal
        strip = inside & (gap * shift > _ON * scale * np.abs(shift)) & (short * shift > _ON * scale * np.abs(shift))
        lone = strip.any(axis=1) & ~on.any(axis=1)
        move[start : start + rows][lone] = (strip[lone] * short[lone]) @ normals
        hit = np.flatnonzero(on.any(axis=1))
        found.append(start + hit)
        planes.append(on[hit])
    on_vertex, on_planes = np.concatenate(found), np.concatenate(planes)
    # Those moves again where the planes meet at a slant (:func:`_moves`), within the bound on work.
    if on_vertex.size * held[0].shape[0] <= WORK:
        rows = max(1, _CHUNK // max(1, held[0].shape[0]))
        for start in range(0, on_vertex.size, rows):
            chunk = on_vertex[start : start + rows]
            move[chunk] = _moves(
                vertices[chunk], move[chunk], on_planes[start : start + rows], normals, shift, held, margin, scale
            )
    moved = np.flatnonzero(np.abs(move).max(axis=1) > 0.0)
    if moved.size == 0 or moved.size * vertices.shape[0] > WORK:
        return vertices, triangles
    out = vertices.copy()
    out[moved] += move[moved]
    index = _coincident(out, moved, _ON * scale)
    merged = index[triangles]
    keep = (merged[:, 0] != merged[:, 1]) & (merged[:, 1] != merged[:, 2]) & (merged[:, 0] != merged[:, 2])
    unfolded = _without_fins(merged[keep])
    flipped = _flip_flat(out, unfolded, scale)
    if flipped is None:  # flips went round in circles: collapse the flat triangles' edges instead
        out, flipped = remove_slivers(out, unfolded)
        if flipped is unfolded:
            return vertices, triangles
    if not is_closed(flipped) or _flat(out, flipped, scale):
        return vertices, triangles
    # Closing a notch puts back what the overhang took: the volume grows, by at most every prism's
    # surface times the margin.
    spill = _surface(prisms) * margin
    grown = signed_volume(out, flipped) - signed_volume(vertices, triangles)
    if not -1e-9 * scale**3 <= grown <= spill + 1e-9 * scale**3:
        return vertices, triangles
    used, compact = np.unique(flipped, return_inverse=True)
    return out[used], compact.reshape(-1, 3).astype(np.int64)


def _room_planes(room: Room) -> tuple[F64, F64]:
    """The room's face planes (unit normals (r, 3), offsets (r,)): each wall's outer and inner face
    (the outline's edges, and the same edges ``wall_thickness`` in: the cavity is the mitred offset)
    and the four slab faces."""
    floor = np.asarray(room.floor, dtype=np.float64)
    edge = np.roll(floor, -1, axis=0) - floor
    length = np.linalg.norm(edge, axis=1)
    keep = length > 0.0
    tangent = edge[keep] / length[keep, None]
    # The outline runs counter-clockwise in (x, z) (positive shoelace sum): outwards is its right.
    out = np.stack([tangent[:, 1], np.zeros(len(tangent)), -tangent[:, 0]], axis=1)
    outer = np.einsum("ek,ek->e", out[:, [0, 2]], floor[keep])
    t, y, h = room.wall_thickness, room.y, room.height
    normals = np.concatenate([out, out, np.tile([0.0, 1.0, 0.0], (4, 1))])
    offsets = np.concatenate([outer, outer - t, [y, y + t, y + h - t, y + h]])
    return normals, offsets


def _margin_planes(
    prisms: F64, room: Room, margin: float
) -> tuple[tuple[F64, F64, F64, F64, F64], tuple[F64, F64, F64, F64]]:
    """Every face plane of the prisms (their two ends and four sides) that lies ``margin`` beyond a
    parallel face of the room — the ends, and a jamb moved past the cavity's corner (past one that
    is not square: ``margin`` from the corner) — as unit normals (k, 3), offsets (k,), the shift
    (k,) along the normal onto that face, and the box (lo, hi) of the prism it belongs to; and the
    planes a moved vertex stays on (:func:`_moves`), as normals, offsets and boxes: the room's faces
    (anywhere) and the prisms' other upright or level faces (within their boxes). Not a slanted
    side: where the cutter moved a shaped opening's corner past the cavity's corner, the side
    through it is tilted by that move."""
    a, b = prisms[:, :4], prisms[:, 4:]
    origin = [a[:, 0], b[:, 0], *(a[:, k] for k in range(4))]
    normal = [np.cross(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]), np.cross(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])]
    normal += [np.cross(a[:, (k + 1) % 4] - a[:, k], b[:, k] - a[:, k]) for k in range(4)]
    n, o = np.concatenate(normal), np.concatenate(origin)
    length = np.linalg.norm(n, axis=1)
    valid = length > 1e-12
    n = n[valid] / length[valid, None]
    d = np.einsum("kx,kx->k", n, o[valid])
    owner = np.tile(np.arange(prisms.shape[0]), 6)[valid]
    room_n, room_d = _room_planes(room)
    dot = n @ room_n.T  # (k, r)
    parallel = np.abs(dot) >= 1.0 - 1e-12
    gap = np.sign(dot) * room_d - d[:, None]  # the room plane's offset along n, less the prism plane's
    scale = 1.0 + float(np.abs(prisms).max())
    hit = parallel & (np.abs(np.abs(gap) - margin) <= 1e-9 * scale)
    box_lo, box_hi = prisms.min(axis=1), prisms.max(axis=1)
    # A jamb moved past a corner that is not square is parallel to no face of the room: it lies
    # ``margin`` from the corner's vertical line (the cavity's or the outline's) instead.
    # Only upright planes that no face explains are tested (a square corner's jamb keeps its shift).
    found = hit.any(axis=1)
    shift = gap[np.arange(n.shape[0]), np.argmax(hit, axis=1)]
    rest = np.flatnonzero(~found & (np.abs(n[:, 1]) <= 1e-12))
    corners = _corners(room)
    to_corner = n[rest][:, [0, 2]] @ corners.T - d[rest, None]  # (k, c): each corner's offset along n
    by_corner = np.abs(np.abs(to_corner) - margin) <= 1e-9 * scale
    by_corner &= _within(corners, box_lo[owner[rest]][:, [0, 2]], box_hi[owner[rest]][:, [0, 2]], 2.0 * margin).T
    near = by_corner.any(axis=1)
    found[rest[near]] = True
    shift[rest[near]] = to_corner[near, np.argmax(by_corner[near], axis=1)]
    shift = shift[found]
    upright_or_level = ~found & ((np.abs(n[:, 1]) <= 1e-12) | (np.abs(n[:, 1]) >= 1.0 - 1e-12))
    everywhere = np.full((room_n.shape[0], 3), np.inf)
    held = (
        np.concatenate([room_n, n[upright_or_level]]),
        np.concatenate([room_d, d[upright_or_level]]),
        np.concatenate([-everywhere, box_lo[owner[upright_or_level]]]),
        np.concatenate([everywhere, box_hi[owner[upright_or_level]]]),
    )
    n, d, owner = n[found], d[found], owner[found]
    # One plane per face however many prisms share it (two doorways in one wall share their ends),
    # within the box of all of them: a vertex moves off each plane once.
    key = np.round(np.column_stack([n, d / scale]) * 1e9).astype(np.int64)
    _, first, group = np.unique(key, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    lo = np.full((first.size, 3), np.inf)
    hi = np.full((first.size, 3), -np.inf)
    np.minimum.at(lo, group, box_lo[owner])
    np.maximum.at(hi, group, box_hi[owner])
    return (n[first], d[first], shift[first], lo, hi), held


def _corners(room: Room) -> F64:
    """(c, 2): the outline's corners and the cavity's mitred ones, as the cutters place jambs by them
    (:func:`~sceneforge.geometry.doors.inner_corners`), in plan (x, z)."""
    edges = wall_edges_of([np.asarray(room.floor, dtype=np.float64)])
    count = edges.start.shape[0]
    thickness = np.full(count, room.wall_thickness)
    offset, sound, _, _ = inner_corners(-edges.normal, np.array([0, count]), thickness)
    out: F64 = np.concatenate([edges.start, (edges.start + offset)[sound]])
    return out


def _within(v: F64, lo: F64, hi: F64, slack: float) -> npt.NDArray[np.bool_]:
    """(rows, k): whether each vertex lies in each box (lo, hi) grown by ``slack``."""
    inside = (v[:, None, :] >= lo - slack) & (v[:, None, :] <= hi + slack)
    return np.asarray(inside.all(axis=2), dtype=np.bool_)


def _moves(
    v: F64,
    plain: F64,
    on: npt.NDArray[np.bool_],
    normals: F64,
    shift: F64,
    held: tuple[F64, F64, F64, F64],
    margin: float,
    scale: float,
) -> F64:
    """How far each vertex of ``v`` moves: off every margin plane it lies on (``on``), onto the face beyond.

    The move is ``plain``, the sum of those planes' shifts, where that reaches each face and keeps the
    vertex on every plane of ``held`` (:func:`_margin_planes`) it lies on, as at a square corner.
    Where it does not, the vertex moves the shortest way that does: where the wall across meets a
    prism's end at a slant (a doorway run into a cavity corner that is not square), along that wall
    into the corner; where two margin planes meet at a slant (doorways run into one corner from both
    walls), to where both faces meet; where one plane is found twice, its two prisms wound opposite
    ways, as far as once (the sum moved it twice as far). A move no such way allows (the planes
    disagree, or it would reach past ``_REACH`` margins) stays the sum."""
    held_n, held_d, held_lo, held_hi = held
    stays = (np.abs(v @ held_n.T - held_d) <= _ON * scale) & _within(v, held_lo, held_hi, 2.0 * margin)
    leaves = (stays & (np.abs(plain @ held_n.T) > _ON * scale)).any(axis=1)
    leaves |= (on & (np.abs(plain @ normals.T - shift) > _ON * scale)).any(axis=1)
    if not leaves.any():
        return plain
    rows = np.flatnonzero(leaves)
    on_k, stays = on[rows], stays[rows]
    # The least move with a·m = b for every plane a vertex is on (b its shift, 0 for a plane it stays
    # on): m = pinv(AᵀA) Aᵀb, one 3 × 3 system per vertex.
    gram = np.einsum("rk,ki,kj->rij", on_k.astype(np.float64), normals, normals)
    gram += np.einsum("rk,ki,kj->rij", stays.astype(np.float64), held_n, held_n)
    rhs = (on_k * shift) @ normals
    m = np.einsum("rij,rj->ri", np.linalg.pinv(gram, rcond=1e-9), rhs)
    reached = (np.abs(m @ normals.T - shift) <= _ON * scale) | ~on_k
    kept = (np.abs(m @ held_n.T) <= _ON * scale) | ~stays
    ok = reached.all(axis=1) & kept.all(axis=1) & (np.linalg.norm(m, axis=1) <= _REACH * margin)
    out = plain.copy()
    out[rows[ok]] = m[ok]
    return out


def _surface(prisms: F64) -> float:
    """The prisms' total surface area: two quads and four parallelograms each."""
    a, b = prisms[:, :4], prisms[:, 4:]
    ends = np.linalg.norm(np.cross(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]), axis=1)  # 2 × each end's area
    sides = sum(np.linalg.norm(np.cross(a[:, (k + 1) % 4] - a[:, k], b[:, k] - a[:, k]), axis=1) for k in range(4))
    return float(np.sum(ends + sides))


def _coincident(vertices: F64, moved: I64, reach: float) -> I64:
    """Per vertex, the index it merges into: a moved vertex into the lowest-numbered still vertex
    within ``reach`` of it, else into the lowest-numbered moved one (itself at worst); a still vertex
    into itself. Every step goes to a still vertex or a lower number, so chains end."""
    n = vertices.shape[0]
    index = np.arange(n)
    still = np.ones(n, dtype=bool)
    still[moved] = False
    rows = max(1, _CHUNK // n)
    for start in range(0, moved.size, rows):
        chunk = moved[start : start + rows]
        near = np.abs(vertices[chunk, None, :] - vertices[None, :, :]).max(axis=2) <= reach
        near_still = near & still
        has_still = near_still.any(axis=1)
        index[chunk] = np.where(has_still, np.argmax(near_still, axis=1), np.argmax(near, axis=1))
    while not np.array_equal(again := index[index], index):
        index = again
    return index


def _flip_flat(vertices: F64, triangles: I64, scale: float) -> I64 | None:
    """``triangles`` with every flat triangle (three distinct corners on one line, left where a moved
    vertex came to lie on an edge) flipped away against its neighbour across its longest edge:
    the loop p→d→q→m of the two becomes (p, d, m) and (d, q, m), the same surface without the
    flat one. None when a flat triangle has no such neighbour (the mesh is not closed there) or
    the flips do not end within four per flat triangle found at the start."""
    t = triangles.copy()
    flat = _flat_rows(vertices, t, scale)
    if flat.size == 0:
        return t
    if flat.size * t.shape[0] > WORK:
        return None
    owner = {(int(t[r, k]), int(t[r, (k + 1) % 3])): r for r in range(t.shape[0]) for k in range(3)}
    # A flip changes rows i and j only, and whether a row is flat depends on its corners alone: those two
    # are tested again, not every row (that made each flip cost the whole shell: a 1,000-gon room far out,
    # 7,300 flips of 2.4 ms, 17 s). The flat row taken next is still the lowest, as before.
    is_flat = np.zeros(t.shape[0], bool)
    is_flat[flat] = True
    waiting = flat.tolist()  # a heap (sorted already) of rows flat when pushed; checked against is_flat
    for _ in range(4 * flat.size + 4):
        i = waiting[0]
        p = vertices[t[i]]
        k = int(np.argmax(np.linalg.norm(p[[1, 2, 0]] - p, axis=1)))  # the longest edge p→q
        pv, qv, mv = (int(v) for v in (t[i, k], t[i, (k + 1) % 3], t[i, (k + 2) % 3]))
        j = owner.get((qv, pv))
        if j is None or j == i:
            return None
        d = next(int(v) for v in t[j] if v not in (pv, qv))
        for row in (i, j):
            for e in range(3):
                owner.pop((int(t[row, e]), int(t[row, (e + 1) % 3])), None)
        t[i], t[j] = (pv, d, mv), (d, qv, mv)
        for row in (i, j):
            for e in range(3):
                owner[(int(t[row, e]), int(t[row, (e + 1) % 3]))] = row
        now = _flat_rows(vertices, t[[i, j]], scale)
        for row, flat_now in zip((i, j), (0 in now, 1 in now), strict=True):
            if flat_now and not is_flat[row]:
                heapq.heappush(waiting, row)
            is_flat[row] = flat_now
        while waiting and not is_flat[waiting[0]]:
            heapq.heappop(waiting)
        if not waiting:
            return t
    return None


def _flat_rows(vertices: F64, triangles: I64, scale: float) -> I64:
    p = vertices[triangles]
    area2 = np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    # Or a corner as near its opposite side as vertices merge (``_ON``): a vertex moved onto a
    # cavity's corner line that the boolean's own corner, rounded apart from it, also lies on.
    longest = np.linalg.norm(p[:, [1, 2, 0]] - p, axis=2).max(axis=1)
    return np.flatnonzero((area2 <= 1e-12 * scale * scale) | (area2 <= _ON * scale * longest))


def _without_fins(triangles: I64) -> I64:
    """``triangles`` less every pair that is one triangle twice, wound both ways (a collapsed notch's
    two sides left back to back: no volume, and no face a renderer should draw)."""
    key = np.sort(triangles, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    single: I64 = triangles[counts[inverse.reshape(-1)] == 1]
    return single


def _flat(vertices: F64, triangles: I64, scale: float) -> bool:
    """Whether any triangle has (next to) no area: three distinct corners on one line."""
    return bool(_flat_rows(vertices, triangles, scale).size)
