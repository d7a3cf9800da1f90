"""Request rate limits: token buckets per user (every authenticated endpoint) and per client
address (the ``/auth`` endpoints: password guessing, refresh floods).

A refused request costs a dictionary lookup: ``429`` with error ``E507`` and ``Retry-After``
(whole seconds until a token is back), before any database or storage work. The buckets live
in the API process; with ``--processes N`` each process has its own, so the ceiling a client
meets is up to N times the configured rate — unless ``RATE_LIMIT_STORAGE`` names a Redis: then
every process shares them (:class:`server.api.throttle.SharedRateLimiter`). Configured by ``RATE_LIMIT_*`` (``server.config``);
off in embedded mode unless set.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

from fastapi import Request
from prometheus_client import Counter

from engine.schema.errors import ErrorCode
from server.api.errors import ApiError

RATE_LIMITED = Counter(
    "audio_style_rate_limited_total", "Requests refused with 429 (E507)", ["scope"]
)


class RateLimiter:
    """Token buckets keyed by a string: ``burst`` requests at once, refilled at ``per_min``
    a minute. ``per_min <= 0`` disables the limiter."""

    def __init__(self, per_min: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate_s = per_min / 60.0
        self.burst = float(max(1, burst))
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate_s > 0

    def hit(self, key: str, now: float | None = None) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds until one is back."""
        if self.rate_s <= 0:
            return 0.0
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, t))
            tokens = min(self.burst, tokens + (t - at) * self.rate_s)
            if tokens >= 1.0:
                if len(self._buckets) >= self.max_keys and key not in self._buckets:
                    self._prune(t)
                self._buckets[key] = (tokens - 1.0, t)
                return 0.0
            self._buckets[key] = (tokens, t)
            return (1.0 - tokens) / self.rate_s

    def _prune(self, now: float) -> None:
        """Forget buckets that are full again (they behave exactly like new ones)."""
        full = [
            k
            for k, (tok, at) in self._buckets.items()
            if tok + (now - at) * self.rate_s >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # all busy: start over rather than grow
            self._buckets.clear()


def rate_limited(wait_s: float, scope: str) -> ApiError:
    RATE_LIMITED.labels(scope=scope).inc()
    return ApiError(429, ErrorCode.RATE_LIMITED, {"Retry-After": str(max(1, math.ceil(wait_s)))})


def check(limiter: RateLimiter | None, key: str, scope: str) -> None:
    """Raise the 429 answer when ``key`` is over its rate."""
    if limiter is not None and limiter.enabled:
        wait = limiter.hit(key)
        if wait > 0:
            raise rate_limited(wait, scope)


class SharedLimiter(Protocol):
    """A limiter every API process shares (``server.api.throttle.SharedRateLimiter``)."""

    enabled: bool

    async def ahit(self, key: str) -> float: ...


async def acheck(limiter: RateLimiter | SharedLimiter | None, key: str, scope: str) -> None:
    """:func:`check` for a per-process or a shared (Redis) limiter."""
    if isinstance(limiter, RateLimiter) or limiter is None:
        check(limiter, key, scope)
    elif limiter.enabled:
        wait = await limiter.ahit(key)
        if wait > 0:
            raise rate_limited(wait, scope)


async def limit_by_address(request: Request) -> None:
    """Dependency of the ``/auth`` routes: the per-address limit."""
    ip = request.client.host if request.client else ""
    await acheck(request.app.state.auth_limiter, ip, "address")
