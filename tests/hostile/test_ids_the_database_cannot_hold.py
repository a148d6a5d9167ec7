"""Ids and numbers from a request that name nothing are a 404 problem naming them, on SQLite and PostgreSQL alike,
however the database would take them: an id holding a NUL (percent-encoded in the path or escaped in a JSON
body), which no text column holds (a scene id's is no scene id, refused before any query as on every scene
route), and a version or revision number past 32 bits (the API takes any up to 2⁶³−1). PostgreSQL refuses both
even as a query's parameter, so they were 500s there; nothing is written either. A caller's name longer than
its column (a JWT ``sub`` has no limit) is stored cut, as a revision's author is, not refused by PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from sceneforge.wire import names_a_row, one_line
from tests.api.conftest import Api, start_api
from tests.scenes import TWO_ROOMS
from tests.support.servers import create_database

#: Unreachable (port 9, discard): the assist job of the one accepted message fails; only the refusals matter here.
LLM = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}
JWT_SECRET = "s" * 32


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def nul_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    storage: dict[str, str] = {}
    if request.param == "postgresql":
        storage["database_url"] = create_database(request.getfixturevalue("postgres_url"))
    root = tmp_path_factory.mktemp(f"nul-{request.param}")
    for api in start_api(root, storage=storage, auth={"write_rate": 0, "jwt_secret": JWT_SECRET}, llm=LLM):
        assert api.post("/scenes/build", json=TWO_ROOMS, headers=api.auth()).status_code == 200
        assert api.post("/scenes/two-rooms/draft?replace=true", json=TWO_ROOMS, headers=api.auth()).status_code == 200
        yield api


def _job_ids(api: Api) -> set[str]:
    """The jobs there are (their states aside: the build's preview job may be running)."""
    return {job["jobId"] for job in api.get("/jobs?take=500", headers=api.auth("read")).json()}


CASES = [
    ("GET", "/jobs/%00", None, "job '\\x00' does not exist"),
    ("GET", "/jobs/a%00b", None, "job 'a\\x00b' does not exist"),
    ("POST", "/jobs/%00/cancel", None, "job '\\x00' does not exist"),
    ("GET", "/scenes/two-rooms/assist/sessions/%00", None, "no assist session '\\x00'"),
    ("GET", "/scenes/two-rooms/assist/%00/stream", None, "no assist message '\\x00'"),
    ("POST", "/scenes/two-rooms/assist", {"message": "hi", "sessionId": "\u0000"}, "no assist session '\\x00'"),
    ("GET", "/scenes/%00/versions", None, "no scene '\\x00': ids are"),
    ("GET", "/scenes/two-rooms%00/meta", None, "no scene 'two-rooms\\x00': ids are"),
    ("POST", "/scenes/two-rooms%00/links", None, "no scene 'two-rooms\\x00': ids are"),
]


@pytest.mark.parametrize(("method", "url", "body", "says"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_an_id_holding_a_nul_names_nothing(nul_api: Api, method: str, url: str, body: object, says: str) -> None:
    jobs_before = _job_ids(nul_api)
    response = nul_api.request(method, url, json=body, headers=nul_api.auth())
    assert response.status_code == 404, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"], response.text
    assert _job_ids(nul_api) == jobs_before  # nothing queued


#: Past a 32-bit column (2³¹), and the largest number the API takes (2⁶³−1).
BIG = [2**31, 2**63 - 1]
NUMBERS = [
    ("POST", "/scenes/two-rooms/publish", {"version": "{n}"}, "has no version v{n}"),
    ("POST", "/scenes/two-rooms/draft?replace=true", {"fromVersion": "{n}"}, "has no version v{n}"),
    ("POST", "/scenes/two-rooms/exports", {"format": "obj", "version": "{n}"}, "has no version v{n}"),
    ("GET", "/scenes/two-rooms@v{n}.glb", None, "has no version v{n}"),
    ("GET", "/scenes/two-rooms@v{n}/description", None, "has no version v{n}"),
    ("GET", "/scenes/two-rooms@v{n}/preview/thumbnail.png", None, "has no version v{n}"),
    ("GET", "/scenes/two-rooms/revisions/{n}", None, "has no revision {n}"),
]


@pytest.mark.parametrize("n", BIG)
@pytest.mark.parametrize(("method", "url", "body", "says"), NUMBERS, ids=[f"{c[0]} {c[1]}" for c in NUMBERS])
def test_a_number_past_32_bits_names_nothing(
    nul_api: Api, method: str, url: str, body: object, says: str, n: int
) -> None:
    if body is not None:
        body = {k: n if v == "{n}" else v for k, v in body.items()}  # type: ignore[attr-defined]
    response = nul_api.request(method, url.format(n=n), json=body, headers=nul_api.auth())
    assert response.status_code == 404, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert says.format(n=n) in response.json()["detail"], response.text


@pytest.mark.parametrize("n", BIG)
def test_a_page_of_revisions_before_a_number_past_32_bits_is_the_newest(nul_api: Api, n: int) -> None:
    page = nul_api.get(f"/scenes/two-rooms/revisions?before={n}")
    assert page.status_code == 200, page.text[:300]
    assert page.json()["revisions"] == nul_api.get("/scenes/two-rooms/revisions").json()["revisions"]


@pytest.mark.parametrize("sub", ["x" * 300, "a\u2028b" * 100], ids=["300 characters", "line separators"])
def test_an_assist_session_of_a_caller_with_a_long_name_records_it_cut(nul_api: Api, sub: str) -> None:
    """A JWT ``sub`` has no length limit; a session's author is stored as a revision's is: one line, at most 200
    characters (PostgreSQL refused the longer value: a 500, and no session)."""
    token = jwt.encode({"sub": sub, "scope": "write", "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")
    asked = nul_api.post(
        "/scenes/two-rooms/assist", json={"message": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert asked.status_code == 202, (asked.status_code, asked.text[:300])
    session = nul_api.get(f"/scenes/two-rooms/assist/sessions/{asked.json()['sessionId']}").json()
    assert session["author"] == one_line(sub, 200) and len(session["author"]) <= 200, session["author"]


def test_names_a_row_refuses_what_a_text_column_cannot_hold() -> None:
    assert names_a_row("0123abcd") and names_a_row("é ∞ \u2028")
    assert not names_a_row("a\x00") and not names_a_row("\ud800")
