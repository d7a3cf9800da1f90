"""Loudness meters side by side (reference / target / result) and short-term loudness."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models import fmt_number
from app.views.plots import add_legend, styled_plot
from app.views.theme import role_color

COLUMNS = ("reference", "target", "result")
# (summary field, decimals)
ROWS = (
    ("integrated_lufs", 1),
    ("loudness_range_lu", 1),
    ("true_peak_dbtp", 1),
    ("plr_db", 1),
    ("crest_db", 1),
    ("width_db", 1),
    ("correlation", 2),
)
ST_HOP_S = 0.1  # short-term loudness: 3 s windows every 100 ms
ST_WINDOW_S = 3.0


def row_names() -> list[str]:
    return [
        QCoreApplication.translate("LoudnessView", "Integrated (LUFS)"),
        QCoreApplication.translate("LoudnessView", "Loudness range (LU)"),
        QCoreApplication.translate("LoudnessView", "True peak (dBTP)"),
        QCoreApplication.translate("LoudnessView", "PLR (dB)"),
        QCoreApplication.translate("LoudnessView", "Crest factor (dB)"),
        QCoreApplication.translate("LoudnessView", "Width S/M (dB)"),
        QCoreApplication.translate("LoudnessView", "Correlation"),
    ]


def column_names() -> list[str]:
    return [
        QCoreApplication.translate("LoudnessView", "Reference"),
        QCoreApplication.translate("LoudnessView", "Target"),
        QCoreApplication.translate("LoudnessView", "Result"),
    ]


def fmt_value(v: float, decimals: int) -> str:
    """Locale-formatted number; "–" for missing or silent values."""
    if v is None or not math.isfinite(v) or v <= -120.0:
        return "–"
    return fmt_number(v, decimals)


class LoudnessView(QWidget):
    """The meters: one column per role (reference, target, result), one row per measure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(len(ROWS), len(COLUMNS))
        self.table.setVerticalHeaderLabels(row_names())
        self.table.setHorizontalHeaderLabels(column_names())
        for c, role in enumerate(COLUMNS):
            header = self.table.horizontalHeaderItem(c)
            if header is not None:
                header.setForeground(role_color(role))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for r in range(len(ROWS)):
            for c in range(len(COLUMNS)):
                it = QTableWidgetItem("–")
                it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, it)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit_table()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table)
        lay.addStretch(1)

    def _fit_table(self) -> None:
        t = self.table
        t.resizeRowsToContents()
        h = t.horizontalHeader().sizeHint().height()
        h += sum(t.rowHeight(r) for r in range(t.rowCount()))
        t.setFixedHeight(h + 2 * t.frameWidth())

    def set_analysis(self, role: str, analysis: Any) -> None:
        c = COLUMNS.index(role)
        s = analysis.summary if analysis is not None else None
        for r, (name, decimals) in enumerate(ROWS):
            text = fmt_value(getattr(s, name), decimals) if s is not None else "–"
            self._cell(r, c).setText(text)

    def cell_text(self, row_field: str, role: str) -> str:
        r = [name for name, _ in ROWS].index(row_field)
        return self._cell(r, COLUMNS.index(role)).text()

    def _cell(self, row: int, col: int) -> QTableWidgetItem:
        item = self.table.item(row, col)
        assert item is not None
        return item


class ShortTermView(QWidget):
    """Short-term loudness (3 s windows, 10 Hz) over time for each role."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = styled_plot(
            self.tr("Short-term loudness"), self.tr("Time (s)"), self.tr("LUFS")
        )
        add_legend(self.plot, columns=3)
        self.plot.getPlotItem().setMouseEnabled(x=True, y=False)
        self.plot.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.plot.getPlotItem().setClipToView(True)
        self.plot.getPlotItem().setXRange(0, 10, padding=0)  # nothing loaded yet
        self.plot.getPlotItem().setYRange(-40, 0, padding=0)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for role, name in zip(COLUMNS, column_names(), strict=True):
            self.curves[role] = self.plot.plot(
                [], [], pen=pg.mkPen(role_color(role), width=1.3), name=name, connect="finite"
            )
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)

    def set_analyses(self, analyses: dict[str, Any]) -> None:
        """Several roles at once (one rescale)."""
        for role, a in analyses.items():
            self._set(role, a)
        self._autoscale()

    def set_analysis(self, role: str, analysis: Any) -> None:
        self._set(role, analysis)
        self._autoscale()

    def _set(self, role: str, analysis: Any) -> None:
        curve = self.curves[role]
        if analysis is None or len(analysis.short_term_lufs) == 0:
            curve.setData([], [])
        else:
            st = np.asarray(analysis.short_term_lufs, dtype=np.float64)
            st = np.where(np.isfinite(st) & (st > -70.0), st, np.nan)
            t = ST_WINDOW_S / 2 + ST_HOP_S * np.arange(len(st))
            curve.setData(t, st)

    def _autoscale(self) -> None:
        vals = []
        for c in self.curves.values():
            _, y = c.getData()
            if y is not None and len(y):
                vals.append(y[np.isfinite(y)])
        vals = [v for v in vals if len(v)]
        item = self.plot.getPlotItem()
        if vals:
            allv = np.concatenate(vals)
            lo, hi = float(np.percentile(allv, 1)), float(np.max(allv))
            top = hi + 3 + 0.18 * (hi - lo + 6)  # headroom for the legend
            item.setYRange(max(lo - 3, -70), min(top, 6), padding=0)
            item.enableAutoRange(x=True)
        else:  # nothing loaded: a plain LUFS axis over 10 s, not the autoscale of nothing
            item.setXRange(0, 10, padding=0)
            item.setYRange(-40, 0, padding=0)
