"""Openings near a wall face's bottom or top border whose corners get vertices there are notches down
(up) to that border, the strip between them a quad of its own (``panels._border_strips``): the panel
path's solid stays the boolean path's, closed, with every opening open."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.geometry import panels
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
    """The openings given strips by each :func:`panels._border_strips` call from now on."""
    taken: list[int] = []
    strips = panels._border_strips

    def counted(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        bottom, top = strips(*args)
        taken.append(bottom.size + top.size)
        return bottom, top

    monkeypatch.setattr(panels, "_border_strips", counted)
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
