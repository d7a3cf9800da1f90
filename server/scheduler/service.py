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

Chunk phases advance at commit time (:mod:`server.scheduler.chunking`), not here. Several
scheduler instances may run: the outbox rows are taken with ``SKIP LOCKED`` and every other
step is idempotent.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

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
        """Tick until ``stop`` is set."""
        while not stop.is_set():
            self.tick()
            stop.wait(self.settings.scheduler_interval_s)


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
