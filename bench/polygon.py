"""Floor-polygon check benchmark: ``check_polygon`` on star-shaped outlines, the hostile case for it.

A star of k points alternates radii 10 m and 3 m at equal angles: k long edges fanning out, each
edge's bounding box covering a sixth of the ring, so no grid splits them and every pair of edges
used to be tested. ``--kinds crossed`` swaps two corners near the end (the first crossing is late
in edge order); ``star`` is the plain, simple star. Each figure is the median of ``--repeats``
calls in this process (after one untimed call), wall and CPU seconds, with the answer.

Usage::

    python bench/polygon.py [--sizes 4096,20000] [--kinds star,crossed] [--repeats 5]

Run it against another source tree (an earlier commit's ``src``) with ``PYTHONPATH`` to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def star(k: int) -> np.ndarray:
    """The k-point star outline (k, 2)."""
    a = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
    r = np.where(np.arange(k) % 2 == 0, 10.0, 3.0)
    return np.c_[r * np.cos(a), r * np.sin(a)]


def outline(kind: str, k: int) -> np.ndarray:
    p = star(k)
    if kind == "crossed":
        p[[k - 10, k - 6]] = p[[k - 6, k - 10]]
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,20000")
    parser.add_argument("--kinds", default="star")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from sceneforge.validate import check_polygon

    for kind in args.kinds.split(","):
        for k in (int(s) for s in args.sizes.split(",")):
            p = outline(kind, k)
            answer = check_polygon(p)
            walls, cpus = [], []
            for _ in range(args.repeats):
                wall, cpu = time.perf_counter(), time.process_time()
                check_polygon(p)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            print(
                f"{kind} {k}: {statistics.median(walls):.3f} s wall, {statistics.median(cpus):.3f} s CPU"
                f" (median of {args.repeats}); answer {answer}",
                flush=True,
            )


if __name__ == "__main__":
    main()
