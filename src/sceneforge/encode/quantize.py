"""Vertex quantization for KHR_mesh_quantization.

Positions become normalized int16 in a uniform box around the mesh: ``p ≈ offset + scale · q``
with ``q`` in [-1, 1] (stored as ``round(q · 32767)``). The scale is the same on every axis so
the node transform that dequantizes is a uniform scale: normals, which are stored in the
unscaled frame, then only need renormalizing (every renderer does) instead of a correction
for a non-uniform scale. Precision: half the largest extent / 32767, 0.15 mm for a 10 m room.

Normals become normalized int8 (error below 1/127 per component), padded to 4 bytes per
vertex: glTF aligns every vertex attribute element to 4 bytes. UVs stay float32: generated
UVs are world-scaled (1 unit = 1 m) and unbounded, which no normalized type holds without
a per-texture KHR_texture_transform.

All functions are pure numpy, O(n).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Dequantize", "dequantize_box", "quantize_normals", "quantize_positions"]

INT16_MAX = 32767
INT8_MAX = 127


@dataclass(frozen=True, slots=True)
class Dequantize:
    """``position = offset + scale · normalized(q)``: the dequantizing node transform."""

    offset: tuple[float, float, float]
    scale: float


def dequantize_box(positions: Sequence[npt.NDArray[np.float32]]) -> Dequantize:
    """The uniform box holding every array of ``positions`` ((n, 3) float32 each, some may be empty)."""
    filled = [p for p in positions if p.shape[0]]
    if not filled:
        return Dequantize((0.0, 0.0, 0.0), 1.0)
    lo = np.min([p.min(axis=0) for p in filled], axis=0).astype(np.float64)
    hi = np.max([p.max(axis=0) for p in filled], axis=0).astype(np.float64)
    center = (lo + hi) / 2
    half = float(np.max(hi - lo) / 2)
    # float32 rounding of the node transform must not push a corner outside [-1, 1]: grow by 1e-6.
    half = half * (1 + 1e-6) if half > 0 else 1.0
    return Dequantize((float(center[0]), float(center[1]), float(center[2])), half)


def quantize_positions(positions: npt.NDArray[np.float32], box: Dequantize) -> npt.NDArray[np.int16]:
    """(n, 3) float32 → (n, 4) int16, normalized in ``box``; the 4th column is padding (0)."""
    unit = (positions.astype(np.float64) - np.asarray(box.offset)) / box.scale
    out = np.zeros((positions.shape[0], 4), dtype=np.int16)
    out[:, :3] = np.clip(np.rint(unit * INT16_MAX), -INT16_MAX, INT16_MAX)
    return out


def quantize_normals(normals: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    """(n, 3) float32 unit vectors → (n, 4) int8 normalized; the 4th column is padding (0)."""
    unit = normals.astype(np.float64)
    length = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = np.divide(unit, length, out=np.zeros_like(unit), where=length > 0)
    out = np.zeros((normals.shape[0], 4), dtype=np.int8)
    out[:, :3] = np.clip(np.rint(unit * INT8_MAX), -INT8_MAX, INT8_MAX)
    return out
