"""Plans turned off the axes and written to millimetres (a CAD export's, a rounding script's): the rounding
moves every corner up to half a millimetre in x and in z, so a doorway drawn to the cavity's corner ends a
fraction of a millimetre short of it or past it, and a quad drawn on a wall lies up to 1.4 mm off the
rounded outline. Such levels build as the exact plan does (docs/geometry.md, "Output guarantees"): every
shell closed, no triangle under 0.5 mm, every portal cut, the quantized build keeping every triangle; and a
plan not written to a grid, or a wall on the axes, keeps a feature that small as drawn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, check_scene, compile_scene
from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.geometry.panels import panel_shells
from sceneforge.geometry.panels.openings import openings
from sceneforge.geometry.panels.walls import walls
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import Room
from tests.level_builders import Level
from tests.levels_new_kinds import closets_far, house, long_and_tiny, to_mm, turned_by
from tests.test_awkward_levels import l_u_t_rooms

from .levels import cell_triangles, heights
from .meshcheck import check_shells

#: (level, degrees): what each showed written to millimetres after that turn, before.
EXPORTED: dict[str, tuple[Callable[[], Level], float]] = {
    # The stair's steps: doorways drawn from cavity corner to cavity corner, 0.16-0.4 mm short after rounding
    # (wall strips that thin; the quantized build collapsed them and was written unquantized).
    "house": (lambda: house(storeys=2), -151.3),
    # A closet's doorway drawn to the cavity's corner of the room it opens from: a 0.24 mm strip.
    "long-tiny": (long_and_tiny, -151.3),
    # At x = 10 km the corridor's 0.16 mm strip beside its last doorway was one float32 step: triangles of no height.
    "closets-10km": (closets_far, -151.3),
    # A doorway 1.01 mm off the rounded outline of one of its rooms: not cut there (a solid wall).
    "l-u-t": (l_u_t_rooms, 63.4),
}


@pytest.mark.parametrize("name", sorted(EXPORTED))
def test_a_turned_plan_written_to_millimetres_builds_as_drawn(name: str) -> None:
    make, degrees = EXPORTED[name]
    data = json.dumps(to_mm(turned_by(make(), degrees))).encode()
    assert [w.message for w in check_scene(data) if w.code == "portal_not_on_wall"] == []
    ir = description_to_ir(parse_description(data), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    assert generate_rooms(ir) == 0
    check_shells(ir, 5e-4)
    plain = compile_scene(data, BuildOptions(pvs=False))
    quantized = compile_scene(data, BuildOptions(quantize=True, pvs=False))
    assert [w.code for w in quantized.warnings if w.code == "quantize_skipped"] == []
    plain_tris = cell_triangles(plain.glb)
    for cell_id, tri in cell_triangles(quantized.glb).items():
        assert int((heights(tri) > 0).sum()) == plain_tris[cell_id].shape[0], cell_id


# --- One room, one doorway: what is put on the corner and what is kept ---------------------------------


def _turn(points: np.ndarray, degrees: float, mm: bool) -> np.ndarray:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    out = np.stack([points[:, 0] * c - points[:, 1] * s, points[:, 0] * s + points[:, 1] * c], axis=1)
    return np.round(out, 3) if mm else out


def _doorway_ends(degrees: float, z0: float, z1: float, mm: bool, off: float = 0.0) -> tuple[float, float] | None:
    """A 4 m × 3 m room in 0.1 m walls, turned by ``degrees`` (and written to millimetres where ``mm``), a
    doorway in its wall x = 4 from z0 to z1, ``off`` (m) outside the outline: how far its cut runs short of
    the cavity's corners at either end (m), or None where it lies on no wall."""
    outline = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]])
    floor = _turn(outline, degrees, mm)
    if float(np.sum(floor[:, 0] * np.roll(floor[:, 1], -1) - np.roll(floor[:, 0], -1) * floor[:, 1])) < 0:
        floor = floor[::-1].copy()  # the winding ingest gives
    plan = _turn(np.array([[4.0 + off, z0], [4.0 + off, z1]]), degrees, mm)
    quad = np.array([[x, y, z] for (x, z), y in zip(plan[[0, 0, 1, 1]], [0.1, 2.1, 2.1, 0.1], strict=True)])
    room = Room(floor, 0.0, 3.0, 0.1, "default")
    w = walls([room])
    bad = ~w.ok
    o, _, _ = openings(w, quad[None], np.zeros(1, np.int64), bad)
    assert not bad.any()
    if o.edge.size == 0:
        return None
    e = int(o.edge[0])
    return float(o.a[0] - w.inner0[e]), float(w.inner1[e] - o.b[0])


@pytest.mark.parametrize("degrees", [-151.3, 30.0, 63.4, 101.1])
def test_a_doorway_drawn_to_the_cavity_corner_of_a_rounded_turned_plan_stops_there(degrees: float) -> None:
    # Drawn from cavity corner to cavity corner (z 0.1 to 2.9): rounding leaves its ends a fraction of a
    # millimetre from the corners; they are put on them, as on the plan drawn exactly.
    assert _doorway_ends(degrees, 0.1, 2.9, mm=True) == (0.0, 0.0)
    assert _doorway_ends(degrees, 0.1, 2.9, mm=False) == pytest.approx((0.0, 0.0), abs=1e-9)


@pytest.mark.parametrize("degrees", [-151.3, 30.0, 63.4])
def test_features_the_plan_can_draw_are_kept(degrees: float) -> None:
    # Turned exactly (not written to a grid): a doorway 0.3 mm short of the corner is that.
    ends = _doorway_ends(degrees, 0.1003, 2.9, mm=False)
    assert ends is not None and ends[0] == pytest.approx(3e-4, abs=1e-9)
    # On the axes, written to millimetres: a doorway 1 mm short of the corner is that.
    assert _doorway_ends(0.0, 0.101, 2.899, mm=True) == pytest.approx((1e-3, 1e-3), abs=1e-9)
    # Turned and written to millimetres, a doorway 5 mm short: more than rounding moves it (0.71 mm each).
    ends = _doorway_ends(degrees, 0.105, 2.9, mm=True)
    assert ends is not None and 5e-3 - 1.5e-3 < ends[0] < 5e-3 + 1.5e-3


def test_a_quad_rounding_left_off_the_rounded_outline_is_cut() -> None:
    # 1.2 mm outside the outline: rounding to millimetres leaves a quad drawn on the wall up to 1.4 mm off it.
    # A quad lies on a wall within 2 mm of its faces (ON_WALL_EPS), on a grid or not, turned or not.
    assert _doorway_ends(30.0, 1.0, 2.0, mm=True, off=1.2e-3) is not None
    assert _doorway_ends(30.0, 1.0, 2.0, mm=False, off=1.2e-3) is not None
    assert _doorway_ends(0.0, 1.0, 2.0, mm=True, off=1.2e-3) is not None
    # 2.5 mm off is more than rounding moves it: drawn elsewhere, not on the wall.
    assert _doorway_ends(30.0, 1.0, 2.0, mm=True, off=2.5e-3) is None
    assert _doorway_ends(0.0, 1.0, 2.0, mm=True, off=2.5e-3) is None


#: Trapezoids drawn to the cavity's corner at z = 0.1 of the wall x = 4: (z, y) of their corners.
TRAPEZOIDS = {
    # A notch: standing on the floor's top, its foot from the corner.
    "doorway": [(0.1, 0.1), (1.0, 0.1), (0.8, 2.1), (0.3, 2.1)],
    # A window with its upright side along the corner: a notch flush with it (drawn exactly, too).
    "window": [(0.1, 1.0), (1.0, 1.0), (0.8, 2.0), (0.1, 2.0)],
}


@pytest.mark.parametrize("degrees", [-151.3, 30.0])
@pytest.mark.parametrize("shape", sorted(TRAPEZOIDS))
def test_a_trapezoid_drawn_to_the_cavity_corner_of_a_rounded_turned_plan_stops_there(
    shape: str, degrees: float
) -> None:
    # Rounding left its side 0.1-0.3 mm from the corner: a strip of wall that thin (triangles 0.12-0.34 mm high).
    floor = _turn(np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]]), degrees, mm=True)
    corners = TRAPEZOIDS[shape]
    plan = _turn(np.array([[4.0, z] for z, _ in corners]), degrees, mm=True)
    quad = np.array([[x, y, z] for (x, z), (_, y) in zip(plan, corners, strict=True)])
    fast, meshes = panel_shells([Room(floor, 0.0, 3.0, 0.1, "default")], quad[None], np.zeros(1, np.int64))
    assert fast.all()
    positions, _, _, indices = meshes[0]
    assert heights(positions.astype(np.float64)[indices.astype(np.int64)]).min() >= 5e-4
