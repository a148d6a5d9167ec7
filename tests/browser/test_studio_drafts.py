"""The studio edits a scene's draft (docs/drafts.md, "Studio") against a real server and Chromium.

Each test checks what the page shows and what the API serves afterwards: the draft's ``rev`` and
description, the revision's ops (a JSON Patch, not a whole replacement), and which version
``GET /scenes/{id}.glb`` serves after a draft build, a publish and a roll back.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, WebSocketRoute

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer
from .studio import BUILD_TIMEOUT_MS, build_over_http, http_json, open_studio, set_description, wait_scene

#: A reason a header cannot hold as it is (an em dash, CJK, an emoji): the studio percent-encodes it.
REASON = "taller first room — 更高 🚪"

pytestmark = pytest.mark.server


def _scene(server: StudioServer, seed: int) -> dict[str, Any]:
    """A 4-room maze built (and published) through the service: it has a draft at rev 1 (its import)."""
    description = generate_maze(4, seed=seed)
    scene_id = build_over_http(server.base_url, server.key, json.dumps(description))
    assert scene_id == description["sceneId"]
    return description


def _draft(server: StudioServer, scene_id: str) -> tuple[str, dict[str, Any]]:
    """The draft's ETag and body, as the API serves them."""
    request = urllib.request.Request(
        f"{server.base_url}/scenes/{scene_id}/draft", headers={"X-API-Key": server.key, "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["ETag"], json.loads(response.read())


def _glb_etag(server: StudioServer, scene_id: str) -> str:
    """The ETag of the public ``/scenes/{id}.glb`` (the published version)."""
    request = urllib.request.Request(f"{server.base_url}/scenes/{scene_id}.glb", method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["ETag"]).removeprefix("W/").strip('"')


def _patch(server: StudioServer, scene_id: str, ops: list[dict[str, Any]], reason: str) -> dict[str, Any]:
    """Another editor's change, straight to the API."""
    request = urllib.request.Request(
        f"{server.base_url}/scenes/{scene_id}/draft",
        data=json.dumps(ops).encode(),
        method="PATCH",
        headers={"X-API-Key": server.key, "Content-Type": "application/json-patch+json", "X-Change-Reason": reason},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as error:
        raise AssertionError(f"PATCH answered {error.code}: {error.read()!r}") from None


def _editor(page: Page) -> dict[str, Any]:
    return json.loads(page.input_value("#description"))  # type: ignore[no-any-return]


def _wait_rev(page: Page, rev: int) -> None:
    """Wait until the page holds the draft at ``rev`` with nothing unsaved."""
    page.wait_for_function(
        "(rev) => { const d = window.sceneforge.draft; return d && d.rev === rev && !d.dirty && !d.saving; }", arg=rev
    )


def _versions(server: StudioServer, scene_id: str) -> list[dict[str, Any]]:
    status, versions = http_json("GET", f"{server.base_url}/scenes/{scene_id}/versions", key=server.key)
    assert status == 200, versions
    return versions  # type: ignore[no-any-return]


def _open(context: BrowserContext, server: StudioServer, scene_id: str, log: PageLog, name: str) -> Page:
    page = context.new_page()
    page.on("console", log.console)
    page.on("pageerror", log.page_error)
    open_studio(page, f"{server.base_url}/?scene={scene_id}&name={name}")
    wait_scene(page, scene_id)
    return page


def test_edit_history_undo_build_publish_roll_back(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=31)
    scene_id = description["sceneId"]
    published_v1 = _glb_etag(studio_server, scene_id)
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")

    # the editor holds the scene's draft (its import revision), not a stock example
    _wait_rev(page, 1)
    assert _editor(page) == description
    assert page.text_content("#draft-state") == "rev 1 · saved"
    page.wait_for_selector("#history li[data-rev='1']")
    assert "import" in (page.text_content("#history li[data-rev='1']") or "")

    # change a room: saved (debounced) as revision 2, a one-op JSON Patch with the reason typed
    # (beyond Latin-1, which a header cannot hold as it is: fetch would throw and nothing be saved)
    page.fill("#reason", REASON)
    edited = _editor(page)
    edited["cells"][0]["room"]["max"][1] = 3.5
    set_description(page, json.dumps(edited, indent=2))
    _wait_rev(page, 2)
    etag, draft = _draft(studio_server, scene_id)
    assert etag == '"rev-2"'
    assert draft["description"]["cells"][0]["room"]["max"][1] == 3.5
    url = f"{studio_server.base_url}/scenes/{scene_id}/revisions/2"
    status, revision = http_json("GET", url, key=studio_server.key)
    assert status == 200
    assert revision["ops"] == [{"op": "replace", "path": "/cells/0/room/max/1", "value": 3.5}]
    assert (revision["source"], revision["reason"]) == ("user", REASON)

    # the history entry: author, source, reason; selecting it shows the diff and the changed cell
    entry = page.locator("#history li[data-rev='2']")
    entry.wait_for()
    text = entry.text_content() or ""
    assert "user" in text and REASON in text and revision["author"] in text
    entry.click()
    page.wait_for_function("window.sceneforge.changedCells.length > 0")
    assert page.evaluate("window.sceneforge.changedCells") == [description["cells"][0]["cellId"]]
    assert "replace /cells/0/room/max/1: 3 → 3.5" in (page.text_content("#revision-diff") or "")

    # undo: a new revision (3) that restores the room; the API serves the same
    page.click("#undo")
    _wait_rev(page, 3)
    assert _editor(page)["cells"][0]["room"]["max"][1] == 3.0
    page.wait_for_selector("#history li[data-rev='3']")
    assert "undo" in (page.text_content("#history li[data-rev='3']") or "")
    assert _draft(studio_server, scene_id)[1]["description"] == description
    page.click("#redo")
    _wait_rev(page, 4)
    assert _editor(page)["cells"][0]["room"]["max"][1] == 3.5

    # build the draft: live progress, a new unpublished version the 3D view can show
    page.click("#build-draft")
    page.wait_for_function(
        "() => { const j = window.sceneforge.jobState;"
        " return j && ['Succeeded', 'Failed', 'Canceled'].includes(j.status); }",
        timeout=BUILD_TIMEOUT_MS,
    )
    assert page.evaluate("window.sceneforge.jobState.status") == "Succeeded"
    page.wait_for_function("() => { const v = window.sceneforge.viewing; return v && v.kind === 'draft'; }")
    assert page.is_checked("#view-draft")
    versions = _versions(studio_server, scene_id)
    assert [(v["n"], v["latest"]) for v in versions] == [(1, True), (2, False)]
    assert page.evaluate("window.sceneforge.viewing")["eTag"] == versions[1]["eTag"]
    assert _glb_etag(studio_server, scene_id) == published_v1, "a draft build must not be public"
    page.uncheck("#view-draft")
    page.wait_for_function("() => window.sceneforge.viewing.kind === 'published'")

    # publish v2: the public GLB moves; roll back to v1: it moves back
    button = page.locator("#versions li[data-n='2'] button")
    assert button.text_content() == "Publish"
    button.click()
    page.wait_for_selector("#versions li[data-n='2'].public")
    assert _glb_etag(studio_server, scene_id) == versions[1]["eTag"].strip('"')
    page.wait_for_function("(e) => window.sceneforge.viewing.eTag === e", arg=versions[1]["eTag"])
    back = page.locator("#versions li[data-n='1'] button")
    assert back.text_content() == "Roll back"
    back.click()
    page.wait_for_selector("#versions li[data-n='1'].public")
    assert _glb_etag(studio_server, scene_id) == published_v1
    assert [v["latest"] for v in _versions(studio_server, scene_id)] == [True, False]
    # publishing moves no draft: it stays at rev 4
    assert _draft(studio_server, scene_id)[0] == '"rev-4"'
    assert page_log.errors == []


def test_invalid_edit_is_shown_in_place_and_not_saved(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=32)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")
    _wait_rev(page, 1)
    edited = _editor(page)
    edited["portals"][0]["to"] = "nowhere"
    text = json.dumps(edited, indent=2)
    bad_line = next(i for i, line in enumerate(text.split("\n"), 1) if '"nowhere"' in line)
    set_description(page, text)
    page.wait_for_selector("#errors li")
    errors = page.evaluate("window.sceneforge.errors")
    assert ("/portals/0/to", bad_line) in [(e["path"], e["line"]) for e in errors]
    assert page.evaluate("window.sceneforge.draft.rev") == 1
    # refused, not pending: the state and the list say it is not saved, in words, not as the request's line
    assert page.inner_text("#draft-state") == "rev 1 · not saved (errors)"
    shown = page.locator("#errors li").all_inner_texts()
    assert re.fullmatch(
        r"Not saved: fix the (error|\d+ errors) above \(the draft stays at rev 1\); "
        r"the edit is saved as soon as it is valid\.",
        shown[-1],
    ), shown
    assert not [line for line in shown if "PATCH" in line], shown
    assert _draft(studio_server, scene_id)[0] == '"rev-1"'
    page_log.errors = [e for e in page_log.errors if "422" not in e]  # the refused PATCH, shown in place
    assert page_log.errors == []


def test_another_editor_updates_the_page_live(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=33)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")
    _wait_rev(page, 1)

    # presence: a second editor opening the scene is listed on the first page
    other = _open(editor_context, studio_server, scene_id, page_log, "bob")
    page.wait_for_function("document.getElementById('presence').textContent.includes('bob')")
    assert "ana" in (page.text_content("#presence") or "")
    other.close()
    page.wait_for_function("!document.getElementById('presence').textContent.includes('bob')")

    ops = [{"op": "replace", "path": "/cells/1/room/material", "value": "tile"}]
    answer = _patch(studio_server, scene_id, ops, "r")
    assert answer["rev"] == 2
    _wait_rev(page, 2)
    assert _editor(page)["cells"][1]["room"]["material"] == "tile"
    page.wait_for_selector("#history li[data-rev='2']")
    assert page.text_content("#draft-state") == "rev 2 · saved"
    assert page_log.errors == []


def test_another_editors_publish_moves_the_view_the_versions_and_the_scene_list(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=38)
    scene_id = description["sceneId"]
    _patch(studio_server, scene_id, [{"op": "replace", "path": "/cells/0/room/max/1", "value": 3.5}], "taller")
    status, build = http_json("POST", f"{studio_server.base_url}/scenes/{scene_id}/draft/build", key=studio_server.key)
    assert status == 200, build
    deadline = time.monotonic() + BUILD_TIMEOUT_MS / 1000
    while (job := http_json("GET", f"{studio_server.base_url}/jobs/{build['jobId']}")[1])["status"] != "Succeeded":
        assert job["status"] in ("Queued", "Running") and time.monotonic() < deadline, job
        time.sleep(0.2)
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")
    page.wait_for_function("() => { const v = window.sceneforge.viewing; return v && v.n === 1; }")
    row = page.locator(f"#scene-list li[data-scene-id='{scene_id}'] small")
    assert row.inner_text() == "v1"

    # another editor publishes the draft build through the API
    status, published = http_json(
        "POST",
        f"{studio_server.base_url}/scenes/{scene_id}/publish",
        json.dumps({"version": 2}).encode(),
        studio_server.key,
    )
    assert status == 200, published
    page.wait_for_function("() => { const v = window.sceneforge.viewing; return v && v.n === 2; }")
    page.wait_for_selector("#versions li[data-n='2'].public")
    assert page.inner_text("#view-version") == "published v2"
    page.wait_for_function(
        "([id, text]) => document.querySelector(`#scene-list li[data-scene-id='${id}'] small`).textContent === text",
        arg=[scene_id, "v2"],
    )
    assert page_log.errors == []


def test_the_history_lists_older_revisions_on_request(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=37)
    scene_id = description["sceneId"]
    for n in range(55):  # revs 2 to 56 after the import's rev 1
        _patch(
            studio_server,
            scene_id,
            [{"op": "replace", "path": "/cells/0/room/max/1", "value": 3 + (n + 1) / 100}],
            f"step {n}",
        )
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")
    _wait_rev(page, 56)
    page.wait_for_selector("#history li[data-rev='56']")
    revs = page.eval_on_selector_all("#history li[data-rev]", "(items) => items.map((li) => Number(li.dataset.rev))")
    assert revs == list(range(56, 6, -1))
    older = page.locator("#history li.more button")
    assert older.inner_text() == "Older revisions (before rev 7)"
    older.click()
    page.wait_for_selector("#history li[data-rev='1']")
    revs = page.eval_on_selector_all("#history li[data-rev]", "(items) => items.map((li) => Number(li.dataset.rev))")
    assert revs == list(range(56, 0, -1))
    assert page.locator("#history li.more").count() == 0
    # an old one shows its diff like any other
    page.click("#history li[data-rev='3']")
    page.wait_for_function("document.getElementById('revision-diff').textContent.includes('rev 3 (parent 2)')")
    # the list stays this long when the draft moves on
    _patch(studio_server, scene_id, [{"op": "replace", "path": "/cells/0/room/max/1", "value": 4}], "one more")
    page.wait_for_selector("#history li[data-rev='57']")
    assert page.locator("#history li[data-rev]").count() == 57
    assert page_log.errors == []


def test_a_revision_made_while_the_socket_was_down_reaches_the_page(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """The page's WebSocket drops (a network blip, a server restart); another editor saves meanwhile.
    On reconnecting, the page reads what it missed: its draft.revised was sent to no one."""
    sockets: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    editor_context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), through)
    try:
        description = _scene(studio_server, seed=35)
        scene_id = description["sceneId"]
        page = _open(editor_context, studio_server, scene_id, page_log, "ana")
        _wait_rev(page, 1)
        page.wait_for_function("document.getElementById('presence').textContent.includes('ana')")
        assert len(sockets) == 1
        sockets[0].close(code=1001, reason="gone")  # the page reconnects after a second
        height = description["cells"][1]["room"]["max"][1] + 0.25
        answer = _patch(
            studio_server, scene_id, [{"op": "replace", "path": "/cells/1/room/max/1", "value": height}], "r"
        )
        assert answer["rev"] == 2
        _wait_rev(page, 2)
        assert _editor(page)["cells"][1]["room"]["max"][1] == height
        assert len(sockets) >= 2  # it came back through a new socket
    finally:
        sockets.clear()


def test_conflict_shows_the_other_change_and_overwrites_nothing(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=34)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")
    _wait_rev(page, 1)
    theirs = [{"op": "replace", "path": "/cells/2/room/material", "value": "tile"}]

    def other_editor_first(route: Route) -> None:
        # the other editor's change lands between the page's edit and its save: the save is stale
        if route.request.method == "PATCH" and not getattr(other_editor_first, "done", False):
            other_editor_first.done = True  # type: ignore[attr-defined]
            _patch(studio_server, scene_id, theirs, "other editor")
        route.continue_()

    page.route(f"**/scenes/{scene_id}/draft", other_editor_first)
    edited = _editor(page)
    edited["cells"][0]["room"]["max"][1] = 3.25
    set_description(page, json.dumps(edited, indent=2))

    page.wait_for_selector("#conflict:not([hidden])")
    shown = page.text_content("#conflict") or ""
    assert "rev 2" in shown and "other editor" in shown
    was = description["cells"][2]["room"]["material"]
    assert was != "tile"
    assert f'replace /cells/2/room/material: "{was}" → "tile"' in (page.text_content("#conflict-diff") or "")
    # nothing of ours was written over theirs
    etag, draft = _draft(studio_server, scene_id)
    assert etag == '"rev-2"'
    assert draft["description"]["cells"][2]["room"]["material"] == "tile"
    assert draft["description"]["cells"][0]["room"]["max"][1] == 3.0
    assert page.evaluate("window.sceneforge.draft.conflict") is True

    # re-applying our edit on top keeps both changes
    page.click("#conflict-mine")
    _wait_rev(page, 3)
    both = _draft(studio_server, scene_id)[1]["description"]
    assert both["cells"][2]["room"]["material"] == "tile"
    assert both["cells"][0]["room"]["max"][1] == 3.25
    assert _editor(page) == both
    page_log.errors = [e for e in page_log.errors if "412" not in e]  # the refused PATCH, shown as the conflict
    assert page_log.errors == []


def test_the_notice_of_another_editors_revision_goes_once_the_conflict_is_resolved(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _scene(studio_server, seed=36)
    scene_id = description["sceneId"]
    page = _open(editor_context, studio_server, scene_id, page_log, "ana")
    _wait_rev(page, 1)
    for rev, resolve, after in ((2, "#conflict-theirs", 2), (3, "#conflict-mine", 4)):
        # an edit not saved yet (the save waits 0.6 s) when another editor's revision arrives: the page says so
        edited = _editor(page)
        edited["cells"][0]["room"]["max"][1] += 0.25
        set_description(page, json.dumps(edited, indent=2))
        _patch(studio_server, scene_id, [{"op": "add", "path": "/props/other", "value": str(rev)}], "other editor")
        page.wait_for_function(
            "(rev) => (window.sceneforge.notice || '').startsWith(`Someone else saved rev ${rev};`)", arg=rev
        )
        page.wait_for_selector("#conflict:not([hidden])")
        # either way out of the conflict leaves the page at (or past) their revision: the notice goes
        page.click(resolve)
        _wait_rev(page, after)
        assert page.evaluate("window.sceneforge.notice") == ""
        assert page.is_hidden("#notice")
    page_log.errors = [e for e in page_log.errors if "412" not in e]  # the refused PATCHes, shown as the conflicts
    assert page_log.errors == []
