"""Composition root of the desktop app: QApplication, theme, translators, window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from app.audio.output import AudioOutput, create_output
from app.audio.player import Player
from app.controllers.cloud_controller import CloudController
from app.controllers.main_controller import MainController
from app.i18n import detect_language, install_translators
from app.settings import SettingsStore
from app.views.main_window import MainWindow
from app.views.theme import apply_dark_theme

log = logging.getLogger(__name__)


def create_app(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (existing one reused), named for QSettings."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QCoreApplication.setOrganizationName("audio-style")
    QCoreApplication.setApplicationName("audio-style")
    QApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    return QApplication(list(argv) if argv is not None else [sys.argv[0]])


def build_window(
    app: QApplication,
    store: SettingsStore,
    output: AudioOutput | None = None,
    language: str | None = None,
    engine: object | None = None,
) -> MainWindow:
    """Settings -> language -> theme -> player -> controller -> window (no exec)."""
    settings = store.load()
    lang = language or detect_language(settings.language)
    install_translators(app, lang)
    apply_dark_theme(app, lang)
    output = output if output is not None else create_output(settings.audio_device)
    player = Player(output)
    controller = MainController(settings, player, engine)  # type: ignore[arg-type]
    cloud = CloudController(controller, persist=lambda: store.save(settings))
    return MainWindow(controller, store, "" if output.available else output.error, cloud=cloud)


def run_gui(references: list[str], targets: list[str]) -> int:
    """Open the main window with optional files; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app()
    window = build_window(app, SettingsStore())
    window.show()
    if references:
        window.c.add_files("reference", references)
    if targets:
        window.c.add_files("target", targets)
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(run_gui([], []))
