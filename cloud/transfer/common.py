"""What every transfer shares: options, statistics, the expired-credentials signal, the resume
rounds with backoff, part reads and the storage HTTP client.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cloud.http import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    CloudError,
    RetryPolicy,
    unreachable,
)
from engine.progress import CancelToken
from engine.schema.errors import ErrorCode

log = logging.getLogger("cloud.transfer")  # one logger for the package, named as before the split


MiB = 1024 * 1024


MAX_PARTS = 10_000


CHUNK = 256 * 1024


# transfers may wait out a longer outage than API calls
STORAGE_RETRY = RetryPolicy(attempts=8, base_s=0.5, cap_s=20.0, deadline_s=300.0)


BytesProgress = Callable[[int, int], None]  # (bytes done, bytes total) of one file


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


def _cos_address_from_env() -> tuple[str, int] | None:
    v = os.environ.get("AUDIO_STYLE_COS_ADDRESS", "").strip()
    if not v or ":" not in v:
        return None
    host, _, port = v.rpartition(":")
    return (host, int(port)) if port.isdigit() else None


@dataclass(frozen=True)
class TransferOptions:
    """Knobs of uploads and downloads.

    ``part_size``: multipart part size (S3 needs >= 5 MiB except the last part; raised as needed
    to stay within 10,000 parts; COS takes whole MiB). ``threads``: parts in flight.
    ``sdk_retries``: retries of one request inside boto3 / the COS SDK before a resume
    round takes over. ``cos_address``: send COS traffic to this ``(ip, port)`` while keeping the bucket's host
    name (private endpoints; tests) — default from ``AUDIO_STYLE_COS_ADDRESS=ip:port``.
    """

    part_size: int = 8 * MiB
    threads: int = 4
    sdk_retries: int = 2
    retry: RetryPolicy = STORAGE_RETRY
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    cos_address: tuple[str, int] | None = field(default_factory=_cos_address_from_env)

    def part_size_for(self, size: int) -> int:
        return max(self.part_size, math.ceil(size / MAX_PARTS))


@dataclass
class TransferStats:
    """What a transfer did (for tests and diagnostics): requests that carried file data."""

    parts_sent: int = 0
    parts_skipped: int = 0
    rounds: int = 0
    bytes_sent: int = 0

    def add(self, parts: int = 0, skipped: int = 0, nbytes: int = 0) -> None:
        with _stats_lock:
            self.parts_sent += parts
            self.parts_skipped += skipped
            self.bytes_sent += nbytes


_stats_lock = threading.Lock()


class CredentialsExpired(Exception):
    """The temporary storage credentials (or signed URL) expired: ask for a new grant."""


class _Retry(Exception):
    """A transient storage failure: wait and try again (resuming)."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.retry_after = retry_after


def _run_rounds(
    what: str,
    endpoint: str,
    policy: RetryPolicy,
    cancel: CancelToken | None,
    body: Callable[[], None],
    stats: TransferStats | None = None,
) -> None:
    """Call ``body`` until it returns; on :class:`_Retry` wait (backoff) and call it again."""
    start = time.monotonic()
    attempt = 0
    while True:
        _check(cancel)
        attempt += 1
        if stats is not None:
            stats.rounds += 1
        try:
            body()
            return
        except _Retry as e:
            delay = policy.delay(attempt, e.retry_after)
            if attempt >= policy.attempts or time.monotonic() - start + delay > policy.deadline_s:
                log.warning("%s: %s, giving up after %d rounds", what, e.why, attempt)
                raise unreachable(endpoint) from None
            log.info("%s: %s; resuming in %.2f s (round %d)", what, e.why, delay, attempt + 1)
            _sleep(delay, cancel)


def _sleep(seconds: float, cancel: CancelToken | None) -> None:
    end = time.monotonic() + seconds
    while True:
        _check(cancel)
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.1, left))


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _read_part(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(size)
    if len(data) != size:
        raise CloudError(ErrorCode.NOT_READABLE, path=str(path))
    return data


def storage_http(opts: TransferOptions | None = None) -> httpx.Client:
    """The HTTP client for storage URLs: no base URL, never the API's Authorization header."""
    o = opts or TransferOptions()
    return httpx.Client(
        timeout=o.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )
