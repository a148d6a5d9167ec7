"""Bounded parsing: OBJ and GLB assets are checked while they are read, in memory proportional to
the file (peak ``tracemalloc`` bytes ÷ file bytes, not time), and malformed ones — huge indices,
counts that claim more than the file holds — are clear errors naming the place."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.errors import AssetError, LimitExceeded
from sceneforge.ingest import obj_read
from sceneforge.ingest.asset_check import check_asset
from sceneforge.ingest.assets import load_mesh_asset
from sceneforge.ingest.obj_read import parse_obj

from .blender_fixture import GlbBuilder

PATH = "/cells/0/meshes/0/meshId"

#: Peak memory while reading, as a multiple of the file's size. Output included: a flat-shaded
#: triangle is 3 float32 vertices with normals and uvs (~100 bytes) from ~15 bytes of face text.
#: The reader this bound replaced (a list of token strings per line) peaked at ~30×.
MAX_MEMORY_RATIO = 16


def grid_obj(n: int, *, normals: bool = False) -> bytes:
    """An n × n grid of textured quads, written as numpy writes text (no Python loop per line)."""
    xs, zs = np.meshgrid(np.arange(n + 1, dtype=np.float64), np.arange(n + 1, dtype=np.float64))
    v = np.stack([xs.ravel() + 0.5, np.full(xs.size, 0.25), zs.ravel() + 0.125], axis=1)
    vt = np.stack([xs.ravel() / n, zs.ravel() / n], axis=1)
    i = np.arange(n * n)
    a = (i // n) * (n + 1) + i % n + 1
    quad = np.stack([a, a + 1, a + n + 2, a + n + 1], axis=1)
    corners = np.repeat(quad, 2, axis=1)  # v/vt with vt = v
    parts = [
        b"# grid\no grid\nusemtl tiles\n",
        _text("v", v, "%.4f"),
        _text("vt", vt, "%.5f"),
    ]
    if normals:
        parts.append(b"vn 0 1 0\n")
        corners = np.stack([quad, quad, np.ones_like(quad)], axis=2).reshape(len(quad), -1)
        parts.append(_text("f", corners, "%d", sep=" ", fmt_corner="{}/{}/{}"))
    else:
        parts.append(_text("f", corners, "%d", sep=" ", fmt_corner="{}/{}"))
    return b"".join(parts)


def _text(head: str, rows: np.ndarray, fmt: str, sep: str = " ", fmt_corner: str | None = None) -> bytes:
    import io

    out = io.BytesIO()
    if fmt_corner is None:
        np.savetxt(out, rows, fmt=fmt, delimiter=sep, header="", comments="")
        body = out.getvalue().splitlines(keepends=True)
    else:
        width = fmt_corner.count("{}")
        corner = "/".join([fmt] * width)
        np.savetxt(out, rows, fmt=" ".join([corner] * (rows.shape[1] // width)), comments="")
        body = out.getvalue().splitlines(keepends=True)
    prefix = head.encode() + b" "
    return prefix + prefix.join(body)


def _peak_ratio(data: bytes, **kwargs: object) -> float:
    tracemalloc.start()
    try:
        surfaces = parse_obj(data, default_material="m", path=PATH, **kwargs)  # type: ignore[arg-type]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(s.triangle_count for s in surfaces) > 0
    return peak / len(data)


@pytest.mark.parametrize("normals", [False, True])
def test_bounded_parsing_obj_peak_memory_is_proportional_to_the_file(normals: bool) -> None:
    data = grid_obj(160, normals=normals)
    assert len(data) > 1_000_000  # several read windows
    ratio = _peak_ratio(data)
    assert ratio < MAX_MEMORY_RATIO, f"peak {ratio:.1f}× the file's {len(data):,} bytes"


def test_bounded_parsing_obj_upload_check_of_one_long_face_line_is_bounded_by_its_chunks() -> None:
    """A window ends at a line's end, so a face of millions of corners on one line is one window, and its corners
    were counted with a line number (8 bytes) and more a byte: a 64 MiB line took the upload's check (in the API
    process) to 1.3 GB, 21 times the file; the upload limit, 256 MiB, would have been 5 GB."""
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf" + b" 1" * (4 << 20) + b"\n"
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded) as err:
            check_asset(data, "obj", path=PATH, max_triangles=1_000_000)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.value == (4 << 20) - 2  # every corner counted
    assert peak / len(data) < 5, f"peak {peak / len(data):.1f}× the file's {len(data):,} bytes"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([1, 2, 3, 7, 1 << 20]),
    st.lists(st.sampled_from([" ", "\n", "\t", "\x0b", "1", "a/2"]), max_size=40),
)
def test_bounded_parsing_obj_tokens_are_counted_alike_in_chunks_of_any_size(chunk: int, pieces: list[str]) -> None:
    text = "".join(pieces).encode()
    lines = text.count(b"\n") + 1
    expected = [len(line.split()) for line in text.split(b"\n")]  # bytes.split: the same white space as numpy's
    saved = obj_read._TOKEN_CHUNK
    obj_read._TOKEN_CHUNK = chunk
    try:
        assert obj_read._token_counts(text, lines).tolist() == expected
    finally:
        obj_read._TOKEN_CHUNK = saved


def test_bounded_parsing_obj_grid_reads_back_its_geometry() -> None:
    n = 40
    (surface,) = parse_obj(grid_obj(n, normals=True), default_material="m", path=PATH)
    assert surface.material == "tiles"
    assert surface.triangle_count == 2 * n * n and surface.vertex_count == (n + 1) ** 2
    np.testing.assert_allclose(surface.positions[:, 1], 0.25)
    np.testing.assert_allclose(surface.normals, np.tile([0.0, 1.0, 0.0], (surface.vertex_count, 1)))


OBJ_LINES = st.lists(
    st.one_of(
        st.tuples(st.floats(-100, 100), st.floats(-100, 100), st.floats(-100, 100)).map(
            lambda p: "v {} {} {}".format(*p)
        ),
        st.tuples(st.floats(0, 1), st.floats(0, 1)).map(lambda t: "vt {} {}".format(*t)),
        st.just("vn 0 0 1"),
        st.lists(st.integers(-4, 6).filter(lambda i: i != 0), min_size=3, max_size=5).map(
            lambda ix: "f " + " ".join(map(str, ix))
        ),
        st.sampled_from(["usemtl a", "usemtl b", "s 1", "s off", "# note", "  v 1 2 3", "g group", ""]),
    ),
    min_size=1,
    max_size=40,
)


def _surfaces_or_error(data: bytes) -> object:
    try:
        surfaces = parse_obj(data, default_material="m", path=PATH)
    except AssetError as exc:
        return exc.issues[0].message
    return [
        (s.material, s.positions.tobytes(), s.normals.tobytes(), s.uvs.tobytes(), s.indices.tobytes()) for s in surfaces
    ]


@settings(max_examples=60, deadline=None)
@given(lines=OBJ_LINES)
def test_bounded_parsing_obj_windows_do_not_change_the_result(lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode()
    whole = _surfaces_or_error(data)
    saved = obj_read.WINDOW_BYTES
    obj_read.WINDOW_BYTES = 16  # every statement in a window of its own, negative indices across windows
    try:
        windowed = _surfaces_or_error(data)
    finally:
        obj_read.WINDOW_BYTES = saved
    assert windowed == whole


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99999999999999999999999\n", "line 4: face indices must be integers below"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4294967299\n", "line 4"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -2147483647\n", "does not exist"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3.5\n", "integers"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 1e400\n", "integers"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2 3\n", "line 4: face corners are"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 1e39\nf 1 2 3\n", "line 3"),
        (b"v 0 0 0\nv 1 0 0\n\n\nv 0 1 0\nf 1 2 3 700\n", "line 6: a face refers to vertex 700"),
        (b"vt 0.5\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/1 3/9\n", "texture coordinate 9"),
    ],
)
def test_bounded_parsing_obj_malformed_is_a_clear_error(obj: bytes, needle: str) -> None:
    with pytest.raises(AssetError) as err:
        parse_obj(obj, default_material="m", path=PATH)
    assert err.value.issues[0].path == PATH
    assert needle in err.value.issues[0].message, err.value.issues[0].message


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (b"vt 0 0\nvt \x0b\n", "OBJ line 5: a texture coordinate needs 1 number"),
        (b"vt \x0b\n", "OBJ line 4: a texture coordinate needs 1 number"),
        (b"v \x0c 1 2\n", "OBJ line 4: a vertex needs 3 numbers"),
    ],
)
def test_bounded_parsing_obj_numbers_parted_by_other_white_space_are_counted_as_read(obj: bytes, message: str) -> None:
    """A vertical tab or form feed parts numbers for numpy's reader but was no space to the token count, which then
    asked for numbers the line did not hold: an IndexError ('the asset does not decode: index 2 is out of bounds'),
    or, the line alone, numpy's reading of white space alone as -1, a texture coordinate made of nothing."""
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\n" + obj + b"f 1/1 2/1 3/1\n"
    with pytest.raises(AssetError) as err:
        parse_obj(data, default_material="m", path=PATH)
    assert err.value.issues[0].message == message


def test_bounded_parsing_obj_numbers_parted_by_a_vertical_tab_read_as_parted_by_spaces() -> None:
    spaced = parse_obj(b"v 0 0 0\nv 1 0 0 1\nv 0 1 0\nf 1 2 3\n", default_material="m", path=PATH)
    tabbed = parse_obj(b"v 0 0 0\nv 1\x0b0\x0c0 1\nv 0 1 0\nf 1 2\x0b3\n", default_material="m", path=PATH)
    np.testing.assert_array_equal(tabbed[0].positions, spaced[0].positions)
    np.testing.assert_array_equal(tabbed[0].indices, spaced[0].indices)


def test_bounded_parsing_obj_triangle_limit_stops_the_read() -> None:
    with pytest.raises(LimitExceeded) as err:
        parse_obj(grid_obj(160), default_material="m", path=PATH, max_triangles=1000)
    assert err.value.limit == "SCENEFORGE_MAX_TRIANGLES" and err.value.value < 2 * 160 * 160  # not read to the end


def _triangle_glb() -> GlbBuilder:
    builder = GlbBuilder()
    prim = builder.primitive(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    builder.node("tri", mesh=builder.mesh("tri", [prim]))
    return builder


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda g: g["accessors"][0].update(count=10**9), "run past the end of bufferView"),
        (lambda g: g["bufferViews"][0].update(byteLength=10**12), "run past buffer"),
        (lambda g: g["bufferViews"][0].update(byteOffset=2**62), "run past buffer"),
        (lambda g: g["accessors"][0].update(bufferView=7), "refers to bufferView 7"),
        (lambda g: g["accessors"][0].update(count=-1), "must be an integer"),
    ],
)
def test_bounded_parsing_glb_counts_beyond_the_file_are_clear_errors(change: object, needle: str) -> None:
    builder = _triangle_glb()
    change(builder.gltf)  # type: ignore[operator]
    with pytest.raises(AssetError) as err:
        load_mesh_asset(builder.glb(), path=PATH, default_material="m")
    assert needle in err.value.issues[0].message, err.value.issues[0].message


def test_bounded_parsing_glb_zeros_without_a_buffer_view_count_against_the_upload_limit() -> None:
    """An accessor without a bufferView is zeros the reader allocates: a 1 kB asset declaring
    3 million of them cost as much as a 36 MB file. They count, with the file's bytes, against
    ``max_bytes`` (SCENEFORGE_MAX_UPLOAD_BYTES), at the asset's path, on upload and in a build."""
    from sceneforge.ingest.asset_check import check_asset

    builder = _triangle_glb()
    builder.gltf["accessors"].append({"componentType": 5126, "count": 3_000_000, "type": "VEC3"})
    builder.gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = 1
    glb = builder.glb()
    assert len(glb) < 1000
    for read in (
        lambda: load_mesh_asset(glb, path=PATH, default_material="m", max_bytes=10_000_000),
        lambda: check_asset(glb, "glb", max_bytes=10_000_000, path=PATH),
    ):
        with pytest.raises(LimitExceeded) as err:
            read()
        assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and err.value.value == len(glb) + 36_000_000
        assert err.value.issues[0].path == PATH and "/accessors/1/count" in err.value.issues[0].message


def test_bounded_parsing_description_asset_zeros_count_against_the_upload_limit() -> None:
    import json

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.config import Limits

    builder = _triangle_glb()
    builder.gltf["accessors"].append({"componentType": 5126, "count": 3_000_000, "type": "VEC3"})
    builder.gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = 1
    glb = builder.glb()
    description = {
        "sceneId": "zeros",
        "cells": [{"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}, "meshes": [{"meshId": "asset:z"}]}],
        "portals": [],
    }
    options = BuildOptions(limits=Limits(max_upload_bytes=10_000_000))
    with pytest.raises(LimitExceeded) as err:
        compile_scene(json.dumps(description).encode(), options, resolve_asset=lambda _id: glb)
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES"
    assert err.value.issues[0].path == "/cells/0/meshes/0/meshId"


def _aliased_glb(meshes: int, vertices: int, *, primitives: int = 1, cell: bool = False) -> bytes:
    """``meshes`` meshes whose POSITION accessors each read the same view of ``vertices`` points (one
    triangle drawn from it per primitive; ``primitives`` sharing the mesh's accessor), each drawn by a node."""
    builder = GlbBuilder()
    points = np.random.default_rng(1).random((vertices, 3))
    first = builder.accessor(points)
    index = builder.accessor(np.array([0, 1, 2]), indices=True)
    children = []
    for k in range(meshes):
        position = first if k == 0 else len(builder.gltf["accessors"])
        if k:
            builder.gltf["accessors"].append(dict(builder.gltf["accessors"][first]))
        prims = [{"attributes": {"POSITION": position}, "indices": index} for _ in range(primitives)]
        children.append(builder.node(f"m{k}", mesh=builder.mesh(f"m{k}", prims)))
    if cell:
        builder.node("Room", children=children, extras={"type": "cell", "cellId": "room"})
        builder.gltf["scenes"] = [{"nodes": [len(builder.gltf["nodes"]) - 1]}]
    return builder.glb()


def test_bounded_parsing_glb_views_read_again_count_against_the_upload_limit() -> None:
    """Accessors naming one view copy it once each: 30 meshes reading a 120 kB view cost 3.6 MB of
    decoding from a file of 125 kB (2,000 of them on a 12 MB view took 5.5 s, and the JSON limit allows
    150,000). What the accessors read beyond the file's bytes counts with them against
    ``max_bytes`` (SCENEFORGE_MAX_UPLOAD_BYTES), for an asset and for a tagged GLB, at the accessor
    read past it; primitives of one mesh sharing a vertex accessor read it once."""
    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.config import Limits

    asset = _aliased_glb(30, 10_000)
    assert len(asset) < 130_000
    with pytest.raises(LimitExceeded) as err:
        load_mesh_asset(asset, path=PATH, default_material="m", max_bytes=1_000_000)
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and err.value.value > 1_000_000
    assert err.value.issues[0].path == PATH and "read again" in err.value.issues[0].message
    assert len(load_mesh_asset(asset, path=PATH, default_material="m", max_bytes=4_000_000)) == 1

    tagged = _aliased_glb(30, 10_000, cell=True)
    with pytest.raises(LimitExceeded) as err:
        compile_scene(tagged, BuildOptions(limits=Limits(max_upload_bytes=1_000_000)))
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and err.value.issues[0].path.startswith("/accessors/")

    # a mesh of 8 primitives sharing its vertices (three.js exports material groups so) reads them once
    shared = _aliased_glb(1, 10_000, primitives=8)
    assert len(load_mesh_asset(shared, path=PATH, default_material="m", max_bytes=200_000)) == 1


def test_bounded_parsing_glb_asset_images_naming_one_view_are_refused_at_the_asset() -> None:
    """An uploaded GLB whose images each name one view counts their reads against ``max_bytes`` as its
    accessors' (docs/limits.md); the limit's error was raised at the glTF pointer /images/<i>/bufferView,
    not at the asset, as the accessors' is."""
    from sceneforge.ingest.asset_check import check_asset

    from .blender_fixture import tiny_png

    builder = _triangle_glb()
    view = builder.view(tiny_png(64, 64))
    for k in range(200):
        builder.gltf.setdefault("images", []).append({"bufferView": view, "mimeType": "image/png"})
        builder.gltf.setdefault("textures", []).append({"source": k})
        pbr = {"baseColorTexture": {"index": k}}
        builder.gltf.setdefault("materials", []).append({"name": f"m{k}", "pbrMetallicRoughness": pbr})
    glb = builder.glb()
    check_asset(glb, "glb", max_bytes=10 * len(glb), path=PATH)
    with pytest.raises(LimitExceeded) as err:
        check_asset(glb, "glb", max_bytes=2 * len(glb), path=PATH)
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and err.value.issues[0].path == PATH
    assert "/images/" in err.value.issues[0].message


def test_bounded_parsing_glb_asset_meets_the_json_and_node_limits_of_a_tagged_glb() -> None:
    """A tagged GLB's JSON chunk is held to SCENEFORGE_MAX_BODY_BYTES before it is parsed and its nodes to
    SCENEFORGE_MAX_GLB_NODES before any is walked; a GLB asset was held to neither: a 5 MB asset of 100,000
    nodes drawing one triangle took 21 s of a build (each node placed, ~0.2 ms), on upload and in every build
    naming it. Both now hold for an asset, at its path, on upload and in a build."""
    import json

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.config import Limits
    from sceneforge.ingest.asset_check import check_asset
    from sceneforge.ingest.asset_glb import GlbBounds

    builder = _triangle_glb()
    builder.gltf["nodes"].extend({"mesh": 0, "translation": [0.0, 0.01 * k, 0.0]} for k in range(300))
    glb = builder.glb()
    json_bytes = int.from_bytes(glb[12:16], "little")
    for bounds, limit in [
        (GlbBounds(max_nodes=300), "SCENEFORGE_MAX_GLB_NODES"),
        (GlbBounds(max_json_bytes=json_bytes - 1), "SCENEFORGE_MAX_BODY_BYTES"),
    ]:
        for read in (
            lambda b=bounds: load_mesh_asset(glb, path=PATH, default_material="m", bounds=b),
            lambda b=bounds: check_asset(glb, "glb", path=PATH, bounds=b),
        ):
            with pytest.raises(LimitExceeded) as err:
                read()
            assert err.value.limit == limit and err.value.issues[0].path == PATH
    assert len(load_mesh_asset(glb, path=PATH, default_material="m", bounds=GlbBounds(json_bytes, 301))) == 1

    description = {
        "sceneId": "nodes",
        "cells": [{"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}, "meshes": [{"meshId": "asset:n"}]}],
    }
    with pytest.raises(LimitExceeded) as err:
        compile_scene(
            json.dumps(description).encode(),
            BuildOptions(limits=Limits(max_glb_nodes=300)),
            resolve_asset=lambda _id: glb,
        )
    assert err.value.limit == "SCENEFORGE_MAX_GLB_NODES" and err.value.issues[0].path == "/cells/0/meshes/0/meshId"


def test_bounded_parsing_obj_repeated_corners_make_no_triangles_nor_memory() -> None:
    """A corner written again right after itself makes fan triangles of two equal corners (no area): ``f 1 2 3 3 3 …``
    at 2 bytes a corner made one each, 5 million from a 10 MB file, 2.2 GB flat-shaded (~200× the file)."""
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\n" + (b"f 1 2 3" + b" 3" * 99_999 + b"\n") * 10
    # Two read windows: the arrays of a window's ~500,000 corners, alive at once, were 34× this file (8 bytes a byte
    # for each byte's line, float64 corners, a copy per step); what they built, 215×.
    assert len(data) > 2_000_000
    ratio = _peak_ratio(data, max_triangles=2_000_000)
    assert ratio < MAX_MEMORY_RATIO, f"peak {ratio:.1f}× the file's {len(data):,} bytes"
    (surface,) = parse_obj(data, default_material="m", path=PATH)
    assert surface.triangle_count == 10
    with pytest.raises(LimitExceeded):  # the limit counts the triangles as written, as the upload check does
        parse_obj(data, default_material="m", path=PATH, max_triangles=999_999)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.permutations([1, 2, 3, 4, 5, 6]), st.integers(3, 6), st.lists(st.integers(1, 3), max_size=6)),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["{}", "{}/{}", "{}//{}", "{}/{}/{}"]),
)
def test_bounded_parsing_obj_a_corner_repeated_changes_nothing_drawn(
    faces: list[tuple[list[int], int, list[int]]], corner: str
) -> None:
    """Faces of distinct corners read as they read with some corners written again (1–3 times) right after
    themselves: the triangles of two equal corners are dropped, every other is the same."""
    head = b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0.5\nv -1 0.5 0\nv 0 -1 0.25\nvt 0 0\nvn 0 0 1\n"
    once, again = [], []
    for order, size, repeats in faces:
        words = [corner.replace("{}", str(v), 1).replace("{}", "1") for v in order[:size]]
        once.append("f " + " ".join(words))
        written = [w for k, w in enumerate(words) for _ in range(1 + (repeats[k] if k < len(repeats) else 0))]
        again.append("f " + " ".join(written))
    expected = _surfaces_or_error(head + ("\n".join(once) + "\n").encode())
    assert _surfaces_or_error(head + ("\n".join(again) + "\n").encode()) == expected


@pytest.mark.parametrize(
    "faces",
    [b"f 1 2 1\n", b"f 1 1 2\n", b"f 1/1 2/1 2/2\n", b"f 1 2 1 3\n"],
)
def test_bounded_parsing_obj_triangles_with_two_corners_at_one_vertex_are_dropped(faces: bytes) -> None:
    head = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 1\n"
    (surface,) = parse_obj(head + b"f 1 2 3\n" + faces, default_material="m", path=PATH)
    (alone,) = parse_obj(head + b"f 1 2 3\n", default_material="m", path=PATH)
    assert surface.indices.tobytes() == alone.indices.tobytes()
    assert surface.positions.tobytes() == alone.positions.tobytes()
    with pytest.raises(AssetError, match="no triangles"):
        load_mesh_asset(head + faces, path=PATH, default_material="m")
