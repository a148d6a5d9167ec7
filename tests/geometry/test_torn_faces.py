"""Earcut's faces mended only where torn (``panels.triangulate._torn``): a face whose points each have the
triangles' angles around them that the face has there holds no T-junction, so only the others are mended
(``_mended``), and the triangles come out as mending every face gives them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry.panels import triangulate

from .test_delaunay_flips import star_face

Job = tuple[np.ndarray, list[int], int]


def _notched(rng: np.random.Generator, notches: int, collinear: bool) -> Job:
    """A wall face 0..L × 0..3 with doorways notched up from its bottom edge, maybe with points along its
    edges too (earcut drops those)."""
    ring: list[list[float]] = [[0.0, 0.0]]
    s = 0.0
    for _ in range(notches):
        a = s + float(rng.uniform(0.3, 2.0))
        b = a + float(rng.uniform(0.5, 1.2))
        top = float(rng.choice([2.0, 2.1, 2.5]))
        if collinear and rng.random() < 0.5:
            ring.append([(s + a) / 2, 0.0])
        ring += [[a, 0.0], [a, top], [b, top], [b, 0.0]]
        s = b
    end = s + float(rng.uniform(0.3, 2.0))
    ring += [[end, 0.0], [end, 3.0]]
    if collinear:
        ring.append([end / 2, 3.0])
    ring.append([0.0, 3.0])
    return np.array(ring), [len(ring)], 0


def _windowed(rng: np.random.Generator, windows: int, reverse: bool) -> Job:
    """A wall face with window holes in a row (earcut bridges each to the outline), its outline either way round."""
    outline = [[0.0, 0.0], [windows * 2.0 + 1.0, 0.0], [windows * 2.0 + 1.0, 3.0], [0.0, 3.0]]
    if reverse:
        outline = outline[::-1]
    ring, ends = list(outline), [4]
    for i in range(windows):
        a, low = 1.0 + 2.0 * i + float(rng.uniform(0.0, 0.4)), float(rng.choice([0.9, 1.0, 1.2]))
        ring += [[a, low], [a, 2.0], [a + 0.8, 2.0], [a + 0.8, low]]  # (level with others: collinear bridges)
        ends.append(len(ring))
    return np.array(ring), ends, 0


def _star(rng: np.random.Generator, k: int, snap: float) -> Job:
    points, _ = star_face(rng, k, snap)
    return points, [points.shape[0]], 0


@st.composite
def jobs(draw: st.DrawFn) -> list[Job]:
    """A few earcut faces of the kinds the panels queue: notched wall faces (with points along their edges or
    not), faces with windows in a row, star-shaped floors with points snapped to a grid."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out: list[Job] = []
    for kind in draw(st.lists(st.sampled_from(["notched", "windowed", "star"]), min_size=1, max_size=6)):
        if kind == "notched":
            out.append(_notched(rng, draw(st.integers(1, 6)), draw(st.booleans())))
        elif kind == "windowed":
            out.append(_windowed(rng, draw(st.integers(1, 6)), draw(st.booleans())))
        else:
            out.append(_star(rng, draw(st.integers(3, 60)), draw(st.sampled_from([0.0, 0.5, 1.0]))))
    return [(points + rng.uniform(-50, 50, 2), ends, e) for points, ends, e in out]


@settings(max_examples=100, deadline=None)
@given(faces=jobs())
def test_mending_the_torn_faces_alone_gives_what_mending_every_face_gives(faces: list[Job]) -> None:
    tri, face = triangulate.earcut_many(faces)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(triangulate, "_torn", lambda *args: np.ones(len(faces), dtype=bool))
        every_tri, every_face = triangulate.earcut_many(faces)
    assert np.array_equal(face, every_face) and np.array_equal(tri, every_tri)


def test_a_face_earcut_tears_is_torn_and_a_plain_one_is_not() -> None:
    """A hole over the bottom edge's middle point, bridged to it: earcut leaves (2, 0) out, its triangle (1, 0)
    .. (3, 0) passing over it; the same face without the point, and a square, keep every point."""
    torn = np.array([[0, 0], [2, 0], [4, 0], [4, 3], [0, 3], [1, 1e-4], [1, 2], [2, 2], [2, 1e-4]], float)
    whole = np.delete(torn, 1, axis=0)
    square = np.array([[0, 0], [4, 0], [4, 3], [0, 3]], float)
    faces: list[Job] = [(square, [4], 0), (torn, [5, 9], 1), (whole, [4, 8], 2)]
    pts = np.concatenate([p for p, _, _ in faces])
    p_start = np.array([0, 4, 13, 21])
    parts = [
        triangulate.mapbox_earcut.triangulate_float64(p, np.array(ends, np.uint32)).astype(np.int64).reshape(-1, 3)
        for p, ends, _ in faces
    ]
    assert 1 not in parts[1]  # earcut left (2, 0) out
    index = np.concatenate([part + start for part, start in zip(parts, p_start, strict=False)])
    face = np.repeat([0, 1, 2], [part.shape[0] for part in parts])
    assert triangulate._torn(faces, pts, index, face, p_start).tolist() == [False, True, False]
