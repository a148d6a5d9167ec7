"""Limits and settings read from ``SCENEFORGE_*`` environment variables.

The compiler takes a :class:`Limits` value explicitly (it does no I/O); the CLI and the
service build one from the environment with :meth:`Limits.from_env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Limits"]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Limits:
    """Input limits; passing one is a ``LimitExceeded`` naming the setting."""

    #: ``SCENEFORGE_MAX_BODY_BYTES``: JSON request bodies and description files.
    max_body_bytes: int = 32 * 1024 * 1024
    #: ``SCENEFORGE_MAX_UPLOAD_BYTES``: assets (GLB, OBJ, PNG) and tagged GLB inputs.
    max_upload_bytes: int = 256 * 1024 * 1024
    #: ``SCENEFORGE_MAX_CELLS``: cells in one scene.
    max_cells: int = 20_000
    #: ``SCENEFORGE_MAX_TRIANGLES``: triangles in the built scene (generated walls included).
    max_triangles: int = 20_000_000

    @classmethod
    def from_env(cls) -> Limits:
        d = cls()
        return cls(
            max_body_bytes=_env_int("SCENEFORGE_MAX_BODY_BYTES", d.max_body_bytes),
            max_upload_bytes=_env_int("SCENEFORGE_MAX_UPLOAD_BYTES", d.max_upload_bytes),
            max_cells=_env_int("SCENEFORGE_MAX_CELLS", d.max_cells),
            max_triangles=_env_int("SCENEFORGE_MAX_TRIANGLES", d.max_triangles),
        )
