"""One suite for every blob store: files, SeaweedFS, moto."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from sceneforge.errors import NotFound, StorageError
from sceneforge.storage import BlobStore, FileBlobStore, blob_key

DATA = bytes(range(256)) * 1000 + b"tail"


def test_blob_put_returns_sha256_key(blob_store: BlobStore) -> None:
    key = blob_store.put(DATA)
    assert key == hashlib.sha256(DATA).hexdigest() == blob_key(DATA)
    assert blob_store.exists(key)
    assert blob_store.size(key) == len(DATA)
    assert blob_store.get(key) == DATA


def test_blob_put_twice_is_idempotent(blob_store: BlobStore) -> None:
    assert blob_store.put(DATA) == blob_store.put(DATA)
    assert blob_store.get(blob_key(DATA)) == DATA


@pytest.mark.parametrize(
    ("start", "stop"), [(0, 1), (0, len(DATA)), (1000, 70_000), (len(DATA) - 4, len(DATA)), (5, 5)]
)
def test_blob_iter_range_matches_slice(blob_store: BlobStore, start: int, stop: int) -> None:
    key = blob_store.put(DATA)
    assert b"".join(blob_store.iter_range(key, start, stop)) == DATA[start:stop]


def test_blob_iter_range_streams_in_bounded_chunks(blob_store: BlobStore) -> None:
    key = blob_store.put(DATA)
    chunks = list(blob_store.iter_range(key, 0, len(DATA), chunk_size=4096))
    assert len(chunks) > 1
    assert max(len(c) for c in chunks) <= 4096
    assert b"".join(chunks) == DATA


def test_blob_missing_is_not_found(blob_store: BlobStore) -> None:
    missing = blob_key(b"never stored")
    assert not blob_store.exists(missing)
    with pytest.raises(NotFound):
        blob_store.size(missing)
    with pytest.raises(NotFound):
        list(blob_store.iter_range(missing, 0, 1))
    with pytest.raises(NotFound):
        blob_store.get(missing)


def test_blob_malformed_key_is_not_found(blob_store: BlobStore) -> None:
    assert not blob_store.exists("../etc/passwd")
    with pytest.raises(NotFound):
        blob_store.size("../etc/passwd")
    blob_store.delete("../etc/passwd")


def test_blob_delete_removes_and_tolerates_absent(blob_store: BlobStore) -> None:
    key = blob_store.put(b"short-lived")
    blob_store.delete(key)
    assert not blob_store.exists(key)
    blob_store.delete(key)


def test_blob_store_ping_succeeds(blob_store: BlobStore) -> None:
    blob_store.ping()


def test_blob_local_path_or_presigned_url_serves_bytes(blob_store: BlobStore) -> None:
    key = blob_store.put(DATA)
    path = blob_store.local_path(key)
    if path is not None:
        assert path.read_bytes() == DATA
        assert blob_store.presigned_url(key) is None
        return
    url = blob_store.presigned_url(key, expires_s=60, content_type="model/gltf-binary")
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == DATA


@pytest.mark.parametrize("errno_code", [errno.EIO, errno.EACCES])
def test_a_file_store_that_cannot_look_up_a_blob_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_code: int
) -> None:
    """A disk failing (or refusing) the lookup of a blob's file is the store failing, code blob_store_failed, for a
    write (put() looks the key up first) as for a read: not a bare OSError, which the API answered with a 500."""
    store = FileBlobStore(tmp_path / "blobs")
    key = store.put(b"stored before the disk failed")

    def failing(self: Path, *args: object, **kwargs: object) -> os.stat_result:
        raise OSError(errno_code, os.strerror(errno_code), str(self))

    monkeypatch.setattr(Path, "stat", failing)
    for operation in (lambda: store.put(b"written after"), lambda: store.size(key), lambda: store.get(key)):
        with pytest.raises(StorageError) as raised:
            operation()
        assert not isinstance(raised.value, NotFound) and raised.value.code == "blob_store_failed", raised.value
        assert raised.value.public is not None and str(tmp_path) not in raised.value.public


def test_a_file_store_on_a_read_only_disk_says_so_where_it_moves_or_lists_blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Releasing a blob (moving it aside, putting it back, purging it), deleting one and listing them meet a disk
    that became read-only or fails as the S3 store meets S3 failing: a StorageError naming the store (code
    blob_store_failed), where a bare OSError made sceneforge gc say the database could not be used."""
    store = FileBlobStore(tmp_path / "blobs")
    key = store.put(b"stored before the disk went read-only")
    token = store.withdraw(key)
    assert token is not None
    store.restore(key, token)
    token = store.withdraw(key)
    assert token is not None
    other = store.put(b"another blob, still in place")

    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    for name in ("rename", "replace", "unlink"):
        monkeypatch.setattr(os, name, read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    monkeypatch.setattr(Path, "iterdir", unreadable)
    operations = {
        "withdraw": lambda: store.withdraw(other),
        "restore": lambda: store.restore(key, token),
        "purge": lambda: store.purge(token),
        "delete": lambda: store.delete(key),
        "listing": lambda: list(store.listing()),
        "withdrawn": lambda: list(store.withdrawn()),
        "partials": lambda: list(store.partials()),
    }
    for name, operation in operations.items():
        with pytest.raises(StorageError) as raised:
            operation()
        assert not isinstance(raised.value, NotFound) and raised.value.code == "blob_store_failed", (name, raised)


def test_s3_stores_opened_at_once_both_start(s3_blob_store: Any) -> None:
    """Two instances starting together each found the bucket missing, then one's CreateBucket answered
    BucketAlreadyOwnedByYou (the other had made it): its start-up failed. Here the bucket exists when the
    second store creates it, as in that race."""
    from sceneforge.storage.s3 import S3BlobStore

    client = s3_blob_store.client
    missing = {"Error": {"Code": "404"}, "ResponseMetadata": {"HTTPStatusCode": 404}}
    head = client.head_bucket

    def not_there_yet(**kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError(missing, "HeadBucket")  # type: ignore[arg-type]

    client.head_bucket = not_there_yet
    try:
        again = S3BlobStore.__new__(S3BlobStore)
        again.client, again.bucket = client, s3_blob_store.bucket
        again.ensure_bucket()
    finally:
        client.head_bucket = head
    key = s3_blob_store.put(b"still here")
    assert s3_blob_store.get(key) == b"still here"


def test_the_test_s3_server_has_volumes_for_every_bucket_a_session_makes(s3_server: Any) -> None:
    """Each bucket takes a SeaweedFS volume at its first write; sized from free disk space, the volume count ran out
    on a small disk and the n-th bucket's first write answered 500 InternalError."""
    from tests.support.servers import S3_VOLUMES

    assert s3_server.master is not None
    topology = httpx.get(f"{s3_server.master}/dir/status", timeout=10).json()["Topology"]
    assert topology["Max"] >= S3_VOLUMES, topology
