"""Studio benchmark (docs/benchmarks.md, "Studio: idle frames and typing"): what the page costs while nothing
changes, and what a keystroke in the editor costs, on the 1,000-cell office.

A ``sceneforge serve`` on loopback (``--port``, default 8765; a temporary data directory, removed after)
builds ``tests/data/levels/office-1000.json`` (``--demo``). Chromium (Playwright, SwiftShader WebGL as in
the browser tests: no GPU) opens the studio signed in with the scene (streamed, overview camera) and waits
until every cell the camera sees has arrived. Then:

* idle: for ``--idle`` seconds nothing is touched. Counted: the frames the 3D view drew (calls of
  ``clear`` on the view's WebGL context, patched in before the page's code runs, so the count does not
  depend on the page's own hooks) and the main thread's busy time (``Performance.getMetrics``:
  ``TaskDuration`` and ``ScriptDuration``, per second of wall clock).
* typing: the caret in the editor's text (inside the first cell's id), ``--keys`` characters typed one
  ``page.keyboard.press`` at a time. Each keystroke's time is the Event Timing API's ``duration`` of its
  ``keydown`` (from the key event to the next paint after it was handled: what the designer waits for);
  the figure is their median and maximum, and the wall time of the burst. With ``--profile PATH`` the burst
  is also recorded by the DevTools CPU profiler (``Profiler.start``/``stop``); PATH gets the
  ``.cpuprofile`` and the functions with the most self time are printed.

Usage::

    python bench/studio_idle.py [--port 8765] [--idle 5] [--keys 20] [--profile bench/results/typing.cpuprofile]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from servers import CHROMIUM_ARGS, wait_http

ROOT = Path(__file__).resolve().parent.parent
OFFICE = ROOT / "tests" / "data" / "levels" / "office-1000.json"

#: Counts the 3D view's frames (one clear per draw) and keeps the keystrokes' Event Timing entries.
INIT_SCRIPT = """(() => {
  window.__bench = { clears: 0, events: [] };
  for (const proto of [WebGLRenderingContext.prototype, WebGL2RenderingContext.prototype]) {
    const clear = proto.clear;
    proto.clear = function (mask) {
      if (this.canvas && this.canvas.id === 'view3d') window.__bench.clears++;
      return clear.call(this, mask);
    };
  }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.name === 'keydown') window.__bench.events.push({ name: e.name, duration: e.duration,
        processing: e.processingEnd - e.processingStart, start: e.startTime });
    }
  }).observe({ type: 'event', durationThreshold: 16, buffered: true });
})();"""


def login_url(log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"studio login: (http://\S+\?key=\S+)", log.read_text(errors="replace"))
        if match:
            return match.group(1).replace("localhost", "127.0.0.1")
        time.sleep(0.2)
    raise TimeoutError(f"no login URL within {timeout:.0f} s:\n{log.read_text(errors='replace')[-2000:]}")


def busy(cdp: Any) -> dict[str, float]:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"task": metrics["TaskDuration"], "script": metrics["ScriptDuration"]}


def top_self_time(profile: dict[str, Any], count: int = 15) -> list[tuple[str, float]]:
    """The functions with the most self time in a CPU profile (ms), idle and program time left out."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    samples, deltas = profile.get("samples", []), profile.get("timeDeltas", [])
    spent: Counter[str] = Counter()
    for node_id, delta in zip(samples, deltas, strict=False):
        frame = nodes[node_id]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        if name in ("(idle)", "(program)"):
            continue
        where = f"{Path(frame['url']).name}:{frame['lineNumber'] + 1}" if frame["url"] else ""
        spent[f"{name} {where}".strip()] += delta / 1000.0
    return spent.most_common(count)


def measure(browser: Any, base: str, login: str, scene_id: str, args: argparse.Namespace) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(300_000)
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.goto(login)
    page.wait_for_function("window.sceneforge !== undefined && document.getElementById('renderer-name').textContent")
    page.goto(f"{base}/?scene={scene_id}")
    page.wait_for_function(
        "(id) => window.sceneforge && window.sceneforge.sceneId === id && window.sceneforge.ready", arg=scene_id
    )
    # the description in the editor, and every cell the camera sees arrived and drawn
    page.wait_for_function("document.getElementById('description').value.length > 100000")
    page.wait_for_function(
        "() => { const l = window.sceneforge.loading; return l.mode !== 'stream' || l.cellsLoaded > 0; }"
    )
    page.wait_for_timeout(2000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")

    clears0, busy0, t0 = page.evaluate("window.__bench.clears"), busy(cdp), time.monotonic()
    page.wait_for_timeout(args.idle * 1000)
    clears1, busy1, t1 = page.evaluate("window.__bench.clears"), busy(cdp), time.monotonic()
    wall = t1 - t0
    idle = {
        "seconds": wall,
        "framesPerSecond": (clears1 - clears0) / wall,
        "busyPerSecond": (busy1["task"] - busy0["task"]) / wall,
        "scriptPerSecond": (busy1["script"] - busy0["script"]) / wall,
    }

    # the caret inside the first cell's id: each key changes the description (and, once saved, a revision)
    page.evaluate(
        """() => {
            const editor = document.getElementById('description');
            const at = editor.value.indexOf('"cellId": "') + '"cellId": "'.length;
            editor.focus();
            editor.setSelectionRange(at, at);
        }"""
    )
    page.evaluate("window.__bench.events.length = 0")
    if args.profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    busy0, t0 = busy(cdp), time.monotonic()
    for _ in range(args.keys):
        page.keyboard.press("x")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")
    t1, busy1 = time.monotonic(), busy(cdp)
    profile = cdp.send("Profiler.stop")["profile"] if args.profile else None
    page.wait_for_timeout(500)
    events = page.evaluate("window.__bench.events")
    durations = [e["duration"] for e in events]
    typing = {
        "keys": args.keys,
        "burstSeconds": t1 - t0,
        "busySeconds": busy1["task"] - busy0["task"],
        "keydownsOver16ms": len(durations),
        "medianMs": statistics.median(durations) if durations else 0.0,
        "maxMs": max(durations) if durations else 0.0,
        "medianProcessingMs": statistics.median(e["processing"] for e in events) if events else 0.0,
    }
    result: dict[str, Any] = {"idle": idle, "typing": typing}
    if profile is not None:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
        args.profile.write_text(json.dumps(profile))
        result["topSelfMs"] = top_self_time(profile)
    context.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds the page is left alone")
    parser.add_argument("--keys", type=int, default=20, help="keystrokes typed in the editor")
    parser.add_argument("--profile", type=Path, default=None, help="write the typing burst's CPU profile here")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "studio_idle.json")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    scene_id = json.loads(OFFICE.read_text())["sceneId"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "serve.log"
        env = {**os.environ, "SCENEFORGE_WRITE_RATE": "0", "SCENEFORGE_WORKERS": "1"}
        command = [sys.executable, "-m", "sceneforge.cli", "serve", "--port", str(args.port), "--data", str(tmp / "d")]
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*command, "--demo", str(OFFICE)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            base = f"http://127.0.0.1:{args.port}"
            login = login_url(log, timeout=600)
            wait_http(f"{base}/healthz", timeout=120)
            wait_http(f"{base}/scenes/{scene_id}/meta", timeout=600)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                result = measure(browser, base, login, scene_id, args)
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    idle, typing = result["idle"], result["typing"]
    print(
        f"idle {idle['seconds']:.1f} s: {idle['framesPerSecond']:.1f} frames/s, main thread busy "
        f"{1000 * idle['busyPerSecond']:.0f} ms/s (script {1000 * idle['scriptPerSecond']:.0f} ms/s)"
    )
    print(
        f"typing {typing['keys']} keys: {typing['burstSeconds']:.2f} s wall, {typing['busySeconds']:.2f} s busy; "
        f"keydown to paint median {typing['medianMs']:.0f} ms, max {typing['maxMs']:.0f} ms "
        f"({typing['keydownsOver16ms']} over 16 ms; handler median {typing['medianProcessingMs']:.1f} ms)"
    )
    for name, ms in result.get("topSelfMs", []):
        print(f"  {ms:8.1f} ms  {name}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
