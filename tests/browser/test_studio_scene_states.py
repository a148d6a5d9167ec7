"""What the studio shows when a scene's state is not the happy path, against a real server and Chromium.

* A draft build that fails says why (the job's ``error.message``, naming the limit it passed), not
  only "build failed".
* A scene deleted by someone else while it is open: the page says so at once (``scene.invalidated``
  naming every version), drops its draft, history, versions and 3D view, keeps the editor's text and
  saves nothing; *Build* makes the scene again from that text.
* The published view names the version it shows as soon as the versions are known; a scene with no
  published version says what to do instead of the GLB's 404.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer, serve_studio
from .studio import BUILD_TIMEOUT_MS, build_over_http, http_json, open_logged, signed_in, wait_job_done, wait_scene

pytestmark = pytest.mark.server


def _wait_draft(page: Page) -> int:
    """Wait until the page holds a draft with nothing unsaved; its rev."""
    page.wait_for_function("() => { const d = window.sceneforge.draft; return d && !d.dirty && !d.saving; }")
    return int(page.evaluate("window.sceneforge.draft.rev"))


# ---- a draft build that fails -------------------------------------------------------------


@pytest.fixture(scope="module")
def capped_server() -> Iterator[StudioServer]:
    """A server whose builds may run for a millisecond: every build fails, naming SCENEFORGE_JOB_TIMEOUT_S."""
    with contextlib.ExitStack() as stack:
        # only this server's process sees the cap (serve_studio copies the environment when it starts it)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SCENEFORGE_JOB_TIMEOUT_S", "0.001")
            server = stack.enter_context(serve_studio())
        yield server


def test_a_failed_draft_build_says_why(
    browser: Any, capped_server: StudioServer, page_log: PageLog, artifacts: Any
) -> None:
    server = capped_server
    description = generate_maze(4, seed=81)
    scene_id = description["sceneId"]
    status, answer = http_json(
        "POST", f"{server.base_url}/scenes/{scene_id}/draft", json.dumps(description).encode(), server.key
    )
    assert status == 201, answer
    context = signed_in(browser, server.login_url)
    try:
        page = open_logged(context, f"{server.base_url}/?scene={scene_id}", page_log)
        _wait_draft(page)
        page.click("#build-draft")
        job = wait_job_done(page)
        assert job["status"] == "Failed", job
        assert job["error"].get("limit") == "SCENEFORGE_JOB_TIMEOUT_S", job["error"]
        page.wait_for_function("document.getElementById('errors').textContent.includes('SCENEFORGE_JOB_TIMEOUT_S')")
        page.screenshot(path=str(artifacts / "studio-failed-build.png"))
        shown = page.locator("#errors li").all_inner_texts()
        # the reason, once: the issue that only repeats it (no pointer) is not listed beside it
        assert shown == [f"Build failed: {job['error']['message']}"], shown
    finally:
        context.close()
    # 404s of the version the 3D view asked for (none was ever built) are what a scene without one answers
    assert not [e for e in page_log.errors if "404" not in e], page_log.errors


# ---- a scene deleted while it is open -----------------------------------------------------


def test_a_scene_deleted_by_someone_else_says_so_and_saves_nothing(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog, artifacts: Any
) -> None:
    server = studio_server
    description = generate_maze(4, seed=73)
    scene_id = build_over_http(server.base_url, server.key, json.dumps(description))
    page = open_logged(editor_context, f"{server.base_url}/?scene={scene_id}", page_log)
    wait_scene(page, scene_id)
    _wait_draft(page)
    page.wait_for_selector(f"#scene-list li[data-scene-id='{scene_id}']")

    status, _ = http_json("DELETE", f"{server.base_url}/scenes/{scene_id}", key=server.key)
    assert status == 204
    page.wait_for_function("window.sceneforge.deleted", timeout=15_000)
    notice = page.evaluate("window.sceneforge.notice")
    assert f"{scene_id} was deleted" in notice and "Build makes the scene again" in notice, notice
    assert page.inner_text("#draft-state") == "scene deleted"
    assert page.evaluate("window.sceneforge.draft") is None
    page.wait_for_selector(f"#scene-list li[data-scene-id='{scene_id}']", state="detached")
    assert "deleted" in page.inner_text("#scene-title")
    assert page.evaluate("window.sceneforge.totalCells") == 0
    assert page.is_disabled("#build-draft") and page.is_disabled("#undo") and page.is_disabled("#redo")
    assert page.locator("#versions .publish").count() == 0

    # typing goes on in the editor, and nothing is sent for it: there is no draft to patch
    writes: list[str] = []

    def record(request: Request) -> None:
        if request.method != "GET" and f"/scenes/{scene_id}" in request.url:
            writes.append(f"{request.method} {request.url}")

    page.on("request", record)
    editor = page.locator("#description")
    editor.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n")
    page.wait_for_timeout(1500)  # past the 0.6 s a save waits for
    assert writes == []
    assert page.evaluate("window.sceneforge.draft") is None
    page.screenshot(path=str(artifacts / "studio-scene-deleted.png"))

    # Build makes it again from the editor's text, and the page opens it as a scene like any other
    page.click("#build")
    job = wait_job_done(page)
    assert job["status"] == "Succeeded", job
    page.wait_for_function(
        "() => !window.sceneforge.deleted && window.sceneforge.draft !== null", timeout=BUILD_TIMEOUT_MS
    )
    wait_scene(page, scene_id)
    assert page.evaluate("window.sceneforge.notice") == ""
    assert page.inner_text("#draft-state").endswith("saved")
    # what the page read of the scene once it was gone (its versions, its draft, cells still streaming) answered 404
    assert not [e for e in page_log.errors if "404" not in e], page_log.errors


# ---- the version the published view shows --------------------------------------------------


def test_the_published_view_names_its_version_when_the_scene_is_opened(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    server = studio_server
    scene_id = build_over_http(server.base_url, server.key, json.dumps(generate_maze(4, seed=75)))
    page = open_logged(editor_context, f"{server.base_url}/?scene={scene_id}", page_log)
    wait_scene(page, scene_id)
    page.wait_for_selector("#versions li.public")
    _status, versions = http_json("GET", f"{server.base_url}/scenes/{scene_id}/versions")
    published = next(v for v in versions if v["latest"])
    page.wait_for_function("window.sceneforge.viewing !== null")
    assert page.inner_text("#view-version") == f"published v{published['n']}"
    viewing = page.evaluate("window.sceneforge.viewing")
    assert (viewing["kind"], viewing["n"], viewing["eTag"]) == ("published", published["n"], published["eTag"])
    assert not page_log.errors, page_log.errors


def test_a_draft_never_built_says_so_instead_of_the_glbs_404(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """A draft started through the API (from a template, a description) has no version yet: the 3D view's
    title says what to do, not 'StreamingScene: GET /scenes/<id>.glb answered 404'."""
    server = studio_server
    description = generate_maze(4, seed=77)
    scene_id = description["sceneId"]
    body = json.dumps(description).encode()
    status, answer = http_json("POST", f"{server.base_url}/scenes/{scene_id}/draft", body, server.key)
    assert status == 201, answer
    page = open_logged(editor_context, f"{server.base_url}/?scene={scene_id}", page_log)
    _wait_draft(page)
    page.wait_for_function("document.getElementById('scene-title').textContent.includes('nothing built yet')")
    assert page.inner_text("#scene-title") == (
        f"{scene_id} · nothing built yet: Build draft makes a version, and publishing it (under Versions) shows it here"
    )
    # the GLB the view asked for answered 404: that is how it learnt there is none
    assert not [e for e in page_log.errors if "404" not in e], page_log.errors


def test_a_scene_that_does_not_exist_says_so(
    editor_context: BrowserContext, studio_server: StudioServer, page_log: PageLog
) -> None:
    """An address kept from a scene deleted since (or mistyped) names no scene: the title says that."""
    page = open_logged(editor_context, f"{studio_server.base_url}/?scene=no-such-scene-here", page_log)
    # The title reads "loading", then the GLB's 404, then why: wait for the last (waiting only for "no 404" could
    # return while it still read "loading").
    page.wait_for_function("document.getElementById('scene-title').textContent.includes('no such scene')")
    assert page.inner_text("#scene-title") == "no-such-scene-here · no such scene (deleted, or never made)"
    assert page.inner_text("#draft-state") == "no draft"
    # the GLB, the draft and the versions asked for answered 404: that is how it learnt there is none
    assert not [e for e in page_log.errors if "404" not in e], page_log.errors
