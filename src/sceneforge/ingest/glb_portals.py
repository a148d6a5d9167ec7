"""A tagged GLB's portal nodes: their ends and doorway (:func:`portal`), which way they face (:func:`orient`).

A portal's quad is the ``quad`` in its extras (the project's own output, in the node's space, checked like a
description's quad and taken as written), else the outline of its mesh (:mod:`.portal_outline`), turned to
face ``to`` (judged by the two cells' box centres, else by the mesh's own face normals) and started at its
lowest edge. Every problem is an issue naming the node, its path a pointer into the glTF JSON. :func:`z_up`
tells an export whose doorways stand on their cells' floors along Z rather than Y.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import Issue
from ..model.ir import Cell, Portal
from .glb_tags import node_label, other_half, value_text
from .gltf_read import GltfDocument, finite_number
from .portal_outline import CHUNK, lowest_edge_first, planar_outline
from .surfaces import cross3, det3

__all__ = ["orient", "portal", "z_up"]

F64 = npt.NDArray[np.float64]


#: A doorway "stands on the floor" along an axis when its bottom is within this fraction of the
#: cell's height above the cell's bottom and its top at least _HEADROOM below the cell's top.
_FLOOR_GAP, _HEADROOM = 0.1, 0.15


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


def portal(
    doc: GltfDocument, i: int, world: F64, extras: dict[str, Any], src: str, cells: dict[str, Cell], errors: list[Issue]
) -> tuple[str, str, F64, bool, F64 | None] | None:
    """(from, to, quad, oneWay, normal hint) of portal node ``i``; the normal hint is None for a
    quad given in the extras (taken as written), else the outline's normal and the mesh's own."""
    label = node_label(doc, i)
    ends = []
    for key in ("from", "to"):
        value = extras.get(key)
        if not isinstance(value, str) or not value:
            message = f"portal {label} needs {key!r}: a cellId string; got {value_text(value)}"
            if value is None:
                message += other_half(doc, i, src, key)
            errors.append(Issue(f"{src}/{key}", "portal_invalid", message))
        elif value not in cells:
            known = ", ".join(repr(c) for c in list(cells)[:5]) + (", …" if len(cells) > 5 else "")
            message = f"portal {label} names cell {value!r} in {key!r}, which no node tags (cells: {known or 'none'})"
            errors.append(Issue(f"{src}/{key}", "unknown_cell", message))
        else:
            ends.append(value)
    one_way = extras.get("oneWay", False)
    if one_way not in (True, False, 0, 1):  # Blender 3.x stores boolean properties as 0 / 1
        message = f"portal {label} has oneWay {value_text(one_way)}; it must be true or false"
        errors.append(Issue(f"{src}/oneWay", "portal_invalid", message))
    if ends and len(ends) == 2 and ends[0] == ends[1]:
        message = f"portal {label} joins cell {ends[0]!r} to itself"
        errors.append(Issue(f"{src}/to", "self_portal", message))
        return None
    hint: F64 | None
    if "quad" in extras:
        quad = _extras_quad(extras["quad"], world, f"{src}/quad", label, errors)
        if quad is None:
            return None
        hint = None
    else:
        m = doc.node_mesh(i)
        if m is None:
            message = (
                f"portal {label} has no mesh and no 'quad' in its extras to give its doorway (Blender exports an"
                " object without faces, only edges or points, with no mesh unless Include → Data → Mesh → Loose"
                " Edges / Loose Points is on: use_mesh_edges / use_mesh_vertices)"
            )
            errors.append(Issue(f"/nodes/{i}", "portal_no_mesh", message))
            return None
        points, face = _mesh_points(doc, m, world)
        if not np.isfinite(points).all():
            errors.append(Issue(f"/nodes/{i}/mesh", "portal_invalid", f"portal {label} has non-finite coordinates"))
            return None
        # Before the outline: out there its rounding alone (1e-16 of the extent) reads as non_planar or
        # degenerate. The rectangle holds every point, so a point past the range puts the quad past it too.
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


def _out_of_range(quad: F64, path: str, label: str, errors: list[Issue]) -> bool:
    """Whether the world-space ``quad`` reaches past ±MAX_COORDINATE (an error appended), as a
    description's quad may not: float32 keeps only centimetres out there."""
    from ..model.description import MAX_COORDINATE, past_extent

    reach = float(np.abs(quad).max())
    if reach <= MAX_COORDINATE:
        return False
    message = f"portal {label} lies {past_extent(reach)} m from the origin, beyond ±{MAX_COORDINATE:g} m"
    errors.append(Issue(path, "out_of_range", message))
    return True


def _extras_quad(value: Any, world: F64, path: str, label: str, errors: list[Issue]) -> F64 | None:
    from ..validate import check_quads

    numbers = isinstance(value, list) and len(value) == 12 and all(finite_number(x) for x in value)
    if not numbers:
        errors.append(
            Issue(path, "portal_invalid", f"portal {label}: quad must be 12 finite numbers; got {value_text(value)}")
        )
        return None
    quad = np.asarray(value, dtype=np.float64).reshape(4, 3) @ world[:3, :3].T + world[:3, 3]
    if _out_of_range(quad, path, label, errors):
        return None
    for _, code, message in check_quads(quad[None]):
        errors.append(Issue(path, code, f"portal {label}: {message}"))
        return None
    return np.ascontiguousarray(quad)


def orient(
    portals: list[Portal], hints: list[F64 | None], cells: dict[str, Cell], boxes: dict[str, F64]
) -> list[Portal]:
    """Outline quads turned to face ``to`` and started at their lowest edge; given quads as written."""
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
        out.append(Portal(p.index, p.from_cell, p.to_cell, np.ascontiguousarray(quad), p.one_way))
    return out


def z_up(portals: list[Portal], boxes: dict[str, F64]) -> bool:
    """Whether the doorways stand on their cells' floors along Z rather than Y (a Z-up export).

    A doorway stands on a floor along an axis when its bottom is near the cell's bottom and its
    top well below the cell's top; the axis its quad faces along is not judged. Each portal
    votes once per cell it joins; Z must win the vote.
    """
    votes = {1: 0, 2: 0}
    for p in portals:
        normal = cross3(p.quad[2] - p.quad[0], p.quad[3] - p.quad[1])
        normal = normal / max(float(np.linalg.norm(normal)), 1e-300)
        lo, hi = p.quad.min(axis=0), p.quad.max(axis=0)
        for cell in (p.from_cell, p.to_cell):
            box = boxes.get(cell)
            if box is None:
                continue
            standing = []
            for axis in (1, 2):
                height = box[3 + axis] - box[axis]
                if abs(normal[axis]) > 0.5 or height <= 0:
                    continue
                if lo[axis] - box[axis] <= _FLOOR_GAP * height and box[3 + axis] - hi[axis] >= _HEADROOM * height:
                    standing.append(axis)
            if len(standing) == 1:
                votes[standing[0]] += 1
    return votes[2] > votes[1]
