"""Real FFTs of the engine: SciPy's pocketfft, loaded on first use without ``scipy.fft``.

The engine needs real forward/inverse transforms that keep single precision (float32 in,
complex64 out) and run batched rows fast: SciPy's pocketfft does both. :mod:`numpy.fft` was
measured as the alternative (numpy 2.4): it computes float32 input in double precision, a
batched float32 ``rfft`` took about 4x as long and a 180 s match about 30 % longer, so it is
not used here.

``import scipy.fft`` costs about 0.14 s (it pulls in ``scipy.special`` and the array-API
layer), 5 % of a 180 s match on the command line, and the engine needs none of it: the
transforms here call SciPy's compiled pocketfft module (``scipy.fft._pocketfft.pypocketfft``,
the extension ``scipy.fft.rfft`` ends in), loaded from its file in well under a millisecond
and registered under its own name, so a later ``import scipy.fft`` uses the same module.
Where that module is missing or differs (another SciPy build), :mod:`scipy.fft` is used.
Either way the results are ``scipy.fft``'s bit for bit (``tests/engine/test_pipeline.py``).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

_EXTENSION = "scipy.fft._pocketfft.pypocketfft"
# threads analysing side by side may reach the first transform at once: one of them loads
_IMPORT_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Transforms:
    """The three operations, as ``scipy.fft``'s ``rfft``, ``irfft`` and ``next_fast_len``."""

    rfft: Callable[[NDArray[Any], int | None, int, int | None], NDArray[Any]]
    irfft: Callable[[NDArray[Any], int, int, int | None], NDArray[Any]]
    next_fast_len: Callable[[int], int]


_transforms: _Transforms | None = None


def _load_pocketfft() -> ModuleType | None:
    """SciPy's pocketfft extension, loaded from its file (``None`` where it is not there;
    whether it works as used here is :func:`_answers`' question)."""
    loaded = sys.modules.get(_EXTENSION)
    if loaded is None:
        import scipy  # the package alone: a few milliseconds

        folder = Path(scipy.__file__).parent / "fft" / "_pocketfft"
        paths = [folder / f"pypocketfft{s}" for s in importlib.machinery.EXTENSION_SUFFIXES]
        path = next((p for p in paths if p.is_file()), None)
        spec = None if path is None else importlib.util.spec_from_file_location(_EXTENSION, path)
        if spec is None or spec.loader is None:
            return None
        try:
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
        except ImportError:
            return None
        sys.modules[_EXTENSION] = loaded
    return loaded


def _threads(workers: int | None) -> int:
    """``scipy.fft``'s ``workers``: ``None`` one thread, ``-1`` every CPU, ``-k`` all but k-1."""
    if workers is None:
        return 1
    if workers == 0:
        raise ValueError("workers must not be zero")
    return workers if workers > 0 else max(1, (os.cpu_count() or 1) + 1 + workers)


def _fit(a: NDArray[Any], n: int, axis: int) -> NDArray[Any]:
    """``a`` cut or zero-padded to ``n`` along ``axis`` (``scipy.fft``'s ``n``)."""
    have = a.shape[axis]
    if have == n:
        return a
    head = (slice(None),) * (axis % a.ndim)
    if have > n:
        return a[head + (slice(0, n),)]
    shape = list(a.shape)
    shape[axis] = n
    out = np.zeros(shape, dtype=a.dtype)
    out[head + (slice(0, have),)] = a
    return out


def _of_extension(m: Any) -> _Transforms:
    """The transforms straight from the extension, with ``scipy.fft``'s conventions (forward
    unnormalised, inverse ``1/n``)."""

    def fwd(a: NDArray[Any], n: int | None, axis: int, workers: int | None) -> NDArray[Any]:
        a = a if n is None else _fit(a, n, axis)
        return np.asarray(m.r2c(a, (axis,), True, 0, None, _threads(workers)))

    def inv(a: NDArray[Any], n: int, axis: int, workers: int | None) -> NDArray[Any]:
        a = _fit(a, n // 2 + 1, axis)
        return np.asarray(m.c2r(a, (axis,), n, False, 2, None, _threads(workers)))

    return _Transforms(fwd, inv, lambda n: int(m.good_size(n, True)))


def _of_scipy_fft() -> _Transforms:
    """The transforms through :mod:`scipy.fft` (where the extension cannot be loaded)."""
    import scipy.fft

    return _Transforms(
        lambda a, n, axis, workers: np.asarray(scipy.fft.rfft(a, n, axis=axis, workers=workers)),
        lambda a, n, axis, workers: np.asarray(scipy.fft.irfft(a, n, axis=axis, workers=workers)),
        lambda n: int(scipy.fft.next_fast_len(n, real=True)),
    )


def _get() -> _Transforms:
    """The transforms, loaded once on first use."""
    global _transforms
    if _transforms is None:
        with _IMPORT_LOCK:
            if _transforms is None:
                m = _load_pocketfft()
                ext = None if m is None else _of_extension(m)
                _transforms = ext if ext is not None and _answers(ext) else _of_scipy_fft()
    return _transforms


def _answers(t: _Transforms) -> bool:
    """Whether ``t`` gives the known transform of a short impulse and its inverse (an
    extension that lacks a function or whose call convention changed in another SciPy fails
    here, not in a render)."""
    x = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    try:
        spec = t.rfft(x, None, -1, None)
        back = t.irfft(spec, 4, -1, None)
        size = t.next_fast_len(7)
    except (AttributeError, TypeError, ValueError, RuntimeError):
        return False
    return (
        spec.dtype == np.complex64
        and bool(np.allclose(spec, 1.0))
        and bool(np.allclose(back, x))
        and size >= 7
    )


def rfft(
    x: NDArray[Any], n: int | None = None, axis: int = -1, workers: int | None = None
) -> NDArray[np.complexfloating]:
    """:func:`scipy.fft.rfft` (float32 in, complex64 out; float64 in, complex128 out)."""
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return _get().rfft(a, n, axis, workers)


def irfft(
    spec: NDArray[Any], n: int, axis: int = -1, workers: int | None = None
) -> NDArray[np.floating]:
    """:func:`scipy.fft.irfft` with the output length ``n`` given (``1/n`` normalisation)."""
    a = np.asarray(spec)
    if a.dtype not in (np.complex64, np.complex128):
        a = a.astype(np.complex128)
    return _get().irfft(a, n, axis, workers)


def next_fast_len(n: int) -> int:
    """The smallest fast real-FFT size ``>= n`` (:func:`scipy.fft.next_fast_len`)."""
    return _get().next_fast_len(n)
