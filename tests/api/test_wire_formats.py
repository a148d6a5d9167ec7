"""One wire format for timestamps on every endpoint, and JSON pointers escaped per RFC 6901 (docs/api.md)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from jsonpointer import JsonPointer, resolve_pointer

from sceneforge.wire import iso_utc, json_pointer, json_pointer_within

from ..events.test_api import TestClient, _wait_job, client  # noqa: F401 - fixture
from ..jobs.conftest import description

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@given(st.datetimes(timezones=st.sampled_from([UTC, None])))
def test_iso_utc_is_milliseconds_z_and_parses_back(value: datetime) -> None:
    text = iso_utc(value)
    assert STAMP.match(text), text
    back = datetime.fromisoformat(text.replace("Z", "+00:00"))
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    assert timedelta(0) <= aware - back < timedelta(milliseconds=1)


@given(st.lists(st.one_of(st.text(max_size=6), st.integers(0, 99)), max_size=5))
def test_json_pointer_resolves_back_to_the_value(tokens: list[Any]) -> None:
    doc: Any = "leaf"
    for token in reversed(tokens):
        doc = [*([None] * token), doc] if isinstance(token, int) else {token: doc}
    assert resolve_pointer(doc, json_pointer(tokens)) == "leaf"


_TOKENS = st.lists(st.one_of(st.text(st.sampled_from("~/01a"), max_size=6), st.text(max_size=6), st.integers(0, 99)))


@given(_TOKENS, st.integers(0, 40))
def test_json_pointer_within_is_json_pointer_of_the_longest_prefix_that_fits(tokens: list[Any], limit: int) -> None:
    """What ``json_pointer_within`` writes is what ``json_pointer`` (the jsonpointer library) writes of the prefix
    it keeps, parsed back by the library to the prefix's tokens; one token more would not fit."""
    pointer, n = json_pointer_within(tokens, limit)
    assert pointer == json_pointer(tokens[:n]) and len(pointer) <= limit
    assert JsonPointer(pointer).parts == [str(t) for t in tokens[:n]]
    assert n == len(tokens) or len(json_pointer(tokens[: n + 1])) > limit


def test_every_endpoint_writes_the_same_timestamp_format(client: tuple[TestClient, dict[str, str]]) -> None:  # noqa: F811
    http, auth = client
    job = _wait_job(http, http.post("/jobs/enqueue", content=description("hall"), headers=auth).json()["jobId"])
    stamps = [job["createdUtc"], job["startedUtc"], job["completedUtc"]]
    stamps += [j["createdUtc"] for j in http.get("/jobs").json()]
    stamps += [v["createdUtc"] for v in http.get("/scenes/hall/versions").json()]
    stamps += [s["updatedUtc"] for s in http.get("/scenes").json()]
    stamps.append(http.get("/scenes/hall/meta").json()["TimestampUtc"])
    stamps.append(http.post("/scenes/hall/links", headers=auth).json()["expiresUtc"])
    with http.stream("GET", "/jobs/events/hall", headers={"Last-Event-ID": "0"}) as stream:
        for line in stream.iter_lines():
            assert not line.startswith(":"), "a heartbeat before the replayed events"
            if line.startswith("data: "):
                stamps.append(json.loads(line[6:])["ts"])
                break
    assert len(stamps) >= 9
    assert [s for s in stamps if not STAMP.match(s)] == []


def test_validation_errors_point_with_escaped_tokens(client: tuple[TestClient, dict[str, str]]) -> None:  # noqa: F811
    http, _auth = client
    reply = http.get("/jobs?take=0")
    assert reply.status_code == 422
    assert [e["path"] for e in reply.json()["errors"]] == ["/query/take"]


def test_a_query_parameter_given_twice_is_refused_not_read_as_one_value(
    client: tuple[TestClient, dict[str, str]],  # noqa: F811
) -> None:
    """FastAPI took the last value (``take=2``: a page of two); a layer in front may read the first."""
    http, auth = client
    reply = http.get("/jobs?take=1&take=2", headers=auth)
    assert reply.status_code == 422
    assert reply.json()["errors"] == [
        {
            "path": "/query/take",
            "code": "query_repeated",
            "message": "the query parameter 'take' is given 2 times: give it once",
        }
    ]
    assert reply.json()["detail"].startswith("invalid request: /query/take:")
    # Also before the cached public reads, and for a parameter no route takes; one of each is read as before.
    assert http.get("/scenes/hall.glb?v=1&v=2").status_code == 422
    assert http.get("/jobs?take=1&skip=&other=1", headers=auth).status_code == 200
    escaped = http.get("/jobs?a/b=1&a/b=2", headers=auth).json()["errors"][0]
    assert escaped["path"] == "/query/a~1b"
