"""The acceptance scenarios of docs/api.md for building and fetching a scene, plus versioning."""

from __future__ import annotations

import json
from pathlib import Path

from sceneforge.api.server import load_demos
from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.jsontext import UTF8_BOM
from sceneforge.storage.blobs import blob_key
from tests.api.conftest import TEST01, Api


def _build(api: Api, body: bytes = TEST01, **params: str) -> dict:
    response = api.post(
        "/scenes/build", content=body, headers={**api.auth(), "content-type": "application/json"}, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_build_test01_returns_etag(api: Api) -> None:
    reply = _build(api)
    assert reply["sceneId"] == "test01"
    assert reply["glbPath"] == "/scenes/test01.glb"
    assert len(reply["eTag"]) == 16 and reply["bytes"] > 0 and reply["version"] == 1


def test_build_meta_matches_build(api: Api) -> None:
    reply = _build(api)
    meta = api.get("/scenes/test01/meta")
    assert meta.status_code == 200
    body = meta.json()
    assert body["ETag"] == reply["eTag"] and body["Bytes"] == reply["bytes"]
    assert body["Meta"] == {"sceneId": "test01", "cells": ["hall", "kitchen"], "portals": 1}
    assert body["version"] == 1 and body["TimestampUtc"]
    assert list(body)[:4] == ["ETag", "Bytes", "TimestampUtc", "Meta"]
    again = api.get("/scenes/test01/meta", headers={"if-none-match": meta.headers["etag"]})
    assert again.status_code == 304


def test_build_glb_get_conditional_and_range(api: Api) -> None:
    reply = _build(api)
    glb = api.get("/scenes/test01.glb")
    assert glb.status_code == 200
    assert glb.headers["etag"] == f'"{reply["eTag"]}"'
    assert glb.headers["accept-ranges"] == "bytes"
    assert glb.headers["content-type"] == "model/gltf-binary"
    assert glb.headers["cache-control"] == "no-cache"
    assert glb.content[:4] == b"glTF" and len(glb.content) == reply["bytes"]
    assert api.get("/scenes/test01.glb", headers={"if-none-match": glb.headers["etag"]}).status_code == 304
    part = api.get("/scenes/test01.glb", headers={"range": "bytes=0-1023"})
    assert part.status_code == 206
    assert part.content == glb.content[:1024]
    assert part.headers["content-range"] == f"bytes 0-1023/{reply['bytes']}"


def test_build_same_description_same_etag(api: Api) -> None:
    first, second = _build(api), _build(api)
    assert first["eTag"] == second["eTag"] and second["version"] == 1


def test_build_changed_props_invalidates_cache(api: Api) -> None:
    old = _build(api)
    changed = json.loads(TEST01)
    changed["props"] = {"author": "someone"}
    new = _build(api, json.dumps(changed).encode())
    assert new["eTag"] != old["eTag"] and new["version"] == 2
    response = api.get("/scenes/test01.glb", headers={"if-none-match": f'"{old["eTag"]}"'})
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{new["eTag"]}"'
    exact = api.get(f"/scenes/test01.{old['eTag']}.glb")
    assert exact.status_code == 200
    assert exact.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert api.get("/scenes/test01@v2.glb").headers["etag"] == f'"{new["eTag"]}"'


def test_build_invalid_description_is_422_and_stores_nothing(api: Api) -> None:
    bad = json.loads(TEST01)
    bad["portals"][0]["to"] = "nowhere"
    bad["cells"][0]["cellId"] = ""
    response = api.post("/scenes/build", content=json.dumps(bad), headers=api.auth())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors and all(e["path"].startswith("/") for e in errors)
    assert {"path", "code", "message"} <= set(errors[0])
    assert api.get("/scenes").json() == []
    assert api.get("/scenes/test01.glb").status_code == 404


def test_build_not_json_is_422(api: Api) -> None:
    response = api.post("/scenes/build", content=b"{nope", headers=api.auth())
    assert response.status_code == 422
    assert response.json()["errors"]


#: A .gltf as Blender's "glTF Embedded" writes it (trimmed): JSON, its buffer a data: URI.
_GLTF_JSON = {
    "asset": {"generator": "Khronos glTF Blender I/O v3.4.50", "version": "2.0"},
    "scene": 0,
    "scenes": [{"name": "Scene", "nodes": [0]}],
    "nodes": [{"name": "Hall", "extras": {"type": "cell", "cellId": "hall"}}],
    "buffers": [{"byteLength": 4, "uri": "data:application/octet-stream;base64,AAAAAA=="}],
}


def test_build_gltf_json_is_one_error_saying_to_export_glb(api: Api) -> None:
    """A .gltf upload (JSON, not GLB) is refused once with what to do, not as a description's schema errors."""
    for content_type in ("model/gltf+json", "application/json", "model/gltf-binary"):
        headers = {**api.auth(), "content-type": content_type}
        response = api.post("/scenes/build", content=json.dumps(_GLTF_JSON), headers=headers)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert (error["path"], error["code"]) == ("", "gltf_json")
        assert "glTF Binary (.glb)" in error["message"] and "'2.0'" in error["message"]
    assert api.get("/scenes").json() == []


def test_build_body_over_limit_is_413_before_reading(tmp_path) -> None:
    from tests.api.conftest import start_api

    for api in start_api(tmp_path, limits={"max_body_bytes": 100}):
        response = api.post("/scenes/build", content=TEST01, headers=api.auth())
        assert response.status_code == 413
        assert "SCENEFORGE_MAX_BODY_BYTES" in response.json()["detail"]

        async def chunks():
            for _ in range(10):
                yield b" " * 50

        streamed = api.post("/scenes/build", content=chunks(), headers=api.auth())
        assert streamed.status_code == 413


def test_scenes_list_and_delete(api: Api) -> None:
    reply = _build(api)
    listed = api.get("/scenes").json()
    assert [(s["sceneId"], s["eTag"], s["version"]) for s in listed] == [("test01", reply["eTag"], 1)]
    assert api.delete("/scenes/test01", headers=api.auth()).status_code == 204
    assert api.get("/scenes/test01.glb").status_code == 404
    assert api.get("/scenes/test01/meta").status_code == 404
    assert api.delete("/scenes/test01", headers=api.auth()).status_code == 404


def test_build_on_postgresql_and_s3(tmp_path, postgres_url, s3_server) -> None:
    from tests.api.conftest import s3_storage, start_api
    from tests.support.servers import create_database

    for api in start_api(tmp_path, storage={"database_url": create_database(postgres_url), **s3_storage(s3_server)}):
        reply = _build(api)
        glb = api.get("/scenes/test01.glb", headers={"range": "bytes=0-3"})
        assert (glb.status_code, glb.content) == (206, b"glTF")
        assert api.get("/scenes/test01/meta").json()["ETag"] == reply["eTag"]
        assert api.get("/readyz").json() == {"status": "ok", "database": "ok", "blobs": "ok"}


def test_build_a_description_sent_with_a_bom_is_stored_and_served_without_it(api: Api, tmp_path: Path) -> None:
    """A UTF-8 byte order mark before a description's JSON (RFC 8259 §8.1 lets a parser ignore it) is no part of
    the description: ``GET /scenes/{id}/description`` echoed it, and the same description with and without one
    were two blobs (``/scenes/build`` of it again was no longer "the same description"). Stored without it now;
    one stored with it before is served from its JSON too."""
    text = TEST01.removeprefix(UTF8_BOM)
    first = _build(api, UTF8_BOM + text)
    got = api.get("/scenes/test01/description")
    assert got.status_code == 200 and got.content == text, got.content[:8]
    stored = api.call(api.services.scenes.by_number, "test01", first["version"])
    assert stored.description_key == blob_key(text)  # the blob a build of the text without a BOM names
    assert _build(api, text)["version"] == first["version"]
    # a version stored with the BOM before (as load_demos and enqueue stored it)
    changed = json.dumps({**json.loads(text), "props": {"old": "bom"}}).encode()
    result = compile_scene(changed, BuildOptions())
    version = api.call(api.services.scenes.publish_build, result, UTF8_BOM + changed)
    old = api.get(f"/scenes/test01@v{version.n}/description")
    assert old.status_code == 200 and old.content == changed, old.content[:8]
    demo, shown = tmp_path / "demo.json", changed.replace(b'"bom"', b'"demo"')  # a demo file saved with a BOM
    demo.write_bytes(UTF8_BOM + shown)
    assert api.call(load_demos, api.services, [demo]) == [f"test01@v{version.n + 1}"]
    assert api.call(api.services.scenes.by_number, "test01", version.n + 1).description_key == blob_key(shown)
    assert api.call(load_demos, api.services, [demo]) == []  # the same bytes as the latest version's: skipped
