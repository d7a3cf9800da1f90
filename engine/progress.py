"""Progress reports and cancellation shared by every long-running engine generator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass
from typing import Generic, TypeVar

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


_BESIDE: ThreadPoolExecutor | None = None


def _beside_pool() -> ThreadPoolExecutor:
    global _BESIDE
    if _BESIDE is None:
        _BESIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="beside")
    return _BESIDE


class Beside(Generic[T]):
    """Drives a progress generator on a helper thread while the caller does other work.

    The helper stops at its next progress report once the caller's ``cancel`` token is set or
    :meth:`stop` is called (then :meth:`join` raises ``CANCELED``); ``fraction`` is the helper's
    latest progress (0..1). Use :meth:`join` to wait for the result while yielding progress.
    """

    def __init__(self, gen: Generator[Progress, None, T], cancel: CancelToken | None) -> None:
        self._halt = threading.Event()
        self.fraction = 0.0
        self._future: Future[T] = _beside_pool().submit(self._run, gen, cancel)

    def _run(self, gen: Generator[Progress, None, T], cancel: CancelToken | None) -> T:
        try:
            while True:
                if self._halt.is_set():
                    raise AudioStyleError(ErrorCode.CANCELED)
                check(cancel)
                try:
                    p = next(gen)
                except StopIteration as s:
                    return s.value  # type: ignore[no-any-return]
                self.fraction = p.fraction
        finally:
            gen.close()

    def done(self) -> bool:
        """Whether the helper has finished (with a result or an error)."""
        return self._future.done()

    def stop(self) -> None:
        """Stop the helper (if still running) and wait until it has."""
        self._halt.set()
        wait([self._future])

    def join(self, stage: str, start: float, stop: float) -> Generator[Progress, None, T]:
        """Wait for the result, reporting the helper's progress mapped to ``start..stop``."""
        try:
            while True:
                try:
                    return self._future.result(timeout=0.1)
                except FuturesTimeout:
                    yield Progress(stage, start + (stop - start) * self.fraction)
        finally:
            self.stop()


_READ_AHEAD: ThreadPoolExecutor | None = None
_END = object()


def _read_ahead_pool() -> ThreadPoolExecutor:
    global _READ_AHEAD
    if _READ_AHEAD is None:
        _READ_AHEAD = ThreadPoolExecutor(max_workers=4, thread_name_prefix="read-ahead")
    return _READ_AHEAD


def read_ahead(items: Iterable[T]) -> Generator[T, None, None]:
    """``items`` in order, each next one produced on a helper thread while the caller works
    on the current one (decoding the next block beside the analysis of this one; the
    decoder releases the GIL). An error of the source surfaces where its item would have;
    closing this generator waits for the item in flight, then closes the source."""
    source = iter(items)
    pending: Future[object] = _read_ahead_pool().submit(next, source, _END)
    try:
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = _read_ahead_pool().submit(next, source, _END)
            yield item  # type: ignore[misc]
    finally:
        wait([pending])
        close = getattr(source, "close", None)
        if close is not None:
            close()
