"""Events: the log (events table), buses (in-process, Redis, PostgreSQL LISTEN/NOTIFY), the ordering hub, SSE."""

from .bus import EventBus, MemoryBus
from .hub import EventHub, Subscription, SubscriptionDropped
from .log import EventLog
from .model import EVENT_TYPES, Event, iso_utc
from .pg_bus import PgBus
from .presence import Presence
from .redis_bus import RedisBus
from .sse import format_event, parse_last_event_id, sse_stream

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventBus",
    "EventHub",
    "EventLog",
    "MemoryBus",
    "PgBus",
    "Presence",
    "RedisBus",
    "Subscription",
    "SubscriptionDropped",
    "format_event",
    "iso_utc",
    "parse_last_event_id",
    "sse_stream",
]
