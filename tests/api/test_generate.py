"""``GET /generate/{maze|apartment}``: the CLI's generators over HTTP, capped at ``SCENEFORGE_MAX_CELLS``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from sceneforge.api.generate import generate as generate_route
from sceneforge.generate import generate_apartment, generate_maze
from tests.api.conftest import Api, start_api


@pytest.mark.parametrize(("kind", "make"), [("maze", generate_maze), ("apartment", generate_apartment)])
def test_generate_returns_the_generators_description(api: Api, kind: str, make) -> None:  # type: ignore[no-untyped-def]
    response = api.get(f"/generate/{kind}", params={"cells": 12, "seed": 7})
    assert response.status_code == 200
    assert response.json() == make(12, 7)
    assert api.get(f"/generate/{kind}", params={"cells": 12}).json() == make(12, 0)


def test_generate_description_builds(api: Api) -> None:
    description = api.get("/generate/maze", params={"cells": 6, "seed": 3}).content
    built = api.post("/scenes/build", content=description, headers={**api.auth(), "content-type": "application/json"})
    assert built.status_code == 200, built.text


@pytest.mark.parametrize("cells", ["0", "-3", "many", ""])
def test_generate_bad_cells_is_422_problem(api: Api, cells: str) -> None:
    response = api.get("/generate/maze", params={"cells": cells})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == ["/query/cells"]


def test_generate_missing_cells_is_422(api: Api) -> None:
    response = api.get("/generate/apartment")
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "/query/cells"


def test_generate_unknown_kind_is_422(api: Api) -> None:
    assert api.get("/generate/castle", params={"cells": 3}).status_code == 422


@pytest.fixture
def capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("SCENEFORGE_MAX_CELLS", "20")
    yield from start_api(tmp_path)


def test_generate_cells_over_limit_is_422_problem(capped: Api) -> None:
    assert capped.get("/generate/maze", params={"cells": 20}).status_code == 200
    response = capped.get("/generate/maze", params={"cells": 21})
    assert response.status_code == 422
    body = response.json()
    assert body["limit"] == "SCENEFORGE_MAX_CELLS"
    message = "cells must be at most 20 (SCENEFORGE_MAX_CELLS)"
    assert body["errors"] == [{"path": "/query/cells", "code": "less_than_equal", "message": message}]


def test_generate_is_in_the_openapi_document(api: Api) -> None:
    assert "/generate/{kind}" in api.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("kind", get_args(get_type_hints(generate_route)["kind"]))
def test_generate_takes_the_cells_its_template_takes(capped: Api, kind: str) -> None:
    """``/generate/apartment?cells=1`` made a level while the apartment template's schema (``GET /templates``) said
    ``cells`` ≥ 2, and a template's maze stopped at 5,000 cells where ``/generate`` went on to SCENEFORGE_MAX_CELLS:
    one level, two bounds. Both read them from the template now: its schema's ``minimum`` and ``maximum`` (the
    setting), checked here on each side of each bound, for every kind ``/generate`` makes."""
    listed = {t["name"]: t for t in capped.get("/templates").json()["templates"]}
    schema = listed[kind]["parameters"]["properties"]["cells"]
    low, high = schema["minimum"], schema["maximum"]
    assert high == 20 and low >= 1  # SCENEFORGE_MAX_CELLS, as the fixture sets it
    for cells in (low - 1, low, high, high + 1):
        made = capped.get(f"/generate/{kind}", params={"cells": cells, "seed": 3})
        drafted = capped.post(
            f"/scenes/{kind}-{cells}/draft",
            json={"template": kind, "params": {"cells": cells, "seed": 3}},
            headers=capped.auth(),
        )
        taken = low <= cells <= high
        assert made.status_code == (200 if taken else 422), (cells, made.text)
        assert drafted.status_code == (201 if taken else 422), (cells, drafted.text)
        if taken:  # the same level
            assert {**made.json(), "sceneId": f"{kind}-{cells}"} == drafted.json()["description"]
        else:
            assert [e["path"] for e in made.json()["errors"]] == ["/query/cells"], made.text
            assert drafted.json()["errors"][0]["path"].startswith("/params"), drafted.text


@pytest.mark.parametrize(
    ("query", "name"), [("cells=5&sede=7", "sede"), ("Cells=3&cells=5", "Cells"), ("cells=5&a/b", "a/b")]
)
def test_generate_unknown_parameter_is_422_extra_forbidden(api: Api, query: str, name: str) -> None:
    """A parameter /generate does not take (a misspelt ``sede``) was ignored: the level of seed 0 came back, where a
    draft from the template of the same name refuses the same parameter. Both answer ``extra_forbidden`` at it."""
    refused = api.get(f"/generate/maze?{query}")
    assert refused.status_code == 422, refused.text[:300]
    [error] = refused.json()["errors"]
    assert (error["path"], error["code"]) == (f"/query/{name.replace('/', '~1')}", "extra_forbidden")
    assert f"unknown parameter {name!r}" in error["message"] and "'cells' and 'seed'" in error["message"]
    body = {"template": "maze", "params": {"cells": 5, name: 7}}
    drafted = api.post("/scenes/lab/draft", json=body, headers=api.auth())
    assert [(e["path"], e["code"]) for e in drafted.json()["errors"]] == [
        (f"/params/{name.replace('/', '~1')}", "extra_forbidden")
    ]
