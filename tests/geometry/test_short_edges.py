"""A short edge between two convex corners (a chamfer of a few centimetres, a Voronoi cell's short side)
whose inner edge folds back at the wall's thickness: the panel path builds the room with the cavity
losing that edge (``panels.walls._collapse``), the boolean path's solid, closed, every opening open."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sceneforge.compile import compile_scene
from sceneforge.geometry import generate_rooms
from sceneforge.geometry.panels.walls import walls
from sceneforge.model.ir import Room, Surface

from ..rounded import rounded, rounded_plan
from .levels import cell_triangles, heights
from .meshcheck import closed, ray_hits, scene
from .test_panels import as_trimesh, only_surface, panel_and_boolean


def chamfered(corners: np.ndarray, cuts: list[tuple[int, float]]) -> np.ndarray:
    """``corners`` (k, 2) with the corners of ``cuts`` cut off: (corner, how far back along both walls)."""
    out = []
    k = corners.shape[0]
    cut = dict(cuts)
    for i in range(k):
        p = corners[i]
        if i not in cut:
            out.append(p)
            continue
        before, after = corners[i - 1], corners[(i + 1) % k]
        out.append(p + cut[i] * (before - p) / np.linalg.norm(before - p))
        out.append(p + cut[i] * (after - p) / np.linalg.norm(after - p))
    return np.array(out)


def doorway(p: np.ndarray, q: np.ndarray, s0: float, s1: float, y0: float, y1: float) -> np.ndarray:
    """The quad from ``s0`` to ``s1`` along the wall p → q, from ``y0`` to ``y1``, on the outline."""
    t = (q - p) / np.linalg.norm(q - p)
    a, b = p + s0 * t, p + s1 * t
    return np.array([[a[0], y0, a[1]], [b[0], y0, b[1]], [b[0], y1, b[1]], [a[0], y1, a[1]]])


def convex_corners(draw: st.DrawFn, most: int, least_radius: float) -> tuple[int, np.ndarray]:
    """3 to ``most`` corners of a convex room on an ellipse of radii ``least_radius`` to 8 m, turned anywhere,
    anywhere within 50 m, every corner 45° or more (a chamfer's or an arc's apex then lies well within its walls)."""
    k = draw(st.integers(3, most))
    jitter = np.array(draw(st.lists(st.floats(-0.3, 0.3), min_size=k, max_size=k)))
    angles = (np.arange(k) + jitter) * 2 * np.pi / k + draw(st.floats(0, 2 * np.pi))
    rx, rz = draw(st.floats(least_radius, 8.0)), draw(st.floats(least_radius, 8.0))
    corners = np.column_stack([rx * np.cos(angles), rz * np.sin(angles)]) + draw(st.floats(-50, 50))
    before, after = np.roll(corners, 1, axis=0) - corners, np.roll(corners, -1, axis=0) - corners
    cosine = np.einsum("ij,ij->i", before, after) / np.linalg.norm(before, axis=1) / np.linalg.norm(after, axis=1)
    assume(cosine.max() <= np.cos(np.pi / 4))
    return k, corners


def openings_on_long_walls(
    draw: st.DrawFn, outline: np.ndarray, t: float, y0: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Doorways (from the floor's underside or its top) and windows, 0.8 m wide, on some walls 3 m long or more,
    clear of the cavity's corners even at an apex; and a point in each."""
    quads, points = [], []
    n = outline.shape[0]
    for e in range(n):
        p, q = outline[e], outline[(e + 1) % n]
        wall = float(np.linalg.norm(q - p))
        if wall < 3.0 or not draw(st.booleans()):
            continue
        kind = draw(st.sampled_from(["door", "floor-top", "window"]))
        s0 = draw(st.floats(0.35 * wall, 0.65 * wall - 0.8))
        lo, hi = {"door": (y0, y0 + 2.1), "floor-top": (y0 + t, y0 + 2.1), "window": (y0 + 1.0, y0 + 2.0)}[kind]
        quads.append(doorway(p, q, s0, s0 + 0.8, lo, hi))
        points.append(quads[-1].mean(axis=0))
    return quads, points


@st.composite
def chamfered_rooms(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[np.ndarray]]:
    """A convex room (corners on an ellipse, turned anywhere) with some corners cut a few millimetres to
    centimetres back, maybe a point a hair off a wall's line near a corner, doorways and windows on its
    longer walls, maybe a hatch; and a point in each opening. (A doorway drawn past a wall's end at a
    corner of another angle than 90° is cut through a wedge of the wall across that the booleans' prism
    leaves: not the same solid, with or without a chamfer; see the last tests for one drawn to an apex.)"""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    k, corners = convex_corners(draw, 7, 3.0)
    picks = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    cuts = [(i, draw(st.floats(0.003, 1.5 * t))) for i in picks]
    outline = chamfered(corners, cuts)
    if 0 not in picks and draw(st.booleans()):  # a point 1 to 8 cm before the first corner (not cut), ...
        before, corner = outline[-1], outline[0]
        along = (before - corner) / np.linalg.norm(before - corner)
        off = draw(st.floats(-1e-3, 1e-3).filter(lambda v: abs(v) > 1e-4))  # ... a fraction of a millimetre off
        point = corner + draw(st.floats(0.01, 0.08)) * along + off * np.array([-along[1], along[0]])
        outline = np.vstack([outline, point])
    y0, h = draw(st.sampled_from([0.0, -1.5])), draw(st.sampled_from([2.6, 3.0]))
    room = Room(outline, y0, h, t, "wall")
    quads, points = openings_on_long_walls(draw, outline, t, y0)
    if draw(st.booleans()):  # a stair opening in the floor near the middle
        c = outline.mean(axis=0)
        quads.append(np.array([[c[0] - 0.4, y0, c[1] - 0.4], [c[0] + 0.4, y0, c[1] - 0.4],
                               [c[0] + 0.4, y0, c[1] + 0.4], [c[0] - 0.4, y0, c[1] + 0.4]]))  # fmt: skip
        points.append(quads[-1].mean(axis=0))
    return room, quads, points


def assert_panels_build_the_boolean_solid(room: Room, quads: list[np.ndarray], points: list[np.ndarray]) -> None:
    """The panel build of ``room`` with ``quads``: closed, the booleans' solid (up to float32 rounding and
    the booleans' spill), each opening open at ``points``, no triangle thinner than 0.5 mm or the input's
    shortest edge."""
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface) and mesh.is_winding_consistent
    # Float32 positions: each vertex within half a step at the room's coordinates, over the shell's area.
    rounding = float(np.spacing(np.float32(np.abs(room.floor).max() + 3.0))) * mesh.area
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding
    assert_open_and_sliver_free(surface, room, quads, points)


def assert_open_and_sliver_free(
    surface: Surface, room: Room, quads: list[np.ndarray], points: list[np.ndarray]
) -> None:
    """Each opening of ``quads`` open at its point (a ray through the wall meets nothing), and no triangle thinner
    than the input's smallest feature or 0.5 mm: the outline's shortest edge, or the lowest triangle of three
    consecutive corners (an arc of short walls turning a few degrees each)."""
    for q, point in zip(quads, points, strict=True):
        normal = np.cross(q[1] - q[0], q[2] - q[0])
        normal /= np.linalg.norm(normal)
        reach = room.wall_thickness + 0.05
        assert ray_hits(surface, point - reach * normal, normal, 2 * reach) == 0
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= min(5e-4, least_feature(room.floor)) * 0.5


def least_feature(outline: np.ndarray) -> float:
    """The outline's smallest feature: its shortest edge, or the lowest triangle of three consecutive corners
    (an arc of short walls turning a few degrees each)."""
    floor = outline.astype(np.float64)
    shortest = float(np.linalg.norm(np.roll(floor, -1, axis=0) - floor, axis=1).min())
    corners = np.stack([np.roll(floor, 1, axis=0), floor, np.roll(floor, -1, axis=0)], axis=1)
    return min(shortest, float(heights(np.concatenate([corners, np.zeros((*corners.shape[:2], 1))], axis=2)).min()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chamfered_rooms())
def test_chamfered_rooms_take_the_panels_and_build_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[np.ndarray]],
) -> None:
    assert_panels_build_the_boolean_solid(*case)


def test_a_chamfer_collapses_the_cavity_to_one_apex() -> None:
    # A 6 × 4 m room with one corner cut 5 cm back (a 7 cm edge): at 0.1 m walls its inner edge would run
    # backwards (0.07 − 2 · 0.1 · tan 22.5° < 0). The cavity loses it; the walls either side meet at the apex.
    outline = chamfered(np.array([[0, 0], [6, 0], [6, 4], [0, 4]], float), [(2, 0.05)])
    w = walls([Room(outline, 0.0, 3.0, 0.1, "wall")])
    assert w.ok.all() and w.collapsed.tolist() == [False, False, True, False, False]
    assert np.allclose(w.inner[2], w.inner[3]) and np.allclose(w.inner[2], [5.9, 3.9])
    assert w.inner0[2] == w.inner1[2]
    assert generate_rooms(scene({"r": Room(outline, 0.0, 3.0, 0.1, "wall")}, [])) == 0


def test_two_short_edges_in_a_row_collapse_to_one_apex() -> None:
    # Two chamfer edges side by side both fold: the cavity loses both, the walls either side meeting where
    # the square corner's would (5.9, 3.9); the solid is the booleans'.
    outline = np.array([[0, 0], [6, 0], [6, 3.95], [5.98, 3.99], [5.93, 4.0], [0, 4]], float)
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    w = walls([room])
    assert w.ok.all() and w.collapsed.tolist() == [False, False, True, True, False, False]
    assert np.allclose(w.inner[[2, 3, 4]], [5.9, 3.9])
    quads = [doorway(outline[0], outline[1], 2.0, 3.0, 0.0, 2.1), doorway(outline[4], outline[5], 2.0, 3.0, 1.0, 2.0)]
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface)
    assert boolean.volume - 1e-6 <= mesh.volume <= boolean.volume + spill + 1e-6


@st.composite
def rounded_rooms(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[np.ndarray]]:
    """A convex room (as :func:`chamfered_rooms`) with some corners rounded by arcs of a few millimetres to
    twice the wall's thickness in radius, drawn with 2 to 10 walls each: an arc of a smaller radius than
    the wall is thick leaves no inner face (every one of its walls folds, some only once a neighbour has
    gone), a larger one keeps some; doorways and windows on the longer walls."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    k, corners = convex_corners(draw, 6, 4.0)
    picks = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    fillets = [(i, draw(st.floats(0.005, 2.0 * t)), draw(st.integers(2, 10))) for i in picks]
    outline = rounded(corners, fillets)
    y0, h = draw(st.sampled_from([0.0, -1.5])), draw(st.sampled_from([2.6, 3.0]))
    room = Room(outline, y0, h, t, "wall")
    quads, points = openings_on_long_walls(draw, outline, t, y0)
    return room, quads, points


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounded_rooms())
def test_rounded_corners_take_the_panels_and_build_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[np.ndarray]],
) -> None:
    assert_panels_build_the_boolean_solid(*case)


def test_a_corner_reached_two_ways_is_one_vertex() -> None:
    # A corner at (3.0 - 3.6e-7, 7.0 - 7e-15), as a turned level's corners are, is the start of one wall and the
    # end of the one before (its start plus its length along its tangent): the two differ by 1e-15 and fell
    # either side of a float32 rounding boundary, 2.4e-7 apart as written; the shell was not closed there (also
    # after the weld pass, which joins vertices of one normal only). Found by the property test above.
    outline = np.array(
        [
            (8.921995287767013, 2.9479970907306705),
            (8.94982652264174, 3.000000235658051),
            (8.921995282044621, 3.0520033775229),
            (2.999999642372132, 6.999999999999993),
            (-2.9999999999999893, 2.9999997615814213),
            (3.0000003576278678, -0.9999999999999929),
        ]
    )
    ir = scene({"r": Room(outline, 0.0, 2.6, 0.05, "wall")}, [])
    assert generate_rooms(ir) == 0
    assert closed(only_surface(ir, "r"))


def test_a_corner_rounded_tighter_than_the_walls_loses_its_inner_face() -> None:
    # A 6 × 4 m room whose corner (6, 4) is an arc of 8 cm radius in 6 walls; 0.2 m walls. The arc's inner
    # offset would have a negative radius: all 6 walls drop out (the two in the middle first, the others as
    # their neighbours go), the cavity corner is the square room's, (5.8, 3.8).
    outline = rounded(np.array([[0, 0], [6, 0], [6, 4], [0, 4]], float), [(2, 0.08, 6)])
    room = Room(outline, 0.0, 3.0, 0.2, "wall")
    w = walls([room])
    assert w.ok.all() and w.collapsed.sum() == 6 and w.collapsed[2:8].all()
    assert np.allclose(w.inner[2:9], [5.8, 3.8])
    assert (w.thickness[2:8] >= 0.2 - 1e-9).all()  # the apex lies deeper than the walls behind each
    assert generate_rooms(scene({"r": room}, [])) == 0


def test_a_doorway_drawn_to_the_apex_is_cut_there() -> None:
    # Cut up to the cavity's corner, which is the apex: the corner rules pair the wall with the live one across
    # the apex (the chamfer between has no inner face). Drawn past it, to the outline's corner, it stops there
    # too: the solid the booleans cut for one drawn to the apex.
    outline = chamfered(np.array([[0, 0], [6, 0], [6, 4], [0, 4]], float), [(2, 0.05)])
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    for lo in (0.0, 0.1, 1.0):  # from the floor's underside, its top; a window
        to_apex = doorway(outline[1], outline[2], 3.0, 3.9, lo, 2.1)
        assert_panels_build_the_boolean_solid(room, [to_apex], [to_apex.mean(axis=0)])
        past_it = doorway(outline[1], outline[2], 3.0, 4.5, lo, 2.1)
        built = scene({"r": room}, [("r", "x", past_it)])
        assert generate_rooms(built) == 0
        assert np.isclose(as_trimesh(built.cells[0].surfaces[-1]).volume, panel_and_boolean(room, [to_apex])[2].volume)


def test_a_chamfered_l_shaped_room_takes_the_panels() -> None:
    # Concave: its cavity is checked for crossings without the collapsed edge (whose zero-length inner edge
    # would touch both neighbours'). Two convex corners cut 3 cm back, a doorway and a window.
    corners = np.array([[0, 0], [8, 0], [8, 3], [4, 3], [4, 6], [0, 6]], float)
    outline = chamfered(corners, [(1, 0.03), (4, 0.03)])
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    w = walls([room])
    assert not w.convex[0] and w.collapsed.sum() == 2
    quads = [doorway(outline[0], outline[1], 2.0, 2.9, 0.0, 2.1), doorway(outline[6], outline[7], 2.0, 3.0, 1.0, 2.0)]
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)
    assert closed(surface)
    assert boolean.volume - 1e-6 <= mesh.volume <= boolean.volume + spill + 1e-6


def test_an_inner_edge_under_a_sliver_collapses_too() -> None:
    # A 0.198 m wall between turns of 23° and 75° in 0.2 m walls keeps an inner edge of 0.13 mm: not folded,
    # but every triangle holding it would be a sliver (0.127 mm high, on the floor's underside). It collapses.
    outline = np.array(
        [
            [6.0417, 15.1063],
            [6.2394, 15.0981],
            [6.5122, 15.9808],
            [6.0784, 19.7817],
            [4.6877, 19.9075],
            [3.319, 19.0219],
            [2.5615, 16.8822],
        ]
    )
    room = Room(outline, 0.15, 4.5, 0.2, "wall")
    w = walls([room])
    assert w.collapsed.tolist() == [True] + [False] * 6
    built = scene({"r": room}, [("r", "x", doorway(outline[5], outline[6], 0.5, 1.5, 0.15, 2.2))])
    assert generate_rooms(built) == 0
    surface = built.cells[0].surfaces[-1]
    assert closed(surface)
    assert heights(surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]).min() >= 5e-4


def test_a_plan_of_rounded_rooms_takes_the_panels() -> None:
    # 36 rooms, most corners rounded (radii a quarter to three times the walls' 5-20 cm), doorways and windows
    # between neighbours: every room takes the panel path, closed, no sliver.
    plan = rounded_plan(6, 6, seed=3)
    built = compile_scene(json.dumps(plan).encode())
    assert built.meta["stats"]["booleanCells"] == 0
    for cell, tri in cell_triangles(built.glb).items():
        assert heights(tri.astype(np.float64)).min() >= 5e-4, cell


@pytest.mark.parametrize("noise", [0.0, 2e-9, 7e-9, 5e-7])
def test_a_cavity_corner_nanometres_off_an_axis_is_one_vertex(noise: float) -> None:
    # A wall at x = -0.1 + noise in 10 cm walls: the cavity's apex at the chamfer lies `noise` off x = 0.
    # Reached along two walls, its two copies differ by ~1e-16, which float32 keeps apart near 0 (a crack,
    # so the room went to the booleans) unless written as 0.
    x0 = -0.1 + noise
    outline = np.array([[x0, 0.0], [5.9, 0.0], [5.9, 4.0], [x0 + 0.05, 4.0], [x0, 3.95]])
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    built = scene({"r": room}, [])
    assert generate_rooms(built) == 0
    assert closed(built.cells[0].surfaces[-1])


def manifold(surface: Surface) -> bool:
    """Every edge, corners merged by float32 position, crossed exactly once each way: closed, oriented and
    2-manifold (an edge four faces share, as where a solid touches itself along a line, is not)."""
    _, vertex = np.unique(surface.positions.astype(np.float32), axis=0, return_inverse=True)
    tri = vertex.reshape(-1)[surface.indices.astype(np.int64)].reshape(-1, 3)
    n = int(vertex.max()) + 1
    start, end = tri.reshape(-1), tri[:, [1, 2, 0]].reshape(-1)
    forward, backward = np.sort(start * n + end), np.sort(end * n + start)
    return bool(np.array_equal(forward, backward) and not (forward[1:] == forward[:-1]).any())


@st.composite
def apex_doorways(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """A convex room (as :func:`chamfered_rooms`, :func:`rounded_rooms`) with corners chamfered or rounded
    tighter than its walls, and openings 0.8 m wide on its long walls drawn from an apex (a cavity corner where
    the walls between lost their inner faces) or up to one, from the floor's underside, its top, or windows: to
    the apex, past it (to the outline's end, or beyond) or a few millimetres short of it; two at one apex (a
    pillar between them) not both from the floor's underside (which pinch the solid along the apex's line, as
    drawn). Returns the room, the openings as drawn, the same drawn to the apex (the booleans' reference: they
    cut one drawn past it up to the collapsed wall's own mitre) and a point in each."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    k, corners = convex_corners(draw, 6, 4.0)
    picks = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    if draw(st.booleans()):
        outline = chamfered(corners, [(i, draw(st.floats(0.003, 0.5 * t))) for i in picks])
    else:
        outline = rounded(corners, [(i, draw(st.floats(0.005, 0.9 * t)), draw(st.integers(2, 8))) for i in picks])
    y0, h = draw(st.sampled_from([0.0, -1.5])), draw(st.sampled_from([2.6, 3.0]))
    room = Room(outline, y0, h, t, "wall")
    w = walls([room])
    assume(bool(w.ok.all()))
    n = outline.shape[0]
    drawn, reference, points, used = [], [], [], set()
    for e in range(n):
        p, q = outline[e], outline[(e + 1) % n]
        length = float(np.linalg.norm(q - p))
        ends = [end for end in (0, 1) if w.collapsed[(e - 1) % n if end == 0 else (e + 1) % n]]
        if length < 3.0 or not ends or not draw(st.booleans()):
            continue
        end = draw(st.sampled_from(ends))
        step = -1 if end == 0 else 1
        corner = (e + step) % n
        while w.collapsed[corner]:  # the live wall across the apex
            corner = (corner + step) % n
        kind = draw(st.sampled_from(["door", "floor-top", "window"]))
        pair = (min(e, corner), max(e, corner), kind == "door")
        if pair in used:  # (an opening of the wall across at this apex too: a pillar, unless both are doors)
            continue
        used.add(pair)
        lo, hi = {"door": (y0, y0 + 2.1), "floor-top": (y0 + t, y0 + 2.1), "window": (y0 + 1.0, y0 + 2.0)}[kind]
        past = draw(st.sampled_from([0.0, 1.0, 1.1]))  # to the apex, to the outline's end, beyond it
        # ... or stopped 0.5 to 3 mm short of it: the face across gets vertices at the opening's heights
        short = draw(st.sampled_from([0.0, draw(st.floats(5e-4, 3e-3))]))
        past *= short == 0.0
        if end == 1:
            apex = float(w.inner1[e]) - short
            s0, s1 = apex - 0.8, apex + past * (length - apex)
            reference.append(doorway(p, q, s0, apex, lo, hi))
        else:
            apex = float(w.inner0[e]) + short
            s0, s1 = apex - past * apex, apex + 0.8
            reference.append(doorway(p, q, apex, s1, lo, hi))
        drawn.append(doorway(p, q, s0, s1, lo, hi))
        points.append(reference[-1].mean(axis=0))
    assume(drawn)
    return room, drawn, reference, points


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(apex_doorways())
def test_openings_drawn_to_an_apex_take_the_panels_and_build_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[np.ndarray], list[np.ndarray]],
) -> None:
    room, drawn, reference, points = case
    assert_panels_build_the_boolean_solid(room, reference, points)
    built = scene({"r": room}, [("r", "x", q) for q in drawn])
    assert generate_rooms(built) == 0
    surface = only_surface(built, "r")
    assert manifold(surface)
    # Drawn past the apex, cut there: the solid of the openings drawn to it, every opening open.
    reference_built = scene({"r": room}, [("r", "x", q) for q in reference])
    assert generate_rooms(reference_built) == 0
    volume = as_trimesh(surface).volume
    assert np.isclose(volume, as_trimesh(only_surface(reference_built, "r")).volume, rtol=0, atol=1e-6)
    assert_open_and_sliver_free(surface, room, reference, points)


@pytest.mark.parametrize(
    "corners",
    [
        [(3.0, 0.0), (3.9, 0.0), (3.9, 2.1), (3.2, 2.1)],  # a trapezoid from the floor's underside, upright at the apex
        [(3.0, 0.0), (3.9, 0.0), (3.7, 2.1), (3.2, 2.1)],  # ... slanted there
        [(3.0, 0.1), (3.9, 0.1), (3.9, 2.1), (3.2, 2.1)],  # from the floor's top
        [(3.0, 1.0), (3.9, 1.0), (3.9, 2.0), (3.2, 2.0)],  # a window
    ],
)
def test_a_notch_drawn_to_the_apex_is_cut_there(corners: list[tuple[float, float]]) -> None:
    # Openings of other shapes (notches, windows) flush with the apex: the face across is the live wall's.
    outline = chamfered(np.array([[0, 0], [6, 0], [6, 4], [0, 4]], float), [(2, 0.05)])
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    quad = np.array([[6.0, y, s] for s, y in corners])
    assert_panels_build_the_boolean_solid(room, [quad], [np.array([6.0, 1.5, 3.5])])
    built = scene({"r": room}, [("r", "x", quad)])
    assert generate_rooms(built) == 0 and manifold(only_surface(built, "r"))
