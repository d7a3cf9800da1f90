"""Long-term average spectra (mid, side, L, R) on a log-frequency grid.

Power spectra are accumulated frame by frame (Hann window, 50 % overlap) so that the
statistics of several blocks or chunks can be merged by simple addition. The FFTs run on a
compute backend (:mod:`engine.backends`; numpy by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.backends import Backend, numpy_backend

F64 = NDArray[np.float64]


def fft_size_for(sample_rate: int) -> int:
    """FFT length giving about 5 Hz resolution (8192 at 44.1/48 kHz)."""
    target = sample_rate / 5.4
    return int(2 ** np.round(np.log2(target)))


def log_grid(sample_rate: int, points_per_octave: int = 48, low_hz: float = 20.0) -> F64:
    """Log-spaced analysis frequencies from ``low_hz`` up to 0.95 x Nyquist (max 22 kHz)."""
    high = min(22000.0, 0.475 * sample_rate)
    n = int(np.floor(np.log2(high / low_hz) * points_per_octave)) + 1
    return np.asarray(low_hz * 2.0 ** (np.arange(n) / points_per_octave), dtype=np.float64)


@dataclass
class SpectrumAccumulator:
    """Streaming STFT power sums (non-overlapping Hann frames): |M|^2, |S|^2, |L|^2, |R|^2 and Re(L R*) per bin."""

    sample_rate: int
    channels: int
    n_fft: int = 0
    frames: int = 0
    _tail: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 1), np.float32))
    sums: dict[str, F64] = field(default_factory=dict)
    backend: Backend | None = None  # None: numpy

    def __post_init__(self) -> None:
        if self.n_fft == 0:
            self.n_fft = fft_size_for(self.sample_rate)
        self._tail = np.zeros((0, self.channels), dtype=np.float32)
        bins = self.n_fft // 2 + 1
        keys = ("mid", "side", "left", "right", "cross") if self.channels == 2 else ("mid",)
        self.sums = {k: np.zeros(bins) for k in keys}

    def push(self, block: NDArray[np.floating]) -> None:
        """Add a ``(frames, channels)`` block; frames straddling blocks are kept."""
        x = np.concatenate([self._tail, np.asarray(block, dtype=np.float32)], axis=0)
        n = len(x) // self.n_fft  # non-overlapping Hann frames: plenty for a long-term mean
        if n:
            self._accumulate(x[: n * self.n_fft])
        self._tail = x[n * self.n_fft :]

    def _accumulate(self, x: NDArray[np.float32]) -> None:
        be: Backend = self.backend or numpy_backend()
        sums = be.spectrum_sums(x, self.n_fft)
        if self.channels == 2:
            ll, rr, lr = sums
            self.sums["left"] += ll
            self.sums["right"] += rr
            self.sums["cross"] += lr
            self.sums["mid"] += 0.25 * (ll + rr + 2.0 * lr)
            self.sums["side"] += 0.25 * (ll + rr - 2.0 * lr)
        else:
            self.sums["mid"] += sums[0]
        self.frames += len(x) // self.n_fft

    def merge(self, other: SpectrumAccumulator) -> None:
        """Add another accumulator's sums (same rate and FFT size)."""
        for k, v in other.sums.items():
            self.sums[k] += v
        self.frames += other.frames

    def mean_power(self, key: str) -> F64:
        """Mean power per bin of ``key`` (mid, side, left, right, cross)."""
        if self.frames == 0:
            return np.zeros(self.n_fft // 2 + 1)
        return self.sums[key] / self.frames


def to_log_grid(power: F64, sample_rate: int, n_fft: int, freqs_hz: F64) -> F64:
    """Average linear-bin power into bands centred on ``freqs_hz`` (band edges at the
    geometric midpoints); bands narrower than a bin are interpolated."""
    bin_hz = sample_rate / n_fft
    edges = np.sqrt(freqs_hz[:-1] * freqs_hz[1:])
    lo = np.concatenate([[freqs_hz[0] ** 2 / edges[0]], edges])
    hi = np.concatenate([edges, [freqs_hz[-1] ** 2 / edges[-1]]])
    csum = np.concatenate([[0.0], np.cumsum(power)])
    # fractional bin positions of edges; integrate the piecewise-constant bin power
    a = np.clip(lo / bin_hz + 0.5, 0, len(power))
    b = np.clip(hi / bin_hz + 0.5, 0, len(power))
    total = _interp_cumsum(csum, b) - _interp_cumsum(csum, a)
    return np.asarray(total / np.maximum(b - a, 1e-9), dtype=np.float64)


def _interp_cumsum(csum: F64, pos: F64) -> F64:
    i = np.clip(np.floor(pos).astype(int), 0, len(csum) - 2)
    frac = pos - i
    return np.asarray(csum[i] + frac * (csum[i + 1] - csum[i]), dtype=np.float64)


def smooth_octaves(values_db: F64, points_per_octave: int, width_octaves: float) -> F64:
    """Fractional-octave smoothing of a curve sampled on a log grid (Gaussian kernel whose
    full width at half maximum is ``width_octaves``), edges handled by renormalisation."""
    if width_octaves <= 0:
        return values_db.copy()
    sigma = width_octaves * points_per_octave / 2.3548
    radius = min(int(np.ceil(3 * sigma)), (len(values_db) - 1) // 2)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    num = np.convolve(values_db, k, mode="same")
    den = np.convolve(np.ones_like(values_db), k, mode="same")
    return np.asarray(num / den, dtype=np.float64)


def power_db(power: F64, floor: float = 1e-20) -> F64:
    """10 log10 of a power spectrum with a floor."""
    return np.asarray(10.0 * np.log10(np.maximum(power, floor)), dtype=np.float64)
