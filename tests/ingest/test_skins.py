"""Skinned meshes (glTF skins: Blender's armature-deformed objects) are placed by their joints.

glTF skins a mesh by its joints' world matrices times their inverse bind matrices, weighted per vertex; the
transform of the node drawing the mesh (and of its parents) is not used. Blender exports a rigged object so:
read as a plain node, its vertices were moved by its parents' transforms a second time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sceneforge.config import Limits
from sceneforge.errors import AssetError, SceneInvalid
from sceneforge.ingest.asset_check import check_asset
from sceneforge.ingest.assets import load_mesh_asset
from sceneforge.ingest.tagged_glb import tagged_glb_to_ir

from .blender_fixture import GlbBuilder, box_mesh_arrays
from .skinned_fixture import many_sets_glb


def _skinned_level(
    *,
    top_joint: int = 1,
    inverse_binds: list[list[float]] | None = None,
    joint_in_scene: bool = True,
    weights_top: tuple[float, float] = (0.0, 1.0),
) -> bytes:
    """A cell ``room`` (node ``Room``: translated to x = 10, scaled 3) holding a 1 m box ``Crate`` skinned to
    two joints below the room: ``Base`` (translated (1, 2, 3)) and its child ``Top`` (translated (0, 1, 0),
    so at (1, 3, 3)). The box's bottom vertices follow ``Base`` alone, its top ones weigh ``weights_top`` on
    (``Base``, joint ``top_joint``). The ``Crate`` node itself is translated by 100 m, which skinning ignores."""
    b = GlbBuilder()
    pos, nrm, uv, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    prim = b.primitive(pos, tri, normals=nrm, uvs=uv)
    top = pos[:, 1] > 0
    joints = np.zeros((len(pos), 4), np.uint8)
    joints[top, 1] = top_joint
    weights = np.zeros((len(pos), 4), np.float32)
    weights[~top, 0] = 1.0
    weights[top, 0], weights[top, 1] = weights_top
    view = b.view(joints.tobytes(), 34962)
    b.gltf["accessors"].append({"bufferView": view, "componentType": 5121, "count": len(pos), "type": "VEC4"})
    prim["attributes"]["JOINTS_0"] = len(b.gltf["accessors"]) - 1
    prim["attributes"]["WEIGHTS_0"] = b.accessor(weights)
    mesh = b.mesh("CrateMesh", [prim])
    skin: dict[str, Any] = {"joints": [], "name": "Rig"}
    if inverse_binds is not None:
        matrices = np.array(inverse_binds, np.float32)
        view = b.view(matrices.tobytes())
        b.gltf["accessors"].append({"bufferView": view, "componentType": 5126, "count": len(matrices), "type": "MAT4"})
        skin["inverseBindMatrices"] = len(b.gltf["accessors"]) - 1
    top_node = b.node("Top", translation=[0.0, 1.0, 0.0])
    base = b.node("Base", translation=[1.0, 2.0, 3.0], children=[top_node] if joint_in_scene else None)
    skin["joints"] = [base, top_node]
    b.gltf["skins"] = [skin]
    crate = b.node("Crate", mesh=mesh, skin=0, translation=[100.0, 0.0, 0.0])
    room = b.node(
        "Room",
        children=[crate, base],
        translation=[10.0, 0.0, 0.0],
        scale=[3.0, 3.0, 3.0],
        extras={"type": "cell", "cellId": "room"},
    )
    b.gltf["scenes"] = [{"name": "Scene", "nodes": [room]}]
    b.gltf["scene"] = 0
    return b.glb()


def _placed(data: bytes) -> np.ndarray:
    ir, _ = tagged_glb_to_ir(data, Limits())
    (cell,) = ir.cells
    return np.concatenate([s.positions for s in cell.surfaces]).astype(np.float64)


def _expected(top_offset: tuple[float, float, float]) -> np.ndarray:
    """The box's vertices as glTF skins them: bottom by Base, top by the offset joint, then the room."""
    pos = box_mesh_arrays((0.5, 0.5, 0.5))[0]
    moved = pos + np.where(pos[:, 1:2] > 0, top_offset, (1.0, 2.0, 3.0))
    return np.unique(np.round(moved * 3 + (10.0, 0.0, 0.0), 6), axis=0)


def test_skinned_mesh_follows_its_joints_not_its_node() -> None:
    placed = np.unique(np.round(_placed(_skinned_level()), 6), axis=0)
    np.testing.assert_allclose(placed, _expected((1.0, 3.0, 3.0)), atol=1e-5)


def test_inverse_bind_matrices_and_shared_weights() -> None:
    identity = np.eye(4).reshape(-1).tolist()
    moved_back = np.eye(4)
    moved_back[3, :3] = (0.0, -1.0, 0.0)  # column-major: the translation is the last four values
    glb = _skinned_level(inverse_binds=[identity, moved_back.reshape(-1).tolist()], weights_top=(0.5, 0.5))
    # Top's matrix times its inverse bind is Base's (1, 2, 3): a half-and-half blend of the two is that too.
    placed = np.unique(np.round(_placed(glb), 6), axis=0)
    np.testing.assert_allclose(placed, _expected((1.0, 2.0, 3.0)), atol=1e-5)


def test_skinned_glb_asset_follows_its_joints() -> None:
    check_asset(_skinned_level(), "glb", path="/assets/crate")  # a sound skin is taken at upload
    surfaces = load_mesh_asset(_skinned_level(), path="/cells/0/meshes/0/meshId", default_material="m")
    placed = np.unique(np.round(np.concatenate([s.positions for s in surfaces]).astype(np.float64), 6), axis=0)
    np.testing.assert_allclose(placed, _expected((1.0, 3.0, 3.0)), atol=1e-5)


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        ({"top_joint": 7}, "/meshes/0", "names joint 7 of a skin of 2 joints"),
        ({"joint_in_scene": False}, "/skins/0/joints/1", "not in the scene"),
        ({"inverse_binds": [np.eye(4).reshape(-1).tolist()]}, "/skins/0/inverseBindMatrices", "2 MAT4"),
    ],
)
def test_broken_skins_are_errors_pointing_at_them(change: dict[str, Any], where: str, words: str) -> None:
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(_skinned_level(**change), Limits())
    (issue,) = err.value.issues
    assert (issue.path, issue.code) == (where, "glb_invalid") and words in issue.message
    with pytest.raises(AssetError):
        load_mesh_asset(_skinned_level(**change), path="/cells/0/meshes/0/meshId", default_material="m")
    # Refused at upload too (POST /assets): stored, every build using it would fail.
    with pytest.raises(AssetError) as refused:
        check_asset(_skinned_level(**change), "glb", path="/assets/crate")
    assert words in str(refused.value)


def test_a_skin_placing_its_mesh_past_float32_is_refused_at_upload_as_the_build_says() -> None:
    """A build places a skinned mesh by its joints and refuses it past float32 (``asset_non_finite``); the upload
    checked the skin's joints, not where they put the mesh, and every build using such a file was refused."""
    far = np.eye(4)
    far[0, 0] = 3e38  # Top's inverse bind scales x by 3e38, the Room node by 3 more: past float32
    data = _skinned_level(inverse_binds=[np.eye(4).reshape(-1).tolist(), far.reshape(-1).tolist()])
    with pytest.raises(AssetError) as build:
        load_mesh_asset(data, path="/assets/crate", default_material="m")
    with pytest.raises(AssetError) as upload:
        check_asset(data, "glb", path="/assets/crate")
    assert str(upload.value) == str(build.value)
    assert "mesh 0 ('CrateMesh') has non-finite (NaN or infinite) coordinates" in str(upload.value)


def test_skinning_a_large_mesh_holds_its_joints_matrices_one_influence_at_a_time() -> None:
    """200,000 vertices of four influences each: the gather of every influence's 4 × 4 matrix at once held
    (200,000, 4, 4, 4) doubles, 102 MB, for positions of 4.8 MB; one influence at a time the blend's own 19 MB."""
    import tracemalloc

    from sceneforge.ingest.gltf_document import skinned
    from sceneforge.ingest.gltf_primitives import Influences, Primitive

    n = 200_000
    rng = np.random.default_rng(1)
    positions = rng.uniform(-1, 1, (n, 3))
    triangles = np.arange(n - n % 3, dtype=np.int64).reshape(-1, 3)
    joints = rng.integers(0, 2, (n, 4)).astype(np.int64)
    weights = rng.uniform(0, 1, (n, 4))
    skin = np.stack([np.eye(4), np.eye(4)])
    skin[1, :3, 3] = [0.0, 1.0, 0.0]  # two joints apart: no one matrix places every vertex
    prim = Primitive(positions, triangles, None, None, None, Influences.of(joints, weights))
    tracemalloc.start()
    try:
        placed, _, _ = skinned(skin, prim, "/meshes/0")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = positions + (weights * (joints == 1)).sum(axis=1, keepdims=True) / weights.sum(axis=1, keepdims=True) * [
        0,
        1,
        0,
    ]
    np.testing.assert_allclose(placed, expected, atol=1e-12)
    assert peak < 64 * 2**20, peak


def test_a_skin_many_nodes_draw_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A skin's joint matrices are the same for every node it skins: made once, not per node (a skin of 50,000
    joints skinning 1,000 nodes, 1.5 MB, took a minute), and every copy is placed by them as one is."""
    import json
    import struct

    from sceneforge.ingest.gltf_accessors import AccessorReader

    from .blender_fixture import pack_glb

    identity = np.eye(4).reshape(-1).tolist()
    glb = _skinned_level(inverse_binds=[identity, identity])
    size = struct.unpack_from("<I", glb, 12)[0]
    gltf, binary = json.loads(glb[20 : 20 + size]), glb[28 + size :]
    crate = next(k for k, n in enumerate(gltf["nodes"]) if n.get("name") == "Crate")
    room = next(n for n in gltf["nodes"] if n.get("name") == "Room")
    for _ in range(49):  # 50 crates, one skin
        room["children"].append(len(gltf["nodes"]))
        gltf["nodes"].append(dict(gltf["nodes"][crate]))
    copies = pack_glb(gltf, binary)
    binds = gltf["skins"][0]["inverseBindMatrices"]
    decoded: list[int] = []
    original = AccessorReader.decode

    def counting(self: AccessorReader, a: int) -> Any:
        decoded.append(a)
        return original(self, a)

    monkeypatch.setattr(AccessorReader, "decode", counting)
    placed = np.unique(np.round(_placed(copies), 6), axis=0)
    assert decoded.count(binds) == 1
    np.testing.assert_allclose(placed, _expected((1.0, 3.0, 3.0)), atol=1e-5)
    assert len(_placed(copies)) == 50 * len(_placed(glb))


def _whole_mesh_skinning(skin: np.ndarray, prim: Any) -> tuple[np.ndarray, np.ndarray]:
    """Linear blend skinning of every vertex at once, the influences widened whole: what the build computed before
    it kept them narrow (positions placed, triangles), to compare its output with."""
    joints, weights = prim.influences.block(0, prim.influences.count)
    weights = np.where(np.isfinite(weights), weights, 0.0)
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0)
    weights[total[:, 0] <= 0, 0] = 1.0
    rows = skin[:, :3, :]
    blend = np.zeros((joints.shape[0], 3, 4))
    for k in range(joints.shape[1]):
        blend += weights[:, k, None, None] * rows[joints[:, k]]
    positions = np.einsum("nij,nj->ni", blend[:, :3, :3], prim.positions) + blend[:, :3, 3]
    mirrored = np.linalg.det(blend[prim.triangles[:, 0], :3, :3]) < 0
    return positions, np.where(mirrored[:, None], prim.triangles[:, ::-1], prim.triangles)


@pytest.mark.parametrize(("vertices", "sets", "block"), [(300, 1, 7), (1000, 3, 64), (2000, 5, 1000), (500, 8, 1)])
def test_skinning_block_by_block_places_every_vertex_as_the_whole_mesh_at_once(
    monkeypatch: pytest.MonkeyPatch, vertices: int, sets: int, block: int
) -> None:
    """Influences of bytes, shorts, floats, normalized and sparse, widened a block of vertices at a time: the same
    positions and triangles, to the bit, as every set widened whole, for blocks that cut the mesh anywhere."""
    from sceneforge.ingest import gltf_document
    from sceneforge.ingest.gltf_document import skinned
    from sceneforge.ingest.gltf_read import parse_glb

    doc = parse_glb(many_sets_glb(vertices, sets, seed=sets))
    worlds = {i: world for i, world, _ in doc.walk()}
    rigged = next(i for i, n in enumerate(doc.nodes) if n.get("name") == "Rigged")
    skin = doc.skin_matrices(rigged, worlds)
    assert skin is not None
    (prim,) = doc.primitives(0)
    monkeypatch.setattr(gltf_document, "_BLOCK_INFLUENCES", block)
    monkeypatch.setattr(gltf_document, "_BLOCK_VERTICES", 1)
    positions, normals, triangles = skinned(skin, prim, "/meshes/0")
    expected_positions, expected_triangles = _whole_mesh_skinning(skin, prim)
    assert normals is None
    assert positions.tobytes() == expected_positions.tobytes()
    assert np.array_equal(triangles, expected_triangles)


@pytest.mark.parametrize("read", ["build", "upload check"])
def test_skinned_glb_peak_memory_is_proportional_to_the_file_whatever_its_influence_sets(read: str) -> None:
    """32 influence sets of bytes (joints and normalized weights, 8 bytes a vertex each): widened to int64 and
    float64 a set at a time and joined, a build held 19 times the file (a 256 MiB upload: 1.7 GB and more);
    kept as stored and widened a block of vertices at a time, the peak is a small multiple of the file's size."""
    import tracemalloc

    glb = many_sets_glb(4000, 32, sparse=False, types=[(5121, 5121, True)])
    tracemalloc.start()
    try:
        if read == "build":
            ir, _ = tagged_glb_to_ir(glb, Limits())
        else:
            check_asset(glb, "glb", path="/assets/rig")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if read == "build":
        assert sum(s.triangle_count for c in ir.cells for s in c.surfaces) == 2000
    assert peak / len(glb) < 6, f"peak {peak / len(glb):.1f}× the file's {len(glb):,} bytes"


def test_a_negative_joint_is_refused_at_upload_and_by_builds_naming_it() -> None:
    """JOINTS of signed bytes: a vertex naming joint -1 was taken at upload (only the largest joint was checked)
    and refused by every build, as 'names joint 1', a joint the skin has."""
    import json
    import struct

    from .blender_fixture import pack_glb

    glb = _skinned_level()
    size = struct.unpack_from("<I", glb, 12)[0]
    gltf, binary = json.loads(glb[20 : 20 + size]), bytearray(glb[28 + size :])
    joints = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"]["JOINTS_0"]]
    joints["componentType"] = 5120
    view = gltf["bufferViews"][joints["bufferView"]]
    binary[view["byteOffset"]] = 0xFF  # the first vertex's first joint: -1
    data = pack_glb(gltf, bytes(binary))
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(data, Limits())
    assert "names joint -1 of a skin of 2 joints" in err.value.issues[0].message
    with pytest.raises(AssetError) as refused:
        check_asset(data, "glb", path="/assets/crate")
    assert "names joint -1 of a skin of 2 joints" in str(refused.value)
