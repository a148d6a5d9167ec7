"""Artifacts per (scene, version, name) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sceneforge.compile import etag_of
from sceneforge.errors import NotFound
from sceneforge.storage import FileBlobStore
from sceneforge.storage.artifacts import ArtifactRepository
from sceneforge.storage.blobs import blob_key
from sceneforge.storage.drafts import DraftRepository
from tests.scenes import TWO_ROOMS


async def test_artifacts_put_get_replace(engine: Any, tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    await DraftRepository(engine, blobs).create("two-rooms", TWO_ROOMS, author="t")  # makes the scene row
    repo = ArtifactRepository(engine, blobs)
    with pytest.raises(NotFound):
        await repo.get("two-rooms", 1, "preview/thumbnail.png")
    first = await repo.put("two-rooms", 1, "preview/thumbnail.png", b"png-1", "image/png")
    assert first.etag == etag_of(b"png-1") and first.bytes == 5
    got = await repo.get("two-rooms", 1, "preview/thumbnail.png")
    assert (got.blob_key, got.content_type) == (first.blob_key, "image/png")
    assert blobs.get(got.blob_key) == b"png-1"
    again = await repo.put("two-rooms", 1, "preview/thumbnail.png", b"png-2", "image/png")
    assert (await repo.get("two-rooms", 1, "preview/thumbnail.png")).etag == again.etag != first.etag
    assert not blobs.exists(first.blob_key)  # the bytes it replaced, which nothing else uses, went with it
    await repo.put("two-rooms", 1, "exports/obj", b"zip", "application/zip")
    assert [a.name for a in await repo.of_version("two-rooms", 1)] == ["exports/obj", "preview/thumbnail.png"]
    assert await repo.of_version("two-rooms", 2) == []


async def test_artifacts_put_many_stores_every_file_at_once_or_none(engine: Any, tmp_path: Path) -> None:
    """A preview's files go in one transaction: every row replaced together, the bytes they replaced released;
    for a version whose scene is gone none is stored, and none of the new bytes is left behind."""
    blobs = FileBlobStore(tmp_path / "blobs")
    await DraftRepository(engine, blobs).create("two-rooms", TWO_ROOMS, author="t")
    repo = ArtifactRepository(engine, blobs)
    png = ("b.png", b"png", "image/png")
    first = await repo.put_many("two-rooms", 1, [("a.svg", b"<svg/>", "image/svg+xml"), png])
    made = [(a.name, a.etag, a.bytes) for a in first]
    assert made == [("a.svg", etag_of(b"<svg/>"), 6), ("b.png", etag_of(b"png"), 3)]
    again = await repo.put_many("two-rooms", 1, [("a.svg", b"<svg></svg>", "image/svg+xml"), png])
    assert [a.blob_key for a in await repo.of_version("two-rooms", 1)] == [a.blob_key for a in again]
    assert not blobs.exists(first[0].blob_key) and blobs.exists(first[1].blob_key)  # replaced / kept by the new row
    with pytest.raises(ValueError, match="repeat"):
        await repo.put_many("two-rooms", 1, [("a.svg", b"1", "image/svg+xml"), ("a.svg", b"2", "image/svg+xml")])
    with pytest.raises(NotFound, match="no longer exists"):
        await repo.put_many("gone", 1, [("c.png", b"new-1", "image/png"), ("d.png", b"new-2", "image/png")])
    assert await repo.of_version("gone", 1) == []
    assert not blobs.exists(blob_key(b"new-1")) and not blobs.exists(blob_key(b"new-2"))
