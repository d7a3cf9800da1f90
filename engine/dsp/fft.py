"""Real FFTs through SciPy's compiled pocketfft without importing :mod:`scipy.fft`.

``import scipy.fft`` costs about a quarter of a second of every CLI run (it pulls in
``scipy.special`` and SciPy's array-API layer, which imports ``numpy.f2py``), while the engine
only needs real forward/inverse transforms. As :mod:`engine.dsp.iir` does for the biquad
kernel, this loads the one extension module (``scipy/fft/_pocketfft/pypocketfft``) by file; the
transforms are the same code :func:`scipy.fft.rfft` / :func:`scipy.fft.irfft` run, so results
are bit-identical. If the extension cannot be loaded (another SciPy layout) it falls back to
:mod:`scipy.fft`.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import threading
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

_NAME = "scipy.fft._pocketfft.pypocketfft"


# threads analysing side by side must not load the extension twice (a second load raises
# "Re-initialisation is not supported")
_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load_pocketfft() -> ModuleType | None:
    try:
        import scipy

        folder = os.path.join(os.path.dirname(scipy.__file__), "fft", "_pocketfft")
        names = [f for f in os.listdir(folder) if f.startswith("pypocketfft.")]
        if not names:
            return None
        path = os.path.join(folder, names[0])
        loader = importlib.machinery.ExtensionFileLoader(_NAME, path)
        spec = importlib.util.spec_from_file_location(_NAME, path, loader=loader)
        if spec is None:
            return None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        for name in ("r2c", "c2r", "good_size"):
            getattr(module, name)
        return module
    except (ImportError, OSError, AttributeError):
        return None


def _pocketfft() -> ModuleType | None:
    with _LOAD_LOCK:
        return _load_pocketfft()


def _threads(workers: int | None) -> int:
    if workers is None:
        return 1
    if workers < 0:  # scipy's convention: -1 is all CPUs
        return max(1, (os.cpu_count() or 1) + 1 + workers)
    return max(1, workers)


def _fit(a: NDArray[Any], n: int, axis: int) -> NDArray[Any]:
    """``a`` cut or zero-padded to ``n`` along ``axis``."""
    m = a.shape[axis]
    if m == n:
        return a
    if m > n:
        return np.take(a, np.arange(n), axis=axis)
    shape = list(a.shape)
    shape[axis] = n
    out = np.zeros(shape, dtype=a.dtype)
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(0, m)
    out[tuple(idx)] = a
    return out


def rfft(
    x: NDArray[Any], n: int | None = None, axis: int = -1, workers: int | None = None
) -> NDArray[np.complexfloating]:
    """:func:`scipy.fft.rfft` (float32 in, complex64 out; float64 in, complex128 out)."""
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    mod = _pocketfft()
    if mod is None:  # pragma: no cover - depends on the SciPy build
        import scipy.fft as sfft

        return np.asarray(sfft.rfft(a, n, axis=axis, workers=workers))
    axis = axis % a.ndim
    if n is not None:
        a = _fit(a, n, axis)
    return np.asarray(mod.r2c(a, (axis,), True, 0, None, _threads(workers)))


def irfft(
    spec: NDArray[Any], n: int, axis: int = -1, workers: int | None = None
) -> NDArray[np.floating]:
    """:func:`scipy.fft.irfft` with the output length ``n`` given (``1/n`` normalisation)."""
    a = np.asarray(spec)
    if a.dtype not in (np.complex64, np.complex128):
        a = a.astype(np.complex128)
    mod = _pocketfft()
    if mod is None:  # pragma: no cover - depends on the SciPy build
        import scipy.fft as sfft

        return np.asarray(sfft.irfft(a, n, axis=axis, workers=workers))
    axis = axis % a.ndim
    a = _fit(a, n // 2 + 1, axis)
    return np.asarray(mod.c2r(a, (axis,), n, False, 2, None, _threads(workers)))


def next_fast_len(n: int) -> int:
    """The smallest fast real-FFT size ``>= n`` (:func:`scipy.fft.next_fast_len`)."""
    mod = _pocketfft()
    if mod is None:  # pragma: no cover - depends on the SciPy build
        import scipy.fft as sfft

        return int(sfft.next_fast_len(n, real=True))
    return int(mod.good_size(n, True))
