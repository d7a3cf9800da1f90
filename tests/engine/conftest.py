"""Shared generated signals for engine tests."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.signal import sosfilt

from engine.eqfit import biquad_coeffs

SR = 44100


def biquad(
    x: NDArray[np.float64], kind: str, f: float, g: float, q: float, sr: int = SR
) -> NDArray[np.float64]:
    c = biquad_coeffs(kind, f, g, q, sr)
    sos = np.concatenate([c[:3] / c[3], c[3:] / c[3]])[None, :]
    y: NDArray[np.float64] = sosfilt(sos, x, axis=0)  # scipy.signal is untyped
    return y


def pinkish(n: int, channels: int = 2, seed: int = 0) -> NDArray[np.float64]:
    """Noise with a -3 dB/octave tilt (Voss-like via FFT shaping)."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:] / 1000.0)[:, None]
    spec[0] = 0
    x = np.fft.irfft(spec, n, axis=0)
    y: NDArray[np.float64] = 0.1 * x / np.sqrt(np.mean(x**2))
    return y


@pytest.fixture
def noise() -> NDArray[np.float64]:
    return pinkish(SR * 12)


def fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return its stdout; the
    test fails with the child's stderr when the child fails (an assertion in ``code``)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout
