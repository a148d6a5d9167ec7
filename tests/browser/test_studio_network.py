"""The studio's draft editing over a network that fails (docs/drafts.md, "Studio"): offline, a restarting
service, a refused write, two tabs on one draft. Each test checks that an edit is neither lost nor
written over another's, and that the page says what happened."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Route, WebSocketRoute

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer, serve_studio
from .studio import http_json, open_studio, set_description

pytestmark = pytest.mark.server


def _draft_only(server: StudioServer, seed: int) -> dict[str, Any]:
    """A 4-room maze as a draft at rev 1, never built (the 3D view has nothing to show: the editor is under test)."""
    description = generate_maze(4, seed=seed)
    description["sceneId"] = f"net-{seed}"
    url = f"{server.base_url}/scenes/{description['sceneId']}/draft"
    status, answer = http_json("POST", url, json.dumps(description).encode(), server.key)
    assert status == 201, answer
    return description


def _served(server: StudioServer, scene_id: str) -> dict[str, Any]:
    status, draft = http_json("GET", f"{server.base_url}/scenes/{scene_id}/draft", key=server.key)
    assert status == 200, draft
    return draft  # type: ignore[no-any-return]


def _open(
    context: BrowserContext,
    server: StudioServer,
    scene_id: str,
    log: PageLog,
    name: str = "ana",
    rev: int = 1,
    ws_route: Callable[[WebSocketRoute], None] | None = None,
) -> Page:
    page = context.new_page()
    if ws_route is not None:
        page.route_web_socket("**/ws*", ws_route)
    page.on("console", log.console)
    page.on("pageerror", log.page_error)
    open_studio(page, f"{server.base_url}/?scene={scene_id}&name={name}")
    _wait_rev(page, rev)
    return page


def _wait_rev(page: Page, rev: int) -> None:
    page.wait_for_function(
        "(rev) => { const d = window.sceneforge.draft; return d && d.rev === rev && !d.dirty && !d.saving; }", arg=rev
    )


def _editor(page: Page) -> dict[str, Any]:
    return json.loads(page.input_value("#description"))  # type: ignore[no-any-return]


def _expected(log: PageLog, *codes: str) -> None:
    """Leave out the console errors a test caused on purpose (and the 404s of a scene never built)."""
    log.errors = [e for e in log.errors if not any(code in e for code in ("404", *codes))]


def test_an_edit_made_offline_is_saved_when_the_browser_is_back_online(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _draft_only(studio_server, seed=61)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log)
    editor_context.set_offline(True)
    try:
        edited = _editor(page)
        edited["cells"][0]["room"]["max"][1] = 3.75
        set_description(page, json.dumps(edited, indent=2))
        page.wait_for_function("() => window.sceneforge.notice.startsWith('Not saved')")
        assert "kept" in page.evaluate("window.sceneforge.notice")
        assert page.text_content("#draft-state") == "rev 1 · not saved (retrying)"
        assert page.evaluate("window.sceneforge.draft.dirty") is True
        assert _served(studio_server, scene_id)["rev"] == 1
    finally:
        editor_context.set_offline(False)
    _wait_rev(page, 2)
    assert _served(studio_server, scene_id)["description"] == edited
    assert page.evaluate("window.sceneforge.notice") == ""
    assert page.text_content("#draft-state") == "rev 2 · saved"
    _expected(page_log, "ERR_INTERNET_DISCONNECTED", "Failed to fetch")
    assert page_log.errors == []


def test_a_save_the_restarting_service_refused_is_tried_again(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """A 503 (the service restarting behind a proxy) says nothing about the edit: the page says it was not
    saved and tries again by itself, without another keystroke."""
    description = _draft_only(studio_server, seed=62)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log)
    refused: list[str] = []

    def unavailable_once(route: Route) -> None:
        if route.request.method == "PATCH" and not refused:
            refused.append(route.request.post_data or "")
            problem = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "restarting"}
            route.fulfill(status=503, content_type="application/problem+json", body=json.dumps(problem))
            return
        route.continue_()

    page.route(f"**/scenes/{scene_id}/draft", unavailable_once)
    edited = _editor(page)
    edited["cells"][1]["room"]["material"] = "tile"
    set_description(page, json.dumps(edited, indent=2))
    _wait_rev(page, 2)
    assert len(refused) == 1
    assert _served(studio_server, scene_id)["description"] == edited
    assert page.evaluate("window.sceneforge.notice") == ""
    _expected(page_log, "503")
    assert page_log.errors == []


def _patch(server: StudioServer, scene_id: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Another editor's change, straight to the API."""
    request = urllib.request.Request(
        f"{server.base_url}/scenes/{scene_id}/draft",
        data=json.dumps(ops).encode(),
        method="PATCH",
        headers={"X-API-Key": server.key, "Content-Type": "application/json-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_re_applying_after_a_conflict_keeps_what_was_typed_while_it_was_shown(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _draft_only(studio_server, seed=63)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log)
    theirs = [{"op": "replace", "path": "/cells/2/room/material", "value": "tile"}]

    def other_editor_first(route: Route) -> None:
        if route.request.method == "PATCH" and not getattr(other_editor_first, "done", False):
            other_editor_first.done = True  # type: ignore[attr-defined]
            _patch(studio_server, scene_id, theirs)
        route.continue_()

    page.route(f"**/scenes/{scene_id}/draft", other_editor_first)
    edited = _editor(page)
    edited["cells"][0]["room"]["max"][1] = 3.25
    set_description(page, json.dumps(edited, indent=2))
    page.wait_for_selector("#conflict:not([hidden])")
    # the designer goes on typing while the conflict is shown, then re-applies
    edited["cells"][1]["room"]["max"][1] = 3.5
    set_description(page, json.dumps(edited, indent=2))
    page.click("#conflict-mine")
    _wait_rev(page, 3)
    saved = _served(studio_server, scene_id)["description"]
    assert saved["cells"][2]["room"]["material"] == "tile"
    assert saved["cells"][0]["room"]["max"][1] == 3.25
    assert saved["cells"][1]["room"]["max"][1] == 3.5, "what was typed after the conflict showed was dropped"
    assert _editor(page) == saved
    _expected(page_log, "412")
    assert page_log.errors == []


def test_undo_in_a_tab_that_missed_another_editors_change_undoes_nothing(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """Two tabs on one draft; the second has not heard of the first's change yet (its socket is slow) when its
    designer clicks Undo meaning their own edit. The undo is sent with If-Match: the service refuses it (412)
    instead of undoing the other tab's change, and the page shows the draft as it now is."""
    description = _draft_only(studio_server, seed=64)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log, "bob")

    def deaf(ws: Any) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: None if "draft.revised" in str(message) else ws.send(message))

    page.route_web_socket("**/ws*", deaf)
    page.reload()
    page.wait_for_function("window.sceneforge !== undefined && document.getElementById('renderer-name').textContent")
    _wait_rev(page, 1)
    mine = _editor(page)
    mine["cells"][0]["room"]["max"][1] = 3.25
    set_description(page, json.dumps(mine, indent=2))
    _wait_rev(page, 2)
    page.wait_for_function("!document.getElementById('undo').disabled")

    other = _open(editor_context, studio_server, scene_id, page_log, "ana", rev=2)
    theirs = _editor(other)
    theirs["cells"][3]["room"]["material"] = "tile"
    set_description(other, json.dumps(theirs, indent=2))
    _wait_rev(other, 3)

    page.click("#undo")
    _wait_rev(page, 3)
    served = _served(studio_server, scene_id)
    assert served["rev"] == 3, "the undo went through and undid the other tab's change"
    assert served["description"] == theirs
    assert _editor(page) == theirs
    assert "Nothing was undone" in page.evaluate("window.sceneforge.notice")
    _expected(page_log, "412")
    assert page_log.errors == []


def test_another_tabs_save_keeps_the_caret_and_the_scroll_where_the_designer_was(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """A tab with nothing unsaved loads another tab's revision into its editor; the designer's caret (about to
    type) stays on the text it was at, before and after the lines that changed, instead of jumping to the end
    of the description, where the next keystroke would land after its closing brace."""
    description = generate_maze(40, seed=65)
    description["sceneId"] = "net-65"
    status, answer = http_json(
        "POST", f"{studio_server.base_url}/scenes/net-65/draft", json.dumps(description).encode(), studio_server.key
    )
    assert status == 201, answer
    page = _open(editor_context, studio_server, "net-65", page_log)
    text = page.input_value("#description")
    # the caret inside the last cell's id, the view scrolled to it
    at = text.index(f'"{description["cells"][-1]["cellId"]}"') + 2
    page.evaluate(
        """(at) => {
            const editor = document.getElementById('description');
            editor.focus();
            editor.setSelectionRange(at, at);
            editor.scrollTop = (editor.value.slice(0, at).split('\\n').length - 5) * 18;
        }""",
        at,
    )
    scroll = page.evaluate("document.getElementById('description').scrollTop")
    assert scroll > 0
    # another tab gives the first room a new material (a longer value, before the caret)
    other = _open(editor_context, studio_server, "net-65", page_log, "bob")
    theirs = _editor(other)
    theirs["cells"][0]["room"]["material"] = "brick"
    set_description(other, json.dumps(theirs, indent=2))
    _wait_rev(other, 2)
    _wait_rev(page, 2)
    now = page.input_value("#description")
    moved = len(now) - len(text)
    assert moved != 0
    caret = page.evaluate("[document.getElementById('description').selectionStart, document.activeElement.id]")
    assert caret == [at + moved, "description"]
    assert now[caret[0] - 2 : caret[0] + 3] == text[at - 2 : at + 3]
    assert page.evaluate("document.getElementById('description').scrollTop") == scroll
    _expected(page_log)
    assert page_log.errors == []


def test_a_conflict_with_many_revisions_names_the_newest_few(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """Another editor saved seven times (each with a long reason) while this page typed: the conflict names
    the newest five, reasons cut, and counts the others, so its buttons stay in view."""
    description = _draft_only(studio_server, seed=66)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log)

    def others_first(route: Route) -> None:
        if route.request.method == "PATCH" and not getattr(others_first, "done", False):
            others_first.done = True  # type: ignore[attr-defined]
            for i in range(7):
                ops = [{"op": "replace", "path": "/cells/2/room/max/1", "value": 3.1 + i / 10}]
                request = urllib.request.Request(
                    f"{studio_server.base_url}/scenes/{scene_id}/draft",
                    data=json.dumps(ops).encode(),
                    method="PATCH",
                    headers={
                        "X-API-Key": studio_server.key,
                        "Content-Type": "application/json-patch+json",
                        "X-Change-Reason": f"step {i} " + "r" * 900,
                    },
                )
                with urllib.request.urlopen(request, timeout=30):
                    pass
        route.continue_()

    page.route(f"**/scenes/{scene_id}/draft", others_first)
    edited = _editor(page)
    edited["cells"][0]["room"]["max"][1] = 3.25
    set_description(page, json.dumps(edited, indent=2))
    page.wait_for_selector("#conflict:not([hidden])")
    shown = page.text_content("#conflict-what") or ""
    assert [f"rev {n} " in shown for n in range(2, 9)] == [False, False, True, True, True, True, True], shown
    assert "2 earlier revisions" in shown
    assert len(shown) < 1_500, len(shown)
    assert page.locator("#conflict-mine").is_visible()
    _expected(page_log, "412")
    assert page_log.errors == []


def test_a_tab_on_a_scene_without_a_draft_follows_the_draft_another_tab_starts(
    browser: Browser, tmp_path: Path, page_log: PageLog
) -> None:
    """Two tabs open a published scene that has no draft (a demo); the first one's edit starts the draft. The
    second tab, with nothing typed, loads that draft as it would any other editor's revision, rather than
    keeping the published description until its own first edit runs into a 409."""
    description = generate_maze(4, seed=67)
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(description))
    scene_id = description["sceneId"]
    with serve_studio("--demo", str(path)) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        try:
            pages = []
            for name in ("bob", "ana"):
                page = context.new_page()
                page.on("console", page_log.console)
                page.on("pageerror", page_log.page_error)
                open_studio(page, server.login_url)
                open_studio(page, f"{server.base_url}/?scene={scene_id}&name={name}")
                page.wait_for_function("document.getElementById('draft-state').textContent.startsWith('no draft —')")
                pages.append(page)
            bob, ana = pages
            edited = _editor(ana)
            edited["cells"][0]["room"]["max"][1] = 3.5
            set_description(ana, json.dumps(edited, indent=2))
            _wait_rev(ana, 2)
            _wait_rev(bob, 2)
            assert _editor(bob) == edited
            assert bob.text_content("#draft-state") == "rev 2 · saved"
        finally:
            context.close()
    # the drafts and histories read before the draft existed
    _expected(page_log)
    assert page_log.errors == []


def test_opening_another_scene_keeps_an_edit_that_could_not_be_saved(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """Offline, the designer picks another scene: the page saves first, and when that fails it stays on the scene
    with the edit (and says why) instead of dropping it; back online, the edit is saved."""
    description = _draft_only(studio_server, seed=68)
    other = _draft_only(studio_server, seed=69)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log)
    editor_context.set_offline(True)
    try:
        edited = _editor(page)
        edited["cells"][3]["room"]["max"][1] = 3.5
        set_description(page, json.dumps(edited, indent=2))
        page.wait_for_function("() => window.sceneforge.notice.startsWith('Not saved')")
        assert page.evaluate("(id) => window.sceneforge.openScene(id)", other["sceneId"]) is False
        assert page.evaluate("window.sceneforge.sceneId") == scene_id
        assert f"{scene_id} stays open" in page.evaluate("window.sceneforge.notice")
        assert _editor(page) == edited
    finally:
        editor_context.set_offline(False)
    _wait_rev(page, 2)
    assert _served(studio_server, scene_id)["description"] == edited
    assert page.evaluate("window.sceneforge.notice") == ""
    page.evaluate("(id) => window.sceneforge.openScene(id)", other["sceneId"])
    page.wait_for_function("(id) => window.sceneforge.sceneId === id", arg=other["sceneId"])
    _expected(page_log, "ERR_INTERNET_DISCONNECTED", "Failed to fetch")
    assert page_log.errors == []


def test_closing_the_tab_with_an_edit_not_saved_asks_first(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _draft_only(studio_server, seed=70)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log)
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    editor_context.set_offline(True)
    try:
        page.click("#description")  # the browser asks only on a page the user has interacted with
        edited = _editor(page)
        edited["cells"][0]["room"]["max"][1] = 3.5
        set_description(page, json.dumps(edited, indent=2))
        page.wait_for_function("() => window.sceneforge.notice.startsWith('Not saved')")
        page.close(run_before_unload=True)
        page.wait_for_function("() => true")  # the page is still there: the question was answered "stay"
        assert asked == ["beforeunload"]
    finally:
        editor_context.set_offline(False)
    _wait_rev(page, 2)
    page.close(run_before_unload=True)
    assert asked == ["beforeunload"], "asked again with nothing left to save"
    _expected(page_log, "ERR_INTERNET_DISCONNECTED", "Failed to fetch")
    assert page_log.errors == []


def test_a_scene_built_thousands_of_times_lists_its_newest_versions_and_the_published_one(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """The versions list is every version the service has (oldest first); the page lists the newest few dozen,
    the published one wherever it is, and counts the rest, instead of a row (and a button) per build."""
    description = _draft_only(studio_server, seed=72)
    scene_id = description["sceneId"]
    versions = [
        {"n": n, "eTag": f"{n:016x}", "bytes": 1000, "createdUtc": "2026-01-01T00:00:00.000Z", "latest": n == 7,
         "glbPath": f"/scenes/{scene_id}@v{n}.glb"}
        for n in range(1, 5001)
    ]  # fmt: skip
    page = editor_context.new_page()
    page.on("console", page_log.console)
    page.on("pageerror", page_log.page_error)
    page.route(
        f"**/scenes/{scene_id}/versions",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(versions)),
    )
    open_studio(page, f"{studio_server.base_url}/?scene={scene_id}&name=ana")
    _wait_rev(page, 1)
    page.wait_for_selector("#versions li[data-n='5000']")
    rows = page.locator("#versions li")
    assert rows.count() < 50
    assert page.locator("#versions li[data-n='7'].public").count() == 1
    assert "older versions not listed" in (rows.last.text_content() or "")
    assert page.locator("#versions li[data-n='4999'] button").text_content() == "Publish"
    _expected(page_log)
    assert page_log.errors == []


def test_building_the_editors_text_as_another_scene_opens_that_scene(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """Build (build and publish) with another sceneId in the editor makes that scene, and the page opens it: the
    text is not an unsaved edit of the scene that was open (whose save it fails: a draft keeps its sceneId)."""
    description = _draft_only(studio_server, seed=73)
    page = _open(editor_context, studio_server, description["sceneId"], page_log)
    copy = _editor(page)
    copy["sceneId"] = "net-73-copy"
    set_description(page, json.dumps(copy, indent=2))
    page.click("#build")
    page.wait_for_function("() => window.sceneforge.sceneId === 'net-73-copy'", timeout=60_000)
    _wait_rev(page, 1)
    assert _editor(page) == copy
    assert _served(studio_server, description["sceneId"])["rev"] == 1
    _expected(page_log, "422")
    assert page_log.errors == []


def test_the_live_socket_opens_again_at_once_when_the_browser_is_back_online(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """The network goes: the live socket drops and its retries fail, backing off (1, 2, 4, then 8 s).
    Back online, it opens at once and the page follows another editor's change again, not when the
    backoff runs out."""
    description = _draft_only(studio_server, 41)
    scene_id = description["sceneId"]
    sockets: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page = _open(editor_context, studio_server, scene_id, page_log, ws_route=through)
    page.wait_for_function("() => window.sceneforge.live.open")
    # Offline (the browser's emulation keeps an open socket and routed ones): the socket is cut, and
    # every new one is refused as the network would (a closed port outside the routes).
    editor_context.set_offline(True)
    page.evaluate(
        """() => { const Real = WebSocket; window.WebSocket = class extends Real {
            constructor() { super('ws://127.0.0.1:9/'); } }; window.WebSocket.Real = Real; }"""
    )
    sockets[-1].close()
    try:
        page.wait_for_function(
            "() => { const l = window.sceneforge.live; return l.attempts >= 4 && l.retrying; }", timeout=20_000
        )
    finally:
        page.evaluate("() => { if (window.WebSocket.Real) window.WebSocket = window.WebSocket.Real; }")
        editor_context.set_offline(False)
    # The next retry is 8 s away: the socket opens long before.
    page.wait_for_function("() => window.sceneforge.live.open", timeout=4_000)
    _patch(studio_server, scene_id, [{"op": "replace", "path": "/cells/2/room/material", "value": "tile"}])
    _wait_rev(page, 2)
    assert _editor(page)["cells"][2]["room"]["material"] == "tile"
    _expected(page_log, "ERR_INTERNET_DISCONNECTED", "WebSocket", "127.0.0.1:9")
