"""What the fork server of the build workers loads: the compiler (PRELOAD), never the service around it (its
settings included: a worker gets its limits from the process that starts it)."""

from __future__ import annotations

import json
import subprocess
import sys

#: The database, events, web and Celery layers and the settings: a build worker runs none of them.
SERVICE = (
    "sqlalchemy", "fastapi", "celery", "sceneforge.events", "sceneforge.storage.scenes", "sceneforge.jobs.runner",
    "pydantic_settings", "sceneforge.settings",
)  # fmt: skip


def test_the_fork_server_preloads_the_compiler_without_the_service() -> None:
    code = (
        "import importlib, json, sys\n"
        "from sceneforge.jobs.executor import PRELOAD\n"
        "for name in PRELOAD:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {SERVICE!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
