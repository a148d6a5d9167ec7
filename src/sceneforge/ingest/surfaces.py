"""Array helpers shared by the asset readers: build, transform and merge :class:`Surface` values.

Everything here is vectorized numpy over whole vertex / triangle arrays; no helper loops per
vertex. Shapes follow :class:`sceneforge.model.ir.Surface`: positions and normals ``(n, 3)``,
uvs ``(n, 2)``, indices ``(m, 3)``.

Normals that cannot be computed (a zero-area triangle, a transform that flattens a surface)
fall back to +Y so every normal stays unit length, as the IR promises.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import AssetError
from ..model.ir import Surface

__all__ = [
    "AFFINE_EPS",
    "UP",
    "apply_matrix",
    "cross3",
    "det3",
    "face_normals",
    "fits_float32",
    "make_surface",
    "matrix_from_column_major",
    "merge_by_material",
    "non_affine",
    "normal_matrix",
    "not_affine_message",
    "surface_copies",
    "transform_surface",
    "unit_rows",
]

F64 = npt.NDArray[np.float64]

#: Fallback normal for degenerate triangles and collapsed transforms.
UP = np.array([0.0, 1.0, 0.0])

#: Squared length below which a vector counts as zero when normalizing.
_ZERO_SQ = 1e-24


def unit_rows(v: npt.ArrayLike) -> F64:
    """(n, 3) float64 rows scaled to unit length; zero (or non-finite) rows become :data:`UP`."""
    v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
    sq = np.einsum("ij,ij->i", v, v)
    good = np.isfinite(sq) & (sq > _ZERO_SQ)
    out = np.empty_like(v)
    out[good] = v[good] / np.sqrt(sq[good])[:, None]
    out[~good] = UP
    return out


def fits_float32(*arrays: npt.NDArray[np.floating] | None) -> bool:
    """Whether every value is finite and within float32 range (the IR stores float32)."""
    limit = float(np.finfo(np.float32).max)
    return all(a is None or bool((np.abs(a) <= limit).all()) for a in arrays)


def face_normals(positions: F64, triangles: npt.NDArray[np.integer]) -> F64:
    """(m, 3) unit normals of ``triangles`` (m, 3) over ``positions`` (n, 3), counter-clockwise front."""
    p = positions[triangles]
    return unit_rows(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]))


def _smooth_normals(positions: F64, triangles: npt.NDArray[np.integer], groups: npt.NDArray[np.integer]) -> F64:
    """Area-weighted vertex normals, summed over vertices sharing a ``groups`` id (a position index)."""
    p = positions[triangles]
    weighted = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])  # length = 2 × area
    acc = np.zeros((int(groups.max(initial=-1)) + 1, 3))
    for corner in range(3):  # three corners, not per vertex
        np.add.at(acc, groups[triangles[:, corner]], weighted)
    return unit_rows(acc[groups])


def make_surface(
    material: str,
    positions: npt.ArrayLike,
    triangles: npt.ArrayLike,
    normals: npt.ArrayLike | None = None,
    uvs: npt.ArrayLike | None = None,
    *,
    smooth_groups: npt.ArrayLike | None = None,
) -> Surface:
    """A :class:`Surface` from world-space arrays, filling in what is missing.

    ``positions`` (n, 3), ``triangles`` (m, 3) indices into them (already range-checked),
    ``normals`` (n, 3) or None, ``uvs`` (n, 2) or None (→ zeros). Missing normals are smooth
    (area-weighted over vertices sharing a ``smooth_groups`` id, (n,) ints) when groups are
    given, else flat: each triangle gets its own three vertices with its face normal, as the
    glTF specification asks of clients when a primitive has no normals.
    """
    p = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    tri = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    uv = np.zeros((p.shape[0], 2)) if uvs is None else np.asarray(uvs, dtype=np.float64).reshape(-1, 2)
    if normals is not None:
        n = unit_rows(normals)
    elif smooth_groups is not None:
        n = _smooth_normals(p, tri, np.asarray(smooth_groups, dtype=np.int64))
    else:
        n = np.repeat(face_normals(p, tri), 3, axis=0)
        flat = tri.reshape(-1)
        p, uv = p[flat], uv[flat]
        tri = np.arange(flat.shape[0], dtype=np.int64).reshape(-1, 3)
    return Surface(
        material=material,
        positions=np.ascontiguousarray(p, dtype=np.float32),
        normals=np.ascontiguousarray(n, dtype=np.float32),
        uvs=np.ascontiguousarray(uv, dtype=np.float32),
        indices=np.ascontiguousarray(tri, dtype=np.uint32),
    )


def matrix_from_column_major(values: Sequence[float] | npt.ArrayLike, *, path: str = "") -> F64:
    """(4, 4) row-major float64 from 16 column-major floats (glTF order); ``AssetError`` if malformed."""
    try:
        m = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssetError(path, "a transform must be 16 numbers (column-major 4×4)", code="transform_invalid") from None
    if m.size != 16:
        message = f"a transform must be 16 numbers (column-major 4×4), got {m.size}"
        raise AssetError(path, message, code="transform_invalid")
    if not np.isfinite(m).all():
        raise AssetError(path, "a transform must contain finite numbers only", code="transform_invalid")
    if non_affine(m.reshape(1, 16)).size:
        raise AssetError(path, not_affine_message(m.reshape(16)), code="transform_invalid")
    return m.reshape(4, 4).T.copy()


#: How far a transform's last row may be from (0, 0, 0, 1) (as glTF asks of a node ``matrix``).
AFFINE_EPS = 1e-6


def non_affine(column_major: F64) -> npt.NDArray[np.int64]:
    """The indices of the (k, 16) column-major 4×4 transforms whose last row (elements 3, 7, 11 and
    15) is not (0, 0, 0, 1) within :data:`AFFINE_EPS`: a projective transform, which no triangle of
    a scene can be placed by (its last row was ignored, the asset drawn where no renderer puts it)."""
    last = np.asarray(column_major, dtype=np.float64).reshape(-1, 16)[:, 3::4]
    out: npt.NDArray[np.int64] = np.flatnonzero(np.abs(last - (0.0, 0.0, 0.0, 1.0)).max(axis=1) > AFFINE_EPS)
    return out


def not_affine_message(column_major: F64) -> str:
    """What :func:`non_affine` refuses, said of one transform (16 column-major numbers)."""
    row = ", ".join(f"{v:g}" for v in np.asarray(column_major, dtype=np.float64).reshape(16)[3::4])
    return f"a transform must be affine: its elements 3, 7, 11 and 15 (the last row) must be 0, 0, 0, 1, got {row}"


def cross3(a: F64, b: F64) -> F64:
    """``np.cross`` of (..., 3) vectors, written out: the same products and differences in the same
    order (the same bits), without np.cross's axis handling, which costs ~70 µs a call — per node
    of a scene, on its one 3 × 3 matrix, it was most of the time a file of 10⁵ props took."""
    out: F64 = np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )
    return out


def det3(a: F64) -> F64:
    """Determinants of (..., 3, 3) matrices as triple products: no LU factorization, so no warning
    when singular."""
    out: F64 = np.einsum("...i,...i->...", a[..., :, 0], cross3(a[..., :, 1], a[..., :, 2]))
    return out


def normal_matrix(m: F64) -> F64:
    """(..., 3, 3) matrices taking normals through ``m`` (..., 4, 4) row-major: the inverse transpose
    of the linear part, computed as the cofactor matrix (so a singular ``m`` does not fail) with the
    determinant's sign, so normals keep facing out of the same side of the surface."""
    a = m[..., :3, :3]
    cof = np.stack(
        [
            cross3(a[..., :, 1], a[..., :, 2]),
            cross3(a[..., :, 2], a[..., :, 0]),
            cross3(a[..., :, 0], a[..., :, 1]),
        ],
        axis=-1,
    )
    out: F64 = cof * np.where(det3(a) < 0, -1.0, 1.0)[..., None, None]
    return out


def apply_matrix(
    m: F64, positions: F64, normals: F64 | None, triangles: npt.NDArray[np.integer]
) -> tuple[F64, F64 | None, npt.NDArray[np.integer]]:
    """Positions, normals and triangles moved by ``m`` (4, 4) row-major (see :func:`transform_surface`)."""
    p = positions @ m[:3, :3].T + m[:3, 3]
    n = None if normals is None else unit_rows(normals @ normal_matrix(m).T)
    tri = triangles[:, ::-1] if det3(m[:3, :3]) < 0 else triangles
    return p, n, np.ascontiguousarray(tri)


def transform_surface(surface: Surface, m: F64) -> Surface:
    """``surface`` moved by ``m`` (4, 4) row-major: positions by ``m``, normals by its inverse
    transpose (renormalized), winding reversed when ``m`` mirrors (negative determinant)."""
    if np.array_equal(m, np.eye(4)):
        return surface
    p, n, tri = apply_matrix(
        m, surface.positions.astype(np.float64), surface.normals.astype(np.float64), surface.indices
    )
    return Surface(
        material=surface.material,
        positions=np.ascontiguousarray(p, dtype=np.float32),
        normals=np.ascontiguousarray(n, dtype=np.float32),
        uvs=surface.uvs,
        indices=np.ascontiguousarray(tri, dtype=np.uint32),
    )


def surface_copies(surface: Surface, transforms: F64) -> Surface | None:
    """``surface`` drawn once per (k, 4, 4) row-major transform, as one surface (copies in order): positions by
    each transform, normals by its inverse transpose (renormalized), winding reversed for a copy that mirrors.
    None when a copy's positions are not finite float32. O(copies × vertices) numpy work, all copies at once."""
    m = np.asarray(transforms, dtype=np.float64).reshape(-1, 4, 4)
    k, n = m.shape[0], surface.vertex_count
    linear = m[:, :3, :3]
    positions = np.einsum("kij,nj->kni", linear, surface.positions.astype(np.float64)) + m[:, None, :3, 3]
    # Inverse transpose as the cofactor matrix times the determinant's sign (no inversion: a
    # singular transform does not fail; its normals are then whatever direction is left).
    cof, det = normal_matrix(m), det3(linear)
    normals = np.einsum("kij,nj->kni", cof, surface.normals.astype(np.float64))
    length = np.linalg.norm(normals, axis=2, keepdims=True)
    normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
    tri = surface.indices.astype(np.int64)
    indices = np.where((det < 0)[:, None, None], tri[None, :, ::-1], tri[None]) + (np.arange(k) * n)[:, None, None]
    if not (np.isfinite(positions).all() and np.abs(positions).max(initial=0.0) < np.finfo(np.float32).max):
        return None
    return Surface(
        material=surface.material,
        positions=np.ascontiguousarray(positions.reshape(-1, 3), dtype=np.float32),
        normals=np.ascontiguousarray(normals.reshape(-1, 3), dtype=np.float32),
        uvs=np.ascontiguousarray(np.tile(surface.uvs, (k, 1)), dtype=np.float32),
        indices=np.ascontiguousarray(indices.reshape(-1, 3), dtype=np.uint32),
    )


def merge_by_material(surfaces: Iterable[Surface]) -> list[Surface]:
    """One surface per material, in order of first appearance; indices offset as arrays concatenate."""
    groups: dict[str, list[Surface]] = {}
    for s in surfaces:
        groups.setdefault(s.material, []).append(s)
    merged = []
    for material, parts in groups.items():
        if len(parts) == 1:
            merged.append(parts[0])
            continue
        offsets = np.cumsum([0] + [s.vertex_count for s in parts[:-1]], dtype=np.uint64)
        merged.append(
            Surface(
                material=material,
                positions=np.concatenate([s.positions for s in parts]),
                normals=np.concatenate([s.normals for s in parts]),
                uvs=np.concatenate([s.uvs for s in parts]),
                indices=np.concatenate([s.indices + np.uint32(o) for s, o in zip(parts, offsets, strict=True)]),
            )
        )
    return merged
