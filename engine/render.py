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

The stages are public and :func:`render` only composes them, as the worker's chunked jobs do
through :mod:`engine.facade`: :func:`eq_pass` (block statistics) -> :func:`plan_gains` (gain
plan, :mod:`engine.gains`) -> :func:`apply_pass` (apply) -> :func:`final_check` (final check);
:func:`final_passes` runs the last two with their retries.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine.analysis.loudness import KWeightedEnergy, integrated_loudness
from engine.analysis.peaks import FINE_TRUE_PEAK_RATE_HZ, TruePeakMeter
from engine.backends import Backend, numpy_backend
from engine.dsp.fir import design_fir
from engine.gains import (  # the gain computer between the passes (re-exported here)
    LUFS_TOLERANCE,
    MAX_LIMITER_PUSH_DB,
    GainPlan,
    clip_stage_db,
    final_check,
    hop_frames,
    loudness_shortfall_lu,
    plan_gains,
    tp_check_dbtp,
)
from engine.progress import CancelToken, Progress, check
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
BLOCK_FRAMES = 1 << 16
SPILL_BYTES = 256 * 1024 * 1024  # keep up to this much EQ'd audio in memory, then a temp file
MAX_PASSES = 4
EDGE_FADE_MS = 2.0

__all__ = [
    "BLOCK_FRAMES",
    "LUFS_TOLERANCE",
    "MAX_LIMITER_PUSH_DB",
    "ArraySink",
    "BlockMeter",
    "BlockStats",
    "GainPlan",
    "RenderStats",
    "Sink",
    "apply_pass",
    "edge_fade",
    "eq_batch",
    "eq_blocks",
    "eq_filters",
    "eq_pass",
    "eq_stage",
    "final_check",
    "final_passes",
    "hop_frames",
    "clip_stage_db",
    "loudness_shortfall_lu",
    "peak_dbtp",
    "plan_gains",
    "render",
    "render_array_stats",
]


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
    # the limiter's fast stage the plan used (the preset's, or its rescue value when the
    # loudness target needed it): an excerpt rendered at ``gain_db`` passes it back
    fast_stage_db: float = 0.0


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
    """Two helper threads for work that overlaps the main loop (pass 2 writes a block on one
    while it is metered on the other); their tasks never wait on this pool."""
    global _SIDE
    if _SIDE is None:
        _SIDE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="render-side")
    return _SIDE


@dataclass
class BlockStats:
    """Pass-1 statistics of an EQ'd signal, one value per gain-computer hop
    (:func:`hop_frames`); the last hop may be partial (zero-padded).

    Attributes
    ----------
    kw : ndarray
        K-weighted energy per hop (BS.1770-4, channel-weighted mean square).
    peak : ndarray
        Linear true peak per hop (BS.1770-4 Annex 2 at 8x), max over channels.
    """

    kw: F64
    peak: F64

    def hops(self, first: int, count: int) -> BlockStats:
        """The statistics of hops ``first .. first + count - 1``."""
        return BlockStats(self.kw[first : first + count], self.peak[first : first + count])

    @staticmethod
    def concatenate(parts: Sequence[BlockStats]) -> BlockStats:
        """Statistics of consecutive parts (chunks on hop boundaries) joined."""
        return BlockStats(
            np.concatenate([p.kw for p in parts]), np.concatenate([p.peak for p in parts])
        )


class BlockMeter:
    """Per-hop K-weighted energy (:class:`~engine.analysis.loudness.KWeightedEnergy` with the
    gain computer's hop, the last partial hop zero-padded) and 8x true peak of a streamed
    signal, measured on the side thread while the caller produces the next block."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.hop = hop_frames(sample_rate)
        self.kw = KWeightedEnergy(sample_rate, channels, hop=self.hop)
        self.tp = TruePeakMeter(
            sample_rate, channels, envelope_hop=self.hop, min_rate_hz=FINE_TRUE_PEAK_RATE_HZ
        )
        self._busy: Future[None] | None = None

    def push(self, block: F64) -> None:
        """Measure ``block`` (at most one block in flight; blocks are measured in order)."""
        self.wait()
        self._busy = _side_thread().submit(self._measure, block)

    def wait(self) -> None:
        """Wait until every pushed block is measured (re-raises a measuring error)."""
        busy, self._busy = self._busy, None
        if busy is not None:
            busy.result()

    def _measure(self, block: F64) -> None:
        self.tp.push(block)  # its channels run on the analysis thread pool
        self.kw.push(block)

    def finish(self) -> BlockStats:
        """The statistics of everything pushed."""
        self.wait()
        kw = self.kw.energies(partial=True)
        pk = self.tp.envelope().max(axis=1) if len(kw) else np.zeros(0)
        return BlockStats(kw, pk[: len(kw)])


def eq_filters(preset: Preset, sample_rate: int, channels: int) -> list[F64] | None:
    """The FIRs of the EQ stage: mid and side for stereo, the mid curve for every channel
    otherwise; None when the EQ is off. The exports (:mod:`engine.exports`) take these very
    filters, so an exported impulse response is the engine's EQ."""
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


def eq_stage(preset: Preset, x: F64, sample_rate: int, backend: Backend | None = None) -> F64:
    """Pass 1 alone: the mid/side EQ of a whole ``(frames, channels)`` array (aligned with the
    input), before dynamics, gain and limiter; what ``verify`` nulls an export against."""
    x = np.asarray(x, dtype=np.float64)
    filters = eq_filters(preset, sample_rate, x.shape[1])
    blocks = (x[i : i + BLOCK_FRAMES] for i in range(0, len(x), BLOCK_FRAMES))
    parts = [y for y, _ in eq_blocks(blocks, filters, x.shape[1], backend)]
    return np.concatenate(parts, axis=0) if parts else np.zeros_like(x)


def eq_blocks(
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
        filters = eq_filters(preset, sample_rate, x.shape[1])
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


def eq_pass(
    preset: Preset,
    blocks: Iterable[F64],
    sample_rate: int,
    channels: int,
    keep: Callable[[F64], None],
    *,
    frames: int = 0,
    backend: Backend | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, tuple[BlockStats, int]]:
    """Pass 1 (stage 1, block statistics): the mid/side EQ of ``blocks``; every EQ'd block
    (aligned with the input) goes to ``keep`` and is measured (:class:`BlockMeter`).

    Returns the statistics and the number of frames EQ'd; ``frames`` (the expected length)
    only scales the progress."""
    filters = eq_filters(preset, sample_rate, channels)
    meter = BlockMeter(sample_rate, channels)
    done = 0
    for y, consumed in eq_blocks(blocks, filters, channels, backend):
        check(cancel)
        keep(y)
        meter.push(y)
        done += consumed
        yield Progress("eq", 0.6 * done / max(1, frames))
    return meter.finish(), done


def final_passes(
    preset: Preset,
    plan: GainPlan,
    stats: BlockStats,
    source: Callable[[], Iterable[F32 | F64]],
    sample_rate: int,
    channels: int,
    frames: int,
    sink: Sink,
    *,
    gain_db: float | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, tuple[float, F64, int]]:
    """Stages 3 and 4: pass 2 (:func:`apply_pass` over ``source()``, the EQ'd signal, into
    ``sink``), then the final check (:func:`~engine.gains.final_check`); a miss corrects
    ``plan`` in place, resets the sink and repeats pass 2 (at most :data:`MAX_PASSES` times).

    Returns the output's integrated loudness, its per-hop true peak (linear) and the passes."""
    passes = 0
    while True:
        passes += 1
        out_lufs, out_peak = yield from apply_pass(
            plan,
            source(),
            sample_rate,
            channels,
            frames,
            sink.write,
            cancel,
            exact_above=10.0 ** (tp_check_dbtp(preset) / 20.0),
        )
        if passes >= MAX_PASSES or not final_check(
            preset, plan, out_lufs, out_peak, stats.kw, stats.peak, sample_rate, gain_db
        ):
            return out_lufs, out_peak, passes
        sink.reset()


def render(
    preset: Preset,
    blocks: Iterable[F64],
    sample_rate: int,
    channels: int,
    frames: int,
    sink: Sink,
    *,
    gain_db: float | None = None,
    fast_stage_db: float | None = None,
    cancel: CancelToken | None = None,
    backend: Backend | None = None,
) -> Generator[Progress, None, RenderStats]:
    """Render ``blocks`` (the target, ``frames`` long) through ``preset`` into ``sink``:
    :func:`eq_pass` into a spill buffer, :func:`~engine.gains.plan_gains`, then
    :func:`final_passes`.

    A generator: yields :class:`Progress`, returns :class:`RenderStats`. Pass ``gain_db`` and
    ``fast_stage_db`` (from a full render's stats) to render an excerpt with the full file's
    loudness gain and limiter; ``backend`` runs the EQ's convolution (default numpy).
    """
    spill = _Spill(frames * channels * 4)
    try:
        stats, done = yield from eq_pass(
            preset,
            blocks,
            sample_rate,
            channels,
            spill.add,
            frames=frames,
            backend=backend,
            cancel=cancel,
        )
        check(cancel)
        yield Progress("gain", 0.62)
        plan = plan_gains(
            preset, stats.kw, stats.peak, sample_rate, gain_db, fast_stage_db=fast_stage_db
        )
        out_lufs, out_peak, passes = yield from final_passes(
            preset,
            plan,
            stats,
            lambda: spill,
            sample_rate,
            channels,
            done,
            sink,
            gain_db=gain_db,
            cancel=cancel,
        )
        yield Progress("done", 1.0)
        return render_stats(plan, out_lufs, out_peak, passes, done)
    finally:
        spill.close()


def render_stats(
    plan: GainPlan, out_lufs: float, out_peak: F64, passes: int, frames: int
) -> RenderStats:
    """The :class:`RenderStats` of a finished render (single pass or joined chunks): what
    ``plan`` did, and the output's loudness and per-hop true peak (linear) as
    :func:`final_passes` measured them."""
    return RenderStats(
        gain_db=plan.gain_db,
        output_lufs=out_lufs,
        output_true_peak_dbtp=peak_dbtp(out_peak),
        eq_lufs=plan.eq_lufs,
        max_limiter_reduction_db=float(-plan.lim_db.min()) if len(plan.lim_db) else 0.0,
        max_dynamics_reduction_db=float(-plan.dyn_db.min()) if len(plan.dyn_db) else 0.0,
        passes=passes,
        frames=frames,
        fast_stage_db=plan.fast_stage_db,
    )


def peak_dbtp(out_peak: F64) -> float:
    """The highest of per-hop linear true peaks, in dBTP (``-inf`` when empty)."""
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


def apply_pass(
    plan: GainPlan,
    blocks: Iterable[F32 | F64],
    sample_rate: int,
    channels: int,
    frames: int,
    write: Callable[[F64], None],
    cancel: CancelToken | None = None,
    *,
    exact_above: float | None = None,
) -> Generator[Progress, None, tuple[float, F64]]:
    """Pass 2 (stage 3, apply): the hop gains of ``plan`` interpolated to every sample, times
    the programme's :func:`edge_fade` (``frames`` long), applied to the EQ'd ``blocks`` and
    handed to ``write`` (on the side thread, beside the meters). Returns the output's
    integrated loudness and its per-hop true peak (linear, max over channels), at 8x; with
    ``exact_above`` (linear, :func:`~engine.gains.tp_check_dbtp`) only the hops the final check
    looks at and the highest are sure to be (:class:`~engine.analysis.peaks.TruePeakMeter`)."""
    total = 10.0 ** (plan.total_db() / 20.0)
    edge = max(1, int(EDGE_FADE_MS * sample_rate / 1000))
    hop = plan.hop
    centres = (np.arange(len(total)) + 0.5) * hop
    meter = KWeightedEnergy(sample_rate, channels)
    tp = TruePeakMeter(
        sample_rate,
        channels,
        envelope_hop=hop,
        min_rate_hz=FINE_TRUE_PEAK_RATE_HZ,
        exact_above=exact_above,
    )

    def measure(y: F64) -> None:
        meter.push(y)
        tp.push(y)

    pos = 0
    n_total = len(total) * hop
    busy: list[Future[None]] = []
    try:
        for b in blocks:
            check(cancel)
            idx = np.arange(pos, pos + len(b), dtype=np.float64)
            g = np.interp(idx, centres, total)
            if pos < edge or pos + len(b) > frames - edge:  # only the programme's ends
                g *= edge_fade(idx, frames, edge)
            y = b.astype(np.float64) * g[:, None]  # beside the previous block's work
            _finish(busy)
            # dither + encode on one side thread, the meters on the other (blocks in order)
            busy = [_side_thread().submit(write, y), _side_thread().submit(measure, y)]
            pos += len(b)
            yield Progress("render", 0.62 + 0.38 * min(1.0, pos / max(1, n_total)))
        _finish(busy)
    finally:
        wait(busy)  # never leave a write or a meter running behind an error or a cancel
    out_peak = tp.envelope().max(axis=1) if pos else np.zeros(0)
    return float(integrated_loudness(meter.energies())), out_peak


def _finish(busy: list[Future[None]]) -> None:
    """Wait for every future of ``busy`` (re-raising the first error) and empty it."""
    try:
        for f in busy:
            f.result()
    finally:
        wait(busy)
        busy.clear()


def render_array_stats(
    preset: Preset,
    x: F64,
    sample_rate: int,
    gain_db: float | None = None,
    backend: Backend | None = None,
    fast_stage_db: float | None = None,
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
        fast_stage_db=fast_stage_db,
        backend=backend,
    )
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            stats: RenderStats = stop.value
            break
    return sink.array(x.shape[1]), stats
