"""``run_server`` end to end: a real server process (granian and uvicorn) with a demo scene and the login URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import TEST01
from tests.support.servers import free_port

SCRIPT = (
    "import sys; from pathlib import Path; from sceneforge.api import run_server; "
    "from sceneforge.settings import Settings; "
    "run_server(Settings(storage={'data_dir': sys.argv[2]}), '127.0.0.1', int(sys.argv[1]), [Path(sys.argv[3])])"
)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_run_server_serves_demo(tmp_path: Path, server: str) -> None:
    demo = tmp_path / "test01.json"
    demo.write_bytes(TEST01)
    port = free_port()
    env = {**os.environ, "SCENEFORGE_SERVER": server}
    log = (tmp_path / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port), str(tmp_path / "data"), str(demo)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/scenes/test01.glb")
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.2)
        assert response.status_code == 200 and response.content[:4] == b"glTF"
        assert response.headers["etag"] and response.headers["content-length"] == str(len(response.content))
        part = httpx.get(f"http://127.0.0.1:{port}/scenes/test01.glb", headers={"range": "bytes=-4"})
        assert part.status_code == 206 and part.content == response.content[-4:]
        # the server's raw path reaches the app: an encoded slash is a 404, not the meta of test01
        assert httpx.get(f"http://127.0.0.1:{port}/scenes/test01/meta").status_code == 200
        aliased = httpx.get(f"http://127.0.0.1:{port}/scenes/test01%2Fmeta")
        assert aliased.status_code == 404 and "encoded slash" in aliased.json()["detail"]
        key = (tmp_path / "data" / "admin.key").read_text().strip()
        output = Path(log.name).read_text()
        assert f"http://127.0.0.1:{port}/?key={key}" in output
        assert "built demo scene test01@v1" in output
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
