"""The cloud account: server URL, account name, password; sign in and sign out.

The password is handed to the controller and cleared from the field at once; nothing here is
stored (the controller keeps the server and the name in the settings, the session in the
system keyring or a private file).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views.theme import MUTED


class AccountDialog(QDialog):
    """Emits ``login_requested(server, name, password)`` and ``logout_requested``; the window
    reports back with :meth:`set_state` and :meth:`show_error`."""

    login_requested = Signal(str, str, str)
    logout_requested = Signal()

    def __init__(
        self, server: str, username: str, message: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("account_dialog")
        self.setWindowTitle(self.tr("Cloud account"))
        self.setMinimumWidth(460)
        self.server = QLineEdit(server)
        self.server.setPlaceholderText("https://audio.example.com")  # untranslated: a URL
        self.username = QLineEdit(username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self._login)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #f0b35a;")
        self.message.setVisible(bool(message))
        note = QLabel(
            self.tr(
                "Your session is kept in the system keyring (or a file only you can read); "
                "the password is not stored."
            )
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {MUTED};")
        form = QFormLayout()
        form.addRow(self.tr("Server"), self.server)
        form.addRow(self.tr("Account"), self.username)
        form.addRow(self.tr("Password"), self.password)
        self.login_button = QPushButton(self.tr("Sign in"))
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self._login)
        self.logout_button = QPushButton(self.tr("Sign out"))
        self.logout_button.clicked.connect(self.logout_requested)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Close"))
        buttons.addButton(self.login_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.logout_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.state)
        lay.addWidget(self.message)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(buttons)

    def _login(self) -> None:
        password = self.password.text()
        self.password.clear()
        self.message.hide()
        self.login_button.setEnabled(False)
        self.login_requested.emit(
            self.server.text().strip(), self.username.text().strip(), password
        )

    def set_state(self, text: str, signed_in: bool) -> None:
        self.state.setText(text)
        self.login_button.setEnabled(True)
        self.logout_button.setEnabled(signed_in)

    def show_error(self, text: str) -> None:
        self.login_button.setEnabled(True)
        self.message.setText(text)
        self.message.show()
