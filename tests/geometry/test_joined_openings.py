"""Rectangular openings of one wall that touch or overlap (a doorway with a window against its jamb, a
window standing on its head, two doorways of different heights sharing a jamb) on the panel path: the
outline of their union cut as one opening, the boolean path's solid.

Against the boolean build (``fast_paths=False``): no boolean, closed and consistently wound, the same
volume (up to float32 rounding and the boolean's 0.1 mm cutting margins), no triangle under 0.5 mm high,
every opening open (a ray through the middle of each rectangle crosses no triangle).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.geometry import generate_rooms
from sceneforge.geometry.panels.joined import joined_notch, rect_union
from sceneforge.model.ir import Room

from .levels import cell_triangles, heights
from .meshcheck import box_room, draw_box_frame, only_surface, scene
from .test_panels import assert_the_boolean_solid_with_openings_open

STEP = 0.05  # every coordinate on this grid: two are equal or a step apart, never a sliver apart

Rect = tuple[float, float, float, float]


def _rays_through(quads: list[np.ndarray], floor_top: float, ceiling: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """A ray through the middle of each wall opening of ``quads``, its height between ``floor_top`` and ``ceiling``:
    from 1 m off the wall on one side, along the opening's normal, past the wall on the other."""
    rays = []
    for q in quads:
        normal = np.cross(q[1] - q[0], q[2] - q[0])
        normal /= np.linalg.norm(normal)
        centre = q.mean(axis=0)
        centre[1] = (max(q[:, 1].min(), floor_top) + min(q[:, 1].max(), ceiling)) / 2
        rays.append((centre - normal, normal))
    return rays


def _grid(draw: st.DrawFn, lo: float, hi: float) -> float:
    """A value on the ``STEP`` grid in [lo, hi] (from lo on)."""
    return round(lo + STEP * draw(st.integers(0, max(0, int(np.floor((hi - lo) / STEP + 1e-9))))), 9)


def _touching(
    draw: st.DrawFn, door: Rect, span: tuple[float, float], levels: tuple[float, float, float, float]
) -> list[Rect]:
    """Openings meeting the doorway ``door`` (within the wall's ``span`` along it; ``levels``: y0, the
    floor's top, the ceiling's underside, y1): against a jamb, on its head (narrower, wider or shifted),
    over a corner (these between the floor's top and the ceiling's underside with a step to spare), a
    second doorway of another height sharing a jamb (from the floor's underside or its top), a gallery
    against a jamb up to the ceiling's underside or the ceiling's top, and a window meeting one of those
    in turn."""
    y0, floor_top, ceiling, y1 = levels
    a, b, c, d = door
    out: list[Rect] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["jamb", "head", "corner", "door", "gallery"]))
        left = draw(st.booleans())
        base = draw(st.sampled_from(out)) if out and draw(st.booleans()) else door
        a, b, c, d = base
        width = STEP * draw(st.integers(4, 16))
        if kind in ("jamb", "corner", "gallery") and d - STEP < max(c, floor_top) + STEP:
            continue  # (too low a window to meet along a side)
        if kind == "jamb":
            lo = _grid(draw, max(c, floor_top) + STEP, d - STEP)
            hi = _grid(draw, lo + STEP, ceiling - 2 * STEP)
            rect = (a - width, a, lo, hi) if left else (b, b + width, lo, hi)
        elif kind == "head":
            if d + STEP > ceiling - 2 * STEP:
                continue  # (on a gallery's head: in the ceiling slab)
            s0 = _grid(draw, a - 4 * STEP, b - STEP)
            s1 = _grid(draw, max(s0, a) + STEP, b + 4 * STEP)
            rect = (s0, s1, d, _grid(draw, d + STEP, ceiling - 2 * STEP))
        elif kind == "corner":
            lo = _grid(draw, max(c, floor_top) + STEP, d - STEP)
            s0 = _grid(draw, a + STEP, b - STEP) if left else b - STEP * draw(st.integers(1, 3))
            rect = (s0, s0 + width, lo, _grid(draw, d + STEP, ceiling - 2 * STEP))
        elif kind == "gallery":
            lo = _grid(draw, max(c, floor_top) + STEP, d - STEP)
            hi = draw(st.sampled_from([ceiling, y1]))
            rect = (a - width, a, lo, hi) if left else (b, b + width, lo, hi)
        else:
            if c > floor_top:  # (a window's second doorway: a doorway of its own beside the first)
                continue
            bottom = draw(st.sampled_from([c, y0, floor_top]))
            top = _grid(draw, floor_top + 1.0, ceiling - 2 * STEP)
            rect = (a - width, a, bottom, top) if left else (b, b + width, bottom, top)
        rect = (round(rect[0], 9), round(rect[1], 9), rect[2], rect[3])  # (grid values as sums give them)
        if rect[0] <= span[0] or rect[1] > span[1] or rect[3] - rect[2] < STEP:
            continue
        if rect[3] > y1 or ceiling - STEP < rect[3] < ceiling or ceiling < rect[3] < y1 or rect[2] >= ceiling:
            continue  # (its top a sliver from the ceiling's underside or inside the slab, or past the room)
        if rect_union([door, *out, rect]) is None:
            continue  # (a hole enclosed by the openings, or two meeting at a corner alone: the booleans')
        out.append(rect)
    return out


@st.composite
def rooms_with_touching_openings(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box or L-shaped room, on some walls a doorway (from the floor's underside or its top) with
    openings meeting it (:func:`_touching`), each of its walls' groups ``4·STEP`` or more from the others
    and from the walls' ends, their corners maybe moved by export noise (a few µm, under ``WELD_EPS``);
    each rectangle with a ray through its middle."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    w, dep = draw(st.integers(16, 32)) * 0.25, draw(st.integers(16, 32)) * 0.25
    h = draw(st.sampled_from([2.8, 3.0, 3.4]))
    y0 = draw(st.sampled_from([0.0, 3.2, -1.5]))
    if draw(st.booleans()):
        outline = np.array([[0, 0], [w, 0], [w, dep], [0, dep]], float)
    else:
        cx, cz = w * 0.5, dep * 0.5
        outline = np.array([[0, 0], [w, 0], [w, cz], [cx, cz], [cx, dep], [0, dep]], float)
    room = Room(outline, y0, h, t, "wall")
    floor_top, ceiling = y0 + t, y0 + h - t
    noise = draw(st.sampled_from([0.0, 4e-6]))
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    k = outline.shape[0]
    for e in range(k):
        p, q = outline[e], outline[(e + 1) % k]
        length = float(np.hypot(*(q - p)))
        tangent = (q - p) / length
        outward = np.array([tangent[1], -tangent[0]])
        # Groups in slots 2.5 m long, clear of the corners by t + 0.3 m.
        start = t + 0.3
        for slot in range(int((length - 2 * start) // 2.5)):
            if not draw(st.booleans()):
                continue
            span = (start + slot * 2.5 + 4 * STEP, start + (slot + 1) * 2.5 - 4 * STEP)
            a = _grid(draw, span[0] + 0.8, span[0] + 1.0)
            # The first of a wall whose start is a convex corner maybe drawn to the cavity's corner, or past
            # the wall's end (cut from the corner on): flush with it; the openings meeting it keep off the corner
            # (met there in two stretches, the wall across would need two notches: the booleans').
            if slot == 0 and (e != 3 or k == 4) and draw(st.booleans()):
                a, span = t + draw(st.sampled_from([0.0, -0.3])), (t, span[1])
            door = (
                a,
                round(max(a, t) + STEP * draw(st.integers(12, 20)), 9),
                draw(st.sampled_from([y0, floor_top])),
                0.0,
            )
            door = (*door[:3], _grid(draw, floor_top + 1.6, floor_top + 2.1))
            levels = (y0, floor_top, ceiling, y0 + h)
            rects = [door, *_touching(draw, (max(a, t), *door[1:]), span, levels)]
            depth = draw(st.sampled_from([0.0, -t / 2, -t]))
            base = p + outward * depth
            for rect in rects:
                # (Each side moved as a whole: the quad stays a rectangle, its sides off the others' by the noise.)
                shake = noise * np.array(draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=4, max_size=4)), float)
                s0, s1, c, d = (np.array(rect) + shake).tolist()
                corners = [base + tangent * s for s in (s0, s1, s1, s0)]
                quads.append(np.array([[x, y, z] for (x, z), y in zip(corners, (c, c, d, d), strict=True)]))
                mid = p + tangent * (max(s0, t) + s1) / 2
                mid_y = (max(c, floor_top) + min(d, ceiling)) / 2
                origin = np.array([mid[0] + outward[0], mid_y, mid[1] + outward[1]])
                rays.append((origin, -np.array([outward[0], 0.0, outward[1]])))
    return room, quads, rays


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms_with_touching_openings())
def test_openings_that_meet_take_the_panel_path_as_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    assert_the_boolean_solid_with_openings_open(*case)


def _wall(*rects: Rect) -> list[np.ndarray]:
    """Quads of ``rects`` (s along x, y) in the wall z = 0 of a room [0, 8] × [0, 10]."""
    return [np.array([[a, c, 0.0], [b, c, 0.0], [b, d, 0.0], [a, d, 0.0]]) for a, b, c, d in rects]


def test_a_window_against_a_jamb_takes_the_panel_path() -> None:
    """The defect's own case: a doorway from the floor's top and a window against its jamb; the booleans
    left a vertex 1 mm off the jamb (triangles 0.7–1.8 mm high)."""
    room = box_room(0.0, 8.0, 0.0, 10.0)
    quads = _wall((5.0, 6.0, 0.1, 2.1), (6.0, 7.0, 1.0, 2.0))
    rays = [(np.array([x, y, -1.0]), np.array([0.0, 0.0, 1.0])) for x, y in ((5.5, 1.0), (6.5, 1.5))]
    assert_the_boolean_solid_with_openings_open(room, quads, rays)


@pytest.mark.parametrize(
    "rects",
    [
        # Doorways sharing a jamb, one from the floor's top, one from its underside (the same top, or another).
        [(2, 4, 0.1, 2.1), (4, 6, 0.0, 2.1)],
        [(2, 4, 0.1, 2.1), (4, 6, 0.0, 1.5)],
        # Windows sharing a jamb, one up to the ceiling's underside, one to its top.
        [(2, 4, 1.0, 2.9), (4, 6, 1.5, 3.0)],
        # A doorway (from the floor's underside or its top) beside a gallery up to the ceiling's underside or
        # its top: the inner face falls in two.
        [(2, 4, 0.0, 2.1), (4, 6, 1.1, 2.9)],
        [(2, 4, 0.1, 2.1), (4, 6, 1.1, 2.9)],
        [(2, 4, 0.0, 2.1), (4, 6, 1.1, 3.0)],
        [(2, 4, 0.1, 2.9), (4, 6, 1.1, 2.5)],
        # Galleries on both jambs (the ceiling's underside met in two stretches), a zigzag of four.
        [(1.5, 2, 0.1, 2.9), (2, 4, 0.0, 2.1), (4, 6, 1.1, 2.9)],
        [(1.5, 2, 0.1, 3.0), (2, 4, 0.0, 2.1), (4, 6, 1.1, 3.0)],  # (the ceiling's top met in two stretches)
        [(1, 2, 0.0, 2.1), (2, 3, 1.1, 2.9), (3, 4, 0.1, 2.1), (4, 5, 1.0, 3.0)],
        # Doorways from the floor's underside on both jambs of one from its top, or of a window: the wall
        # between them and the floor's underside a ring of its own, the floor slab's band in two pieces.
        [(2, 3, 0.0, 2.1), (3, 4, 0.1, 2.5), (4, 5, 0.0, 2.1)],
        [(2, 3, 0.0, 2.1), (3, 4, 1.0, 2.5), (4, 5, 0.0, 2.1)],
        # Flush with the cavity's corner at either end: the face's piece there a ring of its own.
        [(0.1, 0.65, 0.0, 1.65), (0.65, 0.85, 0.2, 2.9)],
        [(0.1, 0.65, 1.0, 3.0), (0.65, 0.85, 0.0, 2.0)],
        [(7.3, 7.9, 0.0, 1.65), (7.1, 7.3, 0.2, 2.9)],
        [(7.3, 7.9, 1.0, 3.0), (7.1, 7.3, 0.1, 2.0)],
    ],
)
def test_touching_openings_into_the_slabs_or_from_border_to_border_take_the_panel_path(rects: list[Rect]) -> None:
    """Openings of one wall sharing a jamb with different bottoms and tops, one of them passing into a slab
    (from the floor's underside beside one from its top: a side of the union on the floor's top where it
    also passes below it) or the union running from the floor's top (or underside) to the ceiling's
    underside (or top): the booleans' before, the boolean solid on the panel path now, every opening open."""
    room = box_room(0.0, 8.0, 0.0, 10.0)
    rays = [
        (np.array([(a + b) / 2, (max(c, 0.1) + min(d, 2.9)) / 2, -1.0]), np.array([0.0, 0.0, 1.0]))
        for a, b, c, d in rects
    ]
    assert_the_boolean_solid_with_openings_open(room, _wall(*rects), rays)


#: An L-shaped room (t = 0.2) whose outline turns at the reflex corner (8, 18): the wall x = 8 runs on from it
#: along z, the wall z = 18 along x back to (10, 18).
L_ROOM = [[10, 18], [8, 18], [8, 20], [4, 20], [4, 16], [6, 16], [6, 14], [10, 14]]


def _on_x8(z0: float, z1: float, c: float, d: float) -> np.ndarray:
    """An opening [z0, z1] × [c, d] in the L's wall x = 8."""
    return np.array([[8.0, c, z0], [8.0, d, z0], [8.0, d, z1], [8.0, c, z1]])


def _on_z18(x0: float, x1: float, c: float, d: float) -> np.ndarray:
    """An opening [x0, x1] × [c, d] in the L's wall z = 18."""
    return np.array([[x0, c, 18.0], [x0, d, 18.0], [x1, d, 18.0], [x1, c, 18.0]])


@pytest.mark.parametrize(
    ("outline", "quads"),
    [
        # A doorway and a window side by side sharing a jamb, from the cavity's corner to the other: the inner
        # face falls in pieces (over them, under the window), each its own ring.
        ("box", _wall((0.1, 4, 0.0, 2.1), (4, 7.9, 1.0, 2.0))),
        ("box", _wall((0.1, 4, 0.1, 2.1), (4, 7.9, 1.0, 2.0))),
        ("box", _wall((0.1, 4, 1.0, 2.0), (4, 7.9, 0.0, 2.1))),
        # Two doorways of different heights (one piece, over them), a doorway beside a gallery up to the
        # ceiling's underside or its top (the face's four borders met), three in a row.
        ("box", _wall((0.1, 4, 0.0, 2.1), (4, 7.9, 0.0, 2.5))),
        ("box", _wall((0.1, 4, 0.1, 2.1), (4, 7.9, 1.0, 2.9))),
        ("box", _wall((0.1, 4, 0.0, 2.1), (4, 7.9, 1.0, 3.0))),
        ("box", _wall((0.1, 2, 0.0, 2.1), (2, 4, 1.0, 2.0), (4, 7.9, 0.0, 2.1))),
        ("box", _wall((0.1, 2, 1.0, 2.0), (2, 4, 0.0, 2.1), (4, 7.9, 1.5, 2.9))),
        # At the L's reflex corner, a doorway flush with it on one wall and a window flush with it on the other,
        # of other heights: their jambs meet along the corner's line where both run.
        ("L", [_on_x8(18, 18.9, 0, 2.1), _on_z18(8, 8.9, 1, 2)]),
        ("L", [_on_x8(18, 18.9, 0.2, 2.1), _on_z18(8, 8.9, 1, 2.5)]),
        ("L", [_on_x8(18, 18.9, 0, 2.1), _on_z18(8, 8.9, 2.5, 3.0)]),
        ("L", [_on_x8(18, 18.9, 0, 2.8), _on_z18(8, 8.9, 1, 3.0)]),
        ("L", [_on_x8(18, 18.9, 0, 2.1), _on_x8(18, 18.9, 2.4, 2.8), _on_z18(8, 8.9, 1, 2.6)]),
        # A doorway and a window sharing a jamb, flush with the reflex corner (the outline's end: the cavity runs
        # past it), on either wall; with a doorway of the same heights flush with it on the other wall.
        ("L", [_on_z18(8, 9, 0, 2.1), _on_z18(9, 9.8, 1, 2)]),
        ("L", [_on_z18(8, 9, 1, 2), _on_z18(9, 9.8, 0.2, 2.1)]),
        ("L", [_on_z18(8, 9, 0.2, 2.1), _on_z18(9, 9.8, 1, 3.0)]),
        ("L", [_on_x8(18, 19, 1, 2.9), _on_x8(19, 19.8, 0, 2.1)]),
        ("L", [_on_z18(8, 9, 0, 2.1), _on_z18(9, 9.8, 1, 2), _on_x8(18, 19, 0, 2.1)]),
        # ... with openings of other heights flush with it on the other wall: the joined opening's side there and
        # their jambs each get the others' heights on the outer edge (a doorway and a window from corner to corner
        # beside a doorway from the slab's underside; windows sharing a jamb beside a doorway).
        ("L", [_on_z18(8, 9, 0, 2.1), _on_z18(9, 9.8, 1, 2), _on_x8(18, 19, 0.2, 2.5)]),
        ("L", [_on_z18(8, 9, 1, 2), _on_z18(9, 9.8, 0, 2.1), _on_x8(18, 19, 0, 2.1)]),
        ("L", [_on_x8(18, 19, 1, 2.8), _on_x8(19, 20, 0, 2.1), _on_z18(8, 9.8, -0.1, 2.1)]),
        ("L", [_on_z18(8, 9, 1, 2), _on_z18(9, 9.5, 1, 2.8), _on_x8(18, 20, 0, 2.1)]),
        ("L", [_on_z18(8, 9, 1, 2), _on_z18(9, 9.5, 1, 2.8), _on_x8(18, 19, 0, 2.1), _on_x8(19, 19.5, 2.4, 2.7)]),
    ],
)
def test_openings_across_a_wall_or_at_a_reflex_corner_take_the_panel_path(
    outline: str, quads: list[np.ndarray]
) -> None:
    """Openings that split a wall's inner face into pieces (a doorway and a window side by side filling the wall
    from corner to corner), flush with a reflex corner from both walls at other heights, or sharing a jamb and
    flush with a reflex corner (beside openings of the other wall there, of any heights): the booleans' before,
    the boolean solid on the panel path now, every opening open."""
    if outline == "box":
        room = box_room(0.0, 8.0, 0.0, 10.0)
    else:
        room = Room(np.array(L_ROOM, dtype=np.float64), 0.0, 3.0, 0.2, "wall")
    rays = _rays_through(quads, 0.1 if outline == "box" else 0.2, 2.8)
    assert_the_boolean_solid_with_openings_open(room, quads, rays)


def test_openings_meeting_at_a_corner_alone_are_left_to_the_booleans() -> None:
    """A window touching a doorway's top corner with its bottom corner only: their union is pinched
    there (no simple outline); the room takes the boolean path."""
    ir = scene({"r": box_room(0.0, 8.0, 0.0, 10.0)}, [("r", "x", q) for q in _wall((5, 6, 0.1, 2.1), (6, 7, 2.1, 2.6))])
    assert generate_rooms(ir) == 1
    assert only_surface(ir, "r").indices.size


def test_rect_union_outlines() -> None:
    """The union's outline, counter-clockwise, corners only; None for a pinch, a hole, pieces apart."""
    door, window = (0.0, 1.0, 0.0, 2.0), (1.0, 2.0, 1.0, 1.5)
    outline = rect_union([door, window])
    assert outline is not None
    assert outline.tolist() == [[0, 0], [1, 0], [1, 1], [2, 1], [2, 1.5], [1, 1.5], [1, 2], [0, 2]]
    assert rect_union([door, (1.0, 2.0, 2.0, 3.0)]) is None  # a corner alone
    assert rect_union([door, (2.0, 3.0, 0.0, 1.0)]) is None  # apart
    ring = [(0, 3, 0, 1), (0, 1, 1, 3), (2, 3, 1, 3), (0, 3, 3, 4)]
    assert rect_union([tuple(map(float, r)) for r in ring]) is None  # a hole


def test_joined_notch_refuses_what_the_panels_do_not_cut() -> None:
    """Steps under ``GAP`` (0.1 mm), a union flush with the cavity's corner or the outline's (reflex) one in
    two stretches, or passing into the floor slab in two pieces: None (the booleans' shape)."""
    from sceneforge.geometry.panels.notches import _end_to_end

    s_levels, y_levels = (0.0, 8.0, 0.1, 7.9), (0.0, 0.1, 2.9, 3.0)
    assert joined_notch([(5, 6, 0.1, 2.1), (6, 7, 1, 2)], s_levels, y_levels) is not None
    assert joined_notch([(5, 6, 0.1, 2.1), (6, 7, 1, 2.10005)], s_levels, y_levels) is None
    assert joined_notch([(5, 6, 0.1, 2.1), (6, 7, 1, 2.100005)], s_levels, y_levels) is not None  # put on 2.1
    assert joined_notch([(0.1, 1, 0.1, 2.1), (1, 2, 1, 2)], s_levels, y_levels) is not None  # the cavity's corner
    # Flush with the outline's end at a reflex corner (the cavity runs past it): cut, in one stretch there only.
    reflex = (0.0, 8.0, -0.1, 7.9)
    assert joined_notch([(0.0, 1, 0.1, 2.1), (1, 2, 1, 2)], reflex, y_levels) is not None
    assert joined_notch([(0.0, 1, 0.1, 1.0), (0.0, 1, 1.5, 2.1), (1, 2, 0.5, 1.8)], reflex, y_levels) is None
    c_shape = [(0.1, 1, 0.1, 1.0), (0.1, 1, 1.5, 2.1), (1, 2, 0.5, 1.8)]
    assert joined_notch(c_shape, s_levels, y_levels) is None
    assert joined_notch([*c_shape[2:], (0.2, 1, 0.1, 1.0), (0.2, 1, 1.5, 2.1)], s_levels, y_levels) is not None
    # From the floor's top to the ceiling's underside: the inner face falls in two columns (cut).
    assert joined_notch([(5, 6, 0.1, 2.1), (5.2, 5.8, 2.1, 2.9)], s_levels, y_levels) is not None
    # A union running from one end of the face to the other: the face's pieces rings of their own (over the
    # doorway, under the gallery).
    across = joined_notch([(0.1, 4, 0.1, 2.1), (4, 7.9, 1.0, 2.9)], s_levels, y_levels)
    assert across is not None
    rings = _end_to_end(across, 0.1, 7.9, 0.1, 2.9)
    assert rings is not None
    assert [ring[1:] for ring in rings] == [[[4.0, 0.1], [7.9, 1.0]], [[4.0, 2.9], [0.1, 2.1]]]


def test_a_level_with_touching_openings_has_no_boolean_room_and_no_sliver() -> None:
    """The defect's level (two rooms, a doorway and a window against its jamb): both rooms on the panel
    path, no vertex off the jamb (the booleans' was at x = 5.000998)."""
    level = {
        "sceneId": "touch",
        "cells": [
            {"cellId": "a", "room": {"min": [0, 0, 20], "max": [8, 10, 26], "wallThickness": 0.1}},
            {"cellId": "b", "room": {"min": [0, 0, 14], "max": [8, 10, 20], "wallThickness": 0.1}},
        ],
        "portals": [
            {"from": "a", "to": "b", "quad": [5, 0.1, 20, 6, 0.1, 20, 6, 2.1, 20, 5, 2.1, 20]},
            {"from": "a", "to": "b", "quad": [6, 1.0, 20, 7, 1.0, 20, 7, 2.0, 20, 6, 2.0, 20]},
        ],
    }
    result = compile_scene(json.dumps(level).encode(), BuildOptions())
    assert result.meta["stats"]["booleanCells"] == 0
    for tri in cell_triangles(result.glb).values():
        assert heights(tri).min() >= 5e-4
        x = tri[..., 0]
        assert np.all(np.abs(x - np.round(x, 1)) < 1e-5)  # every x on the plan's 0.1 m grid


def _level(cells: list[tuple[str, list[float], list[float]]], portals: list[tuple[str, str, list[float]]]) -> bytes:
    """A level of box rooms (``cellId``, min, max) and portals (from, to, quad)."""
    return json.dumps(
        {
            "sceneId": "touching",
            "cells": [{"cellId": c, "room": {"min": lo, "max": hi}} for c, lo, hi in cells],
            "portals": [{"from": a, "to": b, "quad": q} for a, b, q in portals],
        }
    ).encode()


@pytest.mark.parametrize(
    "level",
    [
        _level(
            [
                ("c3a", [0.0, 9.0, 0.0], [1.8, 12.0, 71.04]),
                ("w3_4", [-4.2, 9.0, 17.78], [0.0, 12.0, 36.0]),
                ("w3_5", [-3.3, 9.0, 36.0], [0.0, 12.0, 45.17]),
            ],
            [
                ("c3a", "w3_4", [0.0, 9.1, 17.78, 0.0, 9.1, 36.0, 0.0, 11.1, 36.0, 0.0, 11.1, 17.78]),
                ("c3a", "w3_5", [0.0, 9.0, 36.0, 0.0, 9.0, 45.17, 0.0, 11.1, 45.17, 0.0, 11.1, 36.0]),
            ],
        ),
        _level(
            [
                ("atrium", [-7.0, 0.0, 11.44], [0.0, 6.0, 17.16]),
                ("c1a", [0.0, 3.0, 0.0], [1.8, 6.0, 19.7]),
                ("w1_0", [-4.7, 3.0, 0.0], [0.0, 6.0, 11.44]),
            ],
            [
                ("c1a", "w1_0", [0.0, 3.0, 10.602, 0.0, 3.0, 11.44, 0.0, 5.1, 11.44, 0.0, 5.1, 10.602]),
                ("c1a", "atrium", [0.0, 4.1, 11.44, 0.0, 4.1, 17.16, 0.0, 5.9, 17.16, 0.0, 5.9, 11.44]),
            ],
        ),
        _level(
            [
                ("atrium", [-7.0, 0.0, 7.62], [0.0, 6.0, 15.57]),
                ("c1a", [0.0, 3.0, 0.0], [1.8, 6.0, 16.98]),
                ("w1_2", [-4.0, 3.0, 15.57], [0.0, 6.0, 21.93]),
            ],
            [
                ("c1a", "atrium", [0.0, 4.1, 7.62, 0.0, 4.1, 15.57, 0.0, 5.9, 15.57, 0.0, 5.9, 7.62]),
                ("w1_2", "c1a", [0.0, 3.1, 15.57, 0.0, 5.1, 15.57, 0.0, 5.1, 16.475, 0.0, 3.1, 16.475]),
            ],
        ),
    ],
    ids=["doorways-from-underside-and-floor-top", "door-from-underside-beside-gallery", "door-from-top-beside-gallery"],
)
def test_levels_with_touching_openings_into_slabs_have_no_boolean_room(level: bytes) -> None:
    """A generator's corridors: two doorways sharing a jamb, one from the floor slab's underside and one
    from its top; a doorway (from the slab's underside or its top) beside a gallery up to the ceiling's
    underside. Every room on the panel path, no sliver."""
    result = compile_scene(level, BuildOptions())
    assert result.meta["stats"]["booleanCells"] == 0
    for tri in cell_triangles(result.glb).values():
        assert heights(tri).min() >= 5e-4


def test_a_shape_touching_a_face_along_a_side_alone_clips_to_nothing() -> None:
    """A notch clipped to a face it meets along one side only (two points left) is empty, not a crash (a
    shaped doorway's side on the cavity's corner: ``ValueError`` reshaping two points to none)."""
    from sceneforge.geometry.panels.notches import _clip_box

    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert _clip_box(square, 1.0, 2.0, 0.0, 1.0).shape == (0, 2)
    assert _clip_box(square, 0.5, 2.0, 0.0, 1.0).shape == (4, 2)


@st.composite
def notches_at_a_pillar(draw: st.DrawFn) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box room whose wall z = 0 has two touching openings (heights apart: one notch, :mod:`.joined`),
    the second running to the cavity's corner at x = W - t (or past it, to the wall's end or beyond),
    and whose wall x = W has a doorway flush with that corner too (from the corner, the wall's start,
    or before it): a pillar between them. The doorway's bottom and top anywhere (the notch's face gets them on
    its end there, wherever the notch's box reaches; its side at the corner on its inner edge); neither passes
    into a slab the other stops short of."""
    t, w, dep, y0, h, top, ceiling, y1 = draw_box_frame(draw, 16, 32)
    bottoms, tops = [y0, top, top + 0.3], [top + 1.8, top + 2.1, ceiling, y1]
    room = Room(np.array([[0, 0], [w, 0], [w, dep], [0, dep]], float), y0, h, t, "wall")
    end = w - t + draw(st.sampled_from([0.0, t, t + 0.3]))
    b1 = w - t - _grid(draw, 0.8, 1.5)
    a1 = b1 - _grid(draw, 0.8, 1.5)
    (c1, d1), (c2, d2) = [(draw(st.sampled_from(bottoms)), draw(st.sampled_from(tops))) for _ in range(2)]
    c3, d3 = draw(st.sampled_from(bottoms)), draw(st.sampled_from(tops))
    a3 = t - draw(st.sampled_from([0.0, t, t + 0.3]))
    b3 = t + _grid(draw, 0.8, 1.5)
    lo, hi = c2, min(d2, y1)
    assume(not ((lo < c3 < top) or (c3 < lo < top) or (ceiling < d3 < hi) or (ceiling < hi < d3)))
    # (Both through one slab: the pillar touches that slab's corner along a line, a pinch the panels leave
    # to the booleans.)
    assume(not (lo == c3 == y0 or hi == d3 == y1))
    quads, rays = [], []
    for s0, s1, c, d in ((a1, b1, c1, d1), (b1, end, c2, d2)):
        quads.append(np.array([[s0, c, 0.0], [s1, c, 0.0], [s1, d, 0.0], [s0, d, 0.0]]))
        mid_y = (max(c, top) + min(d, ceiling)) / 2
        rays.append((np.array([(max(s0, t) + min(s1, w - t)) / 2, mid_y, -1.0]), np.array([0.0, 0.0, 1.0])))
    quads.append(np.array([[w, c3, a3], [w, c3, b3], [w, d3, b3], [w, d3, a3]]))
    mid_y = (max(c3, top) + min(d3, ceiling)) / 2
    rays.append((np.array([w + 1.0, mid_y, (max(a3, t) + b3) / 2]), np.array([-1.0, 0.0, 0.0])))
    return room, quads, rays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(notches_at_a_pillar())
def test_a_notch_and_a_doorway_of_the_wall_across_flush_with_one_corner_take_the_panel_path(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    # Where the panels cut the notch alone, the doorway across flush with the same corner keeps them: its
    # jamb at the pillar gets the notch side's ends. The boolean solid, closed, openings open, no sliver.
    room, quads, rays = case
    assume(generate_rooms(scene({"r": room}, [("r", "x", q) for q in quads[:2]])) == 0)
    assert_the_boolean_solid_with_openings_open(room, quads, rays)


def _on_x(x: float, z0: float, z1: float, c: float, d: float) -> np.ndarray:
    """An opening [z0, z1] × [c, d] in the wall x = ``x`` of a room [0, 8] × [0, 10]."""
    return np.array([[x, c, z0], [x, d, z0], [x, d, z1], [x, c, z1]])


@pytest.mark.parametrize(
    "quads",
    [
        # A doorway and a window sharing a jamb, the window flush with the cavity's corner; a doorway of the
        # wall across flush with it, higher than the window (its top not on the joined opening's box).
        [*_wall((6, 7, 0.0, 2.1), (7, 7.9, 1.0, 2.0)), _on_x(8, 0.1, 1, 0.0, 2.1)],
        [*_wall((6, 7, 0.0, 2.1), (7, 7.9, 1.0, 2.0)), _on_x(8, 0.1, 1, 0.1, 2.5)],
        [*_wall((6, 7, 0.0, 2.1), (7, 7.9, 1.0, 2.0)), _on_x(8, 0.1, 1, 2.1, 2.9)],
        [*_wall((6, 7, 0.0, 2.1), (7, 7.9, 1.0, 2.0)), _on_x(8, 0.1, 1, 0.5, 0.9)],
        # At the wall's start (the face's left end), and at both corners at once.
        [*_wall((0.1, 1, 1.0, 2.0), (1, 2, 0.0, 2.1)), _on_x(0, 0.1, 1, 0.0, 2.1)],
        [*_wall((0.1, 1, 1.0, 2.0), (1, 2, 0.0, 2.1)), _on_x(0, 0.1, 1, 2.1, 2.9)],
        [
            *_wall((6, 7, 1.0, 2.5), (7, 7.9, 0.0, 2.1), (0.1, 1, 1.0, 2.0), (1, 2, 0.0, 2.1)),
            _on_x(8, 0.1, 1, 0.0, 2.1),
            _on_x(0, 0.1, 1, 2.1, 2.9),
        ],
    ],
)
def test_a_joined_opening_at_a_pillar_with_a_doorway_across_of_other_heights_takes_the_panel_path(
    quads: list[np.ndarray],
) -> None:
    """A joined opening flush with the cavity's corner by a side lower than its box (a doorway beside a window
    at the corner) and a doorway of the wall across flush with it there, its bottom and top outside that side:
    the end of the joined opening's inner face gets them where the opening meets it (the booleans' before)."""
    rays = _rays_through(quads, 0.1, 2.9)
    assert_the_boolean_solid_with_openings_open(box_room(0.0, 8.0, 0.0, 10.0), quads, rays)


@pytest.mark.parametrize(
    "quads",
    [
        # A doorway and a window side by side from one corner of the wall to the other (the window up to the
        # wall's top, or the ceiling's underside); a doorway of the wall across flush with the cavity's
        # corner, its top inside the window's side there.
        [*_wall((0, 2, 0.0, 2.1), (2, 8, 1.0, 3.0)), _on_x(8, 0.2, 1.8, 0.0, 2.1)],
        [*_wall((0, 2, 0.0, 2.1), (2, 8, 1.0, 2.8)), _on_x(8, 0.2, 1.8, -0.1, 2.1)],
        [*_wall((0, 2, 0.0, 2.1), (2, 8, 1.0, 2.9)), _on_x(8, 0.2, 1.8, 0.0, 2.1)],
        # The window a window's height (its bottom and top both inside the side), beside a doorway from below.
        [*_wall((0, 2, -0.2, 2.1), (2, 8, 0.5, 2.5)), _on_x(8, 0.2, 1.8, 1.0, 2.0)],
        # Windows sharing a jamb at the corner, a doorway from the slab's underside across.
        [*_wall((5.5, 6, 1.0, 2.8), (6, 8, 0.5, 2.5)), _on_x(8, 0.2, 1.8, 0.0, 2.1)],
        # At the wall's start, and at both corners at once.
        [*_wall((0, 2, 1.0, 2.9), (2, 8, 0.0, 2.1)), _on_x(0, 0.2, 1.8, -0.1, 2.1)],
        [*_wall((0, 2, 1.0, 2.9), (2, 8, 0.0, 2.1)), _on_x(0, 0.2, 1.8, 0.0, 2.1), _on_x(8, 0.2, 1.8, 1.5, 2.5)],
    ],
)
def test_a_joined_opening_at_a_pillar_with_a_doorway_across_inside_its_side_takes_the_panel_path(
    quads: list[np.ndarray],
) -> None:
    """A joined opening flush with the cavity's corner and a doorway of the wall across flush with it there,
    the doorway's bottom or top inside the opening's side at the corner (a doorway beside a window from corner
    to corner): that side of the opening's tunnel gets them on its inner edge, where the doorway's jamb meets
    it (the booleans' before). Walls 0.2 thick: the floor's top at 0.2, the ceiling's underside at 2.8."""
    rays = _rays_through(quads, 0.2, 2.8)
    assert_the_boolean_solid_with_openings_open(box_room(0.0, 8.0, 0.0, 10.0, t=0.2), quads, rays)


@pytest.mark.parametrize(
    "quads",
    [
        # Joined openings flush with one cavity corner from both walls (a doorway beside a window on each, one of
        # them at the corner): each side there gets the other's ends on its inner edge.
        [*_wall((5.5, 6, 1.0, 2.0), (6, 8, 0.0, 2.1)), _on_x(8, 0, 2, 1.0, 2.0), _on_x(8, 2, 3.5, 0.0, 2.1)],
        [*_wall((4, 6, 1.0, 2.8), (6, 8, 0.5, 2.5)), _on_x(8, 0, 2, 0.0, 2.1), _on_x(8, 2, 3, 1.0, 2.0)],
        [*_wall((5, 6, 0.0, 2.1), (6, 8, 1.0, 3.0)), _on_x(8, 0, 2, 1.5, 2.5), _on_x(8, 2, 3, 0.0, 2.1)],
        [*_wall((0, 2, 1.0, 2.0), (2, 3, 0.0, 2.1)), _on_x(0, 0, 2, 0.0, 2.1), _on_x(0, 2, 3, 1.0, 2.5)],
    ],
)
def test_joined_openings_of_both_walls_at_one_pillar_take_the_panel_path(quads: list[np.ndarray]) -> None:
    """Two joined openings flush with one cavity corner, one on each wall meeting there (the booleans' before):
    the boolean solid, closed, every opening open, no sliver. Walls 0.2 thick."""
    rays = _rays_through(quads, 0.2, 2.8)
    assert_the_boolean_solid_with_openings_open(box_room(0.0, 8.0, 0.0, 10.0, t=0.2), quads, rays)


@st.composite
def touching_openings_and_flush_hatches(
    draw: st.DrawFn,
) -> tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A box room with a doorway and openings meeting it (:func:`_touching`) in its east wall, and a stair
    opening in its floor or ceiling slab drawn to (or past) the west wall, or the south or north wall away
    from the east one; a ray through each opening."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    w, dep = draw(st.integers(16, 32)) * 0.25, draw(st.integers(16, 32)) * 0.25
    h = draw(st.sampled_from([2.8, 3.0, 3.4]))
    y0 = draw(st.sampled_from([0.0, 3.2, -1.5]))
    room = box_room(0, w, 0, dep, y=y0, height=h, t=t)
    floor_top, ceiling = y0 + t, y0 + h - t
    span = (t + 0.3, dep - t - 0.3)
    a = _grid(draw, span[0] + 0.8, span[0] + 1.0)
    door = (a, round(a + STEP * draw(st.integers(12, 20)), 9), draw(st.sampled_from([y0, floor_top])), 0.0)
    door = (*door[:3], _grid(draw, floor_top + 1.6, floor_top + 2.1))
    rects = [door, *_touching(draw, door, span, (y0, floor_top, ceiling, y0 + h))]
    depth = draw(st.sampled_from([0.0, -t / 2, -t]))
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    for s0, s1, c, d in rects:
        x = w + depth
        quads.append(np.array([[x, c, s0], [x, d, s0], [x, d, s1], [x, c, s1]]))
        mid = np.array([w + 1.0, (max(c, floor_top) + min(d, ceiling)) / 2, (s0 + s1) / 2])
        rays.append((mid, np.array([-1.0, 0.0, 0.0])))
    slab = draw(st.sampled_from([0, 1, 1]))
    y = y0 + draw(st.sampled_from([0.0, t])) if slab == 0 else y0 + h - draw(st.sampled_from([0.0, t]))
    lo = t + draw(st.sampled_from([0.0, -0.3, -t]))  # to the cavity's face, past the wall, to the outline
    length = STEP * draw(st.integers(8, 20))
    along = 1.0 + STEP * draw(st.integers(0, 6)), 1.0 + STEP * draw(st.integers(10, 16))
    wall = draw(st.sampled_from(["west", "west", "south", "north"]))
    if wall == "west":
        (x0, x1), (z0, z1) = (lo, t + length), along
    else:
        (x0, x1) = along
        (z0, z1) = (lo, t + length) if wall == "south" else (dep - t - length, dep - lo)
    quads.append(np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]]))
    mid = np.array([(max(x0, t) + min(x1, w - t)) / 2, 0.0, (max(z0, t) + min(z1, dep - t)) / 2])
    up = np.array([0.0, 1.0, 0.0]) if slab == 0 else np.array([0.0, -1.0, 0.0])
    rays.append((mid + np.array([0.0, y0 - 1.0 if slab == 0 else y0 + h + 1.0, 0.0]), up))
    return room, quads, rays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(touching_openings_and_flush_hatches())
def test_openings_that_meet_beside_a_flush_stair_opening_build_the_boolean_solid(
    case: tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    """Where the panels take such a room (the stair opening in a slab the joined openings reach, or against their
    wall or one meeting it, too: where the shell built is closed), they build the boolean path's solid: closed,
    no sliver, every opening open."""
    room, quads, _ = case
    assume(generate_rooms(scene({"r": room}, [("r", "x", q) for q in quads])) == 0)
    assert_the_boolean_solid_with_openings_open(*case)


def _hatch(x0: float, x1: float, z0: float, z1: float, y: float) -> np.ndarray:
    """A stair opening [x0, x1] × [z0, z1] at height ``y`` (0: the floor's underside, 3: the ceiling's top)."""
    return np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]])


@pytest.mark.parametrize(
    "quads",
    [
        # A doorway from the floor's underside and a window side by side from corner to corner of the wall z = 0,
        # a stair opening flush with the wall meeting it (x = 0) in the ceiling, or in the floor the doorway
        # passes into, flush with that wall or with the wall across.
        [*_wall((0, 2, 0.0, 2.1), (2, 8, 1.0, 2.0)), _hatch(0, 1, 0.5, 1.5, 3.0)],
        [*_wall((0, 2, 0.0, 2.1), (2, 8, 1.0, 2.0)), _hatch(0, 1, 2.5, 3.5, 0.0)],
        [*_wall((0, 2, 0.0, 2.1), (2, 8, 1.0, 2.0)), _hatch(4, 5, 9, 10, 0.0)],
        # A window up to the ceiling's underside beside a doorway at the cavity's corner, a stair opening in the
        # ceiling flush with their wall beside them (the slab the window reaches).
        [*_wall((2, 4, 1.0, 2.8), (4, 7.8, 0.0, 2.1)), _hatch(5, 6, 0, 1, 3.0)],
        [*_wall((2, 4, 1.0, 2.8), (4, 7.8, 0.0, 2.1)), _hatch(1, 2, 0, 1, 3.0)],
    ],
)
def test_openings_that_meet_beside_a_flush_stair_opening_they_reach_or_stand_by_take_the_panel_path(
    quads: list[np.ndarray],
) -> None:
    """A joined opening in a room with a stair opening flush with a wall, in a slab the opening passes into or
    against its wall or one meeting it: the panels build them (the faces get the flush sides' vertices; a room
    whose notch would need one more is left to the booleans by the closed check), the booleans' before."""
    rays = _rays_through(quads[:-1], 0.2, 2.8)
    # (Through the stair opening's part inside the cavity, from 1 m below the floor or above the ceiling.)
    middle = np.clip(quads[-1].mean(axis=0), 0.2, [7.8, 0.0, 9.8])
    down = quads[-1][0, 1] > 0.0
    rays.append((middle + np.array([0.0, 4.0 if down else -1.0, 0.0]), np.array([0.0, -1.0 if down else 1.0, 0.0])))
    assert_the_boolean_solid_with_openings_open(box_room(0.0, 8.0, 0.0, 10.0, t=0.2), quads, rays)


def test_a_doorway_and_a_window_sharing_a_jamb_keep_the_panel_path_beside_a_flush_stair_opening() -> None:
    """A doorway from the floor's top with a window against its jamb (one notch, the outline of their union)
    in the east wall, and a stair opening in the ceiling flush with the west wall: far apart, the panels cut
    both (any hatch flush with any wall used to send the room to the booleans)."""
    room = box_room(0, 8, 0, 6, height=3.2, t=0.2)
    wall = [
        np.array([[8, 0.2, 1.0], [8, 2.3, 1.0], [8, 2.3, 2.2], [8, 0.2, 2.2]], float),
        np.array([[8, 1.0, 2.2], [8, 2.0, 2.2], [8, 2.0, 3.4], [8, 1.0, 3.4]], float),
    ]
    stair = np.array([[0.2, 3.2, 4.5], [0.2, 3.2, 5.0], [1.5, 3.2, 5.0], [1.5, 3.2, 4.5]], float)
    rays = [
        (np.array([9.0, 1.5, 1.6]), np.array([-1.0, 0.0, 0.0])),
        (np.array([9.0, 1.5, 2.8]), np.array([-1.0, 0.0, 0.0])),
        (np.array([0.85, 4.2, 4.75]), np.array([0.0, -1.0, 0.0])),
    ]
    assert_the_boolean_solid_with_openings_open(room, [*wall, stair], rays)
