"""Content-addressed blob storage: the base class and the embedded file-system store.

A blob's key is the SHA-256 hex digest of its bytes, so a key names one content forever:
writes are idempotent, readers can cache by key, and two scenes sharing bytes share a blob.
Every method is synchronous (file and S3 I/O both block); the HTTP edge calls them from
worker threads and streams ranges chunk by chunk, never the whole blob at once.

The file store keeps the data private to the service user: directories 0700, blob files 0600
(:func:`private_dir`). :meth:`BlobStore.listing` enumerates what is stored, for the collection of
blobs no record refers to any more (:mod:`.gc`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG

from ..errors import NotFound, StorageError, StorageFull

__all__ = [
    "CHUNK_SIZE",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "WITHDRAWN_PREFIX",
    "BlobInfo",
    "BlobStore",
    "FileBlobStore",
    "blob_key",
    "check_key",
    "is_key",
    "os_fault",
    "private_dir",
    "withdrawn_key",
    "withdrawn_name",
]

log = logging.getLogger(__name__)

#: Bytes read per step when streaming a blob or a range of it.
CHUNK_SIZE = 256 * 1024

_KEY = re.compile(r"^[0-9a-f]{64}$")

#: Prefix of the temp file a blob is written to before its rename (:meth:`FileBlobStore._write`).
PARTIAL_PREFIX = ".tmp-"
_PARTIAL = re.compile(r"^[0-9a-f]{2}/\.tmp-[A-Za-z0-9_]+$")

#: Prefix of a blob moved aside while a release checks the records once more (:meth:`BlobStore.withdraw`).
WITHDRAWN_PREFIX = ".out-"
_WITHDRAWN = re.compile(r"^\.out-([0-9a-f]{64})\.[0-9a-f]{32}$")


def withdrawn_name(key: str) -> str:
    """A fresh name for blob ``key`` moved aside (unique: two releases never share one)."""
    return f"{WITHDRAWN_PREFIX}{check_key(key)}.{uuid.uuid4().hex}"


def withdrawn_key(name: str) -> str | None:
    """The blob key of a name :func:`withdrawn_name` made; None for any other name."""
    found = _WITHDRAWN.fullmatch(name)
    return found.group(1) if found else None


#: ``errno`` values that mean "no room left": the write is refused as full (HTTP 507), not as broken.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def os_fault(exc: OSError, store: str, doing: str) -> StorageError:
    """``exc``, met by ``store`` (``blob store``, ``database``) while ``doing`` (``write blob …``), as the
    :class:`StorageError` clients get: :class:`StorageFull` with code ``<store>_full`` for a full disk or a quota,
    else code ``<store>_failed`` (``EIO``, ``EROFS``, ``EACCES``, …). The message keeps the path for the log; the
    public text names the store and the reason only."""
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = f"{exc.strerror or exc}" + (f" ({name})" if name else "")
    prefix = store.replace(" ", "_")
    if exc.errno in FULL_ERRNOS:
        public = f"the {store} has no room left: {reason}; nothing was stored"
        return StorageFull(f"{store} could not {doing}: {exc}", code=f"{prefix}_full", public=public)
    public = f"the {store} could not {doing.split(' ')[0]}: {reason}"
    return StorageError(f"{store} could not {doing}: {exc}", code=f"{prefix}_failed", public=public)


@contextlib.contextmanager
def _disk_faults(doing: str) -> Iterator[None]:
    """The disk failing (or refusing) while the file store is ``doing`` something, as :func:`os_fault` says it."""
    try:
        yield
    except OSError as exc:
        raise os_fault(exc, "blob store", doing) from exc


#: Modes of what the service writes under its data dir: only the service user reads it.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path | str) -> Path:
    """Make ``path`` a directory only its owner can enter (0700, whatever the umask); parents it had to
    create get 0700 too, existing parents are left as they are."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    for made in missing:
        made.chmod(PRIVATE_DIR_MODE)
    if path.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob as listed: its key, size and when it was written."""

    key: str
    bytes: int
    modified: datetime


def blob_key(data: bytes) -> str:
    """The key of ``data``: its SHA-256 as 64 lower-case hex characters."""
    return hashlib.sha256(data).hexdigest()


def is_key(text: str) -> bool:
    """Whether ``text`` is a well-formed blob key (64 lower-case hex characters)."""
    return _KEY.fullmatch(text) is not None


def check_key(key: str) -> str:
    """Return ``key`` if it is a well-formed blob key; raise :class:`NotFound` otherwise (it cannot exist)."""
    if not _KEY.fullmatch(key):
        raise NotFound(f"blob {key!r} does not exist (keys are 64 hex characters)")
    return key


class BlobStore(ABC):
    """Immutable, content-addressed blobs. Subclasses implement the primitive operations."""

    #: Short name used in settings, logs and test ids.
    name: str = "abstract"

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its key."""
        key = blob_key(data)
        if not self.exists(key):
            self._write(key, data)
        return key

    def ensure(self, key: str, data: bytes) -> None:
        """Store ``data`` (whose key is ``key``) again if it is gone.

        Writers call it once the record naming ``key`` has committed: :meth:`put` may have found the
        bytes stored (and written nothing) just before a release that did not see the record yet
        moved them aside (:mod:`.gc`, "Releasing"). One existence check when nothing raced.
        """
        try:
            if not self.exists(key):
                self._write(key, data)
        except Exception as exc:  # the write it follows has committed: a store failing now does not undo it
            log.warning("blob %s could not be checked after the record naming it was written: %s", key, exc)

    @abstractmethod
    def withdraw(self, key: str) -> str | None:
        """Move blob ``key`` out of reach (readers and :meth:`put` see it absent) and return a token
        for :meth:`restore` or :meth:`purge`; None if it is not stored. Atomic: a concurrent
        :meth:`put` either finds the blob before it goes (and its writer's :meth:`ensure` writes it
        again) or writes it anew."""

    @abstractmethod
    def restore(self, key: str, token: str) -> None:
        """Put a withdrawn blob back under ``key`` (the same bytes, if a writer stored them meanwhile)."""

    @abstractmethod
    def purge(self, token: str) -> None:
        """Remove a withdrawn blob for good; an absent one is not an error."""

    @abstractmethod
    def withdrawn(self) -> Iterator[tuple[str, str, datetime]]:
        """(key, token, when it was set aside) of every blob withdrawn: a release stopped midway, or one
        in progress."""

    @abstractmethod
    def _write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically: readers see all of it or nothing."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The length in bytes of blob ``key``; :class:`NotFound` if absent."""

    @abstractmethod
    def iter_range(self, key: str, start: int, stop: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield bytes ``[start, stop)`` of blob ``key`` in chunks of at most ``chunk_size``.

        ``0 <= start <= stop <= size`` is the caller's contract. :class:`NotFound` if absent.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove blob ``key``; removing an absent key is not an error."""

    @abstractmethod
    def listing(self) -> Iterator[BlobInfo]:
        """Every blob stored, in no particular order (a walk of the store: O(blobs))."""

    def partials(self) -> Iterator[BlobInfo]:
        """Writes a killed process left unfinished (never readable as blobs), ``key`` naming each for
        :meth:`delete_partial`; none where a write is all or nothing (S3)."""
        return iter(())

    def delete_partial(self, key: str) -> None:
        """Remove the unfinished write ``key`` (one :meth:`partials` listed)."""
        return None

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`StorageError` unless the store is reachable and usable."""

    def get(self, key: str) -> bytes:
        """The whole blob. Meant for small blobs (descriptions, assets given to the compiler)."""
        return b"".join(self.iter_range(key, 0, self.size(key)))

    def local_path(self, key: str) -> Path | None:
        """A file holding the blob, when the store keeps one locally (zero-copy delivery); else None."""
        return None

    def presigned_url(self, key: str, expires_s: int = 300, content_type: str | None = None) -> str | None:
        """A URL anyone may GET the blob from until it expires, when the store can mint one; else None."""
        return None


class FileBlobStore(BlobStore):
    """Blobs as files under ``root/ab/cdef…`` (two-character fan-out), written via temp file + fsync + rename.

    Directories are 0700 and files 0600: the blobs include private scenes and their descriptions.
    """

    name = "file"

    def __init__(self, root: Path | str) -> None:
        self.root = private_dir(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:]

    def _write(self, key: str, data: bytes) -> None:
        try:
            self._write_file(key, data)
        except OSError as exc:  # a full disk, a read-only or failing one: its temp file is gone already
            raise os_fault(exc, "blob store", f"write blob {key}") from exc

    def _write_file(self, key: str, data: bytes) -> None:
        final = self._path(key)
        if not final.parent.is_dir():
            private_dir(final.parent)
        fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), PRIVATE_FILE_MODE)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except NotFound:
            return False
        except OSError as exc:  # EIO, EACCES, …: the disk, not the key (put() asks first, so writes meet it too)
            raise os_fault(exc, "blob store", f"read blob {key}") from exc

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {key} does not exist") from None
        except OSError as exc:
            raise os_fault(exc, "blob store", f"read blob {key}") from exc

    def iter_range(self, key: str, start: int, stop: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        try:
            fh = self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"blob {key} does not exist") from None
        except OSError as exc:  # EIO, EACCES, …: the disk, not the request
            raise os_fault(exc, "blob store", f"read blob {key}") from exc
        return self._read(fh, start, stop, chunk_size, key)

    @staticmethod
    def _read(fh: object, start: int, stop: int, chunk_size: int, key: str) -> Iterator[bytes]:
        with fh as f:  # type: ignore[attr-defined]
            try:
                f.seek(start)
                left = stop - start
                while left > 0:
                    chunk = f.read(min(chunk_size, left))
                    if not chunk:
                        raise StorageError("blob is shorter than its recorded size")
                    left -= len(chunk)
                    yield chunk
            except OSError as exc:  # a read error of the disk midway
                raise os_fault(exc, "blob store", f"read blob {key}") from exc

    def delete(self, key: str) -> None:
        try:
            path = self._path(key)
        except NotFound:
            return
        with _disk_faults(f"delete blob {key}"):
            path.unlink(missing_ok=True)

    def listing(self) -> Iterator[BlobInfo]:
        with _disk_faults("list the blobs"):
            yield from self._listing()

    def _listing(self) -> Iterator[BlobInfo]:
        for fan in self.root.iterdir():
            if len(fan.name) != 2 or not fan.is_dir():
                continue
            for entry in fan.iterdir():
                key = fan.name + entry.name
                if not is_key(key):
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:  # deleted since the folder was read (a scene deleted meanwhile)
                    continue
                if not S_ISREG(stat.st_mode):  # a folder of a blob's name is no blob (nor removed as one)
                    continue
                yield BlobInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def partials(self) -> Iterator[BlobInfo]:
        with _disk_faults("list the unfinished writes"):
            yield from self._partials()

    def _partials(self) -> Iterator[BlobInfo]:
        for fan in self.root.iterdir():
            if len(fan.name) != 2 or not fan.is_dir():
                continue
            for entry in fan.iterdir():
                key = f"{fan.name}/{entry.name}"
                if _PARTIAL.fullmatch(key):
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:  # renamed into place (or removed) meanwhile
                        continue
                    yield BlobInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def delete_partial(self, key: str) -> None:
        if not _PARTIAL.fullmatch(key):
            raise NotFound(f"{key!r} is not an unfinished blob write")
        with _disk_faults(f"delete unfinished write {key}"):
            (self.root / key).unlink(missing_ok=True)

    def withdraw(self, key: str) -> str | None:
        token = f"{key[:2]}/{withdrawn_name(key)}"
        try:
            os.rename(self._path(key), self.root / token)  # atomic: a reader has it open still, a new one misses it
        except FileNotFoundError:
            return None
        except OSError as exc:  # a read-only or failing disk: the blob stays where it is
            raise os_fault(exc, "blob store", f"move blob {key} aside") from exc
        with contextlib.suppress(FileNotFoundError):  # stamped when set aside, as S3's copy aside is (gc's grace)
            os.utime(self.root / token)
        return token

    def _token_path(self, token: str, key: str | None = None) -> Path:
        fan, _, name = token.partition("/")
        found = withdrawn_key(name)
        if found is None or found[:2] != fan or (key is not None and found != key):
            raise NotFound(f"{token!r} is not a withdrawn blob{'' if key is None else ' of ' + key}")
        return self.root / token

    def restore(self, key: str, token: str) -> None:
        source, target = self._token_path(token, key), self._path(key)
        with _disk_faults(f"restore blob {key}"), contextlib.suppress(FileNotFoundError):
            os.replace(source, target)

    def purge(self, token: str) -> None:
        path = self._token_path(token)
        with _disk_faults(f"delete withdrawn blob {token}"):
            path.unlink(missing_ok=True)

    def withdrawn(self) -> Iterator[tuple[str, str, datetime]]:
        with _disk_faults("list the withdrawn blobs"):
            yield from self._withdrawn()

    def _withdrawn(self) -> Iterator[tuple[str, str, datetime]]:
        for fan in self.root.iterdir():
            if len(fan.name) != 2 or not fan.is_dir():
                continue
            for entry in fan.iterdir():
                key = withdrawn_key(entry.name)
                if key is None or key[:2] != fan.name:
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:  # restored or purged meanwhile
                    continue
                yield key, f"{fan.name}/{entry.name}", datetime.fromtimestamp(stat.st_mtime, UTC)

    def ping(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK):
            raise StorageError(f"blob directory {self.root} is missing or not writable")

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None
