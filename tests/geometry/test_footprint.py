"""geometry.footprint: a cell's plan seen from above, for rooms and for cells of meshes (docs/meta.md, ``floor``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry.footprint import cell_plans, mesh_plan
from sceneforge.model.ir import Cell, Room, Surface


def _surface(triangles: list[list[tuple[float, float, float]]]) -> Surface:
    points = np.asarray(triangles, np.float32).reshape(-1, 3)
    n = points.shape[0]
    return Surface("m", points, np.tile(np.float32([0, 1, 0]), (n, 1)), np.zeros((n, 2), np.float32),
                   np.arange(n, dtype=np.uint32).reshape(-1, 3))  # fmt: skip


def _slab(x0: float, z0: float, x1: float, z1: float, y: float = 0.0, up: bool = True) -> list:
    """A rectangle at height ``y`` as two triangles, wound to face up (or down)."""
    a, b, c, d = (x0, y, z0), (x1, y, z0), (x1, y, z1), (x0, y, z1)
    return [[a, c, b], [a, d, c]] if up else [[a, b, c], [a, c, d]]


def _area(plan: tuple[float, ...]) -> float:
    p = np.asarray(plan).reshape(-1, 2)
    return float((p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]).sum()) / 2


def test_an_l_of_slabs_wound_either_way_is_its_outline_from_its_least_corner() -> None:
    tris = _slab(0, 0, 6, 3) + _slab(0, 3, 3, 6, up=False) + _slab(0, 0, 6, 3, y=3, up=False)
    plan = mesh_plan([_surface(tris)])
    assert plan == (0.0, 0.0, 6.0, 0.0, 6.0, 3.0, 3.0, 3.0, 3.0, 6.0, 0.0, 6.0)
    assert _area(plan) == 27.0  # counter-clockwise in (x, z): positive, like a room's floor


def test_walls_seen_from_above_cover_nothing() -> None:
    wall = [[(0, 0, 0), (4, 0, 0), (4, 3, 0)], [(0, 0, 0), (4, 3, 0), (0, 3, 0)]]
    assert mesh_plan([_surface(wall)]) is None
    assert mesh_plan([]) is None


@pytest.mark.parametrize(
    ("tris", "why"),
    [
        (_slab(0, 0, 4, 4) + _slab(2, 2, 3, 3, y=1), "an axis-aligned rectangle: the box says it"),
        (_slab(0, 0, 2, 2) + _slab(5, 0, 7, 2), "two pieces: only the box holds both"),
    ],
)
def test_plans_the_box_already_says_are_none(tris: list, why: str) -> None:
    assert mesh_plan([_surface(tris)]) is None, why


def test_a_courtyard_is_inside_the_outer_ring() -> None:
    ring = _slab(0, 0, 9, 3) + _slab(0, 6, 9, 9) + _slab(0, 3, 3, 6) + _slab(6, 3, 9, 6)
    turned = [[(x + z * 0.5, y, z) for x, y, z in t] for t in ring]  # sheared: not a rectangle
    plan = mesh_plan([_surface(turned)])
    assert plan is not None and len(plan) == 8 and _area(plan) == pytest.approx(81.0)


def test_far_from_the_origin_the_outline_keeps_float32_s_numbers() -> None:
    x0, z0 = 900_000.0, -700_000.0
    tris = _slab(x0, z0, x0 + 6, z0 + 3) + _slab(x0, z0 + 3, x0 + 3, z0 + 6)
    plan = mesh_plan([_surface(tris)])
    assert plan is not None and plan[:2] == (x0, z0) and _area(plan) == pytest.approx(27.0)


def test_rooms_keep_their_floor_polygon() -> None:
    l_floor = np.array([[0, 0], [6, 0], [6, 3], [3, 3], [3, 6], [0, 6]], np.float64)
    box = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], np.float64)
    cells = [
        Cell("l", Room(l_floor, 0.0, 3.0, 0.1, "m")),
        Cell("b", Room(box, 0.0, 3.0, 0.1, "m")),
        Cell("m", None, [_surface(_slab(0, 0, 1, 1))]),
    ]
    assert cell_plans(cells) == [tuple(l_floor.reshape(-1).tolist()), None, None]


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=20),
    st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_a_polyomino_s_shadow_covers_its_squares(squares: set[tuple[int, int]], up: list[bool]) -> None:
    """Unit squares, each wound up or down at its own height: the outline (when there is one) has at least the
    squares' area (holes inside it count: the outer ring holds them); none for one rectangle or several pieces."""
    tris = [t for k, (i, j) in enumerate(sorted(squares)) for t in _slab(i, j, i + 1, j + 1, y=float(k), up=up[k])]
    plan = mesh_plan([_surface(tris)])
    xs, zs = {i for i, _ in squares}, {j for _, j in squares}
    full = len(squares) == (max(xs) - min(xs) + 1) * (max(zs) - min(zs) + 1)
    if full:
        assert plan is None
    elif plan is not None:
        assert _area(plan) >= len(squares) - 1e-9
        corners = np.asarray(plan).reshape(-1, 2)
        assert np.array_equal(corners, np.round(corners))  # corners of squares, nothing in between
