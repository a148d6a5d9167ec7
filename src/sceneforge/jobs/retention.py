"""Housekeeping every ``sweep_s``: reclaim expired leases (and end the assistant messages of jobs
that ended without them), prune finished jobs, old events and old revisions, wake workers.

Every API instance runs one; the operations are idempotent, so several at once are harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from ..events.log import EventLog
from ..settings import JobSettings, JobTypeSettings
from ..storage.assist import AssistRepository
from ..storage.drafts import DraftRepository
from .store import JobStore

__all__ = ["Sweeper"]

log = logging.getLogger(__name__)

#: Seconds between two retention passes (reclaim runs every sweep).
PRUNE_EVERY_S = 60.0


class Sweeper:
    def __init__(
        self,
        store: JobStore,
        events: EventLog,
        settings: JobSettings,
        *,
        keep_events: timedelta,
        on_due: Callable[[int, str], Awaitable[None]] | None = None,
        drafts: DraftRepository | None = None,
        keep_revisions: int = 1000,
        types: Mapping[str, JobTypeSettings] | None = None,
        assist: AssistRepository | None = None,
        assist_grace_s: float = 10.0,
    ) -> None:
        """Events older than ``keep_events`` are pruned, and revisions beyond the newest
        ``keep_revisions`` of each draft. ``on_due(n)`` is called when ``n`` jobs are due but
        unclaimed (Celery: send wake-up tasks). With ``assist``, assistant messages whose job ended
        or lost its worker are ended too (a message never stays running)."""
        self.store, self.events, self.settings, self.on_due = store, events, settings, on_due
        self.keep_events = keep_events
        self.drafts, self.keep_revisions = drafts, keep_revisions
        #: Job types with their own retention (kept by count of completed and of failed jobs).
        self.types = dict(types or {})
        self.assist, self.assist_grace_s = assist, assist_grace_s
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-sweeper")

    async def sweep(self) -> None:
        """One pass (the loop's body; tests call it directly)."""
        await self.store.reclaim_expired(retry_in_s=0.0)
        if self.assist is not None:
            await self.assist.fail_orphans(grace_s=self.assist_grace_s)
        if self.on_due is not None:
            for kind in ("build", *self.types):
                due = await self.store.due_queued(kind)
                if due:
                    await self.on_due(due, kind)
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            await self.store.prune(keep=self.settings.keep_jobs, max_age=self.settings.keep_jobs_age)
            await self.events.prune(self.keep_events)
            if self.drafts is not None:
                await self.drafts.prune(keep=self.keep_revisions)
            for kind, cfg in self.types.items():
                await self.store.prune_type(kind, keep_completed=cfg.keep_completed, keep_failed=cfg.keep_failed)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_s)
            try:
                await self.sweep()
            except Exception as exc:
                log.warning("job sweeper: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
