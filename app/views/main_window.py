"""The main window: drop zones, controls, transport, the five views, menus and shortcuts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QCoreApplication, QDeadlineTimer, QEventLoop, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QColor, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.views.account_dialog import AccountDialog
from app.views.controls_panel import ControlsPanel
from app.views.curve_view import CurveView
from app.views.delivery_panel import DeliveryPanel
from app.views.drop_zone import DropZone
from app.views.dynamics_view import DynamicsView
from app.views.export_dialog import ExportDialog
from app.views.jobs_panel import JobsPanel
from app.views.loudness_view import LoudnessView, ShortTermView
from app.views.message_bar import MessageBar
from app.views.settings_dialog import SettingsDialog
from app.views.spectrum_view import SpectrumView
from app.views.theme import BACKGROUND
from app.views.transport import TransportBar
from app.views.waveform_view import WaveformView

if TYPE_CHECKING:
    from app.controllers.cloud_controller import CloudController
    from app.controllers.delivery_controller import DeliveryController
    from app.controllers.main_controller import MainController
    from app.settings import SettingsStore

AUDIO_FILTER_EXTS = (
    "*.wav *.flac *.aif *.aiff *.ogg *.mp3 *.w64 *.rf64 *.caf *.m4a *.mp4 *.aac *.opus *.wma"
)
UI_TICK_MS = 33


class MainWindow(QMainWindow):
    """Shows the controller's state; every user action goes to the controller."""

    def __init__(
        self,
        controller: MainController,
        store: SettingsStore | None = None,
        audio_error: str = "",
        parent: QWidget | None = None,
        cloud: CloudController | None = None,
        delivery: DeliveryController | None = None,
    ) -> None:
        super().__init__(parent)
        self.c = controller
        self.cloud = cloud
        self.delivery = delivery
        self.store = store
        self.account_dialog: AccountDialog | None = None
        self.setObjectName("main_window")
        self.setWindowTitle(self.tr("audio-style — reference matching"))
        self.resize(1500, 940)

        # central: message bar, transport, waveform above the analysis views
        self.message = MessageBar()
        self.transport = TransportBar()
        self.transport.set_audio_error(audio_error)
        self.waveform = WaveformView()
        self.spectrum = SpectrumView()
        self.curve = CurveView()
        self.loudness = LoudnessView()
        self.short_term = ShortTermView()
        self.dynamics = DynamicsView()
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.spectrum)
        top.addWidget(self.curve)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.short_term)
        bottom.addWidget(self.dynamics)
        self.views = QSplitter(Qt.Orientation.Vertical)
        self.views.setObjectName("views")
        self.views.addWidget(self.waveform)
        self.views.addWidget(top)
        self.views.addWidget(bottom)
        self.views.setSizes([200, 420, 320])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.setSpacing(4)
        lay.addWidget(self.message)
        lay.addWidget(self.transport)
        lay.addWidget(self.views, 1)
        self.setCentralWidget(central)

        # docks: files (left), controls (right)
        self.reference_zone = DropZone(
            "reference",
            self.tr("Reference"),
            self.tr("Drop the track(s) whose sound you want here"),
            weights=True,
        )
        self.target_zone = DropZone(
            "target", self.tr("Targets"), self.tr("Drop your own track(s) here; several = batch")
        )
        files = QWidget()
        fl = QVBoxLayout(files)
        fl.setContentsMargins(4, 4, 4, 4)
        fl.addWidget(self.reference_zone, 1)
        fl.addWidget(self.target_zone, 1)
        self.files_dock = QDockWidget(self.tr("Files"), self)
        self.files_dock.setObjectName("files_dock")
        self.files_dock.setWidget(files)
        self.files_dock.setMinimumWidth(250)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.files_dock)
        self.controls = ControlsPanel()
        self.controls_dock = QDockWidget(self.tr("Match"), self)
        self.controls_dock.setObjectName("controls_dock")
        self.controls_dock.setWidget(self.controls)
        self.controls_dock.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.controls_dock)
        self.meters_dock = QDockWidget(self.tr("Loudness"), self)
        self.meters_dock.setObjectName("meters_dock")
        self.meters_dock.setWidget(self.loudness)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.meters_dock)
        self.resizeDocks(
            [self.controls_dock, self.meters_dock], [360, 420], Qt.Orientation.Vertical
        )
        self.delivery_panel = DeliveryPanel()
        self.delivery_dock = QDockWidget(self.tr("Delivery"), self)
        self.delivery_dock.setObjectName("delivery_dock")
        self.delivery_dock.setWidget(self.delivery_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.delivery_dock)
        self.tabifyDockWidget(self.meters_dock, self.delivery_dock)
        self.meters_dock.raise_()
        self.jobs_panel = JobsPanel()
        self.jobs_dock = QDockWidget(self.tr("Cloud jobs"), self)
        self.jobs_dock.setObjectName("jobs_dock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.jobs_dock)
        self.splitDockWidget(self.files_dock, self.jobs_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.files_dock, self.jobs_dock], [560, 300], Qt.Orientation.Vertical)
        self.jobs_dock.setVisible(cloud is not None)

        # status bar: task text, progress, cancel
        self.status_text = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.c.cancel)
        sb = self.statusBar()
        sb.addWidget(self.status_text, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

        self._build_menus()
        self._connect()
        self.controls.set_options(self.c.options)
        self.transport.matched.setChecked(self.c.player.loudness_match)
        self._pending: dict[str, None] = {}
        self._ui_timer = QTimer(self)
        self._ui_timer.setInterval(0)
        self._ui_timer.timeout.connect(self._run_ui_step)
        self._tick = QTimer(self)
        self._tick.setInterval(UI_TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()
        self._refresh_files()
        self._on_session()
        self._on_result()
        self._on_preset()
        self.restore_window_state()

    # -- construction ------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu(self.tr("&File"))
        self.open_reference_action = self._action(
            self.tr("Open &reference…"), lambda: self.open_files("reference"), "Ctrl+R"
        )
        self.open_target_action = self._action(
            self.tr("&Open target…"),
            lambda: self.open_files("target"),
            QKeySequence.StandardKey.Open,
        )
        m.addAction(self.open_reference_action)
        m.addAction(self.open_target_action)
        self.recent_menu = m.addMenu(self.tr("Recent &files"))
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        self.export_action = self._action(self.tr("&Export…"), self.open_export, "Ctrl+E")
        m.addAction(self.export_action)
        m.addSeparator()
        m.addAction(self._action(self.tr("&Settings…"), self.open_settings, "Ctrl+,"))
        m.addSeparator()
        m.addAction(self._action(self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit))

        m = mb.addMenu(self.tr("&Match"))
        self.match_action = self._action(self.tr("&Match"), self.match, "Ctrl+M")
        self.cancel_action = self._action(self.tr("&Cancel"), self.c.cancel, "Esc")
        m.addAction(self.match_action)
        m.addAction(self.cancel_action)

        m = mb.addMenu(self.tr("&Playback"))
        self.play_action = self._action(self.tr("Play / pause"), self.toggle_play, "Space")
        m.addAction(self.play_action)
        m.addSeparator()
        self.source_actions = {
            "target": self._action(self.tr("Target"), lambda: self.select_source("target"), "1"),
            "result": self._action(self.tr("Result"), lambda: self.select_source("result"), "2"),
            "reference": self._action(
                self.tr("Reference"), lambda: self.select_source("reference"), "3"
            ),
        }
        for a in self.source_actions.values():
            m.addAction(a)
        m.addSeparator()
        self.loop_action = self._action(self.tr("Loop"), self.toggle_loop, "L")
        m.addAction(self.loop_action)
        self.matched_action = self._action(
            self.tr("Loudness-matched"), lambda: self.transport.matched.toggle()
        )
        m.addAction(self.matched_action)

        m = mb.addMenu(self.tr("&Cloud"))
        self.cloud_action = self._action(
            self.tr("Process in the &cloud"), lambda on=False: self._set_cloud(bool(on))
        )
        self.cloud_action.setCheckable(True)
        m.addAction(self.cloud_action)
        m.addAction(self._action(self.tr("&Account…"), lambda: self.open_account()))
        m.addAction(self.jobs_dock.toggleViewAction())
        m.setEnabled(self.cloud is not None)

        m = mb.addMenu(self.tr("&View"))
        m.addAction(self.files_dock.toggleViewAction())
        m.addAction(self.controls_dock.toggleViewAction())
        m.addAction(self.meters_dock.toggleViewAction())
        m.addAction(self.delivery_dock.toggleViewAction())
        m.addAction(self.jobs_dock.toggleViewAction())
        m = mb.addMenu(self.tr("&Help"))
        m.addAction(self._action(self.tr("&About audio-style"), self.about))

    def _connect(self) -> None:
        c = self.c
        for zone in (self.reference_zone, self.target_zone):
            zone.files_dropped.connect(lambda paths, r=zone.role: self.c.add_files(r, paths))
            zone.browse_requested.connect(lambda r=zone.role: self.open_files(r))
            zone.remove_requested.connect(lambda p, r=zone.role: self.c.remove_file(r, p))
            zone.current_changed.connect(lambda p, r=zone.role: self.c.set_current(r, p))
        self.reference_zone.weight_changed.connect(self._set_reference_weight)
        self.controls.options_changed.connect(lambda ch: self.c.set_options(**ch))
        self.controls.match_requested.connect(self.match)
        self.controls.cloud_toggled.connect(self._set_cloud)
        self.controls.cancel_requested.connect(c.cancel)
        self.curve.band_edited.connect(c.set_band)
        self.waveform.loop_changed.connect(lambda a, b: self.c.set_loop_s(a, b))
        self.waveform.seek_requested.connect(lambda s: self.c.player.seek_s(s))
        self.transport.play_toggled.connect(self.toggle_play)
        self.transport.source_selected.connect(self.select_source)
        self.transport.loop_toggled.connect(self._set_looping)
        self.transport.loudness_match_toggled.connect(c.set_loudness_match)
        c.files_changed.connect(self._refresh_files)
        c.session_changed.connect(self._on_session)
        c.result_changed.connect(self._on_result)
        c.preset_changed.connect(self._on_preset)
        c.preview_ready.connect(self._on_preview)
        c.busy_changed.connect(self._on_busy)
        c.task_started.connect(self._on_task_started)
        c.task_progress.connect(self._on_task_progress)
        c.error.connect(lambda text: self.message.show_message(text, "error"))
        c.info.connect(lambda text: self.statusBar().showMessage(text, 6000))
        c.export_done.connect(self._on_exported)
        if self.delivery is not None:
            self.delivery.changed.connect(self._on_delivery)
        cl = self.cloud
        if cl is None:
            self.controls.cloud.hide()
            return
        p = self.jobs_panel
        p.account_requested.connect(lambda: self.open_account())
        p.refresh_requested.connect(cl.refresh)
        p.cancel_requested.connect(cl.cancel)
        p.download_requested.connect(cl.download)
        p.open_requested.connect(cl.open)
        cl.account_changed.connect(self._on_account)
        cl.jobs_changed.connect(lambda: self.jobs_panel.set_rows(cl.rows()))
        cl.status_changed.connect(self.jobs_panel.set_status)
        cl.enabled_changed.connect(self._on_cloud_enabled)
        cl.suggestion.connect(self._on_suggestion)
        cl.offer_local.connect(self._offer_local)
        cl.login_needed.connect(lambda text: self.open_account(text))
        cl.login_result.connect(self._on_login_result)
        cl.notice.connect(lambda text: self.message.show_message(text, "info"))
        self._on_account()

    # -- user actions ------------------------------------------------------------------------

    def match(self) -> None:
        """Match here, or in the cloud when that is chosen."""
        if self.cloud is not None and self.cloud.enabled:
            self.jobs_dock.show()
            self.cloud.submit()
        else:
            self.c.match()

    def _set_cloud(self, on: bool) -> None:
        if self.cloud is not None:
            self.cloud.set_enabled(on)

    def _on_cloud_enabled(self, on: bool) -> None:
        self.controls.set_cloud(on)
        self.cloud_action.setChecked(on)
        if on:
            self.jobs_dock.show()
            if self.message.isVisible() and self.message.kind == "suggestion":
                self.message.hide()

    def open_account(self, message: str = "") -> AccountDialog | None:
        """The account dialog (non-modal; one at a time)."""
        cl = self.cloud
        if cl is None:
            return None
        dlg = self.account_dialog
        if dlg is None:
            s = self.c.settings
            dlg = AccountDialog(s.cloud_server, s.cloud_username, message, self)
            dlg.login_requested.connect(cl.login)
            dlg.logout_requested.connect(cl.logout)
            dlg.finished.connect(lambda _=0: setattr(self, "account_dialog", None))
            self.account_dialog = dlg
        dlg.set_state(cl.account_text, cl.signed_in)
        if message:
            dlg.show_error(message)
        dlg.show()
        dlg.raise_()
        return dlg

    def _on_account(self) -> None:
        cl = self.cloud
        if cl is None:
            return
        self.jobs_panel.set_account(cl.account_text, cl.signed_in)
        if self.account_dialog is not None:
            self.account_dialog.set_state(cl.account_text, cl.signed_in)

    def _on_login_result(self, ok: bool, text: str) -> None:
        dlg = self.account_dialog
        if dlg is None or self.cloud is None:
            return
        if ok:
            dlg.set_state(text, True)
            dlg.accept()
        elif self.cloud.signed_in or text == self.cloud.account_text:
            dlg.set_state(self.cloud.account_text, self.cloud.signed_in)
        else:
            dlg.show_error(text)

    def _on_suggestion(self, text: str) -> None:
        if not text:
            if self.message.kind == "suggestion":
                self.message.hide()
            return
        self.message.show_message(
            text, "suggestion", self.tr("Process in the cloud"), lambda: self._set_cloud(True)
        )

    def _offer_local(self, reason: str) -> None:
        cl = self.cloud
        assert cl is not None
        self.message.show_message(
            self.tr(
                "Cloud processing is not possible right now: {reason}\nYour files and settings "
                "are unchanged; you can process on this computer instead."
            ).format(reason=reason),
            "error",
            self.tr("Process on this computer"),
            cl.process_locally,
        )

    def open_files(self, role: str) -> None:
        title = (
            self.tr("Open reference tracks")
            if role == "reference"
            else self.tr("Open target tracks")
        )
        filt = (
            self.tr("Audio files ({exts})").format(exts=AUDIO_FILTER_EXTS)
            + ";;"
            + self.tr("All files (*)")
        )
        start = (
            str(Path(self.c.settings.recent_files[0].path).parent)
            if self.c.settings.recent_files
            else ""
        )
        paths, _ = QFileDialog.getOpenFileNames(self, title, start, filt)
        if paths:
            self.c.add_files(role, paths)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.c.settings.recent_files
        if not recent:
            a = self.recent_menu.addAction(self.tr("(none)"))
            a.setEnabled(False)
            return
        for r in recent:
            label = (
                self.tr("Reference: {name}") if r.role == "reference" else self.tr("Target: {name}")
            ).format(name=Path(r.path).name)
            a = self.recent_menu.addAction(label)
            a.setToolTip(r.path)
            a.triggered.connect(lambda _=False, p=r.path, role=r.role: self.c.add_files(role, [p]))

    def toggle_play(self) -> None:
        if not self.c.player.output.available:
            self.message.show_message(
                self.c.player.output.error or self.tr("No audio output."), "info"
            )
            return
        self.c.player.toggle()

    def select_source(self, role: str) -> None:
        self.c.select_source(role)
        self.transport.set_source(self.c.player.role)

    def toggle_loop(self) -> None:
        self.transport.loop.toggle()

    def _set_looping(self, on: bool) -> None:
        self.c.player.set_looping(on)
        a, b = self.c.loop_s
        if on and self.c.sample_rate and not (a <= self.c.player.position / self.c.sample_rate < b):
            self.c.player.seek_s(a)

    def report_image(self) -> QImage:
        """The PNG report: the views as on screen, with the meters table beside them."""
        views = self.views.grab()
        meters = self.loudness.table.grab()
        pad = 12
        w = views.width() + pad + meters.width() + pad
        h = max(views.height(), meters.height() + pad)
        image = QImage(w, h, QImage.Format.Format_RGB32)
        image.fill(QColor(BACKGROUND))
        p = QPainter(image)
        p.drawPixmap(0, 0, views)
        p.drawPixmap(views.width() + pad, pad, meters)
        p.end()
        return image

    def open_export(self) -> ExportDialog | None:
        if not self.c.has_result():
            self.message.show_message(self.tr("Match first, then export."), "info")
            return None
        s = self.c.settings
        folder = s.export_folder or str(Path(self.c.current_target or ".").parent)
        dlg = ExportDialog(
            folder, s.output_format, len(self.c.targets), self.c.planned_outputs, self
        )
        dlg.setModal(True)
        dlg.accepted.connect(lambda: self.c.export(dlg.request(), self.report_image()))
        dlg.open()
        return dlg

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(
            self.c.settings, self.c.player.output.devices(), self, self.c.device_note()
        )

        def apply() -> None:
            old_lang = self.c.settings.language
            old_device = self.c.settings.audio_device
            dlg.apply_to(self.c.settings)
            if self.c.settings.audio_device != old_device:
                self.c.set_audio_device(self.c.settings.audio_device)
            self.c.set_options(
                device=self.c.settings.engine_device,
                codec_safe=self.c.settings.codec_safe or None,
            )
            if self.store is not None:
                self.store.save(self.c.settings)
            if self.c.settings.language != old_lang:
                self.message.show_message(
                    self.tr("The new language applies after restarting audio-style."), "info"
                )

        dlg.accepted.connect(apply)
        dlg.open()
        return dlg

    def about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About audio-style"),
            self.tr(
                "audio-style matches the EQ, loudness, dynamics and stereo width of your track "
                "to a reference track."
            ),
        )

    # -- controller signals ------------------------------------------------------------------

    def _set_reference_weight(self, path: str, weight: float) -> None:
        self.c.set_reference_weight(path, weight)
        self._schedule("spectrum")  # the references' range follows the weights

    def _refresh_files(self) -> None:
        self.reference_zone.set_files(
            self.c.references, self.c.current_reference, self.c.reference_weights
        )
        self.target_zone.set_files(self.c.targets, self.c.current_target)
        self._update_enabled()

    def _update_enabled(self) -> None:
        busy = self.c.busy
        self.controls.set_busy(busy, self.c.can_match())
        self.match_action.setEnabled(self.c.can_match() and not busy)
        self.export_action.setEnabled(self.c.has_result() and not busy)
        roles = {r for r in ("target", "result", "reference") if self.c.player.has(r)}
        self.transport.set_available(roles)

    # The views are refreshed one per event-loop turn (each followed by its own repaint), so
    # a big update never holds the GUI thread for long: see the responsiveness test.

    def _schedule(self, *views: str) -> None:
        for v in views:
            self._pending[v] = None
        if not self._ui_timer.isActive():
            self._ui_timer.start()

    @property
    def ui_pending(self) -> bool:
        """True while view refreshes are still queued."""
        return bool(self._pending)

    def wait_idle(self, timeout_ms: int = 60000) -> bool:
        """Until background work and view refreshes are done (scripts, screenshots)."""
        if not self.c.wait_idle(timeout_ms):
            return False
        deadline = QDeadlineTimer(timeout_ms)
        while self._pending and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        return not self._pending

    def _run_ui_step(self) -> None:
        if not self._pending:
            self._ui_timer.stop()
            return
        view = next(iter(self._pending))
        del self._pending[view]
        c = self.c
        roles = ("reference", "target", "result")
        if view == "waveform":
            for role in roles:
                self.waveform.set_overview(role, c.overview(role))
            self.waveform.set_length(c.length_s())
            self.waveform.set_loop(*c.loop_s)
        elif view == "spectrum":
            self.spectrum.set_analyses({r: c.analysis(r) for r in roles})
            self.spectrum.set_reference_range(c.reference_range())
        elif view == "meters":
            for role in roles:
                self.loudness.set_analysis(role, c.analysis(role))
        elif view == "short_term":
            self.short_term.set_analyses({r: c.analysis(r) for r in roles})
        elif view == "dynamics":
            self.dynamics.set_analyses({r: c.analysis(r) for r in roles})
        elif view == "curve":
            self.curve.set_preset(c.preset)
        if not self._pending:
            self._ui_timer.stop()

    def _on_session(self) -> None:
        self._refresh_files()
        self.transport.set_source(self.c.player.role)
        self._schedule("waveform", "meters", "spectrum", "curve", "short_term", "dynamics")

    def _on_result(self) -> None:
        self._update_enabled()
        self._schedule("waveform", "meters", "spectrum", "short_term", "dynamics")

    def _on_preset(self) -> None:
        self._schedule("curve")
        if self.delivery is not None:
            self.delivery_panel.set_suitability(self.delivery.suitability)

    def _on_delivery(self) -> None:
        d = self.delivery
        assert d is not None
        if d.running:
            self.delivery_panel.set_running()
        else:
            self.delivery_panel.set_report(d.report)
        self.delivery_panel.set_suitability(d.suitability)

    def show_delivery(self) -> None:
        """Bring the Delivery panel to the front of its dock tabs."""
        self.delivery_dock.show()
        self.delivery_dock.raise_()

    def _on_preview(self, start_s: float, end_s: float) -> None:
        self.statusBar().showMessage(
            self.tr(
                "Preview updated for {start}–{end} s; the full render happens on export."
            ).format(start=f"{start_s:.1f}", end=f"{end_s:.1f}"),
            6000,
        )

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if not busy:
            self.status_text.setText("")
            self.progress.setValue(0)
        self._update_enabled()

    def _on_task_started(self, kind: str, label: str) -> None:
        self.status_text.setText(label)
        self.progress.setValue(0)
        if kind in ("match", "export", "batch"):
            self.message.hide()

    def _on_task_progress(self, text: str, fraction: float) -> None:
        self.status_text.setText(text)
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))

    def _on_exported(self, paths: list[str]) -> None:
        self.message.show_message(
            self.tr("Exported {n} files to {folder}").format(
                n=len(paths), folder=str(Path(paths[0]).parent) if paths else ""
            ),
            "info",
        )

    def _on_tick(self) -> None:
        p = self.c.player
        rate = p.sample_rate
        if rate:
            pos = p.position / rate
            self.waveform.set_playhead(pos)
            self.transport.set_time(pos, p.length / rate)
        self.transport.set_playing(p.playing)

    # -- window state ------------------------------------------------------------------------

    def restore_window_state(self) -> bool:
        """Geometry and dock layout of the last session; True if both were restored."""
        s = self.c.settings
        geometry = bool(s.window_geometry) and self.restoreGeometry(QByteArray(s.window_geometry))
        state = bool(s.window_state) and self.restoreState(QByteArray(s.window_state))
        return geometry and state

    def save_window_state(self) -> None:
        s = self.c.settings
        s.window_geometry = bytes(self.saveGeometry().data())
        s.window_state = bytes(self.saveState().data())
        if self.store is not None:
            self.store.save(s)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self._tick.stop()
        self.save_window_state()
        self.c.shutdown()
        if self.cloud is not None:
            self.cloud.shutdown()
        super().closeEvent(event)
