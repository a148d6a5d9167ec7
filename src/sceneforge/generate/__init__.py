"""Procedural levels for demos, tests, benchmarks and draft templates (``sceneforge generate …``).

Each generator returns a scene description as a JSON-ready dict (docs/scene-format.md),
deterministic for its parameters; :mod:`.templates` lists them with their parameter schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .apartment import generate_apartment
    from .gallery import generate_gallery
    from .grid import generate_doorway_wall, generate_grid
    from .maze import generate_maze
    from .office import generate_office
    from .spanning import random_spanning_tree
    from .turn import turned

#: Where each generator lives, loaded on first use: the server imports :mod:`.templates` (which loads a
#: generator only when a draft starts from it), and this file runs first; the generators bring numpy.
_LAZY = {
    "generate_apartment": "apartment",
    "generate_doorway_wall": "grid",
    "generate_gallery": "gallery",
    "generate_grid": "grid",
    "generate_maze": "maze",
    "generate_office": "office",
    "random_spanning_tree": "spanning",
    "turned": "turn",
}


__getattr__ = lazy_exports(__name__, _LAZY)


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
