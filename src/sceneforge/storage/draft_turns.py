"""A draft's turn: how a patch that lost a race to another instance writes next.

A patch whose compare-and-set lost takes the draft's turn (a token and an expiry on the draft's row,
taken in a short write), renews it every third of :data:`TURN_S` while its patch is checked, and gives
it back when it ends; the other instances' patches of that draft wait for the turn (at most
:data:`TURN_WAIT_S`, then :class:`~sceneforge.errors.StorageError`, 503 ``storage_unavailable``).
A turn whose holder died runs out after :data:`TURN_S`. Giving back and renewing are best effort: a
failed write changes nothing, and the turn runs out on its own. :class:`DraftTurns` is a base of
:class:`~sceneforge.storage.drafts.DraftRepository`; :func:`turn_taken` says whether a row read is
another patch's turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StorageError
from .database import as_utc, write_transaction
from .draft_reads import DraftReads
from .tables import drafts

__all__ = ["TURN_S", "TURN_WAIT_S", "DraftTurns", "turn_taken"]

#: Seconds a contested patch's turn lasts unless renewed (its patch renews it every third of that while it
#: runs): a process that died holding one leaves the draft to the others' patches this long after.
TURN_S = 10.0
#: Seconds a patch waits for another's turn to end before it gives up (503 ``storage_unavailable``).
TURN_WAIT_S = 60.0


class DraftTurns(DraftReads):
    """Taking, renewing and giving back a draft's turn (see the module docstring)."""

    clock: Callable[[], datetime]

    async def _take_turn(self, scene_id: str, token: str) -> None:
        """Make it ``token``'s turn to patch the draft, waiting (up to :data:`TURN_WAIT_S`) while another patch's
        turn lasts; :class:`NotFound` when there is no draft."""
        # The time its tries take counts too: each is a write transaction, which may wait for the write lock.
        pause, deadline = 0.005, asyncio.get_running_loop().time() + TURN_WAIT_S
        while True:
            now = self.clock()
            free = or_(drafts.c.turn.is_(None), drafts.c.turn == token, drafts.c.turn_until < now)
            async with write_transaction(self.engine) as conn:
                taken = await conn.execute(
                    update(drafts)
                    .where(and_(drafts.c.scene_id == scene_id, free))
                    .values(turn=token, turn_until=now + timedelta(seconds=TURN_S))
                )
                if taken.rowcount == 1:
                    return
                await self._row(conn, scene_id)  # NotFound without a draft
            if asyncio.get_running_loop().time() >= deadline:
                message = (
                    f"the draft stayed another change's turn for {TURN_WAIT_S:g} s: nothing was written; try again"
                )
                raise StorageError(f"the draft of {scene_id!r}: {message}", public=message)
            await self._turn_wait(pause)
            pause = min(pause * 2, 0.1)

    async def _turn_wait(self, seconds: float) -> None:
        """Wait ``seconds`` for another patch's turn to end (a method: tests see that a patch waits)."""
        await asyncio.sleep(seconds)

    async def _renew_turn(self, scene_id: str, token: str) -> None:
        """Keep ``token``'s turn from running out while its patch is checked (every third of :data:`TURN_S`)."""
        while True:
            await asyncio.sleep(TURN_S / 3)
            # A try that fails: the next one, or the turn runs out.
            await self._update_turn(scene_id, token, turn_until=self.clock() + timedelta(seconds=TURN_S))

    async def _end_turn(self, scene_id: str, token: str, renewing: asyncio.Task[None]) -> None:
        """Stop the renewal of ``token``'s turn, then give the turn back."""
        renewing.cancel()
        await asyncio.wait([renewing])
        await self._give_turn(scene_id, token)

    async def _give_turn(self, scene_id: str, token: str) -> None:
        """End ``token``'s turn, if it has not ended (a write ends it; so does its running out)."""
        await self._update_turn(scene_id, token, turn=None, turn_until=None)

    async def _update_turn(self, scene_id: str, token: str, **values: Any) -> None:
        """Set ``values`` on the draft while it is ``token``'s turn; best effort: a failing write (on PostgreSQL a
        fault is a bare DBAPIError) changes nothing, and the turn runs out on its own."""
        with suppress(StorageError, SQLAlchemyError):
            async with write_transaction(self.engine) as conn:
                ours = and_(drafts.c.scene_id == scene_id, drafts.c.turn == token)
                await conn.execute(update(drafts).where(ours).values(**values))


def turn_taken(row: Any, now: datetime) -> bool:
    """Whether the draft as ``row`` found it is another patch's turn (:meth:`DraftRepository._patch_in_turn`)."""
    return row.turn is not None and row.turn_until is not None and as_utc(row.turn_until) >= now
