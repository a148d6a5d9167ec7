"""Summaries of built GLBs for ``sceneforge inspect``: read the glTF JSON chunk, never the geometry."""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path
from typing import Any, BinaryIO

from .errors import Issue, SceneInvalid
from .glb_magic import GLB_MAGIC

__all__ = ["glb_json", "read_at_most", "read_glb_json", "read_meta_beside", "summarize_glb"]

JSON_CHUNK = 0x4E4F534A


def glb_json(data: bytes, size: int | None = None) -> dict[str, Any]:
    """The JSON chunk of a GLB 2.0 file (``data``, or its start when ``size`` is the whole file's length).
    Raises :class:`SceneInvalid` if the container is malformed."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise SceneInvalid([Issue("", "not_glb", "not a GLB file (no glTF magic)")])
    version, length = struct.unpack_from("<II", data, 4)
    chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
    if (
        version != 2
        or length > (len(data) if size is None else size)
        or chunk_type != JSON_CHUNK
        or 20 + chunk_length > len(data)
    ):
        raise SceneInvalid([Issue("", "glb_invalid", "GLB header or JSON chunk is inconsistent")])
    try:
        doc = json.loads(data[20 : 20 + chunk_length])
    except ValueError as exc:
        raise SceneInvalid([Issue("", "glb_invalid", f"GLB JSON chunk does not parse: {exc}")]) from None
    if not isinstance(doc, dict):
        raise SceneInvalid([Issue("", "glb_invalid", "GLB JSON chunk is not an object")])
    return doc


#: The most bytes :func:`read_at_most` asks for at once.
READ_STEP = 1 << 20


def read_at_most(fh: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``fh``, read in steps: one read of ``limit`` bytes is allocated whole
    first (a limit past memory fails, one past an index overflows), and a device or pipe has no size to
    ask for instead. The steps cost nothing against a file's own size: its bytes are read directly."""
    size = os.fstat(fh.fileno())
    if stat.S_ISREG(size.st_mode):
        return fh.read(max(0, min(limit, size.st_size - fh.tell() + 1)))
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = fh.read(min(READ_STEP, limit - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_glb_json(path: Path, max_bytes: int) -> tuple[bytes, int]:
    """The 20-byte header and JSON chunk of the GLB at ``path`` (no more: a file of any size, or an endless
    stream, is read that far only), and the file's size (the header's length for what is not a file).

    Raises :class:`OSError` when it cannot be read, :class:`SceneInvalid` for a JSON chunk past ``max_bytes``.
    """
    with path.open("rb") as fh:
        head = fh.read(20)
        if len(head) < 20 or head[:4] != GLB_MAGIC:
            return head, len(head)
        chunk_length = struct.unpack_from("<I", head, 12)[0]
        if chunk_length > max_bytes:
            message = (
                f"the GLB JSON chunk is {chunk_length:,} bytes, more than SCENEFORGE_MAX_UPLOAD_BYTES ({max_bytes:,})"
            )
            raise SceneInvalid([Issue("", "glb_invalid", message)])
        data = head + read_at_most(fh, chunk_length)
        size = os.fstat(fh.fileno())
    return data, size.st_size if stat.S_ISREG(size.st_mode) else struct.unpack_from("<I", head, 8)[0]


def summarize_glb(data: bytes, meta: dict[str, Any] | None = None, size: int | None = None) -> dict[str, Any]:
    """Cells, portals, triangles, draw calls and (from the meta, when given) a PVS summary.

    ``data`` is the GLB, or its header and JSON chunk alone with ``size`` its whole length. JSON of
    another shape than sceneforge writes raises :class:`SceneInvalid` naming the place (``/nodes/3``).
    """
    doc = glb_json(data, size)
    where = "/nodes"
    try:
        nodes, meshes, accessors = doc.get("nodes", []), doc.get("meshes", []), doc.get("accessors", [])
        if not isinstance(nodes, list):
            raise TypeError("not a list")
        cells: list[Any] = []
        portals: list[Any] = []
        triangles = draw_calls = 0
        for index, node in enumerate(nodes):
            where = f"/nodes/{index}"
            extras = node.get("extras") or {}
            if extras.get("type") == "cell":
                cells.append(extras["cellId"])
            elif extras.get("type") == "portal":
                portals.append({"from": extras["from"], "to": extras["to"]})
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
        where = ""
        summary: dict[str, Any] = {
            "sceneId": ((doc.get("scenes") or [{}])[0].get("extras") or {}).get("sceneforge", {}).get("sceneId"),
            "generator": doc.get("asset", {}).get("generator"),
            "bytes": len(data) if size is None else size,
            "cells": len(cells),
            "portals": len(portals),
            "triangles": triangles,
            "drawCalls": draw_calls,
            "extensions": sorted(doc.get("extensionsUsed", [])),
        }
        json.dumps(summary, allow_nan=False)  # strict JSON out: every value is one of the file's own
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, StopIteration) as exc:
        what = f"no {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise SceneInvalid([Issue(where, "glb_invalid", f"GLB JSON not as sceneforge writes it: {what}")]) from None
    if meta is not None:
        summary |= pvs_summary(meta)
    return summary


def pvs_summary(meta: Any) -> dict[str, Any]:
    """``{"pvs": {mean, max, min}}`` of a meta's visibility (``{}`` when it has none); ValueError when
    ``meta`` is not a meta."""
    try:
        sizes = [len(c["pvs"]) for c in meta.get("visibility", {}).get("cells", [])]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a sceneforge meta: {exc}") from None
    if not sizes:
        return {}
    return {"pvs": {"mean": round(sum(sizes) / len(sizes), 2), "max": max(sizes), "min": min(sizes)}}


def meta_path_beside(glb_path: Path) -> Path:
    """``<name>.meta.json`` next to ``<name>.glb``."""
    return glb_path.with_name(glb_path.name.removesuffix(".glb") + ".meta.json")


def read_meta_beside(glb_path: Path, max_bytes: int) -> dict[str, Any] | None:
    """``<name>.meta.json`` next to ``<name>.glb``: None when there is none; ValueError (saying why) when it
    cannot be read, is larger than ``max_bytes``, is not a regular file, or is not a meta.

    Nobody named the file: it is opened without blocking and read only when it is a regular file, so a pipe
    (or a device) of that name is left out instead of holding the command forever for a writer."""
    path = meta_path_beside(glb_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError("not a regular file")
    os.set_blocking(fd, True)
    try:
        with os.fdopen(fd, "rb") as fh:
            data = read_at_most(fh, max_bytes + 1)
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    if len(data) > max_bytes:
        raise ValueError(f"larger than SCENEFORGE_MAX_UPLOAD_BYTES ({max_bytes:,} bytes)")
    from .jsontext import loads  # numpy: imported only when there is a meta to read

    meta = loads(data)
    pvs_summary(meta)
    return meta  # type: ignore[no-any-return]
