"""Creating jobs: the insert path of ``POST /jobs`` (group commit, see
:mod:`server.api.intake`), and the bulk INSERT it is built on.

The statements are derived from the table definitions of :mod:`server.db.models`: an
:class:`Insert` names the columns it fills and takes their SQL types from the tables, so a
column is spelled in one place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Integer,
    String,
    Table,
    bindparam,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from engine.schema.jobs import JobState
from server.db.models import Base, Job, Outbox, Task
from server.db.session import now_epoch
from server.ids import new_id

Q = JobState.QUEUED.value
OUTBOX_CHANNEL = "audio_style_outbox"
# PostgreSQL array element types of the column types (most specific first)
_PG_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (JSON, "json"),
    (Boolean, "bool"),
    (BigInteger, "int8"),
    (Integer, "int"),
    (Float, "float8"),
    (String, "text"),
)


def db_now(s: Session) -> float:
    """The database's clock (epoch seconds): every node stamps with the same clock."""
    return float(s.execute(select(now_epoch())).scalar_one())


def notify_outbox(s: Session) -> None:
    """PostgreSQL: wake the scheduler's outbox relay when this transaction commits
    (``NOTIFY``, delivered at commit, collapsed within a transaction; SQLite: nothing)."""
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {OUTBOX_CHANNEL}")


def _pg_type(t: TypeEngine[Any]) -> str:
    for cls, name in _PG_TYPES:
        if isinstance(t, cls):
            return name
    raise TypeError(f"no array type for {t!r}")


def _literal(v: Any) -> str:
    """``v`` as an SQL literal (PostgreSQL and SQLite)."""
    if isinstance(v, dict | list):
        v = json.dumps(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, bool | int | float):
        return str(int(v)) if isinstance(v, bool) else repr(v)
    raise TypeError(f"no SQL literal for {v!r}")


@dataclass(frozen=True)
class Insert:
    """An INSERT of many rows into ``model``'s table: ``params`` name the columns filled from
    each row tuple, in order; ``constants`` the columns given the same value in every row.
    Names are checked against the table and the SQL types come from it."""

    model: type[Base]
    params: tuple[str, ...]
    constants: tuple[tuple[str, Any], ...] = ()
    on_conflict_do_nothing: bool = False

    @property
    def table(self) -> Table:
        return cast(Table, self.model.__table__)

    def __post_init__(self) -> None:
        for name in (*self.params, *(c for c, _ in self.constants)):
            if name not in self.table.c:
                raise KeyError(f"{self.table.name} has no column {name!r}")

    @cached_property
    def columns(self) -> str:
        return ", ".join([*self.params, *(c for c, _ in self.constants)])

    @cached_property
    def _tail(self) -> str:
        return " ON CONFLICT DO NOTHING" if self.on_conflict_do_nothing else ""

    @cached_property
    def sqlite(self) -> str:
        values = ", ".join(["?"] * len(self.params) + [_literal(v) for _, v in self.constants])
        return f"INSERT INTO {self.table.name} ({self.columns}) VALUES ({values}){self._tail}"

    @cached_property
    def postgresql_binary(self) -> str:
        """:attr:`postgresql` with psycopg's binary placeholders (``%b``)."""
        return self._postgresql("%b")

    @cached_property
    def postgresql(self) -> str:
        return self._postgresql("%s")

    def _postgresql(self, placeholder: str) -> str:
        types = [_pg_type(self.table.c[c].type) for c in self.params]
        arrays = ", ".join(f"{placeholder}::{'text' if t == 'json' else t}[]" for t in types)
        names = ", ".join(self.params)
        picks = ", ".join(
            f"r.{c}::json" if t == "json" else f"r.{c}"
            for c, t in zip(self.params, types, strict=True)
        )
        consts = "".join(f", {_literal(v)}" for _, v in self.constants)
        return (
            f"INSERT INTO {self.table.name} ({self.columns}) SELECT {picks}{consts}"
            f" FROM unnest({arrays}) AS r({names}){self._tail}"
        )


def insert_many(s: Session, ins: Insert, rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` on the session's connection, with no per-row work in SQLAlchemy: SQLite
    runs ``executemany`` in C; PostgreSQL gets one statement whatever the number of rows (one
    array per column, ``unnest``), not one statement per row."""
    if not rows:
        return
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        cols = tuple(list(col) for col in zip(*rows, strict=True))
        driver = conn.connection.driver_connection
        if driver is not None and type(driver).__module__.split(".")[0] == "psycopg":
            # the arrays in psycopg's binary format: its text format quotes every element
            # with a regular expression (half the write's time for a burst of jobs)
            with driver.cursor() as cur:
                cur.execute(ins.postgresql_binary, cols)
        else:
            conn.exec_driver_sql(ins.postgresql, cols)
    else:
        conn.exec_driver_sql(ins.sqlite, rows)


JOBS = cast(Table, Job.__table__)
# the insert path of POST /jobs
_INSERT_JOB = Insert(
    Job,
    (
        "id",
        "user_id",
        "idempotency_key",
        "request_hash",
        "name",
        "spec",
        "n_targets",
        "created_at",
        "updated_at",
    ),
    (("state", Q), ("stage", "queued"), ("progress", 0), ("attempt", 0)),
    on_conflict_do_nothing=True,
)
_INSERT_TASK = Insert(
    Task,
    ("id", "job_id", "target_index", "max_attempts", "created_at", "updated_at"),
    (
        ("kind", "match"),
        ("chunk_index", 0),
        ("state", Q),
        ("attempt", 0),
        ("next_attempt_at", 0),
        ("payload", {}),
        ("progress", 0),
    ),
)
_INSERT_OUTBOX = Insert(Outbox, ("task_id", "created_at"))
_SELECT_KEYED = select(
    JOBS.c.id, JOBS.c.state, JOBS.c.request_hash, JOBS.c.user_id, JOBS.c.idempotency_key
).where(
    JOBS.c.user_id.in_(bindparam("users", expanding=True)),
    JOBS.c.idempotency_key.in_(bindparam("keys", expanding=True)),
)


@dataclass(frozen=True)
class NewJob:
    """What ``create_jobs`` returns (no ORM object: the insert path is kept lean)."""

    id: str
    state: str
    request_hash: str


@dataclass(frozen=True)
class JobRequest:
    """One accepted submission: the checked spec (sources resolved to object keys)."""

    user_id: str
    spec: dict[str, Any]
    request_hash: str
    idempotency_key: str | None = None
    spec_json: str = ""  # ``spec`` encoded, when the caller has it already


def create_jobs(
    s: Session, requests: Sequence[JobRequest], max_attempts: int
) -> list[tuple[NewJob, bool]]:
    """Insert queued jobs, each with one ``match`` task per target and their outbox rows, in
    a handful of statements whatever the number of jobs (the API commits concurrent
    submissions together: one transaction, one commit).

    A request with an ``Idempotency-Key`` already used by its user gets the existing job
    (``created`` False), also when the twin came earlier in the same batch or from a
    concurrent transaction (the unique constraint decides; the insert skips the conflict);
    the caller compares ``request_hash`` to refuse a different body under the same key."""
    now = db_now(s)
    rows: list[tuple[Any, ...]] = []
    n_targets: dict[str, int] = {}
    first: dict[tuple[str, str], str] = {}  # (user, key) -> id proposed in this batch
    proposed: list[str] = []
    for r in requests:
        jid = new_id()
        if r.idempotency_key:
            k = (r.user_id, r.idempotency_key)
            if k in first:  # a twin earlier in this batch: resolved below like any repeat
                proposed.append(first[k])
                continue
            first[k] = jid
        proposed.append(jid)
        n_targets[jid] = len(r.spec["targets"])
        rows.append(
            (
                jid,
                r.user_id,
                r.idempotency_key,
                r.request_hash,
                str(r.spec.get("name", "")),
                r.spec_json or json.dumps(r.spec),
                n_targets[jid],
                now,
                now,
            )
        )
    insert_many(s, _INSERT_JOB, rows)
    # who owns each (user, key) now: our row (inserted) or an earlier job (a repeat)
    owner: dict[tuple[str, str], NewJob] = {}
    if first:
        users = sorted({u for u, _ in first})
        keys = sorted({k for _, k in first})
        for jid, state, h, u, k in s.execute(_SELECT_KEYED, {"users": users, "keys": keys}):
            owner[(str(u), str(k))] = NewJob(str(jid), str(state), str(h))
    out: list[tuple[NewJob, bool]] = []
    created: set[str] = set()
    for r, jid in zip(requests, proposed, strict=True):
        if r.idempotency_key:
            job = owner[(r.user_id, r.idempotency_key)]
            is_new = job.id == jid and jid not in created
        else:
            job, is_new = NewJob(jid, Q, r.request_hash), True
        if is_new:
            created.add(jid)
        out.append((job, is_new))
    tasks = [
        (new_id(), jid, i, max_attempts, now, now) for jid in created for i in range(n_targets[jid])
    ]
    if tasks:
        insert_many(s, _INSERT_TASK, tasks)
        insert_many(s, _INSERT_OUTBOX, [(t[0], now) for t in tasks])
        notify_outbox(s)
    return out


def create_job(
    s: Session,
    *,
    user_id: str,
    spec: dict[str, Any],
    idempotency_key: str | None,
    request_hash: str,
    max_attempts: int,
) -> tuple[NewJob, bool]:
    """One job (see :func:`create_jobs`)."""
    req = JobRequest(user_id, spec, request_hash, idempotency_key)
    return create_jobs(s, [req], max_attempts)[0]
