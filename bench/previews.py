"""Preview and export benchmark: what a preview / export job costs next to the build of the same scene.

For each level (a 100- and a 1,000-cell maze, the 190- and 1,032-cell office levels) and each
job, the median of ``--repeats`` runs in this process after one warm-up run (imports and first
calls excluded, as a long-lived worker process has them):

* ``build``: ``compile_scene`` with ``--compress`` (the anchor: what the build job of the same
  scene costs);
* ``preview``: the preview job's work (read the GLB, floor plan SVG + PNG, 512×512 thumbnail);
* ``thumbnail``: the rendered thumbnail alone;
* ``usdz``, ``obj``: the export jobs' work.

Usage::

    python bench/previews.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LEVELS = ROOT / "tests" / "data" / "levels"


def _median_s(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _levels() -> dict[str, bytes]:
    from sceneforge.generate import generate_maze

    return {
        "maze-100": json.dumps(generate_maze(100, 1)).encode(),
        "office-190": (LEVELS / "office-200.json").read_bytes(),
        "maze-1000": json.dumps(generate_maze(1000, 1)).encode(),
        "office-1032": (LEVELS / "office-1000.json").read_bytes(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args(argv)

    from sceneforge.compile import BuildOptions, compile_scene
    from sceneforge.config import Limits
    from sceneforge.ingest.built_glb import read_built_glb
    from sceneforge.jobs.export import make_export
    from sceneforge.jobs.preview import make_previews
    from sceneforge.preview import thumbnail_png

    def quiet(stage: str, fraction: float) -> None:
        return None

    limits = Limits()
    rows = []
    print(f"{'level':<12} {'cells':>6} {'tris':>8} {'build s':>8} {'preview s':>10} {'ratio':>6} "
          f"{'thumb s':>8} {'usdz s':>7} {'obj s':>7}")  # fmt: skip
    for name, data in _levels().items():
        options = BuildOptions(compress=True, quantize=True)
        result = compile_scene(data, options)
        glb = result.glb
        build = _median_s(lambda data=data, options=options: compile_scene(data, options), args.repeats)
        preview = _median_s(lambda glb=glb: make_previews(glb, {}, limits, quiet), args.repeats)
        scene = read_built_glb(glb)
        thumb = _median_s(lambda scene=scene: thumbnail_png(scene), args.repeats)
        usdz = _median_s(lambda glb=glb: make_export(glb, {"format": "usdz"}, limits, quiet), args.repeats)
        obj = _median_s(lambda glb=glb: make_export(glb, {"format": "obj"}, limits, quiet), args.repeats)
        row = {
            "level": name,
            "cells": len(result.meta["Meta"]["cells"]),
            "triangles": result.meta["stats"]["triangles"],
            "build_s": build,
            "preview_s": preview,
            "preview_over_build": preview / build,
            "thumbnail_s": thumb,
            "usdz_s": usdz,
            "obj_s": obj,
        }
        rows.append(row)
        print(f"{name:<12} {row['cells']:>6} {row['triangles']:>8} {build:>8.3f} {preview:>10.3f} "
              f"{preview / build:>6.2f} {thumb:>8.3f} {usdz:>7.3f} {obj:>7.3f}", flush=True)  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    worst = max(r["preview_s"] for r in rows if r["cells"] >= 1000)
    print(f"preview of 1,000+ cells: {worst:.3f} s (target < 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
