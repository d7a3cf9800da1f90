"""API errors: every error body is ``{"code": "E5xx", "message": "..."}`` with the message in
the request's ``Accept-Language`` (zh or en), worded by ``engine.schema.errors``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.schema.errors import ErrorCode, error_message
from engine.schema.i18n import parse_accept_language

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer: HTTP status, stable code, message parameters, extra headers."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code.value)
        self.status = status
        self.code = code
        self.params = params
        self.headers = headers or {}


def lang_of(request: Request) -> str:
    return parse_accept_language(request.headers.get("accept-language"))


def error_response(
    request: Request,
    status: int,
    code: ErrorCode,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> JSONResponse:
    body = {"code": code.value, "message": error_message(code, lang_of(request), **params)}
    h = {"Content-Language": lang_of(request), **(headers or {})}
    return JSONResponse(body, status_code=status, headers=h)


def unauthorized(**params: Any) -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, {"WWW-Authenticate": "Bearer"}, **params)


def not_found() -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into an error body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return answer_for(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        reason = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
        return error_response(request, 422, ErrorCode.INVALID_REQUEST, reason=reason[:300])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(request, 404, ErrorCode.NOT_FOUND)
        if exc.status_code == 401:
            return error_response(
                request, 401, ErrorCode.UNAUTHORIZED, {"WWW-Authenticate": "Bearer"}
            )
        return error_response(
            request, exc.status_code, ErrorCode.INVALID_REQUEST, reason=str(exc.detail)[:300]
        )

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        return answer_for(request, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return answer_for(request, exc)


def answer_for(request: Request, exc: Exception) -> JSONResponse:
    """The error body of an exception raised while serving ``request`` (an ``ApiError``, the
    database out of reach, or anything else: 500)."""
    if isinstance(exc, ApiError):
        return error_response(request, exc.status, exc.code, exc.headers, **exc.params)
    if isinstance(exc, OperationalError):
        log.warning("database unavailable: %s", exc)
        return error_response(
            request,
            503,
            ErrorCode.SERVICE_UNAVAILABLE,
            {"Retry-After": "5"},
            reason="database",
        )
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, ErrorCode.INTERNAL, reason="see server log")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error body for ``statuses``."""
    from engine.schema.jobs import ErrorBody

    return {s: {"model": ErrorBody} for s in statuses}
