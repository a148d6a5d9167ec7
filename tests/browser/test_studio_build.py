"""The studio against a real server: generate, build with live progress, auth, validation errors in place."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer
from .studio import click_build, generate_in_page, maze_text, open_studio, set_description, wait_job_done, wait_scene

pytestmark = pytest.mark.server

_RECORD_STATES = """() => {
    window.__jobStates = [];
    new MutationObserver(() => window.__jobStates.push(document.getElementById('job-state').textContent))
        .observe(document.getElementById('job-state'), { childList: true, characterData: true, subtree: true });
}"""


def test_build_generated_maze_reaches_succeeded(page: Page, studio_server: StudioServer, page_log: PageLog) -> None:
    open_studio(page, studio_server.login_url)
    assert "key=" not in page.url, "the key must leave the address bar"
    assert page.text_content("#auth") == "signed in"
    assert page.is_enabled("#build")

    seed = 11
    if not generate_in_page(page, "maze", 100, seed):
        set_description(page, maze_text(100, seed))  # the service has no /generate yet: paste it
        page_log.errors = [e for e in page_log.errors if "/generate/maze" not in e]
    description = json.loads(page.input_value("#description"))
    assert len(description["cells"]) == 100
    scene_id = description["sceneId"]

    page.evaluate(_RECORD_STATES)
    click_build(page)
    job = wait_job_done(page)
    assert job["status"] == "Succeeded", job
    assert job["progress"] == 100
    assert job["sceneId"] == scene_id
    page.wait_for_function("document.getElementById('job-state').textContent.startsWith('Succeeded')")
    assert page.evaluate("document.getElementById('progress-bar').style.width") == "100%"
    seen = page.evaluate("window.__jobStates")
    assert any(s.startswith(("Queued", "Running")) for s in seen), f"no live state before the end: {seen}"

    # the build opens the scene, lists it and its job
    wait_scene(page, scene_id)
    assert page.evaluate("window.sceneforge.totalCells") == 100
    assert "100 cells" in page.text_content("#scene-title")
    page.wait_for_selector(f"#scene-list li[data-scene-id='{scene_id}'].on")
    row = page.locator("#job-list tr[data-type=build]", has_text=scene_id).first  # a preview job follows it
    assert "Succeeded" in row.text_content()
    assert page_log.errors == []


def test_read_only_without_key(browser: Browser, studio_server: StudioServer, page_log: PageLog) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("console", page_log.console)
        open_studio(page, studio_server.base_url + "/")
        assert page.evaluate("localStorage.getItem('sceneforge.apiKey')") is None
        assert page.is_disabled("#build")
        assert page.is_disabled("#generate")
        assert "read-only" in page.text_content("#auth")

        body = maze_text(4, 1)
        answer = page.request.post(
            studio_server.base_url + "/jobs/enqueue", data=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status == 401
        from_page = page.evaluate(
            "(body) => fetch('/jobs/enqueue',"
            " { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }).then((r) => r.status)",
            body,
        )
        assert from_page == 401
        wrong_key = page.request.post(
            studio_server.base_url + "/jobs/enqueue", data=body, headers={"X-API-Key": "sfk_not-a-key"}
        )
        assert wrong_key.status in (401, 403)
    finally:
        context.close()


def test_validation_errors_point_at_their_line(page: Page, studio_server: StudioServer) -> None:
    description = generate_maze(4, seed=2)
    description["portals"][1]["to"] = "nowhere"
    text = json.dumps(description, indent=2)
    lines = text.split("\n")
    bad_line = next(i for i, line in enumerate(lines, 1) if '"nowhere"' in line)

    open_studio(page, studio_server.login_url)
    set_description(page, text)
    click_build(page)
    page.wait_for_selector("#errors li")
    assert page.evaluate("window.sceneforge.jobState.status") == "Refused"

    errors = page.evaluate("window.sceneforge.errors")
    assert [(e["path"], e["line"]) for e in errors] == [("/portals/1/to", bad_line)]
    item = page.locator("#errors li").first.text_content()
    assert "/portals/1/to" in item and f"line {bad_line}" in item and "nowhere" in item
    marked = page.locator("#gutter .err")
    assert marked.count() == 1
    assert marked.first.text_content() == str(bad_line)
    assert "/portals/1/to" in (marked.first.get_attribute("title") or "")

    # clicking the error selects its line in the editor
    page.locator("#errors li").first.click()
    selected = page.evaluate(
        "(() => { const e = document.getElementById('description');"
        " return [e.value.slice(0, e.selectionStart).split('\\n').length,"
        " e.value.slice(e.selectionStart, e.selectionEnd)]; })()"
    )
    assert selected == [bad_line, lines[bad_line - 1]]

    # fixing the text clears the marks
    set_description(page, text.replace('"nowhere"', '"c0"'))
    assert page.locator("#gutter .err").count() == 0
    assert page.locator("#errors li").count() == 0


def test_json_syntax_error_marks_its_line(page: Page, studio_server: StudioServer) -> None:
    text = maze_text(4, 3)
    lines = text.split("\n")
    broken = 9
    lines[broken - 1] = lines[broken - 1].rstrip(",") + " ]]"
    open_studio(page, studio_server.login_url)
    set_description(page, "\n".join(lines))
    click_build(page)
    page.wait_for_selector("#errors li")
    errors = page.evaluate("window.sceneforge.errors")
    assert len(errors) == 1 and errors[0]["code"] == "json"
    assert page.locator("#gutter .err").first.text_content() == str(broken)
