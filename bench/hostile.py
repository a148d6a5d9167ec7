"""Hostile-size benchmark: descriptions that fit in ``SCENEFORGE_MAX_BODY_BYTES`` (32 MiB) and push
one dimension each as far as the bytes allow, timed as ``sceneforge validate`` and ``sceneforge
build`` whole processes (``timeout 300``), CPU seconds (user + system of the reaped child).

Cases (:data:`CASES`; every description is compact JSON with short numbers, sized to the budget):

* ``floor-100k``: a few rooms with 10⁵-point floors (the schema allows 4,096 points per floor);
* ``floor-4096``: as many 4,096-point star floors as fit, the rooms stacked in height;
* ``floor-256``: as many 256-point star floors as fit, likewise (non-overlapping rooms);
* ``floor-256-limit``, ``floor-4096-limit``: the same floors up to ``SCENEFORGE_MAX_FLOOR_POINTS``
  (100,000 points: 390 and 24 rooms), the most a build takes;
* ``portals-wall``: two box rooms sharing one long wall with ``SCENEFORGE_MAX_PORTALS`` doorways in it;
* ``portals-walls``: 60 such pairs of rooms with 1,000 doorways each (``SCENEFORGE_MAX_CELL_PORTALS``);
* ``hub-4096``: a 4,096-sided room with 1,000 doorways in its walls, each into a small room;
* ``hubs-4096-limit``: 24 such rooms (within the floor-point limit), 500 doorways each to the room above;
* ``trapezoids-wall``: two box rooms sharing a wall with ``SCENEFORGE_MAX_CELL_PORTALS`` trapezoid openings
  (0.8 m wide on the floor's top, 0.5 m wide 2 m up), one every 1.2 m;
* ``door-window-band``: two box rooms sharing a wall with half as many doorways 2 cm wide, one every 5 cm,
  each under a window (2.2 to 2.8 m; every other one 1 cm along), the cell portal limit in all;
* ``instances``: one small OBJ placed as many times as fit (one instance entry per copy);
* ``instances-20k``: the same with 20,000 entries (``SCENEFORGE_MAX_INSTANCE_GROUPS``);
* ``materials``: as many materials as fit, each given to a box room of its own up to the cell limit;
* ``long-ids``: ``SCENEFORGE_MAX_CELLS`` cells with 128-character ids, joined in a chain by portals;
* ``tiny-rooms``: ``SCENEFORGE_MAX_CELLS`` box rooms 1 cm across;
* ``maze-20k``: ``sceneforge generate maze --cells 20000``, an ordinary level at the cell limit;
* ``rooms-at-one-place``: ``SCENEFORGE_MAX_CELLS`` box rooms drawn at one place (``rooms_overlap`` for every pair);
* ``stars-at-one-place``: the 24 4,096-point star rooms of ``floor-4096-limit`` at one height (pairs on the plans);
* ``tower-20k``: ``SCENEFORGE_MAX_CELLS`` box rooms in a tower, each touching its neighbours (an ordinary level);
* ``open-hall``: a 70 × 70 hall of rooms joined by openings as large as their walls (every room sees every other).

Usage::

    python bench/hostile.py [--cases floor-256,...] [--repeats 3] [--commands validate,build] [--keep DIR]

Each figure is the median of ``--repeats`` runs; the first line of each process's output (or its
last line: the refusal) is printed with it. Run it against another source tree with ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUDGET = 32 * 1024 * 1024
MAX_CELLS = 20_000
MAX_PORTALS = 60_000
MAX_CELL_PORTALS = 1_000
CLI = [sys.executable, "-c", "import sys; from sceneforge.cli import main; sys.argv[0] = 'sceneforge'; main()"]


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def star(k: int, outer: float, inner: float) -> list[list[int]]:
    """A k-point star, radii alternating ``outer`` and ``inner``, rounded to whole metres."""
    pts = []
    for i in range(k):
        a = 2 * math.pi * i / k
        r = outer if i % 2 == 0 else inner
        pts.append([round(r * math.cos(a)), round(r * math.sin(a))])
    return pts


def _stacked_floors(k: int, outer: float, inner: float, limit: int = MAX_CELLS) -> dict[str, Any]:
    """As many rooms with the same k-point star floor, stacked 4 m apart in height, as fit the budget."""
    floor = star(k, outer, inner)
    one = len(_dump({"cellId": "c00000", "room": {"floor": floor, "y": 100000, "height": 3}})) + 1
    n = min(limit, (BUDGET - 200) // one)
    cells = [{"cellId": f"c{i:05d}", "room": {"floor": floor, "y": 4 * i, "height": 3}} for i in range(n)]
    return {"sceneId": f"floor{k}", "cells": cells}


def floor_100k() -> dict[str, Any]:
    floor = star(100_000, 30_000, 20_000)
    return {"sceneId": "floor100k", "cells": [{"cellId": f"c{i}", "room": {"floor": floor}} for i in range(3)]}


def floor_4096() -> dict[str, Any]:
    return _stacked_floors(4096, 700, 500)


def floor_256() -> dict[str, Any]:
    return _stacked_floors(256, 50, 30)


def floor_256_at_limit() -> dict[str, Any]:
    return _stacked_floors(256, 50, 30, limit=100_000 // 256)


def floor_4096_at_limit() -> dict[str, Any]:
    return _stacked_floors(4096, 700, 500, limit=100_000 // 4096)


def _doorway_walls(pairs: int, doors: int) -> dict[str, Any]:
    """``pairs`` pairs of box rooms, stacked 4 m apart, each pair sharing the wall x = 0 pierced by
    ``doors`` doorways 2 cm wide, one every 5 cm."""
    length = 0.05 * doors
    cells: list[dict[str, Any]] = []
    portals = []
    for k in range(pairs):
        y = 4 * k
        a, b = f"a{k}", f"b{k}"
        cells.append({"cellId": a, "room": {"min": [-4, y, 0], "max": [0, y + 3, length]}})
        cells.append({"cellId": b, "room": {"min": [0, y, 0], "max": [4, y + 3, length]}})
        for i in range(doors):
            z0 = round(0.05 * i + 0.01, 2)
            z1 = round(z0 + 0.02, 2)
            portals.append({"from": b, "to": a, "quad": [0, y + 0.1, z1, 0, y + 2, z1, 0, y + 2, z0, 0, y + 0.1, z0]})
    return {"sceneId": f"walls{pairs}x{doors}", "cells": cells, "portals": portals}


def portals_walls() -> dict[str, Any]:
    return _doorway_walls(MAX_PORTALS // 1000, 1000)


def _hub_floor(k: int) -> tuple[list[tuple[float, float]], list[list[float]]]:
    """A regular k-gon with 0.5 m edges: its corners, and the same rounded to 0.1 mm for the description."""
    r = 0.5 / (2 * math.sin(math.pi / k))
    pts = [(r * math.cos(2 * math.pi * i / k), r * math.sin(2 * math.pi * i / k)) for i in range(k)]
    return pts, [[round(x, 4), round(z, 4)] for x, z in pts]


def _hub_doorway(pts: list[tuple[float, float]], i: int, y: float) -> list[float]:
    """A doorway 0.2 m wide (the middle 40 %) in edge i of a hub, 0.1 m to 2 m over ``y``, facing out."""
    (x0, z0), (x1, z1) = pts[i], pts[(i + 1) % len(pts)]
    a = [round(x0 + (x1 - x0) * 0.3, 4), round(z0 + (z1 - z0) * 0.3, 4)]
    b = [round(x0 + (x1 - x0) * 0.7, 4), round(z0 + (z1 - z0) * 0.7, 4)]
    return [a[0], y + 0.1, a[1], a[0], y + 2, a[1], b[0], y + 2, b[1], b[0], y + 0.1, b[1]]


def hub_4096() -> dict[str, Any]:
    """A 4,096-sided room with 1,000 doorways in its walls (one every fourth edge), each into a small room
    of its own: 4.1 million (doorway, wall) pairs."""
    pts, floor = _hub_floor(4096)
    cells: list[dict[str, Any]] = [{"cellId": "hub", "room": {"floor": floor, "height": 3}}]
    portals = []
    for d in range(1000):
        i = 4 * d
        (x0, z0), (x1, z1) = pts[i], pts[i + 1]
        mx, mz = (x0 + x1) / 2, (z0 + z1) / 2
        ox, oz = 3 * mx / math.hypot(mx, mz), 3 * mz / math.hypot(mx, mz)
        room = [floor[i], [round(x0 + ox, 4), round(z0 + oz, 4)], [round(x1 + ox, 4), round(z1 + oz, 4)], floor[i + 1]]
        cells.append({"cellId": f"r{d}", "room": {"floor": room, "height": 3}})
        portals.append({"from": "hub", "to": f"r{d}", "quad": _hub_doorway(pts, i, 0.0)})
    return {"sceneId": "hub4096", "cells": cells, "portals": portals}


def hubs_4096_at_limit() -> dict[str, Any]:
    """24 such rooms (98,304 floor points, within ``SCENEFORGE_MAX_FLOOR_POINTS``) stacked 4 m apart, each
    with 500 doorways in its walls to the room above (1,000 portals a room, the cell limit)."""
    pts, floor = _hub_floor(4096)
    n = 100_000 // 4096
    cells = [{"cellId": f"h{k}", "room": {"floor": floor, "y": 4 * k, "height": 3}} for k in range(n)]
    portals = [
        {"from": f"h{k}", "to": f"h{(k + 1) % n}", "quad": _hub_doorway(pts, 8 * d, 4.0 * k)}
        for k in range(n)
        for d in range(500)
    ]
    return {"sceneId": "hubs4096", "cells": cells, "portals": portals}


def portals_wall() -> dict[str, Any]:
    """Rooms a and b share the wall x = 0, 3,000 m long; doorways 2 cm wide every 5 cm along it."""
    n = MAX_PORTALS
    length = 0.05 * n
    cells = [
        {"cellId": "a", "room": {"min": [-4, 0, 0], "max": [0, 3, length]}},
        {"cellId": "b", "room": {"min": [0, 0, 0], "max": [4, 3, length]}},
    ]
    portals = []
    for i in range(n):
        z0 = round(0.05 * i + 0.01, 2)
        z1 = round(z0 + 0.02, 2)
        portals.append({"from": "a", "to": "b", "quad": [0, 0.1, z1, 0, 2, z1, 0, 2, z0, 0, 0.1, z0]})
    return {"sceneId": "portalswall", "cells": cells, "portals": portals}


def _shared_wall(length: float) -> list[dict[str, Any]]:
    """Box rooms a and b, 3 m tall, sharing the wall x = 0 (``length`` m long)."""
    return [
        {"cellId": "a", "room": {"min": [-4, 0, 0], "max": [0, 3, length]}},
        {"cellId": "b", "room": {"min": [0, 0, 0], "max": [4, 3, length]}},
    ]


def trapezoids_wall() -> dict[str, Any]:
    """Trapezoids in the shared wall, their bottom sides on the floor's top (0.1 m: notches of the inner faces,
    holes 0.1 m over the outer faces' bottoms), 0.8 m wide there, 0.5 m wide 2 m up, one every 1.2 m."""
    n = MAX_CELL_PORTALS
    portals = []
    for i in range(n):
        c = round(1.2 * i + 1.0, 2)
        b0, b1, t0, t1 = round(c - 0.4, 2), round(c + 0.4, 2), round(c - 0.25, 2), round(c + 0.25, 2)
        portals.append({"from": "a", "to": "b", "quad": [0, 0.1, b0, 0, 2, t0, 0, 2, t1, 0, 0.1, b1]})
    return {"sceneId": "trapezoidswall", "cells": _shared_wall(round(1.2 * n + 1.0, 2)), "portals": portals}


def door_window_band() -> dict[str, Any]:
    """Doorways 2 cm wide every 5 cm in the shared wall (from the floor's underside or its top, to 2 m), each
    under a window 2 cm wide from 2.2 to 2.8 m (every other one 1 cm along): a band 0.2 m high between them."""
    n = MAX_CELL_PORTALS // 2
    portals = []
    for i in range(n):
        z0 = round(0.05 * i + 0.01, 2)
        z1, w0 = round(z0 + 0.02, 2), round(z0 + 0.01 * (i % 2), 2)
        w1, y = round(w0 + 0.02, 2), 0.1 * (i % 3 == 0)
        portals.append({"from": "a", "to": "b", "quad": [0, y, z1, 0, 2, z1, 0, 2, z0, 0, y, z0]})
        portals.append({"from": "a", "to": "b", "quad": [0, 2.2, w1, 0, 2.8, w1, 0, 2.8, w0, 0, 2.2, w0]})
    return {"sceneId": "doorwindowband", "cells": _shared_wall(round(0.05 * n + 0.05, 2)), "portals": portals}


def instances() -> dict[str, Any]:
    one = {"meshId": "asset:tri.obj", "cellId": "a", "transforms": [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1]]}
    n = (BUDGET - 200) // (len(_dump(one)) + 1)
    items = [
        {"meshId": "asset:tri.obj", "cellId": "a", "transforms": [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, i % 3, 1, 1, 1]]}
        for i in range(n)
    ]
    room = {"min": [-10, 0, -10], "max": [10, 3, 10]}
    return {"sceneId": "instances", "cells": [{"cellId": "a", "room": room}], "instances": items}


def instance_groups() -> dict[str, Any]:
    """``SCENEFORGE_MAX_INSTANCE_GROUPS`` (20,000) one-copy entries: the most a build takes."""
    doc = instances()
    doc["instances"] = doc["instances"][:20_000]
    doc["sceneId"] = "instancegroups"
    return doc


def materials() -> dict[str, Any]:
    cells = [
        {"cellId": f"c{i}", "room": {"min": [5 * i, 0, 0], "max": [5 * i + 4, 3, 4], "material": f"m{i:07d}"}}
        for i in range(MAX_CELLS)
    ]
    n = (BUDGET - 200 - len(_dump({"cells": cells}))) // len(b'"m0000000":"#ffffff",')
    mats = {f"m{i:07d}": "#%06x" % (i & 0xFFFFFF) for i in range(n)}
    return {"sceneId": "materials", "cells": cells, "materials": mats}


def long_ids() -> dict[str, Any]:
    def cid(i: int) -> str:
        return f"{i:05d}".ljust(128, "x")

    cells = [{"cellId": cid(i), "room": {"min": [4 * i, 0, 0], "max": [4 * i + 4, 3, 4]}} for i in range(MAX_CELLS)]
    portals = [{"between": [cid(i), cid(i + 1)]} for i in range(MAX_CELLS - 1)]
    return {"sceneId": "x" * 64, "cells": cells, "portals": portals}


def tiny_rooms() -> dict[str, Any]:
    def at(i: int) -> tuple[float, float]:
        return round(0.02 * (i % 150), 2), round(0.02 * (i // 150), 2)

    cells = [
        {
            "cellId": f"{i}",
            "room": {
                "min": [*at(i)[:1], 0, at(i)[1]],
                "max": [at(i)[0] + 0.01, 0.01, at(i)[1] + 0.01],
                "wallThickness": 0.001,
            },
        }
        for i in range(MAX_CELLS)
    ]
    return {"sceneId": "tiny", "cells": cells}


def rooms_at_one_place() -> dict[str, Any]:
    """``SCENEFORGE_MAX_CELLS`` box rooms drawn at one place: every pair overlaps (``rooms_overlap``)."""
    cells = [{"cellId": f"{i}", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}} for i in range(MAX_CELLS)]
    return {"sceneId": "pile", "cells": cells}


def stars_at_one_place() -> dict[str, Any]:
    """24 rooms of 4,096-point star floors (the floor-point limit) drawn at one place: every pair is decided on
    the plans."""
    doc = floor_4096_at_limit()
    for cell in doc["cells"]:
        cell["room"]["y"] = 0
    return {**doc, "sceneId": "stars"}


def tower_20k() -> dict[str, Any]:
    """``SCENEFORGE_MAX_CELLS`` box rooms in a tower (28 × 25 storeys × 28, each touching its neighbours): an
    ordinary level whose rooms' boxes overlap along every axis's projection 7 million times."""
    cells = [
        {"cellId": f"{i}-{j}-{k}", "room": {"min": [4 * i, 3 * j, 4 * k], "max": [4 * i + 4, 3 * j + 3, 4 * k + 4]}}
        for j in range(25)
        for i in range(28)
        for k in range(28)
    ][:MAX_CELLS]
    return {"sceneId": "tower", "cells": cells}


def open_hall() -> dict[str, Any]:
    """A 70 × 70 hall of 4 m rooms, every neighbour joined by an opening as large as the wall but for
    0.1 m jambs: every room sees every other (24 million PVS entries, past the limit)."""
    k, s = 70, 4
    cells = [
        {"cellId": f"{i}-{j}", "room": {"min": [s * i, 0, s * j], "max": [s * i + s, 3, s * j + s]}}
        for i in range(k)
        for j in range(k)
    ]
    portals = []
    for i in range(k):
        for j in range(k):
            a, b, x, z = s * j + 0.1, s * j + s - 0.1, s * i + s, s * j + s
            if i + 1 < k:
                portals.append(
                    {"from": f"{i}-{j}", "to": f"{i + 1}-{j}", "quad": [x, 0.1, a, x, 2.9, a, x, 2.9, b, x, 0.1, b]}
                )
            c, d = s * i + 0.1, s * i + s - 0.1
            if j + 1 < k:
                portals.append(
                    {"from": f"{i}-{j}", "to": f"{i}-{j + 1}", "quad": [c, 0.1, z, d, 0.1, z, d, 2.9, z, c, 2.9, z]}
                )
    return {"sceneId": "openhall", "cells": cells, "portals": portals}


def maze_20k() -> dict[str, Any]:
    from sceneforge.generate import generate_maze

    return generate_maze(MAX_CELLS)


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "floor-100k": floor_100k,
    "floor-4096": floor_4096,
    "floor-256": floor_256,
    "floor-256-limit": floor_256_at_limit,
    "floor-4096-limit": floor_4096_at_limit,
    "portals-wall": portals_wall,
    "portals-walls": portals_walls,
    "hub-4096": hub_4096,
    "hubs-4096-limit": hubs_4096_at_limit,
    "trapezoids-wall": trapezoids_wall,
    "door-window-band": door_window_band,
    "instances": instances,
    "instances-20k": instance_groups,
    "materials": materials,
    "long-ids": long_ids,
    "tiny-rooms": tiny_rooms,
    "maze-20k": maze_20k,
    "rooms-at-one-place": rooms_at_one_place,
    "stars-at-one-place": stars_at_one_place,
    "tower-20k": tower_20k,
    "open-hall": open_hall,
}


def write_case(name: str, folder: Path) -> Path:
    data = _dump(CASES[name]())
    if len(data) > BUDGET:
        raise SystemExit(f"{name}: {len(data)} bytes, over the {BUDGET}-byte budget")
    path = folder / f"{name}.json"
    path.write_bytes(data)
    (folder / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    return path


def timed(command: list[str]) -> tuple[float, float, float, int, str]:
    """Wall and CPU seconds (user + system, of the reaped child), peak resident MiB, exit status and the
    telling line of one process (its first line that is no warning: the result or the refusal)."""
    start = time.perf_counter()
    proc = subprocess.Popen(["timeout", "300", *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    out = proc.stdout.read()
    # wait4: this child's own usage (with the process it ran), not every child's so far.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stdout.close()
    cpu = usage.ru_utime + usage.ru_stime
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.strip()]
    tell = next((ln for ln in lines if not ln.startswith("warning")), lines[-1] if lines else "")
    return wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), tell[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--commands", default="validate,build")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the descriptions here (and keep them)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in args.cases.split(","):
            spec = write_case(name, folder)
            size = spec.stat().st_size
            for command in args.commands.split(","):
                argv = [*CLI, command, str(spec)]
                if command == "build":
                    argv += ["-o", str(Path(tmp) / "out"), "--no-progress"]
                runs = [timed(argv) for _ in range(args.repeats)]
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                rss = max(r[2] for r in runs)
                rc, tell = runs[-1][3], runs[-1][4]
                print(
                    f"{name} ({size / 2**20:.1f} MiB) {command}: {cpu:.2f} s CPU, {wall:.2f} s wall"
                    f" (median of {args.repeats}), peak RSS {rss:.0f} MiB, exit {rc}: {tell}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
