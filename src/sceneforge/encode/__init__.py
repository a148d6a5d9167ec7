"""Encode: the compiler's outputs, a deterministic GLB and the meta JSON (docs/scene-format.md)."""

from __future__ import annotations

from .glb import FORMAT_VERSION, EncodeOptions, encode_glb
from .meta import build_meta, with_version

__all__ = ["FORMAT_VERSION", "EncodeOptions", "build_meta", "encode_glb", "with_version"]
