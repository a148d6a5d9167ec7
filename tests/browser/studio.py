"""Driving the studio page: open it, fill the editor, build, wait for states — and the HTTP calls beside it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from sceneforge.generate import generate_maze

__all__ = [
    "TERMINAL",
    "build_over_http",
    "click_build",
    "generate_in_page",
    "http_json",
    "job_state",
    "maze_text",
    "open_studio",
    "set_description",
    "wait_job_done",
    "wait_scene",
    "wait_view_still",
]

TERMINAL = ("Succeeded", "Failed", "Canceled", "Refused")
#: A 100-cell maze builds in about a second here; generous bounds for a loaded 2-core machine.
BUILD_TIMEOUT_MS = 45_000


def maze_text(cells: int, seed: int) -> str:
    """A maze description as the editor shows it (2-space JSON)."""
    return json.dumps(generate_maze(cells, seed=seed), indent=2)


def open_studio(page: Page, url: str) -> None:
    """Load the page and wait until its 3D view has started (the test hook and the renderer are up)."""
    page.goto(url)
    page.wait_for_function("window.sceneforge !== undefined && document.getElementById('renderer-name').textContent")


def set_description(page: Page, text: str) -> None:
    """Put ``text`` in the editor as a paste would (one input event)."""
    page.evaluate(
        """(text) => {
            const editor = document.getElementById('description');
            editor.focus();
            editor.value = text;
            editor.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
        }""",
        text,
    )


def generate_in_page(page: Page, kind: str, cells: int, seed: int) -> bool:
    """Use the Generate button; False (editor untouched) when the service has no ``/generate/{kind}``."""
    page.select_option("#gen-kind", kind)
    page.fill("#gen-cells", str(cells))
    page.fill("#gen-seed", str(seed))
    with page.expect_response(lambda r: "/generate/" in r.url) as answer:
        page.click("#generate")
    if answer.value.status == 404:
        return False
    assert answer.value.ok, f"GET /generate answered {answer.value.status}"
    # Until the editor holds the level asked for: the example it opens with names cells too, so a wait for any
    # "cellId" returned before the answer was written in.
    page.wait_for_function(
        """(n) => {
            try { return JSON.parse(document.getElementById('description').value).cells.length === n; }
            catch (e) { return false; }
        }""",
        arg=cells,
    )
    return True


def click_build(page: Page) -> None:
    page.click("#build")


def job_state(page: Page) -> dict[str, Any] | None:
    return page.evaluate("window.sceneforge.jobState")  # type: ignore[no-any-return]


def wait_job_done(page: Page, timeout_ms: int = BUILD_TIMEOUT_MS) -> dict[str, Any]:
    """Wait until the page shows a finished job; its state (with the transport it was followed on)."""
    page.wait_for_function(
        "(terminal) => { const j = window.sceneforge.jobState; return j && terminal.includes(j.status); }",
        arg=list(TERMINAL),
        timeout=timeout_ms,
    )
    state = job_state(page)
    assert state is not None
    return state


def wait_scene(page: Page, scene_id: str, timeout_ms: int = BUILD_TIMEOUT_MS) -> None:
    """Wait until ``scene_id`` is loaded in the 3D view and a frame has counted its cells."""
    page.wait_for_function(
        "(id) => window.sceneforge.ready && window.sceneforge.sceneId === id && window.sceneforge.totalCells > 0",
        arg=scene_id,
        timeout=timeout_ms,
    )


#: Animation frames in a row without a frame of the 3D view that make it still (it draws on demand: a frame
#: it asked for is drawn at the next animation frame, and a damping or walking one asks for the next).
STILL_FRAMES = 10


def wait_view_still(page: Page, timeout_ms: int = BUILD_TIMEOUT_MS) -> int:
    """Wait until the 3D view stops drawing (``STILL_FRAMES`` animation frames without one of its frames) and
    the stats panel and floor plan show its last frame; the count of frames it drew."""
    return page.evaluate(  # type: ignore[no-any-return]
        """([still, timeoutMs]) => new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`the 3D view still draws after ${timeoutMs} ms`)), timeoutMs);
            let last = window.sceneforge.frames, quiet = 0;
            const step = () => {
                const now = window.sceneforge.frames;
                quiet = now === last && !window.sceneforge.plan.pending ? quiet + 1 : 0;
                last = now;
                if (quiet < still) return requestAnimationFrame(step);
                clearTimeout(timer);
                done(now);
            };
            requestAnimationFrame(step);
        })""",
        [STILL_FRAMES, timeout_ms],
    )


def http_json(method: str, url: str, body: bytes | None = None, key: str | None = None) -> tuple[int, Any]:
    """One HTTP call: (status, decoded JSON body or None)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["X-API-Key"] = key
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def build_over_http(base_url: str, key: str, text: str, timeout_s: float = 45.0) -> str:
    """Enqueue a description and poll its job to Succeeded; the scene id."""
    import time

    status, answer = http_json("POST", f"{base_url}/jobs/enqueue", text.encode(), key)
    assert status == 200, answer
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _status, job = http_json("GET", f"{base_url}/jobs/{answer['jobId']}")
        if job["status"] in TERMINAL:
            assert job["status"] == "Succeeded", job
            return str(job["sceneId"])
        time.sleep(0.2)
    raise TimeoutError(f"job {answer['jobId']} did not finish in {timeout_s}s")


def open_logged(context: BrowserContext, url: str, log: Any) -> Page:
    """A new page of ``context`` at ``url`` (:func:`open_studio`), its console and page errors kept in ``log``
    (a ``conftest.PageLog``)."""
    page = context.new_page()
    page.on("console", log.console)
    page.on("pageerror", log.page_error)
    open_studio(page, url)
    return page


def signed_in(browser: Browser, login_url: str) -> BrowserContext:
    """A new 1280 × 900 context of ``browser`` signed in by the studio's login URL (which stores the key in
    localStorage), 20 s default timeout; the caller closes it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    open_studio(page, login_url)
    page.close()
    return context
