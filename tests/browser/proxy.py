"""A loopback TCP proxy in front of the server that can cut a live SSE stream once, mid-build.

The browser talks to the proxy; the proxy forwards bytes both ways and notes each request line.
Armed with a pattern, it forwards a ``/jobs/events/`` stream (or the streams ``stream`` names)
up to the end of the first event whose bytes contain the pattern, then closes both sides of that
connection: to the page it is a dropped network connection, while the server (and the build) carry on.

It also tells a test when things happened, not after how long: :attr:`CuttingProxy.opened` lists
the requests whose response has begun to come back (for an event stream: the server has
subscribed it, docs/events.md), and :meth:`CuttingProxy.hold` keeps matching requests from the
server until the test lets them go.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["CuttingProxy", "cutting_proxy"]

_LAST_EVENT_ID = re.compile(rb"\r\nLast-Event-ID: *(\d+)", re.IGNORECASE)
_REQUEST_LINE = re.compile(rb"^(GET|POST|HEAD|PUT|DELETE|OPTIONS) (\S+) HTTP/1\.[01]\r\n", re.MULTILINE)
_EVENT_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)


class CuttingProxy:
    def __init__(self, upstream_port: int, cut_after: bytes, stream: str = "GET /jobs/events/") -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        #: Start of the request line (method and path) of the streams that may be cut.
        self.stream = stream
        self.armed = True
        #: Request targets seen, in order (``GET /jobs/events/x?since=3``).
        self.requests: list[str] = []
        #: The last event id forwarded on the stream that was cut (None until the cut).
        self.cut_at_seq: int | None = None
        #: Request targets (as in :attr:`requests`) whose response has begun to come back, in order.
        self.opened: list[str] = []
        #: Requests whose target starts with a key wait for its event before they go to the server.
        self._held: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            path: list[str] = [""]
            threading.Thread(target=self._client_to_server, args=(client, upstream, path), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(upstream, client, path), daemon=True).start()

    def hold(self, prefix: str) -> threading.Event:
        """Keep every request whose target (``GET /path?query``) starts with ``prefix`` from the server
        until the returned event is set; the request counts in :attr:`requests` when it arrives."""
        with self._lock:
            return self._held.setdefault(prefix, threading.Event())

    def responded(self, prefix: str) -> bool:
        """Whether the response to a request whose target starts with ``prefix`` has begun to come back."""
        with self._lock:
            return any(target.startswith(prefix) for target in self.opened)

    def _client_to_server(self, client: socket.socket, upstream: socket.socket, path: list[str]) -> None:
        try:
            while data := client.recv(65536):
                gate = None
                for match in _REQUEST_LINE.finditer(data):
                    target = f"{match.group(1).decode()} {match.group(2).decode()}"
                    # EventSource's own reconnection resumes with this header rather than ?since=.
                    head_end = data.find(b"\r\n\r\n", match.end())
                    if resume := _LAST_EVENT_ID.search(data, match.end() - 2, head_end if head_end >= 0 else len(data)):
                        target += f" Last-Event-ID={resume.group(1).decode()}"
                    path[0] = target
                    with self._lock:
                        self.requests.append(target)
                        gate = next((e for prefix, e in self._held.items() if target.startswith(prefix)), gate)
                if gate is not None:
                    while not gate.wait(0.05) and not self._closed:
                        pass
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def _server_to_client(self, upstream: socket.socket, client: socket.socket, path: list[str]) -> None:
        stream = bytearray()
        answering = ""
        try:
            while data := upstream.recv(65536):
                if path[0] != answering:  # the first bytes of the response to this connection's latest request
                    answering = path[0]
                    with self._lock:
                        self.opened.append(answering)
                if self.armed and path[0].startswith(self.stream):
                    stream += data
                    at = stream.find(self.cut_after)
                    end = stream.find(b"\n\n", at) if at >= 0 else -1
                    if end >= 0:
                        keep = len(data) - (len(stream) - (end + 2))
                        client.sendall(data[:keep])
                        ids = _EVENT_ID.findall(bytes(stream[: end + 2]))
                        with self._lock:
                            self.armed = False
                            self.cut_at_seq = int(ids[-1]) if ids else None
                        return
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            _close(*self._sockets)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            sock.close()


@contextmanager
def cutting_proxy(upstream_port: int, cut_after: bytes, stream: str = "GET /jobs/events/") -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(upstream_port, cut_after, stream)
    try:
        yield proxy
    finally:
        proxy.close()
