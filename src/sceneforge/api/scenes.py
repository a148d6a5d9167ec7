"""Scene endpoints (DESIGN §4): build, GLB by latest / ETag / version number, meta, list, delete, links."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from ..errors import AssetError, NotFound
from ..storage import Scene, Version
from ..storage.blobs import check_key
from .responses import BlobSource, BytesSource, RepresentationResponse
from .schemas import BUILD_BODY, PROBLEMS, BuildReply, LinkReply, SceneSummary
from .services import Services, services

__all__ = ["GLB_TYPE", "router"]

GLB_TYPE = "model/gltf-binary"
LATEST_CACHE = "no-cache"
EXACT_CACHE = "max-age=31536000, immutable"

_REF = re.compile(r"^(?P<id>[A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:\.(?P<etag>[0-9a-f]{16})|@v(?P<n>[1-9][0-9]{0,8}))?$")

router = APIRouter(tags=["scenes"])
Svc = Annotated[Services, Depends(services)]


async def _readable(request: Request, svc: Services, scene: Scene) -> None:
    """Private scenes need a credential with ``read`` scope or a valid ``?token=`` link."""
    if not scene.private:
        return
    token = request.query_params.get("token")
    if token and svc.links.allows(token, scene.id):
        return
    await svc.auth.require(request, "read")


def _resolver(svc: Services) -> Any:
    def resolve(asset_id: str) -> bytes:
        try:
            return svc.blobs.get(check_key(asset_id))
        except NotFound:
            raise AssetError("", f"asset {asset_id!r} has not been uploaded", code="asset_not_found") from None

    return resolve


def _build_reply(version: Version, warnings: list[Any]) -> dict[str, Any]:
    return {
        "sceneId": version.scene_id,
        "glbPath": f"/scenes/{version.scene_id}.glb",
        "eTag": version.etag,
        "bytes": version.bytes,
        "version": version.n,
        "metaPath": f"/scenes/{version.scene_id}/meta",
        "warnings": [w.as_dict() for w in warnings],
    }


@router.post("/scenes/build", response_model=BuildReply, responses=PROBLEMS, openapi_extra=BUILD_BODY)
async def build_scene(
    request: Request,
    svc: Svc,
    private: Annotated[bool | None, Query(description="Make the scene private (None keeps its flag)")] = None,
    quantize: bool = False,
    compress: bool = False,
) -> JSONResponse:
    """Build a description (JSON) or a tagged GLB (``model/gltf-binary``) now, store it, return its ETag."""
    from ..compile import BuildOptions, compile_scene
    from .bodies import read_limited

    who = await svc.auth.require(request, "write")
    svc.write_rate.hit(who.id)
    is_glb = request.headers.get("content-type", "").split(";")[0].strip().lower() == GLB_TYPE
    if is_glb:
        data = await read_limited(request, svc.limits.max_upload_bytes, "SCENEFORGE_MAX_UPLOAD_BYTES")
    else:
        data = await read_limited(request, svc.limits.max_body_bytes, "SCENEFORGE_MAX_BODY_BYTES")
    options = BuildOptions(quantize=quantize, compress=compress, limits=svc.limits)
    started = time.perf_counter()
    result = await anyio.to_thread.run_sync(
        lambda: compile_scene(data, options, resolve_asset=_resolver(svc)), limiter=svc.builds
    )
    version = await svc.scenes.publish_build(
        result, data, private=private, options={"quantize": quantize, "compress": compress}
    )
    request.state.build_seconds = time.perf_counter() - started
    if not version.reused:
        await svc.emit("scene.built", version.scene_id, {"etag": version.etag, "version": version.n})
    return JSONResponse(_build_reply(version, result.warnings))


async def _version_for(request: Request, svc: Services, ref: str) -> tuple[Version, bool, Scene]:
    match = _REF.match(ref)
    if match is None:
        raise NotFound(f"no scene file {ref!r}.glb")
    scene = await svc.scenes.get_scene(match["id"])
    await _readable(request, svc, scene)
    if match["etag"]:
        return await svc.scenes.by_etag(scene.id, match["etag"]), True, scene
    if match["n"]:
        return await svc.scenes.by_number(scene.id, int(match["n"])), True, scene
    if scene.latest is None:
        raise NotFound(f"scene {scene.id!r} has no version")
    return scene.latest, False, scene


def _cache_control(exact: bool, private: bool) -> str:
    return ("private, " if private else "public, " if exact else "") + (EXACT_CACHE if exact else LATEST_CACHE)


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
    version, exact, scene = await _version_for(request, svc, ref)
    settings = svc.settings
    source = BlobSource(svc.blobs, version.glb_key, version.bytes, settings.presign_expires_s)
    return RepresentationResponse(
        request,
        source,
        version.etag,
        GLB_TYPE,
        cache_control=_cache_control(exact, scene.private),
        delivery=settings.delivery,
        accel_prefix=settings.accel_prefix,
        headers={"x-scene-version": str(version.n)},
    )


@router.get(
    "/scenes/{scene_id}/meta",
    responses={200: {"content": {"application/json": {}}}, 304: {"description": "Not modified"}, **PROBLEMS},
)
async def get_meta(scene_id: str, request: Request, svc: Svc) -> Response:
    """The meta JSON of the latest version (DESIGN §3). Its HTTP ETag is that of the JSON bytes."""
    from ..compile import etag_of

    scene = await svc.scenes.get_scene(scene_id)
    await _readable(request, svc, scene)
    if scene.latest is None:
        raise NotFound(f"scene {scene_id!r} has no version")
    body = json.dumps(scene.latest.meta, separators=(",", ":")).encode()
    return RepresentationResponse(
        request,
        BytesSource(body),
        etag_of(body),
        "application/json",
        cache_control=_cache_control(False, scene.private),
    )


def _summary(scene: Scene) -> dict[str, Any]:
    latest = scene.latest
    return {
        "sceneId": scene.id,
        "private": scene.private,
        "version": latest.n if latest else None,
        "eTag": latest.etag if latest else None,
        "bytes": latest.bytes if latest else None,
        "glbPath": f"/scenes/{scene.id}.glb",
        "updatedUtc": scene.updated_at.isoformat().replace("+00:00", "Z"),
    }


@router.get("/scenes", response_model=list[SceneSummary], responses=PROBLEMS)
async def list_scenes(request: Request, svc: Svc) -> JSONResponse:
    """Every scene with its latest version; private scenes only for callers with ``read`` scope."""
    who = await svc.auth.principal(request)
    scenes = await svc.scenes.list_scenes(include_private=who is not None)
    return JSONResponse([_summary(s) for s in scenes])


@router.delete("/scenes/{scene_id}", status_code=204, responses=PROBLEMS, response_class=Response)
async def delete_scene(scene_id: str, request: Request, svc: Svc) -> Response:
    """Delete a scene and all its versions (``write`` scope)."""
    who = await svc.auth.require(request, "write")
    svc.write_rate.hit(who.id)
    removed = await svc.scenes.delete_scene(scene_id)
    await svc.emit("scene.invalidated", scene_id, {"etags": [v.etag for v in removed]})
    return Response(status_code=204)


@router.post("/scenes/{scene_id}/links", response_model=LinkReply, responses=PROBLEMS)
async def create_link(
    scene_id: str,
    request: Request,
    svc: Svc,
    ttl: Annotated[int, Query(ge=1, le=30 * 24 * 3600, description="Seconds the link stays valid")] = 3600,
) -> JSONResponse:
    """A signed, expiring ``?token=`` link that reads one (private) scene without a key (``write`` scope)."""
    who = await svc.auth.require(request, "write")
    svc.write_rate.hit(who.id)
    await svc.scenes.get_scene(scene_id)
    expires = int(time.time()) + ttl
    token = await asyncio.to_thread(svc.links.mint, scene_id, expires)
    expires_utc = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
    return JSONResponse(
        {
            "token": token,
            "url": f"/scenes/{scene_id}.glb?token={token}",
            "metaUrl": f"/scenes/{scene_id}/meta?token={token}",
            "expiresUtc": expires_utc,
        }
    )
