"""RFC 9110 (§13 conditional, §14 range requests) and WHATWG EventSource resumption, against a real server process.

One server per kind (granian, uvicorn) runs the service with its demo scene; every case is a request sent over
TCP by httpx (and by curl, where it is installed), so what the server itself does to the headers (folding,
whitespace, HEAD bodies) is part of what is checked. The rules are documented in docs/api.md ("Conditional and
range requests"), docs/limits.md ("Ranges", "Event streams") and docs/events.md ("Resuming").
"""

from __future__ import annotations

import asyncio
import email
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.demo_server import demo_server

START_TIMEOUT_S = 60


@dataclass
class Served:
    base: str
    glb: bytes
    etag: str
    seqs: list[int]  # every stored event's seq, oldest first

    @property
    def url(self) -> str:
        return f"{self.base}/scenes/test01.glb"


@pytest.fixture(scope="module", params=["granian", "uvicorn"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp(f"conformance-{request.param}")
    with demo_server(tmp, request.param, json.dumps({"events": {"sse_heartbeat_s": 0.2}})) as (base, whole, _):
        deadline = time.monotonic() + START_TIMEOUT_S
        assert whole.status_code == 200, whole.text
        served = Served(base, whole.content, whole.headers["etag"], [])
        while not _settled(base):  # the demo's preview job stores the events the resume cases replay
            assert time.monotonic() < deadline, httpx.get(f"{base}/jobs").text
            time.sleep(0.2)
        while (seqs := _sse(served, {"Last-Event-ID": "0"})[1]) != served.seqs:  # the same twice: all stored
            served.seqs = seqs
            time.sleep(0.3)
        assert served.seqs, "the demo build stored no event"
        yield served


def _settled(base: str) -> bool:
    jobs = httpx.get(f"{base}/jobs").json()
    return bool(jobs) and all(job["status"] in {"Succeeded", "Failed", "Canceled"} for job in jobs)


def _parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    if not response.headers["content-type"].startswith("multipart/byteranges"):
        return [(response.headers["content-range"], response.content)]
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + response.content)
    return [(part["Content-Range"], part.get_payload(decode=True)) for part in message.get_payload()]


# (Range header, expected parts as (start, stop) slices of the file; "whole" for a 200 with the file; "416")
_N = "N"  # stands for the file's length in the table below
RANGES: list[tuple[str, str | list[tuple[int | str, int | str]]]] = [
    ("bytes=0-0", [(0, 1)]),
    ("bytes=-1", [(-1, _N)]),
    ("bytes=-0", "416"),
    ("bytes=-99999999", [(0, _N)]),  # suffix longer than the file: all of it
    ("bytes=5-", [(5, _N)]),
    ("bytes=N-", "416"),  # start at the length
    ("bytes=99999999-", "416"),
    ("bytes=10-99999999", [(10, _N)]),  # end past the length: clamped
    ("bytes=0-1,500-600", [(0, 2), (500, 601)]),  # multipart/byteranges, in the order asked
    ("bytes=500-600,0-1", [(500, 601), (0, 2)]),
    ("bytes=0-1,5-6", [(0, 7)]),  # closer than a part's headers: one range
    ("bytes=500-600,0-1,550-700", [(500, 701), (0, 2)]),  # overlapping, unsorted: coalesced
    ("bytes=0-,0-,0-", [(0, _N)]),
    ("bytes=0-1,99999999-", [(0, 2)]),  # the unsatisfiable one dropped
    ("bytes=" + ",".join(f"{i * 10}-{i * 10}" for i in range(300)), "whole"),  # over 64 ranges: ignored
    ("bytes=1-0", "whole"),  # last < first: invalid, ignored
    ("items=0-1", "whole"),  # another unit
    ("bytes=0-" + "9" * 25, [(0, _N)]),  # 25 digits
    ("bytes=" + "9" * 25 + "-", "416"),
    ("bytes=-" + "9" * 25, [(0, _N)]),
    ("bytes=-5-10", "whole"),  # negative positions are no syntax
    ("bytes=--5", "whole"),
    ("bytes=+1-2", "whole"),
    ("bytes=0x1-2", "whole"),
    ("bytes=", "whole"),
    ("bytes", "whole"),
    ("BYTES=0-1", [(0, 2)]),  # range units are case-insensitive
    ("bytes= 0-1", [(0, 2)]),
    ("bytes=0-1,\t 2-3", [(0, 4)]),
    ("bytes=0-1,,", [(0, 2)]),  # empty list elements
]


def _slice(n: int, bound: int | str) -> int:
    return n if bound == _N else int(bound)


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "expected"), RANGES, ids=[r[0][:40] for r in RANGES])
def test_range(served: Served, spec: str, expected: str | list[tuple[int | str, int | str]]) -> None:
    n = len(served.glb)
    response = httpx.get(served.url, headers={"range": spec.replace("N", str(n)) if spec == "bytes=N-" else spec})
    assert response.headers["etag"] == served.etag
    assert response.headers.get("accept-ranges", "bytes") == "bytes"
    if expected == "whole":
        assert (response.status_code, response.content) == (200, served.glb)
        assert response.headers["content-length"] == str(n)
    elif expected == "416":
        assert response.status_code == 416 and response.headers["content-range"] == f"bytes */{n}"
        assert response.headers["cache-control"] == "no-store"
    else:
        assert response.status_code == 206
        assert response.headers["content-length"] == str(len(response.content))
        wanted = []
        for a, b in expected:
            start = n - 1 if a == -1 else _slice(n, a)
            stop = min(_slice(n, b), n)
            wanted.append((f"bytes {start}-{stop - 1}/{n}", served.glb[start:stop]))
        assert _parts(response) == wanted


@pytest.mark.slow
def test_many_small_ranges_do_not_amplify(served: Served) -> None:
    """64 one-byte ranges (the most read): parts of a bounded size each, never the file many times over."""
    spec = "bytes=" + ",".join(f"{i * 100}-{i * 100}" for i in range(64))
    response = httpx.get(served.url, headers={"range": spec})
    assert response.status_code == 206
    assert len(response.content) < len(served.glb) + 64 * 160
    assert [body for _, body in _parts(response)] == [served.glb[i * 100 : i * 100 + 1] for i in range(64)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([("range", "bytes=0-1"), ("range", "bytes=5-6")], 200),  # a singleton field sent twice: ignored
        ([("range", "bytes=0-1"), ("if-range", "ETAG"), ("if-range", '"other"')], 200),
        ([("range", "bytes=0-1"), ("if-range", "ETAG")], 206),
    ],
)
def test_range_fields_on_several_lines(served: Served, lines: list[tuple[str, str]], status: int) -> None:
    """RFC 9110 §5.3: field lines of one name read as one value joined by commas — no range set, no entity-tag."""
    headers = [(name, value.replace("ETAG", served.etag)) for name, value in lines]
    response = httpx.get(served.url, headers=headers)
    assert response.status_code == status
    assert response.content == (served.glb if status == 200 else served.glb[:2])


def _raw(served: Served, fields: list[str]) -> tuple[str, bytes]:
    """One request written by hand (field values httpx would not send, such as leading whitespace): status line,
    body."""
    host, port = served.base.removeprefix("http://").split(":")
    request = ["GET /scenes/test01.glb HTTP/1.1", f"Host: {host}", *fields, "Connection: close", "", ""]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall("\r\n".join(request).encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode("latin-1"), body


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "status", "span"),
    [
        (["Range:   bytes=0-1  "], "206", (0, 2)),  # optional whitespace around the value (RFC 9112 §5)
        (["Range:\tbytes=-3\t"], "206", (-3, None)),
        (["If-None-Match:  ETAG  "], "304", None),
        (['If-None-Match: "a"', "If-None-Match: ETAG"], "304", None),  # a list field on two lines
        (["Range: bytes=0-1", "Range: bytes=5-6"], "200", (0, None)),
    ],
)
def test_fields_as_written_on_the_wire(
    served: Served, fields: list[str], status: str, span: tuple[int, int | None] | None
) -> None:
    line, body = _raw(served, [field.replace("ETAG", served.etag) for field in fields])
    assert line.split(" ")[1] == status, line
    assert body == (b"" if span is None else served.glb[span[0] : span[1]])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        ("ETAG", 206),
        ('"0000000000000000"', 200),
        ("W/ETAG", 200),  # a weak tag never lets a range apply
        ("Wed, 21 Oct 2015 07:28:00 GMT", 200),  # a date never matches (no Last-Modified)
        ("Wed, 21 Oct 2099 07:28:00 GMT", 200),
    ],
)
def test_if_range(served: Served, if_range: str, status: int) -> None:
    headers = {"range": "bytes=5-9", "if-range": if_range.replace("ETAG", served.etag)}
    response = httpx.get(served.url, headers=headers)
    assert response.status_code == status
    assert response.content == (served.glb[5:10] if status == 206 else served.glb)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"if-none-match": "ETAG"}, 304),
        ({"if-none-match": "*"}, 304),
        ({"if-none-match": '"a", ETAG'}, 304),
        ({"if-none-match": "W/ETAG"}, 304),  # weak comparison
        ({"if-none-match": '"a",W/ETAG'}, 304),
        ({"if-none-match": '"a"'}, 200),
        ({"if-none-match": '"a"', "if-modified-since": "Wed, 21 Oct 2099 07:28:00 GMT"}, 200),  # INM wins
        ({"if-none-match": "ETAG", "if-modified-since": "Wed, 21 Oct 2000 07:28:00 GMT"}, 304),
        ({"if-modified-since": "Wed, 21 Oct 2099 07:28:00 GMT"}, 200),  # no Last-Modified: ignored
        ({"if-unmodified-since": "Wed, 21 Oct 2000 07:28:00 GMT"}, 200),
        ({"if-none-match": "ETAG", "range": "bytes=0-1"}, 304),
        ({"if-match": '"0000000000000000"'}, 412),
        ({"if-match": "W/ETAG"}, 412),  # strong comparison
        ({"if-match": '"0000000000000000"', "if-none-match": "ETAG"}, 412),  # If-Match first
        ({"if-match": "ETAG"}, 200),
        ({"if-match": "*"}, 200),
    ],
)
def test_conditionals(served: Served, method: str, headers: dict[str, str], status: int) -> None:
    sent = {name: value.replace("ETAG", served.etag) for name, value in headers.items()}
    response = httpx.request(method, served.url, headers=sent)
    if status == 200 and "range" in sent and method == "GET":
        status = 206
    assert response.status_code == status
    assert response.headers["etag"] == served.etag
    if status == 304:
        assert response.content == b"" and response.headers["cache-control"] == "no-cache"
        assert "content-range" not in response.headers
    elif status == 412:
        assert response.headers["cache-control"] == "no-store"
    elif method == "HEAD":
        assert response.content == b"" and response.headers["content-length"] == str(len(served.glb))
    else:
        assert response.content == served.glb


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/scenes/test01.glb", "/scenes/test01/meta", "/scenes/test01@v1.glb", "ETAG"])
@pytest.mark.parametrize(
    "extra", [{}, {"range": "bytes=0-1"}, {"range": "bytes=99999999-"}, {"accept-encoding": "gzip"}]
)
def test_head_has_the_headers_of_the_whole_get(served: Served, path: str, extra: dict[str, str]) -> None:
    """HEAD answers the whole GET's headers (Range is for GET alone), no body; nothing is content-coded."""
    url = served.base + (f"/scenes/test01.{served.etag.strip(chr(34))}.glb" if path == "ETAG" else path)
    get = httpx.get(url, headers={"accept-encoding": extra.get("accept-encoding", "identity")})
    head = httpx.head(url, headers=extra)
    assert (head.status_code, head.content) == (200, b"")
    assert {k: v for k, v in head.headers.items() if k != "date"} == {
        k: v for k, v in get.headers.items() if k != "date"
    }
    assert "content-encoding" not in get.headers and int(get.headers["content-length"]) == len(get.content)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "path", ["/scenes/nope.glb", "/scenes/test01@v9.glb", "/scenes/nope/meta", "/assets/" + "0" * 64, "/nothing"]
)
def test_not_found_is_never_stored(served: Served, method: str, path: str) -> None:
    """A 404 is heuristically cacheable (RFC 9111 §4.2.2): it says ``no-store``, or a shared cache in front would
    answer the scene's URL with it after the scene is published, or to a caller whose credential may read it."""
    response = httpx.request(method, served.base + path)
    assert response.status_code == 404 and response.headers["cache-control"] == "no-store"


@pytest.mark.slow
@pytest.mark.parametrize("coding", ["gzip", "br", "gzip, deflate, br, zstd", "*"])
def test_no_content_coding_so_ranges_and_etags_are_of_the_file(served: Served, coding: str) -> None:
    whole = httpx.get(served.url, headers={"accept-encoding": coding})
    part = httpx.get(served.url, headers={"accept-encoding": coding, "range": "bytes=4-7"})
    assert "content-encoding" not in whole.headers and "content-encoding" not in part.headers
    assert (whole.content, whole.headers["etag"]) == (served.glb, served.etag)
    assert (part.status_code, part.content, part.headers["etag"]) == (206, served.glb[4:8], served.etag)


@pytest.mark.slow
def test_curl(served: Served, tmp_path: Path) -> None:
    """curl's own range and resume requests: ``-r``, ``-I``, and ``-C -`` finishing a file cut short."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    ranged = subprocess.run([curl, "-sS", "-r", "0-9", served.url], capture_output=True, check=True).stdout
    assert ranged == served.glb[:10]
    head = subprocess.run([curl, "-sS", "-I", served.url], capture_output=True, text=True, check=True).stdout
    assert head.startswith("HTTP/1.1 200") and f"content-length: {len(served.glb)}" in head.lower()
    out = tmp_path / "test01.glb"
    out.write_bytes(served.glb[:100])
    subprocess.run([curl, "-sS", "-f", "-C", "-", "-o", str(out), served.url], check=True)
    assert out.read_bytes() == served.glb


def _sse(served: Served, headers: dict[str, str], path: str = "/events") -> tuple[int, list[int], list[dict]]:
    """Status, the seqs replayed before the first heartbeat, and the ``stream.reset`` events (no ``id:``)."""
    seqs: list[int] = []
    resets: list[dict] = []
    with httpx.stream("GET", served.base + path, headers=headers, timeout=10) as stream:
        if stream.status_code != 200:
            stream.read()
            return stream.status_code, [], [stream.json()]
        for line in stream.iter_lines():
            if line.startswith(": ping"):  # the replay is done: the stream is idle
                break
            if line.startswith("id:"):
                seqs.append(int(line[3:]))
            elif line.startswith("data:") and '"stream.reset"' in line:
                resets.append(json.loads(line[5:]))
    return 200, seqs, resets


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/events", "/jobs/events/test01"])
def test_sse_resumes_after_last_event_id_exactly(served: Served, path: str) -> None:
    for after in [0, *served.seqs]:
        status, seqs, resets = _sse(served, {"Last-Event-ID": str(after)}, path)
        assert (status, seqs, resets) == (200, [s for s in served.seqs if s > after], [])
    # the header wins over ?since=
    status, seqs, _ = _sse(served, {"Last-Event-ID": str(served.seqs[-1])}, f"{path}?since=0")
    assert (status, seqs) == (200, [])


@pytest.mark.slow
@pytest.mark.parametrize(
    "value", ["abc", "-1", "1.5", "1e3", "0x10", "1 2", "9" * 30, str(2**63), "9" * 5000, "１".encode(), "٣".encode()]
)
def test_sse_bogus_last_event_id_is_422(served: Served, value: str | bytes) -> None:
    status, seqs, body = _sse(served, {"Last-Event-ID": value})  # type: ignore[dict-item]
    assert (status, seqs) == (422, [])
    assert body[0]["errors"][0]["path"] == "/header/Last-Event-ID"


@pytest.mark.slow
def test_sse_blank_last_event_id_is_no_position(served: Served) -> None:
    """EventSource sends no Last-Event-ID before it has an id; a blank one is read alike: live only, no replay."""
    assert _sse(served, {"Last-Event-ID": ""}) == (200, [], [])


@pytest.mark.slow
@pytest.mark.parametrize("value", [str(10**15), str(2**63 - 1)])
def test_sse_last_event_id_past_the_newest_is_reset_not_replay(served: Served, value: str) -> None:
    status, seqs, resets = _sse(served, {"Last-Event-ID": value})
    assert (status, seqs) == (200, [])
    assert [(r["reason"], r["since"], r["newest"], r["seq"]) for r in resets] == [
        ("ahead", int(value), served.seqs[-1], None)
    ]


def test_websocket_with_a_repeated_query_parameter_is_closed_with_4422_by_either_server(served: Served) -> None:
    """The refusal reaches a client over granian and uvicorn alike: the handshake succeeds, then the close frame
    carries 4422 and the reason naming the parameter (docs/events.md)."""

    async def closed() -> websockets.frames.Close | None:
        async with websockets.connect(served.base.replace("http", "ws") + "/ws?key=a&key=b") as socket:
            with pytest.raises(websockets.ConnectionClosed) as ended:
                await asyncio.wait_for(socket.recv(), 10)
        return ended.value.rcvd

    frame = asyncio.run(closed())
    assert frame is not None and frame.code == 4422 and "'key' is given 2 times" in frame.reason, frame


@pytest.mark.slow
def test_websocket_resumes_after_since_exactly(served: Served) -> None:
    async def subscribe(since: object) -> list[dict]:
        got: list[dict] = []
        async with websockets.connect(served.base.replace("http", "ws") + "/ws") as socket:
            await socket.send(json.dumps({"op": "subscribe", "sceneId": "test01", "since": since}))
            await socket.send(json.dumps({"op": "ping"}))  # answered after the replay
            while (message := json.loads(await asyncio.wait_for(socket.recv(), 10))).get("op") != "pong":
                if message.get("type") != "presence.update":
                    got.append(message)
        return got

    scene = served.seqs  # the demo's events are all test01's
    for after in [0, scene[len(scene) // 2], scene[-1]]:
        assert [m["seq"] for m in asyncio.run(subscribe(after))] == [s for s in scene if s > after]
    for bogus in ["abc", -1, 2**63, 1.5, True, "5"]:
        (error,) = asyncio.run(subscribe(bogus))
        assert error["type"] == "error" and "since" in error["message"]
    (reset,) = asyncio.run(subscribe(10**15))
    assert (reset["type"], reset["reason"], reset["seq"]) == ("stream.reset", "ahead", None)
