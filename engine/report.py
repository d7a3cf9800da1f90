"""Match report: before/after measurements and distances to the reference.

Distances compare loudness-normalised long-term spectra, since a reference is usually other
music: ``stft_distance_db`` is the mean absolute difference of the STFT power spectra (dB,
linear bins 20 Hz-16 kHz), ``mel_distance_db`` the same over 40 mel bands, and
``tonal_distance_db`` the RMS difference over 1/3-octave bands (31.5 Hz-16 kHz).

``loudness`` says what reaching the loudness target cost: the peak-to-loudness ratio and crest
factor before and after (EBU R 128 / AES TD1004 PLR), the limiting, whether the max-limiting
setting stopped it short, and the short-term loudness distribution (EBU Tech 3341 3 s windows,
percentiles 10/50/95 relative to the integrated loudness) of the target, the output and the
reference, with the output's mean absolute distance to the reference's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import __version__, io
from engine.analysis import Analysis
from engine.matching import PERCENTILES, st_percentiles
from engine.render import RenderStats, clip_stage_db, loudness_shortfall_lu
from engine.schema.delivery import DeliveryReport
from engine.schema.preset import Preset

F64 = NDArray[np.float64]


def _norm_spectrum(a: Analysis) -> F64:
    return np.asarray(a.mid_raw_db - a.summary.integrated_lufs, dtype=np.float64)


def _mel(f: F64) -> F64:
    return np.asarray(2595.0 * np.log10(1.0 + f / 700.0), dtype=np.float64)


def spectral_distances(a: Analysis, b: Analysis) -> dict[str, float]:
    """STFT, mel and 1/3-octave distances (dB) between two analyses' long-term spectra."""
    fa = a.freqs_hz
    sa = _norm_spectrum(a)
    sb = np.interp(np.log(fa), np.log(b.freqs_hz), _norm_spectrum(b))
    hi = min(16000.0, fa[-1])
    lin = np.linspace(20.0, hi, 800)
    d_lin = np.interp(lin, fa, sa) - np.interp(lin, fa, sb)
    mel_edges = np.linspace(_mel(np.array([20.0]))[0], _mel(np.array([hi]))[0], 41)
    mel_c = 700.0 * (10 ** (((mel_edges[:-1] + mel_edges[1:]) / 2) / 2595.0) - 1.0)
    d_mel = np.interp(mel_c, fa, sa) - np.interp(mel_c, fa, sb)
    return {
        "stft_distance_db": float(np.mean(np.abs(d_lin))),
        "mel_distance_db": float(np.mean(np.abs(d_mel))),
        "tonal_distance_db": tonal_distance_db(fa, sa, sb),
    }


def tonal_distance_db(freqs_hz: F64, a_db: F64, b_db: F64) -> float:
    """RMS difference (dB) of two spectra on the grid ``freqs_hz`` at the 1/3-octave centres
    31.5 Hz-16 kHz (IEC 61260-1 base-2) below the grid's top."""
    thirds = 1000.0 * 2.0 ** (np.arange(-15, 13) / 3.0)
    thirds = thirds[thirds <= min(16000.0, freqs_hz[-1])]
    d = np.interp(thirds, freqs_hz, a_db) - np.interp(thirds, freqs_hz, b_db)
    return float(np.sqrt(np.mean(d**2)))


def build_report(
    target: Analysis,
    references: Sequence[Analysis],
    output: Analysis,
    preset: Preset,
    stats: RenderStats,
    target_path: str,
    output_path: str,
    delivery: DeliveryReport | None = None,
) -> dict[str, Any]:
    """The report JSON (keys stay English in every language); ``delivery``: the output's
    delivery check (:mod:`engine.delivery`), with how the reference was used."""
    ref = references[0]
    return {
        "kind": "audio-style-report",
        "version": 1,
        "engine_version": __version__,
        "target": target_path,
        "output": output_path,
        "references": list(preset.references),
        "before": target.summary.model_dump(),
        "after": output.summary.model_dump(),
        "reference": ref.summary.model_dump(),
        "distance_to_reference": {
            "before": spectral_distances(target, ref),
            "after": spectral_distances(output, ref),
        },
        "render": {
            "gain_db": stats.gain_db,
            "max_limiter_reduction_db": stats.max_limiter_reduction_db,
            # > 0: the target needed the limiter's clip stage (LimiterSettings.rescue_fast_stage_db)
            "clip_stage_db": clip_stage_db(preset, stats.fast_stage_db),
            "max_dynamics_reduction_db": stats.max_dynamics_reduction_db,
            "passes": stats.passes,
        },
        "loudness": loudness_cost(target, ref, output, preset, stats),
        "plan": {
            "reference_trust": preset.eq.reference_trust,
            "smoothing_octaves": preset.eq.smoothing_octaves,
            "target_lufs": preset.loudness.target_lufs,
            "ceiling_dbtp": preset.limiter.ceiling_dbtp,
            "eq_fit_error_db": preset.eq.mid.fit_error_db,
            "dynamics": preset.dynamics.model_dump(),
        },
        "reference_suitability": None
        if preset.suitability is None
        else preset.suitability.model_dump(),
        "delivery": None if delivery is None else delivery.model_dump(),
    }


def loudness_cost(
    target: Analysis, reference: Analysis, output: Analysis, preset: Preset, stats: RenderStats
) -> dict[str, Any]:
    """What the loudness push cost (see the module docstring)."""
    t_st, o_st, r_st = st_percentiles(target), st_percentiles(output), st_percentiles(reference)
    return {
        "target_lufs": preset.loudness.target_lufs,
        "output_lufs": output.summary.integrated_lufs,
        "shortfall_lu": loudness_shortfall_lu(preset, output.summary.integrated_lufs),
        "max_limiting_db": preset.limiter.max_limiting_db,
        "max_limiter_reduction_db": stats.max_limiter_reduction_db,
        # > 0: the target needed the limiter's clip stage (LimiterSettings.rescue_fast_stage_db)
        "clip_stage_db": stats.fast_stage_db,
        "plr_db": {"before": target.summary.plr_db, "after": output.summary.plr_db},
        "crest_db": {"before": target.summary.crest_db, "after": output.summary.crest_db},
        "short_term_percentiles": list(PERCENTILES),
        "short_term_lu": {
            "target": [float(v) for v in t_st],
            "output": [float(v) for v in o_st],
            "reference": [float(v) for v in r_st],
        },
        "short_term_distance_lu": float(np.mean(np.abs(o_st - r_st))),
    }


def save_report(report: dict[str, Any], path: str | Path) -> None:
    """Write the report JSON atomically."""
    io.atomic_write_text(path, json.dumps(report, indent=1, ensure_ascii=False) + "\n", force=True)
