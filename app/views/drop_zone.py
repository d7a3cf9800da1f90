"""Drop zones for references and targets: drag files from the file manager, or browse."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views.theme import MUTED, role_color

AUDIO_SUFFIXES = (
    ".wav",
    ".flac",
    ".aif",
    ".aiff",
    ".ogg",
    ".mp3",
    ".w64",
    ".rf64",
    ".caf",
    ".m4a",
    ".mp4",
    ".aac",
    ".opus",
    ".wma",
)


def local_files(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[str]:
    """Local file paths carried by a drag (URLs of the file manager)."""
    md = event.mimeData()
    if md is None or not md.hasUrls():
        return []
    return [u.toLocalFile() for u in md.urls() if u.isLocalFile() and u.toLocalFile()]


class DropZone(QFrame):
    """A titled drop area with the list of its files.

    Signals: ``files_dropped(list[str])`` (drop or browse), ``remove_requested(str)``,
    ``current_changed(str)`` (the file chosen to show and play), ``weight_changed(str, float)``
    (``weights=True``: the selected file's weight, 0.05-1).
    """

    files_dropped = Signal(list)
    browse_requested = Signal()
    remove_requested = Signal(str)
    current_changed = Signal(str)
    weight_changed = Signal(str, float)

    def __init__(
        self,
        role: str,
        title: str,
        hint: str,
        parent: QWidget | None = None,
        *,
        weights: bool = False,
    ) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName(f"drop_{role}")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._color = role_color(role).name()
        self._set_highlight(False)

        self.title = QLabel(title)
        self.title.setStyleSheet(f"color: {self._color}; font-weight: bold;")
        self.hint = QLabel(hint)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {MUTED};")
        self.browse = QPushButton(self.tr("Browse…"))
        self.browse.clicked.connect(self.browse_requested)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(48)
        self.list.currentItemChanged.connect(self._on_current)
        self.remove = QPushButton(self.tr("Remove"))
        self.remove.setEnabled(False)
        self.remove.clicked.connect(self._on_remove)

        self.weight: QDoubleSpinBox | None = None
        self._weights: dict[str, float] = {}
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.browse)
        foot = QHBoxLayout()
        if weights:  # several references: how far each one's edge of the range counts
            self.weight = QDoubleSpinBox()
            self.weight.setRange(0.05, 1.0)
            self.weight.setSingleStep(0.05)
            self.weight.setDecimals(2)
            self.weight.setValue(1.0)
            self.weight.setEnabled(False)
            self.weight.setToolTip(
                self.tr(
                    "Weight of the selected reference: with several references the target is "
                    "corrected only outside their range; a lower weight narrows this "
                    "reference's side of the range"
                )
            )
            self.weight.valueChanged.connect(self._on_weight)
            foot.addWidget(QLabel(self.tr("Weight")))
            foot.addWidget(self.weight)
        foot.addStretch(1)
        foot.addWidget(self.remove)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addLayout(head)
        lay.addWidget(self.hint)
        lay.addWidget(self.list, 1)
        lay.addLayout(foot)

    def _set_highlight(self, on: bool) -> None:
        border = self._color if on else "#3a3f47"
        style = "solid" if on else "dashed"
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ border: 2px {style} {border}; border-radius: 6px; }}"
        )

    def set_files(
        self, paths: list[str], current: str | None, weights: dict[str, float] | None = None
    ) -> None:
        """Show ``paths``; ``current`` is selected (shown and played); ``weights`` (per path,
        default 1) are shown next to the names."""
        self._weights = dict(weights or {})
        self.list.blockSignals(True)
        self.list.clear()
        for p in paths:
            w = self._weights.get(p, 1.0)
            name = Path(p).name if w == 1.0 else f"{Path(p).name}  ×{w:.2f}"
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.list.addItem(item)
            if p == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.remove.setEnabled(bool(paths))
        self._show_weight(current if current in paths else None)

    def _show_weight(self, path: str | None) -> None:
        if self.weight is None:
            return
        self.weight.blockSignals(True)
        self.weight.setValue(self._weights.get(path, 1.0) if path else 1.0)
        self.weight.blockSignals(False)
        self.weight.setEnabled(path is not None and self.list.count() > 1)

    def _on_weight(self, value: float) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.weight_changed.emit(item.data(Qt.ItemDataRole.UserRole), float(value))

    def files(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _on_current(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        if item is not None:
            self._show_weight(item.data(Qt.ItemDataRole.UserRole))
            self.current_changed.emit(item.data(Qt.ItemDataRole.UserRole))

    def _on_remove(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.remove_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    # -- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if local_files(event):
            event.acceptProposedAction()
            self._set_highlight(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if local_files(event):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:  # noqa: N802
        self._set_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._set_highlight(False)
        files = local_files(event)
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.files_dropped.emit(files)
