"""Procedural levels for demos, tests, benchmarks and draft templates (``sceneforge generate …``).

Each generator returns a scene description as a JSON-ready dict (docs/scene-format.md),
deterministic for its parameters; :mod:`.templates` lists them with their parameter schemas.
"""

from __future__ import annotations

from .apartment import generate_apartment
from .gallery import generate_gallery
from .grid import generate_doorway_wall, generate_grid
from .maze import generate_maze
from .office import generate_office
from .spanning import random_spanning_tree
from .turn import turned

__all__ = [
    "generate_apartment",
    "generate_doorway_wall",
    "generate_gallery",
    "generate_grid",
    "generate_maze",
    "generate_office",
    "random_spanning_tree",
    "turned",
]
