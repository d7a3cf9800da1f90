"""Real FFTs of the engine through the public :mod:`scipy.fft`, imported on first use.

The engine needs real forward/inverse transforms that keep single precision (float32 in,
complex64 out) and run batched rows fast: SciPy's pocketfft does both. :mod:`numpy.fft` was
measured as the alternative (numpy 2.4): it computes float32 input in double precision, a
batched float32 ``rfft`` took about 4x as long and a 180 s match about 30 % longer, so it is
not used here. ``import scipy.fft`` costs a few tenths of a second (it pulls in
``scipy.special``), so it happens on the first transform, not when the CLI or the app imports
the engine.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

# threads analysing side by side may reach the first transform at once: one of them imports
_IMPORT_LOCK = threading.Lock()
_module: ModuleType | None = None


def _scipy_fft() -> ModuleType:
    """:mod:`scipy.fft`, imported once on first use."""
    global _module
    if _module is None:
        with _IMPORT_LOCK:
            if _module is None:
                import scipy.fft

                _module = scipy.fft
    return _module


def rfft(
    x: NDArray[Any], n: int | None = None, axis: int = -1, workers: int | None = None
) -> NDArray[np.complexfloating]:
    """:func:`scipy.fft.rfft` (float32 in, complex64 out; float64 in, complex128 out)."""
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return np.asarray(_scipy_fft().rfft(a, n, axis=axis, workers=workers))


def irfft(
    spec: NDArray[Any], n: int, axis: int = -1, workers: int | None = None
) -> NDArray[np.floating]:
    """:func:`scipy.fft.irfft` with the output length ``n`` given (``1/n`` normalisation)."""
    a = np.asarray(spec)
    if a.dtype not in (np.complex64, np.complex128):
        a = a.astype(np.complex128)
    return np.asarray(_scipy_fft().irfft(a, n, axis=axis, workers=workers))


def next_fast_len(n: int) -> int:
    """The smallest fast real-FFT size ``>= n`` (:func:`scipy.fft.next_fast_len`)."""
    return int(_scipy_fft().next_fast_len(n, real=True))
