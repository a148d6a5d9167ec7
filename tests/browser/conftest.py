"""Real-browser fixtures: a ``sceneforge serve`` subprocess and Debian's Chromium driven by Playwright.

The server runs on a free loopback port with a throwaway data directory; its login URL (with the
admin key) is read from its output. Chromium comes from the system (``apt-get install chromium``):
without it the tests skip with the reason, except under ``CI=true`` where that is a failure.
Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers import CHROMIUM_ARGS, free_port, stop_process

if os.environ.get("CI") == "true":
    import playwright.sync_api as playwright_api  # under CI a missing Playwright is a failure
else:
    playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
#: Seconds the server may take to print its login URL and accept connections.
SERVER_START_S = 45.0
#: Console messages that say nothing about the page (SwiftShader's performance notes).
_HARMLESS_CONSOLE = re.compile(r"GL Driver Message|GPU stall due to ReadPixels")
#: Resources whose 404 is expected: a scene's thumbnail before its preview job has run (the page hides it).
EXPECTED_404 = re.compile(r"/scenes/[^/]+/preview/thumbnail\.png$")


@dataclass
class StudioServer:
    """A running ``sceneforge serve``: its root URL, the login URL and the admin key."""

    base_url: str
    login_url: str
    key: str
    port: int
    data_dir: Path
    log: Path
    #: The server's process id (its build workers are its descendants); 0 when not known.
    pid: int = 0


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "chromium is not installed (apt-get install -y chromium; see .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _sceneforge_command() -> list[str]:
    script = Path(sys.executable).parent / "sceneforge"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from sceneforge.cli import app; app()"]


@contextlib.contextmanager
def serve_studio(*extra: str) -> Iterator[StudioServer]:
    """``sceneforge serve`` (with ``extra`` arguments) on a free port with a temporary data dir, stopped with its
    process group (its PID leads one: granian's worker goes with it)."""
    data_dir = Path(tempfile.mkdtemp(prefix="sceneforge-browser-"))
    log = data_dir / "serve.log"
    port = free_port()
    # Every progress report of a build is written (by default none is before 0.5 s): the resume tests cut the page's
    # event stream at a build's first progress event, and a 100-cell maze builds in less.
    env = {**os.environ, "SCENEFORGE_WRITE_RATE": "0", "SCENEFORGE_JOB_PROGRESS_S": "0"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_sceneforge_command(), "serve", "--port", str(port), "--data", str(data_dir / "data"), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own process group: stop_process stops granian's worker with it
        )
    try:
        deadline = time.monotonic() + SERVER_START_S
        login = None
        while login is None:
            text = log.read_text(errors="replace")
            match = re.search(r"studio login: (http://\S+\?key=(\S+))", text)
            if match:
                login = match
                break
            if proc.poll() is not None:
                raise RuntimeError(f"sceneforge serve exited with {proc.returncode}:\n{text[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no login URL within {SERVER_START_S}s:\n{text[-2000:]}")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", proc, deadline)
        login_url = login.group(1).replace("localhost", "127.0.0.1")
        yield StudioServer(base, login_url, login.group(2), port, data_dir, log, proc.pid)
    finally:
        stop_process(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def studio_server() -> Iterator[StudioServer]:
    """``sceneforge serve`` on a free port with a temporary data dir, stopped (by PID) after the session."""
    with serve_studio() as server:
        yield server


def _wait_http(url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    import urllib.error
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer") from None
            time.sleep(0.1)


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is started, which would break every async test collected after this package.
@pytest.fixture(scope="package")
def browser() -> Iterator[playwright_api.Browser]:
    """Headless Chromium (SwiftShader WebGL) for the session."""
    executable = _chromium()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What the page reported: uncaught errors and console errors (SwiftShader notes left out)."""

    errors: list[str] = field(default_factory=list)

    def console(self, message: playwright_api.ConsoleMessage) -> None:
        if message.type != "error" or _HARMLESS_CONSOLE.search(message.text):
            return
        url = message.location.get("url", "")
        if "status of 404" in message.text and EXPECTED_404.search(url):
            return
        self.errors.append(f"console: {message.text} ({url})")

    def page_error(self, error: playwright_api.Error) -> None:
        self.errors.append(f"page error: {error}")


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser: playwright_api.Browser, page_log: PageLog) -> Iterator[playwright_api.Page]:
    """A fresh context (empty localStorage) and page, 1280 × 800, with bounded default timeouts."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("console", page_log.console)
    page.on("pageerror", page_log.page_error)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def editor_context(
    browser: playwright_api.Browser, studio_server: StudioServer
) -> Iterator[playwright_api.BrowserContext]:
    """A signed-in context (the login URL stored the key in localStorage) for the editing tests."""
    from .studio import signed_in

    context = signed_in(browser, studio_server.login_url)
    try:
        yield context
    finally:
        context.close()
