"""Compiler benchmark: build time, memory, size and PVS on generated mazes, against anchors.

Anchors measured in the same run:

* time: the naive baseline, bench/naive_compile.py, its own program (standard library, numpy,
  trimesh with manifold3d; no sceneforge): the same box rooms as six slab meshes each, every slab a
  doorway's cutter overlaps cut by one boolean difference with all of them, one node per slab,
  trimesh's GLB writer; no welding, merging, visibility or metadata (see its docstring). Like is
  compared with like: in-process seconds (after the imports, and for sceneforge after a warm-up
  build) in the maze table, whole-process seconds (interpreter and imports included) for the
  floor-plan levels;
* size: gltfpack ``-cc -kn -ke`` (meshopt compression, nodes and extras kept) run on our own
  plain output, compared with our ``--compress`` output.

Every figure is the median of ``--repeats`` runs, each in a fresh process (so peak RSS is the
build's own). Usage::

    python bench/compile.py [--sizes 10,100,1000,5000] [--repeats 3] [--naive-max 1000] [--levels all]

``--levels`` adds levels laid out like floor plans (``--sizes ''`` runs only those): the office
levels in tests/data/levels, a 5,000-cell office from ``generate_office``, a fully connected
32 × 32 grid whose doorways start at the slab's underside, two rooms joined by 10, 40 and 800
doorways in one wall, office-1000 turned 30° off the axes (every room a floor polygon, every wall
at an angle), two kinds no generator makes (``voronoi-4x250``: tests/voronoi.py; ``rounded-32x32``: rooms
whose corners are bevelled, tests/rounded.py; ``rounded-corners-32x32``: the same, each doorway or window drawn
to a corner, up to the cavity's corner or past it; ``notched-32x32``: walls with pilasters, niches and jogs,
tests/notched.py), and the 1,000-cell maze as the anchor. Each is built the way a user does,
``sceneforge build SPEC -o OUT`` in a fresh process, timed from outside (start-up included), with
its peak RSS from its own VmHWM; box levels against the naive baseline run the same way (a fresh
``python bench/naive_compile.py`` process timed from outside, alternating with ours), every
level's in-process CPU time per cell against the maze's (with and without the PVS stage), each
office level's time per cell against a maze of the same cell count built alternately with it (whole
process and in process: fixed costs fall on both alike), the PVS
stage, and PVS tightness by sampled sight lines (levels up to ``--sample-max`` cells).
``sceneforge build --help`` is timed the same way. Every measured process loads bytecode cached
by an untimed first run (as an installed package does), never recompiling sceneforge's sources
from scratch even where PYTHONDONTWRITEBYTECODE is set. Whole processes report wall and CPU seconds
(user + system, from the reaped child's usage): on a shared machine the CPU figures move far
less with other work, so ratios are given on both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GLTFPACK = ROOT / "node_modules" / ".bin" / "gltfpack"
LEVELS = ROOT / "tests" / "data" / "levels"
#: ``sceneforge`` as its console script runs it, reporting its own peak RSS (VmHWM) on exit: the
#: ``ru_maxrss`` of a child forked from this (large) process would start at this process's peak.
_CLI_CODE = (
    "import atexit, sys\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('\\nVMHWM_KIB ' + line.split()[1] + '\\n')\n"
    "atexit.register(_hwm)\n"
    "from sceneforge.cli import main\n"
    "sys.argv[0] = 'sceneforge'\n"
    "sys.exit(main())\n"
)
CLI = [sys.executable, "-c", _CLI_CODE]
#: The naive baseline as its own program (bench/naive_compile.py: numpy and trimesh, no sceneforge).
NAIVE = [sys.executable, str(ROOT / "bench" / "naive_compile.py")]
#: The environment of every measured process (set by :func:`main`): bytecode cached in a folder of
#: the run, as an installed package has its ``.pyc`` files; without it (PYTHONDONTWRITEBYTECODE)
#: sceneforge, run from source, would recompile every module in every process while the
#: baseline's libraries load their installed bytecode.
CHILD_ENV: dict[str, str] = dict(os.environ)


def _peak_rss_mib() -> float:
    """This process's peak RSS. ``VmHWM`` belongs to the address space, so it starts afresh at exec;
    ``ru_maxrss`` survives exec and would report the (large) parent's peak for a fresh child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_build(spec: Path, pvs: bool, quantize: bool, compress: bool, out: Path | None) -> dict[str, Any]:
    """Build once in this process; stage times come from the compiler's progress callback."""
    from sceneforge.compile import BuildOptions, compile_scene

    # Warm up on a one-room scene so the lazy imports (meshoptimizer, earcut) are not timed: the
    # naive baseline's in-process seconds leave its imports out too.
    compile_scene(b'{"sceneId":"warm","cells":[{"cellId":"a","meshes":[{"meshId":"auto"}]}]}')
    marks: list[tuple[str, float]] = []
    data = spec.read_bytes()
    cpu_marks: list[tuple[str, float]] = []

    def mark(stage: str, _fraction: float) -> None:
        marks.append((stage, time.perf_counter()))
        cpu_marks.append((stage, time.process_time()))

    start, cpu_start = time.perf_counter(), time.process_time()
    result = compile_scene(data, BuildOptions(pvs=pvs, quantize=quantize, compress=compress), progress=mark)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    stages = {a[0]: round(b[1] - a[1], 4) for a, b in itertools.pairwise(marks)}
    cpu_stages = {a[0]: round(b[1] - a[1], 4) for a, b in itertools.pairwise(cpu_marks)}
    if out is not None:
        out.write_bytes(result.glb)
    sizes = [len(c["pvs"]) for c in result.meta["visibility"]["cells"]]
    return {
        "seconds": total,
        "cpu_s": cpu,
        "stages": stages,
        "cpu_stages": cpu_stages,
        "peak_rss_mib": _peak_rss_mib(),
        "bytes": len(result.glb),
        "triangles": result.meta["stats"]["triangles"],
        "draw_calls": result.meta["stats"]["drawCalls"],
        "boolean_cells": result.meta["stats"].get("booleanCells"),
        "mean_pvs": statistics.fmean(sizes),
    }


def sampled_tightness(description: dict[str, Any], lines: int, seed: int) -> dict[str, Any]:
    """Mean PVS vs the cells that sampled free sight lines actually join (the test suite's sampler)."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tests.visibility.sightlines import free_segments, ir_from_description, occluders, sampled_visible

    from sceneforge.visibility import compute_visibility

    ir = ir_from_description(description)
    index = ir.cell_index()
    pvs = {(i, index[c]) for i, cell in enumerate(compute_visibility(ir).cells) for c in cell.pvs}
    seen = sampled_visible(ir, free_segments(ir, occluders(ir), np.random.default_rng(seed), lines))
    n = len(ir.cells)
    return {
        "mean_sampled_visible": len(seen) / n,
        "pvs_misses": len(seen - pvs),
        "lines": lines,
        "pvs_over_sampled": len(pvs) / len(seen),
    }


def timed_process(argv: list[str]) -> tuple[float, float, float]:
    """Run ``argv`` (a :data:`CLI` command) to completion: (wall seconds, CPU seconds, its peak RSS in MiB)."""
    seconds, cpu, peak, _ = _timed(argv)
    return seconds, cpu, peak


def naive_process(spec: Path, out: Path) -> dict[str, Any]:
    """The naive baseline (bench/naive_compile.py) in a fresh process: whole-process and in-process seconds."""
    whole, cpu, peak, stdout = _timed([*NAIVE, str(spec), str(out)])
    inner = json.loads(stdout.strip().splitlines()[-1])
    return {
        "whole_s": whole,
        "whole_cpu_s": cpu,
        "seconds": inner["seconds"],
        "bytes": inner["bytes"],
        "peak_rss_mib": peak,
    }


def _timed(argv: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, user + system CPU seconds, peak RSS MiB, stdout) of one process run to completion.

    CPU seconds come from this process's reaped-children usage before and after (children run
    one at a time): on a shared machine they move far less with other work than wall time does.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=False, env=CHILD_ENV)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[2:]} failed ({proc.returncode}):\n{err[-2000:]}")
    peak = [line.split()[1] for line in err.splitlines() if line.startswith("VMHWM_KIB ")]
    return seconds, cpu, int(peak[-1]) / 1024 if peak else float("nan"), proc.stdout.decode(errors="replace")


def level_specs(tmp: Path, which: set[str], seed: int) -> list[tuple[str, Path, bool]]:
    """(name, spec path, is a box level) for every level asked for."""
    from sceneforge.generate import generate_doorway_wall, generate_grid, generate_maze, generate_office, turned

    made: list[tuple[str, dict[str, Any] | Path, bool]] = [("maze-1000", generate_maze(1000, seed=seed), True)]
    made += [(p.stem, p, False) for p in sorted(LEVELS.glob("office-*.json"))]
    made += [
        ("office-5000", generate_office(12, 200, seed=seed), False),
        ("grid-32x32-underside", generate_grid(32, 32, door_bottom="underside"), True),
        ("doorway-wall-10", generate_doorway_wall(10), True),
        ("doorway-wall-40", generate_doorway_wall(40), True),
        ("doorway-wall-800", generate_doorway_wall(800), True),
    ]
    office = LEVELS / "office-1000.json"
    made.append(("office-1000-turned30", turned(json.loads(office.read_text()), 30.0), False))
    sys.path.insert(0, str(ROOT))
    from tests.levels_new_kinds import to_mm  # every coordinate to 1 mm, as CAD or Blender writes a turned plan

    made.append(("office-1000-turned30-mm", to_mm(turned(json.loads(office.read_text()), 30.0)), False))
    from tests.voronoi import voronoi_plan  # convex rooms at every angle, short walls (a kind no generator makes)

    made.append(("voronoi-4x250", voronoi_plan(seed, rooms=250, storeys=4, width=90.0, depth=70.0), False))
    from tests.rounded import rounded_plan  # corners bevelled tighter than the walls: runs of short walls

    made.append(("rounded-32x32", rounded_plan(32, 32, seed=seed), False))
    made.append(("rounded-corners-32x32", rounded_plan(32, 32, seed=seed, to_corners=True), False))  # drawn to apexes
    from tests.notched import notched_plan  # pilasters, niches and jogs: runs of short walls turning both ways

    made.append(("notched-32x32", notched_plan(32, 32, seed=seed), False))
    from tests.levels_polyomino import polyomino  # rooms locked into each other, openings flush with corners

    made.append(("polyomino-4x250", polyomino(seed, width=32, depth=32, rooms=250, storeys=4, openings=0.5), False))
    out = []
    for name, spec, box in made:
        if "all" not in which and name not in which and name != "maze-1000":
            continue
        if isinstance(spec, Path):
            out.append((name, spec, box))
        else:
            path = tmp / f"{name}.json"
            path.write_text(json.dumps(spec))
            out.append((name, path, box))
    return out


def run_levels(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Whole-process builds of the floor-plan levels (see the module docstring)."""
    which = set(args.levels.split(","))
    specs = level_specs(tmp, which, args.seed)
    # One untimed run of each program first: it writes the bytecode cache (CHILD_ENV) the timed
    # runs then load, ours and the baseline's alike.
    warm_spec = next(spec for name, spec, _ in specs if name == "maze-1000")
    timed_process([*CLI, "build", str(warm_spec), "-o", str(tmp / "warm"), "--no-progress"])
    naive_process(warm_spec, tmp / "warm.glb")
    help_timed = [timed_process([*CLI, "build", "--help"]) for _ in range(max(5, args.repeats))]
    help_runs, help_cpu = [h[0] for h in help_timed], [h[1] for h in help_timed]
    rows = []
    for name, spec, box in specs:
        out = tmp / f"out-{name}"
        cells = len(json.loads(spec.read_text())["cells"])
        reps = args.repeats if cells <= 2000 else 1
        twin = _twin_maze(tmp, cells, args.seed) if name.startswith("office") else None
        whole, naive_runs, twin_whole, inproc, twin_inproc = [], [], [], [], []
        for _ in range(reps):  # ours and each anchor alternate, so drifting load falls on both alike
            whole.append(timed_process([*CLI, "build", str(spec), "-o", str(out), "--no-progress"]))
            if box:
                naive_runs.append(naive_process(spec, tmp / f"naive-{name}.glb"))
            if twin is not None:
                twin_whole.append(
                    timed_process([*CLI, "build", str(twin), "-o", str(tmp / "out-twin"), "--no-progress"])
                )
        for _ in range(reps):
            inproc.append(_child(["build", str(spec)]))
            if twin is not None:
                twin_inproc.append(_child(["build", str(twin)]))
        naive = naive_inproc = naive_cpu = None
        if box:
            naive, naive_inproc = _median(naive_runs, "whole_s"), _median(naive_runs, "seconds")
            naive_cpu = _median(naive_runs, "whole_cpu_s")
        whole_s = statistics.median(w[0] for w in whole)
        whole_cpu = statistics.median(w[1] for w in whole)
        tight: dict[str, Any] = {}
        if cells <= args.sample_max:
            try:
                tight = _child(["tight", str(spec), f"seed={args.seed}"])
            except RuntimeError as exc:  # the sampler lives in the test suite; report, do not stop the bench
                tight = {"error": str(exc)[-300:]}
        row = {
            "level": name,
            "cells": cells,
            "whole_process_s": whole_s,
            "whole_process_cpu_s": whole_cpu,
            "build_s": _median(inproc, "seconds"),
            "build_cpu_s": _median(inproc, "cpu_s"),
            # Per cell and PVS in CPU seconds: on a shared machine they move far less with load.
            "per_cell_ms": 1000 * _median(inproc, "cpu_s") / cells,
            "pvs_s": statistics.median(r["cpu_stages"].get("visibility", 0.0) for r in inproc),
            "per_cell_no_pvs_ms": 1000
            * statistics.median(r["cpu_s"] - r["cpu_stages"].get("visibility", 0.0) for r in inproc)
            / cells,
            "peak_rss_mib": statistics.median(w[2] for w in whole),
            "boolean_cells": inproc[0]["boolean_cells"],
            "triangles": inproc[0]["triangles"],
            "naive_s": naive,
            "speedup_vs_naive_whole_process": naive / whole_s if naive else None,
            "naive_cpu_s": naive_cpu,
            "speedup_vs_naive_whole_process_cpu": naive_cpu / whole_cpu if naive_cpu else None,
            "naive_in_process_s": naive_inproc,
            "speedup_vs_naive_in_process": naive_inproc / _median(inproc, "seconds") if naive_inproc else None,
            "pvs_over_sampled": tight.get("pvs_over_sampled"),
            "pvs_misses": tight.get("pvs_misses"),
            "sampler_error": tight.get("error"),
            "repeats": reps,
        }
        if twin is not None:
            # Per cell against a maze of the same cell count, same run: the fixed costs (start-up,
            # imports, per-build overhead) fall on both alike.
            row["twin_maze_whole_process_s"] = statistics.median(w[0] for w in twin_whole)
            row["twin_maze_whole_process_cpu_s"] = statistics.median(w[1] for w in twin_whole)
            row["twin_maze_build_cpu_s"] = _median(twin_inproc, "cpu_s")
            row["per_cell_vs_twin_whole"] = whole_s / row["twin_maze_whole_process_s"]
            row["per_cell_vs_twin_whole_cpu"] = whole_cpu / row["twin_maze_whole_process_cpu_s"]
            row["per_cell_vs_twin_in_process"] = row["build_cpu_s"] / row["twin_maze_build_cpu_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    maze = next(r for r in rows if r["level"] == "maze-1000")
    for r in rows:
        r["per_cell_vs_maze"] = r["per_cell_ms"] / maze["per_cell_ms"]
        r["per_cell_no_pvs_vs_maze"] = r["per_cell_no_pvs_ms"] / maze["per_cell_no_pvs_ms"]
    print(
        f"\nsceneforge build --help: {statistics.median(help_runs):.3f} s wall, "
        f"{statistics.median(help_cpu):.3f} s CPU (median of {len(help_runs)})"
    )
    print(
        f"{'level':<22} {'cells':>6} {'whole s':>8} {'cpu s':>7} {'build s':>8} {'ms/cell':>7} {'x maze':>6} "
        f"{'PVS s':>7} {'RSS MiB':>7} {'bool':>4} {'naive s':>8} {'x naive':>7} {'x n-cpu':>7} {'x n-inp':>7} "
        f"{'PVS/smp':>7} {'miss':>4}"
    )
    for r in rows:

        def f(v: Any, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)

        print(
            f"{r['level']:<22} {r['cells']:>6} {r['whole_process_s']:>8.3f} {r['whole_process_cpu_s']:>7.3f} "
            f"{r['build_s']:>8.3f} "
            f"{r['per_cell_ms']:>7.3f} {r['per_cell_vs_maze']:>6.2f} {r['pvs_s']:>7.3f} {r['peak_rss_mib']:>7.0f} "
            f"{r['boolean_cells']:>4} {f(r['naive_s'], '>8.2f')} {f(r['speedup_vs_naive_whole_process'], '>7.1f')} "
            f"{f(r['speedup_vs_naive_whole_process_cpu'], '>7.1f')} {f(r['speedup_vs_naive_in_process'], '>7.1f')} "
            f"{f(r['pvs_over_sampled'], '>7.2f')} {f(r['pvs_misses'], '>4')}"
        )
    twins = [r for r in rows if "per_cell_vs_twin_in_process" in r]
    if twins:
        print(f"\n{'per cell vs a maze of the same size':<36} {'wall':>6} {'cpu':>6} {'in-process cpu':>14}")
        for r in twins:
            print(
                f"{r['level'] + ' / maze-' + str(r['cells']):<36} {r['per_cell_vs_twin_whole']:>6.2f} "
                f"{r['per_cell_vs_twin_whole_cpu']:>6.2f} {r['per_cell_vs_twin_in_process']:>14.2f}"
            )
    return {
        "help_s": statistics.median(help_runs),
        "help_cpu_s": statistics.median(help_cpu),
        "help_runs": help_runs,
        "rows": rows,
    }


def _twin_maze(tmp: Path, cells: int, seed: int) -> Path:
    """A maze of exactly ``cells`` cells, the per-cell anchor of a floor-plan level of that size."""
    from sceneforge.generate import generate_maze

    path = tmp / f"maze-twin-{cells}.json"
    description = generate_maze(cells, seed=seed)
    assert len(description["cells"]) == cells
    path.write_text(json.dumps(description))
    return path


def _child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False, env=CHILD_ENV
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-max", type=int, default=1000, help="largest maze the naive baseline is run on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-max", type=int, default=1000, help="largest maze whose PVS is checked by sampling")
    parser.add_argument("--levels", default="all", help="floor-plan levels to add (comma list, 'all' or 'none')")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "compile.json")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one measurement in a fresh process: MODE SPEC [out=PATH] [no-pvs] [quantize] [compress]
        mode, spec, *words = args.child
        opts = {w.split("=", 1)[0]: (w.split("=", 1)[1] if "=" in w else True) for w in words}
        out = Path(opts["out"]) if "out" in opts else None
        if mode == "tight":
            description = json.loads(Path(spec).read_text())
            print(json.dumps(sampled_tightness(description, 25 * len(description["cells"]), int(opts.get("seed", 1)))))
        else:
            print(json.dumps(one_build(Path(spec), "no-pvs" not in opts, "quantize" in opts, "compress" in opts, out)))
        return

    from sceneforge.generate import generate_maze

    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        levels = run_levels(args, tmp) if args.levels != "none" else None
        for n in (int(s) for s in args.sizes.split(",") if s):
            spec = tmp / f"maze{n}.json"
            description = generate_maze(n, seed=args.seed)
            spec.write_text(json.dumps(description))
            plain_glb = tmp / f"maze{n}.glb"
            reps = args.repeats if n <= 1000 else max(1, args.repeats // 2)
            with_pvs = [_child(["build", str(spec), f"out={plain_glb}"]) for _ in range(reps)]
            no_pvs = [_child(["build", str(spec), "no-pvs"]) for _ in range(reps)]
            quantized = _child(["build", str(spec), "quantize"])
            compressed = _child(["build", str(spec), "quantize", "compress"])
            packed = tmp / f"maze{n}.packed.glb"
            gltfpack_bytes = None
            if GLTFPACK.exists():
                subprocess.run(
                    [str(GLTFPACK), "-i", str(plain_glb), "-o", str(packed), "-cc", "-kn", "-ke"],
                    check=True,
                    capture_output=True,
                )
                gltfpack_bytes = packed.stat().st_size
            naive = None
            if n <= args.naive_max:
                naive_runs = [naive_process(spec, tmp / f"naive{n}.glb") for _ in range(reps)]
                naive = {"seconds": _median(naive_runs, "seconds"), "bytes": naive_runs[0]["bytes"]}
            build_s = _median(with_pvs, "seconds")
            tight = sampled_tightness(description, 25 * n, args.seed) if n <= args.sample_max else {}
            row = {
                "cells": n,
                "build_s": build_s,
                "build_no_pvs_s": _median(no_pvs, "seconds"),
                "pvs_s": statistics.median(r["stages"].get("visibility", 0.0) for r in with_pvs),
                "peak_rss_mib": _median(with_pvs, "peak_rss_mib"),
                "triangles": with_pvs[0]["triangles"],
                "draw_calls": with_pvs[0]["draw_calls"],
                "bytes_plain": with_pvs[0]["bytes"],
                "bytes_quantized": quantized["bytes"],
                "bytes_compressed": compressed["bytes"],
                "bytes_gltfpack": gltfpack_bytes,
                "compressed_vs_gltfpack": compressed["bytes"] / gltfpack_bytes if gltfpack_bytes else None,
                "mean_pvs": with_pvs[0]["mean_pvs"],
                "naive_s": naive["seconds"] if naive else None,
                "speedup_vs_naive": naive["seconds"] / build_s if naive else None,
                "mean_sampled_visible": tight.get("mean_sampled_visible"),
                "pvs_over_sampled": tight.get("pvs_over_sampled"),
                "pvs_misses": tight.get("pvs_misses"),
                "repeats": reps,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    print()
    print(
        f"{'cells':>6} {'build s':>8} {'no-PVS s':>8} {'PVS s':>7} {'RSS MiB':>8} {'tris':>9} {'plain B':>10} "
        f"{'quant B':>10} {'comp B':>10} {'gltfpack B':>10} {'comp/gp':>7} {'meanPVS':>7} {'naive s':>8} {'x naive':>7}"
    )
    for r in rows:

        def f(v: Any, fmt: str) -> str:
            return "-" if v is None else format(v, fmt)

        print(
            f"{r['cells']:>6} {r['build_s']:>8.3f} {r['build_no_pvs_s']:>8.3f} {r['pvs_s']:>7.3f} "
            f"{r['peak_rss_mib']:>8.0f} {r['triangles']:>9,} {r['bytes_plain']:>10,} {r['bytes_quantized']:>10,} "
            f"{r['bytes_compressed']:>10,} {f(r['bytes_gltfpack'], '>10,')} {f(r['compressed_vs_gltfpack'], '>7.3f')} "
            f"{r['mean_pvs']:>7.2f} {f(r['mean_sampled_visible'], '>7.2f')} {f(r['pvs_misses'], '>6')} "
            f"{f(r['naive_s'], '>8.2f')} {f(r['speedup_vs_naive'], '>7.1f')}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    args.json.write_text(json.dumps({"machine": machine, "rows": rows, "levels": levels}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
