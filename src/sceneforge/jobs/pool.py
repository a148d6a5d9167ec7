"""The embedded executor: claim loops in the server, per job type, each feeding one worker process.

``lanes`` gives each job type its number of loops (its concurrency, :mod:`.types`). A loop claims
the next job of its type (priority, then age), runs it with the :class:`~.runner.JobRunner` (in a
worker process, or for ``assist`` in this event loop), and claims again; when its queue is empty it
sleeps ``poll_s`` or until :meth:`wake` of its type (called on a local enqueue, and when the runner
queues a job: a build's preview). Only that type's loops wake: every claim is a database round trip,
and on SQLite a write transaction when a job is due. The :class:`Sweeper` beside it reclaims expired
leases and applies retention.

:meth:`close` ends the loops by a flag as well as by cancelling them: Python 3.11's
``asyncio.wait_for`` can swallow a cancel that arrives as its inner wait ends, and a loop that lost
its cancel would otherwise claim and sleep forever while ``close`` waits for it. Sleeps use
:func:`sceneforge.aio.wait_event` (``asyncio.timeout``), which keeps the cancel. Before the cancels,
``close`` tells the runner it is closing (:meth:`~.runner.JobRunner.closing`): the builds in progress
are stopped and their jobs handed back to the queue, never failed, whichever reaches a build first,
the stop or its loop's cancel; a claim in flight runs to its end, and a job a loop claims while ``close``
runs is handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..aio import wait_event
from .runner import JobRunner
from .states import BuildJob
from .store import JobStore

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, store: JobStore, runner: JobRunner, lanes: dict[str, int], *, poll_s: float = 0.5) -> None:
        """``lanes``: loops per job type."""
        self.lanes = dict(lanes)
        self.store, self.runner, self.poll_s = store, runner, poll_s
        self._wake = {kind: asyncio.Event() for kind in self.lanes}
        runner.on_queued = self.wake
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self) -> None:
        kinds = [kind for kind, count in self.lanes.items() for _ in range(count)]
        self._tasks = [
            asyncio.create_task(self._loop(i, kind), name=f"job-worker-{kind}-{i}") for i, kind in enumerate(kinds)
        ]

    def wake(self, kind: str | None = None) -> None:
        """Wake the idle loops of job type ``kind`` (None: of every type)."""
        for which, event in self._wake.items():
            if kind is None or which == kind:
                event.set()

    def cancel(self, job_id: str) -> bool:
        """Stop a job running in this pool right away (the runner's watcher would within ``cancel_poll_s``)."""
        return self.runner.cancel(job_id)

    async def _claim(self, index: int, kind: str) -> BuildJob | None:
        """The next job of ``kind`` for the runner; None when there is none or the claim failed. A cancel (the
        pool closing) lets the claim end first: a job it took is handed back at once, not left Running under a
        lease nobody renews until the sweeper finds it."""
        claim = asyncio.ensure_future(self.store.claim(self.runner.owner, self.runner.settings.lease_s, types=(kind,)))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            await asyncio.wait({claim})
            if not claim.cancelled() and claim.exception() is None and (job := claim.result()) is not None:
                await asyncio.shield(self.runner.release(job))
            raise
        except Exception as exc:
            log.warning("job worker %d: claim failed (%s)", index, exc)
            return None

    async def _loop(self, index: int, kind: str = "build") -> None:
        wake = self._wake[kind]
        while not self._closing:
            job = await self._claim(index, kind)
            if self._closing:
                if job is not None:  # claimed meanwhile: back to the queue at once, for another worker
                    await asyncio.shield(self.runner.release(job))
                return
            if job is None:
                wake.clear()
                await wait_event(wake, self.poll_s)
                continue
            if self.lanes[kind] > 1:
                wake.set()  # the type's other loops may find more work
            try:
                await self.runner.run_one(job)
            except Exception:
                log.exception("job worker %d: job %s ended with an unexpected error", index, job.job_id)

    async def close(self) -> None:
        self._closing = True
        self.runner.closing()
        self.wake()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
