"""The one task runner: progress, result, error and cancel delivered on the GUI thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from app.task_runner import TaskRunner
from engine.progress import CancelToken, Progress
from engine.schema.errors import AudioStyleError, ErrorCode


def counting(n: int, delay: float = 0.0) -> Callable[[CancelToken], Generator[Progress, None, int]]:
    def job(token: CancelToken) -> Generator[Progress, None, int]:
        for i in range(n):
            token.check()
            if delay:
                time.sleep(delay)
            yield Progress("work", (i + 1) / n)
        return n

    return job


def test_result_and_progress_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner(CancelToken)
    seen: list[tuple[float, bool]] = []
    gui = QThread.currentThread()
    runner.progress.connect(lambda s, f, m: seen.append((f, QThread.currentThread() is gui)))
    with qtbot.waitSignal(runner.finished, timeout=5000) as sig:
        runner.start(counting(20, 0.01))
        assert runner.busy
    assert sig.args == [20]
    assert not runner.busy
    assert seen and all(on_gui for _, on_gui in seen)
    assert len(seen) < 20, "progress is throttled"
    runner.wait()


def test_errors_become_audio_style_errors(qtbot: QtBot) -> None:
    runner = TaskRunner(CancelToken)

    def bad(token: Any) -> Generator[Progress, None, None]:
        yield Progress("x", 0.1)
        raise ValueError("boom")

    with qtbot.waitSignal(runner.failed, timeout=5000) as sig:
        runner.start(bad)
    err = sig.args[0]
    assert isinstance(err, AudioStyleError) and err.code == ErrorCode.INTERNAL
    assert "boom" in err.message("en")

    def expected(token: Any) -> Generator[Progress, None, None]:
        raise AudioStyleError(ErrorCode.FILE_NOT_FOUND, path="x.wav")
        yield  # pragma: no cover

    with qtbot.waitSignal(runner.failed, timeout=5000) as sig:
        runner.start(expected)
    assert sig.args[0].code == ErrorCode.FILE_NOT_FOUND
    runner.wait()


def test_cancel_stops_the_generator(qtbot: QtBot) -> None:
    runner = TaskRunner(CancelToken)
    started = threading.Event()

    def slow(token: CancelToken) -> Generator[Progress, None, None]:
        started.set()
        while True:
            token.check()
            time.sleep(0.005)
            yield Progress("wait", 0.0)

    with qtbot.waitSignal(runner.canceled, timeout=5000):
        runner.start(slow)
        assert started.wait(5)
        runner.cancel()
    assert not runner.busy
    runner.wait()


def test_one_job_at_a_time(qtbot: QtBot) -> None:
    runner = TaskRunner(CancelToken)
    runner.start(counting(3, 0.01))
    try:
        runner.start(counting(3))
    except RuntimeError:
        pass
    else:
        raise AssertionError("a second job must be refused while one runs")
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    runner.wait()
