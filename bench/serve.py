"""Delivery benchmark: sceneforge against nginx serving the same GLB, measured in the same run.

Both servers run on loopback with one worker process each; wrk (``bench/wrk_report.lua``) drives
them with the same request shapes:

* ``200``   full GETs of a ~5 MB GLB,
* ``304``   revalidation with ``If-None-Match``,
* ``range`` random 64 KiB ``Range`` requests,
* ``meta``  ``GET /scenes/{id}/meta`` at 64 connections (sceneforge only: p95 against a 50 ms target).

nginx runs with ``tcp_nopush off``: with it on, every 64 KiB range answer waited ~40 ms for a
delayed ACK here (213 req/s, p50 43.9 ms, against 16,407 req/s, p50 0.2 ms with it off), which made
the range ratio meaningless; full GETs were no slower with it off (434 against 315 req/s).

Every figure is the median of ``--repeats`` wrk runs; ratios are sceneforge ÷ nginx. Usage::

    python bench/serve.py [--seconds 5] [--repeats 3] [--connections 8] [--server granian|uvicorn]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk_report.lua")
sys.path.insert(0, str(ROOT))
from tests.support.servers import free_port, nginx_conf  # noqa: E402

from servers import wait_http  # noqa: E402

#: What nginx serves as the anchor: the GLB as a static file, with its own ETag and ranges.
NGINX_HTTP = """  sendfile on; tcp_nopush off; etag on; keepalive_requests 1000000;
  types {{ model/gltf-binary glb; application/json json; }}
  server {{ listen 127.0.0.1:{port}; root {d}/www; }}"""


def wrk(url: str, mode: str, *, seconds: int, connections: int, etag: str = "", size: int = 0) -> dict[str, Any]:
    path = "/" + url.split("/", 3)[3]
    env = {**os.environ, "WRK_MODE": mode, "WRK_PATH": path, "WRK_ETAG": etag, "WRK_SIZE": str(size)}
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=seconds + 60,
    ).stdout
    report: dict[str, Any] = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def head(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, method="HEAD", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1400, help="maze size; 1,400 cells give a ~5 MB plain GLB")
    parser.add_argument("--server", default="granian", choices=["granian", "uvicorn"])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    parser.add_argument("--only", default="200,304,range,meta", help="comma-separated shapes to measure")
    args = parser.parse_args()
    modes = set(args.only.split(","))
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install {tool})")

    from sceneforge.generate import generate_maze

    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        spec = tmp / "maze.json"
        description = generate_maze(args.cells, seed=1)
        spec.write_text(json.dumps(description))
        scene_id = description["sceneId"]
        port = free_port()
        env = {**os.environ, "SCENEFORGE_SERVER": args.server, "SCENEFORGE_WRITE_RATE": "0", "SCENEFORGE_WORKERS": "1"}
        try:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "sceneforge.cli",
                        "serve",
                        "--port",
                        str(port),
                        "--data",
                        str(tmp / "data"),
                        "--demo",
                        str(spec),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            ours = f"http://127.0.0.1:{port}"
            wait_http(f"{ours}/healthz", timeout=180)
            glb_url = f"{ours}/scenes/{scene_id}.glb"
            with urllib.request.urlopen(glb_url, timeout=30) as r:
                glb = r.read()
                our_etag = r.headers["ETag"]

            ngx_dir = tmp / "nginx"
            (ngx_dir / "www").mkdir(parents=True)
            (ngx_dir / "www" / "scene.glb").write_bytes(glb)
            with urllib.request.urlopen(f"{ours}/scenes/{scene_id}/meta", timeout=30) as r:
                (ngx_dir / "www" / "meta.json").write_bytes(r.read())
            # nginx's workers run as an unprivileged user: let them reach the file.
            for path in (tmp, ngx_dir, ngx_dir / "www"):
                path.chmod(0o755)
            (ngx_dir / "www" / "scene.glb").chmod(0o644)
            (ngx_dir / "www" / "meta.json").chmod(0o644)
            ngx_port = free_port()
            (ngx_dir / "nginx.conf").write_text(
                nginx_conf(ngx_dir, NGINX_HTTP.format(d=ngx_dir, port=ngx_port), connections=4096)
            )
            subprocess.run(["nginx", "-p", str(ngx_dir), "-c", str(ngx_dir / "nginx.conf")], check=True)
            theirs = f"http://127.0.0.1:{ngx_port}/scene.glb"
            theirs_meta = f"http://127.0.0.1:{ngx_port}/meta.json"
            wait_http(theirs)
            ngx_etag = head(theirs)[1]["ETag"]
            assert head(theirs, {"If-None-Match": ngx_etag})[0] == 304
            assert head(glb_url, {"If-None-Match": our_etag})[0] == 304

            def median_run(url: str, mode: str, etag: str, connections: int) -> dict[str, Any]:
                runs = [
                    wrk(url, mode, seconds=args.seconds, connections=connections, etag=etag, size=len(glb))
                    for _ in range(args.repeats)
                ]
                runs.sort(key=lambda r: r["rps"])
                mid = runs[len(runs) // 2]
                return {**mid, "rps_all": [round(r["rps"], 1) for r in runs]}

            results: dict[str, Any] = {"bytes": len(glb), "server": args.server, "connections": args.connections}
            for mode in [m for m in ("200", "304", "range") if m in modes]:
                a = median_run(glb_url, mode, our_etag, args.connections)
                b = median_run(theirs, mode, ngx_etag, args.connections)
                results[mode] = {"sceneforge": a, "nginx": b, "ratio": a["rps"] / b["rps"]}
                print(
                    f"{mode:>6}: sceneforge {a['rps']:>9.1f} req/s (p50 {a['p50_us'] / 1000:.2f} ms, "
                    f"p99 {a['p99_us'] / 1000:.2f} ms) | nginx {b['rps']:>9.1f} req/s (p50 {b['p50_us'] / 1000:.2f} "
                    f"ms, p99 {b['p99_us'] / 1000:.2f} ms) | ratio {a['rps'] / b['rps']:.2f}",
                    flush=True,
                )
            if "meta" in modes:
                meta = median_run(f"{ours}/scenes/{scene_id}/meta", "get", "", 64)
                ngx_meta = median_run(theirs_meta, "get", "", 64)
                results["meta"] = {**meta, "nginx": ngx_meta}
                print(
                    f"  meta: sceneforge {meta['rps']:.1f} req/s at 64 connections, p50 {meta['p50_us'] / 1000:.2f} ms,"
                    f" p95 {meta['p95_us'] / 1000:.2f} ms, p99 {meta['p99_us'] / 1000:.2f} ms | nginx "
                    f"{ngx_meta['rps']:.1f} req/s, p50 {ngx_meta['p50_us'] / 1000:.2f} ms, p95 "
                    f"{ngx_meta['p95_us'] / 1000:.2f} ms | target p95 < 50 ms",
                    flush=True,
                )
        finally:
            for p in procs:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
            pid_file = tmp / "nginx" / "nginx.pid"
            if pid_file.exists():
                os.kill(int(pid_file.read_text()), signal.SIGQUIT)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
