"""EXT_mesh_gpu_instancing attributes: 4×4 transforms decomposed into TRS arrays.

A transform ``M`` (row-major, translation in the last column) is split as
``M = T(t) · R · S(s)``: ``R`` is the nearest rotation to the upper 3×3 (its polar factor,
from an SVD, after a mirror is moved into a negative x scale) and ``s`` the diagonal of
``Rᵀ · M₃``. For transforms made of translation, rotation and axis scale
(all glTF allows per instance) this is exact; a shear is dropped. Everything is vectorized
over the instances: O(k).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["decompose_trs"]

F64 = npt.NDArray[np.float64]


def _quaternions(rotations: F64) -> F64:
    """(k, 3, 3) rotation matrices → (k, 4) unit quaternions, glTF order (x, y, z, w), w ≥ 0."""
    r = rotations
    trace = r[:, 0, 0] + r[:, 1, 1] + r[:, 2, 2]
    # Shepperd's method: build the quaternion from its largest component for stability.
    squares = np.stack(
        [
            1 + r[:, 0, 0] - r[:, 1, 1] - r[:, 2, 2],
            1 - r[:, 0, 0] + r[:, 1, 1] - r[:, 2, 2],
            1 - r[:, 0, 0] - r[:, 1, 1] + r[:, 2, 2],
            1 + trace,
        ],
        axis=1,
    )
    pick = np.argmax(squares, axis=1)
    big = np.sqrt(np.maximum(squares[np.arange(len(r)), pick], 1e-300)) * 2  # = 4 · |largest|
    xy, xz, yz = r[:, 0, 1] + r[:, 1, 0], r[:, 0, 2] + r[:, 2, 0], r[:, 1, 2] + r[:, 2, 1]
    wx, wy, wz = r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]
    candidates = np.stack(
        [
            np.stack([big * big / 4, xy, xz, wx], axis=1),
            np.stack([xy, big * big / 4, yz, wy], axis=1),
            np.stack([xz, yz, big * big / 4, wz], axis=1),
            np.stack([wx, wy, wz, big * big / 4], axis=1),
        ],
        axis=1,
    )
    q: F64 = candidates[np.arange(len(r)), pick] / big[:, None]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.where(q[:, 3:4] < 0, -1.0, 1.0)
    return q


def decompose_trs(
    transforms: F64, offset: tuple[float, float, float] = (0.0, 0.0, 0.0), scale: float = 1.0
) -> tuple[F64, F64, F64]:
    """(k, 4, 4) row-major transforms → translations (k, 3), rotations (k, 4) xyzw, scales (k, 3).

    ``offset`` and ``scale`` fold a mesh's dequantizing transform ``T(offset) · S(scale)``
    (KHR_mesh_quantization) into each instance, since an instanced node's own transform applies
    after the instance's: ``T(t)·R·S(s)·T(o)·S(h) = T(t + R·(s∘o)) · R · S(h·s)``.
    """
    m = np.asarray(transforms, dtype=np.float64)
    linear = m[:, :3, :3].copy()
    # A mirror becomes a negative x scale: un-mirror x first, so that the polar factor below is
    # the rotation itself (it is unique for a positive determinant, even with equal scales).
    mirrored = np.linalg.det(linear) < 0
    linear[mirrored, :, 0] *= -1
    u, _, vt = np.linalg.svd(linear)
    singular = np.linalg.det(u @ vt) < 0  # only when a scale is 0: that axis' sign is free
    u[singular, :, 2] *= -1
    rotation = u @ vt
    scales = np.einsum("kji,kji->ki", rotation, linear)  # diag(Rᵀ · M₃)
    scales[mirrored, 0] *= -1
    translations = m[:, :3, 3] + np.einsum("kij,kj->ki", rotation, scales * np.asarray(offset, np.float64))
    return translations, _quaternions(rotation), scales * scale
