"""The one tree of sceneforge's errors.

::

    SceneforgeError
    ├── SceneInvalid          the description or tagged GLB breaks a rule; carries Issue records
    │   ├── LimitExceeded     a configured limit (cells, triangles, bytes) was passed
    │   └── RequestInvalid    a request's own fields (a version number, a body's members), not a scene, break one
    ├── PassError             an optimize / encode pass failed on input it accepted (a bug or a bad asset)
    ├── AssetError            an asset is missing, of an unknown type, or does not decode
    ├── StorageError          the blob store or database refused an operation
    │   ├── StorageFull       it has no room left (a full disk, a quota, a full database)
    │   └── NotFound          a scene, version, job or asset does not exist
    ├── JobError              a job operation is not allowed in the job's state
    │   └── BuildCanceled     a running build was asked to stop
    └── AuthError             missing or insufficient credentials

The HTTP edge maps these to status codes in exactly one place (``api/problems.py``);
the CLI maps ``SceneInvalid`` to exit code 2. Everything below the edges raises these
and never formats a response itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import ClassVar, Literal

__all__ = [
    "DECODE_ERRORS",
    "MAX_ISSUES",
    "MAX_LISTED_WARNINGS",
    "MAX_PATH_CHARS",
    "AssetError",
    "AssetInvalid",
    "AuthError",
    "BuildCanceled",
    "Issue",
    "JobError",
    "LimitExceeded",
    "NotFound",
    "PassError",
    "RequestInvalid",
    "SceneInvalid",
    "SceneforgeError",
    "StorageError",
    "StorageFull",
    "capped",
    "listed",
]

#: What a reader of hostile bytes may raise besides these errors (a field of the wrong type, a number past a
#: double, nesting past the stack): the ingest readers turn each into a SceneInvalid or AssetError, never a 500.
DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, ArithmeticError, RecursionError)


#: The most problems one refusal lists (:func:`listed`): a schema error per member of a 2-million-member object
#: would otherwise cost seconds and gigabytes to list, and as much again to send.
MAX_ISSUES = 1000
#: The longest ``path`` an issue of a description names: a longer pointer is cut to its longest ancestor within it
#: (still a pointer into the input), so a 100 kB member name is not repeated in every issue under it.
MAX_PATH_CHARS = 512


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding about the input: ``path`` is a JSON pointer into the request ("" = the whole)."""

    path: str
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}

    def line(self) -> str:
        """The CLI's one-line form: ``<json-pointer>: <message>``; the document itself is the empty
        pointer (RFC 6901), so its line starts with ``: `` (``/`` would name the key ``""``)."""
        return f"{self.path}: {self.message}"


def listed(issues: Iterable[Issue], total: int) -> list[Issue]:
    """The first :data:`MAX_ISSUES` of ``issues`` (``total`` of them, made lazily: only those listed are made), and
    when there are more, an ``issues_truncated`` issue at ``""`` counting the others."""
    kept = list(islice(issues, MAX_ISSUES))
    if total > len(kept):
        message = f"{total - len(kept):,} more problems are not listed (at most {MAX_ISSUES:,} are)"
        kept.append(Issue("", "issues_truncated", message))
    return kept


#: Warnings of one kind listed at most (a level can give one per portal or cell: 120,000 lines of meta).
MAX_LISTED_WARNINGS = 100


def capped(warnings: list[Issue], path: str, what: str, total: int | None = None) -> list[Issue]:
    """The first :data:`MAX_LISTED_WARNINGS` of ``warnings`` (of one code), and when there are more, one more
    warning of that code at ``path`` counting the others (``what``: the plural they are, e.g. "portals").
    ``total``: how many there are, when ``warnings`` holds the first ones only (made for those listed)."""
    total = len(warnings) if total is None else total
    if total <= MAX_LISTED_WARNINGS:
        return warnings
    rest = total - MAX_LISTED_WARNINGS
    message = f"{rest:,} more {what} are not listed (at most {MAX_LISTED_WARNINGS} of a kind are)"
    return [*warnings[:MAX_LISTED_WARNINGS], Issue(path, warnings[0].code, message, "warning")]


class SceneforgeError(Exception):
    """Base of every error sceneforge raises on purpose."""


@dataclass
class SceneInvalid(SceneforgeError):
    """The input breaks one or more rules; nothing was built or stored.

    ``issues`` are listed as :func:`listed` lists them: more than :data:`MAX_ISSUES` are cut to the first ones and
    an ``issues_truncated`` counting the others, here, whoever raises (a list already so cut is kept as it is).
    Issues that cost much to make are best made lazily, through :func:`listed`, before they come here."""

    issues: list[Issue] = field(default_factory=list)
    #: What the message says was invalid (a class attribute, not a field).
    invalid: ClassVar[str] = "invalid scene"

    def __post_init__(self) -> None:
        if len(self.issues) > MAX_ISSUES and self.issues[MAX_ISSUES].code != "issues_truncated":
            self.issues = listed(self.issues, len(self.issues))
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = "; ".join(i.line() for i in self.issues[:3])
        more = f" (+{len(self.issues) - 3} more)" if len(self.issues) > 3 else ""
        return f"{self.invalid}: {head}{more}"


class RequestInvalid(SceneInvalid):
    """A request's own fields break a rule — a version number out of range, a member a body does not take — not a
    scene: answered as :class:`SceneInvalid` is (422 with its issues), its message headed ``invalid request``."""

    invalid: ClassVar[str] = "invalid request"


class LimitExceeded(SceneInvalid):
    """A configured limit was passed. ``limit`` names the setting (e.g. ``SCENEFORGE_MAX_CELLS``)."""

    def __init__(
        self, limit: str, value: int, maximum: int, path: str = "", what: str = "", *, at_least: bool = False
    ) -> None:
        self.limit, self.value, self.maximum = limit, value, maximum
        # ``at_least``: counting stopped as soon as the limit was passed (the whole would cost too much).
        count = f"at least {value:,}" if at_least else f"{value:,}"
        message = f"{what or limit} is {count}, above the limit of {maximum:,} ({limit})"
        super().__init__([Issue(path, "limit_exceeded", message)])


class PassError(SceneforgeError):
    """A pipeline pass failed; the message starts with the pass name."""

    def __init__(self, pass_name: str, message: str) -> None:
        self.pass_name = pass_name
        super().__init__(f"{pass_name}: {message}")


class AssetError(SceneInvalid):
    """An asset could not be found or decoded. It is input: a build that meets one fails (a description's
    build reports every asset it cannot use, each where it is named, then fails)."""

    def __init__(self, path: str, message: str, code: str = "asset_invalid") -> None:
        super().__init__([Issue(path, code, message)])


class AssetInvalid(SceneInvalid):
    """An uploaded asset (``POST /assets``) that does not decode: answered as :class:`SceneInvalid` is (422 with its
    issues), its message headed ``invalid asset``; no scene is involved."""

    invalid: ClassVar[str] = "invalid asset"


class StorageError(SceneforgeError):
    """The blob store or the database refused an operation.

    ``code`` names what failed for clients (the problem's ``code``: ``blob_store_failed``, ``database_unavailable``,
    …) and ``public`` says so in words without the paths and hosts the message may hold; None: the generic
    "storage is unavailable".
    """

    def __init__(self, message: str = "", *, code: str = "storage_unavailable", public: str | None = None) -> None:
        super().__init__(message)
        self.code, self.public = code, public


class StorageFull(StorageError):
    """A store has no room left (``ENOSPC``, a quota, SQLite's "database or disk is full"): HTTP 507."""


class NotFound(StorageError):
    """The named scene, version, job or asset does not exist."""


class JobError(SceneforgeError):
    """A job operation is not allowed in the job's current state."""


class BuildCanceled(JobError):
    """Raised inside a build when its job was canceled; the partial output is discarded."""


class AuthError(SceneforgeError):
    """Credentials are missing (``status=401``) or lack the needed scope (``status=403``)."""

    def __init__(self, message: str, status: int = 401) -> None:
        self.status = status
        super().__init__(message)
