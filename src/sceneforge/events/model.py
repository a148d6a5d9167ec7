"""The event record of DESIGN §6: ``{"seq", "type", "sceneId", "ts", …body}``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["EVENT_TYPES", "Event", "iso_utc"]

#: Every type an event may have.
EVENT_TYPES = frozenset({"job.status", "job.progress", "scene.built", "scene.invalidated", "presence.update"})


def iso_utc(value: datetime | None) -> str | None:
    """``2025-01-02T03:04:05.678Z`` (milliseconds, UTC), or None."""
    if value is None:
        return None
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Event:
    """One event. ``seq`` is the global order from the events table; None for ephemeral events (presence)."""

    seq: int | None
    type: str
    scene_id: str | None
    #: ISO 8601 UTC with milliseconds.
    ts: str
    #: The rest of the wire object, e.g. ``{"job": {…BuildJob…}}`` or ``{"etag": …}``.
    body: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "sceneId": self.scene_id, "ts": self.ts, **self.body}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        body = {k: v for k, v in data.items() if k not in {"seq", "type", "sceneId", "ts"}}
        return cls(data.get("seq"), data["type"], data.get("sceneId"), data["ts"], body)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        return cls.from_dict(json.loads(text))
