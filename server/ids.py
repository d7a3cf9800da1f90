"""Identifiers."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A random 32-hex-digit id."""
    return uuid.uuid4().hex
