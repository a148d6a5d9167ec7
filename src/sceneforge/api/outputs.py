"""Previews and exports of versions (docs/jobs.md): served per version with ETags, made by jobs.

* ``GET /scenes/{ref}/preview/floorplan.svg | floorplan.png | thumbnail.png`` — made by the
  ``preview`` job every successful build queues; 404 until it has run.
* ``POST /scenes/{id}/exports {"format": "usdz" | "obj", "version"?: n}`` → 202
  ``{jobId, sceneId, version, format, url}``: an ``export`` job (done at once when that version's file already exists);
  ``GET /scenes/{ref}/exports/{format}`` once done.

``ref`` is ``id`` (the published version), ``id@v{n}`` or ``id.{etag}`` (one exact version,
cached as immutable). Reads follow the GLB's access rules (private scenes and unpublished
versions need read access) and its conditional and range rules (one delivery path). With
``SCENEFORGE_PUBLIC_BASE_URL`` set the files are public at ``<base>/<object name>`` and these
routes redirect there; job results carry those URLs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ..errors import Issue, NotFound, RequestInvalid
from ..jobs.export import EXPORT_FORMATS
from ..storage import VersionRef
from ..storage.artifacts import Artifact, ArtifactRepository
from .auth import WRITE
from .bodies import JSON_TYPE, json_object, only_members, parse_json, version_number
from .problems import found_first
from .responses import Representation, RepresentationResponse
from .scenes import _cache_control, _version_for, representations, stored_blob
from .schemas import PROBLEMS
from .services import Services, checked_scene_id, job_service, services

__all__ = ["artifact_url", "router"]

router = APIRouter(tags=["previews and exports"])
Svc = Annotated[Services, Depends(services)]
PREVIEW_FILES = ("floorplan.svg", "floorplan.png", "thumbnail.png")
#: Headers of every preview and export the service sends: a browser never sniffs another type from the bytes.
SAFE_HEADERS = {"x-content-type-options": "nosniff"}
#: An SVG opened on its own is a document of the service's origin: this policy lets it draw with its inline
#: style and nothing else — no script, no request anywhere, a sandbox of its own (a unique origin).
SVG_HEADERS = {**SAFE_HEADERS, "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"}


def artifact_url(svc: Services, artifact: Artifact, path: str) -> str:
    """Where clients fetch ``artifact``: under ``SCENEFORGE_PUBLIC_BASE_URL`` when set, else the service's ``path``."""
    base = svc.settings.delivery.public_base_url.rstrip("/")
    if not base:
        return path
    prefix = "blobs/" if svc.settings.storage.blobs == "s3" else ""
    return f"{base}/{prefix}{artifact.blob_key}"


async def _serve(
    request: Request,
    svc: Services,
    resolved: tuple[VersionRef, bool, bool],
    name: str,
    download: str | None = None,
) -> Response:
    """The artifact ``name`` of a version resolved by :func:`~.scenes._version_for` (version, exact, private)."""
    version, exact, private = resolved
    artifact = await ArtifactRepository(svc.scenes.engine, svc.blobs).get(version.scene_id, version.n, name)
    path = request.url.path
    url = artifact_url(svc, artifact, path)
    if url != path and not private:
        return RedirectResponse(url, status_code=302, headers={"cache-control": "no-cache"})
    cache = _cache_control(exact, private)
    headers = {"x-scene-version": str(version.n), **(SVG_HEADERS if name.endswith(".svg") else SAFE_HEADERS)}
    if download is not None:
        headers["content-disposition"] = f'attachment; filename="{download}"'

    def build() -> Representation:
        return stored_blob(svc, artifact.blob_key, artifact.bytes, artifact.etag, artifact.content_type, cache, headers)

    key = ("artifact", artifact.blob_key, artifact.etag, artifact.bytes, cache, tuple(sorted(headers.items())))
    return RepresentationResponse(representations(request), key, build)


@router.get("/scenes/{ref}/preview/{name}", responses=PROBLEMS, response_class=Response)
@router.head("/scenes/{ref}/preview/{name}", responses=PROBLEMS, response_class=Response)
async def get_preview(ref: str, name: str, request: Request, svc: Svc) -> Response:
    """A preview of the version ``ref`` names: ``floorplan.svg``, ``floorplan.png`` or ``thumbnail.png``."""
    if name not in PREVIEW_FILES:
        raise NotFound(f"no preview {name!r}: one of {', '.join(PREVIEW_FILES)}")
    return await _serve(request, svc, await _version_for(request, svc, ref), f"preview/{name}")


@router.get("/scenes/{ref}/exports/{format}", responses=PROBLEMS, response_class=Response)
@router.head("/scenes/{ref}/exports/{format}", responses=PROBLEMS, response_class=Response)
async def get_export(ref: str, format: str, request: Request, svc: Svc) -> Response:
    """The ``usdz`` or ``obj`` (a zip with its MTL) export of the version ``ref`` names; 404 until made."""
    if format not in EXPORT_FORMATS:
        raise NotFound(f"no export format {format!r}: one of {', '.join(EXPORT_FORMATS)}")
    resolved = await _version_for(request, svc, ref)
    version = resolved[0]
    filename = f"{version.scene_id}-v{version.n}.{EXPORT_FORMATS[format]}"
    return await _serve(request, svc, resolved, f"exports/{format}", download=filename)


@router.post("/scenes/{scene_id}/exports", responses=PROBLEMS, dependencies=[WRITE], status_code=202)
async def request_export(scene_id: str, request: Request, svc: Svc) -> JSONResponse:
    """Queue an export of version ``version`` (default: the published one) as ``format``: ``{jobId, …}``."""
    # A bare scene id, as on every write: ``x@v2`` or ``x.<etag>`` had named a version, exported in place of the
    # published one (the default), and made any ``version`` a 404
    scene_id = checked_scene_id(scene_id)
    limit = (svc.limits.max_export_body_bytes, "SCENEFORGE_MAX_EXPORT_BODY_BYTES")
    async with found_first(lambda: svc.scenes.pointer(scene_id)):  # no such scene: 404 whatever the body holds
        body = json_object(await parse_json(request, {JSON_TYPE: limit}))
        only_members(body, ("format", "version"), "an export's body")
        kind = body.get("format")
        if not isinstance(kind, str) or kind not in EXPORT_FORMATS:  # a list or object is not hashable: no lookup
            formats = ", ".join(EXPORT_FORMATS)
            raise RequestInvalid([Issue("/format", "format_unknown", f"format must be one of {formats}")])
        n = None if body.get("version") is None else version_number(body["version"], "/version")
    ref = f"{scene_id}@v{n}" if n is not None else scene_id
    version, _, _ = await _version_for(request, svc, ref)
    jobs = job_service(request)
    name = f"exports/{kind}"
    try:
        made = await ArtifactRepository(svc.scenes.engine, svc.blobs).get(version.scene_id, version.n, name)
    except NotFound:
        made = None
    path = f"/scenes/{version.scene_id}@v{version.n}/exports/{kind}"
    if made is not None:
        job = await jobs.store.create(
            jobs.new_id(),
            version.scene_id,
            description_key=version.glb_key,
            options={"format": kind, "version": version.n},
            type="export",
            done={"version": version.n, "artifacts": {name: {"eTag": made.etag, "bytes": made.bytes}}},
        )
    else:
        job = await jobs.enqueue_output(version.scene_id, version.n, version.glb_key, "export", {"format": kind})
    url = artifact_url(svc, made, path) if made is not None else path
    return JSONResponse(
        {"jobId": job.job_id, "sceneId": version.scene_id, "version": version.n, "format": kind, "url": url},
        status_code=202,
    )
