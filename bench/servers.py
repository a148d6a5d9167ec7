"""What the benchmarks that start servers share: waiting for a URL to answer, and how they start a headless
Chromium with software WebGL (no GPU here: SwiftShader through ANGLE)."""

from __future__ import annotations

import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as ``python bench/<name>.py``: the tests' helpers are importable
    sys.path.insert(0, str(ROOT))

from tests.support.servers import CHROMIUM_ARGS  # noqa: E402

__all__ = ["CHROMIUM_ARGS", "wait_http"]


def wait_http(url: str, timeout: float = 60.0) -> None:
    """Until ``url`` answers 200 (a server starting, a demo being built), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
