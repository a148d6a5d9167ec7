"""Floor plans of polyomino rooms: a grid of squares shared out among rooms grown from random seeds, as a plan
drawn on squared paper is.

Each storey is its own partition of the grid (rooms above lie across those below); a room is the union of its
squares, concave as it comes (L, T, U, S shapes, arms locked into its neighbours' notches), and one whose squares
meet only at a corner or enclose a hole is split into its squares. Between two rooms of a storey, on two of the
square sides they share: a doorway (from the floor slab's top, or from its underside or its middle) and a window
(mid-height, or up to the ceiling's underside or into the ceiling slab), each of a width from half a metre to the
whole side, centred or flush with one end of the side (a corner of either room, or the middle of a longer wall).
Between storeys, stair openings 1 m square at a square's middle or flush with its sides. Everything is laid on a
1 cm grid: the smallest feature is a centimetre.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import numpy as np

Level = dict[str, Any]

_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def _outline(squares: list[tuple[int, int]], side: float) -> list[list[float]] | None:
    """The outline of the union of ``squares`` (each ``side`` wide), counter-clockwise; None when it is no
    simple polygon (two pieces, a hole, squares meeting only at a corner)."""
    from manifold3d import CrossSection, OpType

    parts = [CrossSection.square([side, side]).translate([i * side, j * side]) for i, j in squares]
    rings = CrossSection.batch_boolean(parts, OpType.Add).simplify(1e-9).to_polygons()
    if len(rings) != 1:
        return None
    ring = np.round(np.asarray(rings[0], np.float64), 6)
    if len({tuple(p) for p in ring.tolist()}) != len(ring):
        return None
    return ring.tolist()  # type: ignore[no-any-return]


def _partition(width: int, depth: int, rooms: int, rng: random.Random) -> np.ndarray:
    """(width, depth) room numbers: ``rooms`` seeds grown a square at a time into free neighbours."""
    owner = -np.ones((width, depth), np.int64)
    for k, (i, j) in enumerate(rng.sample([(i, j) for i in range(width) for j in range(depth)], rooms)):
        owner[i, j] = k
    while (owner < 0).any():
        free = [
            (i, j)
            for i in range(width)
            for j in range(depth)
            if owner[i, j] < 0
            and any(0 <= i + a < width and 0 <= j + b < depth and owner[i + a, j + b] >= 0 for a, b in _STEPS)
        ]
        i, j = rng.choice(free)
        near = [owner[i + a, j + b] for a, b in _STEPS if 0 <= i + a < width and 0 <= j + b < depth]
        owner[i, j] = rng.choice([int(n) for n in near if n >= 0])
    return owner


def polyomino(
    seed: int,
    width: int = 10,
    depth: int = 10,
    rooms: int = 14,
    storeys: int = 2,
    side: float = 2.0,
    openings: float = 1.0,
) -> Level:
    """A level of ``storeys`` storeys of ``rooms`` polyomino rooms each on a ``width`` × ``depth`` grid of
    ``side`` m squares (3 m high, walls 0.2 m thick); see the module docstring. ``openings``: the chance of each of
    the doorway and the window between two rooms (1: both, always; less, a plan of fewer ways through)."""
    rng = random.Random(seed)
    h, t = 3.0, 0.2
    cells: list[dict[str, Any]] = []
    portals: list[dict[str, Any]] = []
    owners = []
    for storey in range(storeys):
        owner = _partition(width, depth, rooms, rng)
        spare = int(owner.max()) + 1
        for k in range(int(owner.max()) + 1):
            squares = [(int(i), int(j)) for i, j in zip(*np.nonzero(owner == k), strict=True)]
            if squares and _outline(squares, side) is None:
                for i, j in squares[1:]:
                    owner[i, j], spare = spare, spare + 1
        owners.append(owner)
        y = storey * h
        for k in range(int(owner.max()) + 1):
            squares = [(int(i), int(j)) for i, j in zip(*np.nonzero(owner == k), strict=True)]
            floor = _outline(squares, side)
            room = {"floor": floor, "y": y, "height": h, "wallThickness": t}
            cells.append({"cellId": f"s{storey}r{k}", "room": room})
        shared: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
        for i in range(width):
            for j in range(depth):
                for a, b in ((1, 0), (0, 1)):
                    if i + a < width and j + b < depth and owner[i, j] != owner[i + a, j + b]:
                        shared[int(owner[i, j]), int(owner[i + a, j + b])].append((i, j, a))
        for (ka, kb), sides in sorted(shared.items()):
            rng.shuffle(sides)
            for n, (i, j, along_x) in enumerate(sides[:2]):
                if openings < 1.0 and rng.random() >= openings:
                    continue
                window = n == 1
                y0, y1 = (y + 1.0, y + 2.0) if window else (y + t, y + 2.1)
                w = rng.choice([0.5, 0.9, 1.5, side - 0.2, side])
                off = round((side - w) / 2 * rng.choice([-1.0, 0.0, 1.0, 0.9]), 2)
                if window and rng.random() < 0.5:
                    y1 = y + h - t * rng.choice([1.0, 0.5])
                if not window and rng.random() < 0.4:
                    y0 = y + t * rng.choice([0.0, 0.5])
                if along_x:  # the side x = (i + 1) side, z from j side to (j + 1) side
                    x, zc = (i + 1) * side, (j + 0.5) * side + off
                    quad = [x, y0, zc - w / 2, x, y1, zc - w / 2, x, y1, zc + w / 2, x, y0, zc + w / 2]
                else:
                    z, xc = (j + 1) * side, (i + 0.5) * side + off
                    quad = [xc + w / 2, y0, z, xc + w / 2, y1, z, xc - w / 2, y1, z, xc - w / 2, y0, z]
                portals.append({"from": f"s{storey}r{ka}", "to": f"s{storey}r{kb}", "quad": quad})
    for storey in range(storeys - 1):
        for _ in range(2):
            i, j = rng.randrange(width), rng.randrange(depth)
            below, above = int(owners[storey][i, j]), int(owners[storey + 1][i, j])
            level = (storey + 1) * h
            x0, z0 = i * side + rng.choice([0.0, 0.5, 1.0]), j * side + rng.choice([0.0, 0.5, 1.0])
            quad = [x0, level, z0, x0, level, z0 + 1, x0 + 1, level, z0 + 1, x0 + 1, level, z0]
            portals.append({"from": f"s{storey}r{below}", "to": f"s{storey + 1}r{above}", "quad": quad})
    return {"sceneId": f"polyomino-{seed}", "cells": cells, "portals": portals}
