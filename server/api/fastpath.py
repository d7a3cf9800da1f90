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

It runs in front of the whole application (:meth:`JobSubmitFastPath.serve`, called by the
app's ``__call__`` before Starlette's middleware stack, whose error, telemetry, body-limit and
metrics layers cost about a tenth of a burst's CPU) and records the request metrics itself; a
request it declines goes through the whole stack as any other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from engine.schema.jobs import JobSpec
from server.api.errors import answer_for
from server.api.intake import JobIntake
from server.api.ratelimit import acheck
from server.api.routes_jobs import accept_job_id
from server.auth import verify_access_token
from server.services import Services

MAX_BODY = 1 << 20
MAX_IDEMPOTENCY_KEY = 255
Observe = Callable[[str, str, int, float], None]  # method, route, status, seconds
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class JobSubmitFastPath:
    """Serves ``POST /jobs`` (see the module docstring)."""

    def __init__(self, fastapi_app: FastAPI, observe: Observe | None = None) -> None:
        self.fastapi_app = fastapi_app
        self.observe = observe  # request metrics of what is answered here
        self.enabled = True  # tests compare both paths
        self.served = 0  # requests answered here (not handed to FastAPI)
        self._route: BaseRoute | None = None
        fastapi_app.state.fastpath = self

    def _route_of_jobs(self) -> BaseRoute | None:
        """The FastAPI route (``scope["route"]``, as routing would set it)."""
        if self._route is None:
            for r in self.fastapi_app.routes:
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

    async def serve(self, scope: Scope, receive: Receive, send: Send, whole_app: Asgi) -> None:
        """Answer a ``POST /jobs`` here (its metrics recorded with ``observe``) or hand it to
        ``whole_app``."""
        t0 = time.perf_counter()
        status = [500]

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        if await self._serve(scope, receive, send_, whole_app) and self.observe is not None:
            self.observe("POST", "/jobs", status[0], time.perf_counter() - t0)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, other: Asgi) -> bool:
        """Serve the request; False when it went to ``other`` (or the client left)."""
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
        scope["route"] = self._route_of_jobs()
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
