"""``sceneforge.aio``: ``wait_event`` (True when the event is set, False when the time ran out, a cancel kept);
``finished`` work outliving its caller's cancel, and ``all_finished`` waiting for it."""

from __future__ import annotations

import asyncio

import pytest

from sceneforge.aio import all_finished, finished, wait_event


async def test_wait_event_true_when_set_before_or_during_the_wait() -> None:
    event = asyncio.Event()
    event.set()
    assert await wait_event(event, 0) is True
    later = asyncio.Event()
    asyncio.get_running_loop().call_soon(later.set)
    assert await wait_event(later, 60) is True


async def test_wait_event_false_on_timeout_and_event_left_unset() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    assert await wait_event(event, -1) is False
    assert not event.is_set()


async def test_wait_event_keeps_a_cancel() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(wait_event(event, 60))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_finished_work_goes_on_after_a_cancel_and_all_finished_waits_for_it() -> None:
    """The caller's cancel is raised at once; the work runs to its end, and ``all_finished`` returns only then."""
    let_go, ended = asyncio.Event(), asyncio.Event()

    async def work() -> str:
        await let_go.wait()
        ended.set()
        return "done"

    caller = asyncio.create_task(finished(work()))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    waiting = asyncio.create_task(all_finished())
    await asyncio.sleep(0.05)
    assert not waiting.done() and not ended.is_set()
    let_go.set()
    await asyncio.wait_for(waiting, 5)
    assert ended.is_set()
