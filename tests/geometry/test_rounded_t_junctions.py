"""A rectangular room of a plan turned and written to millimetres, with a point on each of two opposite walls
where the partition between the rooms beside it meets them (T-junctions, as CAD exports write outlines), and a
doorway drawn up to one of those points: built as the rectangle drawn (geometry/frames.py), not by the booleans."""

from __future__ import annotations

import json

import pytest

from sceneforge.compile import compile_scene
from tests.level_builders import Level, poly, scene, x_door
from tests.levels_new_kinds import to_mm, turned_by
from tests.test_awkward_levels import check_level


def _partitioned(door: tuple[float, float]) -> Level:
    # Room a (2 x 4 m) between two pairs of rooms, each pair split at z = 2: a's outline keeps both points.
    cells = [
        poly("a", [(0, 0), (2, 0), (2, 2), (2, 4), (0, 4), (0, 2)]),
        poly("east0", [(2, 0), (4, 0), (4, 2), (2, 2)]),
        poly("east1", [(2, 2), (4, 2), (4, 4), (2, 4)]),
        poly("west0", [(-2, 0), (0, 0), (0, 2), (-2, 2)]),
        poly("west1", [(-2, 2), (0, 2), (0, 4), (-2, 4)]),
    ]
    z0, z1 = door
    return scene("tjunctions", cells, [x_door("a", "east0", 2, z0, z1, 0.3, 2.8)])


@pytest.mark.parametrize("degrees", [25.8, 37.0, 64.2, 115.8])
@pytest.mark.parametrize("door", [(0.0, 2.0), (0.5, 2.0)])
def test_a_doorway_drawn_to_a_rounded_t_junction_takes_the_panel_path(degrees: float, door: tuple) -> None:
    # Rounded to millimetres, each point lies a fraction of a millimetre off its wall's line (too far to be
    # dropped as a point on a straight wall), the two a fraction of a millimetre apart across the room: the
    # frame's grid had two lines there, too close to map, and the room went to the booleans (the doorway's end
    # was neither on nor clear of the cavity's corner the nearly straight corner makes, micrometres off).
    level = to_mm(turned_by(_partitioned(door), degrees))
    built = compile_scene(json.dumps(level).encode())
    assert built.meta["stats"]["booleanCells"] == 0
    check_level(level, pvs=False)
