"""Job endpoints (docs/jobs.md): enqueue, look up, list, cancel, on the app's job service.

The :class:`~sceneforge.jobs.service.JobService` starts with the app (:func:`sceneforge.api.app.create_app`) and
is kept at ``app.state.jobs``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ..errors import JobError, NotFound
from ..jobs.service import JobService
from .auth import WRITE, principal_of
from .bodies import read_json
from .events import reads_private, visibility
from .problems import problem
from .scenes import FALLBACK, PRIVATE_HEADERS, PUBLIC_HEADERS, QUANTIZE, requested_options
from .schemas import ENQUEUE_BODY, PROBLEMS, QUERY_DIGITS, QUERY_SIGNED
from .services import Services, job_service, services

__all__ = ["router"]


router = APIRouter(tags=["jobs"])


Jobs = Annotated[JobService, Depends(job_service)]
Svc = Annotated[Services, Depends(services)]


@router.post("/jobs/enqueue", responses=PROBLEMS, openapi_extra=ENQUEUE_BODY, dependencies=[WRITE])
async def enqueue(
    request: Request,
    svc: Svc,
    jobs: Jobs,
    priority: Annotated[int, Query(ge=-1000, le=1000, description="Higher runs first"), QUERY_SIGNED] = 0,
    quantize: Annotated[bool | None, QUANTIZE] = None,
    compress: bool = False,
    fallback: Annotated[bool, FALLBACK] = False,
    instancing: Annotated[bool, Query(description="false: expand instances into plain geometry")] = True,
) -> JSONResponse:
    """Queue a build of a description (``write`` scope): ``{jobId, status, sceneId}``. Invalid descriptions: 422,
    nothing queued. The import revision the build records names the caller as its author, as ``/scenes/build``'s."""
    options = requested_options(quantize, compress, fallback, instancing)  # before the body: a 422 reads none
    data = await read_json(request, svc.limits.max_body_bytes, "SCENEFORGE_MAX_BODY_BYTES")
    options["author"] = principal_of(request).author
    job = await jobs.enqueue(data, priority=priority, options=options)
    return JSONResponse({"jobId": job.job_id, "status": job.status.value, "sceneId": job.scene_id})


@router.get("/jobs", responses=PROBLEMS)
async def recent_jobs(
    request: Request,
    jobs: Jobs,
    take: Annotated[int, Query(ge=1, le=500), QUERY_DIGITS] = 50,
    type: Annotated[
        Literal["build", "preview", "export", "assist"] | None, Query(description="Only jobs of this type")
    ] = None,
) -> JSONResponse:
    """The ``take`` most recent jobs (of ``type``), newest first; a private scene's only for callers with ``read``."""
    public_only = not await reads_private(request)
    listed = [j.as_dict() for j in await jobs.recent(take, public_only=public_only, type=type)]
    return JSONResponse(listed, headers=PUBLIC_HEADERS if public_only else PRIVATE_HEADERS)


@router.get("/jobs/{job_id}", responses=PROBLEMS)
async def get_job(request: Request, job_id: str, jobs: Jobs) -> JSONResponse:
    """One job (docs/jobs.md); a private scene's is 404 to callers without ``read`` scope."""
    job = await jobs.get(job_id)
    reads = await reads_private(request)
    if not reads and await visibility(request.app).is_private(job.scene_id):
        raise NotFound(f"job {job_id!r} does not exist")
    return JSONResponse(job.as_dict(), headers=PRIVATE_HEADERS if reads else PUBLIC_HEADERS)


@router.post("/jobs/{job_id}/cancel", status_code=202, responses=PROBLEMS, dependencies=[WRITE])
async def cancel_job(job_id: str, jobs: Jobs) -> JSONResponse:
    """Cancel a queued or running job (``write`` scope): 202; 409 if it already finished; 404 if unknown."""
    try:
        job = await jobs.cancel(job_id)
    except NotFound:
        raise
    except JobError as exc:
        return problem(409, str(exc))
    return JSONResponse(job.as_dict(), status_code=202)
