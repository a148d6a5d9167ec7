"""What the benchmarks time: a callable's median process CPU time over repeats (steadier than wall time on a
shared machine), with its last result to check against the anchor's."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["median_cpu"]


def median_cpu(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """``run()`` ``repeats`` times: the median of its process CPU seconds, and what the last call returned."""
    times, out = [], None
    for _ in range(repeats):
        start = time.process_time()
        out = run()
        times.append(time.process_time() - start)
    return statistics.median(times), out
