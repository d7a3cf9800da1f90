"""Features of a (target, reference) pair for the learned style estimator, and the inverse
mapping of its outputs onto the match plan's grids.

The features are loudness-independent band levels (1/3 octave, ISO 266 centres 31.5 Hz-16 kHz)
of the long-term mid and side spectra of both signals, their fine-structure similarity (same
song or not) and their short-term loudness distributions (EBU Tech 3342 style gating). They are
computed from :class:`engine.analysis.Analysis` data only, so the estimator costs nothing beyond
the analysis the rule-based matcher already does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.analysis.spectrum import smooth_octaves

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]

BAND_CENTRES_HZ: F64 = 1000.0 * 2.0 ** (np.arange(-15, 13) / 3.0)  # 31.5 Hz .. 16 kHz, 28 bands
N_BANDS = len(BAND_CENTRES_HZ)
SIMILARITY_RANGES_HZ = ((100.0, 8000.0), (60.0, 500.0), (500.0, 4000.0), (4000.0, 12000.0))
N_FEATURES = 4 * N_BANDS + len(SIMILARITY_RANGES_HZ) + 6
N_OUTPUTS = 2 * N_BANDS + 3  # mid curve, side-minus-mid change, short-term percentiles
WIDTH_FLOOR_DB = -40.0


@dataclass
class SideInfo:
    """What the estimator needs of one analysed signal (all on one frequency grid)."""

    freqs_hz: F64
    mid_db: F64  # unsmoothed long-term mid power spectrum (dB)
    side_db: F64 | None
    st_percentiles: F64  # short-term loudness percentiles 10/50/95 minus integrated (LU)


def band_matrix(freqs_hz: F64) -> F64:
    """``(N_BANDS, len(freqs_hz))`` averaging matrix of the 1/3-octave bands (a band with no
    grid point takes the nearest one)."""
    m = np.zeros((N_BANDS, len(freqs_hz)))
    for i, fc in enumerate(BAND_CENTRES_HZ):
        sel = (freqs_hz >= fc * 2 ** (-1 / 6)) & (freqs_hz < fc * 2 ** (1 / 6))
        if not sel.any():
            sel = np.arange(len(freqs_hz)) == int(np.argmin(np.abs(np.log(freqs_hz / fc))))
        m[i, sel] = 1.0 / sel.sum()
    return m


_MATRICES: dict[tuple[int, float, float], F64] = {}


def _matrix(freqs_hz: F64) -> F64:
    key = (len(freqs_hz), float(freqs_hz[0]), float(freqs_hz[-1]))
    if key not in _MATRICES:
        _MATRICES[key] = band_matrix(freqs_hz)
    return _MATRICES[key]


def band_levels(freqs_hz: F64, power_db: F64) -> F64:
    """Power-average of a log-grid spectrum within each 1/3-octave band (dB)."""
    p = 10.0 ** (np.asarray(power_db, dtype=np.float64) / 10.0)
    return np.asarray(10.0 * np.log10(np.maximum(_matrix(freqs_hz) @ p, 1e-20)), dtype=np.float64)


def band_means(freqs_hz: F64, curve_db: F64) -> F64:
    """Mean of a (smooth) dB curve within each 1/3-octave band."""
    return np.asarray(_matrix(freqs_hz) @ curve_db, dtype=np.float64)


def level_weights(levels_db: F64) -> F64:
    """Band weights for centring a curve on where a signal's energy is (60 Hz-12 kHz):
    square root of the relative power, as the rule-based matcher's curve offset."""
    w = np.sqrt(10.0 ** ((levels_db - levels_db.max()) / 10.0))
    w = w * ((BAND_CENTRES_HZ > 60.0) & (BAND_CENTRES_HZ < 12000.0))
    return np.asarray(w / max(float(w.sum()), 1e-12), dtype=np.float64)


def centred(levels_db: F64, weights: F64) -> F64:
    """Levels minus their weighted mean: the tonal balance without the overall level."""
    return np.asarray(levels_db - float(np.sum(levels_db * weights)), dtype=np.float64)


def fine_structure(freqs_hz: F64, power_db: F64) -> F64:
    """Deviation of a spectrum from its own 1-octave smoothed shape (dB)."""
    ppo = int(round(1.0 / np.log2(freqs_hz[1] / freqs_hz[0])))
    return np.asarray(power_db - smooth_octaves(power_db, ppo, 1.0), dtype=np.float64)


def fine_similarity(freqs_hz: F64, fa: F64, fb: F64, low_hz: float, high_hz: float) -> float:
    """Correlation of two spectra's fine structures (:func:`fine_structure`) between
    ``low_hz`` and ``high_hz``: high for two parts of one song, low for two songs."""
    sel = (freqs_hz >= low_hz) & (freqs_hz <= high_hz)
    if sel.sum() < 8:
        return 0.0
    x, y = fa[sel] - fa[sel].mean(), fb[sel] - fb[sel].mean()
    den = float(np.sqrt(np.sum(x * x) * np.sum(y * y)))
    return float(np.sum(x * y) / den) if den > 0 else 0.0


def band_features(target: SideInfo, reference: SideInfo) -> tuple[F64, F64, F64, F64]:
    """Centred mid band levels and side-minus-mid band levels of target and reference."""
    tm = band_levels(target.freqs_hz, target.mid_db)
    rm = band_levels(reference.freqs_hz, reference.mid_db)
    wt, wr = level_weights(tm), level_weights(rm)

    def width(s: SideInfo, mid: F64) -> F64:
        if s.side_db is None:
            return np.full(N_BANDS, WIDTH_FLOOR_DB)
        return np.clip(band_levels(s.freqs_hz, s.side_db) - mid, WIDTH_FLOOR_DB, 10.0)

    return centred(tm, wt), centred(rm, wr), width(target, tm), width(reference, rm)


def pair_features(
    target: SideInfo,
    reference: SideInfo,
    bands: tuple[F64, F64, F64, F64] | None = None,
    similarity: F64 | None = None,
) -> F32:
    """Feature vector of a (target, reference) pair (``N_FEATURES`` float32 values).

    ``bands`` and ``similarity`` may be given precomputed (training simulates them)."""
    tm, rm, tw, rw = bands if bands is not None else band_features(target, reference)
    if similarity is None:
        similarity = pair_similarity(target, reference)
    return np.concatenate(
        [tm, rm, tw, rw, similarity, target.st_percentiles, reference.st_percentiles]
    ).astype(np.float32)


def pair_similarity(target: SideInfo, reference: SideInfo) -> F64:
    """Fine-structure similarity of the two mid spectra in each of ``SIMILARITY_RANGES_HZ``."""
    f = target.freqs_hz
    r_mid = np.interp(np.log(f), np.log(reference.freqs_hz), reference.mid_db)
    return similarity_of(f, fine_structure(f, target.mid_db), fine_structure(f, r_mid))


def similarity_of(freqs_hz: F64, fa: F64, fb: F64) -> F64:
    """:func:`fine_similarity` in each of ``SIMILARITY_RANGES_HZ``."""
    return np.array([fine_similarity(freqs_hz, fa, fb, lo, hi) for lo, hi in SIMILARITY_RANGES_HZ])


def curve_on_grid(band_values: F64, freqs_hz: F64) -> F64:
    """Interpolate per-band values (dB) onto a log frequency grid (flat beyond the ends)."""
    return np.asarray(
        np.interp(np.log(freqs_hz), np.log(BAND_CENTRES_HZ), band_values), dtype=np.float64
    )
