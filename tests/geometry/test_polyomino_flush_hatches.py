"""Stair openings drawn against a wall under doorways, on the panel path: rooms of random polyomino plans
(``tests/levels_polyomino.py``), on the axes and turned to any angle and written to millimetres, whose hatch flush
with a wall lies under a doorway joined to a window, or under a doorway from the slab's middle (docs/geometry.md,
"Two paths, one solid"). Each level is the few rooms of one a plan sweep gave that took the booleans."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import SceneIR
from tests.levels_new_kinds import to_mm, turned_by

from .meshcheck import blocked_portals, check_shells


def _built(level: dict[str, Any]) -> tuple[SceneIR, int]:
    """The level's IR with its rooms' shells generated, and how many rooms took the booleans."""
    ir = description_to_ir(parse_description(json.dumps(level).encode()), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    return ir, generate_rooms(ir)


def _room(cell_id: str, floor: list[list[float]], y: float) -> dict[str, Any]:
    return {"cellId": cell_id, "room": {"floor": floor, "y": y, "height": 3.0, "wallThickness": 0.2}}


def _portal(frm: str, to: str, quad: list[float]) -> dict[str, Any]:
    return {"from": frm, "to": to, "quad": quad}


# An L-shaped room (s2r0) with a doorway standing on its floor and a window beside it sharing its jamb (one
# opening, the outline of their union), and under the doorway a stair opening drawn against that wall from the
# doorway's jamb to its middle: the union's sill had no vertex where the stair opening's side ends under it (a
# crack: the closed check sent the room to the booleans, which left two triangles 0.02 mm high once turned).
_JOINED_OVER_A_STAIR_OPENING = {
    "sceneId": "polyomino-332",
    "cells": [
        _room(
            "s1r6",
            [
                *([22, 8], [18, 8], [18, 12], [22, 12], [22, 14], [20, 14], [20, 18], [18, 18], [18, 16], [16, 16]),
                *([16, 14], [8, 14], [8, 10], [10, 10], [10, 8], [12, 8], [12, 6], [14, 6], [14, 4], [18, 4]),
                *([18, 0], [22, 0]),
            ],
            3.0,
        ),
        _room("s2r0", [[22, 12], [20, 12], [20, 8], [16, 8], [16, 0], [22, 0]], 6.0),
        _room("s2r4", [[16, 8], [12, 8], [12, 6], [10, 6], [10, 2], [12, 2], [12, 0], [16, 0]], 6.0),
    ],
    "portals": [
        _portal("s2r4", "s2r0", [16.0, 6.2, 4.0, 16.0, 8.1, 4.0, 16.0, 8.1, 6.0, 16.0, 6.2, 6.0]),
        _portal("s2r4", "s2r0", [16.0, 7.0, 2.0, 16.0, 8.0, 2.0, 16.0, 8.0, 4.0, 16.0, 7.0, 4.0]),
        _portal("s1r6", "s2r0", [16.0, 6.0, 4.0, 16.0, 6.0, 5.0, 17.0, 6.0, 5.0, 17.0, 6.0, 4.0]),
    ],
}

# A box room (s2r10) with a stair opening drawn against a wall and over it a doorway from the floor slab's middle
# (its sill 10 cm into the 20 cm slab), 5 cm inside the stair opening's side: an opening passing partway into the
# slab beside a hatch flush with its wall took the booleans.
_DOORWAY_FROM_THE_SLABS_MIDDLE = {
    "sceneId": "polyomino-17",
    "cells": [
        _room("s1r12", [[14, 2], [16, 2], [16, 6], [14, 6], [14, 8], [6, 8], [6, 0], [14, 0]], 3.0),
        _room("s2r8", [[18, 2], [14, 2], [14, 0], [18, 0]], 6.0),
        _room("s2r10", [[14, 4], [6, 4], [6, 0], [14, 0]], 6.0),
    ],
    "portals": [
        _portal("s2r10", "s2r8", [14.0, 6.1, 0.55, 14.0, 8.1, 0.55, 14.0, 8.1, 1.45, 14.0, 6.1, 1.45]),
        _portal("s1r12", "s2r10", [13.0, 6.0, 0.5, 13.0, 6.0, 1.5, 14.0, 6.0, 1.5, 14.0, 6.0, 0.5]),
    ],
}

# The same rooms as the sweep gave them: turned by 310.18° and 116.99°, written to millimetres.
_AS_EXPORTED = {
    "joined": (
        310.18,
        [
            [13.379, 6.2, -9.644, 13.379, 8.1, -9.644, 14.907, 8.1, -8.353, 14.907, 6.2, -8.353],
            [11.851, 7.0, -10.934, 11.851, 8.0, -10.934, 13.379, 8.0, -9.644, 13.379, 7.0, -9.644],
            [13.379, 6.0, -9.644, 14.143, 6.0, -8.998, 14.788, 6.0, -9.762, 14.024, 6.0, -10.408],
        ],
    ),
    "slab-middle": (
        116.99,
        [
            [-6.844, 6.1, 12.226, -6.844, 8.1, 12.226, -7.646, 8.1, 11.817, -7.646, 6.1, 11.817],
            [-6.345, 6.0, 11.357, -7.236, 6.0, 10.903, -7.69, 6.0, 11.794, -6.799, 6.0, 12.248],
        ],
    ),
}

_LEVELS = {"joined": _JOINED_OVER_A_STAIR_OPENING, "slab-middle": _DOORWAY_FROM_THE_SLABS_MIDDLE}


def _check(level: dict[str, Any]) -> None:
    ir, booleans = _built(level)
    assert booleans == 0
    check_shells(ir, 5e-4)
    assert blocked_portals(ir) == []


@pytest.mark.parametrize("name", sorted(_LEVELS))
@pytest.mark.parametrize("degrees", [None, 30.0, 90.0, 203.4])
def test_a_stair_opening_under_a_doorway_takes_the_panel_path(name: str, degrees: float | None) -> None:
    level = _LEVELS[name]
    _check(level if degrees is None else to_mm(turned_by(level, degrees)))


@pytest.mark.parametrize("name", sorted(_LEVELS))
def test_the_level_as_the_sweep_exported_it_takes_the_panel_path(name: str) -> None:
    # Turned and written to millimetres as the sweep wrote it (the turn is sceneforge.generate.turned's, so the
    # quads are checked against the sweep's to pin the level).
    degrees, quads = _AS_EXPORTED[name]
    level = to_mm(turned_by(copy.deepcopy(_LEVELS[name]), degrees))
    assert [p["quad"] for p in level["portals"]] == quads
    _check(level)
