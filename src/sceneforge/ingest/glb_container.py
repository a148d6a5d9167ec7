"""The bytes around a GLB's JSON: its container's chunks (:func:`split_chunks`) and ``data:`` URIs (:func:`data_uri`).

A GLB is a 12-byte header (magic, version 2, length) and chunks: JSON first, then an optional BIN
(glTF 2.0 §4.4). Every length is checked against the file before a chunk is cut; a malformed
container or URI is :func:`~.gltf_json.glb_error` (external URIs are refused: the data must be embedded).
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from ..glb_magic import GLB_MAGIC
from .gltf_json import glb_error

__all__ = ["data_uri", "split_chunks"]


_CHUNK_JSON = 0x4E4F534A


_CHUNK_BIN = 0x004E4942


def data_uri(uri: Any, path: str) -> bytes | None:
    if not isinstance(uri, str):
        return None
    if not uri.startswith("data:"):
        raise glb_error(path, "external URIs are not supported: embed the data in the GLB")
    if ";base64," not in uri:
        raise glb_error(path, "a data URI must hold base64 (data:<type>;base64,<data>)")
    try:
        return base64.b64decode(uri.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise glb_error(path, "data URI is not valid base64") from None


def split_chunks(data: bytes) -> tuple[bytes, bytes | None]:
    if data[:4] != GLB_MAGIC:
        raise glb_error("", "not a GLB file (no 'glTF' magic)")
    if len(data) < 12:
        raise glb_error("", f"the GLB file is {len(data)} bytes: cut short of its 12-byte header")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        raise glb_error("", f"GLB container version {version} is not supported (only 2)")
    if len(data) < 20:
        raise glb_error("", f"the GLB file is {len(data)} bytes: a 12-byte header and no chunk (no JSON)")
    if length > len(data):
        raise glb_error("", f"GLB header says {length} bytes but the file has {len(data)}: truncated")
    chunks: list[tuple[int, bytes]] = []
    offset = 12
    while offset + 8 <= length:
        size, kind = struct.unpack_from("<II", data, offset)
        if offset + 8 + size > length:
            raise glb_error("", f"GLB chunk {len(chunks)} ({size} bytes at {offset}) runs past the end of the file")
        chunks.append((kind, data[offset + 8 : offset + 8 + size]))
        offset += 8 + size
    if not chunks or chunks[0][0] != _CHUNK_JSON:
        raise glb_error("", "the first GLB chunk must be JSON")
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == _CHUNK_BIN else None
    return chunks[0][1], binary
