"""The embedded pool's claim loops end on close, even when a loop loses its cancel."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from sceneforge.jobs.pool import WorkerPool


class _LosingStore:
    """A store whose claim waits until cancelled and then swallows the cancel, as Python 3.11's
    ``asyncio.wait_for`` can when its inner wait ends at the moment the cancel arrives."""

    def __init__(self) -> None:
        self.claims = 0

    async def claim(self, owner: str, lease_s: float, types: tuple[str, ...]) -> Any:
        self.claims += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return None  # the cancel is lost here
        raise AssertionError("unreachable: the event is never set")


class _IdleRunner:
    owner = "test"
    settings = SimpleNamespace(lease_s=1.0)

    def closing(self) -> None:
        pass

    async def run_one(self, job: Any) -> None:
        raise AssertionError("no job is ever claimed")


async def test_close_ends_loops_that_lost_their_cancel() -> None:
    store = _LosingStore()
    pool = WorkerPool(store, _IdleRunner(), {"build": 2, "preview": 1}, poll_s=0.01)  # type: ignore[arg-type]
    pool.start()
    while store.claims < 3:
        await asyncio.sleep(0.01)
    closing = asyncio.create_task(pool.close())
    done, _ = await asyncio.wait({closing}, timeout=5)
    # Before the closing flag, close() waited for these loops forever (they claimed again and again).
    assert closing in done, "close() did not return"
    assert store.claims == 3  # no loop claimed again after its cancel was lost


class _LateClaimStore:
    """A store whose claim takes a job as ``close`` begins: the claim's write lands, then its cancel."""

    def __init__(self) -> None:
        self.claiming = asyncio.Event()

    async def claim(self, owner: str, lease_s: float, types: tuple[str, ...]) -> Any:
        self.claiming.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return SimpleNamespace(job_id="late")  # the job was claimed before the cancel arrived
        raise AssertionError("unreachable: the event is never set")


class _ClosingRunner(_IdleRunner):
    def __init__(self) -> None:
        self.released: list[str] = []

    async def release(self, job: Any) -> None:
        self.released.append(job.job_id)


async def test_a_job_claimed_while_closing_is_handed_back() -> None:
    store, runner = _LateClaimStore(), _ClosingRunner()
    pool = WorkerPool(store, runner, {"build": 1}, poll_s=0.01)  # type: ignore[arg-type]
    pool.start()
    await store.claiming.wait()
    await pool.close()
    # Before, the job stayed Running under this closed pool until its lease ran out and the sweeper took it.
    assert runner.released == ["late"]
