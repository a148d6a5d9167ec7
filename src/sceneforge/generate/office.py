"""Procedural office buildings: corridors with many doors, windows between rooms, L-shaped corner
rooms, stacked storeys joined by a stairwell with an opening in its floor slab.

``generate_office(storeys, rooms, seed)`` returns a scene description (docs/scene-format.md).
Each storey (3.2 m high, stacked so slabs touch) has a corridor along +x, 2.4 m wide, split into
segments of about 12 m joined by wide openings; ``rooms`` offices per side of random widths
(3–6 m) and 5 m deep line it north and south, each with a door onto the corridor segment it
faces; neighbouring offices see each other through a window (a mid-height portal, 1.0 m above
the floor); at the corridor's east end two L-shaped corner rooms (floor polygons) wrap around
the last offices' ends; at its west end a stairwell opens onto the corridor, and above the
ground floor its floor slab has an opening (a horizontal portal) into the stairwell below.

Cost: O(storeys × rooms) Python work; deterministic for the same arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import Issue, SceneInvalid

__all__ = ["generate_office"]

STOREY_HEIGHT = 3.2
WALL = 0.1
CORRIDOR_WIDTH = 2.4
ROOM_DEPTH = 5.0
SEGMENT_LENGTH = 12.0
STAIR_SIZE = 4.0
MATERIALS: dict[str, Any] = {
    "corridor": {"baseColor": [0.78, 0.76, 0.72, 1.0], "roughness": 0.6},
    "office": {"baseColor": [0.95, 0.93, 0.88, 1.0], "roughness": 0.9},
    "meeting": {"baseColor": [0.62, 0.7, 0.82, 1.0], "roughness": 0.8},
    "stairs": {"baseColor": [0.5, 0.5, 0.52, 1.0], "roughness": 0.7},
}


def _r(v: float) -> float:
    return round(float(v), 3)


def _box(cell_id: str, lo: tuple[float, float, float], hi: tuple[float, float, float], material: str) -> dict[str, Any]:
    return {"cellId": cell_id, "room": {"min": [_r(v) for v in lo], "max": [_r(v) for v in hi],
            "wallThickness": WALL, "material": material}}  # fmt: skip


def _window(a: str, b: str, x: float, z0: float, z1: float, y: float) -> dict[str, Any]:
    """A 1.0 m high window in the wall x = ``x`` between rooms a (west) and b (east), normal +x."""
    mid, half = (z0 + z1) / 2, min(0.6, (z1 - z0) / 2 - 0.4)
    lo, hi = y + WALL + 1.0, y + WALL + 2.0
    quad = [x, lo, mid - half, x, hi, mid - half, x, hi, mid + half, x, lo, mid + half]
    return {"from": a, "to": b, "quad": [_r(v) for v in quad]}


def _slab_opening(below: str, above: str, x0: float, z0: float, x1: float, z1: float, y: float) -> dict[str, Any]:
    """A horizontal opening at height ``y`` from the room below into the room above (normal +y)."""
    quad = [x0, y, z0, x0, y, z1, x1, y, z1, x1, y, z0]
    return {"from": below, "to": above, "quad": [_r(v) for v in quad]}


def _storey(s: int, rooms: int, rng: np.random.Generator, cells: list[Any], portals: list[Any]) -> None:
    y = s * STOREY_HEIGHT
    top = y + STOREY_HEIGHT
    sides: dict[str, list[tuple[float, float, str]]] = {}
    for side in ("n", "s"):
        widths = rng.uniform(3.0, 6.0, rooms)
        edges = np.concatenate([[0.0], np.cumsum(widths)])
        sides[side] = [(float(edges[i]), float(edges[i + 1]), f"{side}{s}_{i}") for i in range(rooms)]
    # The corridor runs 3 m past the longer row, so both corner rooms get their L.
    length = max(sides["n"][-1][1], sides["s"][-1][1]) + 3.0
    n_seg = max(1, int(np.ceil(length / SEGMENT_LENGTH)))
    seg_edges = np.linspace(0.0, length, n_seg + 1)
    z_lo, z_hi = 0.0, CORRIDOR_WIDTH
    for k in range(n_seg):
        cells.append(_box(f"c{s}_{k}", (seg_edges[k], y, z_lo), (seg_edges[k + 1], top, z_hi), "corridor"))
        if k:
            door = {"width": CORRIDOR_WIDTH - 0.4, "height": STOREY_HEIGHT - 0.6}
            portals.append({"between": [f"c{s}_{k - 1}", f"c{s}_{k}"], "door": door})
    for side, (z0, z1) in (("n", (-ROOM_DEPTH, z_lo)), ("s", (z_hi, z_hi + ROOM_DEPTH))):
        row = sides[side]
        ends = row
        for i, (x0, x1, cid) in enumerate(ends):
            material = "meeting" if rng.random() < 0.2 else "office"
            cells.append(_box(cid, (x0, y, z0), (x1, top, z1), material))
            mid = (x0 + x1) / 2
            seg = min(int(np.searchsorted(seg_edges, mid, side="right")) - 1, n_seg - 1)
            overlap = min(x1, seg_edges[seg + 1]) - max(x0, seg_edges[seg])
            reach = max(0.0, (overlap - 1.2) / 2)
            door = {"width": 0.9, "height": 2.1, "offset": _r(rng.uniform(-reach, reach))}
            pair = [f"c{s}_{seg}", cid] if side == "s" else [cid, f"c{s}_{seg}"]
            portals.append({"between": pair, "door": door})
            if i and rng.random() < 0.5:
                portals.append(_window(ends[i - 1][2], cid, x0, z0, z1, y))
        last = ends[-1][1] if ends else 0.0
        # An L-shaped corner room wraps the corridor's end and this side's last office.
        depth_in = z1 if side == "n" else z0
        outer = z0 if side == "n" else z1
        far, inner = length + 5.0, (z_hi + z_lo) / 2
        if side == "n":
            floor = [[last, outer], [far, outer], [far, inner], [length, inner], [length, depth_in], [last, depth_in]]
        else:
            floor = [[last, depth_in], [length, depth_in], [length, inner], [far, inner], [far, outer], [last, outer]]
        cells.append({"cellId": f"l{s}_{side}", "room": {"floor": [[_r(a), _r(b)] for a, b in floor], "y": _r(y),
                      "height": STOREY_HEIGHT, "wallThickness": WALL, "material": "meeting"}})  # fmt: skip
        portals.append({"between": [f"c{s}_{n_seg - 1}", f"l{s}_{side}"], "door": {"width": 0.9, "height": 2.1}})
    stair = f"stair{s}"
    cells.append(_box(stair, (-STAIR_SIZE, y, 0.0), (0.0, top, CORRIDOR_WIDTH), "stairs"))
    portals.append({"between": [stair, f"c{s}_0"], "door": {"width": 1.6, "height": 2.4}})
    if s:
        portals.append(_slab_opening(f"stair{s - 1}", stair, -STAIR_SIZE + 0.6, 0.4, -0.6, CORRIDOR_WIDTH - 0.4, y))


def generate_office(storeys: int = 1, rooms: int = 10, seed: int = 0) -> dict[str, Any]:
    """An office building of ``storeys`` (1–50) floors with ``rooms`` (1–200) offices per corridor side."""
    if not 1 <= storeys <= 50:
        raise SceneInvalid([Issue("/storeys", "out_of_range", f"storeys must be 1..50, got {storeys}")])
    if not 1 <= rooms <= 200:
        raise SceneInvalid([Issue("/rooms", "out_of_range", f"rooms must be 1..200, got {rooms}")])
    rng = np.random.default_rng(seed)
    cells: list[dict[str, Any]] = []
    portals: list[dict[str, Any]] = []
    for s in range(storeys):
        _storey(s, rooms, rng, cells, portals)
    return {
        "sceneId": f"office-{storeys}x{rooms}-s{seed}",
        "cells": cells,
        "portals": portals,
        "materials": MATERIALS,
        "props": {"generator": "office", "storeys": str(storeys), "rooms": str(rooms), "seed": str(seed)},
    }
