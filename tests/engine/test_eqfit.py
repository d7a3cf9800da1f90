"""engine.eqfit: the parametric EQ fitted to a match curve (the editable preset's bands).

The bands are what a user sees and types into another EQ (Equalizer APO, a DAW): they must
follow the curve, and never take gains the curve does not have (a +21 dB bell at Q 8, a
shelf cancelled by an opposite bell), which sound different the moment the other EQ's
filters or sample rate differ a little from ours.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from engine.eqfit import MIN_BAND_DB, bands_response_db, fit_parametric
from engine.schema.preset import ParametricBand

SR = 48000
F = np.geomspace(20.0, 24000.0, 600)


def _excess_db(bands: list[ParametricBand], curve: NDArray[np.float64]) -> float:
    """How far the largest band gain goes past the curve's own largest |gain| (20 Hz-20 kHz)."""
    inside = np.abs(curve[(F >= 20.0) & (F <= 20000.0)]).max()
    return max((abs(b.gain_db) for b in bands), default=0.0) - float(inside)


def _smooth_step(lo_hz: float, hi_hz: float) -> NDArray[np.float64]:
    """0 below ``lo_hz``, 1 above ``hi_hz``, a raised cosine in log frequency between."""
    t = np.clip(np.log(F / lo_hz) / np.log(hi_hz / lo_hz), 0.0, 1.0)
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * t), dtype=np.float64)


def test_fit_recovers_a_parametric_curve() -> None:
    truth = [
        ParametricBand(type="low_shelf", freq_hz=100.0, gain_db=3.0, q=0.707),
        ParametricBand(type="peak", freq_hz=1000.0, gain_db=-4.0, q=1.0),
        ParametricBand(type="high_shelf", freq_hz=8000.0, gain_db=5.0, q=0.707),
    ]
    curve = bands_response_db(truth, F, SR)
    bands, err = fit_parametric(F, curve, SR)
    assert err < 0.25
    sel = (F >= 20.0) & (F <= 20000.0)
    assert np.max(np.abs(bands_response_db(bands, F, SR) - curve)[sel]) < 0.8
    assert _excess_db(bands, curve) < 1.0


@pytest.mark.parametrize(
    "shape",
    [
        # a reference band-limited at ~16 kHz: its gentle tilt, then back to "no change" by
        # 20 kHz (a 2.6 dB step over the top octave's last quarter)
        "top_step",
        # a mono-safe side curve: a +7.5 dB shelf 60-110 Hz that falls away within a third of
        # an octave, a broad -3 dB from 300 Hz
        "bass_bump",
    ],
)
def test_fit_takes_no_gain_the_curve_does_not_have(shape: str) -> None:
    if shape == "top_step":
        tilt = -1.5 + 3.0 * (1.0 - _smooth_step(100.0, 16000.0)) * _smooth_step(20.0, 400.0)
        curve = tilt * (1.0 - _smooth_step(16700.0, 20000.0)) + 1.1 * _smooth_step(16700.0, 20000.0)
    else:
        bump = 7.5 * _smooth_step(40.0, 75.0) * (1.0 - _smooth_step(100.0, 125.0))
        curve = bump - 3.0 * _smooth_step(250.0, 400.0) - 4.8 * (1.0 - _smooth_step(20.0, 40.0))
    bands, err = fit_parametric(F, curve, SR)
    assert _excess_db(bands, curve) <= 3.0, [(b.type, round(b.gain_db, 1)) for b in bands]
    assert err < 1.0
    # and the fit still follows the curve where it is smooth
    sel = (F >= 200.0) & (F <= 12000.0)
    assert np.median(np.abs(bands_response_db(bands, F, SR) - curve)[sel]) < 0.5


def test_fit_adds_no_band_that_does_nothing() -> None:
    # a high shelf and a bell: the fit used to keep its starting low shelf at -0.01 dB
    truth = [
        ParametricBand(type="high_shelf", freq_hz=6000.0, gain_db=3.0, q=0.7),
        ParametricBand(type="peak", freq_hz=500.0, gain_db=-2.0, q=1.0),
    ]
    bands, err = fit_parametric(F, bands_response_db(truth, F, SR), SR)
    assert err < 0.05
    assert sorted(b.type for b in bands) == ["high_shelf", "peak"]
    assert all(abs(b.gain_db) >= MIN_BAND_DB for b in bands)


def test_flat_curve_needs_no_band() -> None:
    bands, err = fit_parametric(F, np.zeros_like(F), SR)
    assert bands == []
    assert err == 0.0
