"""Babylon.js (npm ``babylonjs`` + ``babylonjs-loaders``, in a ``NullEngine`` under node) on the
project's output, loaded by ``load_babylon.mjs``: every option set loads with the cells, portals and
triangles the build's meta lists; meshopt data is decoded by the npm ``meshoptimizer`` decoder (no
network), and without a decoder only the ``--fallback`` file loads.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sceneforge.cli import app
from tests.support.node_tools import require_node_module

from .test_compat import _with_instances

SCRIPT = Path(__file__).with_name("load_babylon.mjs")
ROOT = Path(__file__).resolve().parents[2]
COPIES = 3  # the chairs _with_instances puts in the first cell


@pytest.fixture
def babylon() -> None:
    for name in ("babylonjs", "babylonjs-loaders", "meshoptimizer"):
        require_node_module(name)


def _build(tmp_path: Path, *flags: str) -> tuple[bytes, dict]:
    """A level with cells, portals and instanced chairs, built by ``sceneforge build`` with ``flags``."""
    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["build", str(_with_instances(tmp_path)), "-o", str(out), "--no-progress", *flags])
    assert done.exit_code == 0, done.output
    (glb,) = out.glob("*.glb")
    (meta,) = out.glob("*.meta.json")
    return glb.read_bytes(), json.loads(meta.read_text())


def _load(glb: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["node", str(SCRIPT), *args], input=glb, capture_output=True, cwd=ROOT, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("flags", "loader"),
    [
        ((), ()),
        (("--quantize",), ()),
        (("--compress",), ()),
        (("--compress", "--fallback"), ("--no-meshopt",)),
        (("--no-instancing",), ()),
        (("--compress", "--fallback", "--no-instancing"), ("--no-meshopt",)),
    ],
    ids=["plain", "quantized", "compressed", "fallback-without-decoder", "no-instancing", "compat-without-decoder"],
)
def test_babylon_loads_the_cells_portals_and_triangles_of_the_meta(
    babylon, tmp_path: Path, flags: tuple[str, ...], loader: tuple[str, ...]
) -> None:
    glb, meta = _build(tmp_path, *flags)
    done = _load(glb, *loader)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    seen = json.loads(done.stdout)
    visibility = meta["visibility"]
    cells = {n["extras"]["cellId"]: n for n in seen["nodes"] if n["extras"]["type"] == "cell"}
    portals = [n["extras"] for n in seen["nodes"] if n["extras"]["type"] == "portal"]
    assert sorted(cells) == sorted(meta["Meta"]["cells"]) == ["c0", "c1", "c2"]
    assert len(portals) == meta["Meta"]["portals"] == len(visibility["portals"]) == 2
    assert sorted((p["from"], p["to"]) for p in portals) == sorted((p["from"], p["to"]) for p in visibility["portals"])
    # Each thin instance draws its mesh's triangles again: together the meta's count.
    assert seen["drawn"] == meta["stats"]["triangles"]
    assert seen["thinInstances"] == (0 if "--no-instancing" in flags else COPIES)
    if "--no-instancing" not in flags:
        assert seen["triangles"] < seen["drawn"]
    # The geometry under each cell node fills the cell's box: decoded and dequantized where it should be.
    atol = 2e-3 if {"--quantize", "--compress"} & set(flags) else 1e-5
    for cell in visibility["cells"]:
        np.testing.assert_allclose(cells[cell["cellId"]]["box"], cell["aabb"], atol=atol)


def test_babylon_without_a_meshopt_decoder_refuses_the_compressed_file(babylon, tmp_path: Path) -> None:
    glb, _ = _build(tmp_path, "--compress")
    done = _load(glb, "--no-meshopt")
    assert done.returncode == 1
    assert b"Required extension EXT_meshopt_compression is not available" in done.stderr
