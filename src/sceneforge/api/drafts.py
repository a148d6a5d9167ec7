"""Draft endpoints (docs/drafts.md): create, read, JSON Patch, undo/redo, history, build, publish, templates.

Every change is validated as a build would validate it (:func:`sceneforge.compile.check_scene`,
in a worker thread) before anything is written; a failure is a 422 whose pointers point into
the resulting description. ``ETag: "rev-<n>"`` on the draft and ``If-Match`` on a patch give
lost-update protection (412 when stale). The repository is the job service's
(``app.state.jobs.drafts``), whose event log records ``draft.revised`` in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, suppress
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, unquote_to_bytes

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from ..errors import BuildCanceled, Issue, LimitExceeded, NotFound, RequestInvalid
from ..generate.templates import from_template, template_list
from ..glb_magic import is_glb
from ..jobs.assist import check_draft
from ..storage.drafts import (
    Draft,
    DraftRepository,
    NoneMatch,
    Revision,
    StaleRevision,
    canonical_json,
    refuse_if_none_match,
)
from ..storage.tables import MAX_REASON_CHARS
from ..wire import header_text, iso_utc, one_line, shown
from .auth import WRITE, principal_of
from .bodies import JSON_TYPE, MAX_NUMBER, json_object, only_members, parse_json, version_number
from .delivery import if_match_holds, if_none_match_matches, parse_etags
from .problems import UnsupportedMediaType, found_first
from .scenes import PRIVATE_HEADERS, PUBLIC_HEADERS, QUANTIZE, _disconnected, _resolver, requested_options
from .scenes import _readable as scene_readable
from .schemas import DIGITS, PROBLEMS, QUERY_DIGITS, QUERY_SIGNED
from .services import Services, checked_scene_id, in_thread, services

__all__ = ["router"]

router = APIRouter(tags=["drafts"])
Svc = Annotated[Services, Depends(services)]
PATCH_TYPE = "application/json-patch+json"
#: The tag of a revision, as the draft's ``ETag`` writes it: tags are compared as text (RFC 9110 §8.8.3.2), so
#: ``"rev-01"`` names no revision (a GET of the draft compares it so too).
_REV_TAG = re.compile(r'"rev-([1-9][0-9]{0,18})"')
RevNumber = Annotated[int, Path(ge=1, le=MAX_NUMBER, description="A revision number"), DIGITS]


def _drafts(request: Request) -> DraftRepository:
    repo: DraftRepository = request.app.state.jobs.drafts
    return repo


Drafts = Annotated[DraftRepository, Depends(_drafts)]


#: The members of an ``If-Match`` list: quoted tags (which may hold commas) or the text between commas.
_LIST_MEMBER = re.compile(r'(?:"[^"]*"|[^,"])+')
#: An entity-tag as RFC 9110 §8.8.3 writes it: quoted, ``W/`` before it when weak, blanks around it.
_ENTITY_TAG = re.compile(r'[ \t]*(?:W/)?"[^"]*"[ \t]*')


def _conditional(request: Request, name: str) -> str | None:
    """The lines of the list field ``name`` (``if-match``, ``if-none-match``) joined by commas, as RFC 9110 §5.3
    combines them (None when not sent): a second line is more of the list, never left unread (an ``If-None-Match``
    naming the current rev on its second line let a write through; ``"rev-1"`` then ``*`` is ``*`` in a list, 422),
    as the GLB reads join them."""
    lines = request.headers.getlist(name)
    return ", ".join(lines) if lines else None


def _entity_tags(header: str, field: str, named: str) -> list[tuple[bool, str]] | None:
    """The (weak, quoted tag) members of an ``If-Match`` or ``If-None-Match`` header on a write: None for ``*``;
    422 (``if_match_invalid``, ``if_none_match_invalid``) when it holds no entity tag at all, when a member is not
    one (unquoted, ``rev-3``: a write's precondition is never guessed; reads take it as quoted), or when ``*`` is
    one member of a list (the grammar is ``"*" / #entity-tag``: ``*`` stands alone)."""
    tags = parse_etags(header)
    if tags is None:
        return None
    members = [member for member in _LIST_MEMBER.findall(header) if member.strip()]
    if not tags or not all(_ENTITY_TAG.fullmatch(member) for member in members):
        message = f"{field} must be {named}, a list of them, or * alone (never in a list)"
        code = {"If-Match": "if_match_invalid", "If-None-Match": "if_none_match_invalid"}[field]
        raise RequestInvalid([Issue(f"/header/{field}", code, message)])
    return tags


def _strong_tags(header: str, named: str) -> frozenset[str] | None:
    """The strong entity-tags (quoted) of an ``If-Match`` header (RFC 9110 §13.1.1): None for ``*``; a weak tag
    is left out (strong comparison: it matches nothing, 412); 422 when malformed (:func:`_entity_tags`)."""
    tags = _entity_tags(header, "If-Match", named)
    return None if tags is None else frozenset(tag for weak, tag in tags if not weak)


def _any_tags(header: str, named: str) -> frozenset[str] | Literal["*"]:
    """The entity-tags (quoted, ``W/`` dropped) of an ``If-None-Match`` header on a write (RFC 9110 §13.1.2: weak
    comparison), or ``"*"``; 422 when malformed (:func:`_entity_tags`)."""
    tags = _entity_tags(header, "If-None-Match", named)
    return "*" if tags is None else frozenset(tag for _weak, tag in tags)


def _if_none_match(request: Request) -> NoneMatch | None:
    """The revs ``If-None-Match`` names on a draft write (``W/"rev-<n>"`` names rev n too: weak comparison), or
    ``"*"``; None when not sent. A write to a draft at one of them is 412 (:func:`refuse_if_none_match`)."""
    header = _conditional(request, "if-none-match")
    if header is None:
        return None
    tags = _any_tags(header, '"rev-<n>" (the draft\'s ETag)')
    if tags == "*":
        return "*"
    revs = (int(m[1]) for tag in tags if (m := _REV_TAG.fullmatch(tag)))
    return frozenset(rev for rev in revs if rev <= MAX_NUMBER)


def _if_match(header: str | None) -> frozenset[int] | None:
    """The revs ``If-Match`` accepts: None for none sent or ``*``; else the revs of its strong ``"rev-<n>"``
    tags (a weak or foreign tag matches nothing: 412); 422 when malformed (:func:`_strong_tags`)."""
    if header is None:
        return None
    tags = _strong_tags(header, '"rev-<n>" (the draft\'s ETag)')
    if tags is None:
        return None
    revs = (int(m[1]) for tag in tags if (m := _REV_TAG.fullmatch(tag)))
    return frozenset(rev for rev in revs if rev <= MAX_NUMBER)


def _star(request: Request) -> bool | None:
    """``If-Match: *`` (True: a draft must exist) or ``If-None-Match: *`` (False: none may), RFC 9110 §13.1.1-2;
    None when neither is sent."""
    if (_conditional(request, "if-match") or "").strip() == "*":
        return True
    if (_conditional(request, "if-none-match") or "").strip() == "*":
        return False
    return None


def _of_a_draft(drafts: DraftRepository, scene_id: str) -> AbstractAsyncContextManager[None]:
    """Around the reading of a request to a draft (its headers, its body): a refusal of what it holds (422) is
    answered 404 when the scene has no draft, whatever the request holds (docs/drafts.md); the draft's row alone
    is looked for, and only then."""
    return found_first(lambda: drafts.current_rev(scene_id))


def _author(request: Request) -> str:
    return principal_of(request).author


#: RFC 8187's ext-value prefix for UTF-8 (§3.2.1): the charset in any case, then between two quotes a language tag
#: (RFC 5646: letters, digits, hyphens) or none: ``UTF-8''caf%C3%A9``, ``UTF-8'en'Fixed%20the%20door``. The tag
#: changes nothing in the text, and is not stored. Another charset is no prefix: the header is read as text.
_UTF8_EXT = re.compile(r"utf-8'[a-z0-9-]*'", re.IGNORECASE | re.ASCII)
#: What may follow it: printable ASCII (spaces too, and what ``encodeURIComponent`` leaves as it is) and ``%`` with
#: two hex digits. A ``%`` without them, or a byte past ASCII, is not percent-encoded UTF-8 (422, never stored).
_PERCENT_ENCODED = re.compile(r"(?:[ -$&-~]|%[0-9A-Fa-f]{2})*")


def _fault(encoded: str) -> str:
    """What in ``encoded`` (after the ``UTF-8''`` prefix: the header's bytes, as Latin-1 text) is not
    percent-encoded UTF-8, as ``reason_invalid`` says it: a raw character read as the UTF-8 it is, with its
    escapes, else the byte by number; never the bytes as Latin-1 mojibake (``cafÃ©``)."""
    match = _PERCENT_ENCODED.match(encoded)
    at = match.end() if match else 0  # where the percent-encoded text stops
    raw = encoded.encode("latin-1")
    if at == len(encoded):  # each byte is ASCII or an escape: the escaped bytes are not UTF-8
        data = unquote_to_bytes(encoded)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            escapes = "".join(f"%{b:02X}" for b in data[exc.start : exc.end])
            return f"{escapes} does not decode as UTF-8"
        return "not UTF-8"  # not reached: the escapes decode
    if encoded[at] == "%":
        after = encoded[at : at + 3]
        shown_after = f"{after!r}: " if after.isascii() and after.isprintable() else ""
        return f"{shown_after}a % without two hex digits after it"
    for length in range(2, 5) if raw[at] >= 0x80 else ():  # the UTF-8 of one character, when it is one
        with suppress(UnicodeDecodeError):
            char = raw[at : at + length].decode("utf-8")
            return f"{char!r} ({quote(char, safe='')}) unencoded"
    return f"the byte 0x{raw[at]:02X} unencoded"


def _reason(request: Request) -> str | None:
    """``X-Change-Reason`` without surrounding blanks (None when empty); 422 past :data:`MAX_REASON_CHARS`,
    before anything is written — never cut.

    A header carries Latin-1 only, and browsers refuse to send anything else (``fetch`` throws), so
    text beyond it comes as RFC 8187's ``UTF-8''`` + percent-encoded UTF-8 (the studio's and the MCP
    server's form; a language tag may stand between the quotes: ``UTF-8'en'``; 422 ``reason_invalid`` when
    that is not UTF-8). Raw header bytes that are valid UTF-8 (what ``curl -H`` sends from a UTF-8 terminal)
    are read as UTF-8, any others as Latin-1.
    """
    lines = request.headers.getlist("x-change-reason")
    if len(lines) > 1:  # one text, not a list: the first alone would drop the others unseen
        message = f"X-Change-Reason is sent on {len(lines)} lines: send the reason on one"
        raise RequestInvalid([Issue("/header/X-Change-Reason", "reason_invalid", message)])
    value = lines[0] if lines else ""  # Starlette decodes header bytes as Latin-1
    if prefix := _UTF8_EXT.match(value):
        encoded = value[prefix.end() :]
        try:
            if not _PERCENT_ENCODED.fullmatch(encoded):  # unquote would keep "%ZZ" and raw bytes as they are
                raise ValueError(encoded)
            value = unquote(encoded, errors="strict")
        except ValueError:  # UnicodeDecodeError is one
            sent = shown(value.encode("latin-1").decode("utf-8", errors="replace"))
            message = f"X-Change-Reason {sent!r} is not percent-encoded UTF-8 after {prefix[0]}: {_fault(encoded)}"
            raise RequestInvalid([Issue("/header/X-Change-Reason", "reason_invalid", message)]) from None
    else:
        value = header_text(value)
    reason = one_line(value)  # a percent-encoded line break or NUL is stored as a space
    if len(reason) > MAX_REASON_CHARS:
        message = f"X-Change-Reason is {len(reason):,} characters, above the limit of {MAX_REASON_CHARS:,}"
        raise RequestInvalid([Issue("/header/X-Change-Reason", "reason_too_long", message)])
    return reason or None


def draft_body(draft: Draft) -> dict[str, Any]:
    return {
        "sceneId": draft.scene_id,
        "rev": draft.rev,
        "description": draft.description,
        "updatedUtc": iso_utc(draft.updated_at),
        "author": draft.author,
        "canUndo": draft.can_undo,
        "canRedo": draft.can_redo,
    }


def revision_body(revision: Revision) -> dict[str, Any]:
    return {
        "rev": revision.rev,
        "parentRev": revision.parent_rev,
        "author": revision.author,
        "source": revision.source,
        "reason": revision.reason,
        "ops": revision.ops,
        "createdUtc": iso_utc(revision.created_at),
        "messageId": revision.message_id,
    }


def _draft_reply(
    draft: Draft, status: int = 200, revision: Revision | None = None, *, private: bool = False, minimal: bool = False
) -> JSONResponse:
    body = draft_body(draft)
    if minimal:
        del body["description"]
    if revision is not None:
        body["revision"] = revision_body(revision)
        if minimal:  # the client sent the ops: the revision's identity only (a one-op save of a 30 MB value)
            del body["revision"]["ops"]
    headers = {"ETag": f'"rev-{draft.rev}"', **(PRIVATE_HEADERS if private else PUBLIC_HEADERS)}
    return JSONResponse(body, status_code=status, headers=headers)


async def _json_body(request: Request, svc: Services, media: str = JSON_TYPE) -> Any:
    """The parsed JSON body of type ``media`` (415 without a ``Content-Type``)."""
    limit = (svc.settings.limits.max_body_bytes, "SCENEFORGE_MAX_BODY_BYTES")
    return await parse_json(request, {media: limit}, untyped=False)


def validator(svc: Services, scene_id: str, request: Request) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The check of a description for ``scene_id``, run in a worker thread (one of ``svc.builds``):
    its id must match, and it must build.

    A thread takes no cancel: the check of a request cancelled meanwhile, or whose client went away, ran to its
    end (seconds of CPU and hundreds of MB for a large scene, holding one of ``svc.builds``). The check asks between
    its stages whether its request was cancelled (:func:`_stop_if_cancelled`) and stops at the next one; the client
    going away cancels it (:class:`~sceneforge.errors.BuildCanceled`, 409: nothing is written)."""
    resolve, limits = _resolver(svc), svc.settings.limits

    async def validate(description: dict[str, Any]) -> None:
        with anyio.CancelScope() as check:
            gone = asyncio.create_task(_disconnected(request))
            gone.add_done_callback(partial(_cancel_when_gone, check))
            try:
                await in_thread(svc, check_draft, description, scene_id, limits, resolve, progress=_stop_if_cancelled)
            finally:
                gone.cancel()
        if check.cancelled_caught:
            raise BuildCanceled(f"the client went away during the check of the draft of {scene_id!r}")

    return validate


def _cancel_when_gone(check: anyio.CancelScope, watch: asyncio.Task[None]) -> None:
    """Cancel ``check`` once ``watch`` (:func:`_disconnected`) saw the client go (not when it was cancelled itself)."""
    if not watch.cancelled() and watch.exception() is None:
        check.cancel()


def _stop_if_cancelled(stage: str, fraction: float) -> None:
    """A check's ``progress`` in an anyio worker thread: raises the cancel of the request it runs for, if any."""
    anyio.from_thread.check_cancelled()


@router.get("/templates")
async def templates(svc: Svc) -> JSONResponse:
    """Level templates a draft can start from, with their parameters as JSON schemas."""
    return JSONResponse({"templates": template_list(svc.limits.max_cells)})


@router.post("/scenes/{scene_id}/draft", responses=PROBLEMS, dependencies=[WRITE], status_code=201)
async def create_draft(
    scene_id: str,
    request: Request,
    svc: Svc,
    drafts: Drafts,
    replace: Annotated[bool, Query(description="Replace an existing draft (as a new revision)")] = False,
) -> JSONResponse:
    """Start the draft: body is a description, ``{"fromVersion": n}`` or ``{"template": name, "params": {…}}``."""
    scene_id = checked_scene_id(scene_id)
    reason, if_match = _reason(request), _if_match(_conditional(request, "if-match"))
    body = json_object(await _json_body(request, svc))
    validate = validator(svc, scene_id, request)
    n: int | None = None  # the version the description was read from, which must still exist when it is written
    if "template" in body:
        only_members(body, ("template", "params"), "a template's body")
        if "params" in body and body["params"] is None:  # written out, null is a mistake: leave it out for defaults
            raise RequestInvalid([Issue("/params", "template_param", "params must be an object, not null")])
        try:
            description = await in_thread(svc, from_template, body["template"], body.get("params"), scene_id,
                                          max_cells=svc.limits.max_cells)  # fmt: skip
            await validate(description)
        except LimitExceeded as exc:  # params within the template's schema, a scene past a limit: point at them
            refused = LimitExceeded(exc.limit, exc.value, exc.maximum, "/params")
            made = f"template {body['template']!r} with these params makes a scene whose "
            refused.issues = [Issue("/params", i.code, made + i.message) for i in exc.issues]
            raise refused from None
    else:
        if "fromVersion" in body:
            only_members(body, ("fromVersion",), "a fromVersion body")
            n = version_number(body["fromVersion"], "/fromVersion")
            version = await svc.scenes.by_number(scene_id, n)
            key = version.description_key
            raw = None if key is None else await anyio.to_thread.run_sync(svc.blobs.get, key)
            if raw is None or is_glb(raw):  # a tagged GLB build keeps the GLB as sent, no JSON: json.loads was a 500
                raise NotFound(f"version v{n} of {scene_id!r} kept no description (it was built from a tagged GLB)")
            description = json.loads(raw)
        else:
            description = body
        await validate(description)
    draft, revision = await drafts.create(
        scene_id, description, author=_author(request), reason=reason, replace=replace, if_match=if_match,
        exists=_star(request), if_none_match=_if_none_match(request), from_version=n,
    )  # fmt: skip
    return _draft_reply(draft, 200 if revision is None else 201, revision)  # 200: the draft held it already


@router.get("/scenes/{scene_id}/draft", responses=PROBLEMS)
async def get_draft(scene_id: str, request: Request, svc: Svc, drafts: Drafts) -> Response:
    """The draft with its ``rev`` (``ETag: "rev-<n>"``); ``If-None-Match`` naming it is 304, ``If-Match`` naming
    another rev 412 (RFC 9110 §13.2.2, as the GLB reads evaluate them). A rev names one description for good:
    a scene deleted and drafted anew numbers on from its old revs (docs/drafts.md, "Numbers")."""
    scene_id = checked_scene_id(scene_id)
    private = await _readable(request, svc, scene_id)
    draft = await drafts.get(scene_id)
    tag, if_match = f"rev-{draft.rev}", _conditional(request, "if-match")
    if not if_match_holds(if_match, tag):  # read as the GLB reads read it: a malformed one holds for no rev (412)
        raise StaleRevision(_read_revs(if_match), draft.rev)
    if if_none_match_matches(_conditional(request, "if-none-match"), tag):
        return Response(
            status_code=304, headers={"ETag": f'"{tag}"', **(PRIVATE_HEADERS if private else PUBLIC_HEADERS)}
        )
    return _draft_reply(draft, private=private)


def _read_revs(header: str | None) -> frozenset[int]:
    """The revs the strong tags of a read's ``If-Match`` name, as :func:`if_match_holds` reads them (an unquoted
    ``rev-2`` as quoted; a malformed header names none), for its 412: never the write's 422 (:func:`_if_match`),
    which had answered a read whose unquoted tag named another rev (the same tag naming the current rev is 200)."""
    tags = parse_etags(header or "") or ()
    revs = (int(m[1]) for weak, tag in tags if not weak and (m := _REV_TAG.fullmatch(tag)))
    return frozenset(rev for rev in revs if rev <= MAX_NUMBER)


async def _readable(request: Request, svc: Services, scene_id: str) -> bool:
    """Refuse a read of a private scene's draft, revisions or assistant sessions without ``read`` scope or a link;
    whether the scene is private (the answer then carries :data:`PRIVATE_HEADERS`, as the scene's own reads do)."""
    try:
        pointer = await svc.scenes.pointer(scene_id)
    except NotFound:
        return False
    await scene_readable(request, svc, pointer)
    return pointer.private


@router.patch("/scenes/{scene_id}/draft", responses=PROBLEMS, dependencies=[WRITE])
async def patch_draft(scene_id: str, request: Request, svc: Svc, drafts: Drafts) -> JSONResponse:
    """Apply an RFC 6902 JSON Patch; ``If-Match: "rev-<n>"`` refuses a stale edit (412). A patch that changes
    nothing makes no revision: the draft as it is, without a ``revision`` member. ``Prefer: return=minimal``
    (RFC 7240) leaves the ``description`` out of the answer, and the ``ops`` out of its ``revision`` (the editor
    that sent the patch has both), with ``Preference-Applied: return=minimal``."""
    scene_id = checked_scene_id(scene_id)
    async with _of_a_draft(drafts, scene_id):  # a body not strict JSON, a malformed header: 404 with no draft
        reason = _reason(request)
        try:
            ops = await _json_body(request, svc, PATCH_TYPE)
        except UnsupportedMediaType as exc:  # RFC 5789 §2.2: say which patch documents are taken
            exc.accept_patch = PATCH_TYPE
            raise
        if_match, if_none_match = _if_match(_conditional(request, "if-match")), _if_none_match(request)
    validate = validator(svc, scene_id, request)
    draft, revision = await drafts.patch(
        scene_id, ops, author=_author(request), reason=reason, if_match=if_match, validate=validate,
        if_none_match=if_none_match,
    )  # fmt: skip
    if not _prefers_minimal(", ".join(request.headers.getlist("prefer"))):  # a list, maybe on several lines
        return _draft_reply(draft, 200, revision)
    reply = _draft_reply(draft, 200, revision, minimal=True)
    reply.headers["Preference-Applied"] = "return=minimal"
    return reply


def _prefers_minimal(prefer: str) -> bool:
    """Whether a ``Prefer`` header (RFC 7240: comma-separated preferences, each ``token[=value]`` with
    ``;`` parameters; tokens case-insensitive, values maybe quoted) asks for ``return=minimal``."""
    for preference in prefer.split(","):
        token, _, value = preference.split(";", 1)[0].partition("=")
        if token.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
            return True
    return False


@router.post("/scenes/{scene_id}/draft/undo", responses=PROBLEMS, dependencies=[WRITE])
async def undo(scene_id: str, request: Request, drafts: Drafts) -> JSONResponse:
    """Undo the most recent change not yet undone (a new revision, ``source: "undo"``); 409 if none;
    ``If-Match: "rev-<n>"`` refuses an undo of a draft that moved on (412), as on a patch."""
    scene_id = checked_scene_id(scene_id)
    async with _of_a_draft(drafts, scene_id):
        reason, if_match = _reason(request), _if_match(_conditional(request, "if-match"))
        if_none_match = _if_none_match(request)
    draft, revision = await drafts.undo(
        scene_id, author=_author(request), reason=reason, if_match=if_match, if_none_match=if_none_match
    )
    return _draft_reply(draft, 200, revision)


@router.post("/scenes/{scene_id}/draft/redo", responses=PROBLEMS, dependencies=[WRITE])
async def redo(scene_id: str, request: Request, drafts: Drafts) -> JSONResponse:
    """Redo the most recently undone change (``source: "redo"``); 409 when there is none; ``If-Match`` as on undo."""
    scene_id = checked_scene_id(scene_id)
    async with _of_a_draft(drafts, scene_id):
        reason, if_match = _reason(request), _if_match(_conditional(request, "if-match"))
        if_none_match = _if_none_match(request)
    draft, revision = await drafts.redo(
        scene_id, author=_author(request), reason=reason, if_match=if_match, if_none_match=if_none_match
    )
    return _draft_reply(draft, 200, revision)


@router.get("/scenes/{scene_id}/revisions", responses=PROBLEMS)
async def revisions(
    scene_id: str,
    request: Request,
    svc: Svc,
    drafts: Drafts,
    take: Annotated[int, Query(ge=1, le=500), QUERY_DIGITS] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_NUMBER), QUERY_DIGITS] = None,
) -> JSONResponse:
    """The newest ``take`` revisions (older than ``before`` when given), newest first, up to
    :data:`~sceneforge.storage.draft_reads.REVISIONS_PAGE_BYTES` of ops; ``next``: the ``before`` of the
    next page, or null when no older revision follows."""
    scene_id = checked_scene_id(scene_id)
    private = await _readable(request, svc, scene_id)
    listed, more = await drafts.revisions_page(scene_id, take, before=before)
    body = {
        "sceneId": scene_id,
        "revisions": [revision_body(r) for r in listed],
        "next": listed[-1].rev if more and listed else None,
    }
    return JSONResponse(body, headers=PRIVATE_HEADERS if private else PUBLIC_HEADERS)


@router.get("/scenes/{scene_id}/revisions/{rev}", responses=PROBLEMS)
async def revision(scene_id: str, rev: RevNumber, request: Request, svc: Svc, drafts: Drafts) -> JSONResponse:
    """One revision with the whole description ``before`` and ``after`` it."""
    scene_id = checked_scene_id(scene_id)
    private = await _readable(request, svc, scene_id)
    found, before, after = await drafts.revision(scene_id, rev, keep=svc.settings.storage.keep_revisions)
    body = {**revision_body(found), "before": before, "after": after}
    return JSONResponse(body, headers=PRIVATE_HEADERS if private else PUBLIC_HEADERS)


@router.post("/scenes/{scene_id}/draft/build", responses=PROBLEMS, dependencies=[WRITE])
async def build_draft(
    scene_id: str,
    request: Request,
    drafts: Drafts,
    quantize: Annotated[bool | None, QUANTIZE] = None,
    compress: bool = False,
    priority: Annotated[int, Query(ge=-100, le=100), QUERY_SIGNED] = 0,
) -> JSONResponse:
    """Queue a build of the draft's current revision: ``{jobId, rev, sceneId}``. The version it makes is not published.
    ``If-Match: "rev-<n>"`` builds only that rev (412 once the draft moved on)."""
    scene_id = checked_scene_id(scene_id)
    async with _of_a_draft(drafts, scene_id):
        if_match, if_none_match = _if_match(_conditional(request, "if-match")), _if_none_match(request)
    draft = await drafts.get(scene_id)
    if if_match is not None and draft.rev not in if_match:
        raise StaleRevision(if_match, draft.rev)
    refuse_if_none_match(if_none_match, draft.rev)
    options = {**requested_options(quantize, compress, False, True), "publish": False, "rev": draft.rev,
               "author": _author(request)}  # fmt: skip
    job = await request.app.state.jobs.enqueue(canonical_json(draft.description), priority=priority, options=options)
    return JSONResponse({"jobId": job.job_id, "rev": draft.rev, "sceneId": draft.scene_id})


@router.post("/scenes/{scene_id}/publish", responses=PROBLEMS, dependencies=[WRITE])
async def publish(scene_id: str, request: Request, svc: Svc) -> JSONResponse:
    """``{"version": n}``: make version ``n`` the public one (an older ``n`` rolls back); events
    ``scene.published`` then ``scene.invalidated``. ``If-Match`` names the published version's ETag (the one
    ``/scenes/{id}.glb`` serves), or ``*`` (some version is published): 412, nothing moved, when it does not hold;
    so does an ``If-None-Match`` that names it (weak comparison), or ``*`` while a version is published."""
    scene_id = checked_scene_id(scene_id)
    async with found_first(lambda: svc.scenes.pointer(scene_id)):  # no such scene: 404 whatever the request holds
        header, named = _conditional(request, "if-match"), "the published version's ETag"
        if_match: frozenset[str] | Literal["*"] | None = None
        if header is not None:
            tags = _strong_tags(header, named)
            if_match = "*" if tags is None else frozenset(tag.strip('"') for tag in tags)
        header = _conditional(request, "if-none-match")
        if_none_match: frozenset[str] | Literal["*"] | None = None
        if header is not None:
            held = _any_tags(header, named)
            if_none_match = "*" if held == "*" else frozenset(tag.strip('"') for tag in held)
        body = json_object(await _json_body(request, svc), 'the body must be a JSON object {"version": n}')
        only_members(body, ("version",), "a publish body")
        n = version_number(body.get("version"), "/version")
    jobs = request.app.state.jobs

    async def record(conn: Any, moved: Any) -> list[Any]:
        # In the publish's transaction: stored exactly when the pointer moved, in the order it moved, and sent
        # however the request ends once its COMMIT went out (a client gone then left the caches of the other
        # instances naming the old version).
        log = jobs.store.log
        return [
            await log.append(conn, "scene.published", scene_id, {"version": n, "eTag": moved.etag}),
            await log.append(conn, "scene.invalidated", scene_id, {"etag": moved.etag}),
        ]

    version = await svc.scenes.publish(
        scene_id, n, if_match=if_match, if_none_match=if_none_match, record=record, published=jobs.hub.publish
    )
    return JSONResponse({"sceneId": scene_id, "version": n, "eTag": version.etag, "rev": version.rev})
