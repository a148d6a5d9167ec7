"""Start-up benchmark: fresh processes of each command, CPU and wall time, source trees compared in one run.

Each command runs ``--repeats`` times in a new interpreter, the trees alternating (A, B, A, B, …) so
load on the machine falls on both alike; a tree's figure is the median. CPU is the process's user +
system time (``os.wait4``: what ``/usr/bin/time`` reports), wall its whole life. Bytecode is compiled
first (``compileall``, as ``make install`` does), and ``PYTHONDONTWRITEBYTECODE`` is dropped.

With ``--importtime``, ``python -X importtime -c 'import sceneforge.api.server'`` runs ``--repeats``
times per tree as well; its self times are summed per top-level package (``sceneforge.<package>``
for the project's own) and the median of each sum is shown for the packages that differ most.

Usage::

    python bench/startup.py [--repeats 7] [--name after] [--tree before=/path/to/other/checkout] [--importtime]
                            [--json bench/results/startup.json]

Without ``--tree`` the one tree measured is this checkout's ``src``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TWO_ROOMS = """{ "sceneId": "two-rooms",
  "cells": [ {"cellId": "hall", "meshes": [{"meshId": "auto"}]},
             {"cellId": "kitchen", "meshes": [{"meshId": "auto"}]} ],
  "portals": [ {"from": "hall", "to": "kitchen", "quad": [2.0,0.2,-0.6, 2.0,2.2,-0.6, 2.0,2.2,0.6, 2.0,0.2,0.6]} ],
  "materials": {}, "props": {} }"""

#: A server process up to its first answer: the app built, its lifespan entered (database, job service, worker
#: pool), ``/healthz`` answered, on a data dir migrated by the first run (a restart, as each test server is).
_SERVE = (
    "import sys\n"
    "from starlette.testclient import TestClient\n"
    "from sceneforge.api.server import create_app\n"
    "from sceneforge.settings import Settings\n"
    "with TestClient(create_app(Settings(storage={'data_dir': sys.argv[1]}))) as client:\n"
    "    assert client.get('/healthz').status_code == 200\n"
)
_PRELOAD = (
    "import importlib; from sceneforge.jobs.executor import PRELOAD\nfor m in PRELOAD: importlib.import_module(m)"
)


def commands(work: Path) -> dict[str, list[str]]:
    """Label → argv (``{python}`` and ``{cli}`` are filled in per run)."""
    spec = work / "two-rooms.json"
    spec.write_text(TWO_ROOMS)
    build = ["{cli}", "build", str(spec), "-o", str(work / "out"), "--no-progress"]
    return {
        "import sceneforge.api.server": ["{python}", "-c", "import sceneforge.api.server"],
        "server up to its first /healthz": ["{python}", "-c", _SERVE, str(work / "data")],
        "build workers' fork server (PRELOAD)": ["{python}", "-c", _PRELOAD],
        "sceneforge build --help": ["{cli}", "build", "--help"],
        "sceneforge build (2 rooms)": build,
        "sceneforge build --cache (2 rooms)": [*build, "--cache", str(work / "cache")],
        "sceneforge keys create": ["{cli}", "keys", "create", "--name", "bench", "--data", str(work / "data")],
    }


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one process, which must exit 0."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def self_times(text: str) -> Counter[str]:
    """``-X importtime`` output → microseconds of self time per top-level package."""
    sums: Counter[str] = Counter()
    for line in text.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if found:
            parts = found.group(2).split(".")
            sums[".".join(parts[:2]) if parts[0] == "sceneforge" else parts[0]] += int(found.group(1))
    return sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tree", action="append", default=[], help="label=path of another checkout (its src)")
    parser.add_argument("--name", default="this", help="label of this checkout's tree")
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--json", type=Path, help="write every run (wall s, CPU s) here")
    args = parser.parse_args()
    trees = {args.name: ROOT}
    trees.update((label, Path(path).resolve()) for label, path in (t.split("=", 1) for t in args.tree))
    python = sys.executable
    cli = str(Path(python).with_name("sceneforge"))
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("SCENEFORGE_")}
    envs = {}
    for label, tree in trees.items():
        subprocess.run([python, "-m", "compileall", "-q", str(tree / "src")], check=True, env=base)
        envs[label] = {**base, "PYTHONPATH": str(tree / "src")}
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {}
    importtime: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{'command':<40}" + "".join(f"{label + ' CPU':>13}{label + ' wall':>14}" for label in trees))
        for name, template in commands(work).items():
            argv = [python if a == "{python}" else cli if a == "{cli}" else a for a in template]
            seen: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
            for _ in range(args.repeats):
                for label in trees:
                    seen[label].append(run_once(argv, envs[label]))
            row = f"{name:<40}"
            for label in trees:
                row += f"{statistics.median(c for _, c in seen[label]):>12.3f}s"
                row += f"{statistics.median(w for w, _ in seen[label]):>13.3f}s"
            print(row, flush=True)
            runs[name] = seen
        if args.importtime:
            sums: dict[str, list[Counter[str]]] = {label: [] for label in trees}
            argv = [python, "-X", "importtime", "-c", "import sceneforge.api.server"]
            for _ in range(args.repeats):
                for label in trees:
                    proc = subprocess.run(argv, env=envs[label], capture_output=True, text=True, check=True)
                    sums[label].append(self_times(proc.stderr))
            names = set().union(*(c for runs in sums.values() for c in runs))
            medians = {
                label: {n: statistics.median(c.get(n, 0) for c in runs) / 1000 for n in names}
                for label, runs in sums.items()
            }
            total = {label: statistics.median(sum(c.values()) for c in runs) / 1000 for label, runs in sums.items()}
            first, *rest = trees
            spread = {
                n: max(abs(medians[first][n] - medians[other][n]) for other in rest) if rest else 0 for n in names
            }
            top = sorted(names, key=lambda n: (-spread[n], -medians[first][n]))[:15]
            print(f"\nimport sceneforge.api.server, self ms per package (median of {args.repeats})")
            print(f"{'package':<28}" + "".join(f"{label:>12}" for label in trees))
            print(f"{'(all)':<28}" + "".join(f"{total[label]:>12.1f}" for label in trees))
            for n in top:
                print(f"{n:<28}" + "".join(f"{medians[label][n]:>12.1f}" for label in trees))
            importtime = {label: {n: v for n, v in m.items() if v} for label, m in medians.items()}
    if args.json:
        record = {"repeats": args.repeats, "trees": {k: str(v) for k, v in trees.items()}, "runs": runs}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**record, "importtime_ms": importtime}, indent=1))


if __name__ == "__main__":
    main()
