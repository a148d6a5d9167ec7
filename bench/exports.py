"""Export benchmark: the export job's work (read the GLB, write USDZ or OBJ) and the GLB read alone.

For each level (a generated maze of ``--cells`` cells and the office levels of ``--levels``), built with
``--compress`` (quantized, meshopt: what the service stores), the median of ``--repeats`` runs in this process
after one warm-up run, and a digest of every output (the OBJ zip's bytes; the USDZ package's entries, names and
bytes, as its zip entries carry the time they were written), so two checkouts' outputs can be compared::

    PYTHONPATH=<checkout>/src python bench/exports.py --cells 5000 --repeats 3 --levels /work/shared/levels

Run it once per checkout (``PYTHONPATH`` picks the sources) on the same machine, at the same time.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _median_s(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    out = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _digest(kind: str, data: bytes) -> str:
    if kind == "usdz":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = b"".join(n.encode() + b"\0" + z.read(n) for n in z.namelist())
    return hashlib.sha256(data).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=5000, help="Cells of the generated maze (seed 1).")
    parser.add_argument("--levels", type=Path, default=None, help="A folder of office-*.json levels to add.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args(argv)

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.config import Limits
    from sceneforge.generate import generate_maze
    from sceneforge.ingest.built_glb import read_built_glb
    from sceneforge.jobs.export import make_export

    levels = {f"maze-{args.cells}": json.dumps(generate_maze(args.cells, 1)).encode()}
    for path in sorted(args.levels.glob("office-*.json")) if args.levels else []:
        levels[path.stem] = path.read_bytes()
    limits = Limits()
    rows = []
    print(f"{'level':<14} {'cells':>6} {'read s':>7} {'usdz s':>7} {'obj s':>7}  digests (usdz, obj)")
    for name, data in levels.items():
        result = compile_scene(data, BuildOptions(compress=True, quantize=True))
        glb = result.glb
        read, _ = _median_s(lambda glb=glb: read_built_glb(glb), args.repeats)
        times, digests = {}, {}
        for kind in ("usdz", "obj"):
            times[kind], out = _median_s(
                lambda glb=glb, kind=kind: make_export(glb, {"format": kind}, limits, lambda s, f: None), args.repeats
            )
            digests[kind] = _digest(kind, out[f"exports/{kind}"])
        cells = len(result.meta["Meta"]["cells"])
        rows.append({"level": name, "cells": cells, "read_s": read, **{f"{k}_s": v for k, v in times.items()},
                     "digests": digests})  # fmt: skip
        print(f"{name:<14} {cells:>6} {read:>7.3f} {times['usdz']:>7.3f} {times['obj']:>7.3f}  "
              f"{digests['usdz']} {digests['obj']}", flush=True)  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
