"""sheared(): which instance transforms EXT_mesh_gpu_instancing's per-instance TRS cannot hold."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.encode.instancing import decompose_trs
from sceneforge.ingest.gltf_read import quat_matrices
from sceneforge.passes.expand import sheared

_SCALE = st.floats(0.01, 100) | st.floats(-100, -0.01) | st.just(0.0)


@settings(max_examples=200, deadline=None)
@given(
    q=st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(lambda v: float(np.linalg.norm(v)) > 0.1),
    s=st.lists(_SCALE, min_size=3, max_size=3),
    t=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
)
def test_translation_rotation_scale_is_not_sheared_and_decomposes_exactly(
    q: list[float], s: list[float], t: list[float]
) -> None:
    m = np.eye(4)
    m[:3, :3] = quat_matrices((np.asarray(q) / np.linalg.norm(q))[None])[0] * np.asarray(s)
    m[:3, 3] = t
    assert not sheared(m[None])[0]
    translations, rotations, scales = decompose_trs(m[None])
    back = np.eye(4)
    back[:3, :3] = quat_matrices(rotations)[0] * scales[0]
    back[:3, 3] = translations[0]
    np.testing.assert_allclose(back, m, atol=1e-9 * max(1.0, float(np.abs(m).max())))


def test_a_turned_child_of_a_stretched_parent_is_sheared() -> None:
    turn = np.eye(4)
    turn[:3, :3] = quat_matrices(np.array([[0.0, 0.0, np.sin(np.pi / 8), np.cos(np.pi / 8)]]))[0]
    stretch = np.diag([1.0, 2.0, 1.0, 1.0])
    assert sheared((stretch @ turn)[None])[0]
    assert not sheared((turn @ stretch)[None])[0]  # scaled first, then turned: a TRS
