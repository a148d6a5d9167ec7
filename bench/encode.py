"""Encode-stage benchmark: CPU seconds of a whole in-process build and of its encode stage alone.

For each scene the build runs ``--repeats`` times (``compile_scene``, process CPU time, median);
the encode stage (``encode_glb_indexed``: buffers, BVHs, glTF JSON, streaming index) is then run
``--repeats`` more times on the IR and options the last build handed it. Also prints the SHA-256
prefix of the GLB and of the meta (``stats.buildMs`` left out), so that a change meant to keep
every byte can be checked against the figures of the run before it.

Usage::

    python bench/encode.py [--scenes office5000,maze1000,office1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _scenes() -> dict[str, Callable[[], bytes]]:
    from sceneforge.generate import generate_maze, generate_office

    return {
        "office5000": lambda: json.dumps(generate_office(12, 200, seed=1)).encode(),
        "maze1000": lambda: json.dumps(generate_maze(1000, 1)).encode(),
        "office1000": lambda: (ROOT / "tests/data/levels/office-1000.json").read_bytes(),
    }


def _cpu(run: Callable[[], Any]) -> float:
    """CPU seconds of ``run()``, the cyclic collector paused as ``compile_scene`` pauses it."""
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        run()
        return time.process_time() - started
    finally:
        gc.enable()


def _measure(name: str, data: bytes, repeats: int) -> str:
    import sceneforge.encode.glb as glb
    from sceneforge.compile import compile_scene

    seen: dict[str, Any] = {}
    encode = glb.encode_glb_indexed

    def spy(*a: Any, **kw: Any) -> Any:
        seen["call"] = (a, kw)
        return encode(*a, **kw)

    results: list[Any] = []
    glb.encode_glb_indexed = spy
    try:
        builds = [_cpu(lambda: results.append(compile_scene(data))) for _ in range(repeats)]
    finally:
        glb.encode_glb_indexed = encode
    a, kw = seen["call"]
    encodes = [_cpu(lambda: encode(*a, **kw)) for _ in range(repeats)]
    result = results[-1]
    meta = {**result.meta, "stats": {k: v for k, v in result.meta["stats"].items() if k != "buildMs"}}
    return (
        f"{name}: build {statistics.median(builds):.3f} s CPU, encode {statistics.median(encodes):.3f} s CPU, "
        f"glb {hashlib.sha256(result.glb).hexdigest()[:16]}, "
        f"meta {hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", default="office5000,maze1000,office1000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenes = _scenes()
    for name in args.scenes.split(","):
        print(_measure(name, scenes[name](), args.repeats), flush=True)


if __name__ == "__main__":
    main()
