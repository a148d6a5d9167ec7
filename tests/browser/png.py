"""A small PNG decoder for screenshots (8-bit greyscale, RGB or RGBA, not interlaced): zlib + numpy.

Enough to check what the browser drew without an imaging library. Rows filtered with None, Sub or
Up are undone with numpy; Average and Paeth rows need the pixel to the left, so they loop in Python
over the pixels of the row (about 0.5 s for a 1000 × 800 screenshot).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

__all__ = ["decode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 6: 4}


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter_row(kind: int, row: bytearray, prior: bytearray, bpp: int) -> bytearray:
    if kind == 0:
        return row
    if kind == 2:
        return bytearray(
            ((np.frombuffer(row, np.uint8).astype(np.uint16) + np.frombuffer(prior, np.uint8)) & 0xFF)
            .astype(np.uint8)
            .tobytes()
        )
    if kind == 1:
        pixels = np.frombuffer(row, np.uint8).reshape(-1, bpp).astype(np.uint32)
        return bytearray((np.cumsum(pixels, axis=0) & 0xFF).astype(np.uint8).tobytes())
    out = bytearray(row)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        up = prior[i]
        if kind == 3:
            out[i] = (out[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            out[i] = (out[i] + _paeth(left, up, prior[i - bpp] if i >= bpp else 0)) & 0xFF
        else:
            raise ValueError(f"PNG: unknown filter type {kind}")
    return out


def decode_png(data: bytes) -> npt.NDArray[np.uint8]:
    """The pixels of a PNG as an (height, width, channels) uint8 array."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("PNG: not a PNG file")
    pos, idat = len(_SIGNATURE), bytearray()
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in _CHANNELS or interlace:
                raise ValueError(f"PNG: unsupported (depth {depth}, colour type {colour}, interlace {interlace})")
            channels = _CHANNELS[colour]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    if len(raw) != (stride + 1) * height:
        raise ValueError("PNG: image data does not match the header")
    rows, prior = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        prior = _unfilter_row(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prior, channels)
        rows.append(bytes(prior))
    return np.frombuffer(b"".join(rows), np.uint8).reshape(height, width, channels)
