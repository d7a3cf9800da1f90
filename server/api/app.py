"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.schema.errors import ErrorCode
from engine.schema.jobs import JobState
from server.api import errors, fastpath, routes_auth, routes_jobs, routes_storage
from server.api.deps import Svc
from server.api.intake import JobIntake
from server.api.limits import BodyLimit
from server.api.proxy import ClientAddress, parse_trusted
from server.api.ratelimit import RateLimiter
from server.api.routes_admin import router as admin_router
from server.api.routes_console import install as install_console
from server.api.throttle import LoginThrottle, shared_limiters
from server.db.models import Job
from server.metrics import JOBS_TOTAL
from server.services import Services

log = logging.getLogger(__name__)
MAX_JSON_BODY = 1 << 20
REQUESTS = Counter(
    "audio_style_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "audio_style_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class JobStateCollector(Collector):
    """``audio_style_jobs{state=...}``: job counts by state, read from the database on scrape
    (cached a few seconds)."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self._cache: tuple[float, dict[str, int]] = (0.0, {})

    def collect(self) -> Iterable[GaugeMetricFamily]:
        g = GaugeMetricFamily("audio_style_jobs", "Jobs by state", labels=["state"])
        svc = self.services
        if svc is not None:
            at, counts = self._cache
            if time.monotonic() - at > 5.0:
                try:
                    with svc.db.session() as s:
                        rows = s.execute(select(Job.state, func.count()).group_by(Job.state))
                        counts = {str(a): int(b) for a, b in rows}
                    self._cache = (time.monotonic(), counts)
                except Exception:
                    counts = {}
            for st in JobState:
                g.add_metric([st.value], float(counts.get(st.value, 0)))
        yield g


_JOBS = JobStateCollector()
# a registry of its own: prometheus_client reserves the family name ``audio_style_jobs`` for
# the ``audio_style_jobs_total`` counter, while the text format allows both side by side
_JOBS_REGISTRY = CollectorRegistry(auto_describe=False)
_JOBS_REGISTRY.register(_JOBS)


class ObserveMiddleware:
    """Request metrics and the JSON body cap, as plain ASGI (Starlette's ``BaseHTTPMiddleware``
    costs a task and a stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if method in ("POST", "PATCH") and not path.startswith("/storage"):
            for k, v in scope["headers"]:
                if k == b"content-length" and v.isdigit() and int(v) > MAX_JSON_BODY:
                    resp = errors.error_response(
                        Request(scope), 413, ErrorCode.INVALID_REQUEST, reason="body too large"
                    )
                    await resp(scope, receive, send)
                    return
        status = [500]

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send_)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            _observe(method, route, status[0], time.perf_counter() - t0)


_OBSERVED: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _observe(method: str, route: str, status: int, seconds: float) -> None:
    """Record one request in the HTTP metrics (the labelled children are looked up once)."""
    key = (method, route, status)
    children = _OBSERVED.get(key)
    if children is None:
        children = (LATENCY.labels(method, route), REQUESTS.labels(method, route, str(status)))
        _OBSERVED[key] = children
    children[0].observe(seconds)
    children[1].inc()


class _Api(FastAPI):
    """The application, behind the client address and body cap layers (which apply to every
    request before routing)."""

    client_address: ClientAddress | None = None  # server.api.proxy
    body_limit: BodyLimit | None = None  # server.api.limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.client_address is not None:
            self.client_address.apply(scope)
        if self.body_limit is not None:
            await self.body_limit(scope, receive, send, super().__call__)
        else:
            await super().__call__(scope, receive, send)


def tune_gc() -> None:
    """Garbage-collector settings for a serving process, called once the app is built.

    A burst of requests keeps thousands of objects alive at once (every request waiting for
    its commit), and CPython's default thresholds then run a full collection again and again
    over everything the process imported: measured on ``POST /jobs``, a third of the server's
    CPU. Freezing the start-up objects takes them out of every collection, and larger
    thresholds collect the young generation less often (reference counting still frees all
    acyclic garbage at once; cycles wait a little longer)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app(svc: Services) -> FastAPI:
    """The API over ``svc``; background loops start and stop with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = []
        for name, loop in svc.background:
            t = threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
            t.start()
            threads.append(t)
        try:
            yield
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)

    app = _Api(
        title="audio-style server",
        version="1",
        summary="Reference-based mix/master style matching: jobs, uploads, results.",
        lifespan=lifespan,
        docs_url=None,  # served by routes_console from local Swagger UI assets
        redoc_url=None,  # loaded its script from a CDN
    )
    app.state.services = svc

    def created(n: int) -> None:
        JOBS_TOTAL.labels(state="queued").inc(n)
        svc.kick()

    app.state.intake = JobIntake(svc.db, svc.settings.max_attempts, on_created=created)
    st = svc.settings
    app.state.user_limiter = RateLimiter(st.rate_limit_user_per_min, st.rate_limit_user_burst)
    app.state.auth_limiter = RateLimiter(st.rate_limit_auth_per_min, st.rate_limit_auth_burst)
    shared_limiters(app.state, st)  # RATE_LIMIT_STORAGE=redis://: shared by the processes
    app.state.login_throttle = LoginThrottle.from_settings(st)
    app.client_address = ClientAddress(parse_trusted(st.trusted_proxies))
    app.body_limit = BodyLimit(app, st.max_upload_bytes)
    _JOBS.services = svc
    errors.install(app)

    fastpath.install(app)  # the innermost middleware: every other one wraps it
    app.add_middleware(ObserveMiddleware)

    @app.get("/health", tags=["ops"])
    def health(svc_: Svc) -> JSONResponse:
        """Checks the database, the queue and the storage; 503 when one fails."""
        checks: dict[str, str] = {}
        for name, fn in (
            ("database", svc_.db.check),
            ("queue", svc_.queue.check),
            ("storage", svc_.storage.check),
        ):
            try:
                fn()
                checks[name] = "ok"
            except Exception as e:
                checks[name] = f"error: {type(e).__name__}"
        ok = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        body["mode"] = "embedded" if svc_.settings.embedded else "full"
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        body = generate_latest(REGISTRY) + generate_latest(_JOBS_REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.include_router(routes_auth.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_storage.router)
    app.include_router(admin_router)
    install_console(app, st)  # web console, /docs, page security headers
    return app
