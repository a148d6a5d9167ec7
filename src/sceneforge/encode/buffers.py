"""The binary side of a GLB: buffer views, accessors, EXT_meshopt_compression, the container.

:class:`BufferWriter` appends arrays to the BIN chunk and records their ``bufferViews`` and
``accessors``. With ``compress`` on, vertex streams and index lists go through meshoptimizer's
codecs (EXT_meshopt_compression, modes ``ATTRIBUTES`` and ``TRIANGLES``): the encoded bytes land
in buffer 0 (the BIN chunk) and the view itself points into buffer 1, a fallback buffer that
has a length but no data (``"fallback": true``), as the extension allows when it is required.
Images and instance attributes stay uncompressed in buffer 0.

Every view starts on a 4-byte boundary; the JSON chunk is padded with spaces and the BIN chunk
with zeros (glTF 2.0, GLB file format). Nothing here depends on time or memory addresses: the
same arrays in the same order give the same bytes.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ARRAY_BUFFER",
    "BYTE",
    "ELEMENT_ARRAY_BUFFER",
    "EXT_MESHOPT",
    "FLOAT",
    "SHORT",
    "UNSIGNED_INT",
    "UNSIGNED_SHORT",
    "BufferWriter",
    "glb_container",
]

EXT_MESHOPT = "EXT_meshopt_compression"
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
BYTE, SHORT, UNSIGNED_SHORT, UNSIGNED_INT, FLOAT = 5120, 5122, 5123, 5125, 5126
_COMPONENT = {
    np.dtype(np.int8): BYTE,
    np.dtype(np.int16): SHORT,
    np.dtype(np.uint16): UNSIGNED_SHORT,
    np.dtype(np.uint32): UNSIGNED_INT,
    np.dtype(np.float32): FLOAT,
}
_TYPE = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}
#: Encoder versions EXT_meshopt_compression decoders accept: vertex codec 0, index codec 1.
_VERTEX_CODEC, _INDEX_CODEC = 0, 1


def _pad4(n: int) -> int:
    return (n + 3) & ~3


class BufferWriter:
    """Collects binary data and the JSON that describes it, in call order."""

    def __init__(self, *, compress: bool) -> None:
        self.compress = compress
        self.buffer_views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []
        self._bin = bytearray()
        self._fallback_length = 0
        self.compressed_views = 0

    def _append(self, data: bytes) -> int:
        offset = _pad4(len(self._bin))
        self._bin.extend(b"\0" * (offset - len(self._bin)))
        self._bin.extend(data)
        return offset

    def _view(self, view: dict[str, Any]) -> int:
        self.buffer_views.append(view)
        return len(self.buffer_views) - 1

    def _compressed_view(self, raw_length: int, encoded: bytes, stride: int, count: int, mode: str) -> dict[str, Any]:
        fallback_offset = _pad4(self._fallback_length)
        self._fallback_length = fallback_offset + raw_length
        self.compressed_views += 1
        extension = {
            "buffer": 0,
            "byteOffset": self._append(encoded),
            "byteLength": len(encoded),
            "byteStride": stride,
            "mode": mode,
            "count": count,
        }
        return {"buffer": 1, "byteOffset": fallback_offset, "byteLength": raw_length, EXT_MESHOPT: extension}

    def vertex_view(self, rows: npt.NDArray[Any]) -> int:
        """A vertex stream: ``rows`` (n, k) with a row size that is a multiple of 4 bytes."""
        rows = np.ascontiguousarray(rows)
        stride = rows.itemsize * rows.shape[1]
        assert stride % 4 == 0 and stride <= 252, stride
        if self.compress:
            import meshoptimizer

            meshoptimizer.encode_vertex_version(_VERTEX_CODEC)
            encoded = meshoptimizer.encode_vertex_buffer(rows.view(np.uint8), rows.shape[0], stride)
            view = self._compressed_view(rows.nbytes, encoded, stride, rows.shape[0], "ATTRIBUTES")
        else:
            view = {"buffer": 0, "byteOffset": self._append(rows.tobytes()), "byteLength": rows.nbytes}
        view["byteStride"] = stride
        view["target"] = ARRAY_BUFFER
        return self._view(_with_extension_last(view))

    def index_view(self, indices: npt.NDArray[np.uint32], vertex_count: int) -> tuple[int, npt.NDArray[Any]]:
        """A triangle list; uint16 when ``vertex_count`` ≤ 65535 (65535 is reserved for restart)."""
        flat = np.ascontiguousarray(indices.reshape(-1), dtype=np.uint32)
        narrow = flat.astype(np.uint16) if vertex_count <= 0xFFFF else flat
        if self.compress:
            import meshoptimizer

            meshoptimizer.encode_index_version(_INDEX_CODEC)
            encoded = meshoptimizer.encode_index_buffer(flat, flat.size, vertex_count)
            view = self._compressed_view(narrow.nbytes, encoded, narrow.itemsize, flat.size, "TRIANGLES")
        else:
            view = {"buffer": 0, "byteOffset": self._append(narrow.tobytes()), "byteLength": narrow.nbytes}
        view["target"] = ELEMENT_ARRAY_BUFFER
        return self._view(_with_extension_last(view)), narrow

    def plain_view(self, data: bytes) -> int:
        """Uncompressed bytes in buffer 0 (an image, instance attributes)."""
        return self._view({"buffer": 0, "byteOffset": self._append(data), "byteLength": len(data)})

    def accessor(
        self,
        view: int,
        values: npt.NDArray[Any],
        components: int,
        *,
        normalized: bool = False,
        bounds: tuple[list[float], list[float]] | tuple[list[int], list[int]] | None = None,
    ) -> int:
        """An accessor over ``view``, whose elements are the first ``components`` columns of ``values``."""
        accessor: dict[str, Any] = {
            "bufferView": view,
            "componentType": _COMPONENT[values.dtype],
            "count": int(values.shape[0]),
            "type": _TYPE[components],
        }
        if normalized:
            accessor["normalized"] = True
        if bounds is not None:
            accessor["min"], accessor["max"] = bounds
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def buffers(self) -> list[dict[str, Any]]:
        """The ``buffers`` array: the BIN chunk, then the fallback buffer when anything was compressed."""
        out: list[dict[str, Any]] = []
        if self._bin:
            out.append({"byteLength": len(self._bin)})
        if self._fallback_length:
            out.append({"byteLength": self._fallback_length, "extensions": {EXT_MESHOPT: {"fallback": True}}})
        return out

    @property
    def binary(self) -> bytes:
        return bytes(self._bin)


def _with_extension_last(view: dict[str, Any]) -> dict[str, Any]:
    extension = view.pop(EXT_MESHOPT, None)
    if extension is not None:
        view["extensions"] = {EXT_MESHOPT: extension}
    return view


def glb_container(document: dict[str, Any], binary: bytes) -> bytes:
    """The GLB bytes: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded) if any."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("utf-8")
    text += b" " * (_pad4(len(text)) - len(text))
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
    if binary:
        padded = binary + b"\0" * (_pad4(len(binary)) - len(binary))
        chunks += struct.pack("<II", len(padded), 0x004E4942) + padded
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks
