"""Room outlines as wall edges: the plan-view (x, z) geometry every other geometry module reads.

A :class:`~sceneforge.model.ir.Room` outline is a simple polygon in (x, z). Ingest normalizes
its winding, but this module does not rely on it: the outward normal of each edge is taken
from the sign of the polygon's area, so either winding gives the same walls.

Cost: O(k) numpy work for k vertices in all, no Python loop over vertices or outlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["WallEdges", "signed_area", "wall_edges_of"]

F64 = npt.NDArray[np.float64]

#: Edges shorter than this (m) are dropped as duplicate vertices; far below any wall length.
_MIN_EDGE = 1e-9


def signed_area(outline: F64) -> float:
    """Shoelace area of a (k, 2) polygon in (x, z): ``0.5 * sum(x_i z_{i+1} - x_{i+1} z_i)``."""
    x, z = outline[:, 0], outline[:, 1]
    return 0.5 * float(np.dot(x, np.roll(z, -1)) - np.dot(np.roll(x, -1), z))


@dataclass(frozen=True, slots=True)
class WallEdges:
    """The e outer edges of one or more outlines, as arrays in (x, z).

    ``start`` (e, 2) first point, ``tangent`` (e, 2) unit direction, ``normal`` (e, 2) unit,
    pointing out of the room, ``length`` (e,) metres, ``room`` (e,) index of the outline the
    edge belongs to (edges are grouped by outline, in outline order).
    """

    start: F64
    tangent: F64
    normal: F64
    length: F64
    room: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.length.shape[0])


def wall_edges_of(outlines: Sequence[F64]) -> WallEdges:
    """Outer edges of many (k_i, 2) outlines at once, outward normals, zero-length edges dropped.

    One vectorized pass over all vertices (no per-outline numpy calls): the generator runs it
    once for every room of a scene.
    """
    counts = np.array([o.shape[0] for o in outlines], dtype=np.int64)
    if counts.size == 0:
        empty = np.empty((0, 2))
        return WallEdges(empty, empty, empty, np.empty(0), np.empty(0, dtype=np.int64))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    start = np.concatenate(outlines, axis=0).astype(np.float64, copy=False)
    room = np.repeat(np.arange(counts.size), counts)
    following = np.arange(start.shape[0]) + 1
    last = first + counts - 1
    following[last] = first
    end = start[following]
    cross = start[:, 0] * end[:, 1] - end[:, 0] * start[:, 1]
    side = np.where(np.add.reduceat(cross, first) > 0.0, 1.0, -1.0)[room]
    delta = end - start
    length = np.hypot(delta[:, 0], delta[:, 1])
    keep = length > _MIN_EDGE
    start, delta, length, room, side = start[keep], delta[keep], length[keep], room[keep], side[keep]
    tangent = delta / length[:, None]
    # The interior lies left of each edge for a positive shoelace area, so outward is to the right.
    normal = side[:, None] * np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    return WallEdges(start=start, tangent=tangent, normal=normal, length=length, room=room)
