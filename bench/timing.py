"""What the benchmarks time: a callable's median process CPU time over repeats (steadier than wall time on a
shared machine), with its last result to check against the anchor's; or its median wall-clock and CPU times after
a warm-up call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["median_cpu", "median_times"]


def median_cpu(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """``run()`` ``repeats`` times: the median of its process CPU seconds, and what the last call returned."""
    times, out = [], None
    for _ in range(repeats):
        start = time.process_time()
        out = run()
        times.append(time.process_time() - start)
    return statistics.median(times), out


def median_times(run: Callable[[], Any], repeats: int) -> tuple[tuple[float, float], Any]:
    """Median wall-clock and CPU seconds of ``repeats`` calls of ``run`` after a warm-up call, and the warm-up's
    result."""
    out = run()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return (statistics.median(walls), statistics.median(cpus)), out
