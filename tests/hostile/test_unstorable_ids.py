"""Ids from a request that no text column can hold (a NUL, percent-encoded in the path or escaped in a JSON body)
name nothing: a 404 problem naming the id, on SQLite and on PostgreSQL alike. PostgreSQL refuses a NUL even as a
query's parameter, so such an id reaching the database was a 500 there; nothing is written either."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sceneforge.wire import names_a_row
from tests.api.conftest import Api, start_api
from tests.scenes import TWO_ROOMS
from tests.support.servers import create_database

#: Unreachable (port 9, discard): the assist job of the one accepted message fails; only the refusals matter here.
LLM = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def nul_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    storage: dict[str, str] = {}
    if request.param == "postgresql":
        storage["database_url"] = create_database(request.getfixturevalue("postgres_url"))
    root = tmp_path_factory.mktemp(f"nul-{request.param}")
    for api in start_api(root, storage=storage, auth={"write_rate": 0}, llm=LLM):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        yield api


CASES = [
    ("GET", "/jobs/%00", None, "job '\\x00' does not exist"),
    ("GET", "/jobs/a%00b", None, "job 'a\\x00b' does not exist"),
    ("POST", "/jobs/%00/cancel", None, "job '\\x00' does not exist"),
    ("GET", "/scenes/two-rooms/assist/sessions/%00", None, "no assist session '\\x00'"),
    ("GET", "/scenes/two-rooms/assist/%00/stream", None, "no assist message '\\x00'"),
    ("POST", "/scenes/two-rooms/assist", {"message": "hi", "sessionId": "\u0000"}, "no assist session '\\x00'"),
]


@pytest.mark.parametrize(("method", "url", "body", "says"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_an_id_holding_a_nul_names_nothing(nul_api: Api, method: str, url: str, body: object, says: str) -> None:
    jobs_before = nul_api.get("/jobs?take=500", headers=nul_api.auth("read")).json()
    response = nul_api.request(method, url, json=body, headers=nul_api.auth())
    assert response.status_code == 404, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"], response.text
    assert nul_api.get("/jobs?take=500", headers=nul_api.auth("read")).json() == jobs_before  # nothing queued


def test_names_a_row_refuses_what_a_text_column_cannot_hold() -> None:
    assert names_a_row("0123abcd") and names_a_row("é ∞ \u2028")
    assert not names_a_row("a\x00") and not names_a_row("\ud800")
