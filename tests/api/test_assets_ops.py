"""Assets (upload, sniffing, limits), ops endpoints, studio routes, CORS and the first-start admin key."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from pathlib import Path

import httpx
import pytest

from sceneforge.api.server import ensure_admin_key, load_demos
from sceneforge.api.services import Services
from sceneforge.settings import Settings
from tests.api.conftest import TEST01, Api, start_api
from tests.support.scenes import png_bytes

PNG = png_bytes()
OBJ = b"# cube\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


def _glb() -> bytes:
    doc = json.dumps({"asset": {"version": "2.0"}}).encode().ljust(28, b" ")
    return b"glTF" + struct.pack("<II", 2, 12 + 8 + len(doc)) + struct.pack("<I", len(doc)) + b"JSON" + doc


def test_asset_upload_sniffs_kind(api: Api) -> None:
    for data, kind in ((PNG, "png"), (OBJ, "obj"), (_glb(), "glb")):
        response = api.post("/assets", content=data, headers=api.auth())
        assert response.status_code == 201, response.text
        assert response.json() == {"assetId": hashlib.sha256(data).hexdigest(), "kind": kind, "bytes": len(data)}
        fetched = api.get(f"/assets/{response.json()['assetId']}")
        assert fetched.status_code == 200 and fetched.content == data


def test_asset_412_and_416_are_never_stored(api: Api) -> None:
    """An asset is immutable for a year, its 412 and 416 answers are not (``no-store``): a cache keeping them would
    answer the asset's URL with the error."""
    asset_id = api.post("/assets", content=PNG, headers=api.auth()).json()["assetId"]
    for headers, status in (({"if-match": '"0"'}, 412), ({"range": f"bytes={len(PNG)}-"}, 416)):
        response = api.get(f"/assets/{asset_id}", headers=headers)
        assert response.status_code == status and response.headers["cache-control"] == "no-store"
    assert api.get(f"/assets/{asset_id}").headers["cache-control"] == "public, max-age=31536000, immutable"


def test_obj_upload_takes_what_builds_read_and_names_the_line_it_refuses(api: Api) -> None:
    """``call`` / ``csh`` statements, a ``\\`` continuation or ``vp`` lines first were refused as no GLB, OBJ or PNG
    file though builds read such files; a line of no statement, or a NUL byte, past the first 64 KiB was stored
    though every build then refused it. Refusals name the line and the statement."""
    body = OBJ.replace(b"f 1 2 3", b"f 1 2 \\\n 3")
    for data in (b"vp 0.5\n" * 500 + OBJ, OBJ + b"call part.obj\ncsh -ls\n", body, b"# header\n" * 600 + OBJ):
        response = api.post("/assets", content=data, headers={**api.auth(), "content-type": "model/obj"})
        assert response.status_code == 201, response.text
    for data, words in (
        (OBJ + b"# pad\n" * 20_000 + b"junk 1\n", "OBJ line 20006: 'junk' is not an OBJ statement"),
        (b"cube 1\n" + OBJ, "OBJ line 1: 'cube' is not an OBJ statement"),
        (OBJ + b"# pad\n" * 20_000 + b"g \x00\n", "NUL"),
        (OBJ + b"v\n", "OBJ line 6: a vertex (v) needs its numbers"),
    ):
        response = api.post("/assets", content=data, headers=api.auth())
        assert response.status_code in (415, 422), response.text
        problem = response.json()
        assert words in problem["detail"] + " ".join(e["message"] for e in problem.get("errors", [])), problem


@pytest.mark.parametrize("at", [0, 20, 3_000])
def test_obj_upload_with_text_not_utf8_names_the_line_and_byte_as_builds_do(api: Api, at: int) -> None:
    """An OBJ with a comment written in Latin-1 (``é`` as one byte) in its first 4 KiB was refused as "not a GLB
    (glTF 2.0 binary), OBJ or PNG file" with no reason, where a build names the line and byte and says to save the
    file as UTF-8 (and an upload with it further on did too)."""
    from sceneforge.ingest.assets import obj_text_problem

    data = b"v 0 0 0\n" * at + b"# caf\xe9\n" + OBJ
    line = at + 1
    why = obj_text_problem(data)
    assert why is not None and why.startswith(f"OBJ line {line}: byte {8 * at + 5} is not UTF-8 text"), why
    for headers in ({}, {"content-type": "model/obj"}):
        response = api.post("/assets", content=data, headers={**api.auth(), **headers})
        assert response.status_code == 415, response.text
        assert response.json()["detail"] == f"not a GLB (glTF 2.0 binary), OBJ or PNG file: {why}", response.text
        assert "save the file as UTF-8" in response.json()["detail"]


def test_glb_magic_uploads_a_build_cannot_read_are_the_422_the_build_answers(api: Api) -> None:
    """docs/api.md: a GLB that does not decode is 422. Bytes with the ``glTF`` magic but a glTF 1 container, or cut
    short of a header, were sniffed as no GLB and answered 415 "OBJ line 1: 'glTF…' is not an OBJ statement",
    where ``/scenes/build`` called the same bytes a GLB it cannot read (422 ``glb_invalid``)."""
    version1 = _glb()[:4] + struct.pack("<I", 1) + _glb()[8:]
    header = b"glTF" + struct.pack("<II", 2, 12)
    for data, words in (
        (version1, "GLB container version 1 is not supported (only 2)"),
        (b"glTF\x02\x00", "the GLB file is 6 bytes: cut short of its 12-byte header"),
        (header, "the GLB file is 12 bytes: a 12-byte header and no chunk"),
    ):
        built = api.post("/scenes/build", content=data, headers={**api.auth(), "content-type": "model/gltf-binary"})
        assert built.status_code == 422 and built.json()["errors"][0]["code"] == "glb_invalid", built.text
        assert words in built.json()["errors"][0]["message"], built.text
        for media in ("model/gltf-binary", "application/octet-stream"):
            response = api.post("/assets", content=data, headers={**api.auth(), "content-type": media})
            assert response.status_code == 422, response.text
            (error,) = response.json()["errors"]
            assert error["code"] == "asset_invalid" and words in error["message"], error
            assert response.json()["detail"].startswith("invalid asset: "), response.text  # no scene is involved
        as_obj = api.post("/assets", content=data, headers={**api.auth(), "content-type": "model/obj"})
        assert as_obj.status_code == 415 and "its bytes are a GLB file" in as_obj.json()["detail"], as_obj.text


def test_asset_unknown_type_is_415(api: Api) -> None:
    response = api.post("/assets", content=b"MZ\x90\x00 not an asset", headers=api.auth())
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_asset_too_large_is_413(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCENEFORGE_MAX_UPLOAD_BYTES", "32")
    for api in start_api(tmp_path):
        response = api.post("/assets", content=PNG, headers=api.auth())
        assert response.status_code == 413
        assert response.json()["limit"] == "SCENEFORGE_MAX_UPLOAD_BYTES"


def test_asset_needs_write_and_missing_is_404(api: Api) -> None:
    assert api.post("/assets", content=PNG).status_code == 401
    assert api.get("/assets/" + "0" * 64).status_code == 404
    assert api.get("/assets/not-a-hash").status_code == 404


def test_health_ready_metrics(api: Api) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok" and ready.json()["blobs"] == "ok"
    api.get("/scenes/none.glb")
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert 'sceneforge_http_requests_total{method="GET",route="/scenes/{ref}.glb",status="404"}' in metrics.text


def test_openapi_and_docs(api: Api) -> None:
    spec = api.get("/openapi.json").json()
    assert {"/scenes/build", "/scenes/{ref}.glb", "/scenes/{scene_id}/meta", "/assets", "/readyz"} <= set(spec["paths"])
    assert api.get("/docs").status_code == 200


def test_studio_routes(tmp_path: Path) -> None:
    (tmp_path / "clients" / "js").mkdir(parents=True)
    (tmp_path / "clients" / "js" / "index.js").write_text("export {};\n")  # a working folder's copy is not used
    for api in start_api(tmp_path):
        js = api.get("/clients/js/index.js")
        assert js.status_code == 200 and "SceneLoader" in js.text
        assert api.get("/clients/js/missing.js").status_code == 404
        three = api.get("/vendor/three/build/three.module.js")
        assert three.status_code == 200 and "three.core.js" in three.text
        assert api.get("/vendor/three/package.json").status_code == 404


def test_studio_files_follow_the_range_and_conditional_rules(api: Api) -> None:
    """The studio's files take ranges and validators as the API's files do (RFC 9110 §13-14): a Range of another
    unit or of bad syntax is ignored (it was 400), a satisfiable one is served even beside one past the end (it was
    416), and the page answers If-None-Match of its ETag with 304 (it sent the page again)."""
    for url in ("/", "/studio/studio.js"):
        whole = api.get(url)
        assert whole.status_code == 200 and whole.headers["etag"]
        for ignored in ("items=0-1", "bytes=5-1", "bytes=x", "bytes=" + ",".join(["0-0"] * 65)):
            response = api.get(url, headers={"range": ignored})
            assert (response.status_code, response.content) == (200, whole.content), ignored
        mixed = api.get(url, headers={"range": f"bytes=0-3, {len(whole.content) + 10}-"})
        assert (mixed.status_code, mixed.content) == (206, whole.content[:4])
        past = api.get(url, headers={"range": f"bytes={len(whole.content)}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole.content)}"
        assert past.headers["content-type"] == "application/problem+json" and past.json()["status"] == 416
        assert past.json()["title"] == "Range Not Satisfiable"  # RFC 9457 §4.2.1: about:blank's title (was "Error")
        assert past.headers["cache-control"] == "no-store", url  # the page's no-cache had replaced it on /
        head = api.head(url, headers={"range": f"bytes={len(whole.content)}-"})
        assert head.status_code == 200 and head.headers["content-length"] == str(len(whole.content))
        for tag in (whole.headers["etag"], "W/" + whole.headers["etag"], "*"):
            assert api.get(url, headers={"if-none-match": tag}).status_code == 304, (url, tag)
    assert api.get("/", headers={"if-none-match": "*"}).headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("url", ["/", "/studio/studio.js"])
def test_studio_files_if_range_that_holds_with_a_range_past_the_end_is_a_problem_416(api: Api, url: str) -> None:
    """RFC 9110 §13.1.5: an If-Range that holds (the ETag, or the file's Last-Modified date) lets the Range apply, so
    a Range past the end is the problem+json 416 with no-store (it was Starlette's own: an empty text/plain 416 with no
    Cache-Control); one that does not hold (another tag, a weak one, two lines) has the whole file sent."""
    whole = api.get(url)
    size, past = len(whole.content), f"bytes={len(whole.content) + 10}-"
    for if_range in (whole.headers["etag"], whole.headers["last-modified"]):
        refused = api.get(url, headers={"range": past, "if-range": if_range})
        assert refused.status_code == 416, if_range
        assert refused.headers["content-type"] == "application/problem+json" and refused.json()["status"] == 416
        assert (refused.headers["content-range"], refused.headers["cache-control"]) == (f"bytes */{size}", "no-store")
        served = api.get(url, headers={"range": "bytes=0-3", "if-range": if_range})
        assert (served.status_code, served.content) == (206, whole.content[:4])
    for lines in (
        [("if-range", '"other"')],
        [("if-range", "W/" + whole.headers["etag"])],
        [("if-range", whole.headers["etag"]), ("if-range", whole.headers["etag"])],
    ):
        for spec in (past, "bytes=0-3"):
            sent = api.get(url, headers=[("range", spec), *lines])
            assert (sent.status_code, sent.content) == (200, whole.content), (spec, lines)


@pytest.mark.parametrize("url", ["/", "/studio/studio.js"])
def test_studio_files_evaluate_if_match_first(api: Api, url: str) -> None:
    """RFC 9110 §13.1.1, §13.2.2: If-Match is evaluated (it was ignored: 200), first and by strong comparison, so a
    tag it does not hold for is 412 even beside an If-None-Match of 304; a Range on two lines is ignored (200)."""
    whole = api.get(url)
    etag = whole.headers["etag"]
    for method in ("GET", "HEAD"):
        for headers in ({"if-match": '"other"'}, {"if-match": f"W/{etag}"}, {"if-match": '"x"', "if-none-match": etag}):
            refused = api.request(method, url, headers=headers)
            assert refused.status_code == 412, (method, headers)
            assert (refused.headers["etag"], refused.headers["cache-control"]) == (etag, "no-store")
        for tag in (etag, f'"other", {etag}', "*"):
            assert api.request(method, url, headers={"if-match": tag}).status_code == 200, (method, tag)
    assert api.get(url, headers={"if-match": etag, "if-none-match": etag}).status_code == 304
    twice = api.get(url, headers=[("range", "bytes=0-1"), ("range", "bytes=5-6")])
    assert (twice.status_code, twice.content) == (200, whole.content)


def test_cors_exposes_the_headers_clients_read(tmp_path: Path) -> None:
    """A browser script on another origin reads only the exposed headers: the ETag and ranges of streaming
    (docs/streaming.md, clients/js), Retry-After of a 429/503, Location of a 201, Allow of a 405, a download's
    name."""
    for api in start_api(tmp_path, server={"cors_origins": "https://viewer.example"}):
        api.post("/scenes/build", content=TEST01, headers=api.auth())
        response = api.get("/scenes/test01.glb", headers={"origin": "https://viewer.example"})
        assert response.headers["access-control-allow-origin"] == "https://viewer.example"
        exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
        wanted = {"etag", "content-range", "accept-ranges", "content-length", "x-scene-version", "retry-after"}
        assert wanted | {"location", "allow", "content-disposition"} <= exposed, exposed


def test_cors_refused_preflight_is_a_problem_naming_what(tmp_path: Path) -> None:
    """A preflight from an origin (or for a method) CORS does not allow is a problem+json 400 saying which, like
    every other error (it was text/plain "Disallowed CORS origin"); an allowed one is answered as before."""
    for api in start_api(tmp_path, server={"cors_origins": "https://viewer.example"}):
        asked = {"access-control-request-method": "PATCH", "access-control-request-headers": "if-match"}
        allowed = api.request("OPTIONS", "/scenes/x/draft", headers={**asked, "origin": "https://viewer.example"})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://viewer.example"
        refused = api.request("OPTIONS", "/scenes/x/draft", headers={**asked, "origin": "https://evil.example"})
        assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"
        assert (
            "'https://evil.example'" in refused.json()["detail"]
            and "SCENEFORGE_CORS_ORIGINS" in refused.json()["detail"]
        )
        assert "origin" in refused.headers["vary"].lower()
        put = {"access-control-request-method": "PUT", "origin": "https://viewer.example"}
        method = api.request("OPTIONS", "/scenes/x.glb", headers=put)
        assert method.status_code == 400 and "method 'PUT'" in method.json()["detail"]


def test_metrics_labels_stay_bounded_whatever_the_methods(api: Api) -> None:
    """HTTP lets a client send any token as a method: each one made new labelled series (a counter and a
    histogram) kept for the process's life, so a loop of invented methods grew the memory and /metrics without
    end. Methods outside the standard ones are counted as OTHER."""
    for i in range(40):
        assert api.request(f"X{i}Y", "/healthz").status_code == 405
    text = api.get("/metrics").text
    assert "X1Y" not in text and 'method="OTHER"' in text
    assert len(api.app.state.metrics._children) < 10


def test_an_unexpected_error_is_a_problem_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error no handler names is a problem+json 500 like every other error (it was text/plain), telling nothing
    of its cause."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.services.scenes, "list_scenes", broken)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/scenes")

    response = api.call(ask)
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500 and "secret" not in response.text
    assert response.json()["title"] == "Internal Server Error"


async def test_first_start_admin_key_and_demos(tmp_path: Path) -> None:
    settings = Settings(storage={"data_dir": tmp_path / "data"})
    demo = tmp_path / "test01.json"
    demo.write_bytes(TEST01)
    svc = await Services.open(settings)
    try:
        key = await ensure_admin_key(svc)
        path = tmp_path / "data" / "admin.key"
        assert path.read_text().strip() == key and (path.stat().st_mode & 0o777) == 0o600
        assert await ensure_admin_key(svc) == key
        assert (await svc.keys.lookup(key)).scope == "admin"
        assert await load_demos(svc, [demo]) == ["test01@v1"]
        assert await load_demos(svc, [demo]) == []
        # The new version's preview waits in the queue for the server's pool (once, not per start).
        from sceneforge.events.log import EventLog
        from sceneforge.jobs.store import JobStore

        queued = await JobStore(svc.scenes.engine, EventLog(svc.scenes.engine)).recent(10, type="preview")
        assert [(j.scene_id, j.status.value, j.options["version"]) for j in queued] == [("test01", "Queued", 1)]
    finally:
        await svc.close()


def test_create_key_for_cli(tmp_path: Path) -> None:
    from sceneforge.api import create_key

    settings = Settings(storage={"data_dir": tmp_path / "data"})
    key = create_key(settings, "read", "cli")
    assert key.startswith("sfk_")

    async def scope() -> str | None:
        svc = await Services.open(settings)
        try:
            record = await svc.keys.lookup(key)
            return record.scope if record else None
        finally:
            await svc.close()

    assert asyncio.run(scope()) == "read"


def test_405_allow_lists_every_method_of_the_resource(api: Api) -> None:
    """RFC 9110 §15.5.6: a 405 lists the methods the target resource supports — every route of the path,
    not only the first one matched (GET and HEAD are declared as two routes)."""
    api.post("/scenes/build", content=TEST01, headers=api.auth())
    cases = {
        "/scenes/test01.glb": {"GET", "HEAD"},
        "/scenes/test01/meta": {"GET", "HEAD"},
        "/scenes": {"GET"},
        "/scenes/build": {"POST"},
    }
    for path, methods in cases.items():
        response = api.request("PUT", path)
        assert response.status_code == 405, path
        assert methods <= {m.strip() for m in response.headers["allow"].split(",")}, (path, response.headers["allow"])
    # Exactly those: the DELETE of /scenes/{id} is not a method of the GLB (its id segment is no scene id).
    for path in ("/scenes/test01.glb", "/scenes/test01.0123456789abcdef.glb", "/scenes/test01@v1.glb"):
        response = api.request("DELETE", path, headers=api.auth())
        assert (response.status_code, response.headers.get("allow")) == (405, "GET, HEAD"), (path, response.text)
        assert api.request("PUT", path).headers["allow"] == "GET, HEAD", path
    assert api.request("PUT", "/scenes/test01").headers["allow"] == "DELETE"
    options = api.request("OPTIONS", "/scenes/test01.glb")
    assert options.status_code == 405 and {"GET", "HEAD"} <= set(options.headers["allow"].split(", "))


def test_head_is_answered_wherever_get_is(api: Api) -> None:
    """RFC 9110 §9.1/§9.3.2: HEAD is the GET's status and headers without the body, on every GET route — not a
    405 on the JSON reads (``/healthz``, ``/scenes``, versions …) that were declared for GET alone — and an
    event stream answers its headers and ends instead of streaming."""
    api.post("/scenes/build", content=TEST01, headers=api.auth())
    for url in ("/healthz", "/scenes", "/scenes/test01/versions", "/scenes/test01/description", "/jobs"):
        for _ in range(100):  # a pair with no change between (the build's preview job moves /jobs on meanwhile)
            get, head = api.get(url), api.head(url)
            if api.get(url).content == get.content:
                break
        assert (head.status_code, head.content) == (get.status_code, b""), url
        assert head.headers.get("content-type") == get.headers.get("content-type"), url
        assert head.headers.get("content-length") == get.headers.get("content-length"), url
    missing = api.head("/scenes/nope/versions")
    assert (missing.status_code, missing.content) == (404, b"")
    stream = api.head("/events")
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    assert stream.content == b""
    post_only = api.head("/scenes/build")
    assert (post_only.status_code, post_only.content) == (405, b"")
    assert "POST" in post_only.headers["allow"] and "HEAD" not in post_only.headers["allow"]
    assert api.request("PUT", "/healthz").headers["allow"] == "GET, HEAD"
    counted = [x for x in api.get("/metrics").text.splitlines() if x.startswith("sceneforge_http_requests_total{")]
    assert any('method="HEAD"' in x and 'route="/healthz"' in x and 'status="200"' in x for x in counted), counted


def test_a_repeated_query_parameter_is_a_422_a_browser_on_another_origin_can_read(tmp_path: Path) -> None:
    """The refusal is answered inside CORS: with the allow-origin header, and a preflight to the same URL is
    answered as any other (it was refused before CORS: the browser saw a failed request, not the 422)."""
    for api in start_api(tmp_path, server={"cors_origins": "https://viewer.example"}):
        api.post("/scenes/build", content=TEST01, headers=api.auth())
        origin = {"origin": "https://viewer.example"}
        for url in ("/jobs?take=1&take=2", "/scenes/test01.glb?v=1&v=2"):
            refused = api.get(url, headers=origin)
            assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "query_repeated", url
            assert refused.headers["access-control-allow-origin"] == "https://viewer.example"
        asked = {**origin, "access-control-request-method": "GET"}
        assert api.request("OPTIONS", "/jobs?take=1&take=2", headers=asked).status_code == 200
        assert api.get("/scenes/test01.glb?v=1&v=2").status_code == 422  # the cached read without an Origin too
