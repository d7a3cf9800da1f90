"""The worker's only door to the DSP engine (runs inside the sandbox subprocess).

Single-pass jobs call the engine facade (``engine.facade.match_files``) exactly as the CLI
does, so a server result equals the local engine's output for the same inputs and options.

Chunked rendering of a long target drives the engine facade's render stages
(:mod:`engine.facade`) over chunks; no render logic lives here:

1. ``build_preset_file``: the plan, from the facade's one plan function
   (``engine.facade.plan_files``, as ``match_files`` and the CLI plan);
2. ``region_stats`` (one task per chunk): stage 1 over the chunk (``facade.chunk_stats``):
   its per-hop statistics, equal to the single pass's, and its EQ'd frames;
3. ``region_gains``: stage 2 on the concatenated statistics (``facade.plan_gains``);
4. ``join``: stages 3 and 4 over the chunks (``facade.join_chunks``: the single pass's
   ``final_passes``, the engine's writer and dither).

``tests/server/test_chunked.py`` checks that the result equals the single pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import facade as fa
from engine.presets import EXPORT_FORMATS, export_preset, load_preset, save_preset
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


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

    info = fa.probe(path)
    out = AudioInfo(int(info.frames), int(info.sample_rate), int(info.channels))
    if out.duration_s > max_duration_s:
        raise AudioStyleError(
            ErrorCode.TOO_LONG,
            length_s=round(out.duration_s, 1),
            limit_s=round(max_duration_s),
            path=path.name,
        )
    return out


class _Token(fa.CancelToken):
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
    gen = fa.match_files(
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
    results = fa.drive(gen, lambda p: progress(float(p.fraction), str(p.stage)))
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
    m.update(loudness_rows(report.get("before") or {}, report.get("reference") or {}))
    m.update(codec_rows(r.extra.get("codec_safe") or {}))
    m.update(render_rows(r.render.stats, r.render.sample_rate))
    return m


def render_rows(stats: fa.RenderStats, sample_rate: int) -> dict[str, float]:
    """What the render did (single pass or chunked join): its gain, limiter fast stage (the
    app's loop preview renders an excerpt with it), passes and the programme's duration."""
    return {
        "gain_db": float(stats.gain_db),
        "fast_stage_db": float(stats.fast_stage_db),
        "passes": float(stats.passes),
        "duration_s": stats.frames / sample_rate,
    }


def loudness_rows(before: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """The loudness table of the web console: target (``before``) and reference as measured
    before the match, from their analysis summaries (``AnalysisSummary`` dumps)."""
    m: dict[str, float] = {}
    for side, summary in (("input", before), ("reference", reference)):
        for k, v in (("lufs", "integrated_lufs"), ("true_peak_dbtp", "true_peak_dbtp")):
            if isinstance(summary.get(v), int | float) and math.isfinite(summary[v]):
                m[f"{side}_{k}"] = float(summary[v])
    return m


def codec_rows(safe: dict[str, Any]) -> dict[str, float]:
    """What the codec-safe search did (``{"codec", "ceiling", "tp"}`` of the engine's
    ``codec_safe_render``): the result's true peak after the codec's encode/decode and the
    limiter ceiling it chose; none without the search."""
    if not safe:
        return {}
    return {
        "codec_true_peak_dbtp": float(safe["tp"]),
        "codec_safe_ceiling_dbtp": float(safe["ceiling"]),
    }


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
) -> dict[str, float]:
    """Analyse target and references and write the plan (the facade's plan function); returns
    the target's and the first reference's loudness and true peak (:func:`loudness_rows`), which
    the single pass takes from its report."""
    gen = fa.plan_files(
        target, list(references), options, cancel=_Token(cancelled), target_true_peak=True
    )
    plan = fa.drive(gen, lambda p: progress(float(p.fraction), "analyze"))
    save_preset(plan.preset, out_preset, force=True)
    return loudness_rows(plan.target.summary.model_dump(), plan.references[0].summary.model_dump())


chunk_margins = fa.chunk_margins
plan_chunks = fa.plan_chunks


def region_stats(
    preset_path: Path, target: Path, start: int, stop: int, out_npz: Path, out_eq: Path
) -> None:
    """Stage 1 of chunk ``[start, stop)``: its statistics to ``out_npz``, its EQ'd frames to
    ``out_eq``."""
    stats = fa.chunk_stats(load_preset(preset_path), target, start, stop, out_eq)
    np.savez(out_npz, kw=stats.kw, peak=stats.peak)


def _stats(npz: Path) -> fa.BlockStats:
    with np.load(npz) as d:
        return fa.BlockStats(d["kw"], d["peak"])


def region_gains(
    preset_path: Path, stats: Sequence[Path], sample_rate: int, out_npz: Path
) -> dict[str, float]:
    """Stage 2: the whole file's gain plan from the chunks' statistics."""
    preset = load_preset(preset_path)
    merged = fa.BlockStats.concatenate([_stats(p) for p in stats])
    plan = fa.plan_gains(preset, merged.kw, merged.peak, sample_rate)
    arrays: dict[str, Any] = {"kw": merged.kw, "peak": merged.peak, **plan.arrays()}
    np.savez(out_npz, **arrays)
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
    """Stages 3 and 4 over the EQ'd chunks, written to ``out_audio``; returns metrics. With a
    codec-safe ceiling in the preset the engine's search runs as in the single pass and
    ``preset_path`` is rewritten with the ceiling it chose."""
    preset = load_preset(preset_path)
    with np.load(gains_npz) as g:
        stats = fa.BlockStats(g["kw"], g["peak"])
        plan = fa.GainPlan.from_arrays(g)
    r = fa.join_chunks(
        preset, plan, stats, chunks, sample_rate, channels, out_audio, fmt, references[0]
    )
    if r.preset is not preset:
        save_preset(r.preset, preset_path, force=True)
    st = r.stats
    m = _metrics(st.output_lufs, st.output_true_peak_dbtp, r.preset, r.distances)
    m.update(codec_rows(r.codec_safe))
    m.update(render_rows(st, sample_rate))
    return m


def quality(
    out_audio: Path, references: Sequence[Path], preset_path: Path, cancelled: CancelFn
) -> dict[str, float]:
    """Metrics of a finished output: loudness, true peak, distances to the reference."""
    token = _Token(cancelled)
    preset = load_preset(preset_path)
    out_an = fa.drive(fa.analyze_file(out_audio, cancel=token, require_signal=False))
    ref_an = fa.drive(fa.analyze_file(references[0], sample_rate=out_an.sample_rate, cancel=token))
    m = _metrics(
        float(out_an.summary.integrated_lufs),
        float(out_an.summary.true_peak_dbtp),
        preset,
        fa.spectral_distances(out_an, ref_an),
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
