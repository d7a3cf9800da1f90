"""The Delivery panel: streaming services (normalisation gain, playback loudness, true peak
after their codec), the file's own delivery checks, and how much of the reference was used.

Widgets only: the figures arrive as :mod:`engine.schema.delivery` wire types from
``DeliveryController``."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models import fmt_number
from app.views.theme import MUTED
from engine.schema.delivery import DeliveryReport, ReferenceSuitability

PASS_COLOR = "#6cc070"
FAIL_COLOR = "#e0685f"
CHECK_KEYS = (
    "true_peak",
    "inter_sample_overs",
    "mono_fold",
    "cancelling",
    "correlation",
    "clipping",
    "dc_offset",
)


def _item(text: str, color: str | None = None, right: bool = True) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    if right:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if color:
        it.setForeground(QColor(color))
    return it


def _table(rows: int, headers: list[str]) -> QTableWidget:
    t = QTableWidget(rows, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return t


def _fit(t: QTableWidget) -> None:
    t.resizeRowsToContents()
    h = t.horizontalHeader().sizeHint().height() + 2 * t.frameWidth()
    h += sum(t.rowHeight(r) for r in range(t.rowCount()))
    t.setFixedHeight(h)


class DeliveryPanel(QWidget):
    """Shows a :class:`DeliveryReport` and a :class:`ReferenceSuitability`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self.tr("Match a target to see how it fares on streaming services."))
        self.summary.setWordWrap(True)
        self.services = _table(
            0,
            [
                self.tr("Service"),
                self.tr("Normalises to"),
                self.tr("Gain"),
                self.tr("Plays at"),
                self.tr("Codec"),
                self.tr("Peak after codec"),
            ],
        )
        self.checks = _table(
            len(CHECK_KEYS), [self.tr("Check"), self.tr("Value"), self.tr("Verdict")]
        )
        for r, name in enumerate(self.check_names()):
            self.checks.setItem(r, 0, _item(name, right=False))
        self.trust_title = QLabel(self.tr("Reference use"))
        self.trust = QLabel("–")
        self.trust.setWordWrap(True)
        self.source = QLabel("")
        self.source.setWordWrap(True)
        self.source.setStyleSheet(f"color: {MUTED}; font-size: 11px;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.summary)
        lay.addWidget(self.services)
        lay.addWidget(self.checks)
        lay.addWidget(self.trust_title)
        lay.addWidget(self.trust)
        lay.addWidget(self.source)
        lay.addStretch(1)
        _fit(self.services)
        _fit(self.checks)

    def check_names(self) -> list[str]:
        return [
            self.tr("True peak"),
            self.tr("Inter-sample overs"),
            self.tr("Mono fold-down"),
            self.tr("Cancels in mono"),
            self.tr("Min. correlation (3 s)"),
            self.tr("Clipped samples"),
            self.tr("DC offset"),
        ]

    def set_running(self) -> None:
        self.summary.setText(self.tr("Checking delivery (codec round trips)…"))

    def set_report(self, r: DeliveryReport | None) -> None:
        """Fill the tables (None: empty)."""
        if r is None:
            self.services.setRowCount(0)
            for row in range(len(CHECK_KEYS)):
                self.checks.setItem(row, 1, _item("–"))
                self.checks.setItem(row, 2, _item(""))
            self.summary.setText(
                self.tr("Match a target to see how it fares on streaming services.")
            )
            self.source.setText("")
            _fit(self.services)
            return
        failed = [k for k, ok in r.checks.items() if not ok]
        if failed:
            self.summary.setText(
                self.tr("{n} delivery check(s) failed; see the red rows.").format(n=len(failed))
            )
            self.summary.setStyleSheet(f"color: {FAIL_COLOR};")
        else:
            self.summary.setText(self.tr("All delivery checks passed."))
            self.summary.setStyleSheet(f"color: {PASS_COLOR};")
        self.services.setRowCount(len(r.services))
        for row, s in enumerate(r.services):
            norm = self.tr("none") if s.target_lufs is None else f"{fmt_number(s.target_lufs)} LUFS"
            verdict = PASS_COLOR if s.passed else FAIL_COLOR
            cells = [
                _item(s.label, right=False),
                _item(norm),
                _item(f"{fmt_number(s.gain_db, sign=True)} dB"),
                _item(f"{fmt_number(s.playback_lufs)} LUFS"),
                _item(s.codec.upper().replace("-", " "), right=False),
                _item(f"{fmt_number(s.codec_true_peak_dbtp, 2)} dBTP", verdict),
            ]
            for col, it in enumerate(cells):
                self.services.setItem(row, col, it)
        _fit(self.services)
        c = r.checks
        cancel = ", ".join(f"{f:g} Hz" for f in r.mono.cancelling_hz) or self.tr("none")
        values = [
            (f"{fmt_number(r.true_peak_dbtp, 2)} dBTP", c["true_peak"]),
            (str(r.inter_sample_overs), c["inter_sample_overs"]),
            (f"{fmt_number(r.mono.loss_db, 2, sign=True)} dB", c["mono_fold"]),
            (cancel, not r.mono.cancelling_hz),
            (fmt_number(r.min_correlation, 2), c["correlation"]),
            (str(r.clipped_samples), c["clipping"]),
            (f"{fmt_number(r.dc_offset_dbfs)} dBFS", c["dc_offset"]),
        ]
        for row, (text, ok) in enumerate(values):
            color = PASS_COLOR if ok else FAIL_COLOR
            self.checks.setItem(row, 1, _item(text))
            self.checks.setItem(row, 2, _item(self.tr("ok") if ok else self.tr("fails"), color))
        self.source.setText(self.tr("Service data: {source}").format(source=r.source))

    def set_suitability(self, s: ReferenceSuitability | None) -> None:
        """One line per aspect: the share of the reference used and why."""
        if s is None or not s.aspects:
            self.trust.setText("–")
            return
        names = {"eq": self.tr("EQ"), "dynamics": self.tr("Dynamics"), "width": self.tr("Width")}
        lines = []
        for a in s.aspects:
            pct = fmt_number(100.0 * a.trust, 0) + " %"
            lines.append(
                f"{names.get(a.aspect, a.aspect)}: {pct} — {self.reason(a.reason, a.value)}"
            )
        self.trust.setText("\n".join(lines))

    def reason(self, key: str, value: float | None) -> str:
        v = 0.0 if value is None else float(value)
        if key == "band_limited":
            return self.tr(
                "reference low-passed at {hz} Hz (a codec): nothing above copied"
            ).format(hz=fmt_number(v, 0))
        if key == "clipped":
            return self.tr("reference clipped ({pct} of samples at full scale)").format(
                pct=fmt_number(100.0 * v, 2) + " %"
            )
        if key == "over_limited":
            return self.tr("reference over-limited (peak-to-loudness {db} dB)").format(
                db=fmt_number(v)
            )
        if key == "near_mono":
            return self.tr("reference nearly mono (side {db} dB below mid)").format(
                db=fmt_number(v, 0)
            )
        return self.tr("by its similarity to the target")
