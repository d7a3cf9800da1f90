"""``POST /jobs`` without FastAPI's per-request machinery.

Measured in-process on a burst of submissions, FastAPI's routing, dependency solving and
exception middlewares cost about twice the endpoint's own work (checks, validation, the group
commit). This serves the well-formed case of that one route directly, with the same pieces
the route uses — :func:`~server.auth.verify_access_token`, the per-user rate limit,
``JobSpec`` validated as FastAPI does (``json.loads`` then the model),
:func:`~server.api.routes_jobs.accept_job_id` and :func:`~server.api.errors.answer_for` for
every error it raises — so the answers are the route's, byte for byte (the 202 written as
ASGI messages without a Response object).

Anything it is not sure about goes to FastAPI untouched, the buffered body replayed: no
bearer token or one that does not verify, a body that is not JSON or does not validate, a
missing or odd Content-Length or Content-Type, an over-long ``Idempotency-Key``. Only requests
the route would accept past authentication are counted against the rate limit here, once.
The route stays registered: it documents the endpoint (OpenAPI) and answers those requests.

It is a middleware, installed first (:func:`install`), so the innermost one: every
middleware of the application — the request metrics, the security headers, any added later —
wraps it as it wraps the routes; only routing and dependency solving are skipped. It sets
``scope["route"]`` as routing would.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.schema.jobs import JobSpec
from server.api import routes_jobs
from server.api.errors import answer_for
from server.api.intake import JobIntake
from server.api.ratelimit import acheck
from server.api.routes_jobs import accept_job_id
from server.auth import verify_access_token
from server.services import Services

MAX_BODY = 1 << 20
MAX_IDEMPOTENCY_KEY = 255
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class JobSubmitFastPath:
    """Serves ``POST /jobs`` (see the module docstring)."""

    def __init__(self, fastapi_app: FastAPI) -> None:
        self.fastapi_app = fastapi_app
        self.enabled = True  # tests compare both paths
        self.served = 0  # requests answered here (not handed to FastAPI)
        self._route: BaseRoute | None = None
        fastapi_app.state.fastpath = self

    def _route_of_jobs(self) -> BaseRoute | None:
        """The route routing would put in ``scope["route"]``: the ``POST /jobs`` route object
        of :data:`server.api.routes_jobs.router` (FastAPI keeps an included router's routes
        as they are, behind an ``_IncludedRouter`` entry of ``app.routes``, so they are not
        found at the app's top level). None (every request then goes to FastAPI) if the
        router has none."""
        if self._route is None:
            for r in routes_jobs.router.routes:
                if getattr(r, "path", None) == "/jobs" and "POST" in getattr(r, "methods", ()):
                    self._route = r
        return self._route

    def wants(self, scope: Scope) -> bool:
        """Whether ``scope`` is a ``POST /jobs`` this path should try."""
        return (
            self.enabled
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/jobs"
        )

    async def serve(self, scope: Scope, receive: Receive, send: Send, other: Asgi) -> bool:
        """Answer a ``POST /jobs`` here; False when it went to ``other`` (the rest of the
        stack) or the client left."""
        token = ctype = key = clen = None
        for k, v in scope["headers"]:  # the first of each, as Starlette's headers.get()
            if k == b"authorization":
                token = v if token is None else token
            elif k == b"content-type":
                ctype = v if ctype is None else ctype
            elif k == b"content-length":
                clen = v if clen is None else clen
            elif k == b"idempotency-key":
                key = v if key is None else key
        if (
            token is None
            or token[:7].lower() != b"bearer "
            or ctype is None
            or ctype.split(b";", 1)[0].strip().lower() != b"application/json"
            or clen is None
            or not clen.isdigit()
            or int(clen) > MAX_BODY
            or (key is not None and len(key) > MAX_IDEMPOTENCY_KEY)
        ):
            await other(scope, receive, send)
            return False
        # the body, kept to replay it to FastAPI if this path gives up
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client gone
                return False
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        route = self._route_of_jobs()
        if route is None:
            await other(scope, _replay(body, receive), send)
            return False
        state = self.fastapi_app.state
        svc: Services = state.services
        try:
            user = verify_access_token(svc.settings, token[7:].decode("latin-1").strip())
            spec = JobSpec.model_validate(json.loads(body))
            idem = key.decode("latin-1") if key is not None else None
        except Exception:  # AuthError, ValidationError, bad JSON...: FastAPI words the refusal
            await other(scope, _replay(body, receive), send)
            return False
        self.served += 1
        scope["route"] = route
        request = Request(scope)
        try:
            await acheck(state.user_limiter, user.user_id, "user")
            intake: JobIntake = state.intake
            client = scope.get("client")
            ip = client[0] if client else ""
            job = await accept_job_id(svc, intake, user, spec, idem, ip)
        except Exception as e:
            await answer_for(request, e)(scope, receive, send)
            return True
        await _send_accepted(send, job.id, job.state)
        return True


class _InStack:
    """The fast path as the innermost middleware (Starlette builds it with the next app)."""

    def __init__(self, app: ASGIApp, fast: JobSubmitFastPath) -> None:
        self.app = app
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast.wants(scope):
            await self.fast.serve(scope, receive, send, self.app)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI) -> JobSubmitFastPath:
    """Add the fast path to ``app``; call it before any other ``add_middleware`` (Starlette
    wraps the middlewares added earlier in those added later), so that every middleware
    applies to what it answers."""
    if app.user_middleware:
        raise RuntimeError("install the fast path before every other middleware")
    fast = JobSubmitFastPath(app)
    app.add_middleware(_InStack, fast=fast)
    return fast


async def _send_accepted(send: Send, job_id: str, state: str) -> None:
    """The route's 202 answer (``JSONResponse`` of ``{"id", "state"}`` with ``Location``),
    written as ASGI messages directly: the same bytes without building a Response."""
    body = json.dumps(
        {"id": job_id, "state": state}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [
                (b"location", f"/jobs/{job_id}".encode("latin-1")),
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
