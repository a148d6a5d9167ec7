"""A small GLB reader for tests: the JSON, the BIN chunk, and accessor arrays (meshopt-aware)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Glb", "read_glb", "triangle_set"]

_DTYPE = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


@dataclass
class Glb:
    json: dict[str, Any]
    bin: bytes

    def node(self, name: str) -> dict[str, Any]:
        return next(n for n in self.json["nodes"] if n.get("name") == name)

    def view_bytes(self, index: int) -> bytes:
        """The uncompressed bytes of buffer view ``index`` (decoding EXT_meshopt_compression)."""
        import meshoptimizer

        view = self.json["bufferViews"][index]
        ext = view.get("extensions", {}).get("EXT_meshopt_compression")
        if ext is None:
            assert view["buffer"] == 0
            return self.bin[view.get("byteOffset", 0) : view.get("byteOffset", 0) + view["byteLength"]]
        assert ext["buffer"] == 0
        data = self.bin[ext["byteOffset"] : ext["byteOffset"] + ext["byteLength"]]
        if ext["mode"] == "ATTRIBUTES":
            decoded = meshoptimizer.decode_vertex_buffer(ext["count"], ext["byteStride"], data)
            filter_ = ext.get("filter", "NONE")
            if filter_ == "OCTAHEDRAL":
                raw = np.frombuffer(decoded.tobytes(), dtype=np.uint8).copy()
                decoded = meshoptimizer.decode_filter_oct(raw, ext["count"], ext["byteStride"])
            else:
                assert filter_ == "NONE", filter_
            return np.asarray(decoded).tobytes()
        assert ext["mode"] == "TRIANGLES"
        decoded = meshoptimizer.decode_index_buffer(ext["count"], ext["byteStride"], data)
        # The wrapper decodes into a uint32 array whatever the index size: 2-byte indices come packed.
        return decoded.view(np.uint8)[: ext["count"] * ext["byteStride"]].tobytes()

    def accessor(self, index: int, *, dequantize: bool = True) -> np.ndarray:
        acc = self.json["accessors"][index]
        view = self.json["bufferViews"][acc["bufferView"]]
        dtype = np.dtype(_DTYPE[acc["componentType"]])
        width = _WIDTH[acc["type"]]
        stride = view.get("byteStride", dtype.itemsize * width)
        raw = np.frombuffer(self.view_bytes(acc["bufferView"]), dtype=np.uint8)
        rows = raw[acc.get("byteOffset", 0) :][: acc["count"] * stride].reshape(acc["count"], stride)
        values = rows[:, : dtype.itemsize * width].copy().view(dtype).reshape(acc["count"], width)
        if acc.get("normalized") and dequantize:
            return np.maximum(values / np.iinfo(dtype).max, -1.0)
        return values if width > 1 else values.reshape(-1)


def read_glb(data: bytes) -> Glb:
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_kind = struct.unpack_from("<II", data, 12)
    assert json_kind == 0x4E4F534A and json_length % 4 == 0
    document = json.loads(data[20 : 20 + json_length])
    binary = b""
    if 20 + json_length < len(data):
        bin_length, bin_kind = struct.unpack_from("<II", data, 20 + json_length)
        assert bin_kind == 0x004E4942 and bin_length % 4 == 0
        binary = data[28 + json_length : 28 + json_length + bin_length]
    return Glb(document, binary)


def triangle_set(positions: np.ndarray, indices: np.ndarray, decimals: int = 5) -> list[tuple[float, ...]]:
    """Triangles as a sorted list of 9-tuples, each rotated to start at its smallest corner (winding kept);
    those that draw nothing (two corners alike, or all three on one line) left out."""
    out = []
    for tri in np.asarray(indices).reshape(-1, 3):
        corners = [tuple(np.round(positions[i].astype(np.float64), decimals) + 0.0) for i in tri]
        if len(set(corners)) < 3:
            continue
        p, q, r = (positions[i].astype(np.float64) for i in tri)
        if not np.cross(q - p, r - p).any():  # corners on one line: draws nothing, as weld drops it
            continue
        start = corners.index(min(corners))
        rotated = corners[start:] + corners[:start]
        out.append(tuple(v for c in rotated for v in c))
    return sorted(out)
