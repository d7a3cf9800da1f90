"""Settings: language (applies on restart), engine device, audio output, output format."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.settings import AppSettings
from app.views.export_dialog import audio_format_names
from app.views.theme import MUTED
from engine.schema.options import CODEC_NAMES


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``apply_to(settings)`` writes the choices back."""

    def __init__(
        self,
        s: AppSettings,
        devices: list[str],
        parent: QWidget | None = None,
        device_note: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.language = QComboBox()
        # language names are shown in their own language on purpose
        self.language.addItem(self.tr("Automatic (system language)"), "auto")
        self.language.addItem("English", "en")  # untranslated: a language's own name
        self.language.addItem("简体中文", "zh")  # untranslated: a language's own name
        self.language.setCurrentIndex(max(0, self.language.findData(s.language)))
        self.device = QComboBox()
        self.device.addItem(self.tr("Automatic"), "auto")
        self.device.addItem(self.tr("CPU"), "cpu")
        self.device.addItem(self.tr("GPU"), "gpu")
        self.device.setCurrentIndex(max(0, self.device.findData(s.engine_device)))
        self.audio = QComboBox()
        self.audio.addItem(self.tr("System default"), "")
        for d in devices:
            self.audio.addItem(d, d)
        idx = self.audio.findData(s.audio_device)
        self.audio.setCurrentIndex(max(0, idx))
        self.format = QComboBox()
        for key, name in audio_format_names().items():
            self.format.addItem(name, key)
        self.format.setCurrentIndex(max(0, self.format.findData(s.output_format)))
        self.codec_safe = QComboBox()
        self.codec_safe.addItem(self.tr("Off"), "")
        for name in CODEC_NAMES:
            self.codec_safe.addItem(codec_label(name), name)
        self.codec_safe.setCurrentIndex(max(0, self.codec_safe.findData(s.codec_safe)))
        self.codec_safe.setToolTip(
            self.tr(
                "Lower the limiter's ceiling until the result stays under it after this "
                "codec's encode and decode (measured)."
            )
        )
        note = QLabel(self.tr("A new language applies after restarting the app."))
        note.setStyleSheet(f"color: {MUTED};")
        form = QFormLayout()
        form.addRow(self.tr("Language"), self.language)
        form.addRow("", note)
        form.addRow(self.tr("Processing device"), self.device)
        self.device_note = QLabel(device_note)  # which device "Automatic" uses here, and why
        self.device_note.setWordWrap(True)
        self.device_note.setStyleSheet(f"color: {MUTED};")
        if device_note:
            form.addRow("", self.device_note)
        form.addRow(self.tr("Audio output"), self.audio)
        form.addRow(self.tr("Default audio format"), self.format)
        form.addRow(self.tr("Codec-safe ceiling"), self.codec_safe)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("OK"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def apply_to(self, s: AppSettings) -> None:
        s.language = str(self.language.currentData())
        s.engine_device = str(self.device.currentData())
        s.audio_device = str(self.audio.currentData())
        s.output_format = str(self.format.currentData())
        s.codec_safe = str(self.codec_safe.currentData())


def codec_label(name: str) -> str:
    """``aac-256`` -> ``AAC 256 kb/s``."""
    codec, _, rate = name.partition("-")
    return f"{codec.upper()} {rate} kb/s"
