"""What a server process loads: the libraries of one configuration (Celery, S3, Redis, the model's client) load
only when that configuration is set, and the compiler (numpy, the encoder, the GLB reader, the generators) only in
the requests and worker processes that build, so every ``sceneforge serve``, server worker and test server starts
without them (docs/benchmarks.md, "Start-up")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: Libraries a default configuration never needs.
OPTIONAL = ("celery", "kombu", "boto3", "botocore", "redis", "openai", "mcp")
#: What builds (and asset uploads, generated levels) need: never loaded by starting a server or by ``/healthz``. The
#: description model (pydantic, ~20 ms to build) is the compiler's: the server checks scene ids without it.
COMPILER = (
    "numpy", "sceneforge.encode.glb", "sceneforge.ingest.tagged_glb", "sceneforge.generate.maze",
    "sceneforge.model.description",
)  # fmt: skip


def _loaded_by_server(tmp_path: Path, **env: str) -> dict[str, list[str]]:
    """Which of :data:`OPTIONAL` and :data:`COMPILER` a fresh process had loaded after importing the server
    module, and after starting an app (lifespan: database, job service, pool) and answering ``/healthz``."""
    code = (
        "import json, sys\n"
        f"watched = {OPTIONAL + COMPILER!r}\n"
        "seen = {}\n"
        "import sceneforge.api.server as server\n"
        "seen['import'] = [m for m in watched if m in sys.modules]\n"
        "from starlette.testclient import TestClient\n"
        "from sceneforge.settings import Settings\n"
        "with TestClient(server.create_app(Settings())) as client:\n"
        "    assert client.get('/healthz').status_code == 200\n"
        "    seen['serving'] = [m for m in watched if m in sys.modules]\n"
        "print('LOADED', json.dumps(seen))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    run_env = {**clean, "SCENEFORGE_DATA_DIR": str(tmp_path / "data"), **env}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=run_env, check=False)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED "))  # type: ignore[no-any-return]


def test_a_default_server_loads_no_optional_library_and_no_compiler(tmp_path: Path) -> None:
    assert _loaded_by_server(tmp_path) == {"import": [], "serving": []}


def test_celery_loads_with_the_celery_executor_only(tmp_path: Path) -> None:
    # The broker is never reached: wake-ups are sent only when a job is queued.
    seen = _loaded_by_server(tmp_path, SCENEFORGE_EXECUTOR="celery", SCENEFORGE_BROKER_URL="redis://127.0.0.1:9/0")
    assert seen["import"] == []
    assert seen["serving"] == ["celery", "kombu"]
