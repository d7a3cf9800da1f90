"""The scheduler service: the time-driven half of job handling.

Every ``SCHEDULER_INTERVAL_S``:

1. **Outbox relay** — publish the task ids of committed ``outbox`` rows (publisher confirms),
   then delete the rows; a broker outage leaves them for the next tick (no job is lost between
   the database commit and the publish).
2. **Lease recovery** — running tasks whose lease expired (worker killed, frozen or cut off)
   go back to queued and are re-published; the next claim increments the attempt, which
   fences the old worker out.
3. **Retries and lost messages** — queued tasks whose backoff has elapsed, or whose message was
   published ``REPUBLISH_AFTER_S`` ago without being claimed (broker wiped, message dropped),
   are published again. Duplicates are harmless: a claim succeeds once.
4. **Dead letters** — messages the broker dead-lettered after the delivery limit fail their
   task when it is out of attempts.

On PostgreSQL the scheduler also ``LISTEN``s: every transaction that adds outbox rows (a job
accepted by the API, the next phase of a chunked job, a retry) sends ``NOTIFY`` at commit, and
the relay runs at once, so a message goes out milliseconds after its commit while the API
processes never talk to the broker on the request path. The tick stays the backstop (a
notification missed while the listener reconnects). Without PostgreSQL (embedded) the API
process relays itself (:class:`OutboxRelay`).

Chunk phases advance at commit time (:mod:`server.scheduler.chunking`), not here. Several
scheduler instances may run: the outbox rows are taken with ``SKIP LOCKED`` and every other
step is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

from server import jobstore, metrics
from server.config import Settings
from server.db.session import Database
from server.queue.base import QueueError, TaskQueue

log = logging.getLogger(__name__)
RELAYED = Counter("audio_style_scheduler_published_total", "Messages published", ["reason"])
DEAD_LETTERS = Counter("audio_style_scheduler_dead_letters_total", "Dead letters drained")
TICKS = Histogram(
    "audio_style_scheduler_tick_seconds",
    "Duration of one scheduler sweep",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)


@dataclass
class TickStats:
    relayed: int = 0
    recovered: int = 0
    republished: int = 0
    dead_lettered: int = 0


def relay_outbox(db: Database, queue: TaskQueue, batch: int = 200) -> int:
    """Publish outbox rows until empty or the broker fails; returns how many were published."""
    total = 0
    while True:
        with db.session() as s:
            rows = jobstore.take_outbox(s, batch)
            if not rows:
                return total
            queue.publish([tid for _, tid in rows])
            jobstore.outbox_published(s, rows)
        total += len(rows)
        if len(rows) < batch:
            return total


class Scheduler:
    def __init__(self, settings: Settings, db: Database, queue: TaskQueue) -> None:
        self.settings = settings
        self.db = db
        self.queue = queue

    def tick(self) -> TickStats:
        with TICKS.time():
            st = self._tick()
        RELAYED.labels(reason="outbox").inc(st.relayed)
        RELAYED.labels(reason="lease_expired").inc(st.recovered)
        RELAYED.labels(reason="retry_or_lost").inc(st.republished)
        DEAD_LETTERS.inc(st.dead_lettered)
        return st

    def _tick(self) -> TickStats:
        st = TickStats()
        try:
            st.relayed = relay_outbox(self.db, self.queue)
        except QueueError as e:
            log.warning("outbox relay: %s", e)
        try:
            with self.db.session() as s:
                ids = jobstore.recover_expired_leases(s)
            st.recovered = len(ids)
            if ids:
                log.info("recovered %d expired leases", len(ids))
        except Exception as e:
            log.warning("lease recovery: %r", e)
        try:
            with self.db.session() as s:
                due = jobstore.due_unpublished(s, self.settings.republish_after_s)
                if due:
                    self.queue.publish(due)
            st.republished = len(due)
        except Exception as e:
            log.warning("re-publish: %r", e)
        try:

            def dead(task_id: str | None) -> None:
                if task_id is None:
                    return
                with self.db.session() as s:
                    failed = jobstore.fail_dead_lettered(s, task_id)
                if failed is not None:
                    with self.db.session() as s:
                        state, started, finished = jobstore.job_times(s, failed)
                    metrics.job_finished(state, started, finished)

            st.dead_lettered = self.queue.drain_dead_letters(dead)
        except Exception as e:
            log.warning("dead letters: %r", e)
        return st

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; between ticks, relay at once when notified."""
        listener = OutboxListener(self.db.url) if self.db.url.startswith("postgresql") else None
        try:
            while not stop.is_set():
                self.tick()
                deadline = time.monotonic() + self.settings.scheduler_interval_s
                while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                    if listener is None or not listener.wait(min(left, 0.5), stop):
                        if listener is None:
                            stop.wait(left)
                        continue
                    try:
                        RELAYED.labels(reason="outbox").inc(relay_outbox(self.db, self.queue))
                    except Exception as e:  # the tick retries
                        log.warning("outbox relay: %r", e)
        finally:
            if listener is not None:
                listener.close()


class OutboxListener:
    """``LISTEN`` for outbox notifications on a connection of its own (autocommit)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.conn: Any = None
        self._retry_at = 0.0

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        conn.execute(f"LISTEN {jobstore.OUTBOX_CHANNEL}")
        return conn

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """True when a notification arrived within ``timeout`` seconds."""
        if self.conn is None:
            if time.monotonic() < self._retry_at:
                stop.wait(timeout)
                return False
            try:
                self.conn = self._connect()
            except Exception as e:
                log.warning("outbox listener: %r (relaying on the tick)", e)
                self._retry_at = time.monotonic() + 5.0
                stop.wait(timeout)
                return False
            return True  # (re)connected: something may have been missed meanwhile
        try:
            return any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))
        except Exception as e:
            log.warning("outbox listener: %r", e)
            self.close()
            return False

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


class OutboxRelay:
    """Publishes outbox rows as soon as the API commits them (``kick``), so a job's message
    goes out in milliseconds; the scheduler's tick is the backstop."""

    def __init__(self, db: Database, queue: TaskQueue) -> None:
        self.db = db
        self.queue = queue
        self._kick = threading.Event()

    def kick(self) -> None:
        self._kick.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._kick.wait(1.0)
            if stop.is_set():
                return
            self._kick.clear()
            try:
                relay_outbox(self.db, self.queue)
            except Exception as e:
                log.warning("outbox relay: %r", e)
                stop.wait(1.0)
