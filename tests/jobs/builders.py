"""Build functions for worker-process tests (module level, so spawned children can import them)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sceneforge.config import Limits
from sceneforge.jobs.build import BuildOutput, compile_build

__all__ = [
    "broken_export",
    "flaky_build",
    "gated_build",
    "slow_build",
    "slow_export",
    "unprintable_failure",
    "unsendable_result",
]


def slow_build(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> BuildOutput:
    """Reports progress every 50 ms for ``options["seconds"]`` (default 30), then compiles for real."""
    seconds = float(options.get("seconds", 30))
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        progress("geometry", min(0.99, (time.monotonic() - started) / seconds))
        time.sleep(0.05)
    return compile_build(data, options, limits, progress)


def gated_build(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> BuildOutput:
    """Reports progress every 20 ms until the file ``options["gate"]`` exists, then compiles for real."""
    gate = Path(options["gate"])
    while not gate.exists():
        progress("geometry", 0.5)
        time.sleep(0.02)
    return compile_build(data, {}, limits, progress)


def flaky_build(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> BuildOutput:
    """Fails with a transient error while the counter file ``options["counter"]`` is below ``options["fail"]``."""
    counter = Path(options["counter"])
    seen = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(seen + 1))
    if seen < int(options.get("fail", 1)):
        raise ConnectionError(f"transient failure {seen + 1} in pid {os.getpid()}")
    return compile_build(data, {}, limits, progress)


def broken_export(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> dict[str, bytes]:
    """An export whose every attempt fails with a transient error (counted in ``options["counter"]``)."""
    counter = Path(options["counter"])
    seen = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(seen + 1))
    raise ConnectionError(f"transient export failure {seen + 1}")


def slow_export(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> dict[str, bytes]:
    """Reports progress every 50 ms for ``options["seconds"]``, then writes ``options["done"]`` and returns."""
    seconds = float(options.get("seconds", 30))
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        progress("export", min(0.99, (time.monotonic() - started) / seconds))
        time.sleep(0.05)
    Path(options["done"]).write_text("finished")
    return {"exports/obj": b"zip"}


class Unprintable(Exception):
    """An exception whose message cannot be read (its ``__str__`` raises)."""

    def __str__(self) -> str:
        raise ValueError("this message cannot be read")


def unprintable_failure(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> BuildOutput:
    """A build whose failure cannot be turned into text."""
    raise Unprintable()


def unsendable_result(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> BuildOutput:
    """A build whose result cannot be pickled back to the worker's parent."""
    return lambda: None  # type: ignore[return-value]
