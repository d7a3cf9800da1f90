"""The main controller: the session state and every engine call the app makes.

Views call the public methods and listen to the signals; they never touch the engine. Long
work (loading, matching, previews, exports, batches) runs through the one :class:`TaskRunner`,
queued one job at a time; results are applied to the state on the GUI thread.

State of a session: the reference and target lists; the *current* target and reference (the
pair shown and played); their analyses at the target's sample rate; float32 stereo playback
copies; the preset (match plan, editable); the full render's result (analysis, audio, gain);
and the preview of the loop region rendered after each edit.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import sys
import tempfile
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, QTimer, Signal

from app.audio.player import Player
from app.controllers.engine_api import EngineApi, default_engine
from app.models import (
    ALBUM_REPORT,
    EXTENSIONS,
    IR_TRUE_STEREO_EXTENSION,
    PRESET_EXTENSIONS,
    ExportRequest,
    Overview,
    overview_of,
)
from app.settings import AppSettings
from app.task_runner import TaskRunner, as_audio_style_error
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

F32 = NDArray[np.float32]
DEBOUNCE_MS = 150
DEFAULT_LOOP_S = 10.0
MAX_PREVIEW_S = 60.0
DECODE_BLOCK = 1 << 16


@dataclass
class _Job:
    kind: str  # probe | load | match | preview | export | batch | open | cloud-*
    label: str
    run: Callable[[Any], Generator[Any, None, Any]]
    done: Callable[[Any], None]
    fail: Callable[[AudioStyleError], None] | None = None
    # quiet: background bookkeeping (cloud job polls): no status text, not "busy", kept by
    # the global Cancel, and its failures go to ``fail`` only
    quiet: bool = False
    canceled: Callable[[], None] | None = None


@dataclass
class _Loaded:
    """A file decoded for playback and analysed, at the session's sample rate."""

    path: str
    rate: int
    channels: int  # of the file (playback copies are always stereo)
    analysis: Any
    audio: F32
    overview: Overview


@dataclass
class _MatchOutcome:
    preset: Preset
    stats: Any
    ref_analyses: list[Any]
    result: _Loaded
    render_path: str


@dataclass
class _PreviewOutcome:
    preset: Preset
    start: int
    audio: F32
    lufs: float
    baseline_eq_lufs: float


@dataclass
class ExternalResult:
    """A match rendered elsewhere (the cloud): the audio file and the plan that made it."""

    target: str
    references: list[str]
    audio_path: str
    preset: Preset
    gain_db: float  # the loudness gain the render applied (for the loop preview)


@dataclass
class _ExternalStats:
    """What the preview needs of a render done elsewhere (``RenderStats`` has more)."""

    gain_db: float
    eq_lufs: float


IR_DEFAULT_RATE = 48000  # impulse responses of a target at another rate


@dataclass
class _ExportOutcome:
    paths: list[str] = field(default_factory=list)
    album: dict[str, Any] | None = None  # the album table of an album-mode batch


def to_stereo(block: NDArray[np.floating], out: F32) -> None:
    """Write ``block`` (n, channels) into the stereo float32 ``out`` (n, 2)."""
    ch = block.shape[1]
    if ch == 1:
        out[:, 0] = block[:, 0]
        out[:, 1] = block[:, 0]
    elif ch == 2:
        out[:] = block
    else:  # multichannel: fold odd/even channels into left/right for listening
        out[:, 0] = block[:, 0::2].mean(axis=1)
        out[:, 1] = block[:, 1::2].mean(axis=1)


def preview_gain(
    preset: Preset, full_preset: Preset, full_stats: Any, region_eq_old: float, region_eq_new: float
) -> float:
    """The loudness gain a full render of ``preset`` would solve, estimated from a region.

    The full render solved ``full_stats.gain_db`` for ``full_preset``. A new plan moves the
    EQ'd loudness of the whole file by about as much as it moves the region's
    (``region_eq_new - region_eq_old``) and may move the loudness goal; the gain follows both,
    so the preview sounds as loud as the export will.
    """
    if not preset.loudness.enabled:
        return 0.0
    d_eq = region_eq_new - region_eq_old if math.isfinite(region_eq_new - region_eq_old) else 0.0
    if full_preset.loudness.enabled:
        d_goal = float(preset.loudness.target_lufs) - float(full_preset.loudness.target_lufs)
        return float(full_stats.gain_db) + d_goal - d_eq
    return float(preset.loudness.target_lufs) - (float(full_stats.eq_lufs) + d_eq)


def loudest_window(short_term_lufs: NDArray[np.float64], length_s: float, window_s: float) -> float:
    """Start (s) of the ``window_s`` region centred on the loudest short-term moment."""
    if length_s <= window_s or len(short_term_lufs) == 0:
        return 0.0
    st = np.where(np.isfinite(short_term_lufs), short_term_lufs, -200.0)
    centre = (int(np.argmax(st)) + 1) * 0.1 - 1.5  # 3 s windows every 100 ms
    return float(min(max(0.0, centre - window_s / 2), length_s - window_s))


class MainController(QObject):
    """Session state + engine calls; see the module docstring."""

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
    _external_progress = Signal(str, float, str)  # emit_progress, from any thread
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
        self.runner = TaskRunner(self.engine.pipeline.CancelToken, self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.canceled.connect(self._on_canceled)
        self._external_progress.connect(self._on_progress)
        self._queue: list[_Job] = []
        self._current: _Job | None = None
        self._busy = False
        self._closed = False  # after shutdown: no new jobs, late results are dropped
        self._tmp = tempfile.TemporaryDirectory(prefix="audio-style-")
        self._render_serial = 0

        self.references: list[str] = []
        self.reference_weights: dict[str, float] = {}  # range mode (engine.ranges); default 1
        self.targets: list[str] = []
        self.durations_s: dict[str, float] = {}  # length of every checked file
        self.current_target: str | None = None
        self.current_reference: str | None = None
        self.options = MatchOptions.model_validate(
            {"device": settings.engine_device, "codec_safe": settings.codec_safe or None}
        )
        self._loaded: dict[str, _Loaded] = {}  # role -> loaded (target, reference, result)
        self._ref_analyses: dict[tuple[str, int], Any] = {}
        self.preset: Preset | None = None
        self.render_stats: Any = None
        self._full_preset: Preset | None = None
        self._preview_baseline: dict[tuple[int, int], float] = {}
        self.result_stale = False  # the preset was edited after the full render
        self.loop_s = (0.0, 0.0)
        self._options_dirty = False
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self._start_preview)
        self.player.set_loudness_match(settings.loudness_match)

    # -- read-only views of the state --------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while user-visible work runs or waits (quiet bookkeeping does not count)."""
        cur = self._current is not None and not self._current.quiet
        return cur or any(not j.quiet for j in self._queue)

    def total_target_length_s(self) -> float:
        """Summed length of the targets (those whose length is known)."""
        return float(sum(self.durations_s.get(t, 0.0) for t in self.targets))

    @property
    def sample_rate(self) -> int:
        t = self._loaded.get("target") or self._loaded.get("reference")
        return t.rate if t else 0

    def analysis(self, role: str) -> Any:
        """The analysis shown for ``role`` (target, reference, result) or None."""
        loaded = self._loaded.get(role)
        return loaded.analysis if loaded else None

    def overview(self, role: str) -> Overview | None:
        loaded = self._loaded.get(role)
        return loaded.overview if loaded else None

    def audio(self, role: str) -> F32 | None:
        loaded = self._loaded.get(role)
        return loaded.audio if loaded else None

    def length_s(self) -> float:
        t = self._loaded.get("target") or self._loaded.get("reference")
        return len(t.audio) / t.rate if t else 0.0

    def can_match(self) -> bool:
        return self.current_target is not None and bool(self.references)

    def has_result(self) -> bool:
        return self.preset is not None and "result" in self._loaded

    # -- files -------------------------------------------------------------------------------

    def add_files(self, role: str, paths: Sequence[str]) -> None:
        """Validate ``paths`` (in the background) and add the good ones as ``role``."""
        paths = [str(p) for p in paths if str(p)]
        if role not in ("reference", "target") or not paths:
            return
        io = self.engine.io

        def run(token: Any) -> Generator[Any, None, list[tuple[str, Any]]]:
            checked: list[tuple[str, Any]] = []
            for i, p in enumerate(paths):
                token.check()
                try:
                    info = io.probe(p)
                    checked.append((p, info.frames / max(1, info.sample_rate)))
                except AudioStyleError as exc:
                    checked.append((p, exc))
                yield self._progress("probe", (i + 1) / len(paths))
            return checked

        def done(checked: list[tuple[str, Any]]) -> None:
            lst = self.references if role == "reference" else self.targets
            errors = []
            for p, exc in checked:
                if isinstance(exc, AudioStyleError):
                    errors.append(exc.message())
                    continue
                self.durations_s[p] = float(exc)
                if p not in lst:
                    lst.append(p)
                self.settings.add_recent(p, role)
            if role == "reference":
                self._sync_weights()
            if errors:
                self.error.emit("\n".join(errors))
            self.files_changed.emit()
            self._refresh_session()

        self._enqueue(_Job("probe", self.tr("Checking files"), run, done))

    def remove_file(self, role: str, path: str) -> None:
        lst = self.references if role == "reference" else self.targets
        if path in lst:
            lst.remove(path)
            if role == "reference":
                self.reference_weights.pop(path, None)
                self._sync_weights()
            self.files_changed.emit()
            self._refresh_session()

    def set_reference_weight(self, path: str, weight: float) -> None:
        """Weight (0 < w <= 1) of one reference in range mode: a lower weight pulls its edge
        of the references' range towards their weighted mean (engine.ranges)."""
        if path not in self.references:
            return
        if weight >= 1.0:
            self.reference_weights.pop(path, None)
        else:
            self.reference_weights[path] = float(weight)
        self._sync_weights()
        self.files_changed.emit()

    def _sync_weights(self) -> None:
        """``options.reference_weights`` in the order of ``references`` (None: all 1)."""
        weights = [self.reference_weights.get(r, 1.0) for r in self.references]
        value = weights if any(w != 1.0 for w in weights) else None
        if value != self.options.reference_weights:
            self.set_options(reference_weights=value)

    def set_current(self, role: str, path: str) -> None:
        """Show and play ``path`` as the current target or reference."""
        if role == "target" and path in self.targets:
            self.current_target = path
        elif role == "reference" and path in self.references:
            self.current_reference = path
        self._refresh_session()

    def _refresh_session(self) -> None:
        if self.current_target not in self.targets:
            self.current_target = self.targets[0] if self.targets else None
        if self.current_reference not in self.references:
            self.current_reference = self.references[0] if self.references else None
        want = {"target": self.current_target, "reference": self.current_reference}
        have = {r: (self._loaded[r].path if r in self._loaded else None) for r in want}
        target_info_rate = self._loaded["target"].rate if "target" in self._loaded else None
        if want["target"] is None and "target" in self._loaded:
            self._drop_role("target")
        if want["reference"] is None and "reference" in self._loaded:
            self._drop_role("reference")
        needs = [r for r in want if want[r] is not None and want[r] != have[r]]
        # the reference is played and analysed at the target's rate
        if (
            "reference" in self._loaded
            and want["reference"] is not None
            and "target" not in needs
            and target_info_rate is not None
            and self._loaded["reference"].rate != target_info_rate
        ):
            needs.append("reference")
        if "target" in needs and want["reference"] is not None and "reference" not in needs:
            needs.append("reference")  # a new target may have another rate
        if not needs:
            self.session_changed.emit()
            return
        self._enqueue(self._load_job(want["target"], want["reference"], needs), coalesce=True)

    def _drop_role(self, role: str) -> None:
        self._loaded.pop(role, None)
        if role == "target":
            self._clear_result()
        self._push_player_sources()
        self.session_changed.emit()

    def _clear_result(self) -> None:
        self._loaded.pop("result", None)
        self.preset = None
        self.render_stats = None
        self.result_stale = False
        self.player.set_overlay(0, None)
        self.result_changed.emit()
        self.preset_changed.emit()

    def _load_job(self, target: str | None, reference: str | None, needs: list[str]) -> _Job:
        io = self.engine.io
        keep_target = self._loaded.get("target") if "target" not in needs else None

        def run(token: Any) -> Generator[Any, None, dict[str, _Loaded]]:
            out: dict[str, _Loaded] = {}
            rate = keep_target.rate if keep_target is not None else None
            if target is not None and "target" in needs:
                rate = io.probe(target).sample_rate
            steps = [r for r in ("target", "reference") if r in needs]
            for i, role in enumerate(steps):
                path = target if role == "target" else reference
                assert path is not None
                lo, hi = i / len(steps), (i + 1) / len(steps)
                out[role] = yield from self._load(path, rate, token, lo, hi)
                rate = out[role].rate if rate is None else rate
            return out

        def done(loaded: dict[str, _Loaded]) -> None:
            if "target" in loaded:
                self._clear_result()
                t = loaded["target"]
                length = len(t.audio) / t.rate
                win = min(DEFAULT_LOOP_S, length)
                start = loudest_window(t.analysis.short_term_lufs, length, win)
                self.loop_s = (start, start + win)
            self._loaded.update(loaded)
            if "reference" in loaded:
                r = loaded["reference"]
                self._ref_analyses[(r.path, r.rate)] = r.analysis
            if "target" not in self._loaded and "reference" in loaded:
                r = loaded["reference"]
                win = min(DEFAULT_LOOP_S, len(r.audio) / r.rate)
                self.loop_s = (0.0, win)
            self._push_player_sources()
            self.set_loop_s(*self.loop_s, preview=False)
            self.session_changed.emit()

        def fail(exc: AudioStyleError) -> None:
            bad = str(exc.params.get("path", ""))
            for lst in (self.targets, self.references):
                for p in list(lst):
                    if bad and Path(p) == Path(bad):
                        lst.remove(p)
            self.error.emit(exc.message())
            self.files_changed.emit()
            if bad:
                self._refresh_session()

        name = Path(target or reference or "").name
        return _Job("load", self.tr("Loading {name}").format(name=name), run, done, fail)

    def _load(
        self, path: str, rate: int | None, token: Any, lo: float, hi: float
    ) -> Generator[Any, None, _Loaded]:
        """Analyse ``path`` at ``rate`` and decode a stereo float32 copy at that rate."""
        pipeline, io = self.engine.pipeline, self.engine.io
        info = io.probe(path)
        rate = rate or info.sample_rate
        mid = lo + 0.5 * (hi - lo)
        analysis = yield from _scaled(
            pipeline.analyze_file(path, sample_rate=rate, cancel=token, device=self.options.device),
            lo,
            mid,
            self._progress,
        )
        audio = np.empty((info.frames, 2), dtype=np.float32)
        pos = 0
        for block in io.iter_blocks(path, DECODE_BLOCK, info=info):
            token.check()
            n = len(block)
            to_stereo(block, audio[pos : pos + n])
            pos += n
            yield self._progress("decode", mid + (hi - mid) * 0.9 * pos / max(1, info.frames))
        if info.sample_rate != rate:
            audio = np.asarray(io.resample(audio, info.sample_rate, rate), dtype=np.float32)
        ov = overview_of(audio, rate)
        return _Loaded(path, rate, info.channels, analysis, audio, ov)

    def _push_player_sources(self) -> None:
        audio = {r: ld.audio for r, ld in self._loaded.items()}
        lufs = {r: float(ld.analysis.summary.integrated_lufs) for r, ld in self._loaded.items()}
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

    def set_options(self, **changes: Any) -> None:
        """Change match options (validated); re-renders the loop preview after a short pause."""
        try:
            self.options = MatchOptions.model_validate({**self.options.model_dump(), **changes})
        except Exception as exc:  # noqa: BLE001 - pydantic ValidationError
            self.error.emit(
                AudioStyleError(
                    ErrorCode.BAD_OPTION, name=",".join(changes), reason=str(exc)
                ).message()
            )
            return
        if self.preset is not None:
            self._options_dirty = True
            self._schedule_preview()

    def match(self) -> None:
        """Analyse, plan and render the current target against the references."""
        if not self.can_match():
            self.error.emit(self.tr("Add a reference and a target first."))
            return
        target = self.current_target
        assert target is not None
        refs = list(self.references)
        options = self.options
        self._enqueue(self._match_job(target, refs, options))

    def _match_job(self, target: str, refs: list[str], options: MatchOptions) -> _Job:
        pipeline = self.engine.pipeline
        cached = dict(self._ref_analyses)
        self._render_serial += 1
        out_path = str(Path(self._tmp.name) / f"result-{self._render_serial}.wav")
        loaded_target = self._loaded.get("target")

        def run(token: Any) -> Generator[Any, None, _MatchOutcome]:
            if loaded_target is None or loaded_target.path != target:
                raise AudioStyleError(ErrorCode.INTERNAL, reason="target not loaded")
            rate = loaded_target.rate
            ref_an = yield from self._reference_analyses(refs, rate, cached, token, 0.15)
            yield self._progress("plan", 0.16)
            preset = _named(pipeline.build_preset(loaded_target.analysis, ref_an, options), refs)
            gen = pipeline.render_file(
                preset,
                target,
                out_path,
                fmt="wav32f",
                force=True,
                cancel=token,
                device=self.options.device,
            )
            rendered = yield from _scaled(gen, 0.18, 0.75, self._progress)
            if preset.options.codec_safe and preset.limiter.enabled:
                safe = pipeline.codec_safe_render(
                    preset,
                    target,
                    out_path,
                    rendered,
                    fmt="wav32f",
                    cancel=token,
                    device=self.options.device,
                )
                preset, rendered, _ = yield from _scaled(safe, 0.75, 0.75, self._progress)
            result = yield from self._load(out_path, rate, token, 0.75, 1.0)
            return _MatchOutcome(preset, rendered.stats, ref_an, result, out_path)

        def done(m: _MatchOutcome) -> None:
            self._apply_match(m, refs)
            self.info.emit(self.tr("Match finished.") + self._loudness_note(m))

        return _Job("match", self.tr("Matching {name}").format(name=Path(target).name), run, done)

    def _loudness_note(self, m: _MatchOutcome) -> str:
        """Say so when the max-limiting setting kept the result below its loudness target."""
        if self.engine.pipeline.loudness_shortfall_lu(m.preset, m.stats.output_lufs) <= 0:
            return ""
        return " " + self.tr(
            "{target:.1f} LUFS would need more than {budget:g} dB of limiting (Max limiting); "
            "left at {lufs:.1f} LUFS."
        ).format(
            target=m.preset.loudness.target_lufs,
            budget=m.preset.limiter.max_limiting_db,
            lufs=m.stats.output_lufs,
        )

    def _apply_match(self, m: _MatchOutcome, refs: list[str]) -> None:
        """Show a finished match: result audio, plan, curves, meters (GUI thread)."""
        for r, a in zip(refs, m.ref_analyses, strict=True):
            self._ref_analyses[(r, m.result.rate)] = a
        old = self._loaded.get("result")
        self._loaded["result"] = m.result
        if old is not None and old.path != m.result.path and self._owns(old.path):
            Path(old.path).unlink(missing_ok=True)
        self.preset = m.preset
        self.render_stats = m.stats
        self._full_preset = m.preset
        self._preview_baseline = {}
        self.result_stale = False
        self._options_dirty = False
        self.player.set_overlay(0, None)
        self._push_player_sources()
        self.player.set_overlay(0, None)
        self.result_changed.emit()
        self.preset_changed.emit()

    def _owns(self, path: str) -> bool:
        """True for files in the session's temporary directory (ours to delete)."""
        return Path(path).resolve().parent == Path(self._tmp.name).resolve()

    @property
    def result_path(self) -> str | None:
        """The file of the current result (a render in the session's directory), if any."""
        result = self._loaded.get("result")
        return None if result is None else result.path

    @property
    def work_dir(self) -> Path:
        """The session's temporary directory (removed at shutdown)."""
        return Path(self._tmp.name)

    def open_result(self, result: ExternalResult) -> bool:
        """Show a match rendered elsewhere like a local one: the target becomes the current
        target (added if it was removed), its references are added, then the result audio is
        analysed and shown with its plan. False (and a message) when the target is gone."""
        if not Path(result.target).is_file():
            self.error.emit(AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=result.target).message())
            return False
        for r in result.references:
            if r not in self.references and Path(r).is_file():
                self.references.append(r)
        if result.target not in self.targets:
            self.targets.append(result.target)
        self.current_target = result.target
        self.files_changed.emit()
        self._refresh_session()  # queues the target's load when it is not the one shown
        self._enqueue(self._open_job(result))
        return True

    def _reference_analyses(
        self,
        refs: list[str],
        rate: int,
        cached: dict[tuple[str, int], Any],
        token: Any,
        span: float,
    ) -> Generator[Any, None, list[Any]]:
        """Analyses of ``refs`` at ``rate`` (from ``cached`` or computed into it), reporting
        progress over 0..``span`` of the job."""
        pipeline = self.engine.pipeline
        out = []
        for j, r in enumerate(refs):
            key = (r, rate)
            if key not in cached:
                lo, hi = span * j / len(refs), span * (j + 1) / len(refs)
                gen = pipeline.analyze_file(
                    r, sample_rate=rate, cancel=token, device=self.options.device
                )
                cached[key] = yield from _scaled(gen, lo, hi, self._progress)
            out.append(cached[key])
        return out

    def _open_job(self, ext: ExternalResult) -> _Job:
        cached = dict(self._ref_analyses)
        refs = list(ext.references)

        def run(token: Any) -> Generator[Any, None, _MatchOutcome]:
            loaded_target = self._loaded.get("target")  # the load job before this one is done
            if loaded_target is None or loaded_target.path != ext.target:
                raise AudioStyleError(ErrorCode.INTERNAL, reason="target not loaded")
            rate = loaded_target.rate
            ref_an = yield from self._reference_analyses(refs, rate, cached, token, 0.3)
            result = yield from self._load(ext.audio_path, rate, token, 0.3, 1.0)
            lufs = float(result.analysis.summary.integrated_lufs)
            stats = _ExternalStats(gain_db=ext.gain_db, eq_lufs=lufs - ext.gain_db)
            return _MatchOutcome(ext.preset, stats, ref_an, result, ext.audio_path)

        def done(m: _MatchOutcome) -> None:
            self._apply_match(m, refs)
            self.info.emit(self.tr("Result of {name} opened.").format(name=Path(ext.target).name))

        label = self.tr("Opening the result of {name}").format(name=Path(ext.target).name)
        return _Job("open", label, run, done)

    # -- edits and the loop preview ----------------------------------------------------------

    def set_band(self, channel: str, index: int, freq_hz: float, gain_db: float, q: float) -> None:
        """Edit one parametric band of the mid or side EQ; the curve follows the change."""
        if self.preset is None:
            return
        eq = self.preset.eq
        ch = eq.mid if channel == "mid" else eq.side
        if ch is None or not 0 <= index < len(ch.bands):
            return
        old = ch.bands[index]
        nyq = 0.5 * self.sample_rate
        new = old.model_copy(
            update={
                "freq_hz": float(np.clip(freq_hz, 10.0, 0.45 * 2 * nyq if nyq else 20000.0)),
                "gain_db": float(np.clip(gain_db, -24.0, 24.0)),
                "q": float(np.clip(q, 0.1, 20.0)),
            }
        )
        freqs = np.asarray(ch.curve.freqs_hz, dtype=np.float64)
        sr = self.sample_rate or 48000
        eqfit = self.engine.eqfit
        delta = eqfit.band_response_db(new, freqs, sr) - eqfit.band_response_db(old, freqs, sr)
        gains = np.asarray(ch.curve.gain_db, dtype=np.float64) + delta
        bands = list(ch.bands)
        bands[index] = new
        new_ch = ch.model_copy(
            update={
                "bands": bands,
                "curve": ch.curve.model_copy(update={"gain_db": [float(g) for g in gains]}),
            }
        )
        new_eq = eq.model_copy(update={channel: new_ch, "enabled": True})
        self.preset = self.preset.model_copy(update={"eq": new_eq})
        self.result_stale = True
        self.preset_changed.emit()
        self._schedule_preview()

    def set_loop_s(self, start_s: float, end_s: float, *, preview: bool = True) -> None:
        """Set the loop region; with an edited plan the new region is re-rendered."""
        length = self.length_s()
        start_s, end_s = sorted((max(0.0, start_s), max(0.0, end_s)))
        if length:
            start_s, end_s = min(start_s, length), min(end_s, length)
        self.loop_s = (start_s, end_s)
        rate = self.sample_rate
        self.player.set_loop(int(start_s * rate), int(end_s * rate))
        if preview and self.result_stale:
            self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self.preset is not None:
            self._preview_timer.start()

    def _start_preview(self) -> None:
        target = self._loaded.get("target")
        result = self._loaded.get("result")
        if self.preset is None or target is None or result is None or self._full_preset is None:
            return
        if target.channels > 2:
            self.info.emit(self.tr("Preview is available for mono and stereo files only."))
            return
        pipeline = self.engine.pipeline
        rate = target.rate
        start = int(self.loop_s[0] * rate)
        end = int(min(self.loop_s[1], self.loop_s[0] + MAX_PREVIEW_S) * rate)
        if end - start < rate // 10:
            end = min(len(target.audio), start + int(DEFAULT_LOOP_S * rate))
        if end <= start:
            return
        rebuild = self._options_dirty
        base = self.preset
        options = self.options
        t_an = target.analysis
        ref_an = [
            self._ref_analyses[(r, rate)]
            for r in self.references
            if (r, rate) in self._ref_analyses
        ]
        x = target.audio[start:end]
        if target.channels == 1:
            x = x[:, :1]
        full_preset = self._full_preset
        full_stats = self.render_stats
        full_result = result.audio[start:end]
        result_lufs = float(result.analysis.summary.integrated_lufs)
        refs = list(self.references)
        baseline_key = (start, end)
        baseline = self._preview_baseline.get(baseline_key)

        def run(token: Any) -> Generator[Any, None, _PreviewOutcome]:
            yield self._progress("plan", 0.05)
            preset = base
            if rebuild and ref_an:
                preset = _named(pipeline.build_preset(t_an, ref_an, options), refs)
            token.check()
            xf = np.asarray(x, dtype=np.float64)
            full_gain = float(full_stats.gain_db)
            old_eq = baseline
            if old_eq is None:  # the region's EQ'd loudness under the fully rendered plan
                old_eq = pipeline.render_array(
                    full_preset, xf, rate, gain_db=full_gain, device=self.options.device
                ).stats.eq_lufs
            yield self._progress("render", 0.3)
            out = pipeline.render_array(
                preset, xf, rate, gain_db=full_gain, device=self.options.device
            )
            token.check()
            gain = preview_gain(preset, full_preset, full_stats, old_eq, float(out.stats.eq_lufs))
            if abs(gain - full_gain) > 0.05:
                yield self._progress("render", 0.6)
                out = pipeline.render_array(
                    preset, xf, rate, gain_db=gain, device=self.options.device
                )
            audio = np.empty((len(out.audio), 2), dtype=np.float32)
            to_stereo(out.audio, audio)
            yield self._progress("analyze", 0.85)
            # how loud the whole result would be: the region's change applied to the full value
            before = pipeline.analyze_array(full_result, rate).summary.integrated_lufs
            after = pipeline.analyze_array(audio, rate).summary.integrated_lufs
            lufs = result_lufs + (after - before) if math.isfinite(after - before) else result_lufs
            return _PreviewOutcome(preset, start, audio, float(lufs), float(old_eq))

        def done(p: _PreviewOutcome) -> None:
            self._preview_baseline = {baseline_key: p.baseline_eq_lufs}
            if rebuild:
                self.preset = p.preset
                self._options_dirty = False
                self.preset_changed.emit()
            self.result_stale = True
            self.player.set_overlay(p.start, p.audio, p.lufs)
            rate_ = self.sample_rate or 1
            self.preview_ready.emit(p.start / rate_, (p.start + len(p.audio)) / rate_)

        self._enqueue(
            _Job("preview", self.tr("Rendering the loop preview"), run, done), coalesce=True
        )

    # -- export ------------------------------------------------------------------------------

    def output_stem(self, target: str) -> str:
        return f"{Path(target).stem}_matched"

    def planned_outputs(self, req: ExportRequest) -> list[str]:
        """The files an export would write (shown in the export dialog)."""
        if self.current_target is None:
            return []
        folder = Path(req.folder)
        targets = self.targets if req.batch else [self.current_target]
        paths: list[str] = []
        for t in targets:
            stem = self.output_stem(t)
            if req.audio:
                paths.append(str(folder / (stem + EXTENSIONS[req.audio_format])))
            for fmt in req.preset_formats:
                paths.append(str(folder / (stem + PRESET_EXTENSIONS[fmt])))
                if fmt == "ir":
                    paths.append(str(folder / (stem + IR_TRUE_STEREO_EXTENSION)))
            if req.report:
                paths.append(str(folder / (stem + ".report.json")))
                if not req.batch or t == self.current_target:
                    paths.append(str(folder / (stem + ".report.png")))
        if req.batch and req.album:
            paths.append(str(folder / ALBUM_REPORT))
        return paths

    def reference_range(self) -> tuple[Any, Any, Any] | None:
        """``(freqs_hz, lo_db, hi_db)``: the references' weighted spread (loudness-aligned mid
        spectra) when there are two or more analysed at the current rate, else None."""
        ranges = self.engine.ranges
        if ranges is None or len(self.references) < 2:
            return None
        rate = self.sample_rate
        analyses = [self._ref_analyses.get((r, rate)) for r in self.references]
        if any(a is None for a in analyses):
            return None
        result: tuple[Any, Any, Any] = ranges.spectrum_range(
            analyses, self.options.reference_weights
        )
        return result

    def export(self, req: ExportRequest, report_image: Any = None) -> None:
        """Write what ``req`` asks for; ``report_image`` (a QImage) is saved as the PNG report."""
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
            self._enqueue(self._batch_job(req, report_image))
        else:
            self._enqueue(self._export_job(req, report_image))

    def _write_presets(
        self, preset: Preset, stem: Path, formats: Sequence[str], target: Any = None
    ) -> list[str]:
        """The preset files; ``target`` (its Analysis) sets the impulse responses' rate and
        the ffmpeg chain's gain."""
        presets, io, exports = self.engine.presets, self.engine.io, self.engine.exports
        written = []
        for fmt in formats:
            path = str(stem) + PRESET_EXTENSIONS[fmt]
            if fmt == "json":
                presets.save_preset(preset, path, force=True)
            elif fmt == "ir":
                rate = getattr(target, "sample_rate", IR_DEFAULT_RATE)
                rates = exports.ir.IR_SAMPLE_RATES
                _, paths = exports.ir.write_impulse_responses(
                    preset, path, sample_rate=rate if rate in rates else IR_DEFAULT_RATE, force=True
                )
                written += [str(p) for p in paths[1:]]
            elif fmt == "ffmpeg":
                lufs = target.summary.integrated_lufs if target is not None else None
                io.atomic_write_text(path, exports.ffmpeg.export_ffmpeg(preset, lufs), force=True)
            else:
                io.atomic_write_text(path, presets.export_preset(preset, fmt), force=True)
            written.append(path)
        return written

    def _save_png(self, image: Any, path: str) -> str | None:
        if image is None:
            return None
        if not image.save(path, "PNG"):
            raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=path)
        return path

    def _export_job(self, req: ExportRequest, image: Any) -> _Job:
        pipeline, report = self.engine.pipeline, self.engine.report
        preset = self.preset
        assert preset is not None and self.current_target is not None
        target = self.current_target
        t_an = self.analysis("target")
        rate = self.sample_rate
        refs = [self._ref_analyses.get((r, rate)) for r in self.references]
        ref_an = [a for a in refs if a is not None]
        stem = Path(req.folder) / self.output_stem(target)
        tmp_dir = Path(self._tmp.name)

        def run(token: Any) -> Generator[Any, None, _ExportOutcome]:
            written: list[str] = []
            if req.audio or req.report:
                out = str(stem) + EXTENSIONS[req.audio_format] if req.audio else None
                dest = out or str(tmp_dir / "report-render.wav")
                fmt = req.audio_format if req.audio else "wav32f"
                gen = pipeline.render_file(
                    preset,
                    target,
                    dest,
                    fmt=fmt,
                    force=True,
                    cancel=token,
                    device=self.options.device,
                )
                rendered = yield from _scaled(gen, 0.0, 0.8, self._progress)
                if out:
                    written.append(out)
                if req.report:
                    gen = pipeline.analyze_file(
                        dest, cancel=token, require_signal=False, device=self.options.device
                    )
                    out_an = yield from _scaled(gen, 0.8, 0.95, self._progress)
                    rep = report.build_report(
                        t_an, ref_an, out_an, preset, rendered.stats, target, out or ""
                    )
                    path = str(stem) + ".report.json"
                    report.save_report(rep, path)
                    written.append(path)
                if not out:
                    Path(dest).unlink(missing_ok=True)
            written += self._write_presets(preset, stem, req.preset_formats, t_an)
            yield self._progress("done", 1.0)
            return _ExportOutcome(written)

        def done(res: _ExportOutcome) -> None:
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

        return _Job("export", self.tr("Exporting"), run, done)

    def _batch_job(self, req: ExportRequest, image: Any) -> _Job:
        pipeline = self.engine.pipeline
        targets = list(self.targets)
        refs = list(self.references)
        options = self.options
        folder = Path(req.folder)
        tmp_dir = Path(self._tmp.name)
        stems = [folder / self.output_stem(t) for t in targets]
        current = self.current_target

        def run(token: Any) -> Generator[Any, None, _ExportOutcome]:
            written: list[str] = []
            if req.audio:
                outs = [str(s) + EXTENSIONS[req.audio_format] for s in stems]
                fmt = req.audio_format
            else:
                outs = [str(tmp_dir / f"batch-{i}.wav") for i in range(len(targets))]
                fmt = "wav32f"
            if req.album:
                return (yield from album_run(token, outs, fmt))
            n = len(targets)
            results = []
            for i, (t, out, stem) in enumerate(zip(targets, outs, stems, strict=True)):
                lo, hi = i / n, (i + 1) / n
                report_out = str(stem) + ".report.json" if req.report else None
                gen = pipeline.match_files(
                    [t],
                    refs,
                    [out],
                    options,
                    fmt=fmt,
                    force=True,
                    report_out=report_out,
                    cancel=token,
                )
                res = yield from _scaled(gen, lo, hi, self._progress, f"{i + 1}/{n}")
                results.extend(res)
                if req.audio:
                    written.append(out)
                else:
                    Path(out).unlink(missing_ok=True)
                if report_out:
                    written.append(report_out)
                preset = _named(res[0].preset, refs)
                written += self._write_presets(
                    preset, stem, req.preset_formats, res[0].target_analysis
                )
            return _ExportOutcome(written)

        def album_run(
            token: Any, outs: list[str], fmt: str
        ) -> Generator[Any, None, _ExportOutcome]:
            """Album mode: every target in one plan; the album table as the report."""
            gen = pipeline.match_files(
                targets,
                refs,
                outs,
                options,
                fmt=fmt,
                force=True,
                cancel=token,
                album=self.engine.album.AlbumOptions(),
            )
            results = yield from _scaled(gen, 0.0, 1.0, self._progress)
            written = list(outs) if req.audio else []
            if not req.audio:
                for o in outs:
                    Path(o).unlink(missing_ok=True)
            table = results[0].extra["album"]
            path = str(folder / ALBUM_REPORT)
            self.engine.report.save_report(table, path)
            written.append(path)
            for r, stem in zip(results, stems, strict=True):
                written += self._write_presets(
                    _named(r.preset, refs), stem, req.preset_formats, r.target_analysis
                )
            return _ExportOutcome(written, table)

        def done(res: _ExportOutcome) -> None:
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

        return _Job("batch", self.tr("Batch: matching every target"), run, done)

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

    # -- the job queue -----------------------------------------------------------------------

    def cancel(self) -> None:
        """Cancel the running job and everything queued (quiet bookkeeping stays)."""
        self._queue = [j for j in self._queue if j.quiet]
        if self._current is not None and not self._current.quiet:
            self.runner.cancel()
        self._update_busy()

    def run_task(
        self,
        kind: str,
        label: str,
        run: Callable[[Any], Generator[Any, None, Any]],
        done: Callable[[Any], None],
        fail: Callable[[AudioStyleError], None] | None = None,
        *,
        quiet: bool = False,
        canceled: Callable[[], None] | None = None,
        coalesce: bool = False,
    ) -> None:
        """Queue ``run(cancel_token)`` (a progress generator) on the task runner; ``done``,
        ``fail`` or ``canceled`` is called on the GUI thread. For other controllers."""
        self._enqueue(_Job(kind, label, run, done, fail, quiet, canceled), coalesce=coalesce)

    @property
    def current_kind(self) -> str:
        """The kind of the job running now ("" when none)."""
        return self._current.kind if self._current is not None else ""

    def queued(self, kind: str) -> bool:
        """True when a job of ``kind`` runs or waits."""
        cur = self._current is not None and self._current.kind == kind
        return cur or any(j.kind == kind for j in self._queue)

    def unqueue(self, kind: str) -> int:
        """Drop the waiting (not the running) jobs of ``kind``; returns how many."""
        n = len(self._queue)
        self._queue = [j for j in self._queue if j.kind != kind]
        self._update_busy()
        return n - len(self._queue)

    def emit_progress(self, stage: str, fraction: float, message: str = "") -> None:
        """Progress of the running job reported from outside its generator (a callback of
        a blocking call on the worker thread): queued onto the GUI thread like the runner's."""
        self._external_progress.emit(stage, float(fraction), message)

    def shutdown(self) -> None:
        """Stop background work and audio; remove temporary renders."""
        self._closed = True
        self._preview_timer.stop()
        self._queue.clear()
        self.runner.shutdown()
        self.player.close()
        self.player.clear()  # the session's audio (hundreds of MB for long files) goes now,
        self._loaded.clear()  # not whenever the window's wrapper objects are collected
        self._ref_analyses.clear()
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

    def _enqueue(self, job: _Job, coalesce: bool = False) -> None:
        if self._closed:
            return
        if coalesce:
            self._queue = [j for j in self._queue if j.kind != job.kind]
        self._queue.append(job)
        self._update_busy()
        self._pump()

    def _update_busy(self) -> None:
        busy = self.busy
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _pump(self) -> None:
        if self._current is not None or self.runner.busy:
            return
        if not self._queue:
            self._update_busy()
            return
        job = self._queue.pop(0)
        self._current = job
        if not job.quiet:
            self.task_started.emit(job.kind, job.label)
        self.runner.start(job.run)

    def _finish(self, ok: bool) -> None:
        job = self._current
        self._current = None
        if job is not None and not job.quiet:
            self.task_finished.emit(job.kind, ok)
        self._pump()
        self._update_busy()
        if not self.busy:
            release_freed_memory()

    def _on_progress(self, stage: str, fraction: float, message: str) -> None:
        job = self._current
        if job is None or job.quiet:
            return
        text = job.label
        stage_text = self._stage_text(stage)
        if stage_text:
            text = f"{text} — {stage_text}"
        if message and not message.startswith("/"):
            text = f"{text} {message}"
        self.task_progress.emit(text, fraction)

    def _on_finished(self, result: object) -> None:
        job = self._current
        if self._closed:
            self._current = None
            return
        try:
            if job is not None:
                job.done(result)
        except Exception as exc:  # noqa: BLE001 - a bug while applying must not kill the app
            self.error.emit(as_audio_style_error(exc).message())
            self._finish(False)
            return
        self._finish(True)

    def _on_failed(self, error: object) -> None:
        job = self._current
        err = (
            error if isinstance(error, AudioStyleError) else as_audio_style_error(Exception(error))
        )
        if self._closed:
            self._current = None
            return
        try:
            if job is not None and job.fail is not None:
                job.fail(err)
            elif job is None or not job.quiet:
                self.error.emit(err.message())
        finally:
            self._finish(False)

    def _on_canceled(self) -> None:
        job = self._current
        if self._closed:
            self._current = None
            return
        try:
            if job is not None and job.canceled is not None:
                job.canceled()
            elif job is None or not job.quiet:
                self.info.emit(self.tr("Canceled."))
        finally:
            self._finish(False)

    def _stage_text(self, stage: str) -> str:
        return {
            "probe": self.tr("checking"),
            "analyze": self.tr("analysing"),
            "decode": self.tr("decoding"),
            "plan": self.tr("planning"),
            "eq": self.tr("equalising"),
            "gain": self.tr("planning gain"),
            "render": self.tr("rendering"),
            "upload": self.tr("uploading"),
            "download": self.tr("downloading"),
            "delivery": self.tr("checking delivery"),
            "done": self.tr("done"),
        }.get(stage, "")

    def _progress(self, stage: str, fraction: float, message: str = "") -> Any:
        return self.engine.pipeline.Progress(stage, float(fraction), message)


def _named(preset: Preset, refs: Sequence[str]) -> Preset:
    """The preset with the reference names filled in (as ``match_files`` does)."""
    return preset.model_copy(
        update={
            "name": Path(refs[0]).stem if refs else "",
            "references": [Path(r).name for r in refs],
            "created_by": "audio-style gui",
        }
    )


def _scaled(
    gen: Generator[Any, None, Any],
    lo: float,
    hi: float,
    make: Callable[[str, float, str], Any],
    message: str = "",
) -> Generator[Any, None, Any]:
    """Re-map a sub-generator's 0..1 progress into ``lo..hi``."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        yield make(p.stage, lo + (hi - lo) * float(p.fraction), message)


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system once the queue is idle (glibc).

    An engine task frees gigabyte-scale temporaries; glibc keeps much of it mapped in its
    arenas, so the app's resident memory stayed near the task's peak after a long match.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
