"""Which way up a tagged GLB's cells stand, by their own faces: the cells' votes in the Z-up test
(:func:`~.glb_portals.z_up`).

A room stands on a floor and most have a ceiling: faces across the up axis at both ends of the room's box,
covering much of its plan, while its walls run along the axis. A room turned off the axes about Y has such
ends along Y alone: along Z its box ends at a corner or an edge of the turned walls, and no face there faces
Z. Its copy lying on its side (a Z-up export) has them along Z alone. An unturned box room has them along
both (its side walls at the box's ends): it says nothing, nor does a room whose ends along both axes are
alike (a hexagon's floor and a flat side of its walls). Where the portals cannot tell (doorways from floor to
ceiling, which stand on no floor along either axis), the cells do.

Cost: O(triangles) numpy work over the cells' own surfaces (instances, a cell's furniture, are not read), all
cells' together in float32 batches of 65,536 triangles: ~0.6 s a million triangles, ~25 µs a surface (0.14 s for
3,025 cells of two surfaces); 40 ms of the 0.9 s ingest of a 30 × 30 grid of turned rooms (116,000 triangles).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..model.ir import Cell, Surface
from .glb_portals import _FLOOR_GAP, UPRIGHT

__all__ = ["flat_ended"]

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
    """How many ``cells`` have flat ends (a floor, a ceiling) along Y and not Z, and along Z and not Y.

    Every cell's triangles are read together, in batches of about :data:`_CHUNK` (a file of 3,000 small rooms
    is not 3,000 rounds of numpy calls), each triangle's sums added to its cell's (``np.bincount``)."""
    drawn = [(k, s) for k, cell in enumerate(cells) for s in cell.surfaces if s.triangle_count and s.vertex_count]
    if not drawn:
        return 0, 0
    lo, hi = np.full((len(cells), 3), np.inf), np.full((len(cells), 3), -np.inf)
    for k, s in drawn:
        lo[k] = np.minimum(lo[k], s.positions.min(axis=0))
        hi[k] = np.maximum(hi[k], s.positions.max(axis=0))
    good = np.isfinite(lo).all(axis=1) & np.isfinite(hi).all(axis=1)
    lo[~good], hi[~good] = 0.0, 0.0  # no triangles (or some not finite): no vote
    sums = np.zeros((len(cells), 5))  # per cell: covered along Y, Z; slanted off Y, Z; the area of all
    batch: list[tuple[int, npt.NDArray[np.uint32], Surface]] = []
    size = 0
    for k, s in drawn:
        if not good[k]:
            continue
        for start in range(0, s.triangle_count, _CHUNK):
            part = s.indices[start : start + _CHUNK]
            batch.append((k, part, s))
            size += len(part)
            if size >= _CHUNK:
                _add(batch, lo, hi, sums)
                batch, size = [], 0
    _add(batch, lo, hi, sums)
    extent = hi - lo
    ends = {}
    for axis, other in ((1, 2), (2, 1)):
        section = extent[:, 0] * extent[:, other]
        fine = (extent[:, axis] > 0) & (section > 0)
        ends[axis] = np.where(fine, sums[:, axis - 1] / np.where(fine, section, 1.0), 0.0)
    votes = []
    for axis, other in ((1, 2), (2, 1)):
        straight = sums[:, axis + 1] <= _SLANTED * sums[:, 4]
        flat = (sums[:, 4] > 0) & straight & (ends[axis] >= _FLAT_ENDS) & (ends[axis] >= _CLEAR * ends[other])
        votes.append(int(flat.sum()))
    return votes[0], votes[1]


def _add(batch: list[tuple[int, npt.NDArray[np.uint32], Surface]], lo: F64, hi: F64, sums: F64) -> None:
    """Add to ``sums`` (per cell: the area of the faces across Y, Z (within 1° of facing along it) lying at the
    ends of the cell's box ``lo``..``hi`` along it, projected; the area of those neither across Y, Z nor along it
    (more than 1° off both); the area of all) the triangles of ``batch`` (cell, triangles, surface). In float32,
    as the positions are: the areas are shares, and 1° is far above its rounding."""
    if not batch:
        return
    tri = np.concatenate([s.positions[part] for _, part, s in batch])
    cell = np.concatenate([np.full(len(part), k) for k, part, _ in batch])
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
    n = len(sums)
    for axis in (1, 2):
        along = np.abs(normal[:, axis])
        flat = along >= _ACROSS * size
        low, high = lo[cell, axis], hi[cell, axis]
        band = _FLOOR_GAP * (high - low)
        top = np.maximum(np.maximum(a[:, axis], b[:, axis]), c[:, axis])
        bottom = np.minimum(np.minimum(a[:, axis], b[:, axis]), c[:, axis])
        ends = flat & ((top <= low + band) | (bottom >= high - band))
        sums[:, axis - 1] += np.bincount(cell[ends], along[ends], n) / 2
        slanted = ~flat & (along > UPRIGHT * size)
        sums[:, axis + 1] += np.bincount(cell[slanted], size[slanted], n) / 2
    sums[:, 4] += np.bincount(cell, size, n) / 2
