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


def check_png(data: bytes, path: str) -> None:
    """:class:`AssetError` at ``path`` unless ``data`` is a PNG Pillow reads whole (``asset_too_large`` past the
    decompression-bomb bound)."""
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
