"""Which way up a tagged GLB's cells stand, by their own faces: the cells' votes in the Z-up test
(:func:`~.glb_portals.z_up`).

A room stands on a floor and most have a ceiling: faces across the up axis at both ends of the room's box,
covering much of its plan, while its walls run along the axis. A room turned off the axes about Y has such
ends along Y alone: along Z its box ends at a corner or an edge of the turned walls, and no face there faces
Z. Its copy lying on its side (a Z-up export) has them along Z alone. An unturned box room has them along
both (its side walls at the box's ends): it says nothing, nor does a room whose ends along both axes are
alike (a hexagon's floor and a flat side of its walls). Where the portals cannot tell (doorways from floor to
ceiling, which stand on no floor along either axis), the cells do.

Cost: O(triangles) numpy work over each cell's own surfaces (instances, a cell's furniture, are not read), in
float32 chunks of 65,536 triangles: ~0.3 s a million triangles.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..model.ir import Cell
from .glb_portals import _FLOOR_GAP, UPRIGHT

__all__ = ["flat_ended"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

#: Triangles read at once.
_CHUNK = 1 << 16
#: A face is across an axis when its unit normal's component along it is at least this (within 1°).
_ACROSS = float(np.sqrt(1.0 - UPRIGHT * UPRIGHT))

#: A cell has flat ends along an axis when the faces across it (within 1° of facing along it) lying within
#: ``_FLOOR_GAP`` of the box's ends along it, projected, cover at least this share of the box's section
#: across the axis (a floor and a ceiling of a square room turned 45° cover half each; a slab's underside and
#: a roof count too) ...
_FLAT_ENDS = 0.25
#: ... and at least this many times their share along the other axis (a hexagonal room's floor covers 3/4 of
#: its box, one flat side of its walls 1/2: alike, not told).
_CLEAR = 4.0
#: ... and at most this share of the cell's area faces neither along the axis nor across it (a terrain's bumps,
#: ramps, a pitched roof): a courtyard of uneven ground between straight walls has flat ends along a
#: horizontal axis alone (the walls), and is no room lying on its side.
_SLANTED = 0.25


def flat_ended(cells: list[Cell]) -> tuple[int, int]:
    """How many ``cells`` have flat ends (a floor, a ceiling) along Y and not Z, and along Z and not Y."""
    votes = [0, 0]
    for cell in cells:
        surfaces = [s for s in cell.surfaces if s.triangle_count and s.vertex_count]
        if not surfaces:
            continue
        lo = np.min([s.positions.min(axis=0) for s in surfaces], axis=0).astype(np.float64)
        hi = np.max([s.positions.max(axis=0) for s in surfaces], axis=0).astype(np.float64)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            continue
        covered, slanted, total = np.zeros(3), np.zeros(3), 0.0
        for s in surfaces:
            for start in range(0, s.triangle_count, _CHUNK):  # a bounded working set, however large the cell
                tri = s.positions[s.indices[start : start + _CHUNK]]
                c, t, size = _faces(tri, lo, hi)
                covered += c
                slanted += t
                total += size
        if total <= 0:
            continue
        extent = hi - lo
        ends = {}
        for axis in (1, 2):
            section = float(np.prod(np.delete(extent, axis)))
            ends[axis] = float(covered[axis]) / section if extent[axis] > 0 and section > 0 else 0.0
        for k, (axis, other) in enumerate(((1, 2), (2, 1))):
            straight = slanted[axis] <= _SLANTED * total
            if straight and ends[axis] >= _FLAT_ENDS and ends[axis] >= _CLEAR * ends[other]:
                votes[k] += 1
    return votes[0], votes[1]


def _faces(tri: F32, lo: F64, hi: F64) -> tuple[F64, F64, float]:
    """For (m, 3, 3) triangles in the box ``lo``..``hi``: per axis (x left 0), the area of those across it
    (within 1° of facing along it) lying at the box's ends along it, projected; per axis, the area of those
    neither across it nor along it (more than 1° off both); and the area of all. In float32, as the positions
    are: the areas are shares, and 1° is far above its rounding."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    u, v = b - a, c - a
    normal = np.stack(  # twice the area, along the normal
        [
            u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
            u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
            u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0],
        ],
        axis=1,
    )
    size = np.sqrt(np.einsum("ij,ij->i", normal, normal))
    covered, slanted = np.zeros(3), np.zeros(3)
    for axis in (1, 2):
        along = np.abs(normal[:, axis])
        flat = along >= _ACROSS * size
        band = _FLOOR_GAP * (hi[axis] - lo[axis])
        top = np.maximum(np.maximum(a[:, axis], b[:, axis]), c[:, axis])
        bottom = np.minimum(np.minimum(a[:, axis], b[:, axis]), c[:, axis])
        ends = flat & ((top <= lo[axis] + band) | (bottom >= hi[axis] - band))
        covered[axis] = float(along[ends].sum(dtype=np.float64)) / 2
        slanted[axis] = float(size[~flat & (along > UPRIGHT * size)].sum(dtype=np.float64)) / 2
    return covered, slanted, float(size.sum(dtype=np.float64)) / 2
