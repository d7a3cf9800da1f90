"""The phase graph of a chunked target, advanced inside the committing transaction.

``match`` (probe; a long target gets its preset built and is split) -> ``stats`` x N (each
chunk EQ'd with pre-roll: its per-hop statistics and its EQ'd frames) -> ``gains`` (merge the
statistics, solve the whole-file gain curve) -> ``join`` (apply the gains to the EQ'd chunks,
meter, write the result). The commit of the task that completes a phase
creates the next phase's tasks in the same transaction, under the job's row lock, so a phase
starts exactly once (the ``uq_tasks_unit`` constraint backs this up) and no scheduler poll sits
between phases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import jobstore
from server.db.session import now_epoch
from server.jobstore import Claim

NEXT = {"match": "stats", "stats": "gains", "gains": "join"}
FAN_OUT = {"stats"}  # one task per chunk
# share of a target's progress at the start of each phase
PHASE_START = {"match": 0.0, "stats": 0.3, "gains": 0.75, "join": 0.8}
PHASE_END = {"match": 0.3, "stats": 0.75, "gains": 0.8, "join": 1.0}


def advance(s: Session, c: Claim, max_attempts: int) -> int:
    """After ``c`` committed in ``s``: if it completed its phase, enqueue the next phase.
    Returns the number of tasks created."""
    nxt = NEXT.get(c.kind)
    if nxt is None:
        return 0
    if c.kind != "match" and not jobstore.phase_complete(s, c.job_id, c.target_index, c.kind):
        return 0
    plan = jobstore.phase_outputs(s, c.job_id, c.target_index, "match")[0]
    payloads: list[dict[str, Any]]
    if nxt in FAN_OUT:
        payloads = [{**plan, "start": a, "stop": b} for a, b in plan["chunks"]]
    else:
        payloads = [plan]
    now = float(s.execute(select(now_epoch())).scalar_one())
    tasks = [
        jobstore.new_task(
            c.job_id,
            nxt,
            now,
            max_attempts,
            target_index=c.target_index,
            chunk_index=i,
            payload=p,
        )
        for i, p in enumerate(payloads)
    ]
    jobstore.enqueue(s, tasks, now)
    return len(tasks)


def target_progress(tasks: list[tuple[str, str, float]]) -> tuple[float, str]:
    """Progress (0..1) and stage of one target from its tasks ``(kind, state, progress)``."""
    match = [(st, p) for k, st, p in tasks if k == "match"]
    if len(match) == len(tasks):
        if not match:
            return 0.0, "queued"
        st, p = match[0]
        return (1.0, "done") if st == "succeeded" else (p, "running" if st == "running" else st)
    value, stage = PHASE_END["match"], "split"
    for phase in ("stats", "gains", "join"):
        items = [(st, p) for k, st, p in tasks if k == phase]
        if not items:
            break
        done = [1.0 if st == "succeeded" else (p if st == "running" else 0.0) for st, p in items]
        frac = sum(done) / len(done)
        value = PHASE_START[phase] + (PHASE_END[phase] - PHASE_START[phase]) * frac
        stage = phase
    return min(1.0, value), stage
