"""Procedural levels over HTTP (``GET /generate/{maze|apartment}``), for the studio's "new level" button.

The same generators as ``sceneforge generate`` (:mod:`sceneforge.generate`): deterministic for
``(cells, seed)``, capped at ``SCENEFORGE_MAX_CELLS`` so a request cannot ask for more than a build
would accept, and bounded below as the template of the same name is (``GET /templates``,
:func:`~sceneforge.generate.templates.cell_bounds`). A query parameter other than ``cells`` and ``seed`` (a misspelt
``sede``) is refused, ``extra_forbidden`` at it, as a draft from the template refuses a parameter it does not take:
never ignored, which gave the level of seed 0. Public, like every read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ..errors import listed
from ..generate.templates import cell_bounds, unknown_parameters
from ..wire import MAX_INT64
from .problems import problem
from .schemas import PROBLEMS, QUERY_DIGITS
from .services import Services, in_thread, services

__all__ = ["router"]

router = APIRouter(tags=["generate"])
Svc = Annotated[Services, Depends(services)]

#: The query parameters /generate takes: those of the template of the same name.
_TAKES = ("cells", "seed")


def _generate(kind: str, cells: int, seed: int) -> dict[str, Any]:
    """In its thread: the generators (numpy) load with a process's first ``/generate``, not with every server."""
    from ..generate import generate_apartment, generate_maze

    return generate_maze(cells, seed) if kind == "maze" else generate_apartment(cells, seed)


@router.get("/generate/{kind}", responses=PROBLEMS)
async def generate(
    kind: Literal["maze", "apartment"],
    request: Request,
    svc: Svc,
    cells: Annotated[int, Query(ge=1, description="Number of cells (at most SCENEFORGE_MAX_CELLS)"), QUERY_DIGITS],
    seed: Annotated[
        int, Query(ge=0, le=MAX_INT64, description="Random seed: the same seed gives the same level"), QUERY_DIGITS
    ] = 0,
) -> JSONResponse:
    """A generated scene description (docs/scene-format.md), ready for ``POST /scenes/build``."""
    extra = [name for name in request.query_params if name not in _TAKES]  # bounded by the request line
    if extra:
        unknown = unknown_parameters(extra, "query", f"/generate/{kind}", _TAKES)
        errors = [i.as_dict() for i in listed(unknown, len(extra))]
        return problem(422, "the request is not valid", errors=errors)
    # the template's bounds (GET /templates): a level /generate makes is one a draft can start from, and the reverse
    low, limit = cell_bounds(kind, svc.limits.max_cells) or (1, svc.limits.max_cells)
    if cells < low:
        message = f"cells must be at least {low:,} for {kind} levels, as the {kind} template's schema says"
        errors = [{"path": "/query/cells", "code": "greater_than_equal", "message": message}]
        return problem(422, "the request is not valid", errors=errors)
    if cells > limit:
        message = f"cells must be at most {limit:,} (SCENEFORGE_MAX_CELLS)"
        errors = [{"path": "/query/cells", "code": "less_than_equal", "message": message}]
        return problem(422, "the request is not valid", errors=errors, limit="SCENEFORGE_MAX_CELLS")
    description = await in_thread(svc, _generate, kind, cells, seed)
    return JSONResponse(description)
