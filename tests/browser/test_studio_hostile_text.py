"""Names and reasons users wrote, shown by the studio in Chromium: markup, quotes, right-to-left text and
overrides, zero-width joiners and long unbroken strings in cell ids, materials, key names (revision authors),
change reasons and editor names (a description's names hold no override or other invisible format character:
docs/scene-format.md, "Names"; reasons and editor names are free text). Nothing runs, the page keeps its layout
(no horizontal overflow, the badges stay in view), and right-to-left text or an override in a name reorders only
that name."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer, _sceneforge_command
from .studio import build_over_http, open_studio, wait_scene

pytestmark = pytest.mark.server

RLO = "\u202e"
CELL_IDS = [
    "\u05e2\u05d1RTL<b>x</b>",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "zw\u200cj\u200d" + "y" * 120,
]
MATERIAL = "<img src=x onerror=alert(2)>" + "m" * 90
KEY_NAME = "<img src=x onerror=alert(3)>" + "W" * 150
REASON = f"<b onmouseover=alert(4)>bold</b> {RLO}\u200b" + "R" * 900
#: Longer than a presence state may be (4 KiB): the page sends it cut.
EDITOR = f"{RLO}<u>name</u>" + "N" * 5_000


def _hostile_level() -> dict[str, Any]:
    description = generate_maze(4, seed=71)
    description["sceneId"] = "hostile-text"
    renamed = {cell["cellId"]: new for cell, new in zip(description["cells"], CELL_IDS, strict=True)}
    for cell in description["cells"]:
        cell["cellId"] = renamed[cell["cellId"]]
        cell["room"]["material"] = MATERIAL
    description["materials"][MATERIAL] = description["materials"]["tile"]
    for portal in description["portals"]:
        portal["from"], portal["to"] = renamed[portal["from"]], renamed[portal["to"]]
    return description


def _key(server: StudioServer, name: str) -> str:
    done = subprocess.run(
        [*_sceneforge_command(), "keys", "create", "--name", name, "--data", str(server.data_dir / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _patch_as(server: StudioServer, key: str, scene_id: str, ops: list[dict[str, Any]], reason: str) -> None:
    request = urllib.request.Request(
        f"{server.base_url}/scenes/{scene_id}/draft",
        data=json.dumps(ops).encode(),
        method="PATCH",
        headers={
            "X-API-Key": key,
            "Content-Type": "application/json-patch+json",
            "X-Change-Reason": "UTF-8''" + urllib.parse.quote(reason),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _in_visual_order(page: Page, selector: str, parts: list[str]) -> list[float]:
    """The left edge of each of ``parts`` (each within one text node of the element, in logical order) as laid out."""
    return page.evaluate(  # type: ignore[no-any-return]
        """([selector, parts]) => {
            const root = document.querySelector(selector);
            return parts.map((part) => {
                const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
                let node;
                while ((node = walk.nextNode()) && !node.data.includes(part));
                if (!node) throw new Error(`${part} not in ${root.textContent}`);
                const at = node.data.indexOf(part);
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + part.length);
                return Math.min(...[...range.getClientRects()].map((r) => r.left));
            });
        }""",
        [selector, parts],
    )


def _layout(page: Page) -> dict[str, Any]:
    return page.evaluate(  # type: ignore[no-any-return]
        """() => ({
            width: innerWidth,
            page: document.documentElement.scrollWidth,
            auth: document.getElementById('auth').getBoundingClientRect().right,
            panels: [...document.querySelectorAll('.panel')].map((p) => p.scrollWidth - p.clientWidth),
        })"""
    )


def test_hostile_names_and_reasons_run_nothing_and_keep_the_layout(
    browser: Browser, studio_server: StudioServer, page_log: PageLog
) -> None:
    description = _hostile_level()
    scene_id = build_over_http(studio_server.base_url, studio_server.key, json.dumps(description))
    ops = [{"op": "replace", "path": "/cells/0/room/max/1", "value": 3.25}]
    _patch_as(studio_server, _key(studio_server, KEY_NAME), scene_id, ops, REASON)

    dialogs: list[str] = []

    def dialog(shown: Dialog) -> None:
        dialogs.append(shown.message)
        shown.dismiss()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    try:
        pages = []
        for name in (EDITOR, "ana"):
            page = context.new_page()
            page.on("console", page_log.console)
            page.on("pageerror", page_log.page_error)
            page.on("dialog", dialog)
            open_studio(page, studio_server.login_url)
            open_studio(page, f"{studio_server.base_url}/?scene={scene_id}&name={urllib.parse.quote(name)}")
            wait_scene(page, scene_id)
            pages.append(page)
        page = pages[1]
        page.wait_for_function("document.getElementById('presence').textContent.includes('name')")
        page.wait_for_selector("#history li[data-rev='2']")
        page.click("#history li[data-rev='2']")
        page.wait_for_selector("#revision-diff:not([hidden])")
        # a room on the floor plan: its id, then its PVS
        cell = description["cells"][0]["room"]
        page.locator("#plan").scroll_into_view_if_needed()
        point = page.evaluate(
            "([x, z]) => window.sceneforge.planPoint(x, z)",
            [(cell["min"][0] + cell["max"][0]) / 2, (cell["min"][2] + cell["max"][2]) / 2],
        )
        page.mouse.click(point["x"], point["y"])
        page.wait_for_function("document.getElementById('plan-info').textContent.includes('PVS')")

        layout = _layout(page)
        assert layout["page"] <= layout["width"] and layout["auth"] <= layout["width"], layout
        assert max(layout["panels"]) <= 1, layout
        history = page.locator("#history li[data-rev='2']")
        assert KEY_NAME in (history.text_content() or "") and "R" * 900 in (history.text_content() or "")
        row, time = history.bounding_box(), history.locator("small").bounding_box()
        assert row and time and time["x"] + time["width"] <= row["x"] + row["width"] + 1

        # right-to-left text in a cell id, an override in an editor's name, reorders that name, not what follows it
        lefts = _in_visual_order(page, "#plan-info", ["RTL", "PVS"])
        assert lefts == sorted(lefts), lefts
        presence = page.text_content("#presence") or ""
        names = sorted(["ana", "name"], key=presence.index)
        lefts = _in_visual_order(page, "#presence", ["editing", *names])
        assert lefts == sorted(lefts), (presence, lefts)
        lefts = _in_visual_order(page, "#assist-history li[data-rev='2']", ["rev", "WWW", "bold"])
        assert lefts == sorted(lefts), lefts
        # a message to the assistant that is one long word wraps inside the chat instead of scrolling it sideways
        page.fill("#assist-input", "<i>" + "Q" * 2_000)
        page.click("#assist-form button[type=submit]")
        message = page.locator("#assist-log .msg.user").last
        message.wait_for()
        assert "<i>" in (message.text_content() or "")
        widths = page.evaluate(
            """() => {
                const log = document.getElementById('assist-log');
                return [...log.querySelectorAll('.msg')].map((e) => e.getBoundingClientRect().width - log.clientWidth);
            }"""
        )
        assert max(widths) <= 0, widths
        diff = page.text_content("#revision-diff") or ""
        assert RLO not in diff.split("\n", 2)[-1]  # the ops' values show it as \u202e
    finally:
        context.close()
    assert dialogs == []
    page_log.errors = [e for e in page_log.errors if "503" not in e]  # this server has no assistant configured
    assert page_log.errors == []
