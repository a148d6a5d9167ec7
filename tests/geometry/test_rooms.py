"""generate_rooms: closed shells, inward-facing inner faces, doorways cut exactly where portals lie."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from manifold3d import Manifold, Mesh

from sceneforge.errors import SceneInvalid
from sceneforge.geometry import generate_rooms, place_door
from sceneforge.model.ir import Cell, Room, SceneIR, Surface

from .meshcheck import T, as_trimesh, box_room, face_normals, only_surface, plane_area, quad_area, ray_hits, scene

#: docs/scene-format.md's minimal example: hall x∈[-2, 2], kitchen x∈[2.5, 6.5], the portal on the hall's east wall.
EXAMPLE_QUAD = np.array([2.0, 0.2, -0.6, 2.0, 2.2, -0.6, 2.0, 2.2, 0.6, 2.0, 0.2, 0.6]).reshape(4, 3)
X = np.array([1.0, 0.0, 0.0])


def example_scene() -> SceneIR:
    rooms = {"hall": box_room(-2, 2, -2, 2), "kitchen": box_room(2.5, 6.5, -2, 2)}
    return scene(rooms, [("hall", "kitchen", EXAMPLE_QUAD)])


def shell_volume(outer_area: float, inner_area: float, height: float = 3.0, t: float = T) -> float:
    return outer_area * height - inner_area * (height - 2 * t)


def test_box_room_without_portals_is_twelve_faces_closed() -> None:
    ir = scene({"a": box_room(0, 4, 0, 4)}, [])
    generate_rooms(ir)
    surface = only_surface(ir, "a")
    assert surface.material == "wall"
    assert surface.triangle_count == 24  # 6 outer + 6 inner quads
    assert surface.vertex_count == 48  # flat shading: 4 vertices per face, none shared across a hard edge
    mesh = as_trimesh(surface)
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(shell_volume(16, 3.8**2))
    assert np.allclose(ir.cells[0].aabb(), [0, 0, 0, 4, 3, 4])
    assert np.allclose(np.concatenate([surface.positions.min(0), surface.positions.max(0)]), [0, 0, 0, 4, 3, 4])


def test_box_room_inner_faces_point_into_the_room_outer_faces_away() -> None:
    ir = scene({"a": box_room(0, 4, 0, 4)}, [])
    generate_rooms(ir)
    surface = only_surface(ir, "a")
    normals, _ = face_normals(surface)
    centroids = surface.positions[surface.indices].mean(axis=1)
    centre = np.array([2.0, 1.5, 2.0])
    slack = 1e-6
    inner = np.all((centroids > T - slack) & (centroids < np.array([4, 3, 4]) - T + slack), axis=1)
    assert inner.sum() == 12
    towards_centre = np.einsum("ij,ij->i", normals, centre - centroids)
    assert (towards_centre[inner] > 0).all()
    assert (towards_centre[~inner] < 0).all()


def test_flat_shading_vertex_normals_match_winding() -> None:
    ir = example_scene()
    generate_rooms(ir)
    for cell in ir.cells:
        (surface,) = cell.surfaces
        normals, _ = face_normals(surface)
        corner_normals = surface.normals[surface.indices]  # (m, 3, 3)
        assert np.allclose(np.linalg.norm(surface.normals, axis=1), 1.0, atol=1e-6)
        assert (np.einsum("ij,ikj->ik", normals, corner_normals) > 0.9999).all()
        assert surface.positions.dtype == np.float32 and surface.indices.dtype == np.uint32
        assert surface.uvs.shape == (surface.vertex_count, 2)


def test_doorway_is_cut_through_the_wall_it_lies_on() -> None:
    ir = example_scene()
    generate_rooms(ir)
    hall = only_surface(ir, "hall")
    mesh = as_trimesh(hall)
    assert mesh.is_watertight and mesh.is_winding_consistent
    cut = quad_area(EXAMPLE_QUAD)
    assert cut == pytest.approx(2.4)
    assert mesh.volume == pytest.approx(shell_volume(16, 3.8**2) - cut * T)
    assert plane_area(hall, X, 2.0) == pytest.approx(4 * 3 - cut)
    assert plane_area(hall, -X, -1.9) == pytest.approx(3.8 * 2.8 - cut)
    centre = EXAMPLE_QUAD.mean(axis=0)
    assert ray_hits(hall, centre - X, X, 2.0) == 0
    for elsewhere in ([2.0, 1.2, 1.2], [2.0, 2.6, 0.0], [2.0, 1.2, -1.5], [2.0, 0.15, 0.0]):
        assert ray_hits(hall, np.array(elsewhere) - X, X, 2.0) >= 2, elsewhere


def test_portal_off_a_rooms_walls_leaves_that_room_whole() -> None:
    ir = example_scene()
    generate_rooms(ir)
    kitchen = only_surface(ir, "kitchen")
    assert kitchen.triangle_count == 24
    assert as_trimesh(kitchen).volume == pytest.approx(shell_volume(16, 3.8**2))
    assert ray_hits(kitchen, EXAMPLE_QUAD.mean(axis=0), X, 1.0) == 2


def test_touching_rooms_share_a_wall_without_overlap_and_both_are_cut() -> None:
    a, b = box_room(0, 4, 0, 4), box_room(4, 8, -1, 3)
    quad = place_door(a, b, 1.0, 2.0)
    assert quad is not None
    ir = scene({"a": a, "b": b}, [("a", "b", quad)])
    generate_rooms(ir)
    sa, sb = only_surface(ir, "a"), only_surface(ir, "b")
    assert sa.positions[:, 0].max() == pytest.approx(4.0) and sb.positions[:, 0].min() == pytest.approx(4.0)
    merged = [as_trimesh(s) for s in (sa, sb)]
    solids = [Manifold(Mesh(m.vertices.astype(np.float32), m.faces.astype(np.uint32))) for m in merged]
    assert solids[0].volume() > 0 and solids[1].volume() > 0
    assert (solids[0] ^ solids[1]).volume() == pytest.approx(0.0, abs=1e-9)
    centre = quad.mean(axis=0)
    for s in (sa, sb):
        assert ray_hits(s, centre - X, X, 2.0) == 0
        assert as_trimesh(s).volume == pytest.approx(shell_volume(16, 3.8**2) - 2.0 * T)


L_OUTLINE = np.array([[0, 0], [6, 0], [6, 3], [3, 3], [3, 6], [0, 6]], dtype=np.float64)


@pytest.mark.parametrize("winding", [1, -1])
def test_l_shaped_room_is_closed_with_mitred_corners(winding: int) -> None:
    room = Room(L_OUTLINE[::winding].copy(), 0.0, 3.0, T, "wall")
    # A doorway on the inner corner's wall x = 3, z ∈ [3, 6], leading east.
    quad = np.array([[3.0, 0.1, 4.0], [3.0, 2.1, 4.0], [3.0, 2.1, 5.0], [3.0, 0.1, 5.0]])
    ir = scene({"l": room}, [("l", "out", quad)])
    generate_rooms(ir)
    surface = only_surface(ir, "l")
    mesh = as_trimesh(surface)
    assert mesh.is_watertight and mesh.is_winding_consistent
    inner_area = 5.8 * 2.8 + 2.8 * 3.0
    assert mesh.volume == pytest.approx(shell_volume(27, inner_area) - 2.0 * T)
    assert ray_hits(surface, np.array([2.5, 1.1, 4.5]), X, 1.0) == 0
    assert ray_hits(surface, np.array([2.5, 1.1, 3.5]), X, 1.0) == 2


def test_non_rectangular_convex_portal_cuts_its_own_shape() -> None:
    # A trapezoid, wider at the bottom, slanted sides, on the hall's north wall z = 2 (normal +z).
    quad = np.array([[0.8, 0.1, 2.0], [0.3, 2.0, 2.0], [-0.2, 2.0, 2.0], [-1.0, 0.1, 2.0]])
    ir = scene({"hall": box_room(-2, 2, -2, 2)}, [("hall", "north", quad)])
    generate_rooms(ir)
    hall = only_surface(ir, "hall")
    mesh = as_trimesh(hall)
    assert mesh.is_watertight and mesh.is_winding_consistent
    area = quad_area(quad)
    assert area == pytest.approx(0.5 * (1.8 + 0.5) * 1.9)
    assert mesh.volume == pytest.approx(shell_volume(16, 3.8**2) - area * T)
    z = np.array([0.0, 0.0, 1.0])
    assert plane_area(hall, z, 2.0) == pytest.approx(12 - area)
    assert ray_hits(hall, np.array([0.0, 1.0, 1.5]), z, 1.0) == 0
    assert ray_hits(hall, np.array([0.6, 1.9, 1.5]), z, 1.0) == 2  # beside the narrow top


def test_portal_inside_the_wall_slab_is_cut_and_a_tilted_quad_is_projected_through() -> None:
    # Inside the slab and leaning 5 cm over its 2 m height: still on the wall, cut by its projection.
    quad = np.array([[-0.5, 0.5, 1.9], [-1.5, 0.5, 1.9], [-1.5, 2.5, 1.95], [-0.5, 2.5, 1.95]])
    ir = scene({"hall": box_room(-2, 2, -2, 2)}, [("hall", "north", quad)])
    generate_rooms(ir)
    mesh = as_trimesh(only_surface(ir, "hall"))
    assert mesh.is_watertight
    projected = 1.0 * 2.0
    assert mesh.volume == pytest.approx(shell_volume(16, 3.8**2) - projected * T)


def test_hatch_in_floor_and_ceiling_slabs_of_stacked_rooms() -> None:
    low, high = box_room(0, 4, 0, 4), box_room(0, 4, 0, 4, y=3.0)
    hatch = np.array([[1, 3, 1], [1, 3, 2], [2, 3, 2], [2, 3, 1]], dtype=np.float64)  # normal +y: low → high
    ir = scene({"low": low, "high": high}, [("low", "high", hatch)])
    generate_rooms(ir)
    for cell_id in ("low", "high"):
        surface = only_surface(ir, cell_id)
        mesh = as_trimesh(surface)
        assert mesh.is_watertight
        assert mesh.volume == pytest.approx(shell_volume(16, 3.8**2) - 1.0 * T)
        assert ray_hits(surface, np.array([1.5, 2.5, 1.5]), np.array([0, 1.0, 0]), 1.0) == 0


def test_cells_without_room_are_untouched_and_existing_surfaces_kept() -> None:
    existing = Surface(
        "prop",
        np.zeros((3, 3), np.float32),
        np.tile(np.float32([0, 1, 0]), (3, 1)),
        np.zeros((3, 2), np.float32),
        np.array([[0, 1, 2]], np.uint32),
    )
    ir = SceneIR("t", [Cell("plain"), Cell("room", box_room(0, 4, 0, 4), [existing])], [], {})
    generate_rooms(ir)
    assert ir.cells[0].surfaces == []
    assert ir.cells[1].surfaces[0] is existing and len(ir.cells[1].surfaces) == 2


def test_room_too_small_for_its_walls_is_reported_and_nothing_changes() -> None:
    rooms = {"ok": box_room(0, 4, 0, 4), "thin": box_room(5, 5.15, 0, 4), "flat": box_room(6, 9, 0, 3, height=0.15)}
    ir = scene(rooms, [])
    with pytest.raises(SceneInvalid) as raised:
        generate_rooms(ir)
    issues = [(i.path, i.code) for i in raised.value.issues]
    assert issues == [("/cells/1/room", "room_too_small"), ("/cells/2/room", "room_too_small")]
    assert all(cell.surfaces == [] for cell in ir.cells)


def test_uvs_are_world_scaled() -> None:
    ir = example_scene()
    generate_rooms(ir)
    for cell in ir.cells:
        (surface,) = cell.surfaces
        tri_uv = surface.uvs.astype(np.float64)[surface.indices]
        e1, e2 = tri_uv[:, 1] - tri_uv[:, 0], tri_uv[:, 2] - tri_uv[:, 0]
        uv_area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        _, area = face_normals(surface)
        assert np.allclose(uv_area, area, atol=1e-5)  # axis-aligned faces: projection keeps areas
        tri = surface.positions.astype(np.float64)[surface.indices]
        uv_edges = np.linalg.norm(np.roll(tri_uv, -1, axis=1) - tri_uv, axis=2)
        edges = np.linalg.norm(np.roll(tri, -1, axis=1) - tri, axis=2)
        assert np.allclose(uv_edges, edges, atol=1e-5)  # 1 UV unit = 1 m, no stretch
    hall = only_surface(ir, "hall")
    floor_top = (np.abs(hall.positions[:, 1] - T) < 1e-6) & (hall.normals[:, 1] > 0.5)
    assert np.allclose(hall.uvs[floor_top], hall.positions[floor_top][:, [0, 2]], atol=1e-6)


def test_generation_is_deterministic() -> None:
    first, second = example_scene(), example_scene()
    generate_rooms(first)
    generate_rooms(second)
    for a, b in zip(first.cells, second.cells, strict=True):
        for name in ("positions", "normals", "uvs", "indices"):
            assert np.array_equal(getattr(a.surfaces[0], name), getattr(b.surfaces[0], name))


sizes = st.floats(1.5, 9.0)
thickness = st.floats(0.03, 0.3)
unit = st.floats(0.0, 1.0)


@given(
    width=sizes,
    depth=sizes,
    height=st.floats(2.0, 5.0),
    t=thickness,
    wall=st.integers(0, 3),
    u0=unit,
    u1=unit,
    v0=unit,
    v1=unit,
    inset=unit,
)
def test_box_with_a_door_inside_a_wall_is_closed_and_loses_the_door_volume(
    width: float,
    depth: float,
    height: float,
    t: float,
    wall: int,
    u0: float,
    u1: float,
    v0: float,
    v1: float,
    inset: float,
) -> None:
    room = box_room(0.0, width, 0.0, depth, height=height, t=t)
    length = (width, depth)[wall % 2]
    # Along the wall between the inner corners, between floor top and ceiling underside, at least 5 cm square.
    a, b = sorted((u0, u1))
    lo, hi = t + 0.01 + a * (length - 2 * t - 0.07), t + 0.01 + b * (length - 2 * t - 0.07) + 0.05
    c, d = sorted((v0, v1))
    bottom, top = t + c * (height - 2 * t - 0.05), t + d * (height - 2 * t - 0.05) + 0.05
    depth_in = -inset * t  # anywhere across the slab
    rect = np.array([[lo, bottom], [lo, top], [hi, top], [hi, bottom]])
    if wall == 0:  # z = 0, outward -z
        quad = np.stack([rect[:, 0], rect[:, 1], np.full(4, -depth_in)], axis=1)
    elif wall == 1:  # x = width, outward +x
        quad = np.stack([np.full(4, width + depth_in), rect[:, 1], rect[:, 0]], axis=1)
    elif wall == 2:  # z = depth
        quad = np.stack([rect[:, 0], rect[:, 1], np.full(4, depth + depth_in)], axis=1)
    else:  # x = 0
        quad = np.stack([np.full(4, -depth_in), rect[:, 1], rect[:, 0]], axis=1)
    ir = scene({"r": room}, [("r", "elsewhere", quad)])
    generate_rooms(ir)
    surface = only_surface(ir, "r")
    mesh = as_trimesh(surface)
    assert mesh.is_watertight and mesh.is_winding_consistent
    door = quad_area(quad)
    expected = width * depth * height - (width - 2 * t) * (depth - 2 * t) * (height - 2 * t) - door * t
    assert mesh.volume == pytest.approx(expected, abs=1e-4)  # float32 positions
    normal = np.array([[0, 0, -1.0], [1.0, 0, 0], [0, 0, 1.0], [-1.0, 0, 0]])[wall]
    offset = (0.0, width, depth, 0.0)[wall]
    assert plane_area(surface, normal, offset) == pytest.approx(length * height - door, abs=2e-5)
    inner = (length - 2 * t) * (height - 2 * t) - door
    assert plane_area(surface, -normal, t - offset) == pytest.approx(inner, abs=2e-5)


coords = st.floats(-1.0, 7.0)


@given(
    width=sizes,
    depth=sizes,
    t=thickness,
    corners=st.lists(st.tuples(coords, coords), min_size=2, max_size=2),
    wall=st.integers(0, 1),
    slant=st.floats(-0.5, 0.5),
)
# A door a hair (6e-10 m) above the floor's underside, over the corner: a float32-collapsed sliver.
@example(width=2.0, depth=2.0, t=0.25, corners=[(0.0, 6.07e-10), (1.0, 1.0)], wall=0, slant=0.0)
# A slanted jamb that meets the cavity's corner exactly at the floor's underside, the foot drawn past it:
# stopped at the corner, the doorway narrowed to nothing there and pinched the shell (one edge of four faces).
@example(width=4.125, depth=2.0, t=0.25, corners=[(4.0, 0.0), (3.875, 1.0)], wall=0, slant=-0.5)
def test_doors_anywhere_never_break_the_shell(
    width: float, depth: float, t: float, corners: list[tuple[float, float]], wall: int, slant: float
) -> None:
    """Doors over corners, floor, ceiling or off the wall: the shell stays closed, whatever they hit."""
    room = box_room(0.0, width, 0.0, depth, t=t)
    (a, c), (b, d) = corners
    a, b = sorted((a, b))
    c, d = sorted((c, d))
    if b - a < 0.01 or d - c < 0.01:
        return
    rect = np.array([[a, c], [a + slant * (d - c) / 4, d], [b, d], [b, c]])
    plane = np.full(4, width if wall else 0.0)
    quad = np.stack([plane, rect[:, 1], rect[:, 0]], axis=1) if wall else np.stack([rect[:, 0], rect[:, 1], plane], 1)
    second = place_door(room, box_room(width, width + 2, 0, depth), 0.8, 2.0)
    portals = [("r", "x", quad)] + ([("r", "y", second)] if second is not None else [])
    ir = scene({"r": room}, portals)
    generate_rooms(ir)
    mesh = as_trimesh(only_surface(ir, "r"))
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert 0 < mesh.volume <= width * depth * 3.0 - (width - 2 * t) * (depth - 2 * t) * (3.0 - 2 * t) + 1e-6


def manifold_edges(surface: Surface) -> bool:
    """Every edge (corners merged by float32 position) crossed once each way: closed, oriented, 2-manifold."""
    _, vertex = np.unique(surface.positions, axis=0, return_inverse=True)
    f = vertex.reshape(-1)[surface.indices.astype(np.int64)].reshape(-1, 3)
    start, end = f.reshape(-1), f[:, [1, 2, 0]].reshape(-1)
    n = int(vertex.max()) + 1
    forward, backward = np.sort(start * n + end), np.sort(end * n + start)
    return bool(np.array_equal(forward, backward) and not (forward[1:] == forward[:-1]).any())


@given(
    width=sizes,
    depth=sizes,
    t=thickness,
    past=st.floats(0.01, 0.6),
    lean=st.floats(0.01, 0.6),
    rise=st.floats(0.5, 2.0),
    left=st.booleans(),
    ceiling=st.booleans(),
    fast=st.booleans(),
)
@example(width=4.125, depth=2.0, t=0.25, past=0.125, lean=0.125, rise=1.0, left=False, ceiling=False, fast=True)
def test_a_slanted_jamb_from_the_cavitys_corner_at_a_slab_face_cuts_through_the_corner(
    width: float, depth: float, t: float, past: float, lean: float, rise: float, left: bool, ceiling: bool, fast: bool
) -> None:
    """An opening whose foot (top) on the floor's underside (the ceiling's top) starts exactly at the cavity's
    corner and runs ``past`` it into the wall across, its jamb leaning ``lean`` into the room over ``rise``:
    stopped at the corner it would meet that face at the corner alone, the wall across and the slab beside
    the jamb touching along an edge. It is cut through the corner (up to the outline's end): a closed
    2-manifold, on both paths, less the opening's area within the outline times the wall."""
    height = 3.0
    room = box_room(0.0, width, 0.0, depth, height=height, t=t)
    corner = t if left else width - t
    out, side = (-1.0, 1.0) if left else (1.0, -1.0)  # towards the wall across; into the room
    level, up = (height, -1.0) if ceiling else (0.0, 1.0)
    rect = [(corner, level), (corner + side * lean, level + up * rise), (corner + out * past, level + up * rise)]
    rect.append((corner + out * past, level))
    quad = np.array([[x, y, 0.0] for x, y in rect])
    ir = scene({"r": room}, [("r", "x", quad)])
    assert generate_rooms(ir, fast_paths=fast) == 1
    surface = only_surface(ir, "r")
    assert manifold_edges(surface)
    inside = min(past, t)  # the outline ends a wall's thickness past the cavity's corner
    door = rise * (inside + 0.5 * lean)
    expected = width * depth * height - (width - 2 * t) * (depth - 2 * t) * (height - 2 * t) - door * t
    assert as_trimesh(surface).volume == pytest.approx(expected, abs=1e-4)


def test_a_diamonds_tip_on_the_floors_underside_leaves_no_edge_of_four_faces() -> None:
    """The solid as drawn touches itself at the tip; the panels' shell had an edge of four faces there: the
    shell check sends the room to the booleans, whose shell is a closed 2-manifold of the same volume."""
    room = box_room(0.0, 4.0, 0.0, 2.0, t=0.25)
    quad = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [2.0, 1.0, 0.0], [2.5, 0.5, 0.0]])
    for fast in (True, False):
        ir = scene({"r": room}, [("r", "x", quad)])
        assert generate_rooms(ir, fast_paths=fast) == 1
        surface = only_surface(ir, "r")
        assert manifold_edges(surface)
        assert as_trimesh(surface).volume == pytest.approx(4 * 2 * 3 - 3.5 * 1.5 * 2.5 - 0.5 * 0.25, abs=1e-4)


def test_box_fast_path_matches_the_boolean_shells_of_a_maze() -> None:
    """Box rooms with doorways on the floor are built without booleans: same solid, closed, flat-shaded."""
    import json

    from sceneforge.config import Limits
    from sceneforge.generate import generate_maze
    from sceneforge.ingest.description import description_to_ir, parse_description

    def build(fast: bool) -> SceneIR:
        ir = description_to_ir(parse_description(json.dumps(generate_maze(40, seed=3))), lambda _a: b"", Limits())
        assert generate_rooms(ir, fast_paths=fast) == (0 if fast else 40)
        return ir

    fast, slow = build(True), build(False)
    for a, b in zip(fast.cells, slow.cells, strict=True):
        mesh, reference = as_trimesh(only_surface(fast, a.cell_id)), as_trimesh(only_surface(slow, b.cell_id))
        assert mesh.is_watertight and mesh.is_winding_consistent
        assert mesh.volume == pytest.approx(reference.volume, abs=1e-4)
        assert mesh.area == pytest.approx(reference.area, abs=1e-3)
        normals, _ = face_normals(only_surface(fast, a.cell_id))
        surface = only_surface(fast, a.cell_id)
        assert np.allclose(surface.normals[surface.indices], normals[:, None, :], atol=1e-6)
