"""The studio's 3D view on a real 100-cell maze: rendered pixels, portal culling on and off, walking through a door."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer
from .png import decode_png
from .studio import build_over_http, maze_text, open_studio, wait_scene, wait_view_still

pytestmark = pytest.mark.server

SEED = 21
#: The page's clear colour (Viewer: scene.background 0x11151c).
BACKGROUND = np.array([0x11, 0x15, 0x1C])


@pytest.fixture(scope="module")
def maze(studio_server: StudioServer) -> dict[str, Any]:
    """A 100-cell maze, built through the service (the page under test only views it)."""
    description = generate_maze(100, seed=SEED)
    scene_id = build_over_http(studio_server.base_url, studio_server.key, maze_text(100, SEED))
    assert scene_id == description["sceneId"]
    return description


@pytest.fixture
def viewer_page(
    browser: Browser, studio_server: StudioServer, maze: dict[str, Any], page_log: PageLog
) -> Iterator[Page]:
    """The maze open in the studio (`/?scene=<id>`, no key needed to view)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("console", page_log.console)
    page.on("pageerror", page_log.page_error)
    try:
        open_studio(page, f"{studio_server.base_url}/?scene={maze['sceneId']}")
        wait_scene(page, maze["sceneId"])
        yield page
        assert page_log.errors == []
    finally:
        context.close()


def _canvas_pixels(page: Page, path: Path) -> np.ndarray:
    """Screenshot the 3D canvas into ``path`` (kept as an artifact) and decode it."""
    png = page.locator("#view3d").screenshot(path=str(path), animations="disabled")
    return decode_png(png)[..., :3]


def _coverage(pixels: np.ndarray) -> float:
    """Fraction of pixels clearly not the clear colour."""
    return float((np.abs(pixels.astype(int) - BACKGROUND).sum(axis=2) > 24).mean())


def _cell_center(description: dict[str, Any], cell_id: str) -> tuple[float, float]:
    room = next(c["room"] for c in description["cells"] if c["cellId"] == cell_id)
    return (room["min"][0] + room["max"][0]) / 2, (room["min"][2] + room["max"][2]) / 2


def _wait_frames(page: Page, frames: int = 3) -> None:
    page.evaluate(
        "(n) => new Promise((done) => {"
        " const step = () => (n-- > 0 ? requestAnimationFrame(step) : done()); step(); })",
        frames,
    )


def _walk_to(page: Page, x: float, z: float, yaw: float) -> None:
    page.evaluate("([x, z, yaw]) => window.sceneforge.setCamera(x, 1.7, z, yaw)", [x, z, yaw])
    _wait_frames(page, 4)


def test_view_renders_the_level(viewer_page: Page, maze: dict[str, Any], artifacts: Path) -> None:
    page = viewer_page
    _wait_frames(page, 5)
    stats = page.evaluate("window.sceneforge.stats")
    assert stats["totalCells"] == 100
    # the overview camera is outside the level: it sees the cells in view, not a room's portals
    assert stats["cellsDrawn"] >= 90, stats
    assert stats["drawCalls"] > 10 and stats["triangles"] > 1000, stats

    overview = _canvas_pixels(page, artifacts / "maze-overview.png")
    height, width, _ = overview.shape
    assert width > 400 and height > 300
    assert _coverage(overview) > 0.10, "the level should cover a good part of the view"
    colours = np.unique(overview.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 40, f"only {len(colours)} colours: a flat image"
    # lit walls of several materials: warm brick and near-white tile/plaster are both on screen
    red, green, blue = (overview[..., i].astype(int) for i in range(3))
    assert ((red - blue > 40) & (red > 100)).mean() > 0.002, "no brick-coloured pixels"
    assert ((red > 150) & (green > 150) & (blue > 150)).mean() > 0.002, "no light walls"

    page.evaluate("window.sceneforge.setMode('walk')")
    x, z = _cell_center(maze, "c0")
    _walk_to(page, x, z, math.pi * 0.75)
    inside = _canvas_pixels(page, artifacts / "maze-walk-c0.png")
    assert _coverage(inside) > 0.9, "inside a closed room the walls fill the view"
    assert inside.std() > 4, "walls, floor and ceiling are shaded differently"


def test_culling_draws_few_cells_inside_and_all_when_off(viewer_page: Page, maze: dict[str, Any]) -> None:
    page = viewer_page
    page.evaluate("window.sceneforge.setMode('walk')")
    for cell_id in ("c0", "c55", "c99"):
        x, z = _cell_center(maze, cell_id)
        for yaw in (0.0, math.pi / 2, math.pi, -math.pi / 2):
            _walk_to(page, x, z, yaw)
            state = page.evaluate(
                "({ cell: window.sceneforge.currentCellId, drawn: window.sceneforge.cellsDrawn,"
                " ids: window.sceneforge.visibleCellIds, calls: window.sceneforge.stats.drawCalls })"
            )
            assert state["cell"] == cell_id
            assert cell_id in state["ids"]
            assert 1 <= state["drawn"] <= 20, (cell_id, yaw, state)
            assert state["drawn"] == len(state["ids"])

    # from a corner looking across the level, three's frustum culling alone keeps many rooms
    x, z = _cell_center(maze, "c0")
    _walk_to(page, x, z, -math.pi * 0.75)
    on = page.evaluate("window.sceneforge.stats")
    page.evaluate("window.sceneforge.setCulling(false)")
    _wait_frames(page)
    off = page.evaluate("window.sceneforge.stats")
    assert off["cellsDrawn"] == off["totalCells"] == 100
    assert page.is_checked("#culling") is False
    assert off["triangles"] > 3 * on["triangles"], (on, off)
    assert off["drawCalls"] > on["drawCalls"], (on, off)

    page.evaluate("window.sceneforge.setCulling(true)")
    _wait_frames(page)
    assert page.evaluate("window.sceneforge.cellsDrawn") <= 20
    page.wait_for_function("document.getElementById('st-cells').textContent.endsWith('/ 100')")


def test_opening_a_scene_while_walking_keeps_walking(viewer_page: Page, maze: dict[str, Any]) -> None:
    page = viewer_page
    page.evaluate("window.sceneforge.setMode('walk')")
    page.evaluate("(id) => window.sceneforge.openScene(id)", maze["sceneId"])
    _wait_frames(page, 4)
    assert page.evaluate("window.sceneforge.currentCellId") is not None, "the walker is placed in a cell"
    x, z = _cell_center(maze, "c55")
    _walk_to(page, x, z, 0.0)
    assert page.evaluate("window.sceneforge.currentCellId") == "c55"


def test_walking_through_a_door_changes_the_cell(viewer_page: Page, maze: dict[str, Any]) -> None:
    page = viewer_page
    portal = next(p for p in maze["portals"] if "c0" in (p["from"], p["to"]))
    other = portal["to"] if portal["from"] == "c0" else portal["from"]
    quad = np.array(portal["quad"]).reshape(4, 3)
    door_x, door_z = quad[:, 0].mean(), quad[:, 2].mean()
    here, there = np.array(_cell_center(maze, "c0")), np.array(_cell_center(maze, other))
    direction = (there - here) / np.linalg.norm(there - here)
    yaw = math.atan2(-direction[0], -direction[1])

    page.evaluate("window.sceneforge.setMode('walk')")
    start = np.array([door_x, door_z]) - direction * 1.2
    _walk_to(page, float(start[0]), float(start[1]), yaw)
    assert page.evaluate("window.sceneforge.currentCellId") == "c0"
    assert other in page.evaluate("window.sceneforge.visibleCellIds"), "the room behind the open door is drawn"

    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.down("KeyW")
    try:
        page.wait_for_function("(id) => window.sceneforge.currentCellId === id", arg=other, timeout=8_000)
    finally:
        page.keyboard.up("KeyW")
    assert page.text_content("#st-cell") in (other, "c0")  # the panel follows within 100 ms
    page.wait_for_function("(id) => document.getElementById('st-cell').textContent === id", arg=other)

    # walking into a wall does not leave the room: the capsule slides along it
    x, z = _cell_center(maze, other)
    _walk_to(page, x, z, yaw)
    wall_ahead = page.evaluate("window.sceneforge.currentCellId")
    page.keyboard.down("KeyW")
    page.wait_for_timeout(1500)
    page.keyboard.up("KeyW")
    cell = page.evaluate("window.sceneforge.currentCellId")
    assert (cell is not None and cell == wall_ahead) or _door_on_wall(maze, other, direction)


def _door_on_wall(maze: dict[str, Any], cell_id: str, direction: np.ndarray) -> bool:
    """Whether ``cell_id`` has a doorway in the wall ``direction`` points at (then walking on may leave it)."""
    center = np.array(_cell_center(maze, cell_id))
    for p in maze["portals"]:
        if cell_id in (p["from"], p["to"]):
            quad = np.array(p["quad"]).reshape(4, 3)
            toward = np.array([quad[:, 0].mean(), quad[:, 2].mean()]) - center
            if np.dot(toward, direction) > 1.5:
                return True
    return False


def test_the_floor_plan_is_drawn_again_only_when_the_view_changed(viewer_page: Page, maze: dict[str, Any]) -> None:
    """Each frame of the view hands the floor plan the camera and the drawn cells (ten times a second at most);
    frames with the camera where it was (asked for by something else) do not redraw every cell of the plan (at
    5,000 cells, a tenth of the page's time), a moved camera does."""
    page = viewer_page
    page.evaluate("() => window.sceneforge.setCamera(2, 1.6, 2, 0)")
    wait_view_still(page)
    settled = page.evaluate("window.sceneforge.plan")
    for _ in range(3):
        updates = page.evaluate("window.sceneforge.plan.updates")
        page.evaluate("window.sceneforge.redraw()")
        wait_view_still(page)
        assert page.evaluate("window.sceneforge.plan.updates") > updates
    assert page.evaluate("window.sceneforge.plan.draws") == settled["draws"]
    page.evaluate("() => window.sceneforge.setCamera(6, 1.6, 2, 1)")
    page.wait_for_function("(n) => window.sceneforge.plan.draws > n", arg=settled["draws"])


def _frames_over(page: Page, animation_frames: int) -> int:
    """The view's frames drawn during the next ``animation_frames`` animation frames of the page."""
    return page.evaluate(  # type: ignore[no-any-return]
        """(n) => new Promise((done) => {
            const start = window.sceneforge.frames;
            const step = () => (n-- > 0 ? requestAnimationFrame(step) : done(window.sceneforge.frames - start));
            requestAnimationFrame(step);
        })""",
        animation_frames,
    )


def test_the_view_draws_only_when_what_it_shows_changes(viewer_page: Page, maze: dict[str, Any]) -> None:
    """A still view draws no frame (an idle studio costs no GPU time, and a keystroke does not wait for one); a
    drag of the orbit camera, a toggle, the scene opened again and walking draw, then the view is still again."""
    page = viewer_page
    wait_view_still(page)
    assert _frames_over(page, 30) == 0

    # orbit: a drag on the canvas moves the camera, the damping after it draws a few more frames, then nothing
    before = page.evaluate("window.sceneforge.plan")
    box = page.locator("#view3d").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    frames = page.evaluate("window.sceneforge.frames")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 30, steps=6)
    page.mouse.up()
    after = wait_view_still(page)
    assert after > frames
    assert page.evaluate("window.sceneforge.plan.draws") > before["draws"], "the plan shows the moved camera"
    assert _frames_over(page, 30) == 0

    # a toggle of what is drawn draws once
    for toggle in ("#overlay", "#culling"):
        frames = page.evaluate("window.sceneforge.frames")
        page.click(toggle)
        assert wait_view_still(page) > frames, toggle
        page.click(toggle)
        wait_view_still(page)

    # the scene opened again (its cells streamed in anew) is drawn
    frames = page.evaluate("window.sceneforge.frames")
    page.evaluate("(id) => window.sceneforge.openScene(id)", maze["sceneId"])
    wait_scene(page, maze["sceneId"])
    assert wait_view_still(page) > frames
    assert _frames_over(page, 30) == 0

    # walking: a standing walker draws nothing; a held key draws frame after frame, its release stops them
    page.evaluate("window.sceneforge.setMode('walk')")
    cx, cz = _cell_center(maze, "c0")
    page.evaluate("([x, z]) => window.sceneforge.setCamera(x, 1.7, z, 0)", [cx, cz])
    wait_view_still(page)
    assert _frames_over(page, 30) == 0
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.down("KeyA")
    try:
        assert _frames_over(page, 10) >= 8
    finally:
        page.keyboard.up("KeyA")
    wait_view_still(page)
    assert _frames_over(page, 30) == 0


#: For each toggle of the toolbar and its version badge: how many lines its text takes.
_TOOLBAR_LINES = """() => [...document.querySelectorAll('.toolbar label, #view-version')].map((el) => {
    const tops = new Set();
    for (const node of el.childNodes) {
        if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
    }
    return [el.textContent.trim(), tops.size];
})"""


def test_the_toolbar_keeps_each_toggle_and_the_version_on_one_line(viewer_page: Page) -> None:
    """1280 px wide, the view between the panels is 670 px: the toolbar wraps as a row of whole toggles
    (it had broken 'Portal culling' and 'published v1' over two or three lines each)."""
    page = viewer_page
    page.wait_for_function("document.getElementById('view-version').textContent.startsWith('published v')")
    lines = page.evaluate(_TOOLBAR_LINES)
    assert len(lines) == 6, lines
    assert [name for name, count in lines if count != 1] == [], lines
