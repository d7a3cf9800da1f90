"""The value types of :class:`cloud.client.CloudClient`'s API: polling policy, transfer progress
and its callbacks, counters, downloaded result files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloud import transfer
from engine.schema.jobs import (
    JobView,
)


@dataclass(frozen=True)
class PollPolicy:
    """Job polling: ``first_s``, times ``factor`` after each unchanged poll, at most ``max_s``;
    back to ``first_s`` whenever state, stage or progress changes."""

    first_s: float = 1.0
    factor: float = 1.5
    max_s: float = 10.0


@dataclass(frozen=True)
class TransferProgress:
    """Progress of one file of an upload or a download.

    ``done``/``total``: bytes of this file; ``overall_done``/``overall_total``: of the whole
    transfer (all files); ``index``/``count``: which file."""

    kind: str  # "upload" | "download"
    name: str
    index: int
    count: int
    done: int
    total: int
    overall_done: int
    overall_total: int

    @property
    def fraction(self) -> float:
        return self.overall_done / self.overall_total if self.overall_total else 1.0


TransferCallback = Callable[[TransferProgress], None]


JobCallback = Callable[[JobView], None]


@dataclass
class ClientStats:
    """Counters for diagnostics and tests."""

    refreshes: int = 0
    unauthorized_retries: int = 0
    upload: transfer.TransferStats = field(default_factory=transfer.TransferStats)


@dataclass(frozen=True)
class ResultFile:
    """One downloaded result file."""

    path: Path
    kind: str  # "audio" | "preset" | "viz"
    target_index: int
    verified: str
