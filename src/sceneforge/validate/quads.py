"""Portal quads' checks (:func:`check_quads`): degenerate, non-planar, non-convex, self-intersecting.

A quad is (4, 3) points in order; its reference normal is that of its largest corner triangle (a
bow-tie's Newell normal cancels out). Checked against the tolerances of :mod:`sceneforge.tolerances`
(``AREA_EPS``, ``PLANARITY_EPS``, ``CONVEX_EPS``), vectorized over all quads at once; only the bad
ones are looked at again, for their messages (the first problem of each).
"""

from __future__ import annotations

import numpy as np

from ..tolerances import AREA_EPS, CONVEX_EPS, PLANARITY_EPS

__all__ = ["check_quads"]


def check_quads(quads: np.ndarray) -> list[tuple[int, str, str]]:
    """Check (n, 4, 3) quads; return ``(index, code, message)`` for each bad one (first problem only)."""
    if len(quads) == 0:
        return []
    q = np.asarray(quads, dtype=np.float64)
    edges = np.roll(q, -1, axis=1) - q  # (n, 4, 3): edge i runs from vertex i to i+1
    # The largest corner triangle tells a degenerate quad (all points nearly collinear) from a bow-tie,
    # whose Newell normal cancels out; its normal is the reference for planarity and convexity.
    corner = np.cross(edges, np.roll(edges, -1, axis=1))  # (n, 4, 3): 2·area of triangle (i, i+1, i+2)
    corner_area = 0.5 * np.linalg.norm(corner, axis=2)
    area = corner_area.max(axis=1)
    reference = corner[np.arange(len(q)), corner_area.argmax(axis=1)]
    safe = np.where(area[:, None] > 0, reference / np.maximum(2 * area, 1e-300)[:, None], 0.0)
    centre = q.mean(axis=1, keepdims=True)
    off_plane = np.abs(np.einsum("nkj,nj->nk", q - centre, safe)).max(axis=1)
    turns = np.einsum("nkj,nj->nk", corner, safe)  # (n, 4) signed turn at each vertex
    # Diagonals of a simple quad cross; in a bow-tie one pair of opposite edges crosses instead.
    d1, d2 = q[:, 2] - q[:, 0], q[:, 3] - q[:, 1]
    diag_cross = np.einsum("nj,nj->n", np.cross(d1, d2), safe)
    mixed_turns = (turns > CONVEX_EPS).any(axis=1) & (turns < -CONVEX_EPS).any(axis=1)
    bad = (area < AREA_EPS) | (off_plane > PLANARITY_EPS) | (np.abs(diag_cross) <= CONVEX_EPS) | mixed_turns
    out: list[tuple[int, str, str]] = []
    for i in np.flatnonzero(bad).tolist():  # messages for the bad quads only
        if area[i] < AREA_EPS:
            out.append((i, "degenerate", f"quad spans {area[i]:.3g} m², below {AREA_EPS:g} m²"))
        elif off_plane[i] > PLANARITY_EPS:
            out.append(
                (
                    i,
                    "non_planar",
                    f"quad vertices lie up to {off_plane[i]:.3g} m off their plane (max {PLANARITY_EPS:g} m)",
                )
            )
        else:
            code = "self_intersecting" if _bow_tie(q[i], safe[i]) else "non_convex"
            out.append(
                (i, code, "quad edges cross each other" if code == "self_intersecting" else "quad is not convex")
            )
    return out


def _bow_tie(quad: np.ndarray, normal: np.ndarray) -> bool:
    # Project to 2D and test whether edge 0-1 crosses 2-3 or edge 1-2 crosses 3-0.
    axis = int(np.argmax(np.abs(normal)))
    p = np.delete(quad, axis, axis=1)
    return _segments_cross(p[0], p[1], p[2], p[3]) or _segments_cross(p[1], p[2], p[3], p[0])


def _segments_cross(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    from ..geometry.outline import orient_signs

    return bool(orient_signs(a, b, c) * orient_signs(a, b, d) < 0 and orient_signs(c, d, a) * orient_signs(c, d, b) < 0)
