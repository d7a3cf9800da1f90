"""The match recovers known EQs and loudness; trust separates same content from other songs."""

from __future__ import annotations

import numpy as np

from engine.analysis import Analysis, analyze_array
from engine.matching import build_preset, reference_similarity, reference_trust
from engine.pipeline import render_array
from engine.schema.options import MatchOptions
from tests.engine.conftest import SR, biquad, pinkish
from tools.demo import synth_song

THIRDS = 1000.0 * 2.0 ** (np.arange(-13, 12) / 3.0)  # 50 Hz .. 12.7 kHz


def third_octave_db(x: np.ndarray) -> np.ndarray:
    f = np.fft.rfftfreq(len(x), 1 / SR)
    p = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
    return np.array(
        [10 * np.log10(p[(f >= c * 2 ** (-1 / 6)) & (f < c * 2 ** (1 / 6))].sum()) for c in THIRDS]
    )


def known_eq(x: np.ndarray) -> np.ndarray:
    y = biquad(x, "low_shelf", 150.0, 4.0, 0.7)
    y = biquad(y, "peak", 1000.0, -3.0, 1.0)
    return biquad(y, "high_shelf", 6000.0, 5.0, 0.7)


def eq_match_error(target: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray]:
    """Match the EQ alone (no dynamics, width or limiter); returns the reference trust and the
    per-third-octave error of the applied change against the reference's, level removed."""
    opts = MatchOptions(dynamics_enabled=False, width_enabled=False, limiter_enabled=False)
    preset = build_preset(analyze_array(target, SR), [analyze_array(reference, SR)], opts)
    out = render_array(preset, target, SR).audio
    applied = third_octave_db(out) - third_octave_db(target)
    truth = third_octave_db(reference) - third_octave_db(target)
    return preset.eq.reference_trust, (applied - applied.mean()) - (truth - truth.mean())


def test_known_eq_on_noise_is_recovered_within_half_a_db_per_third_octave() -> None:
    target = pinkish(SR * 20, seed=1)
    trust, err = eq_match_error(target, known_eq(target) * 1.7)
    assert trust > 0.9
    assert np.max(np.abs(err)) <= 0.5, np.round(err, 2)


def test_loudness_matches_reference_and_true_peak_is_safe() -> None:
    target = pinkish(SR * 15, seed=2) * 0.2
    reference = np.tanh(3 * pinkish(SR * 15, seed=3))
    preset = build_preset(analyze_array(target, SR), [analyze_array(reference, SR)], MatchOptions())
    out = render_array(preset, target, SR)
    a_out, a_ref = analyze_array(out.audio, SR), analyze_array(reference, SR)
    assert abs(a_out.summary.integrated_lufs - a_ref.summary.integrated_lufs) <= 0.2
    assert a_out.summary.true_peak_dbtp <= -1.0


def test_reference_trust_is_high_for_same_song_and_low_for_another() -> None:
    a = synth_song(11, 24.0)
    same = analyze_array(known_eq(a[SR * 12 :]), SR)
    other = analyze_array(known_eq(synth_song(12, 12.0)), SR)
    t = analyze_array(a[: SR * 12], SR)
    assert reference_trust(t.mid_raw_db, same.mid_raw_db, t.freqs_hz) > reference_trust(
        t.mid_raw_db, other.mid_raw_db, t.freqs_hz
    )


def test_similarity_uses_the_side_spectrum_and_separates_same_from_other() -> None:
    a = synth_song(21, 24.0)
    t = analyze_array(a[: SR * 12], SR)
    same = analyze_array(known_eq(a[SR * 12 :]), SR)
    other = analyze_array(known_eq(synth_song(22, 12.0)), SR)

    def sim(r: Analysis, side: bool) -> float:
        if not side:
            return reference_similarity(t.mid_raw_db, r.mid_raw_db, t.freqs_hz)
        return reference_similarity(
            t.mid_raw_db, r.mid_raw_db, t.freqs_hz, t.side_raw_db, r.side_raw_db
        )

    assert t.side_raw_db is not None
    assert sim(same, True) > sim(other, True)
    assert sim(same, True) != sim(same, False)  # the side spectrum takes part
    # identical material is fully trusted, whatever mastering EQ it carries
    ref = analyze_array(known_eq(a[: SR * 12]), SR)
    assert (
        reference_trust(t.mid_raw_db, ref.mid_raw_db, t.freqs_hz, t.side_raw_db, ref.side_raw_db)
        == 1.0
    )


def test_amount_zero_leaves_the_tone_alone() -> None:
    target = pinkish(SR * 8, seed=4)
    reference = known_eq(pinkish(SR * 8, seed=5))
    opts = MatchOptions(
        eq_amount=0, width_amount=0, dynamics_amount=0, loudness_amount=0, limiter_enabled=False
    )
    preset = build_preset(analyze_array(target, SR), [analyze_array(reference, SR)], opts)
    out = render_array(preset, target, SR).audio
    edge = int(0.002 * SR)  # the renderer fades the first/last 2 ms in/out
    assert np.max(np.abs(out[edge:-edge] - target[edge:-edge])) < 1e-6
    assert abs(out[0, 0]) < abs(target[0, 0]) * 0.01 + 1e-9


def test_several_references_are_averaged() -> None:
    target = pinkish(SR * 8, seed=6)
    r1 = known_eq(target) * 0.5
    r2 = known_eq(target) * 2.0
    a_t = analyze_array(target, SR)
    p = build_preset(a_t, [analyze_array(r1, SR), analyze_array(r2, SR)], MatchOptions())
    l1 = analyze_array(r1, SR).summary.integrated_lufs
    l2 = analyze_array(r2, SR).summary.integrated_lufs
    assert l1 < p.loudness.target_lufs < l2


def test_the_high_bands_of_dark_music_are_matched() -> None:
    # a dark mix: pinkish noise 6 dB per octave steeper above 250 Hz puts its 6-10 kHz bands
    # 50-60 dB below its bass peak (the analysis' power density), where music still has tone
    n = SR * 15
    spec = np.fft.rfft(pinkish(n, seed=5), axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec *= (10 ** (-6 / 20 * np.log2(np.maximum(f, 250.0) / 250.0)))[:, None]
    target = np.fft.irfft(spec, n, axis=0)
    trust, err = eq_match_error(target, biquad(target, "high_shelf", 5000.0, 5.0, 0.7) * 1.3)
    assert trust > 0.9
    t_an = analyze_array(target, SR)
    high = (THIRDS >= 6000.0) & (THIRDS <= 10500.0)
    below_peak = t_an.mid_db.max() - np.interp(THIRDS[high], t_an.freqs_hz, t_an.mid_db)
    assert below_peak.min() > 48.0, np.round(below_peak, 1)  # under the old 60 dB floor's ramp
    assert np.max(np.abs(err[high])) <= 1.0, np.round(err, 2)
