from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sceneforge.encode.instancing import decompose_trs
from sceneforge.encode.quantize import dequantize_box, quantize_normals, quantize_positions

_coords = hnp.arrays(
    np.float32, st.tuples(st.integers(1, 50), st.just(3)), elements=st.floats(-500, 500, width=32, allow_nan=False)
)


@given(_coords)
def test_quantized_positions_within_half_a_step(positions):
    box = dequantize_box([positions])
    q = quantize_positions(positions, box)
    assert q.dtype == np.int16 and q.shape == (len(positions), 4) and (q[:, 3] == 0).all()
    back = np.asarray(box.offset) + box.scale * q[:, :3] / 32767
    step = box.scale / 32767
    assert np.abs(back - positions).max() <= step * 0.5 + 1e-3 * step + np.abs(positions).max() * 1e-6


def test_quantized_normals_unit_within_a_percent():
    rng = np.random.default_rng(0)
    n = rng.normal(size=(500, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    q = quantize_normals(n)
    back = q[:, :3] / 127
    assert np.abs(back - n).max() <= 0.5 / 127 + 1e-6
    assert np.abs(np.linalg.norm(back, axis=1) - 1).max() < 0.01


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
