"""Scenes and their immutable versions: publish a build, look versions up, list, delete.

A publish stores the GLB (content-addressed) and records version n+1 — unless the GLB bytes
equal the current version's, in which case the current version is returned unchanged (same
ETag, nothing duplicated). Bytes equal to an *older* version move the public pointer back to
that version (a rollback) instead of duplicating it, since (scene, etag) is unique.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..aio import finished, settled
from ..encode.meta_order import with_version
from ..errors import NotFound, SceneforgeError
from ..wire import iso_utc
from .blobs import BlobStore
from .cache import MetaBody, SceneCache, ScenePointer, VersionRef
from .database import as_utc, locking, utcnow, write_transaction
from .tables import events as events_table
from .tables import retired_numbers, scenes, versions

__all__ = ["PublishedVersionChanged", "Scene", "SceneRepository", "Version", "utcnow"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts of a write transaction that lost a race (unique key taken, SQLite busy snapshot).
WRITE_ATTEMPTS = 6


class PublishedVersionChanged(SceneforgeError):
    """A publish's ``If-Match`` or ``If-None-Match`` does not hold for the scene's published version (HTTP 412);
    nothing moved."""

    def __init__(self, scene_id: str, current: tuple[int, str] | None, field: str = "If-Match") -> None:
        now = "no version is published" if current is None else f"the published version is v{current[0]}"
        now += "" if current is None else f' (ETag "{current[1]}")'
        super().__init__(f"{field} does not hold for scene {scene_id!r}: {now}; reload the versions and publish again")
        self.current = current


@dataclass(frozen=True, slots=True)
class Version:
    """One immutable build of a scene."""

    scene_id: str
    n: int
    etag: str
    glb_key: str
    bytes: int
    meta: dict[str, Any]
    created_at: datetime
    description_key: str | None = None
    #: True when a publish returned this existing version instead of making a new one.
    reused: bool = field(default=False, compare=False)
    #: The draft revision it was built from (None outside drafts).
    rev: int | None = None
    #: Whether it has ever been published (draft builds are not until ``publish``).
    published: bool = True


@dataclass(frozen=True, slots=True)
class Scene:
    id: str
    private: bool
    latest_version: int | None
    created_at: datetime
    updated_at: datetime
    #: The public version: whole from :meth:`SceneRepository.get_scene`, its reference only (no meta: metas can
    #: be megabytes each) from :meth:`SceneRepository.list_scenes`.
    latest: Version | VersionRef | None = None


def _version(row: Row[Any], reused: bool = False) -> Version:
    return Version(
        scene_id=row.scene_id,
        n=row.n,
        etag=row.etag,
        glb_key=row.glb_key,
        bytes=row.bytes,
        meta=row.meta,
        created_at=as_utc(row.created_at),
        description_key=row.description_key,
        reused=reused,
        rev=row.rev,
        published=row.published_at is not None,
    )


#: The columns of a :class:`VersionRef`: everything but the meta JSON (whose decoding is the costly part).
#: Ids per ``IN (…)`` query (well under SQLite's 32,766 bound parameters).
_IN_CHUNK = 500

_REF_COLUMNS = (
    versions.c.scene_id,
    versions.c.n,
    versions.c.etag,
    versions.c.glb_key,
    versions.c.bytes,
    versions.c.created_at,
    versions.c.published_at,
)


def _ref(row: Row[*tuple[Any, ...]]) -> VersionRef:
    return VersionRef(
        row.scene_id, row.n, row.etag, row.glb_key, row.bytes, as_utc(row.created_at), row.published_at is not None
    )


def _ref_of(version: Version) -> VersionRef:
    return VersionRef(
        version.scene_id, version.n, version.etag, version.glb_key, version.bytes, version.created_at, version.published
    )


def meta_body(meta: dict[str, Any]) -> MetaBody:
    """The meta JSON as served (compact separators) and its tag (``compile.etag_of`` of those bytes)."""
    body = json.dumps(meta, separators=(",", ":")).encode()
    return MetaBody(body, hashlib.sha256(body).hexdigest()[:16])


def _is_lost_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc).lower()


class SceneRepository:
    """Scene and version records in the metadata database, GLB and description bytes in the blob store."""

    def __init__(self, engine: AsyncEngine, blobs: BlobStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.blobs, self.clock = engine, blobs, clock
        #: This process's cache of pointers, version descriptors and meta bodies (``storage/cache.py``).
        self.cache = SceneCache()
        #: Publishes whose caller was cancelled once their COMMIT went out, held until they end.
        self._ending: set[asyncio.Task[Any]] = set()

    async def _write(self, body: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                async with write_transaction(self.engine) as conn:
                    return await body(conn)
            except (IntegrityError, OperationalError) as exc:
                if not _is_lost_race(exc) or attempt == WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    async def _moving(self, scene_id: str, body: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """:meth:`_write` of a transaction that may move ``scene_id``'s pointer, which drops the cached pointer when it
        ends: committed, and also raised — refused, or cancelled, perhaps while its COMMIT ran, which then took effect
        all the same (kept, the pointer went on naming the old version as the scene's latest until some other change
        of the scene)."""
        try:
            return await self._write(body)
        finally:
            self.cache.scene_changed(scene_id)

    async def publish_build(
        self,
        result: Any,
        description_bytes: bytes | None,
        *,
        private: bool | None = None,
        options: dict[str, Any] | None = None,
        publish: bool = True,
        rev: int | None = None,
        guard: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> Version:
        """Record ``result`` (a :class:`~sceneforge.compile.BuildResult`) as a version of its scene.

        ``private`` sets the scene's flag (None keeps it; new scenes are public). With ``publish``
        (the default) the version becomes the scene's public one; without it (a draft build) the
        public pointer stays where it is and the version is readable by exact URL with read access
        only, until :meth:`publish`. ``rev`` records the draft revision it was built from.
        ``guard`` runs first in the transaction and may raise to write nothing (a job runner: the
        job must still be its own and not canceled, or a deleted scene would come back).
        """
        glb: bytes = result.glb
        glb_key = await asyncio.to_thread(self.blobs.put, glb)
        description_key = None
        if description_bytes is not None:
            description_key = await asyncio.to_thread(self.blobs.put, description_bytes)

        async def body(conn: AsyncConnection) -> Version:
            if guard is not None:
                await guard(conn)
            now = self.clock()
            scene = (await conn.execute(locking(conn, select(scenes).where(scenes.c.id == result.scene_id)))).first()
            if scene is None:
                await conn.execute(
                    insert(scenes).values(
                        id=result.scene_id, private=bool(private), latest_version=None, created_at=now, updated_at=now
                    )
                )
            elif private is not None and bool(scene.private) != private:
                await conn.execute(update(scenes).where(scenes.c.id == result.scene_id).values(private=private))
            same = (
                await conn.execute(
                    select(versions).where(and_(versions.c.scene_id == result.scene_id, versions.c.etag == result.etag))
                )
            ).first()
            if same is not None:
                if publish:
                    if scene is None or scene.latest_version != same.n:
                        await conn.execute(
                            update(scenes)
                            .where(scenes.c.id == result.scene_id)
                            .values(latest_version=same.n, updated_at=now)
                        )
                    if same.published_at is None:
                        await conn.execute(update(versions).where(versions.c.id == same.id).values(published_at=now))
                        same = (await conn.execute(select(versions).where(versions.c.id == same.id))).one()
                return _version(same, reused=True)
            top = (
                await conn.execute(select(func.max(versions.c.n)).where(versions.c.scene_id == result.scene_id))
            ).scalar()
            n = max(top or 0, (await retired(conn, result.scene_id))[0]) + 1
            meta = with_version(result.meta, n, iso_utc(now))
            values = dict(
                scene_id=result.scene_id,
                n=n,
                etag=result.etag,
                glb_key=glb_key,
                bytes=len(glb),
                meta=meta,
                description_key=description_key,
                options=options,
                created_at=now,
                published_at=now if publish else None,
                rev=rev,
            )
            await conn.execute(insert(versions).values(**values))
            if publish:
                await conn.execute(
                    update(scenes).where(scenes.c.id == result.scene_id).values(latest_version=n, updated_at=now)
                )
            return Version(
                scene_id=result.scene_id,
                n=n,
                etag=result.etag,
                glb_key=glb_key,
                bytes=len(glb),
                meta=meta,
                created_at=now,
                description_key=description_key,
                rev=rev,
                published=publish,
            )

        version = await self._moving(result.scene_id, body)
        # A release may have moved the bytes aside before the row could be seen (storage/gc.py).
        await asyncio.to_thread(self.blobs.ensure, glb_key, glb)
        if description_key is not None and description_bytes is not None:
            await asyncio.to_thread(self.blobs.ensure, description_key, description_bytes)
        self.cache.put_ref(_ref_of(version))
        return version

    async def publish(
        self,
        scene_id: str,
        n: int,
        *,
        if_match: frozenset[str] | Literal["*"] | None = None,
        if_none_match: frozenset[str] | Literal["*"] | None = None,
        record: Callable[[AsyncConnection, Version], Awaitable[Sequence[Any]]] | None = None,
        published: Callable[[Any], Awaitable[None]] | None = None,
    ) -> Version:
        """Make version ``n`` the scene's public one, in one transaction (an older ``n`` is a rollback).

        ``record(conn, version)`` appends the events of the move (``scene.published``, ``scene.invalidated``) in that
        transaction, so that they are stored exactly when the pointer moved and events of publishes at once come in
        the order the pointer moved; ``published`` gets each once committed.

        A caller cancelled (a client gone) returns at once. The publish is cancelled too, rolled back, while the
        transaction's body runs; from its COMMIT on it runs to its end, its events handed to ``published`` — a cancel
        landing then cannot know whether the COMMIT took effect, and the events left unsent let the other instances
        serve their cached pointer, the old version, as the latest. A COMMIT whose outcome is unknown all the same
        (the write itself cancelled or failed as it committed) is settled by looking for its first event's ``seq``.

        ``if_match`` (an ``If-Match`` header, RFC 9110 §13.1.1): the ETags of which the published version must have
        one, or ``"*"``: some version must be published; ``if_none_match`` (§13.1.2): ETags the published version
        must not have, or ``"*"``: none may be published. Checked in the same transaction, before the version is
        looked up, else :class:`PublishedVersionChanged`. :class:`NotFound` when the scene has no version ``n``.
        """

        events: list[Any] = []
        committing = False

        async def body(conn: AsyncConnection) -> Version:
            nonlocal committing
            committing = False  # a retried transaction (its commit lost a race): cancellable again
            events.clear()  # a retried transaction appends again
            now = self.clock()
            if if_match is not None or if_none_match is not None:
                await self._published_matches(conn, scene_id, if_match, if_none_match)
            elif conn.dialect.name == "postgresql":
                # The scene's row before the version's, in the order a delete (and a build's publish) takes them:
                # a version locked first waits for a delete that waits for it (a deadlock).
                await conn.execute(select(scenes.c.id).where(scenes.c.id == scene_id).with_for_update())
            query = select(versions).where(and_(versions.c.scene_id == scene_id, versions.c.n == n))
            row = (await conn.execute(locking(conn, query))).first()
            if row is None:
                raise NotFound(f"scene {scene_id!r} has no version v{n}")
            await conn.execute(update(scenes).where(scenes.c.id == scene_id).values(latest_version=n, updated_at=now))
            if row.published_at is None:
                await conn.execute(update(versions).where(versions.c.id == row.id).values(published_at=now))
            version = _version((await conn.execute(select(versions).where(versions.c.id == row.id))).one())
            if record is not None:
                events.extend(await record(conn, version))
            committing = True
            return version

        async def announce() -> None:
            if published is not None:
                for event in events:
                    await published(event)

        async def settling() -> Version:
            try:
                version = await self._moving(scene_id, body)
            except BaseException:
                if committing and events:
                    stored: bool = await finished(self._stored(events[0].seq))
                    if stored:  # the pointer moved all the same: the other instances must hear it
                        await announce()
                raise
            self.cache.put_ref(_ref_of(version))
            await announce()
            return version

        return await settled(self._ending, settling(), lambda task: None if committing else task.cancel())

    async def _stored(self, seq: int) -> bool:
        """Whether the event ``seq`` is in the events table: whether the transaction that appended it committed."""
        async with self.engine.connect() as conn:
            return (await conn.execute(select(events_table.c.seq).where(events_table.c.seq == seq))).first() is not None

    @staticmethod
    async def _published_matches(
        conn: AsyncConnection,
        scene_id: str,
        if_match: frozenset[str] | Literal["*"] | None,
        if_none_match: frozenset[str] | Literal["*"] | None,
    ) -> None:
        """:class:`PublishedVersionChanged` unless the published version's ETag is in ``if_match`` (any for ``*``)
        and not in ``if_none_match`` (none published for ``*``)."""
        query = (
            select(scenes.c.latest_version, versions.c.etag)
            .select_from(scenes.outerjoin(versions, and_(versions.c.scene_id == scenes.c.id,
                                                         versions.c.n == scenes.c.latest_version)))
            .where(scenes.c.id == scene_id)
        )  # fmt: skip
        row = (await conn.execute(locking(conn, query, of=scenes))).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} does not exist")
        current = None if row.etag is None else (int(row.latest_version), str(row.etag))
        if if_match is not None and (current is None or (if_match != "*" and current[1] not in if_match)):
            raise PublishedVersionChanged(scene_id, current)
        if if_none_match is not None and current is not None and (if_none_match == "*" or current[1] in if_none_match):
            raise PublishedVersionChanged(scene_id, current, "If-None-Match")

    async def pointer(self, scene_id: str) -> ScenePointer:
        """The scene's latest version (without meta) and private flag, cached; :class:`NotFound` if absent."""
        cached = self.cache.pointer(scene_id)
        if cached is not None:
            return cached
        epoch = self.cache.epoch
        latest = and_(versions.c.scene_id == scenes.c.id, versions.c.n == scenes.c.latest_version)
        query = (
            select(scenes.c.id.label("id"), scenes.c.private.label("private"), scenes.c.link_nonce, *_REF_COLUMNS)
            .select_from(scenes.outerjoin(versions, latest))
            .where(scenes.c.id == scene_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} does not exist")
        pointer = ScenePointer(row.id, bool(row.private), _ref(row) if row.n is not None else None, row.link_nonce)
        self.cache.put_pointer(pointer, epoch)
        return pointer

    async def version_ref(self, scene_id: str, *, etag: str | None = None, n: int | None = None) -> VersionRef:
        """The version of ``scene_id`` with ``etag`` or number ``n`` (without meta), cached; :class:`NotFound`."""
        key: str | int
        if etag is not None:
            key, condition, what = etag, versions.c.etag == etag, f"with ETag {etag!r}"
        elif n is not None:
            key, condition, what = n, versions.c.n == n, f"v{n}"
        else:
            raise TypeError("version_ref needs etag or n")
        cached = self.cache.ref(scene_id, key)
        if cached is not None:
            return cached
        epoch = self.cache.epoch
        query = select(*_REF_COLUMNS).where(and_(versions.c.scene_id == scene_id, condition))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} has no version {what}")
        ref = _ref(row)
        if epoch == self.cache.epoch:
            self.cache.put_ref(ref)
        return ref

    async def meta_of(self, ref: VersionRef) -> MetaBody:
        """The serialized meta JSON of version ``ref``, decoded and encoded once per process."""
        cached = self.cache.meta(ref)
        if cached is not None:
            return cached
        epoch = self.cache.epoch
        query = select(versions.c.meta).where(and_(versions.c.scene_id == ref.scene_id, versions.c.n == ref.n))
        async with self.engine.connect() as conn:
            meta = (await conn.execute(query)).scalar()
        if meta is None:
            raise NotFound(f"scene {ref.scene_id!r} has no version v{ref.n}")
        body = await asyncio.to_thread(meta_body, meta)
        self.cache.put_meta(ref, body, epoch)
        return body

    async def version_refs(self, scene_id: str) -> list[VersionRef]:
        """Every version of a scene without meta, oldest first; :class:`NotFound` if the scene is absent."""
        await self.pointer(scene_id)
        query = select(*_REF_COLUMNS).where(versions.c.scene_id == scene_id).order_by(versions.c.n)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_ref(r) for r in rows]

    async def get_scene(self, scene_id: str) -> Scene:
        """The scene with its latest version; :class:`NotFound` if absent."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(scenes).where(scenes.c.id == scene_id))).first()
            if row is None:
                raise NotFound(f"scene {scene_id!r} does not exist")
            latest = None
            if row.latest_version is not None:
                found = (
                    await conn.execute(
                        select(versions).where(
                            and_(versions.c.scene_id == scene_id, versions.c.n == row.latest_version)
                        )
                    )
                ).first()
                latest = _version(found) if found is not None else None
        created, updated = as_utc(row.created_at), as_utc(row.updated_at)
        return Scene(row.id, bool(row.private), row.latest_version, created, updated, latest)

    async def latest(self, scene_id: str) -> Version:
        scene = await self.get_scene(scene_id)
        if not isinstance(scene.latest, Version):
            raise NotFound(f"scene {scene_id!r} has no version")
        return scene.latest

    async def _one_version(self, scene_id: str, condition: Any, what: str) -> Version:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(versions).where(and_(versions.c.scene_id == scene_id, condition)))).first()
        if row is None:
            raise NotFound(f"scene {scene_id!r} has no version {what}")
        return _version(row)

    async def by_etag(self, scene_id: str, etag: str) -> Version:
        return await self._one_version(scene_id, versions.c.etag == etag, f"with ETag {etag!r}")

    async def by_number(self, scene_id: str, n: int) -> Version:
        return await self._one_version(scene_id, versions.c.n == n, f"v{n}")

    async def versions(self, scene_id: str) -> list[Version]:
        """Every version of a scene, oldest first; :class:`NotFound` if the scene is absent."""
        await self.get_scene(scene_id)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(versions).where(versions.c.scene_id == scene_id).order_by(versions.c.n))
            ).all()
        return [_version(r) for r in rows]

    async def list_scenes(self, *, include_private: bool = True, limit: int = 1000) -> list[Scene]:
        """Scenes with their latest versions, most recently updated first."""
        query = select(scenes).order_by(scenes.c.updated_at.desc(), scenes.c.id).limit(limit)
        if not include_private:
            query = query.where(scenes.c.private.is_(False))
        joined = versions.join(
            scenes, and_(versions.c.scene_id == scenes.c.id, versions.c.n == scenes.c.latest_version)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            # Only the listed scenes' versions, and only their reference columns: the whole table's metas were
            # read for every listing (memory and time growing with every scene ever built).
            ids = [r.id for r in rows]
            latest: dict[str, VersionRef] = {}
            for i in range(0, len(ids), _IN_CHUNK):
                chosen = select(*_REF_COLUMNS).select_from(joined).where(scenes.c.id.in_(ids[i : i + _IN_CHUNK]))
                latest.update((r.scene_id, _ref(r)) for r in (await conn.execute(chosen)).all())
        return [
            Scene(r.id, bool(r.private), r.latest_version, as_utc(r.created_at), as_utc(r.updated_at), latest.get(r.id))
            for r in rows
        ]

    async def delete_scene(self, scene_id: str) -> list[Version]:
        """Delete a scene with its versions, drafts, revisions, artifacts and assist conversations, then every blob
        only it referred to (GLBs, descriptions, snapshots, artifacts; blobs other records share stay). Returns the
        versions."""
        from .gc import release
        from .tables import artifacts, drafts, revisions

        candidates: set[str] = set()

        async def body(conn: AsyncConnection) -> list[Version]:
            # What is read below (numbers to retire, blobs to release) must not change before the rows go: on
            # PostgreSQL the draft row (which every draft write updates first) and then the scene row (which a
            # build's publish locks, and a new version, revision or artifact refers to) are locked; a write of
            # the scene waits for the delete, then finds it gone. SQLite's writers take turns (BEGIN IMMEDIATE).
            query = select(scenes.c.id).where(scenes.c.id == scene_id)
            if conn.dialect.name == "postgresql":
                await conn.execute(select(drafts.c.scene_id).where(drafts.c.scene_id == scene_id).with_for_update())
                query = query.with_for_update()
            found = (await conn.execute(query)).first()
            if found is None:
                raise NotFound(f"scene {scene_id!r} does not exist")
            gone = (await conn.execute(select(versions).where(versions.c.scene_id == scene_id))).all()
            for table, columns in (
                (artifacts, [artifacts.c.blob_key]),
                (drafts, [drafts.c.description_key]),
                (revisions, [revisions.c.before_key, revisions.c.after_key]),
            ):
                for row in (await conn.execute(select(*columns).where(table.c.scene_id == scene_id))).all():
                    candidates.update(k for k in row if k)
            await _retire_numbers(conn, scene_id)
            # Versions, drafts, revisions, artifacts and assist sessions go with it (ON DELETE CASCADE).
            await conn.execute(delete(scenes).where(scenes.c.id == scene_id))
            return [_version(r) for r in gone]

        removed = await self._write(body)
        self.cache.scene_removed(scene_id)
        candidates.update(v.glb_key for v in removed)
        candidates.update(v.description_key for v in removed if v.description_key)
        try:
            await release(self.engine, self.blobs, candidates)
        except Exception as exc:  # the scene is gone (committed): a failing store leaves its blobs to `sceneforge gc`
            log.warning("scene %r deleted; its blobs stay until `sceneforge gc` (the store failed: %s)", scene_id, exc)
        return removed


async def retired(conn: AsyncConnection, scene_id: str) -> tuple[int, int]:
    """``(last version, last draft revision)`` a deleted scene of this id had used ((0, 0) if none):
    a scene made again numbers on from them (docs/drafts.md, "Numbers")."""
    row = (await conn.execute(select(retired_numbers).where(retired_numbers.c.scene_id == scene_id))).first()
    return (int(row.last_version), int(row.last_rev)) if row is not None else (0, 0)


async def _retire_numbers(conn: AsyncConnection, scene_id: str) -> None:
    """Record the highest version and revision numbers the scene has used, before its rows go."""
    from .tables import drafts, revisions

    version = (await conn.execute(select(func.max(versions.c.n)).where(versions.c.scene_id == scene_id))).scalar()
    rev = (await conn.execute(select(func.max(revisions.c.rev)).where(revisions.c.scene_id == scene_id))).scalar()
    draft = (await conn.execute(select(drafts.c.rev).where(drafts.c.scene_id == scene_id))).scalar()
    last_version, last_rev = version or 0, max(rev or 0, draft or 0)  # revisions may have been pruned
    row = (await conn.execute(select(retired_numbers).where(retired_numbers.c.scene_id == scene_id))).first()
    if row is None:
        values = {"scene_id": scene_id, "last_version": last_version, "last_rev": last_rev}
        await conn.execute(insert(retired_numbers).values(**values))
    else:
        numbers = {"last_version": max(row.last_version, last_version), "last_rev": max(row.last_rev, last_rev)}
        await conn.execute(update(retired_numbers).where(retired_numbers.c.scene_id == scene_id).values(**numbers))
