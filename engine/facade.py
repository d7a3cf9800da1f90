"""The engine's public facade: the one module the server worker (and any other driver) uses.

Analyse and plan
    :func:`analyze_file`, :func:`plan_files` (files -> :class:`Plan`, whose ``preset`` is the
    named preset: the one plan function of the CLI, the worker and the app) and
    :func:`plan_match` (analyses -> preset); :func:`match_files` = plan + render + report.

Render in stages (what :func:`engine.render.render` composes, and the worker's chunked jobs
compose over chunks of a long target)
    1. block statistics: :func:`eq_pass` (:func:`chunk_stats` for a chunk: its region EQ'd
       with the margins of :func:`chunk_margins`, its own hops kept, :class:`BlockStats`);
    2. gain plan: :func:`plan_gains` on the (concatenated, :meth:`BlockStats.concatenate`)
       statistics of the whole file (:class:`GainPlan`);
    3. apply: :func:`apply_pass`, the interpolated hop gains and the programme-edge fade;
    4. final check: :func:`final_check`, a miss corrects the plan and repeats stage 3;
       :func:`final_passes` runs 3 and 4, :func:`join_chunks` runs them over chunk files.

Long work is a generator yielding :class:`Progress`; :func:`drive` runs one to completion.

What the desktop app calls besides (re-exported here so that the app, like the worker, imports
only this module, :mod:`engine.presets` and :mod:`engine.schema`; import-linter enforces it)
    :func:`analyze_array`, :func:`render_array`, :func:`render_file`,
    :func:`codec_safe_render`, :func:`delivery_of`, :func:`loudness_shortfall_lu`, :func:`clip_stage_db`; file access
    (:func:`probe`, :func:`iter_blocks`, :func:`resample`, :func:`atomic_write_text`); the
    report (:func:`build_report`, :func:`save_report`); :func:`band_response_db`,
    :func:`spectrum_range`, :class:`AlbumOptions`, the impulse-response and ffmpeg exports
    (:func:`write_impulse_responses`, :func:`export_ffmpeg`) and the CUDA device state
    (:func:`cuda_status`, :func:`reason_text`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import io
from engine.album import AlbumOptions
from engine.analysis import POINTS_PER_OCTAVE
from engine.analysis.spectrum import SpectrumAccumulator, log_grid, power_db, to_log_grid
from engine.backends import cuda_status, reason_text
from engine.dsp.fir import fir_length
from engine.eqfit import band_response_db
from engine.exports.ffmpeg import export_ffmpeg
from engine.exports.ir import IR_SAMPLE_RATES, ImpulseResponses, write_impulse_responses
from engine.io import AudioInfo, atomic_write_text, iter_blocks, resample
from engine.pipeline import (
    Analysis,
    CancelToken,
    FileSink,
    MatchResult,
    Plan,
    Progress,
    RenderOutput,
    RenderResult,
    analyze_array,
    analyze_file,
    clip_stage_db,
    codec_safe_render,
    delivery_of,
    drive,
    loudness_shortfall_lu,
    match_files,
    plan_files,
    plan_match,
    render_array,
    render_file,
)
from engine.ranges import spectrum_range
from engine.render import (
    BLOCK_FRAMES,
    BlockStats,
    GainPlan,
    RenderStats,
    apply_pass,
    eq_pass,
    final_check,
    final_passes,
    hop_frames,
    plan_gains,
    render_stats,
)
from engine.report import build_report, save_report, spectral_distances
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
#: frames of look-ahead/behind the true-peak interpolator needs (47 taps)
TP_CONTEXT = 64
probe = io.probe

__all__ = [
    "IR_SAMPLE_RATES",
    "AlbumOptions",
    "Analysis",
    "AudioInfo",
    "ImpulseResponses",
    "RenderOutput",
    "RenderResult",
    "RenderStats",
    "analyze_array",
    "atomic_write_text",
    "band_response_db",
    "build_report",
    "codec_safe_render",
    "cuda_status",
    "delivery_of",
    "export_ffmpeg",
    "iter_blocks",
    "clip_stage_db",
    "loudness_shortfall_lu",
    "reason_text",
    "render_array",
    "render_file",
    "resample",
    "save_report",
    "spectrum_range",
    "write_impulse_responses",
    "BlockStats",
    "CancelToken",
    "GainPlan",
    "JoinResult",
    "MatchResult",
    "Plan",
    "Progress",
    "analyze_file",
    "apply_pass",
    "chunk_margins",
    "chunk_stats",
    "drive",
    "eq_pass",
    "final_check",
    "final_passes",
    "join_chunks",
    "match_files",
    "plan_chunks",
    "plan_files",
    "plan_gains",
    "plan_match",
    "probe",
    "spectral_distances",
]


def chunk_margins(sample_rate: int) -> tuple[int, int, int]:
    """Hop, pre-roll and post-roll of a chunk, in frames.

    Whole hops, so a chunk's hops line up with the single pass's: the pre-roll covers the
    FIR and at least 1 s of K-weighting memory, the post-roll the FIR and the true-peak
    interpolator's look-ahead.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    tuple of int
        ``(hop, pre, post)``.
    """
    hop = int(hop_frames(sample_rate))
    taps = int(fir_length(sample_rate))
    pre = max(taps + TP_CONTEXT, sample_rate)
    post = taps + TP_CONTEXT
    return hop, -(-pre // hop) * hop, -(-post // hop) * hop


def plan_chunks(frames: int, sample_rate: int, chunk_s: float) -> list[tuple[int, int]]:
    """Split ``frames`` into chunks of about ``chunk_s`` seconds starting on hop boundaries.

    Returns
    -------
    list of (int, int)
        ``[start, stop)`` frame ranges covering ``0 .. frames``.
    """
    hop = chunk_margins(sample_rate)[0]
    n = max(1, round(frames / max(hop, chunk_s * sample_rate)))
    per = -(-frames // n)
    size = -(-per // hop) * hop
    return [(a, min(frames, a + size)) for a in range(0, frames, size)]


def _read_frames(path: Path, start: int, stop: int) -> F64:
    """Frames ``[start, stop)`` decoded like the engine's blocks (float32), as float64."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        f.seek(max(0, start))
        x = f.read(max(0, stop - start), dtype="float32", always_2d=True)
    return np.asarray(x, dtype=np.float64)


def chunk_stats(preset: Preset, target: Path, start: int, stop: int, out_eq: Path) -> BlockStats:
    """Stage 1 over one chunk ``[start, stop)`` of ``target`` (``start`` on a hop boundary).

    The chunk is EQ'd with the margins of :func:`chunk_margins` (clipped to the file); its
    EQ'd frames are written to ``out_eq`` (raw float32, as the single pass spills them) and
    the statistics of its own hops returned: they equal the single pass's.

    Parameters
    ----------
    preset : Preset
        The plan (:func:`plan_files`).
    target : Path
        The target file.
    start, stop : int
        The chunk's frames.
    out_eq : Path
        Where the chunk's EQ'd frames go, for :func:`join_chunks`.
    """
    info = io.probe(target)
    rate, frames = int(info.sample_rate), int(info.frames)
    hop, pre, post = chunk_margins(rate)
    a, b = max(0, start - pre), min(frames, stop + post)
    x = _read_frames(target, a, b)
    pos = a  # absolute frame of the next EQ'd sample
    with open(out_eq, "wb") as eq:

        def keep(y: F64) -> None:
            nonlocal pos
            lo, hi = max(pos, start), min(pos + len(y), stop)
            if hi > lo:
                eq.write(np.ascontiguousarray(y[lo - pos : hi - pos], dtype=np.float32).tobytes())
            pos += len(y)

        blocks = (x[i : i + BLOCK_FRAMES] for i in range(0, len(x), BLOCK_FRAMES))
        stats, _done = drive(eq_pass(preset, blocks, rate, x.shape[1], keep))
    return stats.hops((start - a) // hop, -(-(stop - start) // hop))


@dataclass
class JoinResult:
    """What :func:`join_chunks` wrote and measured."""

    #: the render's statistics (loudness, true peak, gain, passes, ...), as the single pass
    #: reports them
    stats: RenderStats
    #: :func:`spectral_distances` of the output to the reference
    distances: dict[str, Any]
    #: the preset the output was rendered with: the plan's, or with the lowered ceiling of
    #: the codec-safe search (save it, so ``apply`` reproduces the file)
    preset: Preset
    #: the codec-safe search's ``{"codec", "ceiling", "tp"}`` (:func:`codec_safe_render`);
    #: empty without one
    codec_safe: dict[str, Any] = field(default_factory=dict)


class _SpectrumFileSink(FileSink):
    """A file sink that also accumulates the output's long-term spectrum."""

    def __init__(self, path: Path, sample_rate: int, channels: int, fmt: str | None) -> None:
        super().__init__(path, sample_rate, channels, fmt, True)
        self.spec = SpectrumAccumulator(sample_rate, channels)

    def write(self, block: F64) -> None:
        super().write(block)
        self.spec.push(block)

    def reset(self) -> None:
        super().reset()
        self.spec = SpectrumAccumulator(self.args[1], self.args[2])


def join_chunks(
    preset: Preset,
    plan: GainPlan,
    stats: BlockStats,
    chunks: Sequence[Path],
    sample_rate: int,
    channels: int,
    out: Path,
    fmt: str | None,
    reference: Path,
) -> JoinResult:
    """Stages 3 and 4 over the EQ'd chunks (:func:`chunk_stats`' files, in order): exactly
    the single pass's :func:`final_passes` (gains, edge fade, final check, retries), written
    atomically with the engine's writer and dither; the output's spectrum is compared with
    ``reference``'s on the way. A preset with a codec-safe ceiling then gets the single
    pass's search (:func:`codec_safe_render`): its trials plan the gains again under a lower
    ceiling and render the same EQ'd chunks, as the single pass renders the target again.

    Parameters
    ----------
    preset : Preset
        The plan.
    plan : GainPlan
        :func:`plan_gains` of the whole file's statistics ``stats``; corrected in place by a
        missed final check.
    stats : BlockStats
        The whole file's statistics (:meth:`BlockStats.concatenate` of the chunks').
    chunks : sequence of Path
        The chunks' EQ'd frames.
    sample_rate, channels : int
        The target's.
    out : Path
        The output file (replaced); ``fmt`` its format (default: from the suffix).
    reference : Path
        The (first) reference, for the distances.

    Returns
    -------
    JoinResult
        With the preset the file was rendered with (a lowered ceiling after the search).
    """
    frames = sum(p.stat().st_size for p in chunks) // (4 * channels)

    def source() -> Iterator[F32]:
        for p in chunks:
            raw = np.memmap(p, dtype=np.float32, mode="r").reshape(-1, channels)
            for i in range(0, len(raw), BLOCK_FRAMES):
                yield raw[i : i + BLOCK_FRAMES]

    # the output spectrum of each file written, by its limiter ceiling (a trial's is new)
    spectra: dict[float, SpectrumAccumulator] = {}

    def write(p: Preset, gains: GainPlan, path: Path) -> RenderResult:
        sink = _SpectrumFileSink(path, sample_rate, channels, fmt)
        try:
            out_lufs, out_peak, passes = drive(
                final_passes(p, gains, stats, source, sample_rate, channels, frames, sink)
            )
        except BaseException:
            sink.abort()
            raise
        sink.commit()
        spectra[p.limiter.ceiling_dbtp] = sink.spec
        done = render_stats(gains, out_lufs, out_peak, passes, frames)
        return RenderResult(path, done, sample_rate, channels)

    def trial(p: Preset, path: Path) -> Generator[Progress, None, RenderResult]:
        # what the single pass does with the trial ceiling, from the same EQ'd frames
        result = write(p, plan_gains(p, stats.kw, stats.peak, sample_rate), path)
        yield Progress("render", 1.0)
        return result

    rendered = write(preset, plan, out)
    used = preset
    safe: dict[str, Any] = {}  # what the codec-safe search did, if it ran
    if preset.options.codec_safe and preset.limiter.enabled:
        used, rendered, safe = drive(
            codec_safe_render(preset, None, out, rendered, fmt=fmt, render=trial)
        )
    ref_an = drive(analyze_file(reference, sample_rate=sample_rate))
    spec = spectra[used.limiter.ceiling_dbtp]
    freqs = log_grid(sample_rate, POINTS_PER_OCTAVE)
    st = rendered.stats
    out_an = SimpleNamespace(
        freqs_hz=freqs,
        mid_raw_db=power_db(to_log_grid(spec.mean_power("mid"), sample_rate, spec.n_fft, freqs)),
        summary=SimpleNamespace(integrated_lufs=st.output_lufs),
    )
    return JoinResult(st, spectral_distances(out_an, ref_an), used, safe)  # type: ignore[arg-type]
