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


@pytest.mark.parametrize("out", [0.0, 40.0, 100_000.0])
def test_a_turned_floor_grid_s_border_points_off_their_line_by_rounding_are_dropped(out: float) -> None:
    """A 10 m floor subdivided every 0.1 m (Blender's Grid) turned 17° and moved ``out`` m along x and z: its float32
    vertices lie a step or two off their walls' lines, and its plan kept them (281 points 40 m out, 313 100 km out)
    for a square. Its four corners alone."""
    k = 100
    u, v = np.meshgrid(np.arange(k + 1) * 0.1, np.arange(k + 1) * 0.1, indexing="ij")
    c, s = np.cos(np.radians(17.0)), np.sin(np.radians(17.0))
    x, z = out + u * c - v * s, out + u * s + v * c
    corner = np.stack([x, np.zeros_like(x), z], axis=-1)
    a, b, d, e = corner[:-1, :-1], corner[1:, :-1], corner[1:, 1:], corner[:-1, 1:]
    tris = np.concatenate([np.stack([a, d, b], -2), np.stack([a, e, d], -2)], axis=0).reshape(-1, 3, 3)
    plan = mesh_plan([_surface(tris.tolist())])
    assert plan is not None and len(plan) == 8
    assert _area(plan) == pytest.approx(100.0, rel=1e-3)


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


def _reference_plan(surfaces: list[Surface]) -> tuple[float, ...] | None:
    """The plan as the union of the triangles themselves (every triangle counter-clockwise, positive fill)."""
    from manifold3d import CrossSection, FillRule

    from sceneforge.geometry.footprint import _outer_ring

    tri = np.concatenate([s.positions[s.indices.astype(np.intp)] for s in surfaces])[:, :, ::2].astype(np.float64)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    tri, backwards = tri[np.abs(area2) > 1e-12], area2[np.abs(area2) > 1e-12] < 0.0
    tri[backwards] = tri[backwards][:, ::-1]
    union = CrossSection(list(tri), FillRule.Positive).simplify(1e-6)
    return _outer_ring([r.tolist() for r in union.to_polygons()])


def _sheet(k: int, x0: float, z0: float, w: float, h: float, y: float, lift: list[float], flip: list[bool]) -> list:
    """A ``k`` × ``k`` tessellated sheet (shared corners), each corner lifted, some triangles wound downwards."""
    xs, zs = np.meshgrid(np.linspace(x0, x0 + w, k + 1), np.linspace(z0, z0 + h, k + 1), indexing="ij")
    points = np.stack([xs.ravel(), y + np.resize(lift, xs.size), zs.ravel()], 1)
    i = (np.arange(k)[:, None] * (k + 1) + np.arange(k)[None, :]).ravel()
    tris = np.concatenate([np.stack([i, i + 1, i + k + 2], -1), np.stack([i, i + k + 2, i + k + 1], -1)])
    turned = np.resize(flip, len(tris))
    tris[turned] = tris[turned][:, ::-1]
    return points[tris].tolist()


def _fan(cx: float, cz: float, r: float, angles: list[float]) -> list:
    ring = [(cx + r * np.cos(a), 1.0, cz + r * np.sin(a)) for a in sorted(angles)]
    return [[ring[0], ring[j], ring[j + 1]] for j in range(1, len(ring) - 1)]


_coord = st.floats(0, 10).map(lambda v: round(v, 2))
_sheets = st.builds(
    _sheet,
    st.integers(1, 8),
    _coord,
    _coord,
    st.floats(0.5, 8).map(lambda v: round(v, 2)),
    st.floats(0.5, 8).map(lambda v: round(v, 2)),
    st.sampled_from([0.0, 1.5, 3.0]),
    st.lists(st.floats(0, 0.3), min_size=1, max_size=5),
    st.lists(st.booleans(), min_size=1, max_size=7),
)
_fans = st.builds(_fan, _coord, _coord, st.floats(1, 5), st.lists(st.floats(0, 6.28), min_size=3, max_size=12))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_sheets, _fans), min_size=1, max_size=4))
def test_the_outline_s_union_is_the_triangles_union(pieces: list[list]) -> None:
    """Tessellated sheets (corners shared, lifted, some triangles wound down) and fans, overlapping as they
    fall: the union of the outline left once shared edges cancel gives the plan the triangles' own union gives."""
    surfaces = [_surface(tris) for tris in pieces]
    assert mesh_plan(surfaces) == _reference_plan(surfaces)


def test_a_tessellated_floor_and_ceiling_is_their_outline() -> None:
    """Two 40 × 40 sheets less a quarter (an L): 4,800 triangles whose outline is two L's (the union of the
    triangles themselves took 16 µs a triangle at 360,000; the outline's, ~1 µs)."""
    floor = _sheet(40, 0, 0, 8, 8, 0.0, [0.0], [False])
    cut = [t for t in floor if not all(x > 4 - 1e-9 and z > 4 - 1e-9 for x, _, z in t)]  # an L: a quarter out
    ceiling = [[(x, 3.0, z) for x, _, z in t[::-1]] for t in cut]
    plan = mesh_plan([_surface(cut), _surface(ceiling)])
    assert plan == (0.0, 0.0, 8.0, 0.0, 8.0, 4.0, 4.0, 4.0, 4.0, 8.0, 0.0, 8.0)
    assert plan == _reference_plan([_surface(cut), _surface(ceiling)])


def test_pieces_meeting_at_a_corner_are_several() -> None:
    """Two squares turned 30° that touch at one corner: no simple outline holds both, so the box stands."""
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)

    def square(x0: float, z0: float) -> list:
        corners = [(x0 + u * c - v * s, 0.0, z0 + u * s + v * c) for u, v in ((0, 0), (1, 0), (1, 1), (0, 1))]
        a, b, cc, d = corners
        return [[a, cc, b], [a, d, cc]]

    first = square(0.0, 0.0)
    tip = first[0][1]  # the corner (1, 1) of the first, turned
    assert mesh_plan([_surface(first + square(tip[0], tip[2]))]) is None
    assert mesh_plan([_surface(first)]) is not None


def test_triangles_thrown_at_random_are_refused_before_their_union() -> None:
    """30,000 random triangles across 5 km, each crossing thousands of others: their union took minutes. The
    bound on their outline's crossings refuses it first: no plan (the box), and the cells after it keep theirs."""
    from sceneforge.geometry.footprint import MAX_CELL_WORK, _crossing_work
    from tests.support.scenes import soup

    big = soup(np.random.default_rng(0), 70_000, 30_000, grid=10_000)
    tri = big.positions[big.indices.astype(np.intp)][:, :, ::2].astype(np.float64)
    a, b = tri.reshape(-1, 2), tri[:, [1, 2, 0]].reshape(-1, 2)
    assert _crossing_work(a, b, np.zeros(a.shape[0], np.int64), 1)[0] > MAX_CELL_WORK
    l_floor = _slab(0, 0, 6, 3) + _slab(0, 3, 3, 6)
    plans = cell_plans([Cell("soup", None, [big]), Cell("l", None, [_surface(l_floor)])])
    assert plans == [None, (0.0, 0.0, 6.0, 0.0, 6.0, 3.0, 3.0, 3.0, 3.0, 6.0, 0.0, 6.0)]


def _room_with_a_full_height_opening(turn: float = 0.0) -> tuple[Cell, np.ndarray]:
    """A room 6 × 4 m of floor and wall tops (walls 0.1 m thick inside its outline), its east wall cut from the
    floor to the ceiling for 1 m (z 1.5 to 2.5), as the rooms' shells cut a doorway from the slab's underside:
    no face above the wall's passage. Returns the cell and the doorway's quad (facing out, +x), turned about
    the vertical by ``turn`` degrees."""
    tris = (
        _slab(0.1, 0.1, 5.9, 3.9)
        + _slab(0, 0, 6, 0.1, 3.0)
        + _slab(0, 3.9, 6, 4, 3.0)
        + _slab(0, 0.1, 0.1, 3.9, 3.0)
        + _slab(5.9, 0.1, 6, 1.5, 3.0)
        + _slab(5.9, 2.5, 6, 3.9, 3.0)
    )
    quad = np.array([[6, 0, 1.5], [6, 3, 1.5], [6, 3, 2.5], [6, 0, 2.5]], np.float64)
    c, s = np.cos(np.radians(turn)), np.sin(np.radians(turn))
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    turned = [[tuple(rot @ np.asarray(p, np.float64)) for p in t] for t in tris]
    return Cell("a", None, [_surface(turned)]), quad @ rot.T


@pytest.mark.parametrize("turn", [0.0, 30.0, 41.0])
def test_a_floor_to_ceiling_doorway_s_passage_is_in_its_cell_s_plan(turn: float) -> None:
    """The triangles' shadow has a notch where the doorway cuts the wall to the ceiling (no wall top above the
    passage); the portal says it is a passage of the cell: with it, the plan is the room's whole rectangle
    (``None`` along the axes: the box says it), as the room's own floor polygon is."""
    from sceneforge.model.ir import Portal

    cell, quad = _room_with_a_full_height_opening(turn)
    alone = mesh_plan(cell.surfaces)
    assert alone is not None and len(alone) == 16 and _area(alone) == pytest.approx(23.9, abs=1e-5)
    (plan,) = cell_plans([cell], [Portal(0, "a", "b", quad)])
    if turn == 0.0:
        assert plan is None
    else:
        assert plan is not None and len(plan) == 8 and _area(plan) == pytest.approx(24.0, abs=1e-5)
    (into,) = cell_plans([cell], [Portal(0, "b", "a", quad[::-1])])  # the same doorway, into the cell
    assert into == plan


@pytest.mark.parametrize("turn", [0.0, 30.0])
def test_a_doorway_as_wide_as_its_wall_is_in_its_cell_s_plan(turn: float) -> None:
    """A room 6 × 4 m whose east wall is open from corner to corner, floor to ceiling (a corridor's rooms joined
    end to end): the side walls' tops stand beside the passage inside the quad's ends, the outside past them. The
    passage is the cell's: its plan is the room's whole rectangle, as the room's floor polygon is (without it a
    camera in the passage was in no cell)."""
    from sceneforge.model.ir import Portal

    tris = (
        _slab(0.1, 0.1, 5.9, 3.9) + _slab(0, 0, 6, 0.1, 3.0) + _slab(0, 3.9, 6, 4, 3.0) + _slab(0, 0.1, 0.1, 3.9, 3.0)
    )
    quad = np.array([[6, 0, 0], [6, 3, 0], [6, 3, 4], [6, 0, 4]], np.float64)
    c, s = np.cos(np.radians(turn)), np.sin(np.radians(turn))
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    cell = Cell("a", None, [_surface([[tuple(rot @ np.asarray(p, np.float64)) for p in t] for t in tris])])
    alone = mesh_plan(cell.surfaces)
    assert alone is not None and _area(alone) == pytest.approx(23.62, abs=1e-5)
    for portal in (Portal(0, "a", "b", quad @ rot.T), Portal(0, "b", "a", quad[::-1] @ rot.T)):
        (plan,) = cell_plans([cell], [portal])
        if turn == 0.0:
            assert plan is None
        else:
            assert plan is not None and len(plan) == 8 and _area(plan) == pytest.approx(24.0, abs=1e-5)


def test_far_from_the_origin_a_doorway_s_passage_outlasts_the_slivers_of_rounding() -> None:
    """200 km out a float32 step is 1/64 m: the gaps beside a doorway's quad narrower than a few steps are rounding,
    taken off before the passage is looked for, but never more than the slack within which a quad is on its wall:
    the notch the wall's thickness deep (0.1 m, 0.094 in float32) is still a passage, and the plan the room's."""
    from sceneforge.model.ir import Portal

    cell, quad = _room_with_a_full_height_opening()
    shift = np.array([200_000.0, 0.0, 0.0])
    (surface,) = cell.surfaces
    far = Cell("a", None, [Surface("m", (surface.positions + shift).astype(np.float32), surface.normals,
                                   surface.uvs, surface.indices)])  # fmt: skip
    alone = mesh_plan(far.surfaces)
    assert alone is not None and len(alone) == 16
    assert cell_plans([far], [Portal(0, "a", "b", quad + shift)]) == [None]


def test_a_quad_off_the_wall_or_wider_than_it_adds_nothing() -> None:
    """A doorway's quad 0.3 m outside the wall, or reaching past the room's corner: nothing beside its ends is
    the room's, so the gap beside it is no passage and the plan stays as the triangles draw it. Nor does a quad
    that misses the notch by float32 rounding add a sliver."""
    from sceneforge.model.ir import Portal

    cell, quad = _room_with_a_full_height_opening()
    alone = mesh_plan(cell.surfaces)
    off = quad + np.array([0.3, 0.0, 0.0])
    past = quad.copy()
    past[[0, 1], 2], past[[2, 3], 2] = -1.0, 2.5  # from outside the room's south wall to the opening's end
    for moved in (off, past):
        assert cell_plans([cell], [Portal(0, "a", "b", moved)]) == [alone]
    nudged = quad + np.array([2e-7, 0.0, 0.0])  # beside the notch, 0.2 µm out: still the whole rectangle
    assert cell_plans([cell], [Portal(0, "a", "b", nudged)]) == [None]


def test_passages_cost_memory_and_time_within_bounds() -> None:
    """A cell of 10,000 scattered triangles besides the room (its plan several pieces: none) with 300 doorways, and a
    room whose south wall is a comb of 1,000 teeth (a plan of ~4,000 edges) with 60 notched doorways: the first is
    not probed at all (300 × 30,000 probes held 450 MB), the second is past the bound on bands taken from the plan
    (each a Clipper difference over all of it) and keeps the triangles' plan; with one doorway its passage is added."""
    import tracemalloc

    from sceneforge.model.ir import Portal

    room, quad = _room_with_a_full_height_opening()
    rng = np.random.default_rng(0)
    specks = [[(x, 0.0, z), (x + 0.01, 0.0, z), (x, 0.0, z + 0.01)] for x, z in rng.uniform(-50, -10, (10_000, 2))]
    scattered = Cell("a", None, [*room.surfaces, _surface(specks)])
    tracemalloc.start()
    try:
        assert cell_plans([scattered], [Portal(k, "a", "b", quad) for k in range(300)]) == [None]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak >> 20} MiB"

    teeth = [t for i in range(1_000) for t in _slab(0.2 + i * 0.0055, -0.01, 0.2 + i * 0.0055 + 0.00275, 0.0)]
    comb = Cell("a", None, [*room.surfaces, _surface(teeth)])
    drawn = mesh_plan(comb.surfaces)
    (one,) = cell_plans([comb], [Portal(0, "a", "b", quad)])
    assert drawn is not None and one is not None and _area(one) > _area(drawn) + 0.09  # the 1 × 0.1 m passage
    assert cell_plans([comb], [Portal(k, "a", "b", quad) for k in range(60)]) == [drawn]
