"""The WebSocket protocol of ``/ws`` (docs/events.md, "WebSocket") and per-scene presence.

Client → server (JSON): ``{"op":"subscribe","sceneId":…,"since":n}`` (replays the scene's events
after ``n``, then live), ``{"op":"unsubscribe","sceneId":…}``, ``{"op":"presence","sceneId":…,
"state":{…}}``, ``{"op":"ping"}``. Server → client: events as in SSE, ``{"type":"presence.update",
"sceneId":…,"viewers":[{"id","state"}]}`` whenever who views a scene changes, ``{"op":"pong"}``,
``{"op":"heartbeat"}`` after each ``heartbeat_s`` in which nothing else was sent (so a client gone without
closing its connection is noticed, as on SSE: ASGI has no ping frame, and granian sends none),
and ``{"type":"error","message":…}`` for a message that is not a well-formed operation
(:func:`parse_operation`: binary, oversized, not a JSON object, too deeply nested, an unknown op,
a bad ``sceneId`` or ``since``, a subscription past the cap, presence in a scene not subscribed to) —
the socket stays open. A
connection views the scenes it is subscribed to; its presence is cleared when it unsubscribes or
disconnects. A connection without read access that subscribes to a private scene is answered as for an
unknown id: no events, and presence in the scene's outside room (:func:`~.presence.outside_room`), among
the others like it, never with the scene's viewers. With Redis, viewers connected to other API instances
are listed too (see :mod:`.presence`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Set
from typing import Any

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import jsontext
from ..scene_ids import SCENE_ID_PATTERN, is_scene_id
from ..wire import a_json_type, json_type
from .hub import EventHub, Subscription, SubscriptionDropped, cut_when_dropped
from .log import EventLog
from .model import Event
from .presence import OUTSIDE, Presence, outside_room
from .privacy import SceneVisibility
from .replay import replay, resume_point, unseen
from .sse import MAX_SEQ

__all__ = ["MAX_SUBSCRIPTIONS", "BadMessage", "Presence", "PresenceRate", "parse_operation", "serve_socket"]

#: Close code for a refused credential (4000 + HTTP status, a common convention).
CLOSE_UNAUTHORIZED = 4401
#: Close code when the client fell too far behind (it reconnects and resumes with ``since``).
CLOSE_TOO_SLOW = 4408
#: Close code when the client sent presence faster than ``SCENEFORGE_WS_PRESENCE_RATE`` (4000 + HTTP 429).
CLOSE_TOO_MANY = 4429
#: Close code when the process holds its most streams (``SCENEFORGE_MAX_STREAMS``): RFC 6455 "try again later".
CLOSE_TRY_AGAIN = 1013
#: Close code when the server is stopping (RFC 6455 "going away"; the client reconnects and resumes).
CLOSE_GOING_AWAY = 1001
#: Seconds a dropped connection's writer gets to send its close before the connection is ended without it
#: (a client that reads nothing never takes the close frame either).
CLOSE_WAIT_S = 5.0
#: Largest ``state`` object accepted in a presence message, in bytes of JSON.
MAX_STATE_BYTES = 4096
#: Largest client message, in characters of JSON (a presence state plus its envelope).
MAX_MESSAGE_BYTES = 8192
#: Default cap on the scenes one connection follows at once (setting ``SCENEFORGE_WS_MAX_SUBSCRIPTIONS``).
MAX_SUBSCRIPTIONS = 64
#: What an idle connection is sent every heartbeat interval (``SCENEFORGE_SSE_HEARTBEAT_S``, as SSE's ``: ping``).
HEARTBEAT = json.dumps({"op": "heartbeat"})
#: The operations a client may send.
OPS = frozenset({"subscribe", "unsubscribe", "presence", "ping"})


class PresenceRate:
    """How many presence messages a connection may send: a moving window per connection (the ``limits``
    library, in memory: a socket lives on one process). Each presence message fans the scene's viewers,
    states and all, out to every viewer and ``/events`` stream; unbounded, one socket's flood cost the whole
    process its CPU and queues."""

    def __init__(self, rate: str) -> None:
        self.rate = rate
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, conn_id: str) -> bool:
        """Count one presence message of ``conn_id``; False once it is past the rate."""
        return self.limiter.hit(self.item, "presence", conn_id)


class BadMessage(ValueError):
    """A client message that is not a well-formed operation; answered with an error, the socket stays open."""


def parse_operation(frame: Mapping[str, Any], subscribed: Set[str], max_subscriptions: int) -> dict[str, Any]:
    """Check one received frame (ASGI ``websocket.receive``) and return its operation.

    A well-formed operation is a text frame of at most :data:`MAX_MESSAGE_BYTES` holding a JSON
    object whose ``op`` is known, whose ``sceneId`` (where needed) is a scene id, whose ``since``
    (optional) is a seq, which adds no subscription past ``max_subscriptions`` to the scenes
    already ``subscribed``, and whose presence (if it is one) is in a scene already ``subscribed``.
    Anything else raises :class:`BadMessage` saying what is wrong.
    """
    text = frame.get("text")
    if text is None:
        raise BadMessage("messages are JSON text frames, not binary")
    if len(text) > MAX_MESSAGE_BYTES:
        raise BadMessage(f"a message is at most {MAX_MESSAGE_BYTES} characters of JSON")
    try:
        message = jsontext.loads(text)
    except jsontext.JsonTextError as exc:
        raise BadMessage(f"{exc.pointer or 'the message'}: {exc.message}") from None
    except (ValueError, RecursionError):
        raise BadMessage("messages are JSON objects (this one does not parse)") from None
    if not isinstance(message, dict):  # named as JSON names it: the client wrote JSON, not Python
        raise BadMessage(f"messages are JSON objects, not {a_json_type(message)}")
    op = message.get("op")
    if not isinstance(op, str) or op not in OPS:
        if isinstance(op, str):
            shown = repr(op) if len(op) <= 32 else f"(a name of {len(op):,} characters)"
        else:
            shown = "(missing)" if op is None and "op" not in message else f"(a JSON {json_type(op)}, not a name)"
        raise BadMessage(f"unknown op {shown}: one of {', '.join(sorted(OPS))}")
    if op == "ping":
        return message
    scene_id = message.get("sceneId")
    if not isinstance(scene_id, str) or not is_scene_id(scene_id):
        raise BadMessage(f"{op} needs a sceneId ({SCENE_ID_PATTERN})")
    since = message.get("since")
    if (
        op == "subscribe"
        and since is not None
        and (isinstance(since, bool) or not isinstance(since, int) or not 0 <= since <= MAX_SEQ)
    ):
        raise BadMessage(f"since is an event seq, a whole number from 0 to {MAX_SEQ}")
    if op == "subscribe" and scene_id not in subscribed and len(subscribed) >= max_subscriptions:
        raise BadMessage(f"at most {max_subscriptions} subscriptions per connection (SCENEFORGE_WS_MAX_SUBSCRIPTIONS)")
    if op == "presence":
        state = message.get("state")  # absent or null: no state; anything else must be an object ([] and 0 too)
        state = {} if state is None else state
        if not isinstance(state, dict) or len(json.dumps(state)) > MAX_STATE_BYTES:
            raise BadMessage(f"state is a JSON object of at most {MAX_STATE_BYTES} bytes")
        if scene_id not in subscribed:  # else a socket could hold states in any number of scenes, seen where it is not
            raise BadMessage(f"presence is shown in the scenes a connection follows: subscribe to {scene_id!r} first")
    return message


async def serve_socket(
    socket: WebSocket,
    hub: EventHub,
    log: EventLog,
    presence: Presence,
    authenticate: Callable[[str | None, str | None], Awaitable[bool | None]],
    *,
    key: str | None = None,
    token: str | None = None,
    max_subscriptions: int = MAX_SUBSCRIPTIONS,
    privacy: SceneVisibility | None = None,
    alive: Callable[[], Awaitable[bool]] | None = None,
    presence_rate: PresenceRate | None = None,
    max_streams: int | None = None,
    heartbeat_s: float = 15.0,
) -> None:
    """Run one WebSocket connection until it closes.

    ``authenticate`` answers None (a credential was sent and refused: closed with 4401), False
    (anonymous: no private scene's events or presence, given ``privacy``) or True (read access).
    ``alive``, when given, is asked before anything the connection sends and every ``heartbeat_s`` while idle:
    False (its credential was revoked or has expired) closes it with 4401. ``presence_rate``, when given,
    bounds the presence messages it sends: past it, an error reply, then the close with 4429. With
    ``max_streams``, a connection arriving while the hub holds that many subscriptions (streams of any kind)
    is closed with 1013 at once. A connection sent nothing for ``heartbeat_s`` is sent :data:`HEARTBEAT`.
    """
    access = await authenticate(key, token)
    await socket.accept()
    if access is None:  # accepted first: a close before the accept is an HTTP 403 that hides the code
        await socket.close(code=CLOSE_UNAUTHORIZED)
        return
    if max_streams is not None and hub.subscribers >= max_streams:  # nothing awaited until the subscription below
        await socket.close(code=CLOSE_TRY_AGAIN, reason=f"at most {max_streams} streams (SCENEFORGE_MAX_STREAMS)")
        return
    conn_id = uuid.uuid4().hex[:12]
    sub: Subscription = hub.subscribe([])
    assert sub.scenes is not None
    hide = None if access or privacy is None else privacy
    writer = asyncio.create_task(_pump(socket, sub, log, hide, alive, heartbeat_s))
    presence.bind(hub)

    def reply(payload: dict[str, Any]) -> None:
        sub.put_control(("send", json.dumps(payload)))

    #: Scene → its presence room for this connection: ``outside_room(scene)`` for a private scene it may not
    #: read (subscribed like an unknown id, so which private ids exist does not show), else the scene itself.
    rooms: dict[str, str] = {}
    try:
        with cut_when_dropped(sub, CLOSE_WAIT_S):  # dropped, and the client reads and sends nothing: cut
            while True:
                frame = await _next_frame(socket, writer)
                if frame is None or frame["type"] == "websocket.disconnect":
                    break
                try:
                    message = parse_operation(frame, rooms.keys(), max_subscriptions)
                except BadMessage as exc:
                    reply({"type": "error", "message": str(exc)})
                    continue
                op, scene_id = message["op"], str(message.get("sceneId"))
                if op == "ping":
                    reply({"op": "pong"})
                elif op == "subscribe":
                    since = message.get("since")
                    room = scene_id
                    if hide is not None and await hide.is_private(scene_id):
                        room = outside_room(scene_id)
                    if rooms.get(scene_id, room) != room:  # the scene's privacy changed since: move rooms
                        sub.scenes.discard(rooms[scene_id])
                        presence.leave(rooms[scene_id], conn_id)
                    rooms[scene_id] = room
                    sub.scenes.update((scene_id, room))
                    sub.put_control(("subscribe", scene_id, since, hub.last))
                    presence.join(room, conn_id)
                elif op == "unsubscribe":
                    room = rooms.pop(scene_id, scene_id)
                    sub.scenes.difference_update((scene_id, room))
                    presence.leave(room, conn_id)
                elif presence_rate is not None and not presence_rate.hit(conn_id):
                    reply({"type": "error", "message": f"presence is limited to {presence_rate.rate} per connection"})
                    sub.put_control(("close", CLOSE_TOO_MANY))
                    await asyncio.wait({writer}, timeout=CLOSE_WAIT_S)
                    break
                else:
                    presence.set(rooms[scene_id], conn_id, message.get("state") or {})
                if sub.dropped:  # too far behind, replies included: the writer asks for 4408 unless it is stuck
                    await asyncio.wait({writer}, timeout=CLOSE_WAIT_S)
                    break
            code = _close_code(writer)
            if code is not None:
                with contextlib.suppress(RuntimeError, OSError):  # the client may be gone already
                    await socket.close(code=code)
    except WebSocketDisconnect:
        pass
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        sub.close()
        presence.leave_all(conn_id)


async def _next_frame(socket: WebSocket, writer: asyncio.Task[int | None]) -> Mapping[str, Any] | None:
    """The client's next frame, or None once ``writer`` has ended (its result is the close code it asks for).

    The pending receive is cancelled before the connection is closed: granian holds a close sent while a
    receive is pending until that receive ends, that is until the client sends again; a socket whose key was
    revoked stayed open and silent (its events and replies dropped) for as long as the client kept it."""
    if writer.done():
        return None
    receiving = asyncio.ensure_future(socket.receive())
    try:
        await asyncio.wait({receiving, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not receiving.done():
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiving
    if writer.done() or receiving.cancelled():
        return None
    return receiving.result()


def _close_code(writer: asyncio.Task[int | None]) -> int | None:
    """The close code the connection's writer ended asking for; None while it runs, or when it failed (a send to a
    client gone)."""
    if not writer.done() or writer.cancelled() or writer.exception() is not None:
        return None
    return writer.result()


async def _pump(
    socket: WebSocket,
    sub: Subscription,
    log: EventLog,
    hide: SceneVisibility | None,
    alive: Callable[[], Awaitable[bool]] | None = None,
    heartbeat_s: float = 15.0,
) -> int:
    """The connection's only writer: events, replies, and replays, in the order they were queued. It ends with
    the code to close the connection with, which the reader sends once its pending receive is cancelled
    (:func:`_next_frame`): dropped (4408, or 1001 when the server stops), a ``close`` item queued (4429), or,
    with ``alive``, a credential no longer valid (4401) before anything more is sent. With ``hide``, events of
    private scenes are held back (a scene may turn private while followed). Idle for ``heartbeat_s``, it sends
    :data:`HEARTBEAT`: a write is what finds a peer gone without a close (a dropped network), whose connection,
    stream slot and presence were otherwise held for as long as the process ran."""
    sent: dict[str, int] = {}  # scene → last seq sent (dedupes a replay against the live queue)
    while True:
        try:
            item = await sub.get(timeout=heartbeat_s)
        except SubscriptionDropped:
            return CLOSE_GOING_AWAY if sub.hub.stopping else CLOSE_TOO_SLOW
        if alive is not None and not await alive():
            return CLOSE_UNAUTHORIZED
        if item is None:
            await socket.send_text(HEARTBEAT)
        elif isinstance(item, tuple) and item[0] == "send":
            await socket.send_text(item[1])
        elif isinstance(item, tuple) and item[0] == "close":
            return int(item[1])
        elif isinstance(item, tuple) and item[0] == "subscribe":
            _, scene_id, since, live_from = item
            reset = None
            if since is not None:  # pruned or past every stored event: stream.reset first (as SSE)
                since, reset = await resume_point(log, since, live_from=live_from, scene_id=scene_id)
            sent[scene_id] = live_from if since is None else since
            if reset is not None and (hide is None or await hide.public_only([reset])):
                await socket.send_text(reset.to_json())
            if since is not None:
                await _replay(socket, log, scene_id, sent, hide)
        elif isinstance(item, Event):
            key = item.scene_id or ""
            if item.seq is None and key.startswith(OUTSIDE):  # this socket's outside room: shown as the scene's
                await socket.send_text(Event(None, item.type, key[len(OUTSIDE) :], item.ts, item.body).to_json())
                continue
            fresh, sent[key] = unseen((item,), sent.get(key, 0))
            if fresh and hide is not None:
                fresh = await hide.public_only(fresh)
            if fresh:
                await socket.send_text(item.to_json())


async def _replay(
    socket: WebSocket, log: EventLog, scene_id: str, sent: dict[str, int], hide: SceneVisibility | None
) -> None:
    async for page in replay(log, sent[scene_id], scene_id=scene_id):  # one bounded page held at a time
        for event in page if hide is None else await hide.public_only(page):
            await socket.send_text(event.to_json(keep=False))
        sent[scene_id] = page[-1].seq or sent[scene_id]
