"""The GLB against outside readers: the Khronos glTF-Validator, three.js, separate Python processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.encode import EncodeOptions, encode_glb
from sceneforge.model.ir import Cell, Portal, SceneIR
from sceneforge.passes import optimize
from tests.support.gltf_validator import assert_valid, validate_glb
from tests.support.scenes import sample_scene, soup

ROOT = Path(__file__).resolve().parents[2]
MODES = {
    "plain": EncodeOptions(),
    "quantized": EncodeOptions(quantize=True),
    "compressed": EncodeOptions(compress=True),
    "quantized+compressed": EncodeOptions(quantize=True, compress=True),
}


def _sample_glb(options: EncodeOptions, **kwargs) -> bytes:
    ir = sample_scene(**kwargs)
    optimize(ir)
    return encode_glb(ir, options)


@pytest.mark.parametrize("mode", list(MODES))
def test_glb_validates_without_errors(needs_node, mode):
    report = assert_valid(_sample_glb(MODES[mode]))
    codes = {m["code"] for m in report["issues"]["messages"]}
    # Warnings left: the validator does not know EXT_mesh_gpu_instancing / EXT_meshopt_compression,
    # so it calls their accessors and the compressed data's buffer unused.
    assert codes <= {"UNSUPPORTED_EXTENSION", "UNUSED_OBJECT"}
    assert report["issues"]["numWarnings"] == sum(m["severity"] == 1 for m in report["issues"]["messages"])


_SCRIPT = """
import sys
sys.path[:0] = [{src!r}, {root!r}]
from sceneforge.encode import EncodeOptions, encode_glb
from sceneforge.passes import optimize
from tests.support.scenes import sample_scene
ir = sample_scene()
optimize(ir)
sys.stdout.buffer.write(encode_glb(ir, EncodeOptions(quantize={q}, compress={c})))
"""


@pytest.mark.parametrize("mode", ["plain", "quantized+compressed"])
def test_glb_byte_identical_across_processes(mode):
    options = MODES[mode]
    script = _SCRIPT.format(src=str(ROOT / "src"), root=str(ROOT), q=options.quantize, c=options.compress)
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] == _sample_glb(options)
    assert runs[0][:4] == b"glTF"


def _three(data: bytes) -> dict:
    done = subprocess.run(
        ["node", str(Path(__file__).with_name("load_threejs.mjs"))],
        input=data,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return json.loads(done.stdout)


@pytest.mark.parametrize("mode", ["compressed", "quantized+compressed"])
def test_glb_loads_in_threejs_with_meshopt_decoder(needs_node, mode):
    ir = sample_scene(textured=False)
    optimize(ir)
    seen = _three(encode_glb(ir, MODES[mode]))
    assert seen["sceneExtras"]["sceneforge"] == {"formatVersion": 1, "sceneId": "sample"}
    cells = {n["userData"]["cellId"]: n for n in seen["nodes"] if n["userData"]["type"] == "cell"}
    portals = [n for n in seen["nodes"] if n["userData"]["type"] == "portal"]
    assert list(cells) == ["hall", "kitchen", "closet"]
    assert [(p["userData"]["from"], p["userData"]["to"]) for p in portals] == [
        ("hall", "kitchen"),
        ("kitchen", "closet"),
    ]
    for cell in ir.cells:
        node = cells[cell.cell_id]
        assert node["userData"]["aabb"] == [float(v) for v in cell.aabb()]
        assert node["triangles"] == sum(s.triangle_count for s in cell.surfaces) + sum(
            s.triangle_count for g in cell.instances for s in g.surfaces
        )
        if node["box"] is None:
            assert cell.surfaces == []
        else:
            # The decoded, dequantized, instanced geometry lands where the cell's box says.
            np.testing.assert_allclose(node["box"], cell.aabb(), atol=2e-3)
    assert cells["hall"]["instances"] == 3 * 2  # 3 copies of a 2-primitive mesh: 2 InstancedMeshes


@st.composite
def _scenes(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cells = []
    for i in range(draw(st.integers(1, 3))):
        surfaces = [
            soup(
                rng,
                draw(st.integers(3, 120)),
                draw(st.integers(1, 150)),
                material=draw(st.sampled_from("abc")),
                grid=draw(st.integers(2, 50)),
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
        cells.append(Cell(f"c{i}", surfaces=surfaces))
    quad = np.array([[0, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=np.float64)
    portals = [Portal(0, cells[0].cell_id, cells[-1].cell_id, quad)]
    return SceneIR("random", cells, portals, {})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=_scenes(), mode=st.sampled_from(list(MODES)), check=st.integers(0, 4))
def test_glb_random_meshes_encode_and_validate(scene, mode, check):
    optimize(scene)
    data = encode_glb(scene, MODES[mode])
    assert data[:4] == b"glTF" and len(data) % 4 == 0
    if check == 0:  # the validator on a sample: it costs a node start-up per call
        report = validate_glb(data)
        assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
