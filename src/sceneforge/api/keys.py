"""Key administration (``admin`` scope): list the API keys, revoke one.

``GET /keys`` lists every key's id, scope, name and dates (never a secret: only hashes are stored);
``POST /keys/{id}/revoke`` (or ``DELETE /keys/{id}``) revokes a key. Keys are looked up in the
database on every request, so the revoked key is refused by every instance from the next request
on. Creating keys stays a CLI operation (``sceneforge keys create``). See docs/security.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from ..wire import MAX_INT64
from .auth import ADMIN, ADMIN_READ
from .scenes import PRIVATE_HEADERS
from .schemas import DIGITS, PROBLEMS
from .services import Services, services

__all__ = ["router"]

router = APIRouter(tags=["keys"])
Svc = Annotated[Services, Depends(services)]
KeyId = Annotated[int, Path(ge=1, le=MAX_INT64, description="The key's id (``sceneforge keys list``)"), DIGITS]


@router.get("/keys", responses=PROBLEMS, dependencies=[ADMIN_READ])
async def list_keys(svc: Svc) -> JSONResponse:
    """Every API key, oldest first: ``[{id, scope, name, createdUtc, revokedUtc}]`` (``admin`` scope). ``private``:
    an ``X-API-Key`` is not ``Authorization``, and a shared cache would otherwise keep the list for anyone."""
    return JSONResponse([key.as_dict() for key in await svc.keys.list_keys()], headers=PRIVATE_HEADERS)


@router.post("/keys/{key_id}/revoke", responses=PROBLEMS, dependencies=[ADMIN])
async def revoke_key(key_id: KeyId, svc: Svc) -> JSONResponse:
    """Revoke a key (``admin`` scope): refused from the next request on, on every instance; 404 if not live."""
    return JSONResponse((await svc.keys.revoke(key_id)).as_dict())


@router.delete("/keys/{key_id}", responses=PROBLEMS, dependencies=[ADMIN])
async def delete_key(key_id: KeyId, svc: Svc) -> JSONResponse:
    """The same as ``POST /keys/{id}/revoke`` (the record stays, marked revoked)."""
    return JSONResponse((await svc.keys.revoke(key_id)).as_dict())
