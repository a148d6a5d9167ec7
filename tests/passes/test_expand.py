"""sheared() and mirrored(): which instance transforms EXT_mesh_gpu_instancing (as viewers draw it) cannot hold."""

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


def test_mirrored_copies_become_geometry_that_winds_out_and_the_others_stay_instances() -> None:
    """A viewer draws every instance of a mesh with one winding (three.js's InstancedMesh, Godot's MultiMesh), so a
    copy that mirrors, written as an instance, was drawn inside out among the others. Mirrored copies become geometry
    of their cell, their triangles turned round; the others stay instances."""
    from sceneforge.passes.expand import expand_sheared_instances, mirrored
    from tests.support.scenes import sample_scene

    ir = sample_scene(textured=False)
    hall = ir.cells[0]
    group = hall.instances[0]
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    transforms = np.concatenate([group.transforms, group.transforms[:2] @ flip])
    assert mirrored(transforms).tolist() == [False] * 3 + [True] * 2
    hall.instances = [type(group)(group.cell_id, group.mesh_key, group.surfaces, transforms)]
    before = len(hall.surfaces)
    expand_sheared_instances()(ir)
    assert [len(g.transforms) for g in hall.instances] == [3]
    np.testing.assert_array_equal(hall.instances[0].transforms, group.transforms)
    added = hall.surfaces[before:]
    assert [s.triangle_count for s in added] == [2 * s.triangle_count for s in group.surfaces]
    for surface in added:  # every face still winds to its normal
        p = surface.positions.astype(np.float64)[surface.indices]
        face = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        assert (np.einsum("ij,ij->i", face, surface.normals[surface.indices[:, 0]].astype(np.float64)) > 0).all()
