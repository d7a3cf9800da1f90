"""HTTP plumbing of the cloud client: explicit timeouts, retries with backoff, typed errors.

- Timeouts: connect 5 s, read 30 s, write 60 s, pool 10 s (never httpx's "no timeout").
- Retries: exponential backoff with full jitter (``uniform(0, min(cap, base * 2**n))``) for
  connection failures (the request never left: always safe), for read/write failures and
  500/502/503/504 only when the request is safe to repeat (GET, DELETE, ``POST /jobs`` with an
  Idempotency-Key, ``POST /uploads``), and for 429/503 always (the server refused before doing
  anything). ``Retry-After`` (seconds or an HTTP date) wins over the computed delay, capped.
  Token refresh is *not* repeated after a read failure: the server may have rotated the token.
- Errors: every failure is an :class:`engine.schema.errors.AudioStyleError` (subclass
  :class:`CloudError`), so the CLI prints one line and the app shows the coded message:
  connection failures after the retries -> ``SERVER_UNREACHABLE``; API error bodies
  (``{"code", "message"}``) keep their code and the server's localised wording.
- Logs name the method, the path and the status; never headers, bodies, query strings
  (signed URLs carry signatures) or tokens.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine import __version__
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.i18n import current_language

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=60.0, pool=10.0)
USER_AGENT = f"audio-style-cloud/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ALWAYS_RETRY_STATUSES = frozenset({429, 503})
CONNECT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
TRANSFER_ERRORS: tuple[type[Exception], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)

# Third-party loggers that print request headers, signed URLs or session tokens at DEBUG/INFO
# (botocore's request dicts include X-Amz-Security-Token; the COS SDK logs its headers with
# x-cos-security-token; httpx/urllib3 log full URLs with signatures). Held at WARNING unless
# the application set a level on them itself.
_CHATTY_LOGGERS = ("httpx", "httpcore", "urllib3", "botocore", "boto3", "s3transfer", "qcloud_cos")


def quiet_third_party_loggers() -> None:
    """Keep secrets out of logs: see ``_CHATTY_LOGGERS``."""
    for name in _CHATTY_LOGGERS:
        lg = logging.getLogger(name)
        if lg.level == logging.NOTSET:
            lg.setLevel(logging.WARNING)


quiet_third_party_loggers()


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no query (signatures), no user info."""
    try:
        u = urlsplit(url)
    except ValueError:
        return "<url>"
    host = u.hostname or ""
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{host}{port}{u.path}"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (for messages)."""
    try:
        u = urlsplit(url)
    except ValueError:
        return "<url>"
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.hostname or ''}{port}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``deadline_s`` bounds the whole call."""

    attempts: int = 4
    base_s: float = 0.25
    cap_s: float = 20.0
    max_retry_after_s: float = 60.0
    deadline_s: float = 120.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay before retry number ``attempt`` (1-based)."""
        r = rng or random
        return r.uniform(0.0, min(self.cap_s, self.base_s * (2 ** (attempt - 1))))

    def delay(
        self, attempt: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """``Retry-After`` when the server sent one (capped), else :meth:`backoff`."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after_s))
        return self.backoff(attempt, rng)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    t = time.time() if now is None else now
    return max(0.0, when.timestamp() - t)


class CloudError(AudioStyleError):
    """An error of the cloud client: a stable code, plus the HTTP status and the server's own
    (already localised) wording when the server sent an error body."""

    def __init__(
        self,
        code: ErrorCode,
        *,
        status: int | None = None,
        server_message: str | None = None,
        server_lang: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code, **params)
        self.status = status
        self.server_message = server_message
        self.server_lang = server_lang

    def message(self, lang: str | None = None) -> str:
        want = lang or current_language()
        if self.server_message and self.server_lang == want:
            return self.server_message
        return super().message(lang)


_STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.UPLOAD_TOO_LARGE,
    415: ErrorCode.NOT_AUDIO,
    422: ErrorCode.INVALID_REQUEST,
    429: ErrorCode.RATE_LIMITED,
}


def error_from_response(r: httpx.Response, lang: str | None = None) -> CloudError:
    """The typed error of a failed API answer (its ``{"code", "message"}`` body if any)."""
    body: Any = None
    try:
        body = r.json()
    except ValueError:
        body = None
    code: ErrorCode | None = None
    message: str | None = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        try:
            code = ErrorCode(body["code"])
        except ValueError:
            code = None
        if isinstance(body.get("message"), str):
            message = body["message"][:500]
    if code is None:
        code = _STATUS_CODES.get(r.status_code)
    if code is None:
        code = ErrorCode.SERVICE_UNAVAILABLE if r.status_code >= 500 else ErrorCode.INVALID_REQUEST
    server_lang = r.headers.get("content-language") or lang or current_language()
    params: dict[str, Any] = {"reason": message or f"HTTP {r.status_code}"}
    return CloudError(
        code, status=r.status_code, server_message=message, server_lang=server_lang, **params
    )


def unreachable(url: str) -> CloudError:
    """``SERVER_UNREACHABLE`` naming the origin of ``url``."""
    return CloudError(ErrorCode.SERVER_UNREACHABLE, url=origin(url))


Sleep = Callable[[float], None]


class Http:
    """An httpx client with the retry policy; one per server (``base_url``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        retry_safe: bool,
        headers: dict[str, str] | None = None,
        policy: RetryPolicy | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """Send with retries; returns the last answer (any status) or raises
        ``SERVER_UNREACHABLE`` when the server could not be reached."""
        pol = policy or self.retry
        h = {"Accept-Language": current_language(), **(headers or {})}
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                r = self.client.request(method, path, headers=h, **kw)
            except CONNECT_ERRORS as e:
                why = type(e).__name__
            except TRANSFER_ERRORS as e:
                if not retry_safe:
                    log.info("%s %s: %s (not repeated)", method, path, type(e).__name__)
                    raise unreachable(self.base_url) from None
                why = type(e).__name__
            else:
                retryable = r.status_code in ALWAYS_RETRY_STATUSES or (
                    retry_safe and r.status_code in RETRY_STATUSES
                )
                if not retryable:
                    log.debug("%s %s -> %d", method, path, r.status_code)
                    return r
                delay = pol.delay(attempt, parse_retry_after(r.headers.get("retry-after")))
                if attempt >= pol.attempts or time.monotonic() - start + delay > pol.deadline_s:
                    log.info("%s %s -> %d after %d attempts", method, path, r.status_code, attempt)
                    return r
                r.close()
                log.info(
                    "%s %s -> %d, retry %d in %.2f s", method, path, r.status_code, attempt, delay
                )
                self.sleep(delay)
                continue
            delay = pol.delay(attempt, None)
            if attempt >= pol.attempts or time.monotonic() - start + delay > pol.deadline_s:
                log.info("%s %s: %s, giving up after %d attempts", method, path, why, attempt)
                raise unreachable(self.base_url) from None
            log.info("%s %s: %s, retry %d in %.2f s", method, path, why, attempt, delay)
            self.sleep(delay)
