"""Every room's triangles welded into flat-shaded indexed meshes (:func:`weld`).

One hash weld (meshoptimizer's ``generateVertexRemap`` over room, float32 position and normal, hashed
a cache-sized run of rooms at a time) makes flat-shaded indexed meshes. Before float32 each coordinate
keeps :data:`_KEPT_BITS` bits of mantissa, and one within :data:`_ZERO` of 0 is written as 0: a
corner reached two ways (a wall's start, the wall before's start plus its length) is one vertex, not
two a float32 step apart (a crack).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..shading import FlatMesh, cluster_rows, pack_normals, world_uvs
from .faces import Faces

__all__ = ["weld"]

B8 = npt.NDArray[np.bool_]


#: Coordinates (m) nearer 0 than this are written as 0 by :func:`weld`: far below anything a level draws.
#: A corner reached two ways differs by the float64 error of a point computed along a wall (~1e-16 per metre
#: of the scene's size); float32 keeps values near 0 apart in steps of ~1.2e-7 × the value, so two such
#: copies of a coordinate of 2e-9 (an apex where an outline's noise put a corner 1e-9 off an axis) were
#: two vertices, a crack, nearly always; at 1 µm, once in ~1,000 for a 10 m scene.
_ZERO = 1e-6
#: Mantissa bits a panel corner keeps before it is written as float32 (:func:`weld`): float32's 24 and 16
#: more, far above the float64 error of a corner computed along a wall (~1e-16 relative).
_KEPT_BITS = 40
_ROUND_BIT = np.uint64(1 << (52 - _KEPT_BITS - 1))
_KEEP_MASK = np.uint64(~((1 << (52 - _KEPT_BITS)) - 1) & 0xFFFFFFFFFFFFFFFF)


def weld(faces: Faces, fast: B8) -> list[FlatMesh]:
    room = np.concatenate(faces.room).astype(np.int64, copy=False)
    # Triangles sorted by room, stably (radix sort on 16-bit room numbers where they fit).
    order = np.argsort(room.astype(np.uint16) if fast.size <= 1 << 16 else room, kind="stable")
    room = room[order]
    m = room.size
    # Corners as float32 (what is written) straight from each batch, -0.0 made 0.0 on the way (+ 0.0 in
    # float64, then rounded) so both hash alike: no (m, 3, 3) float64 copies of them all. A coordinate
    # within _ZERO of 0 is written as 0: a corner on an axis is reached two ways (one wall's start,
    # the wall before it's start plus its length along its turned tangent), the second 1e-16 off,
    # which float32 keeps apart from 0.0 (a crack where it is 0.0 in the other faces).
    # Before float32, each coordinate is rounded to _KEPT_BITS bits of mantissa: a corner reached two ways
    # (1e-15 apart) next to a float32 rounding midpoint (a turned level's corners sit on them) became two
    # float32 values a step apart, a crack; within 2^-41 of a midpoint both now land on it, one value.
    corners = np.empty((m, 3, 3), dtype=np.float32)
    at = 0
    for part in faces.corners:
        block = corners[at : at + part.shape[0]]
        bits = np.add(part, 0.0).view(np.uint64)
        bits += _ROUND_BIT
        bits &= _KEEP_MASK
        np.copyto(block, bits.view(np.float64), casting="same_kind")
        block[np.abs(block) < _ZERO] = 0.0
        at += part.shape[0]
    normal = np.concatenate(faces.normal)  # in batch order: packed first, then the packed keys sorted
    # Key (24 bytes a corner): the face normal packed to 2^-19 steps, the float32 position, the room;
    # written a field (a coordinate) at a time over all corners, so numpy's copies run along the
    # corners, not along one corner's 2 or 3 values.
    keys = np.empty((m, 3, 6), dtype=np.uint32)
    keys.view(np.int64)[:, :, 0] = np.repeat(np.take(pack_normals(normal), order), 3).reshape(m, 3)
    sorted_corners = np.take(corners, order, axis=0)
    del corners
    for c in range(3):
        keys.view(np.float32)[:, :, 2 + c] = sorted_corners[:, :, c]
    del sorted_corners
    keys[:, :, 5] = np.repeat(room.astype(np.uint32), 3).reshape(m, 3)
    rows = keys.reshape(-1, 6)
    rooms_fast = np.flatnonzero(fast)
    tri_start = np.searchsorted(room, rooms_fast)
    # The room is a key column and triangles are sorted by room: no cluster spans two rooms.
    ids, first = cluster_rows(rows, 3 * tri_start)
    # Ids follow first occurrence: each room's vertices are contiguous. Corner i is a corner of
    # triangle i // 3 (no (3m, 3) repeat of the normals: page faults).
    tri = first // 3
    p32 = np.empty((first.size, 3), dtype=np.float32)  # a coordinate at a time (whole rows: an (n, 6) temporary)
    for c in range(3):
        np.take(rows.view(np.float32)[:, 2 + c], first, out=p32[:, c])
    vnormals = np.take(normal, np.take(order, tri), axis=0)
    vnormals += 0.0  # -0.0 written as 0.0
    n32, uv32 = vnormals.astype(np.float32), world_uvs(p32, vnormals)
    vert_room = room[tri]
    vert_start = np.searchsorted(vert_room, rooms_fast)
    vert_end = np.searchsorted(vert_room, rooms_fast, side="right")
    tri_end = np.searchsorted(room, rooms_fast, side="right")
    base = np.zeros(fast.size, dtype=np.int64)
    base[rooms_fast] = vert_start
    ids -= np.repeat(base[room], 3)
    indices = ids.reshape(-1, 3)
    indices32 = indices.astype(np.uint32)
    out: list[FlatMesh] = []
    for v0, v1, t0, t1 in zip(
        vert_start.tolist(), vert_end.tolist(), tri_start.tolist(), tri_end.tolist(), strict=True
    ):
        out.append((p32[v0:v1], n32[v0:v1], uv32[v0:v1], indices32[t0:t1]))
    return out
