"""Live events: SSE at ``/events`` and ``/jobs/events/{sceneId}``, WebSocket rooms with presence at ``/ws``.

Streams come from the hub of the app's job service (``app.state.jobs``, started with the app).
Reads are open, but a caller without a credential of ``read`` scope sees no private scene: its
events are held back on every stream (:class:`~sceneforge.events.privacy.SceneVisibility` asks the
database, so a privacy change holds on every instance at once), and subscribing to one on ``/ws``
is refused. A stream opened with a credential checks it again before it sends anything later (at
most once a second, :func:`still_valid`): a revoked key or an expired token ends an SSE stream and
closes a WebSocket with 4401.

An SSE stream subscribes to the hub before its response starts: a client that has the response's
headers (``EventSource``'s ``open``) gets every event published from then on, so one look at a job
after the stream opened (the studio's poll) leaves no gap between the two.

A process holds at most ``SCENEFORGE_MAX_STREAMS`` streams (SSE and WebSocket together, counted as the
hub's subscriptions): past it an SSE request is 503 with ``Retry-After`` and a socket is closed with 1013,
so open streams never take every connection the server serves at once (``api/server.py``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator
from starlette.types import Receive, Scope, Send

from ..errors import AuthError
from ..events.hub import StreamHold, Subscription, cut_when_dropped
from ..events.privacy import SceneVisibility
from ..events.sse import MAX_SEQ, ResumePositionInvalid, parse_last_event_id, sse_stream
from ..events.ws import Presence, PresenceRate, serve_socket
from ..jobs.service import JobService
from ..storage.keys import scope_allows
from .problems import problem
from .schemas import written_as_integer
from .services import Services, checked_scene_id, job_service

__all__ = ["router"]

router = APIRouter(tags=["events"])

Jobs = Annotated[JobService, Depends(job_service)]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def _since_digits(value: Any) -> Any:
    """``?since=`` as a seq is written, decimal ASCII digits as every integer of a query (``Last-Event-ID`` is read
    so too, ``parse_seq``): ``int()`` also reads ``1_0``, ``+1``, ``1.0``, ``-0`` and blanks, and ``?since=1_0``
    replayed after seq 10. Its own message names what a seq is."""
    if isinstance(value, str) and not written_as_integer(value):
        raise ResumePositionInvalid("since", value)
    return value


#: ``?since=``: a seq, 0 to :data:`MAX_SEQ`, in decimal digits only (422 at ``/query/since`` otherwise).
Since = Annotated[
    int | None, Query(ge=0, le=MAX_SEQ, description="Replay events after this seq"), BeforeValidator(_since_digits)
]


def _resume_position(request: Request, header: str | None, since: int | None) -> int | None:
    """:func:`parse_last_event_id`, its refusal as a 422 naming the header or parameter. A ``Last-Event-ID`` sent on
    several field lines is read joined by commas (RFC 9110 §5.3), which is no seq: a 422, never the first line alone
    (a proxy in front may have kept another one, and the stream would resume elsewhere than it believes)."""
    lines = request.headers.getlist("last-event-id")
    if len(lines) > 1:
        header = ", ".join(lines)
    try:
        return parse_last_event_id(header, since)
    except ResumePositionInvalid as exc:
        loc = ("header", "Last-Event-ID") if exc.where == "Last-Event-ID" else ("query", "since")
        raise RequestValidationError([{"loc": loc, "msg": str(exc), "type": "value_error"}]) from None


def visibility(app: object) -> SceneVisibility:
    """The process's :class:`SceneVisibility` (made on first use, on the services' database)."""
    state = app.state  # type: ignore[attr-defined]
    if getattr(state, "visibility", None) is None:
        state.visibility = SceneVisibility(state.services.scenes.engine)
    return state.visibility  # type: ignore[no-any-return]


async def reads_private(request: Request) -> bool:
    """Whether the caller may see private scenes (a credential with ``read`` scope); 401 for a bad one."""
    who = await request.app.state.services.auth.principal(request)
    return who is not None and scope_allows(who.scope, "read")


#: Seconds an open stream trusts its credential's last check: it asks again (one indexed query for a
#: key) before sending anything later, so a revocation reaches open streams within this.
RECHECK_S = 1.0


def still_valid(check: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[bool]]:
    """Whether the credential an event stream was opened with still holds: ``check`` (the
    authentication of the credential, raising :class:`AuthError` when it no longer does) run again at
    most once every :data:`RECHECK_S`, its answer kept meanwhile; once refused, always False."""
    last, valid = -RECHECK_S, True

    async def alive() -> bool:
        nonlocal last, valid
        now = time.monotonic()
        if valid and now - last >= RECHECK_S:
            last = now
            try:
                await check()
            except AuthError:
                valid = False
        return valid

    return alive


class SseResponse(StreamingResponse):
    """A stream whose hub subscription (or :class:`~sceneforge.events.hub.StreamHold`) was made before the
    response: closed when the response ends, also when it ends before its body was first read (the client
    left as the headers went out)."""

    def __init__(self, body: AsyncIterator[bytes], subscription: Subscription | StreamHold) -> None:
        super().__init__(body, media_type="text/event-stream", headers=SSE_HEADERS)
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with cut_when_dropped(self.subscription):  # dropped or stopping, and its client reads nothing: cut it
                await super().__call__(scope, receive, send)
        finally:
            self.subscription.close()


#: Seconds a client refused for :data:`STREAMS_LIMIT` is told to wait (``Retry-After``).
STREAMS_RETRY_S = 5
#: The setting bounding the event streams one process holds open (``events.max_streams``).
STREAMS_LIMIT = "SCENEFORGE_MAX_STREAMS"


def streams_full(jobs: JobService) -> bool:
    """Whether this process holds its most event streams (SSE and WebSocket: the hub's subscriptions) already."""
    return jobs.hub.subscribers >= jobs.settings.events.max_streams


def streams_refused(jobs: JobService) -> Response:
    most = jobs.settings.events.max_streams
    detail = f"this server holds its most event streams open ({most:,}, {STREAMS_LIMIT}); retry shortly"
    return problem(503, detail, {"Retry-After": str(STREAMS_RETRY_S)}, limit=STREAMS_LIMIT)


async def _stream(request: Request, jobs: JobService, since: int | None, scene_id: str | None) -> Response:
    hide = None if await reads_private(request) else visibility(request.app).public_only
    auth = request.app.state.services.auth
    sent = request.headers.get("x-api-key") or request.headers.get("authorization")
    if streams_full(jobs):  # checked with nothing awaited before the subscription: the cap holds exactly
        return streams_refused(jobs)
    # Subscribed now, before the headers go out: every event published after the client sees the stream
    # open reaches it (see the module docstring).
    subscription = jobs.hub.subscribe([scene_id] if scene_id is not None else None)
    body = sse_stream(
        jobs.hub,
        jobs.log,
        since=since,
        scene_id=scene_id,
        heartbeat_s=jobs.settings.events.sse_heartbeat_s,
        visible=hide,
        alive=still_valid(lambda: auth.principal(request)) if sent else None,
        subscription=subscription,
    )
    return SseResponse(body, subscription)


@router.get("/events", response_class=StreamingResponse)
async def all_events(
    request: Request,
    jobs: Jobs,
    since: Since = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Every event as SSE (``id:`` seq, ``event:`` type); resumes after ``Last-Event-ID`` or ``?since=``."""
    return await _stream(request, jobs, _resume_position(request, last_event_id, since), None)


@router.get("/jobs/events/{scene_id}", response_class=StreamingResponse)
async def scene_events(
    request: Request,
    scene_id: str,
    jobs: Jobs,
    since: Since = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """One scene's events as SSE, resumable like ``/events``; an id no scene can have is 404, not a silent stream."""
    return await _stream(request, jobs, _resume_position(request, last_event_id, since), checked_scene_id(scene_id))


@router.websocket("/ws")
async def websocket(socket: WebSocket, key: str | None = None, token: str | None = None) -> None:
    """JSON ops ``subscribe`` / ``unsubscribe`` / ``presence`` / ``ping``; events and ``presence.update`` back."""
    jobs: JobService = socket.app.state.jobs
    svc: Services = socket.app.state.services

    async def authenticate(key: str | None, token: str | None) -> bool | None:
        """Anonymous viewers are allowed (False: public scenes only); a credential that is sent must be
        valid (None refuses the connection); one with ``read`` scope sees private scenes too (True)."""
        try:
            if key:
                who = await svc.auth.key_principal(key)
            elif token:
                who = svc.auth.jwt_principal(token)
            else:
                return False
        except AuthError:
            return None
        return scope_allows(who.scope, "read")

    async def check() -> None:
        if await authenticate(key, token) is None:
            raise AuthError("the credential is no longer valid")

    await serve_socket(
        socket,
        jobs.hub,
        jobs.log,
        _presence(socket),
        authenticate,
        key=key,
        token=token,
        max_subscriptions=jobs.settings.events.ws_max_subscriptions,
        max_streams=jobs.settings.events.max_streams,
        heartbeat_s=jobs.settings.events.sse_heartbeat_s,
        privacy=visibility(socket.app),
        alive=still_valid(check) if key or token else None,
        presence_rate=_presence_rate(socket),
    )


@router.get("/ws", include_in_schema=False)
@router.head("/ws", include_in_schema=False)
async def websocket_without_upgrade() -> Response:
    """``/ws`` asked without the WebSocket upgrade: 426 naming the protocol (RFC 9110 §15.5.22), not a 404."""
    return problem(426, "/ws is a WebSocket endpoint: connect with the WebSocket protocol", {"Upgrade": "websocket"})


def _presence_rate(socket: WebSocket) -> PresenceRate | None:
    """The process's presence limit (``SCENEFORGE_WS_PRESENCE_RATE``); None when it is off."""
    state = socket.app.state
    if getattr(state, "presence_rate", None) is None:
        rate = socket.app.state.jobs.settings.events.ws_presence_rate
        state.presence_rate = PresenceRate(rate) if rate else False
    return state.presence_rate or None


def _presence(socket: WebSocket) -> Presence:
    state = socket.app.state
    if getattr(state, "presence", None) is None:
        state.presence = Presence()
    return state.presence  # type: ignore[no-any-return]
