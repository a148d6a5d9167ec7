"""Procedural geometry: room shells with doorways cut at portals, and door placement.

``generate_rooms`` is the compiler's geometry stage; ``place_door`` resolves docs/scene-format.md's
``between`` + ``door`` portals for ingest.
"""

from __future__ import annotations

from .bounds import cell_boxes
from .doors import door_cutters, place_door, scene_door_cutters
from .rooms import generate_rooms, room_shell
from .shading import flat_shade, world_uvs

__all__ = [
    "cell_boxes",
    "door_cutters",
    "flat_shade",
    "generate_rooms",
    "place_door",
    "room_shell",
    "scene_door_cutters",
    "world_uvs",
]
