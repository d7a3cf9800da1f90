"""Shared services and request dependencies of the routes."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.api.ratelimit import acheck
from server.auth import AuthError, Principal, verify_access_token
from server.db.session import Database
from server.services import Services


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


async def current_user(request: Request, svc: Svc) -> Principal:
    """The caller of a request with ``Authorization: Bearer <access token>`` (async: a
    signature check is cheaper than a thread-pool hop), within the per-user rate limit."""
    from server.api.errors import unauthorized

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    try:
        principal = verify_access_token(svc.settings, token.strip())
    except AuthError as e:
        raise unauthorized() from e
    await acheck(request.app.state.user_limiter, principal.user_id, "user")
    return principal


User = Annotated[Principal, Depends(current_user)]


_INSERT_AUDIT = text(
    "INSERT INTO audit_log (at, user_id, action, resource, status, ip)"
    " VALUES (:at, :user_id, :action, :resource, :status, :ip)"
)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def audit(
    s: Session, request: Request, user_id: str | None, action: str, resource: str, status: int
) -> None:
    """Record who accessed what (in the caller's transaction)."""
    s.execute(
        _INSERT_AUDIT,
        {
            "at": time.time(),
            "user_id": user_id,
            "action": action,
            "resource": resource[:512],
            "status": status,
            "ip": client_ip(request)[:64],
        },
    )


def audit_now(
    db: Database, request: Request, user_id: str | None, action: str, resource: str, status: int
) -> None:
    """Record an access in its own transaction (failures, reads)."""
    with db.session() as s:
        audit(s, request, user_id, action, resource, status)
