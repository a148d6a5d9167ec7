"""Reading sceneforge's own GLBs back: plain, quantized, meshopt-compressed, instanced."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.encode.glb import EncodeOptions, encode_glb
from sceneforge.errors import SceneInvalid
from sceneforge.ingest.built_glb import decode_meshopt, read_built_glb
from tests.scenes import TWO_ROOMS, as_bytes
from tests.support.scenes import sample_scene


def _triangle_keys(scene, decimals: int = 2) -> np.ndarray:
    """(T, 9) triangles as their rounded corners in a canonical order: independent of index rotation."""
    tris = np.concatenate([s.positions[s.indices] for c in scene.cells for s in c.surfaces])
    tris = np.round(tris.astype(np.float64), decimals)
    rank = tris[:, :, 0] * 1e8 + tris[:, :, 1] * 1e4 + tris[:, :, 2]
    tris = np.take_along_axis(tris, np.argsort(rank, axis=1)[:, :, None], axis=1).reshape(-1, 9)
    return tris[np.lexsort(tris.T[::-1])]


@pytest.mark.parametrize("options", [{}, {"quantize": True}, {"compress": True}, {"compress": True, "quantize": True}])
def test_read_built_glb_options_same_triangles(options):
    plain = compile_scene(as_bytes(TWO_ROOMS), BuildOptions())
    other = compile_scene(as_bytes(TWO_ROOMS), BuildOptions(**options))
    a, b = read_built_glb(plain.glb), read_built_glb(other.glb)
    assert [c.cell_id for c in b.cells] == ["a", "b"]
    assert b.triangle_count == other.meta["stats"]["triangles"] == plain.meta["stats"]["triangles"]
    np.testing.assert_allclose(_triangle_keys(a), _triangle_keys(b), atol=0.011)
    assert len(b.portals) == 1 and b.portals[0].quad.shape == (4, 3)
    assert b.scene_id == "two-rooms"
    assert set(b.materials) >= {"plaster"}


def test_read_built_glb_instances_expanded():
    ir = sample_scene(textured=False)
    glb = encode_glb(ir, EncodeOptions())
    scene = read_built_glb(glb)
    hall = next(c for c in scene.cells if c.cell_id == "hall")
    chair_tris = sum(len(s.indices) for s in ir.cells[0].instances[0].surfaces)
    own = sum(s.triangle_count for s in ir.cells[0].surfaces)
    assert hall.triangle_count == own + 3 * chair_tris
    # The scaled instance (x2, z0.5) lands where its transform puts it.
    pts = np.concatenate([s.positions for s in hall.surfaces])
    assert pts[:, 0].max() >= 1.0 + 0.25 * 2 - 1e-4


def test_decode_meshopt_plain_file_unchanged():
    glb = compile_scene(as_bytes(TWO_ROOMS), BuildOptions()).glb
    assert decode_meshopt(glb) == glb


def test_decode_meshopt_drops_extension():
    glb = compile_scene(as_bytes(TWO_ROOMS), BuildOptions(compress=True)).glb
    out = decode_meshopt(glb)
    n = struct.unpack_from("<I", out, 12)[0]
    gltf = json.loads(out[20 : 20 + n])
    assert "EXT_meshopt_compression" not in gltf.get("extensionsUsed", [])
    assert all("extensions" not in v for v in gltf["bufferViews"])


def test_read_built_glb_corrupt_meshopt_is_clear_error():
    glb = bytearray(compile_scene(as_bytes(TWO_ROOMS), BuildOptions(compress=True)).glb)
    n = struct.unpack_from("<I", glb, 12)[0]
    bin_start = 20 + n + 8
    glb[bin_start : bin_start + 64] = b"\xff" * 64
    with pytest.raises(SceneInvalid) as err:
        read_built_glb(bytes(glb))
    assert "meshopt" in str(err.value) or "index" in str(err.value)


def test_read_built_glb_without_cells_refused():
    ir = sample_scene(textured=False)
    glb = encode_glb(ir, EncodeOptions())
    n = struct.unpack_from("<I", glb, 12)[0]
    gltf = json.loads(glb[20 : 20 + n])
    for node in gltf["nodes"]:
        node.pop("extras", None)
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    rest = glb[20 + n :]
    out = struct.pack("<4sII", b"glTF", 2, 20 + len(text) + len(rest)) + struct.pack("<II", len(text), 0x4E4F534A)
    with pytest.raises(SceneInvalid, match="no cell nodes"):
        read_built_glb(out + text + rest)


def test_decode_meshopt_refuses_views_decoding_past_the_limit_before_decoding():
    from sceneforge.errors import LimitExceeded
    from sceneforge.generate import generate_maze

    glb = compile_scene(json.dumps(generate_maze(30, seed=1)).encode(), BuildOptions(compress=True)).glb
    decoded = len(decode_meshopt(glb))
    assert decode_meshopt(glb, max_bytes=decoded) == decode_meshopt(glb)
    with pytest.raises(LimitExceeded) as info:
        decode_meshopt(glb, max_bytes=len(glb))  # the file fits; what it decodes to does not
    assert info.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and info.value.maximum == len(glb)
    assert info.value.value > len(glb)
    # A tagged-GLB build of the same file meets the same limit.
    limits = type(BuildOptions().limits)(max_upload_bytes=len(glb))
    with pytest.raises(LimitExceeded):
        compile_scene(glb, BuildOptions(limits=limits))


def test_read_built_glb_of_a_compressed_file_equals_its_decoded_file():
    """A compressed GLB is read from its views decoded in memory (its JSON parsed once, every OCTAHEDRAL view
    unfiltered in one pass): the very arrays the file :func:`decode_meshopt` writes reads to."""
    from sceneforge.generate import generate_maze

    glb = compile_scene(json.dumps(generate_maze(40, seed=3)).encode(), BuildOptions(compress=True)).glb
    direct, written = read_built_glb(glb), read_built_glb(decode_meshopt(glb))
    assert [c.cell_id for c in direct.cells] == [c.cell_id for c in written.cells]
    for a, b in zip(direct.cells, written.cells, strict=True):
        assert a.aabb == b.aabb and len(a.surfaces) == len(b.surfaces)
        for s, t in zip(a.surfaces, b.surfaces, strict=True):
            assert s.material == t.material
            for x, y in ((s.positions, t.positions), (s.normals, t.normals), (s.uvs, t.uvs), (s.indices, t.indices)):
                assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    assert direct.materials == written.materials and len(direct.portals) == len(written.portals)


def test_read_built_glb_keeps_instances_when_asked():
    ir = sample_scene(textured=False)
    glb = encode_glb(ir, EncodeOptions(quantize=True))
    expanded, kept = read_built_glb(glb), read_built_glb(glb, keep_instances=True)
    hall, kept_hall = expanded.cells[0], kept.cells[0]
    (group,) = kept_hall.instances
    assert group.count == 3 and kept_hall.triangle_count == hall.triangle_count
    # the copies placed by their matrices are the expanded triangles
    placed = np.concatenate([
        (m[:3, :3] @ s.positions.astype(np.float64).T).T + m[:3, 3] for m in group.matrices() for s in group.surfaces
    ])  # fmt: skip
    own = np.concatenate([s.positions for s in kept_hall.surfaces]) if kept_hall.surfaces else np.zeros((0, 3))
    np.testing.assert_allclose(
        np.sort(np.concatenate([own, placed]), axis=0),
        np.sort(np.concatenate([s.positions for s in hall.surfaces]), axis=0),
        atol=1e-5,
    )
