"""Rooms whose walls have pilasters, nibs, niches and jogs: a level of a kind the project's generators do not make.

A real floor plan's outline is rarely a clean polygon: a pilaster or column stub a few centimetres deep stands
out of a wall, a shallow niche or a door frame's nib is set into one, and where two wall thicknesses meet the
wall jogs a few centimetres. Drawn as the room's outline, each is a run of short walls turning both ways. Where
such a feature is shallower or narrower than the walls are thick, the cavity (the outline offset inwards by the
wall's thickness) loses it: a niche narrower than two walls fills in. :func:`notched` inserts the features into
a polygon's walls, :func:`notched_plan` lays rooms out on a grid with a doorway or a window between every two
neighbours, coordinates written to 0.1 mm as a plan exported to millimetres is."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FEATURES", "notched", "notched_plan"]

#: Feature kinds: ``pilaster`` stands into the room (the outline dents inwards), ``niche`` is set into the
#: wall (the outline bulges outwards), ``jog`` moves the rest of the wall outwards (``jog-in``: inwards).
FEATURES = ("pilaster", "niche", "jog", "jog-in")


def notched(corners: np.ndarray, features: list[tuple[int, str, float, float, float]]) -> np.ndarray:
    """``corners`` (k, 2) of a counter-clockwise polygon with ``features`` inserted in its walls: (wall, kind,
    where along it, depth, width), ``kind`` one of :data:`FEATURES`. A jog takes the rest of its wall and moves
    the wall's end corner (not on the last wall; a jog's walls must be square to the next wall's, which keeps
    its line). Features of one wall must not overlap."""
    k = corners.shape[0]
    pts = [np.asarray(c, dtype=np.float64) for c in corners]
    out: list[np.ndarray] = []
    by_wall: dict[int, list[tuple[str, float, float, float]]] = {}
    for wall, kind, at, depth, width in features:
        by_wall.setdefault(wall, []).append((kind, at, depth, width))
    for i in range(k):
        p, q = corners[i], corners[(i + 1) % k]  # a moved corner stays on its wall's line: placed as drawn
        out.append(pts[i])
        u = (q - p) / np.linalg.norm(q - p)
        outward = np.array([u[1], -u[0]])  # counter-clockwise: the room lies to the left
        for kind, at, depth, width in sorted(by_wall.get(i, []), key=lambda f: f[1]):
            a = p + at * u
            if kind in ("pilaster", "niche"):
                n = outward * (depth if kind == "niche" else -depth)
                out += [a, a + n, a + width * u + n, a + width * u]
            else:
                n = outward * (depth if kind == "jog" else -depth)
                out += [a, a + n]
                if i + 1 < k:
                    pts[i + 1] = q + n
    return np.array(out)


def _features(rng: np.random.Generator, length: float, t: float, keep_clear: tuple[float, float]) -> list[tuple]:
    """Up to three features on a wall ``length`` long, 0.3 m or more from its ends, each other and the span
    ``keep_clear``: depths 1 cm to twice the wall's thickness, widths 1 cm to three times it."""
    out: list[tuple] = []
    spans = [(-1.0, 0.3), (length - 0.3, length + 1.0), (keep_clear[0] - 0.3, keep_clear[1] + 0.3)]
    for _ in range(int(rng.integers(0, 4))):
        kind = str(rng.choice(FEATURES, p=[0.35, 0.35, 0.15, 0.15]))
        depth = float(rng.uniform(0.01, 2.0 * t))
        width = float(rng.uniform(0.01, 3.0 * t)) if kind in ("pilaster", "niche") else 0.0
        at = float(rng.uniform(0.3, length - 0.3 - width))
        if kind.startswith("jog") and (any(s1 > at - 0.3 for _, s1 in spans[2:]) or out):
            continue  # (the rest of the wall moves: nothing after it)
        if any(at < s1 + 0.3 and at + width > s0 - 0.3 for s0, s1 in spans[2:]):
            continue
        out.append((kind, at, depth, width))
        spans.append((at, length + 1.0 if kind.startswith("jog") else at + width))
    return out


def notched_plan(columns: int, rows: int, seed: int = 0, size: float = 4.0) -> dict[str, Any]:
    """A ``columns`` × ``rows`` grid of ``size`` m square rooms, walls 5 to 20 cm thick, each wall with up to
    three pilasters, niches or jogs (:func:`_features`) clear of the doorway (or window) 0.9 m wide to each
    neighbour; a jog only on the room's first two walls (it moves the corner after it)."""
    rng = np.random.default_rng(seed)
    cells, portals = [], []
    square = np.array([[0.0, 0.0], [size, 0.0], [size, size], [0.0, size]])
    doors: dict[tuple[int, int, int], tuple[float, tuple[float, float]]] = {}
    for i in range(columns):
        for j in range(rows):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < columns and j + dj < rows:
                    s0 = float(np.round(rng.uniform(1.0, size - 2.0), 4))
                    lo, hi = (0.0, 2.1) if rng.random() < 0.7 else (1.0, 2.0)
                    doors[(i, j, di)] = (s0, (lo, hi))
    for i in range(columns):
        for j in range(rows):
            x0, z0 = i * size, j * size
            t = float(rng.choice([0.05, 0.1, 0.15, 0.2]))
            # Walls 0: z = z0 (door to (i, j - 1)), 1: x = x0 + size (door to (i + 1, j)), 2: z = z0 + size
            # (door to (i, j + 1)), 3: x = x0 (door to (i - 1, j)); positions along each wall counter-clockwise.
            clear = {
                0: doors.get((i, j - 1, 0), (None,))[0],
                1: doors.get((i, j, 1), (None,))[0],
                2: doors.get((i, j, 0), (None,))[0],
                3: doors.get((i - 1, j, 1), (None,))[0],
            }
            features = []
            for wall in range(4):
                s0 = clear[wall]
                # Along wall 2 and 3 the doorway's s0 runs the other way (its quad is laid out along +x / +z).
                span = (-5.0, -5.0) if s0 is None else ((s0, s0 + 0.9) if wall < 2 else (size - s0 - 0.9, size - s0))
                for f in _features(rng, size, t, span):
                    if f[0].startswith("jog") and wall >= 2:
                        continue
                    features.append((wall, *f))
            floor = np.round(notched(square + np.array([x0, z0]), features), 4)
            cells.append(
                {"cellId": f"r{i}_{j}", "room": {"floor": floor.tolist(), "y": 0.0, "height": 3.0, "wallThickness": t}}
            )
    for (i, j, di), (s0, (lo, hi)) in doors.items():
        x0, z0 = i * size, j * size
        if di:
            x = x0 + size
            quad = [x, lo, z0 + s0, x, hi, z0 + s0, x, hi, z0 + s0 + 0.9, x, lo, z0 + s0 + 0.9]
            to = f"r{i + 1}_{j}"
        else:
            z = z0 + size
            quad = [x0 + s0, lo, z, x0 + s0, hi, z, x0 + s0 + 0.9, hi, z, x0 + s0 + 0.9, lo, z]
            to = f"r{i}_{j + 1}"
        portals.append({"from": f"r{i}_{j}", "to": to, "quad": quad})
    return {"sceneId": f"notched-{columns}x{rows}-s{seed}", "cells": cells, "portals": portals}
