"""Openings flush with one cavity corner from both walls (a pillar between them): with several on one wall
there, the panels build the room, closed (docs/scene-format.md, Rooms; geometry/panels/openings.py): each jamb at
the corner gets the heights of every opening across it there."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.geometry.rooms import build_rooms

from .meshcheck import box_room, closed, only_surface, scene


def _x6(z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    """A quad in the wall x = 6 (facing -x)."""
    return np.array([[6, y0, z0], [6, y0, z1], [6, y1, z1], [6, y1, z0]], float)


def _z2(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """A quad in the wall z = 2 (facing -z)."""
    return np.array([[x0, y0, 2], [x0, y1, 2], [x1, y1, 2], [x1, y0, 2]], float)


@pytest.mark.parametrize(
    "across",
    [
        (6.1, 6.9, 7.0, 9.5),  # overlapping the upper opening of the wall x = 6 there, past its bottom
        (6.1, 6.9, 7.0, 8.0),  # reaching into it from below
        (6.1, 6.9, 1.0, 3.0),  # overlapping the lower one, past its top
        (6.0, 6.9, 7.0, 9.5),  # drawn to the outline's corner: cut up to the cavity's
    ],
)
def test_two_openings_at_a_corner_and_one_across_build_closed(across: tuple[float, ...]) -> None:
    # An atrium 10 m tall (walls 0.1 m): its wall x = 6 has a window (1 to 2 m) and a doorway (7.5 to 9 m) both
    # flush with the cavity's corner at z = 2.1; the wall z = 2 a doorway flush with that corner too, whose
    # height overlaps one of them. The panels paired one opening per wall and left such corners' jambs without
    # the heights across: a crack up the pillar's corner.
    rooms = {
        "atrium": box_room(6, 10, 2, 6, 0.0, 10.0),
        "west": box_room(2, 6, 2, 6, 0.0, 10.0),
        "south": box_room(6, 10, -2, 2, 0.0, 10.0),
    }
    portals = [
        ("atrium", "west", _x6(2.1, 2.9, 1.0, 2.0)),
        ("atrium", "west", _x6(2.1, 2.9, 7.5, 9.0)),
        ("atrium", "south", _z2(*across)),
    ]
    ir = scene(rooms, portals)
    assert 0 not in build_rooms(ir)  # the atrium: by the panels
    assert closed(only_surface(ir, "atrium"))


def test_a_storey_doorway_each_on_both_walls_at_an_atriums_corner_build_closed() -> None:
    # Three storeys' doorways into an atrium from each of two rooms, all flush with one corner, from each floor's
    # slab (the atrium's walls 0.25 m): each jamb meets the two or three across it.
    rooms = {
        "atrium": box_room(6, 10, 2, 6, 0.0, 9.0, t=0.25),
        "west": box_room(2, 6, 2, 6, 0.0, 9.0),
        "south": box_room(6, 10, -2, 2, 0.0, 9.0),
    }
    portals = []
    for y in (0.0, 3.0, 6.0):
        portals.append(("atrium", "west", _x6(2.25, 3.2, y + 0.25, y + 2.4)))
        portals.append(("atrium", "south", _z2(6.25, 7.1, y + 0.25, y + 2.1)))
    portals.append(("atrium", "south", _z2(6.0, 7.1, 8.0, 9.0)))  # up through the roof slab from 8 m
    ir = scene(rooms, portals)
    assert 0 not in build_rooms(ir)  # the atrium: by the panels
    assert closed(only_surface(ir, "atrium"))


def test_random_openings_at_one_corner_build_closed_mostly_on_the_panels() -> None:
    # 1 to 3 openings on each wall at one corner (drawn to the outline's corner, the cavity's or past it), at
    # random heights, from and to the slabs' faces or through them, walls 2 to 25 cm: every shell closed, and
    # the panels build all but those where a sill or lintel falls in a slab another opening passes through.
    rng = np.random.default_rng(11)
    on_panels = 0
    for _ in range(120):
        t, height = float(rng.choice([0.02, 0.1, 0.25])), float(rng.choice([3.0, 10.0]))
        rooms = {
            "atrium": box_room(6, 10, 2, 6, 0.0, height, t=t),
            "west": box_room(2, 6, 2, 6, 0.0, height),
            "south": box_room(6, 10, -2, 2, 0.0, height),
        }
        portals = []
        for wall in ("west", "south"):
            cuts = np.sort(rng.uniform(0.0, height, 2 * int(rng.integers(1, 4))))
            for lo, hi in cuts.reshape(-1, 2):
                if hi - lo < 0.05:
                    continue
                lo = 0.0 if lo == cuts[0] and rng.random() < 0.3 else lo
                hi = height if hi == cuts[-1] and rng.random() < 0.3 else hi
                start, end = 2.0 + float(rng.choice([0.0, t, -0.2])), float(rng.uniform(2.5, 3.5))
                if wall == "west":
                    portals.append(("atrium", wall, _x6(start, end, lo, hi)))
                else:
                    portals.append(("atrium", wall, _z2(start + 4.0, end + 4.0, lo, hi)))
        ir = scene(rooms, portals)
        on_panels += 0 not in build_rooms(ir)
        assert closed(only_surface(ir, "atrium"))
    assert on_panels >= 100, on_panels
