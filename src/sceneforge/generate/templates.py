"""Level templates: the generators a draft can start from, with their parameters' JSON schemas.

``TEMPLATES`` maps a name to a :class:`Template`; :func:`template_list` is what ``GET /templates``
returns; :func:`from_template` checks the parameters against the template's pydantic model
(errors point into the request: ``/params/cells``) and returns the generated description, its
``sceneId`` replaced when the caller names the scene.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import chain
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..config import Limits
from ..errors import Issue, LimitExceeded, RequestInvalid, listed
from ..wire import MAX_INT64, json_pointer, json_type, shown

__all__ = ["MAX_CELLS", "TEMPLATES", "Template", "cell_bounds", "from_template", "template_list", "unknown_parameters"]

#: SCENEFORGE_MAX_CELLS by default: the bound of a level's cells where no setting is given.
MAX_CELLS: int = Limits().max_cells


def _integral(value: Any) -> Any:
    """5.0 is an integer to JSON Schema (a number with no fraction): read it as 5; the rest as sent."""
    return int(value) if type(value) is float and value.is_integer() else value


#: A JSON Schema integer: a JSON number with no fraction (never a string or a boolean).
_Int = Annotated[int, BeforeValidator(_integral)]


class _Params(BaseModel):
    # strict: the JSON schema says integer / number, so "5" and true are refused (lax mode read them as 5 and 1).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # GET /generate's bound (docs/api.md): a maze's seed past 2^31-1 was a level there and a 422 here.
    seed: _Int = Field(
        default=0, ge=0, le=MAX_INT64, description="Random seed: the same parameters give the same level."
    )


# A level's ``cells`` is bounded by the build's SCENEFORGE_MAX_CELLS, a setting: the schemas hold the minimum, and
# :func:`cell_bounds` adds the maximum (GET /generate's, the CLI's and the template's alike).
class MazeParams(_Params):
    cells: _Int = Field(default=16, ge=1, description="Rooms (4 × 3 × 4 m) on a square grid.")


class ApartmentParams(_Params):
    cells: _Int = Field(default=8, ge=2, description="Rooms of the apartment.")


class OfficeParams(_Params):
    storeys: _Int = Field(default=2, ge=1, le=50, description="Floors, joined by a stairwell.")
    rooms: _Int = Field(default=10, ge=1, le=200, description="Offices on each side of each floor's corridor.")


class GalleryParams(_Params):
    halls: _Int = Field(default=6, ge=1, le=500, description="Exhibition halls in a row.")
    cabinets: float = Field(default=0.5, ge=0.0, le=1.0, description="Share of halls with side cabinets.")


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    title: str
    description: str
    params: type[_Params]
    make: Callable[[Any], dict[str, Any]]


def _maze(p: MazeParams) -> dict[str, Any]:
    from .maze import generate_maze

    return generate_maze(p.cells, p.seed)


def _apartment(p: ApartmentParams) -> dict[str, Any]:
    from .apartment import generate_apartment

    return generate_apartment(p.cells, p.seed)


def _office(p: OfficeParams) -> dict[str, Any]:
    from .office import generate_office

    return generate_office(p.storeys, p.rooms, p.seed)


def _gallery(p: GalleryParams) -> dict[str, Any]:
    from .gallery import generate_gallery

    return generate_gallery(p.halls, p.seed, cabinets=p.cabinets)


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("maze", "Maze", "Box rooms on a grid joined by a random spanning tree of doorways.", MazeParams,
                 _maze),
        Template("apartment", "Apartment", "Rooms of a flat split from one rectangle, doors between neighbours.",
                 ApartmentParams, _apartment),
        Template("office", "Office building", "Storeys of corridors with many doors, windows between offices, "
                 "L-shaped corner rooms and a stairwell through the floor slabs.", OfficeParams, _office),
        Template("gallery", "Gallery", "Tall exhibition halls in a row joined by wide openings, with side cabinets.",
                 GalleryParams, _gallery),
    )
}  # fmt: skip


def unknown_parameters(names: Iterable[str], where: str, what: str, takes: Iterable[str]) -> Iterator[Issue]:
    """An ``extra_forbidden`` issue at ``/<where>/<name>`` for each of ``names`` (made as they are listed): ``what``
    takes ``takes`` only. A name a template or ``/generate`` does not take is refused as an unknown member is
    everywhere (``template_param`` is a bad value of a parameter it takes)."""
    listing = " and ".join(repr(key) for key in takes)
    for name in names:
        message = f"unknown parameter {shown(name)!r}: {what} takes {listing} only"
        yield Issue(json_pointer([where, name]), "extra_forbidden", message)


def cell_bounds(name: str, max_cells: int = MAX_CELLS) -> tuple[int, int] | None:
    """The cells a level of template ``name`` may be asked for, when its ``cells`` parameter is its cell count (a
    maze, an apartment): its schema's minimum to ``max_cells`` (SCENEFORGE_MAX_CELLS, the most a build takes);
    None for a template without one. The one bound of ``GET /generate``, ``sceneforge generate`` and the template."""
    low = _cells_minimum(name)
    return None if low is None else (low, max_cells)


@cache
def _cells_minimum(name: str) -> int | None:
    field = TEMPLATES[name].params.model_json_schema()["properties"].get("cells")
    return None if field is None else int(field["minimum"])


def template_list(max_cells: int = MAX_CELLS) -> list[dict[str, Any]]:
    """Every template: ``{name, title, description, parameters}`` (parameters as a JSON schema; the ``maximum`` of a
    maze's or an apartment's ``cells`` is ``max_cells``, :func:`cell_bounds`)."""
    listed = []
    for t in TEMPLATES.values():
        schema = t.params.model_json_schema()
        if (bounds := cell_bounds(t.name, max_cells)) is not None:
            schema["properties"]["cells"]["maximum"] = bounds[1]
        listed.append({"name": t.name, "title": t.title, "description": t.description, "parameters": schema})
    return listed


def from_template(name: Any, params: Any, scene_id: str | None = None, *, max_cells: int = MAX_CELLS) -> dict[str, Any]:
    """The description template ``name`` makes with ``params``; :class:`RequestInvalid` pointing at what is wrong
    (the request's template or parameters are at fault, not a scene: ``invalid request: …``); a ``cells`` past
    ``max_cells`` is :class:`LimitExceeded` (SCENEFORGE_MAX_CELLS), before any level is made."""
    template = TEMPLATES.get(name) if isinstance(name, str) else None
    if template is None:
        # a name is quoted (and cut where the answer is made); any other value is named by its type only, never
        # written out: a list of a million numbers would come back as megabytes of error
        named = repr(name) if isinstance(name, str) else f"(a JSON {json_type(name)}, not a name)"
        raise RequestInvalid(
            [Issue("/template", "template_unknown", f"unknown template {named}: one of {sorted(TEMPLATES)}")]
        )
    params = {} if params is None else params
    # Names the template does not take are told here, at most MAX_ISSUES of them, and only the others are handed to
    # pydantic: it makes ~1 kB per error, and a body of 300,000 unknown names had been answered with 300,000 errors
    # (27 MB, 500 MB held to make them; a 32 MiB body holds ten times as many).
    fields = template.params.model_fields
    extra = [key for key in params if key not in fields] if isinstance(params, dict) else []
    issues: list[Issue] = []
    try:
        checked = template.params.model_validate({k: v for k, v in params.items() if k in fields} if extra else params)
    except ValidationError as exc:
        issues = [Issue(json_pointer(["params", *e["loc"]]), "template_param", e["msg"]) for e in exc.errors()]
    if issues or extra:
        # a name the template does not take is ``extra_forbidden``, as an unknown member is everywhere (a body's, a
        # description's, GET /generate's query): ``template_param`` is a value of a parameter it takes
        unknown = unknown_parameters(extra, "params", f"template {template.name!r}", fields)
        raise RequestInvalid(listed(chain(issues, unknown), len(issues) + len(extra)))
    cells = int(getattr(checked, "cells", 0))
    if _cells_minimum(template.name) is not None and cells > max_cells:  # a build would refuse the level: none made
        raise LimitExceeded("SCENEFORGE_MAX_CELLS", cells, max_cells, "/params/cells", "cell count")
    description = template.make(checked)
    if scene_id is not None:
        description["sceneId"] = scene_id
    return description
