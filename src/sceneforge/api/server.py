"""Running the service: first-start admin key, demo scenes, and the HTTP server (granian or uvicorn).

Entry point for the CLI: :func:`run_server` (``sceneforge serve``); it takes the
:class:`~sceneforge.settings.Settings` the CLI built, and the server's worker process gets that
same object (:func:`app_from_settings`). :func:`create_key` makes a key as ``sceneforge keys
create`` does (:func:`sceneforge.storage.keys.add_key`, which the command calls without this module).
:func:`app_from_env` is the factory for servers started by hand (``uvicorn --factory``).
granian is the default server: it offers ``http.response.pathsend`` (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import sys
from pathlib import Path

from fastapi import FastAPI

from ..compile import BuildOptions, compile_scene
from ..errors import NotFound, SceneInvalid
from ..events.log import EventLog
from ..events.ws import MAX_MESSAGE_BYTES
from ..jobs.runner import queue_output
from ..jobs.store import JobStore
from ..jobs.types import type_settings
from ..jsontext import without_bom
from ..settings import Settings
from ..storage.blobs import blob_key, private_dir
from ..storage.keys import add_key
from .app import create_app
from .services import Services

__all__ = ["app_from_env", "app_from_settings", "create_key", "ensure_admin_key", "load_demos", "run_server"]

ADMIN_KEY_FILE = "admin.key"
#: Connections granian serves at once beside the event streams (its own default for all of them): a server
#: process answers ``SCENEFORGE_MAX_STREAMS`` streams plus this many other connections; any more wait unanswered.
REQUEST_CONNECTIONS = 1024
#: Largest WebSocket message uvicorn reads (bytes): the most UTF-8 that :data:`~sceneforge.events.ws.MAX_MESSAGE_BYTES`
#: characters take, so every message ``/ws`` could accept arrives and a larger one is refused early (close 1009).
WS_MAX_BYTES = 4 * MAX_MESSAGE_BYTES
#: Largest request head (request line and headers) read over uvicorn, or over granian's HTTP/2; past it the
#: request is refused. uvicorn's h11 parser bounds it (400); httptools, uvicorn's faster default, buffers a head
#: of any size (64 MiB of one header was read). granian's HTTP/2 took header lists of 16 MiB by default, kept
#: for as long as the request lasts: 30 event streams on one connection held 230 MB. Its HTTP/1 is bounded
#: by its own read buffer (about 460 KiB).
MAX_HEAD_BYTES = 256 * 1024


def _write_private(path: Path, text: str) -> None:
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    path.chmod(0o600)


async def ensure_admin_key(svc: Services) -> str:
    """The admin key of ``<data>/admin.key``, made (and stored 0600) on first start."""
    path = svc.settings.storage.data_dir / ADMIN_KEY_FILE
    if path.is_file():
        key = path.read_text().strip()
        record = await svc.keys.lookup(key)
        if record is not None and record.scope == "admin":
            return key
    key, _record = await svc.keys.create("admin", "first-start admin key")
    _write_private(path, key)
    return key


async def load_demos(svc: Services, demos: list[Path]) -> list[str]:
    """Build each demo description into the store, skipping those whose latest version came from the same bytes;
    a new version's preview job is queued for the server."""
    store = JobStore(svc.scenes.engine, EventLog(svc.scenes.engine))
    built: list[str] = []
    for demo in demos:
        data = without_bom(demo.read_bytes())  # stored as an enqueued description is (JobService.enqueue)
        try:
            result = await asyncio.to_thread(compile_scene, data, BuildOptions(limits=svc.limits))
        except SceneInvalid as exc:
            print(f"demo {demo}: {exc}", file=sys.stderr)
            continue
        try:
            latest = await svc.scenes.latest(result.scene_id)
            if latest.description_key == blob_key(data) and latest.etag == result.etag:
                continue
        except NotFound:
            pass
        version = await svc.scenes.publish_build(result, data)
        built.append(f"{version.scene_id}@v{version.n}")
        if not version.reused:  # its preview job waits in the queue for the server's pool
            await queue_output(store, type_settings(svc.settings, "preview"), version.scene_id, version.n,
                               version.glb_key, "preview", {})  # fmt: skip
    return built


def create_key(settings: Settings, scope: str, name: str = "") -> str:
    """Make an API key of ``scope`` in the configured database; returns the secret (shown only this once). Blocking.

    :func:`sceneforge.storage.keys.add_key` of ``settings.storage``, which ``sceneforge keys create`` calls
    without loading this module.
    """
    return add_key(settings.storage, scope, name)


def app_from_settings(settings: Settings) -> FastAPI:
    """The app of ``settings``, tuned for serving (what a server worker process runs)."""
    app = create_app(settings)
    app.state.stop_streams_on_signals = True  # api/stopping.py: SIGTERM ends the event streams first
    _tune_gc_for_serving()
    return app


def app_from_env() -> FastAPI:
    """The app configured from ``SCENEFORGE_*`` alone (``uvicorn --factory sceneforge.api.server:app_from_env``)."""
    return app_from_settings(Settings())


def _tune_gc_for_serving() -> None:
    """Freeze the ~1e6 long-lived objects of a server process out of the collector and collect young
    objects less often: full collections otherwise pause the event loop (docs/benchmarks.md, jobs and events)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


async def _prepare(settings: Settings, demos: list[Path]) -> str:
    svc = await Services.open(settings)
    try:
        key = await ensure_admin_key(svc)
        for name in await load_demos(svc, demos):
            print(f"built demo scene {name}")
        return key
    finally:
        await svc.close()


def _load_app(settings: Settings) -> FastAPI:
    """granian's loader, called in its worker process with the pickled settings."""
    return app_from_settings(settings)


def run_server(settings: Settings, host: str, port: int, demos: list[Path]) -> None:
    """Prepare the data dir (migrations, admin key, demo scenes), print the URLs, and serve until stopped."""
    key = asyncio.run(_prepare(settings, list(demos)))
    shown = "localhost" if host in {"0.0.0.0", "::", ""} else host
    print(f"sceneforge serving on http://{shown}:{port}/", flush=True)
    print(f"studio login: http://{shown}:{port}/?key={key}", flush=True)
    if settings.server.kind == "granian":
        from granian import Granian
        from granian.constants import Interfaces
        from granian.http import HTTP2Settings

        # backpressure: connections one worker serves at once (past it they wait unanswered, /healthz too);
        # the streams are capped below it (SCENEFORGE_MAX_STREAMS), so they never take every slot.
        # granian has no setting for the WebSocket message size (docs/limits.md, "Event streams").
        server = Granian(
            "sceneforge.api.server:app_from_env",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            backpressure=settings.events.max_streams + REQUEST_CONNECTIONS,
            http2_settings=HTTP2Settings(max_headers_size=MAX_HEAD_BYTES),
        )
        server.serve(target_loader=functools.partial(_load_app, settings), wrap_loader=False)
    else:
        import uvicorn

        uvicorn.run(
            app_from_settings(settings),
            host=host,
            port=port,
            log_level="info",
            ws_max_size=WS_MAX_BYTES,
            http="h11",
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
