"""Match controls: amount per aspect, smoothing, ceiling, target loudness; Match / Cancel."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.schema.options import DEFAULT_MAX_LIMITING_DB, MatchOptions

# aspect -> (enabled field, amount field); "amount" is the master amount (no switch)
ASPECTS = (
    ("amount", None, "amount"),
    ("eq", "eq_enabled", "eq_amount"),
    ("dynamics", "dynamics_enabled", "dynamics_amount"),
    ("width", "width_enabled", "width_amount"),
    ("loudness", "loudness_enabled", "loudness_amount"),
)


class ControlsPanel(QWidget):
    """Emits ``options_changed(dict)`` with the MatchOptions fields that changed."""

    options_changed = Signal(dict)
    match_requested = Signal()
    cancel_requested = Signal()
    cloud_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        names = {
            "amount": self.tr("Overall"),
            "eq": self.tr("EQ"),
            "dynamics": self.tr("Dynamics"),
            "width": self.tr("Width"),
            "loudness": self.tr("Loudness"),
        }
        tips = {
            "amount": self.tr("Scales every aspect of the match"),
            "eq": self.tr("How much of the tonal balance (EQ curve) is matched"),
            "dynamics": self.tr("How much of the reference's dynamics is matched"),
            "width": self.tr("How much of the reference's stereo width is matched"),
            "loudness": self.tr("How much of the loudness difference is matched"),
        }
        self.sliders: dict[str, QSlider] = {}
        self.switches: dict[str, QCheckBox] = {}
        self.values: dict[str, QLabel] = {}
        amounts = QGroupBox(self.tr("Amount"))
        grid = QGridLayout(amounts)
        grid.setColumnStretch(1, 1)
        for row, (key, enabled_field, amount_field) in enumerate(ASPECTS):
            if enabled_field is None:
                label: QWidget = QLabel(names[key])
            else:
                cb = QCheckBox(names[key])
                cb.setChecked(True)
                cb.toggled.connect(
                    lambda on, f=enabled_field: self.options_changed.emit({f: bool(on)})
                )
                self.switches[key] = cb
                label = cb
            label.setToolTip(tips[key])
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(100)
            slider.setToolTip(tips[key])
            slider.setAccessibleName(names[key])
            value = QLabel(self.tr("{value} %").format(value=100))
            value.setMinimumWidth(44)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            slider.valueChanged.connect(
                lambda v, f=amount_field, lab=value: self._amount(f, v, lab)
            )
            self.sliders[key] = slider
            self.values[key] = value
            grid.addWidget(label, row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)

        limits = QGroupBox(self.tr("Limits"))
        form = QFormLayout(limits)
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 4.0)
        self.smoothing.setSingleStep(0.1)
        self.smoothing.setDecimals(2)
        self.smoothing.setSpecialValueText(self.tr("Auto"))
        self.smoothing.setSuffix(self.tr(" oct"))
        self.smoothing.setToolTip(
            self.tr(
                "EQ curve smoothing in octaves; Auto picks it from how much to trust the reference"
            )
        )
        self.smoothing.valueChanged.connect(
            lambda v: self.options_changed.emit({"smoothing_octaves": v if v > 0 else None})
        )
        form.addRow(self.tr("Smoothing"), self.smoothing)
        self.ceiling = QDoubleSpinBox()
        self.ceiling.setRange(-20.0, 0.0)
        self.ceiling.setSingleStep(0.1)
        self.ceiling.setDecimals(1)
        self.ceiling.setValue(-1.0)
        self.ceiling.setSuffix(" dBTP")
        self.ceiling.valueChanged.connect(
            lambda v: self.options_changed.emit({"ceiling_dbtp": float(v)})
        )
        self.limiter = QCheckBox(self.tr("Limiter"))
        self.limiter.setChecked(True)
        self.limiter.toggled.connect(
            lambda on: self.options_changed.emit({"limiter_enabled": bool(on)})
        )
        ceiling_row = QHBoxLayout()
        ceiling_row.addWidget(self.ceiling, 1)
        ceiling_row.addWidget(self.limiter)
        form.addRow(self.tr("Ceiling"), ceiling_row)
        self.max_limiting = QDoubleSpinBox()
        self.max_limiting.setRange(0.0, 24.0)
        self.max_limiting.setSingleStep(1.0)
        self.max_limiting.setDecimals(1)
        self.max_limiting.setValue(DEFAULT_MAX_LIMITING_DB)
        self.max_limiting.setSuffix(" dB")
        self.max_limiting.setToolTip(
            self.tr(
                "Most limiting the loudness target may take; past it the result stays quieter "
                "than the target"
            )
        )
        self.max_limiting.valueChanged.connect(
            lambda v: self.options_changed.emit({"max_limiting_db": float(v)})
        )
        form.addRow(self.tr("Max limiting"), self.max_limiting)
        self.override = QCheckBox(self.tr("Override"))
        self.override.setToolTip(self.tr("Use this loudness instead of the reference's"))
        self.target_lufs = QDoubleSpinBox()
        self.target_lufs.setRange(-70.0, 0.0)
        self.target_lufs.setSingleStep(0.5)
        self.target_lufs.setDecimals(1)
        self.target_lufs.setValue(-14.0)
        self.target_lufs.setSuffix(" LUFS")
        self.target_lufs.setEnabled(False)
        self.override.toggled.connect(self._target_changed)
        self.target_lufs.valueChanged.connect(self._target_changed)
        target_row = QHBoxLayout()
        target_row.addWidget(self.override)
        target_row.addWidget(self.target_lufs, 1)
        form.addRow(self.tr("Target loudness"), target_row)

        self.match_button = QPushButton(self.tr("Match"))
        self.match_button.setObjectName("primary")
        self.match_button.setToolTip(self.tr("Analyse, plan and render the match (Ctrl+M)"))
        self.match_button.clicked.connect(self.match_requested)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.match_button, 1)
        buttons.addWidget(self.cancel_button)
        self.cloud = QCheckBox(self.tr("Process in the cloud"))
        self.cloud.setObjectName("cloud_choice")
        self.cloud.setToolTip(
            self.tr(
                "Upload every target with the references to your audio-style server and "
                "process them there; the jobs panel follows them"
            )
        )
        self.cloud.toggled.connect(self._cloud_toggled)

        lay = QVBoxLayout(self)
        lay.addWidget(amounts)
        lay.addWidget(limits)
        lay.addWidget(self.cloud)
        lay.addLayout(buttons)
        lay.addStretch(1)

    def _cloud_toggled(self, on: bool) -> None:
        self._show_cloud(on)
        self.cloud_toggled.emit(bool(on))

    def _show_cloud(self, on: bool) -> None:
        self.match_button.setText(self.tr("Match in the cloud") if on else self.tr("Match"))

    def set_cloud(self, on: bool) -> None:
        """Show the cloud choice without emitting ``cloud_toggled``."""
        self.cloud.blockSignals(True)
        self.cloud.setChecked(on)
        self.cloud.blockSignals(False)
        self._show_cloud(on)

    def _amount(self, field: str, value: int, label: QLabel) -> None:
        label.setText(self.tr("{value} %").format(value=value))
        self.options_changed.emit({field: float(value)})

    def _target_changed(self, *_: Any) -> None:
        on = self.override.isChecked()
        self.target_lufs.setEnabled(on)
        self.options_changed.emit({"target_lufs": float(self.target_lufs.value()) if on else None})

    def set_options(self, o: MatchOptions) -> None:
        """Show ``o`` without emitting changes."""
        widgets: list[Any] = [
            *self.sliders.values(),
            *self.switches.values(),
            self.smoothing,
            self.ceiling,
            self.limiter,
            self.max_limiting,
            self.override,
            self.target_lufs,
        ]
        for w in widgets:
            w.blockSignals(True)
        for key, enabled_field, amount_field in ASPECTS:
            v = int(round(getattr(o, amount_field)))
            self.sliders[key].setValue(v)
            self.values[key].setText(self.tr("{value} %").format(value=v))
            if enabled_field is not None:
                self.switches[key].setChecked(bool(getattr(o, enabled_field)))
        self.smoothing.setValue(o.smoothing_octaves or 0.0)
        self.ceiling.setValue(o.ceiling_dbtp)
        self.limiter.setChecked(o.limiter_enabled)
        self.max_limiting.setValue(o.max_limiting_db)
        self.override.setChecked(o.target_lufs is not None)
        self.target_lufs.setEnabled(o.target_lufs is not None)
        if o.target_lufs is not None:
            self.target_lufs.setValue(o.target_lufs)
        for w in widgets:
            w.blockSignals(False)

    def set_busy(self, busy: bool, can_match: bool) -> None:
        self.match_button.setEnabled(can_match and not busy)
        self.cancel_button.setEnabled(busy)
