"""``sceneforge.aio.wait_event``: True when the event is set, False when the time ran out, a cancel kept."""

from __future__ import annotations

import asyncio

import pytest

from sceneforge.aio import wait_event


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
