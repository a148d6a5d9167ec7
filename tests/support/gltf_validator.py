"""Khronos glTF-Validator (npm ``gltf-validator``) as a test helper.

``validate_glb(data)`` runs ``validate_gltf.mjs`` under node on the GLB bytes and returns the
validator's report (a dict: ``issues.numErrors``, ``issues.messages`` …). ``assert_valid`` fails
a test with the error messages when the report has any error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["assert_valid", "errors_of", "validate_glb", "validator_available"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("validate_gltf.mjs")


def validator_available() -> bool:
    """True when node and ``node_modules/gltf-validator`` are installed."""
    return shutil.which("node") is not None and (ROOT / "node_modules" / "gltf-validator").is_dir()


def validate_glb(data: bytes, timeout: float = 120.0) -> dict[str, Any]:
    """Validate GLB bytes; return the validator's full report."""
    done = subprocess.run(
        ["node", str(SCRIPT)], input=data, capture_output=True, cwd=ROOT, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"gltf-validator failed: {done.stderr.decode(errors='replace')}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def errors_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of severity 0 (errors) in a report."""
    return [m for m in report["issues"]["messages"] if m["severity"] == 0]


def assert_valid(data: bytes) -> dict[str, Any]:
    """Validate and fail with the error messages when there is any error; return the report."""
    report = validate_glb(data)
    errors = errors_of(report)
    assert report["issues"]["numErrors"] == 0, json.dumps(errors[:20], indent=1)
    return report
