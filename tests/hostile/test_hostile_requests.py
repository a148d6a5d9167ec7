"""Hostile requests, table-driven: oversized bodies, deep JSON nesting, bad content types, odd
ranges, huge ids, path traversal in ids, invalid UTF-8, bad credentials. None is a 500; each
refusal is ``application/problem+json`` with a ``detail`` saying what was wrong. (The OpenAPI
fuzzing of every route is ``tests/api/test_openapi_fuzz.py``.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.api.conftest import TEST01, Api, start_api
from tests.ingest.blender_fixture import GlbBuilder
from tests.storage.conftest import fake_build
from tests.support.scenes import png_bytes

OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
PNG = png_bytes()


def _glb_indexing_past_its_vertices() -> bytes:
    b = GlbBuilder()
    b.node("Tri", mesh=b.mesh("Tri", [b.primitive(np.eye(3), np.array([0, 1, 3]))]))
    return b.glb()


MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    url: str
    status: int | tuple[int, ...]
    body: bytes | None = None
    headers: dict[str, str | bytes] = field(default_factory=dict)
    scope: str | None = "write"  # the key sent (None: anonymous)
    says: str = ""  # a phrase the problem's detail (or errors) must contain


def _deep(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


JSON = {"content-type": "application/json"}

CASES = [
    # Bodies: size, nesting, types, encodings.
    Hostile(
        "oversized body", "POST", "/scenes/build", 413, b" " * (MAX_BODY + 1), JSON, says="SCENEFORGE_MAX_BODY_BYTES"
    ),
    Hostile("oversized declared length", "POST", "/scenes/build", 413, TEST01, {**JSON, "content-length": str(10**12)}),
    Hostile("deep array nesting", "POST", "/scenes/build", 422, _deep(20_000, "array"), JSON),
    Hostile("deep object nesting", "POST", "/scenes/build", 422, _deep(5_000, "object"), JSON),
    Hostile("deep nesting queued", "POST", "/jobs/enqueue", 422, _deep(20_000, "array"), JSON),
    Hostile(
        "not json", "POST", "/scenes/build", 422, b"\x7fELF garbage", JSON, says="the body is not JSON: line 1 column 1"
    ),
    Hostile("json array", "POST", "/scenes/build", 422, b"[1, 2]", JSON, says="JSON object"),
    Hostile("text/plain", "POST", "/scenes/build", 415, TEST01, {"content-type": "text/plain"}, says="text/plain"),
    Hostile("form", "POST", "/jobs/enqueue", 415, b"a=1", {"content-type": "application/x-www-form-urlencoded"}),
    Hostile("xml", "POST", "/scenes/build", 415, b"<scene/>", {"content-type": "application/xml"}),
    Hostile(
        "latin-1 charset", "POST", "/scenes/build", 415, TEST01, {"content-type": "application/json; charset=latin-1"}
    ),
    Hostile("utf-16 json", "POST", "/scenes/build", 415, TEST01.decode().encode("utf-16"), JSON, says="UTF-8"),
    Hostile("invalid utf-8", "POST", "/jobs/enqueue", 415, b'{"sceneId": "\xff\xfe"}', JSON, says="offset"),
    Hostile("huge content type", "POST", "/scenes/build", 415, TEST01, {"content-type": "x/" + "y" * 5000}),
    Hostile("asset typed png, is obj", "POST", "/assets", 415, OBJ, {"content-type": "image/png"}, says="OBJ"),
    Hostile("asset as html", "POST", "/assets", 415, OBJ, {"content-type": "text/html"}),
    Hostile(
        "asset not a known file", "POST", "/assets", 415, b"MZ\x90\x00", {"content-type": "application/octet-stream"}
    ),
    Hostile("asset oversized", "POST", "/assets", 413, b"v 0 0 0\n" * 20_000, {}),
    Hostile("geometry beyond float32", "POST", "/scenes/build", 422, TEST01.replace(b"2.2,", b"1e39,", 1), JSON),
    # Export requests: a format that is not a string is a 422 at /format, like an unknown one.
    Hostile("export format a list", "POST", "/scenes/test01/exports", 422, b'{"format": ["obj"]}', JSON, says="usdz"),
    Hostile("export format an object", "POST", "/scenes/test01/exports", 422, b'{"format": {"a": 1}}', JSON),
    # Ranges.
    Hostile("many ranges", "GET", "/scenes/test01.glb", 200, headers={"range": "bytes=" + ",".join(["0-0"] * 500)}),
    Hostile("repeated ranges", "GET", "/scenes/test01.glb", 206, headers={"range": "bytes=0-,0-,0-,0-"}),
    Hostile("range beyond 64 bits", "GET", "/scenes/test01.glb", 416, headers={"range": f"bytes={2**70}-"}),
    Hostile("range end beyond 64 bits", "GET", "/scenes/test01.glb", 206, headers={"range": f"bytes=0-{2**70}"}),
    Hostile("range garbage", "GET", "/scenes/test01.glb", 200, headers={"range": "bytes=--1,x-y"}),
    Hostile("range non-ascii digits", "GET", "/scenes/test01.glb", 200, headers={"range": "bytes=١-٢".encode()}),
    Hostile("if-range garbage", "GET", "/scenes/test01.glb", 200, headers={"range": "bytes=0-1", "if-range": "\x01"}),
    # Ids: huge, traversal, NUL, invalid UTF-8.
    Hostile("huge scene id", "GET", "/scenes/" + "a" * 10_000 + ".glb", 404),
    Hostile("huge version number", "GET", "/scenes/test01@v" + "9" * 400 + ".glb", 404),
    Hostile("huge job id", "GET", "/jobs/" + "j" * 10_000, 404),
    Hostile("huge meta id", "GET", "/scenes/" + "m" * 10_000 + "/meta", 404),
    Hostile("delete huge id", "DELETE", "/scenes/" + "d" * 10_000, 404),
    Hostile("traversal glb", "GET", "/scenes/..%2F..%2Fsceneforge.db.glb", 404),
    Hostile("traversal asset", "GET", "/assets/..%2F..%2Fadmin.key", 404),
    Hostile("traversal asset dots", "GET", "/assets/%2e%2e%2f%2e%2e%2flink.secret", 404),
    Hostile("traversal delete", "DELETE", "/scenes/..%2F..%2Fblobs", 404),
    Hostile("traversal meta", "GET", "/scenes/%2e%2e/meta", 404),
    Hostile("nul in id", "GET", "/scenes/te%00st01.glb", 404),
    Hostile("invalid utf-8 in path", "GET", "/scenes/%ff%fe.glb", 404),
    Hostile("invalid utf-8 job id", "GET", "/jobs/%c3%28", 404),
    Hostile("asset id not hex", "GET", "/assets/" + "g" * 64, 404),
    # Parameters and credentials.
    Hostile("take beyond 64 bits", "GET", f"/jobs?take={2**70}", 422),
    Hostile("take not a number", "GET", "/jobs?take=%ff", 422),
    Hostile("priority infinite", "POST", "/jobs/enqueue?priority=1e400", 422, TEST01, JSON),
    Hostile("since beyond 64 bits", "GET", f"/events?since={2**64}", 422, says="not valid"),
    # Our validators' messages stand alone, without pydantic's "Value error, " before them.
    Hostile("since not in digits", "GET", "/events?since=1_0", 422, says="since must be an event seq"),
    Hostile("take not in digits", "GET", "/jobs?take=+1", 422, says="must be written with the digits 0-9 only"),
    Hostile("bad api key", "POST", "/scenes/build", 401, TEST01, {**JSON, "x-api-key": "sf_" + "0" * 5000}, scope=None),
    Hostile("bad bearer", "POST", "/scenes/build", 401, TEST01, {**JSON, "authorization": "Bearer x.y.z"}, scope=None),
    Hostile("no credentials", "DELETE", "/scenes/test01", 401, scope=None),
    # A path no route takes, or a method it does not answer: the problem names the method and the path, not only
    # the status's title ("Not Found", "Method Not Allowed").
    Hostile("wrong method", "PUT", "/scenes/build", 405, TEST01, JSON, says="'PUT' is not answered at '/scenes/build'"),
    Hostile("wrong method glb", "DELETE", "/scenes/test01.glb", 405, says="it answers GET, HEAD"),
    Hostile("unknown route", "GET", "/../../etc/passwd", 404, says="nothing is served at '/"),
    Hostile("delete a version", "DELETE", "/scenes/test01@v1", 404, says="nothing is served at '/scenes/test01@v1'"),
    Hostile("no studio file", "GET", "/studio/nope.js", 404, says="nothing is served at '/studio/nope.js'"),
    # Text the upload's first 4 KiB took for OBJ but a build does not (it was stored, and every build using it was
    # refused as "not a GLB, OBJ or PNG file").
    Hostile(
        "obj with a nul", "POST", "/assets", 415, OBJ + b"usemtl \x00\n", {"content-type": "model/obj"}, says="NUL"
    ),
    Hostile(
        "obj with a stray line past 4 KiB",
        "POST",
        "/assets",
        415,
        OBJ + b"# pad\n" * 1000 + b"not obj\n" + OBJ,
        {"content-type": "application/octet-stream"},
        says="OBJ line 1005: 'not' is not an OBJ statement",
    ),
    # A PNG cut within its IEND chunk: Pillow's check stops at the chunk's type, so it was stored (201).
    Hostile("png cut in its last chunk", "POST", "/assets", 422, PNG[:-4], {"content-type": "image/png"}, says="IEND"),
    # A GLB whose triangle names a vertex its POSITION lacks: every accessor read against its view, it was stored
    # (201), and every build using it refused.
    Hostile(
        "glb indexing past its vertices",
        "POST",
        "/assets",
        422,
        _glb_indexing_past_its_vertices(),
        {"content-type": "model/gltf-binary"},
        says="an index is outside the 3 vertices of POSITION",
    ),
    # A trailing slash names no route: a 404, never a 307 whose Location is made from the Host header (a client,
    # or a cache, sent to whatever host the request named, on plain http behind a TLS proxy).
    Hostile("trailing slash", "GET", "/jobs/", 404, headers={"host": "evil.example"}, says="at '/jobs/'"),
    Hostile("trailing slash on a read", "GET", "/scenes/test01/versions/", 404, headers={"host": "evil.example"}),
    Hostile("trailing slash on a write", "POST", "/scenes/test01/draft/undo/", 404, headers={"host": "evil.example"}),
]


@pytest.fixture(scope="module")
def hostile_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    limits = {"max_body_bytes": MAX_BODY, "max_upload_bytes": 100_000}
    for api in start_api(tmp_path_factory.mktemp("hostile"), limits=limits, auth={"write_rate": 0}):
        built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
        assert built.status_code == 200, built.text
        yield api


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_is_refused_clearly(hostile_api: Api, case: Hostile) -> None:
    headers: dict[str, Any] = dict(case.headers)
    if case.scope is not None:
        headers.update(hostile_api.auth(case.scope))
    response = hostile_api.request(case.method, case.url, content=case.body, headers=headers)
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert response.status_code in expected, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code and problem["detail"]
        text = problem["detail"] + " ".join(e.get("message", "") for e in problem.get("errors", []))
        assert case.says in text, text
        assert all(not e.get("message", "").startswith("Value error") for e in problem.get("errors", [])), text
    assert hostile_api.get("/healthz").status_code == 200


def test_hostile_requests_leave_nothing_behind(hostile_api: Api, tmp_path: Path) -> None:
    scenes = hostile_api.get("/scenes").json()
    assert [s["sceneId"] for s in scenes] == ["test01"]
    assert hostile_api.get("/scenes/test01.glb").status_code == 200


#: Routes that name a value from the URL in their 404: each is sent a 20 kB one (httpx sends URLs up to 64 kB).
HUGE = "q" * 20_000
ECHOING = [
    ("GET", f"/scenes/{HUGE}.glb"),
    ("GET", f"/scenes/{HUGE}/meta"),
    ("GET", f"/scenes/{HUGE}/versions"),
    ("GET", f"/scenes/{HUGE}/description"),
    ("GET", f"/scenes/{HUGE}/draft"),
    ("GET", f"/scenes/{HUGE}/revisions"),
    ("POST", f"/scenes/{HUGE}/links"),
    ("GET", f"/scenes/test01/preview/{HUGE}"),
    ("GET", f"/scenes/test01/exports/{HUGE}"),
    ("GET", f"/scenes/test01/assist/sessions/{HUGE}"),
    ("GET", f"/jobs/{HUGE}"),
    ("POST", f"/jobs/{HUGE}/cancel"),
    ("GET", f"/assets/{HUGE}"),
    ("GET", f"/scenes/{HUGE[:60]}'\"{HUGE}/meta"),  # both quotes: repr escapes one of them
    ("GET", f"/scenes/{'%0A' * 10_000}/meta"),  # escapes: each counts as one character
    ("GET", f"/nowhere/{HUGE}"),  # no route: the path is named
    ("DELETE", f"/scenes/{HUGE}.x"),
]


@pytest.mark.parametrize(("method", "url"), ECHOING, ids=[f"{m} {u[:40]}" for m, u in ECHOING])
def test_a_huge_value_in_the_url_comes_back_cut(hostile_api: Api, method: str, url: str) -> None:
    """A 404 names the value it did not find, cut to 64 characters and an ellipsis: a 20 kB id does not
    come back as a 20 kB body."""
    response = hostile_api.request(method, url, headers=hostile_api.auth("admin"))
    assert response.status_code == 404, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert len(response.content) < 1_000, response.text[:1_000]
    detail = response.json()["detail"]
    assert "…" in detail, detail


def test_a_huge_origin_in_a_refused_preflight_comes_back_cut(tmp_path: Path) -> None:
    for api in start_api(tmp_path, server={"cors_origins": "https://app.example"}):
        origin = "https://" + "o" * 100_000 + ".example"
        refused = api.request("OPTIONS", "/scenes", headers={"origin": origin, "access-control-request-method": "GET"})
        assert refused.status_code == 400 and len(refused.content) < 1_000, refused.text[:1_000]
        assert "'https://" + "o" * 56 + "…'" in refused.json()["detail"]


async def _asgi(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], version: str) -> dict[str, Any]:
    """One request straight to the ASGI app (a client library sends no Content-Length beside Transfer-Encoding):
    its status, headers and body; the request's body is never asked for when ``read`` stays empty."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": version, "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 1),
             "server": ("testserver", 80)}  # fmt: skip
    read: list[bool] = []
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        read.append(True)
        return {"type": "http.request", "body": b"0\r\n\r\n", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], dict(message["headers"])
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return {**answer, "read": bool(read)}


@pytest.mark.parametrize(
    ("method", "path", "headers", "version"),
    [
        ("POST", "/scenes/two/draft", [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], "1.1"),
        ("GET", "/scenes/two.glb", [(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"0")], "1.1"),
        ("GET", "/scenes/two/meta", [(b"transfer-encoding", b"chunked")], "1.0"),
    ],
)
def test_ambiguous_body_framing_is_refused_before_anything_reads_it(
    api: Api, method: str, path: str, headers: list[tuple[bytes, bytes]], version: str
) -> None:
    """Content-Length beside Transfer-Encoding (as uvicorn hands them on), or Transfer-Encoding in HTTP/1.0, is a
    problem+json 400 that closes the connection, on every path: the cached reads of a published scene answered
    before the middlewares too. The body is never read. Transfer-Encoding alone in HTTP/1.1 goes on as usual."""
    api.call(api.services.scenes.publish_build, fake_build("two", b"glb"), None)
    assert api.get("/scenes/two.glb").status_code == 200  # cached: the next GETs are fast reads
    refused = api.call(_asgi, api.app, method, path, headers, version)
    assert refused["status"] == 400 and not refused["read"], refused
    assert refused["headers"][b"connection"] == b"close"
    problem = json.loads(refused["body"])
    assert problem["code"] == "framing_ambiguous" and "RFC 9112" in problem["detail"]
    plain = api.call(_asgi, api.app, method, path, [(b"transfer-encoding", b"chunked")], "1.1")
    assert plain["status"] != 400 and b"connection" not in plain["headers"], plain
