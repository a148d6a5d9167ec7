"""One delivery suite for the file store and the S3 store (SeaweedFS): conditionals, ranges, HEAD, offloading."""

from __future__ import annotations

import email
import os
import random
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.storage import FileBlobStore
from tests.api.conftest import Api, s3_storage, start_api
from tests.storage.conftest import fake_build

# Incompressible, and the same in every process: the test ids name its ETag (pytest-xdist's workers collect alike).
PAYLOAD = random.Random("deliv").randbytes(300_000)
BUILD = fake_build("deliv", PAYLOAD)
SIZE = len(BUILD.glb)


@pytest.fixture(scope="module", params=["file", "s3"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    storage = s3_storage(request.getfixturevalue("s3_server")) if request.param == "s3" else {}
    for api in start_api(tmp_path_factory.mktemp(f"deliv-{request.param}"), storage=storage):
        api.call(api.services.scenes.publish_build, BUILD, None)
        yield api


def _multipart(response: httpx.Response) -> list[tuple[str, bytes]]:
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + response.content)
    return [(part["Content-Range"], part.get_payload(decode=True)) for part in message.get_payload()]


def test_glb_get_whole(served: Api) -> None:
    response = served.get("/scenes/deliv.glb")
    assert response.status_code == 200
    assert response.content == BUILD.glb
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["etag"] == f'"{BUILD.etag}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "model/gltf-binary"


def test_glb_head_has_length_and_no_body(served: Api) -> None:
    response = served.head("/scenes/deliv.glb")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(SIZE)
    assert response.content == b""


@pytest.mark.parametrize("tag", [f'"{BUILD.etag}"', f'W/"{BUILD.etag}"', f'"nope", "{BUILD.etag}"', "*"])
def test_glb_if_none_match_is_304(served: Api, tag: str) -> None:
    for method in ("GET", "HEAD"):
        response = served.request(method, "/scenes/deliv.glb", headers={"if-none-match": tag})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == f'"{BUILD.etag}"'


def test_glb_suffix_range(served: Api) -> None:
    response = served.get("/scenes/deliv.glb", headers={"range": "bytes=-100"})
    assert response.status_code == 206
    assert response.content == BUILD.glb[-100:]
    assert response.headers["content-range"] == f"bytes {SIZE - 100}-{SIZE - 1}/{SIZE}"


def test_glb_multiple_ranges_are_multipart(served: Api) -> None:
    response = served.get("/scenes/deliv.glb", headers={"range": "bytes=0-9, 1000-1999, -5"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(response.headers["content-length"]) == len(response.content)
    assert _multipart(response) == [
        (f"bytes 0-9/{SIZE}", BUILD.glb[:10]),
        (f"bytes 1000-1999/{SIZE}", BUILD.glb[1000:2000]),
        (f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}", BUILD.glb[-5:]),
    ]


def test_glb_multipart_parts_follow_the_order_asked(served: Api) -> None:
    """RFC 9110 §15.3.7.2: parts in the order of the range-specs, so a client that asks for its nearest cells
    first (StreamingScene) gets them first."""
    response = served.get("/scenes/deliv.glb", headers={"range": "bytes=200000-200009, 0-9, 100000-100009"})
    assert response.status_code == 206
    assert _multipart(response) == [
        (f"bytes 200000-200009/{SIZE}", BUILD.glb[200000:200010]),
        (f"bytes 0-9/{SIZE}", BUILD.glb[:10]),
        (f"bytes 100000-100009/{SIZE}", BUILD.glb[100000:100010]),
    ]


def test_glb_if_range(served: Api) -> None:
    match = served.get("/scenes/deliv.glb", headers={"range": "bytes=5-9", "if-range": f'"{BUILD.etag}"'})
    assert (match.status_code, match.content) == (206, BUILD.glb[5:10])
    stale = served.get("/scenes/deliv.glb", headers={"range": "bytes=5-9", "if-range": '"0000000000000000"'})
    assert (stale.status_code, len(stale.content)) == (200, SIZE)


@pytest.mark.parametrize(
    "lines",
    [
        [("range", "bytes=0-1"), ("range", "bytes=5-6")],
        [("range", "bytes=5-9"), ("if-range", f'"{BUILD.etag}"'), ("if-range", '"0000000000000000"')],
        [("range", "bytes=5-9"), ("if-range", '"0000000000000000"'), ("if-range", f'"{BUILD.etag}"')],
    ],
)
def test_glb_range_fields_on_several_lines_are_ignored(served: Api, lines: list[tuple[str, str]]) -> None:
    """``Range`` and ``If-Range`` are singletons: their lines read joined by commas (RFC 9110 §5.3) are no range set
    and no entity-tag, so the whole file is sent (the first line was used, whichever a cache in front had read).
    Asked twice: the route answers the first, the pre-routing fast path the second."""
    for _ in range(2):
        response = served.get("/scenes/deliv.glb", headers=lines)
        assert (response.status_code, response.content) == (200, BUILD.glb)


def test_glb_if_match_other_version_is_412(served: Api) -> None:
    """A range of the latest file asked with If-Match of the version the client has: 412 once it changed, not
    bytes of another version to splice in (RFC 9110 §13.1.1)."""
    headers = {"range": "bytes=5-9", "if-match": '"0000000000000000"'}
    stale = served.get("/scenes/deliv.glb", headers=headers)
    assert stale.status_code == 412 and stale.headers["etag"] == f'"{BUILD.etag}"'
    assert stale.headers["content-type"] == "application/problem+json" and stale.json()["status"] == 412
    assert served.head("/scenes/deliv.glb", headers=headers).status_code == 412
    match = served.get("/scenes/deliv.glb", headers={**headers, "if-match": f'"{BUILD.etag}"'})
    assert (match.status_code, match.content) == (206, BUILD.glb[5:10])


def test_glb_unsatisfiable_range_is_416(served: Api) -> None:
    response = served.get("/scenes/deliv.glb", headers={"range": f"bytes={SIZE}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"


def test_glb_exact_versions_are_immutable(served: Api) -> None:
    for url in (f"/scenes/deliv.{BUILD.etag}.glb", "/scenes/deliv@v1.glb"):
        response = served.get(url)
        assert response.status_code == 200 and response.content == BUILD.glb
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_numbered_path_never_names_other_bytes(tmp_path: Path) -> None:
    """``@v{n}`` is cached as immutable, so a scene deleted and built again numbers on from the versions it had:
    ``@v1`` of the first scene is gone (404), never the second scene's file (docs/api.md)."""
    other = fake_build("deliv", os.urandom(1000))
    for api in start_api(tmp_path):
        api.call(api.services.scenes.publish_build, BUILD, None)
        first = api.get("/scenes/deliv@v1.glb")
        assert first.content == BUILD.glb and first.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert api.delete("/scenes/deliv", headers=api.auth()).status_code == 204
        assert api.call(api.services.scenes.publish_build, other, None).n == 2
        assert api.get("/scenes/deliv@v1.glb").status_code == 404
        again = api.get("/scenes/deliv@v2.glb")
        assert again.content == other.glb and again.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("url", [f"/scenes/deliv.{BUILD.etag}.glb", "/scenes/deliv@v1.glb", "/scenes/deliv.glb"])
def test_glb_412_and_416_are_never_stored(served: Api, url: str) -> None:
    """A 412 or 416 is about the request: it carries ``no-store``, not the year-long ``immutable`` of an exact
    version's body, which would let a shared cache answer every later request with the error (RFC 9111 §3).
    Each is asked twice: the route answers the first, the pre-routing fast path the second (HEAD ignores Range)."""
    for headers, status, methods in (
        ({"if-match": '"0000000000000000"'}, 412, ("GET", "GET", "HEAD")),
        ({"range": f"bytes={SIZE}-"}, 416, ("GET", "GET")),
    ):
        for method in methods:
            response = served.request(method, url, headers=headers)
            assert response.status_code == status
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["etag"] == f'"{BUILD.etag}"'
    assert served.get(url, headers={"range": "bytes=0-0"}).headers["cache-control"] != "no-store"


@pytest.mark.parametrize(
    "url",
    [
        "/scenes/nope.glb",
        "/scenes/deliv@v9.glb",
        "/scenes/deliv.0000000000000000.glb",
        "/scenes/x.y.z.glb",
        "/scenes/deliv%0A.glb",  # a name with a final line break is another name, not deliv's
        "/scenes/deliv@v1%0A.glb",
    ],
)
def test_glb_missing_is_404_problem(served: Api, url: str) -> None:
    """A 404 is ``no-store``: without a Cache-Control it is heuristically cacheable (RFC 9111 §4.2.2), and a shared
    cache would go on answering it after the scene or version was published."""
    for method in ("GET", "HEAD"):
        response = served.request(method, url)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("n", [1_234_567_890, 2**63 - 1])
def test_every_version_number_has_a_path(served: Api, n: int) -> None:
    """A version number a body may name (to 2⁶³−1) has its ``@v{n}`` path: the scene answers it has no such
    version (its paths stopped at 9 digits, so asking for v1234567890 said no scene file of that name existed)."""
    for url in (f"/scenes/deliv@v{n}.glb", f"/scenes/deliv@v{n}/description"):
        response = served.get(url)
        assert response.status_code == 404 and f"no version v{n}" in response.json()["detail"], response.text
    beyond = served.get(f"/scenes/deliv@v{2**63}/description")
    assert beyond.status_code == 404 and "id@v<n>" in beyond.json()["detail"] and ".glb" not in beyond.json()["detail"]


_spec = st.one_of(
    st.tuples(st.integers(0, SIZE + 50), st.integers(0, SIZE + 50)).map(lambda t: f"{min(t)}-{max(t)}"),
    st.integers(0, SIZE + 50).map(lambda a: f"{a}-"),
    st.integers(0, SIZE + 50).map(lambda n: f"-{n}"),
)


def _expected(spec: str) -> tuple[int, int] | None:
    first, _, last = spec.partition("-")
    if first == "":
        n = int(last)
        return (max(0, SIZE - n), SIZE) if n > 0 else None
    start = int(first)
    if start >= SIZE:
        return None
    return start, SIZE if last == "" else min(int(last) + 1, SIZE)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(specs=st.lists(_spec, min_size=1, max_size=4))
def test_glb_random_ranges_match_slices(served: Api, specs: list[str]) -> None:
    response = served.get("/scenes/deliv.glb", headers={"range": "bytes=" + ",".join(specs)})
    wanted = [w for w in map(_expected, specs) if w is not None]
    if not wanted:
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{SIZE}"
        return
    assert response.status_code == 206
    if "multipart" in response.headers["content-type"]:
        parts = _multipart(response)
    else:
        parts = [(response.headers["content-range"], response.content)]
    sent: list[tuple[int, int]] = []
    for content_range, body in parts:
        first, _, rest = content_range.removeprefix("bytes ").partition("-")
        last, _, total = rest.partition("/")
        start, stop = int(first), int(last) + 1
        assert (int(total), body) == (SIZE, BUILD.glb[start:stop])
        sent.append((start, stop))
    # coalesced (RFC 9110 §15.3.7.2): disjoint, covering every requested byte, never over SIZE
    assert all(a[1] < b[0] for a, b in pairwise(sorted(sent)))
    assert sum(b - a for a, b in sent) <= SIZE
    assert all(any(a <= start and stop <= b for a, b in sent) for start, stop in wanted)


def test_ranges_repeated_are_coalesced_not_multiplied(served: Api) -> None:
    response = served.get("/scenes/deliv.glb", headers={"range": "bytes=" + ",".join(["0-"] * 64)})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    assert response.content == BUILD.glb


def test_glb_accel_redirect_for_file_store(tmp_path: Path) -> None:
    for api in start_api(tmp_path, delivery={"mode": "accel", "accel_prefix": "/internal"}):
        version = api.call(api.services.scenes.publish_build, BUILD, None)
        response = api.get("/scenes/deliv.glb")
        assert response.status_code == 200
        key = version.glb_key
        assert response.headers["x-accel-redirect"] == f"/internal/{key[:2]}/{key[2:]}"
        assert response.headers["etag"] == f'"{BUILD.etag}"'
        assert response.content == b""
        assert api.get("/scenes/deliv.glb", headers={"if-none-match": f'"{BUILD.etag}"'}).status_code == 304


def test_glb_redirect_to_presigned_s3_url(tmp_path: Path, s3_server) -> None:
    for api in start_api(tmp_path, delivery={"mode": "redirect"}, storage=s3_storage(s3_server)):
        api.call(api.services.scenes.publish_build, BUILD, None)
        response = api.get("/scenes/deliv.glb")
        assert response.status_code == 302
        fetched = httpx.get(response.headers["location"])
        assert fetched.status_code == 200 and fetched.content == BUILD.glb
        assert fetched.headers["content-type"] == "model/gltf-binary"
        # the presigned URL expires in minutes: no cache may keep the 302, though the exact version is immutable
        for url in ("/scenes/deliv.glb", f"/scenes/deliv.{BUILD.etag}.glb", "/scenes/deliv@v1.glb"):
            redirect = api.get(url)
            assert redirect.status_code == 302 and redirect.headers["cache-control"] == "no-store"


async def test_glb_pathsend_when_server_offers_it(tmp_path: Path) -> None:
    from sceneforge.api.responses import Representation, Representations
    from sceneforge.storage import FileBlobStore

    store = FileBlobStore(tmp_path)
    key = store.put(BUILD.glb)
    scope = {"type": "http", "method": "GET", "headers": [], "path": "/", "extensions": {"http.response.pathsend": {}}}
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    def build() -> Representation:
        return Representation.of_blob(store, key, SIZE, BUILD.etag, "model/gltf-binary", cache_control="no-cache")

    assert await Representations().deliver(key, build, scope, send) == 200
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[1]["path"] == str(store.local_path(key))


@pytest.mark.parametrize("served", ["s3"], indirect=True)  # (a local blob is read with pread: no round trip)
def test_glb_many_ranges_from_s3_are_few_reads(served: Api) -> None:
    """64 small ranges 90 bytes apart (too far apart to be one part) of an object-store blob: each part was its own
    ranged GET to S3 (64 round trips for one request); nearby ranges are now fetched by one read and split."""
    from sceneforge.storage.s3 import S3BlobStore

    store = served.services.blobs
    assert isinstance(store, S3BlobStore)
    gets: list[str] = []

    def count(params: dict, **_: object) -> None:
        gets.append(params.get("Range", ""))

    store.client.meta.events.register("before-parameter-build.s3.GetObject", count)
    try:
        specs = [f"{at}-{at + 9}" for at in range(0, 6400, 100)]
        response = served.get("/scenes/deliv.glb", headers={"range": "bytes=" + ",".join(specs)})
    finally:
        store.client.meta.events.unregister("before-parameter-build.s3.GetObject", count)
    assert response.status_code == 206
    expected = [(f"bytes {at}-{at + 9}/{SIZE}", BUILD.glb[at : at + 10]) for at in range(0, 6400, 100)]
    assert _multipart(response) == expected
    assert len(gets) <= 2, gets


class _CountingStore(FileBlobStore):
    """A file store read as an object store is (``iter_range``, no local path), counting its reads."""

    reads = 0

    def local_path(self, key: str) -> Path | None:
        return None

    def iter_range(self, key: str, start: int, stop: int, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        type(self).reads += 1
        return super().iter_range(key, start, stop, chunk_size)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, SIZE - 1), st.integers(1, 70_000)), min_size=2, max_size=64),
    data=st.data(),
)
def test_object_store_parts_read_together_arrive_whole_and_in_order(
    tmp_path_factory: pytest.TempPathFactory, pairs: list[tuple[int, int]], data: st.DataObject
) -> None:
    """Parts fetched by shared reads come out in the order asked, byte for byte, with no more reads than parts."""
    from sceneforge.api.delivery import ByteRange, coalesce
    from sceneforge.api.responses import Representation, _part_reads

    store = _CountingStore(tmp_path_factory.mktemp("parts"))
    key = store.put(BUILD.glb)
    rep = Representation.of_blob(store, key, SIZE, BUILD.etag, "model/gltf-binary", cache_control="no-cache")
    ranges = coalesce([ByteRange(a, min(SIZE, a + n)) for a, n in pairs])
    ranges = data.draw(st.permutations(ranges))
    _CountingStore.reads = 0
    got = [b"".join(body) for body in _part_reads(rep, tuple(ranges))]
    assert got == [BUILD.glb[r.start : r.stop] for r in ranges]
    assert _CountingStore.reads <= len(ranges)
