"""Operations endpoints: liveness, readiness (database + blob store), Prometheus metrics; and the request metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .services import Services, services

__all__ = ["Metrics", "MetricsMiddleware", "router"]

router = APIRouter(tags=["ops"])
Svc = Annotated[Services, Depends(services)]


#: The methods counted by name; any other (HTTP lets a client send any token as a method) is counted as ``OTHER``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})


class Metrics:
    """The app's own registry (so several apps in one process do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sceneforge_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "sceneforge_http_request_seconds", "Time to the response start", ["method", "route"], registry=self.registry
        )
        self.builds = Counter("sceneforge_builds", "Builds by outcome", ["outcome"], registry=self.registry)
        self.build_seconds = Histogram("sceneforge_build_seconds", "Build duration", registry=self.registry)
        #: Read from the event hub when scraped (``app.py`` points it there once the hub exists).
        self.streams = Gauge(
            "sceneforge_event_streams", "Event streams (SSE, WebSocket) open in this process", registry=self.registry
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def count(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request: its count and latency (the labelled series are looked up once, then kept). Labels are from
        bounded sets — route templates, :data:`METHODS` — so no client can make the series grow without end."""
        if method not in METHODS:
            method = "OTHER"
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class MetricsMiddleware:
    """Counts requests by route template (never the raw path, which would explode label cardinality) and method
    (:meth:`Metrics.count` folds methods it does not know into one)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            matched = scope.get("route")  # its template without convertors: /scenes/{scene_id}, not {scene_id:scene_id}
            route = str(getattr(matched, "path_format", None) or getattr(matched, "path", "unmatched"))
            method = scope["method"]
            self.metrics.count(method, route, status, time.perf_counter() - started)
            if route == "/scenes/build":
                outcome = "ok" if status < 400 else "invalid" if status in {413, 422} else "refused"
                self.metrics.builds.labels(outcome).inc()
                state = scope.get("state") or {}
                if "build_seconds" in state:
                    self.metrics.build_seconds.observe(state["build_seconds"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is unreachable"}})
async def readyz(svc: Svc) -> JSONResponse:
    """The database and the blob store answer."""
    checks: dict[str, str] = {}
    try:
        async with svc.scenes.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.to_thread(svc.blobs.ping)
        checks["blobs"] = "ok"
    except Exception as exc:
        checks["blobs"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
