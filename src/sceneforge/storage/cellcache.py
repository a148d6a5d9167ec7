"""Where incremental builds keep per-cell results (and each scene's last PVS flow, each cell's
BVHs): a directory, or objects in the S3 bucket.

Both implement :class:`sceneforge.incremental.CellCache` and stay under ``max_bytes`` by
evicting the least recently used entries (by modification time, which a hit refreshes):

* :class:`DirCellCache` — files ``<root>/<key[:2]>/<key>`` (0600, directories 0700), written
  atomically (a temporary file renamed into place), so any number of worker processes on the
  machine share it; ``sceneforge build --cache DIR`` and the embedded service use it. Each file
  starts with a CRC-32 of its key and bytes: a file damaged on disk (cut short, overwritten in
  part, another entry's bytes) is a miss, never a cell, tree or record built from wrong bytes.
* :class:`S3CellCache` — objects ``cells/<key>`` in the blob store's bucket, shared by every
  worker of a scaled-out deployment; gets and puts run in parallel; a hit older than
  :attr:`S3CellCache.refresh_s` is copied onto itself to refresh its age. Objects carry the same
  CRC-32 head as the files: an object another writer (or a faulty gateway) changed is a miss too.

A cache is an optimisation: an unreadable or unwritable entry is a miss (logged), never a
failed build. Cost: one ``stat``-free read per hit, one directory scan (or bucket listing) per
build that adds entries.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["DirCellCache", "S3CellCache", "cell_cache_spec", "open_cell_cache"]

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[0-9a-f]{64}$")
#: The folders a :class:`DirCellCache` puts its files in: the keys' first two characters.
_FAN = re.compile(r"[0-9a-f]{2}")
#: Eviction leaves this fraction of ``max_bytes`` in use, so that every put does not evict again.
_LOW_WATER = 0.9
#: A temporary file this many seconds old is no write in flight, but one a killed process left.
_STALE_TEMP_S = 3600.0


def _valid(key: str) -> bool:
    return bool(_KEY.fullmatch(key))


#: A :class:`DirCellCache` file: this magic, the CRC-32 (little-endian) of the key's text then the entry's
#: bytes, then those bytes. The entries' own checks (a cell's magic and sizes) do not see a byte changed
#: inside an array: a NaN or an index past the vertices went into the GLB, or failed the build.
_FILE_MAGIC = b"SFD1"


def _file_head(key: str, data: bytes | memoryview) -> bytes:
    return _FILE_MAGIC + zlib.crc32(data, zlib.crc32(key.encode())).to_bytes(4, "little")


def _log_damaged(count: int, where: object) -> None:
    if count:
        log.warning("cell cache: %d entries in %s not used: damaged, or of an earlier version", count, where)


class DirCellCache:
    """A bounded, process-safe cell cache in a directory."""

    def __init__(self, root: Path | str, max_bytes: int = 1 << 30) -> None:
        self.root, self.max_bytes = Path(root), int(max_bytes)
        #: Writes are failing (logged once, until one succeeds): a build writes three or four times.
        self._write_failing = False

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        damaged = 0
        unreadable: list[OSError] = []
        now = time.time()
        for key in keys:
            if not _valid(key):
                continue
            path = self._path(key)
            try:
                with path.open("rb") as fh:
                    head, data = fh.read(8), fh.read()  # the entry's bytes read apart: no copy of them
            except FileNotFoundError:
                continue
            except OSError as exc:
                unreadable.append(exc)
                continue
            if head != _file_head(key, data):
                damaged += 1
                continue
            found[key] = data
            with contextlib.suppress(OSError):  # the hit's age for eviction; a file of another user's keeps its own
                os.utime(path, (now, now))
        # One line for each kind: a folder of another user's 0600 files, or a damaged one, holds thousands.
        if unreadable:
            what = f"{len(unreadable)} entries in {self.root} unreadable ({unreadable[0]})"
            log.warning("cell cache: %s; computed again", what)
        _log_damaged(damaged, self.root)
        return found

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            for key, data in entries.items():
                if not _valid(key):
                    continue
                folder = self.root / key[:2]
                folder.mkdir(exist_ok=True, mode=0o700)
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(_file_head(key, data))
                        fh.write(data)
                    os.replace(tmp, self._path(key))
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            self.evict()
        except OSError as exc:
            if not self._write_failing:
                log.warning("cell cache: cannot write to %s (%s); the build goes on without it", self.root, exc)
            self._write_failing = True
        else:
            self._write_failing = False

    def entries(self) -> list[tuple[float, int, Path]]:
        """``(mtime, size, path)`` of every entry. Temporary files older than :data:`_STALE_TEMP_S`, left by a
        write that was killed (Ctrl-C mid-build), are removed on the way: nothing else would, and the size
        bound does not count them."""
        out: list[tuple[float, int, Path]] = []
        if not self.root.is_dir():
            return out
        stale = time.time() - _STALE_TEMP_S
        for folder in os.scandir(self.root):
            # Only the cache's own folders (``--cache`` may name a folder holding other files too: a temp file
            # or a file named by a hash in another folder is not the cache's to remove).
            if not (_FAN.fullmatch(folder.name) and folder.is_dir()):
                continue
            for entry in os.scandir(folder.path):
                try:
                    if entry.is_file() and _valid(entry.name) and entry.name.startswith(folder.name):
                        st = entry.stat()
                        out.append((st.st_mtime, st.st_size, Path(entry.path)))
                    elif entry.name.startswith(".tmp-") and entry.is_file() and entry.stat().st_mtime < stale:
                        Path(entry.path).unlink(missing_ok=True)
                except FileNotFoundError:  # evicted, or a temp file renamed, by another worker since the listing
                    continue
        return out

    def evict(self) -> int:
        """Delete least recently used entries until the cache holds at most ``max_bytes``; returns the count."""
        found = self.entries()
        total = sum(size for _, size, _ in found)
        if total <= self.max_bytes:
            return 0
        removed = 0
        for _, size, path in sorted(found):
            if total <= self.max_bytes * _LOW_WATER:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed


class S3CellCache:
    """A bounded cell cache in an S3 bucket (objects ``<prefix><key>``)."""

    #: Seconds after which a hit re-stamps its object (a copy onto itself) so eviction sees it as recent.
    refresh_s = 86_400.0

    def __init__(self, client: Any, bucket: str, max_bytes: int = 1 << 30, prefix: str = "cells/") -> None:
        self.client, self.bucket, self.max_bytes, self.prefix = client, bucket, int(max_bytes), prefix

    def _get(self, key: str) -> tuple[str, bytes | bool | None]:
        """(key, the entry's bytes), None for a miss, False for an object that fails its check."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self.prefix + key
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=name)
            blob = reply["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"NoSuchKey", "404"}:
                log.warning("cell cache: get %s failed (%s)", name, exc)
            return key, None
        except BotoCoreError as exc:
            log.warning("cell cache: get %s failed (%s)", name, exc)
            return key, None
        if blob[:8] != _file_head(key, memoryview(blob)[8:]):
            return key, False
        data = blob[8:]
        stamped = reply.get("LastModified")
        if stamped is not None and datetime.now(UTC) - stamped > timedelta(seconds=self.refresh_s):
            try:
                self.client.copy_object(Bucket=self.bucket, Key=name, CopySource={"Bucket": self.bucket, "Key": name},
                                        MetadataDirective="REPLACE")  # fmt: skip
            except (ClientError, BotoCoreError) as exc:
                log.warning("cell cache: refresh of %s failed (%s)", name, exc)
        return key, data

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        wanted = [k for k in keys if _valid(k)]
        if not wanted:
            return {}
        with ThreadPoolExecutor(max_workers=min(16, len(wanted))) as pool:
            got = list(pool.map(self._get, wanted))
        _log_damaged(sum(v is False for _, v in got), f"bucket {self.bucket}")
        return {k: v for k, v in got if isinstance(v, bytes)}

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        items = [(k, v) for k, v in entries.items() if _valid(k)]
        if not items:
            return

        def put(item: tuple[str, bytes]) -> None:
            key, data = item
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=_file_head(key, data) + data)

        try:
            with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
                list(pool.map(put, items))
            self.evict()
        except (ClientError, BotoCoreError) as exc:
            log.warning("cell cache: put to bucket %s failed (%s); the build goes on without it", self.bucket, exc)

    def evict(self) -> int:
        """Delete least recently modified objects until at most ``max_bytes`` remain; returns the count."""
        found: list[tuple[Any, int, str]] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            found.extend((o["LastModified"], int(o["Size"]), o["Key"]) for o in page.get("Contents", []))
        total = sum(size for _, size, _ in found)
        if total <= self.max_bytes:
            return 0
        doomed = []
        for _, size, name in sorted(found):
            if total <= self.max_bytes * _LOW_WATER:
                break
            doomed.append(name)
            total -= size
        for start in range(0, len(doomed), 1000):
            batch = [{"Key": name} for name in doomed[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(doomed)


def open_cell_cache(spec: Mapping[str, Any] | None) -> DirCellCache | S3CellCache | None:
    """The cache a picklable ``spec`` describes (``{"dir": path, "maxBytes": n}`` or
    ``{"s3": <StorageSettings s3_* fields>, "maxBytes": n}``); None for no spec or ``maxBytes`` 0.
    Opened once per process and spec: a build process runs many builds, and an S3 client is not free."""
    if not spec or int(spec.get("maxBytes", 0)) <= 0:
        return None
    return _opened(json.dumps(spec, sort_keys=True, default=str))


@functools.lru_cache(maxsize=8)
def _opened(spec_json: str) -> DirCellCache | S3CellCache | None:
    spec = json.loads(spec_json)
    limit = int(spec["maxBytes"])
    if spec.get("dir"):
        return DirCellCache(Path(spec["dir"]), limit)
    if spec.get("s3"):
        from ..settings import StorageSettings
        from .s3 import S3BlobStore
        from .stores import open_blob_store

        # The service created the bucket at start; a build only reads and writes in it.
        store = open_blob_store(StorageSettings(**{**dict(spec["s3"]), "blobs": "s3"}), create_bucket=False)
        assert isinstance(store, S3BlobStore)
        return S3CellCache(store.client, store.bucket, limit)
    return None


def cell_cache_spec(storage: Any) -> dict[str, Any] | None:
    """The spec of the cache every worker of a deployment shares (a :class:`~sceneforge.settings.StorageSettings`):
    ``<data_dir>/cellcache`` with file blobs, the bucket's ``cells/`` with S3; None when ``cell_cache_bytes`` is 0."""
    if storage.cell_cache_bytes <= 0:
        return None
    if storage.blobs == "s3":
        s3 = {  # StorageSettings fields, as the build process rebuilds them
            "s3_endpoint": storage.s3_endpoint,
            "s3_bucket": storage.s3_bucket,
            "s3_access_key": storage.s3_access_key,
            "s3_secret_key": storage.s3_secret_key.get_secret_value(),
            "s3_region": storage.s3_region,
            "s3_timeout_s": storage.s3_timeout_s,
        }
        return {"s3": s3, "maxBytes": storage.cell_cache_bytes}
    return {"dir": str(Path(storage.data_dir).resolve() / "cellcache"), "maxBytes": storage.cell_cache_bytes}
