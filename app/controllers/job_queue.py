"""The app's job queue: every piece of long work, one at a time, on the one task runner.

A :class:`Job` is a progress generator ``run(cancel_token)`` run off the GUI thread and the
callbacks that apply its outcome on the GUI thread: ``done(result)``, ``fail(error)`` (else
the error goes to ``error``), ``canceled()`` (else "Canceled." goes to ``info``). Jobs of a
*kind* can replace their waiting predecessors (``coalesce``: the latest preview or load
wins) or be dropped (:meth:`JobQueue.unqueue`). Quiet jobs (cloud polls) are background
bookkeeping: no status text, not "busy", kept by the global Cancel, and their failures go to
``fail`` only. Progress is turned into the status line's text here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.controllers.engine_api import Steps
from app.task_runner import TaskRunner, as_audio_style_error, release_free_memory
from engine.schema.errors import AudioStyleError

if TYPE_CHECKING:
    from engine.facade import CancelToken

T = TypeVar("T")
Work = Callable[["CancelToken"], Steps[T]]


@dataclass
class Job(Generic[T]):
    """One queued piece of work; see the module docstring."""

    kind: str  # probe | load | match | preview | export | batch | open | delivery | cloud-*
    label: str
    run: Work[T]
    done: Callable[[T], None]
    fail: Callable[[AudioStyleError], None] | None = None
    quiet: bool = False
    canceled: Callable[[], None] | None = None


@dataclass
class _Entry:
    """A job with its result type erased (the runner hands results back as ``object``)."""

    kind: str
    label: str
    run: Callable[[CancelToken], Generator[object, None, object]]
    done: Callable[[object], None]
    fail: Callable[[AudioStyleError], None] | None
    quiet: bool
    canceled: Callable[[], None] | None


def _entry(job: Job[T]) -> _Entry:
    def done(result: object) -> None:
        job.done(cast(T, result))  # what ``job.run`` returned

    return _Entry(job.kind, job.label, job.run, done, job.fail, job.quiet, job.canceled)


class JobQueue(QObject):
    """Queues :class:`Job` s on its :class:`TaskRunner`; the signals mirror the main
    controller's (it forwards them)."""

    busy_changed = Signal(bool)
    task_started = Signal(str, str)  # kind, label
    task_progress = Signal(str, float)  # text, overall fraction
    task_finished = Signal(str, bool)  # kind, ok
    error = Signal(str)  # localised message
    info = Signal(str)  # localised status text
    _external_progress = Signal(str, float, str)  # emit_progress, from any thread

    def __init__(
        self, token_factory: Callable[[], CancelToken], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(token_factory, self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.canceled.connect(self._on_canceled)
        self._external_progress.connect(self._on_progress)
        self._queue: list[_Entry] = []
        self._current: _Entry | None = None
        self._busy = False
        self.closed = False  # after shutdown: no new jobs, late results are dropped

    @property
    def busy(self) -> bool:
        """True while user-visible work runs or waits (quiet bookkeeping does not count)."""
        cur = self._current is not None and not self._current.quiet
        return cur or any(not j.quiet for j in self._queue)

    @property
    def current_kind(self) -> str:
        """The kind of the job running now ("" when none)."""
        return self._current.kind if self._current is not None else ""

    def queued(self, kind: str) -> bool:
        """True when a job of ``kind`` runs or waits."""
        cur = self._current is not None and self._current.kind == kind
        return cur or any(j.kind == kind for j in self._queue)

    def enqueue(self, job: Job[T], coalesce: bool = False) -> None:
        """Queue ``job``; ``coalesce``: it replaces the waiting jobs of its kind."""
        if self.closed:
            return
        if coalesce:
            self._queue = [j for j in self._queue if j.kind != job.kind]
        self._queue.append(_entry(job))
        self._update_busy()
        self._pump()

    def unqueue(self, kind: str) -> int:
        """Drop the waiting (not the running) jobs of ``kind``; returns how many."""
        n = len(self._queue)
        self._queue = [j for j in self._queue if j.kind != kind]
        self._update_busy()
        return n - len(self._queue)

    def cancel(self) -> None:
        """Cancel the running job and everything queued (quiet bookkeeping stays)."""
        self._queue = [j for j in self._queue if j.quiet]
        if self._current is not None and not self._current.quiet:
            self.runner.cancel()
        self._update_busy()

    def emit_progress(self, stage: str, fraction: float, message: str = "") -> None:
        """Progress of the running job reported from outside its generator (any thread)."""
        self._external_progress.emit(stage, float(fraction), message)

    def shutdown(self) -> None:
        """Take no more jobs, drop the waiting ones, cancel the running one and wait for it."""
        self.closed = True
        self._queue.clear()
        self.runner.shutdown()

    # -- running -----------------------------------------------------------------------------

    def _update_busy(self) -> None:
        busy = self.busy
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _pump(self) -> None:
        if self._current is not None or self.runner.busy:
            return
        if not self._queue:
            self._update_busy()
            return
        job = self._queue.pop(0)
        self._current = job
        if not job.quiet:
            self.task_started.emit(job.kind, job.label)
        self.runner.start(job.run)

    def _finish(self, ok: bool) -> None:
        job = self._current
        self._current = None
        if job is not None and not job.quiet:
            self.task_finished.emit(job.kind, ok)
        self._pump()
        self._update_busy()
        if not self.busy:
            release_free_memory()

    def _on_progress(self, stage: str, fraction: float, message: str) -> None:
        job = self._current
        if job is None or job.quiet:
            return
        text = job.label
        stage_text = stage_texts().get(stage, "")
        if stage_text:
            text = f"{text} — {stage_text}"
        if message and not message.startswith("/"):
            text = f"{text} {message}"
        self.task_progress.emit(text, fraction)

    def _on_finished(self, result: object) -> None:
        job = self._current
        if self.closed:
            self._current = None
            return
        try:
            if job is not None:
                job.done(result)
        except Exception as exc:  # noqa: BLE001 - a bug while applying must not kill the app
            self.error.emit(as_audio_style_error(exc).message())
            self._finish(False)
            return
        self._finish(True)

    def _on_failed(self, error: object) -> None:
        job = self._current
        err = (
            error if isinstance(error, AudioStyleError) else as_audio_style_error(Exception(error))
        )
        if self.closed:
            self._current = None
            return
        try:
            if job is not None and job.fail is not None:
                job.fail(err)
            elif job is None or not job.quiet:
                self.error.emit(err.message())
        finally:
            self._finish(False)

    def _on_canceled(self) -> None:
        job = self._current
        if self.closed:
            self._current = None
            return
        try:
            if job is not None and job.canceled is not None:
                job.canceled()
            elif job is None or not job.quiet:
                self.info.emit(QCoreApplication.translate("MainController", "Canceled."))
        finally:
            self._finish(False)


def stage_texts() -> dict[str, str]:
    """The status line's words for the engine's progress stages (in the UI's language; the
    main controller's translation context, where they have always been)."""
    return {
        "probe": QCoreApplication.translate("MainController", "checking"),
        "analyze": QCoreApplication.translate("MainController", "analysing"),
        "decode": QCoreApplication.translate("MainController", "decoding"),
        "plan": QCoreApplication.translate("MainController", "planning"),
        "eq": QCoreApplication.translate("MainController", "equalising"),
        "gain": QCoreApplication.translate("MainController", "planning gain"),
        "render": QCoreApplication.translate("MainController", "rendering"),
        "upload": QCoreApplication.translate("MainController", "uploading"),
        "download": QCoreApplication.translate("MainController", "downloading"),
        "delivery": QCoreApplication.translate("MainController", "checking delivery"),
        "done": QCoreApplication.translate("MainController", "done"),
    }
