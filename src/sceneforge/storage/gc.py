"""Blobs nothing refers to: released when their last record goes, collected when left behind.

Blobs are content-addressed and shared: two scenes with the same description or GLB bytes, an
asset used by many scenes, a job's description that is also a version's. So a blob may be
removed only when no record in any table refers to its key. :data:`BLOB_COLUMNS` lists every
column that holds a blob key (a test checks that the schema has no other); :func:`release`
removes those of some candidate keys that none of them names (called after a scene is deleted),
and :func:`collect` walks the whole store for orphans left by crashes or older versions
(``sceneforge gc``).

A blob is written before the row that refers to it commits, so a blob younger than ``grace``
may be a write in flight: :func:`collect` leaves those alone. It also removes the unfinished writes
a killed process left (the file store's temp files, :meth:`~.blobs.BlobStore.partials`) once they
are older than ``grace``. Cost: one ``IN`` query per
:data:`QUERY_CHUNK` candidate keys per column; :func:`collect` lists the store once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .blobs import BlobInfo, BlobStore
from .tables import artifacts, assets, drafts, jobs, revisions, versions

__all__ = ["BLOB_COLUMNS", "DEFAULT_GRACE", "GcReport", "collect", "referenced", "release"]

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
    orphans = sorted(keys - await referenced(engine, keys))
    for key in orphans:
        await asyncio.to_thread(blobs.delete, key)
    return orphans


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
        # Re-check just before removing: a record may have come to refer to an orphan meanwhile.
        still = await referenced(engine, [b.key for b in report.orphans])
        report.orphans = [b for b in report.orphans if b.key not in still]
        report.kept += len(still)
        for blob in report.orphans:
            await asyncio.to_thread(blobs.delete, blob.key)
        for partial in report.partials:
            await asyncio.to_thread(blobs.delete_partial, partial.key)
    return report
