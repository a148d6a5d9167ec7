"""How often random long walls crowded with shaped openings near their borders keep a sliver.

Builds ``long_room_with_openings_near_borders(numpy.random.default_rng(seed), shaped=True)`` (the
random rooms of tests/geometry/test_panels.py: trapezoid and diamond windows and notches among
rectangles a few millimetres to centimetres from the floor, the ceiling and each other) for each
seed of a range and prints the seeds whose room takes the boolean path (the panels' shell was left
open) and those built by the panels with a triangle under 0.5 mm high (docs/geometry.md, "Output
guarantees"), then the counts. ``--shape L`` builds L-shaped rooms, ``--tall`` lets walls be 20 m
high, ``--plain`` leaves the openings rectangles, ``--hatches`` adds hatches through the floor and
the ceiling slabs 5 mm to 5 cm (or wider) from the cavity's long walls, its end and each other, and
``--bare`` leaves the walls without openings (the same rooms and hatches). Usage (from the
repository's root)::

    PYTHONPATH=src:. python bench/slivers.py [--start 0] [--count 2000] [--shape box|L] [--tall] [--plain]
        [--hatches] [--bare]
"""

from __future__ import annotations

import argparse

import numpy as np
from tests.geometry.levels import heights
from tests.geometry.meshcheck import only_surface, scene
from tests.geometry.test_panels import hatches_near_walls, long_room_with_openings_near_borders

from sceneforge.geometry import generate_rooms
from sceneforge.geometry.slivers import SLIVER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--shape", choices=["box", "L"], default="box")
    parser.add_argument("--tall", action="store_true")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--hatches", action="store_true")
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args()
    booleans, slivers = [], []
    for seed in range(args.start, args.start + args.count):
        rng = np.random.default_rng(seed)
        room, quads = long_room_with_openings_near_borders(rng, args.shape, args.tall, shaped=not args.plain)
        if args.bare:
            quads = []
        if args.hatches:
            quads += hatches_near_walls(rng, room, args.shape)
        built = scene({"r": room}, [("r", "x", q) for q in quads])
        if generate_rooms(built):
            booleans.append(seed)
            continue
        surface = only_surface(built, "r")
        low = float(heights(surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]).min())
        if low < SLIVER:
            slivers.append(seed)
            print(f"seed {seed}: a triangle {low * 1e3:.3f} mm high", flush=True)
    print(f"left to the booleans: {booleans}")
    print(f"seeds {args.start}-{args.start + args.count - 1}: {len(slivers)} with a sliver on the panel path, ", end="")
    print(f"{len(booleans)} left to the booleans")


if __name__ == "__main__":
    main()
