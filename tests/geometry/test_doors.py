"""place_door: the doorway on the wall two rooms share; door_cutters: which walls a portal lies on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry import door_cutters, generate_rooms, place_door, scene_door_cutters
from sceneforge.model.ir import Portal, Room

from .meshcheck import T, as_trimesh, box_room, only_surface, ray_hits, scene


def portal_normal(quad: np.ndarray) -> np.ndarray:
    return Portal(0, "a", "b", quad).normal


def test_place_door_on_touching_boxes_is_centred_on_the_floor_and_faces_b() -> None:
    a, b = box_room(-2, 2, -2, 2), box_room(2, 6, -2, 2)
    quad = place_door(a, b, 1.2, 2.1)
    assert quad is not None and quad.shape == (4, 3) and quad.dtype == np.float64
    assert np.allclose(quad[:, 0], 2.0)
    assert np.allclose(sorted(set(np.round(quad[:, 2], 9))), [-0.6, 0.6])
    assert np.allclose(sorted(set(np.round(quad[:, 1], 9))), [T, T + 2.1])
    assert np.allclose(portal_normal(quad), [1, 0, 0])
    back = place_door(b, a, 1.2, 2.1)
    assert back is not None
    assert np.allclose(portal_normal(back), [-1, 0, 0])
    assert np.allclose(np.sort(back, axis=0), np.sort(quad, axis=0))


def test_place_door_matches_the_original_example_winding() -> None:
    quad = place_door(box_room(-2, 2, -2, 2), box_room(2, 6, -2, 2), 1.2, 2.0)
    example = np.array([2.0, 0.1, -0.6, 2.0, 2.1, -0.6, 2.0, 2.1, 0.6, 2.0, 0.1, 0.6]).reshape(4, 3)
    assert quad is not None and np.allclose(quad, example)


def test_place_door_without_a_shared_wall_is_none() -> None:
    hall, kitchen = box_room(-2, 2, -2, 2), box_room(2.5, 6.5, -2, 2)  # a 0.5 m gap
    assert place_door(hall, kitchen, 1.0, 2.0) is None
    corner_only = box_room(2, 6, 2, 6)  # touching at one point
    assert place_door(hall, corner_only, 0.1, 2.0) is None
    stacked = box_room(-2, 2, -2, 2, y=3.0)  # same outline above: no wall faces it
    assert place_door(hall, stacked, 1.0, 2.0) is None


def test_place_door_within_contact_tolerance_still_finds_the_wall() -> None:
    quad = place_door(box_room(-2, 2, -2, 2), box_room(2.0005, 6, -2, 2), 1.0, 2.0)
    assert quad is not None and np.allclose(quad[:, 0], 2.00025)


def test_place_door_centres_on_the_shared_stretch_and_applies_offset() -> None:
    a, b = box_room(0, 4, 0, 4), box_room(4, 8, 2, 9)  # shared: x = 4, z ∈ [2, 4]
    quad = place_door(a, b, 1.0, 2.0)
    assert quad is not None and quad[:, 2].mean() == pytest.approx(3.0)
    shifted = place_door(a, b, 1.0, 2.0, offset=0.5)  # a's east edge runs towards +z
    assert shifted is not None and shifted[:, 2].mean() == pytest.approx(3.5)
    assert place_door(a, b, 1.0, 2.0, offset=0.6) is None  # would leave the shared stretch
    assert place_door(a, b, 2.5, 2.0) is None  # wider than the shared stretch


def test_place_door_too_tall_is_none_and_sits_on_the_higher_floor() -> None:
    a, b = box_room(0, 4, 0, 4, y=0.0), box_room(4, 8, 0, 4, y=0.3)
    quad = place_door(a, b, 1.0, 2.0)
    assert quad is not None and quad[:, 1].min() == pytest.approx(0.3 + T)
    assert place_door(a, b, 1.0, 2.5) is not None  # reaches a's ceiling underside at 2.9 exactly
    assert place_door(a, b, 1.0, 2.6) is None


def test_place_door_picks_the_longest_shared_wall() -> None:
    # b wraps around a's north-east corner: shared 1 m on a's east wall, 3 m on its north wall.
    a = box_room(0, 4, 0, 4)
    b = Room(np.array([[4, 3], [6, 3], [6, 6], [1, 6], [1, 4], [4, 4]], np.float64), 0.0, 3.0, T, "wall")
    quad = place_door(a, b, 0.8, 2.0)
    assert quad is not None
    assert np.allclose(quad[:, 2], 4.0) and quad[:, 0].mean() == pytest.approx(2.5)
    assert np.allclose(portal_normal(quad), [0, 0, 1])


@given(
    side=st.integers(0, 3),
    size=st.tuples(st.floats(2.0, 8.0), st.floats(2.0, 8.0)),
    other=st.tuples(st.floats(2.0, 8.0), st.floats(-3.0, 3.0)),
    width=st.floats(0.3, 1.5),
    offset=st.floats(-2.0, 2.0),
)
def test_place_door_quads_face_b_and_cut_both_walls(
    side: int, size: tuple[float, float], other: tuple[float, float], width: float, offset: float
) -> None:
    w, d = size
    extent, shift = other
    a = box_room(0, w, 0, d)
    b = [
        box_room(w, w + extent, shift, shift + d),
        box_room(shift, shift + w, d, d + extent),
        box_room(-extent, 0, shift, shift + d),
        box_room(shift, shift + w, -extent, 0),
    ][side]
    quad = place_door(a, b, width, 2.0, offset)
    if quad is None:
        return
    centre_a, centre_b = a.floor.mean(axis=0), b.floor.mean(axis=0)
    normal = portal_normal(quad)
    assert normal[[0, 2]] @ (centre_b - centre_a) > 0
    assert abs(normal[1]) < 1e-12
    ir = scene({"a": a, "b": b}, [("a", "b", quad)])
    generate_rooms(ir)
    for cell_id in ("a", "b"):
        surface = only_surface(ir, cell_id)
        assert as_trimesh(surface).is_watertight
        assert ray_hits(surface, quad.mean(axis=0) - normal, normal, 2.0) == 0


def test_door_cutters_find_the_wall_a_portal_lies_on() -> None:
    hall = box_room(-2, 2, -2, 2)
    on_east = np.array([[2.0, 0.2, -0.6], [2.0, 2.2, -0.6], [2.0, 2.2, 0.6], [2.0, 0.2, 0.6]])
    off = on_east + np.array([0.5, 0, 0])
    inside = on_east - np.array([1.0, 0, 0])
    prisms = door_cutters(hall, np.stack([on_east, off, inside]))
    assert prisms.shape == (1, 8, 3)
    assert np.allclose(sorted(set(np.round(prisms[0, :, 0], 9))), [1.9 - 1e-4, 2.0 + 1e-4])
    assert door_cutters(hall, np.empty((0, 4, 3))).shape == (0, 8, 3)


def test_scene_door_cutters_match_room_by_room() -> None:
    rooms = [
        box_room(-2, 2, -2, 2),
        Room(np.array([[2, -2], [2, 4], [5, 4], [5, 1], [8, 1], [8, -2]], np.float64), 0.0, 3.0, T, "w"),
        box_room(-2, 2, -2, 2, y=3.0),
    ]
    east = np.array([[2.0, 0.2, -0.6], [2.0, 2.2, -0.6], [2.0, 2.2, 0.6], [2.0, 0.2, 0.6]])
    hatch = np.array([[0, 3, 0], [0, 3, 1], [1, 3, 1], [1, 3, 0]], np.float64)
    quads = np.stack([east, hatch, east, hatch, east + np.array([3.0, 0, 2.5])])
    owners = np.array([0, 0, 1, 2, 1])
    prisms, owner = scene_door_cutters(rooms, quads, owners)
    assert owner.tolist() == sorted(owner.tolist()) == [0, 0, 1, 1, 2]
    for i, room in enumerate(rooms):
        assert np.array_equal(prisms[owner == i], door_cutters(room, quads[owners == i]))


@given(
    rows=st.lists(
        st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0]), min_size=4, max_size=4),
        min_size=1,
        max_size=30,
    )
)
@settings(max_examples=300)
def test_column_reduce_is_the_row_reduction(rows: list[list[float]]) -> None:
    # The hit tests reduce each quad's four corners column by column: the same as numpy's reductions.
    from sceneforge.geometry.doors import column_reduce

    a = np.array(rows)
    # To the bit (signed zeros too): the hit corners' extremes are the openings' sides. A NaN stays
    # a NaN (numpy's reduction writes its own NaN; hits never have one: every comparison fails).
    for op, cols in ((np.maximum, 4), (np.minimum, 4), (np.maximum, 3)):
        mine, reduced = column_reduce(op, a[:, :cols]), op.reduce(a[:, :cols], axis=1)
        nan = np.isnan(reduced)
        assert np.array_equal(np.isnan(mine), nan)
        assert mine[~nan].tobytes() == reduced[~nan].tobytes()
    assert np.array_equal(column_reduce(np.logical_and, a > 0), (a > 0).all(axis=1))
    bits = np.left_shift(1, (np.nan_to_num(a) > 0) * 2 + (np.nan_to_num(a) < 1))
    assert np.array_equal(column_reduce(np.bitwise_or, bits), np.bitwise_or.reduce(bits, axis=1))
