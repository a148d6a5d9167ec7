"""The per-process scene cache behind GLB and meta reads: rebuilds, deletes, private flags, other instances."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import TEST01, Api, start_api

#: Seconds another instance may take to see an event (its hub also sweeps the events table every 2 s).
EVENT_WAIT_S = 15.0


def _build(api: Api, body: bytes = TEST01, **params: str) -> dict:
    response = api.post(
        "/scenes/build", content=body, headers={**api.auth(), "content-type": "application/json"}, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def _changed(author: str) -> bytes:
    changed = json.loads(TEST01)
    changed["props"] = {"author": author}
    return json.dumps(changed).encode()


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + EVENT_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_scene_cache_rebuild_serves_new_etag_at_once(api: Api) -> None:
    old = _build(api)
    for url in ("/scenes/test01.glb", "/scenes/test01.glb", "/scenes/test01/meta", "/scenes/test01/meta"):
        assert api.get(url).status_code == 200  # the second of each comes from the cache
    assert api.services.scenes.cache.pointer("test01") is not None
    new = _build(api, _changed("someone"))
    glb = api.get("/scenes/test01.glb", headers={"if-none-match": f'"{old["eTag"]}"'})
    assert glb.status_code == 200 and glb.headers["etag"] == f'"{new["eTag"]}"'
    assert glb.headers["x-scene-version"] == "2"
    assert api.get("/scenes/test01/meta").json()["ETag"] == new["eTag"]
    assert api.get(f"/scenes/test01.{old['eTag']}.glb").headers["x-scene-version"] == "1"


def test_scene_cache_repository_publish_replaces_pointer(api: Api) -> None:
    from tests.storage.conftest import fake_build

    first = fake_build("direct", b"one")
    api.call(api.services.scenes.publish_build, first, None)
    assert api.get("/scenes/direct.glb").headers["etag"] == f'"{first.etag}"'
    second = fake_build("direct", b"two")
    api.call(api.services.scenes.publish_build, second, None)
    assert api.get("/scenes/direct.glb").headers["etag"] == f'"{second.etag}"'
    assert api.get("/scenes/direct.glb").content == second.glb


def test_scene_cache_cached_and_uncached_responses_agree(api: Api) -> None:
    reply = _build(api)
    for url, headers in [
        ("/scenes/test01.glb", {}),
        ("/scenes/test01.glb", {"range": "bytes=4-99"}),
        ("/scenes/test01.glb", {"if-none-match": f'"{reply["eTag"]}"'}),
        (f"/scenes/test01.{reply['eTag']}.glb", {}),
        ("/scenes/test01@v1.glb", {"range": "bytes=-10"}),
        ("/scenes/test01/meta", {}),
    ]:
        api.services.scenes.cache.clear()
        cold = api.get(url, headers=headers)
        warm = api.get(url, headers=headers)
        assert (cold.status_code, cold.content) == (warm.status_code, warm.content), url
        assert {k: v for k, v in cold.headers.items() if k != "content-type" or "multipart" not in v} == dict(
            warm.headers
        ), url
    metrics = api.get("/metrics").text
    assert 'route="/scenes/{ref}.glb"' in metrics and 'route="/scenes/{scene_id}/meta"' in metrics


def test_scene_cache_delete_forgets_the_scene(api: Api) -> None:
    old = _build(api)
    assert api.get("/scenes/test01.glb").status_code == 200
    assert api.delete("/scenes/test01", headers=api.auth()).status_code == 204
    assert api.get("/scenes/test01.glb").status_code == 404
    assert api.get(f"/scenes/test01.{old['eTag']}.glb").status_code == 404
    assert api.get("/scenes/test01/meta").status_code == 404


def test_scene_cache_private_flag_honoured(api: Api) -> None:
    _build(api)
    assert api.get("/scenes/test01.glb").status_code == 200
    assert api.get("/scenes/test01/meta").status_code == 200
    _build(api, private="true")  # same bytes: the version is reused, only the flag changes
    pointer = api.services.scenes.cache.pointer("test01")
    assert pointer is None or pointer.private
    for url in ("/scenes/test01.glb", "/scenes/test01@v1.glb", "/scenes/test01/meta", "/scenes/test01/versions"):
        for _ in range(2):  # the second request finds the private flag in the cache
            assert api.get(url).status_code == 401, url
            response = api.get(url, headers=api.auth("read"))
            assert response.status_code == 200, url
    assert api.services.scenes.cache.pointer("test01").private  # type: ignore[union-attr]
    assert api.get("/scenes/test01.glb", headers=api.auth("read")).headers["cache-control"].startswith("private")
    _build(api, private="false")
    assert api.get("/scenes/test01.glb").status_code == 200


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Api, Api]]:
    """Two app instances on one data directory (one database, one blob store), each with its own cache."""
    for a in start_api(tmp_path):
        for b in start_api(tmp_path):
            yield a, b


def test_scene_cache_other_instance_replaced_after_scene_built(pair: tuple[Api, Api]) -> None:
    a, b = pair
    old = _build(a)
    assert b.get("/scenes/test01.glb").headers["etag"] == f'"{old["eTag"]}"'
    assert b.get("/scenes/test01/meta").status_code == 200
    assert b.services.scenes.cache.pointer("test01") is not None
    new = _build(a, _changed("elsewhere"))

    def replaced() -> bool:
        pointer = b.services.scenes.cache.pointer("test01")
        return pointer is None or (pointer.latest is not None and pointer.latest.etag == new["eTag"])

    _wait_for(replaced, "instance B to drop its cached pointer after scene.built")
    assert b.get("/scenes/test01.glb").headers["etag"] == f'"{new["eTag"]}"'
    assert b.get("/scenes/test01/meta").json()["ETag"] == new["eTag"]


def test_scene_cache_other_instance_cleared_by_scene_invalidated(pair: tuple[Api, Api]) -> None:
    a, b = pair
    reply = _build(a)
    assert b.get(f"/scenes/test01.{reply['eTag']}.glb").status_code == 200
    cache = b.services.scenes.cache
    assert cache.ref("test01", reply["eTag"]) is not None
    assert a.delete("/scenes/test01", headers=a.auth()).status_code == 204  # emits scene.invalidated
    _wait_for(lambda: cache.ref("test01", reply["eTag"]) is None, "instance B to clear the scene on scene.invalidated")
    assert cache.pointer("test01") is None


def test_scene_cache_other_instance_sees_private_flag(pair: tuple[Api, Api]) -> None:
    a, b = pair
    _build(a)
    assert b.get("/scenes/test01.glb").status_code == 200
    _build(a, private="true")
    _wait_for(lambda: b.get("/scenes/test01.glb").status_code == 401, "instance B to refuse the now private scene")
