"""The project's node tools (``package.json``, installed by ``npm ci``) as test helpers.

``require_node_module(name)`` is the installed package's folder: without node or the package the
test skips with the reason, except under ``CI=true`` (CI runs ``make install``), where it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

__all__ = ["NODE_MODULES", "require_node_module"]

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"


def require_node_module(name: str) -> Path:
    """``node_modules/<name>``; skip (fail under ``CI=true``) when it or node is not installed."""
    folder = NODE_MODULES / name
    if shutil.which("node") is not None and (folder / "package.json").is_file():
        return folder
    reason = f"node and node_modules/{name} are not installed (npm ci, or make install)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
