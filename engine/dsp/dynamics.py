"""Gain computers working on envelopes sampled once per hop (a few hundred microseconds).

Offline mastering can look ahead, so attacks are non-causal (a sliding maximum of the gain
reduction followed by a box average no wider than the maximum, which never undershoots the
reduction a peak needs) and releases are exponential in dB (a peak-hold decay computed with
a cumulative maximum, no Python loop).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def maximum_filter1d(x: F64, size: int, mode: str = "nearest") -> F64:
    """Centred sliding maximum over ``size`` samples, edges extended (like scipy.ndimage)."""
    if size <= 1 or len(x) == 0:
        return x.copy()
    left = size // 2
    padded = np.pad(x, (left, size - 1 - left), mode="edge")
    # maxima over doubling spans (van Herk's idea in log form): O(n log size), not O(n size)
    span, m = 1, padded
    while 2 * span <= size:
        m = np.maximum(m[:-span], m[span:])
        span *= 2
    return np.asarray(np.maximum(m[: len(x)], m[size - span : size - span + len(x)]))


def uniform_filter1d(x: F64, size: int, mode: str = "nearest") -> F64:
    """Centred moving average over ``size`` samples, edges extended (like scipy.ndimage)."""
    if size <= 1 or len(x) == 0:
        return np.asarray(x, dtype=np.float64).copy()
    left = size // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), (left, size - 1 - left), mode="edge")
    c = np.concatenate([[0.0], np.cumsum(padded)])
    return np.asarray((c[size:] - c[:-size]) / size, dtype=np.float64)


def static_curve_db(level_db: F64, threshold_db: float, ratio: float, knee_db: float) -> F64:
    """Gain change (dB, <= 0 for ratio > 1) of a soft-knee compressor at ``level_db``."""
    over = level_db - threshold_db
    slope = 1.0 / ratio - 1.0
    half = knee_db / 2.0
    gain = np.where(over > half, slope * over, 0.0)
    if knee_db > 0:
        in_knee = np.abs(over) <= half
        gain = np.where(in_knee, slope * (over + half) ** 2 / (2.0 * knee_db), gain)
    return np.asarray(gain, dtype=np.float64)


def release_decay(reduction_db: F64, release_hops: float) -> F64:
    """Peak-hold exponential release: ``y[k] = max(r[k], y[k-1] * a)`` for ``r >= 0``.

    Computed as a cumulative maximum in the log domain.
    """
    if release_hops <= 0 or len(reduction_db) == 0:
        return reduction_db.copy()
    log_a = -1.0 / release_hops
    k = np.arange(len(reduction_db), dtype=np.float64)
    with np.errstate(divide="ignore"):
        lr = np.log(np.maximum(reduction_db, 0.0))
    acc = np.maximum.accumulate(lr - k * log_a)
    return np.asarray(np.exp(acc + k * log_a), dtype=np.float64)


def attack_smooth(reduction_db: F64, attack_hops: int) -> F64:
    """Look-ahead attack: sliding max over ``2*attack_hops+1`` then a box average of
    ``attack_hops+1`` (never below the reduction any hop needs)."""
    if attack_hops <= 0:
        return reduction_db.copy()
    held = maximum_filter1d(reduction_db, size=2 * attack_hops + 1, mode="nearest")
    return np.asarray(uniform_filter1d(held, size=attack_hops + 1, mode="nearest"), dtype=float)


def compressor_gain_db(
    level_db: F64,
    threshold_db: float,
    ratio: float,
    knee_db: float,
    attack_hops: int,
    release_hops: float,
) -> F64:
    """Smoothed gain (dB) of a feed-forward compressor (ratio > 1) or upward expander
    above threshold (ratio < 1) driven by a per-hop level envelope."""
    g = static_curve_db(level_db, threshold_db, ratio, knee_db)
    if ratio >= 1.0:
        red = attack_smooth(-g, attack_hops)
        return -release_decay(red, release_hops)
    boost = uniform_filter1d(g, size=2 * attack_hops + 1, mode="nearest")
    return np.asarray(boost, dtype=np.float64)


def limiter_gain_db(
    peak_db: F64,
    ceiling_db: float,
    lookahead_hops: int,
    release_hops: float,
    fast_db: float = 0.0,
    program_hops: int = 0,
) -> F64:
    """Gain (dB, <= 0) that keeps ``peak_db + gain`` at or below ``ceiling_db`` for every hop.

    Two stages, as mastering limiters chain a clipper and a limiter: the first ``fast_db`` of
    every overshoot is taken hop by hop with no release (a 3-hop hold so the interpolation
    between hops never undershoots: about a millisecond, clipper-like); only what exceeds it
    goes through the look-ahead attack and exponential release, so short peaks no longer pump
    the programme for the whole release time. ``program_hops`` > 0 makes the release
    programme-dependent (a dual-release limiter): the reduction averaged over ``program_hops``
    (what is sustained) releases with ``release_hops``, an isolated peak's 10x faster."""
    need = np.maximum(peak_db - ceiling_db, 0.0)
    red = attack_smooth(np.maximum(need - fast_db, 0.0), lookahead_hops)
    if program_hops > 0:
        # program-dependent release: what is sustained over ``program_hops`` releases slowly,
        # an isolated peak's reduction recovers 10x faster
        sustained = uniform_filter1d(red, program_hops)
        red = np.maximum(
            release_decay(red, release_hops / 10.0), release_decay(sustained, release_hops)
        )
    else:
        red = release_decay(red, release_hops)
    # safety (and the fast stage): interpolation between hops must not undershoot either
    # neighbour's need
    red = np.maximum(red, maximum_filter1d(need, size=3, mode="nearest"))
    return np.asarray(-red, dtype=np.float64)


def level_envelope_db(hop_energy: F64, window_hops: int) -> F64:
    """RMS level (dB) of per-hop mean-square energies over a centred window."""
    e = uniform_filter1d(hop_energy, size=max(1, window_hops), mode="nearest")
    return np.asarray(10.0 * np.log10(np.maximum(e, 1e-20)), dtype=np.float64)
