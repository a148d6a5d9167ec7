"""Incremental rebuild benchmark: edits of a 1,032-cell office against its full build, same run.

For each edit — one room resized, one material changed, one portal added, one cell removed —
the level is built once in full (anchor, no cache) and once with a cell cache warmed by a build
of the unedited level; the figure is incremental / full build time (median of ``--repeats``,
each incremental run with a freshly warmed cache so it reuses exactly the unedited cells).
Both outputs are checked to be byte-identical. ``ratio`` is of wall-clock times, ``cpu`` of
process CPU times (less sensitive to other processes on a shared machine). ``walked``: the cells
the PVS flow walked from (the others kept their sets from the warm-up build, see
sceneforge/visibility/reuse.py).

Usage::

    python bench/incremental.py [--level tests/data/levels/office-1000.json] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _first_box_room(doc: dict[str, Any]) -> int:
    """An office in the middle of a row: a box room with box rooms on both sides (not a corridor)."""
    boxes = [c["room"] for c in doc["cells"] if "min" in c.get("room", {})]
    for k, cell in enumerate(doc["cells"]):
        room = cell.get("room", {})
        if "min" not in room or room["max"][2] - room["min"][2] < 4.0:
            continue
        east = any(abs(b["min"][0] - room["max"][0]) < 1e-6 and b["min"][2] == room["min"][2] for b in boxes)
        west = any(abs(b["max"][0] - room["min"][0]) < 1e-6 and b["min"][2] == room["min"][2] for b in boxes)
        if east and west:
            return k
    raise SystemExit("no office with neighbours on both sides in this level")


def edits(doc: dict[str, Any]) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Named edits of a description, in place."""
    i = _first_box_room(doc)

    def resize(d: dict[str, Any]) -> None:  # one room 0.4 m deeper, away from the corridor
        room = d["cells"][i]["room"]
        axis_lo, axis_hi = room["min"][2], room["max"][2]
        if axis_lo < 0:
            room["min"][2] = axis_lo - 0.4
        else:
            room["max"][2] = axis_hi + 0.4

    def material(d: dict[str, Any]) -> None:
        d["cells"][i]["room"]["material"] = "edited"
        d.setdefault("materials", {})["edited"] = "#aa5533"

    def add_portal(d: dict[str, Any]) -> None:  # a window into a box room sharing its east wall
        a = d["cells"][i]["room"]
        b = next(
            c
            for c in d["cells"]
            if "min" in c.get("room", {})
            and abs(c["room"]["min"][0] - a["max"][0]) < 1e-6
            and abs(c["room"]["min"][1] - a["min"][1]) < 1e-6
            and min(c["room"]["max"][2], a["max"][2]) - max(c["room"]["min"][2], a["min"][2]) > 2.0
        )
        x, y = a["max"][0], a["min"][1]
        mid = (max(b["room"]["min"][2], a["min"][2]) + min(b["room"]["max"][2], a["max"][2])) / 2
        quad = [x, y + 1.2, mid - 0.4, x, y + 2.0, mid - 0.4, x, y + 2.0, mid + 0.4, x, y + 1.2, mid + 0.4]
        d["portals"].append({"from": d["cells"][i]["cellId"], "to": b["cellId"], "quad": quad})

    def remove(d: dict[str, Any]) -> None:
        gone = d["cells"].pop(i)["cellId"]
        d["portals"] = [p for p in d["portals"] if gone not in (p.get("from"), p.get("to"), *p.get("between", []))]

    return {"room resized": resize, "material changed": material, "portal added": add_portal, "cell removed": remove}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=Path, default=ROOT / "tests" / "data" / "levels" / "office-1000.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.incremental import MemoryCellCache

    base = json.loads(args.level.read_text())
    base_bytes = json.dumps(base).encode()
    compile_scene(base_bytes)  # warm imports and first calls
    print(f"{args.level.name}: {len(base['cells'])} cells, {len(base['portals'])} portals")
    print(f"{'edit':<18} {'full s':>8} {'incremental s':>14} {'ratio':>7} {'cpu':>7} {'rebuilt':>8} {'reused':>7}"
          f" {'walked':>7}")  # fmt: skip
    worst = 0.0
    for name, edit in edits(base).items():
        doc = copy.deepcopy(base)
        edit(doc)
        data = json.dumps(doc).encode()
        full_times, inc_times, full_cpu, inc_cpu = [], [], [], []
        stats: dict[str, Any] = {}
        for _ in range(args.repeats):
            start, cpu = time.perf_counter(), time.process_time()
            full = compile_scene(data)
            full_times.append(time.perf_counter() - start)
            full_cpu.append(time.process_time() - cpu)
            cache = MemoryCellCache()
            compile_scene(base_bytes, BuildOptions(cache=cache))
            start, cpu = time.perf_counter(), time.process_time()
            inc = compile_scene(data, BuildOptions(cache=cache))
            inc_times.append(time.perf_counter() - start)
            inc_cpu.append(time.process_time() - cpu)
            if inc.glb != full.glb:
                raise SystemExit(f"{name}: the incremental build differs from the full build")
            stats = inc.meta["stats"]
        f, i = statistics.median(full_times), statistics.median(inc_times)
        cpu_ratio = statistics.median(inc_cpu) / statistics.median(full_cpu)
        worst = max(worst, i / f)
        print(f"{name:<18} {f:>8.3f} {i:>14.3f} {i / f:>7.1%} {cpu_ratio:>7.1%} {stats['cellsRebuilt']:>8}"
              f" {stats['cellsReused']:>7} {stats['pvsCellsWalked']:>7}", flush=True)  # fmt: skip
    print(f"worst incremental / full: {worst:.1%} (target for one room resized: <= 5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
