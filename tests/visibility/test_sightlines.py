"""The sampler itself: points inside non-convex cells, the cell walk of sight lines (walls stop
them, portals pass them, one-way portals one way, slab openings between storeys), and agreement
with the triangle-occluder model."""

from __future__ import annotations

import numpy as np

from sceneforge.generate.maze import generate_maze
from sceneforge.model.ir import Cell, Portal, Room, SceneIR

from .levels import corridor, x_door, y_opening
from .sightlines import Tracer, first_hit, ir_from_description, locate, occluders, sample_visibility


def _l_room() -> SceneIR:
    floor = np.array([[0, 0], [8, 0], [8, 4], [4, 4], [4, 8], [0, 8]], float)
    return SceneIR("l", [Cell("l", Room(floor, 0.0, 3.0, 0.1, "default"))], [], {})


def test_cell_points_fill_a_non_convex_floor_not_its_box() -> None:
    tr = Tracer(_l_room())
    pts = tr.cell_points(np.zeros(4000, np.int64), np.random.default_rng(0))
    assert (locate(pts, tr.ir) == 0).all()
    notch = (pts[:, 0] > 4) & (pts[:, 2] > 4)
    assert not notch.any()
    # Uniform over the three squares of the L: about a third in each.
    arms = [(pts[:, 0] < 4) & (pts[:, 2] < 4), pts[:, 0] > 4, pts[:, 2] > 4]
    assert all(abs(np.mean(a) - 1 / 3) < 0.05 for a in arms)
    assert ((pts[:, 1] > 0) & (pts[:, 1] < 3)).all()


def test_lines_walk_a_corridor_and_stop_at_walls() -> None:
    ir = corridor(4, rooms_per_side=1)
    tr = Tracer(ir)
    index = ir.cell_index()
    o = np.array([[1.0, 1.0, 1.2], [1.0, 1.0, 1.2]])
    d = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    start = np.array([index["c0"], index["c0"]])
    lines = tr.lines(o, d, start, start)
    grid, both = lines.grid, lines.both_ways
    assert [c for c in grid[0].tolist() if c >= 0] == [index[f"c{i}"] for i in range(4)]
    # Along +z from x = 1: the north wall of c0 (its door is at x = 2.5 .. 3.5), and the south wall.
    assert [c for c in grid[1].tolist() if c >= 0] == [index["c0"]]
    assert both.all()


def test_one_way_portals_and_slab_openings() -> None:
    box = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float)
    cells = [
        Cell("a", Room(box, 0.0, 3.0, 0.1, "default")),
        Cell("b", Room(box + np.array([4.0, 0.0]), 0.0, 3.0, 0.1, "default")),
        Cell("up", Room(box, 3.0, 3.0, 0.1, "default")),
    ]
    door = x_door(0, "a", "b", 4.0, 1.0, 3.0)
    portals = [Portal(0, "a", "b", door.quad, one_way=True), y_opening(1, "a", "up", 3.0, 1.0, 3.0, 1.0, 3.0)]
    ir = SceneIR("s", cells, portals, {})
    seen = sample_visibility(ir, np.random.default_rng(1), per_cell=400)
    a, b, up = 0, 1, 2
    assert seen[a, b] and not seen[b, a]  # one way: a sees b, b does not see a
    assert seen[a, up] and seen[up, a]
    assert seen[up, b] and not seen[b, up]  # from upstairs through the opening, then the door


def test_cell_walk_agrees_with_triangle_occluders_on_a_maze() -> None:
    ir = ir_from_description(generate_maze(30, 5))
    tr = Tracer(ir)
    rng = np.random.default_rng(2)
    cells = rng.integers(0, len(ir.cells), 300)
    o = tr.cell_points(cells, rng)
    d = rng.normal(size=o.shape)
    d[:, 1] *= 0.1
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    grid = tr.lines(o, d, cells, cells).grid
    tris = occluders(ir)
    fwd, back = first_hit(o, d, tris, 200.0), first_hit(o, -d, tris, 200.0)
    ts = np.linspace(0.0, 1.0, 4000)[1:-1]
    same = 0
    for k in range(len(o)):
        pts = o[k] + d[k] * (-back[k] + (fwd[k] + back[k]) * ts)[:, None]
        where = locate(pts, ir)
        crossed = [int(c) for i, c in enumerate(where) if c >= 0 and (i == 0 or where[i - 1] != c)]
        walked = [c for c in grid[k].tolist() if c >= 0]
        assert set(crossed) <= set(walked)
        same += crossed == walked
    assert same >= 0.95 * len(o)


def test_a_line_through_a_wall_next_to_a_doorway_at_a_corner_stops_there() -> None:
    """An L-shaped room with a doorway east (x = 5, z 1..3) ending at its reflex corner (5, 3); the
    notch room (3..5 × 3..5) has a doorway of its own east, in the same plane, from z = 3. A line in
    the L passing 0.5 µm west of the corner meets the L's wall z = 3 (towards the notch, no opening)
    within the 1 µm plane tolerance of the L's doorway: the walk used to take it through that doorway,
    then through the notch's, west, back into the notch — a pair no free line joins."""
    floor = np.array([[0, 0], [5, 0], [5, 3], [3, 3], [3, 5], [0, 5]], float)
    box = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    cells = [
        Cell("l", Room(floor, 0.0, 3.0, 0.1, "default")),
        Cell("notch", Room(box * 2 + 3, 0.0, 3.0, 0.1, "default")),
        Cell("east", Room(box * [4, 5] + [5, 0], 0.0, 3.0, 0.1, "default")),
    ]
    portals = [x_door(0, "l", "east", 5.0, 1.0, 3.0), x_door(1, "notch", "east", 5.0, 3.0, 4.5)]
    ir = SceneIR("corner", cells, portals, {})
    tr = Tracer(ir)
    origin = np.array([[4.99, 1.5, 1.0]])
    d = np.array([5.0 - 5e-7, 1.5, 3.0]) - origin
    grid = tr.lines(origin, d / np.linalg.norm(d), np.array([0]), np.array([0])).grid
    assert 1 not in grid[0].tolist()
    # The same line 1 µm further east passes the doorway and enters the east room, not the notch.
    grid = tr.lines(origin + np.array([1e-6, 0.0, 0.0]), d / np.linalg.norm(d), np.array([0]), np.array([0])).grid
    assert [c for c in grid[0].tolist() if c >= 0] == [0, 2]


def test_lines_climb_a_stair_opening_s_shaft_into_a_raised_room_and_stop_at_its_sides() -> None:
    """A room whose ceiling is at y = 3 and, over it, a room raised a step (its floor at 3.3): the
    stair opening (1..2 × 1..2 at y = 3) goes through the slab between them, a shaft 0.3 m high. A line
    up through it joins the two rooms both ways; one that leaves the shaft's side in the slab stops."""
    box = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float)
    cells = [Cell("down", Room(box, 0.0, 3.0, 0.1, "default")), Cell("up", Room(box, 3.3, 3.0, 0.1, "default"))]
    ir = SceneIR("split", cells, [y_opening(0, "down", "up", 3.0, 1.0, 2.0, 1.0, 2.0)], {})
    tr = Tracer(ir)
    below, above = np.array([0]), np.array([1])
    joined = {(0, 0), (0, 1), (1, 0), (1, 1)}
    # Straight up through the middle: from the lower room, from the opening itself, and read from above.
    up = np.array([[0.0, 1.0, 0.0]])
    for o, behind, ahead in (([1.5, 2.0, 1.5], below, below), ([1.5, 3.0, 1.5], below, above)):
        lines = tr.lines(np.array([o]), up, behind, ahead)
        assert lines.pairs(0) == joined
    lines = tr.lines(np.array([[1.5, 5.0, 1.5]]), -up, above, above)
    assert lines.pairs(0) == joined
    # Through the opening at (1.9, 3, 1.5) but out of the shaft's side before y = 3.3: the slab.
    d = np.array([[0.5, 0.3, 0.0]]) / np.hypot(0.5, 0.3)
    lines = tr.lines(np.array([[1.9, 3.0, 1.5]]) - 0.1 * d, d, below, below)
    assert lines.pairs(0) == {(0, 0)}
    lines = tr.lines(np.array([[1.9, 3.0, 1.5]]), d, below, above)  # from the opening itself
    assert lines.pairs(0) == {(0, 0)}
    # The same slope through the opening's far side from x = 1.1: still over the opening at y = 3.3 (x = 1.6).
    lines = tr.lines(np.array([[1.1, 3.0, 1.5]]) - 0.1 * d, d, below, below)
    assert lines.pairs(0) == joined
