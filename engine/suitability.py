"""Reference suitability and mono-safe width: what the plan must not copy from a reference.

A reference people grab is often an MP3 or AAC purchase (low-passed at 15-19 kHz by the
codec), a clipped or over-limited master, or nearly mono. Copying what such a reference is
*missing* damages the target: a high-shelf cut above the codec's low-pass, the squashed
dynamics of a clipped master, or a collapse to mono. :func:`assess` measures the reference;
:func:`plan_options` narrows the EQ's range to below a detected low-pass;
:func:`aspect_factors` scales how much of the dynamics and width is copied; :func:`explain`
records per aspect how much was used and why (CLI line, app, report).

:func:`mono_safe_width` keeps width matching from making the mono fold-down lose more than the
reference's does, band by band (fold-down change ``-10 log10(1 + S/M)`` grows with the
side/mid ratio, so the side/mid ratio is capped at the reference's where the target is
narrower), and keeps the bass below ``mono_bass_hz`` mono when the reference's is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from engine.analysis import POINTS_PER_OCTAVE, Analysis
from engine.analysis.spectrum import smooth_octaves
from engine.schema.delivery import AspectTrust, ReferenceSuitability
from engine.schema.options import MatchOptions

F64 = NDArray[np.float64]

CLIFF_DB: Final = 25.0
"""Drop within 1/8..1/2 octave above a frequency that marks a codec low-pass (natural roll-off
of music is about 6-12 dB per octave up there)."""
LOWPASS_SEARCH_HZ: Final = (5000.0, 19500.0)
"""Where a codec low-pass is looked for (above 19.5 kHz the converters' own filters sit)."""
CLIPPED_FRACTION: Final = 1e-3
"""Share of samples at full scale above which a reference counts as clipped (a limited
master touches full scale now and then; a clipped one for 0.1 % of its samples or more)."""
OVER_LIMITED_PLR_DB: Final = 6.0
"""Peak-to-loudness ratio below which a reference counts as over-limited (BS.1770-4 units;
loud modern masters sit at 6-8 dB)."""
NEAR_MONO_DB: Final = -25.0
"""Broadband side/mid level below which a reference counts as (near) mono."""
MONO_BASS_DB: Final = -20.0
"""Side/mid level below ``mono_bass_hz`` under which the reference's bass counts as mono."""
MONO_BASS_GOAL_DB: Final = -30.0
"""Side/mid level the target's bass is brought to when the reference's bass is mono."""
CAP_SLOPE_DB_PER_OCT: Final = 18.0
"""Steepest slope of the per-band width cap between two bands: the higher cap ramps up inside
its own band (never past a band's own cap), so the side EQ has no vertical steps."""
CLIPPED_DYNAMICS: Final = 0.5
OVER_LIMITED_DYNAMICS: Final = 0.75


def band_limit_hz(freqs_hz: F64, level_db: F64, sample_rate: int) -> float | None:
    """The edge of a codec low-pass in a long-term spectrum, or None.

    Parameters
    ----------
    freqs_hz : ndarray
        Log-spaced grid (Hz).
    level_db : ndarray
        Power spectrum on that grid (dB).
    sample_rate : int
        Rate of the analysed signal (Hz).

    Returns
    -------
    float or None
        For the lowest frequency ``f`` in :data:`LOWPASS_SEARCH_HZ` whose median level over
        the 1/3 octave below exceeds the highest level between ``f * 2**(1/8)`` and
        ``f * 2**(1/2)`` by :data:`CLIFF_DB`: the highest frequency above ``f`` still within
        10 dB of that median.
    """
    s = smooth_octaves(level_db, POINTS_PER_OCTAVE, 1 / 12)
    top = min(LOWPASS_SEARCH_HZ[1], 0.47 * sample_rate)
    for i in np.flatnonzero((freqs_hz >= LOWPASS_SEARCH_HZ[0]) & (freqs_hz <= top)):
        f = freqs_hz[i]
        below = s[(freqs_hz >= f * 2 ** (-1 / 3)) & (freqs_hz <= f)]
        hi = min(f * 2**0.5, 0.49 * sample_rate)
        above = s[(freqs_hz >= f * 2 ** (1 / 8)) & (freqs_hz <= hi)]
        if len(below) and len(above) and np.median(below) - above.max() > CLIFF_DB:
            # the edge: the last frequency still within 10 dB of the pass band
            passband = (freqs_hz >= f) & (freqs_hz <= hi) & (s >= np.median(below) - 10.0)
            return float(np.max(freqs_hz[passband], initial=f))
    return None


def assess(target: Analysis, references: Sequence[Analysis]) -> ReferenceSuitability:
    """Measure what the (averaged) references lack that the target has.

    A low-pass counts only when the target has content above it; clipping is the largest
    share of full-scale samples of any reference; PLR and side/mid are the loudest reference's.
    """
    sr = target.sample_rate
    limits = [band_limit_hz(r.freqs_hz, r.mid_raw_db, r.sample_rate) for r in references]
    limit = min((f for f in limits if f is not None), default=None)
    if limit is not None and band_limit_hz(target.freqs_hz, target.mid_raw_db, sr) is not None:
        limit = None  # the target is band-limited as well: nothing to protect up there
    loudest = max(references, key=lambda r: r.summary.integrated_lufs)
    return ReferenceSuitability(
        band_limit_hz=limit,
        clipped_fraction=max(r.full_scale_fraction for r in references),
        plr_db=loudest.summary.plr_db,
        side_to_mid_db=None if loudest.side_raw_db is None else loudest.summary.width_db,
    )


def plan_options(options: MatchOptions, s: ReferenceSuitability) -> MatchOptions:
    """The options the curves are built with: the EQ's range ends 1/3 octave below a detected
    low-pass (its 1/3-octave taper reaches zero at the edge, so nothing above it is copied)."""
    if s.band_limit_hz is None:
        return options
    high = max(1000.0, min(options.high_hz, s.band_limit_hz * 2 ** (-1 / 3)))
    return options.model_copy(update={"high_hz": high})


def aspect_factors(s: ReferenceSuitability) -> dict[str, float]:
    """Extra factors (0..1) on the dynamics and width amounts for an unsuitable reference."""
    dyn = 1.0
    if s.clipped_fraction > CLIPPED_FRACTION:
        dyn = CLIPPED_DYNAMICS
    elif s.plr_db is not None and s.plr_db < OVER_LIMITED_PLR_DB:
        dyn = OVER_LIMITED_DYNAMICS
    near_mono = s.side_to_mid_db is not None and s.side_to_mid_db < NEAR_MONO_DB
    return {"dynamics": dyn, "width": 0.0 if near_mono else 1.0}


def explain(s: ReferenceSuitability, used: dict[str, float]) -> ReferenceSuitability:
    """``s`` with one :class:`AspectTrust` per aspect: the share used and the reason."""
    reasons: dict[str, tuple[str, float | None]] = {
        "eq": ("band_limited", s.band_limit_hz) if s.band_limit_hz else ("ok", None),
        "dynamics": ("ok", None),
        "width": ("ok", None),
    }
    if s.clipped_fraction > CLIPPED_FRACTION:
        reasons["dynamics"] = ("clipped", s.clipped_fraction)
    elif s.plr_db is not None and s.plr_db < OVER_LIMITED_PLR_DB:
        reasons["dynamics"] = ("over_limited", s.plr_db)
    if s.side_to_mid_db is not None and s.side_to_mid_db < NEAR_MONO_DB:
        reasons["width"] = ("near_mono", -s.side_to_mid_db)
    aspects = [
        AspectTrust(aspect=k, trust=float(np.clip(used[k], 0, 1)), reason=r, value=v)
        for k, (r, v) in reasons.items()
    ]
    return s.model_copy(update={"aspects": aspects})


def band_caps(edges_hz: F64, values: F64, freqs_hz: F64, slope_db_per_oct: float) -> F64:
    """Per-band caps on the frequency grid, at most ``values[b]`` inside band ``b``, rising
    from one band's cap to a higher neighbour's at ``slope_db_per_oct``: the lower envelope
    of each band's cap plus ``slope_db_per_oct`` per octave of distance from that band (the
    first and last bands extend to the grid's ends)."""
    lo = np.log2(np.maximum(edges_hz[:-1], 1e-9))[:, None]
    hi = np.log2(edges_hz[1:])[:, None]
    lo[0], hi[-1] = -np.inf, np.inf
    f = np.log2(freqs_hz)[None, :]
    dist = np.maximum(0.0, np.maximum(lo - f, f - hi))
    return np.asarray(np.min(values[:, None] + slope_db_per_oct * dist, axis=0), dtype=np.float64)


def mono_safe_width(
    width_delta_db: F64,
    target: Analysis,
    reference_band_width_db: F64,
    reference_side_minus_mid_db: F64 | None,
    mono_bass_hz: float,
) -> F64:
    """Cap a side-minus-mid change so the fold-down loses no more than the reference's.

    Parameters
    ----------
    width_delta_db : ndarray
        Wanted side gain relative to mid on the target's frequency grid (dB).
    target : Analysis
        The target (its grid, per-band side/mid ratios and spectra).
    reference_band_width_db : ndarray
        The reference's side/mid ratio per band of ``target.band_edges_hz`` (dB).
    reference_side_minus_mid_db : ndarray or None
        The reference's side minus mid spectrum on the target's grid (dB), for the bass.
    mono_bass_hz : float
        Below this the bass is made mono when the reference's is (0: never).

    Returns
    -------
    ndarray
        ``width_delta_db`` capped at ``max(0, w_ref - w_target)`` per band (w = side/mid dB;
        :func:`band_caps`: no steps between bands), and, where the reference's bass is mono,
        at ``MONO_BASS_GOAL_DB - w_target(f)`` below ``mono_bass_hz``, rising at
        ``CAP_SLOPE_DB_PER_OCT`` from a third of an octave below it.
    """
    f = target.freqs_hz
    cap = np.maximum(0.0, reference_band_width_db - target.band_width_db)
    out = np.minimum(width_delta_db, band_caps(target.band_edges_hz, cap, f, CAP_SLOPE_DB_PER_OCT))
    if mono_bass_hz <= 0 or reference_side_minus_mid_db is None or target.side_raw_db is None:
        return np.asarray(out, dtype=np.float64)
    bass = (f >= 30.0) & (f < mono_bass_hz)
    if not bass.any():
        return np.asarray(out, dtype=np.float64)
    ref_bass = 10 * np.log10(np.mean(10 ** (reference_side_minus_mid_db[bass] / 10)))
    if ref_bass > MONO_BASS_DB:
        return np.asarray(out, dtype=np.float64)
    w_target = smooth_octaves(target.side_raw_db - target.mid_raw_db, POINTS_PER_OCTAVE, 1 / 3)
    goal = MONO_BASS_GOAL_DB - w_target
    # the cap at the mono goal up to a third of an octave below mono_bass_hz, then rising at
    # the band caps' slope (a mono-maker's crossover, not a step that rings in a linear-phase EQ)
    above = np.log2(f / mono_bass_hz) + 1.0 / 3.0
    bass_cap = goal + CAP_SLOPE_DB_PER_OCT * np.maximum(0.0, above)
    return np.asarray(np.minimum(out, bass_cap), dtype=np.float64)
