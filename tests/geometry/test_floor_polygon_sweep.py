"""Floor outlines too crowded for the grid (thousands of long edges fanning out: a star) are swept,
not tested pair by pair: the same answers as testing every pair, which is kept here as the reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sceneforge.validate.polygons as polygons
from sceneforge.geometry.outline import orient_signs, outline_keeps, star_simple
from sceneforge.tolerances import AREA_EPS
from sceneforge.validate import check_polygon, check_polygons


def every_pair_check(points: np.ndarray) -> tuple[str, str] | None:
    """check_polygon as it was: every pair of non-adjacent edges tested, in order (i, then j)."""
    given = np.asarray(points, dtype=np.float64)
    kept = outline_keeps(given)
    p = given[kept]
    nxt = np.roll(p, -1, axis=0)
    if (np.linalg.norm(nxt - p, axis=1) < 1e-9).any():
        return "degenerate", "floor polygon repeats a vertex"
    k = len(p)
    i, j = np.triu_indices(k, 2)
    keep = ~((i == 0) & (j == k - 1))
    i, j = i[keep], j[keep]
    crossing = polygons._edges_meet(p[i], nxt[i], p[j], nxt[j])
    if crossing.any():
        e = int(np.argmax(crossing))
        return "self_intersecting", f"floor polygon edges {int(kept[i[e]])} and {int(kept[j[e]])} cross"
    fold = polygons._folds(p, nxt, axis=0)
    if fold.any():
        e = int(np.argmax(fold))
        return (
            "self_intersecting",
            f"floor polygon edges {int(kept[e - 1])} and {int(kept[e])} fold back onto each other",
        )
    area = float(polygons._areas(p[None])[0])
    if area < AREA_EPS:
        return "degenerate", f"floor polygon has area {area:.3g} m², below {AREA_EPS:g} m²"
    return None


@contextmanager
def swept(scan_pairs: int | None = None) -> Iterator[None]:
    """Every outline, however small, takes the sweep (no pair list, no grid)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(polygons, "_ALL_PAIRS_EDGES", 0)
        patch.setattr(polygons, "_GRID_PAIRS", 0)
        if scan_pairs is not None:
            patch.setattr(polygons, "_SCAN_PAIRS", scan_pairs)
        yield


@st.composite
def outlines(draw: st.DrawFn) -> np.ndarray:
    """Outlines with every kind of contact: corners on a small grid (touching corners, corners on
    other edges, collinear edges apart, overlapping and end to end, crossings), stars with two
    corners swapped or one moved onto another edge, combs of teeth whose tips line up, random
    floats; either winding, near the origin or far from it."""
    kind = draw(st.sampled_from(["grid", "star", "on_edge", "comb", "floats"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(3, 40))
    if kind == "grid":
        pts = rng.integers(0, draw(st.integers(2, 6)), (k, 2)).astype(float)
    elif kind in ("star", "on_edge"):
        a = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
        r = np.where(np.arange(k) % 2 == 0, 10.0, draw(st.sampled_from([3.0, 9.5])))
        pts = np.round(np.c_[r * np.cos(a), r * np.sin(a)] * 8) / 8
        x, y = (int(v) for v in rng.integers(0, k, 2))
        if kind == "star" and draw(st.booleans()):
            pts[[x, y]] = pts[[y, x]]
        elif kind == "on_edge":
            pts[x] = (pts[y] + pts[(y + 1) % k]) / 2
    elif kind == "comb":
        t = np.arange(k)
        pts = np.c_[t * 1.0, np.where(t % 2 == 0, 0.0, draw(st.sampled_from([1.0, 5.0])))]
        pts = np.r_[pts, [[pts[-1, 0], -1.0], [0.0, -1.0]]]
        for _ in range(draw(st.integers(0, 2))):
            pts[int(rng.integers(0, len(pts)))] = pts[int(rng.integers(0, len(pts)))]
    else:
        pts = rng.uniform(-5, 5, (k, 2))
    if draw(st.booleans()):
        pts = pts[::-1]
    return np.asarray(pts + draw(st.sampled_from([0.0, 123.5, -9e5])), dtype=np.float64)


@settings(max_examples=400, deadline=None)
@given(outlines())
def test_the_sweep_answers_as_every_pair(points: np.ndarray) -> None:
    """Swept, an outline gets the answer every pair gives: the same verdict and the same message
    (the first crossing pair in order, found by testing pairs in order once the sweep finds one)."""
    expected = every_pair_check(points)
    with swept():
        assert check_polygon(points) == expected


@settings(max_examples=300, deadline=None)
@given(outlines())
def test_past_its_scan_the_sweep_names_a_pair_that_meets(points: np.ndarray) -> None:
    """With no pairs left to test in order, a crowded outline is refused as before and its message
    names the pair the sweep found: two edges that share a point (here float arithmetic is exact on
    the grids, and the random floats are far from touching), or a fold."""
    expected = every_pair_check(points)
    with swept(scan_pairs=0):
        answer = check_polygon(points)
    assert (answer is None) == (expected is None)
    if answer is None or not answer[1].endswith(" cross"):
        # The same message, or a fold (the pair found was a fold: the fold test then names it).
        assert answer == expected or (answer[0] == "self_intersecting" and answer[1].endswith("onto each other"))
        return
    a, b = (int(v) for v in answer[1].removeprefix("floor polygon edges ").removesuffix(" cross").split(" and "))
    assert a < b
    kept = outline_keeps(points).tolist()
    p = points[kept]
    ends = [(p[e], p[(e + 1) % len(p)]) for e in (kept.index(a), kept.index(b))]
    assert _share_a_point(*ends[0], *ends[1])


def _share_a_point(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    def orient(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> float:
        return float((v[0] - u[0]) * (w[1] - u[1]) - (v[1] - u[1]) * (w[0] - u[0]))

    def on(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> bool:
        return orient(u, v, w) == 0 and bool((np.minimum(u, v) <= w).all() and (w <= np.maximum(u, v)).all())

    if orient(a, b, c) * orient(a, b, d) < 0 and orient(c, d, a) * orient(c, d, b) < 0:
        return True
    return on(a, b, c) or on(a, b, d) or on(c, d, a) or on(c, d, b)


def _star(k: int) -> np.ndarray:
    a = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
    r = np.where(np.arange(k) % 2 == 0, 10.0, 3.0)
    return np.c_[r * np.cos(a), r * np.sin(a)]


@contextmanager
def _pairs_tested() -> Iterator[list[int]]:
    """The sizes of the edge-pair runs the floor check tests (``polygons._edges_meet`` counted)."""
    tested: list[int] = []
    meet = polygons._edges_meet

    def counting(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
        tested.append(a.shape[0] if a.ndim == 2 else 0)
        return meet(a, b, c, d)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(polygons, "_edges_meet", counting)
        yield tested


@pytest.mark.parametrize("swap", [None, (3, 7), (4086, 4090)])
def test_a_dense_star_tests_few_pairs(swap: tuple[int, int] | None) -> None:
    """A 4,096-point star crowds every grid (each long edge's box covers a sixth of the ring): it tested
    all 8.4 million pairs (1.1 s); now it is swept and tests a few pairs per edge while simple, at most
    about _SCAN_PAIRS once the sweep finds a crossing. Two corners swapped early get every pair's
    message; swapped late (past the pairs tested in order) the message names the swept pair."""
    p = _star(4096)
    if swap is not None:
        p[list(swap)] = p[list(swap[::-1])]
    with _pairs_tested() as tested:
        answer = check_polygon(p)
    assert check_polygons([p]) == [answer]
    if swap is None:
        assert answer is None
        assert sum(tested) <= 8 * len(p)
        return
    assert sum(tested) <= polygons._SCAN_PAIRS + polygons._PAIR_RUN
    first = swap[0] - 1
    assert answer == ("self_intersecting", f"floor polygon edges {first} and {first + 2} cross")
    if swap[0] < 100:
        assert answer == every_pair_check(p)


def test_the_pairs_tested_in_order_are_one_budget_for_all_floors() -> None:
    """Naming a late first crossing costs up to _SCAN_PAIRS tests (~0.7 s); the floor-point limit lets 24
    such stars into one description, 17 s. The budget is the description's: once spent, each floor's
    message names the pair the sweep found (still a crossing, and still refused)."""
    p = _star(4096)
    p[[4086, 4090]] = p[[4090, 4086]]
    with _pairs_tested() as tested:
        answers = check_polygons([p] * 6)
    assert all(a is not None and a[0] == "self_intersecting" and "cross" in a[1] for a in answers), answers
    assert sum(tested) <= polygons._SCAN_PAIRS + 6 * polygons._PAIR_RUN


@st.composite
def star_like(draw: st.DrawFn) -> np.ndarray:
    """Stars and fans about a point, some of whose corners are pushed round (back past a neighbour, or
    all the way round twice), onto a neighbour's ray or onto the centre: star-shaped or only just not."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(3, 60))
    turns = draw(st.sampled_from([1, 1, 1, 2]))
    a = np.linspace(0.0, 2 * np.pi * turns, k, endpoint=False)
    r = rng.uniform(0.5, 10.0, k)
    for _ in range(draw(st.integers(0, 3))):
        i = int(rng.integers(0, k))
        r[i], a[i] = draw(st.sampled_from([(r[i], a[i] - 4 * np.pi / k), (r[i], a[(i + 1) % k]), (0.0, a[i])]))
    pts = np.c_[r * np.cos(a), r * np.sin(a)]
    if draw(st.booleans()):
        pts = np.round(pts * 4) / 4
    if draw(st.booleans()):
        pts = pts[::-1]
    return np.asarray(pts + draw(st.sampled_from([0.0, 123.5, -9e5])), dtype=np.float64)


@settings(max_examples=400, deadline=None)
@given(st.one_of(outlines(), star_like()))
def test_an_outline_proved_star_shaped_is_simple(points: np.ndarray) -> None:
    """star_simple is a proof: an outline it passes has no two edges that share a point but the corners of
    neighbours (every pair tested exactly), whatever it is given."""
    if not star_simple(points):
        return
    k = len(points)
    nxt = np.roll(points, -1, axis=0)
    i, j = np.triu_indices(k, 2)
    keep = ~((i == 0) & (j == k - 1))
    assert not polygons._edges_meet(points[i[keep]], nxt[i[keep]], points[j[keep]], nxt[j[keep]]).any()
    back = np.roll(points, 1, axis=0)
    fold = (orient_signs(back, points, nxt) == 0) & (np.einsum("ij,ij->i", points - back, nxt - points) <= 0)
    assert not fold.any()


def test_a_dense_star_shaped_outline_is_proved_simple_without_the_sweep() -> None:
    """A 4,096-point star about its centre (no rounding: its corners all see the centre) took the sweep,
    0.1 s of orientation tests one at a time; it is proved simple in O(k) and tests no pair."""
    p = _star(4096)
    assert star_simple(p) and star_simple(p[::-1])

    def no_sweep(_p: np.ndarray) -> None:
        raise AssertionError("swept")

    with _pairs_tested() as tested, pytest.MonkeyPatch.context() as patch:
        patch.setattr(polygons, "_sweep", no_sweep)
        assert check_polygon(p) is None
    assert tested == []
    swapped = p.copy()
    swapped[[3, 7]] = swapped[[7, 3]]
    assert not star_simple(swapped)
    assert check_polygon(swapped) == ("self_intersecting", "floor polygon edges 2 and 4 cross")


def test_an_outline_wound_twice_about_its_centre_is_not_proved_simple() -> None:
    a = np.linspace(0.0, 4 * np.pi, 9, endpoint=False)
    twice = np.c_[np.cos(a), np.sin(a)] * 5
    assert not star_simple(twice)
    assert every_pair_check(twice) is not None
