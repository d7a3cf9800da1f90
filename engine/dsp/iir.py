"""Second-order-section IIR filtering without importing :mod:`scipy.signal`.

``scipy.signal`` pulls in ``scipy.stats`` and most of SciPy at import (about 1.5 s of a CLI
run on a quiet machine), while the engine only needs its compiled biquad cascade. This loads
that one extension module (``scipy/signal/_sosfilt``) by file and mirrors
:func:`scipy.signal.sosfilt`'s wrapper for float64 data; if the extension cannot be loaded
(another SciPy layout), it falls back to :func:`scipy.signal.sosfilt`.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


# threads analysing side by side must not load the extension twice (a second load raises
# "Re-initialisation is not supported")
_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load_kernel() -> Callable[..., Any] | None:
    try:
        import scipy

        folder = os.path.join(os.path.dirname(scipy.__file__), "signal")
        names = [f for f in os.listdir(folder) if f.startswith("_sosfilt.")]
        if not names:
            return None
        path = os.path.join(folder, names[0])
        loader = importlib.machinery.ExtensionFileLoader("scipy.signal._sosfilt", path)
        spec = importlib.util.spec_from_file_location("scipy.signal._sosfilt", path, loader=loader)
        if spec is None:
            return None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        fn: Callable[..., Any] = module._sosfilt
        return fn
    except (ImportError, OSError, AttributeError):
        return None


def _kernel() -> Callable[..., Any] | None:
    with _LOAD_LOCK:
        return _load_kernel()


def sosfilt(sos: F64, x: F64, axis: int = -1, zi: F64 | None = None) -> tuple[F64, F64]:
    """Filter ``x`` along ``axis`` with the cascade ``sos`` (``[b0, b1, b2, 1, a1, a2]`` rows)
    from state ``zi`` (``scipy.signal.sosfilt`` layout; zeros when ``None``).

    Returns
    -------
    (y, zf) : tuple of ndarray
        The filtered signal and the final state (same layout as ``zi``).
    """
    sos = np.asarray(sos, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n_sections = sos.shape[0]
    axis = axis % x.ndim
    zi_shape = list(x.shape)
    zi_shape[axis] = 2
    zi_full = (n_sections, *zi_shape)
    state = np.zeros(zi_full) if zi is None else np.asarray(zi, dtype=np.float64)
    kernel = _kernel()
    if kernel is None:  # pragma: no cover - depends on the SciPy build
        from scipy.signal import sosfilt as scipy_sosfilt

        y, zf = scipy_sosfilt(sos, x, axis=axis, zi=state)
        return np.asarray(y, dtype=np.float64), np.asarray(zf, dtype=np.float64)
    if state.shape != zi_full:
        raise ValueError(f"zi must have shape {zi_full}, got {state.shape}")
    xm = np.moveaxis(x, axis, -1)
    zm = np.moveaxis(state, (0, axis + 1), (-2, -1))
    x_shape, z_shape = xm.shape, zm.shape
    work = np.array(np.reshape(xm, (-1, xm.shape[-1])), dtype=np.float64, order="C")
    zwork = np.array(np.reshape(zm, (-1, n_sections, 2)), dtype=np.float64, order="C")
    kernel(np.ascontiguousarray(sos), work, zwork)
    y = np.moveaxis(work.reshape(x_shape), -1, axis)
    zf = np.moveaxis(zwork.reshape(z_shape), (-2, -1), (0, axis + 1))
    return np.asarray(y), np.asarray(zf)
