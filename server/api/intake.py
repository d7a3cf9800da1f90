"""Group commit of job submissions.

``POST /jobs`` must not answer 202 before its job is committed. Committing each submission
in its own transaction on a thread of the pool costs a thread hop, a pooled connection, a
transaction and a commit per request, and under a burst the threads mostly queue for the
pool and (SQLite) for the single writer lock. Instead every submission waiting at the same
moment is written in *one* transaction by one thread: while a batch is being written the
next one gathers, so a burst costs a few commits, not hundreds. Each request still awaits
its own batch's commit before it answers; a batch that fails as a whole is retried one
submission per transaction, so one bad submission cannot fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio.to_thread

from server import jobstore
from server.db.models import AuditLog
from server.db.session import Database

_INSERT_AUDIT = jobstore.Insert(
    AuditLog,
    ("at", "user_id", "action", "resource", "status", "ip"),
)


@dataclass(frozen=True)
class Submission:
    """A checked job submission and who sent it (for the audit log)."""

    request: jobstore.JobRequest
    ip: str
    at: float


@dataclass(frozen=True)
class Outcome:
    """The job a submission maps to; ``created`` False for an idempotent repeat."""

    job: jobstore.NewJob
    created: bool
    request_hash: str

    @property
    def conflict(self) -> bool:
        """The Idempotency-Key names a job submitted with a different body."""
        return not self.created and self.job.request_hash != self.request_hash


class JobIntake:
    """Batches concurrent submissions into one transaction (see the module docstring).

    Used from the API's event loop only; the writes run on a worker thread."""

    def __init__(
        self,
        db: Database,
        max_attempts: int,
        on_created: Callable[[int], None] = lambda n: None,
        max_batch: int = 500,
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.on_created = on_created
        self.max_batch = max_batch
        self._pending: list[tuple[Submission, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and metrics

    async def submit(self, sub: Submission) -> Outcome:
        """Write ``sub`` with whatever else is waiting; returns once committed."""
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((sub, fut))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(fut)  # a client hanging up does not undo a commit

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # submissions parsed in this loop turn join the first batch
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                subs = [b[0] for b in batch]
                try:
                    results = await anyio.to_thread.run_sync(self._write, subs)
                except Exception as e:  # pragma: no cover - _write returns its failures
                    results = [e] * len(batch)
                self.batches += 1
                for (_, fut), res in zip(batch, results, strict=True):
                    if fut.done():
                        continue
                    if isinstance(res, Exception):
                        fut.set_exception(res)
                    else:
                        fut.set_result(res)
        finally:
            self._writer = None

    def _write(self, subs: Sequence[Submission]) -> list[Outcome | Exception]:
        try:
            out: list[Outcome | Exception] = list(self._write_batch(subs))
        except Exception as e:
            if len(subs) == 1:
                return [e]
            out = []
            for sub in subs:  # isolate the failure: one transaction each
                try:
                    out.extend(self._write_batch([sub]))
                except Exception as e1:
                    out.append(e1)
        n = sum(1 for o in out if isinstance(o, Outcome) and o.created)
        if n:
            self.on_created(n)
        return out

    def _write_batch(self, subs: Sequence[Submission]) -> list[Outcome]:
        with self.db.session() as s:
            made = jobstore.create_jobs(s, [x.request for x in subs], self.max_attempts)
            outcomes = [
                Outcome(job, created, sub.request.request_hash)
                for sub, (job, created) in zip(subs, made, strict=True)
            ]
            jobstore.insert_many(
                s,
                _INSERT_AUDIT,
                [
                    (
                        sub.at,
                        sub.request.user_id,
                        "job_submit",
                        o.job.id,
                        409 if o.conflict else 202,
                        sub.ip[:64],
                    )
                    for sub, o in zip(subs, outcomes, strict=True)
                ],
            )
        return outcomes
