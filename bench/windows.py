"""Windows of other shapes: the geometry stage on rooms whose walls hold trapezoids, against rectangles.

A row of ``--rooms`` box rooms (4 × 3 × 4 m), each joined to the next by one window in their shared
wall, 1 m above the floor: a trapezoid (its top 0.6 m narrower than its bottom) in the measured
level, a rectangle of the same box in the anchor, built in the same run. Both take the panel path
(``booleanCells`` 0, checked); the rectangle is a picture frame of four quads, the trapezoid a hole
in a face that goes to earcut. The figure is the CPU time of ``generate_rooms`` (the geometry stage
alone, on the parsed description), median of ``--repeats``, shaped ÷ rectangular.

Usage::

    python bench/windows.py [--rooms 2000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any


def windowed_row(rooms: int, shaped: bool) -> dict[str, Any]:
    """``rooms`` box rooms in a row along x, each joined to the next by one window."""
    cells, portals = [], []
    for i in range(rooms):
        x = 4.0 * i
        cells.append({"cellId": f"r{i}", "room": {"min": [x, 0, 0], "max": [x + 4, 3, 4]}})
        if i:
            inset = 0.3 if shaped else 0.0
            quad = [x, 1.0, 1.0, x, 2.0, 1.0 + inset, x, 2.0, 3.0 - inset, x, 1.0, 3.0]
            portals.append({"from": f"r{i - 1}", "to": f"r{i}", "quad": quad})
    return {"sceneId": f"windows-{'shaped' if shaped else 'rect'}-{rooms}", "cells": cells, "portals": portals}


def geometry_seconds(data: bytes) -> float:
    """CPU seconds of the geometry stage on ``data`` (parsed anew each time)."""
    from sceneforge.config import Limits
    from sceneforge.geometry import generate_rooms
    from sceneforge.ingest.description import description_to_ir, parse_description

    ir = description_to_ir(parse_description(data), lambda _asset: b"", Limits())
    start = time.process_time()
    boolean_cells = generate_rooms(ir)
    seconds = time.process_time() - start
    if boolean_cells:
        raise SystemExit(f"{boolean_cells} rooms took the boolean path")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    levels = {kind: json.dumps(windowed_row(args.rooms, kind == "shaped")).encode() for kind in ("rect", "shaped")}
    geometry_seconds(levels["rect"])  # imports and first calls
    times: dict[str, list[float]] = {"rect": [], "shaped": []}
    for _ in range(args.repeats):  # alternated, so both meet the same load
        for kind, data in levels.items():
            times[kind].append(geometry_seconds(data))
    rect, shaped = statistics.median(times["rect"]), statistics.median(times["shaped"])
    print(f"{args.rooms} rooms: rectangular windows {rect:.3f} s, trapezoids {shaped:.3f} s: {shaped / rect:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
