"""pyqtgraph helpers: a log-frequency axis labelled in Hz and a consistently styled plot."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QFont

from app.views.theme import MUTED, TEXT

MAJOR_HZ = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
MINOR_HZ = tuple(
    m * d for d in (10, 100, 1000, 10000) for m in range(2, 10) if 20 <= m * d <= 20000
) + (30, 40, 60, 70, 80, 90)
F_MIN, F_MAX = 20.0, 20000.0


def fmt_hz(f: float) -> str:
    """``50``, ``1k``, ``2.5k``, ``20k`` (technical units stay untranslated)."""
    if f >= 1000:
        k = f / 1000.0
        return f"{k:.0f}k" if abs(k - round(k)) < 1e-6 else f"{k:.1f}k"
    return f"{f:.0f}"


class LogFreqAxis(pg.AxisItem):  # type: ignore[misc]
    """Bottom axis for plots whose x values are ``log10(frequency in Hz)``."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:  # noqa: N802
        major = [math.log10(f) for f in MAJOR_HZ if minVal <= math.log10(f) <= maxVal]
        minor = [math.log10(f) for f in sorted(set(MINOR_HZ)) if minVal <= math.log10(f) <= maxVal]
        return [(1.0, major), (0.1, [m for m in minor if m not in major])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if spacing < 1.0:
            return ["" for _ in values]
        return [fmt_hz(10.0**v) for v in values]


def styled_plot(
    title: str, x_label: str, y_label: str, log_freq: bool = False, **kw: Any
) -> pg.PlotWidget:
    """A PlotWidget with our fonts, grid and labels; ``log_freq`` x axis in Hz."""
    axis_items = {"bottom": LogFreqAxis(orientation="bottom")} if log_freq else None
    w = pg.PlotWidget(axisItems=axis_items, **kw)
    item = w.getPlotItem()
    item.setTitle(title, color=TEXT, size="10pt")
    item.setLabel("bottom", x_label, color=MUTED)
    item.setLabel("left", y_label, color=MUTED)
    item.showGrid(x=True, y=True, alpha=0.18)
    font = QFont()
    font.setPointSizeF(8.5)
    for name in ("bottom", "left"):
        ax = item.getAxis(name)
        ax.setTickFont(font)
        ax.setTextPen(TEXT)
    item.setMenuEnabled(False)
    item.hideButtons()
    if log_freq:
        item.setXRange(math.log10(F_MIN), math.log10(F_MAX), padding=0.01)
        item.setLimits(xMin=math.log10(10.0), xMax=math.log10(24000.0))
    return w


def add_legend(w: pg.PlotWidget, columns: int = 1) -> pg.LegendItem:
    """A compact legend in the top right corner (plots leave headroom for it)."""
    legend = w.getPlotItem().addLegend(
        offset=(-6, 4), labelTextSize="8pt", verSpacing=-6, horSpacing=12, colCount=columns
    )
    legend.setBrush(pg.mkBrush(20, 22, 26, 210))
    return legend
