"""``portal_past_room`` (docs/scene-format.md, "Errors and warnings"): a portal cut into both rooms it joins whose
opening on one side reaches past the other room's box, so the two openings differ and the larger looks past the
smaller room; quads past both rooms alike, or within both, are not reported."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.validate.overruns import MAX_LISTED
from tests.levels_new_kinds import to_mm, turned_by
from tests.test_awkward_levels import box, poly, scene, x_door, z_door

Level = dict[str, Any]


def _past(level: Level) -> list[tuple[str, str]]:
    result = compile_scene(json.dumps(level).encode(), BuildOptions(pvs=False))
    return [(w.path, w.message) for w in result.warnings if w.code == "portal_past_room"]


def test_a_doorway_running_past_its_target_onto_a_third_room_names_the_rooms_and_the_overrun() -> None:
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, 0), (8, 3, 2)), box("c", (4, 0, 2), (8, 3, 4))]
    level = scene("third", cells, [x_door("a", "b", 4.0, 1.0, 3.0, 0.0, 2.2)])
    [(path, message)] = _past(level)
    assert path == "/portals/0"
    assert "reaches 1 m past the room of cell 'b', on its +z side (z 1 to 3 against the room's 0 to 2)" in message
    assert "the one into 'a' is larger and looks past 'b' onto cell 'c'" in message


def test_a_doorway_taller_than_the_lower_room_is_reported_at_that_room_only() -> None:
    cells = [box("hall", (0, 0, 0), (4, 4.5, 4)), box("room", (4, 0, 0), (8, 3, 4))]
    level = scene("tall", cells, [x_door("room", "hall", 4.0, 1.0, 2.0, 0.0, 3.5)])
    [(path, message)] = _past(level)
    assert path == "/portals/0"
    assert "reaches 500 mm past the room of cell 'room', above (y 0 to 3.5 against the room's 0 to 3)" in message
    assert "the one into 'hall' is larger" in message


def test_a_stair_opening_wider_than_the_room_below_is_reported_there() -> None:
    low, up = box("low", (0, 0, 0), (4, 3, 4)), box("up", (-2, 3, 0), (4, 6, 4))
    # In the slab between them (the lower room's ceiling, the upper one's floor), reaching 1 m past low's west wall.
    hatch = {"from": "low", "to": "up", "quad": [-1, 3, 1, 2, 3, 1, 2, 3, 2, -1, 3, 2]}
    [(path, message)] = _past(scene("stairs", [low, up], [hatch]))
    assert path == "/portals/0"
    assert "past the room of cell 'low', on its -x side" in message


@pytest.mark.parametrize(
    ("z0", "z1"),
    [
        (1.0, 3.0),  # within both
        (0.0, 4.0),  # as wide as both walls
        (-0.5, 4.5),  # past both ends of both walls alike: cut alike on both sides
        (-0.0005, 4.0005),  # within the tolerance
    ],
)
def test_quads_cut_alike_on_both_sides_are_not_reported(z0: float, z1: float) -> None:
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, 0), (8, 3, 4))]
    assert _past(scene("alike", cells, [x_door("a", "b", 4.0, z0, z1, 0.0, 2.2)])) == []


#: b's span along z and the doorway's (a spans z 0..4).
SPANS = {
    "b_z0": st.sampled_from([0.0, 0.5, 1.0]),
    "b_z1": st.sampled_from([2.5, 3.0, 4.0]),
    "d_z0": st.sampled_from([0.2, 0.8, 1.2]),
    "d_z1": st.sampled_from([2.0, 2.8, 3.5]),
}


@settings(max_examples=25, deadline=None)
@given(**SPANS)
def test_reported_exactly_when_the_openings_differ(b_z0: float, b_z1: float, d_z0: float, d_z1: float) -> None:
    # a spans z 0..4; b's span varies; the doorway's too. The opening into a is the quad within a, into b the quad
    # within b: they differ (by more than a millimetre) exactly when the quad reaches past b's box.
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, b_z0), (8, 3, b_z1))]
    level = scene("vary", cells, [x_door("a", "b", 4.0, d_z0, d_z1, 0.0, 2.2)])
    past_b = max(b_z0 - d_z0, d_z1 - b_z1)
    reported = _past(level)
    assert bool(reported) == (past_b > 1e-3)
    if reported:
        [(_, message)] = reported
        said = f"{past_b * 1e3:.3g} mm" if past_b < 1.0 else f"{past_b:.3g} m"
        assert f"reaches {said} past the room of cell 'b'" in message


def test_past_the_listed_bound_one_warning_says_how_many_more() -> None:
    cells, portals = [], []
    for k in range(MAX_LISTED + 5):
        z = 10.0 * k
        cells += [box(f"a{k}", (0, 0, z), (4, 3, z + 4)), box(f"b{k}", (4, 0, z), (8, 3, z + 2))]
        portals.append(x_door(f"a{k}", f"b{k}", 4.0, z + 1.0, z + 3.0, 0.0, 2.2))
    found = _past(scene("many", cells, portals))
    assert len(found) == MAX_LISTED + 1
    assert found[-1] == (
        "/portals",
        f"5 more portal sides reach past their rooms' boxes (the first {MAX_LISTED} are listed)",
    )


@pytest.mark.parametrize(
    ("a", "b", "y0", "y1"),
    [
        # Floors' tops both at 0.2 m, a's slab 0.2 m thick, b's 0.1: the doorway drawn from a's floor's underside.
        (((0, 0, 0), (4, 3, 4), 0.2), ((4, 0.1, 0), (8, 3, 4), 0.1), 0.0, 2.1),
        # Ceilings' undersides both at 3 m: the doorway drawn up to the top of a's thicker ceiling.
        (((0, 0, 0), (4, 3.2, 4), 0.2), ((4, 0, 0), (8, 3.1, 4), 0.1), 0.0, 3.2),
    ],
)
def test_a_doorway_past_a_room_only_within_the_others_slab_is_not_reported(
    a: tuple, b: tuple, y0: float, y1: float
) -> None:
    """The part of the quad within a slab's thickness opens nothing: both openings run from floor to ceiling."""
    cells = [box("a", a[0], a[1], t=a[2]), box("b", b[0], b[1], t=b[2])]
    assert _past(scene("slabs", cells, [x_door("a", "b", 4.0, 1.0, 2.0, y0, y1)])) == []


def test_a_doorway_past_a_room_only_over_the_others_wall_end_is_not_reported() -> None:
    """b drawn 5 cm into c's wall, its doorway as wide as its wall: past a's box only where it covers b's own wall's
    end (its cavity stops at 3.95, within a's 4), so the opening into b looks at a's wall, not past it."""
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, 0), (8, 3, 4.05)), box("c", (0, 0, 4), (4, 3, 8))]
    assert _past(scene("end", cells, [x_door("a", "b", 4.0, 0.0, 4.05, 0.0, 2.2)])) == []


def test_the_cells_named_are_those_the_larger_opening_reaches() -> None:
    """The doorway runs to a's wall's end (z 4), past b onto c; e starts at 3.95, beside a's wall's end, which the
    opening into a (up to its cavity's corner at 3.9) does not reach."""
    cells = [
        box("a", (0, 0, 0), (4, 3, 4)),
        box("b", (4, 0, 0), (8, 3, 2)),
        box("c", (4, 0, 2), (8, 3, 3.95)),
        box("e", (4, 0, 3.95), (8, 3, 6)),
    ]
    [(_, message)] = _past(scene("named", cells, [x_door("a", "b", 4.0, 1.0, 4.0, 0.0, 2.2)]))
    assert "looks past 'b' onto cell 'c';" in message


@pytest.mark.parametrize("degrees", [10.0, 30.0, 45.0])
def test_a_doorway_past_both_ends_of_a_turned_plans_wall_is_not_reported(degrees: float) -> None:
    """Two rooms side by side, turned: the doorway drawn 0.5 m past both ends of their wall is cut alike on both
    sides. Their boxes reach past the wall, so each side read as past the other room, each opening "larger"."""
    square = [(0, 0), (4, 0), (4, 4), (0, 4)]
    cells = [poly("a", square), poly("b", [(x + 4, z) for x, z in square])]
    level = turned_by(scene("turned", cells, [x_door("a", "b", 4.0, -0.5, 4.5, 0.0, 2.2)]), degrees)
    assert _past(level) == []


def test_a_doorway_past_both_ends_of_a_wall_into_a_wider_polygon_room_is_not_reported() -> None:
    """a is a trapezoid whose wall at x = 4 runs z 0..4 while its box runs -1..5: the doorway drawn past both ends
    of that wall alike is cut alike into a and b."""
    cells = [poly("a", [(0, -1), (4, 0), (4, 4), (0, 5)]), box("b", (4, 0, 0), (8, 3, 4))]
    assert _past(scene("trapezoid", cells, [x_door("a", "b", 4.0, -0.5, 4.5, 0.0, 2.2)])) == []


def test_a_doorway_taller_than_a_turned_room_is_still_reported() -> None:
    """Into a turned room only the height is compared: a 3.5 m doorway into a 3 m room from a 4.5 m hall."""
    square = [(0, 0), (4, 0), (4, 4), (0, 4)]
    cells = [poly("hall", square, h=4.5), poly("room", [(x + 4, z) for x, z in square])]
    level = turned_by(scene("tall", cells, [x_door("room", "hall", 4.0, 1.0, 2.0, 0.0, 3.5)]), 30.0)
    [(path, message)] = _past(level)
    assert path == "/portals/0" and "reaches 500 mm past the room of cell 'room', above" in message


@settings(max_examples=25, deadline=None)
@given(**SPANS, degrees=st.sampled_from([7.5, 30.0, 45.0, 90.0, 133.0]))
def test_a_turned_plan_is_reported_as_the_plan_is(
    b_z0: float, b_z1: float, d_z0: float, d_z1: float, degrees: float
) -> None:
    """Turned off the axes, the two rooms' boxes reach past their walls; their openings are compared along the wall
    the doorway is cut into, so the same side is reported, by the same amount (to the millimetre's rounding of the
    message), as in the plan along the axes."""
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, b_z0), (8, 3, b_z1))]
    level = scene("vary", cells, [x_door("a", "b", 4.0, d_z0, d_z1, 0.0, 2.2)])
    plain, turned = _past(level), _past(turned_by(level, degrees))
    assert [path for path, _ in turned] == [path for path, _ in plain]
    for (_, was), (_, now) in zip(plain, turned, strict=True):
        said = was.split(" past the room of cell ")[0]
        # (A quarter turn leaves the rooms boxes: their boxes are asked, as in the plan.)
        where = "on its " if degrees == 90.0 else "along its wall from ("
        assert now.startswith(f"{said} past the room of cell 'b', {where}"), now
        assert "the one into 'a' is larger" in now


def test_a_turned_doorway_running_past_its_target_names_the_third_room() -> None:
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, 0), (8, 3, 2)), box("c", (4, 0, 2), (8, 3, 4))]
    level = turned_by(scene("third", cells, [x_door("a", "b", 4.0, 1.0, 3.0, 0.0, 2.2)]), 30.0)
    [(path, message)] = _past(level)
    assert path == "/portals/0"
    assert "reaches 1 m past the room of cell 'b', along its wall from (" in message
    assert "(-1 to 1 m along it against the wall's 0 to 2)" in message
    assert "looks past 'b' onto cell 'c'" in message


def test_into_an_l_shaped_room_the_wall_is_asked_not_the_box() -> None:
    """The L's wall at x = 4 runs z 0..2 to a corner where the L turns east (its box spans z 0..4): a doorway from a
    (z 0..4) drawn z 0.5..3 opens 1 m more into a than into the L, past the end of the L's wall."""
    ell = [(4, 0), (8, 0), (8, 4), (6, 4), (6, 2), (4, 2)]
    cells = [box("a", (0, 0, 0), (4, 3, 4)), poly("ell", ell)]
    [(path, message)] = _past(scene("ell", cells, [x_door("a", "ell", 4.0, 0.5, 3.0, 0.0, 2.2)]))
    assert path == "/portals/0"
    assert "reaches 1 m past the room of cell 'ell', along its wall from (4, 2) to (4, 0)" in message
    assert "the one into 'a' is larger" in message


@pytest.mark.parametrize("bend", [0.0005, 0.001, 0.003])
def test_a_doorway_across_a_point_of_a_wall_drawn_bent_is_not_reported(bend: float) -> None:
    """Room a's wall at z = 0 has a point in its middle ``bend`` m out (drawn a fraction of a millimetre to a few
    off straight): a doorway across it lies within 2 mm of both walls and is cut into both, its opening running on
    past the point. It read as reaching past the first wall's end (a convex corner), the opening into a "cut only
    within its walls"."""
    cells = [poly("a", [(0, 0), (3, -bend), (6, 0), (6, 5), (0, 5)]), box("b", (0, 0, -4), (6, 3, 0))]
    door = {"from": "b", "to": "a", "quad": [3.6, 0.1, 0, 3.6, 2.1, 0, 2.4, 2.1, 0, 2.4, 0.1, 0]}
    assert _past(scene("bent", cells, [door])) == []
    # Bent at two points (a wall of three, both corners convex), the doorway across both.
    twice = [poly("a", [(0, 0), (2.5, -bend), (3.5, -bend), (6, 0), (6, 5), (0, 5)]), cells[1]]
    assert _past(scene("bent", twice, [door])) == []
    # Drawn past the bent wall's far end, into a wider b, it still is.
    cells[1] = box("b", (0, 0, -4), (9, 3, 0))
    door["quad"] = [6.8, 0.1, 0, 6.8, 2.1, 0, 2.4, 2.1, 0, 2.4, 0.1, 0]
    [(path, message)] = _past(scene("bent", cells, [door]))
    assert path == "/portals/0"
    assert "reaches 800 mm past the room of cell 'a', along its wall from (0, 0) to (6, 0)" in message


def _traced(x0: float, z0: float, x1: float, z1: float) -> list[tuple[float, float]]:
    """A rectangle's outline with a point on its walls every 0.5 m (a floor traced from a subdivided mesh)."""
    xs, zs = [x0 + 0.5 * i for i in range(round(2 * (x1 - x0)))], [z0 + 0.5 * i for i in range(round(2 * (z1 - z0)))]
    return (
        [(x, z0) for x in xs]
        + [(x1, z) for z in zs]
        + [(x1 + x0 - x, z1) for x in xs]
        + [(x0, z1 + z0 - z) for z in zs]
    )


@pytest.mark.parametrize("degrees", [2.0, 9.0, 22.0, 72.0])
def test_a_doorway_across_short_walls_a_turned_plan_written_to_millimetres_tilts_is_not_reported(
    degrees: float,
) -> None:
    """Two rooms traced with a point every 0.5 m, turned and written to millimetres: the rounding of its ends tilts
    each 0.5 m wall by up to 2.8 mm a metre, so the 2.8 m doorway across five of them lies farther than 2 mm off
    the line of one it runs on past both ends of (within a millimetre of the wall where it passes it), and is not
    cut into that one. The run of walls broke there: the doorway read as reaching 1.4 to 2.4 m past the walls
    before (or after) it."""
    cells = [poly("a", _traced(0, 0, 4, 4)), poly("b", _traced(0, 4, 4, 8))]
    level = to_mm(turned_by(scene("traced", cells, [z_door("a", "b", 4.0, 0.6, 3.4, 0.0, 2.9)]), degrees))
    assert _past(level) == []


@pytest.mark.parametrize("degrees", [9.0, 23.0, 31.0, 45.0, 53.0, 57.0])
def test_a_doorway_past_the_end_of_a_run_of_short_rounded_walls_is_still_reported(degrees: float) -> None:
    """As above, b traced from x = -1: the doorway drawn from x = -0.5, past the corner where a's wall ends, into
    b; the opening into b is 0.5 m wider. (At 31, 45 and 57 degrees the two walls first cut, tilted by the rounding,
    lay 1.41 to 1.71 mrad apart, past the 1.41 mrad (1 - cos: 1e-6) walls were compared within: not reported.)"""
    cells = [poly("a", _traced(0, 0, 4, 4)), poly("b", _traced(-1, 4, 4, 8))]
    level = to_mm(turned_by(scene("traced", cells, [z_door("a", "b", 4.0, -0.5, 2.6, 0.0, 2.9)]), degrees))
    [(path, message)] = _past(level)
    assert path == "/portals/0"
    # (0.5 m to the millimetres of the plan's rounding.)
    assert re.match(
        r"portal a->b: its quad reaches (499|500|501) mm past the room of cell 'a', along its wall", message
    )
    assert "the one into 'b' is larger" in message
