"""Job and task state transitions: the only code that writes job state.

Every transition is one conditional UPDATE in one transaction. A worker's writes carry the
attempt number it got when claiming (the fencing token); once a task was re-claimed by another
worker (lease expired) or canceled, the old attempt's writes match no row and are discarded, so
a late finish can never overwrite the winner, and ``job_results`` holds at most one committed
result per target (unique constraint).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Result,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from engine.schema.errors import ErrorCode
from engine.schema.jobs import JobState
from server.db.models import Job, JobResultRow, Outbox, Task
from server.db.session import now_epoch
from server.ids import new_id

# job creation lives in server.jobcreate; its public names are importable from here too
from server.jobcreate import OUTBOX_CHANNEL as OUTBOX_CHANNEL
from server.jobcreate import Insert as Insert
from server.jobcreate import JobRequest as JobRequest
from server.jobcreate import NewJob as NewJob
from server.jobcreate import create_job as create_job
from server.jobcreate import create_jobs as create_jobs
from server.jobcreate import db_now, notify_outbox
from server.jobcreate import insert_many as insert_many

Q, R, S, F, C = (s.value for s in JobState)
ACTIVE = (Q, R)
# phases of a chunked target, in order
CHUNK_PHASES = ("stats", "gains", "render", "join")
# codes a retry cannot fix (bad input, bad options, canceled)
PERMANENT_PREFIXES = ("E1", "E2", "E3", "E4")


def is_permanent(code: str) -> bool:
    return code.startswith(PERMANENT_PREFIXES) and code != ErrorCode.INTERNAL.value


def backoff_s(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: ``base * 2**(attempt-1)`` capped, times 0.5..1."""
    d = min(cap, base * 2.0 ** max(0, attempt - 1))
    return d * (0.5 + 0.5 * random.random())


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE/DELETE."""
    return int(cast(CursorResult[Any], result).rowcount)


def _lock_job(s: Session, job_id: str) -> Job | None:
    """Row-lock a job (PostgreSQL; SQLite transactions are serialised already)."""
    return s.execute(select(Job).where(Job.id == job_id).with_for_update()).scalar_one_or_none()


# --- creation -----------------------------------------------------------------------------


def new_task(
    job_id: str,
    kind: str,
    now: float,
    max_attempts: int,
    *,
    target_index: int = 0,
    chunk_index: int = 0,
    payload: dict[str, Any] | None = None,
) -> Task:
    return Task(
        id=new_id(),
        job_id=job_id,
        kind=kind,
        target_index=target_index,
        chunk_index=chunk_index,
        state=Q,
        attempt=0,
        max_attempts=max_attempts,
        next_attempt_at=0.0,
        payload=payload or {},
        progress=0.0,
        created_at=now,
        updated_at=now,
    )


def enqueue(s: Session, tasks: Sequence[Task], now: float) -> None:
    """Add tasks and their outbox rows (same transaction as the state change causing them)."""
    for t in tasks:
        s.add(t)
    s.flush()
    for t in tasks:
        s.add(Outbox(task_id=t.id, created_at=now))
    if tasks:
        notify_outbox(s)


# --- claiming and heartbeats ----------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A claimed task: ``attempt`` is the fencing token for every later write."""

    task_id: str
    job_id: str
    kind: str
    target_index: int
    chunk_index: int
    attempt: int
    payload: dict[str, Any]
    user_id: str
    spec: dict[str, Any]
    n_targets: int
    job_started: bool = False  # this claim moved the job from queued to running


def _claimable(now: Any) -> Any:
    return or_(
        and_(Task.state == Q, Task.next_attempt_at <= now),
        and_(Task.state == R, Task.lease_until < now),
    )


def claim(
    s: Session,
    task_id: str,
    worker_id: str,
    lease_s: float,
    events: list[str] | None = None,
) -> Claim | None:
    """Claim a task if it is queued and due, or running with an expired lease.

    Returns None when there is nothing to do (done, held by a live worker, canceled, not due)
    — the caller acks and drops the message. A task out of attempts is failed here (and
    ``"failed"`` appended to ``events``)."""
    job_id_ = s.execute(select(Task.job_id).where(Task.id == task_id)).scalar_one_or_none()
    if job_id_ is None:
        return None
    locked = _lock_job(s, str(job_id_))  # lock order everywhere: job row, then task rows
    was_queued = locked is not None and locked.state == Q
    now = now_epoch()
    row = s.execute(
        update(Task)
        .where(Task.id == task_id, _claimable(now), Task.attempt < Task.max_attempts)
        .values(
            state=R,
            attempt=Task.attempt + 1,
            lease_until=now + lease_s,
            worker_id=worker_id,
            updated_at=now,
            progress=0.0,
        )
        .returning(Task.attempt, Task.job_id)
    ).first()
    if row is None:
        exhausted = s.execute(
            update(Task)
            .where(Task.id == task_id, _claimable(now), Task.attempt >= Task.max_attempts)
            .values(state=F, error_code=ErrorCode.JOB_FAILED.value, updated_at=now)
            .returning(Task.job_id, Task.attempt)
        ).first()
        if exhausted is not None:
            if events is not None:
                events.append(F)
            _fail_job(
                s,
                str(exhausted[0]),
                ErrorCode.JOB_FAILED.value,
                {"reason": f"gave up after {exhausted[1]} attempts"},
            )
        return None
    attempt, job_id = int(row[0]), str(row[1])
    job = s.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_(ACTIVE))
        .values(
            state=R,
            attempt=Job.attempt + 1,
            lease_until=now + lease_s,
            started_at=func.coalesce(Job.started_at, now),
            updated_at=now,
        )
        .returning(Job.user_id, Job.spec, Job.n_targets)
    ).first()
    if job is None:  # job canceled/failed meanwhile: cancel the task
        s.execute(update(Task).where(Task.id == task_id).values(state=C, lease_until=None))
        return None
    t = s.get(Task, task_id)
    assert t is not None
    return Claim(
        task_id=task_id,
        job_id=job_id,
        kind=t.kind,
        target_index=t.target_index,
        chunk_index=t.chunk_index,
        attempt=attempt,
        payload=dict(t.payload or {}),
        user_id=str(job[0]),
        spec=dict(job[1]),
        n_targets=int(job[2]),
        job_started=was_queued,
    )


def heartbeat(
    s: Session, task_id: str, attempt: int, lease_s: float, progress: float, stage: str
) -> bool:
    """Extend the lease of our attempt; False when it is no longer ours (stop working)."""
    now = now_epoch()
    mine = (
        select(Task.job_id)
        .where(Task.id == task_id, Task.attempt == attempt, Task.state == R)
        .scalar_subquery()
    )
    s.execute(
        update(Job)
        .where(Job.id == mine, Job.state == R)
        .values(lease_until=now + lease_s, stage=stage[:32], updated_at=now)
    )
    n = rowcount(
        s.execute(
            update(Task)
            .where(Task.id == task_id, Task.attempt == attempt, Task.state == R)
            .values(lease_until=now + lease_s, progress=progress, updated_at=now)
        )
    )
    return n == 1


# --- completion ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultKeys:
    audio_key: str
    preset_key: str
    viz_key: str
    metrics: dict[str, float]
    audio_sha256: str | None = None


def complete(
    s: Session,
    claim_: Claim,
    *,
    output: dict[str, Any] | None = None,
    result: ResultKeys | None = None,
    next_tasks: Sequence[Task] = (),
    max_attempts: int = 5,
) -> bool:
    """Commit a finished attempt (fenced). Inserts the target's result row if given, the next
    tasks of a chunked target, and finishes the job when every target has its result.
    Returns False (nothing written) when the attempt lost its task."""
    now = db_now(s)
    job = _lock_job(s, claim_.job_id)
    if job is None or job.state not in ACTIVE:
        return False
    done = rowcount(
        s.execute(
            update(Task)
            .where(Task.id == claim_.task_id, Task.attempt == claim_.attempt, Task.state == R)
            .values(
                state=S,
                output=output,
                progress=1.0,
                lease_until=None,
                updated_at=now,
                finished_at=now,
            )
        )
    )
    if done != 1:
        return False
    if result is not None:
        s.add(
            JobResultRow(
                job_id=job.id,
                target_index=claim_.target_index,
                task_id=claim_.task_id,
                attempt=claim_.attempt,
                audio_key=result.audio_key,
                preset_key=result.preset_key,
                viz_key=result.viz_key,
                metrics=result.metrics,
                audio_sha256=result.audio_sha256,
                created_at=now,
            )
        )
        s.flush()
    if next_tasks:
        enqueue(s, next_tasks, now)
    n_results = s.execute(
        select(func.count()).select_from(JobResultRow).where(JobResultRow.job_id == job.id)
    ).scalar_one()
    if n_results >= job.n_targets:
        rows = s.execute(select(JobResultRow).where(JobResultRow.job_id == job.id)).scalars()
        job.metrics = _mean_metrics([r.metrics or {} for r in rows])
        job.state, job.stage, job.progress = S, "done", 1.0
        job.finished_at = job.updated_at = now
        job.lease_until = None
    return True


def job_state(s: Session, job_id: str) -> str | None:
    return s.execute(select(Job.state).where(Job.id == job_id)).scalar_one_or_none()


def job_times(s: Session, job_id: str) -> tuple[str, float | None, float | None]:
    """(state, started_at, finished_at) of a job."""
    row = s.execute(
        select(Job.state, Job.started_at, Job.finished_at).where(Job.id == job_id)
    ).one()
    return str(row[0]), row[1], row[2]


def job_started_at(s: Session, job_id: str) -> float | None:
    return s.execute(select(Job.started_at).where(Job.id == job_id)).scalar_one_or_none()


def phase_complete(s: Session, job_id: str, target_index: int, kind: str) -> bool:
    """True when every task of ``kind`` for the target has succeeded."""
    states = s.execute(
        select(Task.state).where(
            Task.job_id == job_id, Task.target_index == target_index, Task.kind == kind
        )
    ).scalars()
    st = list(states)
    return bool(st) and all(x == S for x in st)


def phase_outputs(s: Session, job_id: str, target_index: int, kind: str) -> list[dict[str, Any]]:
    """Outputs of a phase's tasks in chunk order."""
    rows = s.execute(
        select(Task.output)
        .where(Task.job_id == job_id, Task.target_index == target_index, Task.kind == kind)
        .order_by(Task.chunk_index)
    ).scalars()
    return [dict(r or {}) for r in rows]


def _mean_metrics(ms: list[dict[str, Any]]) -> dict[str, float]:
    keys = {k for m in ms for k, v in m.items() if isinstance(v, int | float)}
    out = {}
    for k in sorted(keys):
        vals = [float(m[k]) for m in ms if isinstance(m.get(k), int | float)]
        out[k] = sum(vals) / len(vals)
    return out


# --- failure, cancel ------------------------------------------------------------------------


def fail(
    s: Session,
    claim_: Claim,
    code: str,
    params: dict[str, Any],
    *,
    permanent: bool = False,
    retry_base_s: float,
    retry_max_s: float,
) -> str:
    """Record a failed attempt (fenced). Transient errors go back to the queue after a backoff
    while attempts remain; permanent ones fail the task and the job. Returns the new state."""
    now = db_now(s)
    _lock_job(s, claim_.job_id)
    t = s.execute(
        select(Task).where(
            Task.id == claim_.task_id, Task.attempt == claim_.attempt, Task.state == R
        )
    ).scalar_one_or_none()
    if t is None:
        return "lost"
    if not permanent and not is_permanent(code) and t.attempt < t.max_attempts:
        t.state, t.lease_until, t.published_at = Q, None, None
        t.next_attempt_at = now + backoff_s(t.attempt, retry_base_s, retry_max_s)
        t.error_code, t.error_params, t.updated_at = code, params, now
        return Q
    t.state, t.lease_until, t.error_code, t.error_params = F, None, code, params
    t.updated_at = t.finished_at = now
    _fail_job(s, claim_.job_id, code, params)
    return F


def _fail_job(s: Session, job_id: str, code: str, params: dict[str, Any]) -> None:
    now = now_epoch()
    s.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_(ACTIVE))
        .values(
            state=F,
            error_code=code,
            error_params=params,
            finished_at=now,
            updated_at=now,
            lease_until=None,
        )
    )
    s.execute(
        update(Task)
        .where(Task.job_id == job_id, Task.state.in_(ACTIVE))
        .values(state=C, lease_until=None, updated_at=now)
    )


def cancel_job(s: Session, job_id: str) -> bool:
    """Cancel a queued or running job and its tasks; False if it was already terminal."""
    now = now_epoch()
    n = rowcount(
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_(ACTIVE))
            .values(state=C, finished_at=now, updated_at=now, lease_until=None, stage="canceled")
        )
    )
    s.execute(
        update(Task)
        .where(Task.job_id == job_id, Task.state.in_(ACTIVE))
        .values(state=C, lease_until=None, updated_at=now)
    )
    return n == 1


# --- scheduler sweeps -----------------------------------------------------------------------


def take_outbox(s: Session, limit: int = 200) -> list[tuple[int, str]]:
    """Lock up to ``limit`` outbox rows (skipping rows another relay holds)."""
    q = select(Outbox.id, Outbox.task_id).order_by(Outbox.id).limit(limit)
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return [(int(a), str(b)) for a, b in s.execute(q).all()]


def outbox_published(s: Session, rows: Sequence[tuple[int, str]]) -> None:
    if not rows:
        return
    now = now_epoch()
    s.execute(delete(Outbox).where(Outbox.id.in_([r[0] for r in rows])))
    s.execute(update(Task).where(Task.id.in_([r[1] for r in rows])).values(published_at=now))


def recover_expired_leases(s: Session) -> list[str]:
    """Running tasks whose lease expired (worker died or froze): back to queued, to be
    re-published now. The next claim increments the attempt, fencing the old worker out."""
    now = db_now(s)
    ids = list(
        s.execute(
            update(Task)
            .where(Task.state == R, Task.lease_until < now)
            .values(state=Q, lease_until=None, published_at=None, next_attempt_at=now)
            .returning(Task.id)
        ).scalars()
    )
    return [str(i) for i in ids]


def reset_after_restart(s: Session) -> int:
    """Embedded mode starting up: the in-process queue lost its messages and no other process
    can hold a lease, so queued tasks are marked unpublished and running ones re-queued (the
    next claim increments their attempt). Returns how many tasks were touched."""
    n = rowcount(s.execute(update(Task).where(Task.state == Q).values(published_at=None)))
    n += rowcount(
        s.execute(
            update(Task)
            .where(Task.state == R)
            .values(state=Q, lease_until=None, published_at=None, next_attempt_at=0.0)
        )
    )
    return n


def due_unpublished(s: Session, republish_after_s: float, limit: int = 500) -> list[str]:
    """Queued tasks to (re-)publish: retries now due (never published since the failure), and
    tasks whose message was published long ago but never claimed (message lost)."""
    now = db_now(s)
    in_outbox = select(Outbox.task_id)
    rows = s.execute(
        select(Task.id)
        .where(
            Task.state == Q,
            Task.next_attempt_at <= now,
            or_(Task.published_at.is_(None), Task.published_at < now - republish_after_s),
            Task.id.not_in(in_outbox),
        )
        .limit(limit)
    ).scalars()
    ids = [str(i) for i in rows]
    if ids:
        s.execute(update(Task).where(Task.id.in_(ids)).values(published_at=now))
    return ids


def fail_dead_lettered(s: Session, task_id: str) -> str | None:
    """A message dead-lettered after the delivery limit: fail its task if out of attempts,
    else leave it to lease recovery / re-publishing. Returns the job id if it failed it."""
    job_id = s.execute(select(Task.job_id).where(Task.id == task_id)).scalar_one_or_none()
    if job_id is None:
        return None
    job = _lock_job(s, str(job_id))
    t = s.get(Task, task_id)
    if t is None or t.state not in ACTIVE:
        return None
    if t.attempt < t.max_attempts:
        t.published_at = None
        return None
    now = db_now(s)
    t.state, t.error_code, t.updated_at = F, ErrorCode.JOB_FAILED.value, now
    t.error_params = {"reason": "message dead-lettered"}
    if job is None or job.state not in ACTIVE:
        return None
    _fail_job(s, t.job_id, ErrorCode.JOB_FAILED.value, {"reason": "gave up after retries"})
    return str(job_id)


# --- preset exports of a result (web console downloads) -------------------------------------

# format -> suffix: the worker writes ``preset<suffix>`` next to the plot and stores it beside
# the result's preset JSON (``<n>.json`` -> ``<n><suffix>``), where the API presigns it;
# ``report`` is the engine's match report (single-pass matches only)
EXPORT_SUFFIXES = {
    "eqapo": ".eqapo.txt",
    "graphiceq": ".graphiceq.txt",
    "csv": ".csv",
    "report": ".report.json",
}


def export_keys(preset_key: str) -> dict[str, str]:
    """The object keys of a result's preset exports and report, by format."""
    stem = preset_key.removesuffix(".json")
    return {fmt: stem + suffix for fmt, suffix in EXPORT_SUFFIXES.items()}
