"""The meta JSON of a build (docs/api.md; byte ranges for streaming: docs/streaming.md).

:func:`build_meta` gives everything the compiler knows; storage adds the version number and
the time with :func:`with_version`, which places them so the keys come out in exactly the
documented order::

    ETag, Bytes, TimestampUtc, Meta, formatVersion, sceneId, version, stats, visibility, warnings

:func:`meta_digest` fingerprints what the meta says beyond the GLB (the PVS, the warnings, the
stats; not the build time). The encoder writes it into the GLB's scene extras, so two builds
whose meta differ never have the same bytes, hence never the same ETag or stored version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import Issue
from ..model.ir import SceneIR
from .glb import FORMAT_VERSION
from .stream_index import header_bytes, read_index

__all__ = ["META_KEYS", "VisibilityLike", "build_meta", "meta_digest", "with_version"]

#: The documented key order of the meta JSON.
META_KEYS = (
    "ETag",
    "Bytes",
    "TimestampUtc",
    "Meta",
    "formatVersion",
    "sceneId",
    "version",
    "stats",
    "visibility",
    "warnings",
)


class VisibilityLike(Protocol):
    """What meta needs of the visibility stage's result."""

    def as_dict(self) -> dict[str, Any]: ...


def _stats(ir: SceneIR, build_ms: int) -> dict[str, int]:
    triangles = vertices = draw_calls = 0
    for cell in ir.cells:
        for surface in cell.surfaces:
            if surface.triangle_count:
                triangles += surface.triangle_count
                vertices += surface.vertex_count
                draw_calls += 1
        for group in cell.instances:
            # An instanced primitive is one draw call however many copies it draws; its triangles
            # and vertices are counted once per copy, as the GPU processes them.
            copies = int(group.transforms.reshape(-1, 4, 4).shape[0])
            for surface in group.surfaces:
                if surface.triangle_count and copies:
                    triangles += surface.triangle_count * copies
                    vertices += surface.vertex_count * copies
                    draw_calls += 1
    return {"triangles": triangles, "vertices": vertices, "drawCalls": draw_calls, "buildMs": int(build_ms)}


def build_meta(
    ir: SceneIR,
    visibility: VisibilityLike,
    *,
    glb: bytes,
    etag: str,
    warnings: Sequence[Issue],
    build_ms: int,
) -> dict[str, Any]:
    """The meta JSON without ``TimestampUtc`` and ``version`` (storage adds them: :func:`with_version`)."""
    return {
        "ETag": etag,
        "Bytes": len(glb),
        "Meta": {"sceneId": ir.scene_id, "cells": [c.cell_id for c in ir.cells], "portals": len(ir.portals)},
        "formatVersion": FORMAT_VERSION,
        "sceneId": ir.scene_id,
        "stats": _stats(ir, build_ms),
        "visibility": _with_ranges(visibility.as_dict(), glb),
        "warnings": [issue.as_dict() for issue in warnings],
    }


def meta_digest(ir: SceneIR, visibility: VisibilityLike, warnings: Sequence[Issue]) -> str:
    """16 hex characters of the SHA-256 of the meta :func:`build_meta` gives, less what depends on
    the GLB bytes (``ETag``, ``Bytes``) or on the clock (``stats.buildMs``).

    The JSON is strict (``allow_nan=False``): a NaN or infinity in the meta raises ``ValueError``
    here, before anything is written.
    """
    meta = build_meta(ir, visibility, glb=b"", etag="", warnings=warnings, build_ms=0)
    for key in ("ETag", "Bytes"):
        del meta[key]
    del meta["stats"]["buildMs"]
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _with_ranges(vis: dict[str, Any], glb: bytes) -> dict[str, Any]:
    """``vis`` plus the byte ranges of docs/streaming.md: ``headerBytes`` (GLB header, JSON chunk and
    BIN chunk header), ``indexBytes`` (the streaming index at the file's start) and each cell's
    ``bytes`` ([offset, length] in the file), read from the GLB's streaming index."""
    index = read_index(glb)
    if index is None:
        return vis
    ranges = {c[0]: [index["bin"] + c[1], c[2]] for c in index["cells"]}
    for cell in vis["cells"]:
        if cell["cellId"] in ranges:
            cell["bytes"] = ranges[cell["cellId"]]
    vis["headerBytes"] = [0, header_bytes(glb)]
    vis["indexBytes"] = [0, index["end"]]
    return vis


def with_version(meta: dict[str, Any], version: int, timestamp_utc: str) -> dict[str, Any]:
    """A new meta dict with ``TimestampUtc`` and ``version`` set, keys in the documented order.

    Keys outside :data:`META_KEYS` (none today) keep their relative order after the known ones.
    """
    merged = {**meta, "TimestampUtc": timestamp_utc, "version": int(version)}
    ordered = {key: merged[key] for key in META_KEYS if key in merged}
    ordered.update((key, value) for key, value in merged.items() if key not in ordered)
    return ordered
