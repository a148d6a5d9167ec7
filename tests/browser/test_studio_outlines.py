"""Rooms that are not their box in the studio: the floor plan draws and picks them by their outline
(the meta's ``floor``), and the 3D view's camera stands in the room that holds it, not the smallest box.
A changed room drawn too small to see on the plan (a long level fitted in the panel) is ringed."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page

from .conftest import PageLog, StudioServer
from .png import decode_png
from .studio import build_over_http, open_studio, wait_scene

pytestmark = pytest.mark.server

#: A is L-shaped; B is L-shaped and its box covers A's arm (x 2..4, z 4..10); C opens off A's foot.
INTERLOCK = {
    "sceneId": "interlock-plan",
    "cells": [
        {"cellId": "A", "room": {"floor": [[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]], "y": 0, "height": 3}},
        {"cellId": "B", "room": {"floor": [[4, 4], [12, 4], [12, 12], [2, 12], [2, 10], [4, 10]], "y": 0, "height": 3}},
        {"cellId": "C", "room": {"min": [10, 0, 0], "max": [14, 3, 4]}},
    ],
    "portals": [
        {"from": "A", "to": "B", "quad": [4, 0, 6, 4, 2.1, 6, 4, 2.1, 7, 4, 0, 7]},
        {"from": "A", "to": "C", "quad": [10, 0, 1, 10, 2.1, 1, 10, 2.1, 2, 10, 0, 2]},
    ],
}


def _open(page: Page, server: StudioServer, description: dict[str, Any]) -> None:
    """Build ``description`` through the service and open it in the studio (``page``: conftest's)."""
    scene_id = build_over_http(server.base_url, server.key, json.dumps(description))
    open_studio(page, f"{server.base_url}/?scene={scene_id}")
    wait_scene(page, scene_id)


@pytest.fixture
def interlock_page(page: Page, studio_server: StudioServer, page_log: PageLog) -> Iterator[Page]:
    _open(page, studio_server, INTERLOCK)
    yield page
    assert page_log.errors == []


def _click_plan(page: Page, x: float, z: float) -> str:
    page.locator("#plan").scroll_into_view_if_needed()
    point = page.evaluate("([x, z]) => window.sceneforge.planPoint(x, z)", [x, z])
    page.mouse.click(point["x"], point["y"])
    return page.locator("#plan-info").inner_text()


def test_the_plan_and_the_camera_go_by_the_rooms_outlines(interlock_page: Page) -> None:
    page = interlock_page
    # (3, 6) lies in A's arm and in B's (smaller) box: the plan picks A, whose outline holds it
    assert _click_plan(page, 3.0, 6.0).startswith("A:")
    assert _click_plan(page, 8.0, 8.0).startswith("B:")
    assert _click_plan(page, 12.0, 2.0).startswith("C:")
    # a camera there stands in A, not in B, whose box is the smallest holding it
    page.evaluate("() => window.sceneforge.setCulling(true)")
    page.evaluate("() => window.sceneforge.setCamera(3, 1.5, 6, 0)")
    page.wait_for_function("window.sceneforge.currentCellId === 'A'")
    assert "A" in page.evaluate("window.sceneforge.visibleCellIds")
    # in A's foot looking +x down to C's doorway: C is seen through it
    page.evaluate("() => window.sceneforge.setCamera(1, 1.5, 1.5, -Math.PI / 2)")
    page.wait_for_function("window.sceneforge.visibleCellIds.includes('C')")
    assert page.evaluate("window.sceneforge.currentCellId") == "A"


#: An L-shaped room alone with a closet off its foot: its box's centre, (5, 5), lies in its notch,
#: outside the building.
L_ALONE = {
    "sceneId": "l-alone",
    "cells": [
        {"cellId": "L", "room": {"floor": [[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]], "y": 0, "height": 3}},
        {"cellId": "closet", "room": {"min": [10, 0, 0], "max": [12, 3, 4]}},
    ],
    "portals": [{"from": "L", "to": "closet", "quad": [10, 0.1, 1, 10, 2.1, 1, 10, 2.1, 2, 10, 0.1, 2]}],
}


def test_walking_from_an_l_shaped_rooms_notch_starts_inside_the_room(
    page: Page, studio_server: StudioServer, page_log: PageLog
) -> None:
    """Switching to walk mode with the camera outside every room puts the walker in the nearest room:
    inside its outline, not at its box's centre or the camera's place in its notch (where it fell)."""
    _open(page, studio_server, L_ALONE)
    page.evaluate("() => window.sceneforge.setCamera(5, 1.5, 5, 0)")  # orbit view, in the notch
    page.evaluate("() => window.sceneforge.setMode('walk')")
    page.wait_for_function("window.sceneforge.currentCellId === 'L'")
    page.wait_for_timeout(500)  # the walker stands (or would fall) for a few frames
    assert page.evaluate("window.sceneforge.currentCellId") == "L"
    assert page_log.errors == []


#: Forty 4 m rooms in a row (160 m): fitted in the plan's panel each is drawn about 9 px wide.
ROW = {
    "sceneId": "row-of-rooms",
    "cells": [{"cellId": f"r{i}", "room": {"min": [4 * i, 0, 0], "max": [4 * i + 4, 3, 4]}} for i in range(40)],
    "portals": [
        {"from": f"r{i}", "to": f"r{i + 1}", "quad": [x, 0, 1.4, x, 2.1, 1.4, x, 2.1, 2.6, x, 0, 2.6]}
        for i in range(39)
        for x in [4 * i + 4]
    ],
}
#: The plan's colour for changed cells (studio.css: --plan-changed).
CHANGED = np.array([0xFF, 0x9F, 0x1C])


def test_a_changed_room_too_small_to_see_on_the_plan_is_ringed(
    page: Page, studio_server: StudioServer, page_log: PageLog, artifacts: Path
) -> None:
    server = studio_server
    scene_id = build_over_http(server.base_url, server.key, json.dumps(ROW))
    request = urllib.request.Request(
        f"{server.base_url}/scenes/{scene_id}/draft",
        data=json.dumps([{"op": "replace", "path": "/cells/20/room/max/1", "value": 3.5}]).encode(),
        method="PATCH",
        headers={"X-API-Key": server.key, "Content-Type": "application/json-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    open_studio(page, f"{server.base_url}/?scene={scene_id}")
    wait_scene(page, scene_id)
    page.click(f"#history li[data-rev='{answer['rev']}']")
    page.wait_for_function("window.sceneforge.highlightedCells.join() === 'r20'")
    plan = page.locator("#plan")
    plan.scroll_into_view_if_needed()
    pixels = decode_png(plan.screenshot(path=str(artifacts / "studio-plan-small-change.png")))[..., :3].astype(int)
    rows, columns = np.nonzero(np.abs(pixels - CHANGED).max(axis=2) <= 24)
    assert rows.size, "the changed room is not drawn on the plan"
    # r20's outline alone is about 9 px across; the ring around it (10 px radius) is found at a glance
    assert columns.max() - columns.min() >= 18 and rows.max() - rows.min() >= 18, (columns, rows)
    # centred on r20, the room at 80–84 m
    centre = page.evaluate("() => window.sceneforge.planPoint(82, 2)")
    box = plan.bounding_box()
    assert box is not None
    assert abs((columns.min() + columns.max()) / 2 - (centre["x"] - box["x"])) <= 3
    assert abs((rows.min() + rows.max()) / 2 - (centre["y"] - box["y"])) <= 3
    assert page_log.errors == []
