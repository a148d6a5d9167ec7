"""A plain, non-editable install of the wheel serves the whole studio from an empty working folder.

The wheel is built from a copy of the source tree as a fresh clone has it (tracked and new files,
nothing ignored: no node_modules, no build output), installed without dependencies into a fresh
venv that borrows the test environment's installed libraries (a path line, so the shared
environment's own editable ``sceneforge`` is not picked up), and ``sceneforge serve`` runs from an
empty temporary folder. Chromium then loads the studio, which must fetch every module with no
error status and draw a scene built through the service.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Response

from tests.support.servers import free_port, stop_process

from .conftest import EXPECTED_404, ROOT, _wait_http
from .studio import build_over_http, maze_text, open_studio, wait_scene

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _fresh_tree(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file() and not source.is_symlink():
            dest = target / name.decode()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    work = tmp_path_factory.mktemp("wheel")
    tree, wheels, venv = work / "clone", work / "dist", work / "venv"
    _fresh_tree(tree)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "SCENEFORGE_"))}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, tree], env=env, check=True)
    (wheel,) = wheels.glob("sceneforge-*.whl")
    subprocess.run([sys.executable, "-m", "venv", venv], env=env, check=True)
    purelib = Path(
        subprocess.run(
            [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
    )
    (purelib / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    venv_pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*venv_pip, "install", "--no-deps", "--no-index", wheel], env=env, check=True)
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import sceneforge; print(sceneforge.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=work,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    yield venv, env


def test_installed_wheel_serves_the_studio_from_an_empty_folder(
    installed: tuple[Path, dict[str, str]], browser: Browser
) -> None:
    venv, env = installed
    empty = Path(tempfile.mkdtemp(prefix="sceneforge-empty-"))
    data = Path(tempfile.mkdtemp(prefix="sceneforge-wheel-data-"))
    port = free_port()
    log = data / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [venv / "bin" / "sceneforge", "serve", "--port", str(port), "--data", str(data / "d")],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=empty,
            env={**env, "SCENEFORGE_WRITE_RATE": "0"},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while (match := re.search(r"studio login: \S+\?key=(\S+)", log.read_text(errors="replace"))) is None:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", proc, deadline)
        scene_id = build_over_http(base, match.group(1), maze_text(12, 3))
        failed: list[str] = []

        def note(response: Response) -> None:
            # a scene's thumbnail is 404 until its preview job has run (the page hides it)
            if response.status >= 400 and not (response.status == 404 and EXPECTED_404.search(response.url)):
                failed.append(f"{response.status} {response.url}")

        context = browser.new_context(viewport={"width": 800, "height": 600})
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.on("response", note)
        try:
            open_studio(page, f"{base}/?scene={scene_id}")
            wait_scene(page, scene_id)
            stats = page.evaluate("window.sceneforge.stats")
            assert stats["totalCells"] == 12 and stats["drawCalls"] > 0 and stats["triangles"] > 100, stats
            assert page.evaluate("window.sceneforge.ready") is True
        finally:
            context.close()
        assert failed == []
        assert list(empty.iterdir()) == []  # nothing was read or written in the working folder
    finally:
        stop_process(proc)
        shutil.rmtree(empty, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
