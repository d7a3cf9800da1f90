"""Admin endpoints (the console's admin page): users, queue depth, worker health, failure rate.

Admins are the user names listed in ``APP_ADMINS`` (comma-separated); anyone else gets 403
(``E502``) from every route here, whatever the page in their browser shows. Figures come from
the database (the source of truth for job and task state), not from scraping Prometheus.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update

from engine.schema.errors import ErrorCode
from server.api.deps import Svc, User, audit
from server.api.errors import ApiError, error_responses, not_found
from server.api.routes_console import admins
from server.auth import Principal, create_user
from server.db.models import Job, RefreshToken, Task
from server.db.models import User as UserRow
from server.db.session import now_epoch

ERR = error_responses(401, 403, 404, 409, 422, 429)
HOUR_S = 3600.0


async def admin_user(request: Request, svc: Svc, user: User) -> Principal:
    """The caller, if an admin; 403 otherwise."""
    if user.name not in admins(svc.settings):
        raise ApiError(403, ErrorCode.FORBIDDEN)
    return user


Admin = Annotated[Principal, Depends(admin_user)]
router = APIRouter(prefix="/admin", tags=["admin"])


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserPatch(BaseModel):
    disabled: bool


def _user_row(u: UserRow) -> dict[str, Any]:
    return {"id": u.id, "name": u.name, "disabled": bool(u.disabled), "created_at": u.created_at}


@router.get("/users", responses=ERR)
def list_users(svc: Svc, admin: Admin) -> dict[str, Any]:
    """Every account (name, disabled, created)."""
    with svc.db.session() as s:
        rows = s.execute(select(UserRow).order_by(UserRow.name)).scalars()
        names = admins(svc.settings)
        items = [{**_user_row(u), "admin": u.name in names} for u in rows]
    return {"items": items}


@router.post("/users", status_code=201, responses=ERR)
def add_user(request: Request, body: NewUser, svc: Svc, admin: Admin) -> dict[str, Any]:
    """Add an account (same rules as ``audio-style users add``)."""
    with svc.db.session() as s:
        try:
            u = create_user(s, body.name, body.password)
        except ValueError as e:
            code = 409 if "exists" in str(e) else 422
            raise ApiError(code, ErrorCode.INVALID_REQUEST, reason=str(e)) from e
        audit(s, request, admin.user_id, "admin_user_add", body.name, 201)
        return _user_row(u)


@router.patch("/users/{name}", responses=ERR)
def patch_user(
    request: Request, name: str, body: UserPatch, svc: Svc, admin: Admin
) -> dict[str, Any]:
    """Disable (or enable) an account; disabling also revokes its refresh tokens."""
    with svc.db.session() as s:
        u = s.execute(select(UserRow).where(UserRow.name == name[:64])).scalar_one_or_none()
        if u is None:
            raise not_found()
        u.disabled = body.disabled
        if body.disabled:
            now = float(s.execute(select(now_epoch())).scalar_one())
            s.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == u.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        audit(s, request, admin.user_id, "admin_user_patch", f"{name}:{body.disabled}", 200)
        return _user_row(u)


@router.get("/stats", responses=ERR)
def stats(svc: Svc, admin: Admin) -> dict[str, Any]:
    """Queue depth (queued jobs and tasks), workers (running tasks and whether their lease is
    live), and the failure rate of jobs finished in the last hour."""
    with svc.db.session() as s:
        now = float(s.execute(select(now_epoch())).scalar_one())
        queued_jobs = s.execute(select(func.count()).where(Job.state == "queued")).scalar_one()
        running_jobs = s.execute(select(func.count()).where(Job.state == "running")).scalar_one()
        queued_tasks = s.execute(select(func.count()).where(Task.state == "queued")).scalar_one()
        rows = s.execute(
            select(
                Task.worker_id,
                func.count(),
                func.max(Task.lease_until),
                func.max(Task.updated_at),
            )
            .where(Task.worker_id.is_not(None), Task.updated_at >= now - HOUR_S)
            .group_by(Task.worker_id)
        ).all()
        running = dict(
            s.execute(
                select(Task.worker_id, func.count())
                .where(Task.state == "running")
                .group_by(Task.worker_id)
            ).all()
        )
        finished = dict(
            s.execute(
                select(Job.state, func.count())
                .where(Job.finished_at >= now - HOUR_S)
                .group_by(Job.state)
            ).all()
        )
    workers = []
    for wid, n, lease, seen in rows:
        busy = int(running.get(wid, 0))
        live = lease is not None and float(lease) >= now
        workers.append(
            {
                "worker_id": str(wid),
                "tasks_last_hour": int(n),
                "running": busy,
                "last_seen_s": round(now - float(seen), 1),
                "healthy": live or busy == 0,
            }
        )
    failed = int(finished.get("failed", 0))
    done = failed + int(finished.get("succeeded", 0))
    return {
        "queue": {
            "queued_jobs": int(queued_jobs),
            "running_jobs": int(running_jobs),
            "queued_tasks": int(queued_tasks),
        },
        "workers": workers,
        "last_hour": {
            "finished": done,
            "failed": failed,
            "canceled": int(finished.get("canceled", 0)),
            "failure_rate": failed / done if done else 0.0,
        },
        "mode": "embedded" if svc.settings.embedded else "full",
    }
