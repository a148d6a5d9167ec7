"""The WebSocket protocol of ``/ws`` (docs/events.md, "WebSocket") and per-scene presence.

Client → server (JSON): ``{"op":"subscribe","sceneId":…,"since":n}`` (replays the scene's events
after ``n``, then live), ``{"op":"unsubscribe","sceneId":…}``, ``{"op":"presence","sceneId":…,
"state":{…}}``, ``{"op":"ping"}``. Server → client: events as in SSE, ``{"type":"presence.update",
"sceneId":…,"viewers":[{"id","state"}]}`` whenever who views a scene changes, ``{"op":"pong"}``,
and ``{"type":"error","message":…}`` for a bad message. A connection views the scenes it is
subscribed to; its presence is cleared when it unsubscribes or disconnects. With Redis, viewers
connected to other API instances are listed too (see :mod:`.presence`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from .hub import EventHub, Subscription, SubscriptionDropped
from .log import EventLog
from .model import Event
from .presence import Presence
from .replay import replay, unseen

__all__ = ["Presence", "serve_socket"]

#: Close code for a refused credential (4000 + HTTP status, a common convention).
CLOSE_UNAUTHORIZED = 4401
#: Close code when the client fell too far behind (it reconnects and resumes with ``since``).
CLOSE_TOO_SLOW = 4408
#: Largest ``state`` object accepted in a presence message, in bytes of JSON.
MAX_STATE_BYTES = 4096


async def serve_socket(
    socket: WebSocket,
    hub: EventHub,
    log: EventLog,
    presence: Presence,
    authenticate: Callable[[str | None, str | None], Awaitable[bool]],
    *,
    key: str | None = None,
    token: str | None = None,
) -> None:
    """Run one WebSocket connection until it closes."""
    if not await authenticate(key, token):
        await socket.close(code=CLOSE_UNAUTHORIZED)
        return
    await socket.accept()
    conn_id = uuid.uuid4().hex[:12]
    sub: Subscription = hub.subscribe([])
    writer = asyncio.create_task(_pump(socket, sub, log))
    presence.bind(hub)

    def reply(payload: dict[str, Any]) -> None:
        sub.put_control(("send", json.dumps(payload)))

    try:
        while True:
            try:
                message = json.loads(await socket.receive_text())
                op = message.get("op") if isinstance(message, dict) else None
            except (ValueError, TypeError):
                reply({"type": "error", "message": "messages are JSON objects"})
                continue
            scene_id = message.get("sceneId")
            if op == "ping":
                reply({"op": "pong"})
            elif op in {"subscribe", "unsubscribe", "presence"} and not isinstance(scene_id, str):
                reply({"type": "error", "message": f"{op} needs a sceneId"})
            elif op == "subscribe":
                assert sub.scenes is not None
                since = message.get("since")
                sub.scenes.add(scene_id)
                start = since if isinstance(since, int) and since >= 0 else None
                sub.put_control(("subscribe", scene_id, start, hub.last))
                presence.join(scene_id, conn_id)
            elif op == "unsubscribe":
                assert sub.scenes is not None
                sub.scenes.discard(scene_id)
                presence.leave(scene_id, conn_id)
            elif op == "presence":
                state = message.get("state") or {}
                if not isinstance(state, dict) or len(json.dumps(state)) > MAX_STATE_BYTES:
                    reply({"type": "error", "message": "state is a small JSON object"})
                    continue
                presence.set(scene_id, conn_id, state)
            else:
                reply({"type": "error", "message": f"unknown op {op!r}"})
    except WebSocketDisconnect:
        pass
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        sub.close()
        presence.leave_all(conn_id)


async def _pump(socket: WebSocket, sub: Subscription, log: EventLog) -> None:
    """The connection's only writer: events, replies, and replays, in the order they were queued."""
    sent: dict[str, int] = {}  # scene → last seq sent (dedupes a replay against the live queue)
    while True:
        try:
            item = await sub.get(timeout=30.0)
        except SubscriptionDropped:
            await socket.close(code=CLOSE_TOO_SLOW)
            return
        if item is None:
            continue
        if isinstance(item, tuple) and item[0] == "send":
            await socket.send_text(item[1])
        elif isinstance(item, tuple) and item[0] == "subscribe":
            _, scene_id, since, live_from = item
            sent[scene_id] = live_from if since is None else since
            if since is not None:
                await _replay(socket, log, scene_id, sent)
        elif isinstance(item, Event):
            key = item.scene_id or ""
            fresh, sent[key] = unseen((item,), sent.get(key, 0))
            if fresh:
                await socket.send_text(item.to_json())


async def _replay(socket: WebSocket, log: EventLog, scene_id: str, sent: dict[str, int]) -> None:
    async for batch in replay(log, sent[scene_id], scene_id=scene_id):
        for event in batch:
            await socket.send_text(event.to_json())
        sent[scene_id] = batch[-1].seq or sent[scene_id]
