"""OAuth2 password flow with rotating refresh tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from sqlalchemy import select

from engine.schema.errors import ErrorCode
from engine.schema.jobs import TokenResponse
from server.api.deps import Svc, audit, audit_now, client_ip
from server.api.errors import ApiError, error_responses
from server.api.ratelimit import limit_by_address
from server.api.throttle import LoginThrottle
from server.auth import (
    AuthError,
    authenticate,
    issue_access_token,
    issue_refresh_token,
    revoke_token_family,
    rotate_refresh_token,
)
from server.db.session import now_epoch

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(limit_by_address)])
ERRORS = error_responses(401, 422, 429)


@router.post("/token", response_model=TokenResponse, responses=ERRORS)
def token(
    request: Request,
    svc: Svc,
    grant_type: Annotated[str, Form()],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    refresh_token: Annotated[str, Form()] = "",
) -> TokenResponse:
    """``grant_type=password`` (username, password) or ``grant_type=refresh_token``.

    Refresh tokens rotate: each use returns a new one; reusing a spent one revokes the family
    (``E510``: log in again)."""
    st = svc.settings
    if grant_type == "password":
        throttle: LoginThrottle = request.app.state.login_throttle
        address = client_ip(request)
        throttle.check(address, username)
        err: AuthError | None = None
        with svc.db.session() as s:
            try:
                user = authenticate(s, username, password)
            except AuthError as e:
                err = e
            if err is None:
                now = float(s.execute(select(now_epoch())).scalar_one())
                access = issue_access_token(st, user, now)
                refresh = issue_refresh_token(s, st, user.id, now)
                audit(s, request, user.id, "login", username, 200)
        if err is not None:
            throttle.failed(address, username)
            audit_now(svc.db, request, None, "login_failed", username[:64], 401)
            raise ApiError(401, ErrorCode.BAD_CREDENTIALS, {"WWW-Authenticate": "Bearer"})
        throttle.succeeded(username)
        return TokenResponse(access_token=access, refresh_token=refresh, expires_in=st.access_ttl_s)
    if grant_type == "refresh_token":
        err = None
        with svc.db.session() as s:
            try:
                user, refresh = rotate_refresh_token(s, st, refresh_token)
            except AuthError as e:
                err = e  # commit: a reuse revoked the family
            if err is None:
                now = float(s.execute(select(now_epoch())).scalar_one())
                access = issue_access_token(st, user, now)
                audit(s, request, user.id, "refresh", "", 200)
        if err is not None:
            audit_now(svc.db, request, None, "refresh_refused", err.reason[:100], 401)
            raise ApiError(401, ErrorCode.SESSION_EXPIRED, {"WWW-Authenticate": "Bearer"})
        return TokenResponse(access_token=access, refresh_token=refresh, expires_in=st.access_ttl_s)
    raise ApiError(422, ErrorCode.INVALID_REQUEST, reason="unsupported grant_type")


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(svc: Svc, refresh_token: Annotated[str, Form()]) -> Response:
    """Revoke the refresh token's family."""
    with svc.db.session() as s:
        revoke_token_family(s, refresh_token)
    return Response(status_code=204)
