"""Export dialog: audio, preset, report, and batch over every target."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models import AUDIO_FORMATS, PRESET_FORMATS, ExportRequest


def audio_format_names() -> dict[str, str]:
    return {
        "wav16": QCoreApplication.translate("ExportDialog", "WAV 16-bit (dithered)"),
        "wav24": QCoreApplication.translate("ExportDialog", "WAV 24-bit (dithered)"),
        "wav32f": QCoreApplication.translate("ExportDialog", "WAV 32-bit float"),
        "flac": QCoreApplication.translate("ExportDialog", "FLAC"),
    }


def preset_format_names() -> dict[str, str]:
    return {
        "json": QCoreApplication.translate("ExportDialog", "JSON (audio-style)"),
        "eqapo": QCoreApplication.translate("ExportDialog", "Equalizer APO"),
        "graphiceq": QCoreApplication.translate("ExportDialog", "GraphicEQ"),
        "csv": QCoreApplication.translate("ExportDialog", "CSV curve"),
        "ir": QCoreApplication.translate("ExportDialog", "Impulse response (WAV)"),
        "ffmpeg": QCoreApplication.translate("ExportDialog", "ffmpeg filter chain"),
    }


class ExportDialog(QDialog):
    """Collects an :class:`ExportRequest`; ``planned`` lists the files it would write."""

    def __init__(
        self,
        folder: str,
        audio_format: str,
        n_targets: int,
        planned: Callable[[ExportRequest], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Export"))
        self.setMinimumWidth(560)
        self._planned = planned
        self.folder = QLineEdit(folder)
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        self.audio = QCheckBox(self.tr("Audio"))
        self.audio.setChecked(True)
        self.format = QComboBox()
        for key, name in audio_format_names().items():
            self.format.addItem(name, key)
        self.format.setCurrentIndex(max(0, list(AUDIO_FORMATS).index(audio_format)))

        self.presets: dict[str, QCheckBox] = {}
        preset_row = QHBoxLayout()
        for key, name in preset_format_names().items():
            cb = QCheckBox(name)
            cb.setChecked(key == "json")
            self.presets[key] = cb
            preset_row.addWidget(cb)
        preset_row.addStretch(1)

        self.report = QCheckBox(self.tr("Report (PNG of the curves and meters + JSON)"))
        self.report.setChecked(True)
        self.batch = QCheckBox(
            self.tr("Batch: match every target in the list ({n})").format(n=n_targets)
        )
        self.batch.setToolTip(
            self.tr(
                "Each target is matched to the reference(s) with the current settings; "
                "band edits apply to the current target only"
            )
        )
        self.batch.setEnabled(n_targets > 1)
        self.album = QCheckBox(
            self.tr("Album mode: keep the tracks' relative loudness and one tonal signature")
        )
        self.album.setToolTip(
            self.tr(
                "The targets are planned together: a quiet track stays quieter by the same "
                "LU, broad tonal differences between tracks are evened out; writes an album "
                "report (loudness, LRA, true peak, tonal distance per track)"
            )
        )

        what = QGroupBox(self.tr("What to write"))
        form = QFormLayout(what)
        form.addRow(self.tr("Folder"), folder_row)
        form.addRow(self.audio, self.format)
        form.addRow(self.tr("Preset"), preset_row)
        form.addRow(self.report)
        form.addRow(self.batch)
        form.addRow(self.album)

        self.files = QListWidget()
        self.files.setMinimumHeight(110)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Export"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(what)
        lay.addWidget(QLabel(self.tr("Files that will be written (existing ones are replaced):")))
        lay.addWidget(self.files, 1)
        lay.addWidget(buttons)
        for w in (self.audio, self.report, self.batch, self.album, *self.presets.values()):
            w.toggled.connect(self._update)
        self.format.currentIndexChanged.connect(self._update)
        self.folder.textChanged.connect(self._update)
        self._update()

    def request(self) -> ExportRequest:
        return ExportRequest(
            folder=self.folder.text().strip(),
            audio=self.audio.isChecked(),
            audio_format=str(self.format.currentData()),
            preset_formats=[k for k in PRESET_FORMATS if self.presets[k].isChecked()],
            report=self.report.isChecked(),
            batch=self.batch.isChecked(),
            album=self.batch.isChecked() and self.album.isChecked(),
        )

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Export folder"), self.folder.text()
        )
        if folder:
            self.folder.setText(folder)

    def _update(self) -> None:
        self.format.setEnabled(self.audio.isChecked())
        self.album.setEnabled(self.batch.isChecked())
        self.files.clear()
        self.files.addItems(self._planned(self.request()))
