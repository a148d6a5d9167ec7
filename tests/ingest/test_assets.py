"""Assets: sniffing, GLB and OBJ meshes to surfaces, transforms, materials, and hostile bytes."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sceneforge.errors import AssetError, LimitExceeded
from sceneforge.ingest.asset_check import check_asset
from sceneforge.ingest.assets import asset_materials, load_mesh_asset, sniff_asset, transform_surfaces
from sceneforge.model.ir import Surface

from .blender_fixture import GlbBuilder, blender_scene, box_mesh_arrays, tiny_png

PATH = "/cells/0/meshes/0/meshId"

QUAD_OBJ = b"""# two materials, a polygon and negative indices
mtllib room.mtl
o Thing
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 1
usemtl red
f 1/1/1 2/2/1 3/3/1
usemtl blue
f -4/-4/-1 -2/-2/-1 -1/-1/-1
"""


def _load(data: bytes, **kwargs) -> list[Surface]:  # type: ignore[no-untyped-def]
    return load_mesh_asset(data, path=PATH, default_material=kwargs.pop("default_material", "dflt"), **kwargs)


def _face_normals(s: Surface) -> np.ndarray:
    p = s.positions.astype(np.float64)[s.indices]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def _simple_glb(*, normals: bool = True, uvs: bool = True, material: bool = True, nested: bool = True) -> bytes:
    b = GlbBuilder()
    mat = b.material("Oak", [0.6, 0.4, 0.2, 1.0]) if material else None
    pos, nrm, uv, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    prim = b.primitive(pos, tri, normals=nrm if normals else None, uvs=uv if uvs else None, material=mat)
    mesh = b.mesh("Cube", [prim])
    if nested:
        child = b.node("Cube", mesh=mesh, translation=[0.0, 0.5, 0.0])
        root = b.node("Root", children=[child], translation=[10.0, 0.0, 0.0], scale=[2.0, 2.0, 2.0])
    else:
        root = b.node("Cube", mesh=mesh)
    b.gltf["scenes"] = [{"nodes": [root]}]
    return b.glb()


# -- sniffing -----------------------------------------------------------------------------


def test_sniff_by_content() -> None:
    assert sniff_asset(_simple_glb()) == "glb"
    assert sniff_asset(tiny_png()) == "png"
    assert sniff_asset(QUAD_OBJ) == "obj"
    assert sniff_asset(b"v 1 2 3\r\nf 1 1 1\r\n") == "obj"
    assert sniff_asset(b'{"sceneId": "x"}') is None
    assert sniff_asset(b"# only a comment\n") is None
    assert sniff_asset(b"hello world\n") is None
    assert sniff_asset(b"glTF" + bytes([1, 0, 0, 0]) + bytes(8)) == "glb"  # glTF 1: a GLB its reader refuses
    assert sniff_asset(b"glTF\x02\x00") == "glb"  # cut short: the same
    assert sniff_asset(b"") is None


def test_sniff_long_obj_cut_inside_a_line() -> None:
    body = b"v 0.125 0.25 0.5\n" * 10_000 + b"f 1 2 3\n"
    assert len(body) > 64 * 1024
    assert sniff_asset(body) == "obj"


@given(st.binary(max_size=256))
def test_sniff_any_bytes_returns_a_kind_or_none(data: bytes) -> None:
    assert sniff_asset(data) in ("glb", "obj", "png", None)


# -- OBJ ------------------------------------------------------------------------------------


@given(accent=st.characters(min_codepoint=0xA0, max_codepoint=0xFF))
def test_obj_written_in_latin_1_is_refused_naming_the_line_and_the_byte(accent: str) -> None:
    """An OBJ whose comment or material name is written in Latin-1 or a Windows code page (an exporter's own
    encoding: ``# café``) was refused by a build as "not a GLB, OBJ or PNG file", without a word of why. It names
    the line and the byte that is not UTF-8, and says that OBJ text is read as UTF-8."""
    text = b"v 0 0 0\nv 1 0 0\nv 0 1 0\n# caf" + accent.encode("latin-1") + b"\nf 1 2 3\n"
    with pytest.raises(AssetError) as caught:
        load_mesh_asset(text, path=PATH, default_material="m")
    [issue] = caught.value.issues
    assert issue.code == "asset_type" and issue.path == PATH
    assert "OBJ line 4: byte 29 is not UTF-8 text" in issue.message and "save the file as UTF-8" in issue.message
    with pytest.raises(AssetError, match=r"not a GLB, OBJ or PNG file$"):  # a binary file is not told of lines
        load_mesh_asset(b"\xff\xd8\xff\xe0" + text, path=PATH, default_material="m")


@given(obj=st.sampled_from([QUAD_OBJ, QUAD_OBJ.replace(b"\n", b"\r\n")]))
def test_obj_opening_with_a_byte_order_mark_reads_as_without_it(obj: bytes) -> None:
    """A UTF-8 byte order mark before the first statement (Windows tools write one) made the first line
    ``\\ufeffv``, no OBJ statement: the file was refused. It is read as the same file without it, its lines
    numbered alike, by the build, the sniffing and the upload check."""
    marked = b"\xef\xbb\xbf" + obj
    assert sniff_asset(marked) == "obj"
    check_asset(marked, "obj", max_triangles=100)
    got = load_mesh_asset(marked, path=PATH, default_material="m")
    want = load_mesh_asset(obj, path=PATH, default_material="m")
    assert [(s.material, s.positions.tolist(), s.indices.tolist()) for s in got] == [
        (s.material, s.positions.tolist(), s.indices.tolist()) for s in want
    ]
    with pytest.raises(AssetError, match="OBJ line 3: 'Oops' is not an OBJ statement"):
        load_mesh_asset(b"\xef\xbb\xbfv 0 0 0\n\nOops\n", path=PATH, default_material="m")


def test_obj_one_surface_per_material_in_order_of_use() -> None:
    red, blue = _load(QUAD_OBJ)
    assert (red.material, blue.material) == ("red", "blue")
    assert red.triangle_count == blue.triangle_count == 1
    np.testing.assert_allclose(blue.positions[blue.indices[0]], [[0, 0, 0], [1, 1, 0], [0, 1, 0]])
    np.testing.assert_allclose(red.normals, np.tile([0, 0, 1], (3, 1)))
    # v flipped: OBJ's (1, 1) is glTF's (1, 0)
    corner = np.flatnonzero(np.all(red.positions == [1, 1, 0], axis=1))[0]
    np.testing.assert_allclose(red.uvs[corner], [1, 0])


def test_obj_polygon_is_fan_triangulated_with_flat_normals_and_default_material() -> None:
    (surface,) = _load(b"v 0 0 0\nv 2 0 0\nv 2 0 -2\nv 0 0 -2\nv -1 0 -1\nf 1 2 3 4 5\n")
    assert surface.material == "dflt"
    assert surface.triangle_count == 3
    np.testing.assert_allclose(surface.normals, np.tile([0, 1, 0], (surface.vertex_count, 1)))
    np.testing.assert_allclose(surface.uvs, 0)
    np.testing.assert_allclose(_face_normals(surface), np.tile([0, 1, 0], (3, 1)), atol=1e-6)


def test_obj_smoothing_group_gives_shared_vertex_normals() -> None:
    tent = b"v -1 0 0\nv 0 1 0\nv 1 0 0\nv 0 1 -1\nv -1 0 -1\nv 1 0 -1\n"
    flat = _load(tent + b"f 1 3 2\nf 3 6 4 2\n")[0]
    smooth = _load(tent + b"s 1\nf 1 3 2\nf 3 6 4 2\n")[0]
    assert flat.vertex_count == 3 + 6  # unwelded
    assert smooth.vertex_count == 5
    ridge = np.all(np.isclose(smooth.positions, [0, 1, 0]), axis=1)
    # area-weighted: the front triangle (doubled area 2 along +z) and the roof triangle at the
    # ridge (doubled area √2 along (1, 1, 0)/√2) → (1, 1, 2) normalized
    np.testing.assert_allclose(smooth.normals[ridge][0], np.array([1, 1, 2]) / np.sqrt(6), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(smooth.normals, axis=1), 1, atol=1e-6)


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", "does not exist"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n", "does not exist"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/5 2/5 3/5\n", "texture coordinate"),
        (b"v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n", "line 3"),
        (b"v 0 0 0\nv 1 0 0\nv 1e39 1 0\nf 1 2 3\n", "line 3"),
        (b"v 0 0 x\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "line 1"),
        (b"v 0 0\n", "line 1"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", "line 4"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf a b c\n", "integers"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces"),
    ],
)
def test_obj_malformed_is_asset_error_at_path(obj: bytes, needle: str) -> None:
    with pytest.raises(AssetError) as err:
        _load(obj)
    assert err.value.issues[0].path == PATH
    assert needle in err.value.issues[0].message


def test_obj_degenerate_triangle_keeps_unit_normals() -> None:
    (s,) = _load(b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    np.testing.assert_allclose(np.linalg.norm(s.normals, axis=1), 1)


_OBJ_LINE = st.one_of(
    st.builds(
        lambda xs: "v " + " ".join(xs), st.lists(st.sampled_from(["0", "1", "-2.5", "nan", "x", "1e40"]), max_size=4)
    ),
    st.builds(
        lambda xs: "f " + " ".join(xs),
        st.lists(st.sampled_from(["1", "2", "-1", "3/1", "2//1", "0", "a/b"]), max_size=5),
    ),
    st.sampled_from(["vt 0.5 0.5", "vn 0 1 0", "usemtl m", "s 1", "s off", "o x", "# c", "", "g"]),
)


@given(st.lists(_OBJ_LINE, max_size=12))
def test_fuzz_obj_lines_load_or_raise_asset_error(lines: list[str]) -> None:
    data = "\n".join(lines).encode()
    try:
        surfaces = _load(data)
    except AssetError as exc:
        assert exc.issues[0].path == PATH
        return
    for s in surfaces:
        assert s.indices.max() < s.vertex_count
        assert np.isfinite(s.positions).all()
        np.testing.assert_allclose(np.linalg.norm(s.normals, axis=1), 1, atol=1e-5)


# -- GLB ------------------------------------------------------------------------------------


def test_glb_hierarchy_is_flattened_with_world_transforms() -> None:
    (s,) = _load(_simple_glb())
    assert s.material == "Oak" and s.triangle_count == 12
    lo, hi = s.positions.min(axis=0), s.positions.max(axis=0)
    # cube of 1 m, lifted 0.5 m, then scaled ×2 and moved to x = 10
    np.testing.assert_allclose(lo, [9, 0, -1], atol=1e-6)
    np.testing.assert_allclose(hi, [11, 2, 1], atol=1e-6)
    np.testing.assert_allclose(_face_normals(s), s.normals[s.indices[:, 0]], atol=1e-5)


def test_glb_without_normals_uvs_or_material() -> None:
    (s,) = _load(_simple_glb(normals=False, uvs=False, material=False), default_material="plaster")
    assert s.material == "plaster"
    assert s.vertex_count == 36  # flat normals: three vertices per triangle
    np.testing.assert_allclose(s.normals[s.indices[:, 0]], _face_normals(s), atol=1e-6)
    np.testing.assert_allclose(s.uvs, 0)


def test_glb_tagged_scene_loads_as_plain_asset_with_all_meshes() -> None:
    surfaces = _load(blender_scene())
    assert {s.material for s in surfaces} == {"Floor", "Wall", "dflt"}  # the portal planes have no material
    assert sum(s.triangle_count for s in surfaces) == 12 + 12 + 12 + 2 + 2


def test_glb_max_triangles_is_checked_before_decoding() -> None:
    with pytest.raises(LimitExceeded) as err:
        _load(_simple_glb(), max_triangles=11)
    assert err.value.limit == "SCENEFORGE_MAX_TRIANGLES"
    assert err.value.issues[0].path == PATH


def test_glb_nan_position_is_asset_error() -> None:
    b = GlbBuilder()
    mesh = b.mesh("Bad", [b.primitive(np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]]))])
    b.gltf["scenes"] = [{"nodes": [b.node("Bad", mesh=mesh)]}]
    with pytest.raises(AssetError, match="non-finite"):
        _load(b.glb())


def _refusals(data: bytes) -> tuple[Any, Any]:
    """The issue the upload check refuses ``data`` with, and the one a build's loading of it does."""
    refusals = []
    for read in (lambda: check_asset(data, "glb", path=PATH), lambda: _load(data)):
        with pytest.raises(AssetError) as err:
            read()
        refusals.append(err.value.issues[0])
    return refusals[0], refusals[1]


def _parent_scaled(g: dict[str, Any]) -> None:
    g["nodes"].append({"children": [0], "scale": [1e20, 1, 1]})
    g["nodes"][0]["scale"] = [1e20, 1, 1]


@pytest.mark.parametrize(
    ("nan", "change"),
    [
        (False, lambda g: g["nodes"][0].update(scale=[1e39, 1, 1])),  # the cube's corners at ±5e38: past float32
        (False, _parent_scaled),  # two scales within float32 each, 1e40 together
        (True, lambda g: None),
    ],
    ids=["scaled", "scaled twice", "NaN"],
)
def test_glb_placed_past_float32_is_refused_at_upload_as_the_build_says(nan: bool, change: Any) -> None:
    """A build places every triangle primitive by its nodes and refuses a coordinate NaN, infinite or past float32
    (``asset_non_finite``); the upload took such a file (it read the accessors, not where they go), and every build
    using it was refused."""
    b = GlbBuilder()
    pos, nrm, uv, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    if nan:
        pos = pos.copy()
        pos[5, 1] = np.nan
    b.node("Cube", mesh=b.mesh("Cube", [b.primitive(pos, tri, normals=nrm, uvs=uv)]))
    change(b.gltf)
    if len(b.gltf["nodes"]) > 1:
        b.gltf["scenes"] = [{"nodes": [1]}]
    data = b.glb()
    upload, build = _refusals(data)
    assert (upload.path, upload.code, upload.message) == (build.path, build.code, build.message)
    assert "mesh 0 ('Cube') has non-finite (NaN or infinite) coordinates" in upload.message


@pytest.mark.parametrize(
    ("weight", "scale"),
    [(1e39, 1.0), (10.0, 1e38)],  # moved to ±5e38 by its target alone; to ±5.5e38 by target and node together
    ids=["target", "target and node"],
)
def test_glb_morphed_past_float32_is_refused_at_upload_as_the_build_says(weight: float, scale: float) -> None:
    """A build places a morphed primitive where its targets move it at the mesh's weights and refuses it past
    float32 (``asset_non_finite``); the upload left morphed primitives to the build, and every build using such a
    file was refused."""
    data = _edited_glb(
        lambda p, g: (
            p.update(targets=[{"POSITION": 0}]),  # the cube's own corners as the deltas: it grows by 1 + weight
            g["meshes"][0].update(weights=[weight]),
            g["nodes"][0].update(scale=[scale, 1.0, 1.0]),
        )
    )
    upload, build = _refusals(data)
    assert (upload.path, upload.code, upload.message) == (build.path, build.code, build.message)
    assert "mesh 0 ('Cube') has non-finite (NaN or infinite) coordinates" in upload.message


def _instanced_glb(translations: list[list[float]], **more: list[list[float]]) -> bytes:
    """:func:`_simple_glb`'s cube drawn by one node with EXT_mesh_gpu_instancing (gltfpack -mi, glTF-Transform
    instance), a copy per translation (``more``: ROTATION, SCALE), the node itself moved up 1 m."""
    b = GlbBuilder()
    pos, nrm, uv, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    mesh = b.mesh("Cube", [b.primitive(pos, tri, normals=nrm, uvs=uv)])
    attributes = {"TRANSLATION": b.accessor(np.array(translations))}
    attributes.update({k.upper(): b.accessor(np.array(v)) for k, v in more.items()})
    extensions = {"EXT_mesh_gpu_instancing": {"attributes": attributes}}
    b.gltf["scenes"] = [{"nodes": [b.node("Cubes", mesh=mesh, translation=[0.0, 1.0, 0.0], extensions=extensions)]}]
    b.gltf["extensionsUsed"] = b.gltf["extensionsRequired"] = ["EXT_mesh_gpu_instancing"]
    return b.glb()


def _turned_triangles(s: Surface) -> list[tuple[float, ...]]:
    """``s``'s triangles as sorted corner tuples, each turned to start at its least corner: the meshopt codec keeps a
    triangle's winding but may start it at another corner."""
    tris = s.positions.astype(np.float64)[s.indices].tolist()
    return sorted(min(tuple(c for j in range(3) for c in t[(k + j) % 3]) for k in range(3)) for t in tris)


@pytest.mark.parametrize("quantize", [False, True])
def test_meshopt_compressed_glb_asset_reads_as_its_uncompressed_self(quantize: bool) -> None:
    """A GLB asset whose views are EXT_meshopt_compression (gltfpack -c, glTF-Transform optimize, a build's
    --compress) was refused by the upload and the build as "meshopt-compressed meshes are not supported", though the
    same file builds as a tagged GLB: it is decoded first, and reads as the file written without compression; what
    its views decode to counts against SCENEFORGE_MAX_UPLOAD_BYTES, at the asset."""
    import json

    from sceneforge.compile import BuildOptions, compile_scene
    from tests.scenes import TWO_ROOMS

    level = json.dumps(TWO_ROOMS).encode()
    plain = compile_scene(level, BuildOptions(quantize=quantize)).glb
    packed = compile_scene(level, BuildOptions(quantize=quantize, compress=True)).glb
    assert b"EXT_meshopt_compression" in packed and b"EXT_meshopt_compression" not in plain
    check_asset(packed, "glb", path=PATH, max_bytes=len(plain) * 2)
    got, want = _load(packed), _load(plain)
    assert [s.material for s in got] == [s.material for s in want]
    for a, b in zip(got, want, strict=True):
        assert a.triangle_count == b.triangle_count
        assert _turned_triangles(a) == _turned_triangles(b)
    assert asset_materials(packed, max_bytes=len(plain) * 2).keys() == asset_materials(plain).keys()
    for check in (
        lambda: check_asset(packed, "glb", path=PATH, max_bytes=100),
        lambda: load_mesh_asset(packed, path=PATH, default_material="m", max_bytes=100),
    ):
        with pytest.raises(LimitExceeded) as caught:
            check()
        [issue] = caught.value.issues
        assert issue.path == PATH and "EXT_meshopt_compression views decode to" in issue.message


def test_glb_instanced_node_draws_each_copy() -> None:
    """A node drawn with EXT_mesh_gpu_instancing draws its mesh once per instance, each placed by the node's world
    matrix times the instance's: read as a plain node, three copies were one, at the node."""
    mirror = [[1.0, 1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, 2.0, 1.0]]
    data = _instanced_glb([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [6.0, 0.0, 0.0]], scale=mirror)
    check_asset(data, "glb", path=PATH)
    (cube,) = _load(data)
    pos, _, _, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    assert cube.triangle_count == 3 * len(tri)
    corners = cube.positions.astype(np.float64).reshape(3, -1, 3)
    for copy, (x, scale) in zip(corners, zip((0.0, 3.0, 6.0), mirror, strict=True), strict=True):
        np.testing.assert_allclose(np.sort(copy, axis=0), np.sort(pos * scale + [x, 1.0, 0.0], axis=0), atol=1e-6)
    # the mirrored copy's triangles are turned round: every face still winds to its normal, facing out
    agree = np.einsum("ij,ij->i", _face_normals(cube), cube.normals[cube.indices[:, 0]])
    assert (agree > 0.999).all()


def test_glb_instanced_copies_count_against_max_triangles() -> None:
    data = _instanced_glb([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [6.0, 0.0, 0.0]])
    for read in (lambda: check_asset(data, "glb", path=PATH, max_triangles=35), lambda: _load(data, max_triangles=35)):
        with pytest.raises(LimitExceeded) as err:
            read()
        assert (err.value.limit, err.value.issues[0].path) == ("SCENEFORGE_MAX_TRIANGLES", PATH)
    assert _load(data, max_triangles=36)


def test_glb_instance_placed_past_float32_is_refused_at_upload_as_the_build_says() -> None:
    upload, build = _refusals(_instanced_glb([[0.0, 0.0, 0.0], [3e38, 0.0, 0.0]], scale=[[1, 1, 1], [1e38, 1, 1]]))
    assert (upload.path, upload.code, upload.message) == (build.path, build.code, build.message)
    assert "mesh 0 ('Cube') has non-finite (NaN or infinite) coordinates" in upload.message


def test_glb_with_only_points_is_empty() -> None:
    b = GlbBuilder()
    prim = b.primitive(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]]))
    prim["mode"] = 0
    b.gltf["scenes"] = [{"nodes": [b.node("Dots", mesh=b.mesh("Dots", [prim]))]}]
    with pytest.raises(AssetError, match="no triangles"):
        _load(b.glb())


def test_glb_triangle_strip_and_fan() -> None:
    square = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    b = GlbBuilder()
    strip = b.primitive(square, np.array([0, 1, 2, 3]))
    strip["mode"] = 5
    fan = b.primitive(square[[0, 1, 3, 2]], np.array([0, 1, 2, 3]))
    fan["mode"] = 6
    b.gltf["scenes"] = [{"nodes": [b.node("S", mesh=b.mesh("S", [strip, fan]))]}]
    (s,) = _load(b.glb())
    assert s.triangle_count == 4
    np.testing.assert_allclose(_face_normals(s), np.tile([0, 0, 1], (4, 1)), atol=1e-6)


def test_png_and_unknown_bytes_are_asset_errors() -> None:
    with pytest.raises(AssetError, match="PNG"):
        _load(tiny_png())
    with pytest.raises(AssetError, match="not a GLB, OBJ or PNG"):
        _load(b"\x00\x01garbage")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"glTF" + struct.pack("<II", 1, 40) + bytes(28), "GLB container version 1 is not supported (only 2)"),
        (b"glTF\x02\x00", "the GLB file is 6 bytes: cut short of its 12-byte header"),
        (b"glTF" + struct.pack("<II", 2, 12), "the GLB file is 12 bytes: a 12-byte header and no chunk"),
    ],
)
def test_glb_magic_of_a_container_not_read_is_a_malformed_glb(data: bytes, words: str) -> None:
    """Bytes with the ``glTF`` magic are a GLB, as a tagged GLB's are: a glTF 1 container or one cut short is
    ``asset_invalid`` saying so, not "not a GLB, OBJ or PNG file" read as OBJ text."""
    for check in (lambda: _load(data), lambda: check_asset(data, "glb", path=PATH)):
        with pytest.raises(AssetError) as err:
            check()
        issue = err.value.issues[0]
        assert (issue.path, issue.code) == (PATH, "asset_invalid") and words in issue.message, issue


def _with_chunks(png: bytes, chunks: int) -> bytes:
    """``png`` with ``chunks`` empty private chunks (``abCd``, ancillary: a reader skips them) after its IHDR."""
    empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
    return png[:33] + empty * chunks + png[33:]


def test_png_of_more_chunks_than_any_image_is_refused_before_it_is_read() -> None:
    """Pillow checks a PNG's chunks one by one in Python: one of empty chunks took 0.21 s a MiB (a minute at the upload
    limit). Past MAX_PNG_CHUNKS it is refused from the chunks' lengths alone; up to it, it is read as before."""
    from sceneforge.ingest import png_check

    most = png_check.MAX_PNG_CHUNKS - 2  # IHDR and IDAT count too
    check_asset(_with_chunks(tiny_png(), most), "png", path=PATH)
    with pytest.raises(AssetError) as err:
        check_asset(_with_chunks(tiny_png(), most + 1), "png", path=PATH)
    issue = err.value.issues[0]
    assert (issue.path, issue.code) == (PATH, "asset_too_large")
    assert "more than 131,072 chunks" in issue.message


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_png_cut_within_its_iend_chunk_is_refused_at_upload(cut: int) -> None:
    """Pillow's check stops at the IEND chunk's type: a file missing bytes of its CRC was taken (one cut into the
    type was not)."""
    data = tiny_png()
    check_asset(data + b"after the end", "png", path=PATH)
    with pytest.raises(AssetError) as err:
        check_asset(data[:-cut], "png", path=PATH)
    assert err.value.issues[0].path == PATH
    assert err.value.issues[0].message == "the PNG does not decode: it is cut short (its IEND chunk is not whole)"


def test_malformed_glb_asset_names_the_place_inside() -> None:
    glb = bytearray(_simple_glb())
    glb[8:12] = (10**6).to_bytes(4, "little")
    with pytest.raises(AssetError) as err:
        _load(bytes(glb))
    assert err.value.issues[0].path == PATH and "truncated" in err.value.issues[0].message


@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=6))
def test_fuzz_glb_asset_bytes_raise_only_asset_errors(flips: list[tuple[int, int]]) -> None:
    data = bytearray(_GLB)
    for at, byte in flips:
        data[at % len(data)] = byte
    try:
        surfaces = _load(bytes(data))
    except (AssetError, LimitExceeded) as exc:
        assert exc.issues[0].path == PATH
        return
    assert all(np.isfinite(s.positions).all() for s in surfaces)


_GLB = _simple_glb()


# -- materials ------------------------------------------------------------------------------


def _edited_glb(change: Any, extra: Any = None) -> bytes:
    """:func:`_simple_glb`'s cube (accessors: 0 POSITION, 1 NORMAL, 2 TEXCOORD_0, 3 indices) with ``change`` made
    to its primitive's JSON and ``extra`` to the whole glTF."""
    b = GlbBuilder()
    pos, nrm, uv, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    prim = b.primitive(pos, tri, normals=nrm, uvs=uv)
    b.node("Cube", mesh=b.mesh("Cube", [prim]))
    change(prim, b.gltf)
    return b.glb()


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        (
            lambda p, g: g["accessors"][0].update(count=20),
            "/indices",
            "an index is outside the 20 vertices of POSITION",
        ),
        (lambda p, g: g["accessors"][3].update(componentType=5121, normalized=True), "/indices", "indices must be a"),
        (lambda p, g: g["accessors"][3].update(type="VEC3", count=12), "/indices", "indices must be a SCALAR"),
        (lambda p, g: g["accessors"][0].update(type="VEC2"), "/attributes/POSITION", "accessor 0 must hold n × 3"),
        (lambda p, g: p["attributes"].pop("POSITION"), "/attributes", "a primitive needs a POSITION attribute"),
        (lambda p, g: p.update(mode=7), "/mode", "unknown primitive mode 7"),
        (lambda p, g: p.update(material=2), "/material", "refers to material 2, but there are 0"),
        (lambda p, g: p["attributes"].update(NORMAL=2), "/attributes/NORMAL", "accessor 2 must hold 24 × 3 values"),
        (lambda p, g: g["accessors"][2].update(count=20), "/attributes/TEXCOORD_0", "accessor 2 must hold 24 × 2"),
        (lambda p, g: p["attributes"].update(TEXCOORD_0=3), "/attributes/TEXCOORD_0", "accessor 3 must hold 24 × 2"),
        (
            lambda p, g: p["attributes"].update(JOINTS_0=1, WEIGHTS_0=1),
            "/attributes/JOINTS_0",
            "accessor 1 must hold 24 × 4",
        ),
        (
            lambda p, g: (
                p.update(extensions={"KHR_draco_mesh_compression": {"bufferView": 0, "attributes": {"POSITION": 0}}}),
                g["accessors"][0].pop("bufferView"),
            ),
            "/extensions/KHR_draco_mesh_compression",
            "the primitive is Draco-compressed",
        ),
        (lambda p, g: p.update(targets=[{"POSITION": 2}]), "/targets/0/POSITION", "accessor 2 must hold 24 × 3 values"),
        (lambda p, g: p.update(targets=[{"POSITION": 3}]), "/targets/0/POSITION", "accessor 3 must hold 24 × 3 values"),
    ],
)
def test_glb_primitive_a_build_refuses_is_refused_at_upload_as_the_build_says(
    change: Any, pointer: str, message: str
) -> None:
    """The upload check read every accessor against its view, not what the primitives make of them: a cube whose
    indices name vertices its POSITION lacks was stored, and every build using it refused."""
    data = _edited_glb(change)
    upload, build = _refusals(data)
    assert upload.path == build.path == PATH
    assert upload.message == build.message
    assert f"at /meshes/0/primitives/0{pointer}: {message}" in upload.message


@pytest.mark.parametrize(
    ("info", "pointer", "message"),
    [
        ({"texCoord": "1"}, "/texCoord", "must be an integer >= 0, got '1'"),
        (
            {"extensions": {"KHR_texture_transform": {"rotation": "0.5"}}},
            "/extensions/KHR_texture_transform/rotation",
            "must be a finite number",
        ),
        (
            {"extensions": {"KHR_texture_transform": {"offset": [0, 0, 0]}}},
            "/extensions/KHR_texture_transform/offset",
            "must be 2 finite numbers",
        ),
    ],
)
def test_glb_texture_coordinates_a_build_refuses_are_refused_at_upload_as_the_build_says(
    info: dict[str, Any], pointer: str, message: str
) -> None:
    """A build reads the texture coordinates a drawn primitive's textured material names (its texCoord, moved by its
    KHR_texture_transform) and refuses them malformed; the upload check read the material, not those."""
    b = GlbBuilder()
    material = b.material("Oak", [0.6, 0.4, 0.2, 1.0], texture_png=tiny_png())
    b.gltf["materials"][material]["pbrMetallicRoughness"]["baseColorTexture"].update(info)
    pos, nrm, uv, tri = box_mesh_arrays((0.5, 0.5, 0.5))
    b.node("Cube", mesh=b.mesh("Cube", [b.primitive(pos, tri, normals=nrm, uvs=uv, material=material)]))
    upload, build = _refusals(b.glb())
    assert (upload.path, upload.message) == (build.path, build.message)
    assert f"at /materials/0/pbrMetallicRoughness/baseColorTexture{pointer}" in upload.message
    assert message in upload.message


@pytest.mark.parametrize("weights", [[0.5, 0.5], [float("nan")], "0.5"])
def test_glb_morph_weights_a_build_refuses_are_refused_at_upload_as_the_build_says(weights: Any) -> None:
    data = _edited_glb(lambda p, g: (p.update(targets=[{"POSITION": 0}]), g["meshes"][0].update(weights=weights)))
    upload, build = _refusals(data)
    assert (upload.path, upload.message) == (build.path, build.message)
    assert "at /meshes/0/weights: weights must be 1 finite numbers, one per target" in upload.message


@pytest.mark.parametrize(
    "change",
    [
        # lines, whatever their indices and positions: not drawn, not read
        lambda p, g: g["meshes"][0]["primitives"].append({"attributes": {"POSITION": 2}, "indices": 3, "mode": 1}),
        lambda p, g: g["meshes"].append({"primitives": [{"attributes": {}}]}),  # a mesh no node draws
        lambda p, g: g["accessors"][3].update(componentType=5122),  # signed, but within POSITION
        lambda p, g: g["nodes"][0].update(scale=[1e38, 1, 1]),  # its corners at ±5e37: within float32
        # morphed: its normals are made again from its faces, those given never read
        lambda p, g: (
            p.update(targets=[{"POSITION": 0}]),
            p["attributes"].update(NORMAL=2),
            g["meshes"][0].update(weights=[0.5]),
        ),
        # morphed and placed: corners at ±0.75e38 (within float32), where its deltas alone at 1e38 would not be
        lambda p, g: (
            p.update(targets=[{"POSITION": 0}]),
            g["meshes"][0].update(weights=[0.5]),
            g["nodes"][0].update(scale=[1e38, 1, 1]),
        ),
    ],
)
def test_glb_primitive_a_build_takes_is_taken_at_upload(change: Any) -> None:
    data = _edited_glb(change)
    check_asset(data, "glb", path=PATH)
    assert _load(data)


def test_asset_materials_from_glb_and_none_from_obj() -> None:
    mats = asset_materials(blender_scene())
    assert set(mats) == {"Floor", "Wall"}
    assert mats["Floor"].base_color == pytest.approx((0.5, 0.4, 0.3, 1.0))
    assert mats["Wall"].texture is not None and mats["Wall"].texture.png == tiny_png()
    assert asset_materials(QUAD_OBJ) == {}


# -- transforms -----------------------------------------------------------------------------

_MATRIX = hnp.arrays(np.float64, (3, 3), elements=st.floats(-3, 3)).filter(
    lambda a: abs(a[:, 0] @ np.cross(a[:, 1], a[:, 2])) > 0.05
)


@given(_MATRIX, hnp.arrays(np.float64, 3, elements=st.floats(-100, 100)))
def test_transform_surfaces_positions_normals_and_winding(linear: np.ndarray, offset: np.ndarray) -> None:
    (cube,) = _load(_simple_glb(nested=False))
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = linear, offset
    (moved,) = transform_surfaces([cube], m.T.reshape(-1).tolist(), path=PATH)  # column-major
    expected = cube.positions.astype(np.float64) @ linear.T + offset
    np.testing.assert_allclose(moved.positions, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(moved.normals, axis=1), 1, atol=1e-5)
    # outward stays outward: the winding's normal agrees with the vertex normal, mirrored or not
    agree = np.einsum("ij,ij->i", _face_normals(moved), moved.normals[moved.indices[:, 0]])
    assert (agree > 0.999).all()
    np.testing.assert_array_equal(moved.uvs, cube.uvs)


def test_transform_surfaces_rejects_bad_matrices() -> None:
    (cube,) = _load(_simple_glb())
    with pytest.raises(AssetError) as err:
        transform_surfaces([cube], [1.0] * 15, path=PATH)
    assert err.value.issues[0].path == PATH
    with pytest.raises(AssetError, match="finite"):
        transform_surfaces([cube], [float("nan")] + [1.0] * 15, path=PATH)
    with pytest.raises(AssetError, match="float32"):
        transform_surfaces([cube], [1e38, 0, 0, 0, 0, 1e38, 0, 0, 0, 0, 1e38, 0, 0, 0, 0, 1], path=PATH)


def test_transform_identity_returns_the_same_surface() -> None:
    (cube,) = _load(_simple_glb())
    assert transform_surfaces([cube], np.eye(4).reshape(-1).tolist())[0] is cube


def test_glb_upload_check_reads_accessors_in_memory_of_their_own_bytes() -> None:
    """Every accessor is checked against its view at upload: read widened to int64 / float64, an accessor of bytes
    took 8 times its size more (a 4 MB file of one peaked at 40 MB, 10×), read as stored twice it."""
    import tracemalloc

    from sceneforge.ingest.asset_check import check_asset

    from .blender_fixture import GlbBuilder

    b = GlbBuilder()
    prim = b.primitive(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32), np.array([0, 1, 2]))
    b.node("N", mesh=b.mesh("M", [prim]))
    colours = np.random.default_rng(0).integers(0, 256, (500_000, 4)).astype(np.uint8)
    view = b.view(colours.tobytes())
    b.gltf["accessors"].append({"bufferView": view, "componentType": 5121, "count": len(colours), "type": "VEC4"})
    data = b.glb()
    tracemalloc.start()
    try:
        check_asset(data, "glb", path="/assets/colours")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / len(data) < 4, f"peak {peak / len(data):.1f}× the file's {len(data):,} bytes"


def test_an_obj_material_name_with_a_bidi_override_is_written_escaped() -> None:
    """``usemtl wo<U+202E>od`` reached the GLB's material names as written: shown reversed ("wood" to the eye) in
    every tool. Such characters are escaped; the name still tells its faces from the others'."""
    data = "usemtl wo\u202eod\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nusemtl wood\nf 1 3 2\nusemtl wo\u202eod\nf 2 3 1\n"
    surfaces = _load(data.encode())
    assert sorted((s.material, s.triangle_count) for s in surfaces) == [("wo\\u202eod", 2), ("wood", 1)]
