"""Build step: the JS runtime (``clients/js``) goes into the wheel as ``sceneforge/studio/runtime``.

Everything else is declared in ``pyproject.toml``. The studio's three.js / three-mesh-bvh files are
committed under ``src/sceneforge/studio/vendor`` (``tools/vendor_js.py``), so no npm is needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RUNTIME = Path(__file__).resolve().parent / "clients" / "js"


class BuildPyWithRuntime(build_py):  # type: ignore[misc]
    """``build_py`` that also copies the JS runtime's modules into the package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "sceneforge" / "studio" / "runtime"
        files = [RUNTIME / "index.js", RUNTIME / "package.json", *sorted(RUNTIME.glob("core/*.js")), *sorted(RUNTIME.glob("utils/*.js"))]
        for source in files:
            dest = target / source.relative_to(RUNTIME)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)


setup(cmdclass={"build_py": BuildPyWithRuntime})
