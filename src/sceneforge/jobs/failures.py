"""How a failed attempt is classified: what the job's error says, and which failures end the job at once.

:func:`error_kind` names the kind of failure a job's error reports (``limit``, ``invalid``, ``lost``,
``storage``, ``error``); :func:`store_failed` tells a store failing (full, failing, unreachable) from
something missing from it; :class:`InputGone` is a job whose input no longer exists, which every attempt
would fail the same way. Pure: no I/O.
"""

from __future__ import annotations

from typing import TypeGuard

from ..errors import LimitExceeded, NotFound, SceneInvalid, StorageError
from .executor import WorkerLost

__all__ = ["InputGone", "error_kind", "store_failed"]


class InputGone(StorageError):
    """The job's input blob no longer exists (its scene was deleted, the blob lost): every attempt would fail
    the same way, so the job fails at once."""


def error_kind(exc: BaseException) -> str:
    """How a failure is reported: ``limit``, ``invalid``, ``lost`` (the worker died), ``storage`` (the blob store or
    the database failed: a full disk, an I/O error, an unreachable server) or ``error``."""
    if isinstance(exc, LimitExceeded):
        return "limit"
    if isinstance(exc, SceneInvalid):
        return "invalid"
    if isinstance(exc, WorkerLost):
        return "lost"
    if store_failed(exc):
        return "storage"
    return "error"


def store_failed(exc: BaseException) -> TypeGuard[StorageError]:
    """Whether ``exc`` is a store failing (full, failing, unreachable), not something missing from it: a scene, version
    or input blob that is gone is no fault of the store and says nothing of its ``code``."""
    return isinstance(exc, StorageError) and not isinstance(exc, NotFound | InputGone)
