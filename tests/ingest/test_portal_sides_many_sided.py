"""Which way a portal faces, in rooms with many corners (ingest/portal_sides.py): such a room is
measured through its outline's convex hull, a few corners a portal, and decides as measuring
every corner did."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sceneforge.ingest import portal_sides
from sceneforge.model.ir import Cell, Portal, Room

F64 = Any


def _room(cell_id: str, floor: F64, y: float = 0.0, height: float = 3.0) -> Cell:
    return Cell(cell_id, Room(np.asarray(floor, np.float64), y, height, 0.1, "default"))


def _quad(centre: F64, normal: F64, size: float = 0.4) -> F64:
    """A square around ``centre`` whose right-hand normal is ``normal``."""
    n = np.asarray(normal, np.float64) / np.linalg.norm(normal)
    helper = np.array([0.0, 1.0, 0.0]) if abs(n[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, n)
    u /= np.linalg.norm(u)
    v = np.cross(n, u)  # (u, v, n) right-handed: corners u, v, -u, -v turn about +n
    return np.asarray(centre, np.float64) + size * np.array([u, v, -u, -v])


def _hub(sides: int, doors: int) -> tuple[list[Cell], list[Portal]]:
    """A regular ``sides``-gon with a doorway in every (sides // doors)-th edge into a small room
    outside it; every other quad wound backwards."""
    r = 0.5 / (2 * math.sin(math.pi / sides))
    t = 2 * math.pi * np.arange(sides) / sides
    floor = np.column_stack([r * np.cos(t), r * np.sin(t)])
    cells = [_room("hub", floor)]
    portals = []
    for d in range(doors):
        i = d * (sides // doors)
        a, b = floor[i], floor[(i + 1) % sides]
        out = (a + b) / np.linalg.norm(a + b)
        cells.append(_room(f"r{d}", [a, a + out, b + out, b]))
        mid = (a + b) / 2
        normal = [out[0], 0.0, out[1]] if d % 2 == 0 else [-out[0], 0.0, -out[1]]
        portals.append(Portal(d, "hub", f"r{d}", _quad([mid[0], 1.0, mid[1]], normal, 0.1)))
    return cells, portals


class _CountingNumpy:
    """numpy, counting the rows of every ``einsum``: the module measures each (portal, point) pair
    with one, so this counts the pairs it evaluates."""

    def __init__(self) -> None:
        self.rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def einsum(self, spec: str, *operands: Any, **kwargs: Any) -> Any:
        self.rows += int(np.asarray(operands[0]).shape[0])
        return np.einsum(spec, *operands, **kwargs)


def test_a_many_sided_room_costs_a_few_points_a_portal_not_all_of_its_corners(monkeypatch: pytest.MonkeyPatch) -> None:
    cells, portals = _hub(4096, 256)
    counting = _CountingNumpy()
    monkeypatch.setattr(portal_sides, "np", counting)
    faced, turned = portal_sides.face_portals(cells, portals)
    assert turned == list(range(1, 256, 2))  # the backwards half, turned to face the small rooms
    # Each portal: its plane (1 row), both box centres (2), its small room's 8 corners and a few of
    # the hub's. Measuring all of the hub's 8,192 points a portal asked 2.1 million rows.
    assert counting.rows <= 32 * len(portals)
    for p in faced:  # each faces out of the hub, into its small room
        centre = p.quad.mean(axis=0)
        assert p.normal[0] * centre[0] + p.normal[2] * centre[2] > 0


# --- The hull path against measuring every point -------------------------------------------------


def _reference_extents(normal: F64, offset: F64, cell: F64, points: F64, starts: F64, counts: F64) -> tuple[F64, F64]:
    """Every point of the cell against every portal's plane, as one array (the brute force)."""
    lo, hi = np.zeros(cell.shape[0]), np.zeros(cell.shape[0])
    for j, c in enumerate(cell.tolist()):
        if counts[c]:
            pts = points[starts[c] : starts[c] + counts[c]]
            s = np.einsum("ij,ij->i", pts, np.broadcast_to(normal[j], pts.shape).copy()) + offset[j]
            lo[j], hi[j] = s.min(), s.max()
    return lo, hi


@st.composite
def _outline(draw: st.DrawFn) -> F64:
    """A floor outline of 3 to 300 corners: convex (points on an ellipse), star-shaped (random radii),
    a rectangle with collinear corners along its sides, or a regular polygon rounded to a grid
    (nearly collinear corners); either way round; turned, shifted and scaled at random, sometimes far
    from the origin."""
    kind = draw(st.sampled_from(["convex", "star", "rectangle", "rounded"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(3, 300))
    if kind == "convex":
        t = np.sort(rng.uniform(0, 2 * np.pi, k))
        pts = np.column_stack([np.cos(t) * rng.uniform(0.2, 5), np.sin(t)])
    elif kind == "star":
        t = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(0.1, 1.0, k) ** draw(st.sampled_from([1, 4]))
        pts = np.column_stack([np.cos(t), np.sin(t)]) * radius[:, None]
    elif kind == "rectangle":
        per = max(1, k // 4)
        s = np.arange(per) / per
        w, h = rng.uniform(0.5, 8, 2)
        pts = np.concatenate(
            [
                np.column_stack([s * w, 0 * s]),
                np.column_stack([w + 0 * s, s * h]),
                np.column_stack([w - s * w, h + 0 * s]),
                np.column_stack([0 * s, h - s * h]),
            ]
        )
    else:
        t = 2 * np.pi * np.arange(k) / k
        r = 0.5 / (2 * math.sin(math.pi / k))
        pts = np.round(np.column_stack([np.cos(t), np.sin(t)]) * r, draw(st.sampled_from([2, 4])))
    a = rng.uniform(0, 2 * np.pi)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    shift = rng.uniform(-1, 1, 2) * draw(st.sampled_from([0.0, 10.0, 1e5]))
    if draw(st.booleans()):
        pts = pts[::-1]  # clockwise
    return (pts @ turn.T) * rng.uniform(0.5, 20) + shift


@st.composite
def _planes(draw: st.DrawFn, floor: F64, y: float, height: float) -> tuple[F64, F64]:
    """Portal quads through the room: in the plane of one of its walls (a doorway), upright at a
    random heading, along an axis, tilted, or level; through a corner or a random point of it."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    count = draw(st.integers(1, 40))
    quads = []
    for _ in range(count):
        kind = draw(st.sampled_from(["wall", "upright", "axis", "tilted", "level"]))
        i = int(rng.integers(floor.shape[0]))
        a, b = floor[i], floor[(i + 1) % floor.shape[0]]
        point = floor[int(rng.integers(floor.shape[0]))] if rng.random() < 0.5 else floor.mean(axis=0)
        if kind == "wall":
            d = b - a
            normal = [d[1], 0.0, -d[0]]
            point = (a + b) / 2
        elif kind == "upright":
            t = rng.uniform(0, 2 * np.pi)
            normal = [np.cos(t), 0.0, np.sin(t)]
        elif kind == "axis":
            normal = [[1.0, 0, 0], [-1.0, 0, 0], [0, 0, 1.0], [0, 0, -1.0]][int(rng.integers(4))]
        elif kind == "tilted":
            normal = list(rng.normal(size=3))
        else:
            normal = [0.0, float(rng.choice([-1.0, 1.0])), 0.0]
        if not np.any(normal):
            normal = [1.0, 0.0, 0.0]
        level = y + height * float(rng.choice([0.0, 0.5, 1.0, rng.uniform()]))
        quads.append(_quad([point[0], level, point[1]], normal, float(rng.uniform(0.05, 1.0))))
    return np.stack(quads), rng.integers(0, 2, count).astype(np.bool_)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hull_extents_decide_as_every_point_does(data: st.DataObject) -> None:
    """Random outlines and portal planes: the extents through the hull are those of every point,
    and so are the votes."""
    floors = [data.draw(_outline()) for _ in range(2)]
    y = data.draw(st.sampled_from([0.0, 4.0, -2.5]))
    height = data.draw(st.sampled_from([3.0, 2.4, 0.5]))
    cells = [_room("a", floors[0], y, height), _room("b", floors[1], y + height, height)]
    quads, to_b = data.draw(_planes(floors[0], y, height))
    pairs = [("a", "b") if tb else ("b", "a") for tb in to_b]
    portals = [Portal(k, f, t, q) for k, ((f, t), q) in enumerate(zip(pairs, quads, strict=True))]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(portal_sides, "_OUTLINE_ABOVE", 2)  # every room through its hull
        tie = _check_against_every_point(cells, portals, quads)
        fast = portal_sides.face_portals(cells, portals)[1]
    if tie:
        return
    # and the whole decision, box centres included: as measured point by point
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(portal_sides, "_OUTLINE_ABOVE", 10**9)
        assert fast == portal_sides.face_portals(cells, portals)[1]


def _check_against_every_point(cells: list[Cell], portals: list[Portal], quads: F64) -> bool:
    """Extents and votes through the hulls against every point's; whether some vote is a tie."""
    index = {"a": 0, "b": 1}
    cell = np.array([index[p.from_cell] for p in portals] + [index[p.to_cell] for p in portals], np.int64)
    q = np.concatenate([quads, quads])
    normal = np.cross(q[:, 2] - q[:, 0], q[:, 3] - q[:, 1])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    offset = -np.einsum("ij,ij->i", normal, q.mean(axis=1))
    points, starts, counts, rooms = portal_sides._cell_points(cells)
    hulls = portal_sides._OutlineHulls(rooms, cell, cell, points, starts, counts)
    assert (hulls.rank >= 0).all()
    lo, hi = portal_sides._extents(normal, offset, cell, points, starts, counts, hulls)
    ref_lo, ref_hi = _reference_extents(normal, offset, cell, points, starts, counts)
    # Each extent is a point's distance, computed the same way. The hull leaves out corners in the
    # middle of its edges: along such an edge's normal their distances are its ends' but for
    # rounding, so an extent may differ from every point's by a few units in the last place.
    tol = 64 * np.finfo(np.float64).eps * (np.abs(points).max() + np.abs(offset))
    assert (np.abs(lo - ref_lo) <= tol).all()
    assert (np.abs(hi - ref_hi) <= tol).all()
    # The votes agree, but where the extents lie that close to a vote's bounds (a tie).
    m = portal_sides._MOSTLY
    tie = (np.abs(ref_lo) <= tol) & (np.abs(ref_hi) <= tol)
    tie |= (np.abs(ref_hi + m * ref_lo) <= 2 * tol) | (np.abs(ref_lo + m * ref_hi) <= 2 * tol)
    for got, want in zip(portal_sides._mostly(lo, hi), portal_sides._mostly(ref_lo, ref_hi), strict=True):
        np.testing.assert_array_equal(got[~tie], want[~tie])
    event(f"extents differing in the last places: {'some' if (lo != ref_lo).any() or (hi != ref_hi).any() else 'none'}")
    event(f"ties: {'some' if tie.any() else 'none'}")
    return bool(tie.any())
