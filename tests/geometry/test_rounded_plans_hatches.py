"""Hatches of rooms turned off the axes and written to millimetres, beside doorways, on the panel path: a hatch
drawn to the walls is built flush with them (docs/geometry.md, "Two paths, one solid"), whatever the room's
doorways, and leaves no strip of slab a fraction of a millimetre wide. Each level here is one a level generator
gave that took the booleans or kept triangles under 0.5 mm."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import SceneIR
from tests.level_builders import box, hatch, scene, x_door
from tests.levels_new_kinds import to_mm, turned_by

from .meshcheck import blocked_portals, check_shells


def _built(level: dict[str, Any]) -> tuple[SceneIR, int]:
    """The level's IR with its rooms' shells generated, and how many rooms took the booleans."""
    ir = description_to_ir(parse_description(json.dumps(level).encode()), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    return ir, generate_rooms(ir)


def _under_a_hatch(corner: bool) -> dict[str, Any]:
    """A 4 m room beside another on a floor 15 cm higher (a ``between`` door: placed along the wall they share by
    the ingest, not written), a room above it, a stair opening 1 m square in its ceiling drawn to its corner
    (``corner``) or over the whole room."""
    cells = [box("a", (0, 0, 0), (4, 3, 4)), box("b", (4, 0.15, 0), (8, 3, 4)), box("up", (0, 3, 0), (4, 6, 4))]
    opening = hatch("a", "up", 3.0, 0.0, 1.0, 0.0, 1.0) if corner else hatch("a", "up", 3.0, -0.5, 4.5, -0.5, 4.5)
    return scene("under-a-hatch", cells, [{"between": ["a", "b"]}, opening])


@pytest.mark.parametrize("corner", [True, False], ids=["corner", "whole-room"])
@pytest.mark.parametrize("degrees", [61.7, 23.0, 137.3])
def test_a_hatch_of_a_turned_room_written_to_millimetres_beside_a_between_door_takes_the_panel_path(
    corner: bool, degrees: float
) -> None:
    # The door's quad is off the millimetre grid (the ingest places it), so the room was not taken for a plan
    # written to millimetres: built as drawn, its hatch a rounding off square, it took the booleans.
    ir, booleans = _built(to_mm(turned_by(_under_a_hatch(corner), degrees)))
    assert booleans == 0
    check_shells(ir, 5e-4)
    assert blocked_portals(ir) == []


def _door_past_a_stair_opening() -> dict[str, Any]:
    """A room over another, a stair opening between them drawn against its wall (x = 1.9, the walls 10 cm), and a
    doorway from a corridor beside it standing on the corridor's floor, the room's slab's underside, whose width
    runs on past the stair opening's end."""
    cells = [
        box("e0", (1.8, 0.0, 14.95), (7.6, 3.0, 19.7)),
        box("c1", (0.0, 3.0, 10.0), (1.8, 6.0, 25.0)),
        box("e1", (1.8, 3.0, 14.95), (6.8, 6.0, 19.7)),
    ]
    portals = [x_door("c1", "e1", 1.8, 16.576, 19.36, 3.0, 5.1), hatch("e0", "e1", 3.0, 1.9, 3.0, 15.25, 18.25)]
    return scene("door-past-a-stair-opening", cells, portals)


@pytest.mark.parametrize("degrees", [None, 30.0, 108.3])
def test_a_doorway_from_the_slabs_underside_past_a_stair_opening_takes_the_panel_path(degrees: float | None) -> None:
    # Drawn on the axes the room took the booleans (a doorway passing into the slab beside a hatch flush with its
    # wall); turned and written to millimetres, its rebuild without the rounding was refused and the panels'
    # first build kept: the stair opening's side 0.2 mm off the wall's face, a strip of slab that thin.
    level = _door_past_a_stair_opening()
    ir, booleans = _built(level if degrees is None else to_mm(turned_by(level, degrees)))
    assert booleans == 0
    check_shells(ir, 5e-4)
    assert blocked_portals(ir) == []


# The level the generator gave: the stair opening's side 0.17-0.4 mm off the wall's inner face once rounded.
_ROUNDED_OFF_THE_FACE = {
    "sceneId": "rounded-off-the-face",
    "cells": [
        {"cellId": "e0_3", "room": {"floor": [[8.787, 1.01], [10.797, -5.066], [16.294, -3.248], [14.284, 2.828]],
                                    "y": 0.0, "height": 3.0}},
        {"cellId": "c1a", "room": {"floor": [[0.0, 0.0], [0.565, -1.709], [14.284, 2.828], [13.719, 4.537]],
                                   "y": 3.0, "height": 3.0}},
        {"cellId": "e1_3", "room": {"floor": [[8.787, 1.01], [10.357, -3.737], [15.854, -1.919], [14.284, 2.828]],
                                    "y": 3.0, "height": 3.0}},
    ],
    "portals": [
        {"from": "c1a", "to": "e1_3",
         "quad": [11.342, 3.0, 1.855, 11.342, 5.1, 1.855, 12.649, 5.1, 2.287, 12.649, 3.0, 2.287]},
        {"from": "e0_3", "to": "e1_3",
         "quad": [9.103, 3.0, 1.009, 11.952, 3.0, 1.951, 12.297, 3.0, 0.907, 9.449, 3.0, -0.035]},
    ],
}  # fmt: skip


def test_a_stair_opening_rounded_off_the_wall_of_a_room_with_a_doorway_past_it_leaves_no_sliver() -> None:
    ir, booleans = _built(_ROUNDED_OFF_THE_FACE)
    assert booleans == 0
    check_shells(ir, 5e-4)
    assert blocked_portals(ir) == []
