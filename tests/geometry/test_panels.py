"""The panel fast path against the boolean path, on random rooms and openings: the same solid.

Openings are laid out so that the fast path must take every room (any number per wall, from the
slab's underside, on the floor's top face, windows, up to the ceiling, hatches in the slabs, L-shaped
outlines); the boolean build (``fast_paths=False``) is the reference. Same solid: watertight and
consistently wound, the same volume (up to what the boolean's 0.1 mm cutting margins take on top),
every opening open (a ray through its middle crosses no triangle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sceneforge.config import Limits
from sceneforge.generate import generate_doorway_wall
from sceneforge.geometry import generate_rooms, panels
from sceneforge.geometry.outline import orient2
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.model.ir import Room, Surface
from sceneforge.tolerances import WELD_EPS

from ..test_awkward_levels import resolve, stairwells
from .levels import heights
from .meshcheck import as_trimesh, box_room, closed, draw_box_frame, only_surface, ray_hits, scene

MARGIN = 10 * WELD_EPS  # how far the boolean's cutting prisms reach past each face


@st.composite
def rooms_with_openings(
    draw: st.DrawFn, shaped: bool = False
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box or L-shaped room, openings on its walls, maybe hatches; each opening with a ray through it.

    ``shaped``: some openings are not rectangles in their wall (trapezoids with slanted sides, doorways
    turned a degree or two as an export of a slightly rotated one gives), standing on or passing into
    the slabs, up to the ceiling or past it, some drawn past the wall's end at a convex corner."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    w = draw(st.integers(12, 32)) * 0.25
    d = draw(st.integers(12, 32)) * 0.25
    h = draw(st.sampled_from([2.6, 3.0, 3.2]))
    y0 = draw(st.sampled_from([0.0, 3.2, -1.5]))
    shape = draw(st.sampled_from(["box", "L"]))
    if shape == "box":
        outline = np.array([[0, 0], [w, 0], [w, d], [0, d]], float)
    else:
        cx, cz = w * draw(st.sampled_from([0.5, 0.6])), d * draw(st.sampled_from([0.5, 0.4]))
        outline = np.array([[0, 0], [w, 0], [w, cz], [cx, cz], [cx, d], [0, d]], float)
    room = Room(outline, y0, h, t, "wall")
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    k = outline.shape[0]
    bottoms = [y0, y0 + t, y0 + t + 0.9, y0 + 0.05]
    tops = [y0 + t + 2.1, y0 + h - t, y0 + h, y0 + t + 1.6]
    for e in range(k):
        p, q = outline[e], outline[(e + 1) % k]
        length = float(np.hypot(*(q - p)))
        tangent = (q - p) / length
        outward = np.array([tangent[1], -tangent[0]])
        # Slots 0.5 m wide with 0.25 m between them, clear of the corners by t + 0.3 m.
        usable = length - 2 * (t + 0.3)
        slots = int(usable // 0.75)
        for slot in range(slots):
            if not draw(st.booleans()):
                continue
            a = t + 0.3 + slot * 0.75
            b = a + 0.5
            c = draw(st.sampled_from(bottoms))
            top = draw(st.sampled_from(tops))
            if top - c < 0.3:
                continue
            depth = draw(st.sampled_from([0.0, -t / 2, -t]))
            base = p + outward * depth
            s_y = [(a, c), (a, top), (b, top), (b, c)]
            if shaped and draw(st.booleans()):
                # Past the ends of every other wall, so that no two meet at a corner (a pillar: the
                # booleans'), and not at the L's reflex corner, its vertex 3 (the outline's, not the cavity's).
                convex = (e % 2 == 0, e % 2 == 0 and (e != 2 or shape == "box"))
                first, last = slot == 0 and convex[0], slot == slots - 1 and convex[1]
                s_y, a, b = _shaped_doorway(draw, s_y, first, last, length)
            corners = [(base + tangent * s, y) for s, y in s_y]
            quads.append(np.array([[x, y, z] for (x, z), y in corners]))
            mid = p + tangent * (a + b) / 2
            mid_y = (max(c, y0 + t) + min(top, y0 + h - t)) / 2
            rays.append(
                (np.array([mid[0] + outward[0], mid_y, mid[1] + outward[1]]), -np.array([outward[0], 0, outward[1]]))
            )
    # A hatch; in the L, in its corner arm (the cavity is concave around it).
    room_w, room_d = (w, d) if shape == "box" else (float(outline[3, 0]), float(outline[2, 1]))
    x0, z0 = t + 0.5, t + 0.5
    x1, z1 = min(x0 + 1.5, room_w - t - 0.5), min(z0 + 1.0, room_d - t - 0.5)
    if x1 > x0 + 0.2 and z1 > z0 + 0.2 and draw(st.booleans()):
        y = draw(st.sampled_from([y0, y0 + t, y0 + h - t / 2]))
        quads.append(np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]]))
        inside = y0 + h / 2
        rays.append(
            (
                np.array([(x0 + x1) / 2, y - 1.0 if y < inside else y + 1.0, (z0 + z1) / 2]),
                np.array([0, 1.0, 0]) if y < inside else np.array([0, -1.0, 0]),
            )
        )
    return room, quads, rays


def _shaped_doorway(
    draw: st.DrawFn, s_y: list[tuple[float, float]], first: bool, last: bool, length: float
) -> tuple[list[tuple[float, float]], float, float]:
    """The doorway ``s_y`` (corners in (s, y): [a, b] × [c, top]) as a trapezoid or turned by a degree or
    two about its sill's middle; the first (last) of its wall maybe drawn 0.3 m past the wall's start
    (end) as a trapezoid (``first`` / ``last``: that corner of the cavity is convex). Its corners and
    its new span [a, b]."""
    (a, c), (_, top), (b, _), _ = s_y
    flush = (first or last) and draw(st.booleans())
    if flush:
        a, b = (-0.3, b) if first else (a, length + 0.3)
    # (Turned and cut off at the corner, its sill could leave a sliver of the inner face on its own
    # past the notch, which splits the face: the booleans' shape.)
    if flush or draw(st.booleans()):
        lean = draw(st.sampled_from([(0.08, 0.08), (0.1, -0.05), (-0.06, 0.0), (0.0, 0.07)]))
        return [(a, c), (a + lean[0], top), (b - lean[1], top), (b, c)], a, b
    turn = np.deg2rad(draw(st.sampled_from([-2.0, -1.0, 1.0, 1.5, 2.0])))
    mid = (a + b) / 2
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    corners = [np.array([mid, c]) + rot @ np.array([s - mid, y - c]) for s, y in ((a, c), (a, top), (b, top), (b, c))]
    return [(float(s), float(y)) for s, y in corners], a, b


def panel_and_boolean(room: Room, quads: list[np.ndarray]) -> tuple[Surface, Any, Any, int, float]:
    """``room`` with ``quads`` cut by the panel path (which must take it) and by the boolean path: the
    panel surface, both as trimeshes, the boolean build's count of boolean rooms, and the spill (the
    boolean's prisms reach MARGIN past the faces they cut: at most that much more volume is taken)."""
    portals = [("r", "x", q) for q in quads]
    fast, reference = scene({"r": room}, portals), scene({"r": room}, portals)
    assert generate_rooms(fast) == 0  # every such room takes the panel path
    booleans = generate_rooms(reference, fast_paths=False)
    surface = only_surface(fast, "r")
    spill = sum(MARGIN * 2 * float(np.ptp(q, axis=0).sum()) * 4 for q in quads)
    return surface, as_trimesh(surface), as_trimesh(only_surface(reference, "r")), booleans, spill


def assert_flush_openings_open(
    room: Room, quads: list[np.ndarray], rays: list[tuple[np.ndarray, np.ndarray]], reach: float
) -> None:
    """The panel build of openings drawn to the walls: closed, the boolean path's solid up to float32
    rounding and the spill, no sliver, and each ray from outside through an opening unobstructed."""
    from .levels import heights

    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface)
    rounding = 1e-6 * max(1.0, boolean.volume)  # float32 positions: ~1e-7 relative per coordinate
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= min(5e-4, room.wall_thickness) - 1e-9
    for origin, direction in rays:
        assert ray_hits(surface, origin, direction, reach + room.wall_thickness) == 0, (origin, direction)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_openings())
def test_panels_build_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    room, quads, rays = case
    surface, mesh, boolean, booleans, spill = panel_and_boolean(room, quads)
    assert booleans == 1
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert boolean.is_watertight
    assert boolean.volume - 1e-6 <= mesh.volume <= boolean.volume + spill + 1e-6
    for origin, direction in rays:
        # From 1 m outside, through the slab (or wall) the opening pierces, 5 cm into the room: nothing in the way.
        assert ray_hits(surface, origin, direction, 1.05 + room.wall_thickness) == 0, (origin, direction)


def assert_the_boolean_solid_with_openings_open(
    room: Room, quads: list[np.ndarray], rays: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """The panel build of ``room`` with ``quads`` has no boolean (``panel_and_boolean`` asserts it), the
    boolean path's solid, closed and consistently wound, no sliver, and each ray of ``rays`` (through an
    opening) crosses no triangle."""
    from .levels import heights

    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface) and mesh.is_winding_consistent
    rounding = 1e-6 * max(1.0, boolean.volume)
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= 5e-4
    for origin, direction in rays:
        assert ray_hits(surface, origin, direction, 1.05 + room.wall_thickness) == 0, (origin, direction)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_openings(shaped=True))
def test_slanted_and_turned_doorways_take_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    """Openings that are not rectangles in their wall and reach its borders (trapezoid and turned doorways
    from the floor's underside or top, up to or past the ceiling, drawn past a wall's end) are notches
    of their own shape: no boolean (``panel_and_boolean`` asserts it), the boolean path's solid,
    closed, no sliver, every opening open."""
    assert_the_boolean_solid_with_openings_open(*case)


@st.composite
def rooms_with_shaped_windows(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box or L-shaped room whose walls hold windows of any convex quad shape (on an ellipse at
    random angles: trapezoids, diamonds, turned rectangles, kites), clear of the wall's ends, the
    floor's top and the ceiling's underside, beside rectangular doorways; a ray through each window."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    w = draw(st.integers(12, 32)) * 0.25
    d = draw(st.integers(12, 32)) * 0.25
    h = draw(st.sampled_from([2.6, 3.0, 3.2]))
    y0 = draw(st.sampled_from([0.0, 3.2, -1.5]))
    if draw(st.booleans()):
        outline = np.array([[0, 0], [w, 0], [w, d], [0, d]], float)
    else:
        cx, cz = w * 0.5, d * 0.5
        outline = np.array([[0, 0], [w, 0], [w, cz], [cx, cz], [cx, d], [0, d]], float)
    room = Room(outline, y0, h, t, "wall")
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    k = outline.shape[0]
    angle = st.floats(0.0, 2 * np.pi, allow_nan=False)
    for e in range(k):
        p, q = outline[e], outline[(e + 1) % k]
        length = float(np.hypot(*(q - p)))
        tangent = (q - p) / length
        outward = np.array([tangent[1], -tangent[0]])
        slots = int((length - 2 * (t + 0.3)) // 0.9)
        for slot in range(slots):
            kind = draw(st.sampled_from(["none", "window", "window", "door"]))
            a = t + 0.3 + slot * 0.9
            b = a + 0.7
            depth = draw(st.sampled_from([0.0, -t / 2, -t]))
            base = p + outward * depth
            if kind == "door":
                s_y = [(a, y0 + t), (a, y0 + t + 2.0), (b, y0 + t + 2.0), (b, y0 + t)]
            elif kind == "window":
                # Corners on an ellipse inside the slot, at four angles at least 0.3 rad apart.
                turns = sorted(draw(st.lists(angle, min_size=4, max_size=4)))
                if min(np.diff([*turns, turns[0] + 2 * np.pi])) < 0.3:
                    continue
                mid_s, mid_y = (a + b) / 2, y0 + t + 0.3 + 0.6
                s_y = [(mid_s + 0.34 * np.cos(v), mid_y + 0.55 * np.sin(v)) for v in turns]
                if draw(st.booleans()):
                    s_y = s_y[::-1]  # either winding
            else:
                continue
            corners = [(base + tangent * s, y) for s, y in s_y]
            quads.append(np.array([[x, y, z] for (x, z), y in corners]))
            mid = p + tangent * float(np.mean([s for s, _ in s_y]))
            mid_y = float(np.mean([y for _, y in s_y]))
            rays.append(
                (np.array([mid[0] + outward[0], mid_y, mid[1] + outward[1]]), -np.array([outward[0], 0, outward[1]]))
            )
    return room, quads, rays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_shaped_windows())
def test_windows_of_any_convex_shape_take_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    """Windows that are not rectangles in their wall are holes of their own shape in both faces, with
    a tunnel of one quad per side: the boolean path's solid, closed, no sliver, every window open."""
    assert_the_boolean_solid_with_openings_open(*case)


def test_a_window_given_twice_cuts_once_on_the_panel_path() -> None:
    """Two one-way portals on one diamond window (one each way, wound and started differently): the
    room keeps the panel path and has the boolean path's solid."""
    room = Room(np.array([[0, 0], [6, 0], [6, 5], [0, 5]], float), 0.0, 3.0, 0.2, "wall")
    diamond = np.array([[2.0, 1.5, 0.0], [2.5, 1.0, 0.0], [3.0, 1.5, 0.0], [2.5, 2.0, 0.0]])
    again = diamond[[2, 1, 0, 3]]  # the other winding, from another corner
    surface, mesh, boolean, _, _ = panel_and_boolean(room, [diamond, again])
    assert closed(surface)
    assert abs(mesh.volume - boolean.volume) <= 1e-6 * boolean.volume


def test_shaped_openings_the_panels_do_not_cover_are_left_to_the_booleans() -> None:
    """A diamond window overlapping a doorway's box, two trapezoid doorways overlapping, one whose corner
    lies 0.05 mm over the floor's top (a strip of face that thin, as for a rectangle) or a diamond with a
    corner in the inner face's corner take the boolean path, the fallback for shapes the panels do not
    cover; a trapezoid doorway standing on the floor, or from the floor up to the ceiling (it cuts the inner
    face in two columns, as a joined opening's cut), takes the panels."""
    room = Room(np.array([[0, 0], [6, 0], [6, 5], [0, 5]], float), 0.0, 3.0, 0.2, "wall")

    def on_wall(points: list[tuple[float, float]]) -> np.ndarray:
        return np.array([[x, y, 0.0] for x, y in points])

    diamond = on_wall([(2.0, 1.5), (2.5, 1.0), (3.0, 1.5), (2.5, 2.0)])
    trapezoid_door = on_wall([(1.0, 0.2), (2.0, 0.2), (1.8, 2.0), (1.2, 2.0)])
    overlapping = on_wall([(1.7, 0.2), (2.7, 0.2), (2.5, 2.0), (1.9, 2.0)])
    full_height = on_wall([(1.0, 0.0), (2.0, 0.0), (1.8, 3.0), (1.2, 3.0)])
    hair_above = on_wall([(1.0, 0.20005), (2.0, 0.3), (1.8, 2.0), (1.2, 2.0)])
    in_corner = on_wall([(0.2, 0.2), (0.7, 0.5), (1.2, 1.0), (0.7, 1.5)])
    door_beside = on_wall([(2.9, 0.2), (2.9, 2.2), (3.8, 2.2), (3.8, 0.2)])
    door_clear = on_wall([(3.5, 0.2), (3.5, 2.2), (4.5, 2.2), (4.5, 0.2)])
    for quads, booleans in (
        ([diamond, door_clear], 0),
        ([trapezoid_door, door_clear], 0),
        ([full_height], 0),
        ([diamond, door_beside], 1),
        ([trapezoid_door, overlapping], 1),
        ([hair_above], 1),
        ([in_corner], 1),
    ):
        ir = scene({"r": room}, [("r", "x", q) for q in quads])
        assert generate_rooms(ir) == booleans, quads
        assert closed(only_surface(ir, "r"))


def _two_rooms(quad: list[float]) -> bytes:
    """Rooms a ([0, 4] × [0, 3] × [0, 4]) and b (x from 4 to 8) with walls 0.1 m thick and the portal
    ``quad`` between them, in their shared wall x = 4."""
    cells = [
        {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4], "wallThickness": 0.1}},
        {"cellId": "b", "room": {"min": [4, 0, 0], "max": [8, 3, 4], "wallThickness": 0.1}},
    ]
    return json.dumps({"sceneId": "two", "cells": cells, "portals": [{"from": "a", "to": "b", "quad": quad}]}).encode()


def _turned_doorway(degrees: float, y: float) -> list[float]:
    """A doorway 1 m wide and 2 m high in the wall x = 4, its sill's middle at (z 1.5, ``y``), turned in
    the wall by ``degrees`` about it (an export of a slightly rotated doorway)."""
    turn = np.deg2rad(degrees)
    quad = []
    for dz, dy in ((-0.5, 0.0), (-0.5, 2.0), (0.5, 2.0), (0.5, 0.0)):
        quad += [4.0, y + dz * np.sin(turn) + dy * np.cos(turn), 1.5 + dz * np.cos(turn) - dy * np.sin(turn)]
    return quad


@pytest.mark.parametrize(
    "quad",
    [
        [4, 0, 1, 4, 2, 1.2, 4, 2, 1.8, 4, 0, 2],
        [4, 0.1, 1, 4, 2, 1.2, 4, 2, 1.8, 4, 0.1, 2],
        [4, 1, 1, 4, 3, 1.2, 4, 3, 1.8, 4, 1, 2],
        [4, -0.3, 1, 4, 2, 1.2, 4, 2, 1.8, 4, -0.3, 2],
        _turned_doorway(1.5, 0.0),
        _turned_doorway(-2.0, 0.1),
        [4, 0.05, 1.5, 4, 0.6, 2.0, 4, 1.1, 1.5, 4, 0.6, 1.0],
        [4, 2.5, 1.5, 4, 2.95, 2.0, 4, 3.2, 1.5, 4, 2.95, 1.0],
        [4, 0.5, 3.0, 4, 2.2, 3.2, 4, 2.2, 4.3, 4, 0.5, 4.5],
        [4, 0, -0.2, 4, 2, 0.3, 4, 2, 1.0, 4, 0, 1.2],
        [4, 0.100004, 1.5, 4, 0.6, 2.0, 4, 1.1, 1.5, 4, 0.6, 1.0],
        [4, 2.4, 1.5, 4, 2.65, 2.0, 4, 2.899996, 1.5, 4, 2.65, 1.0],
        [4, 1.0, 0.100003, 4, 0.5, 0.6, 4, 1.0, 1.1, 4, 1.5, 0.6],
        [4, 0.3, -0.17, 4, 1.25, -2.14, 4, 2.2, -0.17, 4, 1.25, 1.79],
    ],
    ids=[
        "trapezoid-from-the-floor",
        "trapezoid-from-the-floor-top",
        "trapezoid-to-the-ceiling",
        "trapezoid-from-below-the-floor",
        "turned-from-the-floor",
        "turned-on-the-floor-top",
        "diamond-window-across-the-floor-top",
        "diamond-window-across-the-ceiling",
        "past-the-wall-end",
        "slanted-side-to-the-wall-end",
        "window-corner-4-um-over-the-floor-top",
        "window-corner-4-um-under-the-ceiling",
        "window-corner-3-um-from-the-cavity-corner",
        "diamond-past-the-wall-end",
    ],
)
def test_shaped_openings_reaching_a_border_take_the_panel_path(quad: list[float]) -> None:
    """A portal quad that is not a rectangle in its wall and reaches or crosses the floor's underside or
    top, the ceiling's underside or top, or a wall's end is a notch of its own shape (the opening clipped
    to each face, a tunnel quad per side, the slab's face in the inner plane clipped to it): both rooms
    of the build take the panel path, each the boolean path's solid, closed, with no sliver. So does a
    window whose corner lies within ``WELD_EPS`` of a border (put on it: the face's ring runs to that
    corner, around the window and back)."""
    from sceneforge.compile import BuildOptions, compile_scene

    from .levels import heights

    assert compile_scene(_two_rooms(quad), BuildOptions()).meta["stats"]["booleanCells"] == 0
    room = Room(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float), 0.0, 3.0, 0.1, "wall")
    surface, mesh, boolean, _, spill = panel_and_boolean(room, [np.array(quad, float).reshape(4, 3)])
    assert closed(surface) and mesh.is_winding_consistent
    assert boolean.volume - 1e-6 <= mesh.volume <= boolean.volume + spill + 1e-6
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= 5e-4


def test_a_notch_under_doorways_on_the_floor_top_is_closed() -> None:
    """A flat notch in the slab's band (under the floor's top) below two doorways, one standing 1 mm over the
    floor's top, one on it up to the ceiling: the panels left cracks between their faces (each pair alone was
    closed); a notch must now keep clear of the other openings along the wall. Both rooms are closed, with
    the boolean path's solid."""
    rooms = {"a": box_room(4, 8, 0, 6, height=20.0), "b": box_room(8, 12, 0, 6, height=20.0)}
    quads = [
        [8, 0.101, 2.2207, 8, 1.0948, 2.2207, 8, 1.0948, 2.777, 8, 0.101, 2.777],
        [8, 0.0, 2.1836, 8, 0.0446, 3.9951, 8, 0.0446, 5.5, 8, 0.0, 5.8],
        [8, 0.1, 1.147, 8, 19.9, 1.147, 8, 19.9, 1.175, 8, 0.1, 1.175],
    ]
    built, reference = (scene(rooms, [("a", "b", np.array(q, float)) for q in quads]) for _ in range(2))
    generate_rooms(built)
    generate_rooms(reference, fast_paths=False)
    for cell in "ab":
        surface = only_surface(built, cell)
        assert closed(surface), cell
        assert as_trimesh(surface).volume == pytest.approx(as_trimesh(only_surface(reference, cell)).volume, abs=1e-5)


def test_an_l_shaped_room_without_openings_is_closed_with_the_extruded_volume() -> None:
    outline = np.array([[0, 0], [6, 0], [6, 2], [2, 2], [2, 5], [0, 5]], float)
    ir = scene({"r": Room(outline, 0.0, 3.0, 0.1, "wall")}, [])
    assert generate_rooms(ir) == 0
    mesh = as_trimesh(only_surface(ir, "r"))
    inner = 5.8 * 1.8 + 1.8 * 3.0  # the cavity's L: 0.1 m in from every edge
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx((6 * 2 + 2 * 3) * 3.0 - inner * 2.8)


@pytest.mark.parametrize("winding", [1, -1], ids=["counter-clockwise", "clockwise"])
@pytest.mark.parametrize(
    "neck", [0.15, 0.2, 0.1, 0.5], ids=["narrower-than-two-walls", "two-walls", "one-wall", "wider"]
)
def test_a_neck_narrower_than_two_walls_is_left_to_the_booleans_and_closed(winding: int, neck: float) -> None:
    """Two rooms' worth of floor joined by a slot narrower than two walls: every inner edge kept its
    length and direction, so the panel path took the room, but the cavity's outline crossed itself in
    the slot and the shell it built was open. Such a room goes to the booleans (two cavities, closed)."""
    z0 = 1.9
    outline = [
        (0, 0),
        (4, 0),
        (4, z0),
        (6, z0),
        (6, 0),
        (10, 0),
        (10, 4),
        (6, 4),
        (6, z0 + neck),
        (4, z0 + neck),
        (4, 4),
        (0, 4),
    ]
    room = Room(np.array(outline[::winding], float), 0.0, 3.0, 0.1, "wall")
    ir = scene({"r": room}, [])
    assert generate_rooms(ir) == (1 if neck <= 0.2 else 0)
    surface = only_surface(ir, "r")
    assert closed(surface)
    reference = scene({"r": room}, [])
    generate_rooms(reference, fast_paths=False)
    assert as_trimesh(surface).volume == pytest.approx(as_trimesh(only_surface(reference, "r")).volume, rel=1e-6)


def _hatch_rooms(n: int) -> tuple[list[Room], np.ndarray, np.ndarray]:
    """``n`` box rooms in a row, each with a hatch through its floor slab and one through its ceiling."""
    rooms = [
        Room(np.array([[5.0 * i, 0.0], [5.0 * i + 4.0, 0.0], [5.0 * i + 4.0, 4.0], [5.0 * i, 4.0]]), 0.0, 3.0, 0.2, "w")
        for i in range(n)
    ]
    quads, owner = [], []
    for i in range(n):
        for y in (0.1, 2.9):
            x0 = 5.0 * i + 1.0
            quads.append([[x0, y, 1.0], [x0 + 1.0, y, 1.0], [x0 + 1.0, y, 2.0], [x0, y, 2.0]])
            owner.append(i)
    return rooms, np.array(quads, dtype=np.float64), np.array(owner, dtype=np.int64)


def _hatch_check_peak_bytes(n: int) -> int:
    import tracemalloc

    from sceneforge.geometry.panels.hatches import hatches
    from sceneforge.geometry.panels.walls import walls

    rooms, quads, owner = _hatch_rooms(n)
    w = walls(rooms)
    bad = ~w.ok
    tracemalloc.start()
    try:
        h = hatches(w, quads, owner, bad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert h.room.size == 2 * n and not bad.any()  # every hatch found, none clashes
    return peak


def test_the_hatch_clash_check_grows_with_the_hatches_not_their_square() -> None:
    # Hatches are compared within their (room, slab) only: 4x the rooms (and hatches) costs about 4x
    # the memory. Comparing every hatch of the scene with every other cost 16x (gigabytes at 10k).
    small, large = _hatch_check_peak_bytes(500), _hatch_check_peak_bytes(2000)
    assert large < 6 * small, (small, large)


def test_hatches_too_close_in_one_slab_send_only_their_room_to_the_boolean() -> None:
    from sceneforge.geometry.panels.hatches import hatches
    from sceneforge.geometry.panels.walls import walls

    rooms, quads, owner = _hatch_rooms(3)
    # Room 1 gets a second floor hatch meeting its first at a corner alone; room 2 one 0.05 mm beside its
    # ceiling hatch. (Hatches that meet along a side or overlap are one hatch: tests/geometry/test_joined_hatches.py.)
    extra = np.stack([quads[2] + [1.0, 0.0, 1.0], quads[5] + [0.0, 0.0, 1.00005]])
    w = walls(rooms)
    bad = ~w.ok
    hatches(w, np.concatenate([quads, extra]), np.concatenate([owner, [1, 2]]), bad)
    assert bad.tolist() == [False, True, True]
    # The same hatches more than GAP (0.1 mm) apart keep every room on the panel path.
    extra = np.stack([quads[2] + [1.01, 0.0, 0.0], quads[5] + [0.0, 0.0, 1.001]])
    bad = ~w.ok
    hatches(w, np.concatenate([quads, extra]), np.concatenate([owner, [1, 2]]), bad)
    assert not bad.any()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    faces=st.integers(1, 6),
    scale=st.sampled_from([1.0, 37.5, 4000.0]),
    block=st.sampled_from([0, 1, 2, 3, 8]),
)
def test_near_pairs_hold_every_point_on_an_edge(seed: int, faces: int, scale: float, block: int) -> None:
    # The T-junction check tests only the (edge, point) pairs _near_pairs gives: it must find
    # every pair the all-pairs test finds, on grid-aligned points (as on walls) and on random ones;
    # with ``block`` > 0, edges of more than two blocks' points searched by blocks where that is cheaper.
    from sceneforge.geometry.panels import mend

    with pytest.MonkeyPatch.context() as mp:
        if block:
            mp.setattr(mend, "_BLOCK", block)
            mp.setattr(mend, "_CROWDED", 2 * block)
        _check_near_pairs(seed, faces, scale)


def _check_near_pairs(seed: int, faces: int, scale: float) -> None:
    from sceneforge.geometry.panels.mend import _near_pairs, _on_segment

    rng = np.random.default_rng(seed)
    n_pts = rng.integers(3, 40, faces)
    p_face = np.repeat(np.arange(faces), n_pts)
    grid = rng.integers(0, 6, (p_face.size, 2)) * scale / 5
    points = np.where(rng.random((p_face.size, 1)) < 0.7, grid, rng.random((p_face.size, 2)) * scale)
    starts = np.concatenate([[0], np.cumsum(n_pts)])
    n_edges = rng.integers(1, 30, faces)
    e_face = np.repeat(np.arange(faces), n_edges)
    ends = starts[e_face][:, None] + (rng.random((e_face.size, 2)) * n_pts[e_face][:, None]).astype(np.int64)
    start, end = points[ends[:, 0]], points[ends[:, 1]]
    # Every edge of a face against every point of it.
    count = n_pts[e_face]
    all_edge = np.repeat(np.arange(e_face.size), count)
    all_point = starts[e_face].repeat(count) + np.arange(all_edge.size) - np.repeat(np.cumsum(count) - count, count)
    on_all, _ = _on_segment(end[all_edge] - start[all_edge], points[all_point] - start[all_edge])
    edge, point = _near_pairs(start, end, e_face, points, p_face)
    # Given where the edges' ends are among the points, the same pairs in the same order.
    edge_k, point_k = _near_pairs(start, end, e_face, points, p_face, (ends[:, 0], ends[:, 1]))
    assert np.array_equal(edge_k, edge) and np.array_equal(point_k, point)
    assert (p_face[point] == e_face[edge]).all()
    assert len(set(zip(edge.tolist(), point.tolist(), strict=True))) == edge.size  # no pair twice
    on, _ = _on_segment(end[edge] - start[edge], points[point] - start[edge])
    found = set(zip(edge[on].tolist(), point[on].tolist(), strict=True))
    assert found == set(zip(all_edge[on_all].tolist(), all_point[on_all].tolist(), strict=True))


def test_near_pairs_of_a_star_floor_stay_near_its_points() -> None:
    # A 4,096-point star (corners alternating on circles of 100 m and 200 m): a border edge runs
    # slanted across up to a fifth of the floor, and every point in its range along either axis
    # was a pair (1.9 million for 4,096 edges, 1.5 s a floor built). Only the points near each
    # edge are taken now: a few per point. Points put inside every seventh edge are all found.
    from sceneforge.geometry.panels.mend import _near_pairs, _on_segment

    n = 4096
    angle = 2 * np.pi * np.arange(n) / n + 0.1234  # turned: no two corners share a coordinate
    radius = np.where(np.arange(n) % 2 == 0, 100.0, 200.0)
    corners = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    a, b = np.arange(n), (np.arange(n) + 1) % n
    marked = np.arange(0, n, 7)
    inside = corners[marked] + (corners[b[marked]] - corners[marked]) * 0.375
    points = np.concatenate([corners, inside])
    zeros = np.zeros(points.shape[0], dtype=np.int64)
    edge, point = _near_pairs(corners[a], corners[b], zeros[:n], points, zeros, (a, b))
    assert edge.size <= 8 * points.shape[0]
    assert len(set(zip(edge.tolist(), point.tolist(), strict=True))) == edge.size  # no pair twice
    keep = (point != a[edge]) & (point != b[edge])
    edge, point = edge[keep], point[keep]
    on, _ = _on_segment(corners[b[edge]] - corners[a[edge]], points[point] - corners[a[edge]])
    assert sorted(zip(edge[on].tolist(), point[on].tolist(), strict=True)) == [
        (int(e), n + i) for i, e in enumerate(marked)
    ]


def _on_edges(points: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every point of a face against every edge of its triangles (m, 3, 2): (on (m, 3, n), along (m, 3, n))."""
    from sceneforge.geometry.panels.mend import _on_segment

    start, end = tri, tri[:, [1, 2, 0]]
    return _on_segment((end - start)[:, :, None, :], points[None, None, :, :] - start[:, :, None, :])


def _mend_one(points: np.ndarray, index: np.ndarray) -> np.ndarray:
    """One face mended the plain way: every point against every edge, a round at a time."""
    for _ in range(8):
        on, along = _on_edges(points, points[index])
        hit = on.any(axis=2)
        split = hit.any(axis=1)
        if not split.any():
            break
        rows = np.flatnonzero(split)
        edge = hit[rows].argmax(axis=1)
        order = np.argsort(np.where(on[rows, edge], along[rows, edge], np.inf), axis=1, kind="stable")
        count = on[rows, edge].sum(axis=1)
        corner = index[rows]
        extra = []
        for i in range(rows.size):
            chain = [corner[i, edge[i]], *order[i, : count[i]], corner[i, (edge[i] + 1) % 3]]
            extra += [[corner[i, (edge[i] + 2) % 3], chain[j], chain[j + 1]] for j in range(count[i] + 1)]
        index = np.concatenate([index[~split], np.array(extra, dtype=np.int64).reshape(-1, 3)])
    return index


def _face_with_points_on_edges(rng: np.random.Generator, per_edge: tuple[int, int, int]) -> np.ndarray:
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]) * rng.uniform(0.5, 50.0) + rng.uniform(-9, 9, 2)
    points = [corners]
    for e, k in enumerate(per_edge):
        t = np.sort(rng.choice(np.arange(1, 40), size=k, replace=False)) / 40.0
        points.append(corners[e] + t[:, None] * (corners[(e + 1) % 3] - corners[e]))
    return np.concatenate(points)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), per_edge=st.tuples(*[st.integers(0, 6)] * 3))
def test_mend_splits_every_t_junction_and_keeps_the_area(seed: int, per_edge: tuple[int, int, int]) -> None:
    # A triangle whose edges carry points (what earcut leaves when it drops collinear points):
    # after _mend_faces no point lies inside any triangle's edge, and the fan covers the same area.
    from sceneforge.geometry.panels.mend import _mend_faces

    rng = np.random.default_rng(seed)
    pts = _face_with_points_on_edges(rng, per_edge)
    zeros = np.zeros(pts.shape[0], dtype=np.int64)
    mended, face = _mend_faces(pts, np.array([[0, 1, 2]], dtype=np.int64), zeros[:1], zeros, 1)
    assert (face == 0).all()
    on, _ = _on_edges(pts, pts[mended])
    assert not on.any()

    def area2(p: np.ndarray) -> np.ndarray:  # twice the signed areas of triangles (..., 3, 2)
        u, v = p[..., 1, :] - p[..., 0, :], p[..., 2, :] - p[..., 0, :]
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]  # type: ignore[no-any-return]

    area, whole = area2(pts[mended]), area2(pts[:3])
    assert (area > 0).all() and np.isclose(area.sum(), whole, rtol=1e-12)
    assert mended.shape[0] == 1 + sum(per_edge)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    faces=st.lists(st.tuples(*[st.integers(0, 5)] * 3), min_size=1, max_size=6),
    splits=st.integers(0, 3),
)
def test_mend_faces_at_once_as_each_alone(seed: int, faces: list[tuple[int, int, int]], splits: int) -> None:
    # Many faces mended together give each face the triangles, in the order, that mending it alone
    # (every point against every edge) gives: also when a face starts as several triangles, some
    # of which share edges and some hold points of the others' edges (a second round).
    from sceneforge.geometry.panels.mend import _mend_faces

    rng = np.random.default_rng(seed)
    points, index, expected = [], [], []
    offset = 0
    for per_edge in faces:
        pts = _face_with_points_on_edges(rng, per_edge)
        tris = np.array([[0, 1, 2]], dtype=np.int64)
        for _ in range(splits):  # split a random triangle in two at a point inside one of its edges
            row = int(rng.integers(0, tris.shape[0]))
            on, _ = _on_edges(pts, pts[tris[row : row + 1]])
            edges, inside = np.nonzero(on[0])
            if edges.size == 0:
                continue
            k = int(rng.integers(0, edges.size))
            e, extra = int(edges[k]), int(inside[k])
            a, b, c = tris[row, e], tris[row, (e + 1) % 3], tris[row, (e + 2) % 3]
            tris = np.concatenate([np.delete(tris, row, axis=0), [[a, extra, c], [extra, b, c]]])
        expected.append(_mend_one(pts, tris) + offset)
        points.append(pts)
        index.append(tris + offset)
        offset += pts.shape[0]
    face = np.repeat(np.arange(len(faces)), [t.shape[0] for t in index])
    point_face = np.repeat(np.arange(len(faces)), [p.shape[0] for p in points])
    mended, mended_face = _mend_faces(np.concatenate(points), np.concatenate(index), face, point_face, len(faces))
    assert np.array_equal(mended_face, np.repeat(np.arange(len(faces)), [e.shape[0] for e in expected]))
    assert np.array_equal(mended, np.concatenate(expected))


def _ring_with_points(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, per_side: int) -> np.ndarray:
    """The rectangle [lo, hi] as a counter-clockwise ring with up to ``per_side`` points inside each side."""
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    ring = []
    for k in range(4):
        ring.append(corners[k : k + 1])
        t = np.sort(rng.choice(np.arange(1, 16), size=int(rng.integers(0, per_side + 1)), replace=False)) / 16.0
        ring.append(corners[k] + t[:, None] * (corners[(k + 1) % 4] - corners[k]))
    return np.concatenate(ring)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    holes=st.integers(0, 4),
    per_side=st.integers(0, 4),
    listed=st.sampled_from([0, None]),
)
def test_mend_of_earcut_faces_is_every_point_against_every_edge(
    seed: int, holes: int, per_side: int, listed: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faces as the panel path makes them (rectangles with collinear points on their sides, holes
    # in a row), earcut, then mended: the triangles, in order, that testing every point of the
    # face against every edge gives, though the edges inside the face are never searched — whether
    # the pairs tested are every (edge, point) pair of the face (_face_pairs, small faces) or those
    # _near_pairs finds (``listed`` 0: the listing is refused).
    import mapbox_earcut

    from sceneforge.geometry.panels import mend
    from sceneforge.geometry.panels.mend import _mend_faces

    if listed is not None:
        monkeypatch.setattr(mend, "_FACE_PAIRS", listed)

    rng = np.random.default_rng(seed)
    width = float(rng.uniform(2.0, 40.0))
    rings = [_ring_with_points(rng, np.array([0.0, 0.0]), np.array([width, 3.0]), per_side)]
    slots = np.sort(rng.choice(np.arange(8), size=holes, replace=False))
    for slot in slots.tolist():  # holes side by side, apart, clear of the border
        lo = np.array([(slot + 0.2) * width / 8, rng.uniform(0.2, 1.0)])
        size = np.array([0.5 * width / 8, rng.uniform(0.3, 1.5)])
        rings.append(_ring_with_points(rng, lo, lo + size, per_side)[::-1])
    pts = np.concatenate(rings)
    ends = np.cumsum([r.shape[0] for r in rings]).astype(np.uint32)
    tris = mapbox_earcut.triangulate_float64(pts, ends).astype(np.int64).reshape(-1, 3)
    face, point_face = np.zeros(tris.shape[0], dtype=np.int64), np.zeros(pts.shape[0], dtype=np.int64)
    mended, _ = _mend_faces(pts, tris, face, point_face, 1)
    assert np.array_equal(mended, _mend_one(pts, tris))
    assert not _on_edges(pts, pts[mended])[0].any()


def test_face_pairs_are_every_edge_and_point_of_one_face_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from sceneforge.geometry.panels import mend

    edge_face = np.array([2, 0, 2, 3, 0])
    point_face = np.array([0, 0, 0, 2, 3, 3])
    edge, point = mend._face_pairs(edge_face, point_face, 4)
    assert edge is not None and point is not None
    pairs = set(zip(edge.tolist(), point.tolist(), strict=True))
    expected = {(e, q) for e, f in enumerate(edge_face.tolist()) for q, g in enumerate(point_face.tolist()) if f == g}
    assert pairs == expected and len(pairs) == edge.size and (np.diff(edge) >= 0).all()
    monkeypatch.setattr(mend, "_FACE_PAIRS", len(expected) - 1)
    assert mend._face_pairs(edge_face, point_face, 4) == (None, None)


def test_mend_searches_only_the_edges_a_point_may_be_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    # A star-shaped floor of whole-metre points: earcut's diagonals run across it past thousands
    # of points, but every one is shared by two triangles, so no point can be inside it. Only
    # the border's edges are searched (the search had cost seconds a floor).
    import math

    import mapbox_earcut

    from sceneforge.geometry.panels import mend

    k = 512
    angle = 2 * math.pi * np.arange(k) / k
    radius = np.where(np.arange(k) % 2 == 0, 700.0, 500.0)
    pts = np.round(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
    pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
    tris = mapbox_earcut.triangulate_float64(pts, np.array([pts.shape[0]], np.uint32)).astype(np.int64).reshape(-1, 3)
    searched = []
    near_pairs = mend._near_pairs

    def counted(start: np.ndarray, *args: Any) -> Any:
        searched.append(start.shape[0])
        return near_pairs(start, *args)

    monkeypatch.setattr(mend, "_near_pairs", counted)
    zeros = np.zeros(pts.shape[0], dtype=np.int64)
    mended, _ = mend._mend_faces(pts, tris, zeros[: tris.shape[0]], zeros, 1)
    assert not _on_edges(pts, pts[mended])[0].any()
    border = pts.shape[0]  # a ring of n points has n edges; earcut's triangles have 3(n - 2)
    assert searched[0] <= border < 3 * tris.shape[0] // 2


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, -0.0]), min_size=6, max_size=6), min_size=1, max_size=20
    )
)
def test_cross_is_numpys_bit_for_bit(rows: list[list[float]]) -> None:
    # Triangles are wound by the sign of this cross product: it must be np.cross's, to the bit.
    from sceneforge.geometry.panels.faces import _cross

    ab = np.array(rows)
    assert _cross(ab[:, :3], ab[:, 3:]).tobytes() == np.cross(ab[:, :3], ab[:, 3:]).tobytes()


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    kinds=st.lists(
        st.lists(st.sampled_from(["bottom", "top", "hole", "left", "right", "corner", "wide", "tall"]), max_size=6),
        min_size=1,
        max_size=6,
    ),
    points=st.integers(0, 6),
)
def test_one_ring_faces_are_wall_polygons_rings(seed: int, kinds: list[list[str]], points: int) -> None:
    # Faces that are one ring get their rings all at once: the same points, in the same order, with the
    # same ring ends as one face at a time; the others (cut into columns or rows, two openings in one
    # corner) are left to wall_polygons. Places on a coarse grid: openings' sides, heights and the ends'
    # points meet and tie.
    from sceneforge.geometry.panels.wall_faces import _one_ring_faces, wall_polygons

    rng = np.random.default_rng(seed)
    n = len(kinds)
    u0 = rng.integers(-20, 20, n) / 4
    u1 = u0 + rng.integers(8, 80, n) / 4
    v0 = rng.integers(-12, 12, n) / 4
    v1 = v0 + rng.integers(8, 16, n) / 4
    chosen = rng.random(n) < 0.8
    faces: list[list[list[float]]] = []
    for e, face in enumerate(kinds):
        us, vs = np.arange(u0[e], u1[e] + 0.125, 0.25), np.arange(v0[e], v1[e] + 0.125, 0.25)
        mine = []
        for kind in face:
            a, b = np.sort(rng.choice(us[1:-1], 2, replace=False))
            c, d = np.sort(rng.choice(vs[1:-1], 2, replace=False))
            touch = rng.integers(0, 2, 2) if kind == "corner" else [kind == "left", kind == "right"]
            a = u0[e] if touch[0] or kind == "wide" else a
            b = u1[e] if (kind == "corner" and not touch[0]) or kind == "right" or kind == "wide" else b
            low = kind == "bottom" or kind == "tall" or (kind != "top" and rng.random() < 0.3)
            high = kind == "top" or kind == "tall" or (not low and rng.random() < 0.3)
            mine.append([float(a), float(b), float(v0[e] if low else c), float(v1[e] if high else d)])
        faces.append(sorted(mine, key=lambda h: h[0]))
    hole_edge = np.array([e for e, mine in enumerate(faces) for _ in mine], dtype=np.int64)
    holes = np.array([h for mine in faces for h in mine], dtype=np.float64).reshape(-1, 4)
    # Points on the ends: on the grid (some at the corners, at openings' heights, twice).
    side_edge = rng.integers(0, n, points * n)
    side_right = rng.random(side_edge.size) < 0.5
    side_v = v0[side_edge] + rng.integers(0, 9, side_edge.size) / 4
    done, rings = _one_ring_faces(u0, u1, v0, v1, chosen, hole_edge, holes, (side_edge, side_right, side_v))
    assert not (done & ~chosen).any()
    assert len(rings) == int(done.sum())
    for e in np.flatnonzero(chosen).tolist():
        mine = faces[e]
        at_left, at_right = [h[0] <= u0[e] for h in mine], [h[1] >= u1[e] for h in mine]
        at_bottom, at_top = [h[2] <= v0[e] for h in mine], [h[3] >= v1[e] for h in mine]
        sides = zip(at_left, at_right, at_bottom, at_top, strict=True)
        cut = any((lt and rt) or (bt and tp) for lt, rt, bt, tp in sides)
        shared = any(
            sum(x and y for x, y in zip(side, border, strict=True)) > 1
            for side in (at_left, at_right)
            for border in (at_bottom, at_top)
        )
        assert done[e] == (not cut and not shared)
    for e, (points_e, ends) in zip(np.flatnonzero(done).tolist(), rings, strict=True):
        on_end = [(s, r, v) for s, r, v in zip(side_edge.tolist(), side_right.tolist(), side_v.tolist(), strict=True)]
        ends_of = [sorted({v for s, r, v in on_end if s == e and r == right}) for right in (False, True)]
        ((expected, expected_ends),) = wall_polygons(u0[e], u1[e], v0[e], v1[e], faces[e], *ends_of)
        assert ends == expected_ends
        assert points_e.tobytes() == expected.tobytes()


OUTLINES = {
    "box": lambda w, d: [[0, 0], [w, 0], [w, d], [0, d]],
    "L": lambda w, d: [[0, 0], [w, 0], [w, d / 2], [w / 2, d / 2], [w / 2, d], [0, d]],
    # A 45° corner (obtuse on both sides) and a corner of 135° the other way.
    "chamfer": lambda w, d: [[0, 0], [w - 1, 0], [w, 1], [w, d], [0, d]],
    "U": lambda w, d: [[0, 0], [w, 0], [w, d], [2 * w / 3, d], [2 * w / 3, d / 2], [w / 3, d / 2], [w / 3, d], [0, d]],
}


@st.composite
def rooms_with_flush_openings(
    draw: st.DrawFn,
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Rooms whose openings run to the ends of their walls: drawn to the outline's corner or past it,
    flush with the cavity's corner, or as wide as the wall; at most one wall flush at each corner,
    or (open plan) every wall open end to end, at the same heights or each at its own."""
    t = draw(st.sampled_from([0.02, 0.1, 0.25]))
    w, d = draw(st.integers(16, 32)) * 0.25, draw(st.integers(16, 32)) * 0.25
    h, y0 = draw(st.sampled_from([2.6, 3.0])), draw(st.sampled_from([0.0, -1.5]))
    outline = np.array(OUTLINES[draw(st.sampled_from(sorted(OUTLINES)))](w, d), float)
    room = Room(outline, y0, h, t, "wall")
    k = outline.shape[0]
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    bottoms, tops = [y0, y0 + t, y0 + t + 0.9], [y0 + t + 2.1, y0 + h - t, y0 + h]
    # Open plan: every wall open end to end, at the same heights or each at its own, pillars left at
    # the corners (at a reflex corner the two jambs meet along its line, each with the other's heights).
    plan = draw(st.sampled_from(["walls", "same", "mixed"]))
    open_plan = plan != "walls"
    if plan == "same":
        bottoms, tops = [draw(st.sampled_from(bottoms))], [draw(st.sampled_from(tops))]
    for e in range(k):
        p, q = outline[e], outline[(e + 1) % k]
        length = float(np.hypot(*(q - p)))
        tangent, outward = (q - p) / length, np.array([(q - p)[1], -(q - p)[0]]) / length
        flush_ok = e % 2 == 0 and not (k % 2 == 1 and e == k - 1)  # never two walls flush at one corner
        kind = draw(st.sampled_from(["none", "start", "end", "both", "middle"] if flush_ok else ["none", "middle"]))
        if open_plan:
            kind = "both"
        if kind == "none" or length < 1.5:
            continue
        lo = {"start": draw(st.sampled_from([-0.3, 0.0, t / 2, t])), "both": 0.0}.get(kind, length / 2 - 0.4)
        hi = {"end": length - draw(st.sampled_from([-0.3, 0.0, t / 2, t])), "both": length}.get(kind, length / 2 + 0.4)
        if kind == "start":
            hi = min(length / 2, lo + 1.0)
        if kind == "end":
            lo = max(length / 2, hi - 1.0)
        c, top = draw(st.sampled_from(bottoms)), draw(st.sampled_from(tops))
        base = p + outward * draw(st.sampled_from([0.0, -t / 2]))
        corners = [base + tangent * s for s in (lo, lo, hi, hi)]
        quads.append(np.array([[x, y, z] for (x, z), y in zip(corners, (c, top, top, c), strict=True)]))
        mid = p + tangent * (max(lo, 0.0) + min(hi, length)) / 2
        mid_y = (max(c, y0 + t) + min(top, y0 + h - t)) / 2
        rays.append(
            (np.array([mid[0] + outward[0], mid_y, mid[1] + outward[1]]), -np.array([outward[0], 0, outward[1]]))
        )
    return room, quads, rays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_flush_openings())
def test_openings_flush_with_wall_ends_take_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    # A doorway drawn to its wall's end is cut across the room's inside only (it stops at the wall
    # across): the panels build it without a boolean, the same solid as the boolean path, no sliver.
    room, quads, rays = case
    assert_flush_openings_open(room, quads, rays, reach=1.05)


@st.composite
def rooms_with_flush_hatches(
    draw: st.DrawFn,
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Box rooms with a floor and/or ceiling hatch whose sides are drawn past the outline, on it, flush
    with the cavity's walls or clear of them (a stairwell against a wall, an atrium as large as the
    room), and doorways standing on the floor's top face or passing through its slab, beside, under or across the
    end of a flush side."""
    t = draw(st.sampled_from([0.02, 0.1, 0.25]))
    w, d = draw(st.integers(12, 24)) * 0.25, draw(st.integers(12, 24)) * 0.25
    h, y0 = draw(st.sampled_from([2.6, 3.0])), draw(st.sampled_from([0.0, -1.5]))
    room = Room(np.array([[0, 0], [w, 0], [w, d], [0, d]], float), y0, h, t, "wall")
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []

    def side(lo_wall: float, hi_wall: float, low: bool) -> float:
        kind = draw(st.sampled_from(["past", "outline", "flush", "clear"]))
        inset = {"past": -0.3, "outline": 0.0, "flush": t, "clear": t + 0.4}[kind]
        return lo_wall + inset if low else hi_wall - inset

    ends: list[float] = []  # where hatches flush with the wall x = w begin and end along it
    for slab in draw(st.sampled_from([[0], [1], [0, 1]])):
        x0, x1 = side(0.0, w, True), side(0.0, w, False)
        z0, z1 = side(0.0, d, True), side(0.0, d, False)
        if x1 >= w - t:
            ends += [max(z0, t), min(z1, d - t)]
        y = y0 + t / 2 if slab == 0 else y0 + h - t / 2
        quads.append(np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]]))
        mid = np.array([(max(x0, t) + min(x1, w - t)) / 2, 0.0, (max(z0, t) + min(z1, d - t)) / 2])
        down = slab == 0
        mid[1] = y - 1.0 if down else y + 1.0
        rays.append((mid, np.array([0, 1.0 if down else -1.0, 0])))
    # A doorway standing on the floor's top face in the wall x = w, beside a hatch, over it, or over an end
    # of one flush with that wall (a doorway beside a stairwell drawn against its wall), up to the
    # ceiling's underside or not: its sill (lintel) meets the slab's face up to the hatch's end and the
    # hatch's tunnel from there.
    across = [e - f for e in ends for f in (0.4, 0.79) if e - f >= t and e - f + 0.8 <= d - t]
    a = draw(st.sampled_from([t, 0.5, d / 2 - 0.4, *across]))
    top = y0 + draw(st.sampled_from([t + 2.0, h - t]))
    # Or from the floor's underside (a corridor's floor, the room's slab's underside): through the slab beside
    # the hatch, under its side, past its end.
    sill = y0 + draw(st.sampled_from([t, 0.0]))
    if draw(st.booleans()):
        quads.append(np.array([[w, sill, a], [w, top, a], [w, top, a + 0.8], [w, sill, a + 0.8]]))
    return room, quads, rays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_flush_hatches())
def test_hatches_against_the_walls_take_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    # A hatch drawn to or past the walls opens the cavity's floor (ceiling) up to the walls, not their
    # footprints: the panels build it, closed, the boolean path's solid (which clips it the same way).
    room, quads, rays = case
    assert_flush_openings_open(room, quads, rays, reach=1.0)


@pytest.mark.parametrize("skew", [0.0, 5e-4, 0.05])
def test_a_stair_well_off_square_beside_a_hatch_flush_with_the_walls_is_built_closed(skew: float) -> None:
    # A box room's slab faces beside a hatch flush with its walls are the cavity's rectangle minus the hatches'
    # boxes: a stair well whose side leans (by 0.5 mm or 5 cm over 2.2 m) had its tunnel follow the side while
    # the slab faces ran round its box, a crack the unchecked shell kept. A rectangle is built by the panels.
    room = Room(np.array([[0, 0], [15, 0], [15, 10], [0, 10]], float), 0.0, 3.5, 0.2, "wall")
    atrium = np.array([[5, 3.5, -0.5], [5, 3.5, 10.5], [15.5, 3.5, 10.5], [15.5, 3.5, -0.5]], float)
    well = np.array([[0.8, 3.5, 0.8], [0.8 + skew, 3.5, 3.0], [2.0, 3.5, 3.0], [2.0, 3.5, 0.8]], float)
    ir = scene({"r": room}, [("r", "x", atrium), ("r", "x", well)])
    booleans = generate_rooms(ir)
    assert closed(only_surface(ir, "r"))
    assert booleans == (skew > 0.0)


def _turned_to_millimetres(
    room: Room, quads: list[np.ndarray], rays: list[tuple[np.ndarray, np.ndarray]], degrees: float
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """``room``, its quads and rays turned by ``degrees`` about (2, _, 1) m and written to millimetres, as a CAD or
    Blender export of a turned plan gives: corners a fraction of a millimetre off square, hatches' sides off
    parallel to the walls and off the cavity's lines by as much (the rays only turned)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))

    def turn(p: np.ndarray) -> np.ndarray:
        out = np.array(p, dtype=float)
        x, z = out[..., 0] - 2.0, out[..., -1] - 1.0
        out[..., 0], out[..., -1] = 2.0 + c * x - s * z, 1.0 + s * x + c * z
        return out

    floor = np.round(turn(room.floor), 3)
    turned_rays = [(turn(o), turn(o + d) - turn(o)) for o, d in rays]
    return (
        Room(floor, room.y, room.height, room.wall_thickness, room.material),
        [np.round(turn(q), 3) for q in quads],
        turned_rays,
    )


def _box_case(
    w: float, d: float, t: float, y0: float, h: float, quads: list[list[list[float]]], ray: tuple[list[float], float]
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A case of :func:`rooms_with_flush_hatches` written out: a ``w`` × ``d`` box room, its quads, one ray."""
    room = Room(np.array([[0, 0], [w, 0], [w, d], [0, d]], float), y0, h, t, "wall")
    return room, [np.array(q, float) for q in quads], [(np.array(ray[0]), np.array([0.0, ray[1], 0.0]))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_flush_hatches(), st.floats(1.0, 359.0).filter(lambda a: abs(a % 90.0 - 45.0) < 44.0))
# A hatch drawn to a wall 0.2 mm inside it once rounded (the panels built the strip of slab between: 0.16 mm).
@example(
    _box_case(
        4.5, 3.5, 0.02, -1.5, 2.6,
        [[[0.42, 1.09, 0.42], [0.42, 1.09, 3.08], [4.48, 1.09, 3.08], [4.48, 1.09, 0.42]],
         [[4.5, -1.48, 0.02], [4.5, 0.52, 0.02], [4.5, 0.52, 0.82], [4.5, -1.48, 0.82]]],
        ([2.45, 2.09, 1.75], -1.0),
    ),
    186.3826035403575,
)  # fmt: skip
# A hatch's side and a doorway's jamb drawn on one line, 0.05 mm apart once rounded.
@example(
    _box_case(
        3.0, 3.0, 0.1, 0.0, 2.6,
        [[[0.5, 0.05, 0.5], [0.5, 0.05, 3.0], [3.0, 0.05, 3.0], [3.0, 0.05, 0.5]],
         [[3.0, 0.1, 0.5], [3.0, 2.5, 0.5], [3.0, 2.5, 1.3], [3.0, 0.1, 1.3]]],
        ([1.7, -0.95, 1.7], 1.0),
    ),
    278.32205337401615,
)  # fmt: skip
def test_hatches_against_the_walls_of_a_turned_plan_written_to_millimetres_take_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]], degrees: float
) -> None:
    # The rounding of an export is not a shape: the room is built as the rectangle it was drawn as, laid onto
    # the outline as written (closed, inside the outline's bounds), each hatch as the rectangle it was drawn
    # as (flush with the walls where it was drawn to them), the boolean solid of the rounded input to within
    # that rounding (its hatches' sides 1.5 mm at most off the drawn ones, the walls' inner faces 0.1 mm).
    from .levels import heights

    room, quads, rays = _turned_to_millimetres(*case, degrees)
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface) and mesh.is_winding_consistent
    hatch_sides = sum(2.0 * float(np.ptp(q[:, [0, 2]], axis=0).sum()) for q in quads if np.ptp(q[:, 1]) == 0.0)
    perimeter = float(np.linalg.norm(np.roll(room.floor, -1, axis=0) - room.floor, axis=1).sum())
    rounding = 1.5e-3 * room.wall_thickness * hatch_sides + 1e-4 * perimeter * room.height
    assert abs(mesh.volume - boolean.volume) <= spill + rounding
    positions = surface.positions.astype(np.float64)
    lo, hi = room.floor.min(axis=0), room.floor.max(axis=0)
    assert (positions[:, [0, 2]] >= lo - 1e-6).all() and (positions[:, [0, 2]] <= hi + 1e-6).all()
    tri = positions[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= min(5e-4, room.wall_thickness) - 1e-9
    for origin, direction in rays:
        assert ray_hits(surface, origin, direction, 1.0 + room.wall_thickness) == 0, (origin, direction)


@pytest.mark.parametrize(
    ("door", "hatch_y", "hatch_x"),
    [
        ((3.5, 4.5, 0.1, 2.2), 0.0, (4.0, 9.9)),  # over the stair opening's near end
        ((9.0, 9.6, 0.1, 2.2), 0.0, (4.0, 9.3)),  # over its far end
        ((3.5, 9.5, 0.1, 2.2), 0.0, (4.0, 9.0)),  # wider than the opening: over both ends
        ((3.5, 4.5, 0.1, 2.9), 3.0, (4.0, 9.9)),  # up to the ceiling's underside, over a ceiling hatch's end
    ],
)
def test_a_doorway_over_the_end_of_a_stair_opening_against_its_wall_takes_the_panel_path(
    door: tuple[float, float, float, float], hatch_y: float, hatch_x: tuple[float, float]
) -> None:
    # A hotel corridor 2.2 m wide (walls 0.1 m) with a stair opening in its floor (ceiling) across its whole
    # width, and a room's doorway standing on the floor beside it, partly over the opening: the doorway's
    # sill (lintel) meets the floor's top face up to the opening and the opening's tunnel past it. Such rooms
    # took the boolean path (a hotel level's 60 m corridor so built kept triangles 0.09 mm high).
    room = box_room(0.0, 10.0, 0.0, 2.2)
    a, b, c, d = door
    doorway = np.array([[b, c, 0.0], [b, d, 0.0], [a, d, 0.0], [a, c, 0.0]])
    x0, x1 = hatch_x
    y = hatch_y + (0.05 if hatch_y == 0.0 else -0.05)
    hatch = np.array([[x0, y, 0.1], [x0, y, 2.1], [x1, y, 2.1], [x1, y, 0.1]])
    rays = [(np.array([(max(a, x0) + min(b, x1)) / 2, 1.2, -1.0]), np.array([0.0, 0.0, 1.0]))]
    assert_flush_openings_open(room, [doorway, hatch], rays, reach=1.05)


@pytest.mark.parametrize(
    ("openings", "hatches"),
    [
        ([(2.0, 6.0, 1.2, 3.5)], [(3.45, (-0.5, 8.5, -0.5, 8.5))]),  # a balcony opening up to the storey's top
        ([(1.0, 3.0, 1.2, 3.5), (4.0, 6.0, 0.5, 3.5)], [(3.45, (-0.5, 8.5, -0.5, 8.5))]),
        ([(2.0, 3.0, 0.0, 2.2)], [(0.05, (-0.5, 8.5, -0.5, 8.5))]),  # a doorway from the floor's underside
        ([(2.0, 6.0, 1.2, 3.5)], [(3.45, (1.0, 7.0, 0.1, 4.0))]),  # a stair opening against that wall only
        ([(2.0, 6.0, 1.2, 3.5), (6.5, 7.5, 0.0, 2.1)], [(3.45, (-1, 9, -1, 9)), (0.05, (-1, 9, -1, 9))]),
        ([(0.0, 8.0, 1.2, 3.5)], [(3.45, (-0.5, 8.5, -0.5, 8.5))]),  # from wall to wall
        ([(0.0, 5.0, 1.2, 3.5)], [(3.45, (-0.5, 8.5, -0.5, 8.5))]),  # flush with one corner
        ([(2.0, 6.0, 1.2, 3.5)], [(3.45, (2.0, 7.0, -0.5, 4.0))]),  # a jamb flush with the hatch's end
        # Running on past the hatch's side: the slab left beside the hatch gets its face in the inner plane there.
        ([(2.0, 6.0, 0.0, 2.2)], [(0.05, (3.0, 7.0, -0.5, 4.0))]),  # a doorway from the floor's underside
        ([(4.0, 7.5, 0.0, 2.2)], [(0.05, (3.0, 7.0, -0.5, 4.0))]),  # past the other end
        ([(1.0, 7.5, 0.0, 2.2)], [(0.05, (3.0, 7.0, -0.5, 4.0))]),  # past both
        ([(0.0, 5.0, 0.0, 2.2)], [(0.05, (3.0, 7.0, -0.5, 4.0))]),  # from the cavity's corner
        ([(2.0, 6.0, 1.2, 3.5)], [(3.45, (3.0, 7.0, -0.5, 4.0))]),  # a balcony opening under a ceiling hatch
        ([(1.0, 7.5, 0.0, 2.2)], [(0.05, (2.0, 3.0, -0.5, 4.0)), (0.05, (5.0, 6.0, -0.5, 4.0))]),  # over two
    ],
)
def test_an_opening_through_a_slab_a_hatch_takes_beside_its_wall_takes_the_panel_path(
    openings: list[tuple[float, float, float, float]], hatches: list[tuple[float, tuple[float, float, float, float]]]
) -> None:
    # An atrium's storey: a hatch as large as the room in its ceiling (floor), and balcony openings drawn up
    # to the top of the storey (doorways from the floor's underside) through the slab the hatch takes. Where
    # the hatch takes the slab the wall's inner plane is open from the opening up; the hatch's tunnel stops at
    # the opening's jambs. Such rooms took the boolean path.
    room = box_room(0.0, 8.0, 0.0, 8.0, height=3.5)
    quads = [np.array([[b, c, 0.0], [b, d, 0.0], [a, d, 0.0], [a, c, 0.0]]) for a, b, c, d in openings]
    quads += [np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]]) for y, (x0, x1, z0, z1) in hatches]
    rays = [
        (np.array([(a + b) / 2, (max(c, 0.1) + min(d, 3.4)) / 2, -1.0]), np.array([0.0, 0.0, 1.0]))
        for a, b, c, d in openings
    ]
    assert_flush_openings_open(room, quads, rays, reach=1.05)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), edges=st.integers(1, 4))
def test_near_same_edge_finds_every_pair_within_reach(seed: int, n: int, edges: int) -> None:
    # Openings that overlap or come within reach along a wall are tested pairwise (one inside another,
    # too close); the search must give exactly the pairs (i < j, one edge) with a[j] < b[i] + reach.
    from sceneforge.geometry.panels.openings import near_same_edge
    from sceneforge.geometry.panels.walls import GAP

    rng = np.random.default_rng(seed)
    edge = rng.integers(0, edges, n)
    a = np.where(rng.random(n) < 0.5, rng.integers(0, 8, n) * 0.5, rng.random(n) * 4.0)
    b = a + np.where(rng.random(n) < 0.5, rng.integers(1, 4, n) * 0.5, rng.random(n) * 2.0 + GAP)
    order = np.lexsort((b, a, edge))
    edge, a, b = edge[order], a[order], b[order]
    i, j = near_same_edge(edge, a, b, GAP)
    expected = {(p, q) for p in range(n) for q in range(p + 1, n) if edge[p] == edge[q] and a[q] < b[p] + GAP}
    assert len(i) == len(expected) and set(zip(i.tolist(), j.tolist(), strict=True)) == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 200), st.sampled_from([0.0, 0.5, 1.0]))
def test_cavity_check_of_a_large_outline_finds_what_every_pair_finds(seed: int, k: int, snap: float) -> None:
    """Outlines past _ALL_PAIRS_EDGES test only the edge pairs whose boxes meet: the same verdict as
    testing every pair, on random rings that cross themselves or not (points on a grid: touching and
    collinear edges too)."""
    from sceneforge.geometry.panels.walls import _cavity_simple, _edges_meet

    rng = np.random.default_rng(seed)
    angle = np.sort(rng.uniform(0, 2 * np.pi, k))
    radius = rng.uniform(1.0, 10.0, k) * (1.0 if rng.random() < 0.5 else rng.uniform(0.2, 1.0, k))
    ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    if rng.random() < 0.5:  # shuffled a little: crossings
        swap = rng.integers(0, k, 2)
        ring[swap] = ring[swap[::-1]]
    if snap:
        ring = np.round(ring / snap) * snap if snap else ring
    first = np.array([0, k])
    i, j = np.triu_indices(k, 2)
    keep = ~((i == 0) & (j == k - 1))
    brute = not _edges_meet(ring, i[keep], j[keep], first).any()
    assert bool(_cavity_simple(ring, first, np.array([0]))[0]) == brute


def _window_rooms(n: int) -> tuple[list[Room], np.ndarray, np.ndarray]:
    """``n`` box rooms in a row, each with a diamond window and a doorway in its front wall."""
    rooms = [
        Room(np.array([[5.0 * i, 0.0], [5.0 * i + 4.0, 0.0], [5.0 * i + 4.0, 4.0], [5.0 * i, 4.0]]), 0.0, 3.0, 0.2, "w")
        for i in range(n)
    ]
    quads, owner = [], []
    for i in range(n):
        x = 5.0 * i
        quads.append([[x + 1.0, 1.5, 0.0], [x + 1.5, 1.0, 0.0], [x + 2.0, 1.5, 0.0], [x + 1.5, 2.0, 0.0]])
        quads.append([[x + 2.5, 0.2, 0.0], [x + 2.5, 2.2, 0.0], [x + 3.3, 2.2, 0.0], [x + 3.3, 0.2, 0.0]])
        owner += [i, i]
    return rooms, np.array(quads, dtype=np.float64), np.array(owner, dtype=np.int64)


def _window_check_peak_bytes(n: int) -> int:
    import tracemalloc

    from sceneforge.geometry.panels.openings import openings
    from sceneforge.geometry.panels.walls import walls

    rooms, quads, owner = _window_rooms(n)
    w = walls(rooms)
    bad = ~w.ok
    tracemalloc.start()
    try:
        o, win, _ = openings(w, quads, owner, bad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert win.edge.size == n and o.edge.size == n and not bad.any()  # every window and doorway, none clashes
    return peak


def test_the_window_clash_check_grows_with_the_windows_not_their_square() -> None:
    # A window is compared with the openings of its own wall only: 4x the rooms (and windows) costs about
    # 4x the memory. Comparing every window with every opening of the scene cost 16x (gigabytes at 10k).
    small, large = _window_check_peak_bytes(500), _window_check_peak_bytes(2000)
    assert large < 6 * small, (small, large)


def test_a_window_near_another_opening_of_its_wall_only_is_left_to_the_booleans() -> None:
    """Windows are kept apart from the openings of their own wall (their boxes ``GAP`` clear), not from those
    of other walls or rooms."""
    from sceneforge.geometry.panels.openings import openings
    from sceneforge.geometry.panels.walls import walls

    rooms, quads, owner = _window_rooms(3)
    # room 1's doorway moved to start 0.5 mm past its window's box along the wall: that room only is refused
    quads[3] = [[7.00005, 0.2, 0.0], [7.00005, 2.2, 0.0], [7.8, 2.2, 0.0], [7.8, 0.2, 0.0]]
    w = walls(rooms)
    bad = ~w.ok
    openings(w, quads, owner, bad)
    assert bad.tolist() == [False, True, False]


@pytest.mark.parametrize("level", ["office-200", "doorway-wall-40", "stairwells"])
def test_earcut_faces_triangulated_together_get_the_triangles_each_batch_gets_alone(
    level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every earcut face of a build (walls' outer and inner faces, the four slab faces) is triangulated in
    one batch (``Faces.finish``): T-junction mending and Delaunay flips work face by face, so each batch's
    triangles are exactly those it gets on its own, in the same order, at the place it was queued."""
    if level == "office-200":
        data = (Path(__file__).resolve().parents[1] / "data" / "levels" / "office-200.json").read_bytes()
    else:
        data = json.dumps(generate_doorway_wall(40) if level == "doorway-wall-40" else stairwells()).encode()
    finish = panels.faces.Faces.finish
    queued: list[tuple[list[Any], list[np.ndarray]]] = []

    def spy(faces: Any) -> None:
        batches = list(faces.earcut)
        finish(faces)
        queued.append((batches, [faces.corners[at] for at, _, _ in batches]))

    monkeypatch.setattr(panels.faces.Faces, "finish", spy)
    generate_rooms(description_to_ir(parse_description(data), resolve, Limits()))
    batches, together = queued[0]
    assert len(batches) >= 2  # several batches went through one call
    for (_, jobs, frames), corners in zip(batches, together, strict=True):
        alone = panels.faces.Faces([], [], [])
        alone.add_earcut(jobs, frames)
        finish(alone)
        assert corners.shape[0] > 0
        np.testing.assert_array_equal(alone.corners[0], corners)


def assert_panels_without_slivers(room: Room, quads: list[np.ndarray]) -> None:
    """``room`` with ``quads`` on the panel path (no boolean), closed and consistently wound, and no
    triangle under 0.5 mm high (its openings, gaps and walls are all 5 mm or more)."""
    from .levels import heights

    fast = scene({"r": room}, [("r", "x", q) for q in quads])
    assert generate_rooms(fast) == 0  # booleanCells 0: every such room takes the panel path
    surface = only_surface(fast, "r")
    assert closed(surface)
    assert as_trimesh(surface).is_winding_consistent
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    low = heights(tri)
    assert low.min() >= 5e-4, (low.min(), tri[np.argmin(low)])


def _wall_quad(p: np.ndarray, tangent: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """The portal quad [a, b] × [c, d] on the outline's wall from ``p`` along ``tangent`` (plan)."""
    corners = [p + tangent * s for s in (a, a, b, b)]
    return np.array([[x, y, z] for (x, z), y in zip(corners, (c, d, d, c), strict=True)])


def test_a_doorway_5_mm_under_the_ceiling_of_a_long_hall_leaves_no_sliver() -> None:
    # The inner face's strip above the doorway is 5 mm high, 60 m long: with no vertex over the
    # doorway's corners its triangles joined them to the wall's far corners, 0.17 mm high.
    t = 0.2
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    door = _wall_quad(np.zeros(2), np.array([1.0, 0.0]), 29.5, 30.5, t, 3.0 - t - 0.005)
    assert_panels_without_slivers(room, [door])


def test_300_doorways_a_centimetre_wide_in_one_wall_leave_no_sliver() -> None:
    # Their corners are 0.1 m over the outer face's bottom and 0.8 m under the ceiling, the wall's
    # corners up to 60 m away: 0.15 mm high triangles joined them.
    t = 0.1
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    doors = [_wall_quad(np.zeros(2), np.array([1.0, 0.0]), s, s + 0.01, t, 2.1) for s in 1.0 + 0.15 * np.arange(300)]
    assert_panels_without_slivers(room, doors)


def test_doorways_near_the_floor_keep_their_border_vertices_and_the_flips_few(monkeypatch: pytest.MonkeyPatch) -> None:
    # 200 doorways 2 cm wide, one every 5 cm, 10 cm over the outer face's bottom: that border gets a
    # vertex under their corners. Earcut drops the points of a straight run of its ring, and the mend
    # fanned the border's long edge over them from one corner: undoing the fans took flips growing with
    # the square of the doorways (13,345 for 150, 1.8 s of a 2.6 s build for 1,000). With the strip
    # under each doorway a quad of its own, the doorway a notch in the ring, a few flips a doorway.
    from .test_delaunay_flips import reference

    t, doors = 0.1, 200
    room = Room(np.array([[0, 0], [12, 0], [12, 4], [0, 4]], float), 0.0, 3.0, t, "wall")
    starts = 1.0 + 0.05 * np.arange(doors)
    quads = [_wall_quad(np.zeros(2), np.array([1.0, 0.0]), s, s + 0.02, 0.1, 2.0) for s in starts]
    given = flips_given(monkeypatch)
    assert_panels_without_slivers(room, quads)
    assert given  # the thin strips under the doorways are flipped
    assert sum(reference(points, index, None)[1] for points, index in given) <= 6 * doors


def flips_given(monkeypatch: pytest.MonkeyPatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (points, triangles) of every call to the Delaunay flips from now on, kept as given (for
    ``test_delaunay_flips.reference`` to count the flips they take)."""
    given: list[tuple[np.ndarray, np.ndarray]] = []
    flips = panels.triangulate.flip_to_delaunay

    def kept(points: np.ndarray, index: np.ndarray, rounds: int | None = None) -> np.ndarray:
        given.append((points, index.copy()))
        return flips(points, index, rounds)

    monkeypatch.setattr(panels.triangulate, "flip_to_delaunay", kept)
    return given


def long_room_with_openings_near_borders(
    rng: np.random.Generator, shape: str = "box", tall: bool = False, flush: bool = False, shaped: bool = False
) -> tuple[Room, list[np.ndarray]]:
    """A long room (a box, or an L) turned to any angle, doorways and windows in its walls at small gaps
    (5 mm to 5 cm, or wider) from the floor's top, the ceiling's underside, the cavity's corners, each
    other and each other's heights, 5 mm to 1 m wide: every input feature at least 5 mm. ``tall``: 20 m
    high walls too; ``flush``: some walls' first opening drawn past their start (flush with the corner);
    ``shaped``: about half the openings trapezoids or diamonds in their box (windows, and notches from
    the floor's underside, standing on its top or reaching the ceiling: never from border to border)."""
    t = float(rng.choice([0.02, 0.1, 0.2]))
    length = float(rng.uniform(20.0, 60.0))
    depth = length * float(rng.uniform(0.25, 0.4))
    h, y0 = float(rng.choice([2.6, 3.0, 20.0] if tall else [2.6, 3.0])), float(rng.choice([0.0, -1.5]))
    angle = float(rng.uniform(0.0, 2 * np.pi))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if shape == "box":
        plan = [[0, 0], [length, 0], [length, depth], [0, depth]]
    else:
        plan = [[0, 0], [length, 0], [length, depth / 2], [length / 2, depth / 2], [length / 2, depth], [0, depth]]
    outline = np.array(plan, float) @ turn.T
    room = Room(outline, y0, h, t, "wall")
    floor_top, ceiling = y0 + t, y0 + h - t

    def gap() -> float:  # log-uniform 5 mm to 5 cm, or a wider one
        return float(np.exp(rng.uniform(np.log(0.005), np.log(0.05)))) if rng.random() < 0.7 else 0.3

    # Sills and lintels at a few heights each, 5 mm or more apart (two a fraction of a millimetre
    # apart would be a feature that thin).
    bottoms = np.cumsum([floor_top, gap(), gap()])
    tops = np.cumsum([ceiling, -gap(), -gap()])
    quads = []
    k = outline.shape[0]
    for e in range(k):
        p, q = outline[e], outline[(e + 1) % k]
        wall = float(np.hypot(*(q - p)))
        tangent = (q - p) / wall
        s = -0.3 if flush and rng.random() < 0.2 else t + gap()  # the cavity's corner is t along the wall
        while True:
            width = float(np.exp(rng.uniform(np.log(0.005), np.log(1.0))))
            if s + width + 0.005 > wall - t:
                break
            bottom, top = float(rng.choice(bottoms)), float(rng.choice(tops, p=[0.2, 0.4, 0.4]))
            if shaped and rng.random() < 0.5:
                # A notch from the floor's underside (through its slab) or up to the ceiling's top, at most one of them.
                low, high = float(rng.choice(bottoms[1:])), float(rng.choice(tops[1:]))
                top = high if bottom == floor_top and top == ceiling else top
                bottom, top = [(bottom, top), (y0, high), (low, y0 + h)][int(rng.choice(3, p=[0.6, 0.2, 0.2]))]
                # (A diamond's point through a slab would cut its face's border a fraction of a millimetre long.)
                diamond = floor_top <= bottom and top <= ceiling
                quads.append(_shaped_quad(rng, p, tangent, s, s + width, bottom, top, diamond))
            elif rng.random() < 0.8:
                quads.append(_wall_quad(p, tangent, s, s + width, bottom, top))
            s += width + gap() * float(rng.choice([1.0, 10.0, 100.0]))
    return room, quads


def hatches_near_walls(rng: np.random.Generator, room: Room, shape: str) -> list[np.ndarray]:
    """Rectangular hatches through the floor slab and the ceiling slab of a room of
    ``long_room_with_openings_near_borders`` (its outline's first wall from the origin along the
    room's length), in a row along that wall: each 5 mm to 5 cm (or 0.3 m) from it or from the wall
    across (the L's arm: the wall at half its depth), or both; the first from the cavity's end wall
    and each from the next at such gaps."""
    outline, t = room.floor, room.wall_thickness
    length = float(np.hypot(*outline[1]))
    turn = np.column_stack([outline[1] / length, np.array([-outline[1][1], outline[1][0]]) / length])
    depth = float(np.hypot(*(outline[-1] - outline[0]))) * (0.5 if shape == "L" else 1.0)

    def gap() -> float:  # as the openings' gaps: log-uniform 5 mm to 5 cm, or a wider one
        return float(np.exp(rng.uniform(np.log(0.005), np.log(0.05)))) if rng.random() < 0.7 else 0.3

    quads = []
    for y in (room.y + t / 2, room.y + room.height - t / 2):
        s = t + gap()
        while True:
            width = float(np.exp(rng.uniform(np.log(0.3), np.log(3.0))))
            if s + width + t + 0.005 > length:
                break
            side = int(rng.choice(3))  # near the first wall, the wall across, or both
            z0 = t + gap() if side != 1 else float(rng.uniform(0.3, depth / 2))
            z1 = depth - t - gap() if side != 0 else float(rng.uniform(z0 + 0.3, depth - t - 0.3))
            if z1 - z0 > 0.1 and rng.random() < 0.7:
                plan = np.array([[s, z0], [s, z1], [s + width, z1], [s + width, z0]]) @ turn.T
                quads.append(np.column_stack([plan[:, 0], np.full(4, y), plan[:, 1]]))
            s += width + gap() * float(rng.choice([1.0, 10.0, 100.0]))
    return quads


def _shaped_quad(
    rng: np.random.Generator,
    p: np.ndarray,
    tangent: np.ndarray,
    a: float,
    b: float,
    c: float,
    d: float,
    diamond: bool = True,
) -> np.ndarray:
    """A trapezoid (its top or its bottom the narrower) or (``diamond``) maybe a diamond in the box
    [a, b] × [c, d] of the wall from ``p`` along ``tangent``: its lowest and highest corners at ``c`` and ``d``."""
    mid, inset = (a + b) / 2, (b - a) * float(rng.uniform(0.1, 0.3))
    kind = int(rng.integers(3 if diamond else 2))
    if kind == 0:  # narrower at the top
        s_y = [(a, c), (a + inset, d), (b - inset, d), (b, c)]
    elif kind == 1:  # narrower at the bottom
        s_y = [(a + inset, c), (a, d), (b, d), (b - inset, c)]
    else:  # a diamond
        s_y = [(mid, c), (a, (c + d) / 2), (mid, d), (b, (c + d) / 2)]
    return np.array([[*(p + tangent * s)[:1], y, *(p + tangent * s)[1:]] for s, y in s_y])


def test_a_trapezoid_doorway_5_mm_under_the_ceiling_of_a_long_hall_leaves_no_sliver() -> None:
    # A notch standing on the floor's top: the inner face's strip over it is 5 mm high, 60 m long, and
    # with no vertex over its top corners they were joined to the wall's far corners (0.13 mm high).
    t = 0.2
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    door = _shaped_quad(np.random.default_rng(0), np.zeros(2), np.array([1.0, 0.0]), 29.5, 30.5, t, 3.0 - t - 0.005)
    assert_panels_without_slivers(room, [door])


@pytest.mark.parametrize("kind", ["trapezoid", "diamond"])
def test_a_shaped_window_5_mm_over_the_floor_of_a_long_hall_leaves_no_sliver(kind: str) -> None:
    t = 0.2
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    c, d = t + 0.005, 2.0
    s_y = (
        [(29.5, c), (29.7, d), (30.3, d), (30.5, c)]
        if kind == "trapezoid"
        else [(30, c), (29.5, 1), (30, d), (30.5, 1)]
    )
    window = np.array([[s, y, 0.0] for s, y in s_y])
    assert_panels_without_slivers(room, [window])


# The same 40 walls every run (seeds 0-39). The vertices over corners near a border follow a rule of thumb
# (gap x run against the distance to the border's far end), not a bound: about one random wall in 500
# kept a triangle just under 0.5 mm until faces left with one got points inside them (none in 2,000 now:
# docs/geometry.md, bench/slivers.py), and one in ~2,000 gets a shell the panels leave open, which goes to
# the booleans (the test after the next).
@pytest.mark.parametrize("seed", range(40))
def test_shaped_openings_near_the_borders_of_long_walls_leave_no_sliver(seed: int) -> None:
    # Windows and notches of other shapes get vertices over their corners on a border they come near,
    # as rectangles do, and so does the slab's face across that border.
    assert_panels_without_slivers(*long_room_with_openings_near_borders(np.random.default_rng(seed), shaped=True))


# Random walls that kept a triangle just under 0.5 mm after the flips: a trapezoid's 3 mm side 5 mm under a
# neighbour's corner 4 cm away (1514, 0.385 mm) or a border's vertices 2 mm apart 8 mm over a corner 3 cm along
# (792, 0.483 mm), both shortest edges with no vertex a flip could reach that makes a fat triangle; a corner
# 8 mm beside a neighbour's side 30 cm long (1416, 0.416 mm); a slanted notch's ends 0.6 mm apart across the
# ceiling on the ceiling's top, fanned from its centre 14 m away (573, 0.475 mm); and L-shaped rooms 20 m tall
# with rectangular openings (35, 0.402 mm; 60, 0.456 mm). Faces left with a sliver get points inside them (and
# such a fan goes to earcut).
@pytest.mark.parametrize(
    ("seed", "shape", "tall", "shaped"),
    [
        (573, "box", False, True),
        (792, "box", False, True),
        (1416, "box", False, True),
        (1514, "box", False, True),
        (35, "L", True, False),
        (60, "L", True, False),
    ],
)
def test_slivers_left_after_the_flips_get_points_inside_their_face(
    seed: int, shape: str, tall: bool, shaped: bool
) -> None:
    rng = np.random.default_rng(seed)
    assert_panels_without_slivers(*long_room_with_openings_near_borders(rng, shape, tall, shaped=shaped))


@pytest.mark.parametrize("strips", [False, True])
def test_a_room_whose_shaped_openings_the_panels_leave_open_takes_the_boolean_path(
    strips: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From the random walls of ``long_room_with_openings_near_borders`` (seed 1369, 1 in ~2,000): a trapezoid
    # window and two diamonds 34 mm and 7.5 mm over the floor's top beside a diamond whose tip touches it,
    # in a long turned wall (each three of them alone build closed on the panels). Without the shaped openings'
    # strips to the border (``panels.border_strips.shaped_strips``), the panels' shell of that room is open (a
    # crack); a room with windows or notches of other shapes is checked and, open, left to the booleans: the room
    # is closed, with the boolean path's solid. With them, the trapezoid is a notch to the border
    # and the panels close it.
    if not strips:
        monkeypatch.setattr(
            panels.wall_faces, "shaped_strips", lambda entries, win, *_: (win, (np.zeros(0, np.int64), None))
        )
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(1369), shaped=True)
    built, reference = (scene({"r": room}, [("r", "x", q) for q in quads[13:17]]) for _ in range(2))
    assert generate_rooms(built) == (0 if strips else 1)
    generate_rooms(reference, fast_paths=False)
    surface = only_surface(built, "r")
    assert closed(surface)
    assert as_trimesh(surface).volume == pytest.approx(as_trimesh(only_surface(reference, "r")).volume, abs=1e-6)


def test_two_diamonds_points_30_mm_over_the_floor_top_of_a_long_turned_wall_leave_no_sliver() -> None:
    # A wall of that random kind: two diamond windows whose lowest points lie 30.5 mm over the floor's top,
    # 72 mm apart, joined to a vertex of that border 4.4 m away (a triangle 0.496 mm high). A lone corner
    # gets no vertex under it (its steep sides would make slivers with it): one halfway to its neighbour.
    assert_panels_without_slivers(*long_room_with_openings_near_borders(np.random.default_rng(32703899), shaped=True))


@pytest.mark.parametrize("border", ["floor", "ceiling"])
def test_two_diamonds_points_near_a_border_of_a_long_hall_leave_no_sliver(border: str) -> None:
    # Two diamond windows 30.5 mm over the floor's top (under the ceiling's underside), their points 72 mm
    # apart, 30 m from the wall's ends: with no vertex on the border between them, the triangle joining both
    # points to the wall's far corner was 0.07 mm high.
    t = 0.1
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    near, far = (t + 0.0305, t + 1.5) if border == "floor" else (3.0 - t - 0.0305, 3.0 - t - 1.5)
    mid = (near + far) / 2
    first = np.array([[30.0, near, 0.0], [29.996, mid, 0.0], [30.0, far, 0.0], [30.004, mid, 0.0]])
    second = np.array([[30.072, near, 0.0], [30.03, mid, 0.0], [30.072, far, 0.0], [30.114, mid, 0.0]])
    assert_panels_without_slivers(room, [first, second])


# Random walls of ``long_room_with_openings_near_borders`` that had a triangle just under 0.5 mm: 446, a
# trapezoid window's top side 45 mm long 35 mm under a notch's point 3.2 m away (its top side, not its box,
# is the run the neighbours' rule weighs); the others, two diamonds' points a few centimetres from a border.
@pytest.mark.parametrize("seed", [446, 488, 625, 986, 1864])
def test_shaped_openings_beside_each_other_near_a_border_leave_no_sliver(seed: int) -> None:
    assert_panels_without_slivers(*long_room_with_openings_near_borders(np.random.default_rng(seed), shaped=True))


def test_a_corner_reached_1e_16_off_an_axis_is_welded_with_the_one_on_it() -> None:
    # One triangle's corner at x = 0, its neighbour's at 1.1e-16 (float32 keeps them apart): one vertex.
    left = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]])
    right = np.array([[[1.1e-16, 0.0, 1.0], [1.1e-16, 1.0, 1.0], [0.0, 1.0, 0.0]]])
    normal = np.array([[1.0, 0.0, 0.0]])
    faces = panels.faces.Faces([left, right], [normal, normal], [np.zeros(1, np.int64)] * 2)
    positions, _, _, indices = panels.weld.weld(faces, np.ones(1, bool))[0]
    assert positions.shape[0] == 4 and not positions[:, 0].any()
    assert indices.shape == (2, 3)


# Random walls whose outline's first corner (at the origin) one wall reached 1e-16 off it: a crack, so the
# room went to the booleans (about 1 in 100 of them; their shells kept slivers 0.0001-0.07 mm high).
@pytest.mark.parametrize("seed", [45, 98, 266])
def test_a_long_turned_room_with_a_corner_at_the_origin_takes_the_panel_path(seed: int) -> None:
    assert_panels_without_slivers(*long_room_with_openings_near_borders(np.random.default_rng(seed), shaped=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_openings_near_the_borders_of_long_walls_leave_no_sliver(seed: int) -> None:
    # An opening's corner a few millimetres from a face's border whose corners are metres away gets a
    # vertex on that border (and on the face across it): no triangle joins it to the far corners.
    assert_panels_without_slivers(*long_room_with_openings_near_borders(np.random.default_rng(seed)))


@pytest.mark.parametrize("seed", [13, 19, 54])
def test_openings_near_the_borders_of_tall_l_shaped_rooms_leave_no_crack_or_sliver(seed: int) -> None:
    # The slab faces of an L get their vertices by earcut: long runs of points on one line, turned off
    # the axes, where earcut gave triangles of no area that the T-junction mending fanned over their
    # own corners round after round (flat triangles by the thousand: cracks). Seeds where it did.
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(seed), "L", tall=True, flush=True)
    assert_panels_without_slivers(room, quads)


@pytest.mark.parametrize("corner", ["cavity", "outline"])
def test_an_opening_near_a_corner_an_opening_of_the_wall_across_is_flush_with_leaves_no_crack(corner: str) -> None:
    # A window 5 mm from the corner in a wall 30 m tall: the face's end gets vertices at its heights,
    # and where the wall across has an opening flush with that corner the face's end runs along that
    # opening's jamb, which gets them too (else a T-junction: a crack).
    t = 0.1
    if corner == "cavity":  # a box: the window's wall ends at the cavity's corner, the doorway's starts there
        outline = np.array([[0, 0], [40, 0], [40, 12], [0, 12]], float)
        door = _wall_quad(np.zeros(2), np.array([1.0, 0.0]), t, t + 0.9, 5.0, 20.0)
        window = _wall_quad(np.array([0.0, 12.0]), np.array([0.0, -1.0]), 12 - t - 0.5, 12 - t - 0.005, 14.0, 14.8)
    else:  # an L: the window's outer face ends at the reflex corner (10, 6), the doorway is drawn past it
        outline = np.array([[0, 0], [20, 0], [20, 6], [10, 6], [10, 12], [0, 12]], float)
        door = _wall_quad(np.array([10.0, 6.0]), np.array([0.0, 1.0]), -0.3, 0.9, 5.0, 20.0)
        window = _wall_quad(np.array([20.0, 6.0]), np.array([-1.0, 0.0]), 9.5, 9.995, 14.0, 14.8)
    assert_panels_without_slivers(Room(outline, 0.0, 30.0, t, "wall"), [door, window])


@pytest.mark.parametrize(
    ("door", "window"), [((0.0, 2.0), (2.005, 2.5)), ((0.2, 2.0), (2.005, 2.5)), ((2.5, 3.0), (1.0, 2.495))]
)
def test_a_narrow_window_just_past_a_doorway_into_a_slab_leaves_no_crack(door: tuple, window: tuple) -> None:
    # The window's sill (lintel) 5 mm from the doorway's top (bottom), a centimetre wide: its corners
    # would get vertices on the face's border, but the doorway reaches that border under (over) them,
    # and a vertex in its notch would leave the slab's faces and the doorway's tunnel a T-junction.
    t = 0.2
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    along = np.array([1.0, 0.0])
    quads = [_wall_quad(np.zeros(2), along, 29.0, 30.0, *door), _wall_quad(np.zeros(2), along, 29.2, 29.21, *window)]
    fast = scene({"r": room}, [("r", "x", q) for q in quads])
    assert generate_rooms(fast) == 0
    assert closed(only_surface(fast, "r"))


def _star_floors(stars: int, points: int) -> dict[str, Any]:
    """Rooms whose floors are stars of ``points`` corners on two circles (coordinates in no grid)."""
    k = np.arange(points)
    radius = 100.0 * (1 + k % 2)
    cells = []
    for j in range(stars):
        floor = np.stack([500.0 * j + radius * np.cos(2 * np.pi * k / points), radius * np.sin(2 * np.pi * k / points)])
        cells.append({"cellId": f"star{j}", "room": {"floor": floor.T.tolist(), "height": 3.0}})
    return {"sceneId": "stars", "cells": cells}


def test_mending_many_large_floors_takes_the_memory_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Earcut's faces were mended all at once, with every (edge, point) pair of every face in memory:
    a star floor of 4,096 points tests ~2.4 million, and 24 of them (within SCENEFORGE_MAX_FLOOR_POINTS,
    a 4 MB description) asked for 114 million pairs at once, tens of GB. Faces are mended in groups
    (_MEND_GROUP): the mend's peak is that of the largest group, and the triangles are the same as all at
    once. (Measured around the mend alone: the rest of the stage holds what it builds, floor by floor.) A
    star's floor holds no T-junction, so it is mended only when marked torn: here every face is (as a floor
    whose ring keeps points for its doorways, on a hostile level, may be), the mend's own memory measured."""
    import tracemalloc

    monkeypatch.setattr(panels.triangulate, "_torn", lambda jobs, *_: np.ones(len(jobs), dtype=bool))
    mend = panels.triangulate.mend_in_groups
    peaks: list[int] = []

    def measured(*args: Any, **kwargs: Any) -> Any:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        out = mend(*args, **kwargs)
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
        return out

    monkeypatch.setattr(panels.triangulate, "mend_in_groups", measured)

    def build(stars: int) -> tuple[int, list[bytes]]:  # (the mend's peak beyond what it started with, geometry)
        ir = description_to_ir(parse_description(json.dumps(_star_floors(stars, 1024))), resolve, Limits())
        peaks.clear()
        tracemalloc.start()
        try:
            generate_rooms(ir)
        finally:
            tracemalloc.stop()
        return max(peaks), [s.positions.tobytes() + s.indices.tobytes() for c in ir.cells for s in c.surfaces]

    one, _ = build(1)
    many, grouped = build(6)
    monkeypatch.setattr(panels.mend, "_MEND_GROUP", 1 << 62)  # every face at once
    at_once, ungrouped = build(6)
    assert ungrouped == grouped
    assert at_once > 5 * many, (at_once, many)  # held all at once, the pairs of six floors (~17× one)
    assert many < 2 * one, f"six floors' mend took {many / one:.2f}× the transient memory of one ({one:,} bytes)"


def test_a_dense_star_shaped_cavity_is_proved_simple_without_testing_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4,096-point star's long edges fanning out give every edge hundreds of box partners (0.1 s a
    room); about its centre it is star-shaped, which proves it simple in O(k)."""
    from sceneforge.geometry.panels import walls

    k = 4096
    angle = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
    radius = np.where(np.arange(k) % 2 == 0, 700.0, 500.0)
    ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    first = np.array([0, k])

    def no_pairs(_ring: np.ndarray) -> list:
        raise AssertionError("edge pairs tested")

    monkeypatch.setattr(walls, "_box_pairs", no_pairs)
    assert bool(walls._cavity_simple(ring, first, np.array([0]))[0])
    ring[[3, 7]] = ring[[7, 3]]  # two corners swapped: not star-shaped, so the pairs decide
    monkeypatch.undo()
    assert not bool(walls._cavity_simple(ring, first, np.array([0]))[0])


def _edges_once(tri: np.ndarray) -> set[tuple[tuple[float, ...], ...]]:
    """The edges (corner pairs, sorted) of exactly one of the 2D triangles ``tri`` (m, 3, 2): the face's border."""
    count: dict[tuple[tuple[float, ...], ...], int] = {}
    for t in tri.tolist():
        for k in range(3):
            edge = tuple(sorted((tuple(t[k]), tuple(t[(k + 1) % 3]))))
            count[edge] = count.get(edge, 0) + 1
    return {edge for edge, n in count.items() if n == 1}


def test_points_added_to_a_face_left_with_a_sliver_lie_inside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The wall face of seed 1514 (a trapezoid's 3 mm side 5 mm under a neighbour's corner 4 cm away): after
    # the flips a triangle 0.385 mm high; with the points the same border (no T-junction for the faces
    # beside it), the same area, every triangle 0.5 mm high or more, the new points none of the face's.
    from sceneforge.geometry.slivers import SLIVER

    jobs: list[Any] = []
    many = panels.triangulate.earcut_many

    def spy(batch: list[Any]) -> Any:
        jobs.extend(batch)
        return many(batch)

    monkeypatch.setattr(panels.faces, "earcut_many", spy)
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(1514), shaped=True)
    generate_rooms(scene({"r": room}, [("r", "x", q) for q in quads]))
    monkeypatch.setattr(panels.faces, "earcut_many", many)
    with_points = [many([job])[0] for job in jobs]
    monkeypatch.setattr(panels.triangulate, "_steiner", lambda points, index, face: (points, index, face))
    without = [many([job])[0] for job in jobs]
    thin = [k for k, tri in enumerate(without) if panels.mend.heights2d(tri).min() < SLIVER]
    assert len(thin) == 1
    before, after, points = without[thin[0]], with_points[thin[0]], jobs[thin[0]][0]
    assert panels.mend.heights2d(after).min() >= SLIVER
    assert _edges_once(after) == _edges_once(before)
    area = [float(np.abs(orient2(t[:, 0], t[:, 1], t[:, 2])).sum()) for t in (before, after)]
    assert area[1] == pytest.approx(area[0], rel=1e-12)
    corners = {tuple(p) for p in after.reshape(-1, 2).tolist()}
    added = corners - {tuple(p) for p in points.tolist()}
    assert 1 <= len(added) <= panels.triangulate._STEINER_ROUNDS
    for k, tri in enumerate(with_points):
        if k != thin[0]:
            np.testing.assert_array_equal(tri, without[k])


@pytest.mark.parametrize("slab", ["floor", "ceiling"])
@pytest.mark.parametrize("gap", [0.005, 0.02])
def test_a_hatch_millimetres_from_a_wall_of_a_long_hall_leaves_no_sliver(slab: str, gap: float) -> None:
    # A 1 m hatch a few millimetres from a 60 m wall: with no vertex on the wall's line beside its corners,
    # the slab faces joined its side to the cavity's corner 30 m away (0.165 mm high at 5 mm).
    t = 0.2
    room = Room(np.array([[0, 0], [60, 0], [60, 15], [0, 15]], float), 0.0, 3.0, t, "wall")
    y = t / 2 if slab == "floor" else 3.0 - t / 2
    hatch = np.array([[29.5, y, t + gap], [29.5, y, t + gap + 1], [30.5, y, t + gap + 1], [30.5, y, t + gap]])
    assert_panels_without_slivers(room, [hatch])


@pytest.mark.parametrize("slab", ["floor", "ceiling"])
@pytest.mark.parametrize("gap", [0.005, 0.007])
def test_a_hatch_along_a_wall_across_from_a_narrow_doorway_leaves_no_sliver(slab: str, gap: float) -> None:
    # A hatch's side 5 m long, 5 mm (7 mm) from a wall whose doorway 3 cm wide stands on the floor's top
    # (reaches the ceiling's underside): the doorway's sides are vertices of the slab face's cavity line
    # with none across on the hatch's side but its corners 2.5 m away (a triangle 0.06 mm (0.08 mm) high).
    # The slab's outer face gets them on its cavity line too (its triangles then pair with them).
    t = 0.2
    room = Room(np.array([[0, 0], [30, 0], [30, 10], [0, 10]], float), 0.0, 3.0, t, "wall")
    y = t / 2 if slab == "floor" else 3.0 - t / 2
    hatch = np.array([[10.0, y, t + gap], [10.0, y, 4.0], [15.0, y, 4.0], [15.0, y, t + gap]])
    c, d = (t, 2.1) if slab == "floor" else (0.9, 3.0 - t)
    door = _wall_quad(np.zeros(2), np.array([1.0, 0.0]), 12.5, 12.53, c, d)
    assert_panels_without_slivers(room, [hatch, door])


# Random long rooms of bench/slivers.py --hatches whose slab faces kept a sliver in the strip between a hatch's
# side and a wall's cavity line: two vertices of the line 3 cm apart, the side 6 mm away, its corner 4.5 m along
# (8, 0.041 mm); 4 cm apart, 8 mm away, 1.4 m along (9, 0.224 mm); in a room 20 m tall (41, 0.115 mm).
@pytest.mark.parametrize(("seed", "tall"), [(8, False), (9, False), (41, True)])
def test_random_hatches_along_walls_with_openings_leave_no_sliver(seed: int, tall: bool) -> None:
    rng = np.random.default_rng(seed)
    room, quads = long_room_with_openings_near_borders(rng, tall=tall, shaped=True)
    assert_panels_without_slivers(room, quads + hatches_near_walls(rng, room, "box"))


def test_hatches_millimetres_from_two_walls_of_a_turned_room_leave_no_sliver() -> None:
    # Turned 17°, three hatches in each slab, 5 mm to 3 cm from the long wall, the wall across and the end wall.
    t, angle = 0.1, np.radians(17.0)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    room = Room(np.array([[0, 0], [40, 0], [40, 9], [0, 9]], float) @ turn.T, -1.5, 3.0, t, "wall")
    quads = []
    for y in (-1.5 + t / 2, 1.5 - t / 2):
        for s0, s1, z0, z1 in (
            (t + 0.005, 1.2, t + 0.03, 4.0),
            (10.0, 11.5, t + 0.005, 9 - t - 0.01),
            (25.0, 26.0, 5.0, 9 - t - 0.005),
        ):
            plan = np.array([[s0, z0], [s0, z1], [s1, z1], [s1, z0]]) @ turn.T
            quads.append(np.column_stack([plan[:, 0], np.full(4, y), plan[:, 1]]))
    assert_panels_without_slivers(room, quads)


@pytest.mark.parametrize("end", [2.55 + 3e-16, 2.55 - 3e-16, 2.55 + 4e-6])
def test_a_flush_hatch_drawn_to_a_doorways_jamb_in_sums_of_decimals_meets_it_without_a_strip(end: float) -> None:
    """A stair opening drawn past the walls to the jamb of a doorway standing on the floor, its end a sum of
    decimals (0.1 + 2.45 is 2.5500000000000003) or a hair off: put on the jamb's line, every edge of the shell
    crossed once each way, no sliver (the two lines 3e-16 m apart left a strip of zero-area triangles in the wall's
    face)."""
    hatch = np.array([[-0.3, 0.025, -0.3], [-0.3, 0.025, 1.95], [end, 0.025, 1.95], [end, 0.025, -0.3]])
    door = np.array([[2.55, 0.05, 0.0], [3.05, 0.05, 0.0], [3.05, 2.2, 0.0], [2.55, 2.2, 0.0]])
    rooms = {
        "room": box_room(0, 5, 0, 5, t=0.05),
        "below": box_room(0, 5, 0, 5, y=-3.0, t=0.05),
        "south": box_room(0, 5, -5, 0, t=0.05),
    }
    ir = scene(rooms, [("below", "room", hatch), ("room", "south", door)])
    assert generate_rooms(ir) == 0
    shell = only_surface(ir, "room")
    mesh = (shell.positions, None, None, shell.indices)
    assert not panels.shell._open_shells([mesh]).any()
    tri = shell.positions.astype(np.float64)[shell.indices.astype(np.int64).reshape(-1, 3)]
    assert heights(tri).min() >= 5e-4  # (4 µm off the jamb left a strip 4 µm wide)


def _box_mesh(shift: float, split: bool) -> tuple[np.ndarray, np.ndarray]:
    """A unit cube's 12 outward triangles at x + ``shift``; ``split``: each face's corners its own (24 vertices)."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=np.float32)
    corners[:, 0] += shift
    quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    tris = np.array([[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads], dtype=np.uint32)
    if not split:
        return corners, tris
    return corners[tris.reshape(-1)], np.arange(tris.size, dtype=np.uint32).reshape(-1, 3)


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["closed", "split", "hole", "flipped", "twice", "pinched", "empty"]), max_size=8),
    shift=st.sampled_from([0.0, 1.0, 5.0]),
)
def test_open_shells_judge_each_mesh_as_on_its_own(kinds: list[str], shift: float) -> None:
    # Meshes are judged all at once, corners merged by (mesh, position): a mesh's verdict is the one it gets
    # alone, whatever the others are and wherever they lie (the same cube twice is two closed shells).
    meshes, expected = [], []
    for kind in kinds:
        pos, tri = _box_mesh(shift, split=kind != "closed")
        if kind == "hole":
            tri = tri[1:]
        elif kind == "flipped":
            tri = np.concatenate([tri[:1, ::-1], tri[1:]])
        elif kind == "twice":
            tri = np.concatenate([tri, tri])
        elif kind == "pinched":  # two cubes sharing an edge: four faces on it
            other, other_tri = _box_mesh(shift, split=False)
            other = other + np.float32([1, 1, 0])
            pos, tri = np.concatenate([pos, other]), np.concatenate([tri, other_tri + pos.shape[0]])
        elif kind == "empty":
            pos, tri = pos[:0], tri[:0]
        meshes.append((pos, None, None, np.ascontiguousarray(tri).reshape(-1)))
        expected.append(kind in ("hole", "flipped", "twice", "pinched"))
    assert panels.shell._open_shells(meshes).tolist() == expected


@st.composite
def full_height_slanted_doorways(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box room with a trapezoid doorway (or one turned a degree or two) on its east wall x = W spanning its
    inner face from the floor's top to the ceiling's underside: from the floor's underside, inside the floor slab
    or on its top, up to the ceiling's underside, inside the ceiling slab or to its top; a ray through it. (Its
    jambs lean against each other as drawn, never a corner alone on a level: that pinches the face.)"""
    t, w, dep, y0, h, top, ceiling, y1 = draw_box_frame(draw, 12, 24)
    room = Room(np.array([[0, 0], [w, 0], [w, dep], [0, dep]], float), y0, h, t, "wall")
    c = draw(st.sampled_from([y0, y0 + t / 2, top]))
    d = draw(st.sampled_from([ceiling, y1 - t / 2, y1]))
    a = draw(st.integers(2, int(dep / 0.25) - 6)) * 0.25
    b = a + draw(st.sampled_from([0.5, 0.9, 1.2]))
    if draw(st.booleans()):
        lean = draw(st.sampled_from([(0.08, 0.08), (0.1, -0.05), (-0.06, 0.0), (0.0, 0.07), (0.25, 0.1)]))
        s_y = [(a, c), (a + lean[0], d), (b - lean[1], d), (b, c)]
    else:
        # Turned, its sill and head inside the slabs (on a level, a corner alone would pinch the face there).
        c, d = y0 + t / 2, y1 - t / 2
        turn = np.deg2rad(draw(st.sampled_from([-2.0, -1.0, 1.0, 1.5])))
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        mid = np.array([(a + b) / 2, c])
        s_y = [tuple(mid + rot @ (np.array(p) - mid)) for p in ((a, c), (a, d), (b, d), (b, c))]
    quad = np.array([[w, y, s] for s, y in s_y], float)
    ray = (np.array([w + 1.0, (top + ceiling) / 2, (a + b) / 2]), np.array([-1.0, 0.0, 0.0]))
    return room, [quad], [ray]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_height_slanted_doorways())
def test_a_slanted_doorway_through_the_inner_face_s_whole_height_takes_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    """A trapezoid (or turned) doorway from the floor's top, or below it, up to the ceiling's underside, or above
    it, parts the inner face in two columns (and the outer face too, where it runs from y0 to y1): the notch cuts
    it as a joined opening's cut (:func:`~sceneforge.geometry.panels.notches._cut_paths`), no boolean, the
    boolean path's solid, closed, no sliver, open."""
    assert_the_boolean_solid_with_openings_open(*case)
