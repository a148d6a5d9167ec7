"""A scripted OpenAI-compatible Chat Completions server on loopback, for the assist tests.

Real HTTP (``http.server`` in a thread); each ``POST /v1/chat/completions`` with ``stream: true``
takes the next :class:`Reply` of the script and answers it as Server-Sent Events shaped exactly
as the streaming API sends them: ``chat.completion.chunk`` objects whose ``delta`` carries
``role``, ``content``, ``reasoning_content`` (or ``reasoning``), ``tool_calls`` fragments (id,
type and name first, the arguments split across chunks), then a chunk with ``finish_reason``
and ``data: [DONE]``. A reply may ``hold`` mid-stream until the test releases it (or the client
goes away), to cancel or kill the service while the model is "typing" (or, ``silent``, without a
keep-alive: an endpoint gone quiet); ``raw`` streams given bytes instead (a hostile endpoint),
``reset`` ends the connection with a TCP reset, and ``hang`` keeps it open, silent, after the body.
Every request body is kept in :attr:`ScriptedLlm.requests` so tests check what the model was sent
(the tool results).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedLlm", "tool_call"]


@dataclass
class Reply:
    """One streamed completion: the pieces in order, then ``finish_reason``."""

    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    #: ``(name, argument fragments)`` per tool call.
    calls: list[tuple[str, list[str]]] = field(default_factory=list)
    #: ``reasoning_content`` (vLLM, llama.cpp) or ``reasoning`` (Ollama, OpenRouter).
    reasoning_field: str = "reasoning_content"
    #: Stop after this many content pieces and wait for :meth:`ScriptedLlm.release` (None: never).
    hold_after: int | None = None
    finish_reason: str | None = None
    #: Answer with this HTTP status and an OpenAI-style error instead of a stream.
    status: int = 200
    #: The error's message when ``status`` is not 200.
    error: str = "scripted failure"
    #: The error answer's whole body instead (sent without a length, then the connection closed), and its
    #: ``Content-Encoding``.
    error_body: bytes | None = None
    error_encoding: str = ""
    #: Stream these bytes as the whole body instead (a hostile endpoint: malformed events, padding, …).
    raw: bytes | None = None
    #: While held (``hold_after``), send nothing at all instead of a keep-alive comment now and then.
    silent: bool = False
    #: After the body, reset the connection (TCP RST) instead of closing it.
    reset: bool = False
    #: After the body, send nothing more and keep the connection open until released (a stream never ended).
    hang: bool = False
    #: The stream's ``Content-Type`` (a server that ignores ``stream: true`` answers ``application/json``).
    content_type: str = "text/event-stream"


def tool_call(name: str, arguments: dict[str, Any], pieces: int = 3) -> tuple[str, list[str]]:
    """A tool call whose JSON arguments arrive in ``pieces`` fragments (split inside strings and numbers)."""
    text = json.dumps(arguments)
    step = max(1, -(-len(text) // pieces))
    return name, [text[i : i + step] for i in range(0, len(text), step)]


class ScriptedLlm:
    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.replies = list(replies or [])
        self.requests: list[dict[str, Any]] = []
        self.released = threading.Event()
        self.holding = threading.Event()
        self.lock = threading.Lock()
        self.disconnected = threading.Event()
        handler = type("Handler", (_Handler,), {"llm": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLlm:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def release(self) -> None:
        self.released.set()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.requests.append(body)
            if not self.replies:
                return Reply(content=["(the script has no more replies)"], finish_reason="stop")
            return self.replies.pop(0)


class _Handler(BaseHTTPRequestHandler):
    llm: ScriptedLlm
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions" or self.headers.get("authorization") != "Bearer test-key":
            return self._json(404 if self.path != "/v1/chat/completions" else 401, {"error": {"message": "no"}})
        reply = self.llm.next_reply(body)
        if reply.status != 200 and reply.error_body is not None:
            return self._raw_error(reply)
        if reply.status != 200:
            return self._json(reply.status, {"error": {"message": reply.error, "type": "server_error"}})
        self.send_response(200)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if reply.raw is not None:
                self.wfile.write(reply.raw)
                self.wfile.flush()
            else:
                self._stream(reply, body.get("model", "scripted"))
            if reply.hang:
                self.llm.released.wait()
            if reply.reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
        except (BrokenPipeError, ConnectionResetError):
            self.llm.disconnected.set()
        self.close_connection = True

    def _raw_error(self, reply: Reply) -> None:
        assert reply.error_body is not None
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        if reply.error_encoding:
            self.send_header("Content-Encoding", reply.error_encoding)
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading: as it should
            self.wfile.write(reply.error_body)
        self.close_connection = True

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> None:
        chunk = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()

    def _stream(self, reply: Reply, model: str) -> None:
        self._chunk(model, {"role": "assistant", "content": ""})
        for piece in reply.reasoning:
            self._chunk(model, {reply.reasoning_field: piece})
        for i, piece in enumerate(reply.content):
            if reply.hold_after is not None and i == reply.hold_after:
                self.llm.holding.set()
                while not self.llm.released.wait(0.05 if not reply.silent else None):
                    self.wfile.write(b": keep-alive\n\n")  # a closed client shows up as a broken pipe here
                    self.wfile.flush()
            self._chunk(model, {"content": piece})
        for index, (name, fragments) in enumerate(reply.calls):
            head = {"index": index, "id": f"call_{index}_{name}", "type": "function"}
            self._chunk(model, {"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
            for fragment in fragments:
                self._chunk(model, {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        finish = reply.finish_reason or ("tool_calls" if reply.calls else "stop")
        self._chunk(model, {}, finish)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
