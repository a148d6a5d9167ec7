"""gltfpack (npm ``gltfpack``, the wasm build) on the project's output: with ``-kn -ke`` the cell and
portal nodes and their extras survive, and the packed file builds again to the same cells,
portals and PVS; without them gltfpack merges the nodes away and drops the portals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sceneforge.compile import compile_scene
from sceneforge.errors import SceneInvalid
from sceneforge.generate import generate_apartment
from tests.support.glb_reader import read_glb
from tests.support.node_tools import require_node_module

from .test_blender import _same_build


@pytest.fixture(scope="module")
def plain() -> bytes:
    import json

    return compile_scene(json.dumps(generate_apartment(6, seed=2)).encode()).glb


def _pack(glb: bytes, tmp_path: Path, *flags: str) -> bytes:
    cli = require_node_module("gltfpack") / "cli.js"
    source, target = tmp_path / "in.glb", tmp_path / "out.glb"
    source.write_bytes(glb)
    done = subprocess.run(
        ["node", str(cli), "-i", str(source), "-o", str(target), *flags], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return target.read_bytes()


@pytest.mark.parametrize("flags", [("-kn", "-ke"), ("-cc", "-kn", "-ke")], ids=["quantized", "compressed"])
def test_gltfpack_keeping_nodes_and_extras_builds_the_same(plain: bytes, tmp_path: Path, flags: tuple[str, ...]):
    packed = _pack(plain, tmp_path, *flags)

    def tagged(glb: bytes) -> list[dict]:
        return sorted((n["extras"] for n in read_glb(glb).json["nodes"] if "extras" in n), key=str)

    assert tagged(packed) == tagged(plain)
    # gltfpack quantizes positions to 14 bits of the scene's extent: boxes move by up to ~1 mm.
    _same_build(compile_scene(plain), compile_scene(packed), aabb_atol=5e-3)


def test_gltfpack_without_keep_flags_drops_cells_and_portals(plain: bytes, tmp_path: Path) -> None:
    packed = _pack(plain, tmp_path)
    assert not any("extras" in n for n in read_glb(packed).json.get("nodes", []))
    with pytest.raises(SceneInvalid) as err:
        compile_scene(packed)
    assert err.value.issues[0].code in {"no_extras", "no_cells"}


def test_gltfpack_quantized_texture_coordinates_read_back_where_they_were(tmp_path: Path) -> None:
    """gltfpack stores texture coordinates quantized and a KHR_texture_transform to undo it (here a
    scale of 16): read without the transform, the wall texture came out tiled 16 times too large."""
    import numpy as np

    from sceneforge.ingest.gltf_read import parse_glb

    from .blender_fixture import blender_scene

    def wall(glb: bytes) -> np.ndarray:
        doc, rows = parse_glb(glb), []
        for i, world, _ in doc.walk():
            if (m := doc.node_mesh(i)) is not None:
                rows += [
                    np.hstack([s.positions, s.uvs])
                    for s in doc.mesh_surfaces(m, world, "-", "")
                    if s.material == "Wall"
                ]
        return np.concatenate(rows).astype(np.float64)

    source = blender_scene()
    packed = _pack(source, tmp_path, "-kn", "-ke")
    assert "KHR_texture_transform" in read_glb(packed).json.get("extensionsUsed", [])
    before, after = wall(source), wall(packed)
    # every corner of every wall face is there with its texture coordinate, to the quantization's step
    gap = np.abs(before[:, None, :] - after[None, :, :]).max(axis=2).min(axis=1)
    assert gap.max() < 0.01, gap.max()
