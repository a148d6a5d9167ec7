"""Cell bounds for many cells at once.

:meth:`~sceneforge.model.ir.Cell.aabb` costs ~45 µs a cell in numpy call overhead (a min and a
max per surface); validation, visibility and encode each ask for every cell's box, 0.05 s apiece
on a 1,000-cell maze. :func:`cell_boxes` gives the same numbers for a whole scene from one
concatenation and two ``reduceat`` calls (~3 ms); cells with instance groups, rare, still go
through :meth:`Cell.aabb`. Both round the same way (:func:`~sceneforge.model.ir.rounded_boxes`:
a room's exact float64 bounds rather than its float32 shell's, 1 µm, no -0.0), so the GLB extras
and the meta write the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..model.ir import Cell, rounded_boxes

__all__ = ["cell_boxes", "room_boxes"]

F64 = npt.NDArray[np.float64]


def room_boxes(cells: Sequence[Cell]) -> F64:
    """(c, 6) float64 [minx, miny, minz, maxx, maxy, maxz] of each cell's room as described (its exact
    outline, floor and ceiling, not its float32 shell); a row of NaN for a cell without a room."""
    out = np.full((len(cells), 6), np.nan)
    rooms = [i for i, c in enumerate(cells) if c.room is not None]
    if rooms:
        floors = [cells[i].room.floor for i in rooms]  # type: ignore[union-attr]
        counts = np.array([f.shape[0] for f in floors])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        points = np.concatenate(floors).astype(np.float64, copy=False)
        y = np.array([cells[i].room.y for i in rooms])  # type: ignore[union-attr]
        h = np.array([cells[i].room.height for i in rooms])  # type: ignore[union-attr]
        fmin, fmax = np.minimum.reduceat(points, starts), np.maximum.reduceat(points, starts)
        out[rooms] = np.stack([fmin[:, 0], y, fmin[:, 1], fmax[:, 0], y + h, fmax[:, 1]], axis=1)
    return out


def cell_boxes(cells: Sequence[Cell]) -> F64:
    """(c, 6) float64 [minx, miny, minz, maxx, maxy, maxz] per cell, equal to ``cell.aabb()``."""
    room_box = room_boxes(cells)
    with_room = ~np.isnan(room_box[:, 0])
    lo = np.where(with_room[:, None], room_box[:, :3], np.inf)
    hi = np.where(with_room[:, None], room_box[:, 3:], -np.inf)
    owners, parts = [], []
    for i, c in enumerate(cells):
        for s in c.surfaces:
            if s.positions.shape[0]:
                owners.append(i)
                parts.append(s.positions)
    if parts:
        counts = np.array([p.shape[0] for p in parts])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        # Min and max in the stored precision (float32), then widened: the same numbers as widening first.
        points = np.concatenate(parts)
        smin = np.minimum.reduceat(points, starts).astype(np.float64)
        smax = np.maximum.reduceat(points, starts).astype(np.float64)
        np.minimum.at(lo, np.array(owners), smin)
        np.maximum.at(hi, np.array(owners), smax)
    boxes = np.concatenate([lo, hi], axis=1)
    boxes[~np.isfinite(boxes).all(axis=1)] = 0.0
    boxes = rounded_boxes(boxes, room_box)
    for i, c in enumerate(cells):
        if c.instances:
            boxes[i] = c.aabb()
    return boxes
