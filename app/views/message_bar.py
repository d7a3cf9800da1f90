"""An in-window message bar for errors and notices (never a crash, never a modal storm)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.views.theme import ERROR_BG, INFO_BG


class MessageBar(QFrame):
    """Shows one message (error or info) until dismissed or replaced."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_bar")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setToolTip(self.tr("Dismiss"))
        self.close_button.clicked.connect(self.hide)
        self.action_button = QPushButton("")
        self.action_button.hide()
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], None] | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = ""
        self.hide()

    def show_message(
        self,
        text: str,
        kind: str = "error",
        action: str = "",
        on_action: Callable[[], None] | None = None,
    ) -> None:
        """Show ``text``; with ``action``, a button of that text calls ``on_action`` (once)
        and dismisses the bar."""
        self.kind = kind
        self._action = on_action if action else None
        self.action_button.setText(action)
        self.action_button.setVisible(bool(action))
        bg = ERROR_BG if kind == "error" else INFO_BG
        self.setStyleSheet(
            f"QFrame#message_bar {{ background: {bg}; border-radius: 4px; }}"
            "QLabel { color: #f3f4f6; }"
        )
        prefix = self.tr("Error: ") if kind == "error" else ""
        self.label.setText(prefix + text)
        self.show()

    def text(self) -> str:
        return self.label.text()

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()
