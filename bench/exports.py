"""Export benchmark: the export job's work (read the GLB, write USDZ or OBJ) and the GLB read alone.

For each level (a generated maze of ``--cells`` cells and the office levels of ``--levels``), built with
``--compress`` (quantized, meshopt: what the service stores), the median of ``--repeats`` runs in this process
after one warm-up run, and a digest of every output (the OBJ zip's bytes; the USDZ package's entries, names and
bytes, as its zip entries carry the time they were written), so two checkouts' outputs can be compared::

    PYTHONPATH=<checkout>/src python bench/exports.py --cells 5000 --repeats 3 --levels tests/data/levels

Run it once per checkout (``PYTHONPATH`` picks the sources) on the same machine, at the same time. Times are
wall-clock and CPU (``time.process_time``: on a loaded machine the steadier of the two). ``--glb FILE`` times a
built GLB instead (its name as the level); on a busy machine alternate the checkouts, one run each::

    for r in 1 2 3; do for t in before after; do
        PYTHONPATH=$t/src python bench/exports.py --glb out/maze-5000-s1.glb --repeats 1; done; done
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

from timing import median_times


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
    parser.add_argument("--glb", type=Path, default=None, help="Time this built GLB only.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args(argv)

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.config import Limits
    from sceneforge.generate import generate_maze
    from sceneforge.ingest.built_glb import read_built_glb
    from sceneforge.jobs.export import make_export

    glbs: dict[str, bytes] = {}
    if args.glb is not None:
        glbs[args.glb.stem] = args.glb.read_bytes()
    else:
        levels = {f"maze-{args.cells}": json.dumps(generate_maze(args.cells, 1)).encode()}
        for path in sorted(args.levels.glob("office-*.json")) if args.levels else []:
            levels[path.stem] = path.read_bytes()
        for name, data in levels.items():
            glbs[name] = compile_scene(data, BuildOptions(compress=True, quantize=True)).glb
    limits = Limits()
    rows = []
    print(
        f"{'level':<20} {'cells':>6} {'read s (cpu)':>15} {'usdz s (cpu)':>15} {'obj s (cpu)':>15}  digests (usdz, obj)"
    )
    for name, glb in glbs.items():
        read, scene = median_times(lambda glb=glb: read_built_glb(glb), args.repeats)
        times, digests = {}, {}
        for kind in ("usdz", "obj"):
            times[kind], out = median_times(
                lambda glb=glb, kind=kind: make_export(glb, {"format": kind}, limits, lambda s, f: None), args.repeats
            )
            digests[kind] = _digest(kind, out[f"exports/{kind}"])
        cells = len(scene.cells)
        rows.append({"level": name, "cells": cells, "read_s": read, **{f"{k}_s": v for k, v in times.items()},
                     "digests": digests})  # fmt: skip
        shown = "".join(f" {t[0]:>7.3f} ({t[1]:>5.2f})" for t in (read, times["usdz"], times["obj"]))
        print(f"{name:<20} {cells:>6}{shown}  {digests['usdz']} {digests['obj']}", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
