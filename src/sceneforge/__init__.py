"""sceneforge: portal-culled indoor scenes, compiled to glTF with visibility data, and served.

The library's surface is the compiler::

    from sceneforge import BuildOptions, compile_scene
    result = compile_scene(open("level.json", "rb").read(), BuildOptions(compress=True))
    open(f"{result.scene_id}.glb", "wb").write(result.glb)

The service, jobs and storage live in the subpackages ``api``, ``jobs``, ``events`` and ``storage``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .compile import BuildOptions, BuildResult, compile_scene, etag_of
from .config import Limits
from .errors import Issue, LimitExceeded, SceneforgeError, SceneInvalid

try:
    __version__ = version("sceneforge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = [
    "BuildOptions",
    "BuildResult",
    "Issue",
    "LimitExceeded",
    "Limits",
    "SceneInvalid",
    "SceneforgeError",
    "__version__",
    "compile_scene",
    "etag_of",
]
