"""Floors traced from subdivided meshes: what a point every 0.1–1 m along each wall costs a build.

A level of six 4 m rooms joined by doorways (``tests/geometry/test_rounded_t_junctions.py``'s ``_traced_plan``),
each outline traced every ``step`` m, turned 32.1° and written to millimetres, as a Blender or CAD export of a
subdivided floor is. The anchor is the same level drawn with its corners only (step 4 m), built in the same
run. For each step: the build's median wall and CPU time in this process (``--repeats``, after one untimed
build) and its ratio to the anchor's, the rooms left to the booleans and the lowest triangle of the GLB (no
triangle under 0.5 mm: docs/geometry.md, "Output guarantees"). Then the fit of a turned staircase's outline
(``frames._rounded_rectilinear``, 2 × steps + 2 corners) against placing its points and grid nodes one at a
time (``tests/geometry/test_rounded_outline_fit.py``'s definitions), the same outline, the same run.

Usage (from the repository's root)::

    python bench/traced_floors.py [--steps 1,0.25,0.1] [--degrees 32.1] [--stairs 200]
        [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from timing import median_times

ROOT = Path(__file__).resolve().parent.parent


def _one_at_a_time(floor: np.ndarray) -> object:
    """``frames._rounded_rectilinear`` with its points and nodes placed one at a time."""
    from tests.geometry.test_rounded_outline_fit import _nodes_one_by_one, _on_lines_one_by_one

    from sceneforge.geometry import frames

    real_lines, real_grid = frames._on_lines, frames._GridMap.of

    def grid(local: np.ndarray, drawn: np.ndarray) -> object:
        nodes = _nodes_one_by_one(local, drawn)
        return None if nodes is None else real_grid(local, drawn)  # (its answer, for the same return)

    frames._on_lines, frames._GridMap.of = _on_lines_one_by_one, grid  # type: ignore[assignment,method-assign]
    try:
        return frames._rounded_rectilinear(floor)
    finally:
        frames._on_lines, frames._GridMap.of = real_lines, real_grid  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,0.25,0.1")
    parser.add_argument("--degrees", type=float, default=32.1)
    parser.add_argument("--stairs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from tests.geometry.levels import cell_triangles, heights
    from tests.geometry.test_rounded_outline_fit import _staircase
    from tests.geometry.test_rounded_t_junctions import _traced_plan
    from tests.levels_new_kinds import to_mm, turned_by

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.geometry import frames

    options = BuildOptions(pvs=False)
    anchor = json.dumps(to_mm(turned_by(_traced_plan(4.0), args.degrees))).encode()
    (base_wall, base_cpu), _ = median_times(lambda: compile_scene(anchor, options), args.repeats)
    print("| step | points a room | wall ms | ratio | cpu ms | ratio | boolean rooms | lowest triangle |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| 4 m (anchor) | 4 | {base_wall * 1e3:.1f} | 1.00 | {base_cpu * 1e3:.1f} | 1.00 | | |")
    for step in [float(s) for s in args.steps.split(",")]:
        data = json.dumps(to_mm(turned_by(_traced_plan(step), args.degrees))).encode()
        (wall, cpu), _ = median_times(lambda data=data: compile_scene(data, options), args.repeats)  # type: ignore[misc]
        built = compile_scene(data, options)
        low = min(float(heights(t).min()) for t in cell_triangles(built.glb).values())
        print(
            f"| {step:g} m | {round(16 / step)} | {wall * 1e3:.1f} | {wall / base_wall:.2f} | {cpu * 1e3:.1f} | "
            f"{cpu / base_cpu:.2f} | {built.meta['stats']['booleanCells']} | {low * 1e3:.2f} mm |"
        )
    c, s = np.cos(np.radians(30.0)), np.sin(np.radians(30.0))
    floor = np.round(_staircase(args.stairs) @ np.array([[c, s], [-s, c]]), 3)
    fast, _ = median_times(lambda: frames._rounded_rectilinear(floor), args.repeats)
    slow, _ = median_times(lambda: _one_at_a_time(floor), max(1, args.repeats // 2))
    print(
        f"\nfit of a turned staircase of {floor.shape[0]} corners: {fast[0] * 1e3:.1f} ms wall, {fast[1] * 1e3:.1f} ms "
        f"CPU; one at a time {slow[0] * 1e3:.1f} ms wall ({slow[0] / fast[0]:.0f}×), {slow[1] * 1e3:.1f} ms CPU"
    )


if __name__ == "__main__":
    main()
