"""Waiting in async tests for a condition, with a bound that only catches a hang (never a timing assert)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(check: Callable[[], object], what: str, seconds: float) -> None:
    """Return once ``check()`` is true, polling every 0.05 s; fail saying ``never <what>`` after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}")
