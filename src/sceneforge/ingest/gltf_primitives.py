"""A mesh primitive as read (:class:`Primitive`), and the index work that makes its triangles.

:func:`as_triangle_list` turns a list / strip / fan index sequence into (m, 3) triangles (glTF §3.7.2.1),
keeping a strip's winding; :func:`unreferenced_dropped` lists the vertices an index sequence names when it
leaves some out (none is drawn by any renderer). Vectorized; the indices are trusted (checked by the caller).
:class:`Influences` holds a skinned primitive's joints and weights as the file stores them, widened a block of
vertices at a time (:meth:`Influences.block`): widened whole, every set at once, a 256 MiB file of many sets
of bytes took eight times its size in int64 and float64 copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .gltf_accessors import widened

__all__ = ["Influences", "Primitive", "as_triangle_list", "unreferenced_dropped"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Influences:
    """A skinned primitive's ``JOINTS_i`` / ``WEIGHTS_i`` sets, (n, 4) arrays each as the file stores them: ``joints``
    of integers, ``weights`` with their ``(componentType, normalized)`` (:func:`.gltf_accessors.widened`)."""

    joints: tuple[npt.NDArray[np.integer], ...]
    weights: tuple[npt.NDArray[Any], ...]
    weight_types: tuple[tuple[int, bool], ...]

    @classmethod
    def of(cls, joints: npt.NDArray[np.integer], weights: F64) -> Influences:
        """Influences of (n, 4k) ``joints`` and float ``weights`` already widened."""
        sets = range(0, joints.shape[1], 4)
        return cls(
            tuple(joints[:, k : k + 4] for k in sets),
            tuple(weights[:, k : k + 4] for k in sets),
            ((5126, False),) * len(sets),
        )

    @property
    def count(self) -> int:
        return int(self.joints[0].shape[0])

    def taken(self, rows: npt.NDArray[np.int64]) -> Influences:
        """These influences of vertices ``rows`` only."""
        return Influences(tuple(j[rows] for j in self.joints), tuple(w[rows] for w in self.weights), self.weight_types)

    def joint_range(self) -> tuple[int, int]:
        """(least, greatest) joint any vertex names; (0, 0) without vertices."""
        if not self.count:
            return 0, 0
        return min(int(j.min()) for j in self.joints), max(int(j.max()) for j in self.joints)

    def block(self, start: int, stop: int) -> tuple[npt.NDArray[np.int64], F64]:
        """(joints, weights) of vertices ``start:stop``, every set side by side, (stop - start, 4k) int64 and
        float64: those rows of the sets widened whole and joined."""
        joints = np.concatenate([j[start:stop].astype(np.int64) for j in self.joints], axis=1)
        parts = [widened(w[start:stop], *t) for w, t in zip(self.weights, self.weight_types, strict=True)]
        return joints, np.concatenate(parts, axis=1).astype(np.float64, copy=False)


@dataclass(frozen=True, slots=True)
class Primitive:
    """One triangle primitive in its mesh's local space (float64 / int64 arrays). ``influences`` are its skin's
    (``JOINTS_i`` / ``WEIGHTS_i``, indices into the skin's joints), when it has them."""

    positions: F64
    triangles: npt.NDArray[np.int64]
    normals: F64 | None
    uvs: F64 | None
    material: int | None
    influences: Influences | None = None


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
