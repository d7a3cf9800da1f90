"""Start-up checks of ``APP_ENV=prod``: no placeholder or guessable secret."""

from __future__ import annotations

import math
import re
from collections import Counter
from urllib.parse import urlsplit

from server.config import Settings

PLACEHOLDER = re.compile(r"change[-_ ]?me|replace|example|placeholder|secret|password|xxxx", re.I)
MIN_LENGTH = 32
MIN_ENTROPY_BITS = 110.0


def entropy_bits(value: str) -> float:
    """An upper estimate of a string's entropy: its length times the Shannon entropy of its
    character frequencies (a random 43-character base64url token: ~250 bits; ``aaaa...``: 0)."""
    if not value:
        return 0.0
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in Counter(value).values())
    return per_char * n


def secret_problem(
    name: str, value: str, *, min_length: int = MIN_LENGTH, min_bits: float = MIN_ENTROPY_BITS
) -> str | None:
    """Why ``value`` is not fit to be the production ``name``, or None."""
    if PLACEHOLDER.search(value):
        return f"{name} is a placeholder"
    if len(value) < min_length:
        return f"{name} has fewer than {min_length} characters"
    if entropy_bits(value) < min_bits:
        return f"{name} is not random enough (use e.g. `openssl rand -base64 48`)"
    return None


def prod_problems(s: Settings) -> list[str]:
    """Every reason ``s`` must not run with ``APP_ENV=prod`` (empty in other environments)."""
    if s.app_env != "prod":
        return []
    out = [secret_problem("JWT_SECRET", s.jwt_secret)]
    if s.s3_secret_key:
        out.append(secret_problem("S3_SECRET_KEY", s.s3_secret_key, min_length=16, min_bits=48))
    for name, url in (("DB_URL", s.db_url), ("QUEUE_URL", s.queue_url or "")):
        pw = urlsplit(url).password if "://" in url else None
        if pw is not None and PLACEHOLDER.search(pw):
            out.append(f"{name} has a placeholder password")
    return [p for p in out if p]
