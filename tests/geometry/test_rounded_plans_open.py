"""Doorways of a plan turned off the axes and written to millimetres open (``ON_WALL_EPS``, docs/scene-format.md,
"Rooms"): rounding moves a doorway drawn in a wall up to 1.4 mm off the line through the wall's rounded corners,
and such a quad is cut; a ``between`` door finds the wall two such rooms share. Each level here was one whose
doorway stayed a solid wall on one side (or whose ``between`` door was refused) while its quad lay 1–1.4 mm off.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sceneforge.compile import check_scene
from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import SceneIR
from tests.level_builders import box, hatch, moved, scene, x_door
from tests.levels_new_kinds import to_mm, turned_by

from .meshcheck import blocked_portals


def _built(level: dict[str, Any]) -> SceneIR:
    """The level's IR with its rooms' shells generated (what the GLB holds per cell)."""
    ir = description_to_ir(parse_description(json.dumps(level).encode()), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    generate_rooms(ir)
    return ir


def _pair() -> dict[str, Any]:
    """Two rooms in a row (walls 10 and 20 cm), a doorway in the middle of the wall they share."""
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0, 0), (8, 3, 4), 0.2)]
    return scene("pair", cells, [x_door("a", "b", 4.0, 1.3, 2.2, 0.1, 2.2)])


@pytest.mark.parametrize(
    ("degrees", "dx", "dz"),
    [(67.7, -9.94, 19.06), (51.6, 4.74, -17.0), (19.6, 9.65, -13.44)],
    ids=["67.7deg", "51.6deg", "19.6deg"],
)
def test_a_doorway_of_a_turned_plan_written_to_millimetres_opens(degrees: float, dx: float, dz: float) -> None:
    """The pair moved by (dx, dz), turned and rounded: the quad lies just over 1 mm off b's wall (measured
    before ``ON_WALL_EPS``; no opening was cut in b, and the build warned)."""
    level = to_mm(turned_by(moved(_pair(), dx, 0.0, dz, ""), degrees))
    assert [w.message for w in check_scene(json.dumps(level).encode()) if w.code == "portal_not_on_wall"] == []
    assert blocked_portals(_built(level)) == []


@pytest.mark.parametrize(("degrees", "z0", "z1"), [(48.96, 0.651, 2.604), (44.51, 0.102, 3.628)])
def test_a_between_door_of_a_turned_plan_written_to_millimetres_is_placed(degrees: float, z0: float, z1: float) -> None:
    """Room b's wall runs along the middle of a's: rounded, its ends lie over 1 mm off the line of a's rounded
    corners, and the door was refused (``no_shared_wall``). Placed, it opens both rooms."""
    cells = [box("a", (0, 0, 0), (6, 3, 4)), box("b", (6, 0, z0), (10, 3, z1))]
    level = to_mm(turned_by(scene("between", cells, [{"between": ["a", "b"]}]), degrees))
    assert [w.code for w in check_scene(json.dumps(level).encode())] == []
    ir = _built(level)
    assert len(ir.portals) == 1
    assert blocked_portals(ir) == []


def _storeys(y: float) -> dict[str, Any]:
    """A room on another (10 cm slabs: the lower room's ceiling slab 2.9–3 m, the upper's floor slab 3–3.1 m),
    a hatch between them at height ``y``."""
    cells = [box("down", (0, 0, 0), (4, 3, 4)), box("up", (0, 3, 0), (4, 6, 4))]
    return scene("storeys", cells, [hatch("down", "up", y, 1.0, 2.0, 1.0, 2.0)])


def test_a_hatch_within_on_wall_eps_of_a_slab_opens_it() -> None:
    """1.5 mm above the lower room's ceiling slab (rounded heights and thicknesses put a slab's face up to 1 mm
    off, the quad 0.5 mm more): both slabs are cut."""
    level = _storeys(3.0015)
    assert check_scene(json.dumps(level).encode()) == []
    assert blocked_portals(_built(level)) == []


def test_a_hatch_farther_off_a_slab_is_named_and_left_closed() -> None:
    """2.5 mm above it the quad was drawn elsewhere, not rounded there: the lower room's slab stays solid, and the
    build says so (no doorway closed without a warning): apart from the room (its box) as from its slab."""
    level = _storeys(3.0025)
    warnings = [(w.path, w.code, w.message) for w in check_scene(json.dumps(level).encode())]
    assert warnings == [
        ("/portals/0", "portal_not_touching", "portal down->up is 0.0025 m from its source cell 'down'")
    ]
    assert blocked_portals(_built(level)) == ["down->up"]


def test_a_hatch_farther_off_a_slab_inside_the_room_is_named_and_left_closed() -> None:
    """2.5 mm below the lower room's ceiling slab, inside its box: ``portal_not_on_wall`` for it (and the upper
    room, 10 cm away, ``portal_not_touching``)."""
    level = _storeys(2.8975)
    warnings = [(w.path, w.code, w.message) for w in check_scene(json.dumps(level).encode())]
    assert warnings == [
        ("/portals/0", "portal_not_touching", "portal down->up is 0.103 m from its target cell 'up'"),
        (
            "/portals/0",
            "portal_not_on_wall",
            "portal down->up: its quad lies 2.5 mm off every wall and slab of cell 'down': no opening is cut there;"
            " walls and slabs within 2 mm (ON_WALL_EPS) are cut",
        ),
    ]
    assert blocked_portals(_built(level)) == ["down->up"]
