"""Typing in the studio's editor with a big level in the 3D view (the 1,000-cell office, built and streamed).

The 3D view draws on demand: a keystroke in the editor changes nothing it shows, so it draws no frame (in
software WebGL a frame of the office took about a third of a second, and each keystroke waited for one), the
floor plan is not drawn again, and the text is parsed once per save (the save waits for a pause in the typing),
not once per key. Counted, not timed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Request

from .conftest import PageLog, StudioServer
from .studio import build_over_http, open_studio, wait_scene, wait_view_still

pytestmark = pytest.mark.server

OFFICE = Path(__file__).resolve().parents[1] / "data" / "levels" / "office-1000.json"
#: The office under its own id: the draft tests edit the same level as a draft never built.
SCENE_ID = "office-1000-typing"
KEYS = 20


@pytest.fixture(scope="module")
def office(studio_server: StudioServer) -> dict[str, Any]:
    """The 1,000-cell office, built and published (no draft: the first save starts one)."""
    description = json.loads(OFFICE.read_text())
    description["sceneId"] = SCENE_ID
    scene_id = build_over_http(studio_server.base_url, studio_server.key, json.dumps(description), timeout_s=180.0)
    assert scene_id == SCENE_ID
    return description  # type: ignore[no-any-return]


def test_typing_with_a_big_level_in_view_draws_nothing_and_parses_once_per_save(
    editor_context: BrowserContext, studio_server: StudioServer, office: dict[str, Any], page_log: PageLog
) -> None:
    editor_context.set_default_timeout(60_000)
    page = editor_context.new_page()
    page.on("console", page_log.console)
    page.on("pageerror", page_log.page_error)
    open_studio(page, f"{studio_server.base_url}/?scene={SCENE_ID}")
    wait_scene(page, SCENE_ID, timeout_ms=120_000)
    page.wait_for_function("document.getElementById('description').value.includes('\"cellId\"')")
    assert page.evaluate("window.sceneforge.totalCells") == len(office["cells"])
    frames = wait_view_still(page, timeout_ms=120_000)
    plan_draws = page.evaluate("window.sceneforge.plan.draws")
    parses = page.evaluate("window.sceneforge.parses")

    saves: list[Request] = []
    page.on("request", lambda r: saves.append(r) if r.method == "PATCH" and "/draft" in r.url else None)
    # the caret after the first room's wall thickness (0.1): every key changes the description, which stays valid
    page.evaluate(
        """() => {
            const editor = document.getElementById('description');
            const at = editor.value.indexOf('"wallThickness": 0.1') + '"wallThickness": 0.1'.length;
            editor.focus();
            editor.setSelectionRange(at, at);
        }"""
    )
    page.keyboard.type("1" * KEYS)
    page.wait_for_function("() => { const d = window.sceneforge.draft; return d && d.rev >= 1 && !d.dirty; }")

    assert page.evaluate("window.sceneforge.frames") == frames, "typing drew frames of the 3D view"
    assert page.evaluate("window.sceneforge.plan.draws") == plan_draws, "typing drew the floor plan again"
    parsed = page.evaluate("window.sceneforge.parses") - parses
    assert 1 <= len(saves) < KEYS // 2, f"{len(saves)} saves for {KEYS} keys"
    assert parsed == len(saves), f"{parsed} parses for {len(saves)} saves of {KEYS} keys"
    room = page.evaluate("JSON.parse(document.getElementById('description').value).cells[0].room")
    assert room["wallThickness"] == float("0.1" + "1" * KEYS)
    assert page_log.errors == []
