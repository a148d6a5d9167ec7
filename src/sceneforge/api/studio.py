"""The studio page and the browser code it loads, all served from the installed package.

``/`` → ``sceneforge/studio/index.html``; ``/studio/*`` → that folder; ``/clients/js/*`` → the JS
runtime (``sceneforge/studio/runtime``, copied from ``clients/js`` into the wheel at build time;
the checkout's ``clients/js`` when running from a source tree); ``/vendor/three/*`` and
``/vendor/three-mesh-bvh/*`` → the pinned ES modules vendored under ``sceneforge/studio/vendor``
(``tools/vendor_js.py``; versions in its ``VERSIONS.json``). Nothing is read from the working
folder, so ``sceneforge serve`` serves the same studio from anywhere. A folder that is absent
gives clean 404s.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["RUNTIME_DIR", "STUDIO_DIR", "VENDOR_DIR", "mount_studio"]

STUDIO_DIR = Path(__file__).resolve().parent.parent / "studio"
VENDOR_DIR = STUDIO_DIR / "vendor"
#: The JS runtime inside an installed wheel; from a source tree, the checkout's ``clients/js``.
RUNTIME_DIR = STUDIO_DIR / "runtime" if (STUDIO_DIR / "runtime").is_dir() else STUDIO_DIR.parents[2] / "clients" / "js"


class _OptionalStatic(StaticFiles):
    """StaticFiles that answers 404 (instead of failing) while its folder does not exist."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)

    async def check_config(self) -> None:
        if not Path(str(self.directory)).is_dir():
            raise HTTPException(404, "not found")
        await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        self.config_checked = False  # the folder may appear or vanish while the server runs
        return await super().get_response(path, scope)


def mount_studio(app: FastAPI) -> None:
    """Register the studio routes (page, runtime, vendored three.js) on ``app``."""
    index = STUDIO_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def studio_index() -> Response:
        if not index.is_file():
            raise HTTPException(404, "the studio is not installed")
        return FileResponse(index, media_type="text/html", headers={"cache-control": "no-cache"})

    mounts = {
        "/studio": STUDIO_DIR,
        "/clients/js": RUNTIME_DIR,
        "/vendor/three": VENDOR_DIR / "three",
        "/vendor/three-mesh-bvh": VENDOR_DIR / "three-mesh-bvh",
    }
    for prefix, directory in mounts.items():
        app.mount(prefix, _OptionalStatic(directory), name=prefix.strip("/").replace("/", "-"))
