"""Fully connected grids of rooms, and two rooms joined through one wall by many doorways.

``generate_grid(rows, cols)``: ``rows × cols`` box rooms (4 × 3 × 4 m outer, 0.1 m walls) whose
outlines touch, with a doorway in every shared wall (a fully connected grid, the worst case for
a portal walk). ``door_bottom`` says where doorways start: ``"underside"`` at the room's min
(y = 0, through the floor slab's edge, as a plan drawn without slabs gives them) or ``"floor"`` on
the floor's top face (y = 0.1).

``generate_doorway_wall(doors)``: two rooms side by side sharing one wall pierced by ``doors``
doorways 0.8 m wide, 1 m apart (many parallel portals between the same two cells).

Both return scene descriptions (JSON-ready dicts), deterministic for their arguments; O(rooms).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import Issue, SceneInvalid
from .maze import MATERIALS, ROOM_HEIGHT, ROOM_SIZE, WALL, door_quads

__all__ = ["generate_doorway_wall", "generate_grid"]

DOOR_WIDTH = 1.0
DOOR_HEIGHT = 2.1


def _portals(frm: list[str], to: list[str], quads: np.ndarray) -> list[dict[str, Any]]:
    flat = np.round(quads.reshape(-1, 12), 6).tolist()
    return [{"from": f, "to": t, "quad": q} for f, t, q in zip(frm, to, flat, strict=True)]


def generate_grid(rows: int, cols: int, door_bottom: str = "underside") -> dict[str, Any]:
    """A ``rows × cols`` grid of box rooms with a doorway in every shared wall (see the module docstring)."""
    if rows < 1 or cols < 1:
        raise SceneInvalid([Issue("/cells", "out_of_range", f"a grid needs at least 1 × 1 rooms, got {rows} × {cols}")])
    if door_bottom not in ("underside", "floor"):
        raise SceneInvalid(
            [Issue("/doorBottom", "invalid", f"door_bottom is 'underside' or 'floor', got {door_bottom!r}")]
        )
    idx = np.arange(rows * cols)
    col, row = idx % cols, idx // cols
    east = idx[col + 1 < cols]
    south = idx[row + 1 < rows]
    a = np.concatenate([east, south])
    b = np.concatenate([east + 1, south + cols])
    step = np.concatenate([np.tile([[1.0, 0.0]], (east.size, 1)), np.tile([[0.0, 1.0]], (south.size, 1))])
    centre = np.stack([col[a] * ROOM_SIZE, row[a] * ROOM_SIZE], 1) + ROOM_SIZE / 2 + step * (ROOM_SIZE / 2)
    k = a.size
    bottom = 0.0 if door_bottom == "underside" else WALL
    quads = door_quads(
        centre, step, np.full(k, DOOR_WIDTH), np.full(k, bottom), np.full(k, DOOR_HEIGHT + WALL - bottom)
    )
    ids = [f"r{r}_{c}" for r, c in zip(row.tolist(), col.tolist(), strict=True)]
    names = list(MATERIALS)
    cells = [
        {
            "cellId": ids[i],
            "room": {
                "min": [c * ROOM_SIZE, 0.0, r * ROOM_SIZE],
                "max": [(c + 1) * ROOM_SIZE, ROOM_HEIGHT, (r + 1) * ROOM_SIZE],
                "wallThickness": WALL,
                "material": names[i % len(names)],
            },
        }
        for i, (r, c) in enumerate(zip(row.tolist(), col.tolist(), strict=True))
    ]
    return {
        "sceneId": f"grid-{rows}x{cols}-{door_bottom}",
        "cells": cells,
        "portals": _portals([ids[i] for i in a.tolist()], [ids[i] for i in b.tolist()], quads),
        "materials": {name: dict(spec) for name, spec in MATERIALS.items()},
        "props": {"generator": "grid", "rows": str(rows), "cols": str(cols), "doorBottom": door_bottom},
    }


def generate_doorway_wall(doors: int) -> dict[str, Any]:
    """Two rooms sharing one wall with ``doors`` doorways in it (see the module docstring)."""
    if doors < 1:
        raise SceneInvalid([Issue("/portals", "out_of_range", f"a doorway wall needs at least 1 door, got {doors}")])
    length = doors * 1.8 + 1.0
    centre = np.stack([np.full(doors, 4.0), 1.0 + 0.4 + 1.8 * np.arange(doors)], 1)
    normal = np.tile([[1.0, 0.0]], (doors, 1))
    quads = door_quads(centre, normal, np.full(doors, 0.8), np.full(doors, WALL), np.full(doors, DOOR_HEIGHT))
    cells = [
        {"cellId": name, "room": {"min": [x0, 0.0, 0.0], "max": [x0 + 4.0, ROOM_HEIGHT, length], "wallThickness": WALL}}
        for name, x0 in (("west", 0.0), ("east", 4.0))
    ]
    return {
        "sceneId": f"doorway-wall-{doors}",
        "cells": cells,
        "portals": _portals(["west"] * doors, ["east"] * doors, quads),
        "props": {"generator": "doorway-wall", "doors": str(doors)},
    }
