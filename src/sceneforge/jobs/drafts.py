"""The drafts of the job service and its workers: each revision appends ``draft.revised`` to the event log.

:func:`draft_repository` wires a :class:`~sceneforge.storage.drafts.DraftRepository` to the job store's
event log: the event is appended in the revision's own transaction and published once it committed.
"""

from __future__ import annotations

from typing import Any

from ..events.model import Event
from ..storage.blobs import BlobStore
from ..storage.drafts import Draft, DraftRepository, Revision
from .store import JobStore

__all__ = ["draft_repository"]


def draft_repository(store: JobStore, blobs: BlobStore) -> DraftRepository:
    """Drafts whose revisions append ``draft.revised`` in their own transaction and publish it after."""

    async def record(conn: Any, draft: Draft, revision: Revision) -> Event:
        body = {"rev": revision.rev, "author": revision.author, "source": revision.source, "reason": revision.reason}
        if revision.message_id is not None:
            body["messageId"] = revision.message_id
        return await store.log.append(conn, "draft.revised", draft.scene_id, body)

    return DraftRepository(store.engine, blobs, record=record, published=store.publish)
