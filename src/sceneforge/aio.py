"""Small asyncio helpers shared by the service layers (``storage``, ``events``, ``assist``, ``jobs``); a leaf
module.

:func:`wait_event` is the one timed wait on an :class:`asyncio.Event`: it costs one timer handle per call and
nothing else. :func:`finished` runs a short database read or write to its end even when its caller is cancelled
(:func:`all_finished` waits for those still running). The module imports nothing of the project, so every layer may
use it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["all_finished", "finished", "settled", "wait_event"]

T = TypeVar("T")

#: Reads whose caller was cancelled, held until they end (the loop keeps only weak references to tasks).
_FINISHING: set[asyncio.Task[Any]] = set()


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


async def finished(work: Coroutine[Any, Any, T]) -> T:
    """Await ``work`` (a short, bounded database read or write) in a task of its own that a cancel of the caller
    does not interrupt.

    The caller's cancel is raised in the caller at once; ``work`` goes on to its end, kept referenced meanwhile,
    its outcome dropped. Why: a database statement interrupted by a cancel (SQLAlchemy over aiosqlite) has its
    connection torn down rather than returned to the pool, and the graceful close SQLAlchemy shields is cut too:
    a read leaves "Task was destroyed but it is pending!" in the server log (an event stream whose client leaves
    is cancelled by anyio's cancel scope, which cancels again at every await); a write is cut halfway and rolled
    back, though it may have done what a caller then counts on (a job claimed, a lease renewed).
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            _FINISHING.add(task)
            task.add_done_callback(_forget)
        raise


async def all_finished() -> None:
    """Until all the work :func:`finished` went on with after its caller's cancel (in this event loop) has ended:
    a closing service waits for it before it lets its database go."""
    loop = asyncio.get_running_loop()
    while left := {task for task in _FINISHING if task.get_loop() is loop}:
        await asyncio.wait(left)


def _forget(task: asyncio.Task[Any]) -> None:
    _FINISHING.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: its caller is gone, and an error here is not worth a "never retrieved"


async def settled(
    ending: set[asyncio.Task[Any]], work: Coroutine[Any, Any, T], on_cancel: Callable[[asyncio.Task[T]], object]
) -> T:
    """Await ``work`` (a write that must settle: commit and say so, or roll back) in a task of its own, kept in
    ``ending`` (which a closing repository awaits) until it ends and shielded from the caller's cancel. A cancel
    of the caller calls ``on_cancel(task)`` (which cancels what may still be cancelled: a write not yet committing)
    and is raised in the caller; the task's own outcome is then retrieved quietly (the caller was the one to see
    it)."""
    task = asyncio.ensure_future(work)
    ending.add(task)
    task.add_done_callback(ending.discard)
    task.add_done_callback(_quietly)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        on_cancel(task)
        raise


def _quietly(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
