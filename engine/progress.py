"""Progress reports and cancellation shared by every long-running engine generator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from engine.schema.errors import AudioStyleError, ErrorCode

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress report: ``fraction`` of the whole job (0..1) and the current stage."""

    stage: str
    fraction: float
    message: str = ""


class CancelToken:
    """Thread-safe cancellation flag checked by engine generators between blocks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at the next block boundary."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``AudioStyleError(CANCELED)`` if cancellation was requested."""
        if self._event.is_set():
            raise AudioStyleError(ErrorCode.CANCELED)


def check(cancel: CancelToken | None) -> None:
    """``cancel.check()`` when a token is given."""
    if cancel is not None:
        cancel.check()


def drive(
    gen: Generator[Progress, None, T], on_progress: Callable[[Progress], None] | None = None
) -> T:
    """Run a progress generator to completion and return its result."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if on_progress is not None:
            on_progress(p)


def scaled(
    gen: Generator[Progress, None, T], start: float, stop: float
) -> Generator[Progress, None, T]:
    """Re-map a sub-task's 0..1 progress into ``start..stop`` of the parent task."""
    while True:
        try:
            p = next(gen)
        except StopIteration as s:
            return s.value  # type: ignore[no-any-return]
        yield Progress(p.stage, start + (stop - start) * p.fraction, p.message)
