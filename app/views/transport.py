"""Transport: play/pause, A/B/C source switch, loop, loudness-matched toggle, time."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QWidget,
)

from app.views.theme import role_color


def fmt_time(seconds: float) -> str:
    """``m:ss.t``"""
    seconds = max(0.0, seconds)
    m = int(seconds // 60)
    s = seconds - 60 * m
    return f"{m}:{s:04.1f}"


class TransportBar(QWidget):
    """Signals: ``play_toggled``, ``source_selected(role)``, ``loop_toggled(bool)``,
    ``loudness_match_toggled(bool)``."""

    play_toggled = Signal()
    source_selected = Signal(str)
    loop_toggled = Signal(bool)
    loudness_match_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play = QPushButton(self.tr("Play"))
        self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play.setToolTip(self.tr("Play / pause (Space)"))
        self.play.clicked.connect(self.play_toggled)
        self._playing = False
        self.sources = QButtonGroup(self)
        self.sources.setExclusive(True)
        self.source_buttons: dict[str, QPushButton] = {}
        labels = {
            "target": self.tr("1  Target"),
            "result": self.tr("2  Result"),
            "reference": self.tr("3  Reference"),
        }
        tips = {
            "target": self.tr("Listen to the target (key 1)"),
            "result": self.tr("Listen to the matched result (key 2)"),
            "reference": self.tr("Listen to the reference (key 3)"),
        }
        for role in ("target", "result", "reference"):
            b = QPushButton(labels[role])
            b.setCheckable(True)
            b.setToolTip(tips[role])
            color = role_color(role).name()
            b.setStyleSheet(
                f"QPushButton:checked {{ background: {color}; color: #0b0c0e; font-weight: bold; }}"
            )
            b.clicked.connect(lambda _=False, r=role: self.source_selected.emit(r))
            self.sources.addButton(b)
            self.source_buttons[role] = b
        self.source_buttons["target"].setChecked(True)
        self.loop = QPushButton(self.tr("Loop"))
        self.loop.setCheckable(True)
        self.loop.setToolTip(self.tr("Loop the selected region (L)"))
        self.loop.toggled.connect(self.loop_toggled)
        self.matched = QPushButton(self.tr("Loudness-matched"))
        self.matched.setCheckable(True)
        self.matched.setChecked(True)
        self.matched.setToolTip(
            self.tr("Play every source at the same integrated loudness, so louder never wins")
        )
        self.matched.toggled.connect(self.loudness_match_toggled)
        self.time = QLabel(fmt_time(0) + " / " + fmt_time(0))
        self.time.setMinimumWidth(120)
        self.audio_status = QLabel("")
        self.audio_status.setObjectName("audio_status")
        self.audio_status.setStyleSheet("color: #f0b45a;")
        self.audio_status.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.play)
        for b in self.source_buttons.values():
            lay.addWidget(b)
        lay.addWidget(self.loop)
        lay.addWidget(self.matched)
        lay.addWidget(self.time)
        lay.addWidget(self.audio_status, 1)

    def set_playing(self, playing: bool) -> None:
        if playing == self._playing:
            return
        self._playing = playing
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play.setIcon(self.style().standardIcon(icon))
        self.play.setText(self.tr("Pause") if playing else self.tr("Play"))

    def set_source(self, role: str) -> None:
        b = self.source_buttons.get(role)
        if b is not None and not b.isChecked():
            b.setChecked(True)

    def set_time(self, pos_s: float, length_s: float) -> None:
        text = f"{fmt_time(pos_s)} / {fmt_time(length_s)}"
        if text != self.time.text():
            self.time.setText(text)

    def set_audio_error(self, message: str) -> None:
        self.audio_status.setText(message)
        self.audio_status.setToolTip(message)

    def set_available(self, roles: set[str]) -> None:
        for role, b in self.source_buttons.items():
            b.setEnabled(role in roles)


__all__ = ["TransportBar", "fmt_time"]
