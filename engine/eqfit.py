"""Fit a parametric EQ (low shelf, high shelf, peaking bands) to a gain curve.

Filter shapes are the RBJ Audio EQ Cookbook biquads (shelf slope S = 1 expressed as Q), the
shapes Equalizer APO and most DAW EQs implement, so an exported preset sounds the same there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.schema.preset import FilterType, ParametricBand

F64 = NDArray[np.float64]
MAX_PEAKS = 6
FIT_POINTS_PER_OCTAVE = 8
# Each band's gain is also a residual, weighted by this (dB of fit error per dB of gain): a
# band that a mixing engineer would never set (+21 dB at Q 8 to meet a 2.6 dB step, a +19 dB
# shelf cancelled by a -24 dB bell) costs far more than the little fit error it saves, while
# a band that follows the curve shrinks by well under 1 %
GAIN_PENALTY = 0.3
# A band under this gain (dB) is dropped, and the rest refitted, when the fit error grows by at
# most PRUNE_TOLERANCE_DB: a 0.2 dB shelf is clutter in an editable preset
MIN_BAND_DB = 0.3
PRUNE_TOLERANCE_DB = 0.05


def biquad_coeffs(kind: str, freq_hz: float, gain_db: float, q: float, sample_rate: int) -> F64:
    """RBJ cookbook biquad ``[b0, b1, b2, a0, a1, a2]``."""
    return np.asarray(biquad_coeffs_many([kind], [freq_hz], [gain_db], [q], sample_rate)[0])


def biquad_coeffs_many(
    kinds: Sequence[str] | NDArray[np.str_],
    freq_hz: ArrayLike,
    gain_db: ArrayLike,
    q: ArrayLike,
    sample_rate: int,
) -> F64:
    """RBJ cookbook biquads of several bands at once, shape ``(bands, 6)``: ``kinds[i]`` is
    ``"peak"``, ``"low_shelf"`` or ``"high_shelf"`` with ``freq_hz[i]``, ``gain_db[i]``,
    ``q[i]``. The high shelf is the low shelf's formula with ``cos(w0)``, ``b1`` and ``a1``
    negated (exactly, so both give the cookbook's coefficients bit for bit)."""
    kind = np.asarray(kinds)
    return _coeffs(
        kind == "high_shelf",
        kind == "peak",
        np.asarray(freq_hz, dtype=np.float64),
        np.asarray(gain_db, dtype=np.float64),
        np.asarray(q, dtype=np.float64),
        sample_rate,
    )


def _coeffs(
    high: NDArray[np.bool_],
    peak: NDArray[np.bool_],
    freq_hz: F64,
    gain_db: F64,
    q: F64,
    sample_rate: int,
) -> F64:
    """:func:`biquad_coeffs_many` with the kinds as masks (the fit's inner loop)."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * np.minimum(freq_hz, 0.49 * sample_rate)
    w0 = w0 / sample_rate
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2.0 * q)
    sign = np.where(high, -1.0, 1.0)
    cs = sign * cw
    sq = 2.0 * np.sqrt(a) * alpha
    ap1, am1 = a + 1, a - 1
    c = np.empty((high.size, 6))
    c[:, 0] = a * (ap1 - am1 * cs + sq)
    c[:, 1] = 2 * a * sign * (am1 - ap1 * cs)
    c[:, 2] = a * (ap1 - am1 * cs - sq)
    c[:, 3] = ap1 + am1 * cs + sq
    c[:, 4] = -2 * sign * (am1 + ap1 * cs)
    c[:, 5] = ap1 + am1 * cs - sq
    if peak.any():
        ap, al, cp = a[peak], alpha[peak], cw[peak]
        c[peak] = np.stack(
            [1 + al * ap, -2 * cp, 1 - al * ap, 1 + al / ap, -2 * cp, 1 - al / ap], axis=1
        )
    return c


def responses_db(coeffs: F64, freqs_hz: F64, sample_rate: int) -> F64:
    """Magnitude responses (dB) of biquads ``coeffs`` (``(bands, 6)``) at ``freqs_hz``,
    shape ``(bands, len(freqs_hz))``."""
    return _responses_at(coeffs, _unit_circle(freqs_hz, sample_rate))


def _unit_circle(freqs_hz: F64, sample_rate: int) -> NDArray[np.complex128]:
    """``z**-1`` at ``freqs_hz``."""
    return np.asarray(
        np.exp(-1j * 2.0 * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate),
        dtype=np.complex128,
    )


def _responses_at(coeffs: F64, z: NDArray[np.complex128]) -> F64:
    """:func:`responses_db` at the points ``z`` (:func:`_unit_circle`)."""
    c = coeffs[:, :, None]
    h = (c[:, 0] + c[:, 1] * z + c[:, 2] * z * z) / (c[:, 3] + c[:, 4] * z + c[:, 5] * z * z)
    return np.asarray(20.0 * np.log10(np.abs(h) + 1e-20), dtype=np.float64)


def _coeffs_of(bands: Sequence[ParametricBand], sample_rate: int) -> F64:
    return biquad_coeffs_many(
        [b.type for b in bands],
        [b.freq_hz for b in bands],
        [b.gain_db for b in bands],
        [b.q for b in bands],
        sample_rate,
    )


def band_response_db(band: ParametricBand, freqs_hz: F64, sample_rate: int) -> F64:
    """Magnitude response (dB) of one band at ``freqs_hz``."""
    return np.asarray(responses_db(_coeffs_of([band], sample_rate), freqs_hz, sample_rate)[0])


def bands_response_db(bands: list[ParametricBand], freqs_hz: F64, sample_rate: int) -> F64:
    """Summed magnitude response (dB) of several bands."""
    if not bands:
        return np.zeros_like(freqs_hz, dtype=np.float64)
    return np.asarray(
        responses_db(_coeffs_of(bands, sample_rate), freqs_hz, sample_rate).sum(axis=0)
    )


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
    (dB) over 20 Hz-20 kHz (or Nyquist). Band gains are penalised (:data:`GAIN_PENALTY`) and
    bands under :data:`MIN_BAND_DB` dropped where that costs little (:data:`PRUNE_TOLERANCE_DB`)."""
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

    z = _unit_circle(f, sample_rate)
    masks: dict[tuple[tuple[str, ...], int], tuple[NDArray[np.bool_], NDArray[np.bool_]]] = {}

    def per_band(p: F64, ks: list[FilterType], repeat: int = 1) -> F64:
        """Each band's response (dB), ``(bands, len(f))``, for parameter rows ``p`` (band
        ``ks[i // repeat]`` in row ``i``)."""
        key = (tuple(ks), repeat)
        if key not in masks:
            kind = np.repeat(np.asarray(ks), repeat)
            masks[key] = (kind == "high_shelf", kind == "peak")
        p3 = p.reshape(-1, 3)
        c = _coeffs(*masks[key], np.exp(p3[:, 0]), p3[:, 1], np.exp(p3[:, 2]), sample_rate)
        return _responses_at(c, z)

    last: list[tuple[F64, F64]] = []  # the latest residual's parameters and band responses

    def curve_resid(p: F64, ks: list[FilterType]) -> F64:
        bands = per_band(p, ks)
        last[:] = [(p.copy(), bands)]
        return np.asarray(bands.sum(axis=0) - target)

    def resid(p: F64, ks: list[FilterType]) -> F64:
        """The curve's residual, then the gains' (:data:`GAIN_PENALTY`)."""
        return np.concatenate([curve_resid(p, ks), GAIN_PENALTY * p[1::3]])

    def jacobian(p: F64, ks: list[FilterType], steps: F64) -> F64:
        """Forward differences: parameter ``j`` moves only band ``j // 3``."""
        nb = len(ks)
        moved = np.repeat(p.reshape(nb, 3), 3, axis=0)  # row j: band j // 3 ...
        moved[np.arange(3 * nb), np.tile(np.arange(3), nb)] += steps  # ... with p[j] + step
        # the solver asks at the point it last accepted: its responses are known already
        known = bool(last) and np.array_equal(last[0][0], p)
        before = np.repeat(last[0][1] if known else per_band(p, ks), 3, axis=0)
        after = per_band(moved.reshape(-1), ks, 3)
        gains = np.zeros((nb, 3 * nb))
        gains[np.arange(nb), 3 * np.arange(nb) + 1] = GAIN_PENALTY
        return np.concatenate([((after - before) / steps[:, None]).T, gains])

    v = _solve(resid, jacobian, v, kinds, lo_b, hi_b)
    for _ in range(max_peaks):
        r = curve_resid(v, kinds)
        if np.sqrt(np.mean(r**2)) < 0.25:
            break
        i = int(np.argmax(np.abs(r)))
        v = np.concatenate([v, [np.log(f[i]), -r[i], np.log(1.0)]])
        kinds = [*kinds, "peak"]
        lo_b = [*lo_b, np.log(20.0), -24.0, np.log(0.2)]
        hi_b = [*hi_b, np.log(hi), 24.0, np.log(8.0)]
        v = _solve(resid, jacobian, v, kinds, lo_b, hi_b)

    def rms(p: F64, ks: list[FilterType]) -> float:
        return float(np.sqrt(np.mean(curve_resid(p, ks) ** 2)))

    keep = [i for i in range(len(kinds)) if abs(v[3 * i + 1]) >= MIN_BAND_DB]
    if 0 < len(keep) < len(kinds):
        cols = np.array([3 * i + j for i in keep for j in range(3)])
        fewer = [kinds[i] for i in keep]
        pruned = _solve(
            resid, jacobian, v[cols], fewer, [lo_b[c] for c in cols], [hi_b[c] for c in cols]
        )
        if rms(pruned, fewer) <= rms(v, kinds) + PRUNE_TOLERANCE_DB:
            v, kinds = pruned, fewer
    return _bands_from_vector(v, kinds), rms(v, kinds)


def _solve(
    resid: Callable[[F64, list[FilterType]], F64],
    jacobian: Callable[[F64, list[FilterType], F64], F64],
    v: F64,
    kinds: list[FilterType],
    lo: list[float],
    hi: list[float],
) -> F64:
    """Bounded Levenberg-Marquardt with a forward-difference Jacobian (numpy only)."""
    lo_a, hi_a = np.array(lo), np.array(hi)
    x = np.clip(v, lo_a, hi_a)
    r = resid(x, kinds)
    cost = float(r @ r)
    lam = 1e-2
    for _ in range(60):
        jac = jacobian(x, kinds, 1e-4 * np.maximum(1.0, np.abs(x)))
        g = jac.T @ r
        a = jac.T @ jac
        improved = False
        for _ in range(8):
            delta = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-9), -g)
            xn = np.clip(x + delta, lo_a, hi_a)
            rn = resid(xn, kinds)
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
