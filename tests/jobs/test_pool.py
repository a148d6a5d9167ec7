"""The embedded pool's claim loops end on close, even when a loop loses its cancel."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from sceneforge.jobs.pool import WorkerPool


class _EndlessStore:
    """A queue that always has one more job."""

    def __init__(self) -> None:
        self.claims = 0

    async def claim(self, owner: str, lease_s: float, types: tuple[str, ...]) -> Any:
        self.claims += 1
        return SimpleNamespace(job_id=f"job-{self.claims}")


class _IdleRunner:
    owner = "test"
    settings = SimpleNamespace(lease_s=1.0)

    def closing(self) -> None:
        pass

    async def run_one(self, job: Any) -> None:
        raise AssertionError("no job is ever claimed")


class _LosingRunner(_IdleRunner):
    """Runs each job until cancelled, then swallows the cancel, as Python 3.11's ``asyncio.wait_for`` can when
    its inner wait ends at the moment the cancel arrives."""

    def __init__(self) -> None:
        self.runs = 0

    async def run_one(self, job: Any) -> None:
        self.runs += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return  # the cancel is lost here

    async def release(self, job: Any) -> None:
        raise AssertionError("no job is claimed while closing")


async def test_close_ends_loops_that_lost_their_cancel() -> None:
    store, runner = _EndlessStore(), _LosingRunner()
    pool = WorkerPool(store, runner, {"build": 2, "preview": 1}, poll_s=0.01)  # type: ignore[arg-type]
    pool.start()
    while runner.runs < 3:
        await asyncio.sleep(0.01)
    closing = asyncio.create_task(pool.close())
    done, _ = await asyncio.wait({closing}, timeout=5)
    # Before the closing flag, close() waited for these loops forever (they claimed and ran again and again).
    assert closing in done, "close() did not return"
    assert store.claims == 3  # no loop claimed again after its cancel was lost


class _LateClaimStore:
    """A store whose claim is under way as ``close`` begins, and takes a job once let go."""

    def __init__(self) -> None:
        self.claiming = asyncio.Event()
        self.taken = asyncio.Event()

    async def claim(self, owner: str, lease_s: float, types: tuple[str, ...]) -> Any:
        self.claiming.set()
        await self.taken.wait()
        return SimpleNamespace(job_id="late")


class _ClosingRunner(_IdleRunner):
    def __init__(self) -> None:
        self.released: list[str] = []

    async def release(self, job: Any) -> None:
        self.released.append(job.job_id)


async def test_a_job_claimed_while_closing_is_handed_back() -> None:
    """A claim in flight when the pool closes runs to its end (cut, its transaction could commit all the same),
    and the job it took is handed back. Before, the job stayed Running under the closed pool until its lease ran
    out and the sweeper took it."""
    store, runner = _LateClaimStore(), _ClosingRunner()
    pool = WorkerPool(store, runner, {"build": 1}, poll_s=0.01)  # type: ignore[arg-type]
    pool.start()
    await store.claiming.wait()
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # close waits for the claim
    store.taken.set()
    await closing
    assert runner.released == ["late"]


class _CountingStore:
    """An empty queue that counts the claims of each job type."""

    def __init__(self) -> None:
        self.claims: dict[str, int] = {}

    async def claim(self, owner: str, lease_s: float, types: tuple[str, ...]) -> Any:
        for kind in types:
            self.claims[kind] = self.claims.get(kind, 0) + 1
        return None


async def test_a_wake_reaches_only_the_loops_of_its_type() -> None:
    """An enqueue wakes its type's idle loops only (each claim is a database round trip), and a job the runner
    queues (a build's preview) wakes that type's loops at once, not after their poll."""
    store, runner = _CountingStore(), _IdleRunner()
    pool = WorkerPool(store, runner, {"build": 2, "preview": 1}, poll_s=60.0)  # type: ignore[arg-type]
    pool.start()
    try:

        async def settled(counts: dict[str, int]) -> None:
            for _ in range(100):
                if store.claims == counts:
                    await asyncio.sleep(0.05)  # and nothing more follows
                    assert store.claims == counts
                    return
                await asyncio.sleep(0.01)
            raise AssertionError(f"claims {store.claims}, expected {counts}")

        await settled({"build": 2, "preview": 1})  # each loop's first look
        pool.wake("build")
        await settled({"build": 4, "preview": 1})
        runner.on_queued("preview")  # type: ignore[attr-defined]
        await settled({"build": 4, "preview": 2})
        pool.wake()
        await settled({"build": 6, "preview": 3})
    finally:
        await asyncio.wait_for(pool.close(), 5)
