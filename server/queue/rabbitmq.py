"""RabbitMQ through pika (the client the RabbitMQ team documents for Python).

Topology (declared idempotently by every process):

- ``<name>``: quorum queue (durable, Raft-replicated), ``x-delivery-limit`` N, dead-lettering
  to ``<name>.dlx`` -> ``<name>.dlq`` with ``x-dead-letter-strategy=at-least-once`` and
  ``x-overflow=reject-publish`` (lossless dead-lettering), ``x-consumer-timeout`` above the
  longest job (honoured by RabbitMQ >= 3.12; older brokers use the global ``consumer_timeout``).
- Publishing: persistent messages, ``mandatory``, publisher confirms (``confirm_delivery``);
  a nack, an unroutable return or a lost connection raises :class:`QueueError` and the caller
  keeps its outbox row for a later retry.
- Consuming: manual acks, prefetch 1, heartbeats every 15 s. The job runs on its own thread
  while the connection thread keeps heartbeats flowing; the ack is handed back with
  ``add_callback_threadsafe`` after the result is committed to the database.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from server.queue.base import Delivery, Handler, QueueError, TaskQueue, decode, encode

log = logging.getLogger(__name__)
HEARTBEAT_S = 15
_CONN_ERRORS = (pika.exceptions.AMQPError, OSError)


class RabbitQueue(TaskQueue):
    def __init__(
        self,
        url: str,
        name: str,
        *,
        delivery_limit: int = 10,
        consumer_timeout_ms: int = 6 * 3600 * 1000,
    ) -> None:
        self.url = url
        self.name = name
        self.dlx = f"{name}.dlx"
        self.dlq = f"{name}.dlq"
        self.delivery_limit = delivery_limit
        self.consumer_timeout_ms = consumer_timeout_ms
        self._local = threading.local()
        self._declared = False

    # --- connections ---
    def _params(self) -> pika.URLParameters:
        p = pika.URLParameters(self.url)
        p.heartbeat = HEARTBEAT_S
        p.blocked_connection_timeout = 30
        p.connection_attempts = 1
        p.socket_timeout = 5
        return p

    def _connect(self) -> tuple[pika.BlockingConnection, BlockingChannel]:
        conn = pika.BlockingConnection(self._params())
        ch = conn.channel()
        self.declare(ch)
        return conn, ch

    def declare(self, ch: BlockingChannel) -> None:
        """Declare exchange and queues (idempotent)."""
        ch.exchange_declare(self.dlx, "direct", durable=True)
        ch.queue_declare(self.dlq, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(self.dlq, self.dlx, routing_key=self.dlq)
        ch.queue_declare(
            self.name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dlx,
                "x-dead-letter-routing-key": self.dlq,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-consumer-timeout": self.consumer_timeout_ms,
            },
        )

    def _publisher(self) -> BlockingChannel:
        ch: BlockingChannel | None = getattr(self._local, "ch", None)
        if ch is not None and ch.is_open:
            return ch
        conn, ch = self._connect()
        ch.confirm_delivery()
        self._local.conn, self._local.ch = conn, ch
        return ch

    def _drop_publisher(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = self._local.ch = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    # --- publish ---
    def publish(self, task_ids: Sequence[str]) -> None:
        if not task_ids:
            return
        props = BasicProperties(delivery_mode=2, content_type="application/json")
        last: Exception | None = None
        for _ in range(2):
            try:
                ch = self._publisher()
                for tid in task_ids:
                    ch.basic_publish(
                        "",
                        self.name,
                        encode(tid),
                        BasicProperties(
                            delivery_mode=props.delivery_mode,
                            content_type=props.content_type,
                            message_id=tid,
                        ),
                        mandatory=True,
                    )
                return
            except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as e:
                raise QueueError(f"broker refused the message: {e}") from e
            except _CONN_ERRORS as e:
                last = e
                self._drop_publisher()
        raise QueueError(f"broker unreachable: {last!r}")

    # --- consume ---
    def consume(self, handler: Handler, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                self._consume_once(handler, stop)
                backoff = 0.5
            except _CONN_ERRORS as e:
                log.warning("queue connection lost (%r); reconnecting in %.1fs", e, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _consume_once(self, handler: Handler, stop: threading.Event) -> None:
        conn, ch = self._connect()
        ch.basic_qos(prefetch_count=1)
        running: list[threading.Thread] = []

        def on_message(
            chan: BlockingChannel, method: Basic.Deliver, props: BasicProperties, body: bytes
        ) -> None:
            tag = method.delivery_tag
            headers: dict[str, Any] = dict(props.headers or {})
            count = int(headers.get("x-delivery-count", 0) or 0)

            def threadsafe(fn: Callable[[], None]) -> None:
                # a closed connection: the broker requeues the message
                with contextlib.suppress(*_CONN_ERRORS):
                    conn.add_callback_threadsafe(fn)

            d = Delivery(
                task_id=decode(body),
                redelivered=bool(method.redelivered),
                delivery_count=count,
                _ack=lambda: threadsafe(lambda: _safe(lambda: chan.basic_ack(tag))),
                _reject=lambda requeue: threadsafe(
                    lambda: _safe(lambda: chan.basic_reject(tag, requeue=requeue))
                ),
            )
            t = threading.Thread(target=_run_handler, args=(handler, d), daemon=True)
            running.append(t)
            t.start()

        ch.basic_consume(self.name, on_message, auto_ack=False)
        try:
            while not stop.is_set():
                conn.process_data_events(time_limit=0.25)
                running[:] = [t for t in running if t.is_alive()]
            # graceful stop: let the running job finish and its ack go out
            while running and any(t.is_alive() for t in running):
                conn.process_data_events(time_limit=0.25)
            conn.process_data_events(time_limit=0)
            _safe(conn.close)
        finally:
            # a lost connection: wait for the job thread before consuming again (prefetch 1
            # per worker); its ack is lost and the broker redelivers, which the claim drops
            for t in running:
                t.join()

    # --- dead letters ---
    def drain_dead_letters(self, handler: Callable[[str | None], None], limit: int = 100) -> int:
        n = 0
        try:
            conn, ch = self._connect()
        except _CONN_ERRORS:
            return 0
        try:
            while n < limit:
                method, _props, body = ch.basic_get(self.dlq, auto_ack=False)
                if method is None:
                    break
                handler(decode(body))
                ch.basic_ack(method.delivery_tag)
                n += 1
        finally:
            _safe(conn.close)
        return n

    def check(self) -> None:
        try:
            conn, ch = self._connect()
            ch.queue_declare(self.name, passive=True)
            _safe(conn.close)
        except _CONN_ERRORS as e:
            raise QueueError(f"broker unreachable: {e!r}") from e

    def delete_all(self) -> None:
        """Remove the queues and exchange (tests)."""
        conn = pika.BlockingConnection(self._params())
        ch = conn.channel()
        for q in (self.name, self.dlq):
            with contextlib.suppress(Exception):
                ch.queue_delete(q)
        _safe(lambda: ch.exchange_delete(self.dlx))
        _safe(conn.close)

    def close(self) -> None:
        self._drop_publisher()


def _run_handler(handler: Handler, d: Delivery) -> None:
    try:
        handler(d)
    except Exception:
        log.exception("task handler failed")
    finally:
        d.reject(requeue=True)  # no-op if the handler acked or rejected


def _safe(fn: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        fn()


def wait_for_broker(url: str, timeout_s: float = 60.0) -> None:
    """Block until the broker accepts connections."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pika.BlockingConnection(pika.URLParameters(url)).close()
            return
        except _CONN_ERRORS:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
