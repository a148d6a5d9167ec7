"""The meta JSON of a build (docs/api.md; byte ranges for streaming: docs/streaming.md).

:func:`build_meta` gives everything the compiler knows; storage adds the version number and
the time with :func:`with_version`, which places them so the keys come out in exactly the
documented order::

    ETag, Bytes, TimestampUtc, Meta, formatVersion, sceneId, version, stats, visibility, warnings

:func:`meta_digest` fingerprints what the meta says beyond the GLB (the PVS, the warnings, the
stats; not the build time). A build makes the meta once: :func:`meta_body` (everything but the
ETag, the size, the build time and the byte ranges), hashed by :func:`digest_of` for the encoder,
then completed by :func:`finish_meta` with the encoder's own streaming index (nothing re-parsed).
The encoder writes the digest into the GLB's scene extras, so two builds
whose meta differ never have the same bytes, hence never the same ETag or stored version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii as _json_string
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import Issue
from ..model.ir import SceneIR
from .meta_order import META_KEYS, with_version
from .options import FORMAT_VERSION
from .stream_index import header_bytes, read_index

if TYPE_CHECKING:
    from ..incremental import CellCache

__all__ = [
    "META_KEYS",
    "VisibilityLike",
    "body_and_digest",
    "build_meta",
    "digest_of",
    "finish_meta",
    "meta_body",
    "meta_digest",
    "with_version",
]


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


def meta_body(ir: SceneIR, visibility: VisibilityLike, warnings: Sequence[Issue]) -> dict[str, Any]:
    """The meta JSON less what depends on the GLB bytes (``ETag``, ``Bytes``, the byte ranges) or
    on the clock (``stats.buildMs``): what :func:`digest_of` hashes and :func:`finish_meta` completes.
    Built once per build (the visibility's rounding of every cell and portal is not cheap)."""
    return _body(ir, visibility.as_dict(), warnings)


def _body(ir: SceneIR, visibility: dict[str, Any], warnings: Sequence[Issue]) -> dict[str, Any]:
    stats = _stats(ir, 0)
    del stats["buildMs"]
    return {
        "Meta": {"sceneId": ir.scene_id, "cells": [c.cell_id for c in ir.cells], "portals": len(ir.portals)},
        "formatVersion": FORMAT_VERSION,
        "sceneId": ir.scene_id,
        "stats": stats,
        "visibility": visibility,
        "warnings": [issue.as_dict() for issue in warnings],
    }


def body_and_digest(
    ir: SceneIR, visibility: VisibilityLike, warnings: Sequence[Issue], cache: CellCache | None = None
) -> tuple[dict[str, Any], str]:
    """:func:`meta_body` and its :func:`digest_of`. With a cache, the ``visibility`` member's text is
    written from the visibility stage's arrays in chunks, those an earlier build of this scene
    recorded in ``cache`` taken from there (:mod:`.meta_text`), and the record of this build left
    there: the same text, hence the same digest. Without one (or when a number is not finite, or
    the PVS is not given as positions), ``json.dumps`` of the body."""
    from ..visibility.result import Visibility

    if cache is None or not isinstance(visibility, Visibility) or visibility.sets is None:
        body = meta_body(ir, visibility, warnings)
        return body, digest_of(body)
    arrays = visibility.rounded()
    body = _body(ir, visibility.dict_of(*arrays), warnings)
    if not all(np.isfinite(a).all() for a in arrays):
        return body, digest_of(body)  # which raises, as json.dumps does
    from .meta_text import visibility_text
    from .text_record import load, save, text_key

    key = text_key(ir.scene_id)
    previous = load(cache, key)
    text, record = visibility_text(visibility, *arrays, previous)
    save(cache, key, record, previous)
    parts = [_json_string(k) + ":" + (text if k == "visibility" else _sorted_json(body[k])) for k in sorted(body)]
    return body, hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()[:16]


def _sorted_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, check_circular=False
    )


def digest_of(body: dict[str, Any]) -> str:
    """16 hex characters of the SHA-256 of :func:`meta_body`'s dict (sorted keys, compact JSON).

    The JSON is strict (``allow_nan=False``): a NaN or infinity in the meta raises ``ValueError``
    here, before anything is written. The body is a tree :func:`meta_body` built, so the encoder's
    cycle check is skipped (−0.9 ms of 10.8 on office-1000's 0.7 MB; the text is the same).
    """
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, check_circular=False
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finish_meta(
    body: dict[str, Any], *, glb: bytes, etag: str, build_ms: int, index: dict[str, Any] | None
) -> dict[str, Any]:
    """The meta JSON without ``TimestampUtc`` and ``version`` (storage adds them: :func:`with_version`):
    ``body`` (:func:`meta_body`, completed in place) with ``ETag``, ``Bytes``, ``stats.buildMs`` and the
    byte ranges taken from ``index``, the streaming index the encoder wrote (``None``: none)."""
    body["stats"]["buildMs"] = int(build_ms)
    body["visibility"] = _with_ranges(body["visibility"], glb, index)
    return {"ETag": etag, "Bytes": len(glb), **body}


def build_meta(
    ir: SceneIR,
    visibility: VisibilityLike,
    *,
    glb: bytes,
    etag: str,
    warnings: Sequence[Issue],
    build_ms: int,
) -> dict[str, Any]:
    """:func:`finish_meta` of :func:`meta_body`, the byte ranges read back from ``glb``'s streaming index."""
    body = meta_body(ir, visibility, warnings)
    return finish_meta(body, glb=glb, etag=etag, build_ms=build_ms, index=read_index(glb))


def meta_digest(ir: SceneIR, visibility: VisibilityLike, warnings: Sequence[Issue]) -> str:
    """:func:`digest_of` :func:`meta_body`: what the meta says beyond the GLB bytes and the clock."""
    return digest_of(meta_body(ir, visibility, warnings))


def _with_ranges(vis: dict[str, Any], glb: bytes, index: dict[str, Any] | None) -> dict[str, Any]:
    """``vis`` plus the byte ranges of docs/streaming.md: ``headerBytes`` (GLB header, JSON chunk and
    BIN chunk header), ``indexBytes`` (the streaming index at the file's start) and each cell's
    ``bytes`` ([offset, length] in the file), from the GLB's streaming index ``index``."""
    if index is None:
        return vis
    ranges = {c[0]: [index["bin"] + c[1], c[2]] for c in index["cells"]}
    for cell in vis["cells"]:
        if cell["cellId"] in ranges:
            cell["bytes"] = ranges[cell["cellId"]]
    vis["headerBytes"] = [0, header_bytes(glb)]
    vis["indexBytes"] = [0, index["end"]]
    return vis
