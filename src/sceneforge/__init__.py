"""sceneforge: portal-culled indoor scenes, compiled to glTF with visibility data, and served.

The library's surface is the compiler::

    from sceneforge import BuildOptions, compile_scene
    result = compile_scene(open("level.json", "rb").read(), BuildOptions(compress=True))
    open(f"{result.scene_id}.glb", "wb").write(result.glb)

The service, jobs and storage live in the subpackages ``api``, ``jobs``, ``events`` and ``storage``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compile import BuildOptions, BuildResult, compile_scene, etag_of
    from .config import Limits
    from .errors import Issue, LimitExceeded, SceneforgeError, SceneInvalid

#: Where each public name lives. Loaded on first use: importing any submodule (``sceneforge.cli``
#: for ``sceneforge --help``) runs this file first, and the compiler's imports (pydantic, dataclass
#: machinery) would otherwise be paid by every command, needed or not.
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


def __getattr__(name: str) -> Any:
    """The public names on first use (``__version__`` included: importlib.metadata is slow)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sceneforge' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
