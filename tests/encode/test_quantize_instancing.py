from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sceneforge.encode.instancing import decompose_trs
from sceneforge.encode.quantize import octahedral_normals, position_grid, quantize_normals, quantize_positions

_coords = hnp.arrays(
    np.float32, st.tuples(st.integers(1, 50), st.just(3)), elements=st.floats(-500, 500, width=32, allow_nan=False)
)


@given(_coords)
def test_quantized_positions_within_half_a_step(positions):
    grid = position_grid([positions])
    q = quantize_positions(positions, grid)
    assert q.dtype == np.uint16 and q.shape == (len(positions), 4) and (q[:, 3] == 0).all()
    back = np.asarray(grid.offset) + grid.scale * q[:, :3].astype(np.float64)
    assert np.abs(back - positions).max() <= grid.scale * 0.5 * (1 + 1e-9)
    # The documented bound: a power-of-two step below extent / 32767, so the error is below extent / 65534,
    # except that the step never goes below 2^-24 (a box under 65534 · 2^-24 ≈ 3.9 mm gets exactly that).
    extent = float(np.max(positions.max(axis=0).astype(np.float64) - positions.min(axis=0)))
    assert grid.scale == 2.0 ** np.round(np.log2(grid.scale))
    if extent / 65534 > 2.0**-24:
        assert extent / 65534 <= grid.scale < extent / 32767
    else:
        assert grid.scale == 2.0**-24


def test_position_grid_of_a_millimetre_box_stops_at_the_finest_step():
    positions = np.array([[0.0, 0.0, 0.0], [0.001, 0.0, 0.0]], np.float32)
    assert position_grid([positions]).scale == 2.0**-24


def test_position_grid_spans_many_arrays_and_keeps_round_coordinates():
    a = np.array([[0.0, 0.0, -2.0], [4.0, 3.0, 2.0]], np.float32)
    b = np.array([[130.0, 2.2, 128.5]], np.float32)
    empty = np.zeros((0, 3), np.float32)
    grid = position_grid([a, empty, b])
    assert grid.scale == 1 / 256 and grid.offset == (0.0, 0.0, -2.0)
    q = quantize_positions(a, grid)
    np.testing.assert_array_equal(q[:, :3], [[0, 0, 0], [1024, 768, 1024]])  # whole metres: exact
    assert position_grid([empty]).offset == (0.0, 0.0, 0.0)
    assert position_grid([a[:1]]).scale == 2.0**-24


def test_quantized_normals_unit_within_a_percent():
    rng = np.random.default_rng(0)
    n = rng.normal(size=(500, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    q = quantize_normals(n)
    back = q[:, :3] / 127
    assert np.abs(back - n).max() <= 0.5 / 127 + 1e-6
    assert np.abs(np.linalg.norm(back, axis=1) - 1).max() < 0.01


def test_octahedral_normals_decode_with_meshopt_filter():
    import meshoptimizer

    rng = np.random.default_rng(1)
    n = rng.normal(size=(500, 3)).astype(np.float32)
    n = np.vstack([n, np.eye(3), -np.eye(3), np.zeros((1, 3))]).astype(np.float32)
    encoded = octahedral_normals(n)
    assert encoded.dtype == np.int8 and (encoded[:, 2] == 127).all() and (encoded[:, 3] == 0).all()
    decoded = np.asarray(meshoptimizer.decode_filter_oct(encoded.copy(), len(encoded), 4))
    decoded = decoded.view(np.int8).reshape(-1, 4).astype(np.float64)[:, :3] / 127
    unit = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    assert np.abs(decoded[:-1] - unit[:-1]).max() < 0.03
    # Axis-aligned normals (walls, floors) come back exact, as quantize_normals stores them.
    np.testing.assert_array_equal(decoded[-7:-1], np.vstack([np.eye(3), -np.eye(3)]))


def _matrix(angle: float, axis: np.ndarray, scale: np.ndarray, translation: np.ndarray) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    r = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    m = np.eye(4)
    m[:3, :3] = r @ np.diag(scale)
    m[:3, 3] = translation
    return m


def _rebuild(t, q, s):
    x, y, z, w = q.T
    r = np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        1,
    )
    m = np.tile(np.eye(4), (len(t), 1, 1))
    m[:, :3, :3] = r * s[:, None, :]
    m[:, :3, 3] = t
    return m


_vec = hnp.arrays(np.float64, 3, elements=st.floats(-10, 10))
_scale = hnp.arrays(np.float64, 3, elements=st.floats(0.05, 10))


@given(st.lists(st.tuples(st.floats(-7, 7), _vec, _scale, _vec, st.booleans()), min_size=1, max_size=8))
def test_decompose_trs_rebuilds_the_matrix(items):
    mats = []
    for angle, axis, scale, translation, mirror in items:
        if np.linalg.norm(axis) < 1e-3:
            axis = np.array([0.0, 1.0, 0.0])
        mats.append(_matrix(angle, axis, scale * ([-1, 1, 1] if mirror else 1), translation))
    m = np.array(mats)
    t, q, s = decompose_trs(m)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1, atol=1e-12)
    assert (q[:, 3] >= 0).all()
    np.testing.assert_allclose(_rebuild(t, q, s), m, atol=1e-9 * (1 + np.abs(m).max()))


def test_decompose_trs_folds_dequantization():
    m = np.array([_matrix(0.8, np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5]), np.array([3.0, -1.0, 2.0]))])
    offset, scale = (1.0, 2.0, -0.5), 4.0
    t, q, s = decompose_trs(m, offset, scale)
    local = np.array([[0.5, -0.25, 1.0, 1.0]])
    dequantized = np.array([offset[0] + scale * 0.5, offset[1] - scale * 0.25, offset[2] + scale * 1.0, 1.0])
    np.testing.assert_allclose(_rebuild(t, q, s)[0] @ local[0], m[0] @ dequantized, atol=1e-9)
