"""The live fan-out of events between processes: a small base class and the in-process default.

A bus only carries events from publishers to each process's :class:`~sceneforge.events.hub.EventHub`;
ordering, gap filling and per-client queues are the hub's work, so a bus may deliver late,
twice or out of order (Redis pub/sub across instances does) without clients noticing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from .model import Event

__all__ = ["Deliver", "EventBus", "MemoryBus"]

#: Called (on the event loop) with every event the bus receives.
Deliver = Callable[[Event], None]


class EventBus(ABC):
    """Publish events; deliver every published event (from any process, for scale-out buses) to ``deliver``."""

    #: Short name for settings and logs.
    name = "abstract"

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
