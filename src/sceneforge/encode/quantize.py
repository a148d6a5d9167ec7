"""Vertex quantization for KHR_mesh_quantization.

Positions become unnormalized uint16 on a grid: ``p ≈ offset + step · q`` with ``q`` integer in
[0, 65535]. The step is a power of two, the smallest one with which the box fits 16 bits:
``step = 2^ceil(log2(extent / 65534))``, ``extent`` the largest side of the box, and
``offset`` the box's low corner snapped down to the grid. Hence ``extent / 65534 ≤ step <
extent / 32767`` and every coordinate is off by at most ``step / 2 < extent / 65534``: 1 mm for a
65 m scene, 2 mm for the 1,000-cell maze (130 m, step 1/256 m), 0.08 mm for a 10 m room.
A power-of-two step keeps walls placed on round coordinates (whole or half metres) exactly on
the grid, so that the vertices of a wall share whole values and their deltas, which the meshopt
vertex codec stores in a few bits. The encoder uses one grid for every cell (the scene's box),
so that neighbouring cells agree on the grid and the dequantizing node transforms are all the
same, and one grid per instanced mesh (its own box, in its own frame). The step is the same on
every axis, so the dequantizing transform is a uniform scale: normals, stored in the unscaled
frame, only need renormalizing (every renderer does) instead of a correction for a non-uniform
scale.

Normals become normalized int8 (error below 1/127 per component), padded to 4 bytes per vertex
(glTF aligns every vertex attribute element to 4 bytes); with meshopt compression they are
stored instead in the octahedral form of the ``OCTAHEDRAL`` filter, which the decoder turns
back into the same int8 layout (:func:`octahedral_normals`). UVs stay float32: generated UVs
are world-scaled (1 unit = 1 m) and unbounded, which no normalized type holds without a
per-texture KHR_texture_transform (measured in :mod:`.glb`).

A grid that would collapse a triangle (every corner on one grid line: a wall or feature thinner
than a step, e.g. 1 mm walls in a 130 m scene) is never written: :func:`collapsed_triangles`
counts them and the encoder raises :class:`GridTooCoarse`, so the build stores float positions
instead (with a ``quantize_skipped`` warning) and keeps every triangle.

All functions are pure numpy, O(n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Dequantize",
    "GridTooCoarse",
    "clamp_inside",
    "collapsed_triangles",
    "octahedral_normals",
    "position_grid",
    "quantize_normals",
    "quantize_positions",
]

UINT16_MAX = 65535
INT8_MAX = 127


@dataclass(frozen=True, slots=True)
class Dequantize:
    """``position = offset + scale · q`` (``q`` the stored integers): the dequantizing node transform."""

    offset: tuple[float, float, float]
    scale: float


def position_grid(positions: Sequence[npt.NDArray[np.float32]]) -> Dequantize:
    """The 16-bit grid holding every array of ``positions`` ((n, 3) float32 each, some may be empty).

    The step is the smallest power of two that spans the largest side in 65534 steps (one spare
    for the low corner snapped down), never below 2⁻²⁴ (finer than float32 resolves at 1 m).
    """
    filled = [p for p in positions if p.shape[0]]
    if not filled:
        return Dequantize((0.0, 0.0, 0.0), 1.0)
    lo = np.min([p.min(axis=0) for p in filled], axis=0).astype(np.float64)
    hi = np.max([p.max(axis=0) for p in filled], axis=0).astype(np.float64)
    extent = float(np.max(hi - lo))
    exponent = math.ceil(math.log2(extent / (UINT16_MAX - 1))) if extent > 0 else -24
    step = math.ldexp(1.0, max(exponent, -24))
    offset = np.floor(lo / step) * step + 0.0  # + 0.0: no "-0.0" in the JSON
    return Dequantize((float(offset[0]), float(offset[1]), float(offset[2])), step)


class GridTooCoarse(ValueError):
    """Quantized positions would collapse ``lost`` triangles that have an area in float32 (grid ``step``)."""

    def __init__(self, lost: int, step: float) -> None:
        self.lost, self.step = lost, step
        super().__init__(f"the 16-bit position grid ({step:g} m steps) would collapse {lost:,} triangles")


def collapsed_triangles(
    raw: npt.NDArray[np.float32], quantized: npt.NDArray[np.uint16], triangles: npt.NDArray[np.int64]
) -> int:
    """How many of ``triangles`` (t, 3) rows into ``raw`` (n, 3) float positions have an area there but
    none once quantized (``quantized`` (n, ≥3) grid coordinates: cross products exact in int64)."""
    if triangles.shape[0] == 0:
        return 0
    q = quantized[:, :3].astype(np.int64)[triangles]
    flat = ~np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]).any(axis=1)
    if not flat.any():
        return 0
    f = raw.astype(np.float64)[triangles[flat]]
    return int(np.cross(f[:, 1] - f[:, 0], f[:, 2] - f[:, 0]).any(axis=1).sum())


def quantize_positions(positions: npt.NDArray[np.float32], grid: Dequantize) -> npt.NDArray[np.uint16]:
    """(n, 3) float32 → (n, 4) uint16 grid coordinates in ``grid``; the 4th column is padding (0)."""
    steps = (positions.astype(np.float64) - np.asarray(grid.offset)) / grid.scale
    out = np.zeros((positions.shape[0], 4), dtype=np.uint16)
    out[:, :3] = np.clip(np.rint(steps), 0, UINT16_MAX)
    return out


def clamp_inside(quantized: npt.NDArray[np.uint16], grid: Dequantize, boxes: npt.NDArray[np.float64]) -> None:
    """Clamp grid coordinates (n, 4) in place so each dequantized vertex lies in its row of ``boxes``.

    ``boxes`` (n, 6) [min xyz, max xyz] per vertex (its cell's ``aabb``). Rounding to the nearest
    grid point can step up to half a step outside a box whose bound is not on the grid; the
    clamped coordinate is the grid point just inside instead (at most one step from the input).
    """
    offset = np.asarray(grid.offset)
    low = np.ceil((boxes[:, :3] - offset) / grid.scale - 1e-9)
    high = np.floor((boxes[:, 3:] - offset) / grid.scale + 1e-9)
    q = quantized[:, :3].astype(np.float64)
    quantized[:, :3] = np.clip(np.clip(q, low, high), 0, UINT16_MAX)


def _unit(normals: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    unit = normals.astype(np.float64)
    length = np.linalg.norm(unit, axis=1, keepdims=True)
    out: npt.NDArray[np.float64] = np.divide(unit, length, out=np.zeros_like(unit), where=length > 0)
    return out


def quantize_normals(normals: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    """(n, 3) float32 unit vectors → (n, 4) int8 normalized; the 4th column is padding (0)."""
    out = np.zeros((normals.shape[0], 4), dtype=np.int8)
    out[:, :3] = np.clip(np.rint(_unit(normals) * INT8_MAX), -INT8_MAX, INT8_MAX)
    return out


def octahedral_normals(normals: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    """(n, 3) float32 unit vectors → (n, 4) int8 for the meshopt ``OCTAHEDRAL`` filter (8 bits).

    Same arithmetic as ``meshopt_encodeFilterOct``: the vector on the octahedron ``|x|+|y|+|z|=1``,
    its lower half folded over the upper one, ``(u, v)`` as snorm8 with the filter's ``one`` (127)
    third and 0 fourth. Decoding gives the normalized int8 XYZ that :func:`quantize_normals` stores,
    within one unit per component. A zero vector encodes as ``(0, 0, 127)``.
    """
    unit = _unit(normals)
    n1 = np.abs(unit).sum(axis=1)
    inv = np.divide(1.0, n1, out=np.zeros_like(n1), where=n1 > 0)
    x, y, z = unit[:, 0] * inv, unit[:, 1] * inv, unit[:, 2]
    upper = z >= 0
    u = np.where(upper, x, (1 - np.abs(y)) * np.where(x >= 0, 1.0, -1.0))
    v = np.where(upper, y, (1 - np.abs(x)) * np.where(y >= 0, 1.0, -1.0))
    out = np.zeros((normals.shape[0], 4), dtype=np.int8)
    # meshopt_quantizeSnorm: round half away from zero.
    out[:, 0] = np.trunc(np.clip(u, -1, 1) * INT8_MAX + np.where(u >= 0, 0.5, -0.5))
    out[:, 1] = np.trunc(np.clip(v, -1, 1) * INT8_MAX + np.where(v >= 0, 0.5, -0.5))
    out[:, 2] = INT8_MAX
    return out
