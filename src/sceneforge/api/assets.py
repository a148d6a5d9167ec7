"""Asset endpoints: upload a GLB, OBJ or PNG (kind sniffed from the bytes), fetch it back by id.

An upload's ``Content-Type`` is one of :data:`UPLOAD_TYPES` (415 otherwise); a specific type must
match the bytes (``image/png`` holding an OBJ is 415); ``application/octet-stream`` or none lets
the bytes decide. A GLB or PNG whose structure a build could not use is 422 before anything is
stored (:func:`~sceneforge.ingest.asset_check.check_asset`); an OBJ is read only by the builds that use it, but text
that a build would not take for an OBJ (its sniff, 64 KiB) is 415 as any other kind of file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ..errors import AssetError, AssetInvalid, NotFound
from ..storage import sniff_kind
from ..storage.blobs import check_key
from .auth import WRITE
from .bodies import read_typed
from .problems import UnsupportedMediaType
from .responses import Representation, RepresentationResponse
from .scenes import representations, stored_blob
from .schemas import PROBLEMS, AssetReply
from .services import Services, in_thread, services

if TYPE_CHECKING:
    from ..config import Limits

__all__ = ["router"]

router = APIRouter(tags=["assets"])
Svc = Annotated[Services, Depends(services)]

#: The types an upload may declare, and the kind of file each promises (None: whatever the bytes are).
UPLOAD_TYPES: dict[str, str | None] = {
    "application/octet-stream": None,
    "model/gltf-binary": "glb",
    "model/obj": "obj",
    "image/png": "png",
}

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in UPLOAD_TYPES},
    }
}


@router.post(
    "/assets",
    status_code=201,
    response_model=AssetReply,
    responses=PROBLEMS,
    openapi_extra=_UPLOAD_BODY,
    dependencies=[WRITE],
)
async def upload_asset(request: Request, svc: Svc) -> JSONResponse:
    """Store an asset (``write`` scope); its id is the SHA-256 of its bytes, usable as ``asset:<id>``."""
    limit = (svc.limits.max_upload_bytes, "SCENEFORGE_MAX_UPLOAD_BYTES")
    declared, data = await read_typed(request, dict.fromkeys(UPLOAD_TYPES, limit))
    if not data:  # "not a GLB, OBJ or PNG file" would leave the client looking at the bytes it thought it sent
        raise UnsupportedMediaType("the body is empty (0 bytes): send a GLB, OBJ or PNG file")
    try:
        kind = sniff_kind(data)  # an OBJ as a build takes it (the same rule)
    except AssetError as exc:
        raise UnsupportedMediaType(str(exc.issues[0].message)) from None
    if UPLOAD_TYPES[declared] not in {None, kind}:
        raise UnsupportedMediaType(f"the body was sent as {declared} but its bytes are a {kind.upper()} file")
    try:
        await in_thread(svc, _check_upload, data, kind, svc.limits)
    except AssetError as exc:  # the upload's fault, not a scene's: its detail says so
        raise AssetInvalid(exc.issues) from None
    asset = await svc.assets.add(data, kind)
    return JSONResponse(asset.as_dict(), status_code=201, headers={"location": f"/assets/{asset.id}"})


def _check_upload(data: bytes, kind: str, limits: Limits) -> None:
    """:func:`~sceneforge.ingest.asset_check.check_asset`, in its thread: the GLB and PNG readers (numpy, Pillow) load
    with a process's first upload, not with every server process."""
    from ..ingest.asset_check import check_asset
    from ..ingest.asset_glb import GlbBounds

    bounds = GlbBounds.of(limits)
    check_asset(
        data,
        kind,
        max_triangles=limits.max_triangles,
        max_bytes=limits.max_upload_bytes,
        bounds=bounds,
        max_materials=limits.max_materials,
    )


@router.get("/assets/{asset_id}", operation_id="getAsset", responses=PROBLEMS, response_class=Response)
@router.head("/assets/{asset_id}", operation_id="headAsset", responses=PROBLEMS, response_class=Response)
async def get_asset(asset_id: str, request: Request, svc: Svc) -> Response:
    """The asset's bytes, immutable (its id is its content hash)."""
    try:
        check_key(asset_id)
    except NotFound:
        raise NotFound(f"asset {asset_id!r} does not exist") from None
    asset = await svc.assets.get(asset_id)

    def build() -> Representation:
        immutable = "public, max-age=31536000, immutable"
        return stored_blob(svc, asset.id, asset.bytes, asset.id[:16], asset.media_type, immutable)

    return RepresentationResponse(representations(request), ("asset", asset.id, asset.bytes), build)
