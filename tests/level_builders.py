"""Pieces of hand-made levels for the tests and benchmarks: rooms (boxes, floor polygons), portal quads in walls
and slabs, a scene, and a level moved whole (docs/scene-format.md)."""

from __future__ import annotations

import copy
import math
from typing import Any

Level = dict[str, Any]

__all__ = ["Level", "box", "hatch", "moved", "poly", "scene", "wall_door", "x_door", "z_door"]


def box(cell_id: str, lo: tuple[float, float, float], hi: tuple[float, float, float], t: float | None = None) -> dict:
    room: dict[str, Any] = {"min": list(lo), "max": list(hi)}
    if t is not None:
        room["wallThickness"] = t
    return {"cellId": cell_id, "room": room}


def poly(
    cell_id: str, points: list[tuple[float, float]], y: float = 0.0, h: float = 3.0, t: float | None = None
) -> dict:
    room: dict[str, Any] = {"floor": [list(p) for p in points], "y": y, "height": h}
    if t is not None:
        room["wallThickness"] = t
    return {"cellId": cell_id, "room": room}


def x_door(frm: str, to: str, x: float, z0: float, z1: float, y0: float, y1: float, **extra: Any) -> dict:
    """A quad in the wall x = ``x``, facing +x (``frm`` on the low-x side)."""
    return {"from": frm, "to": to, "quad": [x, y0, z0, x, y1, z0, x, y1, z1, x, y0, z1], **extra}


def z_door(frm: str, to: str, z: float, x0: float, x1: float, y0: float, y1: float, **extra: Any) -> dict:
    """A quad in the wall z = ``z``, facing +z (``frm`` on the low-z side)."""
    return {"from": frm, "to": to, "quad": [x1, y0, z, x1, y1, z, x0, y1, z, x0, y0, z], **extra}


def hatch(frm: str, to: str, y: float, x0: float, x1: float, z0: float, z1: float) -> dict:
    """A horizontal quad at height ``y``, facing +y (``frm`` below)."""
    return {"from": frm, "to": to, "quad": [x0, y, z0, x0, y, z1, x1, y, z1, x1, y, z0]}


def wall_door(
    frm: str, to: str, a: tuple[float, float], b: tuple[float, float], y0: float, y1: float, width: float
) -> dict:
    """A doorway ``width`` wide centred on the wall from ``a`` to ``b`` (plan points, x and z), from
    ``y0`` to ``y1``; its normal (the side of ``to``) is (-uz, ux) for the wall's direction (ux, uz)."""
    (ax, az), (bx, bz) = a, b
    length = math.hypot(bx - ax, bz - az)
    ux, uz = (bx - ax) / length, (bz - az) / length
    mx, mz = (ax + bx) / 2, (az + bz) / 2
    p0 = (mx - ux * width / 2, mz - uz * width / 2)
    p1 = (mx + ux * width / 2, mz + uz * width / 2)
    # (p1, y0), (p1, y1), (p0, y1): the edges (0, h, 0) and (-w·ux, h, -w·uz), whose cross product is h·w·(-uz, 0, ux).
    quad = [p1[0], y0, p1[1], p1[0], y1, p1[1], p0[0], y1, p0[1], p0[0], y0, p0[1]]
    return {"from": frm, "to": to, "quad": quad}


def scene(scene_id: str, cells: list[dict], portals: list[dict]) -> Level:
    return {"sceneId": scene_id, "cells": cells, "portals": portals}


def moved(level: Level, dx: float, dy: float, dz: float, suffix: str) -> Level:
    """A copy of ``level`` moved by (dx, dy, dz), its ``sceneId`` with ``suffix`` added."""
    out = copy.deepcopy(level)
    out["sceneId"] += suffix
    for cell in out["cells"]:
        room = cell.get("room")
        if room is None:
            continue
        if "min" in room:
            room["min"] = [v + o for v, o in zip(room["min"], (dx, dy, dz), strict=True)]
            room["max"] = [v + o for v, o in zip(room["max"], (dx, dy, dz), strict=True)]
        else:
            room["floor"] = [[x + dx, z + dz] for x, z in room["floor"]]
            room["y"] = room.get("y", 0.0) + dy
    for portal in out["portals"]:
        if "quad" in portal:
            portal["quad"] = [v + (dx, dy, dz)[i % 3] for i, v in enumerate(portal["quad"])]
    return out
