"""``GET /generate/{maze|apartment}``: the CLI's generators over HTTP, capped at ``SCENEFORGE_MAX_CELLS``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
