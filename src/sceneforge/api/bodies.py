"""Request bodies: their declared media type enforced, their size bounded while they stream in.

* Coding: bodies are sent as they are; a ``Content-Encoding`` other than ``identity`` (gzip, br…), on any of
  its lines, is 415, never decoded (so no decompression bomb).
* Framing: a body cut short (the client went away or half-closed, or its chunked framing broke) is
  400, not an internal error.
* Size: refused by ``Content-Length`` or as soon as the streamed bytes pass the limit (413, naming
  the setting), never read whole first.
* Time: a body of which nothing arrives for ``SCENEFORGE_BODY_TIMEOUT_S`` is 408 (with
  ``Connection: close``): a client that stops sending mid-body does not hold its connection.
* Type: a write states what it sends. A ``Content-Type`` the endpoint does not take is 415, naming
  the types it does take. JSON bodies are ``application/json`` or any ``+json`` type (RFC 6839),
  with no ``charset`` but ``utf-8``, and their bytes must be UTF-8 (RFC 8259 §8.1): a UTF-16 or
  Latin-1 body is 415, not guessed at. A body sent without ``Content-Type`` is taken as the
  endpoint's first type (JSON for builds), as curl and simple scripts send it; the draft endpoints
  refuse it (415). A ``Content-Type`` on several lines that differ is 415: which one counts is anyone's guess.
* JSON: a body that is not JSON, or of another type than an object where one is taken, is 422
  ``json_invalid`` / ``body_not_object`` at ``""``, a :class:`~sceneforge.errors.RequestInvalid` in the same words
  on every endpoint (:func:`parse_json`, :func:`json_object`; builds parse theirs as a description, worded alike).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from starlette.requests import ClientDisconnect, Request

from .. import jsontext
from ..errors import Issue, RequestInvalid
from ..wire import MAX_INT64, a_json_type, header_text, json_pointer, shown
from .problems import BodyIncomplete, BodyTimeout, BodyTooLarge, UnsupportedMediaType

__all__ = [
    "GLB_TYPE",
    "JSON_TYPE",
    "MAX_NUMBER",
    "body_not_json",
    "is_json_type",
    "json_object",
    "media_type",
    "only_members",
    "parse_json",
    "read_json",
    "read_limited",
    "read_typed",
    "version_number",
]

JSON_TYPE = "application/json"
#: The largest version or revision number (a signed 64-bit database integer).
MAX_NUMBER = MAX_INT64
GLB_TYPE = "model/gltf-binary"


async def read_limited(request: Request, maximum: int, limit: str) -> bytes:
    """The body, or :class:`BodyTooLarge` naming setting ``limit`` as soon as it is known to pass ``maximum`` bytes;
    :class:`BodyTimeout` when no part of it arrives for ``server.body_timeout_s``."""
    # A list, maybe on several lines (RFC 9110 §5.3): "identity" on one and "gzip" on the next is a gzip body.
    coding = ", ".join(header_text(line) for line in request.headers.getlist("content-encoding")).strip().lower()
    if any(part.strip() not in {"", "identity"} for part in coding.split(",")):  # §8.4: a coding not applied is 415
        raise UnsupportedMediaType(f"Content-Encoding {shown(coding)!r} is not accepted: send the body uncompressed")
    declared = (request.headers.get("content-length") or "").strip().lstrip("0")
    # ASCII digits only ("²".isdigit() too, which int() refuses), compared by length first: int() of 4,301 digits
    # and more raises (both had been a 500); a length that is no number is left to the body as it streams
    if declared.isascii() and declared.isdigit() and (len(declared) > len(str(maximum)) or int(declared) > maximum):
        raise BodyTooLarge(limit, maximum)
    parts: list[bytes] = []
    size = 0
    timeout_s = request.app.state.services.settings.server.body_timeout_s
    chunks = request.stream()
    try:
        while True:
            try:
                async with asyncio.timeout(timeout_s):  # between two parts of the body, as nginx's client_body_timeout
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            size += len(chunk)
            if size > maximum:
                raise BodyTooLarge(limit, maximum)
            parts.append(chunk)
    except TimeoutError:
        raise BodyTimeout(timeout_s, size, declared.strip() if declared else None) from None
    except ClientDisconnect:
        expected = f" of the {declared.strip()} bytes Content-Length announced" if declared else ""
        raise BodyIncomplete(f"the request body was cut short: {size:,} bytes arrived{expected}") from None
    return b"".join(parts)


def media_type(request: Request) -> tuple[str, dict[str, str]] | None:
    """The ``Content-Type`` as (lower-case ``type/subtype``, parameters with lower-case names); None when absent.

    415 when it is sent on several lines that differ: it names one type (RFC 9110 §8.3), and which line a proxy in
    front would have read is anyone's guess."""
    lines = request.headers.getlist("content-type")
    if len(set(lines)) > 1:
        sent = ", ".join(repr(shown(header_text(line))) for line in lines[:4])
        raise UnsupportedMediaType(f"Content-Type is sent on {len(lines)} lines ({sent}): send one")
    header = lines[0] if lines else None
    if header is None or not header.strip():
        return None
    essence, *params = header.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"')
    return essence.strip().lower(), parsed


def is_json_type(essence: str) -> bool:
    """``application/json`` or a structured-syntax ``+json`` type such as ``application/merge-patch+json``."""
    kind, slash, subtype = essence.partition("/")
    return essence == JSON_TYPE or bool(kind and slash and subtype.endswith("+json") and len(subtype) > 5)


def _check_json(params: dict[str, str]) -> None:
    charset = params.get("charset")
    if charset is not None and charset.lower() not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(f"JSON bodies are UTF-8; charset={charset} is not accepted")


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        glb = (
            f"; it is a GLB (it starts with 'glTF'), not JSON (where GLBs are taken: as {GLB_TYPE})"
            if data[:4] == b"glTF"
            else ""
        )
        raise UnsupportedMediaType(
            f"JSON bodies are UTF-8; byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid UTF-8{glb}"
        ) from None


def _refuse(essence: str, accepted: Collection[str]) -> UnsupportedMediaType:
    shown = essence if len(essence) <= 80 else essence[:80] + "…"
    return UnsupportedMediaType(f"Content-Type {shown!r} is not accepted here; send one of: {', '.join(accepted)}")


async def read_json(request: Request, maximum: int, limit: str) -> bytes:
    """A JSON body (see the module docstring), bounded like :func:`read_limited`; 415 for any other type."""
    declared = media_type(request)
    if declared is not None:
        essence, params = declared
        if not is_json_type(essence):
            raise _refuse(essence, [JSON_TYPE, "application/*+json"])
        _check_json(params)
    data = await read_limited(request, maximum, limit)
    _check_utf8(data)
    return data


async def read_typed(request: Request, limits: dict[str, tuple[int, str]]) -> tuple[str, bytes]:
    """A body of one of the types in ``limits`` (type → (maximum bytes, setting name)), and its type.

    JSON (if listed) also matches ``+json`` types; a body of a JSON type (``application/json`` or
    a listed ``+json`` type) is checked as UTF-8. A body without ``Content-Type`` is taken as the
    first listed type.
    """
    declared = media_type(request)
    accepted = list(limits)
    essence, params = declared if declared is not None else (accepted[0], {})
    if JSON_TYPE in limits and is_json_type(essence):
        essence = JSON_TYPE
    if essence not in limits:
        raise _refuse(essence, accepted)
    maximum, limit = limits[essence]
    json_body = is_json_type(essence)
    if json_body:
        _check_json(params)
    data = await read_limited(request, maximum, limit)
    if json_body:
        _check_utf8(data)
    return essence, data


async def parse_json(request: Request, limits: dict[str, tuple[int, str]], *, untyped: bool = True) -> Any:
    """The parsed body of one of the JSON types in ``limits``, read by :func:`read_typed`.

    422 (``json_invalid``) when the bytes are not JSON, saying what is wrong and where (:func:`body_not_json`);
    422 at the value's pointer when it is not strict JSON (:func:`sceneforge.jsontext.loads`: a repeated member
    name, NaN, Infinity or a number beyond a double, more than :data:`~sceneforge.jsontext.MAX_DEPTH` levels of
    nesting). Each is a :class:`~sceneforge.errors.RequestInvalid` (``invalid request: …``): a body that is not
    JSON is no scene, whichever endpoint it was sent to. With ``untyped=False`` a body without ``Content-Type`` is
    415 rather than taken as the first type.
    """
    if not untyped and media_type(request) is None:
        raise UnsupportedMediaType(f"the body has no Content-Type; send one of: {', '.join(limits)}")
    _type, data = await read_typed(request, limits)
    try:
        return jsontext.loads(data)
    except jsontext.JsonTextError as exc:
        raise RequestInvalid([Issue(exc.pointer, exc.code, exc.message)]) from None
    except ValueError as exc:
        raise RequestInvalid([body_not_json(exc)]) from None


def body_not_json(exc: ValueError) -> Issue:
    """The ``json_invalid`` issue of a body :func:`json.loads` refused (:func:`sceneforge.jsontext.not_json`):
    ``the body is not JSON: line 3 column 5: Expecting ',' delimiter``, or ``the body is empty: it must be JSON``."""
    return Issue("", "json_invalid", jsontext.not_json(exc, "the body"))


def json_object(body: Any, message: str = "the body must be a JSON object") -> dict[str, Any]:
    """``body`` when it is a JSON object, else 422 (``body_not_object``, an invalid request) saying ``message`` and
    the JSON type that was sent (``…, not an array``)."""
    if not isinstance(body, dict):
        raise RequestInvalid([Issue("", "body_not_object", f"{message}, not {a_json_type(body)}")])
    return body


def version_number(value: Any, pointer: str) -> int:
    """``value`` when it is a version number (1 … :data:`MAX_NUMBER`), else 422 (``version_invalid``) at ``pointer``."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_NUMBER:
        return value
    name = pointer.rsplit("/", 1)[-1]
    raise RequestInvalid([Issue(pointer, "version_invalid", f"{name} must be a version number (1 to {MAX_NUMBER})")])


def only_members(body: dict[str, Any], allowed: tuple[str, ...], form: str) -> None:
    """422 ``extra_forbidden`` at each member of ``body`` past ``allowed`` (at most 20 named): a member of another
    form (``fromVersion`` beside ``template``), a template parameter outside ``params`` or a misspelt member (an
    export's ``versoin``) is never silently ignored."""
    extra = [name for name in body if name not in allowed]
    if not extra:
        return
    holds = " and ".join(repr(name) for name in allowed)
    hint = ": a template's parameters go in 'params'" if "params" in allowed else ""
    issues = [
        Issue(
            json_pointer([name]), "extra_forbidden", f"unknown member {shown(name)!r}: {form} holds {holds} only{hint}"
        )
        for name in extra[:20]
    ]
    raise RequestInvalid(issues)
