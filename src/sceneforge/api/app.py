"""The FastAPI application factory, and what its lifespan opens: :class:`Services` and the job service.

At start the app opens its services (database, blobs, auth) at ``app.state.services`` and a
:class:`~sceneforge.jobs.service.JobService` (event log and hub, job store, builders) at
``app.state.jobs``, both from the one ``settings``; scene changes made here are recorded as
events (:meth:`EventHub.record <sceneforge.events.hub.EventHub.record>`), and every instance's
events clear this process's scene cache (:meth:`SceneCache.on_event
<sceneforge.storage.cache.SceneCache.on_event>`), which answers only while the event bus hears
every change (:meth:`EventBus.usable <sceneforge.events.bus.EventBus.usable>`). At shutdown
everything stops in reverse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from ..jobs.service import JobService
from ..settings import Settings
from ..version import __version__
from . import assets, assist, drafts, events, generate, jobs, keys, ops, outputs, problems, scenes
from .auth import check_routes
from .encoded_slash import RefuseEncodedSlash
from .fast_reads import FastReads, FastReadsMiddleware, SceneforgeAPI
from .head import HeadAsGet
from .ops import Metrics, MetricsMiddleware
from .repeated import RefuseRepeatedQuery
from .responses import Representations
from .services import Services
from .stopping import end_streams_on_stop_signals
from .studio import mount_studio

__all__ = ["create_app"]

#: Response headers a browser script on another origin may read when CORS is on (docs/api.md): the
#: validators and ranges of streaming (docs/streaming.md, clients/js), when to retry a 429 or 503, where a
#: 201 put what it made, what a 405 allows, a download's file name.
EXPOSED_HEADERS = [
    "ETag",
    "Content-Range",
    "Accept-Ranges",
    "Content-Length",
    "X-Scene-Version",
    "Retry-After",
    "Location",
    "Allow",
    "Preference-Applied",
    "Content-Disposition",
]


class _CORS(CORSMiddleware):
    """Starlette's CORS, its refused preflight a problem+json 400 naming what was refused (it was text/plain)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode("latin-1").removeprefix("Disallowed CORS ")
        asked = {
            "origin": f"origin {request_headers.get('origin', '')!r}",
            "method": f"method {request_headers.get('access-control-request-method', '')!r}",
            "headers": "request headers",
            "private-network": "private network access",
        }
        what = ", ".join(asked.get(part.strip(), part.strip()) for part in refused.split(","))
        detail = f"CORS preflight refused: {what} not allowed (SCENEFORGE_CORS_ORIGINS, docs/configuration.md)"
        keep = {k: v for k, v in response.headers.items() if k not in {"content-type", "content-length"}}
        return problems.problem(response.status_code, detail, keep)


def create_app(settings: Settings | None = None, *, routers: list[APIRouter] | None = None) -> FastAPI:
    """The service. ``routers`` adds more endpoints (jobs, events) beside the built-in ones.

    ``settings`` (default: read from the environment) reaches every part through the services
    the lifespan opens (see the module docstring).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = app.state.services = await Services.open(settings)
        try:
            jobs = app.state.jobs = JobService(svc.scenes.engine, svc.blobs, settings, svc.scenes)
            app.state.metrics.streams.set_function(lambda: jobs.hub.subscribers)
            # Cached pointers go when a scene change arrives (the Redis bus acknowledges after that) and
            # again when it is emitted in order (changes found in the events table arrive only that way).
            jobs.hub.on_receive(lambda event: svc.scenes.cache.on_event(event.type, event.scene_id))
            jobs.hub.on_event(lambda event: svc.scenes.cache.on_event(event.type, event.scene_id))
            # The cache answers only while the bus hears every change, and starts afresh when it may have missed some.
            svc.scenes.cache.guard(jobs.hub.bus.usable)
            jobs.hub.bus.on_reset(svc.scenes.cache.clear)
            svc.listeners.append(jobs.hub.record)
            await jobs.start()
            # A server worker: a stop signal ends the event streams, or the server would wait for them
            restore_signals = (
                end_streams_on_stop_signals(jobs.hub) if getattr(app.state, "stop_streams_on_signals", False) else None
            )
            app.state.assist = assist.open_assist(svc, jobs)
            await app.state.assist.start()
            try:
                yield
            finally:
                if restore_signals is not None:
                    restore_signals()
                svc.listeners.remove(jobs.hub.record)
                presence = getattr(app.state, "presence", None)
                if presence is not None:  # withdraw this instance's viewers everywhere now, not at expiry
                    await presence.close()
                await jobs.close()
        finally:
            await svc.close()

    app = SceneforgeAPI(
        title="sceneforge",
        version=__version__,
        description="Build and serve portal-culled indoor scenes (GLB + visibility metadata).",
        lifespan=lifespan,
        # A path is matched as sent (docs/api.md, "Paths"): '/jobs/' is a 404 naming it, never a 307 to '/jobs'
        # whose Location is built from the request's Host header (and scheme, plain http behind a TLS proxy).
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.metrics = app.metrics = Metrics()
    app.state.representations = Representations()
    app.fast_reads = FastReads(app, app.state.representations)
    problems.install(app)
    built_in = [
        scenes.router,
        assets.router,
        ops.router,
        jobs.router,
        events.router,
        generate.router,
        keys.router,
        drafts.router,
        assist.router,
        outputs.router,
    ]
    for router in [*built_in, *(routers or [])]:
        app.include_router(router)
    check_routes(app.routes)  # every state-changing route declares its access dependency
    mount_studio(app)
    # Cached GLB/meta reads are answered before the whole stack (SceneforgeAPI.__call__); those with
    # an Origin while CORS is on come through CORS and the metrics, then skip routing here.
    app.add_middleware(FastReadsMiddleware, fast=app.fast_reads)
    # Outside the fast reads, inside CORS: a path with an encoded slash is a 404 on every route (api/encoded_slash.py)
    app.add_middleware(RefuseEncodedSlash)
    app.add_middleware(RefuseRepeatedQuery)  # ?take=1&take=2 is a 422 on every route (api/repeated.py)
    origins = settings.server.cors_origin_list()
    app.cors = bool(origins)
    if origins:
        app.add_middleware(
            _CORS,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(HeadAsGet)  # a HEAD refused by a GET-only route is answered as the GET's headers
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
