"""Synthetic (target, reference, truth) triples in the analysis domain, with this project's
own effect chain: a mastering *style* (RBJ shelves and peaks, a tilt, side gain with an
optional mono bass, a compressor) applied to the reference content and to the truth, and a
*rough mix* (tilt, broad bumps, other width, no compression) applied to the target content.

A long-term power spectrum is linear in an EQ's power response, so the chain is applied to
the content's analysed spectra directly; the compressor runs on the 100 ms K-weighted
energies exactly as the matcher's dynamics planner does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.analysis.loudness import (
    LOUDNESS_OFFSET_DB,
    integrated_loudness,
    short_term_loudness,
)
from engine.dsp.dynamics import compressor_gain_db, level_envelope_db
from engine.eqfit import bands_response_db
from engine.estimator.features import (
    SideInfo,
    band_features,
    band_levels,
    band_means,
    fine_structure,
    level_weights,
    pair_features,
    similarity_of,
)
from engine.matching import PERCENTILES
from engine.schema.preset import FilterType, ParametricBand
from tools.training.data import SAMPLE_RATE, Segments

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]


def _shelf(
    rng: np.random.Generator, kind: FilterType, low_hz: float, high_hz: float
) -> ParametricBand:
    """A shelf at a log-uniform corner in ``low_hz..high_hz`` with a gain of ±6 dB (the corner
    is drawn first, then the gain: the draw order keeps trained models reproducible)."""
    freq_hz = float(np.exp(rng.uniform(np.log(low_hz), np.log(high_hz))))
    return ParametricBand(type=kind, freq_hz=freq_hz, gain_db=rng.uniform(-6, 6), q=0.707)


def _eq(rng: np.random.Generator, freqs: F64, rough: bool) -> F64:
    tilt = rng.uniform(-1.5, 1.5) if rough else rng.uniform(-0.8, 0.8)  # dB per octave
    curve = tilt * np.log2(freqs / 1000.0)
    bands: list[ParametricBand] = []
    if rough:
        for _ in range(rng.integers(1, 3)):
            f = float(np.exp(rng.uniform(np.log(60), np.log(10000))))
            bands.append(
                ParametricBand(
                    type="peak", freq_hz=f, gain_db=rng.uniform(-4, 4), q=rng.uniform(0.3, 0.9)
                )
            )
    else:
        bands.append(_shelf(rng, "low_shelf", 40.0, 400.0))
        bands.append(_shelf(rng, "high_shelf", 2000.0, 14000.0))
        for _ in range(rng.integers(0, 4)):
            f = float(np.exp(rng.uniform(np.log(80), np.log(12000))))
            bands.append(
                ParametricBand(
                    type="peak", freq_hz=f, gain_db=rng.uniform(-6, 6), q=rng.uniform(0.4, 3.0)
                )
            )
    return np.asarray(curve + bands_response_db(bands, freqs, SAMPLE_RATE), dtype=np.float64)


def _content_eq(rng: np.random.Generator, freqs: F64) -> F64:
    tilt = rng.normal(0.0, 0.4)
    f = float(np.exp(rng.uniform(np.log(60), np.log(8000))))
    bump = ParametricBand(
        type="peak", freq_hz=f, gain_db=rng.normal(0.0, 2.0), q=rng.uniform(0.3, 1.0)
    )
    return np.asarray(
        tilt * np.log2(freqs / 1000.0) + bands_response_db([bump], freqs, SAMPLE_RATE),
        dtype=np.float64,
    )


def _side_gain(rng: np.random.Generator, freqs: F64, rough: bool) -> F64:
    g = np.full(len(freqs), rng.normal(0.0, 3.0))
    if not rough and rng.random() < 0.3:  # mono bass below a corner
        corner = rng.uniform(80, 250)
        g = g + np.clip(-12.0 * np.log2(corner / freqs), -12.0, 0.0)
    return np.asarray(g, dtype=np.float64)


def _st_percentiles(energies: F64) -> F64:
    st = short_term_loudness(energies)
    li = integrated_loudness(energies)
    st = st[np.isfinite(st)]
    st = st[st > li - 20.0]
    if len(st) == 0 or not np.isfinite(li):
        return np.zeros(3)
    return np.asarray(np.percentile(st, PERCENTILES) - li, dtype=np.float64)


def _compress(energies: F64, thr_lu: float, ratio: float) -> F64:
    if ratio <= 1.0:
        return energies
    li = integrated_loudness(energies)
    level = LOUDNESS_OFFSET_DB + level_envelope_db(energies, 1)
    g = compressor_gain_db(level, li + thr_lu, ratio, 6.0, 0, 2.0)
    return np.asarray(energies * 10.0 ** (g / 10.0), dtype=np.float64)


def sample_pair(
    rng: np.random.Generator, seg: Segments, allowed: NDArray[np.int64], p_same: float = 0.4
) -> tuple[F32, F32]:
    """One (features, labels) example from segments whose indices are in ``allowed``."""
    a = int(rng.choice(allowed))
    same = [i for i in allowed if seg.track[i] == seg.track[a] and i != a]
    if same and rng.random() < p_same:
        b = int(rng.choice(same))
    else:
        others = allowed[seg.track[allowed] != seg.track[a]]
        b = int(rng.choice(others))
    f = seg.freqs_hz
    # content augmentation: every song has its own tonal balance (not part of any style)
    c_a, c_b = _content_eq(rng, f), _content_eq(rng, f)
    s_eq, t_eq = _eq(rng, f, rough=False) + c_b, _eq(rng, f, rough=True) + c_a
    s_w, t_w = _side_gain(rng, f, rough=False), _side_gain(rng, f, rough=True)
    ratio = float(rng.choice([1.0, rng.uniform(1.2, 5.0)], p=[0.25, 0.75]))
    thr = float(rng.uniform(-14.0, 0.0))
    target = SideInfo(f, seg.mid_db[a] + t_eq, seg.side_db[a] + t_eq + t_w, seg.st_raw[a])
    reference = SideInfo(
        f,
        seg.mid_db[b] + s_eq,
        seg.side_db[b] + s_eq + s_w,
        _st_percentiles(_compress(seg.energies[b], thr, ratio)),
    )
    bands = band_features(target, reference)
    sim = similarity_of(f, seg.fine[a], seg.fine[b])
    x = pair_features(target, reference, bands, sim)
    # labels: what the matcher must apply to the target to reach the truth
    tm_levels = band_levels(f, target.mid_db)
    mid = band_means(f, (s_eq - c_b) - (t_eq - c_a))
    mid = mid - float(np.sum(mid * level_weights(tm_levels)))
    width = band_means(f, s_w - t_w)
    dyn = _st_percentiles(_compress(seg.energies[a], thr, ratio))
    y = np.concatenate([mid, width, dyn]).astype(np.float32)
    return x, y


def make_dataset(seg: Segments, allowed: NDArray[np.int64], n: int, seed: int) -> tuple[F32, F32]:
    """``n`` examples drawn reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    if not seg.st_raw:
        seg.st_raw = [_st_percentiles(e) for e in seg.energies]
        seg.fine = [fine_structure(seg.freqs_hz, m) for m in seg.mid_db]
    xs, ys = zip(*(sample_pair(rng, seg, allowed) for _ in range(n)), strict=True)
    return np.stack(xs), np.stack(ys)
