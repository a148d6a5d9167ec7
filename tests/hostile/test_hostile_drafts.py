"""Hostile drafts, bodies and credentials: each refusal is a problem+json 4xx saying what and where, and
leaves the draft, its revisions and the blob store exactly as they were (and still readable).

Covers JSON Patch bodies (unknown ops, bad pointers, NaN / Infinity / 1e400 anywhere in an op, repeated
member names, nesting past the limit, too many ops, non-array bodies, wrong types), ``If-Match`` forms
(lists, weak tags, ``*``), version and revision numbers past 64 bits, ``Content-Encoding``, link tokens
with non-ASCII bytes, JWTs of another algorithm, malformed GLB and PNG asset uploads, and
:mod:`sceneforge.jsontext` itself (hypothesis).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.errors import MAX_ISSUES
from sceneforge.jsontext import MAX_DEPTH, JsonTextError, loads, nesting_depth
from tests.api.conftest import TEST01, Api, start_api
from tests.ingest.blender_fixture import blender_scene
from tests.support.scenes import png_bytes

PATCH = {"content-type": "application/json-patch+json"}
JSON = {"content-type": "application/json"}
OK_OP = {"op": "add", "path": "/props/ok", "value": "yes"}


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    root = tmp_path_factory.mktemp("hostile-drafts")
    auth = {"write_rate": 0, "jwt_secret": "s" * 32}
    for api in start_api(root, auth=auth):
        assert api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON}).status_code == 200
        created = api.post("/scenes/test01/draft?replace=true", content=TEST01, headers={**api.auth(), **JSON})
        assert created.status_code in (200, 201), created.text  # 200: the build had made the draft already
        _settle(api)
        yield api, root / "data"


def _settle(api: Api) -> None:
    """Wait for the jobs a build queues behind it (previews) to finish, so the stored files stay still."""
    for _ in range(400):
        jobs = api.get("/jobs?take=500", headers=api.auth("read")).json()
        if all(job["status"] in {"Succeeded", "Failed", "Canceled"} for job in jobs):
            return
        api.call(anyio.sleep, 0.05)
    raise AssertionError(f"jobs still running: {jobs}")


def _state(api: Api, data: Path) -> tuple[Any, ...]:
    """What a refused request must not change: the draft, every revision (readable), every stored file."""
    _settle(api)
    draft = api.get("/scenes/test01/draft")
    listed = api.get("/scenes/test01/revisions?take=500")
    assert draft.status_code == listed.status_code == 200, (draft.text, listed.text)
    for revision in listed.json()["revisions"]:
        assert api.get(f"/scenes/test01/revisions/{revision['rev']}").status_code == 200
    files = sorted(str(p.relative_to(data)) for p in (data / "blobs").rglob("*") if p.is_file())
    return draft.json(), listed.json(), files


def _assert_problem(response: Any, status: int, says: str = "", path: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    text = problem["detail"] + " ".join(e["message"] for e in problem.get("errors", []))
    assert says in text, text
    if path is not None:
        assert path in [e["path"] for e in problem["errors"]], problem


BAD_PATCHES: list[tuple[str, str, int, str, str | None]] = [
    ("unknown op", json.dumps([{"op": "frob", "path": "/props/x"}]), 422, "unknown op 'frob'", "/0/op"),
    ("index -1", json.dumps([{"op": "remove", "path": "/cells/-1"}]), 422, "'-1'", "/0/path"),
    ("index 01", json.dumps([{"op": "remove", "path": "/cells/01"}]), 422, "'01'", "/0/path"),
    ("escape ~2", json.dumps([{"op": "add", "path": "/props/a~2b", "value": "1"}]), 422, "~2", "/0/path"),
    ("no leading slash", json.dumps([{"op": "add", "path": "props", "value": "1"}]), 422, "starts with '/'", "/0/path"),
    ("path not a string", json.dumps([{"op": "remove", "path": 5}]), 422, "pointer string, not a number", "/0/path"),
    ("path missing", json.dumps([{"op": "remove"}]), 422, "path must be a JSON pointer string, missing", "/0/path"),
    ("from missing", json.dumps([{"op": "copy", "path": "/a"}]), 422, "'from' JSON pointer string, missing", "/0/from"),
    ("from null", json.dumps([{"op": "move", "from": None, "path": "/a"}]), 422, "string, not null", "/0/from"),
    ("op a list", json.dumps([{"op": ["add"], "path": "/props/x", "value": "1"}]), 422, "unknown op", "/0/op"),
    ("op an object", json.dumps([OK_OP, {"op": {"add": 1}, "path": "/props/x"}]), 422, "unknown op", "/1/op"),
    ("op not an object", json.dumps([OK_OP, 1]), 422, "must be an object", "/1"),
    # A value named as JSON names it, never as Python does ("int", "NoneType"), nor written out.
    ("op a number", json.dumps([{"op": 1, "path": "/x"}]), 422, "unknown op (a JSON number, not a name)", "/0/op"),
    ("op null", json.dumps([{"op": None, "path": "/x"}]), 422, "unknown op (a JSON null, not a name)", "/0/op"),
    ("op missing", json.dumps([{"path": "/x"}]), 422, "unknown op (missing)", "/0/op"),
    ("value missing", json.dumps([{"op": "add", "path": "/props/x"}]), 422, "needs a 'value'", "/0/value"),
    ("object body", json.dumps(OK_OP), 422, "array of operations", ""),
    ("null body", "null", 422, "array of operations", ""),
    ("empty body", "", 422, "the body is empty: it must be JSON", ""),
    ("truncated", json.dumps([OK_OP])[:-3], 422, "not JSON", ""),
    ("too many ops", json.dumps([{"op": "test", "path": "/sceneId", "value": "test01"}] * 100_000), 422, "10,000", ""),
    # Each copy doubles the cells: 30 ops in 1 kB would ask for 10^12 bytes.
    ("copy bomb", json.dumps([{"op": "copy", "from": "/cells", "path": "/cells/-"}] * 30), 422, "MAX_PATCH_COPY", None),
    ("root made a number", json.dumps([{"op": "replace", "path": "", "value": 5}]), 422, "stay an object", ""),
    ("sceneId changed", json.dumps([{"op": "replace", "path": "/sceneId", "value": "x"}]), 422, "keep", "/sceneId"),
    ("test fails", json.dumps([{"op": "test", "path": "/sceneId", "value": "x"}]), 409, "", None),
    # Not strict JSON, wherever it is: an ignored member would otherwise be stored in the revision.
    ("NaN value", '[{"op": "add", "path": "/props/x", "value": NaN}]', 422, "NaN is not", "/0/value"),
    ("Infinity member", '[{"op": "remove", "path": "/props/x", "pad": -Infinity}]', 422, "-Infinity", "/0/pad"),
    (
        "NaN overwritten",
        '[{"op": "add", "path": "/props/x", "value": [NaN]}, {"op": "remove", "path": "/props/x"}]',
        422,
        "NaN",
        "/0/value/0",
    ),
    ("1e400 value", '[{"op": "add", "path": "/props/x", "value": 1e400}]', 422, "1e400", "/0/value"),
    # An integer literal is a number too: past a double (309 digits and more) it is 1e400 written out.
    ("huge integer member", f'[{{"op": "remove", "path": "/props/x", "pad": {"9" * 400}}}]', 422, "99…", "/0/pad"),
    (
        "integer of 5000 digits",
        f'[{{"op": "add", "path": "/props/x", "value": -{"9" * 5000}}}]',
        422,
        "finite",
        "/0/value",
    ),
    ("repeated op", '[{"op": "add", "op": "remove", "path": "/props/x", "value": "1"}]', 422, "'op' appears", "/0"),
    ("nesting 600", f'[{{"op": "add", "path": "/props/x", "value": {_deep(600)}}}]', 422, "602 levels", ""),
    ("nesting 100000", "[" * 100_000 + "]" * 100_000, 422, "nests 100,000 levels deep; at most 64", ""),
    ("huge value", json.dumps([{"op": "add", "path": "/props/x", "value": "v" * 3_000_000}]), 422, "", "/props/x"),
    # A lone surrogate is no Unicode character: the description holding it could not be written as UTF-8 (a 500).
    ("lone surrogate value", '[{"op": "add", "path": "/props/x", "value": "a\\ud800"}]', 422, "surrogate", "/0/value"),
    ("lone surrogate name", '[{"op": "add", "path": "/props/x\\udfff", "value": "1"}]', 422, "surrogate", "/0/path"),
    ("lone surrogate key", '[{"op": "add", "path": "/props", "value": {"\\udc00": "1"}}]', 422, "name", "/0/value"),
    ("lone surrogate member", '[{"op": "remove", "path": "/props/x", "pad": "\\ud83d"}]', 422, "surrogate", "/0/pad"),
    # A name that reads as other text than it is (Trojan Source): refused by the description's rule, as in a build.
    (
        "bidi override in a cellId",
        json.dumps([{"op": "replace", "path": "/cells/0/cellId", "value": "ha\u202ell"}]),
        422,
        "U+202E (RIGHT-TO-LEFT OVERRIDE) at character 3",
        "/cells/0/cellId",
    ),
    (
        "C1 control in a prop name",
        json.dumps([{"op": "add", "path": "/props/a\u0085b", "value": "1"}]),
        422,
        "U+0085 (a control character) at character 2",
        "/props/a\u0085b",
    ),
    (
        "isolate in a material id",
        json.dumps([{"op": "add", "path": "/materials/oak\u2066", "value": "#d8d0c0"}]),
        422,
        "U+2066 (LEFT-TO-RIGHT ISOLATE)",
        "/materials/oak\u2066",
    ),
]


@pytest.mark.parametrize(("name", "body", "status", "says", "path"), BAD_PATCHES, ids=[b[0] for b in BAD_PATCHES])
def test_hostile_patch_is_refused_and_changes_nothing(
    drafted: tuple[Api, Path], name: str, body: str, status: int, says: str, path: str | None
) -> None:
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=body.encode(), headers={**api.auth(), **PATCH})
    _assert_problem(response, status, says, path)
    assert _state(api, data) == before


@pytest.mark.parametrize("url", ["/scenes/build", "/jobs/enqueue"])
def test_hostile_build_of_a_name_with_a_bidi_override_is_422_naming_the_character(
    drafted: tuple[Api, Path], url: str
) -> None:
    """A built or enqueued description is held to the draft's rule for names: a cellId with a right-to-left
    override is 422 at that cellId, the character named as U+202E, and no scene or job is made."""
    api, _ = drafted
    doc = json.loads(TEST01)
    doc["sceneId"] = "bidi"
    doc["cells"][0]["cellId"] = doc["portals"][0]["from"] = "hall\u202e"
    before = api.get("/scenes").json(), api.get("/jobs?take=500", headers=api.auth("read")).json()
    response = api.post(url, content=json.dumps(doc).encode(), headers={**api.auth(), **JSON})
    _assert_problem(response, 422, "U+202E (RIGHT-TO-LEFT OVERRIDE) at character 5", "/cells/0/cellId")
    assert {e["code"] for e in response.json()["errors"]} == {"unprintable_character"}
    assert (api.get("/scenes").json(), api.get("/jobs?take=500", headers=api.auth("read")).json()) == before


_NINES = "9" * 100_000  # an array index of 100,000 digits: past Python's 4,300-digit int conversion
_ZEROS_ONE = "0" * 99_999 + "1"
_PAST_CELLS = "past the end of the array at '/cells', which has 2 elements"
ABSURD_INDICES: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("remove", {"op": "remove", "path": f"/cells/{_NINES}"}, 422, "/0/path", _PAST_CELLS),
    ("add", {"op": "add", "path": f"/cells/{_NINES}", "value": {}}, 422, "/0/path", "or 2 or '-' to append"),
    ("replace", {"op": "replace", "path": f"/cells/{_NINES}", "value": {}}, 422, "/0/path", _PAST_CELLS),
    ("add below", {"op": "add", "path": f"/cells/{_NINES}/meshes/-", "value": {}}, 422, "/0/path", _PAST_CELLS),
    ("copy to", {"op": "copy", "from": "/cells/0", "path": f"/cells/{_NINES}"}, 422, "/0/path", _PAST_CELLS),
    (
        "move to",
        {"op": "move", "from": "/cells/0", "path": f"/cells/{_NINES}"},
        422,
        "/0/path",
        "which has 1 element (index 0, or 1",
    ),
    ("copy from", {"op": "copy", "from": f"/cells/{_NINES}", "path": "/props/x"}, 422, "/0/from", _PAST_CELLS),
    ("move from", {"op": "move", "from": f"/cells/{_NINES}", "path": "/props/x"}, 422, "/0/from", _PAST_CELLS),
    ("leading zeros", {"op": "remove", "path": f"/cells/{_ZEROS_ONE}"}, 422, "/0/path", "not an array index"),
    ("leading zeros from", {"op": "copy", "from": f"/cells/{_ZEROS_ONE}", "path": "/a"}, 422, "/0/from", "not an"),
    ("just past", {"op": "add", "path": "/cells/3", "value": {}}, 422, "/0/path", "index '3' is past the end"),
    ("at the end", {"op": "remove", "path": "/cells/2"}, 422, "/0/path", "(indices 0 to 1)"),
    # A test whose pointer names no value does not hold (409, as for '-'); one that is no pointer is malformed (422).
    ("test past", {"op": "test", "path": f"/cells/{_NINES}", "value": 1}, 409, "/0", _PAST_CELLS),
    ("test zeros", {"op": "test", "path": f"/cells/{_ZEROS_ONE}", "value": 1}, 422, "/0/path", "not an array index"),
    ("test 01", {"op": "test", "path": "/cells/01/cellId", "value": "hall"}, 422, "/0/path", "'01' is not an array"),
]


@pytest.mark.parametrize(("name", "op", "status", "path", "says"), ABSURD_INDICES, ids=[a[0] for a in ABSURD_INDICES])
def test_hostile_patch_array_index_is_refused_naming_op_pointer_and_length(
    drafted: tuple[Api, Path], name: str, op: dict[str, Any], status: int, path: str, says: str
) -> None:
    """RFC 6901 §4: a token into an array is '-' or digits without a leading zero naming an element. Any other,
    one past the array's end included (of 100,000 digits, past Python's int conversion), is refused naming the
    op, the array's pointer and its length; its token is cut, and Python's messages are not repeated."""
    api, data = drafted
    before = _state(api, data)
    ops = [op] if name != "test 01" else [{"op": "test", "path": "/sceneId", "value": "test01"}, op]
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops), headers={**api.auth(), **PATCH})
    at = path.replace("/0", f"/{len(ops) - 1}", 1)
    _assert_problem(response, status, says, at)
    [error] = response.json()["errors"]
    assert error["message"].startswith(f"op {len(ops) - 1} ({op['op']}): "), error
    assert "integer" not in response.text and "sequence index" not in response.text
    assert len(response.content) < 1500
    assert _state(api, data) == before


_DASH = "'-' names no element: it stands past the end of the array at '/cells', which has 2 elements (indices 0 to 1)"
_IN_STRING = "the value at '/sceneId' is a string, which has no member or element 'x'"
_IN_NUMBER = "the value at '/portals/0/quad/0' is a number, which has no member or element 'x'"
NO_VALUE_THERE: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("into a string", {"op": "add", "path": "/sceneId/x", "value": 1}, 422, "/0/path", _IN_STRING),
    ("into a number", {"op": "add", "path": "/portals/0/quad/0/x", "value": 1}, 422, "/0/path", _IN_NUMBER),
    ("remove in a string", {"op": "remove", "path": "/sceneId/x"}, 422, "/0/path", _IN_STRING),
    ("copy from a string", {"op": "copy", "from": "/sceneId/x", "path": "/props/x"}, 422, "/0/from", _IN_STRING),
    ("into '-'", {"op": "add", "path": "/cells/-/cellId", "value": "x"}, 422, "/0/path", _DASH),
    ("remove '-'", {"op": "remove", "path": "/cells/-"}, 422, "/0/path", _DASH),
    ("replace '-'", {"op": "replace", "path": "/cells/-", "value": {}}, 422, "/0/path", _DASH),
    ("move from below '-'", {"op": "move", "from": "/cells/-/cellId", "path": "/props/x"}, 422, "/0/from", _DASH),
    # A test whose pointer names no value does not hold: 409, as past an array's end.
    ("test in a string", {"op": "test", "path": "/sceneId/x", "value": 1}, 409, "/0", _IN_STRING),
    ("test '-'", {"op": "test", "path": "/cells/-", "value": {}}, 409, "/0", _DASH),
]


@pytest.mark.parametrize(("name", "op", "status", "path", "says"), NO_VALUE_THERE, ids=[a[0] for a in NO_VALUE_THERE])
def test_hostile_patch_pointer_past_a_value_holding_nothing_says_which_value(
    drafted: tuple[Api, Path], name: str, op: dict[str, Any], status: int, path: str, says: str
) -> None:
    """A pointer that goes on past a string, number, boolean or null, or through ``-`` (no element, RFC 6901 §4),
    is refused naming the op, the pointer and the value it met as JSON names it, never Python's words for it
    (``non-container type <class 'str'>``, ``must be mapping/sequence or support __getitem__``, ``invalid array
    index``); nothing is changed."""
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps([op]), headers={**api.auth(), **PATCH})
    _assert_problem(response, status, says, path)
    [error] = response.json()["errors"]
    assert error["message"].startswith(f"op 0 ({op['op']}): "), error
    assert "class" not in response.text and "__getitem__" not in response.text
    assert _state(api, data) == before


_TEST_OK = {"op": "test", "path": "/sceneId", "value": "test01"}
# (name, the ops (the last one fails), status, code, the error's path, what its message says after the pointer)
OP_FAILURES: list[tuple[str, list[dict[str, Any]], int, str, str, str]] = [
    ("index past the end", [_TEST_OK, {"op": "replace", "path": "/cells/9/meshes", "value": []}], 422,
     "patch_op_failed", "/1/path", "path '/cells/9/meshes': index '9' is past the end of the array at '/cells'"),
    ("member not there", [{"op": "replace", "path": "/nope", "value": 1}], 422,
     "patch_op_failed", "/0/path", "path '/nope': the object at '' has no member 'nope'"),
    ("remove a member not there", [{"op": "remove", "path": "/props/nope"}], 422,
     "patch_op_failed", "/0/path", "path '/props/nope': the object at '/props' has no member 'nope'"),
    ("add under a member not there", [_TEST_OK, _TEST_OK, {"op": "add", "path": "/nope/x", "value": 1}], 422,
     "patch_op_failed", "/2/path", "path '/nope/x': the object at '' has no member 'nope'"),
    ("move into itself", [{"op": "move", "from": "/cells/0", "path": "/cells/0/meshes/0"}], 422,
     "patch_op_failed", "/0/path", "path '/cells/0/meshes/0': it is inside from '/cells/0', and a value cannot"),
    ("move from a member not there", [{"op": "move", "from": "/nope", "path": "/props/x"}], 422,
     "patch_op_failed", "/0/from", "from '/nope': the object at '' has no member 'nope'"),
    ("escape ~2", [{"op": "add", "path": "/props/a~2b", "value": "1"}], 422,
     "patch_op_failed", "/0/path", "path '/props/a~2b': '~2' (at offset 8) is no escape (RFC 6901"),
    ("trailing ~", [{"op": "add", "path": "/props/a~", "value": "1"}], 422,
     "patch_op_failed", "/0/path", "path '/props/a~': a '~' at its end (at offset 8) is no escape"),
    ("from with ~2", [{"op": "copy", "from": "/props/~2", "path": "/props/x"}], 422,
     "patch_op_failed", "/0/from", "from '/props/~2': '~2' (at offset 7) is no escape"),
    ("no leading slash", [{"op": "remove", "path": "props"}], 422,
     "patch_op_failed", "/0/path", "path 'props': a JSON pointer is '' (the whole document) or starts with '/'"),
    ("the whole document removed", [{"op": "remove", "path": ""}], 422,
     "patch_op_failed", "/0/path", "path '': the whole document cannot be removed"),
    ("replace '-'", [{"op": "replace", "path": "/cells/-", "value": {}}], 422,
     "patch_op_failed", "/0/path", "path '/cells/-': '-' names no element"),
    ("into a string", [{"op": "add", "path": "/sceneId/x", "value": 1}], 422,
     "patch_op_failed", "/0/path", "path '/sceneId/x': the value at '/sceneId' is a string"),
    ("copy bomb", [{"op": "copy", "from": "/cells", "path": "/cells/-"}] * 30, 422,
     "patch_too_large", "/15/from", "from '/cells': the copy operations add"),
    ("test not equal", [_TEST_OK, {"op": "test", "path": "/sceneId", "value": "x"}], 409,
     "patch_test_failed", "/1", "path '/sceneId': the value there is not equal to the tested value"),
    ("test of a member not there", [{"op": "test", "path": "/nope", "value": 1}], 409,
     "patch_test_failed", "/0", "path '/nope': names no value (a member not there)"),
    ("test under a member not there", [{"op": "test", "path": "/nope/x", "value": 1}], 409,
     "patch_test_failed", "/0", "path '/nope/x': the object at '' has no member 'nope'"),
    ("test past the end", [{"op": "test", "path": "/cells/2", "value": 1}], 409,
     "patch_test_failed", "/0", "path '/cells/2': index '2' is past the end of the array at '/cells'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "ops", "status", "code", "path", "says"), OP_FAILURES, ids=[f[0] for f in OP_FAILURES]
)
def test_hostile_patch_op_that_fails_is_told_as_the_op_not_as_an_invalid_scene(
    drafted: tuple[Api, Path], name: str, ops: list[dict[str, Any]], status: int, code: str, path: str, says: str
) -> None:
    """An operation that cannot be applied (or a test that does not hold) is the patch's failure, not an invalid
    scene: the problem's detail is ``patch op <i> (<op>): <path|from> '<pointer>': <why>``, its one error the same
    without ``patch `` (it said ``invalid scene: /1/path: …``, and named no pointer for a member not there, a bad
    escape or a move into itself: ``member 'nope' not found``, ``Found invalid escape ~2``). Nothing is written."""
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops), headers={**api.auth(), **PATCH})
    _assert_problem(response, status, path=path)
    problem = response.json()
    [error] = problem["errors"]
    i = int(path.split("/")[1])
    head = f"op {i} ({ops[i]['op']}): "
    assert (error["code"], error["path"]) == (code, path)
    assert error["message"].startswith(head + says), error["message"]
    assert problem["detail"] == f"patch {error['message']}"
    assert "invalid scene" not in response.text and "class" not in response.text
    assert _state(api, data) == before


_EYE = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


@pytest.mark.parametrize(
    ("op", "setting", "path", "says"),
    [
        (
            {"op": "replace", "path": "/props", "value": {f"p{i}": "v" for i in range(10_001)}},
            "SCENEFORGE_MAX_PROPS",
            "/props",
            "prop count is 10,001, above the limit of 10,000",
        ),
        (
            {"op": "add", "path": "/cells/0/meshes", "value": [{"meshId": "auto"}] * 100_000},
            "SCENEFORGE_MAX_MESHES",
            "/cells",
            "mesh count is 100,001, above the limit of 100,000",
        ),
        (
            {"op": "add", "path": "/instances", "value": [{"meshId": "asset:a", "cellId": "hall", "transforms": [
                _EYE] * 200_001}]},
            "SCENEFORGE_MAX_INSTANCE_TRANSFORMS",
            "/instances",
            "instance transform count is 200,001, above the limit of 200,000",
        ),
    ],
    ids=["props", "meshes", "transforms"],
)  # fmt: skip
def test_hostile_patch_past_a_container_limit_is_refused_naming_it(
    drafted: tuple[Api, Path], op: dict[str, Any], setting: str, path: str, says: str
) -> None:
    """A patch whose result holds more props, meshes or instance transforms than their limits is 422 naming the
    limit, the count and the pointer, and writes nothing: a draft of 400,000 props had cost every later patch
    half a second of the server's event loop."""
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps([op]), headers={**api.auth(), **PATCH})
    _assert_problem(response, 422, says, path)
    assert response.json()["limit"] == setting
    assert [e["code"] for e in response.json()["errors"]] == ["limit_exceeded"]
    assert _state(api, data) == before


@pytest.mark.parametrize(
    ("ops", "status", "says"),
    [
        ([{"op": "add", "path": "/nope/x", "value": 1}], 422, "'nope'"),
        ([{"op": "test", "path": "/cells", "value": 1}], 409, "/cells"),
        ([{"op": "test", "path": "/cells/-", "value": 1}], 409, "/cells/-"),
    ],
)
def test_hostile_patch_errors_do_not_echo_the_draft(
    drafted: tuple[Api, Path], ops: list[dict[str, Any]], status: int, says: str
) -> None:
    """A failing op names its pointer; it does not quote the draft (a 50-byte patch of a 2 MB draft got a 2 MB
    answer, the draft written as a Python repr)."""
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops), headers={**api.auth(), **PATCH})
    _assert_problem(response, status, says)
    assert "kitchen" not in response.text and "{'" not in response.text and len(response.content) < 1000
    assert _state(api, data) == before


@pytest.mark.parametrize(
    ("value", "paths"),
    [
        ({"k" * 100_000: {f"x{i}": 1 for i in range(2000)}}, ["/materials"]),
        ({"ok": {f"x{i}": 1 for i in range(5000)}}, [f"/materials/ok/x{i}" for i in range(MAX_ISSUES)] + [""]),
    ],
    ids=["long name over many members", "many members"],
)
def test_hostile_patch_errors_are_bounded(drafted: tuple[Api, Path], value: dict[str, Any], paths: list[str]) -> None:
    """A patch whose result breaks the schema many times over is answered with at most MAX_ISSUES errors and
    pointers of at most MAX_PATH_CHARS: 110 kB of patch (a 100 kB material name over 2,000 unknown members) had
    been answered with 100 MB of errors, the name repeated in each."""
    api, data = drafted
    before = _state(api, data)
    ops = [{"op": "add", "path": "/materials", "value": value}]
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops), headers={**api.auth(), **PATCH})
    _assert_problem(response, 422)
    assert [e["path"] for e in response.json()["errors"]] == paths
    assert len(response.content) < 200_000
    assert _state(api, data) == before


@pytest.mark.parametrize(
    ("ops", "total"), [([{}] * 10_000, 20_000), ([1] * 10_000, 10_000), ([{"op": "add"}] * 10_000, 20_000)]
)
def test_hostile_malformed_ops_are_listed_up_to_max_issues(
    drafted: tuple[Api, Path], ops: list[Any], total: int
) -> None:
    """A patch of 10,000 malformed ops is answered with the first MAX_ISSUES problems and ``issues_truncated``
    counting the rest, as a description's are: 10,000 empty ops (30 kB) had been answered with 20,000 errors
    (2.4 MB)."""
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops), headers={**api.auth(), **PATCH})
    _assert_problem(response, 422, "invalid request: /0")
    errors = response.json()["errors"]
    assert len(errors) == MAX_ISSUES + 1 and errors[0]["path"].startswith("/0")
    more = f"{total - MAX_ISSUES:,} more problems are not listed (at most {MAX_ISSUES:,} are)"
    assert errors[-1] == {"path": "", "code": "issues_truncated", "message": more}
    assert len(response.content) < 200_000
    assert _state(api, data) == before


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-type": "application/json"}, 415),
        ({"content-type": "text/plain"}, 415),
        ({}, 415),
        ({**PATCH, "content-encoding": "gzip"}, 415),
        ({**PATCH, "if-match": "\x01"}, 422),
        ({**PATCH, "if-match": ","}, 422),
    ],
)
def test_hostile_patch_headers_are_refused(drafted: tuple[Api, Path], headers: dict[str, str], status: int) -> None:
    api, data = drafted
    before = _state(api, data)
    response = api.request("PATCH", "/scenes/test01/draft", content=json.dumps([OK_OP]), headers=api.auth() | headers)
    _assert_problem(response, status)
    assert _state(api, data) == before


def test_hostile_if_match_forms(drafted: tuple[Api, Path]) -> None:
    """RFC 9110 §13.1.1: a list matches when one strong tag does; weak tags never match; ``*`` matches any rev."""
    api, data = drafted
    rev = api.get("/scenes/test01/draft").json()["rev"]

    def patch(if_match: str, value: str) -> Any:
        ops = [{"op": "add", "path": "/props/ifmatch", "value": value}]
        return api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops), headers=api.auth() | PATCH | {
            "if-match": if_match})  # fmt: skip

    before = _state(api, data)
    _assert_problem(patch(f'W/"rev-{rev}"', "weak"), 412, "strong tag")
    _assert_problem(patch(f'"rev-{rev + 5}", "rev-{rev + 9}"', "stale"), 412, f"rev {rev + 5} or rev {rev + 9}")
    _assert_problem(patch(f'"rev-{"9" * 30}"', "huge"), 412)
    _assert_problem(patch(f'"rev-{rev}"x', "trailing"), 422, "If-Match must be")
    _assert_problem(patch(f'"rev-{rev}" "rev-{rev}"', "no comma"), 422, "If-Match must be")
    # a write's precondition is never guessed: an unquoted tag, even the current rev's, is no entity-tag
    for unquoted in (f"rev-{rev}", "garbage", f'"rev-{rev}", rev-{rev}', f"W/rev-{rev}"):
        _assert_problem(patch(unquoted, "unquoted"), 422, "If-Match must be", "/header/If-Match")
    # ``*`` stands alone (RFC 9110: ``"*" / #entity-tag``): in a list the header is malformed, not a tag "*"
    for listed in ("*, *", f'"rev-{rev}", *', f'*, "rev-{rev}"', " * ,"):
        _assert_problem(patch(listed, "star listed"), 422, "* alone", "/header/If-Match")
    assert _state(api, data) == before
    assert patch(f'"rev-{rev + 5}", "rev-{rev}"', "listed").json()["rev"] == rev + 1
    assert patch("*", "any").json()["rev"] == rev + 2
    assert patch(f'"rev-{rev + 2}"', "plain").headers["etag"] == f'"rev-{rev + 3}"'


def test_hostile_change_reason_past_1000_characters_is_422_and_writes_nothing(drafted: tuple[Api, Path]) -> None:
    """docs/drafts.md: X-Change-Reason holds up to 1,000 characters; a longer one is refused naming the header and
    the limit (it was cut to 1,000 silently), on every write that records a reason."""
    api, data = drafted
    long = {"x-change-reason": "  " + "r" * 1001 + "  "}
    before = _state(api, data)
    writes = [
        ("PATCH", "/scenes/test01/draft", json.dumps([OK_OP]), PATCH),
        ("POST", "/scenes/test01/draft?replace=true", TEST01, JSON),
        ("POST", "/scenes/test01/draft/undo", None, {}),
        ("POST", "/scenes/test01/draft/redo", None, {}),
    ]
    for method, url, body, kind in writes:
        response = api.request(method, url, content=body, headers=api.auth() | kind | long)
        _assert_problem(response, 422, "X-Change-Reason is 1,001 characters, above the limit of 1,000")
        assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [
            ("/header/X-Change-Reason", "reason_too_long")
        ]
    assert _state(api, data) == before
    ops = [{"op": "add", "path": "/props/reason", "value": "1000"}]
    kept = api.request("PATCH", "/scenes/test01/draft", content=json.dumps(ops),
                       headers=api.auth() | PATCH | {"x-change-reason": " " + "r" * 1000 + " "})  # fmt: skip
    assert kept.status_code == 200, kept.text
    assert kept.json()["revision"]["reason"] == "r" * 1000


def test_if_match_reads_every_revision_number_a_draft_can_have() -> None:
    """Revisions run to 2**63 - 1 (19 digits): a tag naming one is a rev; a larger one is foreign (matches nothing)."""
    from sceneforge.api.drafts import _if_match

    assert _if_match(f'"rev-{2**63 - 1}", "rev-{10**18}"') == {2**63 - 1, 10**18}
    assert _if_match(f'"rev-{2**63}", "rev-{10**19}", "rev-{"9" * 30}"') == frozenset()
    assert _if_match('"a,*", "rev-7"') == {7}  # a comma or a star inside a quoted tag is the tag's


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/scenes/test01/draft?replace=true", {"fromVersion": 10**30}),
        ("POST", "/scenes/test01/draft?replace=true", {"fromVersion": 2**63}),
        ("POST", "/scenes/test01/publish", {"version": 10**30}),
        ("POST", "/scenes/test01/publish", {"version": -(10**30)}),
        ("POST", "/scenes/test01/exports", {"format": "obj", "version": 10**30}),
        ("POST", "/scenes/test01/exports", {"format": "obj", "version": 0}),
        ("GET", "/scenes/test01/revisions/" + "9" * 30, None),
        ("GET", "/scenes/test01/revisions/0", None),
    ],
)
def test_hostile_numbers_past_64_bits_are_422(drafted: tuple[Api, Path], method: str, url: str, body: Any) -> None:
    api, data = drafted
    before = _state(api, data)
    content = None if body is None else json.dumps(body)
    response = api.request(method, url, content=content, headers=api.auth() | JSON)
    _assert_problem(response, 422)
    assert _state(api, data) == before


def test_hostile_draft_created_twice_is_409_and_stores_nothing(drafted: tuple[Api, Path]) -> None:
    """Starting a draft where one exists (no ``?replace=true``) is refused without writing the new snapshot."""
    api, data = drafted
    before = _state(api, data)
    other = TEST01.replace(b"2.0,0.2,-0.6", b"2.0,0.3,-0.6")  # a description no blob holds yet
    _assert_problem(api.post("/scenes/test01/draft", content=other, headers=api.auth() | JSON), 409, "already has")
    assert _state(api, data) == before


EVIL_DRAFT = TEST01.replace(b'"test01"', b'"evil"').replace(b'"to": "kitchen"', b'"to": "a", "to": "b"')


@pytest.mark.parametrize(
    ("url", "body", "says", "path"),
    [
        (
            "/scenes/build",
            TEST01.replace(b'"sceneId": "test01"', b'"sceneId": "test01", "sceneId": "evil"'),
            "'sceneId' appears more than once",
            "",
        ),
        ("/jobs/enqueue", TEST01.replace(b'"materials": {}', b'"materials": {}, "materials": {}'), "'materials'", ""),
        ("/scenes/evil/draft", EVIL_DRAFT, "'to' appears", "/portals/0"),
        ("/scenes/test01/publish", b'{"version": 1, "version": 2}', "'version'", ""),
    ],
)
def test_hostile_repeated_member_names_are_422(
    drafted: tuple[Api, Path], url: str, body: bytes, says: str, path: str
) -> None:
    """Two parsers could read two documents from these bytes: refused, at the object's pointer."""
    api, data = drafted
    before = _state(api, data), api.get("/scenes").json()
    _assert_problem(api.post(url, content=body, headers=api.auth() | JSON), 422, says, path)
    assert (_state(api, data), api.get("/scenes").json()) == before


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate, gzip", "x" * 500])
def test_hostile_content_encoding_is_415_never_decoded(drafted: tuple[Api, Path], coding: str) -> None:
    api, data = drafted
    before = _state(api, data)
    bomb = gzip.compress(b" " * 20_000_000)  # 20 MB of spaces in ~20 kB: never inflated
    octets = {"content-type": "application/octet-stream"}
    for url, body, typed in [("/scenes/build", bomb, JSON), ("/jobs/enqueue", TEST01, JSON), ("/assets", bomb, octets)]:
        response = api.post(url, content=body, headers=api.auth() | typed | {"content-encoding": coding})
        _assert_problem(response, 415, "Content-Encoding")
    assert _state(api, data) == before


def test_hostile_content_encoding_is_quoted_as_written(drafted: tuple[Api, Path]) -> None:
    """Header bytes arrive as Latin-1 text: a UTF-8 coding name is quoted as sent (``zstd‑é``), not as mojibake."""
    api, _ = drafted
    coding = "zstd‑é"
    headers = api.auth() | JSON | {"content-encoding": coding.encode()}
    response = api.post("/scenes/build", content=TEST01, headers=headers)
    _assert_problem(response, 415, f"Content-Encoding {coding!r} is not accepted")


def test_hostile_link_token_with_non_ascii_bytes_is_401(drafted: tuple[Api, Path]) -> None:
    api, _ = drafted
    private = TEST01.replace(b"test01", b"priv")
    built = api.post("/scenes/build?private=true", content=private, headers=api.auth() | JSON)
    assert built.status_code == 200, built.text
    link = api.post("/scenes/priv/links?ttl=60", headers=api.auth()).json()
    token = link["url"].split("token=")[1] if "url" in link else link["token"]
    payload = token.split(".")[0]
    for forged in [f"{payload}.%C3%A9", "%C3%A9.%C3%A9", f"%E2%98%83{payload}.x", "." * 3]:
        for url in [f"/scenes/priv.glb?token={forged}", f"/scenes/priv/meta?token={forged}"]:
            _assert_problem(api.get(url), 401)
    assert api.get(f"/scenes/priv/meta?token={token}").status_code == 200


def test_hostile_jwt_of_another_algorithm_says_which(drafted: tuple[Api, Path]) -> None:
    import jwt

    api, _ = drafted
    claims = {"sub": "mallory", "scope": "admin", "exp": 9_999_999_999}
    unsigned = jwt.encode(claims, None, algorithm="none")
    response = api.post("/scenes/build", content=TEST01, headers=JSON | {"authorization": f"Bearer {unsigned}"})
    _assert_problem(response, 401, "algorithm 'none' is not accepted (only HS256)")
    forged = jwt.encode(claims, "s" * 48, algorithm="HS384")
    response = api.post("/scenes/build", content=TEST01, headers=JSON | {"authorization": f"Bearer {forged}"})
    _assert_problem(response, 401, "'HS384' is not accepted")


# -- sceneforge.jsontext ------------------------------------------------------------------------------

_KEYS = st.text(alphabet='ab[]{}"\\~/é', max_size=4)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _KEYS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_VALUES, st.booleans())
def test_jsontext_reads_strict_json_as_json_loads_does(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert nesting_depth(text.encode()) == _depth(value)
    assert loads(text, max_depth=None) == json.loads(text)


@given(_VALUES, st.integers(1, 8))
def test_jsontext_nesting_past_the_limit_is_refused(value: Any, extra: int) -> None:
    wrapped = value
    for _ in range(MAX_DEPTH + extra - _depth(value)):
        wrapped = [wrapped]
    with pytest.raises(JsonTextError) as refused:
        loads(json.dumps(wrapped))
    assert refused.value.code == "json_too_deep" and f"{MAX_DEPTH + extra} levels" in refused.value.message


@given(
    st.lists(st.sampled_from(["x", 0, "y"]), max_size=4),
    st.sampled_from(["NaN", "-Infinity", "1e400", "-2e308", "9" * 309, "-" + "9" * 400, "1" * 5000]),
)
def test_jsontext_non_finite_numbers_are_refused_at_their_pointer(path: list[Any], literal: str) -> None:
    text = literal
    for token in reversed(path):
        text = f'{{"{token}": {text}}}' if isinstance(token, str) else f"[{text}]"
    with pytest.raises(JsonTextError) as refused:
        loads(text)
    assert refused.value.code == "json_not_finite"
    assert refused.value.pointer == "".join(f"/{t}" for t in path)
    if len(literal) < 4300:  # longer integers are past what Python converts (sys.get_int_max_str_digits)
        assert json.loads(text) is not None and loads(text, finite=False) is not None


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('"\\ud800"', ""),
        ('["ok", {"a": ["x\\udbff"]}]', "/1/a/0"),
        ('{"a": {"\\udc00b": 1}}', "/a"),
        ('["\\ude00\\ud83d"]', "/0"),
    ],
)
def test_jsontext_lone_surrogates_are_refused_at_their_pointer(text: str, pointer: str) -> None:
    with pytest.raises(JsonTextError) as refused:
        loads(text)
    assert (refused.value.pointer, refused.value.code) == (pointer, "json_lone_surrogate")
    assert loads(text, unicode=False) is not None  # the readers of description files check their strings themselves


def test_jsontext_surrogate_pairs_are_characters() -> None:
    assert loads('{"\\ud83d\\ude00": "\\uD83D\\uDE00"}') == {"\U0001f600": "\U0001f600"}


@pytest.mark.parametrize("literal", ["1" + "0" * 308, "-" + "9" * 308, "179769313486231570" + "0" * 291])
def test_jsontext_integers_within_a_double_are_read(literal: str) -> None:
    assert loads(f"[{literal}]") == [int(literal)]


@given(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=4), st.data())
def test_jsontext_repeated_member_is_refused_at_its_object(members: dict[str, Any], data: st.DataObject) -> None:
    repeated = data.draw(st.sampled_from(sorted(members)))
    body = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in members.items())
    text = f'{{"outer": [{{{body}, {json.dumps(repeated)}: 1}}]}}'
    with pytest.raises(JsonTextError) as refused:
        loads(text)
    assert (refused.value.pointer, refused.value.code) == ("/outer/0", "json_duplicate_key")
    assert repr(repeated) in refused.value.message


# -- assets --------------------------------------------------------------------------------------------


def _png() -> bytes:
    return png_bytes(4, 4)


def _glb_with(doc_change: Any) -> bytes:
    glb = blender_scene()
    length = struct.unpack_from("<I", glb, 12)[0]
    doc = json.loads(glb[20 : 20 + length])
    doc_change(doc)
    raw = json.dumps(doc).encode()
    raw += b" " * (-len(raw) % 4)
    body = struct.pack("<II", len(raw), 0x4E4F534A) + raw + glb[20 + length :]
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def _set(section: str, key: str, value: Any) -> Any:
    return lambda doc: doc[section][0].__setitem__(key, value)


PNG_HEADER = b"\x89PNG\r\n\x1a\n"
BAD_ASSETS: list[tuple[str, Any, str]] = [
    ("glb truncated", lambda: blender_scene()[:64], "truncated"),
    (
        "glb chunk length lies",
        lambda: blender_scene()[:12] + b"\xff\xff\xff\x7f" + blender_scene()[16:],
        "past the end",
    ),
    ("glb json not an object", lambda: _glb_with(lambda doc: doc.clear() or doc.update({"asset": []})), "/asset"),
    ("glb accessor out of range", lambda: _glb_with(_set("accessors", "count", 10**12)), "/accessors/0"),
    ("glb view out of range", lambda: _glb_with(_set("bufferViews", "byteOffset", 2**40)), "/bufferViews/0"),
    ("glb accessor type a list", lambda: _glb_with(_set("accessors", "type", ["VEC3"])), "/accessors/0/type"),
    (
        "glb required extension a list",
        lambda: _glb_with(lambda doc: doc.__setitem__("extensionsRequired", [["KHR_x"]])),
        "/extensionsRequired/0",
    ),
    ("png truncated", lambda: _png()[:40], "does not decode"),
    ("png bad crc", lambda: _png()[:29] + bytes([_png()[29] ^ 0xFF]) + _png()[30:], "does not decode"),
    ("png header only", lambda: PNG_HEADER, "does not decode"),
    (
        "png 10^9 pixels a side",
        lambda: (
            PNG_HEADER + _chunk(b"IHDR", struct.pack(">IIBBBBB", 10**9, 10**9, 8, 6, 0, 0, 0)) + _chunk(b"IEND", b"")
        ),
        "too large",
    ),
]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize(("name", "make", "says"), BAD_ASSETS, ids=[b[0] for b in BAD_ASSETS])
def test_hostile_asset_upload_is_422_and_stores_nothing(
    drafted: tuple[Api, Path], name: str, make: Any, says: str
) -> None:
    api, data = drafted
    before = _state(api, data)
    body = make()
    response = api.post("/assets", content=body, headers=api.auth() | {"content-type": "application/octet-stream"})
    _assert_problem(response, 422, says)
    after = _state(api, data)
    assert after == before, sorted(set(after[2]) ^ set(before[2]))
    assert api.get(f"/assets/{hashlib.sha256(body).hexdigest()}").status_code == 404


def test_hostile_sound_assets_are_still_stored(drafted: tuple[Api, Path]) -> None:
    api, _ = drafted
    for body, kind in [(_png(), "png"), (blender_scene(), "glb")]:
        response = api.post("/assets", content=body, headers=api.auth())
        assert (response.status_code, response.json()["kind"]) == (201, kind), response.text
        assert api.get(f"/assets/{response.json()['assetId']}").content == body


def _post_part_of_body(api: Api, url: str, *, then_disconnect: bool) -> list[dict[str, Any]]:
    """POST the first 50 bytes of TEST01 to ``url`` (announcing all of it) over ASGI, then disconnect or send
    nothing more; the ASGI messages the app sent back."""
    path, _, query = url.partition("?")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(TEST01)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [*headers, (b"x-api-key", api.keys["write"].encode())],
             "server": ("testserver", 80), "client": ("127.0.0.1", 1234)}  # fmt: skip
    arriving = [{"type": "http.request", "body": TEST01[:50], "more_body": True}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if arriving:
            return arriving.pop(0)
        if then_disconnect:
            return {"type": "http.disconnect"}
        await asyncio.sleep(3600)  # the rest of the body never comes
        raise AssertionError("the body read was not given up")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    api.call(api.app, scope, receive, send)
    return sent


def _body_timeout(api: Api, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Run the app with ``server.body_timeout_s`` at ``seconds`` for this test."""
    settings = api.services.settings
    server = settings.server.model_copy(update={"body_timeout_s": seconds})
    monkeypatch.setattr(api.services, "settings", settings.model_copy(update={"server": server}))


@pytest.mark.parametrize("url", ["/scenes/build", "/jobs/enqueue", "/scenes/test01/draft?replace=true"])
def test_hostile_body_cut_short_is_400(drafted: tuple[Api, Path], url: str) -> None:
    """The client half-closes (or its chunked framing breaks) after part of the body: 400 saying so, not a 500."""
    api, data = drafted
    before = _state(api, data)
    sent = _post_part_of_body(api, url, then_disconnect=True)
    assert sent[0]["status"] == 400, sent
    problem = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    announced = f"50 bytes arrived of the {len(TEST01)} bytes Content-Length announced"
    assert problem["detail"] == f"the request body was cut short: {announced}"
    assert _state(api, data) == before


@pytest.mark.parametrize("url", ["/scenes/build", "/jobs/enqueue", "/scenes/test01/draft?replace=true"])
def test_hostile_body_trickled_past_the_body_timeout_is_408(
    drafted: tuple[Api, Path], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that sends part of its body and then nothing: 408 once SCENEFORGE_BODY_TIMEOUT_S has passed."""
    api, data = drafted
    _body_timeout(api, monkeypatch, 0.3)
    before = _state(api, data)
    sent = _post_part_of_body(api, url, then_disconnect=False)
    assert sent[0]["status"] == 408, sent
    assert (b"connection", b"close") in sent[0]["headers"]
    problem = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert problem["limit"] == "SCENEFORGE_BODY_TIMEOUT_S"
    assert f"50 bytes arrived of the {len(TEST01)} bytes Content-Length announced" in problem["detail"]
    assert _state(api, data) == before


def test_a_slow_but_steady_body_is_read_whole(drafted: tuple[Api, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeout is between parts of a body: one that keeps coming, longer in all than the timeout, is read."""
    api, _ = drafted
    _body_timeout(api, monkeypatch, 1.5)
    size = len(TEST01) // 6 + 1

    async def trickle() -> AsyncIterator[bytes]:
        for k in range(0, len(TEST01), size):
            await asyncio.sleep(0.3)  # six parts 0.3 s apart: 1.8 s in all, never 1.5 s without a part
            yield TEST01[k : k + size]

    response = api.post("/jobs/enqueue", content=trickle(), headers=api.auth() | {"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_jsontext_ignores_a_leading_byte_order_mark() -> None:
    assert loads(b"\xef\xbb\xbf[1]") == json.loads(b"\xef\xbb\xbf[1]") == [1]
    with pytest.raises(ValueError):
        loads(b"[1]\xef\xbb\xbf")


# -- tagged GLB builds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (_set("accessors", "type", ["VEC3"]), "/accessors/0/type"),
        (_set("accessors", "type", {"VEC3": 1}), "/accessors/0/type"),
        (lambda doc: doc.__setitem__("extensionsRequired", [["KHR_x"]]), "/extensionsRequired/0"),
        (lambda doc: doc.__setitem__("extensionsRequired", [{"KHR_x": 1}]), "/extensionsRequired/0"),
    ],
)
def test_hostile_tagged_glb_members_of_the_wrong_type_are_422_at_their_pointer(
    drafted: tuple[Api, Path], change: Any, path: str
) -> None:
    """A glTF member holding a list or object where the reader looks a name up: 422 at that member, not a 500."""
    api, _ = drafted
    before = api.get("/scenes").json()
    headers = api.auth() | {"content-type": "model/gltf-binary"}
    _assert_problem(api.post("/scenes/build", content=_glb_with(change), headers=headers), 422, "must be", path)
    assert api.get("/scenes").json() == before


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_hostile_tagged_glb_bytes_are_built_or_refused_at_a_pointer(
    drafted: tuple[Api, Path], data: st.DataObject
) -> None:
    """Bytes of a tagged GLB changed where the decoder looks (header, chunk lengths, JSON, start of BIN), or
    cut short: the build is 200 or a 422 whose errors point somewhere; never a 500 or a hang."""
    api, _ = drafted
    glb = bytearray(blender_scene())
    json_end = 20 + struct.unpack_from("<I", glb, 12)[0]
    if data.draw(st.booleans(), label="cut"):
        glb = glb[: data.draw(st.integers(1, len(glb) - 1), label="length")]
    for _ in range(data.draw(st.integers(1, 6), label="changes")):
        at = data.draw(st.integers(0, min(len(glb), json_end + 64) - 1), label="at")
        glb[at] = data.draw(st.integers(0, 255), label="byte")
    headers = api.auth() | {"content-type": "model/gltf-binary"}
    response = api.post("/scenes/build", content=bytes(glb), headers=headers)
    assert response.status_code in (200, 422), response.text[:500]
    if response.status_code == 422:
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json" and problem["errors"], problem


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"ops": [{"op": "add", "path": "/props/x", "value": NaN}]}', "/ops/0/value: NaN"),
        ('{"ops": [], "ops": [1]}', "'ops' appears more than once"),
        ('{"ops": ' + "[" * 2000 + "]" * 2000 + "}", "nests 2,001 levels deep; at most 64"),
        ('{"ops": ' + "[" * 100 + "]" * 100 + "}", "nests 101 levels"),  # past MAX_DEPTH, within the parser's own limit
    ],
)
def test_hostile_assistant_tool_arguments_are_strict_json(text: str, says: str) -> None:
    """A model steered by a hostile message may write these; they never reach the draft."""
    from sceneforge.assist.tools import parse_arguments

    value, why = parse_arguments(text)
    assert value is None and why is not None and says in why, why
