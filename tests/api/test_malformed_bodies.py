"""Malformed request bodies, endpoint by endpoint (docs/limits.md, "Request bodies"): every endpoint taking JSON
answers one fault with one code, at one pointer, in the same words, headed ``invalid request: `` — a body that is
not JSON is no scene, whichever endpoint it was sent to — and writes nothing (no job, no blob, no revision).

Builds and jobs parse their body as a description (``parse_description``), the others with
:func:`sceneforge.api.bodies.parse_json`: both said it differently (``invalid scene: : not valid JSON: Expecting
',' delimiter: line 3 column 2 (char 11)`` against ``invalid request: …`` on publish), a publish body of the wrong
type was a ``version_invalid``, a build's a ``type_error`` naming Python's types (``got NoneType``), and JSON nested
past the parser was ``json_invalid`` "maximum recursion depth exceeded while decoding a JSON array"."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sceneforge import jsontext
from tests.api.conftest import TEST01, Api, start_api
from tests.scenes import TWO_ROOMS

JSON = "application/json"
PATCH = "application/json-patch+json"
#: Every endpoint that reads a JSON body: (method, path, the type it takes).
JSON_ENDPOINTS = [
    ("POST", "/scenes/build", JSON),
    ("POST", "/jobs/enqueue", JSON),
    ("POST", "/scenes/fresh/draft", JSON),
    ("PATCH", "/scenes/two-rooms/draft", PATCH),
    ("POST", "/scenes/test01/publish", JSON),
    ("POST", "/scenes/test01/exports", JSON),
    ("POST", "/scenes/two-rooms/assist", JSON),
]
#: Those whose body is one JSON object.
OBJECT_ENDPOINTS = [e for e in JSON_ENDPOINTS if e[2] == JSON]
DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.fixture(scope="module")
def bodies_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A published scene (test01), a draft (two-rooms) and an assistant configured (its model is never asked: no
    request here is valid)."""
    llm = {"base_url": "http://127.0.0.1:9/v1", "api_key": "k", "model": "m"}
    for api in start_api(Path(tmp_path_factory.mktemp("bodies")), llm=llm, auth={"write_rate": 0}):
        assert api.post("/scenes/build", content=TEST01, headers=api.auth()).status_code == 200
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        deadline = time.monotonic() + 60  # the build's preview writes its blobs: done before anything is compared
        while any(j["status"] in {"Queued", "Running"} for j in api.get("/jobs", headers=api.auth()).json()):
            assert time.monotonic() < deadline, api.get("/jobs", headers=api.auth()).text
            time.sleep(0.05)
        yield api


def _send(api: Api, endpoint: tuple[str, str, str], body: bytes, **headers: str) -> Any:
    method, path, media = endpoint
    return api.request(method, path, content=body, headers={**api.auth(), "Content-Type": media, **headers})


def _refused(reply: Any, status: int = 422) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = reply.json()
    return problem


def _state(api: Api) -> tuple[Any, ...]:
    """What a refused write must leave as it was: the jobs, scenes and versions, the draft, the stored blobs."""
    jobs = [j["jobId"] for j in api.get("/jobs?take=500", headers=api.auth()).json()]  # a preview may move on
    scenes = [(s["sceneId"], s["version"]) for s in api.get("/scenes", headers=api.auth()).json()]
    blobs = sorted(p.name for p in (api.services.settings.storage.data_dir / "blobs").rglob("*") if p.is_file())
    return jobs, scenes, api.get("/scenes/two-rooms/draft").json()["rev"], blobs


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty: it must be JSON"),
        (b"  \r\n\t", "the body is empty: it must be JSON"),
        (b'{\n  "a": 1\n "b": 2}', "the body is not JSON: line 3 column 2: Expecting ',' delimiter"),
        (b'{"a": 1} x', "the body is not JSON: line 1 column 10: more follows the JSON value (one value per text)"),
        (b"\xef\xbb\xbf{", "the body is not JSON: line 1 column 2: Expecting property name enclosed in double quotes"),
        (b"{'a': 1}", "the body is not JSON: line 1 column 2: Expecting property name enclosed in double quotes"),
    ],
    ids=["empty", "white space", "missing comma", "trailing data", "cut short after a BOM", "single quotes"],
)
def test_a_body_that_is_not_json_is_the_same_invalid_request_everywhere(
    bodies_api: Api, endpoint: tuple[str, str, str], body: bytes, message: str
) -> None:
    problem = _refused(_send(bodies_api, endpoint, body))
    assert problem["errors"] == [{"path": "", "code": "json_invalid", "message": message}]
    assert problem["detail"] == f"invalid request: : {message}"


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize(
    ("body", "sent"),
    [(b"[1, 2]", "an array"), (b"42", "a number"), (b"null", "null"), (b'"x"', "a string"), (b"true", "a boolean")],
)
def test_json_of_another_type_than_an_object_is_body_not_object_naming_it(
    bodies_api: Api, endpoint: tuple[str, str, str], body: bytes, sent: str
) -> None:
    """A publish body of an array was a ``version_invalid`` at ``/version``; a build's a ``type_error`` saying
    ``got NoneType``."""
    problem = _refused(_send(bodies_api, endpoint, body))
    [error] = problem["errors"]
    assert (error["path"], error["code"]) == ("", "body_not_object"), error
    assert error["message"].startswith("the body must be a JSON object") and error["message"].endswith(f", not {sent}")
    assert problem["detail"].startswith("invalid request: : the body must be a JSON object")


@pytest.mark.parametrize(("body", "sent"), [(b"42", "a number"), (b"null", "null"), (b"{}", "an object")])
def test_a_patch_of_another_type_than_an_array_names_it(bodies_api: Api, body: bytes, sent: str) -> None:
    problem = _refused(_send(bodies_api, JSON_ENDPOINTS[3], body))
    message = f"a JSON Patch is an array of operations (RFC 6902), not {sent}"
    assert problem["errors"] == [{"path": "", "code": "patch_not_array", "message": message}]
    assert problem["detail"].startswith("invalid request: ")
    ops = _refused(_send(bodies_api, JSON_ENDPOINTS[3], b'[1, "op"]'))
    assert [e["message"] for e in ops["errors"]] == [
        "each operation must be an object, not a number",
        "each operation must be an object, not a string",
    ]


def test_a_patch_past_the_operation_limit_says_how_many_and_the_limit(bodies_api: Api) -> None:
    from sceneforge.storage.drafts import MAX_PATCH_OPS

    ops = [{"op": "test", "path": "/sceneId", "value": "x"}] * (MAX_PATCH_OPS + 1)
    problem = _refused(_send(bodies_api, JSON_ENDPOINTS[3], json.dumps(ops).encode()))
    message = f"the patch has {MAX_PATCH_OPS + 1:,} operations; at most {MAX_PATCH_OPS:,} (MAX_PATCH_OPS) are accepted"
    assert problem["errors"] == [{"path": "", "code": "patch_too_long", "message": message}]


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_json_nested_past_the_parser_is_json_too_deep_naming_how_deep(
    bodies_api: Api, endpoint: tuple[str, str, str]
) -> None:
    """It was ``json_invalid`` saying "maximum recursion depth exceeded while decoding a JSON array from a unicode
    string": valid JSON, refused for a reason that named nothing of it."""
    problem = _refused(_send(bodies_api, endpoint, DEEP))
    [error] = problem["errors"]
    assert (error["path"], error["code"]) == ("", "json_too_deep"), error
    assert error["message"].startswith("the JSON nests 10,000 levels deep")
    limit = "deeper than the parser reads" if endpoint[1] in {"/scenes/build", "/jobs/enqueue"} else "at most 64"
    assert limit in error["message"] and problem["detail"].startswith("invalid request: ")


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_member_named_twice_is_an_invalid_request_everywhere(bodies_api: Api, endpoint: tuple[str, str, str]) -> None:
    """Said ``invalid scene`` on every endpoint but publish, of assistant messages and exports too."""
    problem = _refused(_send(bodies_api, endpoint, b'{"a": 1, "a": 2}'))
    message = "member 'a' appears more than once in this object"
    assert problem["errors"] == [{"path": "", "code": "json_duplicate_key", "message": message}]
    assert problem["detail"] == f"invalid request: : {message}"


def test_the_assistants_own_members_are_invalid_requests(bodies_api: Api) -> None:
    for body, code in [
        (b'{"message": ""}', "message_missing"),
        (b'{"message": "hi", "sessionId": 5}', "session_invalid"),
    ]:
        problem = _refused(_send(bodies_api, JSON_ENDPOINTS[6], body))
        assert problem["errors"][0]["code"] == code and problem["detail"].startswith("invalid request: "), problem


def test_the_jsontext_parser_names_nesting_it_cannot_read() -> None:
    with pytest.raises(jsontext.JsonTextError) as refused:
        jsontext.loads(DEEP, finite=False, max_depth=None)
    assert (refused.value.pointer, refused.value.code) == ("", "json_too_deep")
    assert "10,000 levels" in refused.value.message
    with pytest.raises(jsontext.JsonTextError) as bounded:
        jsontext.loads(DEEP.decode())
    assert "10,000 levels deep; at most 64 are accepted" in bounded.value.message


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("Content-Type", [JSON, "text/plain"]),
        ("Content-Type", ["text/plain", JSON]),
        ("Content-Encoding", ["identity", "gzip"]),
    ],
)
def test_a_type_or_coding_on_several_lines_is_read_whole(bodies_api: Api, name: str, lines: list[str]) -> None:
    """Only the first line was read: ``application/json`` then ``text/plain`` was taken as JSON (a proxy in front may
    read the last), and ``identity`` then ``gzip`` as an uncompressed body."""
    headers = [("X-API-Key", bodies_api.keys["write"]), *[(name, line) for line in lines]]
    if name != "Content-Type":
        headers.append(("Content-Type", JSON))
    before = _state(bodies_api)
    reply = bodies_api.request("POST", "/scenes/fresh/draft", content=b'{"template": "maze"}', headers=headers)
    problem = _refused(reply, 415)
    assert (f"{name} is sent on 2 lines" if name == "Content-Type" else "'identity, gzip'") in problem["detail"]
    assert _state(bodies_api) == before


def test_the_same_type_on_two_lines_is_one_type(bodies_api: Api) -> None:
    headers = [("X-API-Key", bodies_api.keys["write"]), ("Content-Type", JSON), ("Content-Type", JSON)]
    reply = bodies_api.request("POST", "/scenes/test01/publish", content=b'{"version": 1}', headers=headers)
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    ("declared", "status"),
    [("9" * 5_000, 413), ("0" * 5_000 + "2", 200), ("\u00b2", 200), ("99999999999999999999", 413)],
    ids=["5000 digits", "leading zeros", "superscript two", "past 64 bits"],
)
def test_a_content_length_no_int_reads_is_never_a_500(bodies_api: Api, declared: str, status: int) -> None:
    """A ``Content-Length`` of 4,301 digits and more, or of a character ``str.isdigit`` takes and ``int`` does not
    (``²``), had raised in the app (a 500) where a server hands it on: a length past the limit is 413 at once,
    one that is no number is left to the body as it streams."""
    headers = [("X-API-Key", bodies_api.keys["write"]), ("Content-Type", PATCH)]
    headers.append(("Content-Length", declared.encode("latin-1")))
    reply = bodies_api.request("PATCH", "/scenes/two-rooms/draft", content=b"[]", headers=headers)
    assert reply.status_code == status, reply.text
    if status == 413:
        assert reply.json()["limit"] == "SCENEFORGE_MAX_BODY_BYTES"


def test_a_glb_sent_as_json_is_told_so(bodies_api: Api) -> None:
    glb = bodies_api.get("/scenes/test01.glb").content
    for endpoint in JSON_ENDPOINTS[:2]:
        problem = _refused(_send(bodies_api, endpoint, glb), 415)
        assert "it is a GLB (it starts with 'glTF'), not JSON" in problem["detail"], problem


def test_an_empty_asset_upload_says_it_is_empty(bodies_api: Api) -> None:
    reply = bodies_api.post("/assets", content=b"", headers={**bodies_api.auth(), "Content-Type": "image/png"})
    assert _refused(reply, 415)["detail"] == "the body is empty (0 bytes): send a GLB, OBJ or PNG file"


def test_a_description_sent_as_a_glb_is_held_to_the_json_limit(tmp_path: Path) -> None:
    """A body declared ``model/gltf-binary`` is bounded by ``SCENEFORGE_MAX_UPLOAD_BYTES`` (256 MiB), and one without
    the GLB magic is read as a description: one 8 times the JSON limit was parsed in the API process (one of 256 MiB
    would have been, whole), stored and queued, and refused by the build worker (422 with a ``jobId``)."""
    for api in start_api(tmp_path, limits={"max_body_bytes": 4096}):
        big = TEST01.replace(b'"props": {}', b'"props": {"notes": "' + b"x" * 30_000 + b'"}')
        assert len(big) > 4096 * 7
        reply = api.post("/scenes/build", content=big, headers={**api.auth(), "Content-Type": "model/gltf-binary"})
        problem = _refused(reply, 413)
        assert problem["limit"] == "SCENEFORGE_MAX_BODY_BYTES" and "(the body has no 'glTF' magic)" in problem["detail"]
        assert api.get("/scenes").json() == [] and api.get("/jobs?take=5", headers=api.auth()).json() == []
        small = api.post("/scenes/build", content=TEST01, headers={**api.auth(), "Content-Type": "model/gltf-binary"})
        assert small.status_code == 200, small.text  # within the JSON limit it is built, as before


def test_no_refused_body_writes_anything(bodies_api: Api) -> None:
    """Every fault above, sent to every endpoint taking a body: no job, scene, version, revision or blob."""
    before = _state(bodies_api)
    faults = [b"", b"{", b"[1]", b"null", b'{"a": 1, "a": 2}', b'{"a": NaN}', b'{"a": "\\ud800"}', DEEP, b"\xff"]
    for endpoint in [*JSON_ENDPOINTS, ("POST", "/assets", "application/octet-stream")]:
        for body in faults:
            reply = _send(bodies_api, endpoint, body)
            assert reply.status_code in {413, 415, 422}, (endpoint, body[:20], reply.text)
    assert _state(bodies_api) == before
