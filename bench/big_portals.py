"""Portal meshes with many vertices on their outline: ``planar_outline`` on one doorway of n vertices.

A doorway drawn as a finely subdivided circle or arch (every vertex on the outline, the worst case for a
hull) and as a cloud of points in its plane (most inside), stood upright in a wall turned 0.4 rad, for each
n of ``--sizes``. Each (tree, case, n) runs in a fresh process under ``--timeout`` seconds and reports its
CPU seconds for the outline alone (median of ``--repeats`` in that process) and a digest of the quad it
gave, so trees compared in one run (``--tree name=/path/to/checkout``, its ``src`` put first on the path)
show whether they give the same outlines. Usage (from the repository's root)::

    python bench/big_portals.py [--sizes 2048,10000,100000,1000000] [--repeats 3] [--timeout 300]
                                [--tree before=/path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import numpy as np
from timing import median_cpu
from sceneforge.ingest.portal_outline import planar_outline
kind, n, repeats = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
if kind == "circle":
    t = np.arange(n) * 2 * np.pi / n
    flat = np.stack([0.6 * np.cos(t), 1.0 + 0.6 * np.sin(t)], 1)
else:
    flat = np.random.default_rng(1).normal(size=(n, 2)) * [0.4, 0.7] + [0.0, 1.2]
along = np.array([np.cos(0.4), 0.0, np.sin(0.4)])
points = flat[:, :1] * along + flat[:, 1:] * [0.0, 1.0, 0.0] + [3.0, 0.0, -2.0]
cpu, (quad, normal) = median_cpu(lambda: planar_outline(points), repeats)
digest = hashlib.sha256(np.round(np.asarray(quad, dtype=np.float64), 9).tobytes()).hexdigest()[:12]
print(json.dumps({"cpu": cpu, "quad": digest}))
"""


def _run(tree: Path, kind: str, n: int, repeats: int, timeout: float) -> dict[str, object]:
    args = [sys.executable, "-c", _CHILD, str(tree / "src"), str(ROOT / "bench"), kind, str(n), str(repeats)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"cpu": None, "quad": f"> {timeout:g} s"}
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2048,10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--tree", action="append", default=[], help="name=/path/to/checkout (compared in one run)")
    a = parser.parse_args()
    trees = [("this", ROOT)] + [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in a.tree]
    print("| case | vertices | " + " | ".join(f"{name} CPU s | {name} quad" for name, _ in trees) + " |")
    print("|---|---:|" + "---:|---|" * len(trees))
    for kind in ("circle", "cloud"):
        for n in (int(s) for s in a.sizes.split(",")):
            cols = []
            for _, tree in trees:
                got = _run(tree, kind, n, a.repeats, a.timeout)
                cols += ["—" if got["cpu"] is None else f"{got['cpu']:.3f}", str(got["quad"])]
            print(f"| {kind} | {n:,} | " + " | ".join(cols) + " |", flush=True)


if __name__ == "__main__":
    main()
