"""Checks of a description before lowering (:func:`validate_description`).

The limits (cells, portals, portals of a cell, instance groups and transforms, materials, props, meshes,
floor points) raise :class:`~sceneforge.errors.LimitExceeded` first, before anything is looked at closely.
Then every error is collected and raised together as :class:`~sceneforge.errors.SceneInvalid`: ids (unknown,
duplicate), portal quads (:mod:`.quads`), floor polygons (:mod:`.polygons`), rooms too small for their walls
or too far out for float32 positions to keep them; the warnings that need only the graph (empty cell,
unreachable cell) are returned. Every issue's path is a JSON pointer into the description.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from ..config import Limits
from ..errors import MAX_LISTED_WARNINGS, Issue, LimitExceeded, SceneInvalid, capped
from ..model.description import SceneDescription
from ..model.ir import DEFAULT_MATERIAL
from .polygons import check_polygons
from .quads import check_quads

__all__ = ["validate_description"]


def validate_description(desc: SceneDescription, limits: Limits) -> list[Issue]:
    """Raise :class:`SceneInvalid` with every error; return the warnings."""
    for count, setting, maximum, path, what in (
        (len(desc.cells), "SCENEFORGE_MAX_CELLS", limits.max_cells, "/cells", "cell count"),
        (len(desc.portals), "SCENEFORGE_MAX_PORTALS", limits.max_portals, "/portals", "portal count"),
        (len(desc.instances), "SCENEFORGE_MAX_INSTANCE_GROUPS", limits.max_instance_groups, "/instances",
         "instance group count"),
        (len(desc.materials), "SCENEFORGE_MAX_MATERIALS", limits.max_materials, "/materials", "material count"),
        (len(desc.props), "SCENEFORGE_MAX_PROPS", limits.max_props, "/props", "prop count"),
        (sum(len(i.transforms) for i in desc.instances), "SCENEFORGE_MAX_INSTANCE_TRANSFORMS",
         limits.max_instance_transforms, "/instances", "instance transform count"),
        (sum(len(c.meshes) for c in desc.cells), "SCENEFORGE_MAX_MESHES", limits.max_meshes, "/cells", "mesh count"),
    ):  # fmt: skip
        if count > maximum:
            raise LimitExceeded(setting, count, maximum, path=path, what=what)
    if desc.portals:
        per_cell = Counter(
            e for p in desc.portals for e in ((p.source,) if p.source == p.target else (p.source, p.target))
        )
        cell_id, count = per_cell.most_common(1)[0]
        if count > limits.max_cell_portals:
            at = next((f"/cells/{i}" for i, c in enumerate(desc.cells) if c.cell_id == cell_id), "/portals")
            what = f"portal count of cell {cell_id!r}"
            raise LimitExceeded("SCENEFORGE_MAX_CELL_PORTALS", count, limits.max_cell_portals, path=at, what=what)
    floor_points = sum(len(c.room.floor) for c in desc.cells if c.room is not None and c.room.floor is not None)
    if floor_points > limits.max_floor_points:
        raise LimitExceeded(
            "SCENEFORGE_MAX_FLOOR_POINTS",
            floor_points,
            limits.max_floor_points,
            path="/cells",
            what="floor point count",
        )
    errors: list[Issue] = []
    warnings: list[Issue] = []
    index: dict[str, int] = {}
    for i, cell in enumerate(desc.cells):
        if cell.cell_id in index:
            errors.append(
                Issue(
                    f"/cells/{i}/cellId",
                    "duplicate_id",
                    f"cellId {cell.cell_id!r} is also used by /cells/{index[cell.cell_id]}",
                )
            )
        else:
            index[cell.cell_id] = i
    materials = set(desc.materials) | {DEFAULT_MATERIAL}
    # The cells instances are placed in, looked up per empty cell: a scan of every instance per cell
    # took 68 s for 20,000 empty cells and 20,000 instances (a 2.5 MB description).
    instanced = {x.cell_id for x in desc.instances}

    def need_material(material: str | None, path: str) -> None:
        if material is not None and material not in materials:
            errors.append(Issue(path, "unknown_material", f"material {material!r} is not defined in /materials"))

    boxes: list[tuple[float, ...]] = []  # (cell, min xyz, max xyz, wall thickness): checked at once below
    outlines: list[tuple[int, float, float, float]] = []  # (cell, farthest coordinate, wall thickness, height)
    # Every floor outline checked at once, and its farthest coordinate taken, before the cells in order.
    floors = [
        np.asarray(r.floor, dtype=np.float64)
        for r in (c.room for c in desc.cells)
        if r is not None and (r.min is None or r.max is None) and r.floor is not None
    ]
    problems = iter(check_polygons(floors))
    counts = np.array([f.shape[0] for f in floors], dtype=np.int64)
    reaches = np.abs(np.concatenate(floors)).max(axis=1) if floors else np.empty(0)
    farthest = iter(np.maximum.reduceat(reaches, np.cumsum(counts) - counts).tolist() if floors else [])
    for i, cell in enumerate(desc.cells):
        room = cell.room
        if room is not None:
            need_material(room.material, f"/cells/{i}/room/material")
            if room.min is not None and room.max is not None:
                boxes.append((i, *room.min, *room.max, room.wall_thickness))
            elif room.floor is not None:
                reach = max(next(farthest), abs(room.y), abs(room.y + room.height))
                outlines.append((i, reach, room.wall_thickness, room.height))
                problem = next(problems)
                if problem:
                    errors.append(Issue(f"/cells/{i}/room/floor", *problem))
                elif room.height <= 2 * room.wall_thickness:
                    errors.append(
                        Issue(
                            f"/cells/{i}/room/height",
                            "room_too_small",
                            f"room height {room.height:g} m is not more than twice its wall thickness"
                            f" ({room.wall_thickness:g} m): its floor and ceiling leave no space inside",
                        )
                    )
        for j, mesh in enumerate(cell.meshes):
            need_material(mesh.material_id, f"/cells/{i}/meshes/{j}/materialId")
        if not cell.meshes and cell.room is None and cell.cell_id not in instanced:
            warnings.append(Issue(f"/cells/{i}", "empty_cell", f"cell {cell.cell_id!r} has no geometry", "warning"))

    errors.extend(_room_issues(np.asarray(boxes, dtype=np.float64).reshape(-1, 8), outlines))

    for k, inst in enumerate(desc.instances):
        if inst.cell_id not in index:
            errors.append(Issue(f"/instances/{k}/cellId", "unknown_id", f"no cell {inst.cell_id!r}"))
        need_material(inst.material_id, f"/instances/{k}/materialId")

    edges: list[tuple[int, int, bool]] = []
    quads, quad_portals = [], []
    for k, p in enumerate(desc.portals):
        ends = ("between/0", "between/1") if p.between else ("from", "to")
        ids = (p.source, p.target)
        known = True
        for end, cid in zip(ends, ids, strict=True):
            if cid not in index:
                errors.append(Issue(f"/portals/{k}/{end}", "unknown_id", f"no cell {cid!r}"))
                known = False
        if ids[0] == ids[1]:
            errors.append(Issue(f"/portals/{k}/{ends[1]}", "self_portal", f"portal joins cell {ids[0]!r} to itself"))
            known = False
        if known:
            edges.append((index[ids[0]], index[ids[1]], p.one_way))
        if p.quad is not None:
            quads.append(p.quad)
            quad_portals.append(k)
    for q, code, message in check_quads(np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)):
        errors.append(Issue(f"/portals/{quad_portals[q]}/quad", code, message))

    if errors:
        raise SceneInvalid(errors)
    warnings.extend(_unreachable(desc, edges))
    return warnings


def _room_issues(boxes: np.ndarray, outlines: list[tuple[int, float, float, float]]) -> list[Issue]:
    """Box rooms (rows of cell, min xyz, max xyz, wall thickness) not larger than twice their walls on every
    axis; then every room (the boxes and ``outlines``: cell, farthest coordinate, wall thickness, height) so far
    from the origin that float32 positions (the GLB's) cannot hold its walls: a wall no more than one float32
    step thick there can collapse (its faces' triangles lose their height, the shell opens), and so can the
    space inside (a box's narrowest, an outline's height, less its walls) no more than one step across, which
    the booleans cannot cut either: relative to the coordinates it is within their tolerance, and doorways
    cut into it multiply triangles without bound."""
    issues = []
    size = boxes[:, 4:7] - boxes[:, 1:4]
    for k in np.flatnonzero(size.min(axis=1) <= 2.0 * boxes[:, 7]).tolist():
        shown = [float(v) for v in size[k]]
        wall = float(boxes[k, 7])
        below = [axis for axis, v in zip("xyz", shown, strict=True) if v < 0.0]
        if below:  # a corner given the wrong way round: no room can be that small
            message = (
                f"room box max is below its min on {', '.join(below)} (max - min = {shown} m): min is the low"
                " corner, max the high one"
            )
        else:
            thin = [axis for axis, v in zip("xyz", shown, strict=True) if v <= 2.0 * wall]
            message = (
                f"room box {shown} m is not larger than twice its wall thickness ({wall:g} m) on"
                f" {', '.join(thin)}: its walls, floor and ceiling leave no space inside"
            )
        issues.append(Issue(f"/cells/{int(boxes[k, 0])}/room", "room_too_small", message))
    far = np.asarray(outlines, dtype=np.float64).reshape(-1, 4)
    cells = np.concatenate([boxes[:, 0], far[:, 0]]).astype(np.int64)
    reach = np.concatenate([np.abs(boxes[:, 1:7]).max(axis=1, initial=0.0), far[:, 1]])
    thickness = np.concatenate([boxes[:, 7], far[:, 2]])
    inside = np.concatenate([size.min(axis=1, initial=np.inf), far[:, 3]]) - 2.0 * thickness
    step = np.spacing(reach.astype(np.float32)).astype(np.float64)
    for k in np.flatnonzero(thickness <= step).tolist():
        message = (
            f"walls {thickness[k]:g} m thick, {reach[k]:,.0f} m from the origin: float32 positions (the GLB's)"
            f" step by {step[k]:g} m there, too coarse to keep them (they need more than {step[k]:g} m);"
            " move the level nearer the origin or thicken the walls"
        )
        issues.append(Issue(f"/cells/{cells[k]}/room/wallThickness", "precision_lost", message))
    # Rooms whose walls leave no space at all are room_too_small above.
    for k in np.flatnonzero((inside > 0.0) & (inside <= step)).tolist():
        message = (
            f"the space inside is {inside[k]:g} m across, {reach[k]:,.0f} m from the origin: float32 positions"
            f" (the GLB's) step by {step[k]:g} m there, too coarse to keep it open (it needs more than"
            f" {step[k]:g} m); move the level nearer the origin or make the room larger"
        )
        issues.append(Issue(f"/cells/{cells[k]}/room", "precision_lost", message))
    return issues


def _unreachable(desc: SceneDescription, edges: list[tuple[int, int, bool]]) -> list[Issue]:
    """Cells no sight or walk path reaches from the first cell (portals taken both ways)."""
    n = len(desc.cells)
    if n < 2:
        return []
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for a, b, _one_way in edges:
        adjacency[a].append(b)
        adjacency[b].append(a)
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    queue = deque([0])
    while queue:
        for nxt in adjacency[queue.popleft()]:
            if not seen[nxt]:
                seen[nxt] = True
                queue.append(nxt)
    first = desc.cells[0].cell_id
    unseen = np.flatnonzero(~seen)
    # Made for those listed only (20,000 cells and no portal: 19,999 of them), the others counted.
    listed = [
        Issue(
            f"/cells/{i}",
            "unreachable_cell",
            f"cell {desc.cells[i].cell_id!r} has no portal path to {first!r}",
            "warning",
        )
        for i in unseen[:MAX_LISTED_WARNINGS].tolist()
    ]
    return capped(listed, "/cells", "cells without a portal path to the first", int(unseen.size))
