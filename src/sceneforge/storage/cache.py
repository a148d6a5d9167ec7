"""Each process's cache of what serving a scene needs: version descriptors, latest pointers, meta bodies.

Serving a GLB needs a version's ETag, blob key and size — never its meta JSON, whose decoding
used to dominate every request (57 % of a 304's time went to ``json.loads``). Versions are
immutable, so an entry found by ``(scene, etag)`` or ``(scene, n)`` never goes stale while the
scene exists. What moves is the *latest pointer* (and the private flag kept with it): a publish
or a delete in this process drops it (:meth:`SceneCache.scene_changed`), and so does a
``scene.built`` or ``scene.published`` event from another instance; ``scene.invalidated`` (a delete, or an operator's
purge) drops everything held for the scene (:meth:`SceneCache.scene_removed`), since version
numbers are handed out again once a scene is deleted and built anew.

Across instances the event bus carries those events (``events/bus.py``). While it cannot promise
that this process hears every change (its listener connection is down, or has not been confirmed
for a lease period), the guard given to :meth:`SceneCache.guard` is False: every lookup misses and
nothing is kept, so requests are answered from the database; after a reconnect the bus clears the
cache (:meth:`SceneCache.clear`), since changes may have been missed.

A lookup that raced an invalidation must not put back what was just dropped: readers take
:attr:`SceneCache.epoch` before asking the database and :meth:`~SceneCache.put_pointer` /
:meth:`~SceneCache.put_meta` ignore results older than the last invalidation.

Single-threaded: every call happens on the event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

__all__ = ["MetaBody", "SceneCache", "ScenePointer", "VersionRef"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class VersionRef:
    """One immutable version without its meta: what delivering its GLB needs."""

    scene_id: str
    n: int
    etag: str
    glb_key: str
    bytes: int
    created_at: datetime
    #: False for a draft build nobody has published: readable by exact URL with read access only.
    published: bool = True


@dataclass(frozen=True, slots=True)
class ScenePointer:
    """A scene's public pointer (its latest version, None before the first build) and its private flag."""

    scene_id: str
    private: bool
    latest: VersionRef | None
    #: The row's ``link_nonce``, signed into its links (None on rows made before migration 0007).
    link_nonce: str | None = None


@dataclass(frozen=True, slots=True)
class MetaBody:
    """A version's meta JSON, serialized once, with the entity-tag of those bytes."""

    body: bytes
    etag: str


class _Lru(Generic[K, V]):
    """A dict that forgets its least recently used entries past ``limit`` (entries weigh ``weight`` each)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: K, value: V, weight: int = 1) -> None:
        self.pop(key)
        if weight > self.limit:
            return
        self._items[key] = (value, weight)
        self.size += weight
        while self.size > self.limit:
            _key, (_value, gone) = self._items.popitem(last=False)
            self.size -= gone

    def pop(self, key: K) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.size -= item[1]

    def drop_where(self, scene_id: str) -> None:
        """Forget every entry whose key is a tuple starting with ``scene_id``."""
        for key in [k for k in self._items if isinstance(k, tuple) and k[0] == scene_id]:
            self.pop(key)

    def clear(self) -> None:
        self._items.clear()
        self.size = 0


def _always() -> bool:
    return True


class SceneCache:
    """Version descriptors, latest pointers and meta bodies of one process (see the module docstring)."""

    #: Version descriptors kept (each is found by ETag and by number: two entries).
    max_versions = 20_000
    #: Scenes whose latest pointer is kept.
    max_pointers = 10_000
    #: Bytes of serialized meta JSON kept (a 1,400-cell maze's meta is about 1 MB).
    max_meta_bytes = 64 * 1024 * 1024

    def __init__(
        self, *, max_versions: int | None = None, max_pointers: int | None = None, max_meta_bytes: int | None = None
    ) -> None:
        """Limits left None take the class defaults."""
        #: Bumped by every invalidation; a result read before the bump is not cached.
        self.epoch = 0
        self._usable: Callable[[], bool] = _always
        self._refs: _Lru[tuple[str, str | int], VersionRef] = _Lru(2 * (max_versions or self.max_versions))
        self._pointers: _Lru[str, ScenePointer] = _Lru(max_pointers or self.max_pointers)
        self._meta: _Lru[tuple[str, int, str], MetaBody] = _Lru(max_meta_bytes or self.max_meta_bytes)

    def guard(self, usable: Callable[[], bool]) -> None:
        """Answer and keep entries only while ``usable()`` (:meth:`sceneforge.events.bus.EventBus.usable`)."""
        self._usable = usable

    def pointer(self, scene_id: str) -> ScenePointer | None:
        return self._pointers.get(scene_id) if self._usable() else None

    def put_pointer(self, pointer: ScenePointer, epoch: int) -> None:
        """Keep ``pointer`` (read when :attr:`epoch` was ``epoch``) unless an invalidation came since."""
        if epoch != self.epoch or not self._usable():
            return
        self._pointers.put(pointer.scene_id, pointer)
        if pointer.latest is not None:
            self.put_ref(pointer.latest)

    def ref(self, scene_id: str, key: str | int) -> VersionRef | None:
        """The version of ``scene_id`` with ETag ``key`` (str) or number ``key`` (int)."""
        return self._refs.get((scene_id, key)) if self._usable() else None

    def put_ref(self, ref: VersionRef) -> None:
        """Keep an immutable version descriptor (valid until its scene is removed)."""
        if not self._usable():
            return
        self._refs.put((ref.scene_id, ref.etag), ref)
        self._refs.put((ref.scene_id, ref.n), ref)

    def meta(self, ref: VersionRef) -> MetaBody | None:
        return self._meta.get((ref.scene_id, ref.n, ref.etag)) if self._usable() else None

    def put_meta(self, ref: VersionRef, meta: MetaBody, epoch: int) -> None:
        if epoch == self.epoch and self._usable():
            self._meta.put((ref.scene_id, ref.n, ref.etag), meta, len(meta.body))

    def on_event(self, kind: str, scene_id: str | None) -> None:
        """Apply an event seen from any instance: ``scene.built`` and ``scene.published`` move the pointer
        (:meth:`scene_changed`), ``scene.invalidated`` removes the scene (:meth:`scene_removed`).

        ``scene.published`` and the ``scene.invalidated`` that follows it are written in the transaction that moves
        the pointer, and sent by the publishing process once it committed: one that died before sending them left
        them to the other instances' reads of the events table (a hole filled, the periodic check of its top), where
        ``scene.published`` alone must already drop the pointer."""
        if scene_id is None:
            return
        if kind in ("scene.built", "scene.published"):
            self.scene_changed(scene_id)
        elif kind == "scene.invalidated":
            self.scene_removed(scene_id)

    def scene_changed(self, scene_id: str) -> None:
        """The scene's pointer or flag moved (a publish, a rollback, ``scene.built``): forget the pointer."""
        self.epoch += 1
        self._pointers.pop(scene_id)

    def scene_removed(self, scene_id: str) -> None:
        """The scene was deleted or purged (``scene.invalidated``): forget everything held for it."""
        self.epoch += 1
        self._pointers.pop(scene_id)
        self._refs.drop_where(scene_id)
        self._meta.drop_where(scene_id)

    def clear(self) -> None:
        self.epoch += 1
        self._pointers.clear()
        self._refs.clear()
        self._meta.clear()
