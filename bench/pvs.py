"""PVS benchmark: time, work and tightness of the portal flow on office levels, mazes and the
levels that stress the walk (many doorways in one wall, fully connected grids, long corridors).

Anchor, measured in the same run: the PVS of a 1,000-cell maze (``sceneforge generate maze
--seed 1``); each level's CPU time per cell is given as a ratio of the maze's. Times are the
median of ``--repeats`` runs in this process (CPU time of :func:`potentially_visible`; the
portal graph is built once). Tightness: the mean PVS against the mean set of cells joined by
sampled free sight lines (the sampler of ``tests/visibility/sightlines.py``: lines from inside
every cell, lines through pairs of portals, then lines through the portals of every PVS pair
not yet joined), and the pairs a sampled line joins that the PVS lacks (misses). Usage::

    python bench/pvs.py [--repeats 5] [--no-tightness] [--json bench/results/pvs.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.visibility.levels import corridor, grid, many_doors  # noqa: E402
from tests.visibility.sightlines import confirm_pairs, ir_from_description, sample_visibility  # noqa: E402

from sceneforge.generate import generate_apartment, generate_maze  # noqa: E402
from sceneforge.model.ir import SceneIR  # noqa: E402
from sceneforge.visibility import build_portal_graph  # noqa: E402
from sceneforge.visibility.pvs import portal_flow  # noqa: E402

LEVELS = ROOT / "tests" / "data" / "levels"


def _office(name: str) -> SceneIR:
    return ir_from_description(json.loads((LEVELS / f"{name}.json").read_text()))


CASES: dict[str, Any] = {
    "maze-1000": lambda: ir_from_description(generate_maze(1000, 1)),
    "apartment-1000": lambda: ir_from_description(generate_apartment(1000, 1)),
    "office-small": lambda: _office("office-small"),
    "office-200": lambda: _office("office-200"),
    "office-1000": lambda: _office("office-1000"),
    "doors-8": lambda: many_doors(8),
    "doors-40": lambda: many_doors(40),
    "grid-32 (1 m doors)": lambda: grid(32),
    "grid-16 (open walls)": lambda: grid(16, door=None),
    "grid-32 (open walls)": lambda: grid(32, door=None),
    "corridor-120": lambda: corridor(120),
}
TIGHTNESS = {"maze-1000", "apartment-1000", "office-small", "office-200", "office-1000"}


def tightness(ir: SceneIR, sets: list[np.ndarray], seed: int) -> dict[str, Any]:
    n = len(ir.cells)
    pvs = np.zeros((n, n), bool)
    for i, s in enumerate(sets):
        pvs[i, s] = True
    rng = np.random.default_rng(seed)
    p = len(ir.portals)
    pairs = np.column_stack(np.nonzero(~np.eye(p, dtype=bool)))
    if len(pairs) > 300_000:
        pairs = pairs[rng.choice(len(pairs), 300_000, replace=False)]
    start = time.perf_counter()
    seen = sample_visibility(ir, rng, per_cell=1000, portal_pairs=pairs, per_pair=2)
    unguided = int(seen.sum())
    confirm_pairs(ir, pvs, seen, rng, rounds=(16, 64, 256))
    return {
        "mean_pvs": pvs.sum() / n,
        "mean_sampled": seen.sum() / n,
        "pvs_over_sampled": pvs.sum() / seen.sum(),
        "pvs_over_unguided": pvs.sum() / unguided,
        "misses": int((seen & ~pvs).sum()),
        "sampling_s": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-tightness", action="store_true")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for name in args.cases.split(","):
        ir = CASES[name]()
        graph = build_portal_graph(ir)
        times = []
        for _ in range(args.repeats if len(ir.cells) < 2000 or name == "maze-1000" else 1):
            t = time.process_time()
            sets, stats = portal_flow(graph)
            times.append(time.process_time() - t)
        row: dict[str, Any] = {"level": name, "cells": len(ir.cells), "portals": len(ir.portals)}
        row["pvs_s"] = statistics.median(times)
        row["stats"] = {k: getattr(stats, k) for k in stats.__slots__}
        row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if name in TIGHTNESS and not args.no_tightness:
            row.update(tightness(ir, sets, 1))
        rows.append(row)
        print(json.dumps(row), flush=True)
    anchor = next(r for r in rows if r["level"] == "maze-1000")
    per_cell = anchor["pvs_s"] / anchor["cells"]
    print()
    print(
        "| level | cells | PVS time | per cell ÷ maze | steps | walks | merged | fallback sources "
        "| mean PVS | PVS ÷ sampled | misses |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        st = r["stats"]
        tight = f"{r['mean_pvs']:.2f} | {r['pvs_over_sampled']:.3f} | {r['misses']}" if "mean_pvs" in r else "— | — | —"
        print(
            f"| {r['level']} | {r['cells']:,} | {r['pvs_s']:.3f} s | {r['pvs_s'] / r['cells'] / per_cell:.2f} | "
            f"{st['steps']:,} | {st['walks']:,} | {st['merged']:,} | {st['fallback_sources']:,} | {tight} |"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
