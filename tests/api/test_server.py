"""``run_server`` end to end: a real server process (granian and uvicorn) with a demo scene and the login URL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.demo_server import demo_server


@pytest.mark.slow
@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_run_server_serves_demo(tmp_path: Path, server: str) -> None:
    with demo_server(tmp_path, server) as (base, response, log):
        assert response.status_code == 200 and response.content[:4] == b"glTF"
        assert response.headers["etag"] and response.headers["content-length"] == str(len(response.content))
        part = httpx.get(f"{base}/scenes/test01.glb", headers={"range": "bytes=-4"})
        assert part.status_code == 206 and part.content == response.content[-4:]
        # the server's raw path reaches the app: an encoded slash is a 404, not the meta of test01
        assert httpx.get(f"{base}/scenes/test01/meta").status_code == 200
        aliased = httpx.get(f"{base}/scenes/test01%2Fmeta")
        assert aliased.status_code == 404 and "encoded slash" in aliased.json()["detail"]
        key = (tmp_path / "data" / "admin.key").read_text().strip()
        output = log.read_text()
        assert f"{base}/?key={key}" in output
        assert "built demo scene test01@v1" in output
