"""Streams: a bad SSE resume position is a 422 before the stream starts; a bad WebSocket message gets
an error reply and the socket stays usable; subscriptions per connection are capped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sceneforge.api import create_app
from sceneforge.api.events import SseResponse
from sceneforge.events import EventHub, EventLog, MemoryBus
from sceneforge.events import hub as hub_module
from sceneforge.events import ws as ws_module
from sceneforge.events.hub import Subscription
from sceneforge.events.sse import MAX_SEQ, ResumePositionInvalid, parse_last_event_id, parse_seq, sse_stream
from sceneforge.events.ws import MAX_SUBSCRIPTIONS, BadMessage, Presence, parse_operation, serve_socket
from sceneforge.settings import Settings
from sceneforge.storage.tables import scenes
from tests.jobs.conftest import data_dir, engine  # noqa: F401 - fixtures

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def _client(tmp_path: Path, **events: object) -> TestClient:
    settings = Settings(
        storage={"data_dir": tmp_path / "data"},
        auth={"write_rate": 0},
        events=events,
    )
    return TestClient(create_app(settings))


@pytest.fixture
def http(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as client:
        yield client


@given(st.text(max_size=30) | st.integers(-(2**70), 2**70).map(str))
def test_streams_resume_position_is_a_seq_or_refused(text: str) -> None:
    try:
        value = parse_seq(text, "Last-Event-ID")
    except ResumePositionInvalid as exc:
        assert "Last-Event-ID" in str(exc) and str(MAX_SEQ) in str(exc)
        stripped = text.strip()
        assert not (stripped.isascii() and stripped.isdigit()) or int(stripped) > MAX_SEQ
    else:
        assert 0 <= value <= MAX_SEQ and value == int(text.strip())


def test_streams_header_wins_and_blank_header_means_since() -> None:
    assert parse_last_event_id("7", 3) == 7
    assert parse_last_event_id("  ", 3) == 3
    assert parse_last_event_id(None, None) is None
    with pytest.raises(ResumePositionInvalid):
        parse_last_event_id(None, MAX_SEQ + 1)


@pytest.mark.parametrize("url", ["/events", "/jobs/events/room"])
@pytest.mark.parametrize(
    ("where", "value", "pointer"),
    [
        ("query", str(2**64), "/query/since"),
        ("query", str(MAX_SEQ + 1), "/query/since"),
        ("query", "-1", "/query/since"),
        ("query", "1e3", "/query/since"),
        ("header", str(2**64), "/header/Last-Event-ID"),
        ("header", "9" * 400, "/header/Last-Event-ID"),
        ("header", "-5", "/header/Last-Event-ID"),
        ("header", "abc", "/header/Last-Event-ID"),
        ("header", "١٢٣", "/header/Last-Event-ID"),  # digits, but not ASCII ones
    ],
)
def test_streams_sse_resume_beyond_64_bits_is_422(
    http: TestClient, url: str, where: str, value: str, pointer: str
) -> None:
    if where == "query":
        response = http.get(url, params={"since": value})
    else:
        response = http.get(url, headers={"Last-Event-ID": value.encode()})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == [pointer]


@pytest.mark.parametrize("value", ["١٢٣", "é7", "7 — 8"])
def test_streams_resume_header_is_quoted_as_written(http: TestClient, value: str) -> None:
    """Header bytes arrive as Latin-1 text: a UTF-8 Last-Event-ID is quoted as the client wrote it, not as mojibake."""
    response = http.get("/events", headers={"Last-Event-ID": value.encode()})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert f"(got {value!r})" in error["message"], error["message"]


@pytest.mark.parametrize("url", ["/events", "/jobs/events/room"])
def test_streams_resume_header_on_two_lines_is_422(http: TestClient, url: str) -> None:
    """``Last-Event-ID`` on two field lines is read joined by commas (RFC 9110 §5.3): no seq, a 422 quoting both,
    never a replay after the first line's seq (a proxy in front may have kept the other line)."""
    with http.stream("GET", url, headers=[("Last-Event-ID", "5"), ("Last-Event-ID", "7")]) as response:
        assert response.status_code == 422, response.headers
        body = json.loads(response.read())
    [error] = body["errors"]
    assert error["path"] == "/header/Last-Event-ID" and "(got '5, 7')" in error["message"], error


@pytest.mark.parametrize("url", ["/events", "/jobs/events/room"])
@pytest.mark.parametrize("value", ["1_0", "+1", "1.0", "-0", " 1", "1 "])
def test_streams_sse_since_not_written_in_digits_is_422(http: TestClient, url: str, value: str) -> None:
    """``?since=`` is read as ``Last-Event-ID`` is: decimal ASCII digits, nothing else (docs/limits.md, "Event
    streams"). What ``int()`` also reads — ``1_0`` (a replay after seq 10), ``+1``, ``1.0``, ``-0``, blanks — is a
    422 at ``/query/since``, never a stream (opened here as a stream, so one wrongly started fails, not hangs)."""
    with http.stream("GET", url, params={"since": value}) as response:
        assert response.status_code == 422, response.headers
        body = json.loads(response.read())
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in body["errors"]] == ["/query/since"]
    assert "event seq" in body["errors"][0]["message"], body


def test_streams_sse_resume_at_the_largest_seq_streams(http: TestClient) -> None:
    with http.stream("GET", "/events", headers={"Last-Event-ID": str(MAX_SEQ)}) as stream:
        assert stream.status_code == 200
        assert next(stream.iter_lines()).startswith("retry: ")


def _emit(http: TestClient, scene_id: str) -> None:
    services = http.app.state.services  # type: ignore[attr-defined]
    http.portal.call(services.emit, "scene.invalidated", scene_id, {"etag": "0" * 16})  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["/events", "/jobs/events/room"])
def test_streams_sse_resume_past_the_newest_event_follows_the_live_tail(tmp_path: Path, url: str) -> None:
    """A position past every stored event (a client of a database since reset or restored: EventSource sends
    the old Last-Event-ID by itself) resumes from the newest event, not after a seq no event will reach."""
    with _client(tmp_path, sse_heartbeat_s=0.05) as http:
        _emit(http, "room")  # seq 1
        with http.stream("GET", url, headers={"Last-Event-ID": str(10**15)}) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry: ")  # subscribed
            _emit(http, "room")  # seq 2
            reset = None
            for heartbeats, line in enumerate(lines):
                assert heartbeats < 400, "the new event never came"
                if line.startswith("data: ") and reset is None:
                    reset = json.loads(line[6:])  # told first: its state belongs to another log
                if line.startswith("id: "):
                    assert line == "id: 2"
                    break
            assert reset is not None and reset["type"] == "stream.reset", reset
            assert (reset["reason"], reset["since"], reset["oldest"]) == ("ahead", 10**15, 1)
            # The log's bounds are read after the subscription is announced: seq 2 may already be stored.
            assert reset["newest"] in (1, 2), reset


def test_streams_ws_subscribe_past_the_newest_event_follows_the_live_tail(http: TestClient) -> None:
    _emit(http, "room")  # seq 1
    with http.websocket_connect("/ws") as socket:
        socket.send_json({"op": "subscribe", "sceneId": "room", "since": 10**15})
        reset = socket.receive_json()  # told first: its state belongs to another log
        assert (reset["type"], reset["sceneId"], reset["reason"], reset["newest"]) == (
            "stream.reset",
            "room",
            "ahead",
            1,
        )
        assert socket.receive_json()["type"] == "presence.update"
        socket.send_json({"op": "ping"})
        assert socket.receive_json() == {"op": "pong"}  # the subscription was handled
        _emit(http, "room")  # seq 2
        for _ in range(400):
            socket.send_json({"op": "ping"})
            if (event := socket.receive_json()) != {"op": "pong"}:
                break
        assert (event.get("type"), event.get("seq")) == ("scene.invalidated", 2), event


def _prune_all_but_newest(http: TestClient) -> None:
    log = http.app.state.jobs.log  # type: ignore[attr-defined]
    later = datetime.now(UTC) + timedelta(days=1)
    assert http.portal.call(lambda: log.prune(timedelta(0), now=later)) > 0  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("url", ["/events", "/jobs/events/room"])
def test_streams_sse_resume_before_the_retained_window_is_told_first(http: TestClient, url: str, how: str) -> None:
    """Events pruned after the client's position are not skipped in silence: a ``stream.reset`` naming the
    oldest seq still held comes first (the client refetches state), then the stream goes on from there."""
    for _ in range(3):
        _emit(http, "room")  # seqs 1-3
    _prune_all_but_newest(http)  # only seq 3 is held
    kwargs: dict[str, Any] = {"headers": {"Last-Event-ID": "1"}} if how == "header" else {"params": {"since": 1}}
    with http.stream("GET", url, **kwargs) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry: ")
        assert next(lines) == ""
        assert next(lines) == "event: stream.reset"  # no id: the position stays the client's own
        reset = json.loads(next(lines).removeprefix("data: "))
        assert (reset["reason"], reset["since"], reset["oldest"], reset["newest"]) == ("pruned", 1, 3, 3)
        assert next(lines) == ""
        assert next(lines) == "id: 3"


def test_streams_sse_resume_inside_the_retained_window_has_no_reset(http: TestClient) -> None:
    for _ in range(3):
        _emit(http, "room")
    _prune_all_but_newest(http)  # seq 3 held: a client that saw 2 missed nothing
    with http.stream("GET", "/events", headers={"Last-Event-ID": "2"}) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry: ")
        assert next(lines) == ""
        assert next(lines) == "id: 3"


def test_streams_ws_subscribe_before_the_retained_window_is_told_first(http: TestClient) -> None:
    for _ in range(3):
        _emit(http, "room")
    _prune_all_but_newest(http)
    with http.websocket_connect("/ws") as socket:
        socket.send_json({"op": "subscribe", "sceneId": "room", "since": 1})
        reset = socket.receive_json()
        assert reset["type"] == "stream.reset" and "seq" in reset and reset["seq"] is None, reset
        assert (reset["sceneId"], reset["reason"], reset["since"], reset["oldest"]) == ("room", "pruned", 1, 3)
        event = socket.receive_json()
        assert (event["type"], event["seq"]) == ("scene.invalidated", 3)
        assert socket.receive_json()["type"] == "presence.update"
        socket.send_json({"op": "subscribe", "sceneId": "other", "since": 2})  # nothing missed: no reset
        assert socket.receive_json()["type"] == "presence.update"
        socket.send_json({"op": "ping"})
        assert socket.receive_json() == {"op": "pong"}


def _add_scene(http: TestClient, scene_id: str, *, private: bool) -> None:
    database = http.app.state.services.scenes.engine  # type: ignore[attr-defined]

    async def add() -> None:
        now = datetime.now(UTC)
        async with database.begin() as conn:
            await conn.execute(scenes.insert().values(id=scene_id, private=private, created_at=now, updated_at=now))

    http.portal.call(add)  # type: ignore[union-attr]


def _shape(message: dict[str, Any], scene_id: str) -> str:
    """A reply with the scene id, connection ids and time taken out: what tells one scene from another."""
    viewers = sorted(json.dumps({**v, "id": "c"}) for v in message.get("viewers", []))  # ids are random
    return json.dumps({**message, "sceneId": message.get("sceneId") == scene_id, "ts": "t", "viewers": viewers})


def _until_pong(socket: Any) -> list[dict[str, Any]]:
    """What the socket received before the pong of a ping sent now (replies and events come in order)."""
    socket.send_json({"op": "ping"})
    got = []
    while (message := socket.receive_json()) != {"op": "pong"}:
        got.append(message)
    return got


def _until_viewers(socket: Any, states: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the socket received up to the ``presence.update`` naming viewers of ``states`` (in any order): the
    other messages, and that update. Presence goes out at most once per batch (docs/events.md), so how many
    updates lead to it, and whether one comes before or after a pong, depends on timing alone."""
    wanted = sorted(json.dumps(s) for s in states)
    others: list[dict[str, Any]] = []
    for _ in range(200):
        for message in _until_pong(socket):
            if message.get("type") != "presence.update":
                others.append(message)
            elif sorted(json.dumps(v["state"]) for v in message["viewers"]) == wanted:
                return others, message
        time.sleep(0.02)
    raise AssertionError(f"no presence.update with viewers {wanted}; other messages: {others}")


def test_streams_ws_private_and_unknown_scenes_are_answered_alike(http: TestClient) -> None:
    """A caller without read access cannot tell a private scene's id from an id no scene has: subscribe and
    presence get the same replies (no error for the one, none for the other), and it never sees the private
    scene's viewers, nor they it (docs/security.md, "Private scenes and links")."""
    _add_scene(http, "secret", private=True)
    key, _ = http.portal.call(http.app.state.services.keys.create, "read")  # type: ignore[attr-defined,union-attr]
    with http.websocket_connect(f"/ws?key={key}") as editor:
        editor.send_json({"op": "subscribe", "sceneId": "secret"})
        editor.send_json({"op": "presence", "sceneId": "secret", "state": {"name": "editor"}})
        _until_viewers(editor, [{"name": "editor"}])
        replies: dict[str, list[str]] = {}
        for scene_id in ("secret", "nosuch"):
            with http.websocket_connect("/ws") as first, http.websocket_connect("/ws") as second:
                got = replies.setdefault(scene_id, [])
                for socket in (first, second):
                    socket.send_json({"op": "subscribe", "sceneId": scene_id, "since": 0})
                    got += [_shape(m, scene_id) for m in _until_pong(socket) if m.get("type") != "presence.update"]
                second.send_json({"op": "presence", "sceneId": scene_id, "state": {"name": "guest"}})
                for socket in (second, first):  # each sees the two viewers, the guest among them, and nobody else
                    others, update = _until_viewers(socket, [{}, {"name": "guest"}])
                    got += [_shape(m, scene_id) for m in [*others, update]]
        assert replies["secret"] == replies["nosuch"], replies
        assert not any('"type": "error"' in reply for reply in replies["secret"]), replies
        time.sleep(3 * http.app.state.presence.batch_s)  # type: ignore[attr-defined]  # a batch held back
        assert _until_pong(editor) == []  # no guest ever showed among the editor's viewers
        presence = http.app.state.presence  # type: ignore[attr-defined]
        assert len(presence.scenes["secret"]) == 1  # the editor alone


BAD_FRAMES: list[tuple[str, Any, str]] = [
    ("binary", b"\x00\x01{}", "binary"),
    ("array", "[1, 2]", "messages are JSON objects, not an array"),
    ("null", "null", "messages are JSON objects, not null"),
    ("string", '"subscribe"', "messages are JSON objects, not a string"),
    ("not json", "{op: ping}", "does not parse"),
    ("deep nesting", "[" * 4000 + "]" * 4000, "the JSON nests 4,000 levels deep; at most 64 are accepted"),
    ("oversized", json.dumps({"op": "ping", "pad": "x" * 20_000}), "at most"),
    ("unknown op", json.dumps({"op": "explode"}), "unknown op 'explode'"),
    # A value named as JSON names it, never as Python does ("int", "NoneType"), nor written out.
    ("op a number", json.dumps({"op": 5}), "unknown op (a JSON number, not a name)"),
    ("op null", json.dumps({"op": None}), "unknown op (a JSON null, not a name)"),
    ("op a long name", json.dumps({"op": "x" * 5000}), "unknown op (a name of 5,000 characters)"),
    ("op not a string", json.dumps({"op": {"nested": 1}}), "unknown op (a JSON object, not a name)"),
    ("no op", json.dumps({"sceneId": "a"}), "unknown op (missing)"),
    ("huge scene id", json.dumps({"op": "subscribe", "sceneId": "x" * 5000}), "needs a sceneId"),
    ("scene id not a string", json.dumps({"op": "subscribe", "sceneId": 12}), "needs a sceneId"),
    ("scene id with a final line break", json.dumps({"op": "subscribe", "sceneId": "a\n"}), "needs a sceneId"),
    ("since beyond 64 bits", json.dumps({"op": "subscribe", "sceneId": "a", "since": 2**64}), "since"),
    ("since negative", json.dumps({"op": "subscribe", "sceneId": "a", "since": -1}), "since"),
    ("since a bool", json.dumps({"op": "subscribe", "sceneId": "a", "since": True}), "since"),
    ("since a float", json.dumps({"op": "subscribe", "sceneId": "a", "since": 1.5}), "since"),
    ("presence state a list", json.dumps({"op": "presence", "sceneId": "a", "state": [1]}), "state"),
    # Empty ones too (they were taken for no state at all, and so for well-formed, by a truth test).
    ("presence state an empty list", json.dumps({"op": "presence", "sceneId": "a", "state": []}), "state is a JSON"),
    ("presence state 0", json.dumps({"op": "presence", "sceneId": "a", "state": 0}), "state is a JSON"),
    ("presence state false", json.dumps({"op": "presence", "sceneId": "a", "state": False}), "state is a JSON"),
    ("presence state empty text", json.dumps({"op": "presence", "sceneId": "a", "state": ""}), "state is a JSON"),
    # Not strict JSON: other viewers would receive a presence state their JSON parsers refuse.
    ("presence state NaN", '{"op": "presence", "sceneId": "a", "state": {"x": NaN}}', "/state/x: NaN is not"),
    ("presence state 1e400", '{"op": "presence", "sceneId": "a", "state": {"x": [1e400]}}', "/state/x/0: 1e400"),
    (
        "presence state 400 digits",
        f'{{"op": "presence", "sceneId": "a", "state": {{"x": {"9" * 400}}}}}',
        "/state/x: 999",
    ),
    ("nesting past the limit", "[" * 100 + "]" * 100, "nests 100 levels deep"),
    ("repeated member", '{"op": "ping", "op": "subscribe"}', "'op' appears more than once"),
]


@pytest.mark.parametrize(("name", "frame", "says"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_streams_ws_bad_message_gets_error_and_socket_stays_usable(
    http: TestClient, name: str, frame: Any, says: str
) -> None:
    with http.websocket_connect("/ws") as socket:
        if isinstance(frame, bytes):
            socket.send_bytes(frame)
        else:
            socket.send_text(frame)
        reply = socket.receive_json()
        assert reply["type"] == "error" and says in reply["message"], reply
        socket.send_json({"op": "ping"})
        assert socket.receive_json() == {"op": "pong"}
        socket.send_json({"op": "subscribe", "sceneId": "still-works", "since": 0})
        assert socket.receive_json()["type"] == "presence.update"


def test_streams_ws_presence_needs_a_subscription(http: TestClient) -> None:
    """Presence is shown in the scenes a connection follows: one it does not follow is an error, so a socket
    cannot hold states in scenes past the subscription cap (memory) or appear where it is not viewing."""
    with http.websocket_connect("/ws") as viewer, http.websocket_connect("/ws") as ghost:
        viewer.send_json({"op": "subscribe", "sceneId": "room"})
        assert len(viewer.receive_json()["viewers"]) == 1
        for scene_id in ["room", *(f"s{i}" for i in range(MAX_SUBSCRIPTIONS + 1))]:
            ghost.send_json({"op": "presence", "sceneId": scene_id, "state": {"name": "ghost"}})
            ghost.send_json({"op": "ping"})  # replies come in order: the pong alone would mean nothing was said
            reply = ghost.receive_json()
            assert reply.get("type") == "error" and f"subscribe to {scene_id!r} first" in reply["message"], reply
            assert ghost.receive_json() == {"op": "pong"}
        presence = http.app.state.presence  # type: ignore[attr-defined]
        assert set(presence.scenes) == {"room"} and len(presence.scenes["room"]) == 1
        ghost.send_json({"op": "subscribe", "sceneId": "room"})
        assert len(ghost.receive_json()["viewers"]) == 2
        ghost.send_json({"op": "presence", "sceneId": "room", "state": {"name": "ghost"}})
        while (update := viewer.receive_json())["type"] != "presence.update" or {"name": "ghost"} not in [
            v["state"] for v in update["viewers"]
        ]:
            pass


@pytest.mark.parametrize("cap", [None, 3])
def test_streams_ws_subscriptions_per_connection_are_capped(tmp_path: Path, cap: int | None) -> None:
    events = {} if cap is None else {"ws_max_subscriptions": cap}
    cap = cap or MAX_SUBSCRIPTIONS  # the default setting
    with _client(tmp_path, **events) as http, http.websocket_connect("/ws") as socket:
        for i in range(cap):
            socket.send_json({"op": "subscribe", "sceneId": f"s{i}"})
            assert socket.receive_json()["type"] == "presence.update"
        socket.send_json({"op": "subscribe", "sceneId": "s0"})  # already followed: not a new subscription
        assert socket.receive_json()["type"] == "presence.update"
        socket.send_json({"op": "subscribe", "sceneId": "one-more"})
        reply = socket.receive_json()
        assert reply["type"] == "error" and f"at most {cap} subscriptions" in reply["message"]
        socket.send_json({"op": "unsubscribe", "sceneId": "s1"})
        socket.send_json({"op": "subscribe", "sceneId": "one-more"})
        while (message := socket.receive_json())["type"] == "presence.update" and message["sceneId"] != "one-more":
            pass
        assert (message["type"], message["sceneId"]) == ("presence.update", "one-more")


def test_streams_ws_parse_operation_caps_with_the_given_limit() -> None:
    frame = {"type": "websocket.receive", "text": json.dumps({"op": "subscribe", "sceneId": "c"})}
    assert parse_operation(frame, {"a", "b"}, 3)["sceneId"] == "c"
    with pytest.raises(BadMessage, match="at most 2 subscriptions"):
        parse_operation(frame, {"a", "b"}, 2)


@pytest.mark.parametrize("scene_id", ["a" * 65, "x" * 5000, "%E2%98%83", "-leading-dash", "a.b", "line-break%0A"])
def test_streams_sse_of_an_id_no_scene_can_have_is_404(http: TestClient, scene_id: str) -> None:
    """Not a stream that stays silent forever: the same id rule as every other scene route."""
    response = http.get(f"/jobs/events/{scene_id}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "ids are 1-64 characters" in response.json()["detail"]


class _NeverReadingClient:
    """An ASGI WebSocket whose client sends ``frames`` and never reads: every send blocks for good."""

    def __init__(self, frames: list[str], watch: Callable[[], None]) -> None:
        self.frames, self.watch = frames, watch

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        self.watch()
        if self.frames:
            return {"type": "websocket.receive", "text": self.frames.pop()}
        await asyncio.Event().wait()  # the client keeps the connection open
        raise AssertionError("unreachable")

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int = 1000) -> None:
        await asyncio.Event().wait()


async def test_streams_ws_client_that_never_reads_is_dropped_with_bounded_replies(engine: Any) -> None:  # noqa: F811
    """Replies (pongs, errors) queue up behind a socket the client does not read like events do: past the
    client queue the connection is dropped (it resumes), instead of each message it sends adding a reply in
    memory for as long as it keeps sending."""
    queue = 50
    hub = EventHub(EventLog(engine), MemoryBus(), queue_size=queue)
    subs: list[Subscription] = []
    subscribe = hub.subscribe
    hub.subscribe = lambda *a, **k: subs.append(subscribe(*a, **k)) or subs[-1]  # type: ignore[method-assign]
    peak = 0

    def watch() -> None:
        nonlocal peak
        peak = max(peak, subs[0].pending if subs else 0)

    client = _NeverReadingClient(['{"op": "ping"}'] * 20 * queue, watch)
    authenticate = AsyncMock(return_value=False)
    with anyio.fail_after(20):  # a hang, not a timing: unbounded, the socket is served until the client leaves
        await serve_socket(client, hub, hub.log, Presence(), authenticate)  # type: ignore[arg-type]
    assert peak <= queue + 1 and subs[0].dropped


async def test_streams_ws_client_that_neither_reads_nor_sends_is_cut_once_dropped(
    engine: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dropped socket's writer closes it, but the close of a client that reads nothing waits for ever, and so
    does the reader on a client that sends nothing: the connection was held until the client left, no longer
    counted among the streams (and kept the server from stopping). It is cut ``CLOSE_WAIT_S`` after the drop."""
    monkeypatch.setattr(ws_module, "CLOSE_WAIT_S", 0.2)
    hub = EventHub(EventLog(engine), MemoryBus(), queue_size=50)
    client = _NeverReadingClient([], lambda: None)
    served = asyncio.create_task(
        serve_socket(client, hub, hub.log, Presence(), AsyncMock(return_value=False))  # type: ignore[arg-type]
    )
    while not hub.subscribers:
        await asyncio.sleep(0.01)
    hub.stop_streams()  # drops every subscription, as falling behind does
    with anyio.fail_after(10):  # a hang: without the cut, the socket is served until the client leaves
        await served
    assert hub.subscribers == 0


async def _served_to_a_client_that_never_reads(response: SseResponse) -> asyncio.Task[None]:
    """``response`` served to a client that reads nothing (its first body send never returns) and never leaves;
    returns once the body has started."""
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            started.set()
            await asyncio.Event().wait()  # the client reads nothing: the send never returns

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # and it does not leave
        raise AssertionError("unreachable")

    scope = {"type": "http", "method": "GET", "path": "/stream", "headers": [], "asgi": {"spec_version": "2.4"}}
    served = asyncio.create_task(response(scope, receive, send))
    await started.wait()
    return served


async def test_streams_held_sse_client_that_never_reads_is_cut_when_the_server_stops(
    engine: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An assistant message's stream is held outside the subscriptions (a :class:`StreamHold`). Its writer sees the
    server stopping at its next event, which never comes while it waits in a send to a client that reads nothing:
    the connection kept the server from stopping until the client left. It is cut once the streams are ended."""
    monkeypatch.setattr(hub_module, "DROPPED_GRACE_S", 0.2)
    hub = EventHub(EventLog(engine), MemoryBus(), queue_size=50)

    async def answer() -> AsyncIterator[bytes]:
        while True:
            yield b"event: content_delta\ndata: {}\n\n"
            await asyncio.sleep(0.01)

    response = SseResponse(answer(), hub.hold())
    served = await _served_to_a_client_that_never_reads(response)
    assert hub.subscribers == 1
    hub.stop_streams()
    with anyio.fail_after(10):  # a hang without the cut
        await served
    assert hub.subscribers == 0
    late = hub.hold()  # a stream opened while the server stops ends at once too
    assert late.dropped
    late.close()


async def test_streams_sse_client_that_never_reads_is_cut_once_dropped(
    engine: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An SSE stream that falls behind ends at its next read of the queue; a client that reads nothing keeps the
    stream in a send for ever (granian makes it wait once it holds a few chunks). It is cut once dropped."""
    monkeypatch.setattr(hub_module, "DROPPED_GRACE_S", 0.2)
    hub = EventHub(EventLog(engine), MemoryBus(), queue_size=50)
    sub = hub.subscribe(None)
    response = SseResponse(sse_stream(hub, hub.log, since=None, subscription=sub), sub)
    served = await _served_to_a_client_that_never_reads(response)
    for _ in range(hub.queue_size + 1):  # the events it falls behind by: dropped
        sub.put_control("event")
    assert sub.dropped
    with anyio.fail_after(10):  # a hang without the cut
        await served
    assert hub.subscribers == 0


async def test_streams_ws_presence_flood_closes_the_flooder_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real WebSocket client floods presence with 4 KiB states while another views the same scene: past
    SCENEFORGE_WS_PRESENCE_RATE the flooder gets an error and the close 4429; the viewer is never dropped and
    keeps receiving (it sees the flooder leave, and its pings answered)."""
    import uvicorn

    # Every accepted state is sent as it comes (no 0.1 s batches), so the 20 that went out can be counted.
    monkeypatch.setattr(Presence, "batch_s", 0.0)
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from tests.support.servers import free_port

    settings = Settings(
        storage={"data_dir": tmp_path / "data"},
        auth={"write_rate": 0},
        events={"ws_presence_rate": "20/hour", "client_queue": 8},
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        with anyio.fail_after(120):  # a hang, not a timing
            while not server.started:
                await asyncio.sleep(0.05)
            url = f"ws://127.0.0.1:{port}/ws"
            async with connect(url) as viewer, connect(url) as flooder:
                await viewer.send(json.dumps({"op": "subscribe", "sceneId": "room"}))
                await flooder.send(json.dumps({"op": "subscribe", "sceneId": "room"}))
                while len(json.loads(await viewer.recv())["viewers"]) != 2:
                    pass
                state = {"pad": "x" * 4000}
                with contextlib.suppress(ConnectionClosed):
                    for n in range(300):
                        await flooder.send(
                            json.dumps({"op": "presence", "sceneId": "room", "state": {**state, "n": n}})
                        )
                    await flooder.send(json.dumps({"op": "ping"}))
                replies = []
                with contextlib.suppress(ConnectionClosed):
                    while (reply := json.loads(await flooder.recv())) != {"op": "pong"}:
                        replies.append(reply)
                assert flooder.close_code == 4429, (flooder.close_code, replies[-1:])
                assert replies[-1]["type"] == "error" and "20/hour" in replies[-1]["message"]
                shown = [r["viewers"] for r in replies if r.get("type") == "presence.update"]
                assert max(v["state"].get("n", -1) for viewers in shown for v in viewers) == 19  # 20 went out
                while len((update := json.loads(await viewer.recv())).get("viewers", [None, None])) != 1:
                    assert update["type"] == "presence.update", update
                await viewer.send(json.dumps({"op": "ping"}))
                assert json.loads(await viewer.recv()) == {"op": "pong"}
    finally:
        server.should_exit = True
        await serving


def test_streams_ws_presence_rate_setting_is_a_limits_rate() -> None:
    assert Settings(events={"ws_presence_rate": " 5/minute "}).events.ws_presence_rate == "5/minute"
    assert Settings(events={"ws_presence_rate": ""}).events.ws_presence_rate == ""
    with pytest.raises(ValueError, match="ws_presence_rate"):
        Settings(events={"ws_presence_rate": "often"})


class _SilentClient:
    """An ASGI WebSocket whose client subscribes to one scene and then sends nothing; what it is sent is kept."""

    def __init__(self) -> None:
        self.frames = [json.dumps({"op": "subscribe", "sceneId": "quiet"})]
        self.sent: list[str] = []
        self.heard = asyncio.Event()

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        if self.frames:
            return {"type": "websocket.receive", "text": self.frames.pop()}
        await asyncio.Event().wait()  # it stays connected, silent
        raise AssertionError("unreachable")

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        if json.loads(text).get("op") == "heartbeat":
            self.heard.set()

    async def close(self, code: int = 1000) -> None:
        pass


async def test_streams_ws_idle_socket_is_sent_heartbeats(engine: Any) -> None:  # noqa: F811
    """ASGI has no ping frame and granian sends none: a socket with nothing to send was never written to, so a
    client gone without a close (a dropped network) was never noticed, its stream slot and presence held for as long
    as the server ran. An idle socket is sent a heartbeat every interval, as an idle SSE stream is."""
    hub = EventHub(EventLog(engine), MemoryBus())
    client = _SilentClient()
    served = asyncio.create_task(
        serve_socket(client, hub, hub.log, Presence(), AsyncMock(return_value=False), heartbeat_s=0.05)  # type: ignore[arg-type]
    )
    try:
        with anyio.fail_after(10):  # a hang: without heartbeats nothing more is ever sent
            await client.heard.wait()
        assert json.loads(client.sent[0])["type"] == "presence.update"
        assert client.sent[-1] == '{"op": "heartbeat"}'
    finally:
        served.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await served
