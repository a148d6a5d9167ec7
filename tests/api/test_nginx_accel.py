"""``SCENEFORGE_DELIVERY=accel`` behind a real nginx, configured as docs/deployment.md says, answers each request
as the app answers it in ``direct`` mode.

Per server kind (granian, uvicorn): one app in ``accel`` mode behind nginx (started as a plain process with the
``location`` blocks read from docs/deployment.md, paths and port filled in) and one in ``direct`` mode, both
serving the demo scene test01 with CORS on. Every request goes to both over TCP; status, headers (all of them,
but ``Date``, ``Server`` and the connection's own) and bytes must be the same — a ``multipart/byteranges`` body
by its parts, since boundaries are random. A second table checks which requests the app hands to nginx, so the
comparison is not passed by never redirecting. Rules: docs/api.md ("Conditional and range requests"),
sceneforge/api/accel.py.
"""

from __future__ import annotations

import email
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from sceneforge.api.accel import nginx_ranges
from sceneforge.api.delivery import ByteRange
from tests.api.test_http_conformance import RANGES
from tests.support.demo_server import demo_server
from tests.support.servers import free_port, nginx_conf, require_binary

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
ORIGIN = "https://studio.example"
#: Fields of the connection or the server, not of the representation.
NOT_COMPARED = {"date", "server", "connection", "keep-alive"}
#: Length of the static file nginx serves at ``/probe/file``.
PROBE_BYTES = 10240
#: Fields nginx accepts on one line only: a request with two is its own 400, in every location and mode.
NGINX_UNIQUE = {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"}


def documented_locations() -> str:
    """The ``nginx`` block of docs/deployment.md's accel section."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    section = text[text.index("With `accel`") :]
    match = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert match, "docs/deployment.md shows no nginx configuration for accel"
    return match.group(1)


#: The server block around the documented locations (docs/deployment.md), and a plain static file.
SERVER = """  server {{
    listen 127.0.0.1:{port};
{locations}
    location /probe/ {{ alias {d}/probe/; etag off; }}  # a plain static file: nginx's own range rules
  }}"""


@dataclass
class Pair:
    accel: str  # nginx in front of the app in accel mode
    app: str  # that app itself (what it hands nginx)
    blobs: Path  # its blob folder
    direct: str  # the app in direct mode
    glb: bytes
    etag: str


def _settled(base: str) -> bool:
    jobs = httpx.get(f"{base}/jobs").json()
    return bool(jobs) and all(job["status"] in {"Succeeded", "Failed", "Canceled"} for job in jobs)


def _wait_settled(base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _settled(base):  # the preview job writes the previews compared below
        assert time.monotonic() < deadline, httpx.get(f"{base}/jobs").text
        time.sleep(0.2)


def _start_nginx(binary: str, folder: Path, upstream: str, blobs: Path) -> tuple[str, subprocess.Popen[bytes]]:
    folder.mkdir()
    port = free_port()
    locations = documented_locations()
    assert "/var/lib/sceneforge/blobs/" in locations and "127.0.0.1:8000" in locations
    locations = locations.replace("/var/lib/sceneforge/blobs/", f"{blobs}/").replace("127.0.0.1:8000", upstream)
    # workers of a master run as root switch to an unprivileged user, which cannot enter pytest's 0700 folders
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "probe").mkdir()
    (folder / "probe" / "file").write_bytes(bytes(range(256)) * (PROBE_BYTES // 256))
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(folder, SERVER.format(d=folder, port=port, locations=locations), user=user))
    log = (folder / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf), "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            httpx.get(f"{base}/healthz")
            return base, proc
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop_nginx(proc)
                raise RuntimeError(f"nginx did not start: {(folder / 'stderr.log').read_text()}") from None
            time.sleep(0.1)


def _stop_nginx(proc: subprocess.Popen[bytes]) -> None:
    """``nginx -s quit`` of this master (SIGQUIT, by its PID): it finishes what it serves, then exits."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module", params=["granian", "uvicorn"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    nginx = require_binary("nginx", Path("/usr/sbin/nginx"))
    tmp = tmp_path_factory.mktemp(f"accel-{request.param}")
    server = {"cors_origins": ORIGIN}
    accel = json.dumps({"server": server, "delivery": {"mode": "accel"}})
    direct = json.dumps({"server": server, "delivery": {"mode": "direct"}})
    (tmp / "accel").mkdir()
    (tmp / "direct").mkdir()
    with ExitStack() as stack:
        app, _, _ = stack.enter_context(demo_server(tmp / "accel", request.param, accel))
        direct_base, whole, _ = stack.enter_context(demo_server(tmp / "direct", request.param, direct))
        assert whole.status_code == 200, whole.text
        _wait_settled(app)
        _wait_settled(direct_base)
        blobs = tmp / "accel" / "data" / "blobs"
        base, proc = _start_nginx(nginx, tmp / "nginx", app.removeprefix("http://"), blobs)
        stack.callback(_stop_nginx, proc)
        yield Pair(base, app, blobs, direct_base, whole.content, whole.headers["etag"])


@pytest.fixture(scope="module")
def nginx_probe(pair: Pair) -> str:
    """nginx's static file of :data:`PROBE_BYTES` bytes."""
    return pair.accel + "/probe/file"


def _parts(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + response.content)
    return [
        (part["Content-Type"], part["Content-Range"], part.get_payload(decode=True)) for part in message.get_payload()
    ]


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], object]:
    """Status, headers (sorted, every line), body; a multipart body as its parts (its boundary and length aside)."""
    headers = sorted((k.lower(), v) for k, v in response.headers.multi_items() if k.lower() not in NOT_COMPARED)
    body: object = response.content
    if response.headers.get("content-type", "").startswith("multipart/byteranges"):
        assert response.headers["content-length"] == str(len(response.content))
        headers = [(k, v.split(";")[0] if k == "content-type" else v) for k, v in headers if k != "content-length"]
        body = _parts(response)
    return response.status_code, headers, body


PAST, FUTURE = "Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2099 07:28:00 GMT"
Fields = list[tuple[str, str]]
CASES: list[Fields] = [
    [],
    [("if-none-match", "ETAG")],
    [("if-none-match", "*")],
    [("if-none-match", '"a", ETAG')],
    [("if-none-match", "W/ETAG")],
    [("if-none-match", '"a"')],
    [("if-none-match", '"a"'), ("if-modified-since", FUTURE)],
    [("if-modified-since", FUTURE)],
    [("if-modified-since", PAST)],
    [("if-unmodified-since", PAST)],
    [("if-unmodified-since", FUTURE)],
    [("if-unmodified-since", "not a date")],
    [("if-match", "ETAG")],
    [("if-match", "*")],
    [("if-match", '"0000000000000000"')],
    [("if-match", "W/ETAG")],
    [("if-match", "ETAG"), ("range", "bytes=0-1")],
    [("if-match", "ETAG"), ("range", "bytes=0-1,500-600")],
    *([("range", spec)] for spec, _ in RANGES),
    [("range", "bytes=0-1, 500-600")],
    [("range", "bytes=0-1 ,500-600")],
    [("range", "bytes=-500,0-0")],
    [("range", "bytes=0-0,2-2,4-4")],  # merged by the app (closer than a part's headers), never by nginx
    [("range", "bytes=100-199,0-99")],  # touching: merged by the app
    [("range", "bytes=0-999,3000-3999,1000-1999")],
    [("range", "bytes=0-,500-600")],
    [("range", "bytes=5-9"), ("if-range", "ETAG")],
    [("range", "bytes=0-1,500-600"), ("if-range", "ETAG")],
    [("range", "bytes=5-9"), ("if-range", '"0000000000000000"')],
    [("range", "bytes=5-9"), ("if-range", "W/ETAG")],
    [("range", "bytes=5-9"), ("if-range", PAST)],
    [("range", "bytes=5-9"), ("if-range", FUTURE)],
    [("range", "bytes=-1,x"), ("if-range", '"other"')],
    [("range", "bytes=99999999-"), ("if-range", "ETAG")],
    [("range", "bytes=0-1"), ("range", "bytes=5-6")],
    [("range", "bytes=0-1"), ("if-range", "ETAG"), ("if-range", '"other"')],
    [("range", "bytes=0-1"), ("if-none-match", "ETAG")],
    [("range", "bytes=0-1"), ("if-none-match", '"a"')],
    [("accept-encoding", "gzip")],
    [("accept-encoding", "gzip"), ("range", "bytes=4-7")],
    [("origin", ORIGIN)],
    [("origin", ORIGIN), ("range", "bytes=0-3")],
    [("origin", ORIGIN), ("if-none-match", "ETAG")],
    [("origin", "https://elsewhere.example")],
]


def _fields(pair: Pair, fields: Fields) -> Fields:
    n = str(len(pair.glb))
    return [(k, v.replace("ETAG", pair.etag) if k != "range" else v.replace("N-", f"{n}-")) for k, v in fields]


def _both(pair: Pair, method: str, path: str, fields: Fields) -> tuple[httpx.Response, httpx.Response]:
    """The answer through nginx and the direct one (for a meta, which is never redirected and differs between the
    two data folders, the accel app's own)."""
    sent = _fields(pair, fields)
    reference = pair.app if path.endswith("/meta") else pair.direct
    return (
        httpx.request(method, pair.accel + path, headers=sent),
        httpx.request(method, reference + path, headers=sent),
    )


def _case_id(fields: Fields) -> str:
    return " ".join(f"{k}={v}" for k, v in fields)[:60] or "plain"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("fields", CASES, ids=[_case_id(c) for c in CASES])
def test_latest_glb_through_nginx_is_the_direct_answer(pair: Pair, method: str, fields: Fields) -> None:
    through_nginx, direct = _both(pair, method, "/scenes/test01.glb", fields)
    names = [name for name, _ in fields]
    if any(names.count(name) > 1 for name in NGINX_UNIQUE):  # refused at nginx's door, before any location
        assert through_nginx.status_code == 400
        return
    assert _answer(through_nginx) == _answer(direct)


OTHER_CASES = [
    [],
    [("if-none-match", "ETAG")],
    [("if-match", "ETAG")],
    [("if-match", '"0000000000000000"')],
    [("range", "bytes=0-1")],
    [("range", "bytes=-3")],
    [("range", "bytes=0-1,100-200")],
    [("range", "bytes=99999999-")],
    [("range", "bytes=2-3"), ("if-range", "ETAG")],
    [("origin", ORIGIN)],
]
PATHS = [
    "/scenes/test01.EXACT.glb",  # immutable for a year
    "/scenes/test01@v1.glb",
    "/scenes/test01/preview/floorplan.svg",  # nosniff and a Content-Security-Policy
    "/scenes/test01/preview/thumbnail.png",
    "/scenes/test01/meta",  # in memory: never redirected
]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("fields", OTHER_CASES, ids=[_case_id(c) for c in OTHER_CASES])
@pytest.mark.parametrize("path", PATHS)
def test_other_representations_through_nginx(pair: Pair, method: str, fields: Fields, path: str) -> None:
    path = path.replace("EXACT", pair.etag.strip('"'))
    own = httpx.get((pair.app if path.endswith("/meta") else pair.direct) + path)
    assert own.status_code == 200, own.text
    etag = own.headers["etag"]
    sent = [(k, v.replace("ETAG", etag)) for k, v in fields]
    through_nginx, direct = _both(pair, method, path, sent)
    assert _answer(through_nginx) == _answer(direct)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("field", ["if-none-match", "if-modified-since", "if-range"])
def test_the_file_validators_of_nginx_are_not_honoured(pair: Pair, method: str, field: str) -> None:
    """A client that knows the blob file's mtime and size (nginx's own ETag is ``"<mtime>-<size>"`` in hex) gets
    no 304 or range for them: the validators are the app's (``etag off``, ``if_modified_since off``)."""
    target = httpx.get(pair.app + "/scenes/test01.glb").headers["x-accel-redirect"]
    stat = (pair.blobs / target.removeprefix("/_blobs/")).stat()
    mtime = int(stat.st_mtime)
    value = {
        "if-none-match": f'"{mtime:x}-{stat.st_size:x}"',
        "if-modified-since": formatdate(mtime, usegmt=True),
        "if-range": formatdate(mtime, usegmt=True),
    }[field]
    fields = [(field, value), ("range", "bytes=0-1")] if field == "if-range" else [(field, value)]
    through_nginx, direct = _both(pair, method, "/scenes/test01.glb", fields)
    assert _answer(through_nginx) == _answer(direct)
    assert through_nginx.status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "path", ["/scenes/nope.glb", "/scenes/test01@v9.glb", "/assets/" + "0" * 64, "/scenes/test01/preview/x.svg"]
)
def test_not_found_through_nginx_is_the_problem(pair: Pair, method: str, path: str) -> None:
    through_nginx, direct = _both(pair, method, path, [])
    assert _answer(through_nginx) == _answer(direct)
    assert through_nginx.status_code == 404 and through_nginx.headers["cache-control"] == "no-store"
    assert through_nginx.headers["content-type"] == "application/problem+json"


def test_the_body_is_left_to_nginx_where_it_answers_as_the_app(pair: Pair) -> None:
    """Which answers the app hands to nginx: the plain GET and the ranges nginx reads alike; not the rest."""
    redirected = [
        [],
        [("if-none-match", '"a"')],
        [("if-modified-since", FUTURE)],
        [("range", "bytes=0-0")],
        [("range", "bytes=-1")],
        [("range", "bytes=5-")],
        [("range", "bytes=0-1,500-600")],
        [("range", "bytes=5-9"), ("if-range", "ETAG")],
        [("origin", ORIGIN)],
    ]
    answered_by_the_app = [
        [("if-match", "ETAG")],  # nginx compares If-Match with an ETag of its own
        [("if-match", "*")],
        [("if-unmodified-since", FUTURE)],  # and If-Unmodified-Since with the file's mtime
        [("range", "bytes=0-1,5-6")],  # merged by the app
        [("range", "bytes=1-0")],  # ignored by the app, a 416 from nginx
        [("range", "bytes=0-1,\t 2-3")],
        [("range", "bytes=5-9"), ("if-range", '"other"')],  # a Range answered whole
        [("range", "bytes=0-1"), ("range", "bytes=5-6")],
        [("if-none-match", "ETAG")],  # 304
        [("range", "bytes=99999999-")],  # 416
    ]
    for method, fields, expected in [
        *(("GET", f, True) for f in redirected),
        *(("GET", f, False) for f in answered_by_the_app),
        ("HEAD", [], False),
    ]:
        answer = httpx.request(method, pair.app + "/scenes/test01.glb", headers=_fields(pair, fields))
        assert ("x-accel-redirect" in answer.headers) is expected, (method, fields)
        if expected:
            assert (answer.status_code, answer.content) == (200, b"")


_SPEC = st.one_of(
    st.builds(lambda a, b: f"{a}-{b}", st.integers(0, 12000), st.integers(0, 12000)),
    st.builds(lambda a: f"{a}-", st.integers(0, 12000)),
    st.builds(lambda b: f"-{b}", st.integers(0, 12000)),
    st.text(alphabet="0123456789- ,\t", max_size=8),
)
_RANGE_VALUES = st.one_of(
    st.builds(
        lambda specs, sep: "bytes=" + sep.join(specs),
        st.lists(_SPEC, min_size=1, max_size=6),
        st.sampled_from([",", ", ", " ,"]),
    ),
    st.text(alphabet="bytesBYTES=0123456789-, ", max_size=16),
)


def _nginx_reads(response: httpx.Response) -> list[ByteRange] | int:
    if response.status_code != 206:
        return response.status_code
    if not response.headers["content-type"].startswith("multipart/byteranges"):
        spans = [response.headers["content-range"]]
    else:
        spans = [content_range for _, content_range, _ in _parts(response)]
    ranges = []
    for span in spans:
        first, last = span.removeprefix("bytes ").split("/")[0].split("-")
        ranges.append(ByteRange(int(first), int(last) + 1))
    return ranges


@pytest.mark.slow
@given(value=_RANGE_VALUES)
@example(value="bytes=0-1,")
@example(value="bytes=0-1,\t2-3")
@example(value="bytes=9223372036854775807-")
@example(value="bytes=9223372036854775808-")
@example(value="bytes=" + "0" * 30 + "1-2")
@example(value="bytes=0-,0-")
def test_nginx_reads_range_as_the_model_says(nginx_probe: str, value: str) -> None:
    """sceneforge.api.accel.nginx_ranges against nginx itself: whenever the model says which ranges nginx sends (the
    only case the app redirects), nginx sends them; a 416 is a 416. (Its 200 may be a 206 on nginx 1.22, which lacks
    the bound of nginx >= 1.23 that the model also applies.)"""
    value = value.strip(" \t")  # a field value as a server reads it: whitespace around it is no part of it
    assume(value)
    model = nginx_ranges(value, PROBE_BYTES)
    response = httpx.get(nginx_probe, headers={"range": value})
    if model == 200:
        assert response.status_code in (200, 206)
    else:
        assert _nginx_reads(response) == model
