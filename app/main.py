"""Composition root of the desktop app: QApplication, theme, translators, window."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.audio.output import AudioOutput, create_output
from app.audio.player import Player
from app.controllers.cloud_controller import CloudController
from app.controllers.delivery_controller import DeliveryController
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
    delivery = DeliveryController(controller)
    return MainWindow(
        controller,
        store,
        "" if output.available else output.error,
        cloud=cloud,
        delivery=delivery,
    )


def _smoke_exit(app: QApplication, window: MainWindow) -> None:
    """Print how long after the process start the window was shown, then quit."""
    try:  # Linux: this process's start time (clock ticks after boot), field 22 of stat
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        age = f"{uptime_s - ticks / os.sysconf('SC_CLK_TCK'):.2f} s"
    except (OSError, ValueError, IndexError):
        age = "unknown"
    print(f"smoke: window shown={window.isVisible()} after {age}", flush=True)
    app.exit(0 if window.isVisible() else 1)


def run_gui(references: list[str], targets: list[str]) -> int:
    """Open the main window with optional files; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # the CPU fallback of the "Automatic" device is shown in the settings, not on the terminal
    logging.getLogger("engine.backends").setLevel(logging.WARNING)
    app = create_app()
    window = build_window(app, SettingsStore())
    window.show()
    if os.environ.get("AUDIO_STYLE_SMOKE_EXIT") == "1":  # packaging smoke test (tests/packaging)
        QTimer.singleShot(0, lambda: _smoke_exit(app, window))
    if references:
        window.c.add_files("reference", references)
    if targets:
        window.c.add_files("target", targets)
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(run_gui([], []))
