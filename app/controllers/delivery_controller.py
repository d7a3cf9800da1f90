"""The Delivery panel's controller: runs the delivery check (``audio-style qc``'s figures) on
the current result after every match, on the main controller's task runner, and hands the
view plain rows (the view never touches the engine)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.controllers.engine_api import Steps
from engine.schema.delivery import DeliveryReport, ReferenceSuitability
from engine.schema.errors import AudioStyleError

if TYPE_CHECKING:
    from app.controllers.main_controller import MainController
    from engine.facade import CancelToken


class DeliveryController(QObject):
    """Holds the latest :class:`DeliveryReport` of the result; ``changed`` when it moves."""

    changed = Signal()

    def __init__(self, main: MainController, parent: QObject | None = None) -> None:
        super().__init__(parent or main)
        self.main = main
        self.report: DeliveryReport | None = None
        self.checked_path = ""
        self.running = False
        main.result_changed.connect(self._on_result)

    @property
    def suitability(self) -> ReferenceSuitability | None:
        """How the reference was used in the current plan (per aspect, with the reason)."""
        preset = self.main.preset
        return None if preset is None else preset.suitability

    def _on_result(self) -> None:
        path = self.main.result_path
        if path is None:
            self.report, self.checked_path = None, ""
            self.changed.emit()
        elif path != self.checked_path:
            self.check()

    def check(self) -> None:
        """Queue the delivery check of the current result (all services)."""
        path = self.main.result_path
        if path is None:
            return
        engine = self.main.engine
        self.running = True
        self.changed.emit()

        def run(token: CancelToken) -> Steps[DeliveryReport]:
            yield engine.pipeline.Progress("delivery", 0.05)
            token.check()
            # in a child process: the codec round trips of a long master peak at gigabytes,
            # and memory a child used goes back to the system when it ends (the app's own
            # heap kept over 1 GB after checking a 10-minute match)
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                report: DeliveryReport = pool.submit(engine.pipeline.delivery_of, path).result()
            token.check()
            yield engine.pipeline.Progress("delivery", 1.0)
            return report

        def done(report: DeliveryReport) -> None:
            self.running = False
            if self.main.result_path == path:
                self.report, self.checked_path = report, path
            self.changed.emit()

        def fail(_: AudioStyleError | None) -> None:
            self.running = False
            self.changed.emit()

        self.main.run_task(
            "delivery",
            self.tr("Checking delivery"),
            run,
            done,
            fail,
            canceled=lambda: fail(None),
            coalesce=True,
        )
