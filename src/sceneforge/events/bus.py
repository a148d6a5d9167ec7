"""The live fan-out of events between processes: a small base class and the in-process default.

A bus only carries events from publishers to each process's :class:`~sceneforge.events.hub.EventHub`;
ordering, gap filling and per-client queues are the hub's work, so a bus may deliver late,
twice or out of order (Redis pub/sub across instances does) without clients noticing.

Scene changes (:data:`ACKNOWLEDGED`) also drop what each process cached about the scene: a
scale-out bus returns from :meth:`EventBus.publish` only once every live instance applied them,
says through :meth:`EventBus.usable` whether this process hears every change right now (its
caches must not answer while it may not), and calls the :meth:`EventBus.on_reset` listeners when
changes may have been missed (after a reconnect), so that caches drop everything.
:func:`~sceneforge.events.hub.open_bus` picks the bus from the settings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from .model import Event

__all__ = ["ACKNOWLEDGED", "ACK_TIMEOUT_S", "Deliver", "EventBus", "MemoryBus"]

#: Called (on the event loop) with every event the bus receives.
Deliver = Callable[[Event], None]

#: Event types whose publisher waits for every instance to have applied them (a new pointer, a privacy
#: change, a rollback, a delete: what cached scene pointers, versions and meta bodies depend on).
ACKNOWLEDGED = frozenset({"scene.built", "scene.invalidated"})
#: Longest wait for those acknowledgements (an instance that died meanwhile is not waited for longer).
ACK_TIMEOUT_S = 2.0


class EventBus(ABC):
    """Publish events; deliver every published event (from any process, for scale-out buses) to ``deliver``."""

    #: Short name for settings and logs.
    name = "abstract"

    def __init__(self) -> None:
        self._resets: list[Callable[[], None]] = []

    def usable(self) -> bool:
        """Whether this process hears every scene change now, so that its caches may answer (default: always)."""
        return True

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever changes may have been missed (a reconnect): caches then drop everything."""
        self._resets.append(listener)

    def _reset(self) -> None:
        for listener in self._resets:
            listener()

    @abstractmethod
    async def start(self, deliver: Deliver) -> None:
        """Begin delivering events to ``deliver``."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send ``event`` to every process's subscribers. Call it after the event's transaction committed."""

    @abstractmethod
    async def close(self) -> None:
        """Stop delivering and release connections."""


class MemoryBus(EventBus):
    """One process: publish hands the event straight to the local hub."""

    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, event: Event) -> None:
        # No yield here: a writer publishing its transaction's events back to back gets them all
        # queued to every subscriber before any stream runs, so each stream writes them at once.
        if self._deliver is not None:
            self._deliver(event)

    async def close(self) -> None:
        self._deliver = None
