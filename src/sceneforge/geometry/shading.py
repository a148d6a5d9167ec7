"""Flat shading and world-scaled UVs for many generated meshes at once.

Boolean output shares a vertex between every triangle around it, whatever their planes.
For flat shading each vertex is split once per distinct face normal meeting at it: the
triangles are de-indexed, given their face normals, and re-welded on the key
(vertex, quantized normal), so coplanar triangles still share vertices and hard edges get
one copy per side. UVs are a planar projection along the normal's dominant axis, one UV
unit per metre, oriented so that a texture reads upright and unmirrored seen from the
side the face points to (glTF's v grows downwards, so v = -y on walls).

All meshes of a build are processed in one pass over concatenated arrays (three
``np.unique`` calls in total), so the cost is O(m log m) in the total triangle count m
with no per-mesh numpy overhead: 1,000 box rooms with doorways (85k triangles) take ~80 ms here.

:func:`cluster_rows` numbers equal rows of a key table (meshoptimizer's hash), a cache-sized run
of groups at a time: the panel path's weld and the weld pass both use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ..arrays import distinct

__all__ = ["FlatMesh", "cluster_rows", "flat_shade", "pack_normals", "world_uvs"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
FArray = TypeVar("FArray", npt.NDArray[np.float32], npt.NDArray[np.float64])
I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]

#: Face normals are compared after rounding to 2⁻¹⁹ (~2e-6): planar faces of generated
#: geometry agree to ~1e-12, and three 21-bit fields pack into one int64 key.
_NORMAL_STEPS = 1 << 19

FlatMesh = tuple[F32, F32, F32, U32]
"""(positions (n, 3) float32, normals (n, 3) float32, uvs (n, 2) float32, indices (m, 3) uint32)."""


#: Rows hashed per meshoptimizer call by :func:`cluster_rows` (whole groups, so at least this many
#: unless the rows run out): the hash table (~5–10 bytes a row) then stays in the CPU's cache. 674k
#: rows of 36 bytes: 84 ms in one call, 13 ms in 16k-row chunks, the same ids.
_CHUNK_ROWS = 1 << 14


def cluster_rows(keys: npt.NDArray[np.generic], group_start: I64 | None = None) -> tuple[I64, I64]:
    """Cluster equal rows of ``keys`` (n, k), row size a multiple of 4 bytes.

    Returns ``remap`` (n,) cluster id per row, ids numbered in order of first occurrence, and
    ``first`` (u,) the row of each cluster's first occurrence.

    ``group_start``: ascending first rows (from 0) of runs of rows that no cluster spans (a key
    column that differs between runs guarantees it). Then the rows are hashed a chunk of whole
    runs at a time, each chunk's ids offset by the clusters before it: the same ids as one call.
    """
    import meshoptimizer

    keys = np.ascontiguousarray(keys)
    n = keys.shape[0]
    remap = np.empty(n, dtype=np.uint32)
    row_bytes = keys.itemsize * keys.shape[1]
    if group_start is None or n <= _CHUNK_ROWS:
        cuts = [0, n]
    else:
        starts = np.append(group_start, n)
        chosen = starts[np.searchsorted(starts, np.arange(0, n, _CHUNK_ROWS))]
        cuts = distinct(np.concatenate([[0], chosen, [n]])).tolist()
    identity = np.arange(max(b - a for a, b in pairwise(cuts)), dtype=np.uint32)
    offset = 0
    for a, b in pairwise(cuts):
        count = meshoptimizer.generate_vertex_remap(remap[a:b], identity[: b - a], b - a, keys[a:b], b - a, row_bytes)
        if offset:
            remap[a:b] += np.uint32(offset)
        offset += count
    # Ids are handed out in first-occurrence order: a row starts a cluster when its id is
    # above every id before it.
    running = np.maximum.accumulate(remap)
    starts_cluster = np.empty(n, dtype=bool)
    starts_cluster[0] = True
    starts_cluster[1:] = remap[1:] > running[:-1]
    return remap.astype(np.int64), np.flatnonzero(starts_cluster)


#: Rows per block in :func:`world_uvs` and :func:`pack_normals`: their temporaries stay small
#: enough to be reused from the heap, not mapped (and page-faulted) afresh for every call.
_BLOCK_ROWS = 1 << 16


def world_uvs(positions: FArray, normals: F64) -> FArray:
    """(n, 2) planar UVs in ``positions``' float type, 1 unit = 1 m, projected along each normal's
    dominant axis (found in ``normals``' float64).

    +x: (-z, -y), -x: (z, -y), +z: (x, -y), -z: (-x, -y), +y: (x, z), -y: (-x, z).
    Each UV is a coordinate or its negation, so float32 positions give exactly the float32 of
    the float64 UVs (rounding is symmetric about 0). Row by row independent: done in blocks.
    """
    out = np.empty((positions.shape[0], 2), dtype=positions.dtype)
    for i in range(0, positions.shape[0], _BLOCK_ROWS):
        _uvs_block(positions[i : i + _BLOCK_ROWS], normals[i : i + _BLOCK_ROWS], out[i : i + _BLOCK_ROWS])
    return out


def _uvs_block(positions: FArray, normals: F64, out: FArray) -> None:
    a = np.abs(normals)
    if np.isnan(a).any():
        axis = np.argmax(a, axis=1)
    else:  # the first largest component, as argmax picks it, by column comparisons (argmax over rows of 3 is slow)
        axis = (a[:, 1] > a[:, 0]).astype(np.intp)
        axis[a[:, 2] > np.maximum(a[:, 0], a[:, 1])] = 2
    on_x, on_y = axis == 0, axis == 1
    component = np.where(on_x, normals[:, 0], np.where(on_y, normals[:, 1], normals[:, 2]))
    x, y, z = positions[:, 0], positions[:, 1], positions[:, 2]
    # u = ±z on the x axis (- when the normal is +x), ±x elsewhere (- when the normal is negative).
    factor = np.where((component >= 0.0) != on_x, 1.0, -1.0).astype(positions.dtype)
    np.multiply(np.where(on_x, z, x), factor, out=out[:, 0])
    np.negative(y, out=out[:, 1])
    np.copyto(out[:, 1], z, where=on_y)


def pack_normals(normals: F64) -> I64:
    """One int64 key per (n, 3) unit normal: each component rounded to ``_NORMAL_STEPS`` steps (21 bits)."""
    out = np.empty(normals.shape[0], dtype=np.int64)
    for i in range(0, normals.shape[0], _BLOCK_ROWS):
        q = np.rint(normals[i : i + _BLOCK_ROWS] * _NORMAL_STEPS).astype(np.int64) + _NORMAL_STEPS
        out[i : i + _BLOCK_ROWS] = (q[:, 0] << 42) | (q[:, 1] << 21) | q[:, 2]
    return out


def flat_shade(vertices: Sequence[F64], triangles: Sequence[npt.NDArray[np.integer]]) -> list[FlatMesh]:
    """Flat-shade each mesh ``(vertices[i] (n_i, 3) float64, triangles[i] (m_i, 3) int)``.

    Triangles must be counter-clockwise seen from outside; the result keeps every triangle,
    in order, with normals from that winding. A zero-area triangle gets the normal +Y.
    Returns one :data:`FlatMesh` per input, indices local to it.
    """
    count = len(vertices)
    if count == 0:
        return []
    n_verts = np.array([v.shape[0] for v in vertices], dtype=np.int64)
    n_tris = np.array([t.shape[0] for t in triangles], dtype=np.int64)
    vert_start = np.concatenate([[0], np.cumsum(n_verts)])
    tri_start = np.concatenate([[0], np.cumsum(n_tris)])
    points = np.concatenate(vertices, axis=0).astype(np.float64, copy=False)
    mesh_of_tri = np.repeat(np.arange(count), n_tris)
    tris = np.concatenate(triangles, axis=0).astype(np.int64, copy=False) + vert_start[mesh_of_tri][:, None]

    corners = points[tris]  # (m, 3, 3)
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(cross, axis=1)
    flat = length <= 0.0
    cross[flat] = (0.0, 1.0, 0.0)
    length[flat] = 1.0
    face_normals = cross / length[:, None]

    # Normals are told apart per mesh: each mesh's vertices take the first of its own face normals
    # that round alike, never another mesh's (which may differ in the last bits, or in a zero's sign),
    # so a mesh shades the same whatever is built beside it (an incremental build rebuilds a few rooms).
    _, packed = np.unique(pack_normals(face_normals), return_inverse=True)
    normal_keys, first, normal_id = np.unique(
        mesh_of_tri * (np.int64(packed.max(initial=0)) + 1) + packed, return_index=True, return_inverse=True
    )
    unique_normals = face_normals[first]
    n_normals = np.int64(normal_keys.shape[0])
    corner_keys = tris * n_normals + normal_id.reshape(-1, 1)
    keys, inverse = np.unique(corner_keys.ravel(), return_inverse=True)
    source = keys // n_normals
    positions = points[source]
    normals = unique_normals[keys % n_normals]
    uvs = world_uvs(positions, normals)
    # Keys sort by global vertex id first, so each mesh's welded vertices are contiguous.
    welded_start = np.searchsorted(source, vert_start)
    indices = inverse.reshape(-1, 3) - welded_start[mesh_of_tri][:, None]

    positions32, normals32, uvs32 = positions.astype(np.float32), normals.astype(np.float32), uvs.astype(np.float32)
    indices32 = indices.astype(np.uint32)
    out: list[FlatMesh] = []
    for i in range(count):
        v0, v1 = welded_start[i], welded_start[i + 1]
        t0, t1 = tri_start[i], tri_start[i + 1]
        out.append((positions32[v0:v1], normals32[v0:v1], uvs32[v0:v1], indices32[t0:t1]))
    return out
