"""wall_hits: which portal quads lie on which walls; the hits of testing every (quad, wall) pair, in bounded memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry import doors
from sceneforge.geometry.doors import RoomArrays, WallHits, wall_hits
from sceneforge.geometry.outline import wall_edges_of
from sceneforge.tolerances import CONTACT_EPS, ON_WALL_EPS

A = np.ndarray
#: wall_hits' arguments: quads, quad_room, start, tangent, normal, length, first, rooms.
Args = tuple[A, A, A, A, A, A, A, RoomArrays]


def all_pairs_wall_hits(
    quads: np.ndarray,
    quad_room: np.ndarray,
    start: np.ndarray,
    tangent: np.ndarray,
    normal: np.ndarray,
    length: np.ndarray,
    first: np.ndarray,
    rooms: RoomArrays,
) -> WallHits:
    """The reference: every portal against every edge of its room, all at once (the per-pair test is
    the function's own: what is compared is which pairs it tests, and in what order it answers)."""
    pq, pe = doors._pairs(quad_room, first)
    return doors._hit_test(quads, quad_room, start, tangent, normal, length, rooms, pq, pe)


def _outline(kind: int, sides: int, cx: float, cz: float, size: float, rnd: np.random.Generator) -> np.ndarray:
    if kind == 0:  # a box, its walls split into collinear pieces
        per = max(1, sides // 4)
        u = np.linspace(0.0, 1.0, per, endpoint=False)
        a, b = size, size * rnd.uniform(0.3, 1.0)
        sq = [(-a + 2 * a * s, -b) for s in u] + [(a, -b + 2 * b * s) for s in u]
        sq += [(a - 2 * a * s, b) for s in u] + [(-a, b - 2 * b * s) for s in u]
        pts = np.array(sq)
    elif kind == 1:  # a regular polygon, many sides
        ang = 2 * np.pi * np.arange(sides) / sides
        pts = size * np.stack([np.cos(ang), np.sin(ang)], 1)
    else:  # a random star-shaped polygon: simple, concave
        ang = np.sort(rnd.uniform(0, 2 * np.pi, sides))
        rad = size * rnd.uniform(0.2, 1.0, sides)
        pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
    if rnd.random() < 0.5:
        pts = pts[::-1]  # clockwise too
    if rnd.random() < 0.5:
        pts = np.round(pts, 2)  # on a grid: quads land exactly on the tolerances' borders
    out: np.ndarray = pts + np.array([cx, cz])
    return out


def _scene(seed: int, n_rooms: int, n_quads: int, max_sides: int) -> Args:
    rnd = np.random.default_rng(seed)
    floors = []
    for _ in range(n_rooms):
        kind = int(rnd.integers(0, 3))
        sides = int(rnd.integers(3, max_sides + 1))
        floors.append(_outline(kind, sides, rnd.uniform(-50, 50), rnd.uniform(-50, 50), rnd.uniform(0.5, 20), rnd))
    edges = wall_edges_of(floors)
    first = np.searchsorted(edges.room, np.arange(n_rooms + 1))
    y0 = np.round(rnd.uniform(-5, 5, n_rooms), 1)
    y1 = y0 + np.round(rnd.uniform(0.5, 4, n_rooms), 1)
    thickness = rnd.choice([0.0, CONTACT_EPS, 0.1, 0.25, 2.0], n_rooms)
    rooms = RoomArrays(y0, y1, thickness, np.zeros((n_rooms, 2)), np.zeros((n_rooms, 2)))
    quad_room = rnd.integers(0, n_rooms, n_quads)
    quads = np.empty((n_quads, 4, 3))
    for i, r in enumerate(quad_room.tolist()):
        e = int(rnd.integers(first[r], first[r + 1])) if first[r + 1] > first[r] else None
        style = rnd.random()
        if e is None or style < 0.1:  # anywhere near the room
            c = floors[r].mean(axis=0)
            q = np.empty((4, 3))
            q[:, [0, 2]] = c + rnd.uniform(-25, 25, (4, 2))
            q[:, 1] = rnd.uniform(y0[r] - 1, y1[r] + 1, 4)
        else:
            s, tg, nm, ln = edges.start[e], edges.tangent[e], edges.normal[e], edges.length[e]
            a0, a1 = np.sort(rnd.uniform(-0.2 * ln - 0.01, 1.2 * ln + 0.01, 2))
            if rnd.random() < 0.2:  # a side on the wall's end, or the tolerance past it
                a0 = rnd.choice([0.0, CONTACT_EPS, -CONTACT_EPS, ln - CONTACT_EPS, ln])
            d = rnd.choice([0.0, ON_WALL_EPS, 1.5 * ON_WALL_EPS, -thickness[r] - ON_WALL_EPS, -thickness[r] / 2])
            d = d if rnd.random() < 0.8 else rnd.uniform(-3, 1)
            lo, hi = np.sort(rnd.uniform(y0[r] - 0.5, y1[r] + 0.5, 2))
            along = np.array([a0, a0, a1, a1])
            across = np.full(4, d)
            if rnd.random() < 0.3:  # turned about the vertical, or across the wall
                across = across + rnd.normal(0, 0.05 if rnd.random() < 0.5 else 1.0) * (along - along.mean())
            if rnd.random() < 0.1:  # degenerate: a segment or a point
                along = np.full(4, a0)
            q = np.empty((4, 3))
            q[:, [0, 2]] = s + along[:, None] * tg + across[:, None] * nm
            q[:, 1] = [lo, hi, hi, lo]
            if rnd.random() < 0.3:
                q = np.round(q, 3)
        if rnd.random() < 0.03:
            q[int(rnd.integers(0, 4)), int(rnd.integers(0, 3))] = rnd.choice([np.nan, np.inf, -np.inf])
        quads[i] = q
    normal = edges.normal if rnd.random() < 0.5 else -edges.normal  # the panel path asks with the inward normal
    return quads, quad_room, edges.start, edges.tangent, normal, edges.length, first, rooms


def _same(got: WallHits, want: WallHits) -> None:
    for f in ("quad", "edge", "dist", "along", "y"):
        a, b = getattr(got, f), getattr(want, f)
        assert a.dtype == b.dtype and a.shape == b.shape, f
        assert a.tobytes() == b.tobytes(), f  # to the bit: signed zeros and NaNs too


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_rooms=st.integers(1, 6),
    n_quads=st.integers(0, 60),
    max_sides=st.sampled_from([4, 12, 64, 300]),
    group=st.sampled_from([1, 5, 64, 1 << 16]),
)
def test_wall_hits_are_every_pairs_hits(seed: int, n_rooms: int, n_quads: int, max_sides: int, group: int) -> None:
    # A small group sends every scene through the bounds filter, in many groups.
    args = _scene(seed, n_rooms, n_quads, max_sides)
    want = all_pairs_wall_hits(*args)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(doors, "_HIT_GROUP", group)
        _same(wall_hits(*args), want)


def _hub(sides: int, doorways: int) -> Args:
    """A regular ``sides``-gon with 0.5 m edges, a doorway on every (sides // doorways)-th edge."""
    r = 0.5 / (2 * math.sin(math.pi / sides))
    ang = 2 * np.pi * np.arange(sides) / sides
    floor = np.round(r * np.stack([np.cos(ang), np.sin(ang)], 1), 4)
    edges = wall_edges_of([floor])
    first = np.array([0, edges.start.shape[0]])
    on = np.arange(doorways) * (sides // doorways)
    s, tg = edges.start[on], edges.tangent[on]
    quads = np.empty((doorways, 4, 3))
    for k, (u, y) in enumerate(((0.3, 0.1), (0.3, 2.0), (0.7, 2.0), (0.7, 0.1))):
        quads[:, k, [0, 2]] = s + (u * edges.length[on])[:, None] * tg
        quads[:, k, 1] = y
    rooms = RoomArrays(np.zeros(1), np.full(1, 3.0), np.full(1, 0.1), np.zeros((1, 2)), np.zeros((1, 2)))
    return (
        quads,
        np.zeros(doorways, dtype=np.int64),
        edges.start,
        edges.tangent,
        edges.normal,
        edges.length,
        first,
        rooms,
    )


def test_wall_hits_memory_is_bounded_on_a_room_of_many_sides_and_doorways() -> None:
    # 4,096 sides by 1,000 doorways is 4.1 million (doorway, wall) pairs: 1.1 GB traced when all were tested at once.
    import tracemalloc

    args = _hub(4096, 1000)
    tracemalloc.start()
    try:
        hits = wall_hits(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hits.quad.tolist() == list(range(1000))
    assert hits.edge.tolist() == (np.arange(1000) * 4).tolist()
    assert peak < 64 * 2**20, peak


def test_wall_hits_on_a_hub_are_every_pairs_hits() -> None:
    args = _hub(512, 100)
    _same(wall_hits(*args), all_pairs_wall_hits(*args))
