"""What a hostile client can make ``sceneforge serve`` hold, against the real server (granian and uvicorn).

* A request head past the server's bound is refused before it is read whole.
* A WebSocket frame longer than the server reads is refused from its header, before its payload:
  uvicorn closes with 1009 past :data:`~sceneforge.api.server.WS_MAX_BYTES`; granian, which has no
  setting for it, ends the connection past 16 MiB (docs/limits.md, "Event streams").
* A socket whose key is revoked closes with 4401 (a close sent while its reader waits for the client).
* Event streams past ``SCENEFORGE_MAX_STREAMS`` are refused (503, close 1013), every other request is
  still answered while the streams are held, and once the clients drop, the hub holds none of them.

Frames are written by hand on plain sockets: a client library would not send a header announcing more
than it sends, nor drop a connection without its close handshake.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sceneforge.api.server import MAX_HEAD_BYTES, WS_MAX_BYTES
from sceneforge.events.ws import MAX_MESSAGE_BYTES
from tests.support.servers import free_port, stop_process

pytestmark = pytest.mark.slow

SCRIPT = (
    "import sys; from sceneforge.api import run_server; from sceneforge.settings import Settings; "
    "run_server(Settings(storage={'data_dir': sys.argv[2]}), '127.0.0.1', int(sys.argv[1]), [])"
)
#: The event streams the servers of this module hold at most.
MAX_STREAMS = 3
#: The largest frame granian (tungstenite's default) reads.
GRANIAN_MAX_FRAME = 16 << 20
#: Seconds a server may take to start, or to answer: only a hang fails on it.
TIMEOUT_S = 60.0


@dataclass
class Served:
    kind: str
    port: int
    data: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def streams(self) -> float:
        """The ``sceneforge_event_streams`` gauge of ``/metrics``."""
        text = httpx.get(f"{self.url}/metrics", timeout=TIMEOUT_S).text
        return next(
            float(line.split()[1]) for line in text.splitlines() if line.startswith("sceneforge_event_streams ")
        )

    def wait_streams(self, count: int) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while self.streams() != count:
            assert time.monotonic() < deadline, f"the server still holds {self.streams()} streams, not {count}"
            time.sleep(0.05)


@pytest.fixture(scope="module", params=["granian", "uvicorn"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp(f"serve-{request.param}")
    port = free_port()
    env = {**os.environ, "SCENEFORGE_SERVER": request.param, "SCENEFORGE_MAX_STREAMS": str(MAX_STREAMS)}
    env["SCENEFORGE_WORKERS"] = "1"
    with (tmp / "server.log").open("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(port), str(tmp / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
            start_new_session=True,  # its own process group: granian's worker goes with it (stop_process)
        )
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
                    time.sleep(0.2)
            yield Served(request.param, port, tmp / "data")
        finally:
            stop_process(proc)


# --- plain-socket WebSocket and SSE clients ------------------------------------------------------


class RawSocket:
    """One client connection: what it received and not yet read is kept in ``buffer``."""

    def __init__(self, port: int, request: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock.sendall(request)
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            got = self.sock.recv(65536)
            assert got, f"the connection ended before the response headers: {self.buffer!r}"
            self.buffer += got
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ", 2)[1])
        self.head = head.decode("latin-1")

    def read(self, count: int) -> bytes | None:
        """``count`` more bytes, None when the connection ends first."""
        while len(self.buffer) < count:
            try:
                got = self.sock.recv(65536)
            except ConnectionResetError:
                got = b""
            if not got:
                return None
            self.buffer += got
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def drop(self) -> None:
        """Gone without a word: no close frame, a reset rather than a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def ws_connect(port: int, path: str = "/ws") -> RawSocket:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    conn = RawSocket(port, request.encode())
    assert conn.status == 101, conn.head
    return conn


def frame_header(length: int, opcode: int = 1) -> bytes:
    """A final client frame's header announcing ``length`` bytes of payload, with a zero mask (payload as is)."""
    if length < 126:
        size = struct.pack("!B", 0x80 | length)
    elif length < 1 << 16:
        size = struct.pack("!BH", 0x80 | 126, length)
    else:
        size = struct.pack("!BQ", 0x80 | 127, length)
    return bytes([0x80 | opcode]) + size + b"\0\0\0\0"


def ws_send(conn: RawSocket, text: str) -> None:
    payload = text.encode()
    conn.sock.sendall(frame_header(len(payload)) + payload)


def ws_frame(conn: RawSocket) -> tuple[int, bytes] | None:
    """The server's next frame but pings and pongs (opcode, payload); None when the connection ended instead."""
    while True:
        head = conn.read(2)
        if head is None:
            return None
        length = head[1] & 0x7F
        if length == 126:
            extended = conn.read(2)
            length = struct.unpack("!H", extended)[0] if extended else 0
        elif length == 127:
            extended = conn.read(8)
            length = struct.unpack("!Q", extended)[0] if extended else 0
        payload = conn.read(length)
        if payload is None:
            return None
        if head[0] & 0x0F not in {9, 10}:  # uvicorn pings idle sockets
            return head[0] & 0x0F, payload


def ws_reply(conn: RawSocket) -> dict[str, object]:
    """The next text message (presence updates skipped)."""
    while True:
        frame = ws_frame(conn)
        assert frame is not None and frame[0] == 1, frame
        message = json.loads(frame[1])
        if message.get("type") != "presence.update":
            return message  # type: ignore[no-any-return]


def close_code(frame: tuple[int, bytes] | None) -> int | None:
    """The code of a close frame (None for a close without one, or for no frame at all)."""
    assert frame is None or frame[0] == 8, f"a close frame, not {frame!r}"
    return struct.unpack("!H", frame[1][:2])[0] if frame is not None and len(frame[1]) >= 2 else None


def sse_open(port: int, path: str = "/events") -> RawSocket:
    return RawSocket(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())


def assert_healthy(served: Served) -> None:
    assert httpx.get(f"{served.url}/healthz", timeout=TIMEOUT_S).json() == {"status": "ok"}
    conn = ws_connect(served.port)
    ws_send(conn, '{"op": "ping"}')
    assert ws_reply(conn) == {"op": "pong"}
    conn.drop()


# --- WebSocket messages --------------------------------------------------------------------------


def test_ws_message_over_the_app_limit_gets_an_error_reply(served: Served) -> None:
    conn = ws_connect(served.port)
    ws_send(conn, "x" * (MAX_MESSAGE_BYTES + 1))
    assert ws_reply(conn) == {
        "type": "error",
        "message": f"a message is at most {MAX_MESSAGE_BYTES} characters of JSON",
    }
    ws_send(conn, '{"op": "ping"}')
    assert ws_reply(conn) == {"op": "pong"}
    conn.drop()


def test_ws_frame_longer_than_the_server_reads_is_refused_from_its_header(served: Served) -> None:
    """The header alone is sent: the server refuses what it announces without waiting for (or holding) the payload."""
    conn = ws_connect(served.port)
    most = WS_MAX_BYTES if served.kind == "uvicorn" else GRANIAN_MAX_FRAME
    conn.sock.sendall(frame_header(most + 1))
    answer = ws_frame(conn)
    if served.kind == "uvicorn":
        assert close_code(answer) == 1009  # message too big
    else:  # granian ends the connection, with a close frame without a code
        assert close_code(answer) is None
    assert ws_frame(conn) is None  # and nothing after it
    conn.drop()
    assert_healthy(served)


def test_ws_message_the_app_could_accept_is_read_whole(served: Served) -> None:
    """Every message of MAX_MESSAGE_BYTES characters reaches the app, however many bytes of UTF-8 they take."""
    conn = ws_connect(served.port)
    text = json.dumps({"op": "ping", "pad": "\U0001f600" * (MAX_MESSAGE_BYTES - 100)}, ensure_ascii=False)
    assert len(text) <= MAX_MESSAGE_BYTES < len(text.encode()) <= WS_MAX_BYTES  # 4 bytes of UTF-8 a character
    ws_send(conn, text)
    assert ws_reply(conn) == {"op": "pong"}
    conn.drop()


# --- request heads -------------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["header", "target"])
def test_request_head_past_the_server_bound_is_refused(served: Served, part: str) -> None:
    """granian refuses a head past about 460 KiB (431) and a target past 65,534 bytes (414); uvicorn, a head past
    MAX_HEAD_BYTES (400): neither reads on without bound (httptools read 64 MiB of one header)."""
    big = b"a" * (1 << 20)
    head = b"GET /healthz?" + big if part == "target" else b"GET /healthz"
    head += b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (b"X-Big: " + big + b"\r\n" if part == "header" else b"") + b"\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT_S) as sock:
        with contextlib.suppress(ConnectionError):  # the server may close before it took every byte
            sock.sendall(head)
        status = sock.recv(64).split(b" ", 2)[1]
    assert status in {b"400", b"414", b"431"}
    assert_healthy(served)


@pytest.mark.parametrize("value", [b"a\x01b", b"\x7f", b"a\x00b"])
def test_header_with_a_raw_control_character_is_400(served: Served, value: bytes) -> None:
    """A control character sent raw in a field value (RFC 9110 §5.5 leaves them out) is refused by granian's
    parser (400) before the app reads the request (docs/limits.md); uvicorn's h11 refuses NUL and hands the
    others to the app (which stores them as spaces). Either way the server goes on serving."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Change-Reason: " + value + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT_S) as sock:
        with contextlib.suppress(ConnectionError):
            sock.sendall(head)
        status = sock.recv(64).split(b" ", 2)[1]
    assert status == (b"400" if served.kind == "granian" or b"\x00" in value else b"200")
    assert_healthy(served)


def _read_until_closed(sock: socket.socket, wait_s: float) -> tuple[bytes, bool]:
    """What the server sent on ``sock``, and whether it closed the connection within ``wait_s`` of its last bytes."""
    sock.settimeout(wait_s)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except TimeoutError:
        return got, False
    except ConnectionError:
        pass
    return got, True


def test_content_length_beside_transfer_encoding_is_never_read_two_ways(served: Served) -> None:
    """A request with both Content-Length and Transfer-Encoding (request smuggling: a proxy going by the length
    passes on as one body what a server going by the chunks reads as a second request). uvicorn handed both headers
    to the app, read the chunks, kept the connection and answered the request hidden in the body; it is now a
    problem+json 400 (``framing_ambiguous``) that closes the connection. granian drops Content-Length itself,
    reads the chunks and closes after its answer (RFC 9112 §6.1): the hidden request is never answered either."""
    hidden = b"GET /scenes/smuggled/draft HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = b"0\r\n\r\n" + hidden
    head = (
        b"POST /scenes/framing/draft HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(head + body)
        got, closed = _read_until_closed(sock, 10.0)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", got)  # a body need not end its line: the next answer follows it
    assert len(statuses) == 1 and closed, got[:2000]
    if served.kind == "uvicorn":
        assert statuses == [b"400"], got[:2000]
        problem = json.loads(got.split(b"\r\n\r\n", 1)[1])
        assert problem["code"] == "framing_ambiguous" and "Content-Length and Transfer-Encoding" in problem["detail"]
    assert_healthy(served)


def _h2_frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _hpack_int(value: int, prefix_bits: int) -> bytes:
    most = (1 << prefix_bits) - 1
    if value < most:
        return bytes([value])
    out, value = [most], value - most
    while value >= 128:
        out.append(value & 127 | 128)
        value >>= 7
    return bytes([*out, value])


def _hpack_literal(name: bytes, value: bytes) -> bytes:
    """A header field as an HPACK literal without indexing, neither part Huffman-coded (RFC 7541 §6.2.2)."""
    return b"\0" + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value


#: HPACK's Huffman codes of the digits (RFC 7541, Appendix B): a ``:status`` needs no more.
_HUFFMAN_DIGITS = {"00000": "0", "00001": "1", "00010": "2", "011001": "3", "011010": "4", "011011": "5"}
_HUFFMAN_DIGITS |= {"011100": "6", "011101": "7", "011110": "8", "011111": "9"}
#: The static table's ``:status`` entries (RFC 7541, Appendix A).
_STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}


def _h2_status(block: bytes) -> int:
    """The ``:status`` that opens a response's header block (the server sends it first, RFC 9113 §8.3)."""
    if block[0] & 0x80:  # indexed field
        return _STATIC_STATUS[block[0] & 0x7F]
    assert block[0] & 0x3F == 8 or block[0] & 0x0F == 8, f"a literal :status, not {block[:8]!r}"
    length, raw = block[1] & 0x7F, block[2 : 2 + (block[1] & 0x7F)]
    if not block[1] & 0x80:
        return int(raw[:length])
    bits, digits, code = "".join(f"{byte:08b}" for byte in raw), "", ""
    for bit in bits:
        code += bit
        if code in _HUFFMAN_DIGITS:
            digits, code = digits + _HUFFMAN_DIGITS[code], ""
    return int(digits)  # what is left in `code` is the padding of 1s


def _h2_response_status(sock: socket.socket, stream: int) -> int:
    """Read frames until the response headers of ``stream``; their ``:status``."""
    received = b""
    while True:
        while len(received) < 9 or len(received) < 9 + int.from_bytes(received[:3], "big"):
            got = sock.recv(65536)
            assert got, "the connection ended before the response"
            received += got
        length, kind, flags = int.from_bytes(received[:3], "big"), received[3], received[4]
        frame_stream = int.from_bytes(received[5:9], "big") & 0x7FFFFFFF
        payload, received = received[9 : 9 + length], received[9 + length :]
        assert kind != 7, f"GOAWAY {payload!r}"
        if kind == 1 and frame_stream == stream:
            assert not flags & 0x28, "no padding or priority in a response's HEADERS"
            return _h2_status(payload)


def test_http2_header_list_past_the_bound_is_refused(served: Served) -> None:
    """Over HTTP/2 (h2c, which granian speaks beside HTTP/1.1), a header list is bounded by MAX_HEAD_BYTES, as it
    is over HTTP/1.1: granian's default took 16 MiB and kept it for the life of the request, an event stream's
    included. uvicorn speaks HTTP/1.1 only: it answers the HTTP/2 preface as an HTTP/1.1 request (a 4xx, for
    method PRI and target *) and holds nothing."""
    if served.kind != "granian":
        with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT_S) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _h2_frame(4, 0, 0, b""))
            reply = sock.recv(4096)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 4"), reply[:80]
        assert_healthy(served)
        return
    statuses = []
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _h2_frame(4, 0, 0, b""))  # preface, empty SETTINGS
        for stream, size in [(1, 1000), (3, MAX_HEAD_BYTES + 1000)]:
            fields = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/healthz"), (b":authority", b"x")]
            block = b"".join(_hpack_literal(name, value) for name, value in [*fields, (b"x-big", b"a" * size)])
            # in frames of at most 16 KiB (the default SETTINGS_MAX_FRAME_SIZE): HEADERS, then CONTINUATIONs
            parts = [block[at : at + 16384] for at in range(0, len(block), 16384)]
            frames = [_h2_frame(1, 0x1 | (0x4 if len(parts) == 1 else 0), stream, parts[0])]  # END_STREAM, END_HEADERS
            frames += [_h2_frame(9, 0x4 if n == len(parts) - 1 else 0, stream, p) for n, p in enumerate(parts) if n]
            sock.sendall(b"".join(frames))
            statuses.append(_h2_response_status(sock, stream))
    assert statuses == [200, 431]
    assert_healthy(served)


def _keys(served: Served, *args: str) -> str:
    """``sceneforge keys …`` on the server's data folder: its stdout."""
    command = [sys.executable, "-m", "sceneforge.cli", "keys", *args, "--data", str(served.data)]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout


def test_ws_of_a_revoked_key_closes_with_4401(served: Served) -> None:
    """docs/events.md: a socket opened with a key that is then revoked closes with 4401 before it sends anything
    more. The close is sent while the connection's reader waits for the client's next message: granian held it
    behind that pending receive, so the socket stayed open and silent (its events and replies dropped) for as
    long as the client kept it."""
    name = f"ws-revoked-{served.kind}"
    key = _keys(served, "create", "--scope", "read", "--name", name).strip().splitlines()[-1]
    conn = ws_connect(served.port, f"/ws?key={key}")
    try:
        ws_send(conn, '{"op": "subscribe", "sceneId": "room"}')
        ws_send(conn, '{"op": "ping"}')
        assert ws_reply(conn) == {"op": "pong"}
        [key_id] = [k["id"] for k in json.loads(_keys(served, "list", "--all", "--json")) if k["name"] == name]
        _keys(served, "revoke", str(key_id))
        time.sleep(1.2)  # past the credential's recheck interval (RECHECK_S)
        conn.sock.settimeout(10)  # a close held back waits for the client: no hang of the whole test
        ws_send(conn, '{"op": "ping"}')  # its pong is not sent: the check before it finds the key revoked
        assert close_code(ws_frame(conn)) == 4401
    finally:
        conn.drop()
    assert_healthy(served)


# --- how many streams ----------------------------------------------------------------------------


def test_streams_past_the_limit_are_refused_and_dropped_ones_are_released(served: Served) -> None:
    served.wait_streams(0)
    for _ in range(2):  # twice: what the first clients held was given back
        held = [sse_open(served.port), sse_open(served.port, "/jobs/events/room"), ws_connect(served.port)]
        assert [conn.status for conn in held] == [200, 200, 101]
        served.wait_streams(MAX_STREAMS)

        refused = sse_open(served.port)
        assert refused.status == 503 and "retry-after: 5" in refused.head.lower()
        body = refused.read(int(refused.head.lower().split("content-length: ")[1].split("\r\n")[0]))
        problem = json.loads(body or b"{}")
        assert problem["limit"] == "SCENEFORGE_MAX_STREAMS" and str(MAX_STREAMS) in problem["detail"]
        refused.drop()
        socket_refused = ws_connect(served.port)
        assert close_code(ws_frame(socket_refused)) == 1013  # try again later
        socket_refused.drop()

        # the streams hold no connection slot another request needs
        assert httpx.get(f"{served.url}/healthz", timeout=TIMEOUT_S).status_code == 200
        for conn in held:
            conn.drop()
        served.wait_streams(0)
    assert_healthy(served)


def test_run_server_gives_granian_slots_beyond_the_streams(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """granian serves ``backpressure`` connections at once and leaves the others unanswered: the streams, capped by
    SCENEFORGE_MAX_STREAMS, must not be able to take every one of them."""
    import granian

    from sceneforge.api import server
    from sceneforge.settings import Settings

    made: dict[str, object] = {}

    class FakeGranian:
        def __init__(self, target: str, **options: object) -> None:
            made.update(options)

        def serve(self, **_options: object) -> None:
            pass

    async def prepared(*_args: object) -> str:
        return "key"

    monkeypatch.setattr(granian, "Granian", FakeGranian)
    monkeypatch.setattr(server, "_prepare", prepared)
    settings = Settings(storage={"data_dir": tmp_path}, events={"max_streams": 7})
    server.run_server(settings, "127.0.0.1", 1, [])
    assert made["backpressure"] == 7 + server.REQUEST_CONNECTIONS
