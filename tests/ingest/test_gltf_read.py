"""The GLB reader beneath assets and tagged scenes: accessor forms, buffers, textures, node transforms."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from sceneforge.errors import SceneInvalid
from sceneforge.ingest.gltf_read import parse_glb
from sceneforge.ingest.surfaces import merge_by_material, transform_surface

from .blender_fixture import GlbBuilder, pack_glb, tiny_png

TRIANGLE = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _one_triangle(builder: GlbBuilder) -> dict:
    return builder.primitive(TRIANGLE)


def test_normalized_int16_positions_are_dequantized() -> None:
    b = GlbBuilder()
    raw = np.array([[0, 0, 0], [32767, 0, 0], [0, -32767, 0]], dtype="<i2")
    view = b.view(raw.tobytes())
    b.gltf["accessors"].append(
        {"bufferView": view, "componentType": 5122, "normalized": True, "count": 3, "type": "VEC3"}
    )
    b.mesh("Q", [{"attributes": {"POSITION": 0}}])
    (prim,) = parse_glb(b.glb()).primitives(0)
    np.testing.assert_allclose(prim.positions, [[0, 0, 0], [1, 0, 0], [0, -1, 0]])


def test_interleaved_buffer_view_with_stride() -> None:
    b = GlbBuilder()
    interleaved = np.concatenate([TRIANGLE, np.tile([0.0, 0.0, 1.0], (3, 1))], axis=1).astype("<f4")
    view = b.view(interleaved.tobytes())
    b.gltf["bufferViews"][view]["byteStride"] = 24
    b.gltf["accessors"] += [
        {"bufferView": view, "componentType": 5126, "count": 3, "type": "VEC3"},
        {"bufferView": view, "byteOffset": 12, "componentType": 5126, "count": 3, "type": "VEC3"},
    ]
    b.mesh("I", [{"attributes": {"POSITION": 0, "NORMAL": 1}}])
    (prim,) = parse_glb(b.glb()).primitives(0)
    np.testing.assert_allclose(prim.positions, TRIANGLE)
    np.testing.assert_allclose(prim.normals, np.tile([0, 0, 1], (3, 1)))


def test_sparse_accessor_without_buffer_view() -> None:
    b = GlbBuilder()
    iview = b.view(np.array([1, 2], dtype="<u2").tobytes())
    vview = b.view(np.array([[1, 0, 0], [0, 1, 0]], dtype="<f4").tobytes())
    sparse = {"count": 2, "indices": {"bufferView": iview, "componentType": 5123}, "values": {"bufferView": vview}}
    b.gltf["accessors"].append({"componentType": 5126, "count": 3, "type": "VEC3", "sparse": sparse})
    b.mesh("S", [{"attributes": {"POSITION": 0}}])
    (prim,) = parse_glb(b.glb()).primitives(0)
    np.testing.assert_allclose(prim.positions, TRIANGLE)


def test_data_uri_buffer_and_external_uri() -> None:
    data = TRIANGLE.astype("<f4").tobytes()
    gltf = {
        "asset": {"version": "2.0"},
        "buffers": [
            {"byteLength": len(data), "uri": "data:application/octet-stream;base64," + base64.b64encode(data).decode()}
        ],
        "bufferViews": [{"buffer": 0, "byteLength": len(data)}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
    }
    (prim,) = parse_glb(pack_glb(gltf)).primitives(0)
    np.testing.assert_allclose(prim.positions, TRIANGLE)
    gltf["buffers"][0]["uri"] = "mesh.bin"
    with pytest.raises(SceneInvalid, match="external URIs"):
        parse_glb(pack_glb(gltf))


def test_matrix_node_and_trs_compose_parent_first() -> None:
    b = GlbBuilder()
    mesh = b.mesh("T", [_one_triangle(b)])
    matrix = np.eye(4)
    matrix[:3, 3] = [0.0, 0.0, 5.0]
    child = b.node("C", mesh=mesh, matrix=matrix.T.reshape(-1).tolist())
    root = b.node("R", children=[child], scale=[2.0, 2.0, 2.0])
    b.gltf["scenes"] = [{"nodes": [root]}]
    doc = parse_glb(b.glb())
    worlds = {i: w for i, w, _ in doc.walk()}
    np.testing.assert_allclose(worlds[child][:3, 3], [0, 0, 10])
    (s,) = doc.mesh_surfaces(mesh, worlds[child], "m", "/nodes/0")
    np.testing.assert_allclose(s.positions.max(axis=0), [2, 2, 10])


def test_jpeg_texture_is_dropped_with_a_warning() -> None:
    b = GlbBuilder()
    b.material("Png", [1, 1, 1, 1], texture_png=tiny_png())
    b.material("Jpeg", [1, 1, 1, 1], texture_png=b"\xff\xd8\xff\xe0" + bytes(16))
    warnings: list = []
    mats = parse_glb(b.glb()).read_materials(warnings)
    assert mats["Png"].texture is not None and mats["Jpeg"].texture is None
    assert [w.code for w in warnings] == ["texture_unsupported"]


def test_unnamed_materials_get_indexed_ids() -> None:
    b = GlbBuilder()
    b.material("", [1, 0, 0, 1])
    assert list(parse_glb(b.glb()).read_materials()) == ["material0"]


def test_singular_transform_keeps_unit_normals_without_warnings() -> None:
    b = GlbBuilder()
    b.mesh("T", [_one_triangle(b)])
    doc = parse_glb(b.glb())
    (s,) = doc.mesh_surfaces(0, np.eye(4), "m", "")
    flat = transform_surface(s, np.diag([1.0, 0.0, 1.0, 1.0]))
    np.testing.assert_allclose(np.linalg.norm(flat.normals, axis=1), 1, atol=1e-6)
    assert np.isfinite(flat.positions).all()


def test_merge_by_material_offsets_indices() -> None:
    b = GlbBuilder()
    b.mesh("T", [_one_triangle(b), _one_triangle(b)])
    doc = parse_glb(b.glb())
    a, c = doc.mesh_surfaces(0, np.eye(4), "m", "")
    (merged,) = merge_by_material([a, c])
    assert merged.vertex_count == a.vertex_count + c.vertex_count
    np.testing.assert_array_equal(merged.indices[a.triangle_count :], c.indices + a.vertex_count)
