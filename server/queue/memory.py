"""In-process queue for embedded mode (no broker). Messages live in memory only: after a
restart the scheduler re-publishes every queued task from the database."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence

from server.queue.base import Delivery, Handler, TaskQueue


class MemoryQueue(TaskQueue):
    def __init__(self, delivery_limit: int = 10) -> None:
        self.delivery_limit = delivery_limit
        self._items: collections.deque[tuple[str, int]] = collections.deque()
        self._cond = threading.Condition()
        self.dead: list[str] = []

    def publish(self, task_ids: Sequence[str]) -> None:
        with self._cond:
            for t in task_ids:
                self._items.append((t, 0))
            self._cond.notify_all()

    def _requeue(self, task_id: str, count: int) -> None:
        if count + 1 >= self.delivery_limit:
            self.dead.append(task_id)
            return
        with self._cond:
            self._items.append((task_id, count + 1))
            self._cond.notify()

    def _rejecter(self, task_id: str, count: int) -> Callable[[bool], None]:
        def reject(requeue: bool) -> None:
            if requeue:
                self._requeue(task_id, count)
            else:
                self.dead.append(task_id)

        return reject

    def consume(self, handler: Handler, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._cond:
                if not self._items:
                    self._cond.wait(0.2)
                    continue
                task_id, count = self._items.popleft()
            d = Delivery(
                task_id=task_id,
                redelivered=count > 0,
                delivery_count=count,
                _reject=self._rejecter(task_id, count),
            )
            try:
                handler(d)
            finally:
                d.reject(requeue=True)  # no-op when the handler acked or rejected

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def check(self) -> None:
        return None
