"""The plan of every cell, seen from above: what clients test a camera against (docs/meta.md, ``floor``).

A room's plan is its floor polygon (:meth:`~sceneforge.model.ir.Room.plan`). A cell made of meshes
(a tagged GLB's cell, placed assets) has the outline of its triangles seen from above: the union of
their projections on the ground (x, z), by manifold3d's ``CrossSection`` (Clipper2), its outer ring
with points closer than 1 µm to the line of their neighbours dropped. Walls project to nothing; floors,
ceilings, ramps and the tops of walls cover the plan. A courtyard inside the ring is not left out (the
ring is the outer one).

``None`` where the plan says nothing the box does not: an axis-aligned rectangle, a cell with no
triangle that covers any ground (walls alone), or a plan of several pieces (two rooms in one cell),
for which the box is the one shape that holds them all. Instance groups (props) are left out: they
stand inside the room they furnish.

Cost: rooms, ~2 µs each; a mesh cell, one union of its non-vertical triangles, ~1 µs a triangle (a tenth
of the build of office-1000 from its own GLB, where every cell is one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model.ir import Cell, Surface

__all__ = ["cell_plans", "mesh_plan"]

#: Points of the outline closer than this (m) to the line through their neighbours are dropped: the
#: meta's precision (1 µm), which also joins the collinear corners the triangles' edges leave.
_SIMPLIFY = 1e-6
#: Triangles whose shadow on the ground is smaller than this (m², twice the area) are walls: left out.
_FLAT = 1e-12


def cell_plans(cells: Sequence[Cell]) -> list[tuple[float, ...] | None]:
    """Per cell, its plan's outer outline (x0, z0, x1, z1, …; positive shoelace sum) or ``None``."""
    return [c.room.plan() if c.room is not None else mesh_plan(c.surfaces) for c in cells]


def mesh_plan(surfaces: Sequence[Surface]) -> tuple[float, ...] | None:
    """The outer outline of the triangles of ``surfaces`` seen from above, or ``None`` (module docstring)."""
    parts = [s.positions[s.indices.astype(np.intp)] for s in surfaces if s.indices.shape[0]]
    if not parts:
        return None
    tri = np.concatenate(parts)[:, :, ::2].astype(np.float64)  # (T, 3, 2): x, z
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    covers = np.abs(area2) > _FLAT
    if not covers.any():
        return None
    tri, backwards = tri[covers], area2[covers] < 0.0
    tri[backwards] = tri[backwards][:, ::-1]  # every triangle counter-clockwise: the union is their positive fill
    from manifold3d import CrossSection, FillRule  # only builds with mesh cells pay for the import

    union = CrossSection(list(tri), FillRule.Positive).simplify(_SIMPLIFY)
    # A few points a ring: plain Python on lists costs less than numpy calls here.
    outer = [ring for ring in (r.tolist() for r in union.to_polygons()) if _area2(ring) > 0.0]
    if len(outer) != 1 or len(outer[0]) < 3:
        return None
    ring = outer[0]
    if len(ring) == 4 and len({x for x, _ in ring}) == 2 and len({z for _, z in ring}) == 2:
        return None  # a rectangle along the axes: the box says it
    first = ring.index(min(ring))  # from the least x (then z): the same ring, one way
    return tuple(v for point in ring[first:] + ring[:first] for v in point)


def _area2(ring: list[list[float]]) -> float:
    """Twice the signed area of ``ring`` (positive: counter-clockwise in (x, z))."""
    return sum(x0 * z1 - x1 * z0 for (x0, z0), (x1, z1) in zip(ring, ring[1:] + ring[:1], strict=True))
