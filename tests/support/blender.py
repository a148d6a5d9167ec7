"""Debian's Blender (3.4), headless, as a test helper: run a bpy script, import and export GLBs.

``run_blender(script, *args)`` runs ``blender -b --factory-startup`` on ``script`` (Python source)
with ``args`` after ``--``; a Python error in the script fails the run (``--python-exit-code``).
Every script starts with ``np.bool = np.bool_``: Blender 3.4's glTF add-on still uses ``np.bool``,
which numpy 1.24 (Debian 12) removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["blender_available", "needs_blender", "reexport", "reexport_many", "run_blender"]

_PRELUDE = "import numpy as np\nnp.bool = np.bool_\nimport sys, bpy\nARGS = sys.argv[sys.argv.index('--') + 1 :]\n"

_REEXPORT = """
for source, target in zip(ARGS[0::2], ARGS[1::2]):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=source)
    bpy.ops.export_scene.gltf(filepath=target, export_format="GLB", export_extras=True)
"""


def blender_available() -> bool:
    return shutil.which("blender") is not None


def needs_blender() -> None:
    """Skip without Blender; with CI=true fail instead (CI installs it: .ci/run)."""
    if blender_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("blender is not installed (apt-get install blender python3-numpy)")
    pytest.skip("blender is not installed (apt-get install blender python3-numpy)")


def run_blender(script: str, *args: str, timeout: float = 180.0) -> str:
    """Run ``script`` in Blender; return its output. Fails the test when Blender or the script fails."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.py"
        path.write_text(_PRELUDE + script)
        done = subprocess.run(
            ["blender", "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(path), "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def reexport(glb: bytes, tmp: Path) -> bytes:
    """``glb`` imported into Blender and exported again as GLB with custom properties (extras)."""
    source, target = tmp / "in.glb", tmp / "out.glb"
    source.write_bytes(glb)
    run_blender(_REEXPORT, str(source), str(target))
    return target.read_bytes()


def reexport_many(glbs: list[bytes], tmp: Path) -> list[bytes]:
    """Each of ``glbs`` imported into Blender and exported again (as :func:`reexport`), all in one Blender run."""
    pairs = [(tmp / f"in{k}.glb", tmp / f"out{k}.glb") for k in range(len(glbs))]
    for (source, _), glb in zip(pairs, glbs, strict=True):
        source.write_bytes(glb)
    run_blender(_REEXPORT, *(str(path) for pair in pairs for path in pair), timeout=60.0 * (1 + len(glbs)))
    return [target.read_bytes() for _, target in pairs]
