"""Task queue: RabbitMQ (pika, quorum queue) in the full stack, in-process when embedded."""

from __future__ import annotations

from server.config import Settings
from server.queue.base import Delivery, Handler, QueueError, TaskQueue, decode, encode
from server.queue.memory import MemoryQueue


def make_queue(s: Settings) -> TaskQueue:
    """RabbitMQ when ``QUEUE_URL`` is set, else a new in-process queue."""
    if s.queue_url:
        from server.queue.rabbitmq import RabbitQueue

        return RabbitQueue(
            s.queue_url,
            s.queue_name,
            delivery_limit=s.delivery_limit,
            consumer_timeout_ms=s.consumer_timeout_ms,
        )
    return MemoryQueue(delivery_limit=s.delivery_limit)


__all__ = [
    "Delivery",
    "Handler",
    "MemoryQueue",
    "QueueError",
    "TaskQueue",
    "decode",
    "encode",
    "make_queue",
]
