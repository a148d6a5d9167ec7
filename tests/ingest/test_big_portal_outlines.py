"""A portal mesh with many vertices on its outline (a finely subdivided circle or arch) is outlined in
O(n log n): past ``_STACKED_MAX`` points the hull is manifold3d's and the minimum-area rectangle is found by
binary searches around the hull (``_caliper_areas``), never the all-pairs products or the Python chain that
made a 100,000-vertex circle take minutes. Both give what the small-set path gives.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sceneforge.ingest.portal_outline as outline


def _points(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    w, h = rng.uniform(0.05, 5.0, 2)
    if kind == "ngon":
        t = np.arange(n) * 2 * np.pi / n + rng.uniform(0, 1)
        return np.stack([w * np.cos(t), h * np.sin(t)], axis=1)
    if kind == "grid":  # boundary points collinear along each side
        side = max(2, int(np.sqrt(n)))
        g = np.stack(np.meshgrid(np.linspace(0, w, side), np.linspace(0, h, side)), -1).reshape(-1, 2)
        turn = rng.uniform(0, np.pi)
        return g @ np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])
    return rng.normal(size=(n, 2)) * [w, h] + rng.uniform(-100, 100, 2)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["ngon", "grid", "cloud"]), n=st.integers(3, 400))
def test_the_compiled_hull_is_the_chains_hull(seed: int, kind: str, n: int) -> None:
    """The same points repeated past the stacked size take manifold3d's hull: the same vertices, the same
    start (lowest x, then y), counter-clockwise, collinear boundary points dropped."""
    flat = _points(kind, n, np.random.default_rng(seed))
    small = outline._convex_hull(flat)
    repeated = np.tile(flat, (outline._STACKED_MAX // flat.shape[0] + 1, 1))
    assert repeated.shape[0] > outline._STACKED_MAX
    np.testing.assert_array_equal(outline._convex_hull(repeated), small)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["ngon", "grid", "cloud"]), n=st.integers(3, 3000))
def test_caliper_areas_are_the_all_pairs_areas(seed: int, kind: str, n: int) -> None:
    hull = outline._convex_hull(_points(kind, n, np.random.default_rng(seed)))
    if hull.shape[0] < 3:
        return
    edges = np.roll(hull, -1, axis=0) - hull
    edges /= np.linalg.norm(edges, axis=1, keepdims=True)
    across = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    # Equal up to rounding: the areas come from products of coordinates (a cloud lies up to 100 m out), so a thin
    # hull's area carries an absolute error of a few ulps of the coordinates squared (4.8e-12 relative was seen).
    scale = float(np.abs(hull).max()) ** 2
    np.testing.assert_allclose(
        outline._caliper_areas(hull, edges, across),
        outline._all_pairs_areas(hull, edges, across),
        rtol=1e-12,
        atol=64 * np.finfo(np.float64).eps * scale,
    )


def test_a_finely_subdivided_circle_doorway_is_outlined_without_all_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 vertices on a circle of radius 0.6 m standing in a turned wall: the upright 1.2 m square around
    it, with no step that is quadratic or per point in Python on the big set."""

    def small_only(name: str) -> None:
        real = getattr(outline, name)

        def guarded(points: np.ndarray, *rest: object) -> object:
            assert len(points) <= outline._STACKED_MAX, f"{name} on {len(points)} points"
            return real(points, *rest)

        monkeypatch.setattr(outline, name, guarded)

    small_only("_chain")
    small_only("_all_pairs_areas")
    n = 100_000
    t = np.arange(n) * 2 * np.pi / n
    turn = 0.4
    along = np.array([np.cos(turn), 0.0, np.sin(turn)])
    points = np.stack([0.6 * np.cos(t), 1.0 + 0.6 * np.sin(t)], 1)
    points3 = points[:, :1] * along + points[:, 1:] * [0.0, 1.0, 0.0] + [3.0, 0.0, -2.0]
    found = outline.planar_outline(points3)
    assert not isinstance(found[0], str), found
    quad, normal = found
    assert abs(abs(float(normal @ np.cross(along, [0.0, 1.0, 0.0]))) - 1.0) < 1e-9
    heights = np.sort(quad[:, 1])
    np.testing.assert_allclose(heights, [0.4, 0.4, 1.6, 1.6], atol=1e-9)
    widths = np.sort((quad - [3.0, 0.0, -2.0]) @ along)
    np.testing.assert_allclose(widths, [-0.6, -0.6, 0.6, 0.6], atol=1e-9)
