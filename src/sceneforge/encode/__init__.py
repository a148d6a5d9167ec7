"""Encode: the compiler's outputs, a deterministic GLB and the meta JSON (docs/scene-format.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .glb import encode_glb
    from .meta import build_meta
    from .meta_order import with_version
    from .options import FORMAT_VERSION, EncodeOptions

#: Where each public name lives, loaded on first use: a module that needs one light part (storage's
#: :mod:`.meta_order`) imports this file first, and the encoder would bring numpy into every server process.
_LAZY = {
    "FORMAT_VERSION": "options",
    "EncodeOptions": "options",
    "encode_glb": "glb",
    "build_meta": "meta",
    "with_version": "meta_order",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["FORMAT_VERSION", "EncodeOptions", "build_meta", "encode_glb", "with_version"]
