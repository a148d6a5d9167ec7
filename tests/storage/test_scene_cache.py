"""``SceneCache`` alone, and the repository's cached lookups (pointer, version descriptors, meta bodies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sceneforge.errors import NotFound
from sceneforge.storage import FileBlobStore, MetaBody, SceneCache, ScenePointer, SceneRepository, VersionRef
from tests.storage.conftest import fake_build

NOW = datetime(2025, 1, 2, tzinfo=UTC)


def _ref(scene: str = "s", n: int = 1, etag: str = "0123456789abcdef") -> VersionRef:
    return VersionRef(scene, n, etag, "k" * 64, 100, NOW)


def test_scene_cache_pointer_read_before_invalidation_is_not_kept() -> None:
    cache = SceneCache()
    epoch = cache.epoch
    cache.scene_changed("s")  # a publish lands while the reader was asking the database
    cache.put_pointer(ScenePointer("s", False, _ref()), epoch)
    assert cache.pointer("s") is None
    cache.put_pointer(ScenePointer("s", False, _ref()), cache.epoch)
    assert cache.pointer("s") is not None
    assert cache.ref("s", 1) == cache.ref("s", "0123456789abcdef") == _ref()


def test_scene_cache_versions_bounded() -> None:
    cache = SceneCache(max_versions=2)
    for n in range(1, 4):
        cache.put_ref(_ref(n=n, etag=f"{n:016x}"))
    assert cache.ref("s", 1) is None and cache.ref("s", 2) is not None and cache.ref("s", f"{3:016x}") is not None


def test_scene_cache_changed_keeps_versions_removed_drops_them() -> None:
    cache = SceneCache()
    cache.put_pointer(ScenePointer("s", False, _ref()), cache.epoch)
    cache.put_meta(_ref(), MetaBody(b"{}", "tag"), cache.epoch)
    cache.put_ref(_ref("other"))
    cache.scene_changed("s")
    assert cache.pointer("s") is None and cache.ref("s", 1) is not None and cache.meta(_ref()) is not None
    cache.scene_removed("s")
    assert cache.ref("s", 1) is None and cache.ref("s", "0123456789abcdef") is None and cache.meta(_ref()) is None
    assert cache.ref("other", 1) is not None


def test_scene_cache_meta_bounded_by_bytes() -> None:
    cache = SceneCache(max_meta_bytes=10)
    for n in range(1, 4):
        cache.put_meta(_ref(n=n), MetaBody(b"x" * 4, "t"), cache.epoch)
    assert cache.meta(_ref(n=1)) is None and cache.meta(_ref(n=3)) is not None
    cache.put_meta(_ref(n=9), MetaBody(b"x" * 11, "t"), cache.epoch)
    assert cache.meta(_ref(n=9)) is None


@pytest.fixture
async def repo(engine: Any, tmp_path: Any) -> SceneRepository:
    return SceneRepository(engine, FileBlobStore(tmp_path / "blobs"))


async def test_scene_cache_repository_pointer_follows_publish(repo: SceneRepository) -> None:
    with pytest.raises(NotFound):
        await repo.pointer("cached")
    first = await repo.publish_build(fake_build("cached", b"one"), None)
    pointer = await repo.pointer("cached")
    assert pointer.latest is not None and pointer.latest.etag == first.etag and not pointer.private
    assert repo.cache.pointer("cached") == pointer
    second = await repo.publish_build(fake_build("cached", b"two"), None, private=True)
    pointer = await repo.pointer("cached")
    assert pointer.private and pointer.latest is not None and pointer.latest.n == second.n == 2
    assert (await repo.version_ref("cached", etag=first.etag)).n == 1
    assert (await repo.version_ref("cached", n=2)).etag == second.etag
    with pytest.raises(NotFound):
        await repo.version_ref("cached", n=3)
    assert [r.n for r in await repo.version_refs("cached")] == [1, 2]


async def test_scene_cache_repository_meta_body_is_the_compact_json(repo: SceneRepository) -> None:
    from sceneforge.compile import etag_of

    version = await repo.publish_build(fake_build("meta", b"one"), None)
    pointer = await repo.pointer("meta")
    assert pointer.latest is not None
    body = await repo.meta_of(pointer.latest)
    assert body.body == json.dumps(version.meta, separators=(",", ":")).encode()
    assert body.etag == etag_of(body.body)
    assert await repo.meta_of(pointer.latest) is body


async def test_scene_cache_repository_delete_forgets(repo: SceneRepository) -> None:
    version = await repo.publish_build(fake_build("gone", b"one"), None)
    await repo.pointer("gone")
    await repo.delete_scene("gone")
    with pytest.raises(NotFound):
        await repo.pointer("gone")
    with pytest.raises(NotFound):
        await repo.version_ref("gone", etag=version.etag)


def test_scene_cache_published_event_drops_the_pointer() -> None:
    """``scene.published`` is written in the transaction that moves the pointer; the ``scene.invalidated`` that
    the other instances acted on comes after it, from the publishing process. When that process died (or its
    request was cancelled) between the two, every other instance went on serving the old version as the latest,
    though its hub still got ``scene.published`` (a hole filled from the log, or the periodic check of its top)."""
    cache = SceneCache()
    cache.put_pointer(ScenePointer("s", False, _ref()), cache.epoch)
    cache.put_ref(_ref())
    cache.on_event("scene.published", "s")
    assert cache.pointer("s") is None and cache.ref("s", 1) == _ref()  # versions are immutable: kept
