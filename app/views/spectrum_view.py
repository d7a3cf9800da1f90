"""Long-term spectra (smoothed, mid and side) of reference, target and result overlaid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from app.views.plots import add_legend, styled_plot
from app.views.theme import SIDE_ALPHA, role_color


def curve_names() -> dict[tuple[str, str], str]:
    return {
        ("reference", "mid"): QCoreApplication.translate("SpectrumView", "Reference mid"),
        ("reference", "side"): QCoreApplication.translate("SpectrumView", "Reference side"),
        ("target", "mid"): QCoreApplication.translate("SpectrumView", "Target mid"),
        ("target", "side"): QCoreApplication.translate("SpectrumView", "Target side"),
        ("result", "mid"): QCoreApplication.translate("SpectrumView", "Result mid"),
        ("result", "side"): QCoreApplication.translate("SpectrumView", "Result side"),
    }


class SpectrumView(QWidget):
    """Shows ``Analysis.freqs_hz`` / ``mid_db`` / ``side_db`` per role.

    With "Align levels" (default) each spectrum is shifted by its integrated loudness, so the
    curves compare tonal balance rather than level.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = styled_plot(
            self.tr("Spectrum (mid / side)"),
            self.tr("Frequency (Hz)"),
            self.tr("Level (dB)"),
            log_freq=True,
        )
        add_legend(self.plot, columns=3)
        self.plot.getPlotItem().setYRange(0, 84, padding=0)  # nothing loaded yet
        names = curve_names()
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        for role in ("reference", "target", "result"):
            for ch in ("mid", "side"):
                style = Qt.PenStyle.SolidLine if ch == "mid" else Qt.PenStyle.DashLine
                color = role_color(role, 255 if ch == "mid" else SIDE_ALPHA)
                pen = pg.mkPen(color, width=1.6 if ch == "mid" else 1.1, style=style)
                c = self.plot.plot([], [], pen=pen, name=names[(role, ch)], antialias=True)
                self.curves[(role, ch)] = c
        # the references' spread (two or more references: the target is corrected only
        # outside it); shaded between its edges, aligned spectra only
        self._range_edges = (self.plot.plot([], [], pen=None), self.plot.plot([], [], pen=None))
        self.range_fill = pg.FillBetweenItem(
            *self._range_edges, brush=pg.mkBrush(role_color("reference", 60))
        )
        self.plot.addItem(self.range_fill)
        self._range: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.show_mid = QCheckBox(self.tr("Mid"))
        self.show_side = QCheckBox(self.tr("Side"))
        self.align = QCheckBox(self.tr("Align levels"))
        self.align.setToolTip(self.tr("Shift each spectrum by its integrated loudness"))
        for cb in (self.show_mid, self.show_side, self.align):
            cb.setChecked(True)
            cb.toggled.connect(self._refresh)
        self._data: dict[str, Any] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.setSpacing(14)
        bar.addWidget(self.show_mid)
        bar.addWidget(self.show_side)
        bar.addStretch(1)
        bar.addWidget(self.align)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.plot, 1)
        lay.addLayout(bar)

    def set_analysis(self, role: str, analysis: Any) -> None:
        """``analysis`` is an engine Analysis (or None to clear ``role``)."""
        if analysis is None:
            self._data.pop(role, None)
        else:
            self._data[role] = analysis
        self._refresh()

    def set_analyses(self, analyses: dict[str, Any]) -> None:
        """Several roles at once (one redraw)."""
        self._data = {r: a for r, a in analyses.items() if a is not None}
        self._refresh()

    def set_reference_range(self, data: tuple[Any, Any, Any] | None) -> None:
        """``(freqs_hz, lo_db, hi_db)`` of the references' spread (level re. loudness), or None."""
        if data is None:
            self._range = None
        else:
            f, lo, hi = (np.asarray(v, dtype=np.float64) for v in data)
            self._range = (f, lo, hi)
        self.range_fill.setToolTip(self.tr("Range of the references (corrected only outside it)"))
        self._refresh()

    def range_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The shaded band's lower and upper edge as drawn (y values)."""
        lo = self._range_edges[0].getData()[1]
        hi = self._range_edges[1].getData()[1]
        return (np.asarray(lo if lo is not None else []), np.asarray(hi if hi is not None else []))

    def curve_data(self, role: str, channel: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curves[(role, channel)].getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def _refresh(self) -> None:
        align = self.align.isChecked()
        self.plot.getPlotItem().setLabel(
            "left", self.tr("Level re. loudness (dB)") if align else self.tr("Level (dB)")
        )
        ys: list[np.ndarray] = []
        shown = self._range is not None and align and self.show_mid.isChecked()
        for k, edge in enumerate(self._range_edges):
            if shown and self._range is not None:
                rf, ry = self._range[0], self._range[1 + k]
                ok = (rf > 0) & np.isfinite(ry)
                edge.setData(np.log10(rf[ok]), ry[ok])
            else:
                edge.setData([], [])
        self.range_fill.setVisible(shown)
        for (role, ch), curve in self.curves.items():
            a = self._data.get(role)
            visible = self.show_mid.isChecked() if ch == "mid" else self.show_side.isChecked()
            y = None if a is None else (a.mid_db if ch == "mid" else a.side_db)
            if a is None or y is None or not visible:
                curve.setData([], [])
                continue
            y = np.asarray(y, dtype=np.float64)
            if align:
                lufs = float(a.summary.integrated_lufs)
                y = y - (lufs if np.isfinite(lufs) else 0.0)
            f = np.asarray(a.freqs_hz, dtype=np.float64)
            ok = (f > 0) & np.isfinite(y)
            curve.setData(np.log10(f[ok]), y[ok])
            ys.append(y[ok])
        if ys:
            allv = np.concatenate(ys)
            top = float(np.percentile(allv, 99.5)) + 20  # headroom for the legend
            self.plot.getPlotItem().setYRange(top - 84, top, padding=0)
