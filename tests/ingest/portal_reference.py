"""The per-node reading of a tagged GLB's portals, one node at a time: the reference the stacked reading
(:func:`sceneforge.ingest.glb_portals.portals`, :func:`~sceneforge.ingest.glb_portals.orient`,
:func:`~sceneforge.ingest.glb_portals.z_up`) must match bit for bit, message for message.

Each portal node's ends, its mesh's world-space points (:func:`_mesh_points`) and outline
(:func:`~sceneforge.ingest.portal_outline.planar_outline`), its range checks, then each outline turned and
started at its lowest edge, and the Z-up vote, every step on one node's arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sceneforge.errors import Issue
from sceneforge.ingest.glb_portals import (
    _DOOR_SHARE,
    _FLOOR_GAP,
    _HEADROOM,
    _VOTING,
    UPRIGHT,
    _extras_quad,
    _out_of_range,
    no_mesh,
)
from sceneforge.ingest.glb_tags import folded_ids, node_label, number_hint, other_half, unknown_cell, value_text
from sceneforge.ingest.gltf_read import GltfDocument
from sceneforge.ingest.portal_outline import CHUNK, lowest_edge_first, planar_outline
from sceneforge.ingest.surfaces import cross3, det3
from sceneforge.model.ir import Portal

F64 = Any  # a float64 array


def _mesh_points(doc: GltfDocument, m: int, world: F64) -> tuple[F64, F64]:
    """Every vertex of mesh ``m`` in world space (of its point and line primitives too), and the
    mesh's area-weighted face normal (world; zero for a wire outline: the cells' boxes decide).

    The normal is the side a renderer draws as the front: under a mirroring ``world`` (negative
    determinant) glTF takes the winding as clockwise (spec §3.7.4), so the sum is turned around.
    """
    points, normal = [], np.zeros(3)
    for prim in doc.primitives(m, points_and_lines=True):  # a wire outline is an outline too
        p = prim.positions @ world[:3, :3].T + world[:3, 3]
        points.append(p)
        for start in range(0, prim.triangles.shape[0], CHUNK * 64):  # bounded temporaries
            t = p[prim.triangles[start : start + CHUNK * 64]]
            normal += cross3(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]).sum(axis=0)
    if det3(world[:3, :3]) < 0:
        normal = -normal
    return (np.concatenate(points) if points else np.zeros((0, 3))), normal


def portal(doc: Any, i: int, world: Any, extras: dict[str, Any], src: str, cells: Any, errors: list[Issue]) -> Any:
    """(from, to, quad, oneWay, normal hint) of portal node ``i``, or None; errors appended."""
    label = node_label(doc, i)
    ends = []
    for key in ("from", "to"):
        value = extras.get(key)
        if not isinstance(value, str) or not value:
            given = f"got {value_text(value)}" if key in extras else "it has none"
            message = f"portal {label} needs {key!r}: a cellId string; {given}{number_hint(value)}"
            if value is None:
                message += other_half(doc, i, src, key)
            errors.append(Issue(f"{src}/{key}", "portal_invalid", message))
        elif value not in cells:
            message = unknown_cell(label, key, value, cells, folded_ids(cells))
            errors.append(Issue(f"{src}/{key}", "unknown_cell", message))
        else:
            ends.append(value)
    one_way = extras.get("oneWay", False)
    if one_way not in (True, False, 0, 1):
        message = f"portal {label} has oneWay {value_text(one_way)}; it must be true or false"
        errors.append(Issue(f"{src}/oneWay", "portal_invalid", message))
    if ends and len(ends) == 2 and ends[0] == ends[1]:
        errors.append(Issue(f"{src}/to", "self_portal", f"portal {label} joins cell {ends[0]!r} to itself"))
        return None
    if "quad" in extras:
        quad = _extras_quad(extras["quad"], world, f"{src}/quad", label, errors)
        if quad is None:
            return None
        hint = None
    else:
        m = doc.node_mesh(i)
        if m is None:
            errors.append(Issue(f"/nodes/{i}", "portal_no_mesh", no_mesh(doc, i)))
            return None
        points, face = _mesh_points(doc, m, world)
        if not np.isfinite(points).all():
            errors.append(Issue(f"/nodes/{i}/mesh", "portal_invalid", f"portal {label} has non-finite coordinates"))
            return None
        if points.size and _out_of_range(points, f"/nodes/{i}", label, errors):
            return None
        outline = planar_outline(points)
        if isinstance(outline[0], str):
            code, what = outline
            errors.append(Issue(f"/nodes/{i}/mesh", str(code), f"portal {label}: {what}"))
            return None
        quad, normal = outline
        hint = np.stack([np.asarray(normal), face])
        if _out_of_range(quad, f"/nodes/{i}", label, errors):
            return None
    if len(ends) < 2:
        return None
    return ends[0], ends[1], quad, bool(one_way), hint


def orient(portals: list[Portal], hints: list[Any], boxes: dict[str, Any]) -> list[Portal]:
    out = []
    for p, hint in zip(portals, hints, strict=True):
        quad = p.quad
        if hint is not None:
            normal, face = hint
            sign = 0.0
            a, b = boxes.get(p.from_cell), boxes.get(p.to_cell)
            if a is not None and b is not None:
                towards = (b[:3] + b[3:]) / 2 - (a[:3] + a[3:]) / 2
                along = float(normal @ towards)
                if abs(along) > 1e-9 * max(float(np.linalg.norm(towards)), 1e-300):
                    sign = along
            if sign == 0.0:
                sign = float(normal @ face)
            if sign < 0:
                quad = quad[::-1]
            quad = lowest_edge_first(quad)
        out.append(Portal(p.index, p.from_cell, p.to_cell, np.ascontiguousarray(quad), p.one_way, p.path, p.name))
    return out


def z_up(portals: list[Portal], boxes: dict[str, Any], cells: tuple[int, int] = (0, 0)) -> bool:
    votes = {1: cells[0], 2: cells[1]}
    for p in portals:
        normal = cross3(p.quad[2] - p.quad[0], p.quad[3] - p.quad[1])
        normal = normal / max(float(np.linalg.norm(normal)), 1e-300)
        lo, hi = p.quad.min(axis=0), p.quad.max(axis=0)
        for cell in (p.from_cell, p.to_cell):
            box = boxes.get(cell)
            if box is None:
                continue
            standing, floored = set(), set()
            for axis in (1, 2):
                height = box[3 + axis] - box[axis]
                if abs(normal[axis]) > UPRIGHT or height <= 0:
                    continue
                tall = hi[axis] - lo[axis] >= _DOOR_SHARE * height
                sunk = box[5] - hi[2] <= _FLOOR_GAP * height and lo[2] - box[2] >= _HEADROOM * height
                if axis == 2 and abs(normal[0]) > _VOTING and tall and sunk:  # on a floor along -Z (turned -90°)
                    standing.add(2)
                if lo[axis] - box[axis] > _FLOOR_GAP * height:
                    continue
                floored.add(axis)
                high = box[3 + axis] - hi[axis] >= _HEADROOM * height
                if abs(normal[0]) > _VOTING and high and tall:
                    standing.add(axis)
            for axis, other in ((1, 2), (2, 1)):
                if axis in standing and other not in floored:
                    votes[axis] += 1
    return votes[2] > votes[1]
