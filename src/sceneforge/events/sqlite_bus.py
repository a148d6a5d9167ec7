"""Scene changes between processes sharing one SQLite database: a change counter in shared memory.

SQLite is one machine, so the processes on one database file (several ``sceneforge serve`` on one
data dir, a worker beside them) share its page cache. Beside the database lies ``<db>.changes``: 8
bytes, memory-mapped by every process, holding a counter that each :data:`~.bus.ACKNOWLEDGED`
event (a new pointer, a privacy change, a rollback, a delete) increments under an exclusive
``flock`` before :meth:`SqliteBus.publish` returns. :meth:`SqliteBus.usable` — asked before every
cache read and write — compares the counter with the last value this process saw: a read of 8
bytes, no system call. When another process moved it, the caches drop everything
(:meth:`~.bus.EventBus.on_reset`) and that one call answers False, so a result read from the
database before the change is not kept. The publishing process applies its change itself (the hub
delivers it locally) and does not drop its caches for it.

Events themselves reach the other processes' hubs from the events table, as without this bus.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from .bus import ACKNOWLEDGED, MemoryBus
from .model import Event

__all__ = ["SqliteBus"]

_COUNTER = struct.Struct("<Q")


class SqliteBus(MemoryBus):
    """In-process delivery, plus a shared change counter beside the SQLite database file ``database``."""

    name = "sqlite"

    def __init__(self, database: Path | str) -> None:
        super().__init__()
        self.path = Path(str(database) + ".changes")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < _COUNTER.size:
            with self._locked():  # another process may be creating it at the same time
                if os.fstat(self._fd).st_size < _COUNTER.size:
                    os.ftruncate(self._fd, _COUNTER.size)
        self._map = mmap.mmap(self._fd, _COUNTER.size)
        self._seen = self._read()

    def _read(self) -> int:
        return int(_COUNTER.unpack_from(self._map, 0)[0])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def usable(self) -> bool:
        """True while no other process changed a scene since this one last looked; else drop the caches
        and answer False once."""
        if self._map.closed:
            return False
        current = self._read()
        if current == self._seen:
            return True
        self._seen = current
        self._reset()
        return False

    async def publish(self, event: Event) -> None:
        await super().publish(event)
        if event.type not in ACKNOWLEDGED or self._map.closed:
            return
        with self._locked():
            # Changes of other processes since this one last looked are applied first: under the lock,
            # no other increment can hide between this check and this process's own.
            self.usable()
            self._seen = self._read() + 1
            _COUNTER.pack_into(self._map, 0, self._seen)

    async def close(self) -> None:
        await super().close()
        if not self._map.closed:
            self._map.close()
            os.close(self._fd)
