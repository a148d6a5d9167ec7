"""Output for viewers without meshopt or GPU instancing, and what changes the bytes (oneWay, the meta).

Checked with real clients: the Khronos glTF-Validator and three.js's GLTFLoader, here without a
meshopt decoder for the fallback; Blender's importer is in ``tests/ingest/test_blender.py``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.encode import EncodeOptions, encode_glb
from sceneforge.encode.buffers import EXT_MESHOPT
from sceneforge.generate import generate_maze
from sceneforge.model.ir import InstanceGroup
from sceneforge.passes import optimize
from sceneforge.passes.expand import expand_instances, expand_surface
from tests.support.glb_reader import read_glb, triangle_set
from tests.support.gltf_validator import assert_valid
from tests.support.scenes import quad_surface, sample_scene

ROOT = Path(__file__).resolve().parents[2]
INSTANCING = "EXT_mesh_gpu_instancing"


def _three(data: bytes, *args: str) -> dict:
    done = subprocess.run(
        ["node", str(Path(__file__).with_name("load_threejs.mjs")), *args],
        input=data,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return json.loads(done.stdout)


def _cells(seen: dict) -> dict[str, dict]:
    return {n["userData"]["cellId"]: n for n in seen["nodes"] if n["userData"]["type"] == "cell"}


def _encoded(options: EncodeOptions, *, expand: bool = False) -> bytes:
    ir = sample_scene(textured=False)
    if expand:
        expand_instances()(ir)
    optimize(ir)
    return encode_glb(ir, options)


# -- EXT_meshopt_compression with its uncompressed fallback ------------------------------------


@pytest.mark.parametrize("quantize", [False, True], ids=["float", "quantized"])
def test_fallback_bytes_are_what_the_decoder_gives(quantize: bool) -> None:
    glb = read_glb(_encoded(EncodeOptions(quantize=quantize, compress=True, fallback=True)))
    assert EXT_MESHOPT in glb.json["extensionsUsed"]
    assert EXT_MESHOPT not in glb.json.get("extensionsRequired", [])
    assert len(glb.json["buffers"]) == 1  # no data-less fallback buffer: the plain bytes are in the BIN chunk
    compressed = 0
    for index, view in enumerate(glb.json["bufferViews"]):
        ext = view.get("extensions", {}).get(EXT_MESHOPT)
        plain = glb.bin[view.get("byteOffset", 0) :][: view["byteLength"]]
        if ext is None:
            continue
        compressed += 1
        assert view["buffer"] == ext["buffer"] == 0
        # The view's own bytes equal the decoded (and un-filtered) compressed bytes.
        assert plain == glb.view_bytes(index)
        if quantize and ext.get("filter") == "OCTAHEDRAL":
            normals = np.frombuffer(plain, np.int8).reshape(-1, 4)[:, :3].astype(np.float64)
            np.testing.assert_allclose(np.linalg.norm(normals, axis=1) / 127, 1.0, atol=0.03)
    assert compressed >= 3


def test_fallback_changes_nothing_for_a_meshopt_reader() -> None:
    with_fallback = read_glb(_encoded(EncodeOptions(quantize=True, compress=True, fallback=True)))
    without = read_glb(_encoded(EncodeOptions(quantize=True, compress=True)))
    assert with_fallback.json["accessors"] == without.json["accessors"]
    for index in range(len(without.json["bufferViews"])):
        assert with_fallback.view_bytes(index) == without.view_bytes(index)
    assert len(with_fallback.bin) > len(without.bin)


def test_fallback_without_compress_is_the_plain_file() -> None:
    assert _encoded(EncodeOptions(fallback=True)) == _encoded(EncodeOptions())


@pytest.mark.parametrize("quantize", [False, True], ids=["float", "quantized"])
def test_fallback_validates_and_loads_in_threejs_without_meshopt(needs_node, quantize: bool) -> None:
    data = _encoded(EncodeOptions(quantize=quantize, compress=True, fallback=True))
    report = assert_valid(data)
    assert {m["code"] for m in report["issues"]["messages"]} <= {"UNSUPPORTED_EXTENSION", "UNUSED_OBJECT"}
    plain = _cells(_three(_encoded(EncodeOptions(quantize=quantize))))
    seen = _cells(_three(data, "--no-meshopt"))
    assert list(seen) == list(plain) == ["hall", "kitchen", "closet"]
    for cell_id, node in seen.items():
        assert node["triangles"] == plain[cell_id]["triangles"]
        if node["box"] is None:
            assert plain[cell_id]["box"] is None
        else:
            np.testing.assert_allclose(node["box"], plain[cell_id]["box"], atol=1e-6)


def test_without_fallback_threejs_needs_the_decoder(needs_node) -> None:
    done = subprocess.run(
        ["node", str(Path(__file__).with_name("load_threejs.mjs")), "--no-meshopt"],
        input=_encoded(EncodeOptions(quantize=True, compress=True)),
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and b"setMeshoptDecoder must be called" in done.stderr


# -- instances expanded -----------------------------------------------------------------------


def test_expanded_instances_draw_the_same_triangles() -> None:
    ir = sample_scene(textured=False)
    group = ir.cells[0].instances[0]
    expected = []
    for m in group.transforms:
        for s in group.surfaces:
            p = s.positions.astype(np.float64) @ m[:3, :3].T + m[:3, 3]
            expected += triangle_set(p, s.indices, decimals=4)
    expand_instances()(ir)
    assert ir.cells[0].instances == []
    got = [t for s in ir.cells[0].surfaces[-2:] for t in triangle_set(s.positions, s.indices, decimals=4)]
    np.testing.assert_allclose(np.array(sorted(got)), np.array(sorted(expected)), atol=2e-4)


@settings(max_examples=25, deadline=None)
@given(
    angle=st.floats(-np.pi, np.pi),
    scale=st.lists(st.floats(0.25, 4.0) | st.floats(-4.0, -0.25), min_size=3, max_size=3),
    shift=st.lists(st.floats(-50, 50), min_size=3, max_size=3),
)
def test_expanded_copy_keeps_faces_outward(angle: float, scale: list[float], shift: list[float]) -> None:
    """Each copy's triangles wind counter-clockwise around its moved normals, mirrors included."""
    surface = quad_surface("m", (0.0, 0.0, 0.0), 1.0, axis=1)
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(4)
    m[:3, :3] = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.diag(scale)
    m[:3, 3] = shift
    out = expand_surface(surface, np.stack([np.eye(4), m]))
    p = out.positions.astype(np.float64)[out.indices]
    face = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    vertex = out.normals[out.indices[:, 0]].astype(np.float64)
    assert (np.einsum("ij,ij->i", face, vertex) > 0).all()
    np.testing.assert_allclose(np.linalg.norm(out.normals, axis=1), 1.0, atol=1e-6)
    assert out.vertex_count == 2 * surface.vertex_count and out.triangle_count == 2 * surface.triangle_count


def test_expand_refuses_non_finite_transforms() -> None:
    from sceneforge.errors import PassError

    ir = sample_scene()
    group = ir.cells[0].instances[0]
    bad = group.transforms.copy()
    bad[0, 0, 3] = np.nan
    ir.cells[0].instances = [InstanceGroup(group.cell_id, group.mesh_key, group.surfaces, bad)]
    with pytest.raises(PassError, match="non-finite"):
        expand_instances()(ir)


def test_no_instancing_file_validates_and_loads_in_threejs_like_the_instanced_one(needs_node) -> None:
    expanded = _encoded(EncodeOptions(quantize=True), expand=True)
    assert INSTANCING not in read_glb(expanded).json.get("extensionsUsed", [])
    assert INSTANCING in read_glb(_encoded(EncodeOptions(quantize=True))).json["extensionsUsed"]
    assert_valid(expanded)
    instanced = _cells(_three(_encoded(EncodeOptions(quantize=True))))
    seen = _cells(_three(expanded))
    assert seen["hall"]["instances"] == 0 and instanced["hall"]["instances"] == 6
    ir = sample_scene(textured=False)
    optimize(ir)
    for cell in ir.cells:
        node = seen[cell.cell_id]
        drawn = sum(s.triangle_count for s in cell.surfaces)  # three.js counts an InstancedMesh's triangles once
        copies = sum(s.triangle_count * len(g.transforms) for g in cell.instances for s in g.surfaces)
        assert instanced[cell.cell_id]["triangles"] == drawn + sum(
            s.triangle_count for g in cell.instances for s in g.surfaces
        )
        assert node["triangles"] == drawn + copies
        if node["box"] is not None:
            np.testing.assert_allclose(node["box"], instanced[cell.cell_id]["box"], atol=2e-3)


# -- what changes the bytes -------------------------------------------------------------------


def test_one_way_is_in_the_portal_extras_and_changes_the_etag() -> None:
    description = generate_maze(6, seed=2)
    first = compile_scene(json.dumps(description).encode())
    description["portals"][0]["oneWay"] = True
    second = compile_scene(json.dumps(description).encode())
    assert first.etag != second.etag
    extras = [n["extras"] for n in read_glb(second.glb).json["nodes"] if n["name"].startswith("portal:")]
    assert extras[0]["oneWay"] is True and all("oneWay" not in e for e in extras[1:])


def test_builds_whose_meta_differ_never_share_an_etag() -> None:
    data = json.dumps(generate_maze(12, seed=4)).encode()
    with_pvs, without_pvs = compile_scene(data), compile_scene(data, BuildOptions(pvs=False))
    assert with_pvs.meta["visibility"] != without_pvs.meta["visibility"]
    assert with_pvs.etag != without_pvs.etag
    again = compile_scene(data)
    assert again.etag == with_pvs.etag and again.glb == with_pvs.glb


# -- the command line -------------------------------------------------------------------------

_CHAIR_OBJ = "v 0 0 0\nv 0.5 0 0\nv 0.5 0 0.5\nv 0 0 0.5\nv 0 0.5 0\nf 1 3 2\nf 1 4 3\nf 1 2 5\n"


def _with_instances(tmp_path: Path) -> Path:
    (tmp_path / "chair.obj").write_text(_CHAIR_OBJ)
    description = generate_maze(3, seed=1)
    moved = [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, x, 0.2, 1.0, 1] for x in (0.5, 1.5, 2.5)]
    description["instances"] = [
        {"meshId": "asset:chair.obj", "cellId": description["cells"][0]["cellId"], "transforms": moved}
    ]
    spec = tmp_path / "level.json"
    spec.write_text(json.dumps(description))
    return spec


def test_cli_fallback_and_no_instancing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sceneforge.cli import app

    runner = CliRunner()
    spec = _with_instances(tmp_path)
    refused = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "x"), "--fallback", "--no-progress"])
    assert refused.exit_code == 2 and "--fallback needs --compress" in refused.output
    assert not (tmp_path / "x").exists()
    outputs = {}
    for name, flags in {"default": ["--compress"], "compat": ["--compress", "--fallback", "--no-instancing"]}.items():
        done = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / name), "--no-progress", *flags])
        assert done.exit_code == 0, done.output
        (glb_path,) = (tmp_path / name).glob("*.glb")
        outputs[name] = (
            read_glb(glb_path.read_bytes()),
            json.loads(next((tmp_path / name).glob("*.meta.json")).read_text()),
        )
    default, compat = outputs["default"][0].json, outputs["compat"][0].json
    assert set(default["extensionsRequired"]) == {EXT_MESHOPT, INSTANCING, "KHR_mesh_quantization"}
    assert compat["extensionsRequired"] == ["KHR_mesh_quantization"]
    assert compat["extensionsUsed"] == [EXT_MESHOPT, "KHR_mesh_quantization", "SCENEFORGE_bvh"]
    stats = outputs["default"][1]["stats"], outputs["compat"][1]["stats"]
    assert stats[0]["triangles"] == stats[1]["triangles"] and stats[1]["drawCalls"] <= stats[0]["drawCalls"]

    # The same visibility; only the byte ranges of the two files differ (docs/streaming.md).
    def without_ranges(vis: dict) -> dict:
        cells = [{k: v for k, v in c.items() if k != "bytes"} for c in vis["cells"]]
        return {**{k: v for k, v in vis.items() if k not in ("headerBytes", "indexBytes")}, "cells": cells}

    visibility = [without_ranges(outputs[out][1]["visibility"]) for out in ("default", "compat")]
    assert visibility[0] == visibility[1]


def test_instance_groups_share_a_mesh_only_with_their_own_surfaces() -> None:
    """The encoder finds a group's mesh by its surface tuple (a dictionary, not a scan of every earlier
    group: 10,000 groups took 3.4 s): groups holding the same tuple share one mesh, a group holding an
    equal copy of it gets a mesh of its own, as each description entry does."""
    ir = sample_scene(textured=False)
    group = ir.cells[0].instances[0]
    ir.cells[1].instances.append(InstanceGroup("kitchen", group.mesh_key, group.surfaces, group.transforms))
    ir.cells[2].instances.append(InstanceGroup("closet", group.mesh_key, group.surfaces, group.transforms))
    copy = tuple(list(group.surfaces))  # equal, not the same tuple
    ir.cells[2].instances.append(InstanceGroup("closet", group.mesh_key, copy, group.transforms))
    document = read_glb(encode_glb(ir, EncodeOptions())).json
    meshes = {n["name"]: n["mesh"] for n in document["nodes"] if n.get("name", "").startswith("instances:")}
    assert len(meshes) == 3  # the closet's two groups have one node name
    used = [n["mesh"] for n in document["nodes"] if n.get("name", "").startswith("instances:")]
    assert len(used) == 4 and used[0] == used[1] == used[2] != used[3]
