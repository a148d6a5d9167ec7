"""A failure anywhere in the delivery path is a problem+json 500, on the fast path and on the routes alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sceneforge.storage import FileBlobStore
from tests.api.conftest import Api, start_api
from tests.storage.conftest import fake_build

BUILD = fake_build("faulty", os.urandom(600_000))
SIZE = len(BUILD.glb)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Api]:
    for api in start_api(tmp_path):
        api.call(api.services.scenes.publish_build, BUILD, None)
        yield api


def _assert_problem_500(api: Api, url: str, headers: dict[str, str] | None = None) -> None:
    response = api.get(url, headers=headers or {})
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500 and response.json()["title"] == "Internal Server Error"


@pytest.mark.parametrize("warm", [True, False], ids=["fast-path", "route"])
@pytest.mark.parametrize("headers", [{}, {"range": "bytes=0-299999"}, {"range": "bytes=0-9,400000-400009"}])
def test_failing_blob_read_is_a_problem_500(
    served: Api, monkeypatch: pytest.MonkeyPatch, warm: bool, headers: dict[str, str]
) -> None:
    def failing_read(self: FileBlobStore, key: str, start: int, stop: int, chunk_size: int = 0) -> Iterator[bytes]:
        raise OSError(f"injected read failure of {key}")
        yield b""

    # The store behaves as an object store whose reads fail: no local file to map, every read raises.
    monkeypatch.setattr(FileBlobStore, "local_path", lambda self, key: None)
    monkeypatch.setattr(FileBlobStore, "iter_range", failing_read)
    if warm:
        assert served.get("/scenes/faulty/versions").status_code == 200
        served.call(served.services.scenes.pointer, "faulty")  # fills the cache the fast path reads
    else:
        served.services.scenes.cache.clear()
    _assert_problem_500(served, "/scenes/faulty.glb", headers)
    assert served.get("/scenes/faulty.glb", headers={"if-none-match": f'"{BUILD.etag}"'}).status_code == 304


@pytest.mark.parametrize("warm", [True, False], ids=["fast-path", "route"])
def test_damaged_blob_file_is_a_problem_500(served: Api, warm: bool) -> None:
    version = served.call(served.services.scenes.latest, "faulty")
    path = served.services.blobs.local_path(version.glb_key)
    assert path is not None
    path.chmod(0o600)
    path.write_bytes(BUILD.glb[:1000])  # shorter than its record says
    if warm:
        served.call(served.services.scenes.pointer, "faulty")
    else:
        served.services.scenes.cache.clear()
    _assert_problem_500(served, "/scenes/faulty.glb")
    _assert_problem_500(served, "/scenes/faulty@v1.glb", {"range": "bytes=0-99"})


def test_failing_cache_lookup_on_the_fast_path_is_a_problem_500(served: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    served.call(served.services.scenes.pointer, "faulty")

    def broken(*_args: object) -> None:
        raise RuntimeError("injected cache failure")

    monkeypatch.setattr(type(served.services.scenes.cache), "meta", broken)
    _assert_problem_500(served, "/scenes/faulty/meta")
