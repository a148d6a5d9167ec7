"""The studio page and the browser code it loads, served from the package and the checkout.

``/`` → ``sceneforge/studio/index.html``; ``/studio/*`` → that folder; ``/clients/js/*`` → the
checkout's ``clients/js``; ``/vendor/three/*`` and ``/vendor/three-mesh-bvh/*`` → ``node_modules``.
A folder that is absent gives clean 404s.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["STUDIO_DIR", "mount_studio"]

STUDIO_DIR = Path(__file__).resolve().parent.parent / "studio"


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


def mount_studio(app: FastAPI, project_root: Path) -> None:
    """Register the studio routes; ``project_root`` holds ``clients/`` and ``node_modules/``."""
    index = STUDIO_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def studio_index() -> Response:
        if not index.is_file():
            raise HTTPException(404, "the studio is not installed")
        return FileResponse(index, media_type="text/html", headers={"cache-control": "no-cache"})

    mounts = {
        "/studio": STUDIO_DIR,
        "/clients/js": project_root / "clients" / "js",
        "/vendor/three": project_root / "node_modules" / "three",
        "/vendor/three-mesh-bvh": project_root / "node_modules" / "three-mesh-bvh",
    }
    for prefix, directory in mounts.items():
        app.mount(prefix, _OptionalStatic(directory), name=prefix.strip("/").replace("/", "-"))
