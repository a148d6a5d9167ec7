"""The fast read path answers exactly as the routes do: same status, headers and bytes, counted in the metrics."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, start_api
from tests.storage.conftest import fake_build

# Incompressible, and the same in every process: the test ids name its ETag (pytest-xdist's workers collect alike).
PAYLOAD = random.Random("fastr").randbytes(200_000)
BUILD = fake_build("fastr", PAYLOAD)
SIZE = len(BUILD.glb)
TAG = f'"{BUILD.etag}"'

CASES: list[dict[str, str]] = [
    {},
    {"if-none-match": TAG},
    {"if-none-match": f" {TAG} "},
    {"if-none-match": f'"other", {TAG}'},
    {"if-none-match": f"W/{TAG}"},
    {"if-none-match": "*"},
    {"if-none-match": '"other"'},
    {"range": "bytes=0-99"},
    {"range": "bytes=-500"},
    {"range": f"bytes={SIZE - 10}-"},
    {"range": f"bytes=100-{SIZE + 50}"},
    {"range": "bytes=0-9,20-29"},
    {"range": f"bytes={SIZE}-"},
    {"range": "bytes=9-2"},
    {"range": "items=0-9"},
    {"range": "bytes=0-99", "if-range": TAG},
    {"range": "bytes=0-99", "if-range": '"other"'},
    {"range": "bytes=0-99", "if-none-match": TAG},
    {"if-match": '"other"'},
    {"if-match": f'"other", {TAG}', "range": "bytes=0-99"},
    {"if-match": "*"},
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in start_api(tmp_path_factory.mktemp("fastr")):
        api.call(api.services.scenes.publish_build, BUILD, None)
        yield api


def _answer(
    api: Api, url: str, headers: dict[str, str], *, warm: bool, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    if not warm:
        api.services.scenes.cache.clear()
    else:
        api.get(url)  # fills the cache
    response = api.request(method, url, headers=headers)
    kept = {k: v for k, v in response.headers.items() if k != "date"}
    if kept.get("content-type", "").startswith("multipart/byteranges"):
        kept["content-type"] = "multipart/byteranges"  # the boundary is random
        return response.status_code, kept, b"multipart"
    return response.status_code, kept, response.content


@pytest.mark.parametrize("headers", CASES)
@pytest.mark.parametrize("url", ["/scenes/fastr.glb", "/scenes/fastr@v1.glb", f"/scenes/fastr.{BUILD.etag}.glb"])
def test_fast_path_answers_as_the_route(served: Api, url: str, headers: dict[str, str]) -> None:
    assert _answer(served, url, headers, warm=True) == _answer(served, url, headers, warm=False)


@pytest.mark.parametrize("headers", [{}, {"if-none-match": "x"}, {"range": "bytes=5-20"}])
def test_fast_meta_answers_as_the_route(served: Api, headers: dict[str, str]) -> None:
    url = "/scenes/fastr/meta"
    warm = served.get(url)
    if headers.get("if-none-match") == "x":
        headers = {"if-none-match": warm.headers["etag"]}
    assert _answer(served, url, headers, warm=True) == _answer(served, url, headers, warm=False)


@pytest.mark.parametrize("url", ["/scenes/fastr.glb", "/scenes/fastr/meta"])
def test_head_answers_as_the_get_warm_or_cold(served: Api, url: str) -> None:
    """HEAD is the GET's headers whether the fast path (cache warm) or the route (cold) answers it."""
    status, headers, body = _answer(served, url, {}, warm=False, method="HEAD")
    assert (status, body) == (200, b"")
    assert _answer(served, url, {}, warm=True, method="HEAD") == (status, headers, body)
    assert _answer(served, url, {}, warm=False)[:2] == (status, headers)


def test_fast_path_is_counted_by_route_template(served: Api) -> None:
    served.get("/scenes/fastr.glb")
    for _ in range(3):
        assert served.get("/scenes/fastr.glb", headers={"if-none-match": TAG}).status_code == 304
    text = served.get("/metrics").text
    line = next(
        x
        for x in text.splitlines()
        if x.startswith("sceneforge_http_requests_total{") and 'status="304"' in x and "{ref}.glb" in x
    )
    assert float(line.rsplit(" ", 1)[1]) >= 3


def test_whole_glb_goes_by_pathsend_with_prepared_headers(served: Api) -> None:
    served.get("/scenes/fastr.glb")
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/scenes/fastr.glb",
        "raw_path": b"/scenes/fastr.glb",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "extensions": {"http.response.pathsend": {}},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    served.call(served.app, scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[0]["status"] == 200
    headers = dict(sent[0]["headers"])
    assert headers[b"etag"] == TAG.encode() and headers[b"content-length"] == str(SIZE).encode()
    assert headers[b"cache-control"] == b"no-cache" and headers[b"x-scene-version"] == b"1"
    assert Path(sent[1]["path"]).read_bytes() == BUILD.glb


def test_fast_path_and_route_send_one_prepared_entry(served: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from sceneforge.api.responses import Representation

    served.get("/scenes/fastr.glb")  # prepared by the fast path (the cache was warm) or the route
    prepared = len(served.app.state.representations)

    def unused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the prepared entry should have answered")

    monkeypatch.setattr(Representation, "of_blob", unused)
    for warm in (True, False):
        if not warm:
            served.services.scenes.cache.clear()  # the route answers, from the same entry
        assert served.get("/scenes/fastr.glb", headers={"if-none-match": TAG}).status_code == 304
        response = served.get("/scenes/fastr.glb", headers={"range": "bytes=10-19"})
        assert response.status_code == 206 and response.content == BUILD.glb[10:20]
        assert response.headers["content-range"] == f"bytes 10-19/{SIZE}"
    assert len(served.app.state.representations) == prepared


@pytest.fixture(scope="module")
def served_cors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in start_api(tmp_path_factory.mktemp("fastr-cors"), server={"cors_origins": "https://viewer.example"}):
        api.call(api.services.scenes.publish_build, BUILD, None)
        yield api


@pytest.mark.parametrize("headers", [{}, {"if-none-match": TAG}, {"range": "bytes=0-99"}, {"range": f"bytes={SIZE}-"}])
@pytest.mark.parametrize("url", ["/scenes/fastr.glb", "/scenes/fastr@v1.glb", "/scenes/fastr/meta"])
def test_fast_path_with_cors_varies_on_origin_as_the_route(served_cors: Api, url: str, headers: dict[str, str]) -> None:
    """With CORS on, an answer depends on the request's Origin: one without Origin (which skips the CORS
    middleware on the fast path) still says ``Vary: Origin``, or a shared cache could store this answer,
    which has no Access-Control-Allow-Origin, and hand it to browsers on other sites (a year, for exact ones)."""
    warm = _answer(served_cors, url, headers, warm=True)
    assert warm == _answer(served_cors, url, headers, warm=False)
    assert warm[1]["vary"] == "Origin"
