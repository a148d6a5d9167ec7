"""The one place where errors become HTTP responses: ``application/problem+json`` (RFC 9457).

Validation problems carry ``errors: [{path, code, message}]`` with JSON pointers into the request.

A problem quotes the client's values (an id from the URL, a header, an origin) as Python writes a
string (``'x'``, or ``"x"`` when it holds a ``'``): :func:`problem` cuts every quoted value in its
``detail`` and its ``errors`` messages to :data:`ECHO_CHARS` characters and ``…`` (:func:`bounded`),
so a 100 kB id in the URL no longer comes back as a 100 kB body. The routes quote values whole.
Every problem is ``Cache-Control: no-store`` unless it names its own (:data:`PROBLEM_CACHE_CONTROL`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from ..errors import (
    AuthError,
    BuildCanceled,
    LimitExceeded,
    NotFound,
    RequestInvalid,
    SceneforgeError,
    SceneInvalid,
    StorageError,
    StorageFull,
)
from ..storage.database import database_fault
from ..storage.drafts import DraftConflict, PatchFailed, StaleRevision
from ..storage.scenes import PublishedVersionChanged
from ..wire import json_pointer

__all__ = [
    "ECHO_CHARS",
    "PROBLEM_CACHE_CONTROL",
    "PROBLEM_TYPE",
    "BodyIncomplete",
    "BodyTooLarge",
    "RateLimited",
    "UnsupportedMediaType",
    "bounded",
    "found_first",
    "install",
    "problem",
]

PROBLEM_TYPE = "application/problem+json"

log = logging.getLogger(__name__)


@asynccontextmanager
async def found_first(look: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """Around the reading of a request to something that may not exist (a draft, a scene): a refusal of what the
    request holds (422, :class:`~sceneforge.errors.RequestInvalid`) is answered 404 when ``look`` raises
    :class:`~sceneforge.errors.NotFound`, whatever the request holds; ``look`` runs only then."""
    try:
        yield
    except RequestInvalid:
        await look()
        raise


class BodyTooLarge(SceneforgeError):
    """A request body passed ``limit`` (a setting name) — 413."""

    def __init__(self, limit: str, maximum: int, what: str = "request body") -> None:
        self.limit, self.maximum = limit, maximum
        super().__init__(f"{what} is larger than {maximum:,} bytes ({limit})")


class BodyIncomplete(SceneforgeError):
    """The connection ended (or the framing broke) before the whole request body arrived — 400."""


class BodyTimeout(SceneforgeError):
    """Nothing more of the request body arrived for ``SCENEFORGE_BODY_TIMEOUT_S`` — 408."""

    def __init__(self, timeout_s: float, received: int, declared: str | None) -> None:
        expected = f" of the {declared} bytes Content-Length announced" if declared else ""
        super().__init__(
            f"no more of the request body arrived for {timeout_s:g} s (SCENEFORGE_BODY_TIMEOUT_S):"
            f" {received:,} bytes arrived{expected}"
        )


class UnsupportedMediaType(SceneforgeError):
    """The body is not of a type this endpoint takes — 415."""

    #: The patch document types a PATCH takes, answered as ``Accept-Patch`` (RFC 5789 §2.2); None elsewhere.
    accept_patch: str | None = None


class RateLimited(SceneforgeError):
    """Too many writes for one credential — 429 with ``Retry-After``."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"write rate limit reached (SCENEFORGE_WRITE_RATE); retry in {retry_after_s} s")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
    426: "Upgrade Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}


#: The most characters of one quoted value a problem's text keeps (then ``…``).
ECHO_CHARS = 64
#: Where a quoted value may open: a quote not inside a word (``scene's`` opens nothing).
_OPEN = {"'": re.compile(r"(?<!\w)'"), '"': re.compile(r'(?<!\w)"')}
#: The rest of a quoted value, as ``repr`` writes it: up to the first quote of its kind no backslash escapes.
_REST = {"'": re.compile(r"(?:[^'\\]|\\.)*+'", re.S), '"': re.compile(r'(?:[^"\\]|\\.)*+"', re.S)}
#: One character of a quoted value: an escape (``\n``, ``\x00``, ``\ud800``, ``\'``) counts as one.
_CHAR = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|.", re.S)


def _cut(quoted: str) -> str:
    if len(quoted) <= ECHO_CHARS + 2:
        return quoted
    inner = quoted[1:-1]
    ends = [m.end() for m, _ in zip(_CHAR.finditer(inner), range(ECHO_CHARS + 1), strict=False)]
    if len(ends) <= ECHO_CHARS:  # long for its escapes, not for its characters
        return quoted
    return f"{quoted[0]}{inner[: ends[ECHO_CHARS - 1]]}…{quoted[-1]}"


def bounded(text: str) -> str:
    """``text`` with each quoted value (``'…'`` or ``"…"``, as ``repr`` writes one) longer than :data:`ECHO_CHARS`
    characters cut to that many and ``…``; the words around it stay whole. One pass: a quote that never closes
    ends the search for its kind."""
    if len(text) <= ECHO_CHARS + 2:
        return text
    parts: list[str] = []
    done = 0
    ahead = {kind: opening.search(text) for kind, opening in _OPEN.items()}  # the next opening of each kind
    while any(ahead.values()):
        kind, opening = min(((k, m) for k, m in ahead.items() if m is not None), key=lambda km: km[1].start())
        rest = _REST[kind].match(text, opening.end())
        if rest is None:
            ahead[kind] = None
            continue
        parts += [text[done : opening.start()], _cut(text[opening.start() : rest.end()])]
        done = rest.end()
        for k, m in ahead.items():
            if m is not None and m.start() < done:
                ahead[k] = _OPEN[k].search(text, done)
    parts.append(text[done:])
    return "".join(parts)


def title_of(status: int) -> str:
    """A problem's ``title``: with ``type`` ``about:blank`` it is the status's phrase (RFC 9457 §4.2.1), RFC 9110's
    where Python still has an older one (413, 416, 422)."""
    if status in _TITLES:
        return _TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status no RFC names
        return "Error"


#: ``Cache-Control`` of every problem unless it names its own: an error is about one request at one moment, and a
#: 404 or 405 without it is heuristically cacheable (RFC 9111 §4.2.2) — a shared cache would answer a scene
#: published since, or a private one asked with a credential (``X-API-Key`` is not ``Authorization``), with it.
PROBLEM_CACHE_CONTROL = "no-store"


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response; quoted values in ``detail`` and in ``errors`` messages are cut (:func:`bounded`).

    ``Cache-Control: no-store`` unless ``headers`` name a ``Cache-Control`` (:data:`PROBLEM_CACHE_CONTROL`)."""
    if not any(name.lower() == "cache-control" for name in headers or ()):
        headers = {**(headers or {}), "Cache-Control": PROBLEM_CACHE_CONTROL}
    if isinstance(extra.get("errors"), list):
        extra["errors"] = [
            {**e, "message": bounded(e["message"])} if isinstance(e, dict) and isinstance(e.get("message"), str) else e
            for e in extra["errors"]
        ]
    body = {
        "type": "about:blank",
        "title": title_of(status),
        "status": status,
        "detail": bounded(detail),
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


def _status_of(exc: SceneforgeError) -> int:
    table: list[tuple[type[SceneforgeError], int]] = [
        (StaleRevision, 412),
        (PublishedVersionChanged, 412),
        (DraftConflict, 409),
        (BuildCanceled, 409),
        (PatchFailed, 409),
        (BodyTooLarge, 413),
        (BodyIncomplete, 400),
        (BodyTimeout, 408),
        (UnsupportedMediaType, 415),
        (RateLimited, 429),
        (NotFound, 404),
        (StorageFull, 507),
        (StorageError, 503),
        (SceneInvalid, 422),
    ]
    if isinstance(exc, AuthError):
        return exc.status
    if isinstance(exc, LimitExceeded) and exc.limit in {"SCENEFORGE_MAX_BODY_BYTES", "SCENEFORGE_MAX_UPLOAD_BYTES"}:
        return 413
    return next((status for kind, status in table if isinstance(exc, kind)), 500)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SceneforgeError)
    status = _status_of(exc)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, SceneInvalid):
        extra["errors"] = [issue.as_dict() for issue in exc.issues]
    if isinstance(exc, LimitExceeded | BodyTooLarge):
        extra["limit"] = exc.limit
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, BodyTimeout):
        extra["limit"] = "SCENEFORGE_BODY_TIMEOUT_S"
        headers["Connection"] = "close"  # the rest of the body may still come: the connection is not reused
    if isinstance(exc, UnsupportedMediaType) and exc.accept_patch:
        headers["Accept-Patch"] = exc.accept_patch
    # A precondition that failed names what would have held (RFC 9110 §13.1: the client resyncs from it): the
    # draft's current rev, or the published version's ETag that a publish's If-Match takes. None when there is none.
    if isinstance(exc, StaleRevision) and exc.current is not None:
        headers["ETag"] = f'"rev-{exc.current}"'
    if isinstance(exc, PublishedVersionChanged) and exc.current is not None:
        headers["ETag"] = f'"{exc.current[1]}"'
    if isinstance(exc, AuthError) and status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="sceneforge"'
    detail = str(exc)
    if isinstance(exc, StorageError) and not isinstance(exc, NotFound):
        log.warning("%s %s: %s", request.method, request.url.path, exc)  # the message names paths and hosts
        extra["code"] = exc.code
        detail = exc.public or "storage is unavailable"
    return problem(status, detail, headers or None, **extra)


def allowed_methods(request: Request) -> str | None:
    """The ``Allow`` value for a 405: the methods of every route whose path matches the request's, sorted.

    Starlette names only the methods of the first route that matched the path, and GET and HEAD are
    declared as two routes here (``/scenes/{ref}.glb`` answered ``Allow: HEAD``). None when no route
    matches (then the header Starlette set stays).
    """
    methods: set[str] = set()
    for context in iter_route_contexts(list(request.app.router.routes)):  # included routers walked through
        route_methods = context.methods or getattr(context.original_route, "methods", None)
        if route_methods and context.matches(dict(request.scope))[0] is not Match.NONE:
            methods |= set(route_methods)
    if "GET" in methods:
        methods.add("HEAD")  # answered wherever GET is (api/head.py)
    return ", ".join(sorted(methods)) or None


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    detail = str(exc.detail)
    path = request.scope.get("path", "")
    if exc.status_code == 405:  # RFC 9110 §15.5.6: every method the target resource supports
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        if detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:  # Starlette's words: which method, where, what else
            detail = f"{request.method!r} is not answered at {path!r}; it answers {headers['Allow'] or 'nothing'}"
    elif exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:  # no route, or no such studio file
        detail = f"nothing is served at {path!r}"
    return problem(exc.status_code, detail, headers or None)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "path": json_pointer(e.get("loc", ())),
            "code": str(e.get("type", "invalid")),
            # pydantic puts "Value error, " before the message of a validator of ours, which says what is wrong
            "message": str(e.get("msg")).removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    return problem(422, "the request is not valid", errors=errors)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """An error nothing above names: a problem+json 500 saying nothing of it (Starlette's server-error middleware
    logs it and raises it on; without this handler it answered text/plain)."""
    return problem(500, "the request could not be answered: an internal error (logged)")


async def _database(request: Request, exc: Exception) -> JSONResponse:
    """The database failing (unreachable, a dropped connection, a full or failing disk): 503, or 507 when full, with
    ``code`` naming it (:func:`~sceneforge.storage.database.database_fault`); any other database error is a bug
    (500)."""
    fault = database_fault(exc)
    if fault is None:
        raise exc  # on to the server-error middleware, which logs it and answers with _unexpected
    return await _domain(request, fault)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into problem responses."""
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(SceneforgeError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
