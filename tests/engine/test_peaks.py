"""True-peak (BS.1770-4 Annex 2) and sample-peak meters against known answers."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.signal import butter, resample, sosfiltfilt

from engine.analysis.peaks import (
    FINE_TRUE_PEAK_RATE_HZ,
    REFINE_MARGIN_DB,
    TruePeakMeter,
    crest_factor_db,
    interpolation_phases,
    oversampling_factor,
    plr_db,
    sample_peak_dbfs,
    true_peak_dbtp,
    true_peak_envelope,
)
from engine.schema.errors import AudioStyleError, ErrorCode


def faded(x: NDArray[np.float64], fade: int = 2000) -> NDArray[np.float64]:
    """Linear fade in/out, so the abrupt ends of a test tone do not ring."""
    ramp = np.ones(x.size)
    ramp[:fade] = np.linspace(0.0, 1.0, fade)
    ramp[-fade:] = np.linspace(1.0, 0.0, fade)
    return x * ramp


@pytest.mark.parametrize(
    ("sample_rate", "factor"),
    [
        (44_100, 4),
        (48_000, 4),
        (88_200, 2),
        (96_000, 2),
        (176_400, 1),
        (192_000, 1),
        (32_000, 6),
        (8_000, 23),
    ],
)
def test_oversampling_factor_reaches_176k4(sample_rate: int, factor: int) -> None:
    assert oversampling_factor(sample_rate) == factor


def test_interpolation_phases_have_unit_dc_gain_and_mirror_each_other() -> None:
    taps = interpolation_phases(4)
    assert taps.shape == (3, 48)
    np.testing.assert_allclose(taps.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(taps[2], taps[0][::-1], atol=1e-15)
    np.testing.assert_allclose(taps[1], taps[1][::-1], atol=1e-15)


@pytest.mark.parametrize("sample_rate", [44_100, 48_000, 96_000])
def test_inter_sample_peak_of_quarter_rate_sine(sample_rate: int) -> None:
    # fs/4 with a 45 degree phase: every sample is at 0.7071 A, the true peak is A.
    amplitude = 0.5
    n = np.arange(sample_rate)
    x = faded(amplitude * np.sin(np.pi / 2 * n + np.pi / 4))
    peak_db = 20 * np.log10(amplitude)
    assert sample_peak_dbfs(x) == pytest.approx(peak_db - 3.01, abs=0.01)
    assert true_peak_dbtp(x, sample_rate) == pytest.approx(peak_db, abs=0.2)
    assert true_peak_dbtp(x, sample_rate) == pytest.approx(peak_db, abs=0.01)


def test_no_oversampling_from_176k4() -> None:
    n = np.arange(19_200)
    x = 0.5 * np.sin(np.pi / 2 * n + np.pi / 4)
    assert true_peak_dbtp(x, 192_000) == pytest.approx(sample_peak_dbfs(x), abs=1e-6)


@pytest.mark.parametrize("sample_rate", [44_100, 48_000, 96_000, 192_000])
def test_full_scale_997_hz_sine_reads_0_dbtp(sample_rate: int) -> None:
    x = np.sin(2 * np.pi * 997.0 * np.arange(sample_rate) / sample_rate)
    assert true_peak_dbtp(np.stack([x, 0.5 * x], axis=1), sample_rate) == pytest.approx(
        0.0, abs=0.01
    )


@pytest.mark.parametrize("sample_rate", [44_100, 48_000, 96_000])
def test_matches_ideal_band_limited_interpolation(sample_rate: int) -> None:
    rng = np.random.default_rng(sample_rate)
    n = sample_rate // 4
    sos = butter(12, 18_000 / (sample_rate / 2), output="sos")
    x = sosfiltfilt(sos, rng.standard_normal((n, 2)), axis=0) * np.hanning(n)[:, None]
    factor = oversampling_factor(sample_rate)
    ideal = 20 * np.log10(np.abs(resample(x, n * factor, axis=0)).max())
    assert true_peak_dbtp(x, sample_rate) == pytest.approx(ideal, abs=0.01)


def test_streaming_equals_one_shot() -> None:
    rng = np.random.default_rng(5)
    sample_rate = 44_100
    x = 0.2 * rng.standard_normal((400_000, 2))
    x[123_456, 1] = 0.99
    whole_dbtp = true_peak_dbtp(x, sample_rate)
    meter = TruePeakMeter(sample_rate, 2, envelope_hop=441)
    pos = 0
    while pos < x.shape[0]:
        n = int(rng.choice([1, 47, 48, 1000, 8145, 60_000, 150_000]))
        meter.push(x[pos : pos + n])
        pos += n
        assert meter.dbtp <= whole_dbtp + 1e-6  # reading flushes a copy, not the state
    assert meter.dbtp == pytest.approx(whole_dbtp, abs=1e-6)
    np.testing.assert_allclose(
        meter.envelope(), true_peak_envelope(x, sample_rate, 441), rtol=0, atol=1e-7
    )


@pytest.mark.parametrize("sample_rate", [48_000, 192_000])
def test_true_peak_envelope(sample_rate: int) -> None:
    rng = np.random.default_rng(11)
    x = 0.3 * rng.standard_normal((100_003, 2))
    env = true_peak_envelope(x, sample_rate, 1000)
    assert env.shape == (101, 2)
    assert env.max() == pytest.approx(10 ** (true_peak_dbtp(x, sample_rate) / 20), rel=1e-6)
    hop_abs = np.abs(np.concatenate([x, np.zeros((997, 2))])).reshape(101, 1000, 2).max(axis=1)
    assert np.all(env >= hop_abs - 1e-6)
    np.testing.assert_allclose(env.max(axis=0), channel_true_peaks(x, sample_rate), rtol=1e-6)


def channel_true_peaks(x: NDArray[np.float64], sample_rate: int) -> NDArray[np.float64]:
    meter = TruePeakMeter(sample_rate, x.shape[1])
    meter.push(x)
    return meter.channel_peaks


def test_silence_and_empty_input() -> None:
    assert true_peak_dbtp(np.zeros((1000, 2)), 48_000) == float("-inf")
    assert sample_peak_dbfs(np.zeros((0, 2))) == float("-inf")
    meter = TruePeakMeter(48_000, 1)
    assert meter.dbtp == float("-inf")
    assert crest_factor_db(np.zeros((10, 1))) == 0.0


def test_crest_factor_and_plr() -> None:
    x = np.sin(2 * np.pi * 1000 * np.arange(48_000) / 48_000)
    assert crest_factor_db(np.stack([x, x], axis=1)) == pytest.approx(3.0103, abs=1e-3)
    assert plr_db(-1.0, -14.0) == pytest.approx(13.0)
    assert plr_db(-1.0, float("-inf")) == 0.0


def test_bad_arguments_raise_coded_errors() -> None:
    with pytest.raises(AudioStyleError) as err:
        true_peak_envelope(np.zeros((10, 2)), 48_000, 0)
    assert err.value.code is ErrorCode.BAD_OPTION
    with pytest.raises(AudioStyleError) as err:
        TruePeakMeter(48_000, 2).push(np.zeros((10, 1)))
    assert err.value.code is ErrorCode.CHANNEL_MISMATCH
    with pytest.raises(AudioStyleError) as err:
        true_peak_dbtp(np.zeros(10), 400_000)
    assert err.value.code is ErrorCode.BAD_SAMPLE_RATE


@pytest.mark.parametrize("sample_rate", [44_100, 48_000, 96_000])
def test_exact_above_keeps_the_fine_peaks_where_they_matter(sample_rate: int) -> None:
    # a quiet passage, a loud one with bright (near-Nyquist) content, quiet again: with
    # ``exact_above`` the quiet transforms are read on the coarse grid only
    rng = np.random.default_rng(3)
    n = 400_000
    x = 0.02 * rng.standard_normal((n, 2))
    t = np.arange(120_000) / sample_rate
    x[150_000:270_000] += 0.6 * np.sin(2 * np.pi * 0.45 * sample_rate * t + 0.4)[:, None]
    x[300_001, 0] = 0.3  # a lone click well below the loud part: the threshold's level
    hop = 32

    def envelope(exact_above: float | None, pushes: list[int]) -> tuple[NDArray[np.float64], float]:
        m = TruePeakMeter(sample_rate, 2, hop, FINE_TRUE_PEAK_RATE_HZ, exact_above)
        for a, b in zip([0, *pushes], [*pushes, n], strict=True):
            m.push(x[a:b])
        return m.envelope(), m.peak

    fine, fine_peak = envelope(None, [])
    standard = TruePeakMeter(sample_rate, 2, hop)  # 4x: the coarse grid (2x at 96 kHz)
    standard.push(x)
    coarse_grid = standard.envelope()
    for level in (float("inf"), 0.25):
        env, peak = envelope(level, [70_001, 130_000, 131_000, 333_333])
        assert peak == fine_peak  # the highest peak is exact
        assert np.all(env <= fine)
        assert np.all(env >= coarse_grid - 1e-7)  # elsewhere at least the standard's reading
        must = (fine >= level) | (fine >= fine.max() * 10 ** (-REFINE_MARGIN_DB / 20))
        assert np.array_equal(env[must], fine[must])
        assert np.array_equal(env, envelope(level, [])[0])  # any split of the stream
    coarse, _ = envelope(float("inf"), [])
    if sample_rate > 48_000:  # 4x there: its coarse grid (2x) is not close enough to skip
        assert np.array_equal(coarse, fine)
        return
    assert np.any(coarse < fine)  # the quiet transforms were skipped...
    near_click = envelope(0.25, [])[0]  # the click's transform is fine at this level
    assert np.count_nonzero(near_click == fine) > np.count_nonzero(coarse == fine)
