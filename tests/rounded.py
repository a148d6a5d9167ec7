"""Rooms with rounded corners: a level of a kind the project's generators do not make.

A modelling tool's bevel (or a CAD fillet) turns a room's corner into an arc drawn with a few straight walls.
Where the arc's radius is smaller than the walls are thick, every one of those walls is shorter than the
cavity's mitred corners take from it; where it is a little larger, some are. :func:`rounded_plan` lays rooms
out on a grid, each corner rounded (or not) at random, neighbours joined by a doorway or a window, coordinates
written to 0.1 mm as a plan exported to millimetres is."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["rounded", "rounded_plan"]


def rounded(corners: np.ndarray, fillets: list[tuple[int, float, int]]) -> np.ndarray:
    """``corners`` (k, 2) with the corners of ``fillets`` rounded: (corner, radius, segments), an arc tangent
    to both walls drawn with that many straight walls."""
    out = []
    k = corners.shape[0]
    fillet = {i: (r, n) for i, r, n in fillets}
    for i in range(k):
        p = corners[i]
        if i not in fillet:
            out.append(p)
            continue
        r, n = fillet[i]
        u = (corners[i - 1] - p) / np.linalg.norm(corners[i - 1] - p)
        v = (corners[(i + 1) % k] - p) / np.linalg.norm(corners[(i + 1) % k] - p)
        half = np.arccos(np.clip(u @ v, -1.0, 1.0)) / 2
        a, b = p + r / np.tan(half) * u, p + r / np.tan(half) * v  # where the arc leaves each wall
        centre = p + r / np.sin(half) * (u + v) / np.linalg.norm(u + v)
        start, end = np.arctan2(*(a - centre)[::-1]), np.arctan2(*(b - centre)[::-1])
        sweep = (end - start + np.pi) % (2 * np.pi) - np.pi
        for s in np.linspace(0.0, 1.0, n + 1):
            out.append(centre + r * np.array([np.cos(start + s * sweep), np.sin(start + s * sweep)]))
    return np.array(out)


def rounded_plan(columns: int, rows: int, seed: int = 0, size: float = 4.0, to_corners: bool = False) -> dict[str, Any]:
    """A ``columns`` × ``rows`` grid of ``size`` m square rooms, walls 5 to 20 cm thick, each corner rounded
    (2 to 8 walls, a radius of a quarter to three times the wall's thickness) or left square; a doorway
    from the floor or a window between every two neighbours. ``to_corners``: each drawn to a corner (either
    end of the shared wall), up to the first room's cavity corner (where its arc's walls all fold: the apex)
    or past it to the outline's corner, from the floor's underside, its top (the first room's) or a window."""
    rng = np.random.default_rng(seed)
    cells, portals = [], []
    square = np.array([[0.0, 0.0], [size, 0.0], [size, size], [0.0, size]])
    for i in range(columns):
        for j in range(rows):
            x0, z0 = i * size, j * size
            t = float(rng.choice([0.05, 0.1, 0.15, 0.2]))
            fillets = [
                (k, float(rng.uniform(0.25, 3.0)) * t, int(rng.integers(2, 9))) for k in range(4) if rng.random() < 0.75
            ]
            floor = np.round(rounded(square + np.array([x0, z0]), fillets), 4)
            cells.append(
                {"cellId": f"r{i}_{j}", "room": {"floor": floor.tolist(), "y": 0.0, "height": 3.0, "wallThickness": t}}
            )
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= columns or j + dj >= rows:
                    continue
                s0 = float(np.round(rng.uniform(1.0, size - 2.0), 4))
                lo, hi = (0.0, 2.1) if rng.random() < 0.7 else (1.0, 2.0)
                if to_corners:
                    reach = size - (t if rng.random() < 0.5 else 0.0)  # to the cavity's corner, or the outline's
                    s0 = size - reach if rng.random() < 0.5 else reach - 0.9
                    lo, hi = [(0.0, 2.1), (t, 2.1), (1.0, 2.0)][int(rng.integers(3))]
                if di:
                    x = x0 + size
                    quad = [x, lo, z0 + s0, x, hi, z0 + s0, x, hi, z0 + s0 + 0.9, x, lo, z0 + s0 + 0.9]
                else:
                    z = z0 + size
                    quad = [x0 + s0, lo, z, x0 + s0, hi, z, x0 + s0 + 0.9, hi, z, x0 + s0 + 0.9, lo, z]
                portals.append({"from": f"r{i}_{j}", "to": f"r{i + di}_{j + dj}", "quad": quad})
    return {"sceneId": f"rounded-{columns}x{rows}-s{seed}", "cells": cells, "portals": portals}
