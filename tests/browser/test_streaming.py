"""The studio streams a scene by visibility (docs/streaming.md) and draws it; the toggle loads it whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Request

from sceneforge.generate import generate_maze

from .conftest import PageLog, StudioServer
from .png import decode_png
from .studio import build_over_http, maze_text, open_studio, wait_scene

pytestmark = pytest.mark.server

SEED = 33
CELLS = 150
BACKGROUND = np.array([0x11, 0x15, 0x1C])


@pytest.fixture(scope="module")
def maze(studio_server: StudioServer) -> dict[str, Any]:
    description = generate_maze(CELLS, seed=SEED)
    assert build_over_http(studio_server.base_url, studio_server.key, maze_text(CELLS, SEED)) == description["sceneId"]
    return description


@pytest.fixture
def page(browser: Browser, page_log: PageLog) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 960, "height": 640})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("console", page_log.console)
    page.on("pageerror", page_log.page_error)
    try:
        yield page
        assert page_log.errors == []
    finally:
        context.close()


def _coverage(page: Page, path: Path) -> float:
    pixels = decode_png(page.locator("#view3d").screenshot(path=str(path), animations="disabled"))[..., :3]
    return float((np.abs(pixels.astype(int) - BACKGROUND).sum(axis=2) > 24).mean())


def test_studio_streams_the_cells_in_view_and_draws_them(
    page: Page, studio_server: StudioServer, maze: dict[str, Any], artifacts: Path
) -> None:
    glb_requests: list[tuple[str, str | None]] = []

    def seen(request: Request) -> None:
        if ".glb" in request.url or "/meta" in request.url:
            glb_requests.append((request.url, request.headers.get("range")))

    page.on("request", seen)
    scene_id = maze["sceneId"]
    open_studio(page, f"{studio_server.base_url}/?scene={scene_id}&cell=c0")
    wait_scene(page, scene_id)
    loading = page.evaluate("window.sceneforge.loading")
    assert loading["mode"] == "stream", loading
    assert 0 < loading["bytesLoaded"] < loading["bytesTotal"] / 2, loading
    assert 0 < loading["cellsLoaded"] < CELLS / 2, loading
    # the first frame's figure counts the multipart framing too (docs/streaming.md, "Bytes")
    assert loading["bytesLoaded"] <= loading["bytesReceived"], loading
    assert loading["firstFrame"]["bytes"] <= loading["bytesReceived"]
    # No meta, no whole file: the index range, then cells by range from the immutable ETag URL.
    assert all(rng is not None for _, rng in glb_requests), glb_requests
    assert glb_requests[0][1] == "bytes=0-65535"
    cell_requests = [(url, rng) for url, rng in glb_requests[1:] if "," in (rng or "")]
    assert cell_requests and all(f"/scenes/{scene_id}." in url and url.count(".") >= 2 for url, _ in cell_requests)
    assert page.evaluate("window.sceneforge.currentCellId") == "c0"
    assert _coverage(page, artifacts / "streaming-c0.png") > 0.9, "inside the room its walls fill the view"
    page.wait_for_function("document.getElementById('st-bytes').textContent.includes('KiB /')")

    # The toggle loads the whole file instead, and draws the same room.
    page.check("#whole-file")
    page.wait_for_function("window.sceneforge.loading.mode === 'whole' && window.sceneforge.ready")
    assert _coverage(page, artifacts / "whole-c0.png") > 0.9
    page.wait_for_function("document.getElementById('st-bytes').textContent === 'whole file'")
    assert any(rng is None and url.endswith(".glb") for url, rng in glb_requests), "one GET of the whole file"
