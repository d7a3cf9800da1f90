"""BS.1770-4 / EBU Tech 3341 / EBU Tech 3342 loudness meters against known answers."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from numpy.typing import NDArray

from engine.analysis.loudness import (
    KWeightedEnergy,
    channel_weights,
    hop_energies,
    integrated_loudness,
    integrated_lufs,
    k_weighting_sos,
    loudness_range,
    momentary_loudness,
    short_term_loudness,
)
from engine.schema.errors import AudioStyleError, ErrorCode

SR = 48_000


def tone_sequence(
    parts: list[tuple[float, float]], sample_rate: int = SR, freq_hz: float = 1000.0
) -> NDArray[np.float64]:
    """Mono sine whose peak amplitude is ``level_dbfs`` for ``length_s``, part after part."""
    amp = np.concatenate(
        [
            np.full(int(round(length_s * sample_rate)), 10.0 ** (level_dbfs / 20.0))
            for level_dbfs, length_s in parts
        ]
    )
    n = np.arange(amp.size)
    return amp * np.sin(2.0 * np.pi * freq_hz * n / sample_rate)


def stereo(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The same signal in both channels (a read-only view)."""
    return np.broadcast_to(x[:, None], (x.size, 2))


def test_k_weighting_reproduces_the_48k_coefficients_of_the_standard() -> None:
    table = np.array(
        [
            [
                1.53512485958697,
                -2.69169618940638,
                1.19839281085285,
                1.0,
                -1.69065929318241,
                0.73248077421585,
            ],
            [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
        ]
    )
    np.testing.assert_allclose(k_weighting_sos(48_000), table, atol=1e-9)


@pytest.mark.parametrize("sample_rate", [44_100, 48_000, 96_000])
def test_full_scale_mono_sine_reads_minus_3_lufs(sample_rate: int) -> None:
    x = tone_sequence([(0.0, 2.0)], sample_rate, 997.0)
    assert integrated_lufs(x, sample_rate) == pytest.approx(-3.01, abs=0.05)


def test_mono_sine_at_minus_20_dbfs_reads_minus_23_lufs() -> None:
    x = tone_sequence([(-20.0, 5.0)], SR, 997.0)
    assert integrated_lufs(x, SR) == pytest.approx(-23.0, abs=0.1)


def test_channel_weights_table_3() -> None:
    assert channel_weights(1).tolist() == [1.0]
    assert channel_weights(2).tolist() == [1.0, 1.0]
    assert channel_weights(5).tolist() == [1.0, 1.0, 1.0, 1.41, 1.41]
    assert channel_weights(6).tolist() == [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]


def test_lfe_is_ignored_and_surrounds_are_boosted() -> None:
    tone = tone_sequence([(-20.0, 2.0)])
    x = np.zeros((tone.size, 6))
    x[:, 3] = tone
    assert integrated_lufs(x, SR) == float("-inf")
    x[:, 3] = 0.0
    x[:, 0] = tone
    front = integrated_lufs(x, SR)
    x[:, 0] = 0.0
    x[:, 4] = tone
    assert integrated_lufs(x, SR) - front == pytest.approx(10 * np.log10(1.41), abs=1e-6)


@pytest.mark.parametrize("level_dbfs", [-23.0, -33.0])
def test_ebu_3341_cases_1_and_2_steady_sine(level_dbfs: float) -> None:
    e = hop_energies(stereo(tone_sequence([(level_dbfs, 20.0)])), SR)
    assert integrated_loudness(e) == pytest.approx(level_dbfs, abs=0.1)
    m, s = momentary_loudness(e), short_term_loudness(e)
    assert m.size == e.size - 3 and s.size == e.size - 29
    np.testing.assert_allclose(m, level_dbfs, atol=0.1)
    np.testing.assert_allclose(s, level_dbfs, atol=0.1)


@pytest.mark.parametrize(
    "parts",
    [
        [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)],  # case 3: relative gate
        [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)],  # case 4
        [(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)],  # case 5
    ],
)
def test_ebu_3341_gated_sequences_read_minus_23(parts: list[tuple[float, float]]) -> None:
    assert integrated_lufs(stereo(tone_sequence(parts)), SR) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize(
    ("parts", "lra_lu"),
    [
        ([(-20.0, 20.0), (-30.0, 20.0)], 10.0),
        ([(-20.0, 20.0), (-15.0, 20.0)], 5.0),
        ([(-40.0, 20.0), (-20.0, 20.0)], 20.0),
        ([(-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)], 15.0),
    ],
)
def test_ebu_3342_loudness_range_cases_1_to_4(
    parts: list[tuple[float, float]], lra_lu: float
) -> None:
    e = hop_energies(stereo(tone_sequence(parts)), SR)
    assert loudness_range(e) == pytest.approx(lra_lu, abs=1.0)


@pytest.mark.parametrize("sample_rate", [44_100, 48_000])
def test_integrated_loudness_matches_pyloudnorm_on_noise(sample_rate: int) -> None:
    rng = np.random.default_rng(sample_rate)
    x = 0.1 * rng.standard_normal((10 * sample_rate, 2))
    x[: 3 * sample_rate] *= 0.05  # something for the gates to drop
    ours = integrated_lufs(x, sample_rate)
    # "DeMan" derives the K-weighting from the standard's 48 kHz coefficients as we do
    exact = pyloudnorm.Meter(sample_rate, filter_class="DeMan").integrated_loudness(x)
    assert ours == pytest.approx(exact, abs=0.05)
    # the default class uses rounded prototype parameters (G = 4 dB, f0 = 1500 Hz, Q = 0.707)
    assert ours == pytest.approx(pyloudnorm.Meter(sample_rate).integrated_loudness(x), abs=0.1)


def test_streaming_equals_one_shot_for_any_block_sizes() -> None:
    rng = np.random.default_rng(7)
    x = 0.3 * rng.standard_normal((7 * 44_100 + 1234, 2)).astype(np.float32)
    whole = hop_energies(x, 44_100)
    assert whole.size == x.shape[0] // 4410  # the final partial hop is dropped
    meter = KWeightedEnergy(44_100, 2)
    pos = 0
    while pos < x.shape[0]:
        n = int(rng.choice([1, 17, 441, 4409, 4410, 4411, 50_000, 70_000]))
        meter.push(x[pos : pos + n])
        pos += n
    np.testing.assert_array_equal(meter.energies(), whole)


def test_hop_energies_are_weighted_mean_squares() -> None:
    # DC is removed by the high-pass, so use a 1 kHz sine: K gain there is about +0.69 dB.
    x = tone_sequence([(0.0, 1.0)], SR)
    e = hop_energies(np.stack([x, 0.5 * x], axis=1), SR)
    expected = 0.5 * (1.0 + 0.25) * 10 ** (0.6976 / 10)
    np.testing.assert_allclose(e[2:], expected, rtol=2e-3)


def test_silence_and_short_signals() -> None:
    assert integrated_lufs(np.zeros((SR, 2)), SR) == float("-inf")
    short = tone_sequence([(-20.0, 0.39)])
    assert integrated_lufs(short, SR) == float("-inf")
    assert momentary_loudness(hop_energies(short, SR)).size == 0
    assert loudness_range(hop_energies(short, SR)) == 0.0
    e = hop_energies(np.concatenate([np.zeros(SR), tone_sequence([(-20.0, 1.0)])]), SR)
    m = momentary_loudness(e)
    assert m[0] == float("-inf") and np.isfinite(m[-1])
    assert isinstance(integrated_loudness(np.zeros(10)), float)


def test_bad_arguments_raise_coded_errors() -> None:
    with pytest.raises(AudioStyleError) as err:
        KWeightedEnergy(1000, 2)
    assert err.value.code is ErrorCode.BAD_SAMPLE_RATE
    with pytest.raises(AudioStyleError) as err:
        KWeightedEnergy(SR, 2, hop_s=0.0)
    assert err.value.code is ErrorCode.BAD_OPTION
    meter = KWeightedEnergy(SR, 2)
    with pytest.raises(AudioStyleError) as err:
        meter.push(np.zeros((100, 3)))
    assert err.value.code is ErrorCode.CHANNEL_MISMATCH
