"""``rooms_overlap`` (docs/scene-format.md, "Rooms"): a room reaching into the space inside another's walls is
reported once per pair, at the later cell's room; rooms meeting inside their walls are not."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import compile_scene
from sceneforge.config import Limits
from sceneforge.ingest.description import parse_description
from sceneforge.ingest.lowering import description_to_ir
from sceneforge.model.ir import Cell, Room
from sceneforge.validate import overlaps
from sceneforge.validate.overlaps import MAX_LISTED, overlapping_rooms
from tests.test_awkward_levels import box, poly, resolve, scene

Level = dict[str, Any]


def _overlaps(level: Level) -> list[tuple[str, str]]:
    ir = description_to_ir(parse_description(json.dumps(level).encode()), resolve, Limits())
    return [(w.path, w.message) for w in overlapping_rooms(ir.cells)]


def _two(a: tuple, b: tuple, t: float = 0.1) -> Level:
    return scene("two", [box("a", *a, t=t), box("b", *b, t=t)], [])


def test_a_room_copied_and_not_moved_is_reported_at_the_copy_naming_both() -> None:
    level = _two(((0, 0, 0), (4, 3, 4)), ((0, 0, 0), (4, 3, 4)))
    [(path, message)] = _overlaps(level)
    assert path == "/cells/1/room"
    assert "the rooms of cells 'a' and 'b' overlap: 3.8 × 2.8 × 3.8 m (x × y × z)" in message
    # The build goes on, with the warning in the meta.
    result = compile_scene(json.dumps(level).encode())
    assert [(w.path, w.code, w.severity) for w in result.warnings if w.code == "rooms_overlap"] == [
        ("/cells/1/room", "rooms_overlap", "warning")
    ]


@pytest.mark.parametrize(
    ("b_min_x", "reported"),
    [
        (4.0, False),  # touching: one wall twice as thick
        (3.95, False),  # 5 cm into a's 10 cm wall: the walls meet inside each other
        (3.9005, False),  # to within 0.5 mm of a's space
        (3.898, True),  # 2 mm into a's space
        (3.5, True),
    ],
)
def test_rooms_drawn_into_each_others_walls_are_not_reported_into_their_space_they_are(
    b_min_x: float, reported: bool
) -> None:
    assert bool(_overlaps(_two(((0, 0, 0), (4, 3, 4)), ((b_min_x, 0, 0), (8, 3, 4))))) == reported


def test_storeys_touching_are_not_reported_a_storey_drawn_into_the_one_below_is() -> None:
    assert _overlaps(_two(((0, 0, 0), (4, 3, 4)), ((0, 3, 0), (4, 6, 4)))) == []
    [(path, message)] = _overlaps(_two(((0, 0, 0), (4, 3, 4)), ((0, 2.5, 0), (4, 5.5, 4))))
    assert path == "/cells/1/room" and "3.8 × 0.4 × 3.8 m" in message


def test_a_closet_drawn_inside_its_hall_is_reported() -> None:
    level = _two(((0, 0, 0), (10, 3, 10)), ((4, 0, 4), (6, 3, 6)))
    [(path, message)] = _overlaps(level)
    assert path == "/cells/1/room" and "2 × 2.8 × 2 m" in message


#: An L-shaped room whose inner corner is at (3, 3).
L_FLOOR = [(0, 0), (6, 0), (6, 3), (3, 3), (3, 6), (0, 6)]


def test_a_room_in_an_ls_notch_is_not_reported_one_reaching_into_the_l_is() -> None:
    """The boxes overlap either way: the plans decide."""
    fits = scene("l", [poly("L", L_FLOOR), box("notch", (3, 0, 3), (6, 3, 6))], [])
    assert _overlaps(fits) == []
    into = scene("l", [poly("L", L_FLOOR), box("notch", (2, 0, 3), (6, 3, 6))], [])
    [(path, message)] = _overlaps(into)
    assert path == "/cells/1/room"
    # 0.9 m of the L's space along x (from its cavity's 2.9 back to 2), from z = 3 to its cavity's 5.9.
    assert "0.9 × 2.8 × 2.9 m" in message and "inside the walls of 'L'" in message


def test_a_niche_no_deeper_than_the_wall_next_door_is_not_reported_a_deeper_one_is() -> None:
    """Room b's wall at x = 4 has a niche 1 m wide set into room a's 10 cm wall (as a plan draws one)."""

    def level(depth: float) -> Level:
        niche = [(4, 0), (8, 0), (8, 4), (4, 4), (4, 2.5), (4 - depth, 2.5), (4 - depth, 1.5), (4, 1.5)]
        return scene("niche", [box("a", (0, 0, 0), (4, 3, 4)), poly("b", niche)], [])

    assert _overlaps(level(0.08)) == []
    [(path, message)] = _overlaps(level(0.3))
    assert path == "/cells/1/room" and "0.2 × 2.8 × 1 m" in message


def test_cells_without_a_room_are_not_asked() -> None:
    level = scene(
        "m", [box("a", (0, 0, 0), (4, 3, 4)), {"cellId": "props", "meshes": [{"meshId": "asset:crate.obj"}]}], []
    )
    assert _overlaps(level) == []


def _depth(lo: np.ndarray, hi: np.ndarray, t: float, a: int, b: int) -> np.ndarray:
    return np.minimum(hi[a] - t, hi[b]) - np.maximum(lo[a] + t, lo[b])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.tuples(*[st.integers(0, 40)] * 3),
            st.tuples(*[st.sampled_from([1, 5, 12, 20, 80])] * 3),
            st.sampled_from([0.05, 0.1]),
        ),
        min_size=2,
        max_size=12,
    )
)
def test_box_rooms_are_reported_exactly_where_one_reaches_into_the_others_space(rooms: list) -> None:
    """Against every pair tried both ways round (boxes on a 0.25 m grid, so depths are far from the tolerance),
    paired by buckets and by the sweep."""
    lo = np.array([[c * 0.25 for c in corner] for corner, _, _ in rooms])
    hi = lo + np.array([[s * 0.25 for s in size] for _, size, _ in rooms])
    t = [thickness for _, _, thickness in rooms]
    level = scene("r", [box(f"c{i}", tuple(lo[i]), tuple(hi[i]), t=t[i]) for i in range(len(rooms))], [])
    expected = {
        f"/cells/{j}/room"
        for j in range(len(rooms))
        for i in range(j)
        if (_depth(lo, hi, t[i], i, j) > 1e-3).all() or (_depth(lo, hi, t[j], j, i) > 1e-3).all()
    }
    found = _overlaps(level)
    with pytest.MonkeyPatch.context() as patch:  # the same by the sweep (rooms reaching many buckets)
        patch.setattr(overlaps, "_buckets", lambda lo, hi: None)
        assert _overlaps(level) == found
    assert len(found) == sum(
        1
        for j in range(len(rooms))
        for i in range(j)
        if (_depth(lo, hi, t[i], i, j) > 1e-3).all() or (_depth(lo, hi, t[j], j, i) > 1e-3).all()
    )
    assert {path for path, _ in found} == expected


def test_many_rooms_at_one_place_list_a_hundred_pairs_and_say_so() -> None:
    cells = [box(f"c{i}", (0, 0, 0), (4, 3, 4)) for i in range(400)]
    found = _overlaps(scene("many", cells, []))
    assert len(found) == MAX_LISTED + 1
    assert found[-1][0] == "/cells" and found[-1][1].startswith("more pairs of rooms overlap than are listed")
    assert found[0][0] == "/cells/1/room"


def test_the_check_says_when_it_stops_before_every_pair_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid of rooms apart from each other, every axis sweeping pairs: with a bound of 10 pairs it stops."""
    monkeypatch.setattr(overlaps, "MAX_PAIRS", 10)
    monkeypatch.setattr(overlaps, "_CHUNK", 4)
    cells = [
        box(f"c{i}{j}{k}", (5 * i, 5 * j, 5 * k), (5 * i + 4, 5 * j + 4, 5 * k + 4))
        for i in range(4)
        for j in range(4)
        for k in range(4)
    ]
    found = _overlaps(scene("grid", cells, []))
    assert [path for path, _ in found] == ["/cells"]
    assert found[0][1].startswith("the check stopped before every pair of rooms was compared")
    monkeypatch.setattr(overlaps, "MAX_PAIRS", 2_000_000)
    assert _overlaps(scene("grid", cells, [])) == []


def test_the_check_stops_after_its_budget_of_plan_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six L-shaped rooms drawn at one place: each pair is decided on the plans; a budget the first pair spends
    stops the check after it."""
    cells = [poly(f"L{i}", L_FLOOR) for i in range(6)]
    assert len(_overlaps(scene("ls", cells, []))) == 15  # every pair, no bound met
    corners, turns = len(L_FLOOR), 1.5  # an L turns a full turn and a half
    first = overlaps._pair_work(corners, corners, turns, turns) + 2 * overlaps._offset_work(corners, turns)
    monkeypatch.setattr(overlaps, "MAX_PLAN_WORK", first)
    found = _overlaps(scene("ls", cells, []))
    assert [path for path, _ in found][-1] == "/cells"
    assert found[-1][1].startswith("the check stopped before every pair of rooms was compared")
    assert len(found) == 1 + 1  # 1 pair compared, then the bound
    monkeypatch.setattr(overlaps, "MAX_PLAN_WORK", first - 1)
    assert [path for path, _ in _overlaps(scene("ls", cells, []))] == ["/cells"]  # not even the first


def _star(corners: int, turned: float = 0.0) -> np.ndarray:
    """A zigzag star 700 m across, its points alternately 350 m and 50 m from the centre."""
    angle = np.linspace(0.0, 2.0 * math.pi, corners, endpoint=False) + turned
    radius = np.where(np.arange(corners) % 2 == 0, 350.0, 50.0)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


@pytest.mark.parametrize("corners", [8192, 16384])
def test_a_pair_of_plans_costing_more_than_the_budget_is_not_compared(
    corners: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two zigzag stars at one place: offsetting each (1 s to 2.3 s at 8,192 corners) and comparing them (1.1 s)
    took 4.4 s, 26 s at 16,384, where the budget was checked before the pair's work was counted and the offsets
    were counted as a circle's (37 ms). The check stops before them, and says so."""

    def compared(*_: Any) -> None:
        raise AssertionError("a pair past the budget was compared")

    monkeypatch.setattr(overlaps._Plans, "overlap", compared)
    cells = [Cell(f"s{k}", Room(_star(corners, k * 1e-3), 0.0, 3.0, 0.1, "m"), path=f"/cells/{k}") for k in range(2)]
    found = overlapping_rooms(cells)
    assert [w.path for w in found] == ["/cells"]
    assert found[0].message.startswith("the check stopped before every pair of rooms was compared")


def test_mid_size_stars_at_one_place_stop_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """40 zigzag stars of 2,000 corners at one place: each pair costs ~0.1 s to compare and each new plan ~0.05 s
    a side to offset (8.8 s for the 45 pairs the budget let through). Counted as the worst plans cost, about 2 s
    of them are compared, whatever the order."""
    made: list[int] = []
    shape = overlaps._Plans._shape

    def counted(self: Any, i: int, cavity: bool) -> Any:
        if (i, cavity) not in self.made:
            made.append(self.rooms[i].floor.shape[0])
        return shape(self, i, cavity)

    monkeypatch.setattr(overlaps._Plans, "_shape", counted)
    pairs: list[int] = []
    overlap = overlaps._Plans.overlap
    monkeypatch.setattr(overlaps._Plans, "overlap", lambda self, i, j: pairs.append(1) or overlap(self, i, j))
    cells = [Cell(f"s{k}", Room(_star(2000, k * 1e-3), 0.0, 3.0, 0.1, "m"), path=f"/cells/{k}") for k in range(40)]
    found = overlapping_rooms(cells)
    assert found[-1].message.startswith("the check stopped before every pair of rooms was compared")
    # Measured: a 2,000-corner star's offset 39-75 ms, a pair of them compared 112 ms.
    seconds = 0.075 * len(made) + 0.112 * len(pairs)
    assert 0 < seconds <= 3.0


def test_a_large_round_court_ringed_by_rooms_is_compared_whole() -> None:
    """A court drawn as a 4,096-gon, 90 m across, ringed by 600 rooms against its wall: each room's box overlaps the
    court's (a pair on the plans), and counting the court's corners per pair as if both plans were that large had
    stopped the check, with a warning, on a level with nothing wrong. A room pushed into the court is found."""
    angle = np.linspace(0.0, 2.0 * math.pi, 4096, endpoint=False)
    court = np.stack([45.0 * np.cos(angle), 45.0 * np.sin(angle)], axis=1)
    cells = [Cell("court", Room(court, 0.0, 3.0, 0.2, "m"), path="/cells/0")]
    for k in range(600):  # squares 0.4 m across just outside the circle (its polygon lies inside the circle)
        a = 2.0 * math.pi * (k + 0.5) / 600
        c, s = math.cos(a), math.sin(a)
        centre = np.array([45.25 * c, 45.25 * s])
        square = np.array([[-0.2, -0.2], [0.2, -0.2], [0.2, 0.2], [-0.2, 0.2]]) @ np.array([[c, s], [-s, c]])
        cells.append(Cell(f"r{k}", Room(square + centre, 0.0, 3.0, 0.05, "m"), path=f"/cells/{k + 1}"))
    assert overlapping_rooms(cells) == []
    inward = cells[7].room.floor - 1.0 * np.array(
        [math.cos(2 * math.pi * 6.5 / 600), math.sin(2 * math.pi * 6.5 / 600)]
    )  # type: ignore[union-attr]
    cells[7] = Cell("pushed", Room(inward, 0.0, 3.0, 0.05, "m"), path="/cells/7")
    assert [w.path for w in overlapping_rooms(cells)] == ["/cells/7/room"]


def test_a_tower_of_rooms_each_touching_its_neighbours_is_compared_whole() -> None:
    """12 × 12 × 12 rooms: every axis sweeps 143 × 12 × 12 × 72 pairs past a bound of 50,000 (the check would
    stop), the buckets pair 6,000 or so."""
    cells = [box(f"c{i}_{j}_{k}", (4 * i, 3 * j, 4 * k), (4 * i + 4, 3 * j + 3, 4 * k + 4))
             for i in range(12) for j in range(12) for k in range(12)]  # fmt: skip
    level = scene("tower", cells, [])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(overlaps, "MAX_PAIRS", 50_000)
        assert _overlaps(level) == []
        patch.setattr(overlaps, "_buckets", lambda lo, hi: None)
        assert [p for p, _ in _overlaps(level)] == ["/cells"]
    cells[700] = box("c700", (17, 10, 17), (21, 13, 21))  # one room moved half a room across
    found = _overlaps(scene("tower", cells, []))
    # It reaches into the eight rooms around (17, 10, 17) .. (21, 13, 21): x 16-24, y 9-15, z 16-24.
    assert len(found) == 8 and all("'c700'" in message for _, message in found)


def _turned_grid(n: int, degrees: float) -> list[Cell]:
    """``n`` × ``n`` square rooms 4 m across, each touching its neighbours, the plan turned by ``degrees``."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    square = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]])
    cells = []
    for i in range(n):
        for j in range(n):
            floor = (square + np.array([4.0 * i, 4.0 * j])) @ np.array([[c, s], [-s, c]])
            cells.append(Cell(f"c{i}_{j}", Room(floor, 0.0, 3.0, 0.1, "m"), path=f"/cells/{len(cells)}"))
    return cells


def test_a_turned_level_of_touching_rooms_is_compared_whole() -> None:
    """3,600 turned rooms, each pair of neighbours decided on the plans (their boxes overlap): under the plan budget
    (a budget of 100,000 corners had stopped the check, with a warning, on a level with nothing wrong)."""
    assert overlapping_rooms(_turned_grid(60, 30.0)) == []
    cells = _turned_grid(8, 30.0)
    moved = cells[20].room.floor + np.array([1.0, 0.0])  # type: ignore[union-attr]
    cells[20] = Cell("moved", Room(moved, 0.0, 3.0, 0.1, "m"), path="/cells/20")
    assert {w.path for w in overlapping_rooms(cells)} >= {"/cells/20/room"}


def test_a_room_as_large_as_the_coordinates_allow_among_small_ones_is_compared() -> None:
    """A 2,000 km room among rooms 10 cm across: its bucket count a side, cubed, passed int64 (a crash)."""
    small = [box(f"s{i}", (i, 0, 0), (i + 0.1, 0.1, 0.1), t=0.01) for i in range(3)]
    level = scene("huge", [*small, box("huge", (-1e6, -1e6, -1e6), (1e6, 1e6, 1e6))], [])
    assert [path for path, _ in _overlaps(level)] == ["/cells/3/room"] * 3


def test_round_halls_packed_close_are_compared_whole() -> None:
    """196 round halls of 512 corners, in rows offset by half a hall: each hall's box reaches into its diagonal
    neighbours' (pairs on the plans). Circles offset and meet in milliseconds; counted as zigzag stars of as many
    corners (or, before, as the square of their corners per pair) they stopped the check on a level with nothing
    wrong."""
    angle = np.linspace(0.0, 2.0 * math.pi, 512, endpoint=False)
    circle = np.stack([10.0 * np.cos(angle), 10.0 * np.sin(angle)], axis=1)
    cells = []
    for r in range(14):
        for c in range(14):
            centre = np.array([20.0 * c + 10.0 * (r % 2), 17.33 * r])
            cells.append(Cell(f"h{r}_{c}", Room(circle + centre, 0.0, 3.0, 0.2, "m"), path=f"/cells/{len(cells)}"))
    assert overlapping_rooms(cells) == []


def test_outlines_turn_as_often_as_their_corners_zigzag() -> None:
    square = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]])
    rooms = [Room(square, 0.0, 3.0, 0.1, "m"), Room(np.array(L_FLOOR, float), 0.0, 3.0, 0.1, "m")]
    rooms.append(Room(_star(1000), 0.0, 3.0, 0.1, "m"))
    turns = overlaps._turns(rooms)
    assert turns[0] == pytest.approx(1.0) and turns[1] == pytest.approx(1.5)
    assert 400 < turns[2] < 500  # 500 spikes, each turning back almost a full half turn twice
