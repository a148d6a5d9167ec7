"""Assisted-edit endpoints (docs/assist.md): ask, read a session, follow a message's stream.

``POST /scenes/{id}/assist`` (write scope and its rate limit) records the user's message and
queues an ``assist`` job answering it (:meth:`JobService.enqueue_assist`; a worker of the
``assist`` queue claims it): 202 ``{sessionId, messageId, jobId}`` at once, 503 when no model is
configured. ``GET /scenes/{id}/assist/{messageId}/stream`` is SSE whose ``id`` is the
message's own ``seq``: it replays what is stored after ``Last-Event-ID`` / ``?since=`` and then
follows live, ending after ``done`` or ``error``. ``GET /scenes/{id}/assist/sessions/{sessionId}``
returns the conversation with its tool calls and revisions. The service lives at
``app.state.assist`` (made by :func:`open_assist` in the app's lifespan).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from ..assist.runner import encode_event
from ..assist.service import AssistService
from ..errors import Issue, NotFound, RequestInvalid
from ..events.sse import HEARTBEAT
from ..jobs.service import JobService
from ..storage.assist import ACTIVE
from .auth import WRITE, principal_of
from .bodies import json_object, only_members
from .drafts import _json_body, _of_a_draft, _readable
from .events import Since, SseResponse, _resume_position, streams_full, streams_refused
from .problems import problem
from .scenes import PRIVATE_HEADERS, PUBLIC_HEADERS
from .schemas import PROBLEMS
from .services import Services, checked_scene_id, services

__all__ = ["MAX_MESSAGE_CHARS", "open_assist", "router"]

router = APIRouter(tags=["assist"])
Svc = Annotated[Services, Depends(services)]
NOT_CONFIGURED = "no language model is configured: set SCENEFORGE_LLM_BASE_URL (see docs/assist.md)"
#: Characters of one user message.
MAX_MESSAGE_CHARS = 8000


def open_assist(svc: Services, jobs: JobService) -> AssistService:
    """The app's assist streams, woken when this process's pool wrote a message's events."""
    service = AssistService(jobs.assist_repo, svc.settings)
    jobs.on_assist(service.notify)
    return service


def _jobs(request: Request) -> JobService:
    jobs: JobService = request.app.state.jobs
    return jobs


def _assist(request: Request) -> AssistService:
    service: AssistService = request.app.state.assist
    return service


Assist = Annotated[AssistService, Depends(_assist)]
Jobs = Annotated[JobService, Depends(_jobs)]


@router.post("/scenes/{scene_id}/assist", responses=PROBLEMS, dependencies=[WRITE], status_code=202)
async def ask(scene_id: str, request: Request, svc: Svc, assist: Assist, jobs: Jobs) -> JSONResponse:
    """Ask the model for a change to the draft: ``{message, sessionId?}`` → ``{sessionId, messageId, jobId}``."""
    scene_id = checked_scene_id(scene_id)
    if not assist.configured:
        return problem(503, NOT_CONFIGURED)
    async with _of_a_draft(jobs.drafts, scene_id):  # a scene with no draft is 404 whatever the body holds
        body = json_object(await _json_body(request, svc), "the body must be a JSON object {message, sessionId?}")
        only_members(body, ("message", "sessionId"), "an assist body")  # a misspelt sessionId started a new session
        text, session_id = body.get("message"), body.get("sessionId")
        if not isinstance(text, str) or not text.strip():
            raise RequestInvalid([Issue("/message", "message_missing", "message must be a non-empty string")])
        if len(text) > MAX_MESSAGE_CHARS:
            message = f"message has {len(text)} characters; at most {MAX_MESSAGE_CHARS} are accepted"
            raise RequestInvalid([Issue("/message", "message_too_long", message)])
        if session_id is not None and (not isinstance(session_id, str) or not 0 < len(session_id) <= 64):
            raise RequestInvalid([Issue("/sessionId", "session_invalid", "sessionId must be a session's id string")])
    author = principal_of(request).author
    turn, job = await jobs.enqueue_assist(scene_id, text.strip(), author=author, session_id=session_id)
    body = {"sessionId": turn.session_id, "messageId": turn.message_id, "jobId": job.job_id}
    return JSONResponse(body, status_code=202)


@router.get("/scenes/{scene_id}/assist/sessions/{session_id}", responses=PROBLEMS)
async def session(scene_id: str, session_id: str, request: Request, svc: Svc, assist: Assist) -> JSONResponse:
    """The conversation: messages (reasoning, content, status), tool calls with results, revisions made."""
    scene_id = checked_scene_id(scene_id)
    private = await _readable(request, svc, scene_id)
    headers = PRIVATE_HEADERS if private else PUBLIC_HEADERS
    return JSONResponse(await assist.repo.session(scene_id, session_id), headers=headers)


@router.get(
    "/scenes/{scene_id}/assist/{message_id}/stream",
    response_class=StreamingResponse,
    responses={204: {"description": "Resumed after the end of a finished message: nothing more"}, **PROBLEMS},
)
async def stream(
    scene_id: str,
    message_id: str,
    request: Request,
    svc: Svc,
    assist: Assist,
    jobs: Jobs,
    since: Since = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """SSE of one assistant message (replay, then live; ends after ``done`` or ``error``); 204 when resumed
    after the end of a finished message."""
    scene_id = checked_scene_id(scene_id)
    await _readable(request, svc, scene_id)
    row = await assist.repo.message(message_id)
    if row["scene_id"] != scene_id or row["role"] != "assistant":
        raise NotFound(f"no assistant message {message_id!r} for scene {scene_id!r}")
    start = _resume_position(request, last_event_id, since) or 0
    if row["status"] not in ACTIVE and not await assist.repo.events(message_id, start, take=1):
        # Nothing after that position and nothing to come: 204 is what stops an EventSource reconnecting
        # (it reconnects whenever a stream ends, with its last id); an empty 200 it would ask again forever.
        return Response(status_code=204)
    # A position past the message's newest event (its seqs have no gaps: one the client cannot have been sent)
    # is never waited on in silence: stream.reset "ahead" first, then the message from its newest event on.
    reset = await _ahead(assist, message_id, start) if start else None
    if reset is not None:
        start = reset["newest"]

    heartbeat_s = svc.settings.events.sse_heartbeat_s
    # Counted among the process's event streams (SCENEFORGE_MAX_STREAMS) as the scene streams are:
    # checked and taken with nothing awaited between, released when the response ends.
    if streams_full(jobs):
        return streams_refused(jobs)
    held = jobs.hub.hold()

    async def body() -> AsyncIterator[bytes]:
        quiet_since = time.monotonic()
        if reset is not None:
            yield encode_reset(reset)
        async for event in assist.follow(message_id, start):
            if jobs.hub.stopping:  # the process is stopping (api/stopping.py): the client resumes elsewhere
                return
            if event is not None:
                quiet_since = time.monotonic()
                yield encode_event(event.seq, event.type, event.data).encode()
            elif time.monotonic() - quiet_since >= heartbeat_s:
                quiet_since = time.monotonic()
                yield HEARTBEAT

    return SseResponse(body(), held)


async def _ahead(assist: AssistService, message_id: str, since: int) -> dict[str, Any] | None:
    """The ``stream.reset`` body of a stream resumed after ``since`` when that is past the message's newest stored
    event (docs/events.md, "Resuming": ``"ahead"``), else None."""
    newest = await assist.repo.last_seq(message_id)
    if since <= newest:
        return None
    return {"reason": "ahead", "since": since, "oldest": 1 if newest else 0, "newest": newest}


def encode_reset(body: dict[str, Any]) -> bytes:
    """The ``stream.reset`` frame: no ``id`` line, so the client's ``Last-Event-ID`` stays its own."""
    return f"event: stream.reset\ndata: {json.dumps(body, separators=(',', ':'))}\n\n".encode()
