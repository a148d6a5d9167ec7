"""Blobs nothing refers to: released when their last record goes, collected when left behind.

Blobs are content-addressed and shared: two scenes with the same description or GLB bytes, an
asset used by many scenes, a job's description that is also a version's. So a blob may be
removed only when no record in any table refers to its key. :data:`BLOB_COLUMNS` lists every
column that holds a blob key (a test checks that the schema has no other); :func:`release`
removes those of some candidate keys that none of them names (called after a scene is deleted),
and :func:`collect` walks the whole store for orphans left by crashes or older versions
(``sceneforge gc``).

Releasing. A writer stores a blob, then commits the row that names it; :meth:`~.blobs.BlobStore.put`
writes nothing when the bytes are already stored, so a writer may be about to name a blob a
release has just found unnamed. So each orphan is first withdrawn (moved aside atomically:
readers and ``put`` see it absent), the records are read once more, and only then is it purged
or, if a row names it now, restored; and every writer calls
:meth:`~.blobs.BlobStore.ensure` after its commit, which writes the bytes again if they went
aside before its row could be seen. Whatever the interleaving, a committed row keeps its blob.
A release stopped midway leaves withdrawn blobs, which :func:`collect` restores (then treats like
any other blob) once they have been aside longer than ``grace``: a younger one belongs to a release
still running, perhaps on another instance, which restores or purges it itself.

A blob is written before the row that refers to it commits, so a blob younger than ``grace``
may be a write in flight: :func:`collect` leaves those alone. It also removes the unfinished writes
a killed process left (the file store's temp files, :meth:`~.blobs.BlobStore.partials`) once they
are older than ``grace``. Cost: one ``IN`` query per
:data:`QUERY_CHUNK` candidate keys per column; :func:`collect` lists the store once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .blobs import BlobInfo, BlobStore
from .tables import artifacts, assets, drafts, jobs, revisions, versions

__all__ = ["BLOB_COLUMNS", "DEFAULT_GRACE", "GcReport", "collect", "referenced", "release"]

log = logging.getLogger(__name__)

#: Every column whose values are blob keys.
BLOB_COLUMNS: tuple[Column[str], ...] = (
    versions.c.glb_key,
    versions.c.description_key,
    assets.c.id,
    jobs.c.description_key,
    drafts.c.description_key,
    revisions.c.before_key,
    revisions.c.after_key,
    artifacts.c.blob_key,
)

#: Blobs younger than this are never collected: their record may not have committed yet.
DEFAULT_GRACE = timedelta(hours=1)

#: Keys per ``IN (…)`` query (well under SQLite's 32,766 bound parameters).
QUERY_CHUNK = 500

#: Blobs a release moves aside before it reads the records again: each is aside (unreadable) until then.
RELEASE_BATCH = 32


async def referenced(engine: AsyncEngine, keys: Collection[str]) -> set[str]:
    """Those of ``keys`` that some record refers to."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    async with engine.connect() as conn:
        for column in BLOB_COLUMNS:
            for i in range(0, len(wanted), QUERY_CHUNK):
                chunk = wanted[i : i + QUERY_CHUNK]
                found.update((await conn.execute(select(column).where(column.in_(chunk)).distinct())).scalars())
    return found


async def release(engine: AsyncEngine, blobs: BlobStore, candidates: Iterable[str]) -> list[str]:
    """Remove the blobs among ``candidates`` that no record refers to; return their keys (sorted)."""
    keys = {k for k in candidates if k}
    if not keys:
        return []
    return await _remove(engine, blobs, keys - await referenced(engine, keys))


async def _remove(engine: AsyncEngine, blobs: BlobStore, orphans: Iterable[str]) -> list[str]:
    """Withdraw each of ``orphans``, read the records again, then purge those still unnamed and
    restore the others (see "Releasing" above), :data:`RELEASE_BATCH` at a time so that none is
    aside for long. Returns the keys no longer stored (sorted): those purged, and those already gone.
    A failure or a cancel midway puts back every blob still aside before it is raised."""
    wanted = sorted(set(orphans))
    named: set[str] = set()
    for i in range(0, len(wanted), RELEASE_BATCH):
        aside: dict[str, str] = {}
        try:
            for key in wanted[i : i + RELEASE_BATCH]:
                token = await asyncio.to_thread(blobs.withdraw, key)
                if token is not None:
                    aside[key] = token
            found = await referenced(engine, aside) if aside else set()
            named |= found
            for key in list(aside):
                if key in found:
                    await asyncio.to_thread(blobs.restore, key, aside[key])
                else:
                    await asyncio.to_thread(blobs.purge, aside[key])
                del aside[key]
        finally:
            if aside:  # stopped midway: nothing may stay aside (a row may name it); gc takes orphans later
                await asyncio.shield(asyncio.to_thread(_put_back, blobs, aside))
    return [key for key in wanted if key not in named]


def _put_back(blobs: BlobStore, aside: dict[str, str]) -> None:
    for key, token in aside.items():
        try:
            blobs.restore(key, token)
        except Exception as exc:  # the store itself failing: `sceneforge gc` puts it back later
            log.warning("blob %s stays aside (%s): `sceneforge gc` puts it back", key, exc)


@dataclass
class GcReport:
    """What a collection found: the orphans (removed unless it was a dry run) and what it kept."""

    orphans: list[BlobInfo] = field(default_factory=list)
    #: Unfinished writes older than the grace (a process killed mid-write), removed unless a dry run.
    partials: list[BlobInfo] = field(default_factory=list)
    kept: int = 0
    too_young: int = 0
    dry_run: bool = False

    @property
    def orphan_bytes(self) -> int:
        return sum(b.bytes for b in self.orphans)

    @property
    def partial_bytes(self) -> int:
        return sum(b.bytes for b in self.partials)


async def collect(
    engine: AsyncEngine,
    blobs: BlobStore,
    *,
    dry_run: bool = False,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
) -> GcReport:
    """Find every stored blob no record refers to and is older than ``grace``, and every unfinished write
    older than ``grace``; remove them unless ``dry_run``."""
    cutoff = (now or datetime.now(UTC)) - grace
    for key, token, aside_since in await asyncio.to_thread(lambda: list(blobs.withdrawn())):
        # Set aside before the grace: a release stopped midway; back with the others, judged like them below.
        # One set aside since is a release in progress (on S3 between its copy aside and its delete, when
        # putting it back let that delete remove a blob a row named meanwhile): it is left to that release.
        if not dry_run and aside_since <= cutoff:
            await asyncio.to_thread(blobs.restore, key, token)
    listed = await asyncio.to_thread(lambda: list(blobs.listing()))
    partials = await asyncio.to_thread(lambda: list(blobs.partials()))
    used = await referenced(engine, [b.key for b in listed])
    report = GcReport(
        dry_run=dry_run, partials=sorted((p for p in partials if p.modified <= cutoff), key=lambda p: p.key)
    )
    for blob in sorted(listed, key=lambda b: b.key):
        if blob.key in used:
            report.kept += 1
        elif blob.modified > cutoff:
            report.too_young += 1
        else:
            report.orphans.append(blob)
    if not dry_run:
        # A record may have come to refer to an orphan meanwhile: each is withdrawn and checked again.
        removed = set(await _remove(engine, blobs, [b.key for b in report.orphans]))
        report.kept += sum(b.key not in removed for b in report.orphans)
        report.orphans = [b for b in report.orphans if b.key in removed]
        for partial in report.partials:
            await asyncio.to_thread(blobs.delete_partial, partial.key)
    return report
