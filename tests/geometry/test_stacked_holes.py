"""Wall faces whose holes stand in a column (windows up a tall wall) go to earcut with their axes
swapped (``panels.triangulate._holes_stacked``): earcut joins holes to the outline in order of their leftmost
point, and a column of holes, every leftmost point at one coordinate, cost it ~n^2.8. The faces stay
the boolean path's solid, closed, without slivers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sceneforge.geometry.panels import triangulate
from sceneforge.model.ir import Room

from .meshcheck import closed
from .test_panels import _wall_quad, assert_panels_without_slivers, panel_and_boolean


def _face(holes: list[tuple[float, float, float, float]]) -> tuple[np.ndarray, list[int]]:
    ring = [[0.0, 0.0], [10.0, 0.0], [10.0, 50.0], [0.0, 50.0]]
    ends = [4]
    for a, b, c, d in holes:
        ring += [[a, c], [b, c], [b, d], [a, d]]
        ends.append(len(ring))
    return np.array(ring), ends


def test_holes_in_a_column_are_stacked_and_in_a_row_are_not() -> None:
    column = [(4.0, 5.0, 1.0 + k, 1.5 + k) for k in range(40)]
    row = [(0.2 + 0.2 * k, 0.3 + 0.2 * k, 1.0, 2.0) for k in range(40)]
    assert triangulate._holes_stacked(*_face(column))
    assert not triangulate._holes_stacked(*_face(row))
    assert not triangulate._holes_stacked(*_face(column[: triangulate._STACK_HOLES]))  # few holes: as they come


@pytest.mark.parametrize("width", [0.2, 1.0])
def test_a_column_of_windows_up_a_tall_wall_is_the_boolean_solid(width: float, monkeypatch: pytest.MonkeyPatch) -> None:
    stacked: list[bool] = []
    holes_stacked = triangulate._holes_stacked

    def seen(*args: Any) -> bool:
        stacked.append(holes_stacked(*args))
        return stacked[-1]

    monkeypatch.setattr(triangulate, "_holes_stacked", seen)
    t, windows = 0.1, 60
    room = Room(np.array([[0, 0], [3, 0], [3, 3], [0, 3]], float), 0.0, 0.5 * windows + 1.0, t, "wall")
    quads = [
        _wall_quad(np.zeros(2), np.array([1.0, 0.0]), 1.5 - width / 2, 1.5 + width / 2, 0.5 + 0.5 * k, 0.7 + 0.5 * k)
        for k in range(windows)
    ]
    assert_panels_without_slivers(room, quads)
    assert any(stacked)  # both wall faces' holes went to earcut as a row
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface) and mesh.is_winding_consistent
    rounding = 1e-6 * max(1.0, boolean.volume)
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding
