"""The match curve (EQ change of mid and side) with draggable parametric band handles.

Drag a handle to move its band in frequency and gain; turn the mouse wheel over it to change
its Q. Each edit is emitted as ``band_edited(channel, index, freq_hz, gain_db, q)``; the
controller updates the preset and re-renders the loop preview.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QLocale, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.views.plots import add_legend, fmt_hz, styled_plot
from app.views.theme import MUTED

CHANNEL_COLORS = {"mid": "#f2f2f2", "side": "#c792ea"}
Q_STEP = 1.15
Q_MIN, Q_MAX = 0.1, 20.0


def band_text(channel: str, band: Any) -> str:
    kinds = {
        "peak": QCoreApplication.translate("CurveView", "Peak"),
        "low_shelf": QCoreApplication.translate("CurveView", "Low shelf"),
        "high_shelf": QCoreApplication.translate("CurveView", "High shelf"),
    }
    ch = (
        QCoreApplication.translate("CurveView", "Mid")
        if channel == "mid"
        else QCoreApplication.translate("CurveView", "Side")
    )
    loc = QLocale()
    return QCoreApplication.translate(
        "CurveView", "{channel} {kind}: {freq} Hz, {gain} dB, Q {q}"
    ).format(
        channel=ch,
        kind=kinds.get(band.type, band.type),
        freq=fmt_hz(band.freq_hz),
        gain=loc.toString(float(band.gain_db), "f", 1),
        q=loc.toString(float(band.q), "f", 2),
    )


class BandHandle(pg.TargetItem):  # type: ignore[misc]
    """One band: x = log10(freq), y = gain. Wheel changes Q."""

    def __init__(self, view: CurveView, channel: str, index: int, band: Any) -> None:
        color = CHANNEL_COLORS[channel]
        super().__init__(
            pos=(math.log10(max(band.freq_hz, 1.0)), band.gain_db),
            size=11,
            symbol="o",
            pen=pg.mkPen(color, width=1.5),
            brush=pg.mkBrush(color + "55"),
            hoverBrush=pg.mkBrush(color),
            movable=True,
        )
        self.view, self.channel, self.index, self.band = view, channel, index, band
        self.setZValue(30)
        self.sigPositionChanged.connect(self._moving)
        self.sigPositionChangeFinished.connect(self._moved)

    def freq_gain(self) -> tuple[float, float]:
        p = self.pos()
        return 10.0 ** float(p.x()), float(p.y())

    def _moving(self) -> None:
        f, g = self.freq_gain()
        self.view.show_info(
            band_text(self.channel, self.band.model_copy(update={"freq_hz": f, "gain_db": g}))
        )

    def _moved(self) -> None:
        f, g = self.freq_gain()
        self.view.band_edited.emit(self.channel, self.index, f, g, float(self.band.q))

    def change_q(self, steps: float) -> float:
        """Multiply Q by ``Q_STEP ** steps`` and emit the edit; returns the new Q."""
        q = float(np.clip(self.band.q * Q_STEP**steps, Q_MIN, Q_MAX))
        f, g = self.freq_gain()
        self.band = self.band.model_copy(update={"q": q})
        self.view.show_info(band_text(self.channel, self.band))
        self.view.band_edited.emit(self.channel, self.index, f, g, q)
        return q

    def wheelEvent(self, ev: Any) -> None:  # noqa: N802
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        self.change_q(delta / 120.0)
        ev.accept()

    def hoverEvent(self, ev: Any) -> None:  # noqa: N802
        super().hoverEvent(ev)
        if not ev.isExit():
            self.view.show_info(band_text(self.channel, self.band))


class CurveView(QWidget):
    """Shows ``preset.eq.mid/side`` curves and their fitted bands as handles."""

    band_edited = Signal(str, int, float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = styled_plot(
            self.tr("Match curve (EQ change)"),
            self.tr("Frequency (Hz)"),
            self.tr("Gain (dB)"),
            log_freq=True,
        )
        add_legend(self.plot, columns=2)
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#4b515b", width=1)))
        self.mid = self.plot.plot(
            [],
            [],
            pen=pg.mkPen(CHANNEL_COLORS["mid"], width=2),
            name=self.tr("Mid"),
            antialias=True,
        )
        self.side = self.plot.plot(
            [],
            [],
            pen=pg.mkPen(CHANNEL_COLORS["side"], width=1.6, style=Qt.PenStyle.DashLine),
            name=self.tr("Side"),
            antialias=True,
        )
        self.handles: list[BandHandle] = []
        self.info = QLabel(self.tr("Drag a band to change its frequency and gain; wheel: Q."))
        self.info.setStyleSheet(f"color: {MUTED};")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.info)
        item.setYRange(-12, 12, padding=0)

    def show_info(self, text: str) -> None:
        self.info.setText(text)

    def set_preset(self, preset: Any) -> None:
        """Draw ``preset`` (an engine.schema Preset, or None to clear)."""
        item = self.plot.getPlotItem()
        if preset is None:
            for h in self.handles:
                item.removeItem(h)
            self.handles = []
            self.mid.setData([], [])
            self.side.setData([], [])
            return
        bands = [
            (ch, i, band)
            for ch, eq in (("mid", preset.eq.mid), ("side", preset.eq.side))
            if eq is not None
            for i, band in enumerate(eq.bands)
        ]
        layout = [(ch, i) for ch, i, _ in bands]
        if layout == [(h.channel, h.index) for h in self.handles]:
            # same bands (an edit): move the handles in place; one may be mid-drag
            for h, (_, _, band) in zip(self.handles, bands, strict=True):
                h.band = band
                h.blockSignals(True)
                h.setPos(math.log10(max(band.freq_hz, 1.0)), band.gain_db)
                h.blockSignals(False)
        else:
            for h in self.handles:
                item.removeItem(h)
            self.handles = []
            for ch, i, band in bands:
                h = BandHandle(self, ch, i, band)
                item.addItem(h)
                self.handles.append(h)
        peak = 6.0
        for ch, curve in (("mid", self.mid), ("side", self.side)):
            eq = preset.eq.mid if ch == "mid" else preset.eq.side
            if eq is None:
                curve.setData([], [])
                continue
            f = np.asarray(eq.curve.freqs_hz, dtype=np.float64)
            g = np.asarray(eq.curve.gain_db, dtype=np.float64)
            curve.setData(np.log10(f), g)
            if len(g):
                peak = max(peak, float(np.max(np.abs(g))) + 2.0)
        for _, _, band in bands:
            peak = max(peak, abs(band.gain_db) + 2.0)
        peak = float(min(peak, 30.0))
        item.setYRange(-peak, peak * 1.25, padding=0)  # headroom for the legend
        loc = QLocale()
        self.info.setText(
            self.tr(
                "{n} bands · fit error {err} dB · smoothing {smooth} oct · reference trust {trust}"
            ).format(
                n=len(self.handles),
                err=loc.toString(float(preset.eq.mid.fit_error_db), "f", 2),
                smooth=loc.toString(float(preset.eq.smoothing_octaves), "f", 2),
                trust=loc.toString(float(preset.eq.reference_trust), "f", 2),
            )
        )
