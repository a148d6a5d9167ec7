"""Voronoi floor plans: a level of a kind the project's generators do not make.

Each room is the Voronoi cell of a random point in a rectangle (a convex polygon of 3 to ~10 sides at any
angle, some of them a few millimetres to centimetres long), rooms joined by a doorway (or a window) on every
wall they share that is long enough, sometimes two; storeys stacked, with a stair opening in some floors.
Coordinates are written to 0.1 mm, as a plan exported to millimetres is; quads are wound either way."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["voronoi_plan"]


def _clip(poly: list[tuple[float, float]], a: float, b: float, c: float) -> list[tuple[float, float]]:
    """``poly`` cut to the half-plane a·x + b·z <= c (Sutherland–Hodgman)."""
    out = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        dp, dq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if dp <= 0:
            out.append(p)
        if (dp < 0 < dq) or (dq < 0 < dp):
            t = dp / (dp - dq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _cells(points: np.ndarray, width: float, depth: float) -> list[list[tuple[float, float]]]:
    polys = []
    for i, p in enumerate(points):
        poly = [(0.0, 0.0), (width, 0.0), (width, depth), (0.0, depth)]
        for j, q in enumerate(points):
            if i != j:
                poly = _clip(poly, *(q - p), float(q @ q - p @ p) / 2)
        rounded: list[tuple[float, float]] = []
        for x, z in poly:
            v = (round(x, 4), round(z, 4))
            if not rounded or math.dist(v, rounded[-1]) > 1e-3:
                rounded.append(v)
        if math.dist(rounded[0], rounded[-1]) <= 1e-3:
            rounded.pop()
        polys.append(rounded)
    return polys


def _quad(p: tuple[float, float], q: tuple[float, float], s0: float, s1: float, y0: float, y1: float) -> list[float]:
    length = math.dist(p, q)
    ux, uz = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    a = (p[0] + ux * s0, p[1] + uz * s0)
    b = (p[0] + ux * s1, p[1] + uz * s1)
    return [round(v, 4) for v in (a[0], y0, a[1], b[0], y0, b[1], b[0], y1, b[1], a[0], y1, a[1])]


def voronoi_plan(
    seed: int, rooms: int = 30, storeys: int = 2, windows: float = 0.3, width: float = 30.0, depth: float = 24.0
) -> dict[str, Any]:
    """A description of ``storeys`` × ``rooms`` cells (see the module docstring); ``windows``: the share of shared
    walls joined by a window (1.0 to 2.0 m over the floor) rather than a doorway."""
    rng = np.random.default_rng(seed)
    points = np.round(rng.uniform([1, 1], [width - 1, depth - 1], size=(rooms, 2)), 3)
    polys = _cells(points, width, depth)
    height = 3.0
    cells = [
        {"cellId": f"s{s}r{i}", "room": {"floor": [list(p) for p in poly], "y": s * height, "height": height}}
        for s in range(storeys)
        for i, poly in enumerate(polys)
    ]
    owners: dict[tuple[tuple[float, float], ...], list[int]] = {}
    for i, poly in enumerate(polys):
        for k, p in enumerate(poly):
            owners.setdefault(tuple(sorted([p, poly[(k + 1) % len(poly)]])), []).append(i)
    portals = []
    for (p, q), both in owners.items():
        length = math.dist(p, q)
        if len(both) != 2 or length < 1.6:
            continue
        i, j = both if rng.random() < 0.5 else both[::-1]  # either winding
        for s in range(storeys):
            y0 = s * height
            w = min(1.0, length - 0.6)
            s0 = float(rng.uniform(0.3, length - 0.3 - w))
            kind = rng.random()
            lo, hi = (y0 + 1.0, y0 + 2.0) if kind < windows else (y0 + float(rng.choice([0.0, 0.1])), y0 + 2.1)
            portals.append({"from": f"s{s}r{i}", "to": f"s{s}r{j}", "quad": _quad(p, q, s0, s0 + w, lo, hi)})
            s1 = s0 + w + 0.4
            if kind > 0.85 and s1 + w < length - 0.3:  # a second doorway in the same wall
                portals.append({"from": f"s{s}r{j}", "to": f"s{s}r{i}", "quad": _quad(p, q, s1, s1 + w, y0, y0 + 2.1)})
    for s in range(1, storeys):  # a 1 m stair opening at the middle of some rooms, 0.4 m or more from every wall
        for i in rng.choice(rooms, size=max(1, rooms // 8), replace=False).tolist():
            poly = np.array(polys[i])
            c = poly.mean(axis=0)
            edges = np.roll(poly, -1, axis=0) - poly
            area = float(np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1]))
            square = c + np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
            rel = square[:, None, :] - poly[None]
            inside = np.sign(area) * (edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0])
            if (inside / np.linalg.norm(edges, axis=1) >= 0.4).all():
                y = s * height
                quad = [round(float(v), 4) for x, z in square for v in (x, y, z)]
                portals.append({"from": f"s{s}r{i}", "to": f"s{s - 1}r{i}", "quad": quad})
    return {"sceneId": f"voronoi-{seed}", "cells": cells, "portals": portals}
