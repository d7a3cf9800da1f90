"""Waveform overview: reference, target and result lanes with a playhead and a loop region."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.models import Overview
from app.views.plots import styled_plot
from app.views.theme import ACCENT, role_color

LANES = {"reference": 2.3, "target": 0.0, "result": -2.3}
LANE_FILL = 1.05  # half-height of a lane's envelope at the lane's peak


def lane_names() -> dict[str, str]:
    return {
        "reference": QCoreApplication.translate("WaveformView", "Reference"),
        "target": QCoreApplication.translate("WaveformView", "Target"),
        "result": QCoreApplication.translate("WaveformView", "Result"),
    }


class WaveformView(QWidget):
    """Signals: ``seek_requested(seconds)`` (click), ``loop_changed(start_s, end_s)`` (drag)."""

    seek_requested = Signal(float)
    loop_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = styled_plot(self.tr("Waveform"), self.tr("Time (s)"), "")
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=True, y=False)
        item.setYRange(-3.5, 3.5, padding=0)
        item.setXRange(0, 10, padding=0)  # nothing loaded yet: 10 s, not the autoscale of nothing
        item.showGrid(x=True, y=False, alpha=0.15)
        names = lane_names()
        item.getAxis("left").setTicks([[(y, names[r]) for r, y in LANES.items()]])
        item.getAxis("left").setWidth(72)
        # one item per lane: a vertical min-max segment per column (cheap to update and draw)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        for role, y in LANES.items():
            curve = pg.PlotCurveItem(pen=pg.mkPen(role_color(role, 210), width=1), connect="pairs")
            curve.setZValue(5)
            item.addItem(curve)
            self.curves[role] = curve
            sep = pg.InfiniteLine(pos=y - 1.15, angle=0, pen=pg.mkPen("#30343b"))
            item.addItem(sep)
        self.loop = pg.LinearRegionItem(
            values=(0, 1), brush=pg.mkBrush(74, 163, 223, 40), pen=pg.mkPen(ACCENT, width=1)
        )
        self.loop.setZValue(10)
        self.loop.sigRegionChangeFinished.connect(self._on_loop)
        item.addItem(self.loop)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#ffffff", width=1.5))
        self.playhead.setZValue(20)
        item.addItem(self.playhead)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self._length = 0.0
        self.scales: dict[str, float] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)

    def set_overview(self, role: str, ov: Overview | None) -> None:
        """Draw ``role``'s envelope (None clears the lane)."""
        curve = self.curves[role]
        if ov is None or len(ov.times_s) == 0:
            curve.setData([], [])
            self.scales.pop(role, None)
            return
        y0 = LANES[role]
        high = np.asarray(ov.high, dtype=np.float64)
        low = np.asarray(ov.low, dtype=np.float64)
        peak = max(float(np.max(np.abs(high))), float(np.max(np.abs(low))), 1e-9)
        scale = LANE_FILL / peak  # each lane normalised: the meters show the levels
        self.scales[role] = scale
        x = np.repeat(np.asarray(ov.times_s, dtype=np.float64), 2)
        y = np.empty(2 * len(high))
        y[0::2] = y0 + scale * low
        y[1::2] = y0 + scale * high
        curve.setData(x, y)

    def envelope(self, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, low, high) as drawn, in lane units (for tests)."""
        x, y = self.curves[role].getData()
        if x is None or len(x) == 0:
            empty = np.zeros(0)
            return empty, empty, empty
        return np.asarray(x[0::2]), np.asarray(y[0::2]), np.asarray(y[1::2])

    def has_data(self, role: str) -> bool:
        x, _ = self.curves[role].getData()
        return x is not None and len(x) > 0

    def set_length(self, seconds: float) -> None:
        self._length = seconds
        item = self.plot.getPlotItem()
        if seconds > 0:
            item.setLimits(xMin=0, xMax=seconds)
            item.setXRange(0, seconds, padding=0.0)
            self.loop.setBounds((0, seconds))

    def set_loop(self, start_s: float, end_s: float) -> None:
        self.loop.blockSignals(True)
        self.loop.setRegion((start_s, end_s))
        self.loop.blockSignals(False)

    def set_playhead(self, seconds: float) -> None:
        if seconds != self.playhead.value():
            self.playhead.setPos(seconds)

    def _on_loop(self) -> None:
        a, b = self.loop.getRegion()
        self.loop_changed.emit(float(a), float(b))

    def _on_click(self, ev: object) -> None:
        pos = ev.scenePos()  # type: ignore[attr-defined]
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        if 0 <= x <= self._length:
            self.seek_requested.emit(float(x))
