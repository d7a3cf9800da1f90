"""The default backend: numpy/scipy on the CPU (the engine's reference numbers)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.dsp import fft as sfft
from engine.dsp.fir import BlockConvolver, convolve_aligned

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]


def hann(n_fft: int) -> F64:
    """Periodic Hann window of the spectrum analysis."""
    return np.asarray(np.hanning(n_fft + 1)[:-1], dtype=np.float64)


def _sum_power(spec: NDArray[np.complexfloating]) -> F64:
    return np.asarray(
        np.einsum("ij,ij->j", spec.real, spec.real, dtype=np.float64)
        + np.einsum("ij,ij->j", spec.imag, spec.imag, dtype=np.float64),
        dtype=np.float64,
    )


class NumpyBackend:
    """scipy FFTs: STFT power sums and overlap-add FIR convolution."""

    name = "numpy"
    device = "cpu"

    def __init__(self) -> None:
        self._windows: dict[int, NDArray[np.float32]] = {}

    def _window(self, n_fft: int) -> NDArray[np.float32]:
        w = self._windows.get(n_fft)
        if w is None:
            w = self._windows[n_fft] = hann(n_fft).astype(np.float32)
        return w

    def spectrum_sums(self, x: F32, n_fft: int) -> tuple[F64, ...]:
        """See :meth:`engine.backends.Backend.spectrum_sums`."""
        w = self._window(n_fft)
        n = len(x) // n_fft
        if x.shape[1] == 2:
            spec_l = sfft.rfft(x[:, 0].reshape(n, n_fft) * w, axis=1, workers=-1)
            spec_r = sfft.rfft(x[:, 1].reshape(n, n_fft) * w, axis=1, workers=-1)
            ll = _sum_power(spec_l)
            rr = _sum_power(spec_r)
            lr = np.einsum("ij,ij->j", spec_l.real, spec_r.real) + np.einsum(
                "ij,ij->j", spec_l.imag, spec_r.imag
            )
            return ll, rr, np.asarray(lr, dtype=np.float64)
        mono = x.mean(axis=1).reshape(n, n_fft)
        return (_sum_power(sfft.rfft(mono * w, axis=1, workers=-1)),)

    def convolver(self, filters: list[F64], block_frames: int) -> BlockConvolver:
        """See :meth:`engine.backends.Backend.convolver`."""
        return BlockConvolver(filters, block_frames)

    def fir_batch(self, x: F32, filters: F64) -> F32:
        """See :meth:`engine.backends.Backend.fir_batch`."""
        out = np.empty(x.shape, dtype=np.float32)
        for i in range(len(x)):
            y = convolve_aligned(np.asarray(x[i], dtype=np.float64)[:, None], [filters[i]])
            out[i] = y[:, 0]
        return out
