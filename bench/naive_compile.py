"""The naive compile baseline: box rooms with doorways, built the obvious way with trimesh, as its own program.

``python bench/naive_compile.py SPEC OUT.glb`` reads a scene description whose cells are box rooms
(``room: {min, max, wallThickness}``, the levels of ``sceneforge generate`` and the box levels of
bench/compile.py) and writes one GLB. It imports only the standard library, numpy and trimesh
(with manifold3d as trimesh's boolean engine), never sceneforge, so timing it as a whole process
measures what a user of this approach pays, start-up included, like ``sceneforge build``.

What it does, per room: six box meshes (floor, ceiling and four walls, each ``wallThickness``
thick, inside the room's box); every slab that a doorway's cutter overlaps loses all of them in
**one** boolean difference (``Trimesh.difference`` with the list of cutters, manifold engine,
``check_volume=False``: boxes are closed by construction, so the check would only add time); a
cutter is the portal's quad grown by half a metre along its normal, so it cuts both rooms' walls.
Every slab becomes one node and one mesh of a ``trimesh.Scene``, exported with trimesh's GLB
writer. It does not weld, merge, compute visibility, write metadata or check its input: everything
``sceneforge build`` does beyond the room shells is left out, in the baseline's favour.

Output on stdout: one JSON line, ``{"seconds": <time from reading SPEC to the GLB written, after
the imports>, "bytes": <GLB size>}``; on stderr, ``VMHWM_KIB <peak RSS>`` at exit.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import trimesh


def _slab_bounds(lo: np.ndarray, hi: np.ndarray, t: float) -> dict[str, np.ndarray]:
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    return {
        "floor": np.array([[x0, y0, z0], [x1, y0 + t, z1]]),
        "ceiling": np.array([[x0, y1 - t, z0], [x1, y1, z1]]),
        "west": np.array([[x0, y0, z0], [x0 + t, y1, z1]]),
        "east": np.array([[x1 - t, y0, z0], [x1, y1, z1]]),
        "north": np.array([[x0, y0, z0], [x1, y1, z0 + t]]),
        "south": np.array([[x0, y0, z1 - t], [x1, y1, z1]]),
    }


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((a[0] < b[1]).all() and (b[0] < a[1]).all())


def build(spec: Path, out: Path) -> dict[str, Any]:
    """Build ``spec`` into ``out``; the seconds exclude the interpreter and the imports above."""
    start = time.perf_counter()
    description = json.loads(spec.read_bytes())
    cutters: dict[str, list[trimesh.Trimesh]] = {}
    for portal in description.get("portals", []):
        quad = np.asarray(portal["quad"], dtype=float).reshape(4, 3)
        normal = np.cross(quad[1] - quad[0], quad[3] - quad[0])
        normal = np.abs(normal / np.linalg.norm(normal))
        cutter = trimesh.creation.box(bounds=[quad.min(axis=0) - normal * 0.5, quad.max(axis=0) + normal * 0.5])
        cutters.setdefault(portal["from"], []).append(cutter)
        cutters.setdefault(portal["to"], []).append(cutter)
    scene = trimesh.Scene()
    for cell in description["cells"]:
        room = cell["room"]
        lo, hi = np.asarray(room["min"], dtype=float), np.asarray(room["max"], dtype=float)
        for name, bounds in _slab_bounds(lo, hi, float(room.get("wallThickness", 0.1))).items():
            mesh = trimesh.creation.box(bounds=bounds)
            hits = [c for c in cutters.get(cell["cellId"], []) if _overlap(bounds, c.bounds)]
            if hits:
                mesh = mesh.difference(hits, engine="manifold", check_volume=False)
            node = f"{cell['cellId']}:{name}"
            scene.add_geometry(mesh, node_name=node, geom_name=node)
    data = scene.export(file_type="glb")
    out.write_bytes(data)
    return {"seconds": time.perf_counter() - start, "bytes": len(data)}


def _report_peak_rss() -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            sys.stderr.write(f"\nVMHWM_KIB {line.split()[1]}\n")


if __name__ == "__main__":
    atexit.register(_report_peak_rss)
    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]))))
