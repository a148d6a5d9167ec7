"""Which way up a tagged GLB stands: the doorways' vote (:func:`~sceneforge.ingest.glb_portals.z_up`) and the
cells' own (:func:`~sceneforge.ingest.up_axis.flat_ended`), on hand-made portals and cells."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.ingest.glb_portals import z_up
from sceneforge.ingest.up_axis import flat_ended
from sceneforge.model.ir import Cell, Portal, Surface


def _turn(points: np.ndarray, degrees: float) -> np.ndarray:
    """``points`` (n, 3) turned about Y, as :func:`sceneforge.generate.turned` turns a plan."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    x, y, z = points.T
    return np.stack([x * c - z * s, y, x * s + z * c], axis=1)


def _box(lo: tuple[float, float, float], hi: tuple[float, float, float], degrees: float) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], float)
    turned = _turn(corners, degrees)
    return np.concatenate([turned.min(axis=0), turned.max(axis=0)])


def test_a_turned_serving_hatch_near_a_corner_is_no_vote_for_z() -> None:
    """Two rooms 2.4 m tall, 4 m deep, turned 25° about Y, joined by a serving hatch 0.9 m above the floor, 2.5 m wide,
    at one end of their wall: along Z (its width, slanted 25° off the axis) it met the corner the turned room's box
    starts at and spanned much of the box: it voted Z in a +Y-up file. A quad votes along an axis only when upright
    along it: a turned plan's doorways are upright along the axis it is turned about alone."""
    degrees = 25.0
    hatch = _turn(np.array([[3, 0.9, 2.5], [3, 1.7, 2.5], [3, 1.7, 0], [3, 0.9, 0]], float), degrees)
    boxes = {"a": _box((0, 0, 0), (3, 2.4, 4), degrees), "b": _box((3, 0, 0), (6, 2.4, 4), degrees)}
    assert not z_up([Portal(0, "a", "b", hatch)], boxes)


@pytest.mark.parametrize("up", [1.0, -1.0])
def test_doorways_standing_on_floors_along_either_z_vote_for_z(up: float) -> None:
    """Two rooms 5 × 3 m and 7 × 3 m on plan, 3 m tall, side by side along X, lying on their side with their up along
    ``up`` × Z: +Z from a Z-up export, -Z from a level turned -90° about X in Blender (to be "Y up") and exported +Y
    up, which left its floors at the boxes' high Z and its doorway hanging from them when read along +Z alone: it was
    not told. Boxes along the axes, alike both ways: the doorway alone votes. Stood upright (Y up): no vote for Z."""
    lying = {"a": np.array([0, -5, 0, 5, 0, 3], float), "b": np.array([5, -5, 0, 12, 0, 3], float)}
    door = np.array([[5, -3, 0], [5, -2, 0], [5, -2, 2.1], [5, -3, 2.1]], float)
    if up < 0:
        lying = {k: np.array([x0, y0, -z1, x1, y1, -z0]) for k, (x0, y0, z0, x1, y1, z1) in lying.items()}
        door = door * [1, 1, -1]
        door = door[[0, 3, 2, 1]]  # still facing +X, into b
    assert z_up([Portal(0, "a", "b", door)], lying)
    upright = {"a": np.array([0, 0, 2, 5, 3, 7], float), "b": np.array([5, 0, 2, 12, 3, 7], float)}
    in_the_wall = np.array([[5, 0, 5], [5, 2.1, 5], [5, 2.1, 4], [5, 0, 4]], float)
    assert not z_up([Portal(0, "a", "b", in_the_wall)], upright)


def _surface(triangles: np.ndarray) -> Surface:
    positions = triangles.reshape(-1, 3).astype(np.float32)
    count = len(positions)
    return Surface(
        "m",
        positions,
        np.zeros((count, 3), np.float32),
        np.zeros((count, 2), np.float32),
        np.arange(count, dtype=np.uint32).reshape(-1, 3),
    )


def _quad(a: tuple[float, ...], b: tuple[float, ...], c: tuple[float, ...], d: tuple[float, ...]) -> np.ndarray:
    return np.array([[a, b, c], [a, c, d]], float)


def _walls(size: float, height: float) -> list[np.ndarray]:
    """Four walls around a square ``size`` across, ``height`` tall, along the axes."""
    s, h = size, height
    return [
        _quad((0, 0, 0), (s, 0, 0), (s, h, 0), (0, h, 0)),
        _quad((0, 0, s), (0, h, s), (s, h, s), (s, 0, s)),
        _quad((0, 0, 0), (0, h, 0), (0, h, s), (0, 0, s)),
        _quad((s, 0, 0), (s, 0, s), (s, h, s), (s, h, 0)),
    ]


def test_a_courtyard_of_uneven_ground_between_straight_walls_is_no_vote_for_z() -> None:
    """A cell 10 m across with walls 3 m tall along the axes, open to the sky, its ground uneven (a terrain of bumps
    up to 0.4 m): no face across Y at its ends, flat walls across Z at its ends, so it had flat ends along Z alone
    and voted Z. Most of its area faces neither along Z nor across it: no vote. Its floor made flat, it is a box room
    open above, alike along both axes: no vote either."""
    rng = np.random.default_rng(7)
    n, size = 20, 10.0
    grid = np.linspace(0.0, size, n + 1)
    heights = rng.uniform(0.0, 0.4, (n + 1, n + 1))
    ground = []
    for i in range(n):
        for j in range(n):
            p = [(grid[i + di], heights[i + di, j + dj], grid[j + dj]) for di, dj in ((0, 0), (0, 1), (1, 1), (1, 0))]
            ground.append(_quad(*p))
    courtyard = Cell("yard", surfaces=[_surface(np.concatenate(ground + _walls(size, 3.0)))])
    assert flat_ended([courtyard]) == (0, 0)
    flat = Cell(
        "flat",
        surfaces=[
            _surface(
                np.concatenate([_quad((0, 0, 0), (0, 0, size), (size, 0, size), (size, 0, 0)), *_walls(size, 3.0)])
            )
        ],
    )
    assert flat_ended([flat]) == (0, 0)


def test_a_turned_room_has_flat_ends_along_y_alone_and_lying_on_its_side_along_z() -> None:
    """A room 4 × 3 m, 2.5 m tall, floored and ceiled, turned 30° about Y: its floor and ceiling face Y at its box's
    ends, and its box's ends along Z are corners of walls. Lying on its side (y → z), the other way round."""
    walls = [np.concatenate(_walls(1.0, 1.0)) * (4.0, 2.5, 3.0)]
    floor = _quad((0, 0, 0), (0, 0, 3), (4, 0, 3), (4, 0, 0))
    ceiling = _quad((0, 2.5, 0), (4, 2.5, 0), (4, 2.5, 3), (0, 2.5, 3))
    room = np.concatenate([*walls, floor, ceiling])
    turned = _turn(room.reshape(-1, 3), 30.0).reshape(room.shape)
    assert flat_ended([Cell("room", surfaces=[_surface(turned)])]) == (1, 0)
    assert flat_ended([Cell("room", surfaces=[_surface(turned[..., [0, 2, 1]] * (1, -1, 1))])]) == (0, 1)
    assert flat_ended([Cell("room", surfaces=[_surface(room)])]) == (0, 0)  # a box along the axes: alike


def test_cells_read_together_in_small_batches_vote_as_each_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell's triangles are read together, a batch holding parts of several cells and a cell split over
    batches: the votes are those of each cell read alone (rooms turned at several angles, some lying on their side,
    a box along the axes, a courtyard)."""
    from sceneforge.ingest import up_axis

    walls = np.concatenate(_walls(1.0, 1.0)) * (4.0, 2.5, 3.0)
    floor = _quad((0, 0, 0), (0, 0, 3), (4, 0, 3), (4, 0, 0))
    room = np.concatenate([walls, floor, floor + np.array([0, 2.5, 0])])
    cells = []
    for k, degrees in enumerate((0.0, 10.0, 30.0, 45.0, 70.0)):
        turned = _turn(room.reshape(-1, 3), degrees).reshape(room.shape) + np.array([10.0 * k, 0, 0])
        side = turned[..., [0, 2, 1]] * (1, -1, 1)
        cells += [
            Cell(f"y{k}", surfaces=[_surface(turned[:5]), _surface(turned[5:])]),
            Cell(f"z{k}", [], [_surface(side)]),
        ]
    alone = [flat_ended([c]) for c in cells]
    monkeypatch.setattr(up_axis, "_CHUNK", 7)
    assert flat_ended(cells) == (sum(y for y, _ in alone), sum(z for _, z in alone)) == (4, 4)
