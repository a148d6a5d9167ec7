"""Summaries of built GLBs for ``sceneforge inspect``: read the glTF JSON chunk, never the geometry."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from .errors import Issue, SceneInvalid

__all__ = ["glb_json", "summarize_glb"]

GLB_MAGIC = b"glTF"
JSON_CHUNK = 0x4E4F534A


def glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a GLB 2.0 file. Raises :class:`SceneInvalid` if the container is malformed."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise SceneInvalid([Issue("", "not_glb", "not a GLB file (no glTF magic)")])
    version, length = struct.unpack_from("<II", data, 4)
    chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
    if version != 2 or length > len(data) or chunk_type != JSON_CHUNK or 20 + chunk_length > len(data):
        raise SceneInvalid([Issue("", "glb_invalid", "GLB header or JSON chunk is inconsistent")])
    try:
        doc = json.loads(data[20 : 20 + chunk_length])
    except ValueError as exc:
        raise SceneInvalid([Issue("", "glb_invalid", f"GLB JSON chunk does not parse: {exc}")]) from None
    if not isinstance(doc, dict):
        raise SceneInvalid([Issue("", "glb_invalid", "GLB JSON chunk is not an object")])
    return doc


def summarize_glb(data: bytes, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cells, portals, triangles, draw calls and (from the meta, when given) a PVS summary."""
    doc = glb_json(data)
    nodes, meshes, accessors = doc.get("nodes", []), doc.get("meshes", []), doc.get("accessors", [])
    cells = [n["extras"]["cellId"] for n in nodes if (n.get("extras") or {}).get("type") == "cell"]
    portals = [
        {"from": n["extras"]["from"], "to": n["extras"]["to"]}
        for n in nodes
        if (n.get("extras") or {}).get("type") == "portal"
    ]
    triangles = draw_calls = 0
    for node in nodes:
        if "mesh" not in node:
            continue
        instancing = (node.get("extensions") or {}).get("EXT_mesh_gpu_instancing")
        copies = 1
        if instancing:
            first = next(iter(instancing["attributes"].values()))
            copies = accessors[first]["count"]
        for prim in meshes[node["mesh"]]["primitives"]:
            draw_calls += 1
            count = (
                accessors[prim["indices"]]["count"]
                if "indices" in prim
                else accessors[prim["attributes"]["POSITION"]]["count"]
            )
            triangles += count // 3 * copies
    summary: dict[str, Any] = {
        "sceneId": ((doc.get("scenes") or [{}])[0].get("extras") or {}).get("sceneforge", {}).get("sceneId"),
        "generator": doc.get("asset", {}).get("generator"),
        "bytes": len(data),
        "cells": len(cells),
        "portals": len(portals),
        "triangles": triangles,
        "drawCalls": draw_calls,
        "extensions": sorted(doc.get("extensionsUsed", [])),
    }
    if meta is not None:
        sizes = [len(c["pvs"]) for c in meta.get("visibility", {}).get("cells", [])]
        if sizes:
            summary["pvs"] = {"mean": round(sum(sizes) / len(sizes), 2), "max": max(sizes), "min": min(sizes)}
    return summary


def read_meta_beside(glb_path: Path) -> dict[str, Any] | None:
    """``<name>.meta.json`` next to ``<name>.glb``, if present and readable."""
    meta_path = glb_path.with_name(glb_path.name.removesuffix(".glb") + ".meta.json")
    try:
        return json.loads(meta_path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None
