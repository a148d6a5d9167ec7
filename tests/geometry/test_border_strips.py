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

from .meshcheck import closed
from .test_panels import long_room_with_openings_near_borders, panel_and_boolean


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["box", "L"]), tall=st.booleans())
def test_openings_near_borders_build_the_boolean_solid(seed: int, shape: str, tall: bool) -> None:
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(seed), shape, tall)
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface) and mesh.is_winding_consistent
    rounding = 1e-6 * max(1.0, boolean.volume)  # float32 positions
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding


def test_the_random_rooms_above_take_the_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rooms of the property test are the case: their openings a few millimetres to centimetres
    # from the floor and the ceiling, most of them alone along their wall.
    taken: list[int] = []
    strips = panels._border_strips

    def counted(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        bottom, top = strips(*args)
        taken.append(bottom.size + top.size)
        return bottom, top

    monkeypatch.setattr(panels, "_border_strips", counted)
    room, quads = long_room_with_openings_near_borders(np.random.default_rng(1))
    panel_and_boolean(room, quads)
    assert sum(taken) >= len(quads)
