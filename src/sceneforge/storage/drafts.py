"""Drafts and their revisions: an editable description per scene with a full, undoable history.

A scene has at most one draft, at revision ``rev``. Every accepted change — a JSON Patch
(RFC 6902), an undo, a redo, an import of a description built through ``/scenes/build`` — is a
:class:`Revision` recording ``rev``, ``parentRev``, ``author``, ``source``, ``reason``, the ops from
the parent's description to the new one, and content-addressed snapshot keys before and after.
Snapshots go to the blob store first (equal descriptions are stored once); the draft row and
the revision row then change in one transaction, guarded by a compare-and-set on ``rev``, so
two writers never lose a change and a crash between the two leaves no half-written revision
(at worst an unreferenced snapshot blob, which ``sceneforge gc`` removes). A write that fails or is cancelled
before its COMMIT releases its snapshot at once; one cancelled once its COMMIT is under way runs to its end, so
that the snapshot is kept when the row committed (:meth:`DraftRepository._settled`).

Undo and redo are stacks of revisions kept on the draft row: an edit pushes its rev on the undo
stack and clears redo; undo pops the top, restores that revision's ``before`` snapshot as a new
revision (``source: "undo"``) and pushes the undone rev on redo; redo pops it and restores its
``after`` snapshot (``source: "redo"``), pushing the new revision on undo.

The result of every change must validate: the caller passes ``validate`` (the compiler's
validation, raising :class:`~sceneforge.errors.SceneInvalid` with pointers into the resulting
description) and nothing is written when it raises. It runs outside any transaction, on the
description as read, so a large draft's check holds no lock other writers need; a patch whose
compare-and-set then fails starts again from the read, in the draft's turn (:meth:`DraftRepository.patch`).
Events (``draft.revised``) are appended in the same transaction through the ``record`` hook the
service wires to the event log.

The repository is :class:`DraftRepository`, whose writes are here; the modules beneath it, lowest first:
``json_patch`` (the patch checked and applied, its limits, the ops between two descriptions; pure),
``draft_records`` (:class:`Draft`, :class:`Revision`, the snapshot bytes, the preconditions' errors),
``draft_reads`` (the draft, its revisions and snapshots read), ``draft_turns`` (a contested patch's turn:
taken, renewed, given back) and ``draft_retention`` (:meth:`DraftRepository.prune`).
"""

from __future__ import annotations

import asyncio
import inspect
import secrets
import weakref
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial, wraps
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..aio import settled
from ..errors import NotFound, StorageError
from ..wire import one_line
from .blobs import BlobStore, blob_key
from .database import locking, write_transaction
from .draft_records import (
    SOURCES,
    Draft,
    DraftConflict,
    NoneMatch,
    Revision,
    Source,
    StaleRevision,
    canonical_json,
    refuse_if_none_match,
)
from .draft_retention import DraftRetention
from .draft_turns import DraftTurns, turn_taken
from .gc import release
from .json_patch import (
    MAX_PATCH_COPY_BYTES,
    MAX_PATCH_OPS,
    PatchFailed,
    apply_patch,
    check_ops,
    check_storable,
    diff,
    too_deep,
)
from .scenes import retired
from .tables import MAX_REASON_CHARS, drafts, revisions, scenes, versions

__all__ = [
    "MAX_PATCH_COPY_BYTES",
    "MAX_PATCH_OPS",
    "SOURCES",
    "Draft",
    "DraftConflict",
    "DraftRepository",
    "NoneMatch",
    "PatchFailed",
    "Revision",
    "StaleRevision",
    "apply_patch",
    "canonical_json",
    "refuse_if_none_match",
]

_WRITE_ATTEMPTS = 8
#: Checks a resulting description (raises :class:`SceneInvalid`); may be a coroutine function.
Validate = Callable[[dict[str, Any]], Awaitable[None] | None]
#: ``(conn, scene_id, revision, draft)`` inside the write transaction: append the ``draft.revised`` event.
Record = Callable[[AsyncConnection, "Draft", "Revision"], Awaitable[Any]]
#: Called with each event ``record`` appended, once its transaction committed.
Published = Callable[[Any], Awaitable[None]]


def _patched(description: dict[str, Any], ops: list[dict[str, Any]]) -> tuple[dict[str, Any], bytes]:
    """:func:`apply_patch` and the snapshot bytes of its result: blocking work (a copy of the whole description, its
    JSON), run in a worker thread, off the event loop (a one-op patch of a draft of 400,000 props held it 0.8 s)."""
    after = apply_patch(description, ops)
    try:
        return after, canonical_json(after)
    except RecursionError:  # moves nested it past what JSON is written with (3 short ops a level): it was a 500
        raise too_deep(after) from None


def _who_and_why(author: str, reason: str | None) -> tuple[str, str | None]:
    """The author and reason as the revision stores them: one line each (no control character or lone
    surrogate), the author at most 200 characters, the reason at most ``MAX_REASON_CHARS`` (None when empty)."""
    return one_line(author, 200), one_line(reason, MAX_REASON_CHARS) or None if reason else None


_P = ParamSpec("_P")
_T = TypeVar("_T")
#: A write transaction's body: given the connection, the draft and revision written and the events recorded.
_Body = Callable[[AsyncConnection], Awaitable[tuple["Draft", "Revision", list[Any]]]]


def _one_at_a_time(
    method: Callable[Concatenate[DraftRepository, str, _P], Awaitable[_T]],
) -> Callable[Concatenate[DraftRepository, str, _P], Awaitable[_T]]:
    """Run ``method`` (a write of the draft of its ``scene_id``) holding that scene's lock in this process: writes
    of one draft here go one after the other instead of racing each other's compare-and-set until one runs out of
    attempts (writers in other processes still race, and retry)."""

    @wraps(method)
    async def run(self: DraftRepository, scene_id: str, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        lock = self._locks.get(scene_id)
        if lock is None:
            lock = self._locks[scene_id] = asyncio.Lock()
        async with lock:
            return await method(self, scene_id, *args, **kwargs)

    return run


class DraftRepository(DraftRetention, DraftTurns):
    """Drafts and revisions in the metadata database, description snapshots in the blob store."""

    def __init__(
        self,
        engine: AsyncEngine,
        blobs: BlobStore,
        *,
        record: Record | None = None,
        published: Published | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine, self.blobs, self.record, self.clock = engine, blobs, record, clock
        self._published = published
        #: Scene → the lock of the write of its draft running in this process (see :func:`_one_at_a_time`).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        #: The ends of turns (:meth:`_end_turn`), the releases of snapshots (:meth:`_release_snapshot`) and the writes
        #: that name them (:meth:`_settled`) under way, held so that they finish when their caller was cancelled.
        self._ending: set[asyncio.Task[Any]] = set()

    # -- writes ------------------------------------------------------------------------------

    @_one_at_a_time
    async def create(
        self,
        scene_id: str,
        description: dict[str, Any],
        *,
        author: str,
        source: Source = "user",
        reason: str | None = None,
        replace: bool = False,
        validate: Validate | None = None,
        if_match: int | Collection[int] | None = None,
        exists: bool | None = None,
        if_none_match: NoneMatch | None = None,
        scene_exists: bool = False,
        from_version: int | None = None,
    ) -> tuple[Draft, Revision | None]:
        """Start the draft of ``scene_id`` (the scene row is made if missing, unless ``scene_exists``: then
        :class:`NotFound`, nothing written). ``from_version``: ``description`` was read from that version of the
        scene, which must still exist when the draft is written (checked in the writing transaction: a delete of
        the scene committed since is :class:`NotFound`, nothing written; version numbers are never used twice, so a
        scene made again under the id does not pass for it). :class:`DraftConflict` if one exists
        and ``replace`` is False; with ``replace`` the new description is a revision of the existing draft — unless
        it is the draft's description already: then nothing is written and the revision is None (as a patch that
        changes nothing). :class:`StaleRevision` when ``if_match`` is given and the draft is not at one of its revs
        (or is none), or when ``exists`` is given and the draft's existence is not that (``If-Match: *`` and
        ``If-None-Match: *``, checked before anything else as preconditions are), or when ``if_none_match`` names
        its rev (:func:`refuse_if_none_match`)."""
        author, reason = _who_and_why(author, reason)
        expected = {if_match} if isinstance(if_match, int) else set(if_match or ())

        def check(current: Any) -> None:
            if exists is True and current is None:
                raise StaleRevision((), None, "If-Match: * asks for an existing draft, and there is none")
            if exists is False and current is not None:
                message = f"If-None-Match: * asks for no draft, and there is one (rev {current.rev})"
                raise StaleRevision((), current.rev, message)
            refuse_if_none_match(if_none_match, None if current is None else current.rev)
            if current is not None and not replace:
                raise DraftConflict(f"scene {scene_id!r} already has a draft (rev {current.rev})")
            if if_match is not None and (current is None or current.rev not in expected):
                raise StaleRevision(if_match, None if current is None else current.rev)

        async with self.engine.connect() as conn:  # before the snapshot is stored: a 409, 412 or no-op writes nothing
            existing = (await conn.execute(select(drafts).where(drafts.c.scene_id == scene_id))).first()
        check(existing)
        if existing is not None and existing.description_key == blob_key(canonical_json(description)):
            return self._draft(existing, description), None
        await _checked(validate, description)
        text = canonical_json(description)
        key = await asyncio.to_thread(self.blobs.put, text)
        # A replacement's ops, worked out here (off the event loop, before the write lock is taken) from the draft as
        # read above: used when the transaction finds the draft still so (see _advance).
        replaced: tuple[str, dict[str, Any], list[dict[str, Any]]] | None = None
        if existing is not None:
            held = await self._snapshot(existing.description_key)
            replaced = existing.description_key, held, await asyncio.to_thread(diff, held, description)

        async def body(conn: AsyncConnection) -> tuple[Draft, Revision, list[Any]]:
            now = self.clock()
            found = (await conn.execute(select(scenes.c.id).where(scenes.c.id == scene_id))).first()
            if found is None and scene_exists:
                raise NotFound(f"scene {scene_id!r} does not exist (it was deleted)")
            if from_version is not None:
                # On PostgreSQL a delete not committed yet is not seen here, but the draft's row, inserted below,
                # refers to the scene's: it waits for the delete, then fails, and the next try finds no version.
                named = and_(versions.c.scene_id == scene_id, versions.c.n == from_version)
                if (await conn.execute(select(versions.c.n).where(named))).first() is None:
                    message = f"version v{from_version} of {scene_id!r} no longer exists (the scene was deleted)"
                    raise NotFound(message)
            if found is None:
                await conn.execute(
                    insert(scenes).values(
                        id=scene_id, private=False, latest_version=None, created_at=now, updated_at=now
                    )
                )
            current = (await conn.execute(select(drafts).where(drafts.c.scene_id == scene_id))).first()
            check(current)  # again, in the transaction: a racing write may have come between
            if current is not None:
                if replaced is not None and replaced[0] == current.description_key:
                    before, ops = replaced[1], replaced[2]
                else:  # another write came between: its description read, the ops worked out again (in a thread)
                    before, ops = await self._snapshot(current.description_key), None
                return await self._advance(conn, row=current, before=before, after=description, key=key,
                                           author=author, source=source, reason=reason, ops=ops)  # fmt: skip
            # A scene deleted and made again numbers on from the revisions its first life used.
            first = (await retired(conn, scene_id))[1] + 1
            await conn.execute(
                insert(drafts).values(
                    scene_id=scene_id, rev=first, description_key=key, author=author, updated_at=now, undo=[], redo=[]
                )
            )
            ops = [{"op": "replace", "path": "", "value": description}]
            revision = await self._insert_revision(conn, scene_id, first, None, author, source, reason, ops, None, key)
            row = await self._row(conn, scene_id)
            return await self._recorded(conn, self._draft(row, description), revision)

        # Refused in the transaction (the scene deleted, a racing write) or cancelled before its commit: the snapshot
        # stored above is released; committed, it is kept (see _settled).
        return await self._settled(lambda marked: self._write(marked(body)), key, text)

    async def record_import(
        self,
        scene_id: str,
        description: dict[str, Any],
        *,
        author: str,
        reason: str | None = None,
        scene_exists: bool = False,
    ) -> tuple[Draft, Revision | None] | None:
        """Record a description built and published outside the draft as an ``import`` revision.

        Creates the draft when the scene has none; does nothing (None) when the draft already
        holds exactly this description. With ``scene_exists`` (a job runner, whose version was just
        stored) a scene deleted meanwhile is :class:`NotFound`, not made anew for the draft.
        """
        key = blob_key(canonical_json(description))  # create() stores it, only if it is new
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(drafts).where(drafts.c.scene_id == scene_id))).first()
        if row is not None and row.description_key == key:
            return None
        return await self.create(
            scene_id, description, author=author, source="import", reason=reason, replace=True,
            scene_exists=scene_exists,
        )  # fmt: skip

    @_one_at_a_time
    async def patch(
        self,
        scene_id: str,
        ops: Any,
        *,
        author: str,
        source: Source = "user",
        reason: str | None = None,
        if_match: int | Collection[int] | None = None,
        validate: Validate | None = None,
        message_id: str | None = None,
        if_none_match: NoneMatch | None = None,
    ) -> tuple[Draft, Revision | None]:
        """Apply a JSON Patch to the draft as a new revision (see the module docstring); ``if_match`` is the rev
        (or the revs) the draft must be at, ``if_none_match`` those it must not be at (or ``"*"``: any), else
        :class:`StaleRevision`.

        A patch whose result is the current description (``[]``, only ``test`` ops, a ``replace`` with the same
        value) writes nothing — no revision, no snapshot, no event — and returns the draft as it is with None."""
        author, reason = _who_and_why(author, reason)
        async with self.engine.connect() as conn:
            row = await self._row(conn, scene_id)  # a patch of no draft is NotFound, however malformed
        ops = check_ops(ops)
        check_storable(ops)
        expected = {if_match} if isinstance(if_match, int) else set(if_match or ())

        def check(row: Any) -> None:
            if if_match is not None and row.rev not in expected:
                raise StaleRevision(if_match, row.rev)
            refuse_if_none_match(if_none_match, row.rev)

        attempt = partial(self._attempt, ops=ops, author=author, source=source, reason=reason, validate=validate,
                          message_id=message_id)  # fmt: skip
        check(row)
        if not turn_taken(row, self.clock()):
            with suppress(_Moved):  # lost the race: tried again below, in the draft's turn
                return await attempt(row, turn=None)
        # Another instance wrote the draft meanwhile, or holds its turn (this one's writes of it go one at a time).
        # Trying again the same way lost again and again while the other kept writing (each check takes a while),
        # until the patch gave up: the next tries take the draft's turn, which the others' patches let through.
        return await self._patch_in_turn(scene_id, check, attempt)

    async def _attempt(
        self,
        row: Any,
        *,
        turn: str | None,
        ops: list[dict[str, Any]],
        author: str,
        source: Source,
        reason: str | None,
        validate: Validate | None,
        message_id: str | None,
    ) -> tuple[Draft, Revision | None]:
        """Apply ``ops`` to the draft as ``row`` found it and check the result, outside any transaction, then write it
        with a compare-and-set on ``row``'s rev (and another patch's turn: ``turn``, the one held, if any);
        :class:`_Moved` when that fails."""
        before = await self._snapshot(row.description_key)
        after, text = await asyncio.to_thread(_patched, before, ops)
        if blob_key(text) == row.description_key:  # the same description: nothing to check or record
            return self._draft(row, before), None
        await _checked(validate, after)
        key = await asyncio.to_thread(self.blobs.put, text)
        step = partial(self._advance, row=row, before=before, after=after, key=key, author=author, source=source,
                       reason=reason, ops=ops, message_id=message_id, turn=turn or "")  # fmt: skip
        # Lost the race (tried again from a new read, or the caller's 412 or 503), refused, or cancelled before its
        # commit (a client gone): the snapshot stored above is released, as create() releases its own.
        return await self._settled(lambda marked: self._write(marked(step), retry=False), key, text)

    async def _settled(
        self,
        write: Callable[[Callable[[_Body], _Body]], Awaitable[tuple[Draft, Revision]]],
        key: str,
        text: bytes,
    ) -> tuple[Draft, Revision]:
        """Run ``write`` (the transaction that names the snapshot ``key``, stored just before) in a task of its own,
        and let its outcome, not the caller's, decide the snapshot's fate: committed, ``ensure``d (a release may have
        raced the row, storage/gc.py); failed, released (:meth:`_release_snapshot`). ``write`` is given a wrapper for
        its transaction's body, which marks when the body has returned and the COMMIT goes out.

        A caller cancelled (a client gone; a cancel scope, which cancels every await after the first) returns at
        once. Its write is cancelled too while the transaction's body runs (rolled back, the snapshot released); from
        its COMMIT on it runs to its end: a cancel landing then cannot know whether the COMMIT took effect, and the
        release it made as if not let the row, committed after all, name a blob removed under it."""
        committing = False

        def marked(body: _Body) -> _Body:
            async def run(conn: AsyncConnection) -> tuple[Draft, Revision, list[Any]]:
                nonlocal committing
                committing = False  # a retried transaction's body (its commit failed): cancellable again
                result = await body(conn)
                committing = True
                return result

            return run

        writing = asyncio.ensure_future(write(marked))

        async def settling() -> tuple[Draft, Revision]:
            try:
                written = await writing
            except BaseException:
                await self._release_snapshot(key)
                raise
            await asyncio.to_thread(self.blobs.ensure, key, text)
            return written

        return await settled(self._ending, settling(), lambda task: None if committing else writing.cancel())

    async def _release_snapshot(self, key: str) -> None:
        """Release the snapshot ``key`` a write stored before it failed, lost its race or was cancelled, unless some
        record names it (storage/gc.py: safe against writers racing it). In a task of its own, shielded: a write
        cancelled by a cancel scope (anyio cancels every await after the first) still releases it, not a gc an
        hour later; a failure to release is left to that gc."""

        async def releasing() -> None:
            with suppress(Exception):
                await release(self.engine, self.blobs, [key])

        task = asyncio.create_task(releasing())
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)
        await asyncio.shield(task)

    async def _patch_in_turn(
        self,
        scene_id: str,
        check: Callable[[Any], None],
        attempt: Callable[..., Awaitable[tuple[Draft, Revision | None]]],
    ) -> tuple[Draft, Revision | None]:
        """A patch that lost a race, tried again in the draft's turn: taken in a short write (waiting while another
        patch holds it), renewed while it lasts. Each try reads the draft, checks the preconditions (``check``),
        applies and validates outside any transaction (no write lock, no row lock, no connection held while a large
        draft is checked), then writes with the compare-and-set, which the other instances' patches let through:
        they wait for the turn. A write that still lost (an undo, an import, a turn run out) is tried again."""
        token = secrets.token_hex(16)
        # Renewing starts first, and the turn is taken inside the ``try``: a patch cancelled while the write taking
        # it commits gives it back too (a turn not taken is not given: the give-back is guarded by the token).
        renewing = asyncio.create_task(self._renew_turn(scene_id, token))
        try:
            await self._take_turn(scene_id, token)
            for _ in range(_WRITE_ATTEMPTS):
                async with self.engine.connect() as conn:
                    row = await self._row(conn, scene_id)
                check(row)
                try:
                    return await attempt(row, turn=token)
                except _Moved:
                    await self._take_turn(scene_id, token)  # at once when still this patch's
            raise StorageError(f"the draft of {scene_id!r} kept changing while this change was written")
        finally:
            # In a task of its own, shielded: a patch cancelled by a cancel scope (anyio cancels every await after
            # the first) still gives its turn back at once, not when the turn runs out; nor does the renewal's end
            # (however it ended) replace the patch's own result or error.
            ending = asyncio.create_task(self._end_turn(scene_id, token, renewing))
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)
            await asyncio.shield(ending)

    async def undo(
        self,
        scene_id: str,
        *,
        author: str,
        reason: str | None = None,
        if_match: int | Collection[int] | None = None,
        if_none_match: NoneMatch | None = None,
    ) -> tuple[Draft, Revision]:
        """Revert the most recent change not yet undone, as a new ``undo`` revision; :class:`DraftConflict` if none,
        :class:`StaleRevision` when the draft is not at ``if_match`` or is at ``if_none_match`` (as :meth:`patch`)."""
        return await self._step(scene_id, "undo", author, reason, if_match, if_none_match)

    async def redo(
        self,
        scene_id: str,
        *,
        author: str,
        reason: str | None = None,
        if_match: int | Collection[int] | None = None,
        if_none_match: NoneMatch | None = None,
    ) -> tuple[Draft, Revision]:
        """Re-apply the most recently undone change, as a new ``redo`` revision; :class:`DraftConflict` if none,
        :class:`StaleRevision` when the draft is not at ``if_match`` or is at ``if_none_match`` (as :meth:`patch`)."""
        return await self._step(scene_id, "redo", author, reason, if_match, if_none_match)

    @_one_at_a_time
    async def _step(
        self,
        scene_id: str,
        kind: Literal["undo", "redo"],
        author: str,
        reason: str | None,
        if_match: int | Collection[int] | None = None,
        if_none_match: NoneMatch | None = None,
    ) -> tuple[Draft, Revision]:
        author, reason = _who_and_why(author, reason)
        expected = {if_match} if isinstance(if_match, int) else set(if_match or ())
        for attempt in range(_WRITE_ATTEMPTS):
            async with self.engine.connect() as conn:
                row = await self._row(conn, scene_id)
                if if_match is not None and row.rev not in expected:
                    raise StaleRevision(if_match, row.rev)
                refuse_if_none_match(if_none_match, row.rev)
                stack = list(row.undo if kind == "undo" else row.redo)
                if not stack:
                    raise DraftConflict(f"the draft of {scene_id!r} has nothing to {kind}")
                target = int(stack[-1])
                query = select(revisions).where(and_(revisions.c.scene_id == scene_id, revisions.c.rev == target))
                found = (await conn.execute(query)).first()
            if found is None:
                raise DraftConflict(f"revision {target} of {scene_id!r} is no longer kept: nothing to {kind}")
            undone = self._revision(found)
            key = undone.before_key if kind == "undo" else undone.after_key
            if key is None:
                raise DraftConflict(f"revision {target} created the draft: there is nothing before it to {kind} to")
            before, after = await self._snapshot(row.description_key), await self._snapshot(key)
            # The ops are worked out before the write, in a thread: the write checks that the draft is still at
            # ``before`` (its rev), and a diff of a large draft takes seconds (3 s for 19,000 cells in reverse).
            ops = await asyncio.to_thread(diff, before, after)
            step = partial(self._advance, row=row, before=before, after=after, key=key, author=author, source=kind,
                           reason=reason, ops=ops)  # fmt: skip
            try:
                return await self._write(step, retry=False)
            except _Moved:
                if if_match is not None:
                    async with self.engine.connect() as conn:
                        raise StaleRevision(if_match, (await self._row(conn, scene_id)).rev) from None
                await asyncio.sleep(0.005 * 2**attempt)
        raise StorageError(f"the draft of {scene_id!r} kept changing during {kind}")

    async def _advance(
        self,
        conn: AsyncConnection,
        *,
        row: Any,
        before: dict[str, Any],
        after: dict[str, Any],
        key: str,
        author: str,
        source: str,
        reason: str | None,
        ops: list[dict[str, Any]] | None = None,
        message_id: str | None = None,
        turn: str | None = None,
    ) -> tuple[Draft, Revision, list[Any]]:
        """Move the draft from ``row`` (compare-and-set on its rev) to ``after``, writing the revision.

        ``turn`` (a patch's): the compare-and-set also needs the draft to be no other patch's turn (or that turn to
        have run out), ``""`` when this patch holds none, and the write ends the turn this one holds. Undo, redo and
        imports (None) do not wait for a turn.

        ``ops``: the revision's ops (a patch's own, or the diff from ``before`` to ``after`` worked out before the
        write); None: that diff is worked out here, in a thread.

        The undo and redo stacks are read again here, in the writing transaction (the row locked): retention cuts
        the undo stack without a new rev (:meth:`prune`), so the stacks ``row`` was read with may hold entries
        whose revisions it has deleted since."""
        rev = int(row.rev) + 1
        current = select(drafts.c.undo, drafts.c.redo).where(
            and_(drafts.c.scene_id == row.scene_id, drafts.c.rev == row.rev)
        )
        stacks = (await conn.execute(locking(conn, current))).first()
        if stacks is None:
            raise _Moved()
        undo, redo = list(stacks.undo), list(stacks.redo)
        if source == "undo":
            redo.append(undo.pop())
        elif source == "redo":
            redo.pop()
            undo.append(rev)
        else:
            undo.append(rev)
            redo = []
        now = self.clock()
        where = and_(drafts.c.scene_id == row.scene_id, drafts.c.rev == row.rev)
        values: dict[str, Any] = dict(rev=rev, description_key=key, author=author, updated_at=now, undo=undo, redo=redo)
        if turn is not None:
            where = and_(where, or_(drafts.c.turn.is_(None), drafts.c.turn == turn, drafts.c.turn_until < now))
            values.update(turn=None, turn_until=None)
        changed = await conn.execute(update(drafts).where(where).values(**values))
        if changed.rowcount != 1:
            raise _Moved()
        # A diff is blocking work (seconds for a large draft): never on the event loop, which it held for every request
        patch_ops = ops if ops is not None else await asyncio.to_thread(diff, before, after)
        revision = await self._insert_revision(
            conn,
            row.scene_id,
            rev,
            int(row.rev),
            author,
            source,
            reason,
            patch_ops,
            row.description_key,
            key,
            message_id,
        )
        draft = Draft(row.scene_id, rev, after, key, author, now, bool(undo), bool(redo))
        return await self._recorded(conn, draft, revision)

    async def _insert_revision(
        self,
        conn: AsyncConnection,
        scene_id: str,
        rev: int,
        parent: int | None,
        author: str,
        source: str,
        reason: str | None,
        ops: list[dict[str, Any]],
        before_key: str | None,
        after_key: str,
        message_id: str | None = None,
    ) -> Revision:
        if source not in SOURCES:
            raise ValueError(f"unknown revision source {source!r}")
        now = self.clock()
        values: dict[str, Any] = dict(
            scene_id=scene_id,
            rev=rev,
            parent_rev=parent,
            author=author,
            source=source,
            reason=reason,
            ops=ops,
            before_key=before_key,
            after_key=after_key,
            message_id=message_id,
            created_at=now,
        )
        await conn.execute(insert(revisions).values(**values))
        return Revision(
            scene_id, rev, parent, author[:200], source, values["reason"], ops, before_key, after_key, now, message_id
        )

    async def _recorded(
        self, conn: AsyncConnection, draft: Draft, revision: Revision
    ) -> tuple[Draft, Revision, list[Any]]:
        events = [] if self.record is None else [await self.record(conn, draft, revision)]
        return draft, revision, events

    async def _write(
        self, body: Callable[[AsyncConnection], Awaitable[tuple[Draft, Revision, list[Any]]]], retry: bool = True
    ) -> tuple[Draft, Revision]:
        """Run ``body`` in one transaction; returns ``(draft, revision)`` and hands the events ``record``
        appended to the ``published`` callback after the commit."""
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                async with write_transaction(self.engine) as conn:
                    draft, revision, events = await body(conn)
                break
            except (IntegrityError, OperationalError, _Moved) as exc:
                lost = isinstance(exc, IntegrityError | _Moved) or "locked" in str(exc).lower()
                if not lost:
                    raise
                if not retry:
                    raise _Moved() from exc
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise StorageError("the draft kept changing while this change was written") from exc
                await asyncio.sleep(0.01 * 2**attempt)
        if self._published is not None:
            for event in events:
                await self._published(event)
        return draft, revision


async def _checked(validate: Validate | None, description: dict[str, Any]) -> None:
    if validate is None:
        return
    result = validate(description)
    if inspect.isawaitable(result):
        await result


class _Moved(Exception):
    """The draft's rev changed between reading and writing (the compare-and-set failed)."""
