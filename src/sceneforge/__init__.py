"""sceneforge: portal-culled indoor scenes, compiled to glTF with visibility data, and served.

The library's surface is the compiler::

    from sceneforge import BuildOptions, compile_scene
    result = compile_scene(open("level.json", "rb").read(), BuildOptions(compress=True))
    open(f"{result.scene_id}.glb", "wb").write(result.glb)

The service, jobs and storage live in the subpackages ``api``, ``jobs``, ``events`` and ``storage``.
"""

from __future__ import annotations

from typing import Any

from .compile import BuildOptions, BuildResult, compile_scene, etag_of
from .config import Limits
from .errors import Issue, LimitExceeded, SceneforgeError, SceneInvalid


def __getattr__(name: str) -> Any:
    """``__version__`` on first use: importlib.metadata costs more than the CLI's whole start-up budget."""
    if name != "__version__":
        raise AttributeError(f"module 'sceneforge' has no attribute {name!r}")
    from .version import __version__

    globals()["__version__"] = __version__
    return __version__


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
