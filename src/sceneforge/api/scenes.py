"""Scene endpoints (docs/api.md, "Scenes"): build, GLB by latest / ETag / version number, meta, list, delete, links."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from ..errors import AssetError, JobError, NotFound
from ..glb_magic import is_glb
from ..jobs.service import JobService
from ..jobs.states import BuildJob, JobStatus
from ..jsontext import without_bom
from ..scene_ids import SCENE_ID
from ..storage import MetaBody, Scene, ScenePointer, VersionRef
from ..storage.blobs import check_key
from ..wire import iso_utc, shown
from .auth import WRITE, principal_of
from .bodies import GLB_TYPE, JSON_TYPE, MAX_NUMBER, read_typed
from .problems import BodyTooLarge, problem
from .responses import Representation, RepresentationResponse, Representations
from .schemas import BUILD_BODY, PROBLEMS, QUERY_DIGITS, BuildReply, LinkReply, SceneSummary, VersionEntry
from .services import Services, checked_scene_id, job_service, services

__all__ = [
    "FALLBACK",
    "PRIVATE_HEADERS",
    "PUBLIC_HEADERS",
    "QUANTIZE",
    "glb_entry",
    "meta_entry",
    "parse_ref",
    "representations",
    "requested_options",
    "router",
]

LATEST_CACHE = "no-cache"
EXACT_CACHE = "max-age=31536000, immutable"
#: JSON answers about a private scene, or made for a credential (a list with private scenes in it): never kept
#: by a shared cache (an ``X-API-Key`` is not ``Authorization``, which a shared cache would not reuse by itself).
PRIVATE_HEADERS = {"Cache-Control": "private, no-cache"}
#: The same answers made for no credential: revalidated on every use. A 200 without ``Cache-Control`` is heuristically
#: cacheable (RFC 9111 §4.2.2): a shared cache would go on naming a scene made private since, or hand a caller whose
#: key reads private scenes the anonymous list.
PUBLIC_HEADERS = {"Cache-Control": LATEST_CACHE}

#: ``n`` of up to 19 digits: every version number a body may name (1 … 2⁶³−1, ``MAX_NUMBER``) has its path.
_REF = re.compile(f"^(?P<id>{SCENE_ID})" + r"(?:\.(?P<etag>[0-9a-f]{16})|@v(?P<n>[1-9][0-9]{0,18}))?$")

router = APIRouter(tags=["scenes"])
Svc = Annotated[Services, Depends(services)]


class SceneIdConvertor(Convertor[str]):
    """``{scene_id:scene_id}``: a path segment that is a scene id (``scene_ids.SCENE_ID``), nothing else.

    A route whose last segment is a bare ``{scene_id}`` would also match ``x.glb`` or ``x@v2``, the paths of
    other resources: ``DELETE /scenes/{scene_id}`` made every 405 on ``/scenes/x.glb`` list DELETE in ``Allow``
    (RFC 9110 §15.5.6: the methods *that* resource supports), and a DELETE of it answered 404 instead of 405.
    """

    regex = SCENE_ID

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("scene_id", SceneIdConvertor())
Jobs = Annotated[JobService, Depends(job_service)]


async def _readable(request: Request, svc: Services, pointer: ScenePointer, private: bool | None = None) -> None:
    """Private scenes (``private``, else the pointer's flag) need a credential with ``read`` scope or a valid
    ``?token=`` link minted for this scene row (its ``link_nonce``)."""
    if not (pointer.private if private is None else private):
        return
    token = request.query_params.get("token")
    if token and svc.links.allows(token, pointer.scene_id, pointer.link_nonce):
        return
    await svc.auth.require(request, "read")


def _resolver(svc: Services) -> Any:
    """``asset:<id>`` → the uploaded bytes (for checks of a description made in this process, never builds)."""

    def resolve(asset_id: str) -> bytes:
        try:
            return svc.blobs.get(check_key(asset_id))
        except NotFound:
            raise AssetError("", f"asset {asset_id!r} has not been uploaded", code="asset_not_found") from None

    return resolve


#: ``?quantize``: KHR_mesh_quantization; unset, on with ``?compress`` (as the CLI's ``--compress``).
QUANTIZE = Query(description="KHR_mesh_quantization (default: on with compress, as the CLI's --compress)")
#: ``?fallback``: refused without ``?compress`` (as the CLI refuses ``--fallback`` alone).
FALLBACK = Query(description="With compress: keep the uncompressed data too")


def requested_options(quantize: bool | None, compress: bool, fallback: bool, instancing: bool) -> dict[str, Any]:
    """A build request's query flags as job options (only those that differ from the compiler's defaults):
    ``compress`` quantizes unless ``quantize=false``, and ``fallback`` needs ``compress`` (a 422 naming it),
    as ``sceneforge build`` takes them."""
    if fallback and not compress:
        message = "fallback needs compress=true: it stores the uncompressed data next to the compressed"
        raise RequestValidationError([{"loc": ("query", "fallback"), "type": "value_error", "msg": message}])
    quantize = compress if quantize is None else quantize
    options: dict[str, Any] = {"quantize": quantize, "compress": compress} if quantize or compress else {}
    if fallback:
        options["fallback"] = True
    if not instancing:
        options["instancing"] = False
    return options


#: Interactive builds go before queued ones.
BUILD_PRIORITY = 1000


@router.post(
    "/scenes/build", response_model=BuildReply, responses=PROBLEMS, openapi_extra=BUILD_BODY, dependencies=[WRITE]
)
async def build_scene(
    request: Request,
    svc: Svc,
    jobs: Jobs,
    private: Annotated[bool | None, Query(description="Make the scene private (None keeps its flag)")] = None,
    quantize: Annotated[bool | None, QUANTIZE] = None,
    compress: bool = False,
    fallback: Annotated[bool, FALLBACK] = False,
    instancing: Annotated[bool, Query(description="false: expand instances into plain geometry")] = True,
) -> Response:
    """Build a description (JSON) or a tagged GLB (``model/gltf-binary``) now, store it, return its ETag.

    The build runs as a job of top priority on the job executor (worker processes or Celery), never
    in this process, bounded by the job timeout and memory cap (422 naming the limit); this request
    waits for it. A client that disconnects cancels the build.
    """
    options = requested_options(quantize, compress, fallback, instancing)  # before the body: a 422 reads none
    declared, data = await read_typed(
        request,
        {
            JSON_TYPE: (svc.limits.max_body_bytes, "SCENEFORGE_MAX_BODY_BYTES"),
            GLB_TYPE: (svc.limits.max_upload_bytes, "SCENEFORGE_MAX_UPLOAD_BYTES"),
        },
    )
    if declared == GLB_TYPE and not is_glb(data) and len(data) > svc.limits.max_body_bytes:
        # read as a description (a .gltf sent as a GLB is told to export one): under the JSON limit, not the GLB's
        what = f"a description sent as {GLB_TYPE} (the body has no 'glTF' magic)"
        raise BodyTooLarge("SCENEFORGE_MAX_BODY_BYTES", svc.limits.max_body_bytes, what)
    if private is not None:
        options["private"] = private
    # the description joins the scene's history as an import revision by them
    options["author"] = principal_of(request).author
    started = time.perf_counter()
    job = await jobs.enqueue(data, priority=BUILD_PRIORITY, options=options, reuse=False)
    job = await _await_build(request, jobs, job.job_id)
    request.state.build_seconds = time.perf_counter() - started
    if job.status is JobStatus.QUEUED:
        await _cancel_quietly(jobs, job.job_id)
        wait = jobs.settings.jobs.queue_wait_s
        detail = f"no build worker took the build within {wait:g} s (SCENEFORGE_JOB_QUEUE_WAIT_S)"
        return problem(503, detail, limit="SCENEFORGE_JOB_QUEUE_WAIT_S", jobId=job.job_id)
    if job.status is JobStatus.RUNNING:  # stalled: its end could not be written (JobService.stalled)
        detail = (
            "the build's end could not be recorded and its job could not be taken back: storage refuses writes;"
            " the job runs again once it takes them"
        )
        return problem(503, detail, code="job_stalled", jobId=job.job_id)
    if job.status is not JobStatus.SUCCEEDED:
        return _failed_build(job)
    svc.scenes.cache.scene_changed(job.scene_id)  # this instance answers from the new version from now on
    result = job.result or {}
    return JSONResponse(
        {
            "sceneId": job.scene_id,
            "glbPath": f"/scenes/{job.scene_id}.glb",
            "eTag": result["eTag"],
            "bytes": result["bytes"],
            "version": result["version"],
            "metaPath": f"/scenes/{job.scene_id}/meta",
            "warnings": result.get("warnings", []),
        }
    )


async def _await_build(request: Request, jobs: JobService, job_id: str) -> BuildJob:
    """The job once it ended (or still Queued past the queue wait); canceled if the client goes away first."""
    finished = asyncio.create_task(jobs.wait(job_id, queue_wait_s=jobs.settings.jobs.queue_wait_s))
    gone = asyncio.create_task(_disconnected(request))
    try:
        await asyncio.wait({finished, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not finished.done():
            finished.cancel()
            await _cancel_quietly(jobs, job_id)
    return finished.result()


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body was read already, so the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        continue


async def _cancel_quietly(jobs: JobService, job_id: str) -> None:
    with contextlib.suppress(JobError, NotFound):
        await asyncio.shield(jobs.cancel(job_id))


def _failed_build(job: BuildJob) -> Response:
    """A build that did not succeed: 422 for its input or a limit (named), 503 when workers were lost, 507 or 503
    when storing it failed (a full disk; another store failure), else 500."""
    error = job.error or {}
    message = str(error.get("message") or f"the build ended {job.status.value}")
    extra: dict[str, Any] = {"jobId": job.job_id}
    if error.get("limit"):
        extra["limit"] = error["limit"]
    if job.status is JobStatus.CANCELED:
        return problem(409, "the build was canceled", **extra)
    if error.get("issues") or error.get("kind") in {"invalid", "limit"}:
        return problem(422, message, errors=error.get("issues", []), **extra)
    if error.get("kind") == "lost":
        return problem(503, f"the build's worker process was lost: {message}", **extra)
    if error.get("kind") == "storage":  # a full disk is 507, any other store failure 503: the code names which
        code = str(error.get("code") or "storage_unavailable")
        return problem(507 if code.endswith("_full") else 503, f"the build could not be stored: {message}", code=code,
                       **extra)  # fmt: skip
    return problem(500, f"the build failed: {message}", **extra)


def parse_ref(ref: str) -> tuple[str, str | None, int | None] | None:
    """``id``, ``id.{etag}`` or ``id@v{n}`` as (scene id, etag, n); None when ``ref`` names no scene file."""
    match = _REF.fullmatch(ref)
    if match is None or (match["n"] and int(match["n"]) > MAX_NUMBER):
        return None
    return match["id"], match["etag"], int(match["n"]) if match["n"] else None


async def _version_for(request: Request, svc: Services, ref: str) -> tuple[VersionRef, bool, bool]:
    """The version ``ref`` names, whether it is an exact (immutable) reference, and the scene's private flag."""
    parsed = parse_ref(ref)
    if parsed is None:
        raise NotFound(
            f"no scene version {shown(ref)!r}: a version is named id, id@v<n> (n ≤ {MAX_NUMBER}) or id.<etag>"
        )
    scene_id, etag, n = parsed
    pointer = await svc.scenes.pointer(scene_id)
    await _readable(request, svc, pointer)
    if etag is not None or n is not None:
        version = await svc.scenes.version_ref(scene_id, etag=etag, n=n)
        if not version.published:  # a draft build: like a private scene until someone publishes it
            await _readable(request, svc, pointer, private=True)
        return version, True, pointer.private or not version.published
    if pointer.latest is None:
        raise NotFound(f"scene {scene_id!r} has no version")
    return pointer.latest, False, pointer.private


def _cache_control(exact: bool, private: bool) -> str:
    return ("private, " if private else "public, " if exact else "") + (EXACT_CACHE if exact else LATEST_CACHE)


Entry = tuple[Hashable, Callable[[], Representation]]


def stored_blob(
    svc: Services,
    key: str,
    length: int,
    etag: str,
    media_type: str,
    cache_control: str,
    headers: dict[str, str] | None = None,
) -> Representation:
    """A stored blob's representation, delivered as the service's delivery settings say."""
    settings = svc.settings.delivery
    return Representation.of_blob(
        svc.blobs,
        key,
        length,
        etag,
        media_type,
        cache_control=cache_control,
        headers=headers,
        delivery=settings.mode,
        accel_prefix=settings.accel_prefix,
        presign_expires_s=settings.presign_expires_s,
    )


def glb_entry(svc: Services, version: VersionRef, exact: bool, private: bool) -> Entry:
    """The key and builder of the GLB representation of ``version`` (shared with the fast read path)."""
    key = ("glb", version.glb_key, version.etag, version.n, version.bytes, exact, private)

    def build() -> Representation:
        cache = _cache_control(exact, private)
        headers = {"x-scene-version": str(version.n)}
        return stored_blob(svc, version.glb_key, version.bytes, version.etag, GLB_TYPE, cache, headers)

    return key, build


def meta_entry(meta: MetaBody, private: bool) -> Entry:
    """The key and builder of a serialized meta's representation, tagged by its bytes (shared with the fast path)."""

    def build() -> Representation:
        cache_control = _cache_control(False, private)
        return Representation(meta.etag, len(meta.body), JSON_TYPE, cache_control=cache_control, body=meta.body)

    return ("meta", meta.etag, len(meta.body), private), build


def representations(request: Request) -> Representations:
    """The app's prepared representations (made by :func:`~.app.create_app`)."""
    reps: Representations = request.app.state.representations
    return reps


_GLB_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {GLB_TYPE: {}}},
    206: {"description": "Partial content"},
    304: {"description": "Not modified"},
    **PROBLEMS,
}


@router.get("/scenes/{ref}.glb", operation_id="getSceneGlb", responses=_GLB_RESPONSES, response_class=Response)
@router.head("/scenes/{ref}.glb", operation_id="headSceneGlb", responses=_GLB_RESPONSES, response_class=Response)
async def get_glb(ref: str, request: Request, svc: Svc) -> Response:
    """``/scenes/{id}.glb`` (latest), ``/scenes/{id}.{etag}.glb`` or ``/scenes/{id}@v{n}.glb`` (exact, immutable)."""
    version, exact, private = await _version_for(request, svc, ref)
    return RepresentationResponse(representations(request), *glb_entry(svc, version, exact, private))


_META_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {JSON_TYPE: {}}},
    304: {"description": "Not modified"},
    **PROBLEMS,
}


@router.get("/scenes/{scene_id}/meta", operation_id="getSceneMeta", responses=_META_RESPONSES)
@router.head("/scenes/{scene_id}/meta", operation_id="headSceneMeta", responses=_META_RESPONSES)
async def get_meta(scene_id: str, request: Request, svc: Svc) -> Response:
    """The meta JSON of the latest version (docs/meta.md). Its HTTP ETag is that of the JSON bytes."""
    pointer = await svc.scenes.pointer(checked_scene_id(scene_id))
    await _readable(request, svc, pointer)
    if pointer.latest is None:
        raise NotFound(f"scene {scene_id!r} has no version")
    meta = await svc.scenes.meta_of(pointer.latest)
    return RepresentationResponse(representations(request), *meta_entry(meta, pointer.private))


def _version_entry(version: VersionRef, latest: int | None) -> dict[str, Any]:
    return {
        "n": version.n,
        "eTag": version.etag,
        "bytes": version.bytes,
        "createdUtc": iso_utc(version.created_at),
        "latest": version.n == latest,
        "glbPath": f"/scenes/{version.scene_id}@v{version.n}.glb",
    }


@router.get("/scenes/{scene_id}/versions", response_model=list[VersionEntry], responses=PROBLEMS)
async def list_versions(scene_id: str, request: Request, svc: Svc) -> JSONResponse:
    """Every version of a scene, oldest first (``latest`` marks the one ``/scenes/{id}.glb`` serves)."""
    pointer = await svc.scenes.pointer(checked_scene_id(scene_id))
    await _readable(request, svc, pointer)
    latest = pointer.latest.n if pointer.latest else None
    entries = [_version_entry(v, latest) for v in await svc.scenes.version_refs(scene_id)]
    return JSONResponse(entries, headers=PRIVATE_HEADERS if pointer.private else PUBLIC_HEADERS)


@router.get("/scenes/{ref}/description", responses=PROBLEMS, response_class=Response)
async def get_description(ref: str, request: Request, svc: Svc) -> Response:
    """The description (JSON) the version ``ref`` names was built from: ``id`` (the published version),
    ``id@v{n}`` or ``id.{etag}``; 404 for a version built from a tagged GLB (it kept none)."""
    version, exact, private = await _version_for(request, svc, ref)
    stored = await svc.scenes.by_number(version.scene_id, version.n)
    data = None if stored.description_key is None else await asyncio.to_thread(svc.blobs.get, stored.description_key)
    if data is None or is_glb(data):
        what = f"version v{version.n} of {version.scene_id!r}"
        raise NotFound(f"{what} kept no description (it was built from a tagged GLB)")
    headers = {"Cache-Control": _cache_control(exact, private), "X-Scene-Version": str(version.n)}
    # stored without a BOM since (JobService.enqueue); one stored before answers starting with its JSON too
    return Response(without_bom(data), media_type=JSON_TYPE, headers=headers)


def _summary(scene: Scene) -> dict[str, Any]:
    latest = scene.latest
    return {
        "sceneId": scene.id,
        "private": scene.private,
        "version": latest.n if latest else None,
        "eTag": latest.etag if latest else None,
        "bytes": latest.bytes if latest else None,
        "glbPath": f"/scenes/{scene.id}.glb",
        "updatedUtc": iso_utc(scene.updated_at),
    }


@router.get("/scenes", response_model=list[SceneSummary], responses=PROBLEMS)
async def list_scenes(request: Request, svc: Svc) -> JSONResponse:
    """The 1,000 most recently updated scenes with their latest versions; private scenes only for callers with
    ``read`` scope."""
    who = await svc.auth.principal(request)
    scenes = await svc.scenes.list_scenes(include_private=who is not None)
    return JSONResponse([_summary(s) for s in scenes], headers=PRIVATE_HEADERS if who is not None else PUBLIC_HEADERS)


@router.delete(
    "/scenes/{scene_id:scene_id}", status_code=204, responses=PROBLEMS, response_class=Response, dependencies=[WRITE]
)
async def delete_scene(scene_id: str, request: Request, svc: Svc) -> Response:
    """Delete a scene and all its versions (``write`` scope); its unfinished jobs are canceled first, so a build
    queued before does not bring the scene back, nor a preview store files for it."""
    await svc.scenes.pointer(scene_id)  # 404 for a scene that does not exist, before any job is touched
    jobs = job_service(request)
    for job_id in await jobs.store.active_of_scene(scene_id):
        with contextlib.suppress(JobError, NotFound):  # it finished (or went) meanwhile
            await jobs.cancel(job_id)
    removed = await svc.scenes.delete_scene(scene_id)
    await svc.emit("scene.invalidated", scene_id, {"etags": [v.etag for v in removed]})
    return Response(status_code=204)


@router.post("/scenes/{scene_id}/links", response_model=LinkReply, responses=PROBLEMS, dependencies=[WRITE])
async def create_link(
    scene_id: str,
    request: Request,
    svc: Svc,
    ttl: Annotated[
        int, Query(ge=1, le=30 * 24 * 3600, description="Seconds the link stays valid"), QUERY_DIGITS
    ] = 3600,
) -> JSONResponse:
    """A signed, expiring ``?token=`` link that reads one (private) scene without a key (``write`` scope)."""
    pointer = await svc.scenes.pointer(checked_scene_id(scene_id))
    # Rounded up to a whole second, never down: a link holds for ttl seconds at least (int() had cut up to a second
    # off, so a ttl=1 link made at x.999 s was dead a millisecond later)
    expires = math.ceil(time.time()) + ttl
    token = await asyncio.to_thread(svc.links.mint, scene_id, expires, pointer.link_nonce)
    return JSONResponse(
        {
            "token": token,
            "url": f"/scenes/{scene_id}.glb?token={token}",
            "metaUrl": f"/scenes/{scene_id}/meta?token={token}",
            "expiresUtc": iso_utc(datetime.fromtimestamp(expires, UTC)),
        }
    )
