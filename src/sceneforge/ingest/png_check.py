"""Whether PNG bytes are a readable image: every chunk and its CRC up to ``IEND``, and a size within Pillow's
decompression-bomb bound (``Image.MAX_IMAGE_PIXELS``). A leaf: PNG assets (:mod:`.assets`) and the PNG
textures embedded in a GLB (:mod:`.gltf_read`) are checked alike."""

from __future__ import annotations

import io
import struct
import warnings

from ..errors import DECODE_ERRORS, AssetError

__all__ = ["check_png"]

#: The whole ``IEND`` chunk: length 0, type, CRC. Pillow stops at its type and reads no further, so a file cut
#: within its last 8 bytes read as whole.
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: Most chunks a PNG may hold. Pillow checks each in Python (~2.4 µs): a file of empty chunks took 0.21 s a MiB,
#: a minute at the upload limit, while a real image has a few thousand (libpng's 8 KiB IDAT chunks: 32,768 at
#: 256 MiB). Counted from the chunks' lengths first (~0.3 µs each), so such a file is refused in milliseconds.
MAX_PNG_CHUNKS = 1 << 17


def check_png(data: bytes, path: str) -> None:
    """:class:`AssetError` at ``path`` unless ``data`` is a PNG Pillow reads whole (``asset_too_large`` past the
    decompression-bomb bound)."""
    if _chunks_to_iend(data) > MAX_PNG_CHUNKS:
        message = f"the PNG holds more than {MAX_PNG_CHUNKS:,} chunks (an image has a few thousand at most)"
        raise AssetError(path, message, code="asset_too_large")
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                image.verify()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise AssetError(path, f"the PNG is too large to decode: {exc}", code="asset_too_large") from None
        except UnidentifiedImageError:
            raise AssetError(path, "the PNG does not decode: its header (IHDR) is not a PNG image header") from None
        except (OSError, SyntaxError, EOFError, struct.error, *DECODE_ERRORS) as exc:
            raise AssetError(path, f"the PNG does not decode: {exc}") from None
    if _IEND not in data:
        raise AssetError(path, "the PNG does not decode: it is cut short (its IEND chunk is not whole)")


def _chunks_to_iend(data: bytes) -> int:
    """The chunks before ``IEND`` as their lengths lay them out, counted up to one past :data:`MAX_PNG_CHUNKS` (a
    length past the end stops the count: Pillow says what is wrong with it)."""
    unpack, end, at, count = struct.unpack_from, len(data) - 8, 8, 0
    while at <= end and count <= MAX_PNG_CHUNKS:
        length, kind = unpack(">I4s", data, at)
        if kind == b"IEND":
            break
        at += 12 + length
        count += 1
    return count
