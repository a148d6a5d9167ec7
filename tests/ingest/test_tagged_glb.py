"""tagged_glb_to_ir on a Blender-style export: cells, world-space geometry, portals, issues, limits, fuzzing."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.config import Limits
from sceneforge.errors import LimitExceeded, SceneInvalid
from sceneforge.ingest.tagged_glb import is_glb, tagged_glb_to_ir

from .blender_fixture import DOOR_QUAD, HATCH_QUAD, GlbBuilder, blender_scene, box_mesh_arrays, pack_glb, tiny_png

LIMITS = Limits()
FIXTURE = blender_scene()


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
    glb = blender_scene(scene_extras={"sceneforge": {"props": {"author": "ana", "n": 3}}})
    assert tagged_glb_to_ir(glb, LIMITS)[0].props == {"author": "ana"}


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


def test_portal_with_three_vertices_is_an_error() -> None:
    b = GlbBuilder()
    tri = b.mesh("Tri", [b.primitive(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]]))])
    pos, _, _, t = box_mesh_arrays((1, 1, 1))
    box = b.mesh("Box", [b.primitive(pos, t)])
    a = b.node("A", mesh=box, extras={"type": "cell", "cellId": "a"})
    c = b.node("B", mesh=box, translation=[2, 0, 0], extras={"type": "cell", "cellId": "b"})
    p = b.node("P", mesh=tri, extras={"type": "portal", "from": "a", "to": "b"})
    b.gltf["scenes"] = [{"name": "S", "nodes": [a, c, p]}]
    assert _issues(b.glb()) == [(f"/nodes/{p}/mesh", "portal_too_few_vertices")]


def test_portal_tag_without_mesh_is_an_error() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Hatch")].pop("mesh"))
    assert _issues(glb) == [(f"/nodes/{_node(_split(FIXTURE)[0], 'Hatch')}", "portal_no_mesh")]


def test_mesh_outside_cells_is_a_warning_and_ignored() -> None:
    ir, warnings = tagged_glb_to_ir(blender_scene(stray_mesh=True), LIMITS)
    lamp = _node(_split(blender_scene(stray_mesh=True))[0], "Lamp")
    assert [(w.path, w.code, w.severity) for w in warnings] == [(f"/nodes/{lamp}", "mesh_outside_cell", "warning")]
    assert all(c.aabb()[3] < 7 for c in ir.cells)


def test_no_cells_is_an_error() -> None:
    def untag(gltf: dict[str, Any]) -> None:
        for node in gltf["nodes"]:
            node.pop("extras", None)
        for mesh in gltf["meshes"]:
            mesh.pop("extras", None)

    assert _issues(_edit(FIXTURE, untag)) == [("/nodes", "no_cells")]


def test_node_extras_override_mesh_extras() -> None:
    # a node tagged as a cell whose mesh data says portal: the object property wins
    def retag(gltf: dict[str, Any]) -> None:
        gltf["nodes"][_node(gltf, "Door")]["extras"] = {"type": "cell", "cellId": "porch"}

    ir, _ = tagged_glb_to_ir(_edit(FIXTURE, retag), LIMITS)
    assert [c.cell_id for c in ir.cells] == ["hall", "kitchen", "porch"]
    assert [(p.from_cell, p.to_cell) for p in ir.portals] == [("kitchen", "hall")]


def test_z_ordered_blender_plane_is_reordered_with_a_warning() -> None:
    gltf, binary = _split(FIXTURE)
    door = _node(gltf, "Door")
    acc = gltf["accessors"][gltf["meshes"][gltf["nodes"][door]["mesh"]]["primitives"][0]["attributes"]["POSITION"]]
    view = gltf["bufferViews"][acc["bufferView"]]
    start = view["byteOffset"]
    verts = np.frombuffer(binary, "<f4", 12, start).reshape(4, 3)[[0, 1, 3, 2]]  # Blender's plane order
    patched = binary[:start] + verts.astype("<f4").tobytes() + binary[start + 48 :]
    ir, warnings = tagged_glb_to_ir(pack_glb(gltf, patched), LIMITS)
    assert [(w.path, w.code) for w in warnings] == [(f"/nodes/{door}", "portal_reordered")]
    quad = next(p for p in ir.portals if p.from_cell == "hall").quad
    np.testing.assert_allclose(quad, DOOR_QUAD, atol=1e-6)


def test_portal_facing_from_cell_is_reversed_with_a_warning() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Door")].update(rotation=[0.0, -(0.5**0.5), 0.0, 0.5**0.5]))
    ir, warnings = tagged_glb_to_ir(glb, LIMITS)
    assert [w.code for w in warnings] == ["portal_reoriented"]
    door = next(p for p in ir.portals if p.from_cell == "hall")
    np.testing.assert_allclose(door.normal, [1, 0, 0], atol=1e-6)


def test_one_way_must_be_boolean() -> None:
    glb = _edit(FIXTURE, lambda g: g["nodes"][_node(g, "Hatch")]["extras"].update(oneWay="yes"))
    hatch = _node(_split(FIXTURE)[0], "Hatch")
    assert _issues(glb) == [(f"/nodes/{hatch}/extras/oneWay", "portal_invalid")]


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
    with pytest.raises(SceneInvalid, match="Draco"):
        tagged_glb_to_ir(glb, LIMITS)


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
