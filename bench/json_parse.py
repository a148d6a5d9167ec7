"""Strict JSON parsing against the standard library's, same run: :func:`sceneforge.jsontext.loads` on the
office descriptions of ``tests/data/levels`` as a build reads them (``finite=False``, no depth limit) and as
request bodies are read (the defaults), against :func:`json.loads` of the same bytes (the anchor). CPU
milliseconds, median of ``--repeats`` (each a median of 5 parses); ``ratio`` is ours over the anchor.

Usage::

    python bench/json_parse.py [--repeats 7]
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


def _cpu_ms(parse: Callable[[], Any]) -> float:
    times = []
    for _ in range(5):
        start = time.process_time()
        parse()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from sceneforge import jsontext

    head = f"{'level':<18} {'bytes':>9} {'json.loads ms':>14} {'build parse ms':>15} {'ratio':>6}"
    print(f"{head} {'body parse ms':>14} {'ratio':>6}")
    for path in sorted((ROOT / "tests" / "data" / "levels").glob("*.json")):
        data = path.read_bytes()
        kinds: dict[str, Callable[[], Any]] = {
            "anchor": lambda data=data: json.loads(data),
            "build": lambda data=data: jsontext.loads(data, finite=False, max_depth=None),
            "body": lambda data=data: jsontext.loads(data),
        }
        runs: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.repeats):
            for kind, parse in kinds.items():  # interleaved: load falls on all three alike
                runs[kind].append(_cpu_ms(parse))
        a, b, c = (statistics.median(runs[k]) for k in kinds)
        print(f"{path.name:<18} {len(data):>9,} {a:>14.2f} {b:>15.2f} {b / a:>6.2f} {c:>14.2f} {c / a:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
