"""Assisted-edit conversations in the metadata database (docs/assist.md).

A *session* belongs to one scene and holds *messages* in order (``n`` from 1): the user's text,
then the assistant's answer with its streamed ``reasoning`` and ``content``, its ``status``
(``queued → running → done | error | canceled``) and the job that runs it. Each tool call the
model makes is a row with its arguments as streamed and the result sent back (and the draft
``rev`` a ``patch_draft`` made). Every stream event of an assistant message is a row with its
own ``seq`` (1, 2, … per message): the SSE stream replays them, so a client resumes after any
``seq``. Revisions link back through ``revisions.message_id``.

Costs: appending events is one short transaction per batch (the runner coalesces deltas);
reading a session is four indexed queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import NotFound
from ..wire import iso_utc, names_a_row, one_line, storable
from .database import write_transaction
from .tables import assist_events, assist_messages, assist_sessions, assist_tool_calls, jobs, revisions

#: Characters of a session's ``author`` column: a caller's name (a key's, or a JWT ``sub`` of any length) is stored
#: as one line cut to it, as a revision's author is (``storage/drafts.py``); PostgreSQL refuses a longer value.
MAX_AUTHOR_CHARS = 200

__all__ = ["ACTIVE", "INTERRUPTED", "AssistEvent", "AssistRepository", "Turn"]

#: Why a message ends when the process answering it stopped.
INTERRUPTED = "the server answering this message stopped before it finished; ask again"
#: Statuses of an assistant message that is not finished.
ACTIVE = ("queued", "running")
#: Messages of a session's history read at once, newest first (:meth:`AssistRepository.history`).
_HISTORY_PAGE = 64


@dataclass(frozen=True, slots=True)
class Turn:
    """What one ``POST /scenes/{id}/assist`` created."""

    session_id: str
    user_message_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class AssistEvent:
    """One stream event of an assistant message."""

    seq: int
    type: str
    data: dict[str, Any]


def _from_a_question(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` (oldest first) from the first user's message on: a history cut short by its bound does not
    open with an answer whose question was left out (the newest message is kept whatever it is)."""
    first = next((i for i, m in enumerate(messages) if m["role"] == "user"), len(messages) - 1)
    return messages[first:]


def _now() -> datetime:
    return datetime.now(UTC)


class AssistRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def start_turn(
        self, scene_id: str, session_id: str | None, *, author: str, text: str, model: str, job_id: str | None = None
    ) -> Turn:
        """Record the user's message and a queued assistant message (in a new session when ``session_id`` is None)."""
        if session_id is not None and not names_a_row(session_id):
            raise NotFound(f"no assist session {session_id!r} for scene {scene_id!r}")
        now = _now()
        user_id, message_id = uuid.uuid4().hex, uuid.uuid4().hex
        async with write_transaction(self.engine) as conn:
            if session_id is None:
                session_id = uuid.uuid4().hex
                await conn.execute(
                    insert(assist_sessions).values(
                        id=session_id, scene_id=scene_id, author=one_line(author, MAX_AUTHOR_CHARS), created_at=now
                    )
                )
                n = 0
            else:
                # The session's row locked (PostgreSQL; SQLite's write transaction holds its lock already): two
                # messages sent to one session at once (a double click, two tabs) read the same last ``n``, and the
                # second failed on the unique (session, n) with a 500. The second now numbers its turn after the first.
                query = select(assist_sessions.c.scene_id).where(assist_sessions.c.id == session_id).with_for_update()
                found = (await conn.execute(query)).scalar()
                if found != scene_id:
                    raise NotFound(f"no assist session {session_id!r} for scene {scene_id!r}")
                query = select(func.coalesce(func.max(assist_messages.c.n), 0))
                n = int((await conn.execute(query.where(assist_messages.c.session_id == session_id))).scalar() or 0)
            common = dict(session_id=session_id, reasoning="", created_at=now)
            await conn.execute(
                insert(assist_messages).values(
                    id=user_id, n=n + 1, role="user", content=storable(text), status="done", completed_at=now, **common
                )
            )
            await conn.execute(
                insert(assist_messages).values(
                    id=message_id,
                    n=n + 2,
                    role="assistant",
                    content="",
                    status="queued",
                    model=storable(model),
                    job_id=job_id,
                    **common,
                )
            )
            await self._append(conn, message_id, [("status", {"status": "queued", "jobId": job_id})])
        return Turn(session_id, user_id, message_id)

    async def message(self, message_id: str) -> dict[str, Any]:
        """One message row as a dict (with the session's ``scene_id``); :class:`NotFound` if there is none."""
        if not names_a_row(message_id):
            raise NotFound(f"no assist message {message_id!r}")
        query = (
            select(assist_messages, assist_sessions.c.scene_id)
            .join(assist_sessions, assist_sessions.c.id == assist_messages.c.session_id)
            .where(assist_messages.c.id == message_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"no assist message {message_id!r}")
        return dict(row._mapping)

    async def history(self, session_id: str, before_n: int, max_chars: int) -> list[dict[str, Any]]:
        """The messages of a session before position ``before_n`` (role, content), oldest first: the newest whose
        contents fit ``max_chars`` together (the newest always), starting at a user's message. Read newest first,
        in pages, so a session of thousands of messages is not read whole for each answer."""
        kept: list[dict[str, Any]] = []
        used, below = 0, before_n
        async with self.engine.connect() as conn:
            while True:
                query = (
                    select(assist_messages.c.n, assist_messages.c.role, assist_messages.c.content)
                    .where(assist_messages.c.session_id == session_id, assist_messages.c.n < below)
                    .order_by(assist_messages.c.n.desc())
                    .limit(_HISTORY_PAGE)
                )
                rows = (await conn.execute(query)).all()
                for r in rows:
                    if not r.content:
                        continue
                    if kept and used + len(r.content) > max_chars:
                        return _from_a_question(kept[::-1])
                    kept.append({"role": r.role, "content": r.content})
                    used += len(r.content)
                if len(rows) < _HISTORY_PAGE:
                    return kept[::-1]
                below = rows[-1].n

    async def set_running(self, message_id: str) -> bool:
        """Move a queued message to ``running``; False when it is no longer queued (canceled, failed)."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                update(assist_messages)
                .where(assist_messages.c.id == message_id, assist_messages.c.status == "queued")
                .values(status="running")
            )
        return bool(result.rowcount == 1)

    async def save_text(self, message_id: str, *, content: str, reasoning: str) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(assist_messages)
                .where(assist_messages.c.id == message_id)
                .values(content=storable(content), reasoning=storable(reasoning))
            )

    async def append(self, message_id: str, items: Sequence[tuple[str, dict[str, Any]]]) -> list[AssistEvent]:
        """Append stream events (type, data) after the message's last ``seq`` while it is active; returns them with
        their seqs (none once it ended: a sweep that found its process gone wrote its terminal event, which stays
        its last). The message's row is taken first (PostgreSQL: ``FOR UPDATE``; :meth:`finish` takes it by its
        update), so two appends never read the same last seq: a writer racing a sweep hit the seqs' unique key."""
        if not items:
            return []
        async with write_transaction(self.engine) as conn:
            query = select(assist_messages.c.status).where(assist_messages.c.id == message_id).with_for_update()
            if (await conn.execute(query)).scalar() not in ACTIVE:
                return []
            return await self._append(conn, message_id, items)

    @staticmethod
    async def _append(
        conn: AsyncConnection, message_id: str, items: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[AssistEvent]:
        query = select(func.coalesce(func.max(assist_events.c.seq), 0)).where(assist_events.c.message_id == message_id)
        last = int((await conn.execute(query)).scalar() or 0)
        now = _now()
        out = [AssistEvent(last + i + 1, kind, data) for i, (kind, data) in enumerate(items)]
        rows = [dict(message_id=message_id, seq=e.seq, type=e.type, data=e.data, created_at=now) for e in out]
        await conn.execute(insert(assist_events), rows)
        return out

    async def last_seq(self, message_id: str) -> int:
        """The ``seq`` of the message's newest stored event (0 when it has none)."""
        query = select(func.coalesce(func.max(assist_events.c.seq), 0)).where(assist_events.c.message_id == message_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def events(self, message_id: str, since: int = 0, take: int = 1000) -> list[AssistEvent]:
        """Events of a message with ``seq > since``, in order."""
        query = (
            select(assist_events.c.seq, assist_events.c.type, assist_events.c.data)
            .where(assist_events.c.message_id == message_id, assist_events.c.seq > since)
            .order_by(assist_events.c.seq)
            .limit(take)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AssistEvent(r.seq, r.type, r.data) for r in rows]

    async def add_tool_call(self, message_id: str, *, call_id: str, round_: int, name: str, arguments: str) -> int:
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                insert(assist_tool_calls).values(
                    message_id=message_id,
                    call_id=storable(call_id[:200]),
                    round=round_,
                    name=storable(name[:64]),
                    arguments=storable(arguments),
                    created_at=_now(),
                )
            )
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the tool call insert returned no id")
        return int(key[0])

    async def set_tool_result(self, call_row: int, result: dict[str, Any], rev: int | None) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(assist_tool_calls).where(assist_tool_calls.c.id == call_row).values(result=result, rev=rev)
            )

    async def finish(
        self,
        message_id: str,
        status: str,
        *,
        events: Sequence[tuple[str, dict[str, Any]]] = (),
        error: dict[str, Any] | None = None,
    ) -> bool:
        """End an active message (``done``, ``error`` or ``canceled``) and append its last events, at most once."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                update(assist_messages)
                .where(assist_messages.c.id == message_id, assist_messages.c.status.in_(ACTIVE))
                .values(status=status, error=error, completed_at=_now())
            )
            if result.rowcount != 1:
                return False
            if events:
                await self._append(conn, message_id, events)
        return True

    async def fail_orphans(self, *, grace_s: float = 0.0) -> list[str]:
        """End every active message whose job is gone, finished, or lost its worker (lease expired).

        Called at start-up, by every sweep and when a stream finds its message silent: a message never
        stays running after the process that answered it died. A message whose job was canceled before
        a worker took it ends ``canceled``; every other one ends with ``error`` (interrupted). A message
        without a job row is left alone while younger than ``grace_s`` (its job row may be on its way).
        """
        now = _now()
        orphan = or_(
            and_(jobs.c.id.is_(None), assist_messages.c.created_at < now - timedelta(seconds=grace_s)),
            jobs.c.status.in_(("Succeeded", "Failed", "Canceled")),
            and_(jobs.c.status == "Running", jobs.c.lease_expires_at < now),
        )
        query = (
            select(assist_messages.c.id, jobs.c.status)
            .select_from(assist_messages.outerjoin(jobs, jobs.c.id == assist_messages.c.job_id))
            .where(assist_messages.c.status.in_(ACTIVE), orphan)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        ended = []
        for message_id, job_status in rows:
            if job_status == "Canceled":
                done = await self.finish(message_id, "canceled", events=[("done", {"status": "canceled"})])
            else:
                error = {"code": "interrupted", "message": INTERRUPTED}
                done = await self.finish(message_id, "error", events=[("error", error)], error=error)
            if done:
                ended.append(message_id)
        return ended

    async def session(self, scene_id: str, session_id: str) -> dict[str, Any]:
        """The whole conversation: messages with their tool calls and the revisions they made."""
        if not names_a_row(session_id):
            raise NotFound(f"no assist session {session_id!r} for scene {scene_id!r}")
        async with self.engine.connect() as conn:
            head = (await conn.execute(select(assist_sessions).where(assist_sessions.c.id == session_id))).first()
            if head is None or head.scene_id != scene_id:
                raise NotFound(f"no assist session {session_id!r} for scene {scene_id!r}")
            rows = (
                await conn.execute(
                    select(assist_messages)
                    .where(assist_messages.c.session_id == session_id)
                    .order_by(assist_messages.c.n)
                )
            ).all()
            ids = [r.id for r in rows]
            calls = (
                await conn.execute(
                    select(assist_tool_calls)
                    .where(assist_tool_calls.c.message_id.in_(ids))
                    .order_by(assist_tool_calls.c.id)
                )
            ).all()
            made = (
                await conn.execute(
                    select(revisions.c.rev, revisions.c.message_id, revisions.c.reason, revisions.c.ops)
                    .where(revisions.c.scene_id == scene_id, revisions.c.message_id.in_(ids))
                    .order_by(revisions.c.rev)
                )
            ).all()
            counts = (
                await conn.execute(
                    select(assist_events.c.message_id, func.max(assist_events.c.seq))
                    .where(assist_events.c.message_id.in_(ids))
                    .group_by(assist_events.c.message_id)
                )
            ).all()
        last_seq = {m: int(s) for m, s in counts}
        by_message: dict[str, list[dict[str, Any]]] = {}
        for c in calls:
            by_message.setdefault(c.message_id, []).append(
                {
                    "callId": c.call_id,
                    "round": c.round,
                    "name": c.name,
                    "arguments": c.arguments,
                    "result": c.result,
                    "rev": c.rev,
                    "createdUtc": iso_utc(c.created_at),
                }
            )
        revs: dict[str, list[dict[str, Any]]] = {}
        for r in made:
            revs.setdefault(r.message_id, []).append({"rev": r.rev, "reason": r.reason, "ops": r.ops})
        messages = [
            {
                "messageId": r.id,
                "n": r.n,
                "role": r.role,
                "content": r.content,
                "reasoning": r.reasoning,
                "status": r.status,
                "model": r.model,
                "jobId": r.job_id,
                "error": r.error,
                "createdUtc": iso_utc(r.created_at),
                "completedUtc": iso_utc(r.completed_at),
                "toolCalls": by_message.get(r.id, []),
                "revisions": revs.get(r.id, []),
                "lastSeq": last_seq.get(r.id, 0),
            }
            for r in rows
        ]
        return {
            "sessionId": session_id,
            "sceneId": scene_id,
            "author": head.author,
            "createdUtc": iso_utc(head.created_at),
            "messages": messages,
        }
