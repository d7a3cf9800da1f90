"""What the API process runs on (kept out of ``server.api`` so that the worker and scheduler
processes never import FastAPI)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from server.config import Settings
from server.db.session import Database
from server.queue.base import TaskQueue
from server.storage.base import Storage

Background = Callable[[threading.Event], None]


@dataclass
class Services:
    """What the API needs; ``background`` loops run on threads for the app's lifetime
    (the outbox relay; in embedded mode also the scheduler and the workers)."""

    settings: Settings
    db: Database
    storage: Storage
    queue: TaskQueue
    background: list[tuple[str, Background]] = field(default_factory=list)
    kick: Callable[[], None] = lambda: None
