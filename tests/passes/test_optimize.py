from __future__ import annotations

import sceneforge.passes as passes
from sceneforge.passes import optimize
from tests.support.glb_reader import triangle_set
from tests.support.scenes import sample_scene


def test_public_api_pinned():
    assert sorted(passes.__all__) == [
        "MergeOptions",
        "Pass",
        "ReorderOptions",
        "WeldOptions",
        "merge",
        "merge_surfaces",
        "optimize",
        "reorder",
        "reorder_surface",
        "run_passes",
        "weld",
        "weld_surface",
    ]


def test_optimize_per_cell_per_material_welded():
    ir = sample_scene()
    before = [sorted(t for s in c.surfaces for t in triangle_set(s.positions, s.indices)) for c in ir.cells]
    groups = [list(c.instances) for c in ir.cells]
    assert optimize(ir) is None
    for cell, tris, inst in zip(ir.cells, before, groups, strict=True):
        materials = [s.material for s in cell.surfaces]
        assert materials == sorted(set(materials))
        assert sorted(t for s in cell.surfaces for t in triangle_set(s.positions, s.indices)) == tris
        assert cell.instances == inst
    plaster = ir.cells[0].surfaces[0]
    assert plaster.vertex_count == 9  # the tiles' shared corners welded


def test_optimize_is_deterministic():
    a, b = sample_scene(), sample_scene()
    optimize(a)
    optimize(b)
    for ca, cb in zip(a.cells, b.cells, strict=True):
        for sa, sb in zip(ca.surfaces, cb.surfaces, strict=True):
            assert sa.positions.tobytes() == sb.positions.tobytes()
            assert sa.indices.tobytes() == sb.indices.tobytes()
