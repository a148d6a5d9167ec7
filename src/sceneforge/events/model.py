"""The event record of docs/events.md: ``{"seq", "type", "sceneId", "ts", …body}``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..wire import iso_utc

__all__ = ["EVENT_TYPES", "Event", "iso_utc"]

#: Every type an event may have.
EVENT_TYPES = frozenset(
    {
        "job.status",
        "job.progress",
        "scene.built",
        "scene.invalidated",
        "scene.published",
        "draft.revised",
        "presence.update",
    }
)


@dataclass(frozen=True, slots=True)
class Event:
    """One event. ``seq`` is the global order from the events table; None for ephemeral events (presence)."""

    seq: int | None
    type: str
    scene_id: str | None
    #: ISO 8601 UTC with milliseconds.
    ts: str
    #: The rest of the wire object, e.g. ``{"job": {…BuildJob…}}`` or ``{"etag": …}``. Not changed once made.
    body: dict[str, Any] = field(default_factory=dict)
    # The wire forms, made on first use and shared by every subscriber (fan-out encodes an event once).
    _json: str | None = field(default=None, init=False, repr=False, compare=False)
    _sse: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "sceneId": self.scene_id, "ts": self.ts, **self.body}

    def to_json(self, *, keep: bool = True) -> str:
        """The compact JSON object (computed once per event; not kept with ``keep=False``)."""
        text = self._json
        if text is None:
            text = json.dumps(self.as_dict(), separators=(",", ":"))
            if keep:
                object.__setattr__(self, "_json", text)
        return text

    def to_sse(self, *, keep: bool = True) -> bytes:
        """The SSE frame: ``id:`` seq (absent without one), ``event:`` type, ``data:`` the JSON, a blank line.

        Computed once per event: a fan-out to any number of streams writes these same bytes. A replay's events
        belong to one stream alone: ``keep=False`` makes the frame without keeping it (or the JSON) on the event.
        """
        frame = self._sse
        if frame is None:
            head = f"id: {self.seq}\n" if self.seq is not None else ""
            frame = f"{head}event: {self.type}\ndata: {self.to_json(keep=keep)}\n\n".encode()
            if keep:
                object.__setattr__(self, "_sse", frame)
        return frame

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        body = {k: v for k, v in data.items() if k not in {"seq", "type", "sceneId", "ts"}}
        return cls(data.get("seq"), data["type"], data.get("sceneId"), data["ts"], body)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        return cls.from_dict(json.loads(text))
