"""The studio's assistant panel in Chromium: ask for a change, watch it stream, see the description and the
history change and the floor plan highlight it, undo it — against ``sceneforge serve`` and a scripted model."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.assist.llm_server import Reply, ScriptedLlm, tool_call
from tests.browser.conftest import ROOT, SERVER_START_S, PageLog, StudioServer, _sceneforge_command, _wait_http
from tests.browser.proxy import cutting_proxy
from tests.browser.studio import build_over_http, http_json, open_studio, set_description
from tests.scenes import TWO_ROOMS
from tests.support.servers import free_port, stop_process

pytestmark = pytest.mark.server  # Chromium and a sceneforge server

#: Model output that would run script if it reached the page as HTML.
HOSTILE = ' <img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
WIDEN = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
RAISE_A = [{"op": "replace", "path": "/cells/0/room/max/1", "value": 3.5}]


@pytest.fixture
def llm() -> Iterator[ScriptedLlm]:
    with ScriptedLlm() as server:
        yield server


@pytest.fixture
def assisted_server(llm: ScriptedLlm) -> Iterator[StudioServer]:
    """``sceneforge serve`` whose model is the scripted one."""
    data_dir = Path(tempfile.mkdtemp(prefix="sceneforge-assist-"))
    log = data_dir / "serve.log"
    port = free_port()
    env = {**os.environ, "SCENEFORGE_WRITE_RATE": "0", "SCENEFORGE_LLM_BASE_URL": llm.base_url,
           "SCENEFORGE_LLM_API_KEY": "test-key", "SCENEFORGE_LLM_MODEL": "scripted-1"}  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_sceneforge_command(), "serve", "--port", str(port), "--data", str(data_dir / "data")],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + SERVER_START_S
        while (match := re.search(r"studio login: (http://\S+\?key=(\S+))", log.read_text(errors="replace"))) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sceneforge serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", proc, deadline)
        yield StudioServer(base, match.group(1).replace("localhost", "127.0.0.1"), match.group(2), port, data_dir, log)
    finally:
        stop_process(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


def _editor_room_b_width(page: Page) -> float:
    return float(page.evaluate("() => JSON.parse(document.getElementById('description').value).cells[1].room.max[0]"))


def test_assist_panel_ask_stream_and_undo(
    assisted_server: StudioServer, llm: ScriptedLlm, page: Page, page_log: PageLog
) -> None:
    server = assisted_server
    build_over_http(server.base_url, server.key, json.dumps(TWO_ROOMS))  # built and published: the draft exists
    llm.replies += [
        Reply(reasoning=["Room b is ", "index 1."], calls=[tool_call("get_scene", {}, 1)]),
        Reply(calls=[tool_call("patch_draft", {"ops": WIDEN, "reason": "room b two metres wider"}, 5)]),
        Reply(content=["Room **b** is ", "now 6 m wide.", HOSTILE], hold_after=1),
    ]
    open_studio(page, f"{server.login_url}&scene=two-rooms")
    page.wait_for_function("window.sceneforge.ready")
    assert page.locator("#assist-undo").is_hidden()  # nothing to undo yet
    page.fill("#assist-input", "make room b two metres wider")
    page.click("#assist-form button[type=submit]")

    # it streams: the reasoning, the tool calls, then the first piece of the answer while the model still "types"
    page.wait_for_function("window.sceneforge.assist.current.content === 'Room **b** is '")
    assert page.locator("#assist-log .answer strong").inner_text() == "b"
    assert page.evaluate("window.sceneforge.assist.current.status") == "running"
    # the reasoning is there, collapsed until opened
    reasoning = page.locator("#assist-log .reasoning").last
    assert reasoning.get_attribute("open") is None and reasoning.locator(".reasoning-text").is_hidden()
    reasoning.locator("summary").click()
    assert reasoning.locator(".reasoning-text").inner_text() == "Room b is index 1."
    summaries = page.locator("#assist-log .tool summary").all_inner_texts()
    assert summaries == ["get_scene", "patch_draft — rev 2"]
    # the change is on the page already: the description, the history, the floor plan, the undo bar
    assert _editor_room_b_width(page) == 10
    page.wait_for_selector("#assist-history li[data-source=assistant][data-rev='2']")
    assert page.evaluate("window.sceneforge.highlightedCells") == ["b"]
    assert page.locator("#assist-undo").is_visible()
    llm.release()
    page.wait_for_function("window.sceneforge.assist.current.status === 'done'")
    answer = page.locator("#assist-log .answer").last
    assert "now 6 m wide." in answer.inner_text() and "<img src=x" in answer.inner_text()  # shown as text
    assert answer.locator("img, script").count() == 0 and page.evaluate("window.pwned") is None

    # the service agrees: an assistant revision with the model's reason
    status, revision = http_json("GET", f"{server.base_url}/scenes/two-rooms/revisions/2", key=server.key)
    assert status == 200 and revision["source"] == "assistant" and revision["reason"] == "room b two metres wider"

    # undo it from the bar
    page.click("#assist-undo button")
    page.wait_for_selector("#assist-history li[data-source=undo][data-rev='3']")
    assert _editor_room_b_width(page) == 8
    assert page.locator("#assist-undo").is_hidden() and page.evaluate("window.sceneforge.highlightedCells") == []
    status, draft = http_json("GET", f"{server.base_url}/scenes/two-rooms/draft", key=server.key)
    assert status == 200 and draft["rev"] == 3 and draft["description"]["cells"][1]["room"]["max"][0] == 8
    # an entry is one run of text that wraps as a whole: with a long reason, "import" and the author stay whole
    # words (laid out as a flex row, each part was squeezed into its own column: "impo / rt", "alic / e")
    lines = page.evaluate(
        """() => {
            const reason = 'built by job 3a8f52ede82c44feab53d1a04070ca0d, then a much longer explanation of it';
            window.sceneforge.assist.showHistory([{ rev: 1, source: 'import', author: 'alice', reason }]);
            const li = document.querySelector('#assist-history li');
            const line = parseFloat(getComputedStyle(li).lineHeight);
            return [...li.querySelectorAll('bdi')].slice(0, 3).map(b => b.getClientRects().length
                === 1 ? Math.round(b.getBoundingClientRect().height / line) : -1);
        }"""
    )
    assert lines == [1, 1, 1], lines
    assert page_log.errors == []


def test_assist_panel_resumes_a_cut_stream(
    assisted_server: StudioServer, llm: ScriptedLlm, page: Page, page_log: PageLog
) -> None:
    server = assisted_server
    build_over_http(server.base_url, server.key, json.dumps(TWO_ROOMS))
    llm.replies += [
        # the model waits (before its first piece) until the page follows the stream live: the cut is live
        Reply(
            content=["Widening b. "],
            calls=[tool_call("patch_draft", {"ops": WIDEN, "reason": "wider"}, 4)],
            hold_after=0,
        ),
        Reply(content=["One, ", "two, ", "three."]),
    ]
    with cutting_proxy(server.port, b"event: tool_call_result", "GET /scenes/two-rooms/assist/") as proxy:
        open_studio(page, f"{server.login_url.replace(f':{server.port}/', f':{proxy.port}/')}&scene=two-rooms")
        page.wait_for_function("window.sceneforge.ready")
        page.fill("#assist-input", "widen b")
        page.click("#assist-form button[type=submit]")
        assert llm.holding.wait(30)
        page.wait_for_function("window.sceneforge.assist.current.lastSeq >= 3")  # queued, running, thinking
        llm.release()
        page.wait_for_function("window.sceneforge.assist.current.status === 'done'")
        page.wait_for_selector("#assist-history li[data-source=assistant][data-rev='2']")
        assert proxy.cut_at_seq is not None, proxy.requests
        streams = [r for r in proxy.requests if r.startswith("GET /scenes/two-rooms/assist/")]
        resumed = [int(r.rsplit("=", 1)[1]) for r in streams if "Last-Event-ID=" in r]
        assert len(streams) >= 2 and resumed and 0 < resumed[0] <= proxy.cut_at_seq, (streams, proxy.cut_at_seq)
        current = page.evaluate("window.sceneforge.assist.current")
        assert current["reconnects"] >= 1 and current["revisions"] == [2]
        assert current["content"] == "Widening b. One, two, three."
        assert page.locator("#assist-log .tool summary").all_inner_texts() == ["patch_draft — rev 2"]
        assert _editor_room_b_width(page) == 10
        # what the page logged is the cut itself: failed loads (the stream, or a request racing the cut), no page error
        network = ("net::ERR_INCOMPLETE_CHUNKED_ENCODING", "net::ERR_CONNECTION_RESET")
        assert [e for e in page_log.errors if not any(n in e for n in network)] == [], page_log.errors
        page.close()  # before the proxy goes: the page's live connections end here


def test_a_stream_refused_for_good_says_so_instead_of_thinking_forever(
    assisted_server: StudioServer, llm: ScriptedLlm, page: Page, page_log: PageLog
) -> None:
    """A 4xx on the message's stream (the key lost its scope, the message is gone) is not retried; the panel ends
    the message with the error instead of showing "thinking…" for good."""
    server = assisted_server
    build_over_http(server.base_url, server.key, json.dumps(TWO_ROOMS))
    llm.replies += [Reply(content=["Nothing to do."])]
    problem = {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": "the key cannot read this"}
    page.route(
        re.compile(r".*/assist/[^/]+/stream$"),
        lambda route: route.fulfill(status=403, content_type="application/problem+json", body=json.dumps(problem)),
    )
    open_studio(page, f"{server.login_url}&scene=two-rooms")
    page.wait_for_function("window.sceneforge.ready")
    page.fill("#assist-input", "anything")
    page.click("#assist-form button[type=submit]")
    page.wait_for_function("window.sceneforge.assist.current.status === 'error'")
    assert page.text_content("#assist-state") == "error"
    assert "403" in (page.locator("#assist-log .msg.error").last.text_content() or "")
    assert [e for e in page_log.errors if "403" not in e] == []


def test_a_reset_stream_shows_the_message_again_from_its_start(
    assisted_server: StudioServer, llm: ScriptedLlm, page: Page, page_log: PageLog
) -> None:
    """A ``stream.reset`` on the message's stream (docs/events.md, "Resuming": the position the panel sent was not
    this log's) means what the panel shows may be wrong: it forgets it and reads the message again from its start.
    (Frames without an id were taken as seq NaN.) The first answer here is a stale piece, then the reset."""
    server = assisted_server
    build_over_http(server.base_url, server.key, json.dumps(TWO_ROOMS))
    llm.replies += [Reply(content=["Nothing ", "to do."])]
    stale = (
        'id: 1\nevent: content_delta\ndata: {"text":"stale "}\n\n'
        'event: stream.reset\ndata: {"reason":"ahead","since":1,"oldest":0,"newest":0}\n\n'
    )
    answered: list[str] = []

    def answer(route: Any) -> None:
        answered.append(route.request.headers.get("last-event-id", ""))
        if len(answered) == 1:
            route.fulfill(status=200, content_type="text/event-stream", body=stale)
        else:
            route.continue_()

    page.route(re.compile(r".*/assist/[^/]+/stream$"), answer)
    open_studio(page, f"{server.login_url}&scene=two-rooms")
    page.wait_for_function("window.sceneforge.ready")
    page.fill("#assist-input", "anything")
    page.click("#assist-form button[type=submit]")
    page.wait_for_function("window.sceneforge.assist.current.status === 'done'")
    current = page.evaluate("window.sceneforge.assist.current")
    assert current["content"] == "Nothing to do.", current
    assert answered[:2] == ["", ""], answered  # the second read starts from the message's first event
    assert (page.text_content("#assist-log .msg.assistant:last-child .answer") or "").strip() == "Nothing to do."
    assert page_log.errors == [], page_log.errors


#: Three rooms: b east of a, c north of a (a door a–b and a door a–c).
THREE_ROOMS = {
    "sceneId": "three-rooms",
    "cells": [
        {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4], "material": "plaster"}},
        {"cellId": "b", "room": {"min": [4, 0, 0], "max": [8, 3, 4], "material": "plaster"}},
        {"cellId": "c", "room": {"min": [0, 0, 4], "max": [4, 3, 8], "material": "plaster"}},
    ],
    "portals": [
        {"between": ["a", "b"], "door": {"width": 1.2, "height": 2.1}},
        {"between": ["a", "c"], "door": {"width": 1.2, "height": 2.1}},
    ],
    "materials": {"plaster": "#d8d0c0"},
}


def _ask(page: Page, text: str) -> None:
    """Send ``text`` from the panel and wait until the assistant's answer to it has ended."""
    was = page.evaluate("window.sceneforge.assist.current.messageId")
    page.fill("#assist-input", text)
    page.click("#assist-form button[type=submit]")
    page.wait_for_function(
        "(was) => { const c = window.sceneforge.assist.current; return c.messageId !== was && c.status === 'done'; }",
        arg=was,
    )


def test_assist_highlights_the_cells_a_removal_or_an_append_changed(
    assisted_server: StudioServer, llm: ScriptedLlm, page: Page, page_log: PageLog
) -> None:
    """Index paths name cells of the description *before* the change: removing /cells/1 changed b (and its door's
    other end a), not the c that moved into index 1; appending at /cells/- changed the new cell."""
    server = assisted_server
    build_over_http(server.base_url, server.key, json.dumps(THREE_ROOMS))
    remove_b = [{"op": "remove", "path": "/portals/0"}, {"op": "remove", "path": "/cells/1"}]
    add_d = [
        {"op": "add", "path": "/cells/-", "value": {"cellId": "d", "room": {"min": [-4, 0, 0], "max": [0, 3, 4]}}},
        {"op": "add", "path": "/portals/-", "value": {"between": ["a", "d"], "door": {"width": 1, "height": 2}}},
    ]
    llm.replies += [
        Reply(calls=[tool_call("patch_draft", {"ops": remove_b, "reason": "no room b"})]),
        Reply(content=["Removed b."]),
        Reply(calls=[tool_call("patch_draft", {"ops": add_d, "reason": "room d"})]),
        Reply(content=["Added d."]),
    ]
    open_studio(page, f"{server.login_url}&scene=three-rooms")
    page.wait_for_function("window.sceneforge.ready && window.sceneforge.draft && window.sceneforge.draft.rev === 1")
    _ask(page, "remove room b")
    assert page.evaluate("window.sceneforge.assist.current.revisions") == [2]
    assert sorted(page.evaluate("window.sceneforge.highlightedCells")) == ["a", "b"]

    _ask(page, "add a room d west of a")
    assert page.evaluate("window.sceneforge.assist.current.revisions") == [3]
    assert sorted(page.evaluate("window.sceneforge.highlightedCells")) == ["a", "d"]
    assert [c["cellId"] for c in json.loads(page.input_value("#description"))["cells"]] == ["a", "c", "d"]
    assert page_log.errors == []


def test_assist_revision_and_undo_keep_unsaved_typing(
    assisted_server: StudioServer, llm: ScriptedLlm, page: Page, page_log: PageLog
) -> None:
    """The panel's undo saves what the editor holds before undoing (the studio's Undo path), and an assistant
    revision arriving while the editor holds unsaved text leaves that text there (the page says a change came in)."""
    server = assisted_server
    build_over_http(server.base_url, server.key, json.dumps(TWO_ROOMS))
    llm.replies += [
        Reply(calls=[tool_call("patch_draft", {"ops": WIDEN, "reason": "wider"})]),
        Reply(content=["Done."]),
        Reply(calls=[tool_call("patch_draft", {"ops": RAISE_A})]),
        Reply(content=["Done again."]),
    ]
    open_studio(page, f"{server.login_url}&scene=two-rooms")
    page.wait_for_function("window.sceneforge.ready && window.sceneforge.draft && window.sceneforge.draft.rev === 1")
    _ask(page, "widen b")
    page.wait_for_function("(() => { const d = window.sceneforge.draft; return d.rev === 2 && !d.dirty; })()")
    widened = json.loads(page.input_value("#description"))
    assert widened["cells"][1]["room"]["max"][0] == 10

    # an edit (b's height 3 → 4) and, before the page saved it, the panel's undo in the same task
    typed = json.loads(json.dumps(widened))
    typed["cells"][1]["room"]["max"][1] = 4
    page.evaluate(
        """(text) => {
            const editor = document.getElementById('description');
            editor.value = text;
            editor.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText' }));
            document.querySelector('#assist-undo button').click();
        }""",
        json.dumps(typed, indent=2),
    )
    page.wait_for_function("(() => { const d = window.sceneforge.draft; return d.rev === 4 && !d.saving; })()")
    status, saved = http_json("GET", f"{server.base_url}/scenes/two-rooms/revisions/3", key=server.key)
    assert status == 200 and saved["source"] == "user" and saved["after"] == typed
    status, undone = http_json("GET", f"{server.base_url}/scenes/two-rooms/revisions/4", key=server.key)
    assert status == 200 and undone["source"] == "undo" and undone["after"] == widened
    assert json.loads(page.input_value("#description")) == widened
    assert page.evaluate("window.sceneforge.draft.canRedo") is True  # the typing is one redo away

    # half-typed (not JSON yet, so the page cannot save it) while the assistant makes rev 5
    half_typed = page.input_value("#description").replace('"plaster"', '"plas', 1)
    set_description(page, half_typed)
    _ask(page, "raise a")
    page.wait_for_function("window.sceneforge.notice.includes('rev 5')")
    assert page.input_value("#description") == half_typed
    assert page.evaluate("window.sceneforge.draft.dirty") is True
    status, draft = http_json("GET", f"{server.base_url}/scenes/two-rooms/draft", key=server.key)
    assert status == 200 and draft["rev"] == 5 and draft["description"]["cells"][0]["room"]["max"][1] == 3.5
    assert page_log.errors == []
