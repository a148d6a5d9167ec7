"""``portal_not_on_wall`` (docs/scene-format.md, "Errors and warnings"): a portal whose quad lies on no
wall and in no slab of one of its room cells has no opening cut on that side, which the build says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sceneforge.compile import check_scene, compile_scene
from tests.geometry.levels import OFFICE_LEVELS, cell_triangles
from tests.test_awkward_levels import LEVELS, box, hatch, poly, resolve, scene, x_door

#: An L-shaped room whose inner corner is at (3, 3): its walls there are x = 3 and z = 3.
L_FLOOR = [(0, 0), (6, 0), (6, 3), (3, 3), (3, 6), (0, 6)]


def _l_and_notch(notch_x: float, door_x: float, *, door: bool = True) -> dict[str, Any]:
    """The L and a box room in its notch, whose west wall's outer face is at x = ``notch_x``; a doorway
    between them in the plane x = ``door_x``."""
    cells = [poly("L", L_FLOOR), box("notch", (notch_x, 0.0, 3.0), (6.0, 3.0, 6.0))]
    return scene("notch", cells, [x_door("L", "notch", door_x, 4.0, 5.0, 0.0, 2.1)] if door else [])


def _off_wall(level: dict[str, Any]) -> list[tuple[str, str, str]]:
    result = compile_scene(json.dumps(level).encode(), resolve_asset=resolve)
    return [(w.path, w.code, w.message) for w in result.warnings if w.code == "portal_not_on_wall"]


def test_a_quad_off_one_rooms_wall_is_reported_for_that_room() -> None:
    """The quad lies on the notch's wall, 2.1 mm outside the L's (farther than ``ON_WALL_EPS``): inside the L's
    box, so it touches the L (no ``portal_not_touching``), but no opening is cut in the L's wall."""
    level = _l_and_notch(3.0021, 3.0021)
    result = compile_scene(json.dumps(level).encode(), resolve_asset=resolve)
    assert [(w.path, w.code, w.severity) for w in result.warnings] == [("/portals/0", "portal_not_on_wall", "warning")]
    message = result.warnings[0].message
    assert "lies 2.1 mm off every wall of cell 'L'" in message
    assert "no opening is cut there" in message and "within 2 mm (ON_WALL_EPS)" in message
    # What it says is so: the L's shell is the one it has without the doorway, the notch's is not.
    cut = cell_triangles(result.glb)
    solid = cell_triangles(compile_scene(json.dumps(_l_and_notch(3.0021, 3.0021, door=False)).encode()).glb)
    assert cut["L"].shape == solid["L"].shape and (cut["L"] == solid["L"]).all()
    assert cut["notch"].shape != solid["notch"].shape


@pytest.mark.parametrize(
    ("notch_x", "door_x"),
    [
        (3.0, 3.0),  # on both walls
        (3.0005, 3.0),  # 0.5 mm between the walls: on the L's face, 0.5 mm off the notch's
        (3.0005, 3.00025),  # midway
        (3.0005, 3.0005),  # on the notch's face, 0.5 mm off the L's
        (3.0014, 3.0),  # 1.4 mm off the notch's face: as far as a turned plan written to millimetres puts it
        (3.0019, 3.0019),  # on the notch's face, 1.9 mm off the L's
        (3.0038, 3.0019),  # midway between walls 3.8 mm apart
    ],
)
def test_a_quad_within_contact_of_both_walls_is_not_reported(notch_x: float, door_x: float) -> None:
    """Within ``ON_WALL_EPS`` (2 mm) of a wall's face the quad is on the wall, and cut."""
    level = _l_and_notch(notch_x, door_x)
    assert _off_wall(level) == []
    # Both walls are cut.
    cut = cell_triangles(compile_scene(json.dumps(level).encode()).glb)
    solid = cell_triangles(compile_scene(json.dumps(_l_and_notch(notch_x, door_x, door=False)).encode()).glb)
    assert cut["L"].shape != solid["L"].shape and cut["notch"].shape != solid["notch"].shape


def test_hatches_in_the_slabs_between_storeys_are_not_reported() -> None:
    """Horizontal quads in the ceiling slab of the room below and the floor slab of the room above."""
    cells = [box("down", (0, 0, 0), (4, 3, 4)), box("up", (0, 3, 0), (4, 6, 4)), box("side", (4, 0, 0), (8, 3, 4))]
    portals = [
        hatch("down", "up", 3.0, 1.0, 2.0, 1.0, 2.0),  # on the faces the two slabs share
        hatch("down", "up", 2.95, 2.5, 3.5, 2.5, 3.5),  # inside the lower room's ceiling slab (10 cm)
        x_door("down", "side", 4.0, 1.0, 2.0, 0.1, 2.0),
    ]
    assert _off_wall(scene("storeys", cells, portals)) == []


def test_a_quad_away_from_a_room_is_reported_once() -> None:
    """1.5 m outside the notch's box: ``portal_not_touching`` for the notch, not also this warning; the
    quad is on the L's wall."""
    level = _l_and_notch(4.5, 3.0)
    result = compile_scene(json.dumps(level).encode(), resolve_asset=resolve)
    assert [(w.path, w.code) for w in result.warnings] == [("/portals/0", "portal_not_touching")]
    assert "'notch'" in result.warnings[0].message


def test_a_quad_in_a_room_far_from_its_walls_gives_the_distance_to_the_nearest() -> None:
    """A doorway standing inside the L's floor area, 1.4 m from its wall x = 3 (the nearest it lies
    across): reported in metres, and the notch (which it does not touch) as ``portal_not_touching``."""
    level = _l_and_notch(3.0, 1.6)
    warnings = compile_scene(json.dumps(level).encode(), resolve_asset=resolve).warnings
    assert [(w.path, w.code) for w in warnings] == [
        ("/portals/0", "portal_not_touching"),
        ("/portals/0", "portal_not_on_wall"),
    ]
    assert "lies 1.3 m off every wall of cell 'L'" in warnings[1].message


@pytest.mark.parametrize("path", OFFICE_LEVELS, ids=lambda p: p.name)
def test_office_levels_have_every_portal_on_a_wall(path: Any) -> None:
    assert [w for w in check_scene(path.read_bytes()) if w.code == "portal_not_on_wall"] == []


def test_awkward_levels_have_every_portal_on_a_wall_but_one() -> None:
    """The many-sided level's doorway to its 96-gon stands in the plane x = 18 through one corner, so its
    sides (0.2 m either way) lie 6.5 mm outside the two walls meeting there: no opening is cut on the
    96-gon's side (the level is kept as it is; its output is compared across changes)."""
    found = {
        name: [(w.path, w.message) for w in check_scene(json.dumps(make()).encode(), resolve_asset=resolve)]
        for name, make in LEVELS.items()
    }
    off = {name: [w for w in ws if "no opening is cut" in w[1]] for name, ws in found.items()}
    assert {name: ws for name, ws in off.items() if ws} == {
        "many-sided": [
            (
                "/portals/0",
                "portal round->side: its quad lies 6.54 mm off every wall of cell 'round':"
                " no opening is cut there; walls within 2 mm (ON_WALL_EPS) are cut",
            )
        ]
    }


def test_a_quad_past_the_end_of_a_wall_is_reported_as_touching_only() -> None:
    """In the plane of the L's wall x = 3 but past its end (z = 6): it touches the L's box and wall,
    overlaps no wall; it lies on the wall of the room beyond, which is cut."""
    cells = [poly("L", L_FLOOR), box("beyond", (3.0, 0.0, 6.0), (6.0, 3.0, 9.0))]
    level = scene("past", cells, [x_door("L", "beyond", 3.0, 6.0, 7.0, 0.0, 2.1)])
    assert _off_wall(level) == [
        (
            "/portals/0",
            "portal_not_on_wall",
            "portal L->beyond: its quad touches the walls of cell 'L' but overlaps none by more than 1 mm:"
            " no opening is cut there; walls within 2 mm (ON_WALL_EPS) are cut",
        )
    ]


@pytest.mark.parametrize(
    "portal",
    [
        x_door("a", "b", 4.0, -0.5, 4.5, 0.0, 3.0),  # past both ends of the wall, floor to ceiling
        x_door("a", "b", 4.0, -1.0, 5.0, -1.0, 4.0),  # past the wall all round
        hatch("a", "b", 3.0, -5.0, 9.0, -5.0, 9.0),  # a hatch larger than the rooms (b stands on a)
    ],
    ids=["past-both-ends", "past-all-round", "hatch-past-the-walls"],
)
def test_a_quad_larger_than_its_wall_touches_both_rooms(portal: dict[str, Any]) -> None:
    """A quad reaching past a room's box on both sides of an axis overlaps it there: it was reported as
    ``portal_not_touching``, as far off as its corners lie past the box (0.5 m, 1 m, 5 m), though its
    opening is cut in both rooms."""
    above = portal["quad"][1] == portal["quad"][4]
    b = box("b", (0.0, 3.0, 0.0), (4.0, 6.0, 4.0)) if above else box("b", (4.0, 0.0, 0.0), (8.0, 3.0, 4.0))
    level = scene("larger", [box("a", (0.0, 0.0, 0.0), (4.0, 3.0, 4.0)), b], [portal])
    assert compile_scene(json.dumps(level).encode()).warnings == []


def _thick_corner(door: tuple[float, float, float, float], *, with_door: bool = True) -> dict[str, Any]:
    """A corridor (0.1 m walls) along a room with 1 m walls, whose cavity runs from x = 1 to 3 and y = 1 to
    3; a doorway in their shared wall z = 0 from x = ``door[0]`` to ``door[1]``, y = ``door[2]`` to ``door[3]``."""
    x0, x1, y0, y1 = door
    cells = [box("corridor", (0.0, 0.0, -2.0), (10.0, 4.0, 0.0)), box("room", (0.0, 0.0, 0.0), (4.0, 4.0, 5.0), 1.0)]
    quad = [x1, y0, 0.0, x1, y1, 0.0, x0, y1, 0.0, x0, y0, 0.0]
    return scene("thick", cells, [{"from": "corridor", "to": "room", "quad": quad}] if with_door else [])


@pytest.mark.parametrize(
    ("door", "where"),
    [
        ((0.0, 0.9, 1.0, 2.5), "past the room's inside along the wall"),  # in the wall's end, before the corner
        ((3.05, 3.95, 1.0, 2.5), "past the room's inside along the wall"),  # in the other end
        ((1.5, 2.5, 0.2, 0.95), "within the slab's thickness"),  # below the floor's top (1 m up)
    ],
)
def test_a_quad_in_a_wall_but_not_across_the_rooms_inside_is_reported(
    door: tuple[float, float, float, float], where: str
) -> None:
    """A doorway drawn near the corner of a room with 1 m walls, or low in its wall, lies on the wall but
    not across the cavity, where the walls cut: nothing opens into the room (the corridor's wall is cut),
    and the build says so rather than leaving a door into solid wall without a word."""
    level = _thick_corner(door)
    (warning,) = _off_wall(level)
    assert warning[0] == "/portals/0" and "within a wall of cell 'room'" in warning[2] and where in warning[2]
    assert "no opening into the room is cut" in warning[2]
    # What it says is so: the room's shell is the one it has without the doorway (one within the slab's
    # thickness cuts a recess into the wall's foot, which opens into the floor slab, not the room).
    cut = cell_triangles(compile_scene(json.dumps(level).encode()).glb)
    solid = cell_triangles(compile_scene(json.dumps(_thick_corner(door, with_door=False)).encode()).glb)
    if "along the wall" in where:
        assert cut["room"].shape == solid["room"].shape and (cut["room"] == solid["room"]).all()
    assert cut["corridor"].shape != solid["corridor"].shape


@pytest.mark.parametrize(
    "door", [(0.0, 1.1, 1.0, 2.5), (2.9, 4.0, 1.0, 2.5), (1.5, 2.5, 0.2, 1.1), (0.0, 4.0, 0.0, 4.0)]
)
def test_a_quad_reaching_across_the_rooms_inside_is_not_reported(door: tuple[float, float, float, float]) -> None:
    # 10 cm (1 cm) into the cavity, or across all of it: an opening is cut.
    level = _thick_corner(door)
    assert _off_wall(level) == []
    cut = cell_triangles(compile_scene(json.dumps(level).encode()).glb)
    solid = cell_triangles(compile_scene(json.dumps(_thick_corner(door, with_door=False)).encode()).glb)
    assert cut["room"].shape != solid["room"].shape
