"""Cell caches (directory and S3): hits, misses, LRU eviction under the byte bound, failures as misses."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from sceneforge.storage.cellcache import DirCellCache, S3CellCache, open_cell_cache
from tests.storage.conftest import s3_store


def _key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


@pytest.fixture(params=["dir", "seaweedfs", "moto"])
def make_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    def make(max_bytes: int) -> DirCellCache | S3CellCache:
        if request.param == "dir":
            return DirCellCache(tmp_path / "cells", max_bytes)
        server = request.getfixturevalue("s3_server" if request.param == "seaweedfs" else "moto_server")
        store = s3_store(server)
        return S3CellCache(store.client, store.bucket, max_bytes)

    return make


def test_cellcache_hits_and_misses(make_cache: Any) -> None:
    cache = make_cache(1 << 20)
    cache.put_many({_key(1): b"one", _key(2): b"two"})
    assert cache.get_many([_key(1), _key(2), _key(3)]) == {_key(1): b"one", _key(2): b"two"}
    cache.put_many({_key(1): b"uno"})
    assert cache.get_many([_key(1)]) == {_key(1): b"uno"}


def test_cellcache_ignores_keys_that_are_not_hashes(make_cache: Any) -> None:
    cache = make_cache(1 << 20)
    cache.put_many({"../escape": b"x", _key(1): b"ok"})
    assert cache.get_many(["../escape", _key(1)]) == {_key(1): b"ok"}


def test_cellcache_evicts_least_recently_used(make_cache: Any) -> None:
    cache = make_cache(1000)
    cache.put_many({_key(i): bytes(300) for i in range(3)})
    time.sleep(1.1)  # S3 and file times have a one-second grain: let the hit be newer
    if isinstance(cache, DirCellCache):
        old = time.time() - 100
        for _, _, path in cache.entries():
            os.utime(path, (old, old))
    assert cache.get_many([_key(0)]) == {_key(0): bytes(300)}
    if isinstance(cache, S3CellCache):
        # A fresh object is not re-stamped on a hit; make the refresh apply to this one.
        cache.refresh_s = 0.0
        cache.get_many([_key(0)])
    time.sleep(1.1)
    cache.put_many({_key(9): bytes(300)})  # 1,200 bytes > 1,000: the oldest go first, the hit stays
    left = cache.get_many([_key(i) for i in (0, 1, 2, 9)])
    assert _key(0) in left and _key(9) in left
    assert sum(len(v) for v in left.values()) <= 1000


def test_dir_cellcache_private_files(tmp_path: Path) -> None:
    cache = DirCellCache(tmp_path / "cells", 1 << 20)
    cache.put_many({_key(1): b"x"})
    path = tmp_path / "cells" / _key(1)[:2] / _key(1)
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cells").stat().st_mode & 0o777 == 0o700


def test_dir_cellcache_unwritable_is_a_miss_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    cache = DirCellCache(blocker / "cells", 1 << 20)
    cache.put_many({_key(1): b"x"})
    assert cache.get_many([_key(1)]) == {}


def test_open_cell_cache_specs(tmp_path: Path) -> None:
    assert open_cell_cache(None) is None
    assert open_cell_cache({"dir": str(tmp_path), "maxBytes": 0}) is None
    cache = open_cell_cache({"dir": str(tmp_path), "maxBytes": 10})
    assert isinstance(cache, DirCellCache) and cache.max_bytes == 10
    # One cache per process and spec (a build process runs many builds): the same spec, even
    # built anew, opens nothing again; another spec opens its own.
    assert open_cell_cache({"maxBytes": 10, "dir": str(tmp_path)}) is cache
    other = open_cell_cache({"dir": str(tmp_path / "other"), "maxBytes": 10})
    assert isinstance(other, DirCellCache) and other is not cache and other.root == tmp_path / "other"


def test_dir_cellcache_sweeps_temp_files_a_killed_write_left(tmp_path: Path) -> None:
    """A build stopped mid-write (Ctrl-C, a kill) leaves ``.tmp-*`` files: no read ever removed them and the
    size bound did not count them, so they grew the folder past ``max_bytes`` for good. Eviction removes
    those older than an hour (younger ones may be another process's write in flight)."""
    cache = DirCellCache(tmp_path, max_bytes=1 << 20)
    (tmp_path / "ab").mkdir()
    old, young = tmp_path / "ab" / ".tmp-old", tmp_path / "ab" / ".tmp-young"
    old.write_bytes(b"x" * 1000)
    young.write_bytes(b"x" * 1000)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    cache.put_many({"ab" + "0" * 62: b"cell"})
    assert not old.exists() and young.exists()
    assert cache.get_many(["ab" + "0" * 62]) == {"ab" + "0" * 62: b"cell"}


def test_cellcache_damaged_entries_are_misses(make_cache: Any, caplog: pytest.LogCaptureFixture) -> None:
    """An entry changed after it was written (a byte, cut short, emptied, another entry's bytes, one of an
    earlier version without the check) is a miss, with one line for all of them: in a folder, and in a bucket
    (an object another writer or a faulty gateway changed; it was used as it came)."""
    cache = make_cache(1 << 20)
    if isinstance(cache, DirCellCache):
        where = str(cache.root)

        def read(key: str) -> bytes:
            return (cache.root / key[:2] / key).read_bytes()

        def write(key: str, data: bytes) -> None:
            (cache.root / key[:2] / key).write_bytes(data)
    else:
        where = f"bucket {cache.bucket}"

        def read(key: str) -> bytes:
            return bytes(cache.client.get_object(Bucket=cache.bucket, Key=cache.prefix + key)["Body"].read())

        def write(key: str, data: bytes) -> None:
            cache.client.put_object(Bucket=cache.bucket, Key=cache.prefix + key, Body=data)

    entries = {_key(i): bytes(range(256)) * 4 + bytes([i]) for i in range(6)}
    cache.put_many(entries)
    assert cache.get_many(list(entries)) == entries
    keys = list(entries)
    data = read(keys[0])
    write(keys[0], data[:500] + bytes([data[500] ^ 1]) + data[501:])
    write(keys[1], read(keys[1])[:-1])
    write(keys[2], b"")
    write(keys[3], read(keys[4]))
    write(keys[4], entries[keys[4]])  # bare bytes, as written before the check
    with caplog.at_level("WARNING", logger="sceneforge.storage.cellcache"):
        assert cache.get_many(keys) == {keys[5]: entries[keys[5]]}
    assert [r.getMessage() for r in caplog.records] == [
        f"cell cache: 5 entries in {where} not used: damaged, or of an earlier version"
    ]


def test_dir_cellcache_leaves_alone_what_is_not_its_own(tmp_path: Path) -> None:
    """``--cache`` naming a folder that holds other files too (a home folder, a project): eviction removed any
    ``.tmp-*`` file older than an hour in any folder under it, and any file named by a 64-digit hash (an OCI
    layout's ``sha256/``) once the folder passed its size. Only the cache's own folders are looked into."""
    notes = tmp_path / "projects" / ".tmp-notes"
    notes.parent.mkdir()
    notes.write_text("precious")
    os.utime(notes, (time.time() - 7200, time.time() - 7200))
    layer = tmp_path / "sha256" / _key(7)
    layer.parent.mkdir()
    layer.write_bytes(bytes(5000))
    misplaced = tmp_path / "ab" / _key(8)  # a key's name in a folder of other characters
    misplaced.parent.mkdir()
    misplaced.write_bytes(bytes(5000))
    cache = DirCellCache(tmp_path, max_bytes=100)
    cache.put_many({_key(1): bytes(300)})  # past max_bytes: evicts
    assert notes.read_text() == "precious" and layer.exists() and misplaced.exists()
    assert [path for _, _, path in cache.entries()] == []  # its own entry went, as the bound says


def test_dir_cellcache_says_each_failure_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A folder of entries it cannot read (another user's 0600 files; here folders of their names) logged a line
    per entry, 2,111 for office-1000, and a folder it cannot write a line per write, three or four a build:
    one line per lookup, and one until a write succeeds again."""
    cache = DirCellCache(tmp_path / "cells", 1 << 20)
    keys = [_key(i) for i in range(5)]
    for key in keys:
        (tmp_path / "cells" / key[:2] / key).mkdir(parents=True)
    with caplog.at_level("WARNING", logger="sceneforge.storage.cellcache"):
        assert cache.get_many(keys) == {}
        for _ in range(3):
            cache.put_many({key: b"x" for key in keys})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"cell cache: 5 entries in {tmp_path / 'cells'} unreadable ([Errno 21] Is a directory")
    assert lines[1].startswith(f"cell cache: cannot write to {tmp_path / 'cells'} ([Errno 21] Is a directory")
    for key in keys:
        (tmp_path / "cells" / key[:2] / key).rmdir()
    cache.put_many({keys[0]: b"x"})  # writes again: a later failure is said again
    (tmp_path / "cells" / keys[1][:2] / keys[1]).mkdir()
    with caplog.at_level("WARNING", logger="sceneforge.storage.cellcache"):
        cache.put_many({keys[1]: b"x"})
    assert len(caplog.records) == 3


def test_dir_cellcache_evicts_past_entries_another_worker_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers share the folder: an entry another one's eviction removes between this one's listing and its stat
    raised FileNotFoundError, logged as "cannot write" and no eviction. It is passed over."""
    from sceneforge.storage import cellcache

    cache = DirCellCache(tmp_path, max_bytes=1 << 20)
    cache.put_many({_key(i): bytes(1000) for i in range(12)})
    gone = cache._path(_key(0))
    listing = os.scandir

    def racing(path: Any) -> Any:
        listed = list(listing(path))
        if Path(path) == gone.parent:
            gone.unlink(missing_ok=True)  # the other worker's eviction, after this folder's listing
        return iter(listed)

    cache.max_bytes = 5000
    monkeypatch.setattr(cellcache.os, "scandir", racing)
    assert cache.evict() > 0
    monkeypatch.undo()
    assert sum(size for _, size, _ in cache.entries()) <= 5000
