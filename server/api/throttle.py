"""Login throttling: failed password logins counted per client address *and* per account, in
tiers that back off (by default 5 a minute, 20 an hour, 100 a day per account; twice that per
address): past a tier's count every further attempt is refused ``429`` (``E507``, with
``Retry-After`` until the tier's window has room again) before the password is checked, so
guessing one account from many addresses, or many accounts from one address, gets nowhere.

Counted with the ``limits`` package (moving windows) in the storage ``RATE_LIMIT_STORAGE``
names: ``memory://`` (the default, in the process: embedded mode) or ``redis://host:6379/0``,
which every API process shares (the full stack). A storage that cannot be reached lets logins
through (logged, counted in ``audio_style_throttle_errors_total``): the per-process limits of
:mod:`server.api.ratelimit` still apply. A successful login clears its account's failures.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

from server.api.errors import ApiError
from server.api.ratelimit import rate_limited
from server.config import Settings

log = logging.getLogger(__name__)
THROTTLE_ERRORS = Counter(
    "audio_style_throttle_errors_total", "Rate-limit storage failures (logins let through)"
)


def _account_key(name: str) -> str:
    """A fixed-length key for an account name (any string a client sends)."""
    return hashlib.sha256(name.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


class LoginThrottle:
    """Failed-login limits per account and per address (see the module docstring)."""

    def __init__(
        self, storage: Storage, per_account: list[RateLimitItem], per_address: list[RateLimitItem]
    ) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_account = per_account
        self.per_address = per_address

    @classmethod
    def from_settings(cls, st: Settings) -> LoginThrottle:
        uri = st.rate_limit_storage or "memory://"
        options = {"key_prefix": st.rate_limit_prefix} if uri.startswith("redis") else {}
        storage = storage_from_string(uri, **options)
        if not isinstance(storage, Storage):
            raise ValueError(f"RATE_LIMIT_STORAGE={uri}: not a synchronous storage")
        return cls(storage, _items(st.login_limit_account), _items(st.login_limit_address))

    def _checks(self, address: str, account: str) -> list[tuple[RateLimitItem, str, str]]:
        acct = _account_key(account)
        out = [(item, "account", acct) for item in self.per_account]
        out += [(item, "address", address) for item in self.per_address]
        return out

    def check(self, address: str, account: str) -> None:
        """Raise the ``429`` answer when the address or the account is over a tier."""
        try:
            for item, scope, key in self._checks(address, account):
                if not self.limiter.test(item, "login", scope, key):
                    reset = self.limiter.get_window_stats(item, "login", scope, key).reset_time
                    raise rate_limited(max(1.0, math.ceil(reset - time.time())), scope)
        except ApiError:
            raise
        except Exception as e:
            THROTTLE_ERRORS.inc()
            log.warning("login throttle storage unavailable: %s", e)

    def failed(self, address: str, account: str) -> None:
        """Count one failed login."""
        try:
            for item, scope, key in self._checks(address, account):
                self.limiter.hit(item, "login", scope, key)
        except Exception as e:
            THROTTLE_ERRORS.inc()
            log.warning("login throttle storage unavailable: %s", e)

    def succeeded(self, account: str) -> None:
        """Forget the account's failures (its owner knows the password)."""
        try:
            acct = _account_key(account)
            for item in self.per_account:
                self.limiter.clear(item, "login", "account", acct)
        except Exception as e:
            THROTTLE_ERRORS.inc()
            log.warning("login throttle storage unavailable: %s", e)


def _items(spec: str) -> list[RateLimitItem]:
    """``"5/minute;20/hour"`` (``limits`` notation); empty: no limit."""
    return list(parse_many(spec)) if spec.strip() else []


class SharedRateLimiter:
    """The per-user / per-address request limits of :mod:`server.api.ratelimit`, shared by
    every API process through the Redis of ``RATE_LIMIT_STORAGE`` (``limits``' asyncio API):
    a token bucket of ``burst`` refilled at ``per_min`` becomes a moving window of ``burst``
    requests per ``60 * burst / per_min`` seconds (the same burst, the same long-run rate). A
    Redis that cannot be reached lets requests through (logged, counted)."""

    def __init__(self, uri: str, prefix: str, per_min: float, burst: int, scope: str) -> None:
        from limits.aio.storage import RedisStorage as AioRedis
        from limits.aio.strategies import MovingWindowRateLimiter as AioMovingWindow

        self.enabled = per_min > 0
        burst = max(1, burst)
        seconds = max(1, round(60.0 * burst / per_min)) if self.enabled else 1
        self.item = RateLimitItemPerSecond(burst, seconds)
        self.scope = scope
        storage = AioRedis(f"async+{uri}", implementation="redispy", key_prefix=prefix)
        self.limiter = AioMovingWindow(storage)

    async def ahit(self, key: str) -> float:
        """0.0 when allowed, else the seconds until the window has room."""
        try:
            if await self.limiter.hit(self.item, "rate", self.scope, key):
                return 0.0
            stats = await self.limiter.get_window_stats(self.item, "rate", self.scope, key)
            return max(1.0, stats.reset_time - time.time())
        except Exception as e:
            THROTTLE_ERRORS.inc()
            log.warning("shared rate limit storage unavailable: %s", e)
            return 0.0


def shared_limiters(state: Any, st: Settings) -> None:
    """With a Redis in ``RATE_LIMIT_STORAGE``, replace the per-process request limiters of
    ``state`` (``user_limiter``, ``auth_limiter``) by shared ones."""
    uri = st.rate_limit_storage
    if not uri.startswith(("redis://", "rediss://")):
        return
    prefix = st.rate_limit_prefix
    per_user, user_burst = st.rate_limit_user_per_min, st.rate_limit_user_burst
    state.user_limiter = SharedRateLimiter(uri, prefix, per_user, user_burst, "user")
    per_auth, auth_burst = st.rate_limit_auth_per_min, st.rate_limit_auth_burst
    state.auth_limiter = SharedRateLimiter(uri, prefix, per_auth, auth_burst, "address")
