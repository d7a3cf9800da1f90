"""Group commit of job submissions (``server.api.intake``, ``jobstore.create_jobs``) on SQLite
and PostgreSQL: every submission committed once, idempotency keys resolved within a batch and
across concurrent transactions, a failing submission isolated from the rest of its batch."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func, select, text

from server import jobstore
from server.api.intake import JobIntake, Submission
from server.db.migrate import upgrade
from server.db.models import AuditLog, Job, Outbox, Task
from server.db.session import Database
from server.jobstore import JobRequest
from tests.server.conftest import add_user


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'i.db'}"
    else:
        url = request.getfixturevalue("pg_url").replace("postgresql://", "postgresql+psycopg://")
    d = Database(url)
    upgrade(d)
    return d


def _spec(uid: str, n_targets: int = 1, amount: int = 100) -> dict[str, object]:
    return {
        "targets": [f"uploads/{uid}/u/t{i}.wav" for i in range(n_targets)],
        "references": [f"uploads/{uid}/u/r.wav"],
        "options": {"amount": amount},
    }


def _count(db: Database, model: type, *where: ColumnElement[bool]) -> int:
    with db.session() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_create_jobs_batch_idempotency(db: Database) -> None:
    import secrets

    uid = add_user(db, f"b{secrets.token_hex(4)}")
    other = add_user(db, f"c{secrets.token_hex(4)}")
    reqs = [
        JobRequest(uid, _spec(uid, 2), "h1", "k1"),
        JobRequest(uid, _spec(uid, 2), "h1", "k1"),  # a retry inside the same batch
        JobRequest(uid, _spec(uid, 2, 50), "h2", "k1"),  # same key, other body
        JobRequest(uid, _spec(uid), "h3", None),
        JobRequest(uid, _spec(uid), "h3", None),  # no key: two jobs
        JobRequest(other, _spec(other), "h4", "k1"),  # the same key of another user
    ]
    with db.session() as s:
        out = jobstore.create_jobs(s, reqs, max_attempts=5)
    ids = [j.id for j, _ in out]
    assert [c for _, c in out] == [True, False, False, True, True, True]
    assert ids[0] == ids[1] == ids[2] and len(set(ids)) == 4
    assert out[2][0].request_hash == "h1"  # the caller sees the conflict
    mine = Job.user_id.in_([uid, other])  # (the PostgreSQL database is the session's)
    assert _count(db, Job, mine) == 4
    assert _count(db, Task, Task.job_id == ids[0]) == 2
    assert _count(db, Outbox, Outbox.task_id.in_(select(Task.id).where(Task.job_id.in_(ids)))) == 5
    with db.session() as s:  # a later batch finds the committed job
        (job, created), (job2, created2) = jobstore.create_jobs(
            s,
            [JobRequest(uid, _spec(uid, 2), "h1", "k1"), JobRequest(uid, _spec(uid), "x", "k9")],
            5,
        )
    assert (job.id, created, job.state) == (ids[0], False, "queued")
    assert created2 and _count(db, Job, mine) == 5


@pytest.mark.services
def test_concurrent_transactions_same_key_one_job(pg_url: str) -> None:
    """Two API processes committing the same Idempotency-Key at the same instant."""
    import secrets

    db = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    upgrade(db)
    uid = add_user(db, f"r{secrets.token_hex(4)}")
    barrier = threading.Barrier(8)
    got: list[tuple[str, bool]] = []

    def one() -> None:
        barrier.wait()
        with db.session() as s:
            job, created = jobstore.create_jobs(s, [JobRequest(uid, _spec(uid), "h", "race")], 5)[0]
        got.append((job.id, created))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len({i for i, _ in got}) == 1
    assert sum(c for _, c in got) == 1
    assert _count(db, Job, Job.user_id == uid) == 1
    db.dispose()


def test_intake_batches_concurrent_submissions(db: Database) -> None:
    import secrets

    uid = add_user(db, f"i{secrets.token_hex(4)}")
    created: list[int] = []
    intake = JobIntake(db, 5, on_created=created.append)
    n = 60

    async def burst() -> list[object]:
        subs = [
            Submission(JobRequest(uid, _spec(uid), f"h{i}", f"key-{i % 50}"), "10.0.0.1", 1.0)
            for i in range(n)
        ]
        return await asyncio.gather(*(intake.submit(s) for s in subs))

    outs = asyncio.run(burst())
    assert len(outs) == n
    assert intake.batches < n // 2, intake.batches  # grouped, not one commit each
    assert sum(created) == 50 and _count(db, Job, Job.user_id == uid) == 50
    conflicts = [o for o in outs if getattr(o, "conflict", False)]
    assert len(conflicts) == 10  # key-0..9 reused with another body
    assert _count(db, AuditLog, AuditLog.user_id == uid, AuditLog.status == 202) == 50
    assert _count(db, AuditLog, AuditLog.user_id == uid, AuditLog.status == 409) == 10


def test_intake_isolates_a_failing_submission(db: Database) -> None:
    """A submission the database refuses (unknown user: foreign key) fails alone."""
    import secrets

    uid = add_user(db, f"f{secrets.token_hex(4)}")
    intake = JobIntake(db, 5)

    async def burst() -> list[object]:
        subs = [Submission(JobRequest(uid, _spec(uid), f"h{i}", None), "", 1.0) for i in range(5)]
        bad = Submission(JobRequest("no-such-user", _spec("x"), "h", None), "", 1.0)
        return await asyncio.gather(
            *(intake.submit(s) for s in [*subs[:2], bad, *subs[2:]]), return_exceptions=True
        )

    outs = asyncio.run(burst())
    assert isinstance(outs[2], Exception)
    assert all(not isinstance(o, Exception) for i, o in enumerate(outs) if i != 2)
    assert _count(db, Job, Job.user_id == uid) == 5
    assert _count(db, Job, Job.user_id == "no-such-user") == 0


@pytest.mark.services
def test_scheduler_relays_on_notify(pg_url: str, tmp_path: Path) -> None:
    """A commit that adds outbox rows wakes the scheduler (LISTEN/NOTIFY): the message goes
    out long before the next tick, and the API process holds no relay of its own."""
    import secrets
    import time

    from server.queue.memory import MemoryQueue
    from server.scheduler.service import Scheduler
    from server.stack import Core, api_services
    from server.storage.local import LocalStorage
    from tests.server.conftest import make_settings, wait_for

    url = pg_url.replace("postgresql://", "postgresql+psycopg://")
    db = Database(url)
    upgrade(db)
    uid = add_user(db, f"n{secrets.token_hex(4)}")
    # the tick is an hour away: after the first one, only a notification can relay the rows
    settings = make_settings(
        tmp_path, DB_URL=url, QUEUE_URL="amqp://unused", SCHEDULER_INTERVAL_S="3600"
    )
    queue = MemoryQueue()
    storage = LocalStorage(tmp_path / "st", "k", "http://x", "audio", "preset", "viz")
    svc = api_services(Core(settings, db, storage, queue))
    assert svc.background == []  # full stack on PostgreSQL: no relay in the API process
    stop = threading.Event()
    t = threading.Thread(target=Scheduler(settings, db, queue).run, args=(stop,), daemon=True)
    t.start()
    try:

        def listening() -> bool:  # the scheduler LISTENs once its first tick is done
            q = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            q += f"query = 'LISTEN {jobstore.OUTBOX_CHANNEL}'"
            with db.session() as s:
                return bool(s.execute(text(q)).scalar_one())

        wait_for(listening, 60, "the scheduler's LISTEN", 0.05)
        with db.session() as s:
            ((job, _),) = jobstore.create_jobs(s, [JobRequest(uid, _spec(uid, 2), "h")], 5)
            tids = set(s.execute(select(Task.id).where(Task.job_id == job.id)).scalars())

        def relayed() -> bool:  # published, then the outbox rows deleted (in that order)
            published = tids <= {tid for tid, _ in queue._items}
            return published and _count(db, Outbox, Outbox.task_id.in_(tids)) == 0

        deadline = time.monotonic() + 60  # liveness only; the next tick is 3600 s away
        while not relayed() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tids <= {tid for tid, _ in queue._items}
        assert _count(db, Outbox, Outbox.task_id.in_(tids)) == 0
    finally:
        stop.set()
        t.join(10)
        db.dispose()


def test_bulk_inserts_take_their_columns_from_the_tables() -> None:
    """``jobstore.Insert`` names columns of a mapped table and takes their SQL types from it:
    a misspelt column fails at import time, not at the first submission."""
    from server.jobcreate import _INSERT_JOB

    with pytest.raises(KeyError, match="no column 'nmae'"):
        jobstore.Insert(Job, ("id", "nmae"))
    with pytest.raises(KeyError, match="no column 'sate'"):
        jobstore.Insert(Task, ("id",), (("sate", "queued"),))
    assert _INSERT_JOB.params[0] == "id" and "::json" in _INSERT_JOB.postgresql
    assert "%b::int[]" in _INSERT_JOB.postgresql_binary  # n_targets: Integer
    assert _INSERT_JOB.sqlite.endswith("'queued', 'queued', 0, 0) ON CONFLICT DO NOTHING")
