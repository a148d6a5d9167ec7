"""flat_shade and world_uvs on hand-made meshes."""

from __future__ import annotations

import numpy as np
import trimesh
from hypothesis import given
from hypothesis import strategies as st

import sceneforge.geometry as geometry
from sceneforge.geometry import flat_shade, world_uvs


def test_public_surface_is_pinned() -> None:
    assert sorted(geometry.__all__) == [
        "cell_boxes",
        "door_cutters",
        "flat_shade",
        "generate_rooms",
        "place_door",
        "room_shell",
        "scene_door_cutters",
        "world_uvs",
    ]


def test_flat_shade_splits_a_cube_per_face_and_keeps_triangles() -> None:
    cube = trimesh.creation.box(extents=(2.0, 2.0, 2.0))
    ((positions, normals, uvs, indices),) = flat_shade([cube.vertices], [cube.faces])
    assert positions.shape == (24, 3) and indices.shape == (12, 3)
    assert np.allclose(positions[indices], cube.vertices[cube.faces])
    assert np.allclose(normals[indices], cube.face_normals[:, None, :])
    assert uvs.shape == (24, 2)


def test_flat_shade_keeps_coplanar_triangles_welded_and_meshes_apart() -> None:
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 0, -1], [0, 0, -1]], np.float64)  # facing +y
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    out = flat_shade([square, square + np.array([5.0, 0, 0]), square], [tris, tris, tris[:1]])
    assert [m[0].shape[0] for m in out] == [4, 4, 3]
    for positions, normals, _, indices in out:
        assert indices.max() < positions.shape[0]
        assert np.allclose(normals, [0, 1, 0])
    assert flat_shade([], []) == []


def test_flat_shade_shades_a_mesh_the_same_whatever_is_shaded_beside_it() -> None:
    """A mesh's normals are its own: a face of another mesh in the batch whose normal rounds alike (here
    tilted by 1e-9, or a zero of the other sign) does not lend its bits (incremental builds shade a few
    rooms at a time and must write what a full build writes)."""
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 0, -1], [0, 0, -1]], np.float64)  # normal (-0.0, 1, 0)
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    tilted = square + np.array([[0, 0, 0], [0, 1e-9, 0], [0, 1e-9, 0], [0, 0, 0]])
    mirrored = np.array([[0, 0, 0], [-1, 0, 0], [-1, 0, 1], [0, 0, 1]], np.float64)  # normal (0.0, 1, 0)
    alone = flat_shade([square], [tris])[0]
    for other in (tilted, mirrored):
        for beside in (flat_shade([other, square], [tris, tris])[1], flat_shade([square, other], [tris, tris])[0]):
            for got, want in zip(beside, alone, strict=True):
                assert got.tobytes() == want.tobytes()


def test_world_uvs_table() -> None:
    p = np.array([[1.0, 2.0, 3.0]] * 6)
    n = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], np.float64)
    expected = [[-3, -2], [3, -2], [1, 3], [-1, 3], [1, -2], [-1, -2]]
    assert np.allclose(world_uvs(p, n), expected)


@given(st.lists(st.floats(-50, 50), min_size=9, max_size=9), st.integers(0, 2), st.sampled_from([-1.0, 1.0]))
def test_world_uvs_preserve_lengths_on_axis_planes(coords: list[float], axis: int, sign: float) -> None:
    points = np.array(coords).reshape(3, 3)
    points[:, axis] = 7.0
    normal = np.zeros((3, 3))
    normal[:, axis] = sign
    uv = world_uvs(points, normal)
    for i, j in ((0, 1), (1, 2), (0, 2)):
        assert np.isclose(np.linalg.norm(uv[i] - uv[j]), np.linalg.norm(points[i] - points[j]))


@given(
    st.lists(st.floats(-1e30, 1e30, width=64), min_size=3, max_size=3),
    st.lists(st.sampled_from([-1.0, -0.6, -0.0, 0.0, 0.6, 1.0, float("nan")]), min_size=3, max_size=3),
)
def test_world_uvs_in_float32_are_the_float64_ones_rounded(coords: list[float], normal: list[float]) -> None:
    # The panel path writes world_uvs of float32 positions: each UV is ± a coordinate, so they
    # must be bit for bit the float64 UVs cast to float32 (signed zeros and ties of the normal too).
    p = np.array([coords])
    n = np.array([normal])
    wide, narrow = world_uvs(p, n), world_uvs(p.astype(np.float32), n)
    assert wide.dtype == np.float64 and narrow.dtype == np.float32
    assert narrow.tobytes() == wide.astype(np.float32).tobytes()
    # The rule written out: the first largest |component| (argmax's choice, NaN first) picks the
    # axis, its sign (NaN as negative) the orientation.
    axis = int(np.argmax(np.abs(n[0])))
    sign = 1.0 if n[0, axis] >= 0.0 else -1.0
    x, y, z = p[0]
    expected = [-sign * z, -y] if axis == 0 else [sign * x, z] if axis == 1 else [sign * x, -y]
    assert wide.tobytes() == np.array([expected]).tobytes()


def test_world_uvs_and_packed_normals_in_blocks_match_the_whole_array_formulas() -> None:
    # Both work through long arrays a block of rows at a time: every row as the one-shot formula
    # gives it, across block borders, with a NaN normal in one block only.
    from sceneforge.geometry.shading import _BLOCK_ROWS, _NORMAL_STEPS, pack_normals

    rng = np.random.default_rng(11)
    n = 2 * _BLOCK_ROWS + 123
    p = rng.normal(size=(n, 3)) * 20.0
    normals = rng.normal(size=(n, 3))
    normals[rng.random((n, 3)) < 0.3] = 0.0
    normals /= np.maximum(np.linalg.norm(normals, axis=1), 1e-12)[:, None]
    normals[_BLOCK_ROWS + 5] = [np.nan, 0.0, 1.0]
    axis = np.argmax(np.abs(normals), axis=1)
    sign = np.where(normals[np.arange(n), axis] >= 0.0, 1.0, -1.0)
    x, y, z = p.T
    u = np.select([axis == 0, axis == 1], [-sign * z, sign * x], sign * x)
    expected = np.stack([u, np.where(axis == 1, z, -y)], axis=1)
    assert world_uvs(p, normals).tobytes() == expected.tobytes()
    finite = normals[np.isfinite(normals).all(axis=1)]
    q = np.rint(finite * _NORMAL_STEPS).astype(np.int64) + _NORMAL_STEPS
    assert pack_normals(finite).tobytes() == ((q[:, 0] << 42) | (q[:, 1] << 21) | q[:, 2]).tobytes()
