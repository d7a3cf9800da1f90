"""The worker's only door to the DSP engine (runs inside the sandbox subprocess).

Single-pass jobs call the engine facade (``engine.pipeline.match_files``) exactly as the CLI
does, so a server result equals the local engine's output for the same inputs and options.

Chunked rendering of a long target splits the engine's two-pass render at hop boundaries:

1. ``build_preset_file``: the target and references are analysed and the plan built exactly
   as ``match_files`` does;
2. ``region_stats`` (one task per chunk): the region is EQ'd with a pre-roll that covers the
   FIR and the memory of the K-weighting filter and true-peak interpolator, and a post-roll
   that covers the FIR and the interpolator's look-ahead; the per-hop K-weighted energy and
   true peak of the chunk's own hops are kept — equal to the single pass's — and so are its
   EQ'd frames (float32, as the single pass spills them);
3. ``region_gains``: the chunks' statistics are concatenated and the engine's gain planner
   (``engine.render.plan_gains``) solves the dynamics, loudness and limiter gains of the whole
   file, as the single pass does;
4. ``join``: the gains are applied to the EQ'd chunks as ``_apply`` does, the single pass's
   final loudness/true-peak check (``engine.render.final_check``, on the metered loudness and
   true peak of the gained signal) is replayed, and the output is written with the engine's
   writer (same dither seed).

This mirrors render internals (``_ms_filters``, ``_eq_blocks``, ``HopStats``, ``plan_gains``,
``final_check``, ``edge_fade``) until the engine offers a public chunk API; they are used
here only, and ``tests/server/test_chunked.py`` catches any drift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import io
from engine import pipeline as pl
from engine import render as rd
from engine.analysis import POINTS_PER_OCTAVE
from engine.analysis.loudness import KWeightedEnergy, integrated_loudness
from engine.analysis.peaks import FINE_TRUE_PEAK_RATE_HZ, TruePeakMeter
from engine.analysis.spectrum import SpectrumAccumulator, log_grid, power_db, to_log_grid
from engine.dsp.fir import fir_length
from engine.presets import EXPORT_FORMATS, export_preset, load_preset, save_preset
from engine.report import spectral_distances
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]
TP_CONTEXT = 64  # frames of look-ahead/behind the true-peak interpolator needs (47 taps)


@dataclass(frozen=True)
class AudioInfo:
    frames: int
    sample_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def probe(path: Path, max_duration_s: float) -> AudioInfo:
    """Validate a file before decoding (format, caps, header length bombs, truncation)."""
    from engine.schema.errors import AudioStyleError, ErrorCode

    info = io.probe(path)
    out = AudioInfo(int(info.frames), int(info.sample_rate), int(info.channels))
    if out.duration_s > max_duration_s:
        raise AudioStyleError(
            ErrorCode.TOO_LONG,
            length_s=round(out.duration_s, 1),
            limit_s=round(max_duration_s),
            path=path.name,
        )
    return out


class _Token(pl.CancelToken):
    """A CancelToken that also polls the worker's cancel flag."""

    def __init__(self, poll: CancelFn) -> None:
        super().__init__()
        self.poll = poll

    @property
    def cancelled(self) -> bool:
        if self.poll():
            self.cancel()
        return super().cancelled

    def check(self) -> None:
        if self.poll():
            self.cancel()
        super().check()


# --- single pass ------------------------------------------------------------------------------


def match(
    target: Path,
    references: Sequence[Path],
    out_audio: Path,
    out_preset: Path,
    out_report: Path,
    options: MatchOptions,
    fmt: str | None,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> dict[str, float]:
    """Match one target to the references with the engine facade; returns metrics."""
    gen = pl.match_files(
        [target],
        list(references),
        [out_audio],
        options,
        fmt=fmt,
        force=True,
        preset_out=out_preset,
        report_out=out_report,
        cancel=_Token(cancelled),
    )
    results = pl.drive(gen, lambda p: progress(float(p.fraction), str(p.stage)))
    r = results[0]
    report = r.report or {}
    after = report.get("after", {})
    dist = report.get("distance_to_reference", {}).get("after", {})
    m = _metrics(
        float(after.get("integrated_lufs", float("nan"))),
        float(after.get("true_peak_dbtp", float("nan"))),
        r.preset,
        dist,
    )
    # the loudness table of the web console: target and reference as measured before the match
    for side in ("before", "reference"):
        summary = report.get(side) or {}
        for k, v in (("lufs", "integrated_lufs"), ("true_peak_dbtp", "true_peak_dbtp")):
            if isinstance(summary.get(v), int | float) and math.isfinite(summary[v]):
                m[f"{'input' if side == 'before' else 'reference'}_{k}"] = float(summary[v])
    m["gain_db"] = float(r.render.stats.gain_db)
    m["passes"] = float(r.render.stats.passes)
    m["duration_s"] = r.render.stats.frames / r.render.sample_rate
    return m


def _metrics(lufs: float, tp: float, preset: Preset, dist: dict[str, Any]) -> dict[str, float]:
    m = {"output_lufs": lufs, "output_true_peak_dbtp": tp}
    for k in ("stft_distance_db", "mel_distance_db", "tonal_distance_db"):
        if k in dist:
            m[k] = float(dist[k])
    if preset.loudness.enabled:
        m["lufs_error_lu"] = lufs - float(preset.loudness.target_lufs)
    ceiling = float(preset.limiter.ceiling_dbtp) if preset.limiter.enabled else 0.0
    m["true_peak_over_db"] = max(0.0, tp - ceiling)
    return {k: v for k, v in m.items() if math.isfinite(v)}


# --- chunked rendering ----------------------------------------------------------------------


def build_preset_file(
    target: Path,
    references: Sequence[Path],
    options: MatchOptions,
    out_preset: Path,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> None:
    """Analyse target and references and write the plan, as ``match_files`` builds it."""
    token = _Token(cancelled)
    rate = io.probe(target).sample_rate
    refs = []
    n = len(references) + 1

    def step(i: int) -> Callable[[pl.Progress], None]:
        return lambda p: progress((i + p.fraction) / n, "analyze")

    for i, r in enumerate(references):
        refs.append(pl.drive(pl.analyze_file(r, sample_rate=rate, cancel=token), step(i)))
    t_an = pl.drive(pl.analyze_file(target, cancel=token), step(n - 1))
    preset = pl.build_preset(t_an, refs, options)
    preset = preset.model_copy(
        update={
            "name": Path(references[0]).stem,
            "references": [Path(r).name for r in references],
            "reference": refs[0].summary if len(refs) == 1 else None,
        }
    )
    save_preset(preset, out_preset, force=True)


def chunk_margins(sample_rate: int) -> tuple[int, int, int]:
    """(hop, pre-roll, post-roll) in frames, whole hops so chunk hops line up with the single
    pass's: pre-roll >= the FIR and >= 1 s of K-weighting memory; post-roll >= the FIR and
    the true-peak interpolator's look-ahead."""
    hop = int(rd.hop_frames(sample_rate))
    taps = int(fir_length(sample_rate))
    pre = max(taps + TP_CONTEXT, sample_rate)
    post = taps + TP_CONTEXT
    return hop, -(-pre // hop) * hop, -(-post // hop) * hop


def plan_chunks(frames: int, sample_rate: int, chunk_s: float) -> list[tuple[int, int]]:
    """Split ``frames`` into about ``chunk_s``-second chunks starting on hop boundaries."""
    hop = chunk_margins(sample_rate)[0]
    n = max(1, round(frames / max(hop, chunk_s * sample_rate)))
    per = -(-frames // n)
    size = -(-per // hop) * hop
    return [(a, min(frames, a + size)) for a in range(0, frames, size)]


def _read(path: Path, start: int, stop: int) -> F64:
    """Frames ``[start, stop)`` decoded like the engine's blocks (float32), as float64."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        f.seek(max(0, start))
        x = f.read(max(0, stop - start), dtype="float32", always_2d=True)
    return np.asarray(x, dtype=np.float64)


def _eq_region(
    preset: Preset, target: Path, start: int, stop: int
) -> tuple[Iterator[F64], int, int]:
    """EQ'd blocks of frames ``[start - pre, stop + post)`` (clipped to the file), the number
    of leading frames before ``start`` and the sample rate."""
    info = io.probe(target)
    rate, frames = int(info.sample_rate), int(info.frames)
    _hop, pre, post = chunk_margins(rate)
    a, b = max(0, start - pre), min(frames, stop + post)
    x = _read(target, a, b)
    filters = rd._ms_filters(preset, rate, x.shape[1])
    block = int(rd.BLOCK_FRAMES)
    blocks = (x[i : i + block] for i in range(0, len(x), block))

    def gen() -> Iterator[F64]:
        for y, _n in rd._eq_blocks(blocks, filters, x.shape[1]):
            if len(y):
                yield np.asarray(y, dtype=np.float64)

    return gen(), start - a, rate


def region_stats(
    preset_path: Path, target: Path, start: int, stop: int, out_npz: Path, out_eq: Path
) -> None:
    """Per-hop K-weighted energy and true peak of the EQ'd chunk ``[start, stop)``, and the
    chunk's EQ'd frames themselves (float32, as the single pass spills them) for the join."""
    preset = load_preset(preset_path)
    blocks, lead, rate = _eq_region(preset, target, start, stop)
    stats = rd.HopStats(rate, io.probe(target).channels)
    pos = start - lead  # absolute frame of the next EQ'd sample
    with open(out_eq, "wb") as eq:
        for y in blocks:
            stats.push(y)
            a, b = max(pos, start), min(pos + len(y), stop)
            if b > a:
                eq.write(np.ascontiguousarray(y[a - pos : b - pos], dtype=np.float32).tobytes())
            pos += len(y)
    kw, peak = stats.finish()
    hop = int(rd.hop_frames(rate))
    first, n = lead // hop, -(-(stop - start) // hop)
    np.savez(out_npz, kw=kw[first : first + n], peak=peak[first : first + n])


def region_gains(
    preset_path: Path, stats: Sequence[Path], sample_rate: int, out_npz: Path
) -> dict[str, float]:
    """Merge the chunks' statistics and solve the whole file's gain curve."""
    preset = load_preset(preset_path)
    parts = [np.load(p) for p in stats]
    kw = np.concatenate([p["kw"] for p in parts])
    peak = np.concatenate([p["peak"] for p in parts])
    plan = rd.plan_gains(preset, kw, peak, sample_rate)
    np.savez(
        out_npz,
        total_db=plan.total_db(),
        dyn_db=plan.dyn_db,
        lim_db=plan.lim_db,
        hop=np.array([plan.hop]),
        gain_db=np.array([plan.gain_db]),
        kw=kw,
        peak=peak,
        capped=np.array([plan.extra.get("loudness_capped", 0.0)]),
    )
    return {"gain_db": float(plan.gain_db), "predicted_lufs": float(plan.predicted_lufs)}


def join(
    chunks: Sequence[Path],
    preset_path: Path,
    gains_npz: Path,
    sample_rate: int,
    channels: int,
    out_audio: Path,
    fmt: str | None,
    references: Sequence[Path],
) -> dict[str, float]:
    """Apply the whole-file gains to the EQ'd chunks exactly as the single pass's ``_apply``
    does (interpolated hop gains times the programme's edge fade), replay its final check
    (metered loudness and per-hop true peak; a miss corrects the gains as the single pass),
    and write with the engine's writer and dither seed. Streams block by block; the output's
    long-term spectrum is accumulated on the way for the quality metrics."""
    preset = load_preset(preset_path)
    g = np.load(gains_npz)
    kw, peak, hop = g["kw"], g["peak"], int(g["hop"][0])
    total, gain_db = np.asarray(g["total_db"], dtype=np.float64), float(g["gain_db"][0])
    capped = bool(g["capped"][0]) if "capped" in g else False
    dyn = np.asarray(g["dyn_db"], dtype=np.float64) if "dyn_db" in g else np.zeros_like(total)
    lim = np.asarray(g["lim_db"], dtype=np.float64) if "lim_db" in g else total - gain_db - dyn
    plan = rd.GainPlan(hop, gain_db, dyn, lim, float("nan"), extra={"loudness_capped": capped})
    centres = (np.arange(len(total)) + 0.5) * hop
    frames = sum(p.stat().st_size for p in chunks) // (4 * channels)
    edge = max(1, int(getattr(rd, "EDGE_FADE_MS", 0.0) * sample_rate / 1000))
    fade = getattr(rd, "edge_fade", None)
    block = int(rd.BLOCK_FRAMES)

    def blocks(total_db: F64) -> Iterator[F64]:
        lin = 10.0 ** (total_db / 20.0)
        pos = 0
        for p in chunks:
            raw = np.memmap(p, dtype=np.float32, mode="r").reshape(-1, channels)
            for i in range(0, len(raw), block):
                b = raw[i : i + block]
                idx = np.arange(pos, pos + len(b), dtype=np.float64)
                gain = np.interp(idx, centres, lin)
                if fade is not None:
                    gain = gain * fade(idx, frames, edge)
                pos += len(b)
                yield b.astype(np.float64) * gain[:, None]

    passes = 0
    while True:
        passes += 1
        meter = KWeightedEnergy(sample_rate, channels)
        tp = TruePeakMeter(
            sample_rate, channels, envelope_hop=hop, min_rate_hz=FINE_TRUE_PEAK_RATE_HZ
        )
        for y in blocks(plan.total_db()):
            meter.push(y)
            tp.push(y)
        out_lufs = float(integrated_loudness(meter.energies()))
        out_peak = tp.envelope().max(axis=1) if frames else np.zeros(0)
        out_tp = float(20.0 * np.log10(max(float(out_peak.max(initial=0.0)), 1e-12)))
        # the single pass's final check (loudness correction, true-peak fix), replayed
        if passes >= rd.MAX_PASSES or not rd.final_check(
            preset, plan, out_lufs, out_peak, kw, peak, sample_rate
        ):
            break
    total, gain_db = plan.total_db(), float(plan.gain_db)
    spec = SpectrumAccumulator(sample_rate, channels)
    with io.AudioWriter(out_audio, sample_rate, channels, fmt, force=True) as w:
        for y in blocks(total):
            w.write(y)
            spec.push(y)
    ref_an = pl.drive(pl.analyze_file(references[0], sample_rate=sample_rate))
    freqs = log_grid(sample_rate, POINTS_PER_OCTAVE)
    out_an = SimpleNamespace(
        freqs_hz=freqs,
        mid_raw_db=power_db(to_log_grid(spec.mean_power("mid"), sample_rate, spec.n_fft, freqs)),
        summary=SimpleNamespace(integrated_lufs=out_lufs),
    )
    m = _metrics(out_lufs, out_tp, preset, spectral_distances(out_an, ref_an))  # type: ignore[arg-type]
    m.update(passes=float(passes), gain_db=gain_db, duration_s=frames / sample_rate)
    return m


def quality(
    out_audio: Path, references: Sequence[Path], preset_path: Path, cancelled: CancelFn
) -> dict[str, float]:
    """Metrics of a finished output: loudness, true peak, distances to the reference."""
    token = _Token(cancelled)
    preset = load_preset(preset_path)
    out_an = pl.drive(pl.analyze_file(out_audio, cancel=token, require_signal=False))
    ref_an = pl.drive(pl.analyze_file(references[0], sample_rate=out_an.sample_rate, cancel=token))
    m = _metrics(
        float(out_an.summary.integrated_lufs),
        float(out_an.summary.true_peak_dbtp),
        preset,
        spectral_distances(out_an, ref_an),
    )
    m["duration_s"] = float(out_an.summary.length_s)
    return m


def write_exports(preset_path: Path, out: dict[str, str]) -> None:
    """The preset's exports (what ``audio-style export-preset`` writes), ``{format: path}``
    for formats of :data:`engine.presets.EXPORT_FORMATS`."""
    preset = load_preset(preset_path)
    for fmt, path in out.items():
        if fmt in EXPORT_FORMATS:
            Path(path).write_text(export_preset(preset, fmt), encoding="utf-8")


def curves(preset_path: Path) -> list[tuple[list[float], list[float]]]:
    """EQ curves (mid, side) of a preset, for the PNG."""
    preset = load_preset(preset_path)
    out = [(list(preset.eq.mid.curve.freqs_hz), list(preset.eq.mid.curve.gain_db))]
    if preset.eq.side is not None:
        out.append((list(preset.eq.side.curve.freqs_hz), list(preset.eq.side.curve.gain_db)))
    return out
