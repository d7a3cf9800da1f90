"""Identifiers."""

from __future__ import annotations

import os


def new_id() -> str:
    """A random 32-hex-digit id: a version-4 UUID (RFC 4122) without dashes, as
    ``uuid.uuid4().hex``, built from ``os.urandom`` directly (a quarter of the cost; jobs,
    tasks and audit rows take several per submission)."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # RFC 4122 variant
    return b.hex()
