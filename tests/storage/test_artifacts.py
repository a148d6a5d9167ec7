"""Artifacts per (scene, version, name) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sceneforge.compile import etag_of
from sceneforge.errors import NotFound
from sceneforge.storage import FileBlobStore
from sceneforge.storage.artifacts import ArtifactRepository
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
