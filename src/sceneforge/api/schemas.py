"""Response models and OpenAPI fragments shared by the routers (what ``/openapi.json`` documents)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, BeforeValidator

__all__ = [
    "BUILD_BODY",
    "DIGITS",
    "ENQUEUE_BODY",
    "PROBLEMS",
    "QUERY_DIGITS",
    "QUERY_SIGNED",
    "AssetReply",
    "BuildReply",
    "LinkReply",
    "SceneSummary",
    "VersionEntry",
    "written_as_integer",
]


#: An integer as a URL writes it: decimal ASCII digits, ``-`` first for a negative one. ``int()`` (what FastAPI
#: reads a bare ``int`` parameter with) also reads ``1_0``, ``+1``, `` 1``, ``1.0`` and other scripts' digits, so
#: ``/keys/1_0/revoke`` acted on key 10 and ``?take=1_0`` took 10: one resource or request under many URLs.
_INTEGER = re.compile(r"(-?)([0-9]+)")


def written_as_integer(text: str, *, signed: bool = False, leading_zero: bool = True) -> bool:
    """Whether ``text`` is an integer as a URL writes it (:data:`_INTEGER`): with ``-`` only when ``signed``, and
    without a leading zero (``0`` itself aside) unless ``leading_zero``. The one reading of every URL integer."""
    match = _INTEGER.fullmatch(text)
    return (
        match is not None
        and (signed or not match[1])
        and (leading_zero or match[2] == "0" or not match[2].startswith("0"))
    )


def _integer(rule: str, *, signed: bool = False, leading_zero: bool = True) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not written_as_integer(value, signed=signed, leading_zero=leading_zero):
            raise ValueError(rule)
        return value

    return BeforeValidator(check)


#: Put after ``Path(…)`` in an integer path parameter's ``Annotated`` (after it, so that the ``Path`` bounds still
#: show in the OpenAPI schema as minimum and maximum): digits without a leading zero, as ``@v{n}`` is read, so a
#: resource has one URL (``/revisions/01`` is a 422 as ``/revisions/0_1`` is; ``@v01`` names no version, 404).
DIGITS = _integer("must be written with the digits 0-9 only, without a leading zero", leading_zero=False)
#: Put after ``Query(…)`` in an integer query parameter's ``Annotated``: decimal ASCII digits (422 at
#: ``/query/<name>`` otherwise).
QUERY_DIGITS = _integer("must be written with the digits 0-9 only")
#: The same for a parameter whose negative values mean something (a priority): ``-`` may come first.
QUERY_SIGNED = _integer("must be written with the digits 0-9 only, after a - when negative", signed=True)

_PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "limit": {"type": "string", "description": "The setting whose limit was reached"},
        "code": {"type": "string", "description": "The store that failed and how (docs/limits.md, 'Storage faults')"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

#: The problem responses every endpoint may give.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}
    for status, title in [
        (401, "Missing or invalid credentials"),
        (403, "Credentials lack the needed scope"),
        (404, "Not found"),
        (408, "The body stopped arriving for SCENEFORGE_BODY_TIMEOUT_S"),
        (413, "Body larger than the configured limit"),
        (415, "Unsupported media type"),
        (416, "Range not satisfiable"),
        (422, "Invalid input, with JSON-pointer paths"),
        (429, "Write rate limit reached"),
        (503, "A store (the database, the blob store) is unavailable or failing; ``code`` names it"),
        (507, "A store (the database, the blob store) has no room left; ``code`` names it"),
    ]
}

#: The build body: a description (JSON, docs/scene-format.md) or a tagged GLB.
_DESCRIPTION = {"schema": {"type": "object", "description": "Scene description (docs/scene-format.md)"}}
#: ``POST /scenes/build``: a description or a tagged GLB.
BUILD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": _DESCRIPTION,
            "model/gltf-binary": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
#: ``POST /jobs/enqueue``: a description only (docs/limits.md, "Routes taking bodies"; another type is 415).
ENQUEUE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": _DESCRIPTION}}}


class BuildReply(BaseModel):
    sceneId: str
    glbPath: str
    eTag: str
    bytes: int
    version: int
    metaPath: str
    warnings: list[dict[str, str]]


class SceneSummary(BaseModel):
    sceneId: str
    private: bool
    version: int | None
    eTag: str | None
    bytes: int | None
    glbPath: str
    updatedUtc: str


class VersionEntry(BaseModel):
    n: int
    eTag: str
    bytes: int
    createdUtc: str
    latest: bool
    glbPath: str


class LinkReply(BaseModel):
    token: str
    url: str
    metaUrl: str
    expiresUtc: str


class AssetReply(BaseModel):
    assetId: str
    kind: str
    bytes: int
