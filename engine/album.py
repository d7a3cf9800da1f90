"""Album mode: one plan per track that keeps the album together.

- Loudness: the album (all tracks' 100 ms energies together, ITU-R BS.1770-4 gating) is taken
  to the goal (the references' loudness or ``--target-lufs``) and each track keeps its offset
  from the album loudness, times ``keep_spread`` (1: a track 4 LU quieter stays 4 LU quieter;
  0: every track at the goal).
- Tone: the album's correction is the mean of the tracks' own match curves (each as
  :func:`engine.matching.build_preset` plans it, trust and smoothing included); on top of it
  each track loses ``consistency`` of its broad (1-octave smoothed) deviation from the album's
  mean tonal balance, so the tracks share one tonal signature. Width (the side curve's change
  relative to the mid), dynamics and limiter stay each track's own plan.

When a track cannot reach its target within the limiter's budget
(:data:`engine.render.MAX_LIMITER_PUSH_DB`), the other tracks are lowered by its shortfall
(at most :data:`MAX_ALBUM_LOWERING_LU`) so the spread holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.analysis import POINTS_PER_OCTAVE, Analysis
from engine.analysis.loudness import integrated_loudness
from engine.analysis.spectrum import smooth_octaves
from engine.matching import (
    _channel_eq,
    average_profiles,
    build_preset,
    curve_offset,
    finish_curve,
    match_curve,
    profile_of,
)
from engine.report import tonal_distance_db
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
ALBUM_SMOOTHING_OCT = 1.0  # a track's deviation from the album is removed at this width only
# a track whose output falls this far short of its loudness target (limiter budget) lowers the
# whole album by its shortfall, so the spread is kept...
SHORTFALL_LU = 0.1
# ...by at most this much: one track that would need far more limiting (a percussive outlier:
# measured 17 LU short at a -8 LUFS goal) must not pull the whole album down with it
MAX_ALBUM_LOWERING_LU = 3.0


@dataclass
class AlbumOptions:
    """``keep_spread``: share (0..1) of the input loudness spread kept; ``consistency``:
    share (0..1) of each track's broad tonal deviation from the album mean removed."""

    keep_spread: float = 1.0
    consistency: float = 1.0


def album_loudness(analyses: Sequence[Analysis]) -> float:
    """Integrated loudness of the tracks played one after the other (BS.1770-4 gating over
    all their 100 ms energies)."""
    return float(integrated_loudness(np.concatenate([a.momentary_energies for a in analyses])))


def album_mean_db(analyses: Sequence[Analysis], freqs_hz: F64) -> F64:
    """Mean loudness-normalised mid spectrum (dB) of the tracks on ``freqs_hz``."""
    return np.asarray(np.mean([profile_of(a, freqs_hz).mid_db for a in analyses], axis=0))


def third_octave_db(analysis: Analysis, freqs_hz: F64) -> F64:
    """Loudness-normalised mid spectrum smoothed over 1/3 octave: the level of the
    1/3-octave band around each frequency (the table's tonal balance)."""
    return smooth_octaves(profile_of(analysis, freqs_hz).mid_db, POINTS_PER_OCTAVE, 1 / 3)


def loudness_targets(
    targets: Sequence[Analysis],
    references: Sequence[Analysis],
    options: MatchOptions,
    album: AlbumOptions,
) -> list[float]:
    """Each track's loudness target (LUFS) in album mode."""
    goal = options.target_lufs
    if goal is None:
        profiles = [profile_of(r) for r in references]
        goal = average_profiles(profiles, options.reference_weights).lufs
    amt = options.scaled(options.loudness_amount, options.loudness_enabled)
    l_album = album_loudness(targets)
    out = []
    for t in targets:
        lufs = t.summary.integrated_lufs
        desired = goal + album.keep_spread * (lufs - l_album)
        out.append(float(lufs + amt * (desired - lufs)))
    return out


def album_presets(
    targets: Sequence[Analysis],
    references: Sequence[Sequence[Analysis]],
    options: MatchOptions,
    album: AlbumOptions,
) -> list[Preset]:
    """One preset per track (``references[i]``: the references analysed at track ``i``'s
    rate)."""
    alone = [build_preset(t, r, options) for t, r in zip(targets, references, strict=True)]
    loud = loudness_targets(targets, references[0], options, album)
    eq_amt = options.scaled(options.eq_amount, options.eq_enabled)
    out = []
    for t, preset, lufs in zip(targets, alone, loud, strict=True):
        f = t.freqs_hz
        curves = [
            np.interp(np.log(f), np.log(p.eq.mid.curve.freqs_hz), p.eq.mid.curve.gain_db)
            for p in alone
        ]
        own = profile_of(t).mid_db
        dev = match_curve(own, album_mean_db(targets, f), f, ALBUM_SMOOTHING_OCT, options)
        dev = dev - curve_offset(dev, own, f)
        mid = finish_curve(np.mean(curves, axis=0) + album.consistency * eq_amt * dev, 0.0, options)
        eq = preset.eq
        side_eq = None
        if eq.side is not None:
            width = np.asarray(eq.side.curve.gain_db) - np.asarray(eq.mid.curve.gain_db)
            side_eq = _channel_eq(f, mid + width, t.sample_rate)
        new_eq = eq.model_copy(update={"mid": _channel_eq(f, mid, t.sample_rate), "side": side_eq})
        loudness = preset.loudness.model_copy(update={"target_lufs": lufs})
        out.append(preset.model_copy(update={"eq": new_eq, "loudness": loudness}))
    return out


def album_table(
    names: Sequence[str],
    analyses: Sequence[Analysis],
    true_peaks_dbtp: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Per track: integrated loudness (LUFS), loudness range (LU, EBU Tech 3342), true peak
    (dBTP), tonal distance (dB: RMS over the 1/3-octave bands 31.5 Hz-16 kHz of the
    loudness-normalised, 1/3-octave smoothed mid spectrum) to the album's mean of the same;
    and the album's loudness, spread (max - min LUFS) and mean tonal distance."""
    f = analyses[0].freqs_hz
    bands = [third_octave_db(a, f) for a in analyses]
    mean = np.mean(bands, axis=0)
    rows: list[dict[str, Any]] = []
    for i, (name, a) in enumerate(zip(names, analyses, strict=True)):
        s = a.summary
        tp = s.true_peak_dbtp if true_peaks_dbtp is None else true_peaks_dbtp[i]
        rows.append(
            {
                "track": name,
                "lufs": s.integrated_lufs,
                "lra_lu": s.loudness_range_lu,
                "true_peak_dbtp": float(tp),
                "tonal_distance_db": tonal_distance_db(f, bands[i], mean),
            }
        )
    lufs = [float(a.summary.integrated_lufs) for a in analyses]
    return {
        "tracks": rows,
        "album_lufs": album_loudness(analyses),
        "spread_lu": float(max(lufs) - min(lufs)),
        "mean_tonal_distance_db": float(np.mean([r["tonal_distance_db"] for r in rows])),
    }
