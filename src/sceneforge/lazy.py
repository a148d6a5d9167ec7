"""Package attributes loaded on first use (PEP 562): a package ``__init__`` that names where each public name
lives instead of importing it, so that importing one light submodule does not load the package's heavy ones.

``__getattr__ = lazy_exports(__name__, {"name": "submodule", ...})`` in the ``__init__``; the names stay in its
``__all__`` and, for type checkers, in an ``if TYPE_CHECKING:`` import block.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``where[name]`` is the submodule holding ``name``, imported on
    the first use of the name, which is then kept in the package's namespace (later uses are plain lookups)."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
