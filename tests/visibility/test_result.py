"""The visibility result's JSON form (docs/meta.md) and the package's public surface."""

from __future__ import annotations

import json

import numpy as np

import sceneforge.visibility as visibility
from sceneforge.generate.maze import generate_maze
from sceneforge.visibility import compute_visibility

from .sightlines import ir_from_description


def test_visibility_public_surface_is_pinned() -> None:
    assert sorted(visibility.__all__) == [
        "CellVisibility",
        "PortalGraph",
        "PortalVisibility",
        "Visibility",
        "build_portal_graph",
        "compute_visibility",
        "potentially_visible",
        "reachable_sets",
    ]


def test_visibility_as_dict_has_the_meta_shape() -> None:
    ir = ir_from_description(generate_maze(9, 4))
    vis = compute_visibility(ir)
    out = vis.as_dict()
    assert set(out) == {"cells", "portals"}
    assert [c["cellId"] for c in out["cells"]] == [c.cell_id for c in ir.cells]
    assert len(out["portals"]) == len(ir.portals)
    for c, cell in zip(out["cells"], ir.cells, strict=True):
        assert set(c) == {"cellId", "aabb", "portals", "pvs"}
        assert c["aabb"] == np.round(cell.aabb(), 6).tolist()
        for i in c["portals"]:
            assert cell.cell_id in (out["portals"][i]["from"], out["portals"][i]["to"])
    for p, portal in zip(out["portals"], ir.portals, strict=True):
        assert set(p) == {"from", "to", "quad", "plane"}
        assert len(p["quad"]) == 12
        a, b, c, d = p["plane"]
        assert abs(a * a + b * b + c * c - 1) < 1e-5
        centre = portal.quad.mean(axis=0)
        assert abs(np.dot([a, b, c], centre) + d) < 1e-5
    assert json.loads(json.dumps(out)) == out
    assert vis.mean_pvs_size() == sum(len(c["pvs"]) for c in out["cells"]) / len(out["cells"])


def test_visibility_is_deterministic() -> None:
    ir = ir_from_description(generate_maze(64, 11))
    assert json.dumps(compute_visibility(ir).as_dict()) == json.dumps(compute_visibility(ir).as_dict())


def test_one_way_portals_say_so_in_the_meta_and_two_way_ones_keep_the_design_shape() -> None:
    import numpy as np

    from sceneforge.model.ir import Cell, Portal, Room, SceneIR
    from sceneforge.visibility import compute_visibility

    square = np.array([[0, 0], [0, 4], [4, 4], [4, 0]], float)
    rooms = [Room(square + np.array([4.0 * i, 0.0]), 0.0, 3.0, 0.1, "default") for i in range(3)]
    quad = np.array([[4, 0.1, 1.5], [4, 2.2, 1.5], [4, 2.2, 2.5], [4, 0.1, 2.5]], float)
    portals = [Portal(0, "a", "b", quad), Portal(1, "b", "c", quad + np.array([4.0, 0, 0]), one_way=True)]
    ir = SceneIR("s", [Cell(n, r) for n, r in zip("abc", rooms, strict=True)], portals, {})
    out = compute_visibility(ir).as_dict()["portals"]
    assert set(out[0]) == {"from", "to", "quad", "plane"}
    assert out[1]["oneWay"] is True
