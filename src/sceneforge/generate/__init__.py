"""Procedural levels for demos, tests and benchmarks (``sceneforge generate maze|apartment``).

Each generator returns a scene description as a JSON-ready dict in the DESIGN §2 wire format,
deterministic for its ``(cells, seed)``.
"""

from __future__ import annotations

from .apartment import generate_apartment
from .maze import generate_maze
from .spanning import random_spanning_tree

__all__ = ["generate_apartment", "generate_maze", "random_spanning_tree"]
