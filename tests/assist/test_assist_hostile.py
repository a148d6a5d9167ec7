"""A hostile or broken model endpoint (real HTTP on loopback, the real SDK): whatever it streams, the answer
ends — ``error`` with a message saying what came back, where, and which limit — in bounded time and memory,
its job ``Failed``, and nothing is written to the draft."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sceneforge.assist import stream as assist_stream
from sceneforge.assist import tools as assist_tools
from tests.api.conftest import Api, start_api
from tests.assist.llm_server import Reply, ScriptedLlm, tool_call
from tests.assist.test_assist_api import _llm_settings, ask, parse_sse, stream, wait_job
from tests.scenes import TWO_ROOMS


def chunk(delta: Any, finish: str | None = None) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n".encode()


END = chunk({}, "stop") + b"data: [DONE]\n\n"


@pytest.fixture
def llm() -> Iterator[ScriptedLlm]:
    with ScriptedLlm() as server:
        yield server


def _served(tmp_path: Path, llm: ScriptedLlm, **extra: Any) -> Iterator[Api]:
    for api in start_api(tmp_path, llm=_llm_settings(llm, **extra), jobs={"cancel_poll_s": 0.05}):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        yield api


@pytest.fixture
def assisted(tmp_path: Path, llm: ScriptedLlm) -> Iterator[Api]:
    yield from _served(tmp_path, llm)


Events = list[tuple[int, str, dict[str, Any]]]


def answered(api: Api, reply: Reply, llm: ScriptedLlm) -> tuple[Events, dict[str, Any], dict[str, Any]]:
    """Ask once against ``reply``: the message's events, its job once ended, and the answer as stored."""
    llm.replies.append(reply)
    turn = ask(api, "go")
    events, job = stream(api, turn["messageId"]), wait_job(api, turn["jobId"])
    answer = api.get(f"/scenes/two-rooms/assist/sessions/{turn['sessionId']}").json()["messages"][1]
    return events, job, answer


def failed(api: Api, reply: Reply, llm: ScriptedLlm, code: str) -> str:
    """The error message of an answer that must end with ``code``, its job failed and the draft untouched."""
    events, job, answer = answered(api, reply, llm)
    assert answer["status"] == "error" and answer["error"] == events[-1][2]
    kind, data = events[-1][1:]
    assert (kind, data["code"]) == ("error", code), events[-1]
    assert job["status"] == "Failed"
    assert api.get("/scenes/two-rooms/draft").json()["rev"] == 1
    message: str = data["message"]
    return message


def test_events_without_data_are_skipped(assisted: Api, llm: ScriptedLlm) -> None:
    """An ``event:`` or ``id:`` line alone dispatches no event (WHATWG HTML, server-sent events): the SDK's
    decoder handed one on with empty data, and the answer failed with "Expecting value: line 1 column 1"."""
    raw = b"event: ping\n\nid: 7\n\n: a comment\nunknown field\n\n" + chunk({"content": "Hi"}) + b"\r\n" + END
    events, job, _ = answered(assisted, Reply(raw=raw), llm)
    assert events[-1][1] == "done" and job["status"] == "Succeeded"
    assert "".join(d["text"] for _, k, d in events if k == "content_delta") == "Hi"


def test_events_of_blank_data_are_skipped(assisted: Api, llm: ScriptedLlm) -> None:
    """A bare ``data:`` line (or one of blanks, CRLF-ended) carries no chunk: such a keep-alive between chunks
    ended the answer with "event 2 of the model's stream is not JSON (Expecting value …): ''"."""
    raw = chunk({"content": "a"}) + b"data:\n\n" + b"data: \r\n\r\n" + b"data:\ndata:  \n\n" + chunk({"content": "b"})
    events, job, answer = answered(assisted, Reply(raw=raw + END), llm)
    assert events[-1][1] == "done" and job["status"] == "Succeeded" and answer["content"] == "ab"
    # data that is not blank is still read as JSON, and numbered among the events that carry data
    raw = b"data:\n\n" + chunk({"content": "a"}) + b"data: x\n\n"
    said = failed(assisted, Reply(raw=raw + END), llm, "model_error")
    assert said.startswith("event 2 of the model's stream is not JSON"), said


def test_a_refusal_is_the_answer(assisted: Api, llm: ScriptedLlm) -> None:
    """A refusal streamed in ``delta.refusal`` (OpenAI's field for it, ``content`` null) was dropped: the answer ended
    ``done`` with no text, and the user never read why nothing changed. It is the answer's content."""
    raw = chunk({"role": "assistant", "content": None, "refusal": "I can't "}) + chunk({"refusal": "help with that."})
    events, job, answer = answered(assisted, Reply(raw=raw + END), llm)
    assert events[-1][1] == "done" and job["status"] == "Succeeded"
    assert answer["content"] == "I can't help with that."
    assert "".join(d["text"] for _, k, d in events if k == "content_delta") == answer["content"]
    said = failed(assisted, Reply(raw=chunk({"refusal": 5}) + END), llm, "model_error")
    assert "choices[0].delta.refusal is int, not a string" in said, said


def test_a_stream_that_is_no_chat_completions_stream_says_where(assisted: Api, llm: ScriptedLlm) -> None:
    """Data that is not JSON names its event; a chunk of the wrong shape names its field (the SDK builds chunks
    without validating them: the answer failed with "object of type 'int' has no len()" and the like)."""
    said = failed(assisted, Reply(raw=chunk({"content": "a"}) + b"data: {not json\n\n" + END), llm, "model_error")
    assert "event 2 of the model's stream is not JSON" in said and "{not json" in said
    deep = b"data: " + b"[" * 100_000 + b"\n\n"
    assert "event 1 of the model's stream is not JSON" in failed(assisted, Reply(raw=deep + END), llm, "model_error")
    shapes = [
        ({"content": 5}, "choices[0].delta.content is int, not a string"),
        ({"content": float("nan")}, "choices[0].delta.content is float, not a string"),
        ("x", "choices[0].delta is str, not an object"),
        ({"tool_calls": "x"}, "choices[0].delta.tool_calls is str, not an array"),
        ({"tool_calls": [{"index": [0], "function": {"name": "get_scene"}}]}, "tool_calls[0].index is list"),
        ({"tool_calls": [{"index": 0, "function": {"name": 1}}]}, "tool_calls[0].function.name is int"),
        ({"tool_calls": [{"index": 0, "function": {"arguments": {}}}]}, "tool_calls[0].function.arguments is dict"),
    ]
    for delta, where in shapes:
        said = failed(assisted, Reply(raw=chunk({"content": "a"}) + chunk(delta) + END), llm, "model_error")
        assert said.startswith("chunk 2 of round 1 is no Chat Completions chunk") and where in said, said
    choices = b'data: {"choices": "abc"}\n\n' + END
    assert "choices is str, not an array" in failed(assisted, Reply(raw=choices), llm, "model_error")


def test_a_streamed_event_and_a_round_are_bounded_in_bytes(
    assisted: Api, llm: ScriptedLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes no count of tokens sees — one endless line, or padding and keep-alive comments — are bounded
    too: the SDK's decoder buffers a line or an event of any length, and comments went on until the timeout."""
    monkeypatch.setattr(assist_stream, "MAX_EVENT_BYTES", 4000)
    monkeypatch.setattr(assist_stream, "MAX_STREAM_BYTES", 50_000)
    line = b"data: " + b"x" * 10_000  # never ended
    assert "an event of more than 4,000 bytes" in failed(assisted, Reply(raw=line), llm, "output_limit")
    lines = b"data: [\n" + b"data: 1,\n" * 1000 + b"data: 1]\n\n"  # one event of many lines
    assert "an event of more than 4,000 bytes" in failed(assisted, Reply(raw=lines + END), llm, "output_limit")
    padding = b": keep-alive\n" * 10_000 + chunk({"content": "late"}) + END
    said = failed(assisted, Reply(raw=padding), llm, "output_limit")
    assert said == "the model endpoint streamed more than 50,000 bytes in one round"
    # under the bounds, an answer streams as ever
    events, job, _ = answered(assisted, Reply(content=["fine"] * 20), llm)
    assert events[-1][1] == "done" and job["status"] == "Succeeded"


def test_one_chunk_of_thousands_of_tool_calls_is_cut_at_the_limit(assisted: Api, llm: ScriptedLlm) -> None:
    """The bound on tool calls per round is checked per call: one chunk carrying 3,000 stored 3,000
    ``tool_call_start`` events (a database write each) before the bound was looked at."""
    calls = [{"index": i, "id": f"c{i}", "type": "function", "function": {"name": "get_scene", "arguments": "{}"}}
             for i in range(3000)]  # fmt: skip
    events, job, answer = answered(assisted, Reply(raw=chunk({"tool_calls": calls}) + END), llm)
    assert events[-1][1:] == (
        "error",
        {"code": "output_limit", "message": "the model made more than 64 tool calls in one round"},
    )
    assert job["status"] == "Failed" and answer["toolCalls"] == []  # none ran
    starts = [e for e in events if e[1] == "tool_call_start"]
    assert len(starts) == assist_stream.MAX_TOOL_CALLS  # not 3,000 of them


def test_text_no_utf_8_can_carry_is_taken_as_u_fffd(assisted: Api, llm: ScriptedLlm) -> None:
    """A chunk's ``"\\ud800"`` (half an emoji, as a tokenizer may cut one) decodes to a lone surrogate, which no
    UTF-8 carries: in ``content`` it was stored, then broke the message's stream (UnicodeEncodeError mid-body, the
    client's connection cut); in a tool call's id the next round's request could not be encoded, and the answer
    failed. It is U+FFFD, as the message's stored text is, and the answer goes on."""
    call = {"index": 0, "id": "c\ud800", "type": "function",
            "function": {"name": "get_scene", "arguments": '{}\udfff'}}  # fmt: skip
    escaped = json.dumps({"reasoning_content": "r\ud83d", "content": "a\ud800b", "tool_calls": [call]})
    raw = f'data: {{"choices": [{{"index": 0, "delta": {escaped}, "finish_reason": null}}]}}\n\n'.encode()
    llm.replies += [
        Reply(raw=raw + chunk({}, "tool_calls") + b"data: [DONE]\n\n"),
        Reply(raw=chunk({"content": "ok"}, "stop\udc00")),
    ]
    reply = assisted.get(f"/scenes/two-rooms/assist/{ask(assisted, 'go')['messageId']}/stream")
    assert reply.status_code == 200
    events = [(k, d) for _, k, d in parse_sse(reply.content.decode("utf-8"))]  # strict UTF-8, whole
    assert ("content_delta", {"text": "a\ufffdb"}) in events and ("reasoning_delta", {"text": "r\ufffd"}) in events
    start = {"index": 0, "callId": "c\ufffd", "name": "get_scene", "round": 1}
    assert ("tool_call_start", start) in events and ("tool_call_delta", {"index": 0, "text": "{}\ufffd"}) in events
    assert events[-1] == ("done", {"status": "done", "finishReason": "stop\ufffd", "revisions": []})
    sent = llm.requests[1]["messages"]  # round 2 was sent, the call and its answer with it
    assert sent[-2]["tool_calls"][0]["id"] == sent[-1]["tool_call_id"] == "c\ufffd"


def test_a_stream_cut_short_applies_nothing(assisted: Api, llm: ScriptedLlm) -> None:
    """A stream that ends without a ``finish_reason`` (the connection closed: a crash, a proxy's timeout) is
    not a whole round: its tool calls, even one whose arguments arrived whole, never run, and the answer ends
    with an error instead of ``done`` (the patch was applied, the cut-off text ended ``done``)."""
    widen = {"ops": [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}], "reason": "wider"}
    call = {"index": 0, "id": "c0", "type": "function", "function": {"name": "patch_draft", "arguments": ""}}
    args = {"index": 0, "function": {"arguments": json.dumps(widen)}}
    raw = chunk({"content": "Widening "}) + chunk({"tool_calls": [call]}) + chunk({"tool_calls": [args]})
    events, job, answer = answered(assisted, Reply(raw=raw), llm)  # closed here: no finish_reason, no [DONE]
    message = "the model's stream of round 1 ended after 3 chunks without a finish_reason: it was cut short"
    assert events[-1][1:] == ("error", {"code": "model_error", "message": message})
    assert job["status"] == "Failed" and answer["toolCalls"] == [] and answer["content"] == "Widening "
    assert [r["rev"] for r in assisted.get("/scenes/two-rooms/revisions").json()["revisions"]] == [1]
    events, job, answer = answered(assisted, Reply(raw=chunk({"content": "Half an answ"})), llm)
    assert events[-1][1] == "error" and "cut short" in events[-1][2]["message"] and answer["content"] == "Half an answ"


def test_a_connection_reset_says_what_broke(assisted: Api, llm: ScriptedLlm) -> None:
    """A reset mid-stream ends the answer with its cause (it said only "Connection error."); what was
    streamed before is kept."""
    events, job, answer = answered(assisted, Reply(raw=chunk({"content": "Half"}), reset=True), llm)
    said = events[-1][2]["message"]
    assert events[-1][1:] == ("error", {"code": "model_error", "message": said}) and job["status"] == "Failed"
    assert said.startswith("the model call failed: Connection error. (ReadError"), said
    assert answer["content"] == "Half" and assisted.get("/scenes/two-rooms/draft").json()["rev"] == 1


def test_an_endpoint_error_is_quoted_short(assisted: Api, llm: ScriptedLlm) -> None:
    """An error body of any size was stored whole as the message's error (and streamed as its event)."""
    said = failed(assisted, Reply(status=400, error="y" * 200_000), llm, "model_error")
    assert said.startswith("the model endpoint answered 400: ") and "yyyy" in said and len(said) < 1100


def test_an_error_body_is_read_up_to_its_bound(
    assisted: Api, llm: ScriptedLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK reads an error answer's body whole to quote it: gigabytes were held in memory, a gzip bomb
    unpacked. The body is read up to ``MAX_ERROR_BYTES`` as sent, and not unpacked: a message past the bound
    or inside a bomb is never seen."""
    monkeypatch.setattr(assist_stream, "MAX_ERROR_BYTES", 1000)
    body = json.dumps({"pad": "x" * 200_000, "error": {"message": "past the bound"}}).encode()
    said = failed(assisted, Reply(status=400, error_body=body), llm, "model_error")
    assert said.startswith('the model endpoint answered 400: Error code: 400 - {"pad": "xxx'), said  # as far as read
    assert "past the bound" not in said and len(said) < 1100  # its message was never read
    bomb = gzip.compress(json.dumps({"error": {"message": "unpacked"}, "pad": "z" * 5_000_000}).encode())
    said = failed(assisted, Reply(status=400, error_body=bomb, error_encoding="gzip"), llm, "model_error")
    assert said == "the model endpoint answered 400: Error code: 400"  # what it unpacks to was never read
    # an error under the bound is quoted as ever
    said = failed(assisted, Reply(status=400, error="over quota"), llm, "model_error")
    assert said == "the model endpoint answered 400: Error code: 400 - over quota"


def test_an_error_that_is_no_error_object_is_quoted(assisted: Api, llm: ScriptedLlm) -> None:
    """The SDK quotes only an error object's ``message``: a gateway's 502 page, a proxy's plain text or JSON of another
    shape (a base URL without ``/v1`` on a FastAPI server: ``{"detail": "Not Found"}``) said only "Error code: 502",
    nothing of why. Their text is quoted (a page without its tags), cut as any error is."""
    page = b"<html><head><title>502 Bad Gateway</title><style>body {color: red}</style></head><body><center>"
    page += b"<h1>502 Bad Gateway</h1></center><hr><center>nginx &amp; co</center></body></html>"
    llm.replies.append(Reply(status=502, error_body=page))  # the SDK tries a 5xx twice
    said = failed(assisted, Reply(status=502, error_body=page), llm, "model_error")
    assert said == "the model endpoint answered 502: Error code: 502 - 502 Bad Gateway 502 Bad Gateway nginx & co"
    text = b"upstream connect error or disconnect/reset before headers. reset reason: connection failure"
    said = failed(assisted, Reply(status=404, error_body=text), llm, "model_error")
    assert said == f"the model endpoint answered 404: Error code: 404 - {text.decode()}"
    said = failed(assisted, Reply(status=404, error_body=b'{"detail": "Not Found"}'), llm, "model_error")
    assert said == 'the model endpoint answered 404: Error code: 404 - {"detail":"Not Found"}'
    said = failed(assisted, Reply(status=400, error_body=b"<p>" + b"y" * 200_000 + b"</p>"), llm, "model_error")
    assert said.startswith("the model endpoint answered 400: Error code: 400 - yyy") and len(said) < 1100
    # an error event in the stream whose error is no object with a message
    for error, quoted in (("model overloaded", "model overloaded"), ({"code": 503}, '{"code":503}')):
        raw = chunk({"content": "a"}) + f"data: {json.dumps({'error': error})}\n\n".encode()
        said = failed(assisted, Reply(raw=raw), llm, "model_error")
        assert said == f"the model call failed: An error occurred during streaming - {quoted}", said


def test_an_endpoint_gone_quiet_ends_with_timeout_naming_the_setting(tmp_path: Path, llm: ScriptedLlm) -> None:
    """A stream that sends nothing for ``SCENEFORGE_LLM_TIMEOUT_S`` ends with ``timeout`` naming that setting
    (it ended ``model_error`` "Request timed out.", naming nothing)."""
    for api in _served(tmp_path, llm, timeout_s=1.0):
        reply = Reply(content=["Thinking ", "hard"], hold_after=1, silent=True)
        events, job, answer = answered(api, reply, llm)
        llm.release()
        error = {"code": "timeout", "message": "the model endpoint sent nothing for 1 s (SCENEFORGE_LLM_TIMEOUT_S)"}
        assert events[-1][1:] == ("error", error) and answer["error"] == error and job["status"] == "Failed"
        assert answer["content"] == "Thinking "  # what came before is kept
        # the job's error names the limit that was reached, not the whole answer's (docs/jobs.md)
        assert job["error"]["limit"] == "SCENEFORGE_LLM_TIMEOUT_S", job["error"]


def test_an_endpoint_that_never_answers_is_asked_once(tmp_path: Path) -> None:
    """An endpoint that takes the connection and never answers ends the answer with ``timeout`` after one request: the
    SDK tried a request that timed out again, so the answer waited twice ``SCENEFORGE_LLM_TIMEOUT_S`` and more (240 s
    at the default), while its error said the endpoint had sent nothing for that long."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                taken.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    llm = {"base_url": f"http://127.0.0.1:{listener.getsockname()[1]}/v1", "api_key": "k", "timeout_s": 0.5}
    try:
        for api in start_api(tmp_path, llm=llm, jobs={"cancel_poll_s": 0.05}):
            assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
            turn = ask(api, "go")
            events, job = stream(api, turn["messageId"]), wait_job(api, turn["jobId"])
            said = "the model endpoint sent nothing for 0.5 s (SCENEFORGE_LLM_TIMEOUT_S)"
            error = {"code": "timeout", "message": said}
            assert events[-1][1:] == ("error", error) and job["status"] == "Failed"
            assert len(taken) == 1  # asked once, not again after the timeout
    finally:
        listener.close()
        for conn in taken:
            conn.close()


def test_tool_calls_the_model_gets_wrong_are_told_to_it(assisted: Api, llm: ScriptedLlm) -> None:
    """Arguments that are no JSON object, of the wrong shape, not finite or too deep, patches on pointers that do
    not exist or that make the description invalid, unknown tools: each is the tool's answer, nothing is
    written, and the answer ends ``done``; an applied assistant revision is undone like any other."""
    patch = "patch_draft"
    bad = [
        (patch, ['{"ops": [']),
        (patch, ["[1, 2]"]),
        (patch, ['{"ops": "x", "reason": "r"}']),
        (patch, ['{"ops": [{"op": "replace", "path": "/cells/1/room/max/0", "value": NaN}], "reason": "r"}']),
        (patch, ['{"ops": [{"op": "replace", "path": "/cells/1/room/max/0", "value": 1e400}], "reason": "r"}']),
        (patch, ['{"ops": [{"op": "add", "path": "/props/x", "value": ' + "[" * 200 + "]" * 200 + '}], "r": 1}']),
        (patch, ['{"ops": ' + "[" * 5000]),
        (patch, [json.dumps({"ops": [{"op": "replace", "path": "/cells/9/room/max/0", "value": 1}], "reason": "r"})]),
        (patch, [json.dumps({"ops": [{"op": "remove", "path": "/cells/0"}], "reason": "r"})]),
        (patch, [json.dumps({"ops": [{"op": "replace", "path": "/cells/1/room/max/0", "value": 1e300}]})]),
        ("publish", ["{}"]),
        ("", ["{}"]),
    ]
    widen = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    llm.replies += [
        Reply(calls=bad),
        Reply(calls=[tool_call(patch, {"ops": widen, "reason": "wider"}), tool_call(patch, {"ops": widen})]),
        Reply(content=["Done."]),
    ]
    turn = ask(assisted, "go")
    events = stream(assisted, turn["messageId"])
    assert events[-1][1:] == ("done", {"status": "done", "finishReason": "stop", "revisions": [2]})
    results = [d["result"] for _, k, d in events if k == "tool_call_result"]
    assert all(r.get("applied") is False or "error" in r for r in results[: len(bad)]), results
    assert results[len(bad)]["rev"] == 2 and results[len(bad) + 1] == {
        "applied": True, "changed": False, "rev": 2, "message": "the patch changes nothing"}  # fmt: skip
    revisions = assisted.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [(r["rev"], r["source"]) for r in revisions] == [(2, "assistant"), (1, "user")]
    undone = assisted.post("/scenes/two-rooms/draft/undo", headers=assisted.auth())
    assert undone.status_code == 200 and undone.json()["description"] == TWO_ROOMS


def test_a_revision_event_says_the_reason_the_revision_stored(assisted: Api, llm: ScriptedLlm) -> None:
    """The ``revision`` event quoted the model's ``reason`` argument as sent, not as the revision stored it: an
    object, or 3,000 characters over two lines, where the history holds "assisted edit" or one line of 1,000
    (the studio shows the event's reason in its undo bar)."""
    widen = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    taller = [{"op": "replace", "path": "/cells/1/room/max/1", "value": 4}]
    calls = [tool_call("patch_draft", {"ops": widen, "reason": "a\nb" + "x" * 3000}),
             tool_call("patch_draft", {"ops": taller, "reason": {"why": "taller"}})]  # fmt: skip
    llm.replies += [Reply(calls=calls), Reply(content=["Done."])]
    events = stream(assisted, ask(assisted, "go")["messageId"])
    said = {d["rev"]: d["reason"] for _, k, d in events if k == "revision"}
    stored = {r["rev"]: r["reason"] for r in assisted.get("/scenes/two-rooms/revisions").json()["revisions"]}
    assert said == {2: stored[2], 3: stored[3]} and stored[3] == "assisted edit", said
    assert stored[2] == "a b" + "x" * 997


def test_a_long_tool_answer_is_stored_and_streamed_as_the_model_got_it(
    assisted: Api, llm: ScriptedLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool answer longer than the model is sent was stored and streamed whole: a 20,000-cell scene's
    ``get_scene`` wrote megabytes twice per call (its row and its event), 64 calls a round, and the session's
    answer held every one. Both hold what the model got: the cut text, and how long the whole was."""
    monkeypatch.setattr(assist_tools, "MAX_TOOL_RESULT_CHARS", 300)
    llm.replies += [Reply(calls=[tool_call("get_scene", {}, 1), tool_call("get_cell", {"cellId": "a"}, 1)]),
                    Reply(content=["Done."])]  # fmt: skip
    turn = ask(assisted, "go")
    events = stream(assisted, turn["messageId"])
    sent = {m["tool_call_id"]: m["content"] for m in llm.requests[1]["messages"] if m["role"] == "tool"}
    results = [d for _, k, d in events if k == "tool_call_result"]
    overview = results[0]["result"]
    assert overview["cut"] is True and overview["text"] == sent[results[0]["callId"]] and overview["chars"] > 300
    assert overview["text"].endswith("… [cut at 300 characters; use get_cell]") and len(overview["text"]) < 400
    assert json.loads(sent[results[1]["callId"]]) == results[1]["result"]  # a short one as it is
    stored = assisted.get(f"/scenes/two-rooms/assist/sessions/{turn['sessionId']}").json()["messages"][1]
    assert [c["result"] for c in stored["toolCalls"]] == [r["result"] for r in results]


def test_calls_a_server_numbers_not_or_alike_are_calls_of_their_own(assisted: Api, llm: ScriptedLlm) -> None:
    """Tool calls without an ``index`` (or each with index 0), told apart by their ids, were joined into one call
    named ``get_sceneget_cell`` with arguments ``{}{"cellId": "a"}``, which the model was told are not JSON. Each
    is a call of its own; fragments without an id go on adding to the call before them."""
    scene = {"id": "ca", "type": "function", "function": {"name": "get_scene", "arguments": "{}"}}
    cell = {"id": "cb", "type": "function", "function": {"name": "get_cell", "arguments": '{"cellId": "a"}'}}
    opened = {"id": "cc", "type": "function", "function": {"name": "get_cell", "arguments": '{"cell'}}
    rest = {"function": {"arguments": 'Id": "b"}'}}
    tail = chunk({}, "tool_calls") + b"data: [DONE]\n\n"
    llm.replies += [
        Reply(raw=chunk({"tool_calls": [scene, cell]}) + chunk({"tool_calls": [opened]}) + chunk({"tool_calls": [rest]})
              + tail),
        Reply(raw=chunk({"tool_calls": [scene | {"index": 0}]}) + chunk({"tool_calls": [cell | {"index": 0}]}) + tail),
        Reply(raw=chunk({"tool_calls": [opened | {"index": 0}]}) + chunk({"tool_calls": [rest]}) + tail),
        Reply(content=["Done."]),
    ]  # fmt: skip
    events = stream(assisted, ask(assisted, "go")["messageId"])
    called = [(d["round"], d["index"], d["callId"], d["name"]) for _, k, d in events if k == "tool_call_result"]
    assert called == [(1, 0, "ca", "get_scene"), (1, 1, "cb", "get_cell"), (1, 2, "cc", "get_cell"),
                      (2, 0, "ca", "get_scene"), (2, 1, "cb", "get_cell"),
                      (3, 0, "cc", "get_cell")]  # fmt: skip
    results = [d["result"] for _, k, d in events if k == "tool_call_result"]
    assert results[0]["sceneId"] == "two-rooms" and results[1]["cell"]["cellId"] == "a"
    assert results[2]["cell"]["cellId"] == results[5]["cell"]["cellId"] == "b" and events[-1][1] == "done"


def test_an_answer_that_is_no_stream_says_what_came(assisted: Api, llm: ScriptedLlm) -> None:
    """A server that ignores ``stream: true`` (a whole ``chat.completion`` as JSON), or a base URL that serves a
    page, streams no event: the answer said "ended after 0 chunks without a finish_reason: it was cut short", as if
    the connection had dropped. It names what came instead; a stream of events under another type is read."""
    whole = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    }
    said = failed(assisted, Reply(raw=json.dumps(whole).encode(), content_type="application/json"), llm, "model_error")
    assert said.startswith("the model endpoint answered application/json, not a stream of events (text/event-stream)")
    said = failed(
        assisted, Reply(raw=b"<html>sign in</html>", content_type="Text/HTML; charset=utf-8"), llm, "model_error"
    )
    assert said.startswith("the model endpoint answered text/html, not a stream of events")
    events, job, _ = answered(assisted, Reply(raw=chunk({"content": "ok"}) + END, content_type="text/plain"), llm)
    assert events[-1][1] == "done" and job["status"] == "Succeeded"
    assert "cut short" in failed(assisted, Reply(raw=b": nothing yet\n\n"), llm, "model_error")  # a stream, cut


def test_a_tool_that_fails_inside_the_service_is_no_model_error(
    assisted: Api, llm: ScriptedLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool that failed inside the service (its database, a check that crashed) ended the answer with
    ``model_error`` "the model call failed: …", blaming the endpoint, which had answered well. It ends ``internal``,
    saying the service failed; the job is failed and nothing is written."""
    from sceneforge.storage.drafts import DraftRepository

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(DraftRepository, "patch", broken)
    widen = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    said = failed(assisted, Reply(calls=[tool_call("patch_draft", {"ops": widen, "reason": "r"})]), llm, "internal")
    assert said == "the service failed while answering (RuntimeError: disk I/O error); ask again", said


def test_a_chunk_past_the_rounds_bound_is_never_stored(tmp_path: Path, llm: ScriptedLlm) -> None:
    """The characters a round may stream were counted after a chunk's text was stored: one chunk of an event's
    4 MiB was written to the message's events and its text before the bound was looked at. A chunk that would
    pass the bound is refused before any of it is kept; what came before it is kept, and the error names the bound.
    """
    for api in _served(tmp_path, llm, max_tokens=16):  # 512 characters
        limit = "over 512 characters in one round, 32 per token of the 16 it was allowed (SCENEFORGE_LLM_MAX_TOKENS)"
        long_arguments = {"index": 0, "id": "c", "function": {"name": "get_scene", "arguments": "y" * 5000}}
        long_id = {"index": 0, "id": "c" * 5000, "function": {"name": "get_scene"}}
        for delta in ({"content": "y" * 5000}, {"reasoning_content": "y" * 5000}, {"tool_calls": [long_arguments]},
                      {"tool_calls": [long_id]}):  # fmt: skip
            events, job, answer = answered(api, Reply(raw=chunk({"content": "kept "}) + chunk(delta) + END), llm)
            assert events[-1][1:] == ("error", {"code": "output_limit", "message": events[-1][2]["message"]}), events
            assert limit in events[-1][2]["message"] and job["status"] == "Failed"
            assert answer["content"] == "kept " and answer["reasoning"] == "" and answer["toolCalls"] == []
            assert not any("yyy" in json.dumps(d) or "ccc" in json.dumps(d) for _, _, d in events), events


def test_a_round_is_whole_at_its_finish_reason(tmp_path: Path, llm: ScriptedLlm) -> None:
    """A stream that sends its ``finish_reason`` and then neither ``data: [DONE]`` nor the end of its body (a proxy
    holding the connection, a server that never ends it) ended with ``timeout`` after SCENEFORGE_LLM_TIMEOUT_S, its
    tool calls never run. The round is whole at its finish_reason: its calls run and the answer goes on."""
    for api in _served(tmp_path, llm, timeout_s=5.0):
        call = {"index": 0, "id": "c0", "type": "function", "function": {"name": "get_scene", "arguments": "{}"}}
        llm.replies += [
            Reply(raw=chunk({"tool_calls": [call]}) + chunk({}, "tool_calls"), hang=True),
            Reply(raw=chunk({"content": "Two rooms."}) + chunk({}, "stop"), hang=True),
        ]
        turn = ask(api, "go")
        events, job = stream(api, turn["messageId"]), wait_job(api, turn["jobId"])
        assert events[-1][1:] == ("done", {"status": "done", "finishReason": "stop", "revisions": []}), events[-1]
        assert job["status"] == "Succeeded"
        results = [d["result"] for _, k, d in events if k == "tool_call_result"]
        assert len(results) == 1 and results[0]["sceneId"] == "two-rooms"
        assert len(llm.requests) == 2


def test_only_the_first_choice_is_the_answer(assisted: Api, llm: ScriptedLlm) -> None:
    """A server answering several choices (``n`` > 1, or a proxy fanning out) had them merged into one answer: their
    texts joined, the calls of each run. The request asks for one (``n`` is 1): choice 0 is the answer, as the SDK
    numbers choices; the others are not read, and the round is whole at choice 0's finish_reason."""

    def both(first: dict[str, Any], second: dict[str, Any], finish: str | None = None) -> bytes:
        choices = [{"index": 1, "delta": second, "finish_reason": finish},
                   {"index": 0, "delta": first, "finish_reason": finish}]  # fmt: skip
        return f"data: {json.dumps({'object': 'chat.completion.chunk', 'choices': choices})}\n\n".encode()

    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "get_scene", "arguments": "{}"}}
    raw = (
        both({"content": "Yes"}, {"content": "No"})
        + both({"content": "."}, {"tool_calls": [call]})
        + both({}, {}, "stop")
    )
    events, job, answer = answered(assisted, Reply(raw=raw + b"data: [DONE]\n\n"), llm)
    assert events[-1][1:] == ("done", {"status": "done", "finishReason": "stop", "revisions": []})
    assert answer["content"] == "Yes." and answer["toolCalls"] == [] and job["status"] == "Succeeded"
    assert not any(k.startswith("tool_call") for _, k, _ in events)
    # a stream of another choice only is no answer, and says so
    other = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 2, "delta": {"content": "No"}, "finish_reason": "stop"}],
    }
    said = failed(
        assisted, Reply(raw=f"data: {json.dumps(other)}\n\n".encode() + b"data: [DONE]\n\n"), llm, "model_error"
    )
    no_first = "the model's stream of round 1 carried choice 2 and no choice 0: the request asks for one answer (n=1)"
    assert said == f"{no_first}, choice 0", said


def test_a_call_starts_with_its_whole_name(assisted: Api, llm: ScriptedLlm) -> None:
    """A name streamed in pieces (``get_`` then ``scene``) was announced by ``tool_call_start`` at its first piece:
    the studio showed a call of ``get_``. The call starts once its name is whole: when its arguments begin, another
    call begins, or the round ends."""
    pieces = [{"index": 0, "id": "c0", "type": "function", "function": {"name": "get_"}},
              {"index": 0, "function": {"name": "cell"}},
              {"index": 0, "function": {"arguments": '{"cellId": '}},
              {"index": 0, "function": {"arguments": '"a"}'}},
              {"index": 1, "id": "c1", "type": "function", "function": {"name": "get"}},
              {"index": 1, "function": {"name": "_scene"}},
              {"index": 2, "id": "c2", "type": "function", "function": {"name": "get_sc"}},
              {"index": 2, "function": {"name": "ene", "arguments": ""}}]  # fmt: skip
    raw = b"".join(chunk({"tool_calls": [p]}) for p in pieces) + chunk({}, "tool_calls") + b"data: [DONE]\n\n"
    llm.replies += [Reply(raw=raw), Reply(content=["Done."])]
    events = stream(assisted, ask(assisted, "go")["messageId"])
    kinds = [(k, d.get("index")) for _, k, d in events if k.startswith("tool_call_")]
    starts = [d["name"] for _, k, d in events if k == "tool_call_start"]
    assert starts == ["get_cell", "get_scene", "get_scene"], starts
    assert kinds[:3] == [("tool_call_start", 0), ("tool_call_delta", 0), ("tool_call_start", 1)], kinds
    assert [d["name"] for _, k, d in events if k == "tool_call_result"] == starts and events[-1][1] == "done"
