"""Outlines as people draw them: extra points on straight walls and corners clicked twice are dropped
before anything is built, so they neither send a room to the boolean path nor leave slivers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.geometry.outline import outline_keeps, outlines_keep, simplify_outline
from sceneforge.validate import check_polygon, check_polygons

SHAPES = {
    "box": [[0, 0], [6, 0], [6, 4], [0, 4]],
    "L": [[0, 0], [8, 0], [8, 4], [4, 4], [4, 8], [0, 8]],
    "chamfer": [[0, 0], [5, 0], [6, 1], [6, 4], [0, 4]],
}


@st.composite
def cluttered(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A clean outline, and the same outline with points added on its edges and repeated corners
    (exactly, or up to 2 µm off, or a hair past the corner along the next edge)."""
    clean = np.array(SHAPES[draw(st.sampled_from(sorted(SHAPES)))], float)
    out = []
    k = clean.shape[0]
    for i in range(k):
        p, q = clean[i], clean[(i + 1) % k]
        out.append(p)
        kind = draw(st.sampled_from(["none", "repeat", "jitter", "past", "on_edge"]))
        if kind == "repeat":
            out.append(p.copy())
        elif kind == "jitter":
            out.append(p + draw(st.sampled_from([[2e-6, 0], [0, -1e-6], [1e-7, 1e-7]])))
        elif kind == "past":
            out.append(p + (q - p) / np.linalg.norm(q - p) * 1e-6)
        for f in sorted(draw(st.lists(st.sampled_from([0.25, 0.5, 0.75]), max_size=3, unique=True))):
            out.append(p + f * (q - p))
    return clean, np.array(out)


@settings(max_examples=40, deadline=None)
@given(cluttered())
def test_simplified_outline_is_the_drawn_shape(case: tuple[np.ndarray, np.ndarray]) -> None:
    clean, drawn = case
    simple = simplify_outline(drawn)
    assert simple.shape == clean.shape
    # The same corners in the same order (each within the few µm it was drawn off).
    start = int(np.argmin(np.linalg.norm(simple - clean[0], axis=1)))
    assert np.abs(np.roll(simple, -start, axis=0) - clean).max() <= 3e-6
    assert check_polygon(drawn) is None


@settings(max_examples=10, deadline=None)
@given(cluttered())
def test_cluttered_outlines_build_on_the_panel_path(case: tuple[np.ndarray, np.ndarray]) -> None:
    _, drawn = case
    level = {
        "sceneId": "cluttered",
        "cells": [{"cellId": "a", "room": {"floor": drawn.tolist(), "height": 3.0}}],
    }
    result = compile_scene(json.dumps(level).encode(), BuildOptions(pvs=False))
    assert result.meta["stats"]["booleanCells"] == 0


def test_a_finely_sampled_curve_keeps_its_shape() -> None:
    angles = np.linspace(0.0, 2 * np.pi, 4096, endpoint=False)
    circle = np.column_stack([np.cos(angles), np.sin(angles)])
    simple = simplify_outline(circle)
    assert 3 < simple.shape[0] < circle.shape[0]
    # Every dropped point stays within a few tolerances of the simplified outline (its radius barely moves).
    assert np.abs(np.linalg.norm(simple, axis=1) - 1.0).max() < 1e-12
    nxt = np.roll(simple, -1, axis=0)
    chord_mid = np.linalg.norm((simple + nxt) / 2, axis=1)
    assert (1.0 - chord_mid).max() < 1e-4


def test_a_self_crossing_outline_names_the_edges_as_given() -> None:
    # A bow tie with a repeated point first: the edges are numbered as written, not as simplified.
    problem = check_polygon(np.array([[0, 0], [0, 0], [4, 0], [0, 4], [4, 4]], float))
    assert problem is not None
    assert problem == ("self_intersecting", "floor polygon edges 2 and 4 cross")


def test_an_outline_running_back_over_itself_is_an_error() -> None:
    # Collinear edges sharing a stretch, and a spike out and back along one line: both were accepted
    # (the crossing test skipped collinear pairs) and built by the boolean path.
    assert check_polygon(np.array([[0, 0], [3, 0], [1.5, 0], [4.5, 0], [4.5, 4], [0, 4]], float)) == (
        "self_intersecting",
        "floor polygon edges 0 and 2 cross",
    )
    problem = check_polygon(np.array([[0, 0], [4, 0], [4, 2], [6, 2], [4, 2], [4, 4], [0, 4]], float))
    assert problem is not None and problem[0] == "self_intersecting"
    # Collinear edges apart (a U's two top edges) are fine.
    assert check_polygon(np.array([[0, 0], [9, 0], [9, 9], [6, 9], [6, 3], [3, 3], [3, 9], [0, 9]], float)) is None


@st.composite
def outlines(draw: st.DrawFn) -> np.ndarray:
    """Outlines of every kind check_polygon answers: valid (convex, L-shaped, finely sampled circles,
    cluttered with points on their edges), crossing, running back over themselves, folding back,
    with repeated vertices, too small; near the origin or far from it."""
    kind = draw(st.sampled_from(["random", "circle", "L", "overlap", "fold", "tiny", "cluttered"]))
    if kind == "random":
        pts = np.array(draw(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=3, max_size=12)))
    elif kind == "circle":
        n = draw(st.integers(3, 80))
        a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
        pts = np.c_[np.cos(a), np.sin(a)] * draw(st.sampled_from([1e-3, 0.02, 3.0]))
    elif kind == "L":
        pts = np.array(SHAPES["L"], float)
    elif kind == "overlap":
        pts = np.array([[0, 0], [3, 0], [1.5, 0], [4.5, 0], [4.5, 4], [0, 4]], float)
    elif kind == "fold":
        pts = np.array([[0, 0], [4, 0], [4, 2], [6, 2], [4, 2], [4, 4], [0, 4]], float)
    elif kind == "tiny":
        pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float) * draw(st.sampled_from([5e-4, 1e-3, 2e-3]))
    else:
        pts = draw(cluttered())[1]
    if draw(st.booleans()):
        pts = pts[::-1]
    return pts + draw(st.sampled_from([0.0, 123.4, -9e5]))


@settings(max_examples=60, deadline=None)
@given(st.lists(outlines(), min_size=1, max_size=25))
def test_outlines_checked_together_answer_as_one_by_one(floors: list[np.ndarray]) -> None:
    """check_polygons (every outline of a level at once) gives check_polygon's answer for each, and the
    outlines simplified together keep the vertices each keeps alone."""
    assert check_polygons(floors) == [check_polygon(f) for f in floors]
    counts = np.array([f.shape[0] for f in floors])
    keep = outlines_keep(np.concatenate(floors), counts)
    for f, k in zip(floors, np.split(keep, np.cumsum(counts)[:-1]), strict=True):
        assert np.array_equal(np.flatnonzero(k), outline_keeps(f))


def test_a_small_room_far_out_has_its_area() -> None:
    """A 2 mm × 2 mm outline 900 km out has 4 mm² of floor: products of absolute coordinates summed to
    0 m² there (refused as degenerate); differences from its first corner keep it."""
    square = np.array([[0, 0], [2e-3, 0], [2e-3, 2e-3], [0, 2e-3]]) + 9e5
    assert check_polygon(square) is None
    assert check_polygon(np.array([[0, 0], [5e-4, 0], [5e-4, 5e-4], [0, 5e-4]]) + 9e5) == (
        "degenerate",
        "floor polygon has area 2.5e-07 m², below 1e-06 m²",
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(257, 1200),
    kind=st.sampled_from(["star", "swap", "thrown", "spike", "walk", "comb"]),
)
def test_large_outlines_test_the_pairs_that_can_cross(seed: int, k: int, kind: str) -> None:
    """Past 256 edges an outline tests the edge pairs whose boxes share a grid cell, not all of them:
    the same answer as every pair (valid rings of spikes, two vertices swapped, one thrown across,
    a spike folding back, a random walk, a comb of long teeth)."""
    import sceneforge.validate.polygons as polygons

    rng = np.random.default_rng(seed)
    a = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = rng.uniform(5, 10, k)
    p = np.c_[r * np.cos(a), r * np.sin(a)]
    if kind == "swap":
        x, y = rng.integers(0, k, 2)
        p[[x, y]] = p[[y, x]]
    elif kind == "thrown":
        p[rng.integers(0, k)] *= -1.5
    elif kind == "spike":
        m = int(rng.integers(1, k - 1))
        p = np.insert(p, m + 1, p[m - 1], axis=0)
    elif kind == "walk":
        p = np.cumsum(rng.normal(0, 1, (k, 2)), axis=0)
    elif kind == "comb":
        t = np.arange(k)
        p = np.c_[t * 0.01, np.where(t % 2 == 0, 0.0, 5.0)]
        p = np.r_[p, [[p[-1, 0], -1.0], [0.0, -1.0]]]
    answer = check_polygon(p)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(polygons, "_ALL_PAIRS_EDGES", 10**9)  # every pair, a run of rows at a time
        assert answer == check_polygon(p)


@settings(max_examples=100, deadline=None)
@given(
    shape=st.sampled_from(sorted(SHAPES)),
    quarter=st.integers(0, 3),
    far=st.tuples(st.floats(-1e5, 1e5), st.floats(-1e5, 1e5)),
)
def test_outlines_turned_by_quarter_turns_are_put_back_on_the_axes(
    shape: str, quarter: int, far: tuple[float, float]
) -> None:
    # Turned by a multiple of 90° with cos and sin (cos 90° is 6e-17, not 0) and moved far out, the
    # walls along the axes are a hair off them: each such edge's ends get one value across it.
    from sceneforge.geometry.outline import outlines_on_axes

    a = np.radians(90.0 * quarter)
    c, s = np.cos(a), np.sin(a)
    clean = np.array(SHAPES[shape], float)
    turned = np.stack([clean[:, 0] * c - clean[:, 1] * s, clean[:, 0] * s + clean[:, 1] * c], 1) + far
    snapped = outlines_on_axes(turned, np.array([len(turned)]))
    assert np.abs(snapped - turned).max() <= 1e-9
    nxt = np.roll(snapped, -1, axis=0)
    along_axes = (np.abs(nxt - snapped) <= 1e-9).any(axis=1)
    assert ((nxt[along_axes] - snapped[along_axes]) == 0.0).any(axis=1).all()


def test_outlines_off_the_axes_by_more_than_a_hair_are_kept_as_they_are() -> None:
    from sceneforge.geometry.outline import outlines_on_axes

    exact = np.array(SHAPES["L"], float)
    assert outlines_on_axes(exact, np.array([6])) is exact
    tilted = exact + np.array([[0.0, 0.0], [0.0, 1e-7], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    assert outlines_on_axes(tilted, np.array([6])) is tilted
