"""Uploads and jobs. Every lookup is scoped to the caller: another user's job or object is
"not found" (404), never "forbidden", so ids cannot be probed."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, or_, select

from engine.schema.errors import ErrorCode, error_message
from engine.schema.jobs import (
    JobAccepted,
    JobError,
    JobList,
    JobResult,
    JobSpec,
    JobState,
    JobView,
    UploadGrant,
    UploadRequest,
)
from server import jobstore
from server.api.deps import Svc, User, audit, audit_now, client_ip
from server.api.errors import ApiError, error_responses, lang_of, not_found
from server.api.intake import JobIntake, Submission
from server.api.magic import ALLOWED_EXTENSIONS, HEAD_BYTES, looks_like_audio
from server.auth import Principal
from server.db.models import Job, JobResultRow, Task, Upload
from server.db.session import now_epoch
from server.ids import new_id
from server.jobstore import JobRequest, NewJob
from server.metrics import JOBS_TOTAL
from server.scheduler.chunking import target_progress
from server.storage.base import StorageError, upload_prefix, valid_key

router = APIRouter(tags=["jobs"])
ERR = error_responses(400, 401, 404, 409, 413, 415, 422, 429, 503)


def _dt(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t is not None else None


def _storage_error(e: StorageError) -> ApiError:
    return ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, {"Retry-After": "5"}, reason="storage")


# --- uploads ------------------------------------------------------------------------------


@router.post("/uploads", response_model=UploadGrant, status_code=201, responses=ERR)
def create_upload(request: Request, body: UploadRequest, svc: Svc, user: User) -> UploadGrant:
    """Temporary upload targets (and, where configured, STS credentials) for one prefix under
    the caller's id: upload actions only, short-lived, size-capped. The server names the keys."""
    st = svc.settings
    keys = []
    upload_id = new_id()
    prefix = upload_prefix(user.user_id, upload_id)
    for i, f in enumerate(body.files):
        if f.size > st.max_upload_bytes:
            raise ApiError(
                413,
                ErrorCode.UPLOAD_TOO_LARGE,
                size_mb=round(f.size / 1e6, 1),
                limit_mb=round(st.max_upload_bytes / 1e6, 1),
            )
        ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else ""
        if ext not in ALLOWED_EXTENSIONS:
            raise ApiError(415, ErrorCode.NOT_AUDIO, key=f.name[:100])
        keys.append(f"{prefix}{i}.{ext}")
    try:
        # each key capped at the size declared for it (S3/COS policy, the embedded PUT URL)
        caps = [max(1, f.size) for f in body.files]
        parts = svc.storage.upload_grant(
            svc.storage.bucket_audio, prefix, keys, caps, st.upload_ttl_s
        )
    except StorageError as e:
        raise _storage_error(e) from e
    with svc.db.session() as s:
        now = float(s.execute(select(now_epoch())).scalar_one())
        s.add(
            Upload(
                id=upload_id,
                user_id=user.user_id,
                prefix=prefix,
                keys=keys,
                created_at=now,
                expires_at=now + st.upload_ttl_s,
            )
        )
        audit(s, request, user.user_id, "upload_grant", prefix, 201)
    expires = now + st.upload_ttl_s
    return UploadGrant(
        upload_id=upload_id,
        bucket=svc.storage.bucket_audio,
        prefix=prefix,
        expires_at=datetime.fromtimestamp(expires, UTC),
        max_bytes=st.max_upload_bytes,
        files=parts.targets,
        credentials=parts.credentials,
    )


@router.post(
    "/uploads/{upload_id}/renew", response_model=UploadGrant, status_code=201, responses=ERR
)
def renew_upload(request: Request, upload_id: str, svc: Svc, user: User) -> UploadGrant:
    """Fresh upload targets/credentials for the same keys of an earlier grant (a client
    resuming an interrupted upload after its credentials expired)."""
    st = svc.settings
    with svc.db.session() as s:
        up = s.execute(
            select(Upload).where(Upload.id == upload_id[:64], Upload.user_id == user.user_id)
        ).scalar_one_or_none()
        if up is None:
            raise not_found()
        keys, prefix = [str(k) for k in up.keys], up.prefix
        now = float(s.execute(select(now_epoch())).scalar_one())
        up.expires_at = now + st.upload_ttl_s
        audit(s, request, user.user_id, "upload_renew", prefix, 201)
    try:
        parts = svc.storage.upload_grant(
            svc.storage.bucket_audio, prefix, keys, st.max_upload_bytes, st.upload_ttl_s
        )
    except StorageError as e:
        raise _storage_error(e) from e
    return UploadGrant(
        upload_id=upload_id,
        bucket=svc.storage.bucket_audio,
        prefix=prefix,
        expires_at=datetime.fromtimestamp(now + st.upload_ttl_s, UTC),
        max_bytes=st.max_upload_bytes,
        files=parts.targets,
        credentials=parts.credentials,
    )


# --- job submission -------------------------------------------------------------------------


def resolve_source(svc: Svc, user_id: str, src: str) -> str:
    """The object key a job source names, after every check: a key or a signed URL of this
    storage (never fetched: no SSRF), under the caller's prefix, present, within the size cap,
    and audio by its magic bytes."""
    storage, st = svc.storage, svc.settings
    s = src.strip()
    if "://" in s or s.startswith("//"):
        parsed = storage.parse_signed_url(s)
        if parsed is None or parsed[0] != storage.bucket_audio:
            raise ApiError(400, ErrorCode.SOURCE_NOT_ALLOWED)
        key = parsed[1]
    else:
        key = s
    if not valid_key(key):
        raise ApiError(400, ErrorCode.SOURCE_NOT_ALLOWED)
    mine = (f"uploads/{user_id}/", f"results/{user_id}/")
    if not key.startswith(mine):
        raise not_found()  # someone else's (or nobody's) object: indistinguishable
    try:
        found = storage.probe(storage.bucket_audio, key, HEAD_BYTES)
    except StorageError as e:
        raise _storage_error(e) from e
    if found is None:
        raise not_found()
    info, head = found
    if info.size > st.max_upload_bytes:
        raise ApiError(
            413,
            ErrorCode.UPLOAD_TOO_LARGE,
            size_mb=round(info.size / 1e6, 1),
            limit_mb=round(st.max_upload_bytes / 1e6, 1),
        )
    if not looks_like_audio(head):
        raise ApiError(415, ErrorCode.NOT_AUDIO, key=key.rsplit("/", 1)[-1])
    return key


def _resolve_all(svc: Svc, user_id: str, sources: list[str]) -> dict[str, str]:
    return {src: resolve_source(svc, user_id, src) for src in dict.fromkeys(sources)}


async def accept_job_id(
    svc: Svc,
    intake: JobIntake,
    user: Principal,
    spec: JobSpec,
    idempotency_key: str | None,
    ip: str,
) -> NewJob:
    """The work of ``POST /jobs`` once the caller and the body are known, up to the accepted
    (committed) job; the route answers with a ``JSONResponse``, the fast path
    (:mod:`server.api.fastpath`) writes the same answer without one. Raises
    :class:`ApiError`."""
    sources = [*spec.targets, *spec.references]
    if svc.storage.local_io:  # a stat and a 64-byte read: cheaper than a thread hop
        keys = _resolve_all(svc, user.user_id, sources)
    else:
        keys = await anyio.to_thread.run_sync(_resolve_all, svc, user.user_id, sources)
    body = spec.model_dump(mode="json")
    body["targets"] = [keys[t] for t in spec.targets]
    body["references"] = [keys[r] for r in spec.references]
    body_json = json.dumps(body, sort_keys=True)
    digest = hashlib.sha256(body_json.encode()).hexdigest()
    req = JobRequest(user.user_id, body, digest, idempotency_key, body_json)
    out = await intake.submit(Submission(req, ip, time.time()))
    if out.conflict:
        raise ApiError(
            409, ErrorCode.CONFLICT, reason="Idempotency-Key reused with a different request"
        )
    return out.job


@router.post("/jobs", response_model=JobAccepted, status_code=202, responses=ERR)
async def submit_job(
    request: Request,
    spec: JobSpec,
    svc: Svc,
    user: User,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Accept a job (202) once it is committed. Sources are checked before anything is
    stored. With an ``Idempotency-Key`` a retried request returns the same job; the same key
    with a different body is a conflict (409).

    The hot path of the API: async, no thread hop where the storage is local disk, and the
    job is written together with every other submission of the moment (``JobIntake``).
    Well-formed requests are served by :mod:`server.api.fastpath` (the innermost middleware)
    before FastAPI's routing; this route answers the rest (and documents the endpoint)."""
    intake: JobIntake = request.app.state.intake
    job = await accept_job_id(svc, intake, user, spec, idempotency_key, client_ip(request))
    return JSONResponse(
        {"id": job.id, "state": job.state},
        status_code=202,
        headers={"Location": f"/jobs/{job.id}"},
    )


# --- job views ------------------------------------------------------------------------------


def _view(svc: Svc, s: Any, job: Job, with_urls: bool, lang: str) -> JobView:
    st = svc.settings
    results: list[JobResult] = []
    spec = JobSpec.model_validate(job.spec)
    if with_urls and job.state == JobState.SUCCEEDED:
        rows = s.execute(
            select(JobResultRow)
            .where(JobResultRow.job_id == job.id)
            .order_by(JobResultRow.target_index)
        ).scalars()
        storage, ttl = svc.storage, st.download_ttl_s
        for r in rows:
            results.append(
                JobResult(
                    target=spec.targets[r.target_index],
                    audio_key=r.audio_key,
                    audio_url=storage.presign_get(storage.bucket_audio, r.audio_key, ttl),
                    preset_url=storage.presign_get(storage.bucket_preset, r.preset_key, ttl),
                    viz_url=storage.presign_get(storage.bucket_viz, r.viz_key, ttl),
                    metrics={k: float(v) for k, v in (r.metrics or {}).items()},
                    audio_sha256=r.audio_sha256,
                )
            )
    progress, stage = job.progress, job.stage
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        tasks = s.execute(
            select(Task.target_index, Task.kind, Task.state, Task.progress).where(
                Task.job_id == job.id
            )
        ).all()
        per: dict[int, list[tuple[str, str, float]]] = {}
        for ti, kind, state, prog in tasks:
            per.setdefault(int(ti), []).append((str(kind), str(state), float(prog)))
        values = [target_progress(per.get(i, [])) for i in range(job.n_targets)]
        progress = sum(v for v, _ in values) / max(1, len(values))
        running = [stg for _, stg in values if stg not in ("queued", "done")]
        stage = running[0] if running else job.state
    error = None
    if job.error_code:
        try:
            code = ErrorCode(job.error_code)
            msg = error_message(code, lang, **(job.error_params or {}))
        except ValueError:
            msg = str((job.error_params or {}).get("reason", ""))
        error = JobError(code=job.error_code, message=msg)
    return JobView(
        id=job.id,
        state=JobState(job.state),
        stage=stage,
        progress=max(0.0, min(1.0, progress)),
        attempt=job.attempt,
        name=job.name,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
        started_at=_dt(job.started_at),
        finished_at=_dt(job.finished_at),
        spec=spec,
        error=error,
        metrics={k: float(v) for k, v in (job.metrics or {}).items()},
        results=results,
    )


def _own_job(s: Any, job_id: str, user_id: str) -> Job:
    if len(job_id) > 64:
        raise not_found()
    job = s.execute(
        select(Job).where(Job.id == job_id, Job.user_id == user_id)
    ).scalar_one_or_none()
    if job is None:
        raise not_found()
    assert isinstance(job, Job)
    return job


@router.get("/jobs/{job_id}", response_model=JobView, responses=ERR)
def get_job(request: Request, job_id: str, svc: Svc, user: User) -> JobView:
    """State, progress, metrics and (when succeeded) presigned result URLs."""
    try:
        with svc.db.session() as s:
            job = _own_job(s, job_id, user.user_id)
            view = _view(svc, s, job, with_urls=True, lang=lang_of(request))
            audit(s, request, user.user_id, "job_view", job_id, 200)
    except ApiError:
        audit_now(svc.db, request, user.user_id, "job_view", job_id[:64], 404)
        raise
    return view


def _cursor(job: Job) -> str:
    raw = f"{job.created_at!r}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(c: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode()
        t, _, jid = raw.partition("|")
        return float(t), jid
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(422, ErrorCode.INVALID_REQUEST, reason="bad cursor") from e


@router.get("/jobs", response_model=JobList, responses=ERR)
def list_jobs(
    request: Request,
    svc: Svc,
    user: User,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[JobState | None, Query()] = None,
) -> JobList:
    """The caller's jobs, newest first."""
    with svc.db.session() as s:
        q = select(Job).where(Job.user_id == user.user_id)
        if state is not None:
            q = q.where(Job.state == state.value)
        if cursor:
            t, jid = _parse_cursor(cursor)
            q = q.where(or_(Job.created_at < t, and_(Job.created_at == t, Job.id < jid)))
        rows = list(
            s.execute(q.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)).scalars()
        )
        lang = lang_of(request)
        items = [_view(svc, s, j, with_urls=False, lang=lang) for j in rows[:limit]]
        audit(s, request, user.user_id, "job_list", "", 200)
    nxt = _cursor(rows[limit - 1]) if len(rows) > limit else None
    return JobList(items=items, next_cursor=nxt)


@router.delete("/jobs/{job_id}", response_model=JobView, status_code=202, responses=ERR)
def cancel_job(request: Request, job_id: str, svc: Svc, user: User) -> JobView:
    """Cancel a queued or running job (a running attempt stops at its next heartbeat)."""
    try:
        with svc.db.session() as s:
            _own_job(s, job_id, user.user_id)
            changed = jobstore.cancel_job(s, job_id)
            audit(s, request, user.user_id, "job_cancel", job_id, 202 if changed else 409)
    except ApiError:
        audit_now(svc.db, request, user.user_id, "job_cancel", job_id[:64], 404)
        raise
    if not changed:
        raise ApiError(409, ErrorCode.CONFLICT, reason="job already finished")
    JOBS_TOTAL.labels(state="canceled").inc()
    with svc.db.session() as s:
        job = _own_job(s, job_id, user.user_id)
        return _view(svc, s, job, with_urls=False, lang=lang_of(request))
