"""Wiring: build the database, storage, queue and background loops for each service role."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from server.config import Settings
from server.db.migrate import upgrade
from server.db.session import Database
from server.queue import TaskQueue, make_queue
from server.scheduler.service import OutboxRelay, Scheduler
from server.services import Services
from server.storage import Storage, StorageError, make_storage

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    db: Database
    storage: Storage
    queue: TaskQueue


def core(settings: Settings, *, migrate: bool = True, ensure_buckets: bool = True) -> Core:
    """Connect everything (and migrate the schema, create missing buckets)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    if migrate:
        upgrade(db)
    storage = make_storage(settings)
    if ensure_buckets:
        try:
            storage.ensure_buckets()
        except StorageError as e:  # e.g. credentials without CreateBucket: buckets pre-made
            log.warning("could not ensure buckets: %s", e)
    return Core(settings, db, storage, make_queue(settings))


def api_services(c: Core, *, embedded_workers: int | None = None) -> Services:
    """Services of the API process. Embedded (no broker): the scheduler and the workers run
    in-process too. Full stack on PostgreSQL: nothing in the background, the scheduler relays
    the outbox when the commit notifies it (the API never talks to the broker on the request
    path); on another database: an in-process outbox relay, kicked after each commit."""
    svc = Services(c.settings, c.db, c.storage, c.queue)
    if c.settings.embedded or not c.db.url.startswith("postgresql"):
        relay = OutboxRelay(c.db, c.queue)
        svc.kick = relay.kick
        svc.background.append(("outbox-relay", relay.run))
    if c.settings.embedded:
        from server import jobstore

        with c.db.session() as s:
            n = jobstore.reset_after_restart(s)
        if n:
            log.info("re-queued %d tasks left from the previous run", n)
        svc.background.append(("scheduler", Scheduler(c.settings, c.db, c.queue).run))
        from server.worker.runner import Worker

        n = c.settings.embedded_workers if embedded_workers is None else embedded_workers
        for i in range(n):
            w = Worker(c.settings, c.db, c.storage, c.queue)
            svc.background.append((f"worker-{i}", w.run))
    return svc
