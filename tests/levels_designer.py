"""Test data: more levels of kinds a designer draws and neither the generators nor :mod:`tests.levels_new_kinds` make.

A hexagonal hub with a corridor off each edge, its doorways as wide as the corridor's outline; a nave whose side
walls splay out 4° under chapels off them, closed by a half 16-gon apse with radiating chapels and a crypt below; a
16-gon stair tower of four storeys with a hall off every other edge (halls turned 45° on the diagonals) and round
towers of 16, 32 and 48 sides whose doorways run from vertex to vertex of an edge; a room with 3 mm chamfers and a
5 mm step in one wall, doorways flush with them; windows 1 and 2 mm above the floor's top and under the ceiling's
underside; storeys whose doorway and window share a jamb beside a stair opening against the far wall; and a small
plan turned by 89.999° 500 km out.

:data:`DESIGNER` maps a name to each level's function. Nothing here builds anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sceneforge.generate import turned
from tests.level_builders import Level, box, hatch, moved, poly, scene, wall_door, x_door, z_door

__all__ = ["DESIGNER"]

Point = tuple[float, float]


def _ngon(cx: float, cz: float, r: float, n: int, phase: float = 0.0) -> list[Point]:
    return [
        (cx + r * math.cos(phase + 2 * math.pi * k / n), cz + r * math.sin(phase + 2 * math.pi * k / n))
        for k in range(n)
    ]


def _off(a: Point, b: Point, depth: float) -> list[Point]:
    """The rectangle ``depth`` deep on the right of a -> b (outside a counter-clockwise outline)."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    nx, nz = (b[1] - a[1]) / length, -(b[0] - a[0]) / length
    return [b, a, (a[0] + nx * depth, a[1] + nz * depth), (b[0] + nx * depth, b[1] + nz * depth)]


def _middle(a: Point, b: Point, width: float) -> tuple[Point, Point]:
    """The stretch ``width`` long in the middle of a -> b."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    ux, uz = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    mx, mz = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    return (mx - ux * width / 2, mz - uz * width / 2), (mx + ux * width / 2, mz + uz * width / 2)


def hex_hub() -> Level:
    """A hexagonal hub (edges 5 m, walls 0.6 m), a corridor 2 m wide and 8 m long off the middle of each edge, its
    doorway as wide as the corridor's outline (past its cavity), and a 4 × 4 m room at its end."""
    hub = _ngon(0, 0, 5, 6)
    cells, portals = [poly("hub", hub, h=4.0, t=0.6)], []
    for i in range(6):
        p, q = _middle(hub[i], hub[(i + 1) % 6], 2.0)
        corridor = _off(p, q, 8.0)
        cells.append(poly(f"cor{i}", corridor, h=3.0))
        portals.append(wall_door(f"cor{i}", "hub", p, q, 0.6, 2.5, 2.0))
        end_a, end_b = corridor[2], corridor[3]  # its far end, from p's side to q's
        r0, r1 = _middle(end_a, end_b, 4.0)
        cells.append(poly(f"room{i}", _off(r0, r1, 4.0), h=3.0))  # beyond the corridor's end, not over it
        portals.append(wall_door(f"room{i}", f"cor{i}", end_a, end_b, 0.1, 2.2, 1.8))
    return scene("hexhub", cells, portals)


def nave() -> Level:
    """A nave 30 m long (walls 0.8 m, 14 m tall) whose side walls splay out 4°, closed by a half 16-gon apse; four
    trapezoid chapels off each side wall through arches 3 × 5 m, three radiating chapels off the apse's edges, a
    crypt below the apse through a stair opening."""
    t, splay, length, w0 = 0.8, math.tan(math.radians(4)), 30.0, 10.0
    r = w0 / 2 + length * splay
    apse = [(length + r * math.cos(a), r * math.sin(a)) for a in (-math.pi / 2 + k * math.pi / 8 for k in range(1, 8))]
    cells = [poly("nave", [(0, -w0 / 2), (length, -r), *apse, (length, r), (0, w0 / 2)], h=14.0, t=t)]
    portals = []
    for side, sign in (("S", -1), ("N", 1)):
        for k in range(4):
            x0, x1 = 3 + 6.5 * k, 8 + 6.5 * k
            a, b = (x0, sign * (w0 / 2 + x0 * splay)), (x1, sign * (w0 / 2 + x1 * splay))
            cells.append(
                poly(f"chapel{side}{k}", [a, b, (b[0], b[1] + sign * 4), (a[0], a[1] + sign * 4)], h=7.0, t=0.4)
            )
            portals.append(wall_door(f"chapel{side}{k}", "nave", *((a, b) if sign < 0 else (b, a)), t, 5.0, 3.0))
    for j, k in enumerate((1, 3, 5)):
        cells.append(poly(f"radiating{j}", _off(apse[k], apse[k + 1], 3.0), h=6.0, t=0.4))
        portals.append(wall_door(f"radiating{j}", "nave", apse[k], apse[k + 1], t, 4.5, 1.6))
    cells.append(poly("crypt", [(length - 2, -4), (length + 4, -4), (length + 4, 4), (length - 2, 4)], y=-3.0, t=0.3))
    portals.append(hatch("crypt", "nave", 0.0, length, length + 1.5, -1.5, 1.5))
    return scene("nave", cells, portals)


def round_hub() -> Level:
    """A 16-gon tower (circumradius 6 m, walls 0.3 m) of four storeys joined by a stair opening in the middle, a hall
    off every other edge on each storey (those on the diagonals turned 45°), each doorway 5 cm narrower than the
    tower's edge."""
    n, cells, portals = 16, [], []
    tower = _ngon(0, 0, 6.0, n, -math.pi / n)
    edge = 2 * 6.0 * math.sin(math.pi / n)
    for s in range(4):
        y = 3.5 * s
        cells.append(poly(f"tower{s}", tower, y=y, h=3.5, t=0.3))
        if s:
            portals.append(hatch(f"tower{s - 1}", f"tower{s}", y, -1.0, 1.0, -1.0, 1.0))
        for k in range(0, n, 2):
            a, b = tower[k], tower[k + 1]
            cells.append(poly(f"hall{s}_{k}", _off(a, b, 5.0), y=y, h=3.5, t=0.2))
            portals.append(wall_door(f"hall{s}_{k}", f"tower{s}", a, b, y + 0.3, y + 2.4, edge - 0.05))
    return scene("roundhub", cells, portals)


def towers_and_halls() -> Level:
    """Round towers of 16, 32 and 48 sides (circumradius 3 m, walls 0.5 m), each with a hall 6 m square on two
    opposite edges, each doorway as wide as the tower's edge (vertex to vertex); the three towers are not joined."""
    cells, portals = [], []
    for j, n in enumerate((16, 32, 48)):
        tower = _ngon(20.0 * j, 0, 3.0, n, -math.pi / n)
        cells.append(poly(f"t{n}", tower, h=6.0, t=0.5))
        for k in (0, n // 2):
            a, b = tower[k], tower[k + 1]
            cells.append(poly(f"h{n}_{k}", _off(*_middle(a, b, 6.0), 6.0), h=4.0, t=0.2))
            portals.append(wall_door(f"h{n}_{k}", f"t{n}", a, b, 0.5, 2.5, math.hypot(b[0] - a[0], b[1] - a[1])))
    return scene("towershalls", cells, portals)


def chamfers() -> Level:
    """A 6 × 4 m room with 3 mm chamfers at its corners and a 5 mm step halfway along its east wall; doorways from
    the chamfer's end to the step, from the step on, to the chamfer (a window) and along the whole south wall."""
    c = 0.003
    outline = [
        (c, 0),
        (6 - c, 0),
        (6, c),
        (6, 2),
        (6.005, 2),
        (6.005, 4 - c),
        (6.005 - c, 4),
        (c, 4),
        (0, 4 - c),
        (0, c),
    ]
    cells = [poly("a", outline), box("e1", (6, 0, 0), (9, 3, 2)), box("e2", (6.005, 0, 2), (9, 3, 4))]
    cells.append(box("s", (0, 0, -3), (6, 3, 0)))
    portals = [
        x_door("a", "e1", 6, c, 2.0, 0.1, 2.2),
        x_door("a", "e2", 6.005, 2.0, 3.0, 0.101, 2.0),
        x_door("a", "e2", 6.005, 3.2, 4 - c, 1.0, 2.9),
        z_door("s", "a", 0, c, 6 - c, 0.1, 2.2),
    ]
    return scene("chamfers", cells, portals)


def near_slabs() -> Level:
    """Windows 1 and 2 mm above the floor's top and under the ceiling's underside, one from the floor's top to 1 mm
    under the ceiling, one from 1 mm above the floor to the ceiling; windows 1 mm off the slabs into a room of 1 cm
    walls."""
    t = 0.1
    cells = [box("a", (0, 0, 0), (12, 3, 4)), box("b", (0, 0, 4), (12, 3, 8)), box("c", (12, 0, 0), (16, 3, 4), 0.01)]
    spans = [(0.3, 1.0, t + 0.001, 1.0), (1.2, 2.0, t + 0.002, 1.2), (3.2, 4.0, 1.5, 3 - t - 0.001)]
    spans += [(4.2, 5.0, 1.5, 3 - t - 0.002), (6.2, 7.0, t, 3 - t - 0.001), (7.2, 8.0, t + 0.001, 3 - t)]
    portals = [z_door("a", "b", 4, x0, x1, y0, y1) for x0, x1, y0, y1 in spans]
    portals += [x_door("a", "c", 12, 1.0, 2.0, 0.101, 1.0), x_door("a", "c", 12, 2.5, 3.5, 2.0, 2.989)]
    return scene("nearslabs", cells, portals)


def stairs_beside_joined_openings() -> Level:
    """Three storeys of two rooms: in their shared wall a doorway and a window against its jamb on the ground floor,
    two windows of different heights sharing a jamb upstairs (each pair one opening, the outline of their union);
    stair openings up from the west rooms against their west walls, away from those openings."""
    t, h, cells, portals = 0.2, 3.2, [], []
    for s in range(3):
        y = h * s
        cells += [box(f"w{s}", (0, y, 0), (8, y + h, 6), t), box(f"e{s}", (8, y, 0), (13, y + h, 6), t)]
        first = (y + t, y + 2.3) if s == 0 else (y + 0.9, y + 2.4)
        portals += [x_door(f"w{s}", f"e{s}", 8, 1.0, 2.2, *first), x_door(f"w{s}", f"e{s}", 8, 2.2, 3.4, y + 1, y + 2)]
        if s:
            portals.append(hatch(f"w{s - 1}", f"w{s}", y, 0.0, 1.5, 3.0, 5.0))
    return scene("stairsjoined", cells, portals)


def small_plan() -> Level:
    """An L-shaped room, two boxes off it (a doorway flush with both cavity corners, one from the reflex corner, a
    window) and a room above one arm through a stair opening."""
    cells = [poly("L", [(0, 0), (8, 0), (8, 4), (4, 4), (4, 8), (0, 8)]), box("e", (8, 0, 0), (12, 3, 4))]
    cells += [box("n", (4, 0, 4), (8, 3, 8)), box("up", (0, 3, 0), (4, 6, 4))]
    portals = [
        x_door("L", "e", 8, 0.1, 3.9, 0.1, 2.2),
        x_door("L", "n", 4, 4, 6, 0.1, 2.2),
        z_door("L", "n", 4, 5, 8, 1, 2),
    ]
    portals.append(hatch("L", "up", 3, 1, 3, 1, 3))
    return scene("small", cells, portals)


DESIGNER: dict[str, Callable[[], Level]] = {
    "hex-hub": hex_hub,
    "hex-hub-far": lambda: moved(hex_hub(), -5e5, 0.0, 3e5, "-far"),
    "nave": nave,
    "round-hub": round_hub,
    "towers-and-halls": towers_and_halls,
    "chamfers": chamfers,
    "chamfers-turned": lambda: turned(chamfers(), 37.0),
    "near-slabs": near_slabs,
    "stairs-beside-joined-openings": stairs_beside_joined_openings,
    "small-89.999-far": lambda: moved(turned(small_plan(), 89.999), -5e5, 0.0, -5e5, "-far"),
    "small-1e-4-rad": lambda: turned(small_plan(), math.degrees(1e-4)),
}
