"""sceneforge: portal-culled indoor scenes, compiled to glTF with visibility data, and served.

The library's surface is the compiler::

    from sceneforge import BuildOptions, compile_scene
    result = compile_scene(open("level.json", "rb").read(), BuildOptions(compress=True))
    open(f"{result.scene_id}.glb", "wb").write(result.glb)

The service, jobs and storage live in the subpackages ``api``, ``jobs``, ``events`` and ``storage``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .compile import BuildOptions, BuildResult, compile_scene, etag_of
    from .config import Limits
    from .errors import Issue, LimitExceeded, SceneforgeError, SceneInvalid

#: Where each public name lives. Loaded on first use: importing any submodule (``sceneforge.cli``
#: for ``sceneforge --help``) runs this file first, and the compiler's imports (pydantic, dataclass
#: machinery) would otherwise be paid by every command, needed or not; ``__version__`` too (importlib.metadata
#: is slow).
_LAZY = {
    "BuildOptions": "compile",
    "BuildResult": "compile",
    "compile_scene": "compile",
    "etag_of": "compile",
    "Limits": "config",
    "Issue": "errors",
    "LimitExceeded": "errors",
    "SceneforgeError": "errors",
    "SceneInvalid": "errors",
    "__version__": "version",
}


__getattr__ = lazy_exports(__name__, _LAZY)


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
