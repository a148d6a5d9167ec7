"""Small asyncio helpers shared by the service layers (``events``, ``assist``, ``jobs``); a leaf module.

:func:`wait_event` is the one timed wait on an :class:`asyncio.Event`: it costs one timer handle
per call and nothing else. It imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["wait_event"]


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds passed: True when it was set, False on timeout.

    ``timeout`` of zero or less checks once and returns. It uses ``asyncio.timeout`` rather than
    ``asyncio.wait_for``: Python 3.11's ``wait_for`` can swallow a cancel that arrives as its inner
    wait ends, so a loop cancelled there would go on; ``asyncio.timeout`` keeps the cancel.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
            return True
    return False
