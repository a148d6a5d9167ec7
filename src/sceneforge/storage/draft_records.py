"""What a draft and a revision are, and the preconditions a write of a draft is held to.

:class:`Draft` (the description at ``rev``, with whether undo and redo have anything to do) and
:class:`Revision` (one accepted change: its parent, author, source, reason, ops and snapshot keys) are
plain records; :func:`canonical_json` gives the snapshot bytes of a description, which its blob key is
the hash of. :class:`StaleRevision` (HTTP 412) is an ``If-Match`` or ``If-None-Match`` that does not
hold (:func:`refuse_if_none_match`), :class:`DraftConflict` (HTTP 409) a draft that exists already or
has nothing to undo or redo. No I/O.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..errors import SceneforgeError

__all__ = [
    "SOURCES",
    "Draft",
    "DraftConflict",
    "NoneMatch",
    "Revision",
    "Source",
    "StaleRevision",
    "canonical_json",
    "refuse_if_none_match",
]

Source = Literal["user", "assistant", "undo", "redo", "import"]
#: Every value a revision's ``source`` may take.
SOURCES: frozenset[str] = frozenset({"user", "assistant", "undo", "redo", "import"})


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
