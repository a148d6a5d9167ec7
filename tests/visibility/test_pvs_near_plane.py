"""A portal lying behind the plane of a doorway a line has crossed but for a sliver in front of it
(less than the 1 mm within which a portal counts as lying in that plane) is walked: lines through
the sliver are free."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.model.ir import Cell, Room, SceneIR
from sceneforge.visibility import compute_visibility

from .levels import x_door, z_door
from .sightlines import Tracer


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
    grid, _ = Tracer(ir).lines(o, d / np.linalg.norm(d), np.array([0]), np.array([1]))
    cells = [c for c in grid[0].tolist() if c >= 0]
    return cells == [0, 1, 2]


@pytest.mark.parametrize("reach", [0.002, 0.0015, 0.0005, 5e-5])
def test_a_doorway_reaching_past_the_plane_crossed_is_walked(reach: float) -> None:
    ir = _wrapped(reach)
    assert _joins_a_and_c(ir, reach)  # a free line: a, b, c
    assert compute_visibility(ir).cells[0].pvs == ["a", "b", "c"]


def test_a_doorway_ending_on_the_plane_crossed_is_not_walked() -> None:
    """Ending on the plane (to rounding): no line crosses it after the first doorway."""
    ir = _wrapped(1e-9)
    assert compute_visibility(ir).cells[0].pvs == ["a", "b"]
