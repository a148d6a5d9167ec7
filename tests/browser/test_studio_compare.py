"""The studio against a real server and Chromium: a scene without a draft, and compare mode.

* A scene published without a draft (a demo loaded by ``serve --demo``) opens with its published
  description in the editor; the first edit starts the draft from that version, then patches it.
* Compare mode draws the published version and the newest draft build side by side with one
  camera: both halves are checked in the canvas's pixels, their labels against what the API
  serves, and a half with nothing to show says so until a draft build fills it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer, serve_studio
from .png import decode_png
from .studio import BUILD_TIMEOUT_MS, build_over_http, http_json, open_logged, set_description, signed_in

pytestmark = pytest.mark.server

#: The view's clear colour (viewer.js: 0x11151c).
BACKGROUND = np.array([0x11, 0x15, 0x1C])
#: Rows at the top of each half that the version labels cover.
LABEL_ROWS = 40


@pytest.fixture
def editor_context(browser: Browser, studio_server: StudioServer) -> Iterator[BrowserContext]:
    context = signed_in(browser, studio_server.login_url)
    try:
        yield context
    finally:
        context.close()


def _get(server: StudioServer, path: str) -> tuple[int, Any]:
    return http_json("GET", f"{server.base_url}{path}", key=server.key)


def _patch_draft(server: StudioServer, scene_id: str, ops: list[dict[str, Any]]) -> None:
    """Another editor's change to the draft, straight to the API."""
    request = urllib.request.Request(
        f"{server.base_url}/scenes/{scene_id}/draft",
        data=json.dumps(ops).encode(),
        method="PATCH",
        headers={"X-API-Key": server.key, "Content-Type": "application/json-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _glb_etag(server: StudioServer, path: str) -> str:
    """The ETag ``path`` (a GLB URL) is served with, read with the admin key."""
    request = urllib.request.Request(f"{server.base_url}{path}", method="HEAD", headers={"X-API-Key": server.key})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["ETag"]).removeprefix("W/").strip('"')


# ---- a scene without a draft -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StudioServer, list[dict[str, Any]]]]:
    """A server that built two demo descriptions at start: published, with no draft and no revision."""
    descriptions = [generate_maze(4, seed=41), generate_maze(4, seed=43)]
    folder = tmp_path_factory.mktemp("demo")
    arguments = []
    for description in descriptions:
        path = folder / f"{description['sceneId']}.json"
        path.write_text(json.dumps(description, indent=2))
        arguments += ["--demo", str(path)]
    with serve_studio(*arguments) as server:
        yield server, descriptions


def test_a_scene_without_a_draft_shows_its_published_description_and_the_first_edit_starts_the_draft(
    browser: Browser, demo_server: tuple[StudioServer, list[dict[str, Any]]], page_log: PageLog
) -> None:
    server, (description, _other) = demo_server
    scene_id = description["sceneId"]
    assert _get(server, f"/scenes/{scene_id}/draft")[0] == 404
    assert _get(server, f"/scenes/{scene_id}/revisions")[0] == 404
    context = signed_in(browser, server.login_url)
    try:
        page = open_logged(context, f"{server.base_url}/?scene={scene_id}&name=ana", page_log)
        # the editor holds the published description, editable; nothing is written by opening it
        page.wait_for_function(
            '(id) => document.getElementById(\'description\').value.includes(`"sceneId": "${id}"`)', arg=scene_id
        )
        assert json.loads(page.input_value("#description")) == description
        assert page.text_content("#draft-state") == "no draft — editing starts one from v1"
        assert not page.evaluate("document.getElementById('description').readOnly")
        assert page.evaluate("window.sceneforge.draft") is None
        page.click("#description")
        assert _get(server, f"/scenes/{scene_id}/draft")[0] == 404

        # the first edit: the draft from v1 (rev 1), then the edit as a patch on it (rev 2)
        page.fill("#reason", "taller first room")
        edited = json.loads(page.input_value("#description"))
        edited["cells"][0]["room"]["max"][1] = 3.5
        set_description(page, json.dumps(edited, indent=2))
        page.wait_for_function("() => { const d = window.sceneforge.draft; return d && d.rev === 2 && !d.dirty; }")
        status, draft = _get(server, f"/scenes/{scene_id}/draft")
        assert status == 200 and draft["rev"] == 2 and draft["description"] == edited
        status, history = _get(server, f"/scenes/{scene_id}/revisions")
        assert status == 200
        revisions = history["revisions"]
        assert [(r["rev"], r["parentRev"], r["source"]) for r in revisions] == [(2, 1, "user"), (1, None, "user")]
        assert revisions[0]["ops"] == [{"op": "replace", "path": "/cells/0/room/max/1", "value": 3.5}]
        assert revisions[0]["reason"] == "taller first room"
        first = _get(server, f"/scenes/{scene_id}/revisions/1")[1]
        assert first["after"] == description, "the draft starts from the published description"
        page.wait_for_selector("#history li[data-rev='1']")
        page.wait_for_selector("#history li[data-rev='2']")
        assert "taller first room" in (page.text_content("#history li[data-rev='2']") or "")
        assert page.text_content("#draft-state") == "rev 2 · saved"
        # the published version is what it was: a draft edit publishes nothing
        assert _get(server, f"/scenes/{scene_id}/description")[1] == description
    finally:
        context.close()
    # the page's expected failures: the draft and its history, read before the draft existed
    expected = (f"/scenes/{scene_id}/draft)", f"/scenes/{scene_id}/revisions?")
    page_log.errors = [e for e in page_log.errors if not ("404" in e and any(x in e for x in expected))]
    assert page_log.errors == []


def test_a_draft_another_editor_started_first_is_shown_as_a_conflict(
    browser: Browser, demo_server: tuple[StudioServer, list[dict[str, Any]]], page_log: PageLog
) -> None:
    server, (_first, description) = demo_server
    scene_id = description["sceneId"]
    base = f"{server.base_url}/scenes/{scene_id}/draft"
    theirs = [{"op": "replace", "path": "/cells/2/room/material", "value": "tile"}]
    assert description["cells"][2]["room"]["material"] != "tile"

    def other_editor_first(route: Route) -> None:
        # the other editor starts the draft (and changes it) between this page's edit and its save
        if route.request.method == "POST" and not getattr(other_editor_first, "done", False):
            other_editor_first.done = True  # type: ignore[attr-defined]
            assert http_json("POST", base, json.dumps({"fromVersion": 1}).encode(), server.key)[0] == 201
            request = urllib.request.Request(
                base,
                data=json.dumps(theirs).encode(),
                method="PATCH",
                headers={"X-API-Key": server.key, "Content-Type": "application/json-patch+json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
        route.continue_()

    context = signed_in(browser, server.login_url)
    try:
        page = open_logged(context, f"{server.base_url}/?scene={scene_id}&name=ana", page_log)
        page.wait_for_function(
            '(id) => document.getElementById(\'description\').value.includes(`"sceneId": "${id}"`)', arg=scene_id
        )
        page.route(f"**/scenes/{scene_id}/draft", other_editor_first)
        edited = json.loads(page.input_value("#description"))
        edited["cells"][0]["room"]["max"][1] = 3.25
        set_description(page, json.dumps(edited, indent=2))
        page.wait_for_selector("#conflict:not([hidden])")
        assert "rev 2" in (page.text_content("#conflict") or "")
        was = description["cells"][2]["room"]["material"]
        assert f'replace /cells/2/room/material: "{was}" → "tile"' in (page.text_content("#conflict-diff") or "")
        draft = _get(server, f"/scenes/{scene_id}/draft")[1]
        assert draft["rev"] == 2 and draft["description"]["cells"][0]["room"]["max"][1] == 3.0, "nothing overwritten"

        # re-applying the edit on their draft keeps both changes
        page.click("#conflict-mine")
        page.wait_for_function("() => { const d = window.sceneforge.draft; return d && d.rev === 3 && !d.dirty; }")
        both = _get(server, f"/scenes/{scene_id}/draft")[1]["description"]
        assert both["cells"][2]["room"]["material"] == "tile" and both["cells"][0]["room"]["max"][1] == 3.25
        assert json.loads(page.input_value("#description")) == both
    finally:
        context.close()
    # expected: the draft and history read before the draft existed, and the refused POST (409)
    expected = (f"/scenes/{scene_id}/draft)", f"/scenes/{scene_id}/revisions?")
    page_log.errors = [e for e in page_log.errors if not (("404" in e or "409" in e) and any(x in e for x in expected))]
    assert page_log.errors == []


# ---- compare mode ----------------------------------------------------------------------


def _halves(page: Page, path: Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The canvas's left and right viewports as RGB pixels (the label rows and the divider left out)."""
    pixels = decode_png(page.locator("#view3d").screenshot(path=str(path), animations="disabled"))[..., :3]
    split = int(page.evaluate("window.sceneforge.compare.split"))
    width = min(split, pixels.shape[1] - split) - 4
    left = pixels[LABEL_ROWS:, split - 2 - width : split - 2]
    right = pixels[LABEL_ROWS:, split + 2 : split + 2 + width]
    return left, right


def _drawn(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels clearly not the clear colour."""
    return np.abs(pixels.astype(int) - BACKGROUND).sum(axis=2) > 24  # type: ignore[no-any-return]


def _same_silhouette(left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8]) -> float:
    """Intersection over union of what the two halves drew (1.0: the same shapes in the same places)."""
    a, b = _drawn(left), _drawn(right)
    return float((a & b).sum() / max(1, (a | b).sum()))


def _wait_compare(page: Page, published: int | None, draft: int | None) -> dict[str, Any]:
    """Wait until each half shows that version (None: nothing) and has drawn every cell it sees."""
    page.wait_for_function(
        """([p, d]) => {
            const c = window.sceneforge.compare;
            if (!c) return false;
            const ok = (h, n) => n === null ? h.status === 'empty' : h.n === n && h.ready && h.complete;
            return ok(c.published, p) && ok(c.draft, d);
        }""",
        arg=[published, draft],
        timeout=BUILD_TIMEOUT_MS,
    )
    return page.evaluate("window.sceneforge.compare")  # type: ignore[no-any-return]


def _drag(page: Page, x: float, y: float, dx: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y, steps=4)
    page.mouse.move(x + dx, y, steps=4)
    page.mouse.up()


def test_compare_shows_the_published_version_and_the_draft_build_with_one_camera(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog, artifacts: Path
) -> None:
    description = generate_maze(16, seed=42)
    scene_id = build_over_http(studio_server.base_url, studio_server.key, json.dumps(description))
    page = open_logged(editor_context, f"{studio_server.base_url}/?scene={scene_id}&compare=1", page_log)

    # no draft build yet: the right half says so, the left one shows v1
    state = _wait_compare(page, 1, None)
    published = _get(studio_server, f"/scenes/{scene_id}/versions")[1][0]
    assert state["published"]["eTag"] == published["eTag"]
    assert state["published"]["label"] == f"published v1 · {published['eTag']}"
    assert "No draft build" in state["draft"]["note"]
    assert page.is_disabled("#view-draft"), "the single view's toggle waits outside compare mode"
    left, right = _halves(page, artifacts / "compare-published-only.png")
    assert _drawn(left).mean() > 0.05 and _drawn(right).mean() < 0.01

    # a draft build made on the page while comparing: the right half loads it, the left one stays
    wall = "tile" if description["cells"][1]["room"].get("material") != "tile" else "brick"
    ops = [{"op": "replace", "path": "/cells/1/room/material", "value": wall}]
    _patch_draft(studio_server, scene_id, ops)
    page.wait_for_function("() => { const d = window.sceneforge.draft; return d && d.rev === 2; }")
    page.click("#build-draft")
    state = _wait_compare(page, 1, 2)
    versions = _get(studio_server, f"/scenes/{scene_id}/versions")[1]
    assert [(v["n"], v["latest"]) for v in versions] == [(1, True), (2, False)]
    assert state["draft"]["label"] == f"draft build v2 · {versions[1]['eTag']}"
    assert state["published"]["label"] == f"published v1 · {versions[0]['eTag']}"
    # the API serves those versions: the public file is v1, the draft build by its exact URL
    assert _glb_etag(studio_server, f"/scenes/{scene_id}.glb") == versions[0]["eTag"]
    assert _glb_etag(studio_server, f"/scenes/{scene_id}@v2.glb") == versions[1]["eTag"]

    # both halves drawn, with the same shapes (one camera, the same rooms; one wall's colour differs)
    left, right = _halves(page, artifacts / "compare-both.png")
    assert _drawn(left).mean() > 0.05 and _drawn(right).mean() > 0.05
    assert _same_silhouette(left, right) > 0.9
    assert np.abs(left.astype(int) - right.astype(int)).sum(axis=2).max() > 40, "the draft's material is not shown"

    # moving in the right half moves both
    box = page.locator("#view3d").bounding_box()
    assert box is not None
    split = page.evaluate("window.sceneforge.compare.split")
    _drag(page, box["x"] + split + split / 2, box["y"] + box["height"] / 2, 120)
    page.wait_for_timeout(500)  # the controls' damping settles
    _wait_compare(page, 1, 2)
    moved_left, moved_right = _halves(page, artifacts / "compare-orbited.png")
    assert np.abs(moved_left.astype(int) - left.astype(int)).sum(axis=2).mean() > 5, "the left half did not move"
    assert _same_silhouette(moved_left, moved_right) > 0.9

    # resizing: each half keeps half the canvas and both still draw the same shapes
    page.set_viewport_size({"width": 1100, "height": 760})
    page.wait_for_function(
        "() => Math.abs(window.sceneforge.compare.split - document.getElementById('view3d').clientWidth / 2) <= 1"
    )
    page.wait_for_timeout(300)
    _wait_compare(page, 1, 2)
    small_left, small_right = _halves(page, artifacts / "compare-resized.png")
    assert _drawn(small_left).mean() > 0.05 and _same_silhouette(small_left, small_right) > 0.9

    # back to one view: the toggle works again, the camera stays
    page.uncheck("#compare")
    page.wait_for_function("() => { const v = window.sceneforge.viewing; return v && v.kind === 'published'; }")
    assert page.evaluate("window.sceneforge.compare") is None
    assert page.is_hidden("#compare-panes") and page.is_enabled("#view-draft")
    assert page_log.errors == []


def test_compare_without_a_published_version_says_so_and_shows_the_draft_build_when_it_finishes(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog, artifacts: Path
) -> None:
    made = http_json(
        "POST",
        f"{studio_server.base_url}/scenes/lab-compare/draft",
        json.dumps({"template": "maze", "params": {"cells": 9, "seed": 3}}).encode(),
        studio_server.key,
    )
    assert made[0] == 201, made
    page = open_logged(editor_context, f"{studio_server.base_url}/?scene=lab-compare&compare=1", page_log)
    state = _wait_compare(page, None, None)
    assert "No published version yet" in state["published"]["note"]
    assert state["draft"]["note"] == "No draft build yet: Build draft makes one."
    assert page.is_visible("#pane-published .pane-empty") and page.is_visible("#pane-draft .pane-empty")

    page.wait_for_function("() => { const d = window.sceneforge.draft; return d && d.rev === 1; }")
    page.click("#build-draft")
    state = _wait_compare(page, None, 1)
    versions = _get(studio_server, "/scenes/lab-compare/versions")[1]
    assert [(v["n"], v["latest"]) for v in versions] == [(1, False)]
    assert state["draft"]["label"] == f"draft build v1 · {versions[0]['eTag']}"
    assert page.is_hidden("#pane-draft .pane-empty") and page.is_visible("#pane-published .pane-empty")
    left, right = _halves(page, artifacts / "compare-draft-only.png")
    assert _drawn(right).mean() > 0.05
    # the left half draws no scene: only its note's text is on the clear colour
    assert _drawn(left).mean() < 0.02
    assert _get(studio_server, "/scenes/lab-compare.glb")[0] == 404, "nothing is published"

    # another editor's draft build: its scene.built event brings it into the right half
    _patch_draft(studio_server, "lab-compare", [{"op": "add", "path": "/props/by", "value": "bob"}])
    status, job = http_json("POST", f"{studio_server.base_url}/scenes/lab-compare/draft/build", None, studio_server.key)
    assert status == 200, job
    state = _wait_compare(page, None, 2)
    versions = _get(studio_server, "/scenes/lab-compare/versions")[1]
    assert [(v["n"], v["latest"]) for v in versions] == [(1, False), (2, False)]
    assert state["draft"]["label"] == f"draft build v2 · {versions[1]['eTag']}"
    # the page's expected failures: the published file and description of a scene with none
    page_log.errors = [e for e in page_log.errors if "404" not in e]
    assert page_log.errors == []


def test_compare_entered_from_the_published_view_labels_both_halves(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    # entering compare from the published single view: the left half keeps the scene shown, and is labelled too
    description = generate_maze(9, seed=44)
    scene_id = build_over_http(studio_server.base_url, studio_server.key, json.dumps(description))
    wall = "tile" if description["cells"][1]["room"].get("material") != "tile" else "brick"
    _patch_draft(studio_server, scene_id, [{"op": "replace", "path": "/cells/1/room/material", "value": wall}])
    status, job = http_json("POST", f"{studio_server.base_url}/scenes/{scene_id}/draft/build", None, studio_server.key)
    assert status == 200, job
    deadline = time.monotonic() + BUILD_TIMEOUT_MS / 1000
    while _get(studio_server, f"/jobs/{job['jobId']}")[1]["status"] != "Succeeded":
        assert time.monotonic() < deadline, "the draft build did not finish"
        time.sleep(0.1)
    page = open_logged(editor_context, f"{studio_server.base_url}/?scene={scene_id}", page_log)
    # the draft build and back: the single view then shows v1 with its version known (also the case when the
    # versions list arrives before the scene has opened)
    page.wait_for_function("() => !document.getElementById('view-draft').disabled", timeout=BUILD_TIMEOUT_MS)
    for kind, n in (("draft", 2), ("published", 1)):
        page.click("#view-draft")
        page.wait_for_function(
            "([kind, n]) => { const v = window.sceneforge.viewing; return v && v.kind === kind && v.n === n; }",
            arg=[kind, n],
            timeout=BUILD_TIMEOUT_MS,
        )
    page.check("#compare")
    state = _wait_compare(page, 1, 2)
    versions = _get(studio_server, f"/scenes/{scene_id}/versions")[1]
    assert state["published"]["label"] == f"published v1 · {versions[0]['eTag']}"
    assert state["draft"]["label"] == f"draft build v2 · {versions[1]['eTag']}"
    assert page_log.errors == []
