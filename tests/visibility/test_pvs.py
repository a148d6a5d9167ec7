"""PVS on hand-made layouts with known answers, and against sampled sight lines on generated mazes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sceneforge.generate import generate_apartment
from sceneforge.generate.maze import door_quads, generate_maze
from sceneforge.model.ir import Cell, Portal, Room, SceneIR
from sceneforge.visibility import build_portal_graph, compute_visibility, reachable_sets

from .sightlines import free_segments, ir_from_description, occluders, sampled_visible


def _box(cell_id: str, x: float, z: float) -> Cell:
    floor = np.array([[x, z], [x + 4, z], [x + 4, z + 4], [x, z + 4]], float)
    return Cell(cell_id, Room(floor, 0.0, 3.0, 0.1, "default"))


def _door(i: int, frm: str, to: str, centre: tuple[float, float], normal: tuple[float, float], **kw: bool) -> Portal:
    quad = door_quads(np.array([centre]), np.array([normal]), np.array([1.0]), np.array([0.1]), np.array([2.1]))[0]
    return Portal(i, frm, to, quad, **kw)


def _pvs(ir: SceneIR, pvs: bool = True) -> dict[str, set[str]]:
    return {c.cell_id: set(c.pvs) for c in compute_visibility(ir, pvs=pvs).cells}


def test_pvs_straight_corridor_all_visible() -> None:
    cells = [_box(f"c{i}", 4.0 * i, 0.0) for i in range(5)]
    portals = [_door(i, f"c{i}", f"c{i + 1}", (4.0 * (i + 1), 2.0), (1.0, 0.0)) for i in range(4)]
    pvs = _pvs(SceneIR("corridor", cells, portals, {}))
    assert all(v == {f"c{i}" for i in range(5)} for v in pvs.values())


def test_pvs_l_bend_hides_cells_round_the_corner() -> None:
    # a - b - c along +x, then c - d - e along +z; all doors 1 m wide in the middle of their walls.
    cells = [_box("a", 0, 0), _box("b", 4, 0), _box("c", 8, 0), _box("d", 8, 4), _box("e", 8, 8)]
    portals = [
        _door(0, "a", "b", (4, 2), (1, 0)),
        _door(1, "b", "c", (8, 2), (1, 0)),
        _door(2, "c", "d", (10, 4), (0, 1)),
        _door(3, "d", "e", (10, 8), (0, 1)),
    ]
    pvs = _pvs(SceneIR("bend", cells, portals, {}))
    assert pvs["a"] == {"a", "b", "c"}
    assert pvs["b"] == {"a", "b", "c", "d"}
    assert pvs["e"] == {"c", "d", "e"}
    assert pvs["c"] == {"a", "b", "c", "d", "e"}


def test_pvs_zigzag_blocks_offset_doors() -> None:
    # Four rooms in a row, doors alternating between the far sides of the walls: no line passes two.
    cells = [_box(f"z{i}", 4.0 * i, 0.0) for i in range(4)]
    portals = [_door(i, f"z{i}", f"z{i + 1}", (4.0 * (i + 1), 0.7 if i % 2 else 3.3), (1, 0)) for i in range(3)]
    pvs = _pvs(SceneIR("zigzag", cells, portals, {}))
    assert pvs["z0"] == {"z0", "z1", "z2"}
    assert "z3" not in pvs["z0"] and "z0" not in pvs["z3"]


def test_pvs_one_way_portal_passes_sight_forwards_only() -> None:
    cells = [_box("a", 0, 0), _box("b", 4, 0), _box("c", 8, 0)]
    portals = [_door(0, "a", "b", (4, 2), (1, 0), one_way=True), _door(1, "b", "c", (8, 2), (1, 0))]
    ir = SceneIR("oneway", cells, portals, {})
    for flow in (True, False):
        pvs = _pvs(ir, pvs=flow)
        assert pvs["a"] == {"a", "b", "c"}
        assert pvs["b"] == {"b", "c"}
        assert pvs["c"] == {"b", "c"}


def test_pvs_cell_reachable_by_two_paths() -> None:
    # A 2 × 2 block with a door on each inner wall: d is reached from a through b and through c.
    cells = [_box("a", 0, 0), _box("b", 4, 0), _box("c", 0, 4), _box("d", 4, 4)]
    portals = [
        _door(0, "a", "b", (4, 2), (1, 0)),
        _door(1, "a", "c", (2, 4), (0, 1)),
        _door(2, "b", "d", (6, 4), (0, 1)),
        _door(3, "c", "d", (4, 6), (1, 0)),
    ]
    ir = SceneIR("loop", cells, portals, {})
    pvs = _pvs(ir)
    assert pvs["a"] == {"a", "b", "c", "d"}
    assert all(len(v) == 4 for v in pvs.values())
    vis = compute_visibility(ir)
    assert vis.cells[3].portals == [2, 3] and vis.cells[0].portals == [0, 1]


def test_pvs_without_portals_is_the_cell_alone() -> None:
    ir = SceneIR("lonely", [_box("a", 0, 0), _box("b", 10, 0)], [], {})
    assert _pvs(ir) == {"a": {"a"}, "b": {"b"}}
    assert _pvs(ir, pvs=False) == {"a": {"a"}, "b": {"b"}}


@given(st.integers(1, 60), st.integers(0, 2**32 - 1))
def test_pvs_within_reachable_and_holds_neighbours(cells: int, seed: int) -> None:
    ir = ir_from_description(generate_maze(cells, seed))
    vis = compute_visibility(ir)
    reach = compute_visibility(ir, pvs=False)
    index = ir.cell_index()
    for c, r in zip(vis.cells, reach.cells, strict=True):
        assert c.cell_id in c.pvs
        assert set(c.pvs) <= set(r.pvs)
        assert [index[x] for x in c.pvs] == sorted(index[x] for x in c.pvs)
    for p in ir.portals:
        assert p.to_cell in vis.cells[index[p.from_cell]].pvs
        assert p.from_cell in vis.cells[index[p.to_cell]].pvs
    # A maze is connected: without the flow every cell reaches every other.
    assert all(len(r.pvs) == cells for r in reach.cells)


def test_reachable_sets_follow_one_way_chains() -> None:
    cells = [_box(f"c{i}", 4.0 * i, 0.0) for i in range(4)]
    portals = [_door(i, f"c{i}", f"c{i + 1}", (4.0 * (i + 1), 2.0), (1, 0), one_way=True) for i in range(3)]
    sets = reachable_sets(build_portal_graph(SceneIR("chain", cells, portals, {})))
    assert [s.tolist() for s in sets] == [[0, 1, 2, 3], [1, 2, 3], [2, 3], [3]]


@pytest.mark.parametrize(
    ("kind", "cells", "seed"), [("maze", 120, 1), ("maze", 200, 7), ("apartment", 150, 2), ("apartment", 200, 8)]
)
def test_pvs_conservative_against_sampled_sight_lines(kind: str, cells: int, seed: int) -> None:
    make = generate_maze if kind == "maze" else generate_apartment
    ir = ir_from_description(make(cells, seed))
    vis = compute_visibility(ir)
    index = ir.cell_index()
    pvs = {(i, index[x]) for i, c in enumerate(vis.cells) for x in c.pvs}
    seen = sampled_visible(ir, free_segments(ir, occluders(ir), np.random.default_rng(seed), 2500))
    missed = sorted(seen - pvs)
    assert missed == [], f"visible but not in the PVS: {missed[:10]}"
    ratio = len(pvs) / len(seen)
    print(
        f"{kind} {cells} cells: mean PVS {len(pvs) / cells:.2f}, sampled visible {len(seen) / cells:.2f}, x{ratio:.2f}"
    )
    assert ratio <= 1.5
