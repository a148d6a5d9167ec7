"""Exports of a built scene for other platforms: USDZ (AR viewers, USD tools) and OBJ (a zip with its MTL)."""

from .obj import to_obj_zip
from .usdz import to_usdz, validation_errors

__all__ = ["to_obj_zip", "to_usdz", "validation_errors"]
