"""Following assist messages: the streams of ``GET /scenes/{id}/assist/{messageId}/stream``, and crash clean-up.

The answers themselves are ``assist`` jobs (:mod:`sceneforge.jobs.assist`), claimed from their own
queue by the embedded pool or a Celery worker. Streams read the store (so any instance can serve
them, and a client resumes from any ``seq``); they are woken by :meth:`AssistService.notify` when
this process wrote a message's events, and look at the store every :data:`POLL_S` otherwise (an
answer on another process). At start-up and whenever a stream finds its message silent,
:meth:`AssistRepository.fail_orphans` ends messages whose job is gone: ``error`` when its worker
died or it was stopped, ``canceled`` when it was canceled before a worker took it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from ..aio import wait_event
from ..settings import Settings
from ..storage.assist import ACTIVE, AssistEvent, AssistRepository

__all__ = ["ORPHAN_GRACE_S", "POLL_S", "AssistService"]

log = logging.getLogger(__name__)

#: How often a stream looks at the store when nothing woke it (another process's answer, a crash).
POLL_S = 0.25
#: A message this young without a job row is never taken for an orphan (its job row may not be written yet).
ORPHAN_GRACE_S = 10.0
#: Seconds between two orphan checks of one silent stream.
ORPHAN_CHECK_S = 1.0
_TERMINAL = {"done", "error"}


class AssistService:
    def __init__(self, repo: AssistRepository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings
        self._wakers: dict[str, set[asyncio.Event]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.settings.llm.base_url)

    async def start(self) -> list[str]:
        """Run at start-up: end messages left running by a process that died; returns their ids."""
        ended = await self.repo.fail_orphans(grace_s=ORPHAN_GRACE_S)
        if ended:
            log.warning("assist: %d message(s) interrupted by a restart ended with an error", len(ended))
        return ended

    # -- streams ------------------------------------------------------------------------------

    def notify(self, message_id: str) -> None:
        for waker in self._wakers.get(message_id, ()):
            waker.set()

    async def follow(self, message_id: str, since: int = 0) -> AsyncIterator[AssistEvent | None]:
        """The message's events after ``since``: stored ones first, then live ones, until the terminal event.

        ``None`` is yielded after every :data:`POLL_S` without news (the caller may send a heartbeat).
        """
        waker = asyncio.Event()
        loop = asyncio.get_running_loop()
        checked = float("-inf")
        self._wakers.setdefault(message_id, set()).add(waker)
        try:
            while True:
                waker.clear()
                batch = await self.repo.events(message_id, since)
                for event in batch:
                    since = event.seq
                    yield event
                    if event.type in _TERMINAL:
                        return
                if batch:
                    continue
                row = await self.repo.message(message_id)
                if row["status"] not in ACTIVE:
                    if not await self.repo.events(message_id, since):
                        return
                    continue
                now = loop.time()
                if now - checked >= ORPHAN_CHECK_S:
                    checked = now
                    await self.repo.fail_orphans(grace_s=ORPHAN_GRACE_S)
                if not await wait_event(waker, POLL_S):
                    yield None
        finally:
            wakers = self._wakers.get(message_id)
            if wakers is not None:
                wakers.discard(waker)
                if not wakers:
                    self._wakers.pop(message_id, None)
