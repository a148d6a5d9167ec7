"""Previews of a built scene: a rendered 3D thumbnail and a floor plan (SVG, PNG). Pure: bytes in, bytes out."""

from .images import floorplan_png, floorplan_svg, thumbnail_png
from .views import Prepared, prepare

__all__ = ["Prepared", "floorplan_png", "floorplan_svg", "prepare", "thumbnail_png"]
