"""Nothing left behind: deleting a scene removes every blob only it referred to, and ``collect``
(``sceneforge gc``) finds and removes blobs no record refers to — on every database and blob store."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, insert
from typer.testing import CliRunner

from sceneforge.cli import app as cli_app
from sceneforge.compile import etag_of
from sceneforge.errors import NotFound
from sceneforge.storage import BlobStore, FileBlobStore, SceneRepository, create_engine, default_url, upgrade
from sceneforge.storage.artifacts import ArtifactRepository
from sceneforge.storage.assets import AssetRepository
from sceneforge.storage.blobs import blob_key
from sceneforge.storage.drafts import DraftRepository, canonical_json
from sceneforge.storage.gc import BLOB_COLUMNS, collect, referenced, release
from sceneforge.storage.tables import artifacts, jobs, metadata
from tests.scenes import TWO_ROOMS
from tests.storage.conftest import FakeBuild, fake_build


def test_gc_blob_columns_cover_every_key_column_of_the_schema() -> None:
    named = {
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and (column.name.endswith("_key") or column.name == "blob_key")
    }
    assert named <= set(BLOB_COLUMNS), sorted(str(c) for c in named - set(BLOB_COLUMNS))


def test_blob_listing_lists_every_blob_put(blob_store: BlobStore) -> None:
    keys = {blob_store.put(f"listed {i}".encode()) for i in range(3)}
    listed = {b.key: b for b in blob_store.listing()}
    assert keys <= set(listed)
    for key in keys:
        assert listed[key].bytes == len(b"listed 0")
        assert abs(listed[key].modified - datetime.now(UTC)) < timedelta(minutes=5)


async def _artifact(engine: Any, blobs: BlobStore, scene_id: str, data: bytes) -> str:
    return await _artifact_row(engine, scene_id, blobs.put(data), data)


async def _artifact_row(engine: Any, scene_id: str, key: str, data: bytes) -> str:
    async with engine.begin() as conn:
        await conn.execute(
            insert(artifacts).values(
                scene_id=scene_id, n=1, name="preview/thumbnail.png", blob_key=key, etag="0" * 16,
                bytes=len(data), content_type="image/png", created_at=datetime.now(UTC),
            )
        )  # fmt: skip
    return key


async def test_nothing_left_behind_when_a_scene_is_deleted(engine: Any, blob_store: BlobStore) -> None:
    repo = SceneRepository(engine, blob_store)
    shared = fake_build("keep", b"same bytes in both scenes")
    kept = await repo.publish_build(shared, b'{"sceneId":"keep"}')
    first = await repo.publish_build(fake_build("gone", b"same bytes in both scenes"), b'{"sceneId":"gone","v":1}')
    second = await repo.publish_build(fake_build("gone", b"only in gone"), b'{"sceneId":"gone","v":2}')
    artifact = await _artifact(engine, blob_store, "gone", b"thumbnail of gone")
    assert first.glb_key == kept.glb_key  # content-addressed: one blob for both scenes

    await repo.delete_scene("gone")

    own = {second.glb_key, first.description_key, second.description_key, artifact}
    assert not any(blob_store.exists(k) for k in own if k)
    assert blob_store.get(kept.glb_key) == shared.glb
    assert kept.description_key is not None and blob_store.exists(kept.description_key)
    assert (await repo.latest("keep")).etag == kept.etag


async def test_nothing_left_behind_a_description_a_job_still_uses_stays(engine: Any, blob_store: BlobStore) -> None:
    repo = SceneRepository(engine, blob_store)
    description = b'{"sceneId":"queued"}'
    version = await repo.publish_build(fake_build("queued", b"glb"), description)
    async with engine.begin() as conn:
        await conn.execute(
            insert(jobs).values(
                id="j1", scene_id="queued", status="Queued", created_at=datetime.now(UTC),
                description_key=blob_key(description),
            )
        )  # fmt: skip
    await repo.delete_scene("queued")
    assert not blob_store.exists(version.glb_key)
    assert blob_store.get(blob_key(description)) == description


async def test_gc_collects_orphans_only_past_the_grace(engine: Any, blob_store: BlobStore) -> None:
    repo = SceneRepository(engine, blob_store)
    version = await repo.publish_build(fake_build("live", b"live glb"), b'{"sceneId":"live"}')
    orphan = blob_store.put(b"left behind by a crash")

    young = await collect(engine, blob_store)  # default grace: an hour
    assert orphan not in [b.key for b in young.orphans] and young.too_young >= 1 and blob_store.exists(orphan)

    later = datetime.now(UTC) + timedelta(hours=2)
    dry = await collect(engine, blob_store, dry_run=True, now=later)
    assert [b.key for b in dry.orphans] == [orphan] and dry.orphan_bytes == len(b"left behind by a crash")
    assert blob_store.exists(orphan)

    done = await collect(engine, blob_store, now=later)
    assert [b.key for b in done.orphans] == [orphan]
    assert not blob_store.exists(orphan)
    assert blob_store.exists(version.glb_key) and version.description_key is not None
    assert blob_store.exists(version.description_key)
    assert await referenced(engine, [version.glb_key, orphan]) == {version.glb_key}


def test_gc_cli_dry_run_then_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["gc", "--data", str(data)]).exit_code == 0  # an empty store: nothing to do
    blobs = FileBlobStore(data / "blobs")
    orphan = blobs.put(b"orphan for the cli")
    path = blobs.local_path(orphan)
    assert path is not None
    old = time.time() - 7200
    os.utime(path, (old, old))

    dry = runner.invoke(cli_app, ["gc", "--data", str(data), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphan} 18 bytes" in dry.output and path.exists()

    young = blobs.put(b"written a moment ago")
    real = runner.invoke(cli_app, ["gc", "--data", str(data)])
    assert real.exit_code == 0, real.output
    assert f"removed {orphan} 18 bytes" in real.output and not path.exists()
    assert blobs.exists(young)


def test_gc_cli_passes_over_what_is_named_like_a_blob_but_is_none(tmp_path: Path) -> None:
    """A name of the blobs' form that is no blob stopped ``gc``: one gone by the time it was looked at (a scene
    deleted while gc ran; here a link to nothing) ended it with "could not list the blobs: No such file"
    (exit 1), and a folder was set aside as an orphan, then failed to go ("Is a directory", exit 1)."""
    data = tmp_path / "data"
    blobs = FileBlobStore(data / "blobs")
    orphan = blobs.put(b"orphan for the cli")
    old = time.time() - 7200
    os.utime(blobs.local_path(orphan), (old, old))  # type: ignore[arg-type]
    gone, folder = blob_key(b"gone"), blob_key(b"folder")
    (blobs.root / gone[:2]).mkdir(exist_ok=True)
    (blobs.root / gone[:2] / gone[2:]).symlink_to(tmp_path / "nothing")
    (blobs.root / folder[:2] / folder[2:]).mkdir(parents=True)
    result = CliRunner().invoke(cli_app, ["gc", "--data", str(data), "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert f"removed {orphan} 18 bytes" in result.output
    assert gone not in result.output and folder not in result.output
    assert (blobs.root / folder[:2] / folder[2:]).is_dir()


def _partial_write(blobs: FileBlobStore, key: str, data: bytes, age_s: float) -> Path:
    """What a blob write leaves when its process is killed before the rename: a temp file beside the blob."""
    fan = blobs.root / key[:2]
    fan.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=fan)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    at = time.time() - age_s
    os.utime(name, (at, at))
    return Path(name)


async def test_gc_removes_the_partial_writes_a_killed_process_left_behind(tmp_path: Path) -> None:
    """A blob write killed before its rename leaves its temp file: never readable as a blob, never
    listed, and so never collected — ``sceneforge gc`` left it there for ever."""
    upgrade(default_url(tmp_path))
    engine = create_engine(default_url(tmp_path))
    try:
        blobs = FileBlobStore(tmp_path / "blobs")
        kept = blobs.put(b"a whole blob")
        old = _partial_write(blobs, blob_key(b"half of a blob"), b"half of", 7200)
        young = _partial_write(blobs, blob_key(b"a write in flight"), b"a write", 0)
        assert not blobs.exists(blob_key(b"half of a blob"))
        later = datetime.now(UTC) + timedelta(minutes=30)  # the old one is past the hour of grace, the young not

        dry = await collect(engine, blobs, dry_run=True, now=later)
        assert [p.key for p in dry.partials] == [f"{old.parent.name}/{old.name}"] and old.exists()
        assert dry.partial_bytes == len(b"half of")

        done = await collect(engine, blobs, now=later)
        assert [p.key for p in done.partials] == [f"{old.parent.name}/{old.name}"]
        assert not old.exists() and young.exists() and blobs.exists(kept)
    finally:
        await engine.dispose()


# -- a release racing a writer of the same bytes (storage/gc.py, "Releasing") -----------------------------


async def _store_asset(engine: Any, blobs: BlobStore, data: bytes) -> str:
    return (await AssetRepository(engine, blobs).add(data, kind="obj")).id


async def _store_version(engine: Any, blobs: BlobStore, data: bytes) -> str:
    return (await SceneRepository(engine, blobs).publish_build(fake_build("raced", b"glb"), data)).description_key or ""


async def _store_draft(engine: Any, blobs: BlobStore, data: bytes) -> str:
    return (await DraftRepository(engine, blobs).create("raced", json.loads(data), author="t"))[0].description_key


async def _store_patched_draft(engine: Any, blobs: BlobStore, data: bytes) -> str:
    repo = DraftRepository(engine, blobs)
    first = {**json.loads(data), "name": "before"}
    await repo.create("raced", first, author="t")
    ops = [{"op": "remove", "path": "/name"}]
    return (await repo.patch("raced", ops, author="t"))[0].description_key


async def _store_glb(engine: Any, blobs: BlobStore, data: bytes) -> str:
    build = fake_build("raced", b"")
    build = FakeBuild("raced", data, etag_of(data), build.meta)  # a build whose GLB bytes are the orphan's
    return (await SceneRepository(engine, blobs).publish_build(build, None)).glb_key


async def _store_artifact(engine: Any, blobs: BlobStore, data: bytes) -> str:
    await SceneRepository(engine, blobs).publish_build(fake_build("raced", b"glb"), None)
    return (await ArtifactRepository(engine, blobs).put("raced", 1, "exports/obj", data, "application/zip")).blob_key


@pytest.mark.parametrize(
    "writer", [_store_asset, _store_version, _store_glb, _store_artifact, _store_draft, _store_patched_draft]
)
async def test_gc_a_release_between_a_writers_put_and_its_row_leaves_the_blob(
    engine: Any, blob_store: BlobStore, monkeypatch: pytest.MonkeyPatch, writer: Any
) -> None:
    """The writer finds the bytes stored (an orphan: put writes nothing), a release removes them before the
    writer's row commits, then the row names them: the writer stores them again once its row is in."""
    data = canonical_json(json.loads(json.dumps(TWO_ROOMS)) | {"sceneId": "raced"})
    orphan = blob_store.put(data)  # left by a deleted scene
    loop = asyncio.get_running_loop()
    put, released = blob_store.put, []

    def racing_put(payload: bytes) -> str:
        key = put(payload)
        if key == orphan:  # nothing names it yet: this release takes it
            released.extend(asyncio.run_coroutine_threadsafe(release(engine, blob_store, [key]), loop).result())
        return key

    monkeypatch.setattr(blob_store, "put", racing_put)
    key = await writer(engine, blob_store, data)
    assert key == orphan and released == [orphan]
    assert blob_store.get(key) == data
    assert key in await referenced(engine, [key])


async def test_gc_a_row_committed_while_a_release_withdraws_keeps_its_blob(
    engine: Any, blob_store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release found no row, then one commits before the blob is purged: it is put back, not removed."""
    data = b"thumbnail bytes named late"
    await SceneRepository(engine, blob_store).publish_build(fake_build("late", b"glb"), None)
    key = blob_store.put(data)
    loop = asyncio.get_running_loop()
    withdraw = blob_store.withdraw

    def named_meanwhile(k: str) -> str | None:
        token = withdraw(k)
        assert not blob_store.exists(k)  # aside: readers and put see it absent
        asyncio.run_coroutine_threadsafe(_artifact_row(engine, "late", k, data), loop).result()  # no put
        return token

    monkeypatch.setattr(blob_store, "withdraw", named_meanwhile)
    assert await release(engine, blob_store, [key]) == []
    assert blob_store.get(key) == data
    assert list(blob_store.withdrawn()) == []


async def test_gc_collect_puts_back_what_a_stopped_release_left_aside(engine: Any, blob_store: BlobStore) -> None:
    await SceneRepository(engine, blob_store).publish_build(fake_build("kept", b"glb"), None)
    named = await _artifact(engine, blob_store, "kept", b"named, left aside")
    unnamed = blob_store.put(b"unnamed, left aside")
    for key in (named, unnamed):
        assert blob_store.withdraw(key) is not None  # the release stopped here
    assert {k for k, _, _ in blob_store.withdrawn()} == {named, unnamed}
    assert not blob_store.exists(named)

    dry = await collect(engine, blob_store, dry_run=True, grace=timedelta(0), now=datetime.now(UTC) + timedelta(days=1))
    assert len(list(blob_store.withdrawn())) == 2  # a dry run changes nothing
    assert unnamed not in {b.key for b in dry.orphans}  # aside, not listed: judged once put back

    report = await collect(engine, blob_store, grace=timedelta(0), now=datetime.now(UTC) + timedelta(days=1))
    assert blob_store.get(named) == b"named, left aside"
    assert [b.key for b in report.orphans] == [unnamed] and not blob_store.exists(unnamed)
    assert list(blob_store.withdrawn()) == []


def test_blob_withdrawn_tokens_are_checked(blob_store: BlobStore) -> None:
    key = blob_store.put(b"token check")
    for bad in ("../../etc/passwd", f"{key[:2]}/{key[2:]}", "zz/.out-" + key + "." + "0" * 32, ".out-x.y"):
        with pytest.raises(NotFound):
            blob_store.purge(bad)
    token = blob_store.withdraw(key)
    assert token is not None and blob_store.withdraw(key) is None  # already aside
    blob_store.restore(key, token)
    blob_store.restore(key, token)  # twice: the second finds nothing to put back
    assert blob_store.get(key) == b"token check"


async def test_gc_a_release_stopped_midway_puts_back_what_it_set_aside(
    engine: Any, blob_store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records cannot be read again (the database went away) after the orphans were set aside: every one
    is put back before the error is raised, since a row may name it by now."""
    from sceneforge.storage import gc

    keys = [blob_store.put(f"orphan {i}".encode()) for i in range(3)]
    reads = []

    async def failing(engine_: Any, wanted: Any) -> set[str]:
        reads.append(set(wanted))
        if len(reads) == 2:
            raise OSError("database gone")
        return set()

    monkeypatch.setattr(gc, "referenced", failing)
    with pytest.raises(OSError, match="database gone"):
        await release(engine, blob_store, keys)
    assert reads[1] == set(keys)  # all three were aside when it failed
    assert all(blob_store.get(k) == f"orphan {i}".encode() for i, k in enumerate(keys))
    assert list(blob_store.withdrawn()) == []


def test_blob_restore_takes_only_its_own_token(blob_store: BlobStore) -> None:
    mine, other = blob_store.put(b"mine"), blob_store.put(b"other")
    token = blob_store.withdraw(other)
    assert token is not None
    with pytest.raises(NotFound):
        blob_store.restore(mine, token)  # would store other's bytes under mine's key
    blob_store.restore(other, token)
    assert blob_store.get(other) == b"other" and blob_store.get(mine) == b"mine"


async def test_gc_collect_leaves_alone_what_a_release_in_progress_has_aside(
    engine: Any, s3_blob_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 withdraws with a copy aside, then a delete. ``sceneforge gc`` (another instance) came between the two and
    put the blob back, a row came to name it, and the delete then removed it: the release, finding it named, had
    nothing aside any more to restore. A blob aside for less than the grace is a release in progress: gc leaves it."""
    blob_store = s3_blob_store  # a file store withdraws with one rename: nothing comes between
    await SceneRepository(engine, blob_store).publish_build(fake_build("late", b"glb"), None)
    data = b"thumbnail bytes named while aside"
    key = blob_store.put(data)
    loop = asyncio.get_running_loop()
    copy, collected = blob_store._copy, []

    def copy_then_gc(source: str, target: str) -> None:
        copy(source, target)
        if not collected and ".out-" in target:  # aside, not yet deleted: gc runs, then a writer names the blob
            collected.append(asyncio.run_coroutine_threadsafe(collect(engine, blob_store), loop).result())
            asyncio.run_coroutine_threadsafe(_artifact_row(engine, "late", key, data), loop).result()
            blob_store.ensure(key, data)  # the writer's check after its commit: the blob is there

    monkeypatch.setattr(blob_store, "_copy", copy_then_gc)
    assert await release(engine, blob_store, [key]) == []
    assert collected and blob_store.get(key) == data
    assert list(blob_store.withdrawn()) == []
