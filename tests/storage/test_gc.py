"""Nothing left behind: deleting a scene removes every blob only it referred to, and ``collect``
(``sceneforge gc``) finds and removes blobs no record refers to — on every database and blob store."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, insert
from typer.testing import CliRunner

from sceneforge.cli import app as cli_app
from sceneforge.storage import BlobStore, FileBlobStore, SceneRepository, create_engine, default_url, upgrade
from sceneforge.storage.blobs import blob_key
from sceneforge.storage.gc import BLOB_COLUMNS, collect, referenced
from sceneforge.storage.tables import artifacts, jobs, metadata
from tests.storage.conftest import fake_build


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
    key = blobs.put(data)
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
