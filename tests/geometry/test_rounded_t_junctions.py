"""A rectangular room of a plan turned and written to millimetres, with a point on each of two opposite walls
where the partition between the rooms beside it meets them (T-junctions, as CAD exports write outlines), and a
doorway drawn up to one of those points: built as the rectangle drawn (geometry/frames.py), not by the booleans."""

from __future__ import annotations

import json

import pytest

from sceneforge.compile import compile_scene
from tests.level_builders import Level, poly, scene, x_door, z_door
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


def _l_and_notch(z0: float) -> Level:
    # An L-shaped room and a room in its notch; the doorway between them on the notch's wall x = 2 runs from z0
    # to the L's reflex corner at (2, 2).
    cells = [
        poly("L", [(0, 0), (4, 0), (4, 2), (2, 2), (2, 4), (0, 4)]),
        poly("notch", [(2, 2), (4, 2), (4, 4), (2, 4)]),
    ]
    # A second doorway into the notch, from the slab's underside: one the frame takes off the rounding.
    return scene(
        "reflexdoor", cells, [x_door("L", "notch", 2, z0, 2.0, 0.02, 2.1), z_door("L", "notch", 2, 2.6, 3.5, 0.0, 2.75)]
    )


@pytest.mark.parametrize("degrees", [3.4, 23.7, 41.3, 58.9, 76.2])
@pytest.mark.parametrize("z0", [4.0, 3.1])
def test_a_doorway_drawn_to_a_rounded_reflex_corner_ends_there(degrees: float, z0: float) -> None:
    # Taken into the rounded L's frame, the doorway's end at the reflex corner landed a fraction of a millimetre
    # short of the corner's line (the frame squares openings onto the cavity's lines, not the outline's): a strip
    # of wall that thin was built beside it, triangles a few tenths of a millimetre high.
    check_level(to_mm(turned_by(_l_and_notch(z0), degrees)), pvs=False)


def _subdivided(kink: float) -> Level:
    # Room a's outline traced from a floor mesh subdivided every metre (a point on each wall every metre), its
    # east wall's middle point ``kink`` m out; a doorway on that wall across the point, into room b.
    south = [(x, 0.0) for x in range(5)]
    east = [(4.0 + kink, 1.0)]
    north = [(4.0 - x, 2.0) for x in range(5)]
    cells = [poly("a", [*south, *east, *north, (0.0, 1.0)]), poly("b", [(4, 0), (7, 0), (7, 2), (4, 2)])]
    return scene("subdivided", cells, [x_door("a", "b", 4, 0.5, 1.5, 0.1, 2.1)])


@pytest.mark.parametrize(
    "level",
    [
        pytest.param(_subdivided(0.001), id="kinked-1mm"),
        pytest.param(_subdivided(0.0002), id="kinked-0.2mm"),
        pytest.param(to_mm(turned_by(_subdivided(0.0), 23.0)), id="turned-23"),
        pytest.param(to_mm(turned_by(_subdivided(0.0), 61.0)), id="turned-61"),
    ],
)
def test_a_doorway_across_a_point_on_a_rounded_wall_opens_it_closed(level: Level) -> None:
    # The frame puts the point on the wall's line and keeps it (the map lays each wall onto the wall drawn): the
    # doorway was cut as two, each flush with the point, and their jambs there stood back to back, a pillar of no
    # width (an edge of four faces: the shell not closed).
    built = compile_scene(json.dumps(level).encode())
    assert built.meta["stats"]["booleanCells"] == 0
    check_level(level, pvs=False)


def _traced_plan(step: float) -> Level:
    # Six rooms 4 m square, each outline traced from a floor mesh subdivided every ``step`` m (a point on its walls
    # every ``step``), doorways across those points (1.5 m wide, centred on one; 2 m, between two).
    def traced(x0: float, z0: float) -> list[tuple[float, float]]:
        k = round(4 / step)
        run = [i * step for i in range(k)]
        return [
            *((x0 + s, z0) for s in run),
            *((x0 + 4, z0 + s) for s in run),
            *((x0 + 4 - s, z0 + 4) for s in run),
            *((x0, z0 + 4 - s) for s in run),
        ]

    cells = [poly(f"r{i}{j}", traced(4.0 * i, 4.0 * j)) for i in range(3) for j in range(2)]
    doors = [
        x_door(f"r{i}{j}", f"r{i + 1}{j}", 4.0 * i + 4, 4.0 * j + 1.25, 4.0 * j + 2.75, 0.1, 2.1)
        for i in range(2)
        for j in range(2)
    ]
    doors += [z_door(f"r{i}0", f"r{i}1", 4.0, 4.0 * i + 1.0, 4.0 * i + 3.0, 0.0, 2.9) for i in range(3)]
    return scene("traced", cells, doors)


@pytest.mark.parametrize("degrees", [32.1, 61.0])
@pytest.mark.parametrize("step", [0.5, 1.0])
def test_a_plan_traced_from_a_subdivided_floor_turned_and_written_to_millimetres_builds_closed(
    step: float, degrees: float
) -> None:
    # Every doorway crosses a point of its walls: each such room's shell was open (a pillar of no width).
    check_level(to_mm(turned_by(_traced_plan(step), degrees)))


@pytest.mark.parametrize("degrees", [32.1, 61.0])
def test_a_plan_traced_from_a_floor_subdivided_every_quarter_metre_takes_the_panel_path(degrees: float) -> None:
    # 64 points a room: past the rounded outlines' bound of 32 corners such a room was built as written, its points
    # a fraction of a millimetre off its walls' lines, by the panels or the booleans (triangles down to 0.2 µm high).
    level = to_mm(turned_by(_traced_plan(0.25), degrees))
    built = compile_scene(json.dumps(level).encode())
    assert built.meta["stats"]["booleanCells"] == 0
    check_level(level)
