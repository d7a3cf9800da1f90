"""The cloud jobs panel: the account line, the jobs with their progress, and their actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models import CloudJobRow
from app.views.theme import MUTED


class JobsPanel(QWidget):
    """Shows :class:`CloudJobRow` s; every button becomes a signal carrying the job's key.

    Signals: ``account_requested``, ``refresh_requested``, ``cancel_requested(key)``,
    ``download_requested(key, folder)``, ``open_requested(key)``.
    """

    account_requested = Signal()
    refresh_requested = Signal()
    cancel_requested = Signal(str)
    download_requested = Signal(str, str)
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobs_panel")
        self.account = QLabel(self.tr("Not signed in"))
        self.account.setWordWrap(True)
        self.account_button = QPushButton(self.tr("Account…"))
        self.account_button.setToolTip(self.tr("Server and sign-in for cloud processing"))
        self.account_button.clicked.connect(self.account_requested)
        top = QHBoxLayout()
        top.addWidget(self.account, 1)
        top.addWidget(self.account_button)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #f0b35a;")
        self.status.hide()

        self.tree = QTreeWidget()
        self.tree.setObjectName("jobs_tree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([self.tr("Job"), self.tr("Progress")])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(1, 104)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self._open())
        self.empty = QLabel(
            self.tr("No cloud jobs. Tick “Process in the cloud” and press Match to send one.")
        )
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {MUTED};")
        # the selected job's details (its stage or error, each result's loudness, where saved)
        self.details = QLabel("")
        self.details.setObjectName("job_details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setStyleSheet(f"color: {MUTED};")
        # at most a few lines tall (scrolls beyond), so the list keeps its room
        self.details_area = QScrollArea()
        self.details_area.setWidget(self.details)
        self.details_area.setWidgetResizable(True)
        self.details_area.setFrameShape(QFrame.Shape.NoFrame)
        self.details_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details_area.setMaximumHeight(5 * self.fontMetrics().lineSpacing() + 6)

        self.cancel_button = QPushButton(self.tr("Cancel job"))
        self.cancel_button.setToolTip(self.tr("Stop the upload or cancel the job on the server"))
        self.cancel_button.clicked.connect(self._cancel)
        self.download_button = QPushButton(self.tr("Download…"))
        self.download_button.setToolTip(self.tr("Save the result audio and preset to a folder"))
        self.download_button.clicked.connect(self._download)
        self.open_button = QPushButton(self.tr("Open result"))
        self.open_button.setToolTip(self.tr("Show the result in the views, like a local match"))
        self.open_button.clicked.connect(self._open)
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.setToolTip(self.tr("List the jobs of this account"))
        self.refresh_button.clicked.connect(self.refresh_requested)
        buttons = QGridLayout()
        buttons.addWidget(self.open_button, 0, 0)
        buttons.addWidget(self.download_button, 0, 1)
        buttons.addWidget(self.cancel_button, 1, 0)
        buttons.addWidget(self.refresh_button, 1, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.empty)
        lay.addWidget(self.details_area)
        lay.addLayout(buttons)
        self._rows: dict[str, CloudJobRow] = {}
        self._items: dict[str, QTreeWidgetItem] = {}
        self.download_folder = ""
        self.set_rows([])

    # -- state ---------------------------------------------------------------------------------

    def state_name(self, state: str) -> str:
        return {
            "uploading": self.tr("uploading"),
            "queued": self.tr("queued"),
            "running": self.tr("running"),
            "canceling": self.tr("canceling"),
            "succeeded": self.tr("finished"),
            "failed": self.tr("failed"),
            "canceled": self.tr("canceled"),
        }.get(state, state)

    def set_account(self, text: str, signed_in: bool) -> None:
        self.account.setText(text)
        self.refresh_button.setEnabled(signed_in)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def set_rows(self, rows: list[CloudJobRow]) -> None:
        """Show ``rows`` (in order), keeping the selection."""
        selected = self.selected_key()
        self._rows = {r.key: r for r in rows}
        for key in [k for k in self._items if k not in self._rows]:
            gone = self._items.pop(key)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(gone))
        for i, r in enumerate(rows):
            item = self._items.get(r.key)
            if item is None:
                item = QTreeWidgetItem()
                item.setData(0, Qt.ItemDataRole.UserRole, r.key)
                self._items[r.key] = item
            idx = self.tree.indexOfTopLevelItem(item)
            if idx != i:
                if idx >= 0:
                    self.tree.takeTopLevelItem(idx)
                self.tree.insertTopLevelItem(i, item)
                self.tree.setItemWidget(item, 1, self._bar())
            bar = self.tree.itemWidget(item, 1)
            if not isinstance(bar, QProgressBar):
                bar = self._bar()
                self.tree.setItemWidget(item, 1, bar)
            item.setText(0, r.name)
            item.setToolTip(0, r.detail or r.name)
            bar.setValue(int(round(1000 * max(0.0, min(1.0, r.progress)))))
            state = self.state_name(r.state)
            bar.setFormat(
                state if r.state in ("succeeded", "failed", "canceled") else f"{state} %p%"
            )
            bar.setToolTip(r.detail or state)
        if selected in self._items:
            self._items[selected].setSelected(True)
        elif rows and self.tree.selectedItems() == []:
            self._items[rows[0].key].setSelected(True)
        self.empty.setVisible(not rows)
        self._update_buttons()

    def _bar(self) -> QProgressBar:
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        bar.setMaximumHeight(18)
        return bar

    def selected_key(self) -> str | None:
        items = self.tree.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)) if items else None

    def select(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            self.tree.clearSelection()
            item.setSelected(True)

    def state_text(self, key: str) -> str:
        """The progress text shown for ``key`` (tests, screenshots)."""
        item = self._items.get(key)
        bar = self.tree.itemWidget(item, 1) if item is not None else None
        return bar.text() if isinstance(bar, QProgressBar) else ""

    def detail_text(self, key: str) -> str:
        """The tooltip of ``key``'s row: the job, its stage or error, its results (tests)."""
        item = self._items.get(key)
        return item.toolTip(0) if item is not None else ""

    def _update_buttons(self) -> None:
        row = self._rows.get(self.selected_key() or "")
        self.details.setText(row.detail if row else "")
        self.details_area.setVisible(bool(row and row.detail))
        self.cancel_button.setEnabled(bool(row and row.can_cancel))
        self.download_button.setEnabled(bool(row and row.can_download))
        self.open_button.setEnabled(bool(row and row.can_open))

    # -- actions -------------------------------------------------------------------------------

    def _cancel(self) -> None:
        key = self.selected_key()
        if key and self._rows[key].can_cancel:
            self.cancel_requested.emit(key)

    def _open(self) -> None:
        key = self.selected_key()
        if key and self._rows[key].can_open:
            self.open_requested.emit(key)

    def _download(self) -> None:
        key = self.selected_key()
        if not key or not self._rows[key].can_download:
            return
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Save the cloud results in"), self.download_folder
        )
        if folder:
            self.download_folder = folder
            self.download_requested.emit(key, folder)
