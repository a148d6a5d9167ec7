"""Previews of a built scene: a rendered 3D thumbnail and a floor plan (SVG, PNG). Pure: bytes in, bytes out."""

from .images import floorplan_png, floorplan_svg, thumbnail_png

__all__ = ["floorplan_png", "floorplan_svg", "thumbnail_png"]
