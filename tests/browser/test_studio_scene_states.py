"""What the studio shows when a scene's state is not the happy path, against a real server and Chromium.

* A draft build that fails says why (the job's ``error.message``, naming the limit it passed), not
  only "build failed".
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer, serve_studio
from .studio import http_json, open_studio, wait_job_done

pytestmark = pytest.mark.server


def _open(context: BrowserContext, url: str, log: PageLog) -> Page:
    page = context.new_page()
    page.on("console", log.console)
    page.on("pageerror", log.page_error)
    open_studio(page, url)
    return page


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
    description = generate_maze(4, seed=71)
    scene_id = description["sceneId"]
    status, answer = http_json(
        "POST", f"{server.base_url}/scenes/{scene_id}/draft", json.dumps(description).encode(), server.key
    )
    assert status == 201, answer
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    try:
        login = context.new_page()
        open_studio(login, server.login_url)
        login.close()
        page = _open(context, f"{server.base_url}/?scene={scene_id}", page_log)
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
