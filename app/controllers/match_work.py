"""The engine work of the main controller, without Qt: progress generators for its jobs.

Each method returns (or is) a ``run(cancel_token)`` generator for the job queue: load a file
for playback (analysis + a stereo float32 copy at the session's rate), analyse references,
match (plan + full render + codec-safe ceiling + the result loaded), open a result rendered
elsewhere, and render the loop preview of an edited plan at the loudness the export will
have. They run on the task runner's thread and touch no session state; what they need is
captured when the job is queued, and the controller applies their outcome on the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray

from app.controllers.engine_api import EngineApi, Steps
from app.controllers.session import (
    DEFAULT_LOOP_S,
    ExternalResult,
    ExternalStats,
    GainStats,
    Loaded,
    MatchOutcome,
    Probed,
)
from app.models import overview_of
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

if TYPE_CHECKING:
    from engine.facade import Analysis, CancelToken, Progress, RenderOutput

F32 = NDArray[np.float32]
MAX_PREVIEW_S = 60.0
DECODE_BLOCK = 1 << 16
T = TypeVar("T")


@dataclass
class PreviewOutcome:
    preset: Preset
    start: int
    audio: F32
    lufs: float
    baseline_eq_lufs: float


@dataclass
class PreviewRegion:
    """What the loop preview renders, captured on the GUI thread when it is queued."""

    rebuild: bool  # the options changed: plan again
    base: Preset  # the plan as edited
    options: MatchOptions
    target: Analysis
    references: list[Analysis]
    reference_paths: list[str]
    x: F32  # the target's loop region (its own channels)
    rate: int
    start: int
    full_preset: Preset  # what the full render used and solved
    full_stats: GainStats
    full_result: F32  # the full render's audio over the region
    result_lufs: float
    baseline: float | None  # the region's EQ'd loudness under ``full_preset``, if known


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
    preset: Preset,
    full_preset: Preset,
    full_stats: GainStats,
    region_eq_old: float,
    region_eq_new: float,
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


def scaled(
    gen: Steps[T],
    lo: float,
    hi: float,
    make: Callable[[str, float, str], Progress],
    message: str = "",
) -> Steps[T]:
    """Re-map a sub-generator's 0..1 progress into ``lo..hi``."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            result: T = stop.value
            return result
        yield make(p.stage, lo + (hi - lo) * float(p.fraction), message)


class MatchWork:
    """The generators; ``device`` reads the processing device when the work runs."""

    def __init__(self, engine: EngineApi, device: Callable[[], str]) -> None:
        self.engine = engine
        self.device = device

    def progress(self, stage: str, fraction: float, message: str = "") -> Progress:
        return self.engine.pipeline.Progress(stage, float(fraction), message)

    def probe(self, paths: list[str]) -> Callable[[CancelToken], Steps[Probed]]:
        """Check ``paths`` (the engine's probe): each one's length, or why it is refused."""

        def run(token: CancelToken) -> Steps[Probed]:
            checked: Probed = []
            for i, p in enumerate(paths):
                token.check()
                try:
                    info = self.engine.io.probe(p)
                    checked.append((p, info.frames / max(1, info.sample_rate)))
                except AudioStyleError as exc:
                    checked.append((p, exc))
                yield self.progress("probe", (i + 1) / len(paths))
            return checked

        return run

    def edit_band(
        self,
        preset: Preset,
        channel: str,
        index: int,
        band: tuple[float, float, float],
        sample_rate: int,
    ) -> Preset | None:
        """``preset`` with band ``index`` of the ``channel`` (mid/side) EQ set to ``band``
        (frequency Hz, gain dB, Q; clipped to the editable ranges) and its curve moved by the
        change of that band's response; None when there is no such band."""
        eq = preset.eq
        ch = eq.mid if channel == "mid" else eq.side
        if ch is None or not 0 <= index < len(ch.bands):
            return None
        freq_hz, gain_db, q = band
        old = ch.bands[index]
        nyq = 0.5 * sample_rate
        new = old.model_copy(
            update={
                "freq_hz": float(np.clip(freq_hz, 10.0, 0.45 * 2 * nyq if nyq else 20000.0)),
                "gain_db": float(np.clip(gain_db, -24.0, 24.0)),
                "q": float(np.clip(q, 0.1, 20.0)),
            }
        )
        freqs = np.asarray(ch.curve.freqs_hz, dtype=np.float64)
        sr = sample_rate or 48000
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
        return preset.model_copy(update={"eq": new_eq})

    def load(
        self, path: str, rate: int | None, token: CancelToken, lo: float, hi: float
    ) -> Steps[Loaded]:
        """Analyse ``path`` at ``rate`` and decode a stereo float32 copy at that rate."""
        pipeline, io = self.engine.pipeline, self.engine.io
        info = io.probe(path)
        rate = rate or info.sample_rate
        mid = lo + 0.5 * (hi - lo)
        analysis = yield from scaled(
            pipeline.analyze_file(path, sample_rate=rate, cancel=token, device=self.device()),
            lo,
            mid,
            self.progress,
        )
        audio = np.empty((info.frames, 2), dtype=np.float32)
        pos = 0
        for block in io.iter_blocks(path, DECODE_BLOCK, info=info):
            token.check()
            n = len(block)
            to_stereo(block, audio[pos : pos + n])
            pos += n
            yield self.progress("decode", mid + (hi - mid) * 0.9 * pos / max(1, info.frames))
        if info.sample_rate != rate:
            audio = np.asarray(io.resample(audio, info.sample_rate, rate), dtype=np.float32)
        ov = overview_of(audio, rate)
        return Loaded(path, rate, info.channels, analysis, audio, ov)

    def load_pair(
        self,
        target: str | None,
        reference: str | None,
        needs: list[str],
        keep_target: Loaded | None,
    ) -> Callable[[CancelToken], Steps[dict[str, Loaded]]]:
        """Load the roles in ``needs``; the reference at the target's rate (``keep_target``'s
        when the target stays)."""

        def run(token: CancelToken) -> Steps[dict[str, Loaded]]:
            out: dict[str, Loaded] = {}
            rate = keep_target.rate if keep_target is not None else None
            if target is not None and "target" in needs:
                rate = self.engine.io.probe(target).sample_rate
            steps = [r for r in ("target", "reference") if r in needs]
            for i, role in enumerate(steps):
                path = target if role == "target" else reference
                assert path is not None
                lo, hi = i / len(steps), (i + 1) / len(steps)
                out[role] = yield from self.load(path, rate, token, lo, hi)
                rate = out[role].rate if rate is None else rate
            return out

        return run

    def reference_analyses(
        self,
        refs: list[str],
        rate: int,
        cached: dict[tuple[str, int], Analysis],
        token: CancelToken,
        span: float,
    ) -> Steps[list[Analysis]]:
        """Analyses of ``refs`` at ``rate`` (from ``cached`` or computed into it), reporting
        progress over 0..``span`` of the job."""
        pipeline = self.engine.pipeline
        out = []
        for j, r in enumerate(refs):
            key = (r, rate)
            if key not in cached:
                lo, hi = span * j / len(refs), span * (j + 1) / len(refs)
                gen = pipeline.analyze_file(r, sample_rate=rate, cancel=token, device=self.device())
                cached[key] = yield from scaled(gen, lo, hi, self.progress)
            out.append(cached[key])
        return out

    def match(
        self,
        target: str,
        loaded_target: Loaded | None,
        refs: list[str],
        options: MatchOptions,
        cached: dict[tuple[str, int], Analysis],
        out_path: str,
    ) -> Callable[[CancelToken], Steps[MatchOutcome]]:
        """Plan ``target`` against ``refs``, render it into ``out_path`` and load the result."""
        pipeline = self.engine.pipeline

        def run(token: CancelToken) -> Steps[MatchOutcome]:
            if loaded_target is None or loaded_target.path != target:
                raise AudioStyleError(ErrorCode.INTERNAL, reason="target not loaded")
            rate = loaded_target.rate
            ref_an = yield from self.reference_analyses(refs, rate, cached, token, 0.15)
            yield self.progress("plan", 0.16)
            preset = pipeline.plan_match(loaded_target.analysis, ref_an, options, refs)
            gen = pipeline.render_file(
                preset,
                target,
                out_path,
                fmt="wav32f",
                force=True,
                cancel=token,
                device=self.device(),
            )
            rendered = yield from scaled(gen, 0.18, 0.75, self.progress)
            if preset.options.codec_safe and preset.limiter.enabled:
                safe = pipeline.codec_safe_render(
                    preset,
                    target,
                    out_path,
                    rendered,
                    fmt="wav32f",
                    cancel=token,
                    device=self.device(),
                )
                preset, rendered, _ = yield from scaled(safe, 0.75, 0.75, self.progress)
            result = yield from self.load(out_path, rate, token, 0.75, 1.0)
            stats = rendered.stats
            return MatchOutcome(preset, stats, ref_an, result, out_path, stats.output_lufs)

        return run

    def open(
        self,
        ext: ExternalResult,
        loaded_target: Callable[[], Loaded | None],
        cached: dict[tuple[str, int], Analysis],
    ) -> Callable[[CancelToken], Steps[MatchOutcome]]:
        """Load a result rendered elsewhere; ``loaded_target`` is asked when the job runs
        (the target's load job, queued before this one, is done by then)."""
        refs = list(ext.references)

        def run(token: CancelToken) -> Steps[MatchOutcome]:
            target = loaded_target()
            if target is None or target.path != ext.target:
                raise AudioStyleError(ErrorCode.INTERNAL, reason="target not loaded")
            rate = target.rate
            ref_an = yield from self.reference_analyses(refs, rate, cached, token, 0.3)
            result = yield from self.load(ext.audio_path, rate, token, 0.3, 1.0)
            lufs = float(result.analysis.summary.integrated_lufs)
            stats = ExternalStats(ext.gain_db, lufs - ext.gain_db, ext.fast_stage_db)
            return MatchOutcome(ext.preset, stats, ref_an, result, ext.audio_path)

        return run

    def preview(self, r: PreviewRegion) -> Callable[[CancelToken], Steps[PreviewOutcome]]:
        """Render the loop region through the edited plan at the full render's loudness."""
        pipeline = self.engine.pipeline

        def run(token: CancelToken) -> Steps[PreviewOutcome]:
            yield self.progress("plan", 0.05)
            preset = r.base
            if r.rebuild and r.references:
                preset = pipeline.plan_match(r.target, r.references, r.options, r.reference_paths)
            token.check()
            xf = np.asarray(r.x, dtype=np.float64)
            full_gain = float(r.full_stats.gain_db)
            fast = r.full_stats.fast_stage_db  # the full render's limiter, clip stage and all

            def render(p: Preset, gain: float) -> RenderOutput:
                return pipeline.render_array(
                    p, xf, r.rate, gain_db=gain, fast_stage_db=fast, device=self.device()
                )

            old_eq = r.baseline
            if old_eq is None:  # the region's EQ'd loudness under the fully rendered plan
                old_eq = render(r.full_preset, full_gain).stats.eq_lufs
            yield self.progress("render", 0.3)
            out = render(preset, full_gain)
            token.check()
            eq_lufs = float(out.stats.eq_lufs)
            gain = preview_gain(preset, r.full_preset, r.full_stats, old_eq, eq_lufs)
            if abs(gain - full_gain) > 0.05:
                yield self.progress("render", 0.6)
                out = render(preset, gain)
            audio = np.empty((len(out.audio), 2), dtype=np.float32)
            to_stereo(out.audio, audio)
            yield self.progress("analyze", 0.85)
            # how loud the whole result would be: the region's change applied to the full value
            before = pipeline.analyze_array(r.full_result, r.rate).summary.integrated_lufs
            after = pipeline.analyze_array(audio, r.rate).summary.integrated_lufs
            lufs = r.result_lufs
            if math.isfinite(after - before):
                lufs = r.result_lufs + (after - before)
            return PreviewOutcome(preset, r.start, audio, float(lufs), float(old_eq))

        return run


def preview_bounds(loop_s: tuple[float, float], rate: int, frames: int) -> tuple[int, int]:
    """The frames the loop preview renders: the loop region (at most ``MAX_PREVIEW_S``), or
    ``DEFAULT_LOOP_S`` from its start when the region is shorter than 0.1 s."""
    start = int(loop_s[0] * rate)
    end = int(min(loop_s[1], loop_s[0] + MAX_PREVIEW_S) * rate)
    if end - start < rate // 10:
        end = min(frames, start + int(DEFAULT_LOOP_S * rate))
    return start, end
