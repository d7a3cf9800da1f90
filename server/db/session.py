"""Engine and sessions for PostgreSQL (production) and SQLite (embedded)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Double, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class now_epoch(FunctionElement[float]):  # noqa: N801 (SQL function style)
    """The database clock in UNIX epoch seconds (one clock for every host's leases)."""

    type = Double()
    inherit_cache = True


@compiles(now_epoch, "postgresql")
def _now_pg(element: now_epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return "extract(epoch from clock_timestamp())::float8"


@compiles(now_epoch)
def _now_sqlite(element: now_epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


# SQLite has one writer at a time and every transaction here takes the write lock up front
# (BEGIN IMMEDIATE). Between threads of one process the wait is a lock per database file: a
# waiting transaction starts the moment the previous one ends, instead of polling in SQLite's
# busy handler, whose sleeps grow to 25-100 ms (an embedded server's API, scheduler and
# workers are threads of one process). Other processes still meet the busy timeout.
_SQLITE_LOCKS: dict[str, threading.RLock] = {}
_SQLITE_LOCKS_GUARD = threading.Lock()


def _sqlite_lock(url: str) -> threading.RLock:
    with _SQLITE_LOCKS_GUARD:
        return _SQLITE_LOCKS.setdefault(url, threading.RLock())


class Database:
    """An engine plus a session factory; ``session()`` is a transaction scope."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 60}
            )
            _sqlite_setup(self.engine)
            self._lock: threading.RLock | None = _sqlite_lock(url)
        else:
            self._lock = None
            self.engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._writer(), self.sessions() as s, s.begin():
            yield s

    def now(self) -> float:
        """The database clock (epoch seconds)."""
        with self._writer(), self.sessions() as s:
            return float(s.execute(select(now_epoch())).scalar_one())

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """SQLite: this process's turn at the write lock (the busy timeout's 60 s at most)."""
        if self._lock is None:
            yield
            return
        if not self._lock.acquire(timeout=60.0):
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("database is locked"))
        try:
            yield
        finally:
            self._lock.release()

    def check(self) -> None:
        """Raise if the database cannot be reached."""
        self.now()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction (so a read
    that later writes cannot dead-end on a lock upgrade)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        for delay in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 0):
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except Exception:
                if not delay:
                    raise
                time.sleep(delay)
