"""Hatches drawn to or past the walls of rooms with a floor polygon (an L-shaped hall open over one arm, a U's
post opened up to its walls) on the panel path: clipped to the cavity, their sides on the walls' inner faces.

Against the boolean build (``fast_paths=False``): no boolean where the rules cover the hatch, closed and
consistently wound, the same volume (up to float32 rounding and the boolean's 0.1 mm cutting margins), no
triangle under 0.5 mm high, every hatch open; where they do not (a clip that is no rectangle, a side partly on a
wall, a corner on the cavity's corner with both sides in the open), the boolean path's, still closed. Turned and
written to millimetres (a CAD export), the same, the volume up to what the rounding moves (the panels build the
plan as drawn, the booleans cut the rounded quads), every vertex inside the outline as written.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sceneforge.config import Limits
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import Room, Surface
from tests.levels_new_kinds import mezzanine_l, to_mm, turned_by

from .levels import heights
from .meshcheck import as_trimesh, blocked_portals, check_shells, closed, only_surface, ray_hits, scene
from .test_panels import (
    MARGIN,
    assert_flush_openings_open,
    assert_the_boolean_solid_with_openings_open,
    hatches_near_walls,
    long_room_with_openings_near_borders,
    panel_and_boolean,
)

Case = tuple[Room, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]
Arm = tuple[float, float, float, float, str]  # cavity x0, x1, z0, z1; which sides are walls whole: "lrbt"


def _outline(draw: st.DrawFn, t: float) -> tuple[np.ndarray, list[Arm]]:
    """An L or a U (a rectangle with a notch from one side) on a 0.25 m grid, maybe with a point on its first
    wall (a straight wall drawn as two), and its arms."""
    outline, arms = _shape(draw, t)
    if draw(st.booleans()):
        at = draw(st.integers(1, int(outline[1, 0] / 0.25) - 1)) * 0.25
        outline = np.concatenate([outline[:1], [[at, 0.0]], outline[1:]])
    return outline, arms


def _shape(draw: st.DrawFn, t: float) -> tuple[np.ndarray, list[Arm]]:
    """An L or a U on a 0.25 m grid, and its arms: rectangles of the cavity, with the sides along which a wall
    runs whatever stretch of the side a hatch takes."""
    w, d = draw(st.integers(20, 40)) * 0.25, draw(st.integers(20, 40)) * 0.25
    if draw(st.booleans()):
        cx, cz = draw(st.integers(8, int(w / 0.25) - 8)) * 0.25, draw(st.integers(8, int(d / 0.25) - 8)) * 0.25
        outline = np.array([[0, 0], [w, 0], [w, cz], [cx, cz], [cx, d], [0, d]], float)
        arms = [
            (cx - t, w - t, t, cz - t, "rbt"),  # the end of the arm along z = 0, past the inner corner
            (t, cx - t, cz - t, d - t, "lrt"),  # the end of the arm along x = 0
            (t, cx - t, t, cz - t, "lb"),  # the corner between them
            (t, w - t, t, cz - t, "lrb"),  # the whole arm along z = 0 (its side z = cz - t partly on a wall)
            (t, cx - t, t, d - t, "lbt"),  # the whole arm along x = 0
        ]
        return outline, arms
    x1, x2 = draw(st.integers(6, 9)) * 0.25, w - draw(st.integers(6, 9)) * 0.25
    nz = draw(st.integers(6, int(d / 0.25) - 6)) * 0.25
    outline = np.array([[0, 0], [w, 0], [w, d], [x2, d], [x2, nz], [x1, nz], [x1, d], [0, d]], float)
    arms = [
        (t, x1 - t, nz - t, d - t, "lrt"),  # the left post, above the notch's floor
        (x2 + t, w - t, nz - t, d - t, "lrt"),  # the right post
        (x1 - t, x2 + t, t, nz - t, "bt"),  # the band under the notch, between the posts' lines
        (t, w - t, t, nz - t, "lrb"),  # the whole band (its side z = nz - t on the notch's wall, between the posts)
        (t, x1 - t, t, d - t, "lbt"),  # the whole left post, down to the wall z = 0
    ]
    return outline, arms


@st.composite
def polygon_rooms_with_flush_hatches(draw: st.DrawFn) -> Case:
    """An L- or U-shaped room with a floor and/or ceiling hatch in one of its arms, each side along a wall drawn
    past the outline, on it, flush with the cavity or clear of it, each side across the arm on the arm's line
    (in the open, maybe ending at the cavity's inner corner) or clear of it; doorways standing on the floor's
    top in the first wall, maybe along a flush side; a ray through each hatch."""
    t = draw(st.sampled_from([0.05, 0.1, 0.2]))
    h, y0 = draw(st.sampled_from([2.6, 3.0])), draw(st.sampled_from([0.0, -1.5]))
    outline, arms = _outline(draw, t)
    room = Room(outline, y0, h, t, "wall")
    quads: list[np.ndarray] = []
    rays: list[tuple[np.ndarray, np.ndarray]] = []
    for slab in draw(st.sampled_from([[0], [1], [0, 1]])):
        ax0, ax1, az0, az1, walled = draw(st.sampled_from(arms))
        bounds = []
        for lo, hi, low_side, high_side in ((ax0, ax1, "l", "r"), (az0, az1, "b", "t")):
            pair = []
            for side, line, inwards in ((low_side, lo, 1.0), (high_side, hi, -1.0)):
                kinds = ["past", "outline", "flush", "clear"] if side in walled else ["flush", "clear"]
                kind = draw(st.sampled_from(kinds))
                at = line - inwards * {"past": t + 0.3, "outline": t, "flush": 0.0, "clear": -0.4}[kind]
                pair.append(round(at, 9))  # (on the grid the doorways are: a jamb and a hatch's end on one line)
            bounds.append(pair)
        (x0, x1), (z0, z1) = bounds
        # The corner arm's two sides in the open both on its lines would meet the inner corner with the slab
        # on neither side (the booleans'): one of them clear.
        if walled == "lb" and x1 == ax1 and z1 == az1:
            x1 -= 0.4
        y = y0 + t / 2 if slab == 0 else y0 + h - t / 2
        quads.append(np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]]))
        mid = np.array([(max(x0, ax0) + min(x1, ax1)) / 2, 0.0, (max(z0, az0) + min(z1, az1)) / 2])
        mid[1] = y - 1.0 if slab == 0 else y + 1.0
        rays.append((mid, np.array([0.0, 1.0 if slab == 0 else -1.0, 0.0])))
    # Doorways standing on the floor's top in the wall z = 0 (beside, under or across a flush side's end).
    # (0.3 m or more from a point drawn on that wall.)
    length, joints = float(outline[:, 0].max()), outline[outline[:, 1] == 0.0, 0]
    slots = [round(a, 9) for a in np.arange(t + 0.25, length - t - 1.0, 0.75).tolist()]
    slots = [a for a in slots if not ((joints > a - 0.3) & (joints < a + 0.8)).any()] or [t + 0.25]
    for a in draw(st.lists(st.sampled_from(slots), max_size=3, unique=True)):
        top = y0 + draw(st.sampled_from([t + 2.0, h - t]))
        quads.append(np.array([[a, y0 + t, 0.0], [a, top, 0.0], [a + 0.5, top, 0.0], [a + 0.5, y0 + t, 0.0]]))
    return room, quads, rays


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygon_rooms_with_flush_hatches())
def test_hatches_against_the_walls_of_polygon_rooms_take_the_panel_path(case: Case) -> None:
    # Before, every such room took the booleans (flush hatches were a box room's alone).
    room, quads, rays = case
    assert_flush_openings_open(room, quads, rays, reach=1.0)


def assert_rounded_openings_open(
    room: Room, quads: list[np.ndarray], rays: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """A room and its openings written to a grid, built by the panels: closed, the booleans' solid within the
    rounding's allowance, no sliver, inside its outline, and each ray from outside through an opening unobstructed."""
    surface, mesh, boolean, _, spill = panel_and_boolean(room, quads)  # (asserts no boolean)
    assert closed(surface) and mesh.is_winding_consistent
    allowance = spill + _rounding_allowance(quads, room.wall_thickness) + 1e-6 * max(1.0, boolean.volume)
    assert abs(mesh.volume - boolean.volume) <= allowance
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= min(5e-4, room.wall_thickness) - 1e-9
    assert _within_outline(surface, room.floor)
    for origin, direction in rays:
        assert ray_hits(surface, origin, direction, 1.0 + room.wall_thickness) == 0, (origin, direction)


def _turned(case: Case, degrees: float) -> Case:
    """``case`` turned by ``degrees`` about the vertical through (2, _, 1) m, exactly as cos and sin give it."""
    room, quads, rays = case
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))

    def turn(p: np.ndarray, about: float = 1.0) -> np.ndarray:
        out = np.array(p, dtype=float)
        x, z = out[..., 0] - 2.0 * about, out[..., -1] - 1.0 * about
        out[..., 0], out[..., -1] = 2.0 * about + c * x - s * z, 1.0 * about + s * x + c * z
        return out

    floor = turn(room.floor)
    turned_rays = [(turn(o), turn(d, 0.0)) for o, d in rays]
    return Room(floor, room.y, room.height, room.wall_thickness, room.material), [turn(q) for q in quads], turned_rays


def _u(x1: float, x2: float, w: float, nz: float, d: float, at: float | None = None) -> np.ndarray:
    """The U of :func:`_shape`: ``w`` by ``d``, a notch from ``x1`` to ``x2`` down to ``nz``, maybe a point at ``at``
    on its first wall."""
    first = [[0, 0]] if at is None else [[0, 0], [at, 0]]
    return np.array([*first, [w, 0], [w, d], [x2, d], [x2, nz], [x1, nz], [x1, d], [0, d]], float)


def _level_hatch(x0: float, x1: float, y: float, z0: float, z1: float) -> np.ndarray:
    return np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygon_rooms_with_flush_hatches(), st.floats(1.0, 359.0).filter(lambda a: abs(a % 90.0 - 45.0) < 44.0))
@example(  # a floor hatch over the band under a U's notch, its side x = 4.05 on the post's inner face, in the open to
    # the wall z = 0, where a doorway's jamb stands on the same line: turned into the frame, the jamb came out 1e-15 m
    # off the cavity's line, and the shell cracked between them
    (
        Room(_u(1.5, 4.0, 5.75, 1.5, 5.0), 0.0, 2.6, 0.05, "wall"),
        [
            _level_hatch(1.45, 4.05, 0.025, -0.3, 1.8),
            np.array([[4.05, 0.05, 0.0], [4.05, 2.05, 0.0], [4.55, 2.05, 0.0], [4.55, 0.05, 0.0]]),
        ],
        [(np.array([2.75, -0.975, 0.75]), np.array([0.0, 1.0, 0.0]))],
    ),
    2.0,
)
def test_hatches_against_the_walls_of_turned_polygon_rooms_take_the_panel_path(case: Case, degrees: float) -> None:
    # A plan drawn at an angle: the room is built in its own frame (turned onto the axes and back), as a box is.
    room, quads, rays = _turned(case, degrees)
    assert_flush_openings_open(room, quads, rays, reach=1.0)


def _to_mm(case: Case) -> Case:
    """``case`` with every coordinate of its outline and quads rounded to 1 mm, as an export writes them."""
    room, quads, rays = case
    return replace(room, floor=np.round(room.floor, 3)), [np.round(q, 3) for q in quads], rays


def _rounding_allowance(quads: list[np.ndarray], slab: float) -> float:
    """The volume (m³) between the panels' solid and the booleans' that rounding to 1 mm may leave: the panels
    build each hatch as the rectangle drawn, its sides on the walls' lines where drawn to them; the booleans cut
    the rounded quad (a side up to 1.5 mm off those lines: a strip of slab left, or one cut deeper). Its
    perimeter × the slab × 1.5 mm per hatch."""
    level = [q[:, [0, 2]] for q in quads if np.ptp(q[:, 1]) == 0.0]
    return sum(float(np.linalg.norm(np.roll(p, -1, axis=0) - p, axis=1).sum()) * slab * 1.5e-3 for p in level)


def _outside_by(ring: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n,) how far each of ``points`` (n, 2) lies outside the polygon ``ring`` (m, 2): 0 inside."""
    a, b, p = ring[None], np.roll(ring, -1, axis=0)[None], points[:, None]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    gap = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[..., 0] + (p[..., 1] - a[..., 1]) * ab[..., 0] / ab[..., 1]
    crossing = ((a[..., 1] > p[..., 1]) != (b[..., 1] > p[..., 1])) & (p[..., 0] < x_cross)
    return np.where(crossing.sum(axis=1) % 2 == 1, 0.0, gap)


def _within_outline(surface: Surface, ring: np.ndarray) -> bool:
    """Every vertex of ``surface`` inside the outline ``ring`` as written, to a float32 step of its coordinates."""
    step = 2.0 * float(np.spacing(np.float32(np.abs(ring).max() + 1.0)))
    return bool((_outside_by(ring, surface.positions[:, [0, 2]].astype(np.float64)) <= step).all())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygon_rooms_with_flush_hatches(), st.floats(1.0, 359.0).filter(lambda a: abs(a % 90.0 - 45.0) < 44.0))
def test_hatches_against_the_walls_of_turned_polygon_rooms_written_to_millimetres_take_the_panel_path(
    case: Case, degrees: float
) -> None:
    # Every coordinate rounded to 1 mm: the walls and the hatches' sides a fraction of a millimetre off square
    # and off each other's lines. Those rooms went to the booleans; the L or U is built as drawn, in its frame,
    # and laid onto the outline as written.
    assert_rounded_openings_open(*_to_mm(_turned(case, degrees)))


@pytest.mark.parametrize("degrees", [7.0, 33.0, 117.0, -151.3, 301.0])
def test_the_l_shaped_mezzanine_turned_and_written_to_millimetres_has_no_boolean_room(degrees: float) -> None:
    # Its hall and mezzanine (the void drawn past the walls of one arm, a stair opening clear of them) took the
    # booleans: the rounded L is square to no better than a millimetre. Built as drawn, the boolean's solid.
    data = json.dumps(to_mm(turned_by(mezzanine_l(), degrees))).encode()
    fast, reference = (description_to_ir(parse_description(data), None, Limits()) for _ in range(2))
    for ir in (fast, reference):
        ir.portals, _ = face_portals(ir.cells, ir.portals)
    assert generate_rooms(fast) == 0
    assert generate_rooms(reference, fast_paths=False) == 2
    check_shells(fast, 5e-4)  # (closed, no triangle under 0.5 mm)
    assert blocked_portals(fast) == []
    quads = [np.asarray(p.quad, np.float64).reshape(4, 3) for p in fast.portals]
    for cell in fast.cells:
        assert cell.room is not None
        surface = only_surface(fast, cell.cell_id)
        mesh, boolean = as_trimesh(surface), as_trimesh(only_surface(reference, cell.cell_id))
        assert mesh.is_watertight and mesh.is_winding_consistent
        spill = sum(MARGIN * 2 * float(np.ptp(q, axis=0).sum()) * 4 for q in quads)
        allowance = spill + _rounding_allowance(quads, cell.room.wall_thickness) + 1e-6 * boolean.volume
        assert abs(mesh.volume - boolean.volume) <= allowance, cell.cell_id
        assert _within_outline(surface, cell.room.floor), cell.cell_id


@st.composite
def polygon_rooms_with_hatches_near_the_walls(draw: st.DrawFn) -> Case:
    """An L- or U-shaped room with a hatch whose coordinates are each one of the cavity's or outline's lines, or
    a few centimetres either side: clipped to rectangles or not, sides wholly on a wall, partly, or in the open."""
    t = draw(st.sampled_from([0.1, 0.2]))
    outline, _ = _outline(draw, t)
    y = draw(st.sampled_from([0.5 * t, 3.0 - 0.5 * t]))
    return Room(outline, 0.0, 3.0, t, "wall"), [_near_hatch(draw, outline, t, y)], []


def _near_hatch(draw: st.DrawFn, outline: np.ndarray, t: float, y: float) -> np.ndarray:
    """A hatch at height ``y`` each of whose coordinates is a line of the outline or of the cavity (walls ``t``
    thick), or a few centimetres either side."""
    xs = sorted({*outline[:, 0].tolist(), *(outline[:, 0] + t).tolist(), *(outline[:, 0] - t).tolist()})
    zs = sorted({*outline[:, 1].tolist(), *(outline[:, 1] + t).tolist(), *(outline[:, 1] - t).tolist()})
    shift = st.sampled_from([0.0, 0.0, 0.05, -0.05, 0.3, -0.3])
    x0, x1 = sorted(draw(st.sampled_from(xs)) + draw(shift) for _ in range(2))
    z0, z1 = sorted(draw(st.sampled_from(zs)) + draw(shift) for _ in range(2))
    if x1 - x0 < 0.2 or z1 - z0 < 0.2:
        x1, z1 = x0 + 0.6, z0 + 0.6
    return np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygon_rooms_with_hatches_near_the_walls())
@example(  # a ceiling hatch over the reflex corner's block: a sliver move left two vertices at one float32 place
    (
        Room(np.array([[0, 0], [5, 0], [5, 4.25], [2, 4.25], [2, 6.25], [0, 6.25]], float), 0.0, 3.0, 0.1, "wall"),
        [np.array([[1.9, 2.95, 4.15], [1.9, 2.95, 4.75], [2.5, 2.95, 4.75], [2.5, 2.95, 4.15]])],
        [],
    )
)
def test_hatches_near_the_walls_of_polygon_rooms_build_the_boolean_solid_either_way(case: Case) -> None:
    # Whichever path a room takes: closed, the boolean path's volume, no sliver the booleans do not keep.
    _the_boolean_solid_either_way(case)


def _the_boolean_solid_either_way(case: Case) -> tuple[int, Surface]:
    """Builds the case's room both ways and asserts the shell it takes closed with the boolean path's volume (up to
    the booleans' cutting margins); returns how many rooms took the booleans and the shell."""
    room, quads, _ = case
    portals = [("r", "x", q) for q in quads]
    fast, reference = scene({"r": room}, portals), scene({"r": room}, portals)
    booleans = generate_rooms(fast)
    generate_rooms(reference, fast_paths=False)
    surface = only_surface(fast, "r")
    mesh, boolean = as_trimesh(surface), as_trimesh(only_surface(reference, "r"))
    assert closed(surface)
    spill = sum(MARGIN * 2 * float(np.ptp(q, axis=0).sum()) * 4 for q in quads)
    rounding = 1e-6 * max(1.0, boolean.volume)
    assert boolean.volume - rounding <= mesh.volume <= boolean.volume + spill + rounding
    return booleans, surface


@st.composite
def polygon_rooms_with_hatches_and_openings(draw: st.DrawFn) -> Case:
    """:func:`polygon_rooms_with_flush_hatches`'s rooms with another hatch near the walls and doorways on any
    wall, from the floor's underside, its top or through the slab's whole thickness, up to the ceiling or past
    it: beside flush sides, across their ends, under them."""
    room, quads, _ = draw(polygon_rooms_with_flush_hatches())
    outline, t, y0, h = room.floor, room.wall_thickness, room.y, room.height
    if draw(st.booleans()):
        quads.append(_near_hatch(draw, outline, t, draw(st.sampled_from([y0 + 0.5 * t, y0 + h - 0.5 * t]))))
    k = outline.shape[0]
    for e in draw(st.lists(st.integers(0, k - 1), max_size=3)):
        p, q = outline[e], outline[(e + 1) % k]
        length = float(np.hypot(*(q - p)))
        tangent = (q - p) / length
        a = round(draw(st.sampled_from([0.0, t, t + 0.3, length / 2, length - t - 0.6])), 9)
        c = draw(st.sampled_from([y0, y0 + t, y0 + t + 0.9]))
        d = draw(st.sampled_from([y0 + t + 2.0, y0 + h - t, y0 + h]))
        corners = [(p + tangent * s_, y_) for s_, y_ in ((a, c), (a, d), (a + 0.6, d), (a + 0.6, c))]
        quads.append(np.array([[x, y_, z] for (x, z), y_ in corners]))
    return room, quads, []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygon_rooms_with_hatches_and_openings())
@example(  # ceiling hatches over the band (to z = 3.0) and the right post (from z = 2.8, flush with the band's side):
    # the offset put the band's side at z = 2.8000000000000003, a float64 step of slab there cracked (two sides at one
    # float32 place)
    (
        Room(_u(2.25, 8.25, 9.75, 3.0, 5.75, 0.5), 0.0, 2.6, 0.2, "wall"),
        [_level_hatch(8.25, 10.05, 2.5, 2.8, 6.05), _level_hatch(0.2, 8.25, 2.5, 0.3, 3.0)],
        [],
    )
)
@example(  # a floor hatch lying on the wall x = 0..0.2 alone, its side on the cavity's: clipped, a sheet of no
    # thickness that cracked the slab
    (
        Room(np.array([[0, 0], [2.25, 0], [5, 0], [5, 2.75], [2, 2.75], [2, 6], [0, 6]], float), 0.0, 3.0, 0.2, "wall"),
        [_level_hatch(-0.1, 0.2, 0.1, 0.1, 5.95)],
        [],
    )
)
@example(  # floor hatches meeting at a corner alone, one drawn past the outline: the slab either side touched along
    # the corner's line (four faces on one edge as written); they are drawn back by PART around it
    (
        Room(_u(1.5, 5.75, 7.5, 2.0, 7.25, 0.25), 0.0, 2.6, 0.1, "wall"),
        [_level_hatch(0.5, 1.0, 0.05, 0.5, 6.75), _level_hatch(-0.1, 0.5, 0.05, -0.1, 0.5)],
        [],
    )
)
@example(  # floor hatches drawn past the outline either side of the post's reflex corner, meeting there alone
    (
        Room(
            np.array(
                [[0, 0], [8.75, 0], [8.75, 9.75], [6.5, 9.75], [6.5, 3.25], [2, 3.25], [2, 9.75], [0, 9.75]], float
            ),
            -1.5,
            3.0,
            0.1,
            "wall",
        ),
        [_level_hatch(0.5, 1.9, -1.45, 3.15, 10.05), _level_hatch(1.9, 8.95, -1.45, -0.05, 9.35)],
        [],
    )
)
def test_polygon_rooms_with_flush_hatches_and_doorways_build_the_boolean_solid(case: Case) -> None:
    # Whichever path: closed, the boolean path's volume; the panels' with no triangle under 0.5 mm.
    booleans, surface = _the_boolean_solid_either_way(case)
    if booleans == 0:
        tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
        assert heights(tri).min() >= min(5e-4, case[0].wall_thickness) - 1e-9


def test_floor_hatches_meeting_at_a_corner_alone_are_drawn_back_around_it() -> None:
    # The slab keeps a square PART either side of the corner (its top and underside above and below), the hatches
    # open beyond it; closed as written, no triangle under 0.5 mm.
    room = Room(_u(1.5, 5.75, 7.5, 2.0, 7.25, 0.25), 0.0, 2.6, 0.1, "wall")
    quads = [_level_hatch(0.5, 1.0, 0.05, 0.5, 6.75), _level_hatch(-0.1, 0.5, 0.05, -0.1, 0.5)]
    ir = scene({"r": room}, [("r", "x", q) for q in quads])
    assert generate_rooms(ir) == 1
    surface = only_surface(ir, "r")
    assert closed(surface)
    tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
    assert heights(tri).min() >= 5e-4
    down = np.array([0.0, -1.0, 0.0])
    for off, hits in ((0.0005, 2), (-0.0005, 2), (0.002, 0), (-0.002, 0)):
        assert ray_hits(surface, np.array([0.5 + off, 1.0, 0.5 + off]), down, 1.05) == hits, off


def _l_room() -> Room:
    return Room(np.array([[0, 0], [14, 0], [14, 6], [6, 6], [6, 12], [0, 12]], float), 0.0, 3.5, 0.2, "wall")


def _ceiling_hatch(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    return np.array([[x0, 3.4, z0], [x0, 3.4, z1], [x1, 3.4, z1], [x1, 3.4, z0]])


def _booleans(room: Room, quad: np.ndarray) -> int:
    ir = scene({"r": room}, [("r", "x", quad)])
    count = generate_rooms(ir)
    assert closed(only_surface(ir, "r"))
    return count


def test_the_l_shaped_mezzanine_has_no_boolean_room() -> None:
    """The hall under the mezzanine of ``tests/levels_new_kinds.py`` (the mezzanine's floor open over one arm
    of the L, drawn past its walls, and a stair opening clear of them): both rooms on the panel path, closed,
    every portal open, no triangle under 0.5 mm (the booleans left one 0.75 mm high)."""
    ir = description_to_ir(parse_description(json.dumps(mezzanine_l()).encode()), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    assert generate_rooms(ir) == 0
    check_shells(ir, 5e-4)  # (closed, no triangle under 0.5 mm)
    assert blocked_portals(ir) == []


def test_the_l_shaped_mezzanine_turned_has_no_boolean_room() -> None:
    # Drawn at 37.7°: its rooms are built in their own frames.
    ir = description_to_ir(parse_description(json.dumps(turned_by(mezzanine_l(), 37.7)).encode()), None, Limits())
    ir.portals, _ = face_portals(ir.cells, ir.portals)
    assert generate_rooms(ir) == 0
    check_shells(ir, 5e-4)
    assert blocked_portals(ir) == []


def test_a_hatch_over_an_arms_end_ending_at_the_inner_corner_takes_the_panel_path() -> None:
    # Its side across the arm in the open, from the wall z = 0.2 to the cavity's inner corner (5.8, 5.8).
    ray = (np.array([9.0, 4.5, 3.0]), np.array([0.0, -1.0, 0.0]))
    assert_flush_openings_open(_l_room(), [_ceiling_hatch(5.8, 14.5, -0.5, 6.5)], [ray], reach=1.2)


def test_hatches_the_panels_cannot_cut_flush_take_the_boolean_path() -> None:
    room = _l_room()
    # Over the inner corner: clipped to an L, not a rectangle.
    assert _booleans(room, _ceiling_hatch(3.0, 10.0, 3.0, 9.0)) == 1
    # Past the wall z = 5.8 (x from 5.8 on) and on into the other arm: clipped to an L.
    assert _booleans(room, _ceiling_hatch(3.0, 10.0, 3.0, 6.5)) == 1
    # Its corner on the inner corner, both its sides there in the open: the slab left would touch itself.
    assert _booleans(room, _ceiling_hatch(3.0, 5.8, 3.0, 5.8)) == 1
    # 0.05 mm from a wall: neither on it nor clear of it.
    assert _booleans(room, _ceiling_hatch(7.0, 13.79995, -0.5, 6.5)) == 1
    # The same hatch drawn to the wall: the panels'.
    assert _booleans(room, _ceiling_hatch(7.0, 13.8, -0.5, 6.5)) == 0


def test_a_hatch_over_a_whole_arm_has_a_side_partly_on_a_wall() -> None:
    # Over the arm along x = 0, drawn past its walls: its side x = 5.8 lies on the wall from the inner corner
    # (5.8, 5.8) up and in the open below it (the other arm's slab beside it); and one over the whole arm along
    # z = 0, its side z = 5.8 on the wall from the inner corner on.
    ray = (np.array([3.0, 4.5, 9.0]), np.array([0.0, -1.0, 0.0]))
    assert_flush_openings_open(_l_room(), [_ceiling_hatch(-0.5, 5.8, -0.5, 12.5)], [ray], reach=1.2)
    ray = (np.array([9.0, 4.5, 3.0]), np.array([0.0, -1.0, 0.0]))
    assert_flush_openings_open(_l_room(), [_ceiling_hatch(-0.5, 14.5, -0.5, 5.8)], [ray], reach=1.2)


def test_a_hatch_across_an_arm_splits_its_slab_in_two() -> None:
    # From wall to wall across the arm along z = 0: the ceiling falls in two pieces, both built.
    ray = (np.array([9.0, 4.5, 3.0]), np.array([0.0, -1.0, 0.0]))
    assert_flush_openings_open(_l_room(), [_ceiling_hatch(8.0, 10.0, -0.5, 6.5)], [ray], reach=1.2)


def test_a_turned_l_shaped_room_with_hatches_in_a_row_is_built_in_its_own_frame() -> None:
    # Hatches along a wall of an L drawn at an angle (seed 0 of ``bench/slivers.py --shape L --hatches``): their
    # boxes, turned, overlap, so the panels took them for hatches that may meet and left the room to the booleans.
    # In the room's own frame they are apart: the panels', the boolean solid.
    rng = np.random.default_rng(0)
    room, quads = long_room_with_openings_near_borders(rng, "L", False, shaped=True)
    quads += hatches_near_walls(rng, room, "L")
    assert_the_boolean_solid_with_openings_open(room, quads, [])


def _turned_staircase(steps: int, rooms: int = 1) -> dict[str, object]:
    """``rooms`` rectilinear staircases of ``steps`` 1 m steps (2 × steps + 2 corners) in a row, turned 30° and
    written to millimetres, with no portal."""
    c, s = np.cos(np.radians(30.0)), np.sin(np.radians(30.0))
    cells = []
    for r in range(rooms):
        ring = [(0.0, 0.0)] + [p for k in range(steps) for p in ((k + 1.0, float(k)), (k + 1.0, k + 1.0))]
        ring.append((0.0, float(steps)))
        floor = [[round((x + r * (steps + 3)) * c - z * s, 3), round((x + r * (steps + 3)) * s + z * c, 3)]
                 for x, z in ring]  # fmt: skip
        cells.append({"cellId": f"r{r}", "room": {"floor": floor, "y": 0, "height": 3}})
    return {"sceneId": "stairs", "cells": cells, "portals": []}


def test_rounded_outlines_without_portals_are_not_fitted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rounded L-like staircase is fitted (its bounds: tests/geometry/test_rounded_outline_fit.py), but only where
    the room has portals to take off the rounding."""
    from sceneforge.geometry import frames

    room = _turned_staircase(3)["cells"][0]["room"]  # type: ignore[index]
    assert frames._rounded_rectilinear(np.array(room["floor"], np.float64)) is not None  # 8 corners

    # Rooms with no portal have nothing to take back off the rounding: no fit is made for them at all.
    fits: list[int] = []
    for name in ("_rounded_rectilinear",):
        real = getattr(frames, name)
        monkeypatch.setattr(frames, name, lambda floor, real=real: fits.append(1) or real(floor))
    ir = description_to_ir(parse_description(json.dumps(_turned_staircase(3, rooms=4)).encode()), None, Limits())
    assert generate_rooms(ir) == 0
    assert fits == []
