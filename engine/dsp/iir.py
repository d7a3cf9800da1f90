"""Second-order-section IIR filtering through the public :func:`scipy.signal.sosfilt`.

``import scipy.signal`` pulls in ``scipy.stats`` and most of SciPy (about a second on a quiet
machine), so it happens on the first filter call, not when the CLI or the app imports the
engine. A numpy-only block formulation of the biquad cascade (block Toeplitz products plus a
state scan) was measured as the alternative: 10-30x slower than SciPy's compiled cascade
(blocks of 64-16 frames) and only 2e-11 to 4e-11 close to it on the K-weighting filter, so it
is not used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

# threads analysing side by side may reach the first filter at once: one of them imports
_IMPORT_LOCK = threading.Lock()
_kernel: Callable[..., Any] | None = None


def _sosfilt() -> Callable[..., Any]:
    """:func:`scipy.signal.sosfilt`, imported once on first use."""
    global _kernel
    if _kernel is None:
        with _IMPORT_LOCK:
            if _kernel is None:
                from scipy.signal import sosfilt as scipy_sosfilt

                _kernel = scipy_sosfilt
    return _kernel


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
    axis = axis % x.ndim
    zi_shape = list(x.shape)
    zi_shape[axis] = 2
    zi_full = (sos.shape[0], *zi_shape)
    state = np.zeros(zi_full) if zi is None else np.asarray(zi, dtype=np.float64)
    if state.shape != zi_full:
        raise ValueError(f"zi must have shape {zi_full}, got {state.shape}")
    y, zf = _sosfilt()(sos, x, axis=axis, zi=state)
    return np.asarray(y, dtype=np.float64), np.asarray(zf, dtype=np.float64)
