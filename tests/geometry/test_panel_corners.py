"""Doorways drawn to where a wall's cavity ends: a doorway starting at the cavity's corner, written as a
rounded decimal, is wholly past it, not a sliver of a float's rounding that sends its rooms to the booleans."""

from __future__ import annotations

import json

import pytest

from sceneforge.compile import compile_scene


def _doorway(z0: float, z1: float) -> dict[str, object]:
    quad = [0, 0.1, z1, 0, 2.0, z1, 0, 2.0, z0, 0, 0.1, z0]
    return {"from": "b", "to": "a", "quad": quad}


@pytest.mark.parametrize("length", [10.05, 5.05, 4.0, 3.3, 12.3])
def test_a_doorway_from_the_cavity_corner_to_the_wall_end_takes_the_panel_path(length: float) -> None:
    # Rooms a and b share the wall x = 0, `length` long; walls 0.1 thick, so the cavity ends at length - 0.1
    # (10.05 - 0.1 = 9.950000000000001): a doorway from round(length - 0.1, 2) to the wall's end.
    cells = [
        {"cellId": "a", "room": {"min": [-4, 0, 0], "max": [0, 3, length]}},
        {"cellId": "b", "room": {"min": [0, 0, 0], "max": [4, 3, length]}},
    ]
    portals = [_doorway(1.0, 2.0), _doorway(round(length - 0.1, 2), length)]
    built = compile_scene(json.dumps({"sceneId": "corner", "cells": cells, "portals": portals}).encode())
    assert built.meta["stats"]["booleanCells"] == 0
