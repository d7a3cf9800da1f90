"""The task queue interface: messages carry task ids only; PostgreSQL/SQLite holds the state.

A queue may lose or duplicate messages without harming correctness: workers claim tasks with a
fenced conditional UPDATE (a duplicate finds nothing to claim), and the scheduler re-publishes
queued tasks whose message was lost.
"""

from __future__ import annotations

import abc
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class QueueError(Exception):
    """The broker could not be reached or refused a message."""


def encode(task_id: str) -> bytes:
    return json.dumps({"v": 1, "task": task_id}, separators=(",", ":")).encode()


def decode(body: bytes) -> str | None:
    """The task id of a message body, or None for a malformed one."""
    try:
        msg = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    tid = msg.get("task") if isinstance(msg, dict) else None
    if isinstance(tid, str) and 0 < len(tid) <= 64 and tid.isalnum():
        return tid
    return None


@dataclass
class Delivery:
    """One delivered message; call exactly one of :meth:`ack` / :meth:`reject` (any thread)."""

    task_id: str | None
    redelivered: bool = False
    delivery_count: int = 0
    _ack: Callable[[], None] = field(default=lambda: None, repr=False)
    _reject: Callable[[bool], None] = field(default=lambda requeue: None, repr=False)
    _done: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ack(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._ack()

    def reject(self, requeue: bool = False) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._reject(requeue)


Handler = Callable[[Delivery], None]


class TaskQueue(abc.ABC):
    """Publish task ids; consume deliveries."""

    @abc.abstractmethod
    def publish(self, task_ids: Sequence[str]) -> None:
        """Publish persistently and wait for the broker's confirms; QueueError on failure."""

    @abc.abstractmethod
    def consume(self, handler: Handler, stop: threading.Event) -> None:
        """Deliver messages to ``handler`` one at a time (prefetch 1) until ``stop`` is set.

        ``handler`` is called on a fresh thread per message and must ack or reject it; the
        next message is delivered only after that."""

    def drain_dead_letters(self, handler: Callable[[str | None], None], limit: int = 100) -> int:
        """Hand dead-lettered task ids to ``handler`` and drop them; returns how many."""
        return 0

    @abc.abstractmethod
    def check(self) -> None:
        """Raise QueueError if the broker is unreachable."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections."""
