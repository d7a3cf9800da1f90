"""Dark theme for the widgets and the plots, and the colours that identify each source."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from engine.resources import resource_path

BACKGROUND = "#1b1d21"
PANEL = "#24272c"
BASE = "#15171a"
TEXT = "#d7dae0"
MUTED = "#8b919c"
ACCENT = "#4aa3df"
ERROR_BG = "#5a1f24"
INFO_BG = "#1f3a4d"

ROLE_COLORS = {
    "reference": "#e3a84a",  # amber
    "target": "#4aa3df",  # blue
    "result": "#63c982",  # green
}
SIDE_ALPHA = 170
ICONS = resource_path("icons")
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei")


def role_color(role: str, alpha: int = 255) -> QColor:
    c = QColor(ROLE_COLORS.get(role, TEXT))
    c.setAlpha(alpha)
    return c


def apply_dark_theme(app: QApplication, language: str = "en") -> None:
    """Fusion style with a dark palette; a CJK-capable font for Chinese when installed."""
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#0b0c0e",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: MUTED,
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(MUTED))
    app.setPalette(pal)
    check = (ICONS / "check.svg").as_posix()
    app.setStyleSheet(
        f"""
        QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #3a3f47; }}
        QDockWidget::title {{ background: {PANEL}; padding: 4px; }}
        QGroupBox {{ border: 1px solid #343841; border-radius: 4px; margin-top: 1.2em; }}
        QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; }}
        QPushButton#primary {{ background: {ACCENT}; color: #0b0c0e; font-weight: bold;
                               padding: 6px 14px; border-radius: 4px; }}
        QPushButton#primary:disabled {{ background: #33506a; color: #7d8896; }}
        QTableWidget {{ gridline-color: #343841; }}
        QPushButton:checkable:checked {{ background: #27445a; border: 1px solid {ACCENT};
                                         border-radius: 3px; padding: 3px 8px; }}
        QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid #7a808b;
                                border-radius: 3px; background: {BASE}; }}
        QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT};
                                        image: url({check}); }}
        QCheckBox::indicator:disabled {{ border-color: #454a53; background: {PANEL}; }}
        QCheckBox::indicator:checked:disabled {{ background: #33506a; }}
        """
    )
    font = app.font()
    if language == "zh":
        families = set(QFontDatabase.families())
        for fam in CJK_FAMILIES:
            if fam in families:
                font = QFont(fam, font.pointSize())
                break
    app.setFont(font)
    # antialiasing only where few points are drawn (spectra, match curve): see SMOOTH below
    pg.setConfigOptions(antialias=False, background=BACKGROUND, foreground=TEXT)
