"""API fixtures: an app on a temporary data dir (files + SQLite, or SeaweedFS S3), with keys for each scope."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from sceneforge.api import create_app
from sceneforge.api.services import Services
from sceneforge.settings import Settings

#: A request that takes longer is a hang, reported as a failure naming the request.
REQUEST_TIMEOUT_S = 20

TEST01 = b"""{ "sceneId": "test01",
  "cells": [ {"cellId": "hall",    "meshes": [{"meshId": "auto"}]},
             {"cellId": "kitchen", "meshes": [{"meshId": "auto"}]} ],
  "portals": [ {"from": "hall", "to": "kitchen",
                "quad": [2.0,0.2,-0.6, 2.0,2.2,-0.6, 2.0,2.2,0.6, 2.0,0.2,0.6]} ],
  "materials": {}, "props": {} }"""


@dataclass
class Api:
    """A running app (lifespan entered) driven synchronously: an httpx client over ASGI, on its own event loop."""

    app: FastAPI
    portal: BlockingPortal
    client: httpx.AsyncClient
    keys: dict[str, str]

    @property
    def services(self) -> Services:
        return self.app.state.services  # type: ignore[no-any-return]

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an async function on the app's event loop."""
        return self.portal.call(lambda: fn(*args, **kwargs))

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            with anyio.fail_after(REQUEST_TIMEOUT_S):
                return await self.client.request(method, url, **kwargs)

        return self.call(send)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def auth(self, scope: str = "write") -> dict[str, str]:
        return {"X-API-Key": self.keys[scope]}


def start_api(tmp_path: Path, **sections: dict[str, Any]) -> Iterator[Api]:
    """The app on ``tmp_path``; ``sections`` override settings by section, e.g. ``auth={"write_rate": 0}``."""
    storage = {"data_dir": tmp_path / "data", **sections.pop("storage", {})}
    settings = Settings(storage=storage, **sections)
    app = create_app(settings)
    with start_blocking_portal() as portal:
        lifespan = portal.wrap_async_context_manager(app.router.lifespan_context(app))
        with lifespan:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            api = Api(app, portal, client, {})
            try:
                for scope in ("read", "write", "admin"):
                    api.keys[scope] = api.call(api.services.keys.create, scope, f"test {scope}")[0]
                yield api
            finally:
                portal.call(client.aclose)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from start_api(tmp_path)


def s3_storage(server: Any) -> dict[str, Any]:
    """The storage section of a fresh bucket on ``server``."""
    return {
        "blobs": "s3",
        "s3_endpoint": server.endpoint,
        "s3_bucket": f"api-{uuid.uuid4().hex[:12]}",
        "s3_access_key": server.access_key,
        "s3_secret_key": server.secret_key,
    }
