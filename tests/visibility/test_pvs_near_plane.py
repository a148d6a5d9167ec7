"""Portals near the plane of a doorway a line has crossed. One lying behind that plane but for a sliver
in front of it (less than the 1 mm within which a portal counts as lying in that plane) is walked: lines
through the sliver are free. One lying within 1 mm of the plane (another doorway of the same wall, its
quad a little off the first one's plane) ends the line: such lines are not sight, for the PVS nor for
the sampler."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.generate import turned
from sceneforge.model.ir import Cell, Portal, Room, SceneIR
from sceneforge.visibility import compute_visibility
from tests.levels_new_kinds import to_mm

from .levels import x_door, z_door
from .sightlines import Tracer, ir_from_description, sample_visibility


def _wrapped(reach: float) -> SceneIR:
    """Room ``a`` (0..4 × 0..4) opens east at x = 4 into ``b``, an L that wraps round it to the north
    (to z = 6); ``b``'s doorway north into ``c`` spans x = 3 .. 4 + ``reach``: all but ``reach`` of it
    lies behind the plane of the doorway from ``a``."""
    l_room = np.array([[4, 0], [8, 0], [8, 6], [0, 6], [0, 4], [4, 4]], float)
    cells = [
        Cell("a", Room(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float), 0.0, 3.0, 0.1, "default")),
        Cell("b", Room(l_room, 0.0, 3.0, 0.1, "default")),
        Cell("c", Room(np.array([[0, 6], [8, 6], [8, 9], [0, 9]], float), 0.0, 3.0, 0.1, "default")),
    ]
    portals = [x_door(0, "a", "b", 4.0, 1.0, 4.0, 0.0, 2.5), z_door(1, "b", "c", 6.0, 3.0, 4.0 + reach, 0.0, 2.5)]
    return SceneIR("wrapped", cells, portals, {})


def _joins_a_and_c(ir: SceneIR, reach: float) -> bool:
    """The line through (4, 1.2, 3.9) on the doorway from ``a`` and (4 + reach / 2, 1.0, 6) on ``b``'s
    doorway north: the sampler's walk, from a's side of the first doorway."""
    o = np.array([[4.0, 1.2, 3.9]])
    d = np.array([[reach / 2, -0.2, 2.1]])
    lines = Tracer(ir).lines(o, d / np.linalg.norm(d), np.array([0]), np.array([1]))
    cells = [c for c in lines.grid[0].tolist() if c >= 0]
    return cells == [0, 1, 2] and (0, 2) in lines.pairs(0)


@pytest.mark.parametrize("reach", [0.002, 0.0015, 0.0005, 5e-5])
def test_a_doorway_reaching_past_the_plane_crossed_is_walked(reach: float) -> None:
    ir = _wrapped(reach)
    assert _joins_a_and_c(ir, reach)  # a free line: a, b, c
    assert compute_visibility(ir).cells[0].pvs == ["a", "b", "c"]


def test_a_doorway_ending_on_the_plane_crossed_is_not_walked() -> None:
    """Ending on the plane (to rounding): no line crosses it after the first doorway."""
    ir = _wrapped(1e-9)
    assert compute_visibility(ir).cells[0].pvs == ["a", "b"]


def _pvs(ir: SceneIR) -> np.ndarray:
    index = ir.cell_index()
    pvs = np.zeros((len(ir.cells), len(ir.cells)), bool)
    for i, cell in enumerate(compute_visibility(ir).cells):
        pvs[i, [index[c] for c in cell.pvs]] = True
    return pvs


def _through_both_doorways(ir: SceneIR) -> tuple[np.ndarray, set[tuple[int, ...]], set[tuple[int, int]]]:
    """Sampled visibility of ``ir`` (lines from inside the cells and through the two doorways, both
    ways); and the cell sequences and pairs of 400 lines through a point of each doorway."""
    seen = sample_visibility(ir, np.random.default_rng(5), per_cell=200, portal_pairs=np.array([[0, 1], [1, 0]]))
    tr = Tracer(ir)
    rng = np.random.default_rng(6)
    pa, pb = tr.portal_points(np.zeros(400, np.int64), rng), tr.portal_points(np.ones(400, np.int64), rng)
    d = pb - pa
    lines = tr.lines(pa, d / np.linalg.norm(d, axis=1, keepdims=True), np.zeros(400, np.int64), np.ones(400, np.int64))
    walks = {tuple(c for c in row if c >= 0) for row in lines.grid.tolist()}
    joined: set[tuple[int, int]] = set().union(*(lines.pairs(i) for i in range(400)))
    return seen, walks, joined


def _tilted(spread: float) -> SceneIR:
    """Rooms ``a`` (0..4 × 0..4) and ``c`` (north of it) open east into ``b`` (4..8 × 0..8) by doorways
    z 1..3 in the wall x = 4 and z 5..7 in c's east wall, which runs from (4, 4) to (4 + ``spread``, 8):
    the second doorway's corners lie ``spread`` / 4 and 3 · ``spread`` / 4 in front of the first's plane."""
    c_room = np.array([[0, 4], [4, 4], [4 + spread, 8], [0, 8]], float)
    b_room = np.array([[4, 0], [8, 0], [8, 8], [4 + spread, 8], [4, 4]], float)
    cells = [
        Cell("a", Room(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float), 0.0, 3.0, 0.1, "default")),
        Cell("b", Room(b_room, 0.0, 3.0, 0.1, "default")),
        Cell("c", Room(c_room, 0.0, 3.0, 0.1, "default")),
    ]
    x5, x7 = 4 + spread / 4, 4 + 3 * spread / 4
    second = np.array([[x5, 0, 5], [x5, 2.1, 5], [x7, 2.1, 7], [x7, 0, 7]], float)  # facing east, into b
    return SceneIR("tilted", cells, [x_door(0, "a", "b", 4.0, 1.0, 3.0), Portal(1, "c", "b", second)], {})


def test_a_doorway_within_a_millimetre_of_the_plane_crossed_ends_the_line() -> None:
    """The second doorway's corners 0.3 and 0.9 mm in front of the first's plane: it lies in that plane,
    so no line runs from ``a`` through both doorways into ``c``; lines do pass them, within the
    millimetre between the walls, and the sampler joins no pair the PVS leaves out."""
    ir = _tilted(0.0012)
    pvs = _pvs(ir)
    assert pvs.tolist() == [[True, True, False], [True, True, True], [False, True, True]]
    seen, walks, joined = _through_both_doorways(ir)
    assert (0, 1, 2) in walks  # the cell walk passes a, b, c ...
    assert (0, 2) not in joined and (2, 0) not in joined  # ... but a and c do not see each other
    assert {(0, 1), (1, 0), (1, 2), (2, 1)} <= joined
    assert not (seen & ~pvs).any(), f"missed: {np.argwhere(seen & ~pvs).tolist()}"
    assert seen.tolist() == pvs.tolist()


def test_a_doorway_more_than_a_millimetre_off_the_plane_crossed_is_walked() -> None:
    """Corners 0.5 and 1.5 mm in front of the first doorway's plane: not in it, so lines from ``a``
    through both doorways into ``c`` are sight, and the PVS holds them."""
    ir = _tilted(0.002)
    pvs = _pvs(ir)
    assert pvs.all()
    seen, walks, joined = _through_both_doorways(ir)
    assert (0, 1, 2) in walks
    assert (0, 2) in joined and (2, 0) in joined
    assert seen.all()


def _same_wall(degrees: float) -> SceneIR:
    """Rooms ``a`` (0..4 × 0..4) and ``c`` (0..4 × 4..8) open east into ``b`` (4..8 × 0..8) by the
    doorways z 1..3 and z 5..7 of one straight wall x = 4 (the outlines hold the doorways' corners),
    turned by ``degrees`` and written to 0.1 mm: the two quads no longer share a plane."""
    level = {
        "sceneId": "same-wall",
        "cells": [
            {"cellId": "a", "room": {"floor": [[0, 0], [4, 0], [4, 1], [4, 3], [4, 4], [0, 4]]}},
            {"cellId": "b", "room": {"floor": [[4, 0], [8, 0], [8, 8], [4, 8], [4, 7], [4, 5], [4, 3], [4, 1]]}},
            {"cellId": "c", "room": {"floor": [[0, 4], [4, 4], [4, 5], [4, 7], [4, 8], [0, 8]]}},
        ],
        "portals": [
            {"from": "a", "to": "b", "quad": [4, 0, 1, 4, 2.1, 1, 4, 2.1, 3, 4, 0, 3]},
            {"from": "c", "to": "b", "quad": [4, 0, 5, 4, 2.1, 5, 4, 2.1, 7, 4, 0, 7]},
        ],
    }
    out = turned(level, degrees)
    for cell in out["cells"]:
        cell["room"]["floor"] = [[round(v, 4) for v in point] for point in cell["room"]["floor"]]
    for portal in out["portals"]:
        portal["quad"] = [round(v, 4) for v in portal["quad"]]
    return ir_from_description(out)


@pytest.mark.parametrize("degrees", [2.5, 15.0, 29.0])
def test_two_doorways_of_one_turned_wall_written_to_a_tenth_of_a_millimetre(degrees: float) -> None:
    """Turned and rounded, the doorway of ``c`` lies 0.07 to 0.22 mm in front of the plane of ``a``'s,
    tilted so that lines pass from ``a`` through both into ``c``; it counts as lying in that plane."""
    ir = _same_wall(degrees)
    pvs = _pvs(ir)
    assert not pvs[0, 2] and not pvs[2, 0]
    seen, walks, joined = _through_both_doorways(ir)
    assert (0, 1, 2) in walks
    assert (0, 2) not in joined and (2, 0) not in joined
    assert not (seen & ~pvs).any(), f"missed: {np.argwhere(seen & ~pvs).tolist()}"
    assert seen.tolist() == pvs.tolist()


def _closets(degrees: float, count: int = 12, spacing: float = 8.0) -> SceneIR:
    """A corridor ``spacing`` · ``count`` m long and 2 m wide with ``count`` closets (1 m wide, 1.5 m
    deep) along its north wall, each opening into it by a doorway 0.8 m wide where the rooms meet; the
    plan turned by ``degrees`` and written to millimetres, as an export rounds it."""
    length = spacing * count
    cells = [{"cellId": "corridor", "room": {"floor": [[0, 0], [length, 0], [length, 2], [0, 2]]}}]
    portals = []
    for k in range(count):
        x = spacing * k + 3.0
        cells.append({"cellId": f"k{k}", "room": {"floor": [[x, 2], [x + 1, 2], [x + 1, 3.5], [x, 3.5]]}})
        portals.append(
            {
                "from": f"k{k}",
                "to": "corridor",
                "quad": [x + 0.1, 0, 2, x + 0.9, 0, 2, x + 0.9, 2.1, 2, x + 0.1, 2.1, 2],
            }
        )
    return ir_from_description(to_mm(turned({"sceneId": "closets", "cells": cells, "portals": portals}, degrees)))


@pytest.mark.parametrize("degrees", [23.0, 45.0, 89.99])
def test_closets_along_a_long_wall_written_to_millimetres_do_not_see_each_other(degrees: float) -> None:
    """Each doorway's own plane leans off the wall by its corners' rounding (up to ~2 mm a metre), so the
    doorways far along the wall lie centimetres in front of it; each takes the wall's plane instead
    (docs/visibility.md, "Walls' planes"): a closet sees the corridor and no other closet (a line from one
    to another would run inside the wall), as when the plan is exact, and no sampled line joins more."""
    ir = _closets(degrees)
    pvs = _pvs(ir)
    expected = np.eye(len(ir.cells), dtype=bool)
    expected[0, :] = expected[:, 0] = True
    assert pvs.tolist() == expected.tolist()
    rng = np.random.default_rng(3)
    pairs = np.argwhere(~np.eye(len(ir.portals), dtype=bool))
    seen = sample_visibility(ir, rng, per_cell=100, portal_pairs=pairs, per_pair=8)
    assert not (seen & ~pvs).any(), f"missed: {np.argwhere(seen & ~pvs).tolist()}"
