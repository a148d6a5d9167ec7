from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.errors import PassError
from sceneforge.model.ir import Surface
from sceneforge.passes import WeldOptions, merge_surfaces, weld, weld_surface
from sceneforge.tolerances import WELD_EPS
from tests.support.glb_reader import triangle_set
from tests.support.scenes import box_surfaces, sample_scene, soup


def test_weld_joins_shared_corners_of_tiles():
    (floor,) = merge_surfaces(box_surfaces("m", (0, 0, 0), 1.0))
    assert floor.vertex_count == 16
    welded = weld_surface(floor)
    assert welded.vertex_count == 9  # a 2×2 grid of tiles has 3×3 distinct corners
    assert triangle_set(welded.positions, welded.indices) == triangle_set(floor.positions, floor.indices)


def test_weld_within_tolerance_and_not_beyond():
    base = soup(np.random.default_rng(3), 40, 60)
    shifted = Surface("m", base.positions + np.float32(WELD_EPS / 4), base.normals, base.uvs, base.indices)
    far = Surface("m", base.positions + np.float32(WELD_EPS * 20), base.normals, base.uvs, base.indices)
    (both,) = merge_surfaces([base, shifted])
    (apart,) = merge_surfaces([base, far])
    assert weld_surface(both).vertex_count == weld_surface(base).vertex_count
    assert weld_surface(apart).vertex_count == 2 * weld_surface(base).vertex_count


def test_weld_keeps_hard_edges_split():
    positions = np.zeros((2, 3), np.float32)
    normals = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    s = Surface(
        "m",
        np.vstack([positions, [[1, 0, 0], [0, 0, 1]]]).astype(np.float32),
        np.vstack([normals, [[1, 0, 0], [0, 1, 0]]]).astype(np.float32),
        np.zeros((4, 2), np.float32),
        np.array([[0, 2, 3], [1, 3, 2]], np.uint32),
    )
    assert weld_surface(s).vertex_count == 4


def test_weld_zero_tolerance_is_exact():
    s = soup(np.random.default_rng(1), 50, 80)
    nudged = s.positions.copy()
    nudged[0] += np.float32(1e-6)
    exact = weld_surface(Surface("m", nudged, s.normals, s.uvs, s.indices), WeldOptions(tolerance=0))
    loose = weld_surface(Surface("m", nudged, s.normals, s.uvs, s.indices))
    assert exact.vertex_count >= loose.vertex_count


@given(seed=st.integers(0, 2**32 - 1), vertices=st.integers(3, 200), triangles=st.integers(1, 300))
def test_weld_keeps_triangle_set_and_unique_vertices(seed, vertices, triangles):
    s = soup(np.random.default_rng(seed), vertices, triangles)
    w = weld_surface(s)
    assert triangle_set(w.positions, w.indices) == triangle_set(s.positions, s.indices)
    keys = np.hstack([w.positions, w.normals, w.uvs])
    assert len(np.unique(keys, axis=0)) == w.vertex_count  # no duplicates left
    if w.triangle_count:
        assert set(np.unique(w.indices)) == set(range(w.vertex_count))  # no unused vertex
        tri = w.indices
        assert ((tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])).all()


def test_weld_pass_drops_fully_degenerate_surfaces():
    ir = sample_scene()
    flat = Surface(
        "m",
        np.zeros((3, 3), np.float32),
        np.zeros((3, 3), np.float32),
        np.zeros((3, 2), np.float32),
        np.array([[0, 1, 2]], np.uint32),
    )
    ir.cells[2].surfaces = [flat]
    weld()(ir)
    assert ir.cells[2].surfaces == []


def test_weld_drops_triangles_whose_corners_lie_on_one_line() -> None:
    """Three distinct corners on one line as written in float32 (a sill 3 mm high 300 km up rounds onto the
    floor's line) draw nothing: they are dropped like triangles welding collapses, surface by surface and
    batched alike."""
    from sceneforge.passes.weld import weld_surfaces

    up = 3e5
    positions = np.array([[0, up, 0], [4, up, 0], [4, up + 3, 0], [0, up + 0.003, 0], [2, up + 0.003, 0]], np.float32)
    assert positions[3, 1] == positions[0, 1]  # the 3 mm are lost in float32 there
    s = Surface("m", positions, np.tile([0, 0, 1], (5, 1)).astype(np.float32), np.zeros((5, 2), np.float32),
                np.array([[0, 1, 2], [0, 1, 4], [3, 1, 4]], np.uint32))  # fmt: skip
    for welded in (weld_surface(s), weld_surfaces([s])[0]):
        assert welded.triangle_count == 1
        assert welded.positions[welded.indices[0]].tolist() == positions[[0, 1, 2]].tolist()


def test_weld_rejects_out_of_range_indices():
    s = soup(np.random.default_rng(0), 5, 3)
    bad = Surface("m", s.positions, s.normals, s.uvs, s.indices + 10)
    with pytest.raises(PassError, match=r"^weld: "):
        weld_surface(bad)


@pytest.mark.parametrize("tolerance", [-1.0, float("nan"), float("inf"), "0.1", True])
def test_weld_options_validated(tolerance):
    with pytest.raises(PassError, match=r"^weld: tolerance"):
        WeldOptions(tolerance=tolerance)


@pytest.mark.parametrize("tolerance", [0.0, 1e-5, 0.3])
def test_weld_surfaces_batch_equals_surface_by_surface(tolerance: float) -> None:
    from sceneforge.passes.weld import weld_surfaces

    rng = np.random.default_rng(7)
    surfaces = [soup(rng, 40, 60, grid=5) for _ in range(6)]
    options = WeldOptions(tolerance=tolerance)
    for one, batch in zip([weld_surface(s, options) for s in surfaces], weld_surfaces(surfaces, options), strict=True):
        assert one.positions.tobytes() == batch.positions.tobytes()
        assert one.normals.tobytes() == batch.normals.tobytes()
        assert one.uvs.tobytes() == batch.uvs.tobytes()
        assert one.indices.tobytes() == batch.indices.tobytes()


@given(seed=st.integers(0, 2**32 - 1), groups=st.integers(1, 60), spread=st.integers(1, 40))
@settings(max_examples=25, deadline=None)
def test_cluster_rows_in_chunks_numbers_like_one_call(seed: int, groups: int, spread: int) -> None:
    from sceneforge.geometry.shading import _CHUNK_ROWS, cluster_rows

    # Runs of rows tagged by their group in the last column, many repeats within each run, more
    # rows in all than one chunk: hashed a chunk of whole runs at a time, the ids must not change.
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 3 * _CHUNK_ROWS // groups + 2, groups)
    group = np.repeat(np.arange(groups), sizes)
    keys = np.column_stack([rng.integers(0, spread, (group.size, 3)), group]).astype(np.int32)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    remap, first = cluster_rows(keys)
    chunked, chunked_first = cluster_rows(keys, starts)
    assert np.array_equal(remap, chunked)
    assert np.array_equal(first, chunked_first)
    # And what the ids mean: equal rows share an id, first rows in order of first occurrence.
    _, expected = np.unique(keys, axis=0, return_inverse=True)
    assert np.array_equal(np.unique(remap[first]), np.arange(first.size))
    assert (np.diff(first) > 0).all()
    assert len({(a, b) for a, b in zip(remap.tolist(), expected.ravel().tolist(), strict=True)}) == first.size


@pytest.mark.parametrize("offset", [0.0, 3.0e4, -5.0e5])
def test_weld_far_from_the_origin_welds_alike(offset: float) -> None:
    # Past 2^31 grid steps from the origin (3e4 m at the default 1e-5 m) the keys fall back to
    # float64: the same welds either way (an int32 key that wrapped around would weld wrongly).
    base = soup(np.random.default_rng(5), 40, 60, grid=4)
    moved = Surface("m", base.positions + np.float32(offset), base.normals, base.uvs, base.indices)
    near = Surface("m", moved.positions + np.float32(WELD_EPS / 8), base.normals, base.uvs, base.indices)
    (both,) = merge_surfaces([moved, near])
    options = WeldOptions()
    assert weld_surface(moved, options).vertex_count == weld_surface(base, options).vertex_count
    assert weld_surface(both, options).vertex_count == weld_surface(moved, options).vertex_count


@pytest.mark.parametrize("tolerance", [WELD_EPS, 0.25])
def test_weld_keeps_non_finite_attributes_apart(tolerance: float) -> None:
    # A NaN or an inf in a later attribute array (normals, after finite positions) sends the keys to
    # float64, where NaN, inf and -inf stay distinct: an int32 cast would make all three one key.
    positions = np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    normals = np.array([[np.nan, 1, 0], [np.inf, 1, 0], [-np.inf, 1, 0], [0, 1, 0], [0, 1, 0]], np.float32)
    s = Surface(
        "m", positions, normals, np.zeros((5, 2), np.float32), np.array([[0, 3, 4], [1, 3, 4], [2, 3, 4]], np.uint32)
    )
    options = WeldOptions(tolerance=tolerance, drop_degenerate=False)
    from sceneforge.passes.weld import weld_surfaces

    (batch,) = weld_surfaces([s], options)
    for welded in (batch, weld_surface(s, options)):
        assert welded.vertex_count == 5
        assert welded.normals[:3, 0].tolist()[1:] == [np.inf, -np.inf] and np.isnan(welded.normals[0, 0])


def test_weld_holds_corners_a_rounding_outside_their_room_box_in_it_first() -> None:
    """A corner whose float32 lies one step outside its room's box is held in it, as the encoder writes it, before
    the on-one-line test: held, it lies on the line of the other two and the triangle is dropped; a coordinate
    farther out (a placed mesh reaching past the room) stays where it is."""
    from sceneforge.passes.weld import weld_surfaces

    z0 = np.float32(-41658.59765625)  # float32 of the box's min z, -41658.595791, is a step (3.9 mm) below it
    box = np.array([[-38410.0, -95.0, -41658.595791, -38400.0, -90.0, -41650.0]])
    inside = np.nextafter(z0, np.float32(0.0))
    positions = np.array(
        [[-38404.30859375, -91.5, inside], [-38404.328125, -91.5, z0], [-38408.28125, -91.5, inside],
         [-38405, -91, -41655], [-38403, -91, -41600.0]],
        np.float32,
    )  # fmt: skip
    s = Surface("m", positions, np.tile([0, 1, 0], (5, 1)).astype(np.float32), np.zeros((5, 2), np.float32),
                np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4]], np.uint32))  # fmt: skip
    (welded,) = weld_surfaces([s], boxes=box)
    assert welded.triangle_count == 2
    assert welded.positions[:, 2].min() == inside
    assert welded.positions[:, 2].max() == np.float32(-41600.0)  # 50 m outside the box: not a rounding
    (as_given,) = weld_surfaces([s])
    assert as_given.triangle_count == 3


def test_a_rounded_room_far_from_the_origin_writes_no_triangle_on_one_line() -> None:
    """A room with rounded corners 40 km out: float32 steps 3.9 mm there, and holding the shell in the cell's box
    moved a fillet's corner onto the line of the next two; the GLB wrote that triangle, which draws nothing."""
    import json

    from sceneforge.compile import BuildOptions, compile_scene
    from tests.geometry.levels import cell_triangles, heights

    x, z = -38408.281735297314, -41658.59579129789
    fillet = [(4.0 - 0.0455 + dx, dz) for dx, dz in ((0.0, 0.0), (0.0175, 0.0035), (0.0324, 0.0134), (0.0423, 0.0283))]
    floor = [(0.0, 0.0), *fillet, (4.0, 0.0458), (4.0, 4.0), (0.0, 4.0)]
    room = {"floor": [[x + a, z + b] for a, b in floor], "y": -94.47822684325644, "height": 3.0, "wallThickness": 0.1}
    spec = json.dumps({"sceneId": "far-fillet", "cells": [{"cellId": "r", "room": room}], "portals": []}).encode()
    for quantize in (False, True):
        result = compile_scene(spec, BuildOptions(quantize=quantize))
        (triangles,) = cell_triangles(result.glb).values()
        assert heights(triangles).min() > 0.0
        box = np.array(result.meta["visibility"]["cells"][0]["aabb"])
        lo, hi = box[:3], box[3:]
        corners = triangles.reshape(-1, 3)
        assert (corners >= lo).all() and (corners <= hi).all()
