"""Procedural galleries: a museum wing of tall exhibition halls in a row, with side cabinets.

``generate_gallery(halls, seed, cabinets=…)`` returns a scene description (docs/scene-format.md).
Halls are 5 m high box rooms of random width (8–14 m) and depth (9–12 m), laid along +x so that
neighbours share a wall, joined by a wide opening (3 m × 3.5 m, offset at random along the
wall). Cabinets are small 4.5 m high rooms (4–5 m square) on the north side (−z) of a hall, each
reached by one door (1.6 m × 2.6 m); about ``cabinets`` of the halls get one, some two. Doorways
use the ``between`` + ``door`` form, so they sit on the shared walls whatever the sizes.

Cost: O(halls) Python work (a few dozen dicts); deterministic for the same arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import Issue, SceneInvalid

__all__ = ["generate_gallery"]

HALL_HEIGHT = 5.0
CABINET_HEIGHT = 4.5
WALL = 0.15
MATERIALS: dict[str, Any] = {
    "hall": {"baseColor": [0.93, 0.92, 0.89, 1.0], "roughness": 0.85},
    "hall-accent": {"baseColor": [0.55, 0.18, 0.2, 1.0], "roughness": 0.8},
    "cabinet": {"baseColor": [0.2, 0.3, 0.45, 1.0], "roughness": 0.7},
}


def _r(value: float) -> float:
    return round(float(value), 3)


def generate_gallery(halls: int, seed: int = 0, *, cabinets: float = 0.5) -> dict[str, Any]:
    """A gallery of ``halls`` halls (1–500) with side cabinets on about ``cabinets`` (0–1) of them."""
    if not 1 <= halls <= 500:
        raise SceneInvalid([Issue("/halls", "out_of_range", f"halls must be 1..500, got {halls}")])
    if not 0.0 <= cabinets <= 1.0:
        raise SceneInvalid([Issue("/cabinets", "out_of_range", f"cabinets must be 0..1, got {cabinets}")])
    rng = np.random.default_rng(seed)
    widths = rng.uniform(8.0, 14.0, halls)
    depths = rng.uniform(9.0, 12.0, halls)
    starts = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    cells: list[dict[str, Any]] = []
    portals: list[dict[str, Any]] = []
    for i in range(halls):
        material = "hall-accent" if i % 4 == 3 else "hall"
        cells.append({"cellId": f"hall{i}", "room": {"min": [_r(starts[i]), 0.0, 0.0],
                      "max": [_r(starts[i] + widths[i]), HALL_HEIGHT, _r(depths[i])], "wallThickness": WALL,
                      "material": material}})  # fmt: skip
        if i:
            overlap = min(depths[i - 1], depths[i])
            shift = float(rng.uniform(-0.2, 0.2)) * max(overlap - 4.0, 0.0)
            portals.append({"between": [f"hall{i - 1}", f"hall{i}"],
                            "door": {"width": 3.0, "height": 3.5, "offset": _r(shift)}})  # fmt: skip
    for i in range(halls):
        if rng.random() >= cabinets:
            continue
        count = 2 if widths[i] > 10.0 and rng.random() < 0.5 else 1
        size = widths[i] / count
        for k in range(count):
            side = min(float(rng.uniform(4.0, 5.0)), size)
            x0 = starts[i] + k * size + (size - side) / 2
            cid = f"cabinet{i}_{k}"
            cells.append({"cellId": cid, "room": {"min": [_r(x0), 0.0, _r(-side)], "max": [_r(x0 + side),
                          CABINET_HEIGHT, 0.0], "wallThickness": WALL, "material": "cabinet"}})  # fmt: skip
            portals.append({"between": [f"hall{i}", cid], "door": {"width": 1.6, "height": 2.6}})
    return {
        "sceneId": f"gallery-{halls}-s{seed}",
        "cells": cells,
        "portals": portals,
        "materials": MATERIALS,
        "props": {"generator": "gallery", "halls": str(halls), "seed": str(seed)},
    }
