"""Request body caps, enforced while the body streams in, before any route or authentication.

Every request is held to the cap of the route it is for: none for routes that read no body
(a body there is refused at once), :data:`FORM_BODY` for form routes (``/auth``),
:data:`JSON_BODY` for JSON routes (``POST /jobs`` included, whether the route or
:mod:`server.api.fastpath` answers it: this layer is in front of both), and
``MAX_UPLOAD_BYTES`` for embedded mode's upload route (whose signed URL carries its own,
smaller, cap in ``max``: the cap here, while the route checks the signature before it reads
a byte). A declared ``Content-Length`` over the cap is answered ``413`` before
the application runs; a chunked body is counted as it arrives and answered ``413`` once it
passes the cap: the application then sees the client leave (``http.disconnect``) and
whatever it still sends is dropped. No request can make the server buffer more than its cap.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from engine.schema.errors import ErrorCode
from server.api import errors

log = logging.getLogger(__name__)
JSON_BODY = 1 << 20
FORM_BODY = 64 << 10
NO_BODY = 0
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
# routes that read their body themselves (no FastAPI body field): path -> settings attribute
STREAMED = {"/storage/{bucket}/{key:path}": "max_upload_bytes"}


def _cap_of(route: APIRoute, upload_cap: int) -> int:
    if route.path in STREAMED and "PUT" in (route.methods or ()):
        return upload_cap
    if route.body_field is None:
        return NO_BODY
    is_form = any(isinstance(p.field_info, params.Form) for p in route.dependant.body_params)
    return FORM_BODY if is_form else JSON_BODY


def _granted(scope: Scope, cap: int) -> int:
    """An upload's cap: the smaller of ``cap`` and the ``max`` its signed URL carries (the
    route checks the signature, before it reads the body); none without one."""
    for part in scope.get("query_string", b"").split(b"&"):
        if part.startswith(b"max="):
            value = part[4:]
            return min(cap, int(value)) if value.isdigit() else NO_BODY
    return NO_BODY


def _api_routes(router: Any, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """The API routes of ``router`` with the prefix they are mounted under; included routers
    are descended into (``app.routes`` lists them as one entry each)."""
    for r in router.routes:
        if isinstance(r, APIRoute):
            yield prefix, r
        elif hasattr(r, "original_router"):  # FastAPI's included router
            context = getattr(r, "include_context", None)
            yield from _api_routes(r.original_router, prefix + getattr(context, "prefix", ""))


class BodyLimit:
    """The per-route body cap of an app (see the module docstring)."""

    def __init__(self, app: FastAPI, upload_cap: int) -> None:
        self.app = app
        self.upload_cap = upload_cap
        self._routes: list[tuple[str, APIRoute, int]] | None = None

    def routes(self) -> list[tuple[str, APIRoute, int]]:
        """(prefix, route, cap) of every API route, in routing order."""
        if self._routes is None:
            self._routes = [
                (prefix, r, _cap_of(r, self.upload_cap)) for prefix, r in _api_routes(self.app)
            ]
        return self._routes

    def cap_for(self, scope: Scope) -> tuple[int, bool]:
        """The body cap of the route ``scope`` is for (none for an unknown route), and whether
        it is the upload route."""
        if scope["method"] == "POST" and scope["path"] == "/jobs":
            return JSON_BODY, False  # the hot path: no route matching
        path = scope["path"]
        for prefix, route, cap in self.routes():
            if prefix and not path.startswith(prefix):
                continue
            sub = {**scope, "path": path[len(prefix) :]} if prefix else scope
            match, _ = route.matches(sub)
            if match == Match.FULL:
                upload = route.path in STREAMED and "PUT" in (route.methods or ())
                return (_granted(scope, cap) if upload else cap), upload
        return NO_BODY, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send, inner: Asgi) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        declared: int | None = None
        has_body = False
        for k, v in scope["headers"]:
            if k == b"content-length":
                if not v.isdigit():
                    await _refuse(scope, receive, send, 400)
                    return
                declared = int(v)
                has_body = has_body or declared > 0
            elif k == b"transfer-encoding":
                has_body = True
        if not has_body:
            await inner(scope, receive, send)
            return
        cap, upload = self.cap_for(scope)
        if (declared if declared is not None else 1) > cap:  # over, or chunked to no-body
            await _too_large(scope, receive, send, declared or 0, cap, upload)
            return
        state: dict[str, Any] = {"received": 0, "refused": False, "started": False}

        async def limited_receive() -> Message:
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > cap:
                    state["refused"] = True
                    if not state["started"]:
                        state["started"] = True
                        await _too_large(scope, receive, send, state["received"], cap, upload)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return  # the 413 is out; the app's answer to a "gone" client is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await inner(scope, limited_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise
            # the app failed on the body it never got in full: already answered
            log.debug("request refused at %d bytes", state["received"], exc_info=True)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int) -> None:
    reason = "body too large" if status == 413 else "bad Content-Length"
    resp = errors.error_response(
        Request(scope), status, ErrorCode.INVALID_REQUEST, {"Connection": "close"}, reason=reason
    )
    with contextlib.suppress(OSError):
        await resp(scope, receive, send)


async def _too_large(
    scope: Scope, receive: Receive, send: Send, size: int, cap: int, upload: bool
) -> None:
    """``413``: an upload's ``E505`` (sizes in MB), else ``E513`` "body too large"."""
    if not upload:
        await _refuse(scope, receive, send, 413)
        return
    resp = errors.error_response(
        Request(scope),
        413,
        ErrorCode.UPLOAD_TOO_LARGE,
        {"Connection": "close"},
        size_mb=round(size / 1e6, 1),
        limit_mb=round(cap / 1e6, 1),
    )
    with contextlib.suppress(OSError):
        await resp(scope, receive, send)
