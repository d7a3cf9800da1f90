"""Reference suitability (codec low-pass, clipping, near mono) and mono-safe width, on
generated signals with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine import suitability
from engine.cli import main
from engine.pipeline import analyze_array, build_preset, render_array
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset
from engine.suitability import CAP_SLOPE_DB_PER_OCT

SR = 44100


def noise(n: int, seed: int, tilt: float = 0.25, channels: int = 2) -> np.ndarray:
    """Noise with ``f**-tilt`` amplitude (tilt 0.25: -1.5 dB/octave, plenty of treble)."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= (f[1:] / 1000.0)[:, None] ** tilt
    spec[f < 25] = 0
    x = np.fft.irfft(spec, n, axis=0)
    y: np.ndarray = 0.1 * x / np.sqrt(np.mean(x**2))
    return y


def shaped(x: np.ndarray, gain_db_of_f) -> np.ndarray:  # type: ignore[no-untyped-def]
    spec = np.fft.rfft(x, axis=0)
    spec *= 10 ** (gain_db_of_f(np.fft.rfftfreq(len(x), 1 / SR)) / 20)[:, None]
    return np.fft.irfft(spec, len(x), axis=0)


def band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x, axis=0)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(10 * np.log10(spec[(f >= lo) & (f < hi)].sum()))


def ms(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2


BUMP = lambda f: 6 * np.exp(-(np.log2(np.maximum(f, 1) / 1000) ** 2))  # noqa: E731
LOWPASS_16K = lambda f: np.where(f < 16000, 0.0, -30.0)  # noqa: E731  (an MP3's low-pass)


def test_low_passed_reference_changes_nothing_above_15k() -> None:
    n = SR * 20
    target = noise(n, 1)
    ref = shaped(noise(n, 2), BUMP)
    ref_lp = shaped(ref, LOWPASS_16K)
    t_an = analyze_array(target, SR)
    outs = {}
    for name, r in (("full", ref), ("lp", ref_lp)):
        preset = build_preset(t_an, [analyze_array(r, SR)], MatchOptions())
        out = render_array(preset, target, SR)
        outs[name] = (out.audio, out.gain_db, preset)
    bands = [(15000 * 2 ** (k / 3), 15000 * 2 ** ((k + 1) / 3)) for k in range(2)]
    for lo, hi in bands:
        full = band_db(outs["full"][0], lo, hi) - outs["full"][1]
        lp = band_db(outs["lp"][0], lo, hi) - outs["lp"][1]
        assert abs(lp - full) <= 0.5, (lo, lp - full)
    s = outs["lp"][2].suitability
    assert s is not None and s.band_limit_hz is not None
    assert 15000 < s.band_limit_hz <= 16100
    eq = next(a for a in s.aspects if a.aspect == "eq")
    assert eq.reason == "band_limited"
    assert outs["full"][2].suitability.band_limit_hz is None  # type: ignore[union-attr]


def test_without_the_guard_the_low_pass_would_be_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above measures something: with the guard off the HF is cut by decibels."""
    monkeypatch.setattr(suitability, "plan_options", lambda o, s: o)
    n = SR * 20
    target = noise(n, 1)
    ref_lp = shaped(shaped(noise(n, 2), BUMP), LOWPASS_16K)
    preset = build_preset(analyze_array(target, SR), [analyze_array(ref_lp, SR)], MatchOptions())
    out = render_array(preset, target, SR)
    change = band_db(out.audio, 16000, 20000) - out.gain_db - band_db(target, 16000, 20000)
    assert change < -1.0


def test_band_limit_of_a_natural_roll_off_is_none() -> None:
    x = noise(SR * 10, 3, tilt=0.75)  # -4.5 dB/octave: dull, but no cliff
    a = analyze_array(x, SR)
    assert suitability.band_limit_hz(a.freqs_hz, a.mid_raw_db, SR) is None


def test_clipped_and_near_mono_references_are_trusted_less(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = SR * 10
    target = noise(n, 4) * 0.5
    hot = np.clip(noise(n, 5) * 8.0, -1.0, 1.0)  # hard-clipped
    mono = noise(n, 6, channels=1)
    near_mono = np.concatenate([mono, mono], 1) + noise(n, 7) * 0.003  # side about -30 dB
    t_an = analyze_array(target, SR)
    clipped = build_preset(t_an, [analyze_array(hot, SR)], MatchOptions()).suitability
    narrow = build_preset(t_an, [analyze_array(near_mono, SR)], MatchOptions())
    assert clipped is not None and narrow.suitability is not None
    dyn = {a.aspect: a for a in clipped.aspects}["dynamics"]
    assert dyn.reason == "clipped" and clipped.clipped_fraction > 0.01
    width = {a.aspect: a for a in narrow.suitability.aspects}["width"]
    assert width.reason == "near_mono" and width.trust == 0.0
    assert not narrow.width.enabled  # the target keeps its width

    t, r = tmp_path / "t.wav", tmp_path / "r.wav"
    sf.write(t, target, SR, subtype="FLOAT")
    sf.write(r, near_mono, SR, subtype="FLOAT")
    assert main(["match", str(t), "-r", str(r), "-o", str(tmp_path / "o.wav"), "-q"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("reference use")]
    assert len(line) == 1 and "near mono" in line[0] and "width 0%" in line[0]


def band_side_minus_mid(x: np.ndarray, lo: float, hi: float) -> float:
    m, s = ms(x)
    return band_db(s[:, None], lo, hi) - band_db(m[:, None], lo, hi)


def stereo_with_width(n: int, seed: int, side_db_of_f) -> np.ndarray:  # type: ignore[no-untyped-def]
    m = noise(n, seed, channels=1)
    s = shaped(noise(n, seed + 100, channels=1), side_db_of_f)
    return np.concatenate([m + s, m - s], 1)


def max_width_slope_db_per_oct(preset: Preset) -> float:
    """Steepest slope (dB per octave) of the side EQ relative to the mid EQ, 30 Hz-16 kHz
    (a capped band's ramp plus the smoothed width change's own slope; a step is hundreds)."""
    assert preset.eq.side is not None
    f = np.asarray(preset.eq.mid.curve.freqs_hz)
    width = np.asarray(preset.eq.side.curve.gain_db) - np.asarray(preset.eq.mid.curve.gain_db)
    sel = (f[1:] > 30.0) & (f[1:] < 16000.0)
    return float(np.max(np.abs(np.diff(width) / np.diff(np.log2(f)))[sel]))


def test_width_never_folds_worse_than_the_reference() -> None:
    n = SR * 20
    target = stereo_with_width(n, 10, lambda f: np.full_like(f, -20.0))
    # reference: narrow in the mids, wide elsewhere (smoothing would spill width into the mids)
    ref_w = lambda f: np.where((f > 800) & (f < 2000), -18.0, -4.0)  # noqa: E731
    ref = stereo_with_width(n, 20, ref_w)
    preset = build_preset(analyze_array(target, SR), [analyze_array(ref, SR)], MatchOptions())
    out = render_array(preset, target, SR).audio
    edges = preset.width.band_edges_hz
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > 16000:
            continue
        # fold-down loss -10 log10(1 + S/M) is monotonic in S/M: compare side/mid per band
        assert band_side_minus_mid(out, lo, hi) <= band_side_minus_mid(ref, lo, hi) + 0.5, (lo, hi)
    # ...and the capped side EQ ramps between bands instead of stepping
    assert max_width_slope_db_per_oct(preset) <= CAP_SLOPE_DB_PER_OCT + 6.0


def test_bass_stays_mono_when_the_reference_bass_is() -> None:
    n = SR * 20
    wide = lambda f: np.full_like(f, -6.0)  # noqa: E731
    target = stereo_with_width(n, 30, wide)  # wide bass
    ref = stereo_with_width(n, 40, lambda f: np.where(f < 150, -60.0, -6.0))  # mono bass
    preset = build_preset(analyze_array(target, SR), [analyze_array(ref, SR)], MatchOptions())
    out = render_array(preset, target, SR).audio
    assert band_side_minus_mid(target, 30, 90) > -8.0
    assert band_side_minus_mid(out, 30, 90) < -20.0  # made mono below 120 Hz
    assert abs(band_side_minus_mid(out, 1000, 4000) - band_side_minus_mid(target, 1000, 4000)) < 2
    assert max_width_slope_db_per_oct(preset) <= CAP_SLOPE_DB_PER_OCT + 6.0  # no step at 120 Hz
    off = build_preset(
        analyze_array(target, SR), [analyze_array(ref, SR)], MatchOptions(mono_bass_hz=0)
    )
    assert band_side_minus_mid(render_array(off, target, SR).audio, 30, 90) > -20.0


def test_band_limit_when_the_level_already_dips_at_the_edge() -> None:
    from engine.analysis.spectrum import log_grid

    f = log_grid(SR, 48)
    level = np.where(f < 9000, 0.0, np.where(f < 9600, -20.0, -60.0))
    edge = suitability.band_limit_hz(f, level, SR)
    assert edge is not None and 8000 < edge < 9700
