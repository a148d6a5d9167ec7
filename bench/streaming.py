"""Streaming benchmark (docs/streaming.md): the studio's first frame streamed by visibility vs the whole GLB.

A ``sceneforge serve`` on loopback builds two 1,000-cell levels (a generated maze and the office of
``tests/data/levels/office-1000.json``, plain builds). Chromium (Playwright) opens the studio with
the camera in the level's middle cell (``?cell=``) and the network throttled through the DevTools
protocol (``Network.emulateNetworkConditions``: ``--mbit`` down and up, ``--latency`` ms, cache
off), then opens the scene:

* ``stream``: the studio's default, :class:`StreamingScene` (index range, then the PVS cells),
* ``whole``: ``?whole=1``, the meta JSON then the whole GLB through ``SceneLoader``.

The first frame is the first one in which every cell the portal culler shows is drawn; its time is
counted from the start of the scene's loading (the page's own code is loaded before the throttle),
and its bytes are every byte of the scene fetched until then: for ``stream`` the bodies the page
had received (index range and cell ranges, multipart headers included), for ``whole`` the meta
and the GLB (the frame needs both). Each figure is the median of ``--repeats`` page loads.

BVHs: in the same Chromium, unthrottled, every cell of each level gets its BVH by
``MeshBVH.deserialize`` of the shipped nodes (the node bytes sliced from the file included) and by
``new MeshBVH`` over the same triangles (three-mesh-bvh's build): six passes of each in a page, the
first dropped (JIT warm-up), the median of the other five; then the median over ``--repeats`` pages.

Usage::

    python bench/streaming.py [--repeats 3] [--mbit 20] [--latency 40] [--json bench/results/streaming.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from servers import CHROMIUM_ARGS, wait_http

ROOT = Path(__file__).resolve().parent.parent
OFFICE = ROOT / "tests" / "data" / "levels" / "office-1000.json"

BVH_SCRIPT = """async (url) => {
  const sf = await import('sceneforge');
  const { MeshBVH } = await import('three-mesh-bvh');
  const { BufferAttribute, BufferGeometry } = await import('three');
  const { MeshoptDecoder } = await import('three/addons/libs/meshopt_decoder.module.js');
  await MeshoptDecoder.ready;
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const index = sf.parseIndex(bytes);
  const cells = [];
  index.cells.forEach((c, i) => {
    const range = bytes.subarray(index.bin + c[1], index.bin + c[1] + c[2]);
    const { geometry } = sf.decodeCell(index, i, range, MeshoptDecoder);
    if (!geometry) return;
    const b = c[4].find((v) => v[0] === 'B');
    cells.push({ geometry, nodes: range.subarray(b[1], b[1] + b[2]), roots: c[6] });
  });
  let triangles = 0;
  for (const { geometry } of cells) triangles += geometry.index.count / 3;
  const deserialize = () => {
    const t0 = performance.now();
    for (const { geometry, nodes, roots } of cells) {
      const buffers = [];
      let at = 0;
      for (const n of roots) { buffers.push(nodes.slice(at, at + 32 * n).buffer); at += 32 * n; }
      MeshBVH.deserialize({ version: 1, roots: buffers, index: geometry.index.array, indirectBuffer: null },
        geometry, { setIndex: false });
    }
    return performance.now() - t0;
  };
  const build = () => {
    const t0 = performance.now();
    for (const { geometry } of cells) {
      const copy = new BufferGeometry();
      copy.setAttribute('position', geometry.attributes.position);
      copy.setIndex(new BufferAttribute(geometry.index.array.slice(), 1));
      for (const g of geometry.groups) copy.addGroup(g.start, g.count, g.materialIndex);
      new MeshBVH(copy);
    }
    return performance.now() - t0;
  };
  // The first pass of each warms the JIT; the figures are the median of the next five.
  const d = [], b = [];
  for (let k = 0; k < 6; k++) { d.push(deserialize()); b.push(build()); }
  const median = (xs) => xs.slice(1).sort((x, y) => x - y)[2];
  return { cells: cells.length, triangles, deserializeMs: median(d), buildMs: median(b) };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def head(url: str) -> dict[str, str]:
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=30) as r:
        return dict(r.headers)


def first_frame(
    browser: Any, base: str, scene_id: str, cell: str, mode: str, sizes: dict[str, int], args: argparse.Namespace
) -> dict[str, Any]:
    """One page load: the first complete frame's time (ms) and the scene bytes fetched until then."""
    context = browser.new_context(viewport={"width": 960, "height": 640})
    page = context.new_page()
    whole = "1" if mode == "whole" else "0"
    page.goto(f"{base}/?cell={cell}&whole={whole}")
    page.wait_for_function("window.sceneforge !== undefined && document.getElementById('renderer-name').textContent")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    rate = args.mbit * 1e6 / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": args.latency, "downloadThroughput": rate, "uploadThroughput": rate},
    )
    urls: dict[str, str] = {}
    received: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))

    def data(e: dict[str, Any]) -> None:
        if "/scenes/" in urls.get(e["requestId"], ""):
            received[e["requestId"]] = received.get(e["requestId"], 0) + int(e["encodedDataLength"] or e["dataLength"])

    cdp.on("Network.dataReceived", data)
    page.evaluate("(id) => { window.sceneforge.openScene(id); }", scene_id)
    page.wait_for_function(
        "(id) => window.sceneforge.sceneId === id && window.sceneforge.ready", arg=scene_id, timeout=300_000
    )
    loading = page.evaluate("window.sceneforge.loading")
    context.close()
    ms = float(loading["firstFrame"]["ms"])
    if mode == "stream":
        assert loading["mode"] == "stream", loading
        fetched = int(loading["firstFrame"]["bytes"])
    else:
        fetched = int(sizes["meta"] + sizes["glb"])  # SceneLoader reads both before the frame
    return {"ms": ms, "bytes": fetched, "cellsLoaded": loading["cellsLoaded"], "wireBytes": sum(received.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mbit", type=float, default=20.0)
    parser.add_argument("--latency", type=float, default=40.0)
    parser.add_argument("--cells", type=int, default=1000, help="cells of the generated maze")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "streaming.json")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from sceneforge.generate import generate_maze

    levels: dict[str, dict[str, Any]] = {
        "maze": generate_maze(args.cells, seed=1),
        "office": json.loads(OFFICE.read_text()),
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        specs = []
        for name, description in levels.items():
            spec = tmp / f"{name}.json"
            spec.write_text(json.dumps(description))
            specs += ["--demo", str(spec)]
        port = free_port()
        env = {**os.environ, "SCENEFORGE_WRITE_RATE": "0", "SCENEFORGE_WORKERS": "1"}
        command = [sys.executable, "-m", "sceneforge.cli", "serve", "--port", str(port), "--data", str(tmp / "d")]
        server = subprocess.Popen(
            [*command, *specs], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        results: dict[str, Any] = {"mbit": args.mbit, "latencyMs": args.latency, "repeats": args.repeats}
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", timeout=120)
            for description in levels.values():
                wait_http(f"{base}/scenes/{description['sceneId']}/meta", timeout=600)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                for name, description in levels.items():
                    scene_id = description["sceneId"]
                    cell = description["cells"][len(description["cells"]) // 2]["cellId"]
                    size = int(head(f"{base}/scenes/{scene_id}.glb")["content-length"])
                    with urllib.request.urlopen(f"{base}/scenes/{scene_id}/meta", timeout=30) as r:
                        meta_bytes = len(r.read())
                    runs: dict[str, list[dict[str, Any]]] = {"stream": [], "whole": []}
                    for _ in range(args.repeats):
                        for mode in ("stream", "whole"):  # alternate, so load drifts hit both
                            sizes = {"glb": size, "meta": meta_bytes}
                            runs[mode].append(first_frame(browser, base, scene_id, cell, mode, sizes, args))
                    bvh = [browser_bvh(browser, f"{base}/scenes/{scene_id}.glb", base) for _ in range(args.repeats)]
                    stream_ms = statistics.median(r["ms"] for r in runs["stream"])
                    whole_ms = statistics.median(r["ms"] for r in runs["whole"])
                    stream_bytes = statistics.median(r["bytes"] for r in runs["stream"])
                    whole_bytes = statistics.median(r["bytes"] for r in runs["whole"])
                    deserialize = statistics.median(b["deserializeMs"] for b in bvh)
                    build = statistics.median(b["buildMs"] for b in bvh)
                    results[name] = {
                        "sceneId": scene_id,
                        "startCell": cell,
                        "glbBytes": size,
                        "metaBytes": meta_bytes,
                        "stream": {"firstFrameMs": stream_ms, "bytes": stream_bytes, "runs": runs["stream"]},
                        "whole": {"firstFrameMs": whole_ms, "bytes": whole_bytes, "runs": runs["whole"]},
                        "streamBytesOfFile": stream_bytes / size,
                        "speedup": whole_ms / stream_ms,
                        "bvh": {"cells": bvh[0]["cells"], "triangles": bvh[0]["triangles"],
                                "deserializeMs": deserialize, "buildMs": build, "ratio": build / deserialize},
                    }  # fmt: skip
                    r = results[name]
                    print(
                        f"{name}: GLB {size:,} B, meta {meta_bytes:,} B | first frame: stream {stream_ms:.0f} ms "
                        f"{stream_bytes:,.0f} B ({100 * r['streamBytesOfFile']:.1f} % of the GLB), whole "
                        f"{whole_ms:.0f} ms {whole_bytes:,.0f} B, {r['speedup']:.1f}x sooner | BVH of "
                        f"{bvh[0]['cells']} cells: deserialize {deserialize:.1f} ms, build {build:.1f} ms "
                        f"({build / deserialize:.0f}x)",
                        flush=True,
                    )
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"results: {args.json}")


def browser_bvh(browser: Any, glb_url: str, base: str) -> dict[str, Any]:
    """Deserialize vs build of every cell's BVH, in a studio page (its import map gives the modules)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/")
    page.wait_for_function("window.sceneforge !== undefined")
    out: dict[str, Any] = page.evaluate(BVH_SCRIPT, glb_url)
    context.close()
    return out


if __name__ == "__main__":
    main()
