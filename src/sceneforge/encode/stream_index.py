"""The streaming index: what a client needs to draw cells from byte ranges of the GLB (docs/streaming.md).

The index is the first member of the GLB's JSON document, ``extras.sceneforgeIndex``, so the
first bytes of the file hold it and a client reads it without the rest of the JSON chunk (which
grows with every node and accessor: a fifth of the file on a 1,000-cell building). The JSON text
starts with exactly :data:`PREFIX`; then ``"end":`` and ``"bin":`` are written right-aligned in
:data:`WIDTH` characters (JSON allows the leading spaces), so a client finds where the index ends
(``end``, a file offset) and where the BIN chunk's data starts (``bin``) at fixed positions of
the file, before the index is even complete.

:func:`patch_offsets` fills both numbers into the serialized document (:func:`patch_offsets_joined`
into the index text as it is joined to the rest of the document); :func:`read_index` parses
the index back out of GLB bytes (the meta JSON's byte ranges come from it). Everything is pure
and O(cells + portals + PVS entries).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PassError

__all__ = [
    "INDEX_VERSION",
    "PREFIX",
    "WIDTH",
    "encode_pvs",
    "encode_pvs_flat",
    "header_bytes",
    "index_offsets",
    "patch_offsets",
    "patch_offsets_joined",
    "placeholder",
    "read_index",
]

INDEX_VERSION = 1
#: The JSON chunk's text starts with these bytes, then the ``end`` number.
PREFIX = b'{"extras":{"sceneforgeIndex":{"end":'
#: Characters of the ``end`` and ``bin`` numbers (right-aligned, space-padded).
WIDTH = 12
_GLB_HEADER = 12
_CHUNK_HEADER = 8
_PLACEHOLDER_END: int = int(10**WIDTH) - 1
_PLACEHOLDER_BIN: int = int(10**WIDTH) - 2


def placeholder(name: str) -> int:
    """The number written for ``end`` or ``bin`` before :func:`patch_offsets` replaces it."""
    return _PLACEHOLDER_END if name == "end" else _PLACEHOLDER_BIN


def _varints(values: np.ndarray) -> bytes:
    """LEB128 (7 bits a byte, low first) of non-negative integers, vectorized over ``values``."""
    v = np.asarray(values, np.uint64)
    if v.size == 0:
        return b""
    nbytes = np.ones(v.shape[0], np.int64)
    largest = int(v.max())
    for k in range(1, 10):
        if largest < 1 << (7 * k):  # no value has a byte k (or any later one)
            break
        nbytes += v >= np.uint64(1) << np.uint64(7 * k)
    out = np.zeros(int(nbytes.sum()), np.uint8)
    first = np.zeros(v.shape[0], np.int64)
    np.cumsum(nbytes[:-1], out=first[1:])
    for k in range(int(nbytes.max())):
        has = nbytes > k
        byte = (v[has] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[has] > k + 1).astype(np.uint8) << 7
        out[first[has] + k] = byte.astype(np.uint8) | more
    return out.tobytes()


def encode_pvs(pvs: Sequence[Sequence[int] | npt.NDArray[np.int64]]) -> str:
    """Every cell's PVS (sorted cell indices) as base64 of LEB128 varints: per cell its count,
    then the first index and the gaps between consecutive ones."""
    counts = np.array([len(p) for p in pvs], np.int64)
    flat = (
        np.concatenate([np.asarray(p, np.int64) for p in pvs]) if len(pvs) and counts.sum() else np.zeros(0, np.int64)
    )
    return encode_pvs_flat(flat, counts)


def encode_pvs_flat(flat: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> str:
    """:func:`encode_pvs` of the sets given back to back: ``counts[i]`` indices of ``flat`` for cell ``i``."""
    gaps = flat.copy()
    if flat.size:
        gaps[1:] -= flat[:-1]
        starts = np.zeros(counts.shape[0], np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        firsts = starts[counts > 0]
        gaps[firsts] = flat[firsts]
    if (gaps < 0).any():
        raise PassError("encode", "a PVS is not sorted by cell index")
    # Interleave: count of cell i, then its gaps.
    seq = np.empty(counts.shape[0] + flat.shape[0], np.int64)
    slot = np.arange(counts.shape[0]) + np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    seq[slot] = counts
    mask = np.ones(seq.shape[0], bool)
    mask[slot] = False
    seq[mask] = gaps
    return base64.b64encode(_varints(seq)).decode("ascii")


def patch_offsets(text: bytes, index_length: int) -> bytes:
    """Write ``end`` and ``bin`` into the serialized document ``text`` (its index serialized in
    ``index_length`` bytes right after ``{"extras":{"sceneforgeIndex":``), without moving a byte."""
    if not text.startswith(PREFIX):
        raise PassError("encode", "the JSON document does not start with the streaming index")
    end, bin_start = index_offsets(len(text), index_length)
    out = text
    for name, value in (("end", end), ("bin", bin_start)):
        old = f'"{name}":{placeholder(name)}'.encode()
        new = f'"{name}":{value:>{WIDTH}d}'.encode()
        assert len(old) == len(new) and out.count(old) == 1, name
        out = out.replace(old, new, 1)
    return out


def patch_offsets_joined(head: bytes, text: bytes, skip: int, index_length: int) -> bytes:
    """:func:`patch_offsets` of ``head + text[skip:]``, whose numbers are in ``head`` (the index,
    serialized ahead of the rest of the document): ``head`` patched, then joined with ``text``,
    which is copied once (not sliced, concatenated and rewritten twice)."""
    if not head.startswith(PREFIX):
        raise PassError("encode", "the JSON document does not start with the streaming index")
    end, bin_start = index_offsets(len(head) + len(text) - skip, index_length)
    for name, value in (("end", end), ("bin", bin_start)):
        old = f'"{name}":{placeholder(name)}'.encode()
        new = f'"{name}":{value:>{WIDTH}d}'.encode()
        assert len(old) == len(new) and head.count(old) == 1 and text.find(old, skip) < 0, name
        head = head.replace(old, new, 1)
    return b"".join([head, memoryview(text)[skip:]])


def index_offsets(text_length: int, index_length: int) -> tuple[int, int]:
    """(``end``, ``bin``) of a document serialized in ``text_length`` bytes whose index takes
    ``index_length`` bytes: where the index ends in the file, where the BIN chunk's data starts."""
    padded = (text_length + 3) & ~3
    bin_start = _GLB_HEADER + _CHUNK_HEADER + padded + _CHUNK_HEADER
    end = _GLB_HEADER + _CHUNK_HEADER + len(PREFIX) - len(b'{"end":') + index_length
    return end, bin_start


def header_bytes(glb: bytes | bytearray) -> int:
    """Bytes before the BIN chunk's data: GLB header, JSON chunk, BIN chunk header (or the file)."""
    if len(glb) < _GLB_HEADER + _CHUNK_HEADER:
        raise PassError("encode", f"a GLB of {len(glb)} bytes has no JSON chunk")
    json_length = int(struct.unpack_from("<I", glb, _GLB_HEADER)[0])
    return min(len(glb), _GLB_HEADER + _CHUNK_HEADER + json_length + _CHUNK_HEADER)


def read_index(glb: bytes | bytearray) -> dict[str, Any] | None:
    """The streaming index of GLB bytes written by this encoder, or ``None`` when it has none."""
    start = _GLB_HEADER + _CHUNK_HEADER
    if bytes(glb[start : start + len(PREFIX)]) != PREFIX:
        return None
    digits = bytes(glb[start + len(PREFIX) : start + len(PREFIX) + WIDTH])
    end = int(digits.decode("ascii"))
    body = bytes(glb[start + len(PREFIX) - len(b'{"end":') : end])
    index: dict[str, Any] = json.loads(body)
    return index
