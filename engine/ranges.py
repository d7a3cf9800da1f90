"""Several references as a range: correct the target only where it falls outside them.

With two or more references the plan does not average them. Per frequency, each reference
``j`` gives the correction ``c_j`` that would move the target onto it (the usual smoothed,
content-weighted match curve, :func:`engine.matching.match_curve`, at that reference's own
trust-dependent smoothing, level-centred by :func:`engine.matching.curve_offset`: shapes are
compared, the loudness stage sets the level). The references' spread is the interval of those corrections; the
target is corrected by the value of that interval nearest to zero: nothing where it lies
inside the spread, up to the nearest edge where it lies outside.

Weights (``--reference R:0.7``, ``0 < w <= 1``) pull a reference's edge towards the weighted
mean of all references: ``p_j = mean_w + w_j (c_j - mean_w)``; the edges are ``min_j p_j`` and
``max_j p_j``, so with all weights 1 the range is exactly the references' spread. The same
rule applies to the side spectrum (width) and to the short-term loudness distribution
(dynamics); the loudness goal is the weighted power mean of the references' loudness.

Because the curves are already trust-smoothed per reference, the plan built from the range
treats it as fully trusted (the spread itself says how much the references agree).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from engine.analysis import Analysis
from engine.matching import (
    Profile,
    average_profiles,
    curve_offset,
    match_curve,
    reference_trust,
    smoothing_for_trust,
)
from engine.schema.options import MatchOptions

F64 = NDArray[np.float64]
# display smoothing of the references' spectra for the range band in the app
DISPLAY_SMOOTHING_OCT = 1 / 3


def range_weights(weights: Sequence[float] | None, n: int) -> F64:
    """Weights of ``n`` references (1 each when not given)."""
    if weights is None or len(weights) != n:
        return np.ones(n)
    return np.asarray(weights, dtype=np.float64)


def weighted_edges(values: F64, weights: F64) -> tuple[F64, F64]:
    """Lower and upper edges of the weighted spread of ``values`` (``(refs, points)``)."""
    w = weights / max(float(weights.sum()), 1e-12)
    mean = np.sum(w[:, None] * values, axis=0)
    pulled = mean + weights[:, None] * (values - mean)
    return np.asarray(pulled.min(axis=0)), np.asarray(pulled.max(axis=0))


def range_correction(corrections: F64, weights: F64) -> F64:
    """The correction inside the weighted spread of ``corrections`` (``(refs, points)``,
    each the change that would move the target onto one reference) nearest to zero: 0 where
    the target lies inside the references' spread, the nearest edge outside it."""
    lo, hi = weighted_edges(corrections, weights)
    return np.asarray(np.clip(0.0, lo, hi), dtype=np.float64)


def use_range(options: MatchOptions, n_references: int) -> bool:
    """Range mode: two or more references and ``reference_mode`` ``range``."""
    return n_references >= 2 and options.reference_mode == "range"


def spectrum_range(
    analyses: Sequence[Analysis], weights: Sequence[float] | None = None
) -> tuple[F64, F64, F64]:
    """``(freqs_hz, lo_db, hi_db)``: the weighted spread of the references' loudness-aligned
    mid spectra (level re. integrated loudness, 1/3-octave smoothed) on the first one's grid,
    for display."""
    from engine.analysis import POINTS_PER_OCTAVE
    from engine.analysis.spectrum import smooth_octaves

    f = analyses[0].freqs_hz
    rows = [
        np.interp(
            np.log(f),
            np.log(a.freqs_hz),
            smooth_octaves(a.mid_raw_db, POINTS_PER_OCTAVE, DISPLAY_SMOOTHING_OCT),
        )
        - a.summary.integrated_lufs
        for a in analyses
    ]
    lo, hi = weighted_edges(np.stack(rows), range_weights(weights, len(analyses)))
    return np.asarray(f, dtype=np.float64), lo, hi


def range_trust(target: Profile, references: Sequence[Profile], options: MatchOptions) -> float:
    """The references' weighted mean trust (what the preset shows; the plan itself takes the
    range as fully trusted)."""
    w = range_weights(options.reference_weights, len(references))
    trusts = [
        reference_trust(target.mid_db, r.mid_db, target.freqs_hz, target.side_db, r.side_db)
        for r in references
    ]
    return float(np.average(trusts, weights=w))


def range_profile(target: Profile, references: Sequence[Profile], options: MatchOptions) -> Profile:
    """The effective reference of range mode: the target's own profile moved by the range
    correction (mid and side spectra, short-term loudness percentiles); loudness and band
    widths are the references' weighted averages."""
    freqs = target.freqs_hz
    w = range_weights(options.reference_weights, len(references))
    mids, sides = [], []
    for r in references:
        trust = reference_trust(target.mid_db, r.mid_db, freqs, target.side_db, r.side_db)
        smoothing = options.smoothing_octaves or smoothing_for_trust(trust)
        mid = match_curve(target.mid_db, r.mid_db, freqs, smoothing, options)
        # shapes are compared, not levels: the loudness stage sets the level (the side keeps
        # the mid's offset, so its broadband change stays the width change)
        offset = curve_offset(mid, target.mid_db, freqs)
        mids.append(mid - offset)
        if target.side_db is not None and r.side_db is not None:
            side = match_curve(target.side_db, r.side_db, freqs, max(smoothing, 0.5), options)
            sides.append(side - offset)
    side_db = None
    if target.side_db is not None and len(sides) == len(references):
        side_db = target.side_db + range_correction(np.stack(sides), w)
    st = np.stack([r.st_percentiles - target.st_percentiles for r in references])
    avg = average_profiles(references, list(w))
    return Profile(
        freqs_hz=freqs,
        mid_db=target.mid_db + range_correction(np.stack(mids), w),
        side_db=side_db,
        lufs=avg.lufs,
        st_percentiles=target.st_percentiles + range_correction(st, w),
        band_width_db=avg.band_width_db,
    )
