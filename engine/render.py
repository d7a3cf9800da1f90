"""Apply a preset to audio: EQ -> dynamics -> gain -> true-peak limiter -> loudness check.

Two passes over the signal, both in blocks:

1. the mid/side linear-phase EQ is applied (zero latency) and the result kept in a spill
   buffer (memory, or a temporary file for long inputs); per-hop statistics are gathered on
   the way: K-weighted energy (ITU-R BS.1770-4) and the 4x-oversampled true peak
   (BS.1770-4 Annex 2).
2. From those statistics alone the dynamics gain, the loudness gain and the limiter gain are
   computed at hop rate (a few hundred microseconds), the loudness gain solved so the limited
   output meets the target; then the gains are applied sample by sample and written out while
   the output's loudness and true peak are measured. If the check misses (rare), pass 2 is
   repeated with the corrected gain before anything is committed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine.analysis.loudness import (
    LOUDNESS_OFFSET_DB,
    KWeightedEnergy,
    channel_weights,
    integrated_loudness,
    k_weighting_sos,
)
from engine.analysis.peaks import FINE_TRUE_PEAK_RATE_HZ, TruePeakMeter
from engine.backends import Backend, numpy_backend
from engine.dsp.dynamics import (
    compressor_gain_db,
    level_envelope_db,
    limiter_gain_db,
    maximum_filter1d,
)
from engine.dsp.fir import design_fir
from engine.dsp.iir import sosfilt
from engine.progress import CancelToken, Progress, check
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
BLOCK_FRAMES = 1 << 16
SPILL_BYTES = 256 * 1024 * 1024  # keep up to this much EQ'd audio in memory, then a temp file
LUFS_TOLERANCE = 0.05
# True-peak meters differ (interpolation filters): the limiter aims this far below the ceiling
TP_SAFETY_DB = 0.25
# ...and the output's true peak (metered at 8x on the gained signal, where the interpolated
# peak has converged) must stay this far below it: a 4x polyphase resampler with a short filter
# (scipy's resample_poly, the benchmark's meter) reads up to ~0.15 dB above the converged peak
# on heavily limited, bright programme (measured on generated drums, tests/engine/test_render)
TP_CHECK_MARGIN_DB = 0.2
# a hop of the output above the ceiling gets a gain dip this much deeper than its excess,
# over this many hops around it (the interpolator's span: 48 taps at 4x)
TP_FIX_EXTRA_DB = 0.02
TP_FIX_HOPS = 5
MAX_PASSES = 4
# The limiter may cost at most this much loudness unless the preset says otherwise
# (``LimiterSettings.max_limiting_db``, the user's ``--max-limiting-db``): past it a loudness
# target is given up (the output stays quieter) rather than crushing the programme. Measured on
# the benchmark: unbounded, the solver found gains of +150 dB with 143 dB of limiting.
MAX_LIMITER_PUSH_DB = 6.0
# ...but the final loudness check still tops up a near miss of at most this much past it
CAPPED_TOP_UP_LU = 1.0
EDGE_FADE_MS = 2.0


class Sink(Protocol):
    """Where rendered blocks go; ``reset`` discards what was written (pass 2 retry)."""

    def write(self, block: F64) -> None: ...

    def reset(self) -> None: ...


class ArraySink:
    """Collects the output in memory."""

    def __init__(self) -> None:
        self.blocks: list[F64] = []

    def write(self, block: F64) -> None:
        self.blocks.append(block)

    def reset(self) -> None:
        self.blocks = []

    def array(self, channels: int) -> F64:
        if not self.blocks:
            return np.zeros((0, channels))
        return np.concatenate(self.blocks, axis=0)


@dataclass
class RenderStats:
    """What the render did and measured."""

    gain_db: float
    output_lufs: float
    output_true_peak_dbtp: float
    eq_lufs: float
    max_limiter_reduction_db: float
    max_dynamics_reduction_db: float
    passes: int
    frames: int


def hop_frames(sample_rate: int) -> int:
    """Frames per gain-computer hop (~0.7 ms)."""
    return max(8, int(round(32 * sample_rate / 48000)))


class _Spill:
    """Sequential store of float32 blocks, in memory or in a temp file."""

    def __init__(self, total_bytes: int) -> None:
        self.blocks: list[F32] = []
        self.shapes: list[tuple[int, int]] = []
        self.file = None
        if total_bytes > SPILL_BYTES:
            fd, self.path = tempfile.mkstemp(prefix="audio-style-", suffix=".f32")
            self.file = os.fdopen(fd, "w+b")
            os.unlink(self.path)  # anonymous: vanishes with the process

    def add(self, block: F64) -> None:
        b = np.ascontiguousarray(block, dtype=np.float32)
        if self.file is None:
            self.blocks.append(b)
        else:
            b.tofile(self.file)
            self.shapes.append(b.shape)

    def __iter__(self) -> Iterator[F32]:
        if self.file is None:
            yield from self.blocks
            return
        self.file.flush()
        self.file.seek(0)
        for shape in self.shapes:
            n = shape[0] * shape[1]
            yield np.fromfile(self.file, dtype=np.float32, count=n).reshape(shape)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self.blocks = []


_SIDE: ThreadPoolExecutor | None = None


def _side_thread() -> ThreadPoolExecutor:
    """One helper thread for work that overlaps the main loop (never waits on other pools)."""
    global _SIDE
    if _SIDE is None:
        _SIDE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-side")
    return _SIDE


class HopStats:
    """Per-hop K-weighted energy (BS.1770-4) and true peak (Annex 2) of a streamed signal."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sr, self.ch = sample_rate, channels
        self.hop = hop_frames(sample_rate)
        self.sos = k_weighting_sos(sample_rate)
        self.zi = np.zeros((self.sos.shape[0], 2, channels))
        self.weights = channel_weights(channels)
        self.pending = np.zeros((0, channels))
        self.kw: list[F64] = []
        self.tp = TruePeakMeter(
            sample_rate, channels, envelope_hop=self.hop, min_rate_hz=FINE_TRUE_PEAK_RATE_HZ
        )
        self._busy: Future[None] | None = None

    def push(self, block: F64) -> None:
        """Measure ``block`` on the side thread while the caller produces the next one (at
        most one block in flight; blocks are measured in order)."""
        self.wait()
        self._busy = _side_thread().submit(self._measure, block)

    def wait(self) -> None:
        """Wait until every pushed block is measured (re-raises a measuring error)."""
        busy, self._busy = self._busy, None
        if busy is not None:
            busy.result()

    def _measure(self, block: F64) -> None:
        self.tp.push(block)  # its channels run on the analysis thread pool
        x = np.concatenate([self.pending, block], axis=0)
        n = (len(x) // self.hop) * self.hop
        if n:
            y = self._kweight(x[:n])
            self.kw.append(_weighted_sq(y, self.weights).reshape(-1, self.hop).mean(axis=1))
        self.pending = x[n:]

    def _kweight(self, x: F64) -> F64:
        y, self.zi = sosfilt(self.sos, x, axis=0, zi=self.zi)
        return np.asarray(y, dtype=np.float64)

    def finish(self) -> tuple[F64, F64]:
        """Per-hop energies and linear true peaks (max over channels)."""
        self.wait()
        if len(self.pending):
            pad = np.zeros((self.hop - len(self.pending), self.ch))
            y = self._kweight(np.concatenate([self.pending, pad]))
            self.kw.append(np.array([float(np.mean(_weighted_sq(y, self.weights)))]))
            self.pending = np.zeros((0, self.ch))
        kw = np.concatenate(self.kw) if self.kw else np.zeros(0)
        pk = self.tp.envelope().max(axis=1) if len(kw) else np.zeros(0)
        return kw, pk[: len(kw)]


def _weighted_sq(y: F64, weights: F64) -> F64:
    """``sum_c weights[c] * y[:, c]**2`` per frame. Written out rather than ``(y * y) @
    weights``: that matrix product goes to BLAS, whose worker threads then spin beside the
    renderer's own threads (measured: +0.5-1 s of CPU per 3-minute render on two cores)."""
    out = weights[0] * np.square(y[:, 0])
    for c in range(1, y.shape[1]):
        out += weights[c] * np.square(y[:, c])
    return np.asarray(out, dtype=np.float64)


def _ms_filters(preset: Preset, sample_rate: int, channels: int) -> list[F64] | None:
    eq = preset.eq
    if not eq.enabled:
        return None
    mid = design_fir(
        np.asarray(eq.mid.curve.freqs_hz), np.asarray(eq.mid.curve.gain_db), sample_rate
    )
    if channels == 2:
        side_curve = eq.side.curve if eq.side is not None else eq.mid.curve
        side = design_fir(
            np.asarray(side_curve.freqs_hz), np.asarray(side_curve.gain_db), sample_rate
        )
        return [mid, side]
    return [mid] * channels


def eq_filters(preset: Preset, sample_rate: int, channels: int) -> list[F64] | None:
    """The FIRs of the EQ stage: mid and side for stereo, the mid curve for every channel
    otherwise; None when the EQ is off. The exports (:mod:`engine.exports`) take these very
    filters, so an exported impulse response is the engine's EQ."""
    return _ms_filters(preset, sample_rate, channels)


def eq_stage(preset: Preset, x: F64, sample_rate: int, backend: Backend | None = None) -> F64:
    """Pass 1 alone: the mid/side EQ of a whole ``(frames, channels)`` array (aligned with the
    input), before dynamics, gain and limiter; what ``verify`` nulls an export against."""
    x = np.asarray(x, dtype=np.float64)
    filters = _ms_filters(preset, sample_rate, x.shape[1])
    blocks = (x[i : i + BLOCK_FRAMES] for i in range(0, len(x), BLOCK_FRAMES))
    parts = [y for y, _ in _eq_blocks(blocks, filters, x.shape[1], backend)]
    return np.concatenate(parts, axis=0) if parts else np.zeros_like(x)


def _eq_blocks(
    blocks: Iterable[F64],
    filters: list[F64] | None,
    channels: int,
    backend: Backend | None = None,
) -> Iterator[tuple[F64, int]]:
    """Yield EQ'd blocks aligned with the input, with the count of input frames consumed."""
    if filters is None:
        for b in blocks:
            yield np.asarray(b, dtype=np.float64), len(b)
        return
    conv = (backend or numpy_backend()).convolver(filters, BLOCK_FRAMES)
    skip = conv.delay
    for b in blocks:
        b64 = np.asarray(b, dtype=np.float64)
        sig = _to_ms(b64) if channels == 2 else b64
        parts = []
        for i in range(0, len(sig), BLOCK_FRAMES):
            y = conv.process(sig[i : i + BLOCK_FRAMES])
            if skip:
                cut = min(skip, len(y))
                y, skip = y[cut:], skip - cut
            parts.append(y)
        y = np.concatenate(parts) if len(parts) != 1 else parts[0]
        # one output block per input block (the caller's granularity)
        yield (_from_ms(y) if channels == 2 else y), len(b64)
    tail = conv.flush()[skip:]
    if len(tail):
        yield (_from_ms(tail) if channels == 2 else tail), 0


def eq_batch(
    presets: Sequence[Preset],
    tracks: Sequence[F64],
    sample_rate: int,
    backend: Backend | None = None,
) -> list[F32]:
    """The mid/side EQ of many ``(frames, channels)`` tracks at once, each through its own
    preset: every mid, side (or mono channel) signal becomes one row of a single
    :meth:`~engine.backends.Backend.fir_batch` call (rows zero-padded to the longest track).
    Returns the EQ'd tracks (float32, aligned with the input, as the renderer spills them);
    a preset with the EQ off passes its track through."""
    be = backend or numpy_backend()
    rows: list[F64] = []
    taps: list[F64] = []
    owner: list[int] = []
    for i, (preset, x) in enumerate(zip(presets, tracks, strict=True)):
        filters = _ms_filters(preset, sample_rate, x.shape[1])
        if filters is None:
            continue
        sig = _to_ms(x) if x.shape[1] == 2 else x
        for c in range(x.shape[1]):
            rows.append(sig[:, c])
            taps.append(filters[c])
            owner.append(i)
    out = [np.asarray(x, dtype=np.float32) for x in tracks]
    if not rows:
        return out
    longest = max(len(r) for r in rows)
    x_rows = np.zeros((len(rows), longest), dtype=np.float32)
    for j, r in enumerate(rows):
        x_rows[j, : len(r)] = r
    y_rows = be.fir_batch(x_rows, np.stack(taps))
    j = 0
    while j < len(rows):
        i = owner[j]
        n, ch = tracks[i].shape
        y = y_rows[j : j + ch, :n].T.astype(np.float64)
        out[i] = np.asarray(_from_ms(y) if ch == 2 else y, dtype=np.float32)
        j += ch
    return out


def _to_ms(x: F64) -> F64:
    ms = np.empty_like(x, dtype=np.float64)
    np.add(x[:, 0], x[:, 1], out=ms[:, 0])
    np.subtract(x[:, 0], x[:, 1], out=ms[:, 1])
    ms *= 0.5
    return ms


def _from_ms(y: F64) -> F64:
    lr = np.empty_like(y, dtype=np.float64)
    np.add(y[:, 0], y[:, 1], out=lr[:, 0])
    np.subtract(y[:, 0], y[:, 1], out=lr[:, 1])
    return lr


def _blocks_100ms(kw: F64, hop: int, sample_rate: int) -> F64:
    """Re-bin per-hop energies into 100 ms hops (exact boundaries, linear in the cumsum)."""
    csum = np.concatenate([[0.0], np.cumsum(kw * hop)])
    total = len(kw) * hop
    edges = np.arange(0, total + 1, sample_rate * 0.1)
    pos = edges / hop
    i = np.clip(np.floor(pos).astype(int), 0, len(kw) - 1)
    val = csum[i] + (pos - i) * (csum[np.minimum(i + 1, len(kw))] - csum[i])
    return np.asarray(np.diff(val) / (sample_rate * 0.1), dtype=np.float64)


@dataclass
class GainPlan:
    """Hop-rate gains computed from pass-1 statistics."""

    hop: int
    gain_db: float
    dyn_db: F64
    lim_db: F64
    eq_lufs: float
    predicted_lufs: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)
    # extra gain reduction (dB, <= 0) where the rendered output's true peak came out above the
    # ceiling (the final check, :func:`final_check`): kept across re-solved limiter gains
    tp_fix_db: F64 | None = None

    def total_db(self) -> F64:
        total = self.gain_db + self.dyn_db + self.lim_db
        if self.tp_fix_db is not None:
            total = total + self.tp_fix_db
        return np.asarray(total, dtype=np.float64)


def _lufs_of(kw: F64, total_db: F64, hop: int, sample_rate: int) -> float:
    e = _blocks_100ms(kw * 10.0 ** (total_db / 10.0), hop, sample_rate)
    return float(integrated_loudness(e))


def plan_gains(
    preset: Preset,
    kw: F64,
    peak: F64,
    sample_rate: int,
    gain_db: float | None = None,
    tp_fix_db: F64 | None = None,
) -> GainPlan:
    """Solve the dynamics, loudness and limiter gains from per-hop statistics; ``tp_fix_db``
    (the final check's true-peak dips) is part of the limiting the loudness is solved with."""
    hop = hop_frames(sample_rate)
    hops_per_ms = sample_rate / hop / 1000.0
    eq_lufs = float(integrated_loudness(_blocks_100ms(kw, hop, sample_rate)))
    dyn = np.zeros_like(kw)
    d = preset.dynamics
    if d.enabled and abs(d.ratio - 1.0) > 1e-6 and np.isfinite(eq_lufs):
        level = LOUDNESS_OFFSET_DB + level_envelope_db(kw, int(round(d.detector_ms * hops_per_ms)))
        dyn = compressor_gain_db(
            level,
            eq_lufs + d.threshold_lu,
            d.ratio,
            d.knee_db,
            int(round(d.attack_ms * hops_per_ms)),
            d.release_ms * hops_per_ms,
        )
    # samples of hop k are scaled by gains interpolated from hops k-1..k+1, so each hop's gain
    # must respect its neighbours' peaks too
    peak_db = maximum_filter1d(20.0 * np.log10(np.maximum(peak, 1e-12)), 3)
    lim_cfg = preset.limiter
    ceiling = lim_cfg.ceiling_dbtp - TP_SAFETY_DB

    def limiter(g: float) -> F64:
        if not lim_cfg.enabled:
            return np.zeros_like(kw)
        lim = limiter_gain_db(
            peak_db + g + dyn,
            ceiling,
            max(1, int(round(lim_cfg.lookahead_ms * hops_per_ms))),
            lim_cfg.release_ms * hops_per_ms,
            lim_cfg.fast_stage_db,
            int(round(lim_cfg.program_release_window_ms * hops_per_ms)),
        )
        return lim if tp_fix_db is None else lim + tp_fix_db

    extra: dict[str, float] = {}
    if gain_db is None:
        gain_db = 0.0
        if preset.loudness.enabled and np.isfinite(eq_lufs):
            target = preset.loudness.target_lufs
            dyn_lufs = _lufs_of(kw, dyn, hop, sample_rate)
            gain_db, reachable = _solve_gain(
                kw,
                dyn,
                limiter,
                target,
                target - dyn_lufs,
                hop,
                sample_rate,
                lim_cfg.max_limiting_db,
            )
            if not reachable:
                extra["loudness_capped"] = 1.0
    lim = limiter(gain_db)
    if tp_fix_db is not None:  # kept apart in the plan
        lim = lim - tp_fix_db
    plan = GainPlan(hop, gain_db, dyn, lim, eq_lufs, extra=extra, tp_fix_db=tp_fix_db)
    plan.predicted_lufs = _lufs_of(kw, plan.total_db(), hop, sample_rate)
    return plan


def _solve_gain(
    kw: F64,
    dyn: F64,
    limiter: object,
    target: float,
    g0: float,
    hop: int,
    sample_rate: int,
    max_push_db: float = MAX_LIMITER_PUSH_DB,
) -> tuple[float, bool]:
    """The smallest gain that puts the limited output at ``target`` LUFS, searched upwards
    from ``g0`` (the gain without limiting) and at most ``max_push_db`` above it.

    Loudness grows monotonically but ever more slowly with gain once the limiter works, so
    the root is bracketed from below and refined by regula falsi (Illinois). Returns the gain
    and whether the target was reachable."""
    lim_fn = limiter  # callable(g) -> per-hop limiter dB

    def err(g: float) -> float:
        lim = lim_fn(g)  # type: ignore[operator]
        return _lufs_of(kw, g + dyn + lim, hop, sample_rate) - target

    lo, e_lo = g0, err(g0)
    if not np.isfinite(e_lo) or abs(e_lo) < 0.01:
        return lo, True
    if e_lo > 0:  # already too loud (limiting only lowers loudness): step down
        hi, e_hi = lo, e_lo
        for _ in range(8):
            lo -= max(e_lo, 1.0)
            e_lo = err(lo)
            if not e_lo > 0:
                break
        if not e_lo < 0:
            return lo, True
    else:
        cap = g0 + max_push_db
        step = max(-e_lo, 0.25)
        hi = min(lo + step, cap)
        e_hi = err(hi)
        while e_hi < 0:
            if hi >= cap - 1e-9:
                return cap, False
            lo, e_lo = hi, e_hi
            step *= 2.0
            hi = min(lo + step, cap)
            e_hi = err(hi)
    g = hi
    for _ in range(30):
        g = hi - e_hi * (hi - lo) / (e_hi - e_lo) if e_hi != e_lo else 0.5 * (lo + hi)
        e = err(g)
        if abs(e) < 0.01:
            break
        if e < 0:
            lo, e_lo = g, e
            e_hi *= 0.5
        else:
            hi, e_hi = g, e
            e_lo *= 0.5
    return g, True


def render(
    preset: Preset,
    blocks: Iterable[F64],
    sample_rate: int,
    channels: int,
    frames: int,
    sink: Sink,
    *,
    gain_db: float | None = None,
    cancel: CancelToken | None = None,
    backend: Backend | None = None,
) -> Generator[Progress, None, RenderStats]:
    """Render ``blocks`` (the target, ``frames`` long) through ``preset`` into ``sink``.

    A generator: yields :class:`Progress`, returns :class:`RenderStats`. Pass ``gain_db``
    (from a full render) to render an excerpt with the full file's loudness gain; ``backend``
    runs the EQ's convolution (default numpy).
    """
    filters = _ms_filters(preset, sample_rate, channels)
    spill = _Spill(frames * channels * 4)
    stats = HopStats(sample_rate, channels)
    done = 0
    try:
        for y, consumed in _eq_blocks(blocks, filters, channels, backend):
            check(cancel)
            spill.add(y)
            stats.push(y)
            done += consumed
            yield Progress("eq", 0.6 * done / max(1, frames))
        kw, peak = stats.finish()
        check(cancel)
        yield Progress("gain", 0.62)
        plan = plan_gains(preset, kw, peak, sample_rate, gain_db)
        passes = 0
        while True:
            passes += 1
            out_lufs, out_peak = yield from _apply(
                plan, spill, sample_rate, channels, done, sink, cancel
            )
            out_tp = _peak_dbtp(out_peak)
            if passes >= MAX_PASSES or not final_check(
                preset, plan, out_lufs, out_peak, kw, peak, sample_rate, gain_db
            ):
                break
            sink.reset()
        yield Progress("done", 1.0)
        return RenderStats(
            gain_db=plan.gain_db,
            output_lufs=out_lufs,
            output_true_peak_dbtp=out_tp,
            eq_lufs=plan.eq_lufs,
            max_limiter_reduction_db=float(-plan.lim_db.min()) if len(plan.lim_db) else 0.0,
            max_dynamics_reduction_db=float(-plan.dyn_db.min()) if len(plan.dyn_db) else 0.0,
            passes=passes,
            frames=done,
        )
    finally:
        spill.close()


def loudness_shortfall_lu(preset: Preset, output_lufs: float) -> float:
    """How far (LU) the output stayed below its loudness target because reaching it needed
    more limiting than ``preset.limiter.max_limiting_db``; 0 when the target was met (within
    half a LU) or loudness matching is off. The CLI, the app and the report say so."""
    target = preset.loudness.target_lufs
    if not preset.loudness.enabled or not np.isfinite(output_lufs):
        return 0.0
    short = float(target - output_lufs)
    return short if short > max(0.5, 10 * LUFS_TOLERANCE) else 0.0


def final_check(
    preset: Preset,
    plan: GainPlan,
    out_lufs: float,
    out_peak: F64,
    kw: F64,
    peak: F64,
    sample_rate: int,
    gain_db: float | None = None,
) -> bool:
    """The check after a pass 2: the output's metered loudness and its measured per-hop true
    peak (BS.1770-4 Annex 2, on the gained signal itself). Updates ``plan`` in place (or
    re-solves its limiter) and returns True when the pass must be repeated.

    - loudness off target by more than ``LUFS_TOLERANCE`` (and not given up by the limiting
      budget): the loudness gain is corrected (a louder gain re-solves the limiter);
    - a hop whose true peak came out above ``ceiling - TP_CHECK_MARGIN_DB``: the gain gets a
      local dip of that excess over the surrounding hops (the pass-1 bound assumes the gain is
      constant across the interpolator's span; fast limiting breaks that by a few tenths of a
      dB). The loudness barely moves, and the dip is kept if the limiter is re-solved.
    ``gain_db`` given (an excerpt rendered with a full render's gain): only the peak fix."""
    correction = 0.0
    capped = bool(plan.extra.get("loudness_capped"))
    target = preset.loudness.target_lufs
    if (
        gain_db is None
        and preset.loudness.enabled
        and np.isfinite(out_lufs)
        and abs(out_lufs - target) > LUFS_TOLERANCE
        # a target well past the limiter's budget is not chased upwards
        and not (capped and out_lufs < target - CAPPED_TOP_UP_LU)
    ):
        correction = target - out_lufs
    over = np.zeros(0)
    if preset.limiter.enabled and len(out_peak):
        tp_limit = preset.limiter.ceiling_dbtp - TP_CHECK_MARGIN_DB
        with np.errstate(divide="ignore"):
            over = 20.0 * np.log10(out_peak) - tp_limit
    fix = np.zeros(0)
    if len(over) and float(over.max()) > 0.0:
        n = len(plan.lim_db)
        spread = maximum_filter1d(np.maximum(over[:n], 0.0) + TP_FIX_EXTRA_DB, TP_FIX_HOPS)
        fix = np.where(spread > TP_FIX_EXTRA_DB, -spread, 0.0)
        fix = np.pad(fix, (0, n - len(fix)))
    if correction == 0.0 and not len(fix):
        return False
    if len(fix):
        plan.tp_fix_db = fix if plan.tp_fix_db is None else plan.tp_fix_db + fix
        if gain_db is None:  # the loudness gain re-solved with the dips in place
            new = plan_gains(preset, kw, peak, sample_rate, tp_fix_db=plan.tp_fix_db)
            plan.gain_db, plan.lim_db = new.gain_db, new.lim_db
            plan.predicted_lufs, plan.extra = new.predicted_lufs, new.extra
    elif correction > 0:  # louder: the limiter must be re-solved (the peak fixes are kept)
        new = plan_gains(preset, kw, peak, sample_rate, plan.gain_db + correction, plan.tp_fix_db)
        plan.gain_db, plan.lim_db = new.gain_db, new.lim_db
        plan.predicted_lufs = new.predicted_lufs
    else:  # quieter: peaks only fall, the limiter gain stays valid
        plan.gain_db += correction
    return True


def _peak_dbtp(out_peak: F64) -> float:
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(out_peak.max())) if len(out_peak) else float("-inf")


def edge_fade(idx: F64, frames: int, length: int) -> F64:
    """Raised-cosine fade over the first and last ``length`` samples: a programme cut out of a
    song starts and ends abruptly, and playback from silence would click and overshoot the
    true-peak ceiling on that step."""
    ramp = np.clip(np.minimum(idx + 0.5, frames - 0.5 - idx) / length, 0.0, 1.0)
    out = np.ones_like(ramp, dtype=np.float64)
    edge = ramp < 1.0  # the cosine only where it is not 1 (a block inside the programme: none)
    if edge.any():
        out[edge] = 0.5 - 0.5 * np.cos(np.pi * ramp[edge])
    return out


def _apply(
    plan: GainPlan,
    spill: _Spill,
    sample_rate: int,
    channels: int,
    frames: int,
    sink: Sink,
    cancel: CancelToken | None,
) -> Generator[Progress, None, tuple[float, F64]]:
    """Pass 2: gains applied and written; returns the output's integrated loudness and its
    per-hop true peak (linear, max over channels)."""
    total = 10.0 ** (plan.total_db() / 20.0)
    edge = max(1, int(EDGE_FADE_MS * sample_rate / 1000))
    hop = plan.hop
    centres = (np.arange(len(total)) + 0.5) * hop
    meter = KWeightedEnergy(sample_rate, channels)
    tp = TruePeakMeter(sample_rate, channels, envelope_hop=hop, min_rate_hz=FINE_TRUE_PEAK_RATE_HZ)
    pos = 0
    n_total = len(total) * hop
    for b in spill:
        check(cancel)
        idx = np.arange(pos, pos + len(b), dtype=np.float64)
        g = np.interp(idx, centres, total) * edge_fade(idx, frames, edge)
        y = b.astype(np.float64) * g[:, None]
        written = _side_thread().submit(sink.write, y)  # dither + encode beside the meters
        meter.push(y)
        tp.push(y)
        written.result()
        pos += len(b)
        yield Progress("render", 0.62 + 0.38 * min(1.0, pos / max(1, n_total)))
    out_peak = tp.envelope().max(axis=1) if pos else np.zeros(0)
    return float(integrated_loudness(meter.energies())), out_peak


def render_array_stats(
    preset: Preset,
    x: F64,
    sample_rate: int,
    gain_db: float | None = None,
    backend: Backend | None = None,
) -> tuple[F64, RenderStats]:
    """Render a whole in-memory ``(frames, channels)`` array; returns audio and stats."""
    sink = ArraySink()
    gen = render(
        preset,
        (x[i : i + BLOCK_FRAMES] for i in range(0, len(x), BLOCK_FRAMES)),
        sample_rate,
        x.shape[1],
        len(x),
        sink,
        gain_db=gain_db,
        backend=backend,
    )
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            stats: RenderStats = stop.value
            break
    return sink.array(x.shape[1]), stats
