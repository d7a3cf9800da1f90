"""Fit a parametric EQ (low shelf, high shelf, peaking bands) to a gain curve.

Filter shapes are the RBJ Audio EQ Cookbook biquads (shelf slope S = 1 expressed as Q), the
shapes Equalizer APO and most DAW EQs implement, so an exported preset sounds the same there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.schema.preset import FilterType, ParametricBand

F64 = NDArray[np.float64]
MAX_PEAKS = 6
FIT_POINTS_PER_OCTAVE = 8


def biquad_coeffs(kind: str, freq_hz: float, gain_db: float, q: float, sample_rate: int) -> F64:
    """RBJ cookbook biquad ``[b0, b1, b2, a0, a1, a2]``."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * min(freq_hz, 0.49 * sample_rate) / sample_rate
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2.0 * q)
    if kind == "peak":
        return np.array(
            [1 + alpha * a, -2 * cw, 1 - alpha * a, 1 + alpha / a, -2 * cw, 1 - alpha / a]
        )
    sq = 2.0 * np.sqrt(a) * alpha
    if kind == "low_shelf":
        return np.array(
            [
                a * ((a + 1) - (a - 1) * cw + sq),
                2 * a * ((a - 1) - (a + 1) * cw),
                a * ((a + 1) - (a - 1) * cw - sq),
                (a + 1) + (a - 1) * cw + sq,
                -2 * ((a - 1) + (a + 1) * cw),
                (a + 1) + (a - 1) * cw - sq,
            ]
        )
    return np.array(
        [
            a * ((a + 1) + (a - 1) * cw + sq),
            -2 * a * ((a - 1) + (a + 1) * cw),
            a * ((a + 1) + (a - 1) * cw - sq),
            (a + 1) - (a - 1) * cw + sq,
            2 * ((a - 1) - (a + 1) * cw),
            (a + 1) - (a - 1) * cw - sq,
        ]
    )


def band_response_db(band: ParametricBand, freqs_hz: F64, sample_rate: int) -> F64:
    """Magnitude response (dB) of one band at ``freqs_hz``."""
    c = biquad_coeffs(band.type, band.freq_hz, band.gain_db, band.q, sample_rate)
    z = np.exp(-1j * 2.0 * np.pi * freqs_hz / sample_rate)
    h = (c[0] + c[1] * z + c[2] * z * z) / (c[3] + c[4] * z + c[5] * z * z)
    return np.asarray(20.0 * np.log10(np.abs(h) + 1e-20), dtype=np.float64)


def bands_response_db(bands: list[ParametricBand], freqs_hz: F64, sample_rate: int) -> F64:
    """Summed magnitude response (dB) of several bands."""
    out = np.zeros_like(freqs_hz, dtype=np.float64)
    for b in bands:
        out += band_response_db(b, freqs_hz, sample_rate)
    return out


def _bands_from_vector(v: F64, kinds: list[FilterType]) -> list[ParametricBand]:
    return [
        ParametricBand(
            type=k,
            freq_hz=float(np.exp(v[3 * i])),
            gain_db=float(v[3 * i + 1]),
            q=float(np.exp(v[3 * i + 2])),
        )
        for i, k in enumerate(kinds)
    ]


def fit_parametric(
    freqs_hz: F64, gain_db: F64, sample_rate: int, max_peaks: int = MAX_PEAKS
) -> tuple[list[ParametricBand], float]:
    """Fit shelves + up to ``max_peaks`` peaks to a curve; returns bands and the RMS error
    (dB) over 20 Hz-20 kHz (or Nyquist)."""
    hi = min(20000.0, 0.45 * sample_rate)
    n = max(8, int(np.log2(hi / 20.0) * FIT_POINTS_PER_OCTAVE))
    f = np.geomspace(20.0, hi, n)
    target = np.interp(np.log(f), np.log(freqs_hz), gain_db)
    if np.max(np.abs(target)) < 0.05:
        return [], float(np.sqrt(np.mean(target**2)))
    kinds: list[FilterType] = ["low_shelf", "high_shelf"]
    v = np.array(
        [
            np.log(120.0),
            target[f < 120].mean() if np.any(f < 120) else 0.0,
            np.log(0.707),
            np.log(6000.0),
            target[f > 6000].mean() if np.any(f > 6000) else 0.0,
            np.log(0.707),
        ]
    )
    lo_b = [np.log(20.0), -24.0, np.log(0.3), np.log(1000.0), -24.0, np.log(0.3)]
    hi_b = [np.log(1000.0), 24.0, np.log(2.0), np.log(hi), 24.0, np.log(2.0)]

    def resid(p: F64, ks: list[FilterType]) -> F64:
        return bands_response_db(_bands_from_vector(p, ks), f, sample_rate) - target

    v = _solve(resid, v, kinds, lo_b, hi_b)
    for _ in range(max_peaks):
        r = resid(v, kinds)
        if np.sqrt(np.mean(r**2)) < 0.25:
            break
        i = int(np.argmax(np.abs(r)))
        v = np.concatenate([v, [np.log(f[i]), -r[i], np.log(1.0)]])
        kinds = [*kinds, "peak"]
        lo_b = [*lo_b, np.log(20.0), -24.0, np.log(0.2)]
        hi_b = [*hi_b, np.log(hi), 24.0, np.log(8.0)]
        v = _solve(resid, v, kinds, lo_b, hi_b)
    err = resid(v, kinds)
    return _bands_from_vector(v, kinds), float(np.sqrt(np.mean(err**2)))


def _solve(resid: object, v: F64, kinds: list[FilterType], lo: list[float], hi: list[float]) -> F64:
    """Bounded Levenberg-Marquardt with a forward-difference Jacobian (numpy only)."""
    fn = resid  # callable(params, kinds) -> residual vector
    lo_a, hi_a = np.array(lo), np.array(hi)
    x = np.clip(v, lo_a, hi_a)
    r = fn(x, kinds)  # type: ignore[operator]
    cost = float(r @ r)
    lam = 1e-2
    for _ in range(60):
        jac = np.empty((len(r), len(x)))
        for j in range(len(x)):
            step = 1e-4 * max(1.0, abs(x[j]))
            xp = x.copy()
            xp[j] += step
            jac[:, j] = (fn(xp, kinds) - r) / step  # type: ignore[operator]
        g = jac.T @ r
        a = jac.T @ jac
        improved = False
        for _ in range(8):
            delta = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-9), -g)
            xn = np.clip(x + delta, lo_a, hi_a)
            rn = fn(xn, kinds)  # type: ignore[operator]
            cn = float(rn @ rn)
            if cn < cost:
                improved = True
                small = cost - cn < 1e-9 * max(cost, 1e-12)
                x, r, cost, lam = xn, rn, cn, max(lam / 3.0, 1e-7)
                break
            lam *= 4.0
        if not improved or small:
            break
    return np.asarray(x, dtype=np.float64)
