"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from .. import __version__
from ..settings import Settings
from . import assets, events, generate, jobs, keys, ops, problems, scenes
from .auth import check_routes
from .fast_reads import FastReads, FastReadsMiddleware, SceneforgeAPI
from .ops import Metrics, MetricsMiddleware
from .services import Services
from .studio import mount_studio

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, routers: list[APIRouter] | None = None) -> FastAPI:
    """The service. ``routers`` adds more endpoints (jobs, events) beside the built-in ones.

    Services (database, blob store, auth) open in the lifespan and are at ``app.state.services``;
    ``settings`` (default: read from the environment) reaches every part from there.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await Services.open(settings)
        try:
            yield
        finally:
            await app.state.services.close()

    app = SceneforgeAPI(
        title="sceneforge",
        version=__version__,
        description="Build and serve portal-culled indoor scenes (GLB + visibility metadata).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = app.metrics = Metrics()
    app.fast_reads = FastReads(app)
    problems.install(app)
    built_in = [scenes.router, assets.router, ops.router, jobs.router, events.router, generate.router, keys.router]
    for router in [*built_in, *(routers or [])]:
        app.include_router(router)
    check_routes(app.routes)  # every state-changing route declares its access dependency
    mount_studio(app, (settings.server.project_root or Path.cwd()).resolve())
    # Cached GLB/meta reads are answered before the whole stack (SceneforgeAPI.__call__); those with
    # an Origin while CORS is on come through CORS and the metrics, then skip routing here.
    app.add_middleware(FastReadsMiddleware, fast=app.fast_reads)
    origins = settings.server.cors_origin_list()
    app.cors = bool(origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["ETag", "Content-Range", "Accept-Ranges", "Content-Length", "X-Scene-Version"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
