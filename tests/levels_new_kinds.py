"""Test data: levels of kinds the generators do not make, drawn as a level designer draws them.

Each function returns a description (``docs/scene-format.md``): a house of four storeys whose stair is
cells of its own (steps a quarter-metre apart joined by doorways with sills, switching back at
landings); split levels (floors at different heights joined by doorways whose sill stands above the
lower floor, and ``between`` doors); a hotel's ring corridor round a courtyard, made of short straight
segments at angles (trapezoid rooms), with guest rooms outside it; a castle of round towers (24- to
48-sided) joined to a hall and to each other, one tower three storeys high with stair openings; a
mezzanine open to the hall below through a large floor opening; a theatre whose balcony overhangs the
rear stalls; rooms turned by arbitrary angles round a hub; a corridor 100 m long and 1 m wide; closets
0.5 m across; walls 1 cm to 1 m thick; and levels at x = 10 km and at negative coordinates.

:data:`NEW_KINDS` maps a name to each level's function. Nothing here builds anything.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

from tests.level_builders import Level, box, hatch, moved, poly, scene, wall_door, x_door, z_door

__all__ = ["NEW_KINDS", "Level"]


# --- A house: four storeys, the stair as cells of its own -----------------------------------------


def house(storeys: int = 4, t: float = 0.15) -> Level:
    """Per storey (3 m): a living room and a kitchen off a hall, the hall off the stair's west landing.
    The stair switches back: a flight of five steps (0.8 m long, 0.25 m up each, 1 m wide) east from the
    west landing to an east landing half a storey up, and five more back west, one metre over, to the west
    landing of the next storey. Each step is a box room 3 m tall; consecutive steps share a wall whose
    doorway stands on the higher step's floor and reaches the lower one's ceiling."""
    cells, portals = [], []
    rise, run, n = 0.25, 0.8, 5
    for s in range(storeys):
        y = 3.0 * s
        cells += [
            box(f"living{s}", (0, y, 0), (8, y + 3, 4), t),
            box(f"kitchen{s}", (0, y, 4), (8, y + 3, 8), t),
            box(f"hall{s}", (8, y, 2), (10, y + 3, 8), t),
            box(f"landW{s}", (8, y, 0), (10, y + 3, 2), t),
        ]
        portals += [
            x_door(f"living{s}", f"hall{s}", 8, 2.3, 3.3, y + t, y + 2.2),
            x_door(f"kitchen{s}", f"hall{s}", 8, 5.0, 6.0, y + t, y + 2.2),
            z_door(f"landW{s}", f"hall{s}", 2, 8.4, 9.6, y + t, y + 2.3),
            z_door(f"living{s}", f"kitchen{s}", 4, 3.0, 4.5, y + 1.0, y + 2.0),  # a hatch window
        ]
        if s == storeys - 1:
            break
        cells.append(box(f"landE{s}", (10 + n * run, y + 1.5, 0), (12 + n * run, y + 4.5, 2), t))
        # Flight up east (z 0..1), then back west (z 1..2).
        prev_a, prev_b = f"landW{s}", f"landE{s}"
        for k in range(1, n + 1):
            xa = 10 + (k - 1) * run
            fa = y + rise * k
            cells.append(box(f"up{s}_{k}", (xa, fa, 0), (xa + run, fa + 3, 1), t))
            lo_prev = y + rise * (k - 1)
            portals.append(x_door(prev_a, f"up{s}_{k}", xa, t, 1 - t, fa + t, lo_prev + 3 - t))
            prev_a = f"up{s}_{k}"
            xb = 10 + n * run - k * run
            fb = y + 1.5 + rise * k
            cells.append(box(f"back{s}_{k}", (xb, fb, 1), (xb + run, fb + 3, 2), t))
            lo_prev_b = y + 1.5 + rise * (k - 1)
            portals.append(x_door(f"back{s}_{k}", prev_b, xb + run, 1 + t, 2 - t, fb + t, lo_prev_b + 3 - t))
            prev_b = f"back{s}_{k}"
        top = y + rise * n
        portals.append(x_door(prev_a, f"landE{s}", 10 + n * run, t, 1 - t, y + 1.5 + t, top + 3 - t))
        portals.append(x_door(f"landW{s + 1}", prev_b, 10, 1 + t, 2 - t, y + 3 + t, y + 1.5 + rise * n + 3 - t))
    return scene("house", cells, portals)


def split_levels() -> Level:
    """Rooms in a row whose floors step up and down (0, 0.45, 0.9, 0.3, -0.6 m), joined by doorways from the
    higher floor's top to the lower ceiling's underside (a sill above the lower floor), and by ``between``
    doors (on the higher floor); a gallery over two of them opens down into both through windows."""
    floors = [0.0, 0.45, 0.9, 0.3, -0.6]
    t = 0.12
    cells, portals = [], []
    for i, f in enumerate(floors):
        cells.append(box(f"r{i}", (5 * i, f, 0), (5 * i + 5, f + 2.8, 5), t))
    for i in range(1, len(floors)):
        lo, hi = floors[i - 1], floors[i]
        y0 = max(lo, hi) + t
        y1 = min(lo, hi) + 2.8 - t
        portals.append(x_door(f"r{i - 1}", f"r{i}", 5 * i, 1.0, 2.2, y0, min(y0 + 2.1, y1)))
    cells += [box(f"s{i}", (5 * i, floors[i], 5), (5 * i + 5, floors[i] + 2.8, 8), t) for i in range(len(floors))]
    portals += [{"between": [f"r{i}", f"s{i}"]} for i in range(len(floors))]
    portals += [{"between": [f"s{i - 1}", f"s{i}"], "door": {"width": 0.9, "height": 1.9}} for i in range(1, 4)]
    return scene("splitlevels", cells, portals)


# --- A hotel ring round a courtyard ----------------------------------------------------------------


def _ring_point(r: float, a: float, cx: float = 0.0, cz: float = 0.0) -> tuple[float, float]:
    return (cx + r * math.cos(a), cz + r * math.sin(a))


def hotel_ring(segments: int = 14, r_in: float = 12.0, width: float = 2.2, depth: float = 4.5) -> Level:
    """A corridor round a courtyard, ``segments`` straight pieces (trapezoid rooms) meeting at angles, each
    joined to the next by a doorway across the corridor's width in their shared end wall; a guest room
    outside each piece (a trapezoid too) with its door midway; the courtyard (a ``segments``-gon) open to
    every fourth piece through a door."""
    cells, portals = [], []
    r_out, r_room = r_in + width, r_in + width + depth
    step = 2 * math.pi / segments
    cells.append(poly("court", [_ring_point(r_in, k * step) for k in range(segments)], h=3.0))
    for k in range(segments):
        a0, a1 = k * step, (k + 1) * step
        seg = [_ring_point(r_in, a0), _ring_point(r_out, a0), _ring_point(r_out, a1), _ring_point(r_in, a1)]
        room = [_ring_point(r_out, a0), _ring_point(r_room, a0), _ring_point(r_room, a1), _ring_point(r_out, a1)]
        cells.append(poly(f"cor{k}", seg))
        cells.append(poly(f"room{k}", room))
        # The end wall at a1, inner ring to outer: its normal points on round the ring, into the next piece.
        nxt = f"cor{(k + 1) % segments}"
        inner, outer = _ring_point(r_in, a1), _ring_point(r_out, a1)
        portals.append(wall_door(f"cor{k}", nxt, inner, outer, 0.1, 2.2, width - 0.5))
        portals.append(wall_door(f"cor{k}", f"room{k}", _ring_point(r_out, a1), _ring_point(r_out, a0), 0.1, 2.1, 0.9))
        if k % 4 == 0:
            portals.append(wall_door("court", f"cor{k}", _ring_point(r_in, a1), _ring_point(r_in, a0), 0.1, 2.4, 1.4))
    return scene("hotelring", cells, portals)


# --- A castle of round towers -----------------------------------------------------------------------


def _tower(cx: float, cz: float, r: float, sides: int, facing: float) -> list[tuple[float, float]]:
    """A ``sides``-gon of circumradius ``r`` with the middle of an edge facing the angle ``facing``."""
    return [_ring_point(r, facing + (k + 0.5) * 2 * math.pi / sides, cx, cz) for k in range(sides)]


def castle() -> Level:
    """A hall 20 × 10 m (walls 0.6 m) with a round tower at each of its four sides' ends, each tower an n-gon
    (24, 32, 40, 48 sides) whose flat edge touches the hall's wall or a short passage's end: a door through
    each. The 24-gon tower has three storeys joined by stair openings clear of its walls (a spiral stair's
    well) and a door on each to the wall walk; the 48-gon's door is wider than one of its edges."""
    t = 0.6
    cells = [box("hall", (0, 0, 0), (20, 8, 10), t)]
    portals = []
    towers = [("t24", 24, 4.0, (-1, 0)), ("t32", 32, 4.5, (1, 0)), ("t40", 40, 3.5, (0, -1)), ("t48", 48, 5.0, (0, 1))]
    for name, sides, r, (dx, dz) in towers:
        apothem = r * math.cos(math.pi / sides)
        facing = math.atan2(-dz, -dx)  # the edge facing the hall
        if dx:
            wall_x = 0.0 if dx < 0 else 20.0
            cx, cz = wall_x + dx * apothem, 5.0
        else:
            wall_z = 0.0 if dz < 0 else 10.0
            cx, cz = 10.0, wall_z + dz * apothem
        storeys = 3 if sides == 24 else 1
        for s in range(storeys):
            cid = name if s == 0 else f"{name}_{s}"
            cells.append(poly(cid, _tower(cx, cz, r, sides, facing), y=4.0 * s, h=4.0, t=t))
            if s:
                below = name if s == 1 else f"{name}_{s - 1}"
                portals.append(hatch(below, cid, 4.0 * s, cx - 1.0, cx + 0.2, cz - 0.6, cz + 1.4))
        edge = 2 * r * math.sin(math.pi / sides)
        width = min(1.2, 0.8 * edge) if sides < 48 else 1.2  # the 48-gon's edge is 0.65 m: the door spans three
        if dx:
            portals.append(
                x_door(
                    "hall" if dx > 0 else name, name if dx > 0 else "hall", wall_x, 5 - width / 2, 5 + width / 2, t, 2.6
                )
            )
        else:
            portals.append(
                z_door(
                    "hall" if dz > 0 else name,
                    name if dz > 0 else "hall",
                    wall_z,
                    10 - width / 2,
                    10 + width / 2,
                    t,
                    2.6,
                )
            )
    # The wall walk on the 24-gon's upper storeys: a passage west of it along x, meeting its far edge.
    r, sides = 4.0, 24
    apothem = r * math.cos(math.pi / sides)
    far = -apothem - apothem  # the hall's west wall at x = 0, the tower's centre at -apothem
    for s in (1, 2):
        cells.append(box(f"walk{s}", (far - 6, 4.0 * s, 3.5), (far, 4.0 * s + 3, 6.5), 0.4))
        portals.append(x_door(f"walk{s}", f"t24_{s}", far, 4.6, 5.4, 4.0 * s + t, 4.0 * s + 2.4))
    return scene("castle", cells, portals)


# --- A mezzanine and a theatre --------------------------------------------------------------------------


def mezzanine() -> Level:
    """A double-height hall (two cells, one over the other): the upper one a mezzanine whose floor is open
    to the hall below over two thirds of it (a hatch flush with three of its walls), a stair opening in
    a corner, offices off both levels, a window from the mezzanine to an office beside the hall."""
    t = 0.2
    cells = [
        box("hall", (0, 0, 0), (15, 3.5, 10), t),
        box("mezz", (0, 3.5, 0), (15, 7.0, 10), t),
        box("office", (15, 0, 0), (20, 3.5, 10), t),
        box("upper_office", (15, 3.5, 0), (20, 7.0, 10), t),
    ]
    portals = [
        hatch("hall", "mezz", 3.5, 5.0, 15.5, -0.5, 10.5),  # drawn past three walls: the void
        hatch("hall", "mezz", 3.5, 0.8, 2.0, 0.8, 3.0),  # the stair's well
        x_door("hall", "office", 15, 4.0, 5.0, t, 2.3),
        x_door("mezz", "upper_office", 15, 2.0, 3.0, 3.5 + t, 3.5 + 2.3),
        x_door("mezz", "upper_office", 15, 6.0, 9.0, 3.5 + 1.0, 3.5 + 2.4),  # a window
    ]
    return scene("mezzanine", cells, portals)


def theatre() -> Level:
    """An auditorium 20 m wide and 9 m tall, a stage behind a proscenium 14 × 7 m, a balcony over the rear
    stalls (the stalls under it a cell of their own, the balcony's front open from a 1 m parapet to the
    ceiling, wall to wall), a foyer behind both with doors on both levels, and a fly tower over the stage
    open to it through its whole ceiling."""
    t = 0.3
    cells = [
        box("stage", (0, 0, -10), (20, 9, 0), t),
        box("fly", (0, 9, -10), (20, 20, 0), t),
        box("auditorium", (0, 0, 0), (20, 9, 22), t),
        box("rear_stalls", (0, 0, 22), (20, 4, 28), t),
        box("balcony", (0, 4, 22), (20, 9, 28), t),
        box("foyer", (0, 0, 28), (20, 4, 33), t),
        box("upper_foyer", (0, 4, 28), (20, 9, 33), t),
    ]
    portals = [
        z_door("stage", "auditorium", 0, 3, 17, t, 7),
        hatch("stage", "fly", 9, -1, 21, -11, 1),
        z_door("auditorium", "rear_stalls", 22, 0, 20, 0, 4 - t),  # the stalls run on under the balcony
        z_door("auditorium", "balcony", 22, 0, 20, 4 + 1.0, 9),  # the balcony's front, over its parapet
        z_door("rear_stalls", "foyer", 28, 3, 5, t, 2.4),
        z_door("rear_stalls", "foyer", 28, 15, 17, t, 2.4),
        z_door("balcony", "upper_foyer", 28, 9, 11, 4 + t, 6.4),
    ]
    return scene("theatre", cells, portals)


# --- Turned rooms, long and tiny rooms, wall thicknesses ----------------------------------------------


def pinwheel(angles: tuple[float, ...] = (0.0, 23.3, 61.0, 99.9, 144.4, 201.7, 263.1, 311.0)) -> Level:
    """A hub (a polygon with a 2 m edge at each angle of ``angles``, degrees) with a 4 × 3 m room on each
    such edge, turned by its angle; each joined to the hub by a door in their shared edge and to the next
    room, where they meet, by nothing."""
    cells, portals = [], []
    hub = []
    for a in angles:
        r = math.radians(a)
        ux, uz = math.cos(r), math.sin(r)  # outward normal of the edge
        vx, vz = -uz, ux
        c = (6 * ux, 6 * uz)
        hub += [(c[0] - vx, c[1] - vz), (c[0] + vx, c[1] + vz)]
    cells.append(poly("hub", hub, h=3.5))
    for i, a in enumerate(angles):
        r = math.radians(a)
        ux, uz = math.cos(r), math.sin(r)
        vx, vz = -uz, ux
        p0 = (6 * ux - vx, 6 * uz - vz)
        p1 = (6 * ux + vx, 6 * uz + vz)
        p2 = (p1[0] + 4 * ux, p1[1] + 4 * uz)
        p3 = (p0[0] + 4 * ux, p0[1] + 4 * uz)
        cells.append(poly(f"room{i}", [p0, p1, p2, p3], h=3.0, t=0.08 + 0.02 * i))
        portals.append(wall_door(f"room{i}", "hub", p0, p1, 0.08 + 0.02 * i, 2.1, 1.0))
    return scene("pinwheel", cells, portals)


def long_and_tiny() -> Level:
    """A corridor 100 m long and 1 m wide (walls 0.1 m), a door at each end and one every 10 m to a room
    beside it; off the first room, closets 0.5 m across (walls 5 cm and 2 cm) with doors 0.3 m wide; a
    crawl space 0.5 m high; a room 100 m long and 1 m wide turned by 7°."""
    cells = [box("corridor", (0, 0, 0), (100, 3, 1), 0.1), box("west", (-4, 0, -1.5), (0, 3, 2.5))]
    portals = [x_door("west", "corridor", 0, 0.2, 0.8, 0.1, 2.2)]
    cells.append(box("east", (100, 0, -1.5), (104, 3, 2.5)))
    portals.append(x_door("corridor", "east", 100, 0.2, 0.8, 0.1, 2.2))
    for k in range(10):
        x0 = 10.0 * k
        cells.append(box(f"side{k}", (x0, 0, 1), (x0 + 10, 3, 5)))
        portals.append(z_door("corridor", f"side{k}", 1, x0 + 4.5, x0 + 5.4, 0.1, 2.2))
    cells += [
        box("closet_a", (0, 0, 5), (0.5, 2.5, 5.5), 0.05),
        box("closet_b", (0.5, 0, 5), (1.0, 2.5, 5.5), 0.02),
        box("crawl", (1.0, 0, 5), (4.0, 0.5, 6), 0.05),
    ]
    portals += [
        z_door("side0", "closet_a", 5, 0.1, 0.4, 0.1, 2.0),
        z_door("side0", "closet_b", 5, 0.6, 0.9, 0.1, 2.0),
        z_door("side0", "crawl", 5, 2.0, 2.6, 0.1, 0.45),
        x_door("closet_a", "closet_b", 0.5, 5.1, 5.4, 1.0, 1.3),  # a 30 cm hatch between the closets
    ]
    a = math.radians(7.0)
    c, s = math.cos(a), math.sin(a)

    def turn(x: float, z: float) -> tuple[float, float]:
        return (x * c - z * s, x * s + z * c + 20)

    cells.append(poly("gallery", [turn(0, 0), turn(100, 0), turn(100, 1), turn(0, 1)], h=3.0, t=0.1))
    return scene("longtiny", cells, portals)


def thick_and_thin() -> Level:
    """Rooms in a row with walls 1 cm, 2 cm, 5 cm, 0.1, 0.25, 0.5 and 1 m thick, doorways between
    neighbours (the wall between two rooms as thick as both), a window from the 1 cm room through the 1 m
    one, and an L-shaped room in 1 m walls."""
    ts = [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0]
    cells, portals = [], []
    x = 0.0
    for i, t in enumerate(ts):
        w = 4.0 + 2 * t
        cells.append(box(f"r{i}", (x, 0, 0), (x + w, 3 + 2 * t, 4 + 2 * t), t))
        if i:
            y0 = max(ts[i - 1], t)
            portals.append(x_door(f"r{i - 1}", f"r{i}", x, 1.5, 2.5, y0, y0 + 2.1))
        x += w
    # Drawn against r0 (its outline ends at z = 4.02), 2 cm into the 2 cm wall of r1 (z = 4.04): walls meeting.
    cells.append(poly("ell", [(0, 4.02), (8, 4.02), (8, 7.02), (3, 7.02), (3, 12.02), (0, 12.02)], h=5.0, t=1.0))
    portals.append(z_door("r0", "ell", 4.02, 1.0, 1.8, 1.0, 2.5))
    return scene("thickthin", cells, portals)


def basement_negative() -> Level:
    """Rooms at negative coordinates: a basement below y = 0 under a house at x, z < 0, joined by a stair
    opening, and a cellar further down."""
    cells = [
        box("ground", (-12, 0, -9), (-4, 3, -3)),
        box("basement", (-12, -3, -9), (-4, 0, -3)),
        box("cellar", (-12, -6.5, -9), (-8, -3, -5)),
        box("garden_room", (-20, 0, -9), (-12, 3, -3)),
    ]
    portals = [
        hatch("basement", "ground", 0, -6, -4.5, -8.5, -6.5),
        hatch("cellar", "basement", -3, -11.0, -10.0, -8.0, -6.0),
        x_door("garden_room", "ground", -12, -7, -5, 0.1, 2.2),
    ]
    return scene("basement", cells, portals)


# --- Harder variants --------------------------------------------------------------------------------


def engaged_towers() -> Level:
    """Round towers drawn into the hall's walls (as castles are): a 24-gon and a 64-gon whose outlines reach
    0.3 m into the hall's 0.6 m wall, their doorways drawn on the hall's wall plane (inside the towers'
    walls); a 32-gon drawn tangent to a corner of the hall."""
    t = 0.6
    cells = [box("hall", (0, 0, 0), (20, 8, 10), t)]
    portals = []
    for name, sides, r, cx in (("t24", 24, 4.0, -4.0 * math.cos(math.pi / 24) + 0.3), ("t64", 64, 4.0, None)):
        if cx is None:
            ap = r * math.cos(math.pi / sides)
            cells.append(poly(name, _tower(20 + ap - 0.3, 5.0, r, sides, math.pi), h=6.0, t=t))
            portals.append(x_door("hall", name, 20, 4.4, 5.6, t, 2.6))
        else:
            cells.append(poly(name, _tower(cx, 5.0, r, sides, 0.0), h=6.0, t=t))
            portals.append(x_door(name, "hall", 0, 4.6, 5.4, t, 2.6))
    return scene("engaged", cells, portals)


def sill_variants() -> Level:
    """Split levels whose doorways are drawn from the lower floor's top (reaching into the higher room's floor
    slab and below its outline), up to the higher room's ceiling (past the lower one's), and as wide as the
    wall between rooms of different depths."""
    t = 0.15
    floors = [0.0, 0.6, 1.2, 0.3]
    cells, portals = [], []
    for i, f in enumerate(floors):
        cells.append(box(f"r{i}", (5 * i, f, 0), (5 * i + 5, f + 3.0, 4 + i), t))
    for i in range(1, len(floors)):
        lo, hi = floors[i - 1], floors[i]
        if i == 1:  # from the lower floor's top, through the higher room's slab
            portals.append(x_door("r0", "r1", 5, 1.0, 2.0, lo + t, lo + 2.2))
        elif i == 2:  # up to the higher ceiling's underside
            portals.append(x_door("r1", "r2", 5 * i, 1.0, 2.0, hi + t, hi + 3.0 - t))
        else:  # as wide as the shorter wall, floor to ceiling of the overlap
            portals.append(x_door("r2", "r3", 5 * i, 0.0, 4 + i - 1, max(lo, hi) + t, min(lo, hi) + 3.0 - t))
    return scene("sillvariants", cells, portals)


def mezzanine_l() -> Level:
    """An L-shaped hall under an L-shaped mezzanine, the mezzanine's floor open over one arm (a hatch drawn
    past the walls of that arm) and a stair opening clear of the walls."""
    ell = [(0, 0), (14, 0), (14, 6), (6, 6), (6, 12), (0, 12)]
    cells = [poly("hall", ell, 0.0, 3.5, 0.2), poly("mezz", ell, 3.5, 3.0, 0.2)]
    portals = [hatch("hall", "mezz", 3.5, 7.0, 14.5, -0.5, 6.5), hatch("hall", "mezz", 3.5, 1.0, 2.2, 8.0, 10.5)]
    return scene("mezzl", cells, portals)


def spiral_stair(sectors: int = 8, turns: int = 2, r: float = 2.5) -> Level:
    """A spiral stair: ``sectors`` wedge cells a turn (polygons meeting at the newel's centre, an arc of
    4 points outside), each 3 m tall and 3 / ``sectors`` m above the last, joined by doorways in their
    shared radial walls (on the higher floor, up to the lower ceiling); a wedge a turn up stands on the
    one below it, joined by a stair opening through the slab; a landing room at the foot and at the top."""
    cells, portals = [], []
    rise = 3.0 / sectors
    step = 2 * math.pi / sectors
    t = 0.08
    count = sectors * turns
    for k in range(count):
        a0, a1 = k * step, (k + 1) * step
        arc = [_ring_point(r, a0 + (a1 - a0) * j / 3) for j in range(4)]
        cells.append(poly(f"w{k}", [(0.0, 0.0), *arc], y=rise * k, h=3.0, t=t))
        if k:
            y0 = rise * k + t
            portals.append(
                wall_door(f"w{k - 1}", f"w{k}", (0.0, 0.0), _ring_point(r, a0), y0, rise * (k - 1) + 3 - t, r - 1.0)
            )
        if k >= sectors:
            below = f"w{k - sectors}"
            mid = (a0 + a1) / 2
            cx, cz = _ring_point(1.6, mid)
            ux, uz = math.cos(mid), math.sin(mid)
            vx, vz = -uz, ux
            y = rise * k
            pts = [
                (cx - 0.3 * ux - 0.3 * vx, cz - 0.3 * uz - 0.3 * vz),
                (cx + 0.3 * ux - 0.3 * vx, cz + 0.3 * uz - 0.3 * vz),
                (cx + 0.3 * ux + 0.3 * vx, cz + 0.3 * uz + 0.3 * vz),
                (cx - 0.3 * ux + 0.3 * vx, cz - 0.3 * uz + 0.3 * vz),
            ]
            quad = [v for x, z in pts for v in (x, y, z)]
            n_y = (pts[1][0] - pts[0][0]) * (pts[2][1] - pts[0][1]) - (pts[1][1] - pts[0][1]) * (pts[2][0] - pts[0][0])
            if n_y > 0:  # (e1 × e2)·y = e1z·e2x − e1x·e2z: facing up wants it positive
                quad = [v for x, z in reversed(pts) for v in (x, y, z)]
            portals.append({"from": below, "to": f"w{k}", "quad": quad})
    return scene("spiral", cells, portals)


def raked_theatre(rows: int = 8) -> Level:
    """Stalls as rows of their own, each 1 m deep and 0.15 m above the last, open to each other wall to
    wall (from the higher floor's top to the lower ceiling's underside), the front row open to the stage."""
    t = 0.2
    cells = [box("stage", (0, 0.6, -8), (16, 9.6, 0), t)]
    portals = []
    for i in range(rows):
        f = 0.15 * i
        cells.append(box(f"row{i}", (0, f, i), (16, f + 8, i + 1), t))
        if i:
            portals.append(z_door(f"row{i - 1}", f"row{i}", i, 0, 16, f + t, f - 0.15 + 8 - t))
    portals.append(z_door("stage", "row0", 0, 1, 15, 0.6 + t, 7.8))
    return scene("raked", cells, portals)


def ring_to_mm(segments: int = 20) -> Level:
    """The hotel ring written to millimetres (an export's rounding), its corridor doorways as wide as the
    corridor (drawn to the outline's corners, which are not square)."""
    level = hotel_ring(segments)
    level["sceneId"] = "ringmm"
    for cell in level["cells"]:
        cell["room"]["floor"] = [[round(x, 3), round(z, 3)] for x, z in cell["room"]["floor"]]
    for portal in level["portals"]:
        portal["quad"] = [round(v, 3) for v in portal["quad"]]
    step = 2 * math.pi / segments
    for k in range(segments):
        a1 = (k + 1) * step
        door = wall_door(
            f"cor{k}", f"cor{(k + 1) % segments}", _ring_point(12.0, a1), _ring_point(14.2, a1), 0.1, 2.2, 2.2
        )
        door["quad"] = [round(v, 3) for v in door["quad"]]
        level["portals"].append(door)
    return level


def tiny_rooms() -> Level:
    """Closets 0.5 m across in 0.1 m walls (0.3 m inside) with doorways as wide as the closet (drawn past its
    corners) or 0.2 m; a cupboard 0.5 m cube; a row of 40 closets
    along a 100 m corridor 1 m wide at 10 km (the two parts not joined)."""
    cells = [box("room", (0, 0, 0), (4, 3, 4))]
    portals = []
    for i in range(6):
        x0 = 0.5 * i + 0.5
        cells.append(box(f"c{i}", (x0, 0, 4), (x0 + 0.5, 2.5 if i != 5 else 0.5, 4.5)))
        if i % 2:
            portals.append(z_door("room", f"c{i}", 4, x0 - 0.05, x0 + 0.55, 0.1, 0.4 if i == 5 else 2.0))
        else:
            portals.append(z_door("room", f"c{i}", 4, x0 + 0.15, x0 + 0.35, 0.1, 2.0))
    return scene("tiny", cells, portals)


def closets_far(ox: float = 10_000.0) -> Level:
    """40 closets 0.5 m across (walls 5 cm) along a corridor 100 m long and 1 m wide, at x = ``ox``."""
    cells: list[dict] = []
    portals: list[dict] = []
    cells.append(box("corridor", (ox, 0, 0), (ox + 100, 3, 1)))
    for i in range(40):
        x0 = ox + 2.5 * i
        cells.append(box(f"k{i}", (x0, 0, 1), (x0 + 0.5, 2.2, 1.5), 0.05))
        portals.append(z_door("corridor", f"k{i}", 1, x0 + 0.1, x0 + 0.4, 0.1, 2.0))
    return scene("closets", cells, portals)


NEW_KINDS: dict[str, Callable[[], Level]] = {
    "house": house,
    "split-levels": split_levels,
    "hotel-ring": hotel_ring,
    "castle": castle,
    "mezzanine": mezzanine,
    "theatre": theatre,
    "pinwheel": pinwheel,
    "long-tiny": long_and_tiny,
    "thick-thin": thick_and_thin,
    "basement": basement_negative,
    "house-10km": lambda: moved(house(), 10_000.0, 0.0, 0.0, "-10km"),
    "castle-negative": lambda: moved(castle(), -10_000.0, -50.0, -3_000.0, "-neg"),
    "hotel-ring-far": lambda: moved(hotel_ring(), 10_000.0, 0.0, 10_000.0, "-far"),
    "pinwheel-10km": lambda: moved(pinwheel(), 10_000.0, 0.0, -10_000.0, "-10km"),
    "engaged-towers": engaged_towers,
    "sill-variants": sill_variants,
    "mezzanine-l": mezzanine_l,
    "spiral-stair": spiral_stair,
    "raked-theatre": raked_theatre,
    "ring-mm": ring_to_mm,
    "tiny-rooms": tiny_rooms,
    "closets-10km": closets_far,
}


def turned_by(level: Level, degrees: float) -> Level:
    """``level`` turned about the vertical axis (``sceneforge.generate.turned``), its ``between`` doors kept."""
    from sceneforge.generate import turned

    return turned(level, degrees)


def to_mm(level: Level) -> Level:
    """``level`` with every coordinate written to millimetres, as an export rounds them."""
    out = copy.deepcopy(level)
    out["sceneId"] += "-mm"
    for cell in out["cells"]:
        room = cell.get("room", {})
        for key in ("min", "max"):
            if key in room:
                room[key] = [round(v, 3) for v in room[key]]
        if "floor" in room:
            room["floor"] = [[round(x, 3), round(z, 3)] for x, z in room["floor"]]
    for portal in out["portals"]:
        if "quad" in portal:
            portal["quad"] = [round(v, 3) for v in portal["quad"]]
    return out


def backwards(level: Level) -> Level:
    """``level`` with every quad wound the other way round (its normal into ``from``)."""
    out = copy.deepcopy(level)
    out["sceneId"] += "-back"
    for portal in out["portals"]:
        if "quad" in portal:
            q = portal["quad"]
            portal["quad"] = q[0:3] + q[9:12] + q[6:9] + q[3:6]
    return out
