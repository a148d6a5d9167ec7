"""Private means private: no id, ETag or event of a private scene reaches a caller without read access
on any channel — ``GET /jobs``, ``GET /jobs/{id}``, ``/events``, ``/jobs/events/{id}``, ``/ws``,
``/metrics`` — and a privacy change made on one instance holds on another as soon as the write
returns, with and without Redis (two apps sharing one database: SQLite, or PostgreSQL whose LISTEN/NOTIFY
carries the change when there is no Redis, and Redis when given)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from sceneforge.api import create_app
from sceneforge.settings import Settings
from tests.jobs.conftest import description
from tests.support.servers import create_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PUBLIC, SECRET, MARKER = description("pub"), description("sec"), description("marker")


def _app(tmp_path: Path, redis_url: str, database_url: str = "") -> TestClient:
    settings = Settings(
        storage={"data_dir": tmp_path / "data", "database_url": database_url},
        auth={"write_rate": 0},
        events={"redis_url": redis_url, "sse_heartbeat_s": 0.3},
    )
    return TestClient(create_app(settings))


def _key(client: TestClient, scope: str) -> dict[str, str]:
    key, _record = client.portal.call(client.app.state.services.keys.create, scope, scope)  # type: ignore[attr-defined]
    return {"X-API-Key": key}


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, bool]]:
    """Two instances sharing a database, and whether a bus carries cache invalidations between them: Redis, or
    PostgreSQL LISTEN/NOTIFY without Redis; on SQLite (one process per database) nothing does."""
    redis_url = request.getfixturevalue("redis_server") if request.param == "redis" else ""
    database_url = create_database(request.getfixturevalue("postgres_url")) if request.param == "postgresql" else ""
    with ExitStack() as stack:
        first = stack.enter_context(_app(tmp_path, redis_url, database_url))
        second = stack.enter_context(_app(tmp_path, redis_url, database_url))
        yield first, second, request.param != "sqlite"


def _build(client: TestClient, auth: dict[str, str], body: bytes, **params: str) -> dict[str, Any]:
    headers = {**auth, "content-type": "application/json"}
    response = client.post("/scenes/build", content=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _sse_until_heartbeat(client: TestClient, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """The events a stream replays (``since=0``) before it goes idle (its first heartbeat)."""
    events: list[dict[str, Any]] = []
    with client.stream("GET", url, params={"since": 0}, **kwargs) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            elif line.startswith(": ping"):
                return events
    return events


def _leaks(text: str, scene: str, etags: list[str]) -> list[str]:
    return [needle for needle in (f'"{scene}"', *etags) if needle in text]


def test_private_means_private_on_every_channel_and_every_instance(
    pair: tuple[TestClient, TestClient, bool],
) -> None:
    writer, other, shared_bus = pair
    write, read = _key(writer, "write"), _key(writer, "read")
    secret = _build(writer, write, SECRET, private="true")
    public = _build(writer, write, PUBLIC)
    secret_job = writer.post("/jobs/enqueue", content=SECRET, headers=write).json()["jobId"]
    public_job = writer.post("/jobs/enqueue", content=PUBLIC, headers=write).json()["jobId"]
    _build(writer, write, MARKER)

    for client in (writer, other):
        anonymous_jobs = client.get("/jobs").json()
        assert {j["sceneId"] for j in anonymous_jobs} >= {"pub"} and "sec" not in {j["sceneId"] for j in anonymous_jobs}
        assert "sec" in {j["sceneId"] for j in client.get("/jobs", headers=read).json()}
        assert client.get(f"/jobs/{secret_job}").status_code == 404
        assert client.get(f"/jobs/{secret_job}", headers=read).status_code == 200

        seen = _sse_until_heartbeat(client, "/events")
        assert {e["sceneId"] for e in seen} >= {"pub", "marker"} and "sec" not in {e["sceneId"] for e in seen}
        assert not _leaks(json.dumps(seen), "sec", [secret["eTag"]])
        assert "sec" in {e["sceneId"] for e in _sse_until_heartbeat(client, "/events", headers=read)}
        assert _sse_until_heartbeat(client, "/jobs/events/sec") == []
        assert _sse_until_heartbeat(client, "/jobs/events/sec", headers=read)

        with client.websocket_connect("/ws") as socket:
            # Answered as an unknown id would be (which private ids exist does not show): no event, and the
            # presence of the callers like this one alone.
            socket.send_json({"op": "subscribe", "sceneId": "sec", "since": 0})
            reply = socket.receive_json()
            assert (reply["type"], reply["sceneId"], len(reply["viewers"])) == ("presence.update", "sec", 1), reply
            socket.send_json({"op": "presence", "sceneId": "sec", "state": {"x": 1}})
            assert socket.receive_json()["viewers"][0]["state"] == {"x": 1}
            socket.send_json({"op": "subscribe", "sceneId": "pub", "since": 0})
            types = {socket.receive_json()["type"] for _ in range(3)}
            assert "scene.built" in types or "job.status" in types
        with client.websocket_connect(f"/ws?key={read['X-API-Key']}") as socket:
            socket.send_json({"op": "subscribe", "sceneId": "sec", "since": 0})
            assert socket.receive_json()["type"] != "error"

        metrics = client.get("/metrics", headers=_key(writer, "admin"))
        assert metrics.status_code == 200
        assert not _leaks(metrics.text, "sec", [secret["eTag"]]) and "pub" not in metrics.text

    for client in (writer, other):  # both serve the public scene, and cache what they served
        assert client.get("/scenes/pub.glb").status_code == 200
        assert client.get("/scenes/pub/meta").status_code == 200
    # The public scene turns private on one instance: the other holds it as soon as the write returns.
    _build(writer, write, PUBLIC, private="true")
    # Cached GLB and meta pointers: on the writer at once; on the other through the bus, before the write returned.
    for client in (writer, other) if shared_bus else (writer,):
        assert client.get("/scenes/pub.glb").status_code == 401
        assert client.get("/scenes/pub/meta").status_code == 401
        assert client.get("/scenes/pub.glb", headers=read).status_code == 200
    for client in (other, writer):
        assert "pub" not in {j["sceneId"] for j in client.get("/jobs").json()}
        assert client.get(f"/jobs/{public_job}").status_code == 404
        assert "pub" not in {s["sceneId"] for s in client.get("/scenes").json()}
        seen = _sse_until_heartbeat(client, "/events")
        assert "marker" in {e["sceneId"] for e in seen} and not _leaks(json.dumps(seen), "pub", [public["eTag"]])
        with client.websocket_connect("/ws") as socket:
            socket.send_json({"op": "subscribe", "sceneId": "pub"})
            reply = socket.receive_json()
            assert (reply["type"], reply["sceneId"], len(reply["viewers"])) == ("presence.update", "pub", 1), reply
            socket.send_json({"op": "ping"})
            assert socket.receive_json() == {"op": "pong"}  # no event of it came before
