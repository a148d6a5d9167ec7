"""The fit of a rounded rectilinear outline (geometry/frames.py: an L, a U or a floor traced from a subdivided mesh,
turned and written to millimetres) is whole-array work: its points put on their lines and its grid's nodes placed
give, to the bit, what placing them one at a time (the definitions below) gives, on outlines of every kind."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry import frames
from sceneforge.geometry.frames import _ROUNDING

F64 = np.ndarray


def _on_lines_one_by_one(drawn: F64, kept: F64, starts: F64, run_of: F64, values: F64) -> F64:
    """:func:`frames._on_lines`, point by point (the loose points then grouped as it groups them)."""
    k = drawn.shape[0]
    local = drawn.copy()
    loose: list[tuple[int, int]] = []
    for i in range(k):  # point i ends wall i - 1 and starts wall i
        for wall in (i - 1, i):
            local[i, kept[wall % k]] = values[run_of[wall % k]]
        if kept[i - 1] == kept[i]:
            free = 1 - kept[i]
            lines = values[kept[starts] == free]
            near = lines[np.abs(lines - local[i, free]) <= _ROUNDING]
            if near.size:
                local[i, free] = near[0]
            else:
                loose.append((i, free))
    for axis in (0, 1):  # (the loose points' own pass, unchanged: frames._loose_on_lines)
        frames._loose_on_lines(local, np.array([i for i, free in loose if free == axis], dtype=np.int64), axis)
    return local


def _nodes_one_by_one(local: F64, drawn: F64) -> F64 | None:
    """:meth:`frames._GridMap.of`'s nodes, node by node: along each wall, then each node off the walls from the
    nodes beside it along its line across z (interpolated between the one before it and the next on a wall)."""
    xs, zs = np.unique(local[:, 0]), np.unique(local[:, 1])
    shift = np.full((xs.size, zs.size, 2), np.nan)
    ix, iz = np.searchsorted(xs, local[:, 0]), np.searchsorted(zs, local[:, 1])
    moved = drawn - local
    for a, b in zip(range(local.shape[0]), np.roll(np.arange(local.shape[0]), -1), strict=True):
        along = 0 if iz[a] == iz[b] else 1
        lines, at = (xs, ix) if along == 0 else (zs, iz)
        lo, hi = sorted((int(at[a]), int(at[b])))
        for n in range(lo, hi + 1):
            f = (lines[n] - lines[at[a]]) / (lines[at[b]] - lines[at[a]])
            node = (n, iz[a]) if along == 0 else (ix[a], n)
            value = moved[b] if n == at[b] else moved[a] + f * (moved[b] - moved[a])
            if n == at[a]:
                value = moved[a]
            old = shift[node]
            if not np.isnan(old).any() and np.abs(old - value).max() > 1e-12:
                return None
            shift[node] = value
    for i, j in zip(*np.nonzero(np.isnan(shift[..., 0])), strict=True):
        line = shift[i, :]
        fixed = ~np.isnan(line[:, 0])
        below, above = np.flatnonzero(fixed[:j]), j + 1 + np.flatnonzero(fixed[j + 1 :])
        if below.size and above.size:
            lo, hi = int(below[-1]), int(above[0])
            f = (zs[j] - zs[lo]) / (zs[hi] - zs[lo])
            shift[i, j] = line[lo] + f * (line[hi] - line[lo])
        else:
            shift[i, j] = line[int(below[-1]) if below.size else int(above[0])]
    return np.stack(np.meshgrid(xs, zs, indexing="ij"), -1) + shift


def _staircase(steps: int) -> F64:
    ring = [(0.0, 0.0)] + [p for k in range(steps) for p in ((k + 1.0, float(k)), (k + 1.0, k + 1.0))]
    return np.array([*ring, (0.0, float(steps))])


def _traced(corners: list[tuple[float, float]], step: float) -> F64:
    """The outline through ``corners`` with a point every ``step`` m along each wall (as traced from a floor mesh
    subdivided so)."""
    out = []
    for p, q in zip(corners, corners[1:] + corners[:1], strict=True):
        a, b = np.array(p), np.array(q)
        n = max(1, int(np.hypot(*(b - a)) // step))
        out += [a + (b - a) * i / n for i in range(n)]
    return np.array(out)


@st.composite
def rounded_rectilinear_outlines(draw: st.DrawFn) -> F64:
    """A staircase, or a box, an L or a U traced every 0.1 m to 1 m (or not), turned, moved and written to
    millimetres (or to 0.1 or 10 mm)."""
    kind = draw(st.sampled_from(["stairs", "box", "L", "U"]))
    if kind == "stairs":
        plan = _staircase(draw(st.integers(2, 40))) * draw(st.floats(0.5, 3.0))
    else:
        w, d = draw(st.floats(2.0, 12.0)), draw(st.floats(2.0, 12.0))
        a, b, c = sorted(draw(st.lists(st.floats(0.2, 0.8), min_size=3, max_size=3)))
        corners = {
            "box": [(0, 0), (w, 0), (w, d), (0, d)],
            "L": [(0, 0), (w, 0), (w, d * a), (w * b, d * a), (w * b, d), (0, d)],
            "U": [(0, 0), (w, 0), (w, d), (w * c, d), (w * c, d * a), (w * b, d * a), (w * b, d), (0, d)],
        }[kind]
        plan = _traced([(float(x), float(z)) for x, z in corners], draw(st.sampled_from([0.1, 0.25, 0.5, 1.0, 1e3])))
    theta = np.radians(draw(st.floats(0.0, 360.0)))
    c, s = np.cos(theta), np.sin(theta)
    turned = plan @ np.array([[c, s], [-s, c]]) + np.array([draw(st.floats(-50, 50)), draw(st.floats(-50, 50))])
    return np.round(turned, draw(st.sampled_from([2, 3, 4])))


@settings(max_examples=300, deadline=None)
@given(rounded_rectilinear_outlines())
def test_the_fit_places_points_and_nodes_as_one_at_a_time(floor: F64) -> None:
    calls: list[str] = []
    on_lines, grid_of = frames._on_lines, frames._GridMap.of

    def checked_on_lines(*args: F64) -> F64:
        out = on_lines(*args)
        np.testing.assert_array_equal(out, _on_lines_one_by_one(*args))
        calls.append("points")
        return out

    def checked_grid(local: F64, drawn: F64) -> Any:
        out = grid_of(local, drawn)
        if out is not None:
            np.testing.assert_array_equal(out.nodes, _nodes_one_by_one(local, drawn))
            calls.append("nodes")
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frames, "_on_lines", checked_on_lines)
        patch.setattr(frames._GridMap, "of", checked_grid)
        fitted = frames._rounded_rectilinear(floor)
    if fitted is not None:
        assert calls == ["points", "nodes"]


def test_a_fit_is_bounded_by_corners_and_by_its_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """A turned staircase of 2,002 corners (its grid 1001² nodes; placed one at a time, 24 s) is fitted; an
    outline of more than ``_RECTILINEAR_CORNERS`` corners, or whose grid has more than ``_GRID_NODES`` nodes, is
    not (its room is built as the panels build the outline as written)."""

    def turned(plan: F64) -> F64:
        c, s = np.cos(np.radians(30.0)), np.sin(np.radians(30.0))
        return np.round(plan @ np.array([[c, s], [-s, c]]), 3)

    fitted = frames._rounded_rectilinear(turned(_staircase(1000)))
    assert fitted is not None and fitted[2].nodes.shape == (1001, 1001, 2)
    # A corridor 1 m wide traced every metre: as many corners as the bound, and two more.
    long = frames._RECTILINEAR_CORNERS // 2 - 1
    assert frames._rounded_rectilinear(turned(_traced([(0, 0), (long, 0), (long, 1), (0, 1)], 1.0))) is not None
    assert frames._rounded_rectilinear(turned(_traced([(0, 0), (long + 1, 0), (long + 1, 1), (0, 1)], 1.0))) is None
    monkeypatch.setattr(frames, "_GRID_NODES", 33 * 33 - 1)
    assert frames._rounded_rectilinear(turned(_staircase(31))) is not None  # 32² nodes
    assert frames._rounded_rectilinear(turned(_staircase(32))) is None  # 33²


def test_a_straight_wall_drawn_in_pieces_is_drawn_without_them_and_a_curve_is_kept() -> None:
    """``frames._straight_outline``: the points of a wall traced every 0.25 m and written to millimetres (each up to
    0.71 mm off its line) go; the corners, a 45° chamfer's and the points of an arc (its middle point 1.4 mm off the
    chord of its neighbours) stay on a plan written to a tenth of a millimetre, where the rounding is ten times
    finer; a circle drawn with 2,000 walls is no straight wall at all."""
    c, s = np.cos(np.radians(17.0)), np.sin(np.radians(17.0))
    turn = np.array([[c, s], [-s, c]])
    corners = [(0.0, 0.0), (6.0, 0.0), (6.0, 4.0), (1.0, 4.0), (0.0, 3.0)]
    traced = np.round(_traced(corners, 0.25) @ turn + 10.0, 3)
    straight = frames._straight_outline(traced)
    assert straight is not None
    np.testing.assert_array_equal(straight, np.round(np.array(corners) @ turn + 10.0, 3))
    # A corner rounded by a 6-wall arc of 4.6 cm radius, written to 0.1 mm: its points 1.4 mm off their neighbours'
    # chords are the arc's, not rounding.
    angles = np.radians(np.linspace(0.0, 90.0, 7))
    arc = np.c_[11.954 + 0.046 * np.cos(angles), 11.954 + 0.046 * np.sin(angles)]  # (12, 11.954) to (11.954, 12)
    bevelled = np.round(np.vstack([[8.0, 8.0], [12.0, 8.0], arc, [8.0, 12.0]]), 4)
    assert frames._straight_outline(bevelled) is None
    assert frames._straight_outline(np.round(bevelled, 3)) is not None  # to millimetres: as rounding, it goes
    circle = np.round(5.0 * np.c_[np.cos(np.linspace(0, 2 * np.pi, 2000, endpoint=False)),
                                   np.sin(np.linspace(0, 2 * np.pi, 2000, endpoint=False))], 3)  # fmt: skip
    assert frames._straight_outline(circle) is None
