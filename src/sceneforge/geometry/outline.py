"""Room outlines as wall edges: the plan-view (x, z) geometry every other geometry module reads.

A :class:`~sceneforge.model.ir.Room` outline is a simple polygon in (x, z). Ingest normalizes
its winding, but this module does not rely on it: the outward normal of each edge is taken
from the sign of the polygon's area, so either winding gives the same walls.

Cost: O(k) numpy work for a k-gon, no Python loop over vertices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["WallEdges", "signed_area", "wall_edges"]

F64 = npt.NDArray[np.float64]

#: Edges shorter than this (m) are dropped as duplicate vertices; far below any wall length.
_MIN_EDGE = 1e-9


def signed_area(outline: F64) -> float:
    """Shoelace area of a (k, 2) polygon in (x, z): ``0.5 * sum(x_i z_{i+1} - x_{i+1} z_i)``."""
    x, z = outline[:, 0], outline[:, 1]
    return 0.5 * float(np.dot(x, np.roll(z, -1)) - np.dot(np.roll(x, -1), z))


@dataclass(frozen=True, slots=True)
class WallEdges:
    """The e outer edges of an outline, as arrays in (x, z).

    ``start`` (e, 2) first point, ``tangent`` (e, 2) unit direction, ``normal`` (e, 2) unit,
    pointing out of the room, ``length`` (e,) metres.
    """

    start: F64
    tangent: F64
    normal: F64
    length: F64

    def __len__(self) -> int:
        return int(self.length.shape[0])


def wall_edges(outline: F64) -> WallEdges:
    """Outer edges of the (k, 2) ``outline`` with outward normals, zero-length edges dropped."""
    start = np.asarray(outline, dtype=np.float64)
    delta = np.roll(start, -1, axis=0) - start
    length = np.hypot(delta[:, 0], delta[:, 1])
    keep = length > _MIN_EDGE
    start, delta, length = start[keep], delta[keep], length[keep]
    tangent = delta / length[:, None]
    side = 1.0 if signed_area(outline) > 0 else -1.0
    # The interior lies left of each edge for a positive shoelace area, so outward is to the right.
    normal = side * np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    return WallEdges(start=start, tangent=tangent, normal=normal, length=length)
