"""The one place the app starts threads: run an engine generator off the GUI thread.

A job is a callable ``job(cancel_token) -> Generator[Progress, None, T]``. The runner drives it
on a :class:`QThread`, forwards progress (throttled, so a fast generator cannot flood the GUI
event loop), and delivers the result or the error back on the GUI thread as Qt signals. Cancel
goes through the engine's ``CancelToken``; the generator stops at its next block boundary.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.schema.errors import AudioStyleError, ErrorCode

if TYPE_CHECKING:
    from engine.facade import CancelToken

log = logging.getLogger(__name__)

Job = Callable[["CancelToken"], Generator[object, None, object]]  # yields Progress
PROGRESS_INTERVAL_S = 0.05
GIL_SWITCH_INTERVAL_S = 0.001  # CPython's default is 5 ms
WORKER_NICE = 5  # background work yields the CPU to the GUI thread when the machine is busy


def release_free_memory() -> None:
    """Give freed heap memory back to the OS (glibc keeps it in per-thread arenas).

    A render frees hundreds of MB of temporaries; without this the app's RSS stays that much
    higher after every job. A no-op where glibc's ``malloc_trim`` is not available.
    """
    global _malloc_trim
    if _malloc_trim is None:
        _malloc_trim = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    if callable(_malloc_trim):
        _malloc_trim(0)


_malloc_trim: Callable[[int], int] | bool | None = None


def _lower_this_thread() -> None:
    """Lower the OS priority of the calling (worker) thread, where the OS allows it."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)


def as_audio_style_error(exc: BaseException) -> AudioStyleError:
    """``exc`` itself if it is an AudioStyleError, else an INTERNAL error wrapping it."""
    if isinstance(exc, AudioStyleError):
        return exc
    if isinstance(exc, MemoryError):
        return AudioStyleError(ErrorCode.INTERNAL, reason="out of memory")
    return AudioStyleError(ErrorCode.INTERNAL, reason=f"{type(exc).__name__}: {exc}")


class _Worker(QObject):
    progress = Signal(int, str, float, str)
    finished = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self, job_id: int, job: Job, token: CancelToken) -> None:
        super().__init__()
        self._id = job_id
        self._job = job
        self._token = token

    @Slot()
    def run(self) -> None:
        _lower_this_thread()
        last = 0.0
        try:
            gen = self._job(self._token)
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL_S:
                    last = now
                    self.progress.emit(
                        self._id,
                        str(getattr(p, "stage", "")),
                        float(getattr(p, "fraction", 0.0)),
                        str(getattr(p, "message", "")),
                    )
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
            if not isinstance(exc, AudioStyleError):
                log.error("background task failed:\n%s", traceback.format_exc())
            release_free_memory()
            self.failed.emit(self._id, as_audio_style_error(exc))
            self._quit_thread()
            return
        del gen  # the finished generator's frame and its temporaries
        release_free_memory()
        self.finished.emit(self._id, result)
        self._quit_thread()

    def _quit_thread(self) -> None:
        """End this thread's event loop now (the signals are already queued to the GUI): a
        ``wait`` on the GUI thread (shutdown while a job ends) must not depend on the GUI
        thread processing them first."""
        thread = self.thread()
        if thread is not None:
            thread.quit()


class TaskRunner(QObject):
    """Runs one job at a time on a worker thread.

    Signals (always on the GUI thread): ``started``, ``progress(stage, fraction, message)``,
    ``finished(result)``, ``failed(AudioStyleError)`` and ``canceled``. ``busy`` is True from
    :meth:`start` until one of the last three has been emitted.
    """

    started = Signal()
    progress = Signal(str, float, str)
    finished = Signal(object)
    failed = Signal(object)
    canceled = Signal()

    def __init__(
        self, token_factory: Callable[[], CancelToken], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        # the GUI thread gets the GIL back within ~1 ms while a job runs Python code
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        self._token_factory = token_factory
        self._id = 0
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._token: CancelToken | None = None
        self._old: list[tuple[QThread, _Worker]] = []

    @property
    def busy(self) -> bool:
        """True while a job runs."""
        return self._worker is not None

    def start(self, job: Job) -> None:
        """Run ``job`` in the background; raises RuntimeError if one is already running."""
        if self.busy:
            raise RuntimeError("a task is already running")
        self._id += 1
        self._token = self._token_factory()
        thread = QThread()
        worker = _Worker(self._id, job, self._token)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._thread, self._worker = thread, worker
        self.started.emit()
        thread.start()

    def cancel(self) -> None:
        """Ask the running job to stop (it ends with ``canceled``)."""
        if self._token is not None and self.busy:
            self._token.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Cancel nothing; block until the worker thread has ended (shutdown, tests)."""
        threads = [t for t, _ in self._old]
        if self._thread is not None:
            threads.append(self._thread)
        ok = True
        for t in threads:
            ok = t.wait(timeout_ms) and ok
        self._reap()
        return ok

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel the running job and wait for its thread (window close)."""
        self.cancel()
        self.wait(timeout_ms)

    # -- worker signals (queued onto the GUI thread) ----------------------------------------

    def _end(self) -> None:
        if self._thread is not None and self._worker is not None:
            self._thread.quit()
            self._old.append((self._thread, self._worker))
        self._thread, self._worker, self._token = None, None, None
        self._reap()

    def _reap(self) -> None:
        alive = []
        for t, w in self._old:
            if t.isFinished():
                w.deleteLater()
                t.deleteLater()
            else:
                alive.append((t, w))
        self._old = alive

    @Slot(int, str, float, str)
    def _on_progress(self, job_id: int, stage: str, fraction: float, message: str) -> None:
        if job_id == self._id and self.busy:
            self.progress.emit(stage, fraction, message)

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self._id:
            return
        self._end()
        self.finished.emit(result)

    @Slot(int, object)
    def _on_failed(self, job_id: int, error: object) -> None:
        if job_id != self._id:
            return
        self._end()
        if isinstance(error, AudioStyleError) and error.code == ErrorCode.CANCELED:
            self.canceled.emit()
        else:
            self.failed.emit(error)
