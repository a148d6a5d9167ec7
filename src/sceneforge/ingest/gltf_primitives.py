"""A mesh primitive as read (:class:`Primitive`), and the index work that makes its triangles.

:func:`as_triangle_list` turns a list / strip / fan index sequence into (m, 3) triangles (glTF §3.7.2.1),
keeping a strip's winding; :func:`unreferenced_dropped` lists the vertices an index sequence names when it
leaves some out (none is drawn by any renderer). Vectorized; the indices are trusted (checked by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Primitive", "as_triangle_list", "unreferenced_dropped"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Primitive:
    """One triangle primitive in its mesh's local space (float64 / int64 arrays). ``joints`` and ``weights``
    (n, 4k) are its skin's influences (``JOINTS_i`` / ``WEIGHTS_i``, indices into the skin's joints), when
    it has them."""

    positions: F64
    triangles: npt.NDArray[np.int64]
    normals: F64 | None
    uvs: F64 | None
    material: int | None
    joints: npt.NDArray[np.int64] | None = None
    weights: F64 | None = None


def unreferenced_dropped(n: int, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
    """The vertices of ``n`` that ``idx`` refers to, in order; None when it refers to all of them
    (the common case: no copy is made). A vertex no index names is drawn by no renderer."""
    mask = np.zeros(n, bool)
    mask[idx] = True
    return None if mask.all() else np.flatnonzero(mask)


def as_triangle_list(idx: npt.NDArray[np.int64], mode: int) -> npt.NDArray[np.int64]:
    """(m, 3) triangles from a list / strip / fan index sequence (glTF §3.7.2.1)."""
    if mode == 4:
        return idx[: idx.shape[0] // 3 * 3].reshape(-1, 3)
    k = np.arange(max(idx.shape[0] - 2, 0))
    if mode == 5:  # strip: odd triangles swap their first two vertices to keep the winding
        odd = (k % 2).astype(bool)
        a, b = np.where(odd, k + 1, k), np.where(odd, k, k + 1)
        return np.stack([idx[a], idx[b], idx[k + 2]], axis=1)
    return np.stack([np.full_like(k, idx[0] if idx.size else 0), idx[k + 1], idx[k + 2]], axis=1)
