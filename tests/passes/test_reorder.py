from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sceneforge.errors import PassError
from sceneforge.passes import ReorderOptions, reorder_surface, weld_surface
from tests.support.glb_reader import triangle_set
from tests.support.scenes import soup


def _acmr(indices: np.ndarray, cache: int = 16) -> float:
    """Average cache miss ratio of a FIFO cache (per triangle)."""
    fifo: list[int] = []
    misses = 0
    for i in indices.reshape(-1):
        if i not in fifo:
            misses += 1
            fifo.append(int(i))
            if len(fifo) > cache:
                fifo.pop(0)
    return misses / max(1, len(indices))


def _grid(n: int):
    from sceneforge.model.ir import Surface

    ys, xs = np.mgrid[0 : n + 1, 0 : n + 1]
    positions = np.stack([xs.ravel(), np.zeros(xs.size), ys.ravel()], axis=1).astype(np.float32)
    cells = np.arange((n + 1) * n).reshape(n, n + 1)[:, :n].ravel()
    quads = np.stack([cells, cells + 1, cells + n + 2, cells + n + 1], axis=1)
    tris = np.concatenate([quads[:, [0, 2, 1]], quads[:, [0, 3, 2]]]).astype(np.uint32)
    tris = tris[np.random.default_rng(0).permutation(len(tris))]
    normals = np.tile(np.float32([0, 1, 0]), (len(positions), 1))
    return Surface("m", positions, normals, positions[:, [0, 2]].copy(), tris)


def test_reorder_improves_cache_and_fetch_order():
    s = _grid(20)
    r = reorder_surface(s)
    assert _acmr(r.indices) < _acmr(s.indices) * 0.6
    first_use = np.unique(r.indices.reshape(-1), return_index=True)[1]
    assert (np.diff(first_use) > 0).all()  # vertices numbered in first-use order
    assert triangle_set(r.positions, r.indices) == triangle_set(s.positions, s.indices)


@given(seed=st.integers(0, 2**32 - 1), vertices=st.integers(3, 150), triangles=st.integers(1, 200))
def test_reorder_keeps_triangle_set(seed, vertices, triangles):
    s = weld_surface(soup(np.random.default_rng(seed), vertices, triangles, grid=6))
    r = reorder_surface(s)
    assert triangle_set(r.positions, r.indices) == triangle_set(s.positions, s.indices)
    assert r.vertex_count == s.vertex_count and r.indices.dtype == np.uint32


def test_reorder_drops_unused_vertices():
    s = soup(np.random.default_rng(2), 100, 5)
    r = reorder_surface(s)
    assert r.vertex_count == len(np.unique(s.indices))


def test_reorder_options():
    s = _grid(4)
    same = reorder_surface(s, ReorderOptions(vertex_cache=False, vertex_fetch=False))
    np.testing.assert_array_equal(same.indices, s.indices)
    with pytest.raises(PassError, match=r"^reorder: vertex_cache"):
        ReorderOptions(vertex_cache=1)  # type: ignore[arg-type]


def test_reorder_surfaces_batch_keeps_each_surface_and_first_use_order():
    from sceneforge.passes.reorder import reorder_surfaces

    surfaces = [_grid(n) for n in (3, 6, 2)]
    for one, batch in zip([reorder_surface(s) for s in surfaces], reorder_surfaces(surfaces), strict=True):
        assert triangle_set(one.positions, one.indices) == triangle_set(batch.positions, batch.indices)
        assert batch.vertex_count == one.vertex_count
        first_use = np.unique(batch.indices.reshape(-1), return_index=True)[1]
        assert (np.diff(first_use) > 0).all()
