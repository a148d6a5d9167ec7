"""A tagged GLB at the portal limit: 60,000 portal nodes read by ``tagged_glb_to_ir``.

The file is built the way Blender exports one (``tests/ingest/blender_fixture.py``): a grid of cells, each
an empty with one shared room box below it, and ``--portals`` portal nodes in the walls between
neighbouring cells, each turned, scaled and placed by its own transform and tagged in its node's extras.
Four kinds of doorway mesh: Blender's Plane (4 vertices) or a 32-gon (32 vertices, a triangle fan), one
mesh drawn by every node (a linked duplicate) or a mesh of its own per node (its own positions; the
triangles' accessor is shared, or 60,000 meshes' JSON would pass ``SCENEFORGE_MAX_BODY_BYTES``).

CPU seconds, median of ``--repeats``: the whole ingest as it is (portal nodes read stacked,
``sceneforge/ingest/glb_portals.py``) against the anchor, the same ingest reading the portal nodes one at a
time (``tests/ingest/portal_reference.py``: each node's mesh points, ``planar_outline``, turn and vote),
in the same run; then the outlines alone over the same world-space point sets, ``planar_outlines``
against ``planar_outline`` once per set. ``same`` says whether both gave the same portals (quads, ends,
oneWay: the bytes) and warnings. Usage (from the repository's root)::

    python bench/tagged_portals.py [--portals 60000] [--repeats 3] [--kinds plane-shared,...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from timing import median_cpu

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.ingest.blender_fixture import GlbBuilder, box_mesh_arrays  # noqa: E402

KINDS = ("plane-shared", "plane-distinct", "ngon-shared", "ngon-distinct")


def _doorway(kind: str, half_w: float = 0.5, half_h: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions and triangles of a doorway mesh in its XY plane (normal +Z), as Blender's Plane or Circle fill."""
    if kind.startswith("plane"):
        p = np.array([[-half_w, -half_h, 0.0], [half_w, -half_h, 0.0], [half_w, half_h, 0.0], [-half_w, half_h, 0.0]])
        return p, np.array([[0, 1, 2], [0, 2, 3]])
    t = np.arange(32) * (2 * np.pi / 32)
    p = np.stack([half_w * np.cos(t), half_h * np.sin(t), np.zeros(32)], axis=1)
    fan = np.stack([np.zeros(30, np.int64), np.arange(1, 31), np.arange(2, 32)], axis=1)
    return p, fan


def build(kind: str, portals: int, seed: int = 0) -> bytes:
    """A grid of cells (4 × 3 × 4 m boxes) with ``portals`` portal nodes in the walls between neighbours."""
    rng = np.random.default_rng(seed)
    b = GlbBuilder()
    pos, nrm, uv, tri = box_mesh_arrays((2.0, 1.5, 2.0))
    room = b.mesh("RoomBox", [b.primitive(pos, tri, normals=nrm, uvs=uv)])
    side = max(2, int(np.ceil(np.sqrt(portals / 20))))  # ~10 portals per wall between two cells
    cells: list[int] = []
    for gx in range(side):
        for gz in range(side):
            box = b.node(f"Room{gx}_{gz}", mesh=room, translation=[0.0, 1.5, 0.0])
            extras = {"type": "cell", "cellId": f"c{gx}_{gz}"}
            cells.append(b.node(f"Cell{gx}_{gz}", children=[box], translation=[4.0 * gx, 0.0, 4.0 * gz], extras=extras))
    p, t = _doorway(kind)
    shared = b.mesh("Door", [b.primitive(p, t)])
    fan = b.gltf["meshes"][shared]["primitives"][0]["indices"]
    walls = [(gx, gz, axis) for gx in range(side) for gz in range(side) for axis in (0, 1)]
    walls = [(gx, gz, a) for gx, gz, a in walls if (gx + 1 < side if a == 0 else gz + 1 < side)]
    doors: list[int] = []
    s = float(np.sqrt(0.5))
    for k in range(portals):
        gx, gz, axis = walls[k % len(walls)]
        along = float(rng.uniform(-1.4, 1.4))
        scale = [float(rng.uniform(0.2, 0.5)), float(rng.uniform(0.4, 1.0)), 1.0]
        if axis == 0:  # the wall x = 4 gx + 2, the doorway turned to face +X
            a, c = (f"c{gx}_{gz}", f"c{gx + 1}_{gz}")
            where, turn = [4.0 * gx + 2.0, 1.1, 4.0 * gz + along], [0.0, s, 0.0, s]
        else:  # the wall z = 4 gz + 2, facing +Z
            a, c = (f"c{gx}_{gz}", f"c{gx}_{gz + 1}")
            where, turn = [4.0 * gx + along, 1.1, 4.0 * gz + 2.0], [0.0, 0.0, 0.0, 1.0]
        mesh = shared
        if kind.endswith("distinct"):
            # Its own positions, the shared triangles: 60,000 meshes of Blender's own layout pass the JSON limit.
            mesh = b.mesh(f"D{k}", [{"attributes": {"POSITION": b.accessor(p * (1 + k * 1e-6))}, "indices": fan}])
        extras = {"type": "portal", "from": a, "to": c}
        doors.append(b.node(f"D{k}", mesh=mesh, translation=where, rotation=turn, scale=scale, extras=extras))
    level = b.node("Level", children=cells + doors)
    b.gltf["scenes"] = [{"name": "Scene", "nodes": [level]}]
    b.gltf["scene"] = 0
    return b.glb()


def _point_sets(data: bytes) -> list[np.ndarray]:
    """Every portal node's world-space points, as the ingest reads them."""
    from tests.ingest.portal_reference import _mesh_points

    from sceneforge.ingest.glb_tags import tag
    from sceneforge.ingest.gltf_read import parse_glb

    doc = parse_glb(data)
    return [
        _mesh_points(doc, m, world)[0]
        for i, world, _ in doc.walk()
        if tag(doc, i)[0] == "portal" and (m := doc.node_mesh(i)) is not None
    ]


def _same(a: list[Any], b: list[Any]) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x[0], str) or isinstance(y[0], str):
            if x != y:
                return False
        elif not (np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])):
            return False
    return len(a) == len(b)


def _ingest(data: bytes, per_node: bool) -> Any:
    """``tagged_glb_to_ir``'s portals (bytes) and warnings; ``per_node``: its portal nodes read one at a time."""
    from tests.ingest import portal_reference as reference

    from sceneforge.config import Limits
    from sceneforge.ingest import tagged_glb

    saved = tagged_glb.read_portals, tagged_glb.orient, tagged_glb.z_up
    if per_node:

        def one_at_a_time(doc: Any, nodes: Any, tags: Any, cells: Any, errors: Any) -> list[Any]:
            found = [reference.portal(doc, i, world, tags[i][1], tags[i][2], cells, errors) for i, world in nodes]
            return [f for f in found if f is not None]

        tagged_glb.read_portals = one_at_a_time  # type: ignore[assignment]
        tagged_glb.orient = lambda portals, hints, cells, boxes: reference.orient(portals, hints, boxes)
        tagged_glb.z_up = reference.z_up
    try:
        ir, warnings = tagged_glb.tagged_glb_to_ir(data, Limits())
    finally:
        tagged_glb.read_portals, tagged_glb.orient, tagged_glb.z_up = saved
    portals = [(p.from_cell, p.to_cell, p.quad.tobytes(), p.one_way) for p in ir.portals]
    return portals, [(w.path, w.code, w.message) for w in warnings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args(argv)

    from sceneforge.ingest.portal_outline import planar_outline, planar_outlines

    print(f"{args.portals:,} portal nodes; CPU seconds, median of {args.repeats}")
    head = (
        f"{'file':<15} {'MB':>5} {'ingest':>7} {'per node':>8} {'×':>5} {'outlines':>8} {'per node':>8} {'×':>5} same"
    )
    print(head)
    for kind in args.kinds.split(","):
        data = build(kind, args.portals)
        stacked, got = median_cpu(lambda data=data: _ingest(data, False), args.repeats)
        single, want = median_cpu(lambda data=data: _ingest(data, True), args.repeats)
        sets = _point_sets(data)
        outlines, found = median_cpu(lambda sets=sets: planar_outlines(sets), args.repeats)
        alone, wanted = median_cpu(lambda sets=sets: [planar_outline(p) for p in sets], args.repeats)
        same = got == want and _same(found, wanted) and len(got[0]) == args.portals
        print(
            f"{kind:<15} {len(data) / 1e6:>5.1f} {stacked:>6.2f}s {single:>7.2f}s {single / stacked:>4.1f}×"
            f" {outlines:>7.2f}s {alone:>7.2f}s {alone / outlines:>4.1f}× {same}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
