"""Encode: the compiler's outputs, a deterministic GLB and the meta JSON (docs/scene-format.md)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .glb import FORMAT_VERSION, EncodeOptions, encode_glb
    from .meta import build_meta
    from .meta_order import with_version

#: Where each public name lives, loaded on first use: a module that needs one light part (storage's
#: :mod:`.meta_order`) imports this file first, and the encoder would bring numpy into every server process.
_LAZY = {
    "FORMAT_VERSION": "glb",
    "EncodeOptions": "glb",
    "encode_glb": "glb",
    "build_meta": "meta",
    "with_version": "meta_order",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["FORMAT_VERSION", "EncodeOptions", "build_meta", "encode_glb", "with_version"]
