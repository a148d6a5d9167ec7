"""Jobs and events through the real app (Starlette TestClient): REST codes, SSE replay, WebSocket presence."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sceneforge.api import create_app
from sceneforge.settings import Settings

with warnings.catch_warnings():
    # Starlette suggests its httpx fork; plain httpx drives the test client just as well.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ..jobs.conftest import description


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        storage={"data_dir": tmp_path},
        auth={"write_rate": 0},
        jobs={"workers": 1, "poll_s": 0.1},
    )
    app = create_app(settings)
    with TestClient(app) as client:
        key, _ = client.portal.call(app.state.services.keys.create, "write")
        yield client, {"X-API-Key": key}


def _wait_job(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in {"Succeeded", "Failed", "Canceled"}:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_enqueue_needs_write_scope_and_valid_body(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    assert http.post("/jobs/enqueue", content=description("a")).status_code == 401
    bad = http.post("/jobs/enqueue", content=b'{"sceneId": "!", "cells": []}', headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"]
    assert http.get("/jobs").json() == []


def test_job_lifecycle_over_http(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    reply = http.post("/jobs/enqueue?priority=3", content=description("hall"), headers=auth)
    assert reply.status_code == 200
    job = _wait_job(http, reply.json()["jobId"])
    assert job["status"] == "Succeeded" and job["priority"] == 3
    assert set(job["result"]) == {"eTag", "bytes", "version", "published", "warnings"}
    assert job["result"]["published"] is True
    assert http.get("/scenes/hall.glb").headers["etag"].strip('"') == job["result"]["eTag"]
    assert http.post(f"/jobs/{job['jobId']}/cancel", headers=auth).status_code == 409
    assert http.post("/jobs/nope/cancel", headers=auth).status_code == 404
    assert http.get("/jobs/nope").status_code == 404
    assert [j["jobId"] for j in http.get("/jobs?take=1&type=build").json()] == [job["jobId"]]
    assert http.get("/jobs?take=0").status_code == 422 and http.get("/jobs?take=501").status_code == 422


def test_sse_replays_from_last_event_id(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    job = _wait_job(http, http.post("/jobs/enqueue", content=description("sse"), headers=auth).json()["jobId"])
    assert job["status"] == "Succeeded"
    seqs: list[int] = []
    with http.stream("GET", "/jobs/events/sse", headers={"Last-Event-ID": "1"}) as stream:
        for line in stream.iter_lines():
            if line.startswith("id: "):
                seqs.append(int(line[4:]))
            if line.startswith("event: scene.built"):
                break
    assert seqs and seqs[0] == 2 and seqs == sorted(set(seqs))


def test_websocket_subscribe_presence_and_disconnect(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    with http.websocket_connect("/ws") as viewer, http.websocket_connect("/ws") as other:
        viewer.send_json({"op": "subscribe", "sceneId": "room", "since": 0})
        assert viewer.receive_json()["type"] == "presence.update"
        other.send_json({"op": "subscribe", "sceneId": "room"})
        other.send_json({"op": "presence", "sceneId": "room", "state": {"camera": [1, 2, 3]}})
        # The join and the state may come as one update or two (a scene's updates are batched every 0.1 s).
        seen = viewer.receive_json()
        while {"camera": [1, 2, 3]} not in [v["state"] for v in seen["viewers"]]:
            assert seen["type"] == "presence.update"
            seen = viewer.receive_json()
        assert seen["type"] == "presence.update" and len(seen["viewers"]) == 2
        other.send_json({"op": "ping"})
        while other.receive_json().get("op") != "pong":
            pass
        other.close()
        after = viewer.receive_json()
        assert after["type"] == "presence.update" and len(after["viewers"]) == 1
        http.post("/jobs/enqueue", content=description("room"), headers=auth)
        types = []
        while "scene.built" not in types:
            message = viewer.receive_json()
            types.append(message["type"])
            assert message["sceneId"] == "room"
        assert types[0] == "job.status" and json.dumps(message)


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose SSE heartbeats come every 0.05 s: a stream asks for its credential at each."""
    settings = Settings(
        storage={"data_dir": tmp_path},
        auth={"write_rate": 0},
        jobs={"workers": 1, "poll_s": 0.1},
        events={"sse_heartbeat_s": 0.05},
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_revoked_key_ends_the_sse_stream_it_opened(quick: TestClient) -> None:
    keys = quick.app.state.services.keys  # type: ignore[attr-defined]
    key, record = quick.portal.call(keys.create, "read")
    with quick.stream("GET", "/events", headers={"X-API-Key": key}) as stream:
        lines = stream.iter_lines()
        beats = 0
        for line in lines:  # open, and kept open while the key is live
            beats += line.startswith(":")
            if beats == 3:
                break
        quick.portal.call(keys.revoke, record.id)
        rest, ended = [], False
        for line in lines:  # the stream ends on its own: the next check finds the key revoked
            rest.append(line)
            if len(rest) > 4000:  # ~100 s of heartbeats: it does not end
                break
        else:
            ended = True
    assert beats == 3 and ended and all(line.startswith(":") or not line for line in rest)
    assert quick.get("/events", headers={"X-API-Key": key}).status_code == 401


def test_a_revoked_key_closes_the_websocket_it_opened(quick: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    keys = quick.app.state.services.keys  # type: ignore[attr-defined]
    key, record = quick.portal.call(keys.create, "read")
    with quick.websocket_connect(f"/ws?key={key}") as socket:
        socket.send_json({"op": "ping"})
        assert socket.receive_json() == {"op": "pong"}
        quick.portal.call(keys.revoke, record.id)
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(600):  # a ping a while: answered until the key's next check, then closed
                socket.send_json({"op": "ping"})
                assert _reply(socket) == {"op": "pong"}
                time.sleep(0.05)
    assert closed.value.code == 4401


def _reply(socket: Any) -> Any:
    """The socket's next message but its heartbeats (an idle socket of ``quick`` is sent one every 0.05 s)."""
    while (message := socket.receive_json()) == {"op": "heartbeat"}:
        pass
    return message


@pytest.mark.parametrize("query", ["key=sfk_not-a-key", "token=not.a.jwt"])
def test_a_refused_websocket_credential_closes_with_4401(quick: TestClient, query: str) -> None:
    """docs/events.md: a refused credential closes the socket with 4401. A close sent before the accept is, in
    ASGI, an HTTP 403 that ends the handshake: a client saw a failed connection (a browser: 1006), never 4401,
    and 403 where docs/security.md says 401. The socket is accepted, then closed with 4401."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"} if not sent else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "query_string": query.encode(), "headers": [],
             "scheme": "ws", "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": "",
             "subprotocols": [], "asgi": {"version": "3.0"}, "state": {}}  # fmt: skip
    quick.portal.call(quick.app, scope, receive, send)
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]
    assert sent[1]["code"] == 4401


def test_a_repeated_query_parameter_closes_the_websocket_with_4422(quick: TestClient) -> None:
    """docs/api.md: a query parameter given twice is refused whatever the route. ``/ws?key=a&key=b`` was served
    with the last key (FastAPI's reading; a proxy or log in front may go by the first): the handshake is accepted,
    as for a refused credential, then closed with 4422 naming the parameter — a valid key given twice included."""
    from starlette.websockets import WebSocketDisconnect

    key, _ = quick.portal.call(quick.app.state.services.keys.create, "read")  # type: ignore[attr-defined]
    for query in (f"key={key}&key={key}", f"key=sfk_not-a-key&key={key}", "token=a&token=b", f"x=1&key={key}&x=2"):
        with quick.websocket_connect(f"/ws?{query}") as socket, pytest.raises(WebSocketDisconnect) as closed:
            socket.send_json({"op": "ping"})
            socket.receive_json()
        name = query.split("=", 1)[0]
        assert closed.value.code == 4422 and f"'{name}' is given 2 times" in closed.value.reason, query
    name = "é" * 40  # the reason is cut to a close frame's 123 bytes, not past them
    with quick.websocket_connect(f"/ws?{name}=1&{name}=2") as socket, pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json()
    assert closed.value.code == 4422 and len(closed.value.reason.encode()) <= 123
    with quick.websocket_connect(f"/ws?key={key}") as socket:  # given once: served
        socket.send_json({"op": "ping"})
        assert _reply(socket) == {"op": "pong"}


def test_plain_http_to_the_websocket_endpoint_is_426(quick: TestClient) -> None:
    """``/ws`` exists: a request to it without the upgrade is 426 Upgrade Required naming ``websocket`` (RFC 9110
    §15.5.22), not 404 Not Found, which says there is nothing at that address."""
    for method in ("GET", "HEAD"):
        response = quick.request(method, "/ws")
        assert response.status_code == 426 and response.headers["upgrade"] == "websocket", method
    assert quick.get("/ws").json()["status"] == 426


def test_stopping_ends_every_event_stream(quick: TestClient) -> None:
    """A server stops only once its connections end, and event streams never end by themselves: one open tab
    kept ``sceneforge serve`` from stopping (and from handing its running jobs back) after SIGTERM. Once the
    process is stopping, SSE streams end (the client resumes elsewhere) and sockets close with 1001."""
    from starlette.websockets import WebSocketDisconnect

    hub = quick.app.state.jobs.hub  # type: ignore[attr-defined]
    with quick.stream("GET", "/events") as stream, quick.websocket_connect("/ws") as socket:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        socket.send_json({"op": "ping"})
        assert socket.receive_json() == {"op": "pong"}
        quick.portal.call(hub.stop_streams)
        rest = list(lines)  # ends
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert all(not line or line.startswith(":") for line in rest) and closed.value.code == 1001
    with quick.stream("GET", "/events") as late:  # a stream opened meanwhile ends at once
        assert [line for line in late.iter_lines() if line and not line.startswith(":")] == ["retry: 2000"]


def test_a_stop_signal_ends_the_streams_then_does_what_it_did() -> None:
    """The server's own handlers stay (granian's loop handlers, uvicorn's): the streams end first."""
    import asyncio
    import signal

    from sceneforge.api.stopping import end_streams_on_stop_signals

    calls: list[str] = []

    class Hub:
        def stop_streams(self) -> None:
            calls.append("streams")

    async def main() -> None:
        restore = end_streams_on_stop_signals(Hub())  # type: ignore[arg-type]
        try:
            signal.raise_signal(signal.SIGTERM)
            await asyncio.sleep(0)
        finally:
            restore()

    before = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append("server"))
    try:
        asyncio.run(main())
        assert calls == ["server", "streams"]  # the server's handler at once, the streams on the loop
        assert signal.getsignal(signal.SIGTERM) is not None and calls == ["server", "streams"]
        signal.raise_signal(signal.SIGTERM)  # restored: the server's handler alone
        assert calls == ["server", "streams", "server"]
    finally:
        signal.signal(signal.SIGTERM, before)


def _published_as_the_stream_starts(quick: TestClient, headers: dict[str, str]) -> tuple[list[int], list[int]]:
    """Open ``/jobs/events/early`` (with ``headers``) at the ASGI level, publish an event exactly when the
    response starts and another once its body has begun; (the two seqs, the seqs the stream sent before
    it fell idle). The app's heartbeat must be short (``quick``)."""
    import asyncio

    from sceneforge.storage.database import write_transaction

    app, jobs = quick.app, quick.app.state.jobs  # type: ignore[attr-defined]
    key, _ = quick.portal.call(app.state.services.keys.create, "read")  # type: ignore[attr-defined]

    async def publish(body: dict[str, Any]) -> int:
        async with write_transaction(jobs.engine) as conn:
            event = await jobs.log.append(conn, "job.progress", "early", body)
        await jobs.hub.publish(event)
        while jobs.hub.last < event.seq:  # handed to this process's subscribers
            await asyncio.sleep(0)
        return int(event.seq)

    async def stream() -> tuple[list[int], bytes]:
        seqs: dict[str, int] = {}
        body = bytearray()
        requested, gone = asyncio.Event(), asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not requested.is_set():
                requested.set()
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
                seqs["at_start"] = await publish({"when": "the response started"})
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if "after" not in seqs:  # the body has begun: the stream is subscribed whichever way
                    seqs["after"] = await publish({"when": "the body began"})
                    seqs["mark"] = len(body)
                # Done once the second event came, or a heartbeat did instead (the stream had nothing to send).
                if f"id: {seqs['after']}\n".encode() in body or b": ping" in body[seqs["mark"] :]:
                    gone.set()

        sent = [(b"x-api-key", key.encode())] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/jobs/events/early",
            "raw_path": b"/jobs/events/early",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *sent],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
            "state": {},
        }
        async with asyncio.timeout(60):  # catches a hang only
            await app(scope, receive, send)
        return [seqs["at_start"], seqs["after"]], bytes(body)

    published, body = quick.portal.call(stream)
    return published, [int(line[4:]) for line in body.decode().splitlines() if line.startswith("id: ")]


def test_an_sse_stream_is_subscribed_before_its_response_starts(quick: TestClient) -> None:
    """An event published once the stream's headers have gone out reaches the stream (docs/events.md): a
    client that looks at a job when its stream opens misses nothing between the look and the stream.
    Driven at the ASGI level, so the event is published exactly when the response starts (before, the
    stream subscribed only when its body was first read, and an event published then was lost)."""
    published, sent = _published_as_the_stream_starts(quick, {})
    assert sent == published


def test_an_sse_resume_past_the_newest_event_keeps_what_came_while_it_started(quick: TestClient) -> None:
    """A resume position past every stored event starts from where the stream subscribed: an event published
    between the subscription and the stream's look at the log reaches it (before, the look counted it as
    already sent, and it was dropped: test_streams_sse_resume_past_the_newest_event_follows_the_live_tail
    failed now and then on a loaded machine)."""
    published, sent = _published_as_the_stream_starts(quick, {"Last-Event-ID": str(10**15)})
    assert sent == published
