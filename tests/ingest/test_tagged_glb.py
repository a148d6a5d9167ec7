"""tagged_glb_to_ir on a Blender-style export: cells, world-space geometry, portals, issues, limits, fuzzing."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.compile import compile_scene
from sceneforge.config import Limits
from sceneforge.errors import LimitExceeded, SceneInvalid
from sceneforge.ingest.tagged_glb import UPRIGHT_SLACK, is_glb, planar_outline, tagged_glb_to_ir

from .blender_fixture import DOOR_QUAD, HATCH_QUAD, GlbBuilder, blender_scene, box_mesh_arrays, pack_glb, tiny_png

LIMITS = Limits()
FIXTURE = blender_scene()


def _rotation(turn: tuple[float, ...] | list[float]) -> np.ndarray:
    """The rotation by ``turn[k]`` radians about axis k, x first."""
    rotation = np.eye(3)
    for axis, angle in enumerate(turn):
        c, s_ = np.cos(angle), np.sin(angle)
        r = np.eye(3)
        i, j = [a for a in range(3) if a != axis]
        r[[i, i, j, j], [i, j, i, j]] = [c, -s_, s_, c]
        rotation = r @ rotation
    return rotation


def _split(glb: bytes) -> tuple[dict[str, Any], bytes]:
    n = struct.unpack_from("<I", glb, 12)[0]
    gltf = json.loads(glb[20 : 20 + n])
    rest = glb[20 + n :]
    return gltf, rest[8:] if rest else b""


def _edit(glb: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    gltf, binary = _split(glb)
    change(gltf)
    return pack_glb(gltf, binary)


def _node(gltf: dict[str, Any], name: str) -> int:
    return next(i for i, n in enumerate(gltf["nodes"]) if n.get("name") == name)


def _issues(glb: bytes) -> list[tuple[str, str]]:
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    return [(i.path, i.code) for i in err.value.issues]


def _triangle_normals(surface) -> np.ndarray:  # type: ignore[no-untyped-def]
    p = surface.positions.astype(np.float64)[surface.indices]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def test_is_glb_checks_magic_only() -> None:
    assert is_glb(FIXTURE)
    assert is_glb(b"glTF")
    assert not is_glb(b'{"sceneId": "x"}')
    assert not is_glb(b"")


def test_fixture_cells_in_document_order_with_no_warnings() -> None:
    ir, warnings = tagged_glb_to_ir(FIXTURE, LIMITS)
    assert warnings == []
    assert [c.cell_id for c in ir.cells] == ["hall", "kitchen"]
    assert ir.scene_id == "Scene"
    assert [c.path for c in ir.cells] == [f"/nodes/{_node(_split(FIXTURE)[0], n)}" for n in ("Hall", "Kitchen")]


def test_fixture_geometry_is_in_world_space() -> None:
    ir, _ = tagged_glb_to_ir(FIXTURE, LIMITS)
    hall, kitchen = ir.cells
    np.testing.assert_allclose(hall.aabb(), [-2, 0, -2, 2, 3, 2], atol=1e-6)
    np.testing.assert_allclose(kitchen.aabb(), [2, 0, -2, 6, 3, 2], atol=1e-6)
    # the hall floor: the box's bottom face, 1.5 m up inside a cell at the origin → y = 0
    floor = next(s for s in hall.surfaces if s.material == "Floor")
    np.testing.assert_allclose(floor.positions[:, 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(floor.normals, np.tile([0, -1, 0], (floor.vertex_count, 1)), atol=1e-6)


def test_fixture_table_gets_translation_rotation_scale_of_its_ancestors() -> None:
    ir, _ = tagged_glb_to_ir(FIXTURE, LIMITS)
    kitchen = ir.cells[1]
    floor = next(s for s in kitchen.surfaces if s.material == "Floor")
    table = floor.positions[4:].astype(np.float64)  # after the kitchen floor's 4 vertices
    pos, nrm, _, _ = box_mesh_arrays((0.5, 0.5, 0.5))
    # R_y(90°): (x, y, z) → (z, y, -x); scale 0.5; table at (0.5, 0.4, -0.5) in a cell at x = 4
    expected = np.stack([pos[:, 2], pos[:, 1], -pos[:, 0]], axis=1) * 0.5 + [4.5, 0.4, -0.5]
    np.testing.assert_allclose(table, expected, atol=1e-6)
    expected_n = np.stack([nrm[:, 2], nrm[:, 1], -nrm[:, 0]], axis=1)
    np.testing.assert_allclose(floor.normals[4:], expected_n, atol=1e-6)


def test_fixture_one_surface_per_material_and_portals_not_emitted() -> None:
    ir, _ = tagged_glb_to_ir(FIXTURE, LIMITS)
    hall, kitchen = ir.cells
    assert [s.material for s in hall.surfaces] == ["Floor", "Wall"]
    assert [s.material for s in kitchen.surfaces] == ["Floor", "Wall"]
    # hall: the room box (12 triangles); kitchen: room box + table cube, no hatch plane
    assert sum(s.triangle_count for s in hall.surfaces) == 12
    assert sum(s.triangle_count for s in kitchen.surfaces) == 24
    corners = np.concatenate([DOOR_QUAD, HATCH_QUAD])
    for cell in ir.cells:
        for s in cell.surfaces:
            gap = np.linalg.norm(s.positions[:, None, :] - corners[None], axis=2)
            assert gap.min() > 1e-3


def test_fixture_portals_from_node_and_mesh_extras() -> None:
    ir, _ = tagged_glb_to_ir(FIXTURE, LIMITS)
    by_pair = {(p.from_cell, p.to_cell): p for p in ir.portals}
    assert set(by_pair) == {("hall", "kitchen"), ("kitchen", "hall")}
    door, hatch = by_pair["hall", "kitchen"], by_pair["kitchen", "hall"]
    np.testing.assert_allclose(door.quad, DOOR_QUAD, atol=1e-6)
    np.testing.assert_allclose(hatch.quad, HATCH_QUAD, atol=1e-6)
    assert not door.one_way and hatch.one_way
    np.testing.assert_allclose(door.normal, [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(hatch.normal, [-1, 0, 0], atol=1e-6)
    assert [p.index for p in ir.portals] == [0, 1]


def test_fixture_materials_with_embedded_png() -> None:
    ir, _ = tagged_glb_to_ir(FIXTURE, LIMITS)
    assert ir.materials["Floor"].base_color == pytest.approx((0.5, 0.4, 0.3, 1.0))
    assert ir.materials["Floor"].roughness == pytest.approx(0.5)
    wall = ir.materials["Wall"]
    assert wall.texture is not None and wall.texture.png == tiny_png()
    assert wall.texture.asset_id.startswith("sha256:")


def test_scene_id_from_sceneforge_extras_then_plain_extras_then_name() -> None:
    assert tagged_glb_to_ir(blender_scene(scene_extras={"sceneforge": {"sceneId": "lvl-1"}}), LIMITS)[0].scene_id == (
        "lvl-1"
    )
    assert tagged_glb_to_ir(blender_scene(scene_extras={"sceneId": "b2"}), LIMITS)[0].scene_id == "b2"
    assert tagged_glb_to_ir(blender_scene(scene_name="My Level #3"), LIMITS)[0].scene_id == "My_Level_3"
    assert tagged_glb_to_ir(blender_scene(scene_name="✨"), LIMITS)[0].scene_id == "scene"


def test_scene_props_from_sceneforge_extras() -> None:
    glb = blender_scene(scene_extras={"sceneforge": {"props": {"author": "ana", "n": "3"}}})
    assert tagged_glb_to_ir(glb, LIMITS)[0].props == {"author": "ana", "n": "3"}
    # a prop that is not a string is an error, not left out (test_hostile_glb.py)
    glb = blender_scene(scene_extras={"sceneforge": {"props": {"author": "ana", "n": 3}}})
    assert _issues(glb) == [("/scenes/0/extras/sceneforge/props/n", "props_invalid")]


def test_scene_id_invalid_in_extras_is_an_error() -> None:
    glb = blender_scene(scene_extras={"sceneforge": {"sceneId": "bad id!"}})
    assert _issues(glb) == [("/scenes/0/extras/sceneforge/sceneId", "scene_id_invalid")]


@given(st.text(max_size=80))
def test_scene_id_from_any_name_is_valid(name: str) -> None:
    glb = _edit(FIXTURE, lambda g: g["scenes"][0].update(name=name))
    scene_id = tagged_glb_to_ir(glb, LIMITS)[0].scene_id
    assert 1 <= len(scene_id) <= 64 and scene_id[0].isascii() and scene_id[0].isalnum()
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in scene_id)


def test_duplicate_cell_id_is_an_error_at_the_second_node() -> None:
    kitchen = _node(_split(FIXTURE)[0], "Kitchen")
    issues = _issues(blender_scene(kitchen_id="hall"))
    assert (f"/nodes/{kitchen}/extras/cellId", "duplicate_cell_id") in issues


def test_portal_to_unknown_cell_is_an_error_at_the_mesh_extras() -> None:
    gltf = _split(FIXTURE)[0]
    door_mesh = gltf["nodes"][_node(gltf, "Door")]["mesh"]
    assert _issues(blender_scene(door_to="cellar")) == [(f"/meshes/{door_mesh}/extras/to", "unknown_cell")]


def _two_boxes_and_portal(points: np.ndarray, triangles: np.ndarray | None = None, name: str = "P") -> bytes:
    b = GlbBuilder()
    shape = b.mesh(f"{name}Mesh", [b.primitive(np.asarray(points, dtype=np.float64), triangles)])
    pos, _, _, t = box_mesh_arrays((1, 1, 1))
    box = b.mesh("Box", [b.primitive(pos, t)])
    a = b.node("A", mesh=box, extras={"type": "cell", "cellId": "a"})
    c = b.node("B", mesh=box, translation=[2, 0, 0], extras={"type": "cell", "cellId": "b"})
    p = b.node(name, mesh=shape, translation=[1, 0, 0], extras={"type": "portal", "from": "a", "to": "b"})
    b.gltf["scenes"] = [{"name": "S", "nodes": [a, c, p]}]
    return b.glb()


def test_portal_triangle_gives_its_bounding_rectangle() -> None:
    ir, warnings = tagged_glb_to_ir(_two_boxes_and_portal([[0, -0.5, -0.5], [0, -0.5, 0.5], [0, 0.5, 0]]), LIMITS)
    assert warnings == []
    (portal,) = ir.portals
    np.testing.assert_allclose(portal.normal, [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(
        np.sort(portal.quad[:, 1:], axis=0), [[-0.5, -0.5], [-0.5, -0.5], [0.5, 0.5], [0.5, 0.5]], atol=1e-9
    )


def test_portal_with_two_vertices_is_degenerate_naming_the_object() -> None:
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_two_boxes_and_portal([[0, 0, 0], [0, 1, 0]], name="Doorway"), LIMITS)
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == ("/nodes/2/mesh", "degenerate")
    assert "'Doorway'" in issue.message and "'DoorwayMesh'" in issue.message


def test_collinear_portal_mesh_is_degenerate() -> None:
    line = np.stack([np.zeros(5), np.linspace(0, 1, 5), np.zeros(5)], axis=1)
    assert _issues(_two_boxes_and_portal(line)) == [("/nodes/2/mesh", "degenerate")]


def test_bent_portal_mesh_is_non_planar_naming_the_object() -> None:
    bent = [[0, -0.5, -0.5], [0, -0.5, 0.5], [0, 0.5, 0.5], [0.2, 0.5, -0.5]]
    quad = np.array([[0, 1, 2], [0, 2, 3]])  # both triangles: a vertex no triangle uses is not part of the mesh
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_two_boxes_and_portal(bent, quad, name="Arch"), LIMITS)
    (issue,) = err.value.issues
    assert issue.code == "non_planar" and "'Arch'" in issue.message and "0.0505 m off their plane" in issue.message
    assert issue.message.endswith(
        "a doorway is one flat face: a Plane, not a box (a cube scaled thin) or a plane with Solidify"
    )


def _grid(nx: int, ny: int, half: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A Blender-style Grid primitive in the z = 0 plane: rows of vertices, two triangles per cell."""
    x, y = np.meshgrid(np.linspace(-half[0], half[0], nx), np.linspace(-half[1], half[1], ny))
    points = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1)
    k = np.arange(nx * ny).reshape(ny, nx)[:-1, :-1].ravel()
    tri = np.concatenate([np.stack([k, k + 1, k + nx + 1], 1), np.stack([k, k + nx + 1, k + nx], 1)])
    return points, tri


def test_grid_doorway_gives_its_outline_and_strict_json(tmp_path) -> None:
    """A Grid primitive as a doorway: its first 4 vertices are collinear; its outline is the quad."""
    from sceneforge.compile import compile_scene

    points, tri = _grid(5, 4, (0.5, 0.8))
    # Stand it in the plane x = 0 (the node adds x = 1), normal along +X: (x, y, z) → (z, y, -x).
    standing = np.stack([points[:, 2], points[:, 1], -points[:, 0]], axis=1)
    glb = _two_boxes_and_portal(standing, tri)
    ir, warnings = tagged_glb_to_ir(glb, LIMITS)
    assert warnings == []
    expected = [[1, -0.8, 0.5], [1, -0.8, -0.5], [1, 0.8, -0.5], [1, 0.8, 0.5]]
    np.testing.assert_allclose(ir.portals[0].quad, expected, atol=1e-9)
    result = compile_scene(glb)

    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    plane = json.loads(json.dumps(result.meta), parse_constant=refuse)["visibility"]["portals"][0]["plane"]
    assert plane == pytest.approx([1, 0, 0, -1])


_SHAPES = st.sampled_from(["grid", "ngon", "random"])


@settings(max_examples=40, deadline=None)
@given(
    shape=_SHAPES,
    seed=st.integers(0, 2**32 - 1),
    size=st.tuples(st.floats(0.2, 5.0), st.floats(0.2, 5.0)),
    turn=st.tuples(st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi)),
)
def test_planar_outline_is_a_small_rectangle_holding_the_shape(shape: str, seed: int, size, turn) -> None:
    rng = np.random.default_rng(seed)
    w, h = size
    if shape == "grid":
        flat, _ = _grid(int(rng.integers(2, 8)), int(rng.integers(2, 8)), (w / 2, h / 2))
        flat = flat[:, :2]
    elif shape == "ngon":
        k = int(rng.integers(3, 40))
        t = np.arange(k) * 2 * np.pi / k + rng.uniform(0, 1)
        flat = np.stack([w / 2 * np.cos(t), h / 2 * np.sin(t)], axis=1)
    else:
        flat = rng.uniform(-0.5, 0.5, (int(rng.integers(3, 60)), 2)) * [w, h]
    rotation = _rotation(turn)
    offset = rng.uniform(-20, 20, 3)
    points = np.concatenate([flat, np.zeros((len(flat), 1))], axis=1) @ rotation.T + offset
    found = planar_outline(points)
    assert not isinstance(found[0], str), found
    quad, normal = found
    np.testing.assert_allclose(abs(float(normal @ rotation[:, 2])), 1.0, atol=1e-9)
    np.testing.assert_allclose((quad - offset) @ rotation[:, 2], 0.0, atol=1e-9)
    edges = np.roll(quad, -1, axis=0) - quad
    lengths = np.linalg.norm(edges, axis=1)
    np.testing.assert_allclose(lengths[:2], lengths[2:], rtol=1e-9)  # opposite sides equal
    assert abs(float(edges[0] @ edges[1])) <= 1e-9 * lengths[0] * lengths[1]  # right angles
    assert float(np.cross(edges[0], edges[1]) @ normal) > 0  # counter-clockwise about the normal
    # Every point lies inside the rectangle.
    along = (points - quad[0]) @ (edges[0] / lengths[0])
    across = (points - quad[0]) @ (edges[1] / lengths[1])
    assert along.min() >= -1e-9 and along.max() <= lengths[0] + 1e-9
    assert across.min() >= -1e-9 and across.max() <= lengths[1] + 1e-9
    # No larger than the shape's box in its own frame (the minimum is at most any rectangle's
    # area), but for the slack an upright rectangle is allowed.
    box_area = float(np.ptp(flat[:, 0]) * np.ptp(flat[:, 1]))
    assert lengths[0] * lengths[1] <= box_area * (1 + UPRIGHT_SLACK) + 1e-12
    if shape == "grid":  # the grid's own rectangle, or an upright one at most the slack larger
        assert w * h * (1 - 1e-9) <= lengths[0] * lengths[1] <= w * h * (1 + UPRIGHT_SLACK)


def _four_points(kind: str, rng: np.random.Generator, w: float, h: float) -> np.ndarray:
    """4 points in a plane: a Blender Plane (corners in a random order), a convex quad, a thin
    sliver, or any 4 points (concave, crossed, nearly collinear, repeated)."""
    if kind == "plane":
        flat = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        return flat[rng.permutation(4)] if rng.integers(2) else flat
    if kind == "convex":
        t = np.sort(rng.uniform(0, 2 * np.pi, 4))
        return np.stack([w / 2 * np.cos(t), h / 2 * np.sin(t)], axis=1)
    if kind == "sliver":  # a rectangle 10³ to 10¹² times longer than wide
        thin = h * 10.0 ** -int(rng.integers(3, 13))
        return np.array([[0.0, 0.0], [w, 0.0], [w, thin], [0.0, thin]])
    flat = np.round(rng.uniform(-0.5, 0.5, (4, 2)) * [w, h], int(rng.integers(0, 4)))
    if rng.integers(2):
        flat[3] = flat[int(rng.integers(3))]
    return flat


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["plane", "convex", "sliver", "any"]),
    seed=st.integers(0, 2**32 - 1),
    size=st.tuples(st.floats(0.01, 50.0), st.floats(0.01, 50.0)),
    turn=st.one_of(
        st.just((0.0, 0.0, 0.0)),
        st.tuples(st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi)),
        st.tuples(st.sampled_from([0.0, np.pi / 2, np.pi]), st.just(0.0), st.sampled_from([0.0, np.pi / 2])),
    ),
    offset=st.one_of(st.just((0.0, 0.0, 0.0)), st.tuples(*[st.floats(-1e4, 1e4)] * 3)),
)
def test_planar_outline_of_four_points_is_the_same_with_and_without_the_quick_hull(
    kind: str, seed: int, size, turn, offset
) -> None:
    import sceneforge.ingest.portal_outline as outline

    rng = np.random.default_rng(seed)
    flat = _four_points(kind, rng, *size)
    quick = outline._quad_hull(flat)
    if quick is not None:
        assert quick.tobytes() == outline._convex_hull(flat).tobytes()
    rotation = _rotation(turn)
    points = np.concatenate([flat, np.zeros((4, 1))], axis=1) @ rotation.T + np.asarray(offset)
    taken: list[bool] = []

    def spy(flat: np.ndarray) -> np.ndarray | None:
        hull = quad_hull(flat)
        taken.append(hull is not None)
        return hull

    quad_hull = outline._quad_hull
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outline, "_quad_hull", spy)
        fast = planar_outline(points)
        mp.setattr(outline, "_quad_hull", lambda flat: None)
        general = planar_outline(points)
    if isinstance(general[0], str):
        assert fast == general
    else:
        assert [a.tobytes() for a in fast] == [b.tobytes() for b in general]  # type: ignore[union-attr]
    if kind == "plane" and min(size) >= 0.1:
        assert taken == [True], "a Blender Plane takes the quick hull"


def test_planar_outline_of_a_rotated_square_keeps_its_corners() -> None:
    corners = np.array([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])  # a diamond: 45° to the axes
    points = np.concatenate([corners, np.zeros((4, 1))], axis=1)
    quad, _ = planar_outline(points)
    assert {tuple(np.round(q[:2], 9) + 0.0) for q in quad} == {tuple(c) for c in corners}


def test_portal_tag_without_mesh_is_an_error() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Hatch")].pop("mesh"))
    assert _issues(glb) == [(f"/nodes/{_node(_split(FIXTURE)[0], 'Hatch')}", "portal_no_mesh")]
    # an Empty (the usual doorway marker) is told how to give it a doorway, not only the loose-edges setting
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    assert "give an Empty a 'quad' custom property" in err.value.issues[0].message


def test_mesh_outside_cells_is_a_warning_and_ignored() -> None:
    ir, warnings = tagged_glb_to_ir(blender_scene(stray_mesh=True), LIMITS)
    lamp = _node(_split(blender_scene(stray_mesh=True))[0], "Lamp")
    assert [(w.path, w.code, w.severity) for w in warnings] == [(f"/nodes/{lamp}", "mesh_outside_cell", "warning")]
    assert all(c.aabb()[3] < 7 for c in ir.cells)


def _with_empty_cells(gltf: dict[str, Any]) -> None:
    """Cell tags on an Empty, a light, a camera and a wire (a mesh of lines only), at the root; a doorway
    (given by its quad) from the kitchen into the Empty's cell."""
    lines = {"attributes": dict(gltf["meshes"][0]["primitives"][0]["attributes"]), "mode": 1}
    gltf["meshes"].append({"name": "Curve", "primitives": [lines]})
    gltf["cameras"] = [{"type": "perspective", "perspective": {"yfov": 1.0, "znear": 0.1}}]
    added = [
        {"name": "Void", "translation": [8.0, 0.0, 0.0], "extras": {"type": "cell", "cellId": "void"}},
        {
            "name": "Lamp",
            "extensions": {"KHR_lights_punctual": {"light": 0}},
            "extras": {"type": "cell", "cellId": "lamp"},
        },
        {"name": "Cam", "camera": 0, "extras": {"type": "cell", "cellId": "cam"}},
        {"name": "Wire", "mesh": len(gltf["meshes"]) - 1, "extras": {"type": "cell", "cellId": "wire"}},
        {
            "name": "VoidDoor",
            "extras": {
                "type": "portal",
                "from": "kitchen",
                "to": "void",
                "quad": [6, 0.1, 0.5, 6, 0.1, -0.5, 6, 2.1, -0.5, 6, 2.1, 0.5],
            },
        },
    ]
    first = len(gltf["nodes"])
    gltf["nodes"].extend(added)
    gltf["scenes"][0]["nodes"].extend(range(first, first + len(added)))


def test_a_cell_without_geometry_is_a_warning_saying_what_its_node_is() -> None:
    result = compile_scene(_edit(FIXTURE, _with_empty_cells))
    gltf = _split(_edit(FIXTURE, _with_empty_cells))[0]
    empty = {w.path: w.message for w in result.warnings if w.code == "empty_cell"}
    names = {f"/nodes/{_node(gltf, name)}": name for name in ("Void", "Lamp", "Cam", "Wire")}
    assert set(empty) == set(names)
    why = {"Void": "an Empty", "Lamp": "it is a light", "Cam": "it is a camera", "Wire": "only points or lines"}
    for path, name in names.items():
        assert f"'{name}' (node" in empty[path] and why[name] in empty[path], empty[path]
        assert "tag the room's mesh object instead" in empty[path]
    # The doorway into the empty cell is not measured against its box (zeros, at the origin, 6 m off).
    assert [w.code for w in result.warnings if w.code != "empty_cell"] == []
    pvs = {c["cellId"]: set(c["pvs"]) for c in result.meta["visibility"]["cells"]}
    assert "void" in pvs["hall"]


def _without_portals(gltf: dict[str, Any]) -> None:
    """Every portal node taken out of the node tree, as a tool that drops nodes without a mesh does."""

    def is_portal(node: dict[str, Any]) -> bool:
        mesh = gltf["meshes"][node["mesh"]] if "mesh" in node else {}
        return "portal" in (node.get("extras", {}).get("type"), mesh.get("extras", {}).get("type"))

    gone = {i for i, node in enumerate(gltf["nodes"]) if is_portal(node)}
    assert gone
    for item in [*gltf["nodes"], *gltf["scenes"]]:
        for key in ("children", "nodes"):
            if key in item:
                item[key] = [i for i in item[key] if i not in gone]


def test_cells_without_any_portal_node_get_a_warning() -> None:
    ir, warnings = tagged_glb_to_ir(_edit(FIXTURE, _without_portals), LIMITS)
    assert len(ir.cells) >= 2 and ir.portals == []
    assert [(w.path, w.code, w.severity) for w in warnings] == [("/nodes", "no_portals", "warning")]
    assert f"{len(ir.cells)} cells and no portal node" in warnings[0].message and "--prune false" in warnings[0].message
    assert "Limit to → Visible Objects / Renderable Objects leaves out doorway planes hidden" in warnings[0].message


def test_one_cell_without_a_portal_gets_no_warning() -> None:
    def one_cell(gltf: dict[str, Any]) -> None:
        _without_portals(gltf)
        cells = [i for i, n in enumerate(gltf["nodes"]) if n.get("extras", {}).get("type") == "cell"]
        for item in [*gltf["nodes"], *gltf["scenes"]]:
            for key in ("children", "nodes"):
                if key in item:
                    item[key] = [i for i in item[key] if i not in cells[1:]]

    ir, warnings = tagged_glb_to_ir(_edit(FIXTURE, one_cell), LIMITS)
    assert len(ir.cells) == 1 and warnings == []


def _untag(gltf: dict[str, Any]) -> None:
    for item in [*gltf["nodes"], *gltf["meshes"], *gltf["scenes"]]:
        item.pop("extras", None)


def test_no_extras_at_all_says_to_export_custom_properties() -> None:
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_edit(FIXTURE, _untag), LIMITS)
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == ("/nodes", "no_extras")
    assert "export_extras" in issue.message and "Custom Properties" in issue.message


def test_an_export_of_no_objects_says_so_not_to_turn_custom_properties_on() -> None:
    """Blender 3.4's export with *Limit to → Selected Objects* and nothing selected: a scene and no node. It has no
    extras either, and was told to export with custom properties, which were on."""
    nothing = {"asset": {"generator": "Khronos glTF Blender I/O v3.4.50", "version": "2.0"}, "scene": 0}
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(pack_glb({**nothing, "scenes": [{"name": "Scene"}]}), LIMITS)
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == ("/nodes", "no_cells")
    assert "no objects at all" in issue.message and "Selected Objects with nothing selected" in issue.message
    assert "export_extras" not in issue.message


def test_no_cells_is_an_error_that_says_what_was_given() -> None:
    def other_tags(gltf: dict[str, Any]) -> None:
        _untag(gltf)
        gltf["nodes"][_node(gltf, "Hall")]["extras"] = {"type": "room", "id": "hall"}

    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_edit(FIXTURE, other_tags), LIMITS)
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == ("/nodes", "no_cells")
    assert "'Hall'" in issue.message and '"type": "room"' in issue.message


def test_node_extras_override_mesh_extras() -> None:
    # a node tagged as a cell whose mesh data says portal: the object property wins
    def retag(gltf: dict[str, Any]) -> None:
        gltf["nodes"][_node(gltf, "Door")]["extras"] = {"type": "cell", "cellId": "porch"}

    ir, _ = tagged_glb_to_ir(_edit(FIXTURE, retag), LIMITS)
    assert [c.cell_id for c in ir.cells] == ["hall", "kitchen", "porch"]
    assert [(p.from_cell, p.to_cell) for p in ir.portals] == [("kitchen", "hall")]


def test_z_ordered_blender_plane_gives_the_same_quad_without_a_warning() -> None:
    """Blender's plane stores its corners in "Z" order: an export that is right, so no warning."""
    gltf, binary = _split(FIXTURE)
    door = _node(gltf, "Door")
    acc = gltf["accessors"][gltf["meshes"][gltf["nodes"][door]["mesh"]]["primitives"][0]["attributes"]["POSITION"]]
    view = gltf["bufferViews"][acc["bufferView"]]
    start = view["byteOffset"]
    verts = np.frombuffer(binary, "<f4", 12, start).reshape(4, 3)[[0, 1, 3, 2]]  # Blender's plane order
    patched = binary[:start] + verts.astype("<f4").tobytes() + binary[start + 48 :]
    ir, warnings = tagged_glb_to_ir(pack_glb(gltf, patched), LIMITS)
    assert warnings == []
    quad = next(p for p in ir.portals if p.from_cell == "hall").quad
    np.testing.assert_allclose(quad, DOOR_QUAD, atol=1e-6)


def test_portal_mesh_facing_from_cell_still_faces_to_without_a_warning() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Door")].update(rotation=[0.0, -(0.5**0.5), 0.0, 0.5**0.5]))
    ir, warnings = tagged_glb_to_ir(glb, LIMITS)
    assert warnings == []
    door = next(p for p in ir.portals if p.from_cell == "hall")
    np.testing.assert_allclose(door.normal, [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(door.quad, DOOR_QUAD, atol=1e-6)


def test_portal_given_as_quad_extras_without_a_mesh() -> None:
    """The project's own output: a portal node with ``quad`` in its extras and no mesh."""
    flipped = DOOR_QUAD[::-1]  # taken as written: a given quad is not turned

    def as_quad(gltf: dict[str, Any]) -> None:
        door = gltf["nodes"][_node(gltf, "Door")]
        door.pop("mesh")
        door.pop("rotation")
        door.pop("translation")
        door["extras"] = {"type": "portal", "from": "hall", "to": "kitchen", "quad": flipped.reshape(-1).tolist()}

    ir, warnings = tagged_glb_to_ir(_edit(FIXTURE, as_quad), LIMITS)
    assert warnings == []
    door = next(p for p in ir.portals if p.from_cell == "hall")
    np.testing.assert_allclose(door.quad, flipped, atol=1e-12)


@pytest.mark.parametrize(
    ("quad", "code"),
    [
        ([0.0] * 11, "portal_invalid"),
        ([*([0.0] * 11), "x"], "portal_invalid"),
        ([*([0.0] * 11), float("nan")], "portal_invalid"),
        ([2, 0, 0, 2, 0, 1, 2, 0, 2, 2, 0, 3], "degenerate"),
        ([2, 0, 0, 2, 0, 1, 2.5, 1, 1, 2, 1, 0], "non_planar"),
        ([2, 0, 0, 2, 1, 1, 2, 0, 1, 2, 1, 0], "self_intersecting"),
    ],
)
def test_bad_quad_extras_are_errors_naming_the_portal(quad: list[Any], code: str) -> None:
    def as_quad(gltf: dict[str, Any]) -> None:
        door = gltf["nodes"][_node(gltf, "Door")]
        door.pop("mesh")
        door["extras"] = {"type": "portal", "from": "hall", "to": "kitchen", "quad": quad}

    door = _node(_split(FIXTURE)[0], "Door")
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_edit(FIXTURE, as_quad), LIMITS)
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == (f"/nodes/{door}/extras/quad", code)
    assert "'Door'" in issue.message


def test_z_up_export_gets_a_warning() -> None:
    """The fixture turned 90° about X (y → z), as Blender writes it with export_yup=False: Z is up."""
    q = [0.5**0.5, 0.0, 0.0, 0.5**0.5]
    ir, warnings = tagged_glb_to_ir(_edit(FIXTURE, lambda g: g["nodes"][_node(g, "Level")].update(rotation=q)), LIMITS)
    assert [(w.path, w.code, w.severity) for w in warnings] == [("", "z_up", "warning")]
    assert "export_yup" in warnings[0].message
    assert len(ir.portals) == 2


@pytest.mark.parametrize(("scale", "says"), [(100.0, "too large"), (0.01, "too small")])
def test_a_level_exported_a_hundred_times_too_large_or_small_gets_a_warning(scale: float, says: str) -> None:
    """The fixture scaled by 100 (modelled in centimetres with Blender's Unit Scale 0.01, which the exporter does not
    apply: its 1.5 m doorways 150 m tall) or by 0.01: ``unit_scale``, saying which way and what to do. (The fixture as
    it is gets no warning at all: test_fixture_cells_in_document_order_with_no_warnings.)"""
    scaled = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Level")].update(scale=[scale] * 3))
    ir, warnings = tagged_glb_to_ir(scaled, LIMITS)
    assert [(w.path, w.code, w.severity) for w in warnings] == [("", "unit_scale", "warning")]
    message = warnings[0].message
    assert says in message and f"the doorways are {1.5 * scale:.3g} m tall (the median of 2" in message, message
    assert ("Unit Scale 0.01" in message) == (scale > 1)
    assert len(ir.portals) == 2


def test_a_serving_hatch_near_a_side_wall_is_no_sign_of_a_z_up_export() -> None:
    """A correct +Y-up export whose one doorway is a serving hatch (1 m wide, 0.8 m tall, 0.9 m above the floor,
    0.2 m from the side wall) is low and short along Z too: it spans too little of the room's depth to "stand"
    there, so no z_up warning (it said to re-export Z-up, which would have broken the file)."""
    hatch = [2.0, 0.9, -0.8, 2.0, 0.9, -1.8, 2.0, 1.7, -1.8, 2.0, 1.7, -0.8]

    def serving_hatch(gltf: dict[str, Any]) -> None:
        door = gltf["nodes"][_node(gltf, "Door")]
        for key in ("mesh", "translation", "rotation"):  # the quad in world space, as written
            door.pop(key)
        door["extras"] = {"type": "portal", "from": "hall", "to": "kitchen", "quad": hatch}
        gltf["nodes"][_node(gltf, "Hatch")].pop("extras")  # the fixture's own hatch stands on the floor

    ir, warnings = tagged_glb_to_ir(_edit(FIXTURE, serving_hatch), LIMITS)
    assert [p.from_cell for p in ir.portals] == ["hall"]
    np.testing.assert_allclose(np.sort(ir.portals[0].quad, axis=0), np.sort(np.reshape(hatch, (4, 3)), axis=0))
    assert [w.code for w in warnings] == []


def test_a_warning_about_a_portal_names_its_node_and_object() -> None:
    """A geometry warning about a tagged GLB's portal points at its node and names the object (an artist's
    linked duplicates differ by name only): ``/portals/0`` pointed at nothing in the file."""

    def door_off_its_wall(gltf: dict[str, Any]) -> None:
        gltf["nodes"][_node(gltf, "Door")]["translation"] = [0.5, 1.1, 0.0]  # 1.5 m inside the hall
        gltf["nodes"][_node(gltf, "Hatch")].pop("extras")

    door = _node(_split(FIXTURE)[0], "Door")
    result = compile_scene(_edit(FIXTURE, door_off_its_wall))
    (warning,) = [w for w in result.warnings if w.code == "portal_not_touching"]
    assert warning.path == f"/nodes/{door}"
    assert warning.message == "portal 'Door' (hall->kitchen) is 1.5 m from its target cell 'kitchen'"


@pytest.mark.parametrize("y", [1.1, 0.0])
def test_a_doorway_left_lying_flat_between_rooms_side_by_side_is_a_warning(y: float) -> None:
    """A Plane tagged as the doorway but never turned upright lies flat between the hall and the kitchen (side
    by side along X), at mid-height (both rooms across it) or on the floor (both above it): its plane does not
    pass between them. A warning naming it (it was read without a word)."""
    flat = [1.5, y, -0.5, 2.5, y, -0.5, 2.5, y, 0.5, 1.5, y, 0.5]

    def lying_flat(gltf: dict[str, Any]) -> None:
        door = gltf["nodes"][_node(gltf, "Door")]
        for key in ("mesh", "translation", "rotation"):
            door.pop(key)
        door["extras"] = {"type": "portal", "from": "hall", "to": "kitchen", "quad": flat}

    door = _node(_split(FIXTURE)[0], "Door")
    _, warnings = tagged_glb_to_ir(_edit(FIXTURE, lying_flat), LIMITS)
    assert [(w.path, w.code) for w in warnings] == [(f"/nodes/{door}", "portal_not_between")]
    assert warnings[0].message.startswith("portal 'Door' (hall->kitchen) does not stand between its cells")
    assert tagged_glb_to_ir(FIXTURE, LIMITS)[1] == []  # upright, in the wall between them: none


def _u_with_a_room_in_its_notch() -> dict[str, Any]:
    """A U-shaped room with a room filling its notch (their box centres in line, along the doorways' planes),
    a doorway in each of the notch's side walls, one each way, and a flat hatch left lying on the U's floor."""
    from tests.level_builders import box, poly, scene, x_door

    cells = [
        poly("U", [(0, 0), (9, 0), (9, 9), (6, 9), (6, 3), (3, 3), (3, 9), (0, 9)]),
        box("inU", (3, 0, 3), (6, 3, 9)),
    ]
    return scene("unotch", cells, [x_door("U", "inU", 3, 4, 5, 0, 2.1), x_door("inU", "U", 6, 6, 8, 0.5, 2.5)])


@pytest.mark.parametrize("degrees", [0.0, 30.0, 41.0])
def test_doorways_of_a_room_nested_in_a_u_stand_between_their_cells(degrees: float) -> None:
    """The project's own output of a room in a U's notch builds again without a warning: the doorways' planes
    run along the line between the two boxes' centres, yet the nested room lies wholly on one side of each
    and the U reaches past it (both boxes straddle the plane once the level is turned off the axes)."""
    from sceneforge.generate import turned

    level = _u_with_a_room_in_its_notch()
    first = compile_scene(json.dumps(turned(level, degrees) if degrees else level).encode())
    assert first.warnings == []
    _, warnings = tagged_glb_to_ir(first.glb, LIMITS)
    assert warnings == []


def _hall_and_closet(door: list[float], degrees: float) -> bytes:
    """A 4 × 4 m hall (x, z from -2 to 2) with a narrow closet off its wall x = 2 (x from 2 to 3, z from -0.8 to 0:
    its box stops at the line z = 0), both box meshes without openings, the doorway hall -> closet given by its
    ``quad``, the whole level turned ``degrees`` about Y by its root node."""
    b = GlbBuilder()
    wall = b.material("Wall", [0.9, 0.9, 0.85, 1.0])
    children = []
    for cell, lo, hi in (("hall", (-2.0, 0.0, -2.0), (2.0, 3.0, 2.0)), ("closet", (2.0, 0.0, -0.8), (3.0, 3.0, 0.0))):
        centre, half = (np.add(lo, hi) / 2).tolist(), tuple(np.subtract(hi, lo) / 2)
        pos, nrm, uv, tri = box_mesh_arrays(half)
        mesh = b.mesh(f"{cell}Box", [b.primitive(pos, tri, normals=nrm, uvs=uv, material=wall)])
        room = b.node(f"{cell}Room", mesh=mesh, translation=centre)
        children.append(b.node(cell.title(), children=[room], extras={"type": "cell", "cellId": cell}))
    return _turned_level(b, children, {"type": "portal", "from": "hall", "to": "closet", "quad": door}, degrees)


def _turned_level(b: GlbBuilder, children: list[int], door: dict[str, Any], degrees: float) -> bytes:
    """The GLB of ``children`` and a node ``Door`` with the extras ``door``, under a root node ``Level`` turned
    ``degrees`` about Y."""
    children = [*children, b.node("Door", extras=door)]
    half_turn = np.radians(degrees) / 2
    level = b.node("Level", children=children, rotation=[0.0, float(np.sin(half_turn)), 0.0, float(np.cos(half_turn))])
    b.gltf["scenes"] = [{"name": "Scene", "nodes": [level]}]
    b.gltf["scene"] = 0
    return b.glb()


@pytest.mark.parametrize("degrees", [0.0, 30.0])
@pytest.mark.parametrize("z", [0.0, -0.8])
def test_a_doorway_turned_into_the_line_of_a_closets_side_is_a_warning(z: float, degrees: float) -> None:
    """A closet's doorway left turned a quarter round about its vertical axis: it stands across the hall's wall x = 2
    that it belongs in, in the line z = 0 where the closet's box stops (or the line of its far side). The closet lies
    wholly on one side of that plane and the hall reaches past it, as a room nested in a U's notch does, yet the hall's
    wall passes through the doorway: the hall is on both sides of it, and it is told."""
    turned_door = [2.4, 0.1, z, 1.6, 0.1, z, 1.6, 2.1, z, 2.4, 2.1, z]
    glb = _hall_and_closet(turned_door, degrees)
    door = _node(_split(glb)[0], "Door")
    _, warnings = tagged_glb_to_ir(glb, LIMITS)
    assert [(w.path, w.code) for w in warnings] == [(f"/nodes/{door}", "portal_not_between")]
    assert warnings[0].message.startswith("portal 'Door' (hall->closet) does not stand between its cells")
    in_the_wall = [2.0, 0.1, -0.1, 2.0, 2.1, -0.1, 2.0, 2.1, -0.7, 2.0, 0.1, -0.7]
    assert tagged_glb_to_ir(_hall_and_closet(in_the_wall, degrees), LIMITS)[1] == []  # in the wall x = 2: none


def _rooms_open_to_each_other(door: list[float], degrees: float) -> bytes:
    """Two like rooms side by side along X (x from -4 to 0 and 0 to 4, z from -2 to 2, 3 m high), each a box mesh
    without the wall they share (the opening modelled, as an artist cuts a door gap), the doorway a -> b given by
    its ``quad``, the whole level turned ``degrees`` about Y by its root node."""
    b = GlbBuilder()
    wall = b.material("Wall", [0.9, 0.9, 0.85, 1.0])
    children = []
    for cell, x, open_side in (("a", -2.0, 6), ("b", 2.0, 4)):  # triangles 4-5: the -X face, 6-7: the +X face
        pos, nrm, uv, tri = box_mesh_arrays((2.0, 1.5, 2.0))
        tri = np.delete(tri, [open_side, open_side + 1], axis=0)
        mesh = b.mesh(f"{cell}Box", [b.primitive(pos, tri, normals=nrm, uvs=uv, material=wall)])
        room = b.node(f"{cell}Room", mesh=mesh, translation=[x, 1.5, 0.0])
        children.append(b.node(cell.title(), children=[room], extras={"type": "cell", "cellId": cell}))
    return _turned_level(b, children, {"type": "portal", "from": "a", "to": "b", "quad": door}, degrees)


@pytest.mark.parametrize("degrees", [0.0, 17.0, 30.0])
def test_a_doorway_turned_in_its_opening_between_like_rooms_is_a_warning(degrees: float) -> None:
    """The Plane of a doorway mid the wall two like rooms share, turned a quarter round about its vertical axis in the
    door gap modelled there: its plane holds both rooms' centres and nothing of theirs stands across it. Along the
    axes the centres lay in it exactly and it was told; turned 17° or 30° they lay 1e-8 m either side of it by
    rounding, and it passed as standing between them without a word."""
    turned_door = [-0.5, 0.1, 0.0, 0.5, 0.1, 0.0, 0.5, 2.1, 0.0, -0.5, 2.1, 0.0]
    glb = _rooms_open_to_each_other(turned_door, degrees)
    door = _node(_split(glb)[0], "Door")
    _, warnings = tagged_glb_to_ir(glb, LIMITS)
    assert [(w.path, w.code) for w in warnings] == [(f"/nodes/{door}", "portal_not_between")]
    assert warnings[0].message.startswith("portal 'Door' (a->b) does not stand between its cells")
    in_the_opening = [0.0, 0.1, 0.5, 0.0, 0.1, -0.5, 0.0, 2.1, -0.5, 0.0, 2.1, 0.5]
    assert tagged_glb_to_ir(_rooms_open_to_each_other(in_the_opening, degrees), LIMITS)[1] == []  # x = 0: none


def test_messages_name_the_object_and_what_was_given() -> None:
    gltf = _split(FIXTURE)[0]
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(blender_scene(door_to="cellar"), LIMITS)
    message = err.value.issues[0].message
    assert "'Door'" in message and "'DoorPlane'" in message and "'cellar'" in message and "'kitchen'" in message
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Hatch")]["extras"].update(oneWay="yes"))
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    assert "'Hatch'" in err.value.issues[0].message and '"yes"' in err.value.issues[0].message
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Kitchen")]["extras"].update(cellId=7))
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    kitchen = _node(gltf, "Kitchen")
    issue = err.value.issues[0]
    assert (issue.path, issue.code) == (f"/nodes/{kitchen}/extras/cellId", "cell_id_invalid")
    assert "'Kitchen'" in issue.message and "got 7" in issue.message


@pytest.mark.parametrize(
    ("kitchen_id", "door_to", "hint"),
    [
        (
            "kitchen ",
            "kitchen",
            "did you mean 'kitchen '? (cellIds are compared with the spaces before and after them)",
        ),
        ("kitchen", " Kitchen", "did you mean 'kitchen'? (cellIds are case-sensitive, and compared with the spaces"),
    ],
)
def test_a_cell_named_but_for_a_space_around_it_says_so(kitchen_id: str, door_to: str, hint: str) -> None:
    """A Blender custom property typed with a trailing space shows none in the panel: the did-you-mean finds it."""
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(blender_scene(kitchen_id=kitchen_id, door_to=door_to), LIMITS)
    unknown = [i for i in err.value.issues if i.code == "unknown_cell"]
    assert unknown and all(hint in i.message for i in unknown), unknown


@pytest.mark.parametrize(
    ("kitchen_id", "door_to", "hint"),
    [  # 'ü' as one character, and as 'u' and a combining diaeresis (NFD): both print 'Küche'
        ("K\u00fcche", "Ku\u0308che", "did you mean 'Küche'? (cellIds are compared character by character: one"),
        ("Ku\u0308che", "K\u00dcche", "(cellIds are case-sensitive, and compared character by character: one writes"),
    ],
)
def test_a_cell_named_but_for_how_its_accents_are_written_says_so(kitchen_id: str, door_to: str, hint: str) -> None:
    """The message named 'Küche' as unknown beside the cell 'Küche', and blamed the export's settings."""
    glb = _edit(
        blender_scene(kitchen_id=kitchen_id, door_to=door_to),
        lambda g: g["nodes"][_node(g, "Hatch")]["extras"].update({"from": kitchen_id}),
    )
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    (unknown,) = err.value.issues
    assert (unknown.path, unknown.code) == ("/meshes/2/extras/to", "unknown_cell")  # the Door's tag, on its mesh
    assert hint in unknown.message and "Limit to" not in unknown.message


def test_an_id_given_as_a_number_says_to_type_it_as_text() -> None:
    def numbers(gltf: dict[str, Any]) -> None:
        gltf["nodes"][_node(gltf, "Kitchen")]["extras"]["cellId"] = 2
        gltf["nodes"][_node(gltf, "Hatch")]["extras"]["to"] = 1.0

    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_edit(FIXTURE, numbers), LIMITS)
    found = {i.code: i.message for i in err.value.issues}
    assert "got 2 (a number: cellIds are text; give the custom property the type String)" in found["cell_id_invalid"]
    assert "got 1.0 (a number: cellIds are text;" in found["portal_invalid"]


def test_a_portal_tag_on_an_empty_holding_the_plane_names_the_child() -> None:
    """An Empty grouping the doorway's plane, tagged in the plane's place: the message names the plane."""

    def grouped(gltf: dict[str, Any]) -> None:
        door = gltf["nodes"][_node(gltf, "Door")]
        mesh = door.pop("mesh")
        gltf["meshes"][mesh].pop("extras")
        door["extras"] = {"type": "portal", "from": "hall", "to": "kitchen"}
        gltf["nodes"].append({"name": "DoorPlane", "mesh": mesh})
        door["children"] = [len(gltf["nodes"]) - 1]

    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_edit(FIXTURE, grouped), LIMITS)
    (issue,) = err.value.issues
    assert issue.code == "portal_no_mesh" and "'Door' (node" in issue.message
    assert (
        "its child 'DoorPlane' (node" in issue.message
        and "move the custom properties onto that object" in issue.message
    )


def test_a_cell_named_but_for_case_and_a_missing_end_say_so() -> None:
    """``'Kitchen'`` for the cell ``'kitchen'`` gets a did-you-mean (the first five cells listed may not hold it);
    an end the node has no property for says it has none (Blender cannot write a null: "got null" misled)."""
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(blender_scene(door_to="Kitchen"), LIMITS)
    (issue,) = err.value.issues
    assert issue.code == "unknown_cell"
    assert issue.message.endswith("; did you mean 'kitchen'? (cellIds are case-sensitive)"), issue.message
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Hatch")]["extras"].pop("to"))
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    (issue,) = err.value.issues
    assert "needs 'to': a cellId string; it has none" in issue.message and "null" not in issue.message


def test_one_way_must_be_boolean() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Hatch")]["extras"].update(oneWay="yes"))
    hatch = _node(_split(FIXTURE)[0], "Hatch")
    assert _issues(glb) == [(f"/nodes/{hatch}/extras/oneWay", "portal_invalid")]


def test_instanced_portal_mesh_is_refused_not_placed_at_its_node() -> None:
    """A doorway plane drawn with EXT_mesh_gpu_instancing (gltfpack -mi makes linked duplicates one such node, at
    the origin, each copy placed by its instance) is drawn at its instances, not at the node: read by the node's
    transform alone, the Door stood at the origin, lying across the hall, with a portal_not_between warning."""
    gltf, binary = _split(FIXTURE)
    d = _node(gltf, "Door")
    door = gltf["nodes"][d]
    attributes = {}
    for name, key, kind in (("TRANSLATION", "translation", "VEC3"), ("ROTATION", "rotation", "VEC4")):
        data = np.array([door.pop(key)], "<f4").tobytes()  # the node's placement, moved into its one instance
        gltf["bufferViews"].append({"buffer": 0, "byteOffset": len(binary), "byteLength": len(data)})
        binary += data
        view = len(gltf["bufferViews"]) - 1
        gltf["accessors"].append({"bufferView": view, "componentType": 5126, "count": 1, "type": kind})
        attributes[name] = len(gltf["accessors"]) - 1
    gltf["buffers"][0]["byteLength"] = len(binary)
    door["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": attributes}}
    gltf["extensionsUsed"] = ["EXT_mesh_gpu_instancing"]
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(pack_glb(gltf, binary), LIMITS)
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == (f"/nodes/{d}/extensions/EXT_mesh_gpu_instancing", "portal_invalid")
    assert issue.message.startswith(f"portal 'Door' (node {d}, mesh 'DoorPlane') is drawn with EXT_mesh_gpu_instancing")


def test_mirrored_cell_flips_winding_so_faces_stay_outward() -> None:
    ir, _ = tagged_glb_to_ir(blender_scene(kitchen_scale=[-1.0, 1.0, 1.0]), LIMITS)
    kitchen = ir.cells[1]
    for s in kitchen.surfaces:
        face = _triangle_normals(s)
        vertex = s.normals[s.indices[:, 0]].astype(np.float64)
        np.testing.assert_allclose(face, vertex, atol=1e-5)
    np.testing.assert_allclose(kitchen.aabb(), [2, 0, -2, 6, 3, 2], atol=1e-6)


def test_max_cells_limit() -> None:
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(FIXTURE, Limits(max_cells=1))
    assert err.value.limit == "SCENEFORGE_MAX_CELLS" and err.value.value == 2


def test_max_portals_limit_counts_portal_nodes_before_reading_their_meshes(monkeypatch: pytest.MonkeyPatch) -> None:
    import sceneforge.ingest.glb_portals as glb_portals

    def unread(*args: object) -> None:
        raise AssertionError("a portal mesh was read before the portal count was checked")

    monkeypatch.setattr(glb_portals, "_mesh_doorways", unread)
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(FIXTURE, Limits(max_portals=1))
    assert (err.value.limit, err.value.value, err.value.maximum) == ("SCENEFORGE_MAX_PORTALS", 2, 1)
    issue = err.value.issues[0]
    assert issue.path == "/nodes" and "SCENEFORGE_MAX_PORTALS" in issue.message and "portals is 2" in issue.message
    monkeypatch.undo()
    assert len(tagged_glb_to_ir(FIXTURE, Limits(max_portals=2))[0].portals) == 2


def test_a_doorway_mesh_many_portal_nodes_draw_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sceneforge.ingest.gltf_read import GltfDocument

    decoded: list[int] = []
    decode = GltfDocument._decode_primitives

    def counted(self: GltfDocument, m: int, points_and_lines: bool) -> Any:
        decoded.append(m)
        return decode(self, m, points_and_lines)

    monkeypatch.setattr(GltfDocument, "_decode_primitives", counted)
    b = GlbBuilder()
    pos, _, _, t = box_mesh_arrays((1, 1, 1))
    box = b.mesh("Box", [b.primitive(pos, t)])
    plane = np.array([[0.0, -0.5, -0.05], [0.0, 0.5, -0.05], [0.0, 0.5, 0.05], [0.0, -0.5, 0.05]])
    door = b.mesh("Door", [b.primitive(plane, np.array([0, 1, 2, 0, 2, 3]))])
    nodes = [b.node("A", mesh=box, extras={"type": "cell", "cellId": "a"})]
    nodes.append(b.node("B", mesh=box, translation=[2, 0, 0], extras={"type": "cell", "cellId": "b"}))
    ends = {"type": "portal", "from": "a", "to": "b"}
    nodes += [b.node(f"D{k}", mesh=door, translation=[1, 0, -0.8 + 0.2 * k], extras=ends) for k in range(8)]
    b.gltf["scenes"] = [{"nodes": nodes}]
    ir, _ = tagged_glb_to_ir(b.glb(), LIMITS)
    assert len(ir.portals) == 8
    assert decoded.count(door) == 1


def test_max_portals_limit_counts_nodes_tagged_on_node_or_mesh() -> None:
    b = GlbBuilder()
    plane = np.array([[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [0.5, 2.0, 0.0], [-0.5, 2.0, 0.0]])
    tagged_mesh = b.mesh("Door", [b.primitive(plane, np.array([0, 1, 2, 0, 2, 3]))], {"type": "portal"})
    nodes = [b.node("Hall", extras={"type": "cell", "cellId": "hall"})]
    nodes += [b.node(f"D{k}", mesh=tagged_mesh, translation=[float(k), 0.0, 0.0]) for k in range(3)]
    nodes += [b.node(f"Q{k}", extras={"type": "portal", "quad": [0] * 12}) for k in range(4)]
    b.gltf["scenes"] = [{"nodes": nodes}]
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(b.glb(), Limits(max_portals=6))
    assert (err.value.limit, err.value.value) == ("SCENEFORGE_MAX_PORTALS", 7)


def test_max_triangles_limit_counts_before_decoding() -> None:
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(FIXTURE, Limits(max_triangles=35))
    assert err.value.limit == "SCENEFORGE_MAX_TRIANGLES" and err.value.value == 36
    tagged_glb_to_ir(FIXTURE, Limits(max_triangles=36))


# -- malformed bytes ----------------------------------------------------------------------


def _raw_glb(json_chunk: bytes) -> bytes:
    json_chunk += b" " * (-len(json_chunk) % 4)
    return (
        b"glTF"
        + struct.pack("<II", 2, 20 + len(json_chunk))
        + struct.pack("<II", len(json_chunk), 0x4E4F534A)
        + json_chunk
    )


@pytest.mark.parametrize(
    ("glb", "needle"),
    [
        (FIXTURE[:100], "truncated"),
        (b"glTF" + struct.pack("<II", 1, 40) + bytes(28), "version 1"),
        (FIXTURE[:12] + struct.pack("<II", 10**9, 0x4E4F534A) + FIXTURE[20:], "runs past"),
        (_raw_glb(b"{not json}"), "does not parse"),
        (_raw_glb(b"[1, 2]"), "must be a JSON object"),
        (_raw_glb(b"[" * 100_000), "does not parse"),
        (_raw_glb(b'{"asset": {"version": "1.0"}}'), "not supported"),
        (b"glTF" + struct.pack("<II", 2, 20) + struct.pack("<II", 0, 0x004E4942), "first GLB chunk"),
    ],
)
def test_malformed_container_is_scene_invalid(glb: bytes, needle: str) -> None:
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    assert needle in str(err.value)


def test_accessor_past_its_buffer_view_is_scene_invalid() -> None:
    glb = _edit(FIXTURE, lambda g: g["accessors"][0].update(count=10**6))
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    assert err.value.issues[0].path == "/accessors/0"


def test_index_outside_positions_is_scene_invalid() -> None:
    def point_indices_at_positions(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][0]["primitives"][0]
        gltf["accessors"][prim["indices"]]["componentType"] = 5125  # reinterpret: huge indices

    with pytest.raises(SceneInvalid):
        tagged_glb_to_ir(_edit(FIXTURE, point_indices_at_positions), LIMITS)


def test_required_draco_is_refused_by_name() -> None:
    glb = _edit(FIXTURE, lambda g: g.update(extensionsRequired=["KHR_draco_mesh_compression"]))
    with pytest.raises(SceneInvalid, match="Draco") as err:
        tagged_glb_to_ir(glb, LIMITS)
    assert "export_draco_mesh_compression_enable=False" in err.value.issues[0].message


def test_draco_primitive_in_a_file_not_requiring_it_is_refused_by_name() -> None:
    """A Draco primitive whose accessors have no bufferView (the data is the extension's) read zeros, every
    triangle collapsed at the origin, when the file listed the extension as used but not required."""

    def draco(gltf: dict[str, Any]) -> None:
        gltf["extensionsUsed"] = ["KHR_draco_mesh_compression"]
        prim = gltf["meshes"][0]["primitives"][0]
        prim["extensions"] = {"KHR_draco_mesh_compression": {"bufferView": 0, "attributes": {"POSITION": 0}}}
        gltf["accessors"].append(
            {"componentType": 5126, "count": 4, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 1]}
        )
        prim["attributes"]["POSITION"] = len(gltf["accessors"]) - 1

    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_edit(FIXTURE, draco), LIMITS)
    (issue,) = err.value.issues
    assert issue.code == "glb_invalid" and issue.path == "/meshes/0/primitives/0/extensions/KHR_draco_mesh_compression"
    assert "Draco-compressed" in issue.message and "export_draco_mesh_compression_enable=False" in issue.message


def test_node_cycle_is_scene_invalid() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "HallRoom")].update(children=[_node(g, "Hall")]))
    with pytest.raises(SceneInvalid, match="tree"):
        tagged_glb_to_ir(glb, LIMITS)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


_FIXTURE_JSON, _FIXTURE_BIN = _split(FIXTURE)
_FIXTURE_PATHS = _paths(_FIXTURE_JSON)[1:]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FIXTURE_PATHS), _JSON)
def test_fuzz_json_values_never_crash(path: tuple[Any, ...], value: Any) -> None:
    gltf = json.loads(json.dumps(_FIXTURE_JSON))
    target = gltf
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        text = json.dumps(gltf)
    except ValueError:
        return
    glb = pack_glb(json.loads(text), _FIXTURE_BIN)
    try:
        tagged_glb_to_ir(glb, LIMITS)
    except SceneInvalid as exc:
        assert exc.issues and all(i.message for i in exc.issues)


@given(st.lists(st.tuples(st.integers(0, len(FIXTURE) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_fuzz_byte_flips_never_crash(flips: list[tuple[int, int]]) -> None:
    data = bytearray(FIXTURE)
    for at, byte in flips:
        data[at] = byte
    try:
        tagged_glb_to_ir(bytes(data), LIMITS)
    except SceneInvalid as exc:
        assert exc.issues


@given(st.binary(max_size=64).map(lambda b: b"glTF" + b))
def test_fuzz_random_tails_never_crash(data: bytes) -> None:
    with pytest.raises(SceneInvalid):
        tagged_glb_to_ir(data, LIMITS)


def test_every_tagged_glb_code_is_documented() -> None:
    """Every code tagged-GLB ingest can raise or warn (its own, the GLB reader's) is in the docs' table."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = ["tagged_glb.py", "glb_tags.py", "glb_portals.py", "portal_outline.py", "gltf_read.py", "gltf_json.py"]
    sources += ["glb_container.py", "gltf_primitives.py", "gltf_document.py", "gltf_accessors.py", "gltf_materials.py"]
    text = "\n".join((root / "src" / "sceneforge" / "ingest" / name).read_text() for name in sources)
    codes = set(re.findall(r'Issue\([^()]*?, "([a-z_]+)"', text, flags=re.S))
    codes |= set(re.findall(r'glb_error\([^()]*?(?:\([^()]*\)[^()]*?)*, "([a-z_]+)"\)', text, flags=re.S))
    codes |= {"glb_invalid", "limit_exceeded", "z_up", "no_extras", "degenerate", "non_planar"}
    doc = (root / "docs" / "scene-format.md").read_text()
    section = doc[doc.index("## A tagged GLB") : doc.index("## Errors and warnings")]
    documented = set(re.findall(r"`([a-z_]+)`", section))
    assert codes >= {"no_extras", "no_cells", "unknown_cell", "portal_no_mesh", "mesh_outside_cell"}
    assert codes - documented == set()


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(quad=_JSON, instancing=_JSON, meshopt=_JSON)
def test_fuzz_quad_instancing_and_meshopt_extras_never_crash(quad: Any, instancing: Any, meshopt: Any) -> None:
    """Hostile values where the own-output paths read: quad extras, instancing and meshopt extensions."""

    def change(gltf: dict[str, Any]) -> None:
        door = gltf["nodes"][_node(gltf, "Door")]
        door["extras"] = {"type": "portal", "from": "hall", "to": "kitchen", "quad": quad}
        gltf["nodes"][_node(gltf, "Table")]["extensions"] = {"EXT_mesh_gpu_instancing": instancing}
        gltf["bufferViews"][0]["extensions"] = {"EXT_meshopt_compression": meshopt}
        gltf["extensionsUsed"] = ["EXT_meshopt_compression"]

    gltf, binary = _split(FIXTURE)
    change(gltf)
    try:
        glb = pack_glb(json.loads(json.dumps(gltf, allow_nan=False)), binary)
    except ValueError:
        return
    try:
        tagged_glb_to_ir(glb, LIMITS)
    except SceneInvalid as exc:
        assert exc.issues and all(i.message for i in exc.issues)


def test_reader_messages_name_the_mesh_and_the_image() -> None:
    gltf, binary = _split(FIXTURE)
    position = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    start = gltf["bufferViews"][position["bufferView"]]["byteOffset"]
    nan = binary[:start] + np.array([np.nan], "<f4").tobytes() + binary[start + 4 :]
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(pack_glb(gltf, nan), LIMITS)
    assert err.value.issues[0].code == "asset_non_finite" and "'RoomBox'" in err.value.issues[0].message
    image = gltf["images"][0]
    view = gltf["bufferViews"][image["bufferView"]]["byteOffset"]
    jpeg = binary[:view] + b"\xff\xd8\xff\xe0" + binary[view + 4 :]
    image["mimeType"] = "image/jpeg"
    _, warnings = tagged_glb_to_ir(pack_glb(gltf, jpeg), LIMITS)
    assert [w.code for w in warnings] == ["texture_unsupported"]
    assert "'WallImage'" in warnings[0].message and "image/jpeg" in warnings[0].message


def test_cells_asked_whether_a_flat_doorway_stands_between_them_cost_a_bounded_hull(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A doorway left lying flat between a dome of 6,000 vertices (every one on its hull) and a box room: the dome
    stands in for itself by its box's corners, not its 6,000-point hull (each portal asked would cost the whole
    hull: 60,000 such doorways, minutes), and the doorway is still told."""
    from sceneforge.ingest import glb_portals
    from sceneforge.model.ir import Cell, Portal, Surface

    n = 6_000
    k = np.arange(n) + 0.5
    polar, turn = np.arccos(1 - 2 * k / n), np.pi * (1 + 5**0.5) * k
    dome = 1.5 * np.stack([np.cos(turn) * np.sin(polar), np.cos(polar), np.sin(turn) * np.sin(polar)], 1)
    dome = (dome + np.array([0.0, 1.5, 0.0])).astype(np.float32)
    fan = np.stack([np.zeros(n - 2), np.arange(1, n - 1), np.arange(2, n)], 1).astype(np.uint32)
    box = np.array([[x, y, z] for x in (3, 6) for y in (0, 3) for z in (-1.5, 1.5)], np.float32)
    cells = {
        "dome": Cell("dome", None, [Surface("m", dome, dome, np.zeros((n, 2), np.float32), fan)]),
        "room": Cell("room", None, [Surface("m", box, box, np.zeros((8, 2), np.float32), np.uint32([[0, 1, 2]]))]),
    }
    flat = np.array([[2.5, 1.5, -0.5], [2.5, 1.5, 0.5], [3.5, 1.5, 0.5], [3.5, 1.5, -0.5]])
    sizes: list[int] = []
    one_side = glb_portals._one_side

    def counted(quad: np.ndarray, normal: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
        sizes.extend([a.shape[0], b.shape[0]])
        return one_side(quad, normal, a, b)

    monkeypatch.setattr(glb_portals, "_one_side", counted)
    boxes = {c.cell_id: c.aabb() for c in cells.values()}
    assert glb_portals.not_between([Portal(0, "dome", "room", flat)], boxes, cells) == [0]
    assert sizes and max(sizes) <= glb_portals._RAW_POINTS


def _panel(corners: list[tuple[float, float, float]]) -> np.ndarray:
    """The two triangles (2, 3, 3) of the quadrilateral ``corners``."""
    p = np.array(corners, dtype=np.float64)
    return p[[[0, 1, 2], [0, 2, 3]]]


def _turned_about_y(panel: np.ndarray, degrees: float, about: tuple[float, float, float]) -> np.ndarray:
    return (panel - about) @ _rotation([0.0, np.radians(degrees), 0.0]).T + about


@pytest.mark.parametrize(
    ("name", "surface", "through"),
    [
        ("a wall across it", _panel([(0.5, -1, -1), (0.5, 3, -1), (0.5, 3, 1), (0.5, -1, 1)]), True),
        (
            "a wall across it at 60°",
            _turned_about_y(_panel([(0.5, -1, -1), (0.5, 3, -1), (0.5, 3, 1), (0.5, -1, 1)]), 30, (0.5, 0, 0)),
            True,
        ),
        (
            "a wall across it cut at its plane",
            np.concatenate(
                [
                    _panel([(0.5, -1, -1), (0.5, 3, -1), (0.5, 3, 0), (0.5, -1, 0)]),
                    _panel([(0.5, -1, 0), (0.5, 3, 0), (0.5, 3, 1), (0.5, -1, 1)]),
                ]
            ),
            True,
        ),
        (  # only the lines along the normal through the doorway's corners meet it within the doorway
            "a slope across it, its corners and edges far outside",
            np.array([[(-10, -10, -44), (10, -10, -44), (0, 10, 36)]], dtype=np.float64),
            True,
        ),
        (  # 27° off the doorway's plane: a wall it is drawn on, askew, not one across it
            "a slope 27° off",
            _panel([(-3, -3, -2), (4, -3, -2), (4, 5, 2), (-3, 5, 2)]),
            False,
        ),
        ("the wall it lies in", _panel([(-2, 0, 0), (3, 0, 0), (3, 3, 0), (-2, 3, 0)]), False),
        (
            "that wall 10° askew",
            _turned_about_y(_panel([(-2, 0, 0), (3, 0, 0), (3, 3, 0), (-2, 3, 0)]), 10, (0.5, 0, 0)),
            False,
        ),
        ("a jamb along its edge", _panel([(0, 0, -0.1), (0, 2, -0.1), (0, 2, 0.1), (0, 0, 0.1)]), False),
        ("a floor along its bottom", _panel([(-2, 0, -2), (3, 0, -2), (3, 0, 2), (-2, 0, 2)]), False),
        ("a wall on one side", _panel([(0.5, -1, 0), (0.5, 3, 0), (0.5, 3, 1), (0.5, -1, 1)]), False),
        ("a wall across it beside it", _panel([(1.2, -1, -1), (1.2, 3, -1), (1.2, 3, 1), (1.2, -1, 1)]), False),
    ],
)
def test_a_surface_passing_through_a_doorway(name: str, surface: np.ndarray, through: bool) -> None:
    """A cell's surface passes through a doorway (x 0–1, y 0–2 in the plane z = 0) when it stands across the doorway's
    plane inside it and reaches both sides: however it is cut into triangles, whether a corner of them lies inside the
    doorway or not. The wall the doorway lies in, a little askew or not, its jambs and floor, and a wall beside it or
    on one side of it do not."""
    from sceneforge.ingest import glb_portals

    quad = np.array([[0.0, 0, 0], [1, 0, 0], [1, 2, 0], [0, 2, 0]])
    near = glb_portals._Near(surface.astype(np.float32).astype(np.float64))
    found = glb_portals._passed_through(quad[None], np.array([[0.0, 0, 1]]), [(near, None)])
    assert found.tolist() == [through], name
    assert glb_portals._passed_through(quad[None], np.array([[0.0, 0, 1]]), [(None, near)]).tolist() == [through]


def _box_grid(lo: tuple[float, float, float], hi: tuple[float, float, float], steps: int) -> np.ndarray:
    """The faces of the box ``lo``–``hi``, each cut into ``steps`` × ``steps`` squares of two triangles: (n, 3, 3)."""
    out = []
    for axis in range(3):
        a, b = [k for k in range(3) if k != axis]
        u, v = np.linspace(lo[a], hi[a], steps + 1), np.linspace(lo[b], hi[b], steps + 1)
        for level in (lo[axis], hi[axis]):
            grid = np.zeros((steps + 1, steps + 1, 3))
            grid[..., a], grid[..., b] = np.meshgrid(u, v, indexing="ij")
            grid[..., axis] = level
            corners = [grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]]
            out += [
                np.stack([corners[0], corners[1], corners[2]], -2),
                np.stack([corners[0], corners[2], corners[3]], -2),
            ]
    return np.concatenate([t.reshape(-1, 3, 3) for t in out])


def test_cells_asked_whether_a_surface_passes_through_a_doorway_cost_a_bounded_count_of_triangles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hall drawn in ~50,000 triangles, its closet's doorway turned into the line where the closet stops (across
    the hall's wall x = 2): it is told, the hall's triangles looked at being those near the doorway (binned once a
    cell), never more than a bound a (doorway, cell); a cell with more than that near one doorway is not asked."""
    from sceneforge.ingest import glb_portals
    from sceneforge.model.ir import Cell, Portal, Surface

    def cell(cell_id: str, tri: np.ndarray) -> Cell:
        p = tri.reshape(-1, 3).astype(np.float32)
        index = np.arange(p.shape[0], dtype=np.uint32).reshape(-1, 3)
        return Cell(cell_id, None, [Surface("m", p, p, np.zeros((p.shape[0], 2), np.float32), index)])

    hall = _box_grid((-2, 0, -2), (2, 3, 2), 90)
    cells = {"hall": cell("hall", hall), "closet": cell("closet", _box_grid((2, 0, -0.8), (3, 3, 0), 1))}
    boxes = {c.cell_id: c.aabb() for c in cells.values()}
    turned = np.array([[2.4, 0.1, 0.0], [1.6, 0.1, 0.0], [1.6, 2.1, 0.0], [2.4, 2.1, 0.0]])
    sizes: list[int | None] = []
    around = glb_portals._Near.around

    def counted(self: Any, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        found = around(self, lo, hi)
        sizes.append(None if found is None else found.shape[0])
        return found

    monkeypatch.setattr(glb_portals._Near, "around", counted)
    assert hall.shape[0] > 40_000
    assert glb_portals.not_between([Portal(0, "hall", "closet", turned)] * 3, boxes, cells) == [0, 1, 2]
    assert sizes and all(s is not None and 0 < s <= glb_portals._NEAR_TRIANGLES for s in sizes)
    near = glb_portals._Near(hall)
    assert near.around(np.array([-2.0, 0, -2]), np.array([2.0, 3, 2])) is None  # the whole hall: too many
