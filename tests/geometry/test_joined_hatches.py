"""Hatches of one slab that touch or overlap (a stair void drawn as two rectangles making an L, a rectangle
drawn twice, shifted, two side by side each to a cell above) on the panel path: one hatch, the outline
of their union, the boolean path's solid.

Against the boolean build (``fast_paths=False``): no boolean, closed and consistently wound, the same
volume (up to float32 rounding and the boolean's 0.1 mm cutting margins), no triangle under 0.5 mm high,
every hatch open (a ray through the middle of each rectangle crosses no triangle).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.geometry.panels.faces import plan3
from sceneforge.geometry.panels.hatches import hatches
from sceneforge.geometry.panels.joined import rect_union
from sceneforge.geometry.panels.walls import walls
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import Room
from tests.levels_new_kinds import to_mm, turned_by
from tests.test_awkward_levels import stair_voids

from .levels import cell_triangles, heights
from .meshcheck import blocked_portals, box_room, check_shells, only_surface, ray_hits, scene
from .test_panels import assert_flush_openings_open, assert_the_boolean_solid_with_openings_open

STEP = 0.05  # every coordinate of a group on this grid: two are equal or a step apart, never a sliver apart

Rect = tuple[float, float, float, float]  # x0, x1, z0, z1


def _steps(draw: st.DrawFn, lo: int, hi: int) -> float:
    return STEP * draw(st.integers(lo, hi))


def _meeting(draw: st.DrawFn, base: Rect) -> Rect:
    """A rectangle meeting ``base``: beside one of its sides (sharing part of it), a copy shifted over
    it, or the same one again."""
    x0, x1, z0, z1 = base
    kind = draw(st.sampled_from(["beside", "beside", "shifted", "copy"]))
    if kind == "copy":
        return base
    if kind == "shifted":
        dx, dz = _steps(draw, -4, 4), _steps(draw, -4, 4)
        return (x0 + dx, x1 + dx + _steps(draw, 0, 4), z0 + dz, z1 + dz + _steps(draw, 0, 4))
    across = _steps(draw, 4, 16)
    side = draw(st.sampled_from(["x0", "x1", "z0", "z1"]))
    if side in ("x0", "x1"):
        lo = z0 + _steps(draw, -6, round((z1 - z0) / STEP) - 1)
        hi = max(lo, z0) + _steps(draw, 1, 20)
        return (x0 - across, x0, lo, hi) if side == "x0" else (x1, x1 + across, lo, hi)
    lo = x0 + _steps(draw, -6, round((x1 - x0) / STEP) - 1)
    hi = max(lo, x0) + _steps(draw, 1, 20)
    return (lo, hi, z0 - across, z0) if side == "z0" else (lo, hi, z1, z1 + across)


def _on_grid(rect: Rect) -> Rect:
    """``rect`` with float rounding taken off its coordinates (sums of steps such as 0.105 + 0.2 are
    0.30500000000000005, not 0.305): two coordinates meant equal are equal, so :func:`rect_union` tells
    rectangles meeting at a corner alone from ones overlapping by 5e-17."""
    a, b, c, d = (round(v, 9) for v in rect)
    return (a, b, c, d)


def _group_start(x0: float, z0: float, nx: int, nz: int) -> Rect:
    """The first rectangle of a group: corner (``x0``, ``z0``), ``nx`` by ``nz`` steps, on the grid."""
    return _on_grid((x0, x0 + STEP * nx, z0, z0 + STEP * nz))


@st.composite
def rooms_with_touching_hatches(
    draw: st.DrawFn,
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box or L-shaped room with, in its floor slab, its ceiling slab or both, a group of 2–4 hatches each
    meeting another of the group (:func:`_meeting`), their union one simple polygon (a rectangle or not),
    5 mm, 5 cm or 0.3 m or more from the walls (in the L, in its arm along the first wall), their sides
    maybe moved by export noise (a few µm, under ``WELD_EPS``), and doorways (from the floor's underside or
    its top) and windows in the two walls the groups keep nearest; a ray through the middle of each."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    w, dep = draw(st.integers(16, 40)) * 0.25, draw(st.integers(16, 40)) * 0.25
    h = draw(st.sampled_from([2.8, 3.0, 3.4]))
    y0 = draw(st.sampled_from([0.0, 3.2, -1.5]))
    if draw(st.booleans()):
        outline = np.array([[0, 0], [w, 0], [w, dep], [0, dep]], float)
        top = dep - t
    else:
        cx, cz = w * 0.5, dep * 0.5
        outline = np.array([[0, 0], [w, 0], [w, cz], [cx, cz], [cx, dep], [0, dep]], float)
        top = cz - t
    room = Room(outline, y0, h, t, "wall")
    noise = draw(st.sampled_from([0.0, 4e-6]))
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    k = outline.shape[0]
    for e in (0, k - 1):  # doorways and windows in the two walls the groups keep nearest (z = 0, x = 0)
        p, q = outline[e], outline[(e + 1) % k]
        length = float(np.hypot(*(q - p)))
        tangent, outward = (q - p) / length, np.array([(q - p)[1], -(q - p)[0]]) / length
        for slot in range(int((length - 2 * (t + 0.3)) // 0.75)):
            if not draw(st.booleans()):
                continue
            a = t + 0.3 + slot * 0.75
            c = draw(st.sampled_from([y0, y0 + t, y0 + t + 0.9]))
            base = p + outward * draw(st.sampled_from([0.0, -t / 2, -t]))
            corners = [
                (base + tangent * s, y) for s, y in ((a, c), (a, y0 + t + 2.1), (a + 0.5, y0 + t + 2.1), (a + 0.5, c))
            ]
            quads.append(np.array([[x, y, z] for (x, z), y in corners]))
            mid = p + tangent * (a + 0.25) + outward
            rays.append((np.array([mid[0], (max(c, y0 + t) + y0 + t + 2.1) / 2, mid[1]]), -plan3(outward)))
    for slab in draw(st.sampled_from([(0,), (1,), (0, 1)])):
        gap = draw(st.sampled_from([0.005, 0.05, 0.3]))
        lo_x, hi_x, lo_z, hi_z = t + gap, w - t - gap, t + gap, top - gap
        x0 = lo_x + (0.0 if draw(st.booleans()) else _steps(draw, 0, 20))
        z0 = lo_z + (0.0 if draw(st.booleans()) else _steps(draw, 0, 10))
        rects: list[Rect] = [_group_start(x0, z0, draw(st.integers(4, 20)), draw(st.integers(4, 20)))]
        for _ in range(draw(st.integers(1, 3))):
            rect = _on_grid(_meeting(draw, draw(st.sampled_from(rects))))
            if rect[0] < lo_x - 1e-9 or rect[1] > hi_x + 1e-9 or rect[2] < lo_z - 1e-9 or rect[3] > hi_z + 1e-9:
                continue
            if rect_union([*rects, rect]) is None:
                continue  # (apart, or meeting at a corner alone: the booleans')
            rects.append(rect)
        if rects[-1][1] > hi_x + 1e-9 or rects[-1][3] > hi_z + 1e-9 or len(rects) < 2:
            continue
        y = draw(st.sampled_from([y0, y0 + t / 2])) if slab == 0 else draw(st.sampled_from([y0 + h, y0 + h - t / 2]))
        for a, b, c, d in rects:
            sa, sb, sc, sd = (noise * draw(st.sampled_from([-1, 0, 1])) for _ in range(4))
            quads.append(np.array([[a + sa, y, c + sc], [a + sa, y, d + sd], [b + sb, y, d + sd], [b + sb, y, c + sc]]))
            mid_x, mid_z = (a + b) / 2, (c + d) / 2
            if slab == 0:
                rays.append((np.array([mid_x, y0 - 1.0, mid_z]), np.array([0.0, 1.0, 0.0])))
            else:
                rays.append((np.array([mid_x, y0 + h + 1.0, mid_z]), np.array([0.0, -1.0, 0.0])))
    return room, quads, rays


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_touching_hatches())
def test_hatches_that_meet_take_the_panel_path_as_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    assert_the_boolean_solid_with_openings_open(*case)


def _hatch(x0: float, x1: float, z0: float, z1: float, y: float = 2.95) -> np.ndarray:
    """A ceiling hatch of the room [0, 8] × [0, 10] (slab 2.9–3.0 m)."""
    return np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]])


def _rays(*rects: Rect) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.array([(a + b) / 2, 4.0, (c + d) / 2]), np.array([0.0, -1.0, 0.0])) for a, b, c, d in rects]


def test_an_l_shaped_stair_void_of_two_rectangles_takes_the_panel_path() -> None:
    """Two rectangles sharing part of an edge, an L: one hatch of six corners, its tunnel one quad per side
    (none where the rectangles meet inside it); before, the room took the booleans."""
    rects = [(2.0, 4.0, 2.0, 3.0), (2.0, 3.0, 3.0, 5.0)]
    assert_the_boolean_solid_with_openings_open(
        box_room(0.0, 8.0, 0.0, 10.0), [_hatch(*r) for r in rects], _rays(*rects)
    )


def test_a_joined_outlines_short_side_near_a_wall_gets_its_vertices_on_the_wall() -> None:
    """A void 5 mm from a wall whose outline has a side 5 cm long along it (a hatch 40 cm long, a strip up
    from its far end and an arm back to the wall): its corners get vertices on the wall's line by that
    side's run along the wall, not the whole outline's (which left a triangle 0.495 mm high to the
    cavity's corner)."""
    room = Room(np.array([[0, 0], [4, 0], [4, 2], [2, 2], [2, 4], [0, 4.0]]), 0.0, 2.8, 0.05, "wall")
    rects = [(0.055, 0.305, 0.055, 0.455), (0.255, 0.305, 0.455, 0.655), (0.055, 0.255, 0.505, 0.555)]
    quads = [np.array([[a, 0.0, c], [a, 0.0, d], [b, 0.0, d], [b, 0.0, c]]) for a, b, c, d in rects]
    rays = [(np.array([(a + b) / 2, -1.0, (c + d) / 2]), np.array([0.0, 1.0, 0.0])) for a, b, c, d in rects]
    assert_the_boolean_solid_with_openings_open(room, quads, rays)


def test_hatches_that_meet_are_one_hatch_of_their_union() -> None:
    """Side by side (a rectangle), overlapping (an outline of 8 corners), a copy: one hatch each; meeting at
    a corner alone or 0.05 mm apart: left as they are, and the room to the booleans."""
    rooms = [box_room(10.0 * i, 10.0 * i + 8.0, 0.0, 10.0) for i in range(5)]
    groups = [
        [(2.0, 4.0, 2.0, 4.0), (4.0, 6.0, 2.0, 4.0)],
        [(2.0, 4.0, 2.0, 4.0), (3.0, 5.0, 3.0, 5.0)],
        [(2.0, 4.0, 2.0, 4.0), (2.0, 4.0, 2.0, 4.0)],
        [(2.0, 3.0, 2.0, 3.0), (3.0, 4.0, 3.0, 4.0)],
        [(2.0, 3.0, 2.0, 3.0), (3.00005, 4.0, 2.0, 3.0)],
    ]
    quads = np.array([_hatch(10.0 * i + a, 10.0 * i + b, c, d) for i, g in enumerate(groups) for a, b, c, d in g])
    owner = np.repeat(np.arange(5), 2)
    w = walls(rooms)
    bad = ~w.ok
    h = hatches(w, quads, owner, bad)
    assert bad.tolist() == [False, False, False, True, True]
    assert sorted(np.bincount(h.room).tolist()) == [1, 1, 1, 2, 2]
    sizes = {int(r): int(s) for r, s in zip(h.room, h.size, strict=True) if r < 3}
    assert sizes == {0: 4, 1: 8, 2: 4}
    (first,) = h.points[h.room == 0]
    assert sorted(map(tuple, first[:4].tolist())) == [(2.0, 2.0), (2.0, 4.0), (6.0, 2.0), (6.0, 4.0)]


def test_an_atrium_drawn_as_two_halves_flush_with_the_walls_takes_the_panel_path() -> None:
    """An atrium opening as large as the room drawn as two hatches past its walls, each to a cell above: their
    union is a rectangle, flush with the walls as one hatch drawn so would be."""
    rects = [(-0.5, 4.0, -0.5, 10.5), (4.0, 8.5, -0.5, 10.5)]
    rays = _rays((0.5, 3.5, 0.5, 9.5), (4.5, 7.5, 0.5, 9.5))
    assert_flush_openings_open(box_room(0.0, 8.0, 0.0, 10.0), [_hatch(*r) for r in rects], rays, reach=1.05)


def test_a_level_with_an_l_shaped_stair_void_has_no_boolean_room() -> None:
    """Two storeys joined by an L-shaped stair void drawn as two hatches, each to the storey above (both
    rooms' slabs): no room takes the booleans, none keeps a triangle under 0.5 mm."""
    level = {
        "sceneId": "stair-l",
        "cells": [
            {"cellId": "low", "room": {"min": [0, 0, 0], "max": [8, 3, 10]}},
            {"cellId": "high", "room": {"min": [0, 3, 0], "max": [8, 6, 10]}},
        ],
        "portals": [
            {"from": "low", "to": "high", "quad": [2, 3, 2, 2, 3, 3, 4, 3, 3, 4, 3, 2]},
            {"from": "low", "to": "high", "quad": [2, 3, 3, 2, 3, 5, 3, 3, 5, 3, 3, 3]},
        ],
    }
    result = compile_scene(json.dumps(level).encode(), BuildOptions())
    assert result.meta["stats"]["booleanCells"] == 0
    for tri in cell_triangles(result.glb).values():
        assert heights(tri).min() >= 5e-4


def test_hatches_meeting_at_a_corner_alone_are_left_to_the_booleans() -> None:
    """Two hatches touching at one corner: their union is pinched there; the room takes the boolean path,
    which still cuts both."""
    quads = [_hatch(2.0, 3.0, 2.0, 3.0), _hatch(3.0, 4.0, 3.0, 4.0)]
    ir = scene({"r": box_room(0.0, 8.0, 0.0, 10.0)}, [("r", "x", q) for q in quads])
    assert generate_rooms(ir) == 1
    assert only_surface(ir, "r").indices.size


def test_a_group_drawn_meeting_at_a_corner_alone_within_float_rounding_is_not_drawn() -> None:
    """A square from the cavity's corner (0.1 + 0.005, 4 steps a side: its far side at 0.30500000000000005)
    and a copy shifted 4 steps each way (from 0.305) meet at a corner alone: the generator leaves such a
    group out (the booleans', :func:`test_hatches_that_meet_at_a_corner_within_float_rounding_take_the_booleans`),
    not taking it for one overlapping the other by 5e-17."""
    first = _group_start(0.1 + 0.005, 0.1 + 0.005, 4, 4)
    shifted = _on_grid((first[0] + 4 * STEP, first[1] + 4 * STEP, first[2] + 4 * STEP, first[3] + 4 * STEP))
    assert rect_union([first, shifted]) is None


def test_hatches_that_meet_at_a_corner_within_float_rounding_take_the_booleans() -> None:
    """Two floor hatches of an L-shaped room meeting at a corner alone, one's corner 5e-17 past the other's
    (0.30500000000000005 against 0.305): within ``WELD_EPS`` one corner, a pinch; the room takes the
    boolean path, which cuts both."""
    room = Room(np.array([[0, 0], [4, 0], [4, 2], [2, 2], [2, 4], [0, 4.0]]), 0.0, 2.8, 0.1, "wall")
    lo = 0.1 + 0.005
    rects = [(lo, lo + 0.2, lo, lo + 0.2), (0.305, 0.505, 0.305, 0.505)]
    assert rects[0][1] != rects[1][0]
    quads = [np.array([[a, 0.0, c], [a, 0.0, d], [b, 0.0, d], [b, 0.0, c]]) for a, b, c, d in rects]
    ir = scene({"r": room}, [("r", "x", q) for q in quads])
    assert generate_rooms(ir) == 1
    surface = only_surface(ir, "r")
    for a, b, c, d in rects:
        assert ray_hits(surface, np.array([(a + b) / 2, -1.0, (c + d) / 2]), np.array([0.0, 1.0, 0.0]), 2.0) == 0


@pytest.mark.parametrize("degrees", [12.5, 37.7, -151.3, 89.99])
def test_stair_voids_of_a_plan_turned_and_written_to_millimetres_take_the_panel_path(degrees: float) -> None:
    """Rounding a turned plan to millimetres puts the corners of two rectangles drawn to make an L (in an L-shaped
    hall) up to 0.7 mm off rectangles and off each other's sides: joined within that rounding (2 grid steps), as
    drawn, and built by the panels like the plan drawn exactly, every shell closed, every hatch open."""
    level = to_mm(turned_by(stair_voids(), degrees))
    ir = description_to_ir(parse_description(json.dumps(level).encode()), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    assert generate_rooms(ir) == 0
    check_shells(ir, 5e-4)
    assert blocked_portals(ir) == []
