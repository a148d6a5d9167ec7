"""``run_server`` in its own process serving the demo scene test01, for tests of real HTTP servers and clients."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.api.conftest import TEST01
from tests.support.servers import free_port, stop_process

SCRIPT = (
    "import sys, json; from pathlib import Path; from sceneforge.api import run_server; "
    "from sceneforge.settings import Settings; "
    "run_server(Settings(storage={'data_dir': sys.argv[2]}, **json.loads(sys.argv[4])), "
    "'127.0.0.1', int(sys.argv[1]), [Path(sys.argv[3])])"
)


@contextmanager
def demo_server(
    folder: Path, server: str, settings: str = "{}", timeout: float = 60.0
) -> Iterator[tuple[str, httpx.Response, Path]]:
    """``run_server`` (``server``: granian or uvicorn; ``settings``: more Settings fields, as JSON) in ``folder``,
    serving test01 built at start-up: its base URL, the first answer for the demo's GLB (a 200 once it is built)
    and the server's log. Stopped on exit."""
    demo = folder / "test01.json"
    demo.write_bytes(TEST01)
    port = free_port()
    log = (folder / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port), str(folder / "data"), str(demo), settings],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SCENEFORGE_SERVER": server},
        cwd=folder,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                first = httpx.get(f"{base}/scenes/test01.glb")
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.2)
        yield base, first, Path(log.name)
    finally:
        stop_process(proc)
        log.close()
