"""The main controller: what the views call and listen to, composed of the session's state,
the job queue and the engine work.

Views call the public methods and listen to the signals; they never touch the engine. The
state of a session (files, the current pair, analyses, playback copies, the plan, the full
render's result and the loop preview's bookkeeping) is a plain :class:`Session`
(``session.py``). Long work (loading, matching, previews, exports, batches) runs through the
:class:`JobQueue` (``job_queue.py``: one job at a time on the one :class:`TaskRunner`) as the
progress generators of :class:`MatchWork` and :class:`ExportWork` (``match_work.py``,
``export_work.py``); their outcomes are applied to the session here, on the GUI thread, and
announced with the signals. Other controllers (cloud, delivery) queue their work through
:meth:`MainController.run_task`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Self, TypeVar, overload

from PySide6.QtCore import QObject, QTimer, Signal

from app.audio.player import Player
from app.controllers import export_work
from app.controllers.engine_api import EngineApi, SpectrumRange, Steps, default_engine
from app.controllers.export_work import ExportOutcome, ExportWork
from app.controllers.job_queue import Job, JobQueue
from app.controllers.match_work import MatchWork, PreviewOutcome, PreviewRegion, preview_bounds
from app.controllers.session import (
    F32,
    ExternalResult,
    GainStats,
    Loaded,
    MatchOutcome,
    Probed,
    Session,
)
from app.models import ExportRequest, Overview
from app.settings import AppSettings
from app.task_runner import TaskRunner
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from engine.facade import Analysis, CancelToken, Progress

DEBOUNCE_MS = 150
T = TypeVar("T")


class _FromSession(Generic[T]):
    """A read-only attribute of the controller: the session's attribute of the same name."""

    def __set_name__(self, owner: type[object], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, controller: None, owner: type[object]) -> Self: ...

    @overload
    def __get__(self, controller: MainController, owner: type[object] | None = None) -> T: ...

    def __get__(
        self, controller: MainController | None, owner: type[object] | None = None
    ) -> T | Self:
        if controller is None:  # on the class
            return self
        value: T = getattr(controller.session, self.name)
        return value

    def __set__(self, controller: MainController, value: T) -> None:
        raise AttributeError(f"{self.name} is the session's: change it through the controller")


class MainController(QObject):
    """See the module docstring."""

    files_changed = Signal()
    session_changed = Signal()  # current target/reference loaded: waveforms, spectra, meters
    result_changed = Signal()  # a full render finished (or was cleared)
    preset_changed = Signal()  # the plan changed (match, control change, band edit)
    preview_ready = Signal(float, float)  # loop region (s) re-rendered
    busy_changed = Signal(bool)
    task_started = Signal(str, str)  # kind, label
    task_progress = Signal(str, float)  # text, overall fraction
    task_finished = Signal(str, bool)  # kind, ok
    error = Signal(str)  # localised message for the window's message bar
    info = Signal(str)  # localised status text
    export_done = Signal(list)  # written paths

    def __init__(
        self,
        settings: AppSettings,
        player: Player,
        engine: EngineApi | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.player = player
        self.engine = engine or default_engine()
        self.jobs = JobQueue(self.engine.pipeline.CancelToken, self)
        self.jobs.busy_changed.connect(self.busy_changed)
        self.jobs.task_started.connect(self.task_started)
        self.jobs.task_progress.connect(self.task_progress)
        self.jobs.task_finished.connect(self.task_finished)
        self.jobs.error.connect(self.error)
        self.jobs.info.connect(self.info)
        self._tmp = tempfile.TemporaryDirectory(prefix="audio-style-")
        self._render_serial = 0
        self.session = Session(
            MatchOptions.model_validate(
                {"device": settings.engine_device, "codec_safe": settings.codec_safe or None}
            )
        )
        self.work = MatchWork(self.engine, lambda: self.session.options.device)
        self.exports = ExportWork(self.engine, self.work.device, self.work.progress)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self._start_preview)
        self.player.set_loudness_match(settings.loudness_match)

    # -- read-only views of the state --------------------------------------------------------

    # the session's state, read-only (``controller.targets`` is ``controller.session.targets``)
    references = _FromSession[list[str]]()
    reference_weights = _FromSession[dict[str, float]]()  # range mode; default 1
    targets = _FromSession[list[str]]()
    durations_s = _FromSession[dict[str, float]]()  # length of every checked file
    current_target = _FromSession[str | None]()
    current_reference = _FromSession[str | None]()
    options = _FromSession[MatchOptions]()
    preset = _FromSession[Preset | None]()
    render_stats = _FromSession[GainStats | None]()
    result_stale = _FromSession[bool]()  # the preset was edited after the full render
    loop_s = _FromSession[tuple[float, float]]()

    @property
    def busy(self) -> bool:
        """True while user-visible work runs or waits (quiet bookkeeping does not count)."""
        return self.jobs.busy

    @property
    def runner(self) -> TaskRunner:
        return self.jobs.runner

    def total_target_length_s(self) -> float:
        """Summed length of the targets (those whose length is known)."""
        return self.session.total_target_length_s()

    @property
    def sample_rate(self) -> int:
        return self.session.sample_rate

    def analysis(self, role: str) -> Analysis | None:
        """The analysis shown for ``role`` (target, reference, result) or None."""
        return self.session.analysis(role)

    def overview(self, role: str) -> Overview | None:
        return self.session.overview(role)

    def audio(self, role: str) -> F32 | None:
        return self.session.audio(role)

    def length_s(self) -> float:
        return self.session.length_s()

    def can_match(self) -> bool:
        return self.session.can_match()

    def has_result(self) -> bool:
        return self.session.has_result()

    @property
    def result_path(self) -> str | None:
        """The file of the current result (a render in the session's directory), if any."""
        return self.session.result_path

    @property
    def work_dir(self) -> Path:
        """The session's temporary directory (removed at shutdown)."""
        return Path(self._tmp.name)

    # -- files -------------------------------------------------------------------------------

    def add_files(self, role: str, paths: Sequence[str]) -> None:
        """Validate ``paths`` (in the background) and add the good ones as ``role``."""
        paths = [str(p) for p in paths if str(p)]
        if role not in ("reference", "target") or not paths:
            return
        run = self.work.probe(paths)

        def done(checked: Probed) -> None:
            good, errors = self.session.add_checked(role, checked)
            for p in good:
                self.settings.add_recent(p, role)
            if role == "reference":
                self._sync_weights()
            if errors:
                self.error.emit("\n".join(errors))
            self.files_changed.emit()
            self._refresh_session()

        self.jobs.enqueue(Job("probe", self.tr("Checking files"), run, done))

    def remove_file(self, role: str, path: str) -> None:
        if self.session.remove_file(role, path):
            if role == "reference":
                self._sync_weights()
            self.files_changed.emit()
            self._refresh_session()

    def set_reference_weight(self, path: str, weight: float) -> None:
        """Weight (0 < w <= 1) of one reference in range mode: a lower weight pulls its edge
        of the references' range towards their weighted mean (engine.ranges)."""
        if self.session.set_weight(path, weight):
            self._sync_weights()
            self.files_changed.emit()

    def _sync_weights(self) -> None:
        """``options.reference_weights`` in the order of ``references`` (None: all 1)."""
        value = self.session.weights()
        if value != self.options.reference_weights:
            self.set_options(reference_weights=value)

    def set_current(self, role: str, path: str) -> None:
        """Show and play ``path`` as the current target or reference."""
        self.session.set_current(role, path)
        self._refresh_session()

    def _refresh_session(self) -> None:
        drop, needs = self.session.plan_loads()
        for role in drop:
            self._drop_role(role)
        if not needs:
            self.session_changed.emit()
            return
        s = self.session
        job = self._load_job(s.current_target, s.current_reference, needs)
        self.jobs.enqueue(job, coalesce=True)

    def _drop_role(self, role: str) -> None:
        self.session.loaded.pop(role, None)
        if role == "target":
            self._clear_result()
        self._push_player_sources()
        self.session_changed.emit()

    def _clear_result(self) -> None:
        self.session.clear_result()
        self.player.set_overlay(0, None)
        self.result_changed.emit()
        self.preset_changed.emit()

    def _load_job(
        self, target: str | None, reference: str | None, needs: list[str]
    ) -> Job[dict[str, Loaded]]:
        keep_target = self.session.loaded.get("target") if "target" not in needs else None
        run = self.work.load_pair(target, reference, needs, keep_target)

        def done(loaded: dict[str, Loaded]) -> None:
            if "target" in loaded:
                self._clear_result()
            self.session.take_loaded(loaded)
            self._push_player_sources()
            self.set_loop_s(*self.loop_s, preview=False)
            self.session_changed.emit()

        def fail(exc: AudioStyleError) -> None:
            bad = str(exc.params.get("path", ""))
            self.session.remove_path(bad)
            self.error.emit(exc.message())
            self.files_changed.emit()
            if bad:
                self._refresh_session()

        name = Path(target or reference or "").name
        return Job("load", self.tr("Loading {name}").format(name=name), run, done, fail)

    def _push_player_sources(self) -> None:
        loaded = self.session.loaded
        audio = {r: ld.audio for r, ld in loaded.items()}
        lufs = {r: float(ld.analysis.summary.integrated_lufs) for r, ld in loaded.items()}
        rate = self.sample_rate
        if not audio:
            self.player.clear()
            return
        self.player.set_sources(rate, audio, lufs)
        if not self.player.has(self.player.role):
            self.player.select("target" if "target" in audio else "reference")

    # -- matching ----------------------------------------------------------------------------

    def device_note(self) -> str:
        """What the "Automatic" processing device computes on here, and why not on the GPU
        (the settings dialog; the CLI says it only with ``-v``)."""
        backends = self.engine.backends
        if backends is None:
            return ""
        ok, key, detail = backends.cuda_status()
        if ok:
            return self.tr("Automatic computes on the GPU (CUDA) here.")
        return self.tr("Automatic computes on the CPU here: {reason}.").format(
            reason=backends.reason_text(key, detail)
        )

    def set_options(self, **changes: object) -> None:
        """Change match options (validated); re-renders the loop preview after a short pause."""
        try:
            self.session.options = MatchOptions.model_validate(
                {**self.options.model_dump(), **changes}
            )
        except Exception as exc:  # noqa: BLE001 - pydantic ValidationError
            self.error.emit(
                AudioStyleError(
                    ErrorCode.BAD_OPTION, name=",".join(changes), reason=str(exc)
                ).message()
            )
            return
        if self.preset is not None:
            self.session.options_dirty = True
            self._schedule_preview()

    def match(self) -> None:
        """Analyse, plan and render the current target against the references."""
        if not self.can_match():
            self.error.emit(self.tr("Add a reference and a target first."))
            return
        target = self.current_target
        assert target is not None
        refs = list(self.references)
        self._render_serial += 1
        out_path = str(self.work_dir / f"result-{self._render_serial}.wav")
        run = self.work.match(
            target,
            self.session.loaded.get("target"),
            refs,
            self.options,
            dict(self.session.ref_analyses),
            out_path,
        )

        def done(m: MatchOutcome) -> None:
            self._apply_match(m, refs)
            self.info.emit(self.tr("Match finished.") + self._loudness_note(m))

        label = self.tr("Matching {name}").format(name=Path(target).name)
        self.jobs.enqueue(Job("match", label, run, done))

    def _loudness_note(self, m: MatchOutcome) -> str:
        """Say so when the max-limiting setting kept the result below its loudness target, or
        when reaching it took the limiter's clip stage."""
        lufs = m.output_lufs
        if lufs is None:
            return ""
        target = m.preset.loudness.target_lufs
        if self.engine.pipeline.loudness_shortfall_lu(m.preset, lufs) > 0:
            return " " + self.tr(
                "{target:.1f} LUFS would need more than {budget:g} dB of limiting (Max limiting); "
                "left at {lufs:.1f} LUFS."
            ).format(target=target, budget=m.preset.limiter.max_limiting_db, lufs=lufs)
        clip = self.engine.pipeline.clip_stage_db(m.preset, m.stats.fast_stage_db)
        if clip > 0:
            return " " + self.tr(
                "{target:.1f} LUFS took the clip stage besides the limiter (up to {clip:g} dB "
                "of every peak)."
            ).format(target=target, clip=clip)
        return ""

    def _apply_match(self, m: MatchOutcome, refs: list[str]) -> None:
        """Show a finished match: result audio, plan, curves, meters (GUI thread)."""
        old = self.session.take_match(m, refs)
        if old is not None and old.path != m.result.path and self._owns(old.path):
            Path(old.path).unlink(missing_ok=True)
        self.player.set_overlay(0, None)
        self._push_player_sources()
        self.player.set_overlay(0, None)
        self.result_changed.emit()
        self.preset_changed.emit()

    def _owns(self, path: str) -> bool:
        """True for files in the session's temporary directory (ours to delete)."""
        return Path(path).resolve().parent == self.work_dir.resolve()

    def open_result(self, result: ExternalResult) -> bool:
        """Show a match rendered elsewhere like a local one: the target becomes the current
        target (added if it was removed), its references are added, then the result audio is
        analysed and shown with its plan. False (and a message) when the target is gone."""
        if not Path(result.target).is_file():
            self.error.emit(AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=result.target).message())
            return False
        self.session.open_external(result)
        self.files_changed.emit()
        self._refresh_session()  # queues the target's load when it is not the one shown
        refs = list(result.references)

        def loaded_target() -> Loaded | None:  # asked when the job runs
            return self.session.loaded.get("target")

        run = self.work.open(result, loaded_target, dict(self.session.ref_analyses))

        def done(m: MatchOutcome) -> None:
            self._apply_match(m, refs)
            name = Path(result.target).name
            self.info.emit(self.tr("Result of {name} opened.").format(name=name))

        label = self.tr("Opening the result of {name}").format(name=Path(result.target).name)
        self.jobs.enqueue(Job("open", label, run, done))
        return True

    # -- edits and the loop preview ----------------------------------------------------------

    def set_band(self, channel: str, index: int, freq_hz: float, gain_db: float, q: float) -> None:
        """Edit one parametric band of the mid or side EQ; the curve follows the change."""
        if self.preset is None:
            return
        edited = self.work.edit_band(
            self.preset, channel, index, (freq_hz, gain_db, q), self.sample_rate
        )
        if edited is None:
            return
        self.session.preset = edited
        self.session.result_stale = True
        self.preset_changed.emit()
        self._schedule_preview()

    def set_loop_s(self, start_s: float, end_s: float, *, preview: bool = True) -> None:
        """Set the loop region; with an edited plan the new region is re-rendered."""
        length = self.length_s()
        start_s, end_s = sorted((max(0.0, start_s), max(0.0, end_s)))
        if length:
            start_s, end_s = min(start_s, length), min(end_s, length)
        self.session.loop_s = (start_s, end_s)
        rate = self.sample_rate
        self.player.set_loop(int(start_s * rate), int(end_s * rate))
        if preview and self.result_stale:
            self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self.preset is not None:
            self._preview_timer.start()

    def _start_preview(self) -> None:
        s = self.session
        target = s.loaded.get("target")
        result = s.loaded.get("result")
        full_stats, full_preset = s.render_stats, s.full_preset
        if s.preset is None or target is None or result is None or full_preset is None:
            return
        if full_stats is None:  # never with a result (both are kept and cleared together)
            return
        if target.channels > 2:
            self.info.emit(self.tr("Preview is available for mono and stereo files only."))
            return
        rate = target.rate
        start, end = preview_bounds(s.loop_s, rate, len(target.audio))
        if end <= start:
            return
        x = target.audio[start:end]
        region = PreviewRegion(
            rebuild=s.options_dirty,
            base=s.preset,
            options=s.options,
            target=target.analysis,
            references=[a for a in s.analyses_at(rate) if a is not None],
            reference_paths=list(s.references),
            x=x[:, :1] if target.channels == 1 else x,
            rate=rate,
            start=start,
            full_preset=full_preset,
            full_stats=full_stats,
            full_result=result.audio[start:end],
            result_lufs=float(result.analysis.summary.integrated_lufs),
            baseline=s.preview_baseline.get((start, end)),
        )

        def done(p: PreviewOutcome) -> None:
            s.preview_baseline = {(start, end): p.baseline_eq_lufs}
            if region.rebuild:
                s.preset = p.preset
                s.options_dirty = False
                self.preset_changed.emit()
            s.result_stale = True
            self.player.set_overlay(p.start, p.audio, p.lufs)
            rate_ = self.sample_rate or 1
            self.preview_ready.emit(p.start / rate_, (p.start + len(p.audio)) / rate_)

        label = self.tr("Rendering the loop preview")
        self.jobs.enqueue(Job("preview", label, self.work.preview(region), done), coalesce=True)

    # -- export ------------------------------------------------------------------------------

    def output_stem(self, target: str) -> str:
        return export_work.output_stem(target)

    def planned_outputs(self, req: ExportRequest) -> list[str]:
        """The files an export would write (shown in the export dialog)."""
        return export_work.planned_outputs(req, self.targets, self.current_target)

    def reference_range(self) -> SpectrumRange | None:
        """``(freqs_hz, lo_db, hi_db)``: the references' weighted spread (loudness-aligned mid
        spectra) when there are two or more analysed at the current rate, else None."""
        ranges = self.engine.ranges
        if ranges is None or len(self.references) < 2:
            return None
        analyses = self.session.analyses_at(self.sample_rate)
        present = [a for a in analyses if a is not None]
        if len(present) < len(analyses):
            return None
        return ranges.spectrum_range(present, self.options.reference_weights)

    def export(self, req: ExportRequest, report_image: QImage | None = None) -> None:
        """Write what ``req`` asks for; ``report_image`` is saved as the PNG report."""
        if self.preset is None or self.current_target is None:
            self.error.emit(self.tr("Match first, then export."))
            return
        folder = Path(req.folder)
        if not folder.is_dir():
            self.error.emit(
                AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(folder)).message()
            )
            return
        self.settings.output_format = req.audio_format
        self.settings.export_folder = str(folder)
        if req.batch:
            self.jobs.enqueue(self._batch_job(req, report_image))
        else:
            self.jobs.enqueue(self._export_job(req, report_image))

    def _save_png(self, image: QImage | None, path: str) -> str | None:
        if image is None:
            return None
        # PySide6's stub types the format as bytes; the binding refuses bytes and takes str
        if not image.save(path, "PNG"):  # type: ignore[call-overload]
            raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=path)
        return path

    def _export_job(self, req: ExportRequest, image: QImage | None) -> Job[ExportOutcome]:
        preset = self.preset
        assert preset is not None and self.current_target is not None
        target = self.current_target
        ref_an = [a for a in self.session.analyses_at(self.sample_rate) if a is not None]
        t_an = self.analysis("target")
        run = self.exports.export(req, preset, target, t_an, ref_an, self.work_dir)
        stem = Path(req.folder) / self.output_stem(target)

        def done(res: ExportOutcome) -> None:
            if req.report:
                png = self._save_png(image, str(stem) + ".report.png")
                if png:
                    res.paths.append(png)
            self.info.emit(
                self.tr("Exported {n} files to {folder}").format(
                    n=len(res.paths), folder=req.folder
                )
            )
            self.export_done.emit(res.paths)

        return Job("export", self.tr("Exporting"), run, done)

    def _batch_job(self, req: ExportRequest, image: QImage | None) -> Job[ExportOutcome]:
        targets = list(self.targets)
        run = self.exports.batch(req, targets, list(self.references), self.options, self.work_dir)
        folder = Path(req.folder)
        current = self.current_target

        def done(res: ExportOutcome) -> None:
            if req.report and current is not None:
                png = self._save_png(image, str(folder / self.output_stem(current)) + ".report.png")
                if png:
                    res.paths.append(png)
            self.info.emit(
                self.tr("Batch finished: {n} targets, {files} files written.").format(
                    n=len(targets), files=len(res.paths)
                )
            )
            if res.album is not None:
                b, a = res.album["before"], res.album["after"]
                self.info.emit(
                    self.tr(
                        "Album: loudness spread {spread:.1f} LU (input {spread_in:.1f} LU), "
                        "tonal distance to the album {dist:.2f} dB (input {dist_in:.2f} dB)"
                    ).format(
                        spread=a["spread_lu"],
                        spread_in=b["spread_lu"],
                        dist=a["mean_tonal_distance_db"],
                        dist_in=b["mean_tonal_distance_db"],
                    )
                )
            self.export_done.emit(res.paths)

        return Job("batch", self.tr("Batch: matching every target"), run, done)

    # -- transport (thin wrappers so views never hold engine objects) ----------------------

    def select_source(self, role: str) -> None:
        if self.player.has(role):
            self.player.select(role)
        elif role == "result":
            self.info.emit(self.tr("No result yet: press Match first."))

    def set_audio_device(self, name: str) -> None:
        """Play through output device ``name`` ("" = system default) from now on."""
        self.settings.audio_device = name
        out = self.player.output
        if hasattr(out, "set_device"):
            out.set_device(name)
            self.player.restart_output()
            if not out.available:
                self.error.emit(out.error)

    def set_loudness_match(self, enabled: bool) -> None:
        self.player.set_loudness_match(enabled)
        self.settings.loudness_match = enabled

    # -- the job queue (for the views and the other controllers) -----------------------------

    def cancel(self) -> None:
        """Cancel the running job and everything queued (quiet bookkeeping stays)."""
        self.jobs.cancel()

    def run_task(
        self,
        kind: str,
        label: str,
        run: Callable[[CancelToken], Steps[T]],
        done: Callable[[T], None],
        fail: Callable[[AudioStyleError], None] | None = None,
        *,
        quiet: bool = False,
        canceled: Callable[[], None] | None = None,
        coalesce: bool = False,
    ) -> None:
        """Queue ``run(cancel_token)`` (a progress generator) on the task runner; ``done``,
        ``fail`` or ``canceled`` is called on the GUI thread. For other controllers."""
        self.jobs.enqueue(Job(kind, label, run, done, fail, quiet, canceled), coalesce=coalesce)

    def make_progress(self, stage: str, fraction: float, message: str = "") -> Progress:
        """A progress report for a generator queued with :meth:`run_task`."""
        return self.work.progress(stage, fraction, message)

    @property
    def current_kind(self) -> str:
        """The kind of the job running now ("" when none)."""
        return self.jobs.current_kind

    def queued(self, kind: str) -> bool:
        """True when a job of ``kind`` runs or waits."""
        return self.jobs.queued(kind)

    def unqueue(self, kind: str) -> int:
        """Drop the waiting (not the running) jobs of ``kind``; returns how many."""
        return self.jobs.unqueue(kind)

    def emit_progress(self, stage: str, fraction: float, message: str = "") -> None:
        """Progress of the running job reported from outside its generator (a callback of
        a blocking call on the worker thread): queued onto the GUI thread like the runner's."""
        self.jobs.emit_progress(stage, fraction, message)

    def shutdown(self) -> None:
        """Stop background work and audio; remove temporary renders."""
        self._preview_timer.stop()
        self.jobs.shutdown()
        self.player.close()
        self.player.clear()  # the session's audio (hundreds of MB for long files) goes now,
        self.session.clear()  # not whenever the window's wrapper objects are collected
        self._tmp.cleanup()

    def wait_idle(self, timeout_ms: int = 60000) -> bool:
        """Run the event loop until every queued job has finished (scripts, screenshots)."""
        from PySide6.QtCore import QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(timeout_ms)
        while self.busy or self._preview_timer.isActive():
            if deadline.hasExpired():
                return False
            loop = QEventLoop()
            QTimer.singleShot(50, loop.quit)
            self.busy_changed.connect(loop.quit)
            loop.exec()
            self.busy_changed.disconnect(loop.quit)
        return True
