"""Audit the levels of ``tests/levels_new_kinds.py``: what every build owes, one row per level.

Usage: ``PYTHONPATH=src:. python bench/new_kinds.py [NAME ...] [--per-cell N] [--variants | --variant V ...]``

For each level: the plain build (or its issues), its warnings (as ``sceneforge validate`` reports
them), ``stats.booleanCells``, the thinnest triangle of the shells as built and whether every shell is
closed, the quantized build's triangles against the plain one's and inside each cell's ``aabb``, the
compressed build's triangles, strict JSON, every portal open (rays through the middle of each quad,
across both rooms' walls), and the PVS against the sampled sight lines of ``tests/visibility``
(pairs missed, pairs the PVS holds ÷ pairs the lines join). Prints one JSON object a level.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from typing import Any

import numpy as np
from tests.geometry.levels import cell_triangles, heights
from tests.geometry.meshcheck import blocked_portals, closed
from tests.levels_new_kinds import NEW_KINDS, backwards, moved, to_mm, turned_by
from tests.test_awkward_levels import check_pvs, glb_json, strict_json

from sceneforge.compile import BuildOptions, check_scene, compile_scene
from sceneforge.config import Limits
from sceneforge.errors import SceneInvalid
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals


def mirrored(level: Any) -> Any:
    """``level`` mirrored x → −x (every outline and quad then winds the other way round)."""
    out = copy.deepcopy(level)
    out["sceneId"] += "-mirror"
    for cell in out["cells"]:
        room = cell.get("room", {})
        if "min" in room:
            (x0, y0, z0), (x1, y1, z1) = room["min"], room["max"]
            room["min"], room["max"] = [-x1, y0, z0], [-x0, y1, z1]
        if "floor" in room:
            room["floor"] = [[-x, z] for x, z in room["floor"]]
    for portal in out["portals"]:
        if "quad" in portal:
            portal["quad"] = [-v if i % 3 == 0 else v for i, v in enumerate(portal["quad"])]
    return out


VARIANTS = {
    "": lambda level: level,
    "turned": lambda level: turned_by(level, 37.7),
    "turned-mm-10km": lambda level: to_mm(moved(turned_by(level, -151.3), 1e4, -20.0, -1e4, "-10km")),
    "backwards-mm": lambda level: backwards(to_mm(level)),
    "turned45-mm": lambda level: to_mm(turned_by(level, 45.0)),
    "turned89.99-mm": lambda level: to_mm(turned_by(level, 89.99)),
    "mirrored-turned-mm": lambda level: to_mm(mirrored(turned_by(level, 23.0))),
}


def audit(name: str, per_cell: int, variant: str = "") -> dict[str, Any]:
    level = VARIANTS[variant](NEW_KINDS[name]())
    name = f"{name} {variant}".strip()
    data = json.dumps(level).encode()
    row: dict[str, Any] = {"level": name, "cells": len(level["cells"]), "portals": len(level["portals"])}
    start = time.perf_counter()
    try:
        plain = compile_scene(data, BuildOptions())
    except SceneInvalid as error:
        row["error"] = [f"{i.path} {i.code}: {i.message}" for i in error.issues]
        return row
    row["build_s"] = round(time.perf_counter() - start, 2)
    row["booleanCells"] = plain.meta["stats"]["booleanCells"]
    row["warnings"] = [f"{w.code} {w.path}: {w.message}" for w in plain.warnings]
    row["validate"] = sorted({w.code for w in check_scene(data)})
    strict_json(json.dumps(plain.meta, allow_nan=False))
    glb_json(plain.glb)
    ir = description_to_ir(parse_description(data), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    generate_rooms(ir)
    thinnest, open_shells = float("inf"), []
    for cell in ir.cells:
        if cell.room is None:
            continue
        shell = cell.surfaces[-1]
        if not closed(shell):
            open_shells.append(cell.cell_id)
        tri = shell.positions.astype(np.float64)[shell.indices.astype(np.int64)]
        h = float(heights(tri).min())
        if h < thinnest:
            thinnest, row["thinnest_cell"] = h, cell.cell_id
    row["thinnest_mm"] = round(thinnest * 1e3, 4)
    row["open_shells"] = open_shells
    row["blocked_portals"] = blocked_portals(ir)
    quantized = compile_scene(data, BuildOptions(quantize=True, pvs=False))
    glb_json(quantized.glb)
    row["quantize_skipped"] = any(w.code == "quantize_skipped" for w in quantized.warnings)
    boxes = {c["cellId"]: c["aabb"] for c in plain.meta["visibility"]["cells"]}
    plain_tris, quant_tris = cell_triangles(plain.glb), cell_triangles(quantized.glb)
    lost, outside = [], []
    for cell_id, tri in quant_tris.items():
        if int((heights(tri) > 0).sum()) != plain_tris[cell_id].shape[0]:
            lost.append(cell_id)
        lo, hi = np.asarray(boxes[cell_id][:3]), np.asarray(boxes[cell_id][3:])
        if not ((tri >= lo - 1e-9).all() and (tri <= hi + 1e-9).all()):
            outside.append(cell_id)
        if not ((plain_tris[cell_id] >= lo).all() and (plain_tris[cell_id] <= hi).all()):
            outside.append(cell_id + " (plain)")
    row["quantized_lost_cells"], row["outside_aabb"] = lost, outside
    compressed = compile_scene(data, BuildOptions(compress=True, pvs=False))
    glb_json(compressed.glb)
    comp_tris = cell_triangles(compressed.glb)
    row["compressed_lost_cells"] = [
        c for c, tri in comp_tris.items() if int((heights(tri) > 0).sum()) != plain_tris[c].shape[0]
    ]
    if ir.portals and all(c.room is not None for c in ir.cells):
        try:
            claimed, seen = check_pvs(ir, plain.meta, per_cell)
            row["pvs"] = {"claimed": claimed, "seen": seen, "ratio": round(claimed / max(seen, 1), 3), "misses": 0}
        except AssertionError as error:
            row["pvs"] = {"misses": str(error)[:300]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=sorted(NEW_KINDS))
    parser.add_argument("--per-cell", type=int, default=100)
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also turned, written to mm (turned, at 10 km, mirrored), wound backwards",
    )
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="only these variants")
    args = parser.parse_args()
    for name in args.names:
        for variant in args.variant or (VARIANTS if args.variants else [""]):
            print(json.dumps(audit(name, args.per_cell, variant)), flush=True)


if __name__ == "__main__":
    main()
