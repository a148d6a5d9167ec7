"""Semantic validation: the rules the wire schema cannot express.

Two entry points, run by the compiler at two moments:

* :func:`validate_description` before lowering: ids (unknown, duplicate), portal quads
  (degenerate, non-planar, non-convex, self-intersecting), floor polygons, the limits on
  cells, portals, portals of a cell, instance groups, materials and floor points, and the warnings that need
  only the graph (empty cell, unreachable cell).
* :func:`validate_scene` after geometry: the triangle limit, geometry placed beyond
  ±MAX_COORDINATE (by assets, transforms, instances), and the warnings that need geometry
  (a portal that does not touch the cells it joins, or that lies on no wall or slab of a room
  cell it joins, so that no opening is cut there).

Errors raise :class:`SceneInvalid` with every error found (not just the first); warnings are
returned. Every issue's path is a JSON pointer into the description. Quad checks are
vectorized over all portals at once.

The modules, lowest first: :mod:`.quads` (portal quads), :mod:`.polygons` (floor outlines),
:mod:`.description` (:func:`validate_description`), :mod:`.scene` (:func:`validate_scene`,
:func:`instance_extent`).
"""

from __future__ import annotations

from .description import validate_description
from .polygons import check_polygon, check_polygons
from .quads import check_quads
from .scene import instance_extent, validate_scene

__all__ = [
    "check_polygon",
    "check_polygons",
    "check_quads",
    "instance_extent",
    "validate_description",
    "validate_scene",
]
