"""Openings near a wall face's bottom or top border whose corners get vertices there are notches down
(up) to that border, the strip between them a quad of its own (``panels.border_strips``): the panel
path's solid stays the boolean path's, closed, with every opening open."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.geometry.panels import wall_faces
from sceneforge.model.ir import Room

from .meshcheck import closed, ray_hits
from .test_panels import long_room_with_openings_near_borders, panel_and_boolean


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["box", "L"]), tall=st.booleans())
def test_openings_near_borders_build_the_boolean_solid(seed: int, shape: str, tall: bool) -> None:
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(seed), shape, tall)
    assert_the_boolean_solid_with_every_opening_open(room, quads)


def assert_the_boolean_solid_with_every_opening_open(room: Room, quads: list[np.ndarray]) -> None:
    """``room`` with wall openings ``quads`` on the panel path: closed, consistently wound, every opening
    open, the boolean path's solid."""
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface) and mesh.is_winding_consistent
    # Every opening open: a line through its middle across the wall (5 cm past either face) crosses nothing.
    reach = room.wall_thickness + 0.05
    for q in quads:
        normal = np.cross(q[1] - q[0], q[2] - q[0])
        normal /= np.linalg.norm(normal)
        assert ray_hits(surface, q.mean(axis=0) - reach * normal, normal, 2 * reach) == 0
    # The same solid: the volumes differ by float32 rounding of thousands of square metres of thin walls
    # (up to ~2e-4 m³ seen), far less than any opening's cut, which a wrong or missing one would change.
    cut = min(np.linalg.norm(q[1] - q[0]) * np.linalg.norm(q[2] - q[1]) for q in quads) * room.wall_thickness
    rounding = max(1e-6 * boolean.volume, cut / 4)
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding


def strips_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The openings given strips by each :func:`panels.border_strips.border_strips` call from now on."""
    taken: list[int] = []
    strips = wall_faces.border_strips

    def counted(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        bottom, top = strips(*args)
        taken.append(bottom.size + top.size)
        return bottom, top

    monkeypatch.setattr(wall_faces, "border_strips", counted)
    return taken


def test_the_random_rooms_above_take_the_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rooms of the property test are the case: their openings a few millimetres to centimetres
    # from the floor and the ceiling, most of them alone along their wall.
    taken = strips_taken(monkeypatch)
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(1))
    panel_and_boolean(room, quads)
    assert sum(taken) >= len(quads)


@pytest.mark.parametrize(("sill", "head", "pitch"), [(0.1, 2.899, 0.05), (0.5, 2.5, 0.25)])
def test_openings_near_both_borders_keep_the_flips_few(
    monkeypatch: pytest.MonkeyPatch, sill: float, head: float, pitch: float
) -> None:
    # 200 openings 2 cm wide along a wall 3 m tall with 0.1 m slabs: doorways every 5 cm from the floor's
    # top to 1 mm under the ceiling (the inner face's bottom reached, its top near), or windows every
    # 25 cm 0.5 m from both (near both borders, the wall's ends 16 m and more away). A notch to one
    # border left the other border's vertices to earcut, which dropped them, and to the mend's fans:
    # flips growing with the square of the openings. A cut from border to border leaves columns.
    from sceneforge.model.ir import Room

    from .test_delaunay_flips import reference
    from .test_panels import _wall_quad, assert_panels_without_slivers, flips_given

    doors = 200
    length = pitch * doors + 2.0
    room = Room(np.array([[0, 0], [length, 0], [length, 4], [0, 4]], float), 0.0, 3.0, 0.1, "wall")
    starts = 1.0 + pitch * np.arange(doors)
    quads = [_wall_quad(np.zeros(2), np.array([1.0, 0.0]), s, s + 0.02, sill, head) for s in starts]
    given = flips_given(monkeypatch)
    assert_panels_without_slivers(room, quads)
    assert sum(reference(points, index, None)[1] for points, index in given) <= 6 * doors


@pytest.mark.parametrize("gap", [0.2, 0.001])
def test_doorways_under_windows_take_their_strips_and_build_the_boolean_solid(
    gap: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 60 doorways 2 cm wide, every 5 cm along a 20 m wall, 10 cm over the floor's underside, each under a
    # window `gap` over its top reaching to 30 cm under the ceiling: the doorways' strips to the floor and
    # the windows' to the ceiling are quads (another opening over or under one keeps only the strip on
    # its own side), and the solid is the boolean path's with every opening open.
    from .test_panels import _wall_quad

    t = 0.1
    room = Room(np.array([[0, 0], [20, 0], [20, 4], [0, 4]], float), 0.0, 3.0, t, "wall")
    along = np.array([1.0, 0.0])
    quads = []
    for s in 7.0 + 0.05 * np.arange(60):
        quads += [
            _wall_quad(np.zeros(2), along, s, s + 0.02, 0.1, 2.0),
            _wall_quad(np.zeros(2), along, s, s + 0.02, 2.0 + gap, 2.7),
        ]
    taken = strips_taken(monkeypatch)
    assert_the_boolean_solid_with_every_opening_open(room, quads)
    assert sum(taken) >= 60  # the windows' strips at least (the doorways reach the inner face's bottom)


def _trapezoid(s: float, bottom: float, top: float, c: float, d: float) -> np.ndarray:
    """A portal quad on the wall z = 0 (the room's first wall, along x): a trapezoid centred at x = ``s``,
    ``bottom`` wide at height ``c``, ``top`` wide at ``d``."""
    return np.array([[s - bottom / 2, c, 0.0], [s - top / 2, d, 0.0], [s + top / 2, d, 0.0], [s + bottom / 2, c, 0.0]])


def shaped_strips_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The strips made by each :func:`panels.border_strips.shaped_strips` call from now on."""
    taken: list[int] = []
    strips = wall_faces.shaped_strips

    def counted(*args: Any) -> Any:
        win, (edge, quads) = strips(*args)
        taken.append(edge.size)
        return win, (edge, quads)

    monkeypatch.setattr(wall_faces, "shaped_strips", counted)
    return taken


def stacked_pairs_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pairs found by each :func:`panels.border_strips.stacked_pairs` call from now on."""
    taken: list[int] = []
    pairs = wall_faces.stacked_pairs

    def counted(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = pairs(*args)
        taken.append(lower.size)
        return lower, upper

    monkeypatch.setattr(wall_faces, "stacked_pairs", counted)
    return taken


@pytest.mark.parametrize("sill", [0.1, 0.15])
def test_trapezoids_near_the_floor_keep_the_flips_few(monkeypatch: pytest.MonkeyPatch, sill: float) -> None:
    # 200 trapezoids 0.8 m wide at the bottom, 0.5 m at the top (2 m), one every 1.2 m, standing on the floor's
    # top (notches of the inner face) or 5 cm over it (windows): the outer face's bottom border gets a vertex
    # under their bottom corners, which earcut dropped and the mend fanned, as it did a rectangle's: 38,609
    # (77,118) flips. Their side along the border a notch's, the strip under it a quad: a few flips each.
    from .test_delaunay_flips import reference
    from .test_panels import assert_panels_without_slivers, flips_given

    n = 200
    length = 1.2 * n + 2.0
    room = Room(np.array([[0, 0], [length, 0], [length, 4], [0, 4]], float), 0.0, 3.0, 0.1, "wall")
    quads = [_trapezoid(1.4 + 1.2 * i, 0.8, 0.5, sill, 2.0) for i in range(n)]
    given, taken = flips_given(monkeypatch), shaped_strips_taken(monkeypatch)
    assert_panels_without_slivers(room, quads)
    assert sum(taken) >= n // 4  # (those more than ~100 m from the wall's ends)
    assert sum(reference(points, index, None)[1] for points, index in given) <= 6 * n


def test_trapezoids_near_the_borders_take_their_strips_and_build_the_boolean_solid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Trapezoids along a 30 m wall a few millimetres to centimetres from the floor's top or the ceiling's
    # underside (windows), on the floor's top or up to the ceiling (notches of the inner face), wide side or
    # narrow side to the border, one under a rectangle: those whose side along a border gets vertices there
    # are notches to that border with a quad under (over) them; the solid is the boolean path's.
    t = 0.1
    room = Room(np.array([[0, 0], [30, 0], [30, 4], [0, 4]], float), 0.0, 3.0, t, "wall")
    quads = []
    for k, s in enumerate(8.0 + 1.1 * np.arange(15)):
        wide, narrow = (0.8, 0.5) if k % 2 == 0 else (0.5, 0.8)
        kind = k % 5
        if kind == 0:
            quads.append(_trapezoid(s, wide, narrow, 0.105, 2.0))  # 5 mm over the floor's top
        elif kind == 1:
            quads.append(_trapezoid(s, narrow, wide, 0.8, 2.89))  # 1 cm under the ceiling
        elif kind == 2:
            quads.append(_trapezoid(s, wide, narrow, t, 2.0))  # on the floor's top
        elif kind == 3:
            quads.append(_trapezoid(s, wide, narrow, 0.13, 2.0))
            quads.append(_trapezoid(s, 0.6, 0.6, 2.3, 2.6))  # a rectangle over it
        else:
            quads.append(_trapezoid(s, wide, narrow, 0.105, 2.895))  # near both: a cut with slanted sides
    taken = shaped_strips_taken(monkeypatch)
    assert_the_boolean_solid_with_every_opening_open(room, quads)
    assert sum(taken) >= 9


@pytest.mark.parametrize(("gap", "shift"), [(0.2, 0.0), (0.001, 0.0), (0.2, 0.01)])
def test_doorways_under_windows_keep_the_flips_few(monkeypatch: pytest.MonkeyPatch, gap: float, shift: float) -> None:
    # 200 doorways 2 cm wide, one every 5 cm along a 12 m wall, each under a window 2 cm wide (the same span,
    # or 1 cm along), `gap` over it, 20 cm under the ceiling: the windows' strips to the ceiling not taken
    # (the wall too short for their corners to need vertices there), the band between the doorways' tops
    # and the windows' bottoms ran the wall's length, and earcut joined its vertices metres apart: 159,003
    # flips (325,204 with the 1 mm band, whose lintels and sills at nearly one height put vertices on the
    # ceiling over the doorways). Each pair with its band a quad of its own is one notch (with a window's
    # strip to the ceiling, a cut from border to border): a few flips each.
    from .test_delaunay_flips import reference
    from .test_panels import _wall_quad, assert_panels_without_slivers, flips_given

    n = 200
    length = 0.05 * n + 2.0
    room = Room(np.array([[0, 0], [length, 0], [length, 4], [0, 4]], float), 0.0, 3.0, 0.1, "wall")
    along = np.array([1.0, 0.0])
    quads = []
    for s in 1.0 + 0.05 * np.arange(n):
        quads += [
            _wall_quad(np.zeros(2), along, s, s + 0.02, 0.1, 2.0),
            _wall_quad(np.zeros(2), along, s + shift, s + shift + 0.02, 2.0 + gap, 2.7),
        ]
    given, taken = flips_given(monkeypatch), stacked_pairs_taken(monkeypatch)
    assert_panels_without_slivers(room, quads)
    assert sum(taken) >= n
    assert sum(reference(points, index, None)[1] for points, index in given) <= 12 * n


def test_openings_over_one_another_build_the_boolean_solid(monkeypatch: pytest.MonkeyPatch) -> None:
    # Along a 20 m wall, pairs 2 cm wide one over the other, each pair one notch, hole or cut with the band
    # between them a quad: doorways under windows 20 cm under the ceiling (with a strip to it more than
    # 6.4 m from the wall's ends: a cut with slanted sides) a centimetre along (or back), windows under
    # windows (one hole), windows under windows reaching the ceiling (a notch from the top), doorways under
    # windows reaching it with the same span (a cut from border to border).
    from .test_panels import _wall_quad

    t = 0.1
    room = Room(np.array([[0, 0], [20, 0], [20, 4], [0, 4]], float), 0.0, 3.0, t, "wall")
    along = np.array([1.0, 0.0])
    quads = []
    kinds = [(0.0, 2.0, 2.2, 2.7), (0.5, 1.0, 1.2, 2.0), (0.5, 1.5, 1.7, 3.0), (0.1, 2.0, 2.3, 3.0)]
    for k, s in enumerate(6.0 + 0.3 * np.arange(24)):
        c1, d1, c2, d2 = kinds[k % 4]
        shift = 0.0 if k % 4 == 3 else (0.01, -0.01)[(k // 4) % 2]
        quads += [
            _wall_quad(np.zeros(2), along, s, s + 0.02, c1, d1),
            _wall_quad(np.zeros(2), along, s + shift, s + shift + 0.02, c2, d2),
        ]
    taken = stacked_pairs_taken(monkeypatch)
    assert_the_boolean_solid_with_every_opening_open(room, quads)
    assert sum(taken) >= 24


def long_room_with_openings_over_one_another(rng: np.random.Generator) -> tuple[Room, list[np.ndarray]]:
    """A long box room turned to any angle, its walls holding pairs of rectangles one over the other (a
    doorway or window under a window), 5 mm to 30 cm wide, the upper one as wide or a little along (either
    way), from the floor's underside, its top or a few millimetres to centimetres over it, to a few
    millimetres to centimetres under the ceiling or its top, the band between them 5 mm to 30 cm; some lone
    openings among them."""
    from .test_panels import _wall_quad

    t = float(rng.choice([0.02, 0.1, 0.2]))
    length = float(rng.uniform(20.0, 60.0))
    depth = length * float(rng.uniform(0.25, 0.4))
    h, y0 = float(rng.choice([2.6, 3.0])), float(rng.choice([0.0, -1.5]))
    angle = float(rng.uniform(0.0, 2 * np.pi))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    outline = np.array([[0, 0], [length, 0], [length, depth], [0, depth]], float) @ turn.T
    room = Room(outline, y0, h, t, "wall")
    floor_top, ceiling = y0 + t, y0 + h - t

    def gap() -> float:  # log-uniform 5 mm to 5 cm, or a wider one
        return float(np.exp(rng.uniform(np.log(0.005), np.log(0.05)))) if rng.random() < 0.7 else 0.3

    quads = []
    for e in range(4):
        p, q = outline[e], outline[(e + 1) % 4]
        wall = float(np.hypot(*(q - p)))
        tangent = (q - p) / wall
        s = t + gap()
        while True:
            width = float(np.exp(rng.uniform(np.log(0.005), np.log(0.3))))
            shift = 0.0 if rng.random() < 0.5 else float(rng.uniform(-0.8, 0.8)) * width
            if s + width + abs(shift) + 0.005 > wall - t:
                break
            a = s + max(0.0, -shift)
            bottom = float(rng.choice([y0, floor_top, floor_top + gap()]))
            top = float(rng.choice([y0 + h, ceiling, ceiling - gap()]))
            middle = float(rng.uniform(floor_top + 0.5, ceiling - 0.9))  # (the upper one 0.3 m tall or more)
            band = gap()
            quads.append(_wall_quad(p, tangent, a, a + width, bottom, middle))
            if rng.random() < 0.85:
                quads.append(_wall_quad(p, tangent, a + shift, a + shift + width, middle + band, top))
            s += width + abs(shift) + gap() * float(rng.choice([1.0, 10.0]))
    return room, quads


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_openings_over_one_another_build_the_boolean_solid_at_random(seed: int) -> None:
    room, quads = long_room_with_openings_over_one_another(np.random.default_rng(seed))
    assert_the_boolean_solid_with_every_opening_open(room, quads)
