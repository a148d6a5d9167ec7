"""The glTF-Transform CLI (npm ``@gltf-transform/cli``) ``optimize`` on the project's output: with
``--prune false --join false --flatten false`` every cell and portal node keeps its extras and the
optimized file builds again to the same cells, portals and PVS. Each of the three left on loses the
portal nodes (nodes without a mesh): ``prune`` removes them, and so does the clean-up ``flatten`` and
``join`` each run afterwards; ``join`` also merges the cells' meshes into one node. The file that a
plain ``optimize`` writes still builds, as one cell without portals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sceneforge.compile import BuildResult, compile_scene
from sceneforge.generate import generate_apartment
from tests.support.glb_reader import read_glb
from tests.support.node_tools import NODE_MODULES, require_node_module

from .test_blender import _same_build

KEEP_NODES = ("--prune", "false", "--join", "false", "--flatten", "false")


@pytest.fixture(scope="module")
def plain() -> BuildResult:
    return compile_scene(json.dumps(generate_apartment(5, seed=2)).encode())


def _optimize(glb: bytes, tmp_path: Path, *flags: str) -> bytes:
    require_node_module("@gltf-transform/cli")
    source, target = tmp_path / "in.glb", tmp_path / "out.glb"
    source.write_bytes(glb)
    done = subprocess.run(
        [str(NODE_MODULES / ".bin" / "gltf-transform"), "optimize", str(source), str(target), *flags],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode(errors="replace")
    return target.read_bytes()


def _tagged(glb: bytes) -> list[dict]:
    return sorted((n["extras"] for n in read_glb(glb).json["nodes"] if "extras" in n), key=str)


def test_optimize_keeping_the_nodes_builds_the_same(plain: BuildResult, tmp_path: Path) -> None:
    optimized = _optimize(plain.glb, tmp_path, *KEEP_NODES)
    assert "EXT_meshopt_compression" in read_glb(optimized).json["extensionsRequired"]  # its default --compress
    assert _tagged(optimized) == _tagged(plain.glb)
    assert [e["type"] for e in _tagged(optimized)].count("portal") == 5
    again = compile_scene(optimized)
    assert again.meta["stats"]["triangles"] == plain.meta["stats"]["triangles"]
    # optimize quantizes positions (14 bits of the scene's extent): boxes move by up to ~1 mm.
    _same_build(plain, again, aabb_atol=5e-3)


@pytest.mark.parametrize(
    ("flags", "cells"),
    [
        ((), 1),
        (("--join", "false", "--flatten", "false"), 5),  # prune
        (("--prune", "false", "--join", "false"), 5),  # flatten
        (("--prune", "false", "--flatten", "false"), 1),  # join
    ],
    ids=["optimize", "prune", "flatten", "join"],
)
def test_optimize_drops_the_portal_nodes(plain: BuildResult, tmp_path: Path, flags: tuple[str, ...], cells: int):
    optimized = _optimize(plain.glb, tmp_path, *flags)
    kinds = [e["type"] for e in _tagged(optimized)]
    assert kinds == ["cell"] * cells
    again = compile_scene(optimized)
    assert len(again.meta["Meta"]["cells"]) == cells
    assert again.meta["visibility"]["portals"] == []
    # Cells left without any portal say so; one merged cell is a level of one room.
    warned = [w["code"] for w in again.meta["warnings"] if w["code"] == "no_portals"]
    assert warned == (["no_portals"] if cells > 1 else [])
