"""Plans traced from a subdivided floor mesh (a point every 0.1 m along each wall), turned and written to centimetres
(2 decimals): each piece of a straight wall is bent by the rounding up to ~7 mm, past ``ON_WALL_EPS`` (2 mm, a
millimetre export's rounding). Such a plan is read as written to centimetres (``tolerances.EXPORT_STEPS``): its
straight runs are straight walls, a doorway drawn on one is on it, cut whole, on the panel path, and no
``portal_past_room`` is warned about a quad drawn within both rooms."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.compile import compile_scene
from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from tests.level_builders import Level, poly, scene, x_door
from tests.levels_new_kinds import turned_by

from .meshcheck import check_shells, ray_hits


def _traced(corners: list[tuple[float, float]], step: float = 0.1) -> list[tuple[float, float]]:
    """The outline through ``corners`` with a point every ``step`` m along each wall (a floor mesh subdivided so)."""
    out = []
    for (x0, z0), (x1, z1) in zip(corners, corners[1:] + corners[:1], strict=True):
        n = max(1, round(float(np.hypot(x1 - x0, z1 - z0)) / step))
        out += [(x0 + (x1 - x0) * i / n, z0 + (z1 - z0) * i / n) for i in range(n)]
    return out


def to_cm(level: Level) -> Level:
    """``level`` with every coordinate written to centimetres."""
    out = copy.deepcopy(level)
    out["sceneId"] += "-cm"
    for cell in out["cells"]:
        cell["room"]["floor"] = [[round(x, 2), round(z, 2)] for x, z in cell["room"]["floor"]]
    for portal in out["portals"]:
        portal["quad"] = [round(v, 2) for v in portal["quad"]]
    return out


def _pair() -> Level:
    """Rooms a (0,0)-(6,4) and b (6,0)-(10,4) traced every 0.1 m, walls 0.2 m, a doorway 1 m wide between them."""
    cells = [
        poly("a", _traced([(0, 0), (6, 0), (6, 4), (0, 4)]), t=0.2),
        poly("b", _traced([(6, 0), (10, 0), (10, 4), (6, 4)]), t=0.2),
    ]
    return scene("traced-pair", cells, [x_door("a", "b", 6, 1.5, 2.5, 0, 2.2)])


def _door_open(level: Level, rays: bool = True) -> None:
    """The level builds on the panel path with no warning about its portal, closed, no triangle under 0.5 mm high,
    and (``rays``) rays across the doorway's quad (from 3 % to 97 % of its width) pass both rooms' walls."""
    data = json.dumps(level).encode()
    built = compile_scene(data)
    assert built.meta["stats"]["booleanCells"] == 0
    assert [w for w in built.meta.get("warnings", []) if w["code"].startswith("portal_")] == []
    ir = description_to_ir(parse_description(data), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    assert generate_rooms(ir) == 0
    check_shells(ir, 5e-4)
    if not rays:
        return
    q = np.asarray(ir.portals[0].quad, np.float64).reshape(4, 3)
    n = np.cross(q[1] - q[0], q[3] - q[0])
    n /= np.linalg.norm(n)
    for s in np.linspace(0.03, 0.97, 9):
        for t in (0.2, 0.8):
            p = (1 - s) * (1 - t) * q[0] + (1 - s) * t * q[1] + s * t * q[2] + s * (1 - t) * q[3]
            hits = sum(ray_hits(surface, p - 0.5 * n, n, 1.0) for c in ir.cells for surface in c.surfaces)
            assert hits == 0, (s, t)


@pytest.mark.parametrize("degrees", [1.0, 12.2, 17.0, 32.1, 60.3, 89.0])
def test_a_traced_pair_turned_and_written_to_centimetres_opens_its_doorway_whole(degrees: float) -> None:
    # Turned 17°: warned portal_past_room ("794 mm past the room of cell 'a'", "draw the quad within both rooms")
    # and cut the doorway into one 0.2 m piece of a's wall; at 32.1° it was cut into neither: a solid wall. Near the
    # axes (1°, 89°) the rounding lays pieces on an axis and tilts the steps between them 0.1 rad.
    _door_open(to_cm(turned_by(_pair(), degrees)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(0.5, 89.5).map(lambda d: round(d, 1)))
def test_a_traced_pair_written_to_centimetres_at_any_angle_builds_without_warnings(degrees: float) -> None:
    _door_open(to_cm(turned_by(_pair(), degrees)), rays=False)


def test_an_axis_plan_written_to_centimetres_is_as_it_was() -> None:
    # On the axes rounding moves a wall and its doorway alike: nothing to read as rounded.
    built: Any = compile_scene(json.dumps(_pair()).encode())
    assert built.meta["stats"]["booleanCells"] == 0
    assert built.meta.get("warnings", []) == []
