"""Maze and apartment generators: valid, deterministic, exact size, connected, rooms disjoint,
doors on the shared walls with normals into ``to``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sceneforge.generate as generate
from sceneforge.errors import SceneInvalid
from sceneforge.generate import generate_apartment, generate_maze, random_spanning_tree
from sceneforge.model.description import SceneDescription
from sceneforge.model.ir import SceneIR
from sceneforge.visibility import build_portal_graph, reachable_sets

from ..visibility.sightlines import ir_from_description, locate

GENERATORS = {"maze": generate_maze, "apartment": generate_apartment}


def _outline(cell: dict) -> np.ndarray:
    room = cell["room"]
    if "floor" in room:
        return np.array(room["floor"], float)
    (x0, _, z0), (x1, _, z1) = room["min"], room["max"]
    return np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]], float)


def _area(poly: np.ndarray) -> float:
    x, z = poly[:, 0], poly[:, 1]
    return float(np.dot(x, np.roll(z, -1)) - np.dot(np.roll(x, -1), z)) / 2


def _on_outline(points: np.ndarray, poly: np.ndarray) -> bool:
    """Every (x, z) point lies on one edge of the outline."""
    p, q = poly, np.roll(poly, -1, axis=0)
    d = q - p
    t = np.clip(np.einsum("ek,pek->pe", d, points[:, None] - p) / np.einsum("ek,ek->e", d, d), 0, 1)
    gap = np.linalg.norm(points[:, None] - (p + t[..., None] * d), axis=2)
    return bool((gap.min(axis=1) < 1e-6).all() and np.ptp(gap.argmin(axis=1)) == 0)


def test_generate_public_surface_is_pinned() -> None:
    assert sorted(generate.__all__) == [
        "generate_apartment",
        "generate_doorway_wall",
        "generate_gallery",
        "generate_grid",
        "generate_maze",
        "generate_office",
        "random_spanning_tree",
        "turned",
    ]


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@given(cells=st.integers(1, 120), seed=st.integers(0, 2**32 - 1))
def test_generator_valid_sized_connected(kind: str, cells: int, seed: int) -> None:
    d = GENERATORS[kind](cells, seed)
    desc = SceneDescription.model_validate(d)
    assert len(desc.cells) == cells
    assert len({c.cell_id for c in desc.cells}) == cells
    assert json.loads(json.dumps(d)) == d
    for c in desc.cells:
        assert c.room is not None and c.room.material in d["materials"]
    reach = reachable_sets(build_portal_graph(ir_from_description(d)))
    assert all(len(r) == cells for r in reach)
    assert len(desc.portals) >= cells - 1


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_generator_deterministic_per_seed(kind: str) -> None:
    make = GENERATORS[kind]
    assert json.dumps(make(150, 9)) == json.dumps(make(150, 9))
    assert json.dumps(make(150, 9)) != json.dumps(make(150, 10))


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("seed", [0, 5])
def test_generator_rooms_disjoint_and_doors_on_shared_walls(kind: str, seed: int) -> None:
    d = GENERATORS[kind](200, seed)
    outlines = {c["cellId"]: _outline(c) for c in d["cells"]}
    areas = np.array([_area(p) for p in outlines.values()])
    assert (areas > 0).all()
    # Interiors are disjoint: no sample point lies in two rooms, and for the apartment the rooms
    # tile the floor rectangle exactly.
    ir = ir_from_description(d)
    everything = np.concatenate(list(outlines.values()))
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    rng = np.random.default_rng(seed)
    pts2 = lo + rng.random((20_000, 2)) * (hi - lo)
    pts = np.column_stack([pts2[:, 0], np.full(len(pts2), 1.0), pts2[:, 1]])
    owners = np.zeros(len(pts), int)
    for i in range(len(ir.cells)):
        owners += locate(pts, SceneIR("one", ir.cells[i : i + 1], [], {})) == 0
    assert owners.max() == 1
    if kind == "apartment":
        assert areas.sum() == pytest.approx(np.prod(hi - lo), rel=1e-9)
    for p in d["portals"]:
        quad = np.array(p["quad"]).reshape(4, 3)
        assert _on_outline(quad[:, [0, 2]], outlines[p["from"]])
        assert _on_outline(quad[:, [0, 2]], outlines[p["to"]])
        assert quad[:, 1].min() == pytest.approx(0.1) and quad[:, 1].max() == pytest.approx(2.2)
        n = np.cross(quad[2] - quad[0], quad[3] - quad[1])
        n /= np.linalg.norm(n)
        centre = quad.mean(axis=0)
        probe = np.stack([centre + 0.05 * n, centre - 0.05 * n])
        where = locate(probe, ir)
        assert [ir.cells[i].cell_id for i in where] == [p["to"], p["from"]]


def test_apartment_has_l_shaped_rooms_and_kinds() -> None:
    d = generate_apartment(300, 2)
    polys = [c for c in d["cells"] if "floor" in c["room"]]
    assert len(polys) == 30
    assert all(len(c["room"]["floor"]) == 6 for c in polys)
    kinds = {c["room"]["material"] for c in d["cells"]}
    assert kinds == set(d["materials"])


def test_generator_rejects_zero_cells() -> None:
    for make in GENERATORS.values():
        with pytest.raises(SceneInvalid):
            make(0)


def test_random_spanning_tree_spans_a_connected_graph() -> None:
    rng = np.random.default_rng(3)
    n = 500
    edges = np.concatenate([np.stack([np.arange(n - 1), np.arange(1, n)], 1), rng.integers(0, n, (2000, 2))])
    mask = random_spanning_tree(n, edges, rng)
    assert mask.sum() == n - 1
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges[mask].tolist():
        ra, rb = find(a), find(b)
        assert ra != rb  # no cycle
        parent[ra] = rb
    assert len({find(i) for i in range(n)}) == 1


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_generator_scales_to_5000_cells(kind: str) -> None:
    d = GENERATORS[kind](5000, 1)
    assert len(d["cells"]) == 5000


def test_turned_leaves_between_doors_to_be_placed_on_the_turned_walls() -> None:
    # A plan written with ``between`` doors (no quad to turn) is turned too: the build places each door
    # on the wall the turned rooms share, as on the plan drawn on the axes.
    from sceneforge.compile import compile_scene
    from sceneforge.generate import turned

    plan = {
        "sceneId": "row",
        "cells": [
            {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}},
            {"cellId": "b", "room": {"min": [4, 0, 0], "max": [9, 3, 4]}},
            {"cellId": "c", "room": {"min": [9, 0, 0], "max": [12, 3, 4]}},
        ],
        "portals": [{"between": ["a", "b"]}, {"between": ["b", "c"], "door": {"width": 1.2, "offset": 0.5}}],
    }
    for angle in (0.0, 30.0, 90.0):
        result = compile_scene(json.dumps(turned(plan, angle)).encode())
        assert result.warnings == [] and result.meta["stats"]["booleanCells"] == 0
        pvs = {c["cellId"]: c["pvs"] for c in result.meta["visibility"]["cells"]}
        assert sorted(pvs["a"]) == ["a", "b", "c"]
