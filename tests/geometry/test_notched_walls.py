"""Walls with pilasters, niches and jogs (runs of short walls turning both ways, ``tests/notched.py``): the
panel path builds such a room (a niche narrower than two walls fills in: the cavity loses it, the walls of its
run are fanned from one apex, ``panels.walls._collapse``), the solid the booleans cut, closed, every opening open, no
sliver."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.geometry import generate_rooms
from sceneforge.geometry.panels.walls import walls
from sceneforge.model.ir import Room

from ..notched import notched
from .meshcheck import scene
from .test_short_edges import assert_panels_build_the_boolean_solid, doorway


def _turned(points: np.ndarray, angle: float, shift: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]]) + shift


@st.composite
def notched_rooms(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[np.ndarray]]:
    """A rectangular room 3–8 m a side, walls 5–20 cm thick, turned anywhere within 50 m, with a niche narrower
    than two walls on its first wall (which the panels had left to the booleans) and up to two more pilasters,
    niches (narrower or wider than two walls) or jogs on each wall, 1 cm to twice the walls deep, 1 cm to three
    walls wide, their spans two walls and 5 cm or more apart, four walls and 5 cm from the walls' ends; a doorway
    (from the floor's underside or its top) or a window on some walls between them; and a point in each opening."""
    t = draw(st.sampled_from([0.05, 0.1, 0.15, 0.2]))
    width, depth = draw(st.floats(3.0, 8.0)), draw(st.floats(3.0, 8.0))
    corners = np.array([[0.0, 0.0], [width, 0.0], [width, depth], [0.0, depth]])
    lengths = [width, depth, width, depth]
    clear = 2 * t + 0.05
    # From a corner: a feature up to two walls deep on the wall across, and both offsets, never meet this one's
    # (two pilasters either side of a corner whose offsets cross leave a pocket: the booleans').
    end_clear = 4 * t + 0.05
    features, doors = [], []
    for wall in range(4):
        taken: list[tuple[float, float]] = []
        wanted = [("niche-narrow", None)] if wall == 0 else []
        wanted += [
            (draw(st.sampled_from(["pilaster", "niche", "jog", "jog-in"])), None)
            for _ in range(draw(st.integers(0, 2)))
        ]
        if draw(st.booleans()):
            wanted.insert(draw(st.integers(0, len(wanted))), ("door", None))
        for kind, _ in wanted:
            if kind.startswith("jog") and wall >= 2:
                continue
            f_depth = draw(st.floats(0.01, 2 * t))
            if kind == "niche-narrow":
                f_width = draw(st.floats(0.01, 2 * t - 1e-3))
            elif kind == "niche":  # wider than two walls (a niche whose back keeps an inner face 2 mm or more wide)
                f_width = draw(st.floats(2 * t + 3e-3, 3 * t))
            elif kind == "pilaster":
                f_width = draw(st.floats(0.01, 3 * t))
            elif kind == "door":
                f_width = 0.8
            else:
                f_width = 0.0
            lo = max([end_clear] + [b + clear for _, b in taken])
            hi = lengths[wall] - end_clear - f_width
            if lo > hi:
                continue
            at = draw(st.floats(lo, min(hi, lo + 1.5)))
            if kind.startswith("jog"):
                if taken and taken[-1][1] > at:
                    continue
                taken.append((at, lengths[wall]))
            else:
                taken.append((at, at + f_width))
            if kind == "door":
                doors.append((wall, at, draw(st.sampled_from(["door", "floor-top", "window"]))))
            else:
                features.append((wall, kind.removesuffix("-narrow"), at, f_depth, f_width))
            if kind.startswith("jog"):
                break
    outline = notched(corners, features)
    angle, shift = draw(st.floats(0.0, 2 * np.pi)), np.array([draw(st.floats(-50, 50)), draw(st.floats(-50, 50))])
    turned = _turned(outline, angle, shift)
    y0, h = draw(st.sampled_from([0.0, -1.5])), draw(st.sampled_from([2.6, 3.0]))
    room = Room(turned, y0, h, t, "wall")
    quads, points = [], []
    for wall, at, kind in doors:
        p, q = _turned(corners[[wall, (wall + 1) % 4]], angle, shift)
        lo, hi = {"door": (y0, y0 + 2.1), "floor-top": (y0 + t, y0 + 2.1), "window": (y0 + 1.0, y0 + 2.0)}[kind]
        quads.append(doorway(p, q, at, at + 0.8, lo, hi))
        points.append(quads[-1].mean(axis=0))
    return room, quads, points


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notched_rooms())
def test_notched_walls_take_the_panels_and_build_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[np.ndarray]],
) -> None:
    assert_panels_build_the_boolean_solid(*case)


@st.composite
def crowded_rooms(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[np.ndarray]]:
    """A room 2–5 m a side, walls 5–20 cm thick, each wall with up to four pilasters, niches or jogs 1 cm to
    0.6 m apart and from its ends (they meet each other's offsets: a pilaster a few centimetres from a corner,
    a niche beside a jog), and doorways two walls and 5 cm or more from them and four walls and 5 cm from the
    corners (a doorway drawn past an apex is cut there by the panels, a few millimetres farther by the booleans:
    docs/geometry.md; and one drawn past a jog's step hangs outside the room); and a point in each doorway."""
    t = draw(st.sampled_from([0.05, 0.1, 0.15, 0.2]))
    width, depth = draw(st.floats(2.0, 5.0)), draw(st.floats(2.0, 5.0))
    corners = np.array([[0.0, 0.0], [width, 0.0], [width, depth], [0.0, depth]])
    lengths = [width, depth, width, depth]
    features, doors = [], []
    for wall in range(4):
        at, last = draw(st.floats(0.01, 0.5)), -1.0
        kinds = ["pilaster", "niche", "door", "jog", "jog-in"] if wall < 2 else ["pilaster", "niche", "door"]
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(kinds))
            size = 0.8 if kind == "door" else 0.0 if kind.startswith("jog") else draw(st.floats(0.01, 3 * t))
            if kind == "door":  # (four walls from the corners: a jog or a feature of the wall across reaches two)
                at = max(at, last + 2 * t + 0.05, 4 * t + 0.05)
            if at + size > lengths[wall] - (4 * t + 0.05 if kind == "door" else 0.01):
                break
            if kind == "door":
                doors.append((wall, at))
            else:
                features.append((wall, kind, at, draw(st.floats(0.01, 2 * t)), size))
                last = at + size
            if kind.startswith("jog"):
                break
            at += size + (2 * t + 0.05 if kind == "door" else draw(st.floats(0.01, 0.6)))
    room = Room(notched(corners, features), 0.0, 3.0, t, "wall")
    quads = [doorway(corners[w], corners[(w + 1) % 4], a, a + 0.8, 0.0, 2.1) for w, a in doors]
    return room, quads, [q.mean(axis=0) for q in quads]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_rooms())
def test_crowded_notched_walls_build_the_boolean_solid_where_they_take_the_panels(
    case: tuple[Room, list[np.ndarray], list[np.ndarray]],
) -> None:
    # Where the features' offsets meet, the cavity may fall apart (a pilaster's offset closing on a corner's
    # leaves an island), keep a slot a millimetre wide, or an opening lie on a wall whose footprint joined a
    # run's: such rooms are the booleans'. Every room the panels take is the booleans' solid.
    room, quads, points = case
    if generate_rooms(scene({"r": room}, [("r", "x", q) for q in quads])) == 0:
        assert_panels_build_the_boolean_solid(room, quads, points)


def test_a_niche_narrower_than_two_walls_fills_in() -> None:
    # A 6 × 4 m room, 0.1 m walls, a niche 12 cm wide and 5 cm deep in its first wall: the cavity's side runs
    # straight past it (z = 0.1), the niche's three walls lose their inner faces, fanned from one apex on that
    # line across from the niche's mouth.
    outline = notched(np.array([[0, 0], [6, 0], [6, 4], [0, 4]], float), [(0, "niche", 2.0, 0.05, 0.12)])
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    w = walls([room])
    assert w.ok.all() and w.collapsed.tolist() == [False, True, True, True] + [False] * 4
    assert np.allclose(w.inner[1:5], [2.06, 0.1])
    assert generate_rooms(scene({"r": room}, [])) == 0


def test_a_pilaster_near_a_corner_fills_the_corner_in() -> None:
    # A pilaster 0.19 m deep and 0.4 m wide, 0.3 m from the corner, in 0.2 m walls: its side facing the corner
    # lies nearer the wall across than two walls, so the cavity runs from that wall's line straight along the
    # pilaster's far side (the wall between and that side lose their inner faces).
    outline = np.array([[12.0, 20.0], [16.0, 20.0], [16.0, 24.0], [12.0, 24.0], [12.0, 23.6989], [12.1879, 23.6989],
                        [12.1879, 23.3007], [12.0, 23.3007]])  # fmt: skip
    room = Room(outline, 0.0, 3.0, 0.2, "wall")
    w = walls([room])
    assert w.ok.all() and w.collapsed.tolist() == [False] * 3 + [True, True] + [False] * 3
    assert np.allclose(w.inner[5], [12.3879, 23.8])
    quads = [doorway(outline[0], outline[1], 1.0, 2.0, 0.0, 2.1)]
    assert_panels_build_the_boolean_solid(room, quads, [quads[0].mean(axis=0)])


def test_a_pilaster_corner_beside_the_line_to_the_apex_leaves_no_sliver() -> None:
    # A pilaster 0.2 m deep and 0.25 m wide, 6.7 cm from the corner, in 0.1 m walls: its corner lies 0.18 mm off
    # the line from the outline's corner to the apex, so the run's footprint alone had a triangle 0.18 mm high
    # whatever earcut and the flips did; the strips either side join it (their footprint has room).
    x = 1.9332301751516927
    outline = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [x, 2.0], [x, 1.80078125], [x - 0.25, 1.80078125],
                        [x - 0.25, 2.0], [0.0, 2.0]])  # fmt: skip
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    w = walls([room])
    assert w.ok.all() and w.merged.any()
    assert generate_rooms(scene({"r": room}, [])) == 0
    assert_panels_build_the_boolean_solid(room, [], [])


def test_a_pilaster_a_few_centimetres_from_a_corner_joins_the_strips_either_side() -> None:
    # A pilaster 15 cm deep and 3.6 cm wide, 2.6 cm from the corner, in 0.15 m walls: the wall between and the
    # pilaster's near side lose their inner faces; the strip of the wall across the corner, its end joined to
    # the apex, would run over the pilaster, so the footprint of both neighbours and the run is one polygon.
    outline = notched(np.array([[0, 0], [4, 0], [4, 2], [0, 2]], float), [(0, "pilaster", 0.0264, 0.15, 0.0356)])
    room = Room(outline, 0.0, 3.0, 0.15, "wall")
    w = walls([room])
    assert w.ok.all() and w.collapsed.tolist() == [True, True] + [False] * 6
    assert w.merged.tolist() == [False] * 2 + [True] + [False] * 4 + [True]
    assert_panels_build_the_boolean_solid(room, [], [])
    on_merged = doorway(outline[7], outline[0], 0.5, 1.3, 0.0, 2.1)  # (the wall across the corner)
    assert generate_rooms(scene({"r": room}, [("r", "x", on_merged)])) == 1


def test_a_doorway_on_a_filled_niche_is_left_to_the_booleans() -> None:
    # The niche's back lost its inner face: an opening there is cut by the booleans.
    outline = notched(np.array([[0, 0], [6, 0], [6, 4], [0, 4]], float), [(0, "niche", 2.0, 0.05, 0.12)])
    room = Room(outline, 0.0, 3.0, 0.1, "wall")
    on_back = doorway(outline[2], outline[3], 0.02, 0.1, 1.0, 2.0)
    assert generate_rooms(scene({"r": room}, [("r", "x", on_back)])) == 1
    beside = doorway(outline[4], outline[5], 1.0, 2.0, 0.0, 2.1)
    assert generate_rooms(scene({"r": room}, [("r", "x", beside)])) == 0
