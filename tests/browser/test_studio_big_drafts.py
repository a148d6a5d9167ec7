"""The studio editing a big level's draft (the 1,000-cell office, 44,000 lines in the editor) in Chromium.

What a level designer's keystroke costs is checked by what it does, not by a clock: the gutter holds the
line numbers of the lines in view (and a margin), not one per line of the description, and still marks
the line of an error; a save is one debounced PATCH whose body is the edit, not the document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request

from .conftest import PageLog, StudioServer
from .studio import http_json, open_studio

pytestmark = pytest.mark.server

OFFICE = Path(__file__).resolve().parents[1] / "data" / "levels" / "office-1000.json"


@pytest.fixture(scope="module")
def office(studio_server: StudioServer) -> dict[str, Any]:
    """The 1,000-cell office as a draft (rev 1), never built: the editor is what is under test."""
    description = json.loads(OFFICE.read_text())
    status, answer = http_json(
        "POST",
        f"{studio_server.base_url}/scenes/{description['sceneId']}/draft",
        OFFICE.read_bytes(),
        studio_server.key,
    )
    assert status == 201, answer
    return description  # type: ignore[no-any-return]


@pytest.fixture
def editor_context(editor_context: BrowserContext) -> BrowserContext:
    """conftest's signed-in context, with more time for each step (a 44,000-line editor)."""
    editor_context.set_default_timeout(30_000)
    return editor_context


def _open_draft(context: BrowserContext, server: StudioServer, scene_id: str, log: PageLog) -> Page:
    page = context.new_page()
    page.on("console", log.console)
    page.on("pageerror", log.page_error)
    open_studio(page, f"{server.base_url}/?scene={scene_id}&name=ana")
    page.wait_for_function("() => { const d = window.sceneforge.draft; return d && d.rev >= 1 && !d.dirty; }")
    return page


def _gutter_line_at_editor_middle(page: Page) -> list[int]:
    """[the gutter's line number level with the editor's middle, the editor's line there]."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => {
            const editor = document.getElementById('description'), gutter = document.getElementById('gutter');
            const box = editor.getBoundingClientRect(), g = gutter.getBoundingClientRect();
            const y = box.top + Math.floor(box.height / 2 / 18) * 18 + 6 + 9;
            const at = document.caretRangeFromPoint(g.right - 12, y);
            const text = at.startContainer.textContent;
            const start = text.lastIndexOf('\\n', at.startOffset - 1) + 1, end = text.indexOf('\\n', start);
            const shown = Number(text.slice(start, end < 0 ? undefined : end));
            const line = Math.floor((editor.scrollTop + y - box.top - 6) / 18) + 1;
            return [shown, line];
        }"""
    )


def test_a_big_draft_keeps_the_gutter_small_and_saves_one_edit_as_one_small_patch(
    editor_context: BrowserContext, studio_server: StudioServer, office: dict[str, Any], page_log: PageLog
) -> None:
    scene_id = office["sceneId"]
    page = _open_draft(editor_context, studio_server, scene_id, page_log)
    text = page.input_value("#description")
    lines = text.count("\n") + 1
    assert lines > 40_000
    shown = page.evaluate("document.getElementById('gutter').textContent.split('\\n').length")
    assert shown < 1_000, f"the gutter holds {shown} line numbers for {lines} lines"

    # scrolled far down, the numbers beside the text are still its line numbers
    page.evaluate("document.getElementById('description').scrollTop = 30000 * 18")
    page.wait_for_function(
        "() => document.getElementById('gutter').scrollTop === document.getElementById('description').scrollTop"
    )
    at = _gutter_line_at_editor_middle(page)
    assert at[0] == at[1] and at[1] > 30_000

    patches: list[Request] = []
    page.on("request", lambda r: patches.append(r) if r.method == "PATCH" else None)

    # a burst of typing is one save; removing a portal near the start of the list is one operation
    edited = json.loads(text)
    removed = edited["portals"].pop(3)
    page.evaluate(
        """(text) => {
            const editor = document.getElementById('description');
            for (const part of [text.slice(0, 10), text]) {
                editor.value = part;
                editor.dispatchEvent(new InputEvent('input', { bubbles: true }));
            }
        }""",
        json.dumps(edited, indent=2),
    )
    page.wait_for_function("() => { const d = window.sceneforge.draft; return d.rev === 2 && !d.dirty; }")
    assert len(patches) == 1
    assert json.loads(patches[0].post_data or "") == [{"op": "remove", "path": "/portals/3"}], removed
    # the answer is the new rev, not the 1 MB description the editor already holds
    answer = patches[0].response()
    assert answer is not None and answer.headers.get("preference-applied") == "return=minimal"
    assert "description" not in answer.json() and len(answer.body()) < 4096
    shown = page.evaluate("document.getElementById('gutter').textContent.split('\\n').length")
    assert shown < 1_000

    # an invalid edit far down the text: the error is marked on its line once it is in view
    bad = edited["portals"][900]
    bad["to"] = "nowhere"
    new_text = json.dumps(edited, indent=2)
    bad_line = next(i for i, line in enumerate(new_text.split("\n"), 1) if '"nowhere"' in line)
    page.evaluate(
        """(text) => {
            const editor = document.getElementById('description');
            editor.value = text;
            editor.dispatchEvent(new InputEvent('input', { bubbles: true }));
        }""",
        new_text,
    )
    page.wait_for_selector("#errors li")
    errors = page.evaluate("window.sceneforge.errors")
    assert ("/portals/900/to", bad_line) in [(e["path"], e["line"]) for e in errors]
    page.locator("#errors li").first.click()
    marked = page.locator("#gutter .err")
    marked.first.wait_for()
    assert marked.count() == 1 and marked.first.text_content() == str(bad_line)
    assert page.evaluate("window.sceneforge.draft.rev") == 2
    page_log.errors = [e for e in page_log.errors if "422" not in e and "404" not in e]  # refused; nothing built
    assert page_log.errors == []


def test_an_edit_that_breaks_every_cell_lists_a_few_errors_and_marks_them_all(
    editor_context: BrowserContext, studio_server: StudioServer, office: dict[str, Any], page_log: PageLog
) -> None:
    """Removing the materials every room names is an error per room (over a thousand): the list under the
    editor names the first few and counts the rest, instead of a row per error; the gutter marks each one's line."""
    page = _open_draft(editor_context, studio_server, office["sceneId"], page_log)
    edited = json.loads(page.input_value("#description"))
    edited["materials"] = {}
    page.evaluate(
        """(text) => {
            const editor = document.getElementById('description');
            editor.value = text;
            editor.dispatchEvent(new InputEvent('input', { bubbles: true }));
        }""",
        json.dumps(edited, indent=2),
    )
    page.wait_for_selector("#errors li")
    errors = page.evaluate("window.sceneforge.errors")
    assert len(errors) > 1_000
    rows = page.locator("#errors li")
    assert rows.count() <= 25
    assert f"{len(errors) - 20} more, marked in the gutter" in (page.text_content("#errors") or "")
    # the last one, far down: listed nowhere, still marked on its line once the editor shows it
    last = errors[-1]
    page.evaluate("(line) => { document.getElementById('description').scrollTop = (line - 5) * 18; }", last["line"])
    page.wait_for_selector(f"#gutter .err:text-is('{last['line']}')")
    page_log.errors = [e for e in page_log.errors if "422" not in e and "404" not in e]
    assert page_log.errors == []
