"""Dynamics: the distribution of short-term loudness before (target) and after (result)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.views.plots import add_legend, styled_plot
from app.views.theme import role_color

BIN_LU = 0.5


def role_names() -> dict[str, str]:
    return {
        "reference": QCoreApplication.translate("DynamicsView", "Reference"),
        "target": QCoreApplication.translate("DynamicsView", "Target (before)"),
        "result": QCoreApplication.translate("DynamicsView", "Result (after)"),
    }


def histogram(st: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Share of time (%) per ``BIN_LU`` bin of short-term loudness in [lo, hi]."""
    v = np.asarray(st, dtype=np.float64)
    v = v[np.isfinite(v) & (v > -70.0)]
    edges = np.arange(lo, hi + BIN_LU, BIN_LU)
    if len(v) == 0 or len(edges) < 2:
        return edges, np.zeros(max(0, len(edges) - 1))
    counts, _ = np.histogram(v, bins=edges)
    return edges, 100.0 * counts / len(v)


class DynamicsView(QWidget):
    """Step histograms of ``Analysis.short_term_lufs`` for each role."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = styled_plot(
            self.tr("Dynamics: short-term loudness distribution"),
            self.tr("Short-term loudness (LUFS)"),
            self.tr("Share of time (%)"),
        )
        add_legend(self.plot, columns=3)
        self.plot.getPlotItem().setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().setXRange(-40, 0, padding=0)  # nothing loaded yet
        self.plot.getPlotItem().setYRange(0, 60, padding=0)
        names = role_names()
        self.curves: dict[str, pg.PlotDataItem] = {}
        for role in ("reference", "target", "result"):
            self.curves[role] = self.plot.plot(
                [0, 1],
                [0],
                stepMode="center",
                pen=pg.mkPen(role_color(role), width=1.5),
                fillLevel=0,
                brush=pg.mkBrush(role_color(role, 45)),
                name=names[role],
            )
            self.curves[role].setData([], [])
        self._data: dict[str, np.ndarray] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)

    def set_analysis(self, role: str, analysis: Any) -> None:
        if analysis is None:
            self._data.pop(role, None)
        else:
            self._data[role] = np.asarray(analysis.short_term_lufs, dtype=np.float64)
        self._refresh()

    def set_analyses(self, analyses: dict[str, Any]) -> None:
        """Several roles at once (one redraw)."""
        self._data = {
            r: np.asarray(a.short_term_lufs, dtype=np.float64)
            for r, a in analyses.items()
            if a is not None
        }
        self._refresh()

    def histogram_of(self, role: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curves[role].getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    def _refresh(self) -> None:
        finite = [v[np.isfinite(v) & (v > -70.0)] for v in self._data.values()]
        finite = [v for v in finite if len(v)]
        if not finite:
            for c in self.curves.values():
                c.setData([], [])
            return
        allv = np.concatenate(finite)
        lo = float(np.floor(np.percentile(allv, 0.5))) - 1.0
        hi = float(np.ceil(np.max(allv))) + 1.0
        top = 1.0
        for role, c in self.curves.items():
            if role not in self._data:
                c.setData([], [])
                continue
            edges, pct = histogram(self._data[role], lo, hi)
            c.setData(edges, pct, stepMode="center")
            if len(pct):
                top = max(top, float(pct.max()))
        self.plot.getPlotItem().setXRange(lo, hi, padding=0)
        self.plot.getPlotItem().setYRange(0, top * 1.3, padding=0)  # headroom for the legend
