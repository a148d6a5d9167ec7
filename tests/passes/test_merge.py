from __future__ import annotations

import numpy as np
import pytest

from sceneforge.errors import PassError
from sceneforge.model.ir import Surface
from sceneforge.passes import MergeOptions, merge, merge_surfaces
from tests.support.glb_reader import triangle_set
from tests.support.scenes import quad_surface, sample_scene


def _all_triangles(surfaces: list[Surface]) -> list[tuple[float, ...]]:
    out: list[tuple[float, ...]] = []
    for s in surfaces:
        out += triangle_set(s.positions, s.indices)
    return sorted(out)


def test_merge_one_surface_per_material_sorted():
    ir = merge()(sample_scene())
    hall, kitchen, closet = ir.cells
    assert [s.material for s in hall.surfaces] == ["plaster", "wood"]
    assert [s.material for s in kitchen.surfaces] == ["plaster", "wood"]
    assert closet.surfaces == []
    assert [s.triangle_count for s in hall.surfaces] == [8, 8]
    assert [s.vertex_count for s in hall.surfaces] == [16, 16]


def test_merge_never_crosses_cells():
    before = sample_scene()
    per_cell = [_all_triangles(c.surfaces) for c in before.cells]
    after = merge()(sample_scene())
    assert [_all_triangles(c.surfaces) for c in after.cells] == per_cell


def test_merge_offsets_indices_and_keeps_attributes():
    a = quad_surface("m", (0, 0, 0))
    b = quad_surface("m", (5, 0, 0))
    (merged,) = merge_surfaces([b, a])
    assert merged.indices.dtype == np.uint32 and merged.positions.dtype == np.float32
    assert int(merged.indices.max()) == 7
    assert _all_triangles([merged]) == _all_triangles([a, b])
    np.testing.assert_array_equal(merged.normals[:4], b.normals)


def test_merge_drops_empty_surfaces():
    empty = Surface(
        "x",
        np.zeros((3, 3), np.float32),
        np.zeros((3, 3), np.float32),
        np.zeros((3, 2), np.float32),
        np.zeros((0, 3), np.uint32),
    )
    assert [s.material for s in merge_surfaces([empty, quad_surface("m", (0, 0, 0))])] == ["m"]
    kept = merge_surfaces([empty], MergeOptions(drop_empty=False))
    assert [s.material for s in kept] == ["x"]


def test_merge_leaves_instances_alone():
    ir = sample_scene()
    group = ir.cells[0].instances[0]
    merge()(ir)
    assert ir.cells[0].instances == [group]


def test_merge_options_validated():
    with pytest.raises(PassError, match=r"^merge: drop_empty"):
        MergeOptions(drop_empty="yes")  # type: ignore[arg-type]
    with pytest.raises(PassError, match=r"^merge: options"):
        merge(object())  # type: ignore[arg-type]
