"""Drafts and their revisions: an editable description per scene with a full, undoable history.

A scene has at most one draft, at revision ``rev``. Every accepted change — a JSON Patch
(RFC 6902), an undo, a redo, an import of a description built through ``/scenes/build`` — is a
:class:`Revision` recording ``rev``, ``parentRev``, ``author``, ``source``, ``reason``, the ops from
the parent's description to the new one, and content-addressed snapshot keys before and after.
Snapshots go to the blob store first (equal descriptions are stored once); the draft row and
the revision row then change in one transaction, guarded by a compare-and-set on ``rev``, so
two writers never lose a change and a crash between the two leaves no half-written revision
(at worst an unreferenced snapshot blob, which ``sceneforge gc`` removes).

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
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial, wraps
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from jsonpointer import JsonPointer
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..errors import MAX_PATH_CHARS, Issue, NotFound, SceneforgeError, SceneInvalid, StorageError
from ..wire import json_pointer_within, one_line, shown
from .blobs import BlobStore, blob_key
from .database import as_utc, locking, write_transaction
from .scenes import retired
from .tables import MAX_REASON_CHARS, drafts, revisions, scenes

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

Source = Literal["user", "assistant", "undo", "redo", "import"]
#: Every value a revision's ``source`` may take.
SOURCES: frozenset[str] = frozenset({"user", "assistant", "undo", "redo", "import"})
#: Operations in one patch; more is refused (a patch is a targeted edit, not a replacement).
MAX_PATCH_OPS = 10_000
#: JSON bytes the ``copy`` operations of one patch may add together: each copy can double the
#: document, so 30 copies of a few bytes would otherwise ask for gigabytes (and each copied byte
#: costs a Python deep copy, ~0.3 s per MiB). Enough to duplicate a storey of a large office.
MAX_PATCH_COPY_BYTES = 4 * 1024 * 1024
_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_WRITE_ATTEMPTS = 8
#: Seconds a contested patch's turn lasts unless renewed (its patch renews it every third of that while it
#: runs): a process that died holding one leaves the draft to the others' patches this long after.
TURN_S = 10.0
#: Seconds a patch waits for another's turn to end before it gives up (503 ``storage_unavailable``).
TURN_WAIT_S = 60.0

#: Checks a resulting description (raises :class:`SceneInvalid`); may be a coroutine function.
Validate = Callable[[dict[str, Any]], Awaitable[None] | None]
#: ``(conn, scene_id, revision, draft)`` inside the write transaction: append the ``draft.revised`` event.
Record = Callable[[AsyncConnection, "Draft", "Revision"], Awaitable[Any]]
#: Called with each event ``record`` appended, once its transaction committed.
Published = Callable[[Any], Awaitable[None]]


class StaleRevision(SceneforgeError):
    """``If-Match`` named a revision that is no longer the draft's current one (HTTP 412)."""

    def __init__(self, expected: int | Collection[int], current: int | None, message: str | None = None) -> None:
        revs = sorted({expected} if isinstance(expected, int) else set(expected))
        named = " or ".join(f"rev {n}" for n in revs) or "a rev named by a strong tag"
        now = "there is no draft" if current is None else f"the draft is at rev {current}"
        super().__init__(message or f"{now}, not {named}: reload it and apply the change again")
        self.expected, self.current = expected, current


#: An ``If-None-Match`` on a draft write (RFC 9110 §13.1.2): the revs it names, or ``"*"`` (any draft).
NoneMatch = Collection[int] | Literal["*"]


def refuse_if_none_match(if_none_match: NoneMatch | None, rev: int | None) -> None:
    """:class:`StaleRevision` when ``If-None-Match`` names the draft's current ``rev`` (None: there is no draft),
    or is ``*`` and there is a draft: the write must not be performed."""
    if if_none_match is None or rev is None:
        return
    if if_none_match == "*":
        raise StaleRevision((), rev, f"If-None-Match: * asks for no draft, and there is one (rev {rev})")
    if rev in if_none_match:
        raise StaleRevision((), rev, f"If-None-Match names rev {rev}, the draft's current one: nothing was written")


class DraftConflict(SceneforgeError):
    """The draft already exists, or there is nothing to undo / redo (HTTP 409)."""


class PatchFailed(SceneInvalid):
    """A ``test`` operation of the patch did not hold (HTTP 409); nothing was changed."""


@dataclass(frozen=True, slots=True)
class Draft:
    scene_id: str
    rev: int
    description: dict[str, Any]
    description_key: str
    author: str
    updated_at: datetime
    can_undo: bool
    can_redo: bool


@dataclass(frozen=True, slots=True)
class Revision:
    scene_id: str
    rev: int
    parent_rev: int | None
    author: str
    source: str
    reason: str | None
    ops: list[dict[str, Any]]
    before_key: str | None
    after_key: str
    created_at: datetime
    message_id: str | None = None


def canonical_json(description: dict[str, Any]) -> bytes:
    """The snapshot bytes of a description: compact UTF-8 JSON, key order kept (the author's order)."""
    return json.dumps(description, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _check_ops(ops: Any) -> list[dict[str, Any]]:
    """The patch as a list of operation objects; :class:`SceneInvalid` pointing at the bad op otherwise."""
    if not isinstance(ops, list):
        raise SceneInvalid([Issue("", "patch_not_array", "a JSON Patch is an array of operations (RFC 6902)")])
    if len(ops) > MAX_PATCH_OPS:
        message = f"the patch has {len(ops)} operations; at most {MAX_PATCH_OPS} (MAX_PATCH_OPS) are accepted"
        raise SceneInvalid([Issue("", "patch_too_long", message)])
    issues = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            issues.append(Issue(f"/{i}", "patch_op_invalid", "each operation must be an object"))
            continue
        name = op.get("op")
        if not isinstance(name, str) or name not in _OPS:  # a list or object is not hashable: no set lookups
            shown = repr(name) if isinstance(name, str) and len(name) <= 32 else type(name).__name__
            issues.append(Issue(f"/{i}/op", "patch_op_unknown", f"unknown op {shown}: one of {sorted(_OPS)}"))
            name = None
        if not isinstance(op.get("path"), str):
            issues.append(Issue(f"/{i}/path", "patch_path_invalid", "path must be a JSON pointer string"))
        if name in {"move", "copy"} and not isinstance(op.get("from"), str):
            issues.append(Issue(f"/{i}/from", "patch_path_invalid", f"{name} needs a 'from' JSON pointer string"))
        if name in {"add", "replace", "test"} and "value" not in op:
            issues.append(Issue(f"/{i}/value", "patch_value_missing", f"{name} needs a 'value'"))
    if issues:
        raise SceneInvalid(issues)
    # Members other than these are ignored (RFC 6902 §4) and not kept: a revision records the operations only.
    return [{k: op[k] for k in ("op", "from", "path", "value") if k in op} for op in ops]


def _check_storable(ops: list[dict[str, Any]]) -> None:
    """The ops are kept with the revision and served as JSON: NaN, Infinity or nesting too deep to write is
    :class:`SceneInvalid` before anything is applied (whatever the caller: HTTP, assistant, MCP)."""
    try:
        json.dumps(ops, allow_nan=False)
    except ValueError:
        message = "operations hold NaN or Infinity, which JSON cannot carry"
        raise SceneInvalid([Issue("", "patch_value_not_finite", message)]) from None
    except RecursionError:
        raise SceneInvalid([Issue("", "patch_too_deep", "operations nest too deeply to be stored")]) from None


def apply_patch(description: dict[str, Any], ops: Any, *, max_copy_bytes: int = MAX_PATCH_COPY_BYTES) -> dict[str, Any]:
    """``description`` with the RFC 6902 ``ops`` applied (a new object; neither input is changed).

    A malformed patch, a pointer that does not resolve, or a value of the wrong type is a
    :class:`SceneInvalid` whose issue path is the failing operation's index (``/3/path``); a
    failing ``test`` op is a :class:`PatchFailed`. ``copy`` operations adding more than
    ``max_copy_bytes`` of JSON together are refused at the first one past it (``patch_too_large``).
    A token into an array that is no index of it (RFC 6901 §4: digits without a leading zero naming an element, or
    ``-``) is refused naming the array's pointer and length, whatever its size (:class:`_Pointer`).
    """
    import jsonpatch
    import jsonpointer

    checked = _check_ops(ops)
    doc: Any = copy.deepcopy(description)
    copied = 0
    for i, op in enumerate(checked):
        if op["op"] in {"copy", "move"}:
            source = _source(doc, op, i)
        try:
            if op["op"] == "copy":
                copied += len(json.dumps(source, separators=(",", ":")))
                if copied > max_copy_bytes:
                    message = f"the copy operations add {copied:,} bytes of JSON; at most {max_copy_bytes:,}"
                    message += " are accepted (MAX_PATCH_COPY_BYTES)"
                    raise SceneInvalid([Issue(f"/{i}/from", "patch_too_large", message)])
            pointer = _InsertPointer if op["op"] in _INSERTS else _Pointer
            doc = jsonpatch.JsonPatch([copy.deepcopy(op)], pointer_cls=pointer).apply(doc, in_place=True)
        except _NoIndex as exc:
            message = f"op {i} ({op['op']}): path {exc.reason()}"
            if op["op"] == "test" and exc.past_end:  # no value there: the test does not hold, as at '-'
                raise PatchFailed([Issue(f"/{i}", "patch_test_failed", message)]) from None
            raise SceneInvalid([Issue(f"/{i}/path", "patch_op_failed", message)]) from None
        except jsonpatch.JsonPatchTestFailed:
            message = f"op {i} (test): the value at {shown(op['path'], 200)!r} is not equal to the tested value"
            raise PatchFailed([Issue(f"/{i}", "patch_test_failed", message)]) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
            message = f"op {i} ({op['op']}): {_reason(exc)}"
            raise SceneInvalid([Issue(f"/{i}/path", "patch_op_failed", message)]) from None
    if not isinstance(doc, dict):
        raise SceneInvalid([Issue("", "patch_result_not_object", "the patched description must stay an object")])
    return doc


#: The ops whose ``path`` may name the place just past an array's end (RFC 6902 §4.1: ``add`` inserts there).
_INSERTS = frozenset({"add", "copy", "move"})
#: An RFC 6901 array index: ``0``, or digits without a leading zero.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


class _NoIndex(Exception):
    """A pointer's token ``parts[at]`` is no index of the array it applies to (of ``length`` elements): not digits
    without a leading zero (``past_end`` False), or past the array's end (True)."""

    def __init__(self, parts: list[str], at: int, length: int, inserts: bool, past_end: bool) -> None:
        super().__init__(parts[at][:40])
        self.parts, self.at, self.length, self.inserts, self.past_end = parts, at, length, inserts, past_end

    def reason(self) -> str:
        """What is wrong, naming the pointer (within ``MAX_PATH_CHARS``), the token (cut) and the array's length."""
        token = self.parts[self.at]
        whole, kept = json_pointer_within(self.parts, MAX_PATH_CHARS)
        array, within = json_pointer_within(self.parts[: self.at], MAX_PATH_CHARS)
        shown_token = repr(shown(token)) + (f" ({len(token):,} characters)" if len(token) > 40 else "")
        n = self.length
        valid = f"indices 0 to {n - 1:,}" if n > 1 else "index 0" if n else "no index"
        if self.inserts:
            valid += f", or {n:,} or '-' to append"
        where = f"{whole}{'/…' if kept < len(self.parts) else ''}"
        at = f"{array}{'/…' if within < self.at else ''}"
        elements = f"{n:,} element{'' if n == 1 else 's'}"
        if self.past_end:
            return (
                f"{where!r}: index {shown_token} is past the end of the array at {at!r}, which has {elements} ({valid})"
            )
        what = "RFC 6901: digits without a leading zero, or '-'"
        return f"{where!r}: {shown_token} is not an array index ({what}); the array at {at!r} has {elements} ({valid})"


class _Pointer(JsonPointer):
    """A pointer that checks each token into an array before the library reads it (:class:`_NoIndex` when it is no
    index of it, ``-`` excepted: the library answers that one): the library converts any digits with ``int()``,
    whose message about a token of 4,301 digits and more is Python's, not the pointer's."""

    #: Whether the last token may name the place just past an array's end.
    inserts = False

    def to_last(self, doc: Any) -> tuple[Any, str | int | None]:
        """The library's ``to_last`` (every op resolves its pointers through it), each array token checked."""
        if not self.parts:
            return doc, None
        last = len(self.parts) - 1
        for at in range(last):
            self._check(doc, at, False)
            doc = self.walk(doc, self.parts[at])
        self._check(doc, last, self.inserts)
        return doc, self.get_part(doc, self.parts[last])

    def _check(self, doc: Any, at: int, inserts: bool) -> None:
        token = self.parts[at]
        if not isinstance(doc, list) or token == "-":
            return
        if not _ARRAY_INDEX.fullmatch(token):
            raise _NoIndex(self.parts, at, len(doc), inserts, past_end=False)
        end = len(doc) + inserts  # the first index past the valid ones
        if len(token) > len(str(end)) or int(token) >= end:  # int() only of a token no longer than a valid one
            raise _NoIndex(self.parts, at, len(doc), inserts, past_end=True)


class _InsertPointer(_Pointer):
    """The pointers of an ``add``, ``copy`` or ``move``, whose ``path`` may name the place past an array's end (their
    ``from`` is checked by :func:`_source` first, with a :class:`_Pointer`)."""

    inserts = True


def _patched(description: dict[str, Any], ops: list[dict[str, Any]]) -> tuple[dict[str, Any], bytes]:
    """:func:`apply_patch` and the snapshot bytes of its result: blocking work (a copy of the whole description, its
    JSON), run in a worker thread, off the event loop (a one-op patch of a draft of 400,000 props held it 0.8 s)."""
    after = apply_patch(description, ops)
    return after, canonical_json(after)


def _source(doc: Any, op: dict[str, Any], i: int) -> Any:
    """The value a ``copy`` or ``move`` reads: its ``from`` must name one (RFC 6902 §4.4-4.5; ``-`` names no
    element, RFC 6901 §4), else :class:`SceneInvalid` at ``/<i>/from``."""
    import jsonpointer

    try:
        pointer = _Pointer(op["from"])
        parent, part = pointer.to_last(doc)
        value = parent if part is None else pointer.walk(parent, part)
    except _NoIndex as exc:
        reason = f"from {exc.reason()}"
    except (jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
        reason = _reason(exc)
    else:
        if not isinstance(value, jsonpointer.EndOfList):
            return value
        reason = "'-' names no element (it stands past the end of the array): from must name an existing value"
    raise SceneInvalid([Issue(f"/{i}/from", "patch_op_failed", f"op {i} ({op['op']}): {reason}")])


#: What the pointer libraries append to some messages: the whole container the pointer failed in.
_QUOTED_DOCUMENT = re.compile(r" in [\[{].*\Z|Document '.*' does not", re.DOTALL)


def _who_and_why(author: str, reason: str | None) -> tuple[str, str | None]:
    """The author and reason as the revision stores them: one line each (no control character or lone
    surrogate), the author at most 200 characters, the reason at most ``MAX_REASON_CHARS`` (None when empty)."""
    return one_line(author, 200), one_line(reason, MAX_REASON_CHARS) or None if reason else None


def _reason(exc: BaseException) -> str:
    """Why an operation failed, without the document the libraries quote in some messages (a draft of
    megabytes, as a Python repr), and cut to a line."""
    text = _QUOTED_DOCUMENT.sub(lambda m: "" if m[0].startswith(" in") else "the value does not", str(exc))
    return shown(text, 200)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 ops taking ``before`` to ``after``, members in ``after``'s order: applied to ``before`` they give
    ``after``'s snapshot text (:func:`canonical_json`), as a revision's ops must (docs/drafts.md).

    ``jsonpatch.make_patch`` compares values, not text: the same members in another order are no difference to it,
    and the members it adds go last. Each object whose members its ops leave in another order is replaced whole."""
    import jsonpatch

    ops = list(jsonpatch.make_patch(before, after).patch)
    return ops + _reordered(jsonpatch.apply_patch(before, ops), after, "")


def _reordered(got: Any, want: Any, path: str) -> list[dict[str, Any]]:
    """``replace`` ops for the objects in ``got`` (equal to ``want`` as values) whose members are in another order."""
    import jsonpointer

    if isinstance(want, dict) and isinstance(got, dict):
        if list(got) != list(want):
            return [{"op": "replace", "path": path, "value": want}]
        return [op for key in want for op in _reordered(got[key], want[key], f"{path}/{jsonpointer.escape(key)}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [op for i, (g, w) in enumerate(zip(got, want, strict=True)) for op in _reordered(g, w, f"{path}/{i}")]
    return []


_P = ParamSpec("_P")
_T = TypeVar("_T")


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


class DraftRepository:
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
        #: The ends of turns under way (:meth:`_end_turn`), held so that they finish when their patch was cancelled.
        self._ending: set[asyncio.Task[None]] = set()

    # -- reads -------------------------------------------------------------------------------

    async def _snapshot(self, key: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._read_snapshot, key)

    def _read_snapshot(self, key: str) -> dict[str, Any]:
        """The description stored under ``key``, read and parsed (in a worker thread: :meth:`_snapshot`)."""
        value = json.loads(self.blobs.get(key))
        if not isinstance(value, dict):
            raise StorageError(f"snapshot {key} is not a description object")
        return value

    def _draft(self, row: Any, description: dict[str, Any]) -> Draft:
        return Draft(
            scene_id=row.scene_id,
            rev=int(row.rev),
            description=description,
            description_key=row.description_key,
            author=row.author,
            updated_at=as_utc(row.updated_at),
            can_undo=bool(row.undo),
            can_redo=bool(row.redo),
        )

    async def _row(self, conn: AsyncConnection, scene_id: str) -> Any:
        row = (await conn.execute(select(drafts).where(drafts.c.scene_id == scene_id))).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} has no draft")
        return row

    async def get(self, scene_id: str) -> Draft:
        """The draft of ``scene_id``; :class:`NotFound` if it has none."""
        async with self.engine.connect() as conn:
            row = await self._row(conn, scene_id)
        return self._draft(row, await self._snapshot(row.description_key))

    @staticmethod
    def _revision(row: Any) -> Revision:
        return Revision(
            scene_id=row.scene_id,
            rev=int(row.rev),
            parent_rev=row.parent_rev,
            author=row.author,
            source=row.source,
            reason=row.reason,
            ops=list(row.ops or []),
            before_key=row.before_key,
            after_key=row.after_key,
            created_at=as_utc(row.created_at),
            message_id=row.message_id,
        )

    async def revisions(self, scene_id: str, take: int = 50) -> list[Revision]:
        """The newest ``take`` revisions, newest first; :class:`NotFound` without a draft."""
        async with self.engine.connect() as conn:
            await self._row(conn, scene_id)
            query = select(revisions).where(revisions.c.scene_id == scene_id).order_by(revisions.c.rev.desc())
            rows = (await conn.execute(query.limit(take))).all()
        return [self._revision(r) for r in rows]

    async def revision(self, scene_id: str, rev: int) -> tuple[Revision, dict[str, Any] | None, dict[str, Any]]:
        """Revision ``rev`` with its ``before`` (None for the first) and ``after`` descriptions."""
        async with self.engine.connect() as conn:
            query = select(revisions).where(and_(revisions.c.scene_id == scene_id, revisions.c.rev == rev))
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} has no revision {rev}")
        revision = self._revision(row)
        before = await self._snapshot(revision.before_key) if revision.before_key else None
        return revision, before, await self._snapshot(revision.after_key)

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
    ) -> tuple[Draft, Revision | None]:
        """Start the draft of ``scene_id`` (the scene row is made if missing, unless ``scene_exists``: then
        :class:`NotFound`, nothing written). :class:`DraftConflict` if one exists
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

        async def body(conn: AsyncConnection) -> tuple[Draft, Revision, list[Any]]:
            now = self.clock()
            found = (await conn.execute(select(scenes.c.id).where(scenes.c.id == scene_id))).first()
            if found is None and scene_exists:
                raise NotFound(f"scene {scene_id!r} does not exist (it was deleted)")
            if found is None:
                await conn.execute(
                    insert(scenes).values(
                        id=scene_id, private=False, latest_version=None, created_at=now, updated_at=now
                    )
                )
            current = (await conn.execute(select(drafts).where(drafts.c.scene_id == scene_id))).first()
            check(current)  # again, in the transaction: a racing write may have come between
            if current is not None:
                before = await self._snapshot(current.description_key)
                return await self._advance(conn, row=current, before=before, after=description, key=key,
                                           author=author, source=source, reason=reason)  # fmt: skip
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

        written = await self._write(body)
        await asyncio.to_thread(self.blobs.ensure, key, text)  # a release may have raced the row (storage/gc.py)
        return written

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
        ops = _check_ops(ops)
        _check_storable(ops)
        expected = {if_match} if isinstance(if_match, int) else set(if_match or ())

        def check(row: Any) -> None:
            if if_match is not None and row.rev not in expected:
                raise StaleRevision(if_match, row.rev)
            refuse_if_none_match(if_none_match, row.rev)

        attempt = partial(self._attempt, ops=ops, author=author, source=source, reason=reason, validate=validate,
                          message_id=message_id)  # fmt: skip
        async with self.engine.connect() as conn:
            row = await self._row(conn, scene_id)
        check(row)
        if not _turn_taken(row, self.clock()):
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
        written = await self._write(step, retry=False)
        await asyncio.to_thread(self.blobs.ensure, key, text)  # a release may have raced the row (storage/gc.py)
        return written

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
            step = partial(self._advance, row=row, before=before, after=after, key=key, author=author, source=kind,
                           reason=reason)  # fmt: skip
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
        patch_ops = ops if ops is not None else _diff(before, after)
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

    # -- retention ---------------------------------------------------------------------------

    async def prune(self, *, keep: int) -> int:
        """Delete all but the newest ``keep`` revisions of every draft — never the current one, nor one
        undo or redo still needs (the undo stack is cut to its newest ``keep`` entries) — then the
        snapshot blobs nothing refers to any more. Returns how many revisions were deleted."""
        from .gc import release

        removed, candidates = 0, set[str]()
        # A draft at rev <= keep has no revision to delete and fewer than ``keep`` undo entries (each is a rev > 1).
        async with self.engine.connect() as conn:
            due = (await conn.execute(select(drafts.c.scene_id).where(drafts.c.rev > keep))).scalars().all()
        for scene_id in sorted(due):
            # One transaction per draft, its row read again there (FOR UPDATE on PostgreSQL): the undo stack written
            # back is cut from the draft as it is then, never from one a write committed over meanwhile (that lost
            # the write's entry: undo then reverted the change before it). Draft writes wait for one draft only.
            async with write_transaction(self.engine) as conn:
                row = (await conn.execute(locking(conn, select(drafts).where(drafts.c.scene_id == scene_id)))).first()
                if row is None:  # its scene was deleted meanwhile
                    continue
                undo = list(map(int, row.undo))
                if len(undo) > keep:  # undo reaches back at most ``keep`` changes
                    undo = undo[-keep:]
                    await conn.execute(update(drafts).where(drafts.c.scene_id == row.scene_id).values(undo=undo))
                protected = {int(row.rev), *undo, *map(int, row.redo)}
                floor = int(row.rev) - keep
                if floor <= 0:
                    continue
                doomed = and_(revisions.c.scene_id == row.scene_id, revisions.c.rev <= floor,
                              revisions.c.rev.not_in(protected))  # fmt: skip
                keys = (await conn.execute(select(revisions.c.before_key, revisions.c.after_key).where(doomed))).all()
                candidates.update(k for pair in keys for k in pair if k)
                removed += int((await conn.execute(delete(revisions).where(doomed))).rowcount or 0)
        await release(self.engine, self.blobs, candidates)
        return removed

    async def count(self, scene_id: str) -> int:
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(revisions).where(revisions.c.scene_id == scene_id)
            return int((await conn.execute(query)).scalar() or 0)


async def _checked(validate: Validate | None, description: dict[str, Any]) -> None:
    if validate is None:
        return
    result = validate(description)
    if inspect.isawaitable(result):
        await result


def _turn_taken(row: Any, now: datetime) -> bool:
    """Whether the draft as ``row`` found it is another patch's turn (:meth:`DraftRepository._patch_in_turn`)."""
    return row.turn is not None and row.turn_until is not None and as_utc(row.turn_until) >= now


class _Moved(Exception):
    """The draft's rev changed between reading and writing (the compare-and-set failed)."""
