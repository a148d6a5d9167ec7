"""Hatches drawn to or past a wall of a room whose walls do not all run along the axes (a bevelled room: chamfered
corners; any plan turned) on the panel path: clipped to the cavity, the side drawn to the wall on its inner face.

Against the boolean build (``fast_paths=False``): no boolean, closed and consistently wound, the same volume (up to
float32 rounding and the boolean's 0.1 mm cutting margins), no triangle under 0.5 mm high, every hatch open. Turned
and written to millimetres (a CAD export: the hatch a fraction of a millimetre off the wall once rounded), the
same, the volume up to what the rounding moves, every vertex inside the outline as written.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.model.ir import Room
from tests.level_builders import Level, hatch, poly, scene, x_door
from tests.levels_new_kinds import to_mm, turned_by

from .test_flush_hatches_in_polygons import _turned, assert_rounded_openings_open
from .test_panels import assert_flush_openings_open

Case = tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]


def bevelled(w: float, d: float, cuts: tuple[float, float, float, float]) -> np.ndarray:
    """A ``w`` × ``d`` rectangle from the origin with each corner (counter-clockwise from (0, 0)) cut at 45° ``cuts``
    m along both walls (0: left square)."""
    a, b, c, e = cuts
    points = [(a, 0.0), (w - b, 0.0), (w, b), (w, d - c), (w - c, d), (e, d), (0.0, d - e), (0.0, a)]
    out = [points[0]]
    for p in points[1:]:
        if p != out[-1]:
            out.append(p)
    if out[-1] == out[0]:
        out.pop()
    return np.array(out, dtype=float)


def _inside(ring: np.ndarray, p: np.ndarray) -> bool:
    a, b = ring, np.roll(ring, -1, axis=0)
    cross = (b[:, 0] - a[:, 0]) * (p[1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (p[0] - a[:, 0])
    return bool((cross > 0.0).all())  # (a convex counter-clockwise ring)


@st.composite
def bevelled_rooms_with_flush_hatches(draw: st.DrawFn) -> Case:
    """A bevelled room with a floor and/or ceiling hatch drawn against one of its walls (along the axes or a chamfer):
    its side there on the wall's inner face, on the outline or past it, its other sides in the room at least 0.3 m from
    the walls; a doorway on the floor's top of another wall maybe; a ray through each hatch."""
    t = draw(st.sampled_from([0.1, 0.2]))
    w, d = draw(st.integers(24, 40)) * 0.25, draw(st.integers(20, 32)) * 0.25
    cuts = tuple(draw(st.sampled_from([0.0, 0.75, 1.5, 2.5])) for _ in range(4))
    if not any(cuts):
        cuts = (1.5, 0.0, 0.0, 0.0)
    outline = bevelled(w, d, cuts)  # type: ignore[arg-type]
    h, y0 = 3.0, draw(st.sampled_from([0.0, -1.5]))
    room = Room(outline, y0, h, t, "wall")
    # The cavity (a convex outline's, mitred): each wall's line moved in by t.
    k = outline.shape[0]
    step = np.roll(outline, -1, axis=0) - outline
    length = np.hypot(step[:, 0], step[:, 1])
    tangent = step / length[:, None]
    inward = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    for slab in draw(st.sampled_from([[0], [1], [0, 1]])):
        depth = draw(st.sampled_from([0.6, 1.2, 2.0]))
        run = draw(st.sampled_from([0.6, 1.0, 1.5]))
        # Along the wall, clear of its ends by the depth and 0.3 m (the corners across stay inside the room).
        walls = [i for i in range(k) if length[i] >= 2.0 * (t + depth + 0.3) + run]
        if not walls:
            depth, run = 0.6, 0.6
            walls = [int(np.argmax(length))]
        i = draw(st.sampled_from(walls))
        start = t + depth + 0.3 + draw(st.floats(0.0, 1.0)) * (length[i] - 2.0 * (t + depth + 0.3) - run)
        at = {"flush": t, "outline": 0.0, "past": -0.3}[draw(st.sampled_from(["flush", "outline", "past"]))]
        p0 = outline[i] + tangent[i] * start
        corners = [
            p0 + inward[i] * at,
            p0 + tangent[i] * run + inward[i] * at,
            p0 + tangent[i] * run + inward[i] * (t + depth),
            p0 + inward[i] * (t + depth),
        ]
        y = y0 + t / 2 if slab == 0 else y0 + h - t / 2
        quads.append(np.array([[p[0], y, p[1]] for p in corners]))
        mid = p0 + tangent[i] * run / 2 + inward[i] * (t + depth / 2)
        rays.append(
            (
                np.array([mid[0], y - 1.0 if slab == 0 else y + 1.0, mid[1]]),
                np.array([0.0, 1.0 if slab == 0 else -1.0, 0.0]),
            )
        )
    # Doorways standing on the floor's top in the first wall (a hatch may be flush with it too).
    if draw(st.booleans()) and length[0] >= 3.0:
        a = float(draw(st.floats(0.0, 1.0))) * (length[0] - 2.0 * t - 1.2) + t + 0.1
        p, q = outline[0] + tangent[0] * a, outline[0] + tangent[0] * (a + 0.9)
        top = y0 + t + 2.1
        quads.append(np.array([[p[0], y0 + t, p[1]], [p[0], top, p[1]], [q[0], top, q[1]], [q[0], y0 + t, q[1]]]))
    return room, quads, rays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bevelled_rooms_with_flush_hatches(), st.sampled_from([0.0, 17.0, 33.0, -151.3]))
@example(  # a stair opening against the wall x = 0 of a room with four chamfered corners: took the booleans
    (
        Room(bevelled(10.0, 8.0, (1.0, 1.0, 1.0, 1.0)), 0.0, 3.0, 0.2, "wall"),
        [np.array([[0.2, 2.95, 2.0], [1.4, 2.95, 2.0], [1.4, 2.95, 5.0], [0.2, 2.95, 5.0]])],
        [(np.array([0.8, 4.0, 3.5]), np.array([0.0, -1.0, 0.0]))],
    ),
    0.0,
)
def test_hatches_against_a_wall_of_a_bevelled_room_take_the_panel_path(case: Case, degrees: float) -> None:
    # Before, every such room took the booleans: flush hatches were built against walls along the axes only.
    assert_flush_openings_open(*_turned(case, degrees), reach=1.0)


def _to_mm(case: Case) -> Case:
    room, quads, rays = case
    return (
        Room(np.round(room.floor, 3), room.y, room.height, room.wall_thickness, room.material),
        [np.round(q, 3) for q in quads],
        rays,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bevelled_rooms_with_flush_hatches(), st.sampled_from([17.0, 33.0, 61.0, -151.3]))
@example(  # a floor hatch against the far wall, 6 m out: its side and the wall a rounding off parallel, their lines
    # compared where they cross the origin's normal (2 mm apart there, 0.2 mm at the hatch) took the booleans
    (
        Room(bevelled(6.0, 5.0, (1.5, 0.0, 0.0, 0.0)), 0.0, 3.0, 0.2, "wall"),
        [np.array([[4.9, 0.1, 4.8], [4.3, 0.1, 4.8], [4.3, 0.1, 4.2], [4.9, 0.1, 4.2]])],
        [(np.array([4.6, -0.9, 4.5]), np.array([0.0, 1.0, 0.0]))],
    ),
    17.0,
)
def test_hatches_against_a_wall_of_a_turned_bevelled_room_written_to_millimetres(case: Case, degrees: float) -> None:
    # Rounded, the hatch drawn to the wall lies a fraction of a millimetre off it (and off parallel): taken as drawn to
    # it (before, the booleans, or strips of slab 0.2-0.4 mm wide).
    assert_rounded_openings_open(*_to_mm(_turned(case, degrees)))


def _bevelled_storeys(degrees: float) -> Level:
    """Two storeys of a room with chamfered corners, a stair opening in the floor between them against a wall."""
    t = 0.2
    ring = [tuple(p) for p in bevelled(10.0, 8.0, (1.0, 1.0, 1.0, 1.0)).tolist()]
    cells = [
        poly("hall", ring, 0.0, 3.0, t),
        poly("up", ring, 3.0, 3.0, t),
        poly("side", [(10, 2), (14, 2), (14, 6), (10, 6)], 0.0, 3.0, t),
    ]
    portals = [hatch("hall", "up", 3.0, 0.2, 1.4, 2.0, 5.0), x_door("hall", "side", 10.0, 3.0, 4.0, t, 2.3)]
    return turned_by(scene("bevel", cells, portals), degrees) if degrees else scene("bevel", cells, portals)


def test_a_bevelled_level_with_a_stair_opening_has_no_boolean_room() -> None:
    from tests.test_awkward_levels import resolve

    for level in (_bevelled_storeys(0.0), _bevelled_storeys(17.0), to_mm(_bevelled_storeys(33.0))):
        built = compile_scene(json.dumps(level).encode(), BuildOptions(), resolve_asset=resolve)
        assert built.meta["stats"]["booleanCells"] == 0, level["sceneId"]
