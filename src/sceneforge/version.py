"""The installed distribution's version (``0.0.0`` in a source tree without an install); a leaf module."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("sceneforge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
