"""The gain computers' building blocks against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from engine.dsp.dynamics import maximum_filter1d


def _by_definition(x: np.ndarray, size: int) -> np.ndarray:
    """``out[i] = max(x[i - size // 2 : i - size // 2 + size])``, ends held (scipy.ndimage's
    ``nearest``)."""
    left = size // 2
    idx = np.clip(np.arange(len(x))[:, None] - left + np.arange(size)[None, :], 0, len(x) - 1)
    return np.asarray(x[idx].max(axis=1))


@pytest.mark.parametrize("n", [1, 2, 5, 64, 1001])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 91, 2000])
def test_sliding_maximum_is_its_definition(n: int, size: int) -> None:
    x = np.random.default_rng(n * 1000 + size).standard_normal(n)
    out = maximum_filter1d(x, size)
    assert out.shape == x.shape
    assert np.array_equal(out, _by_definition(x, size))


def test_sliding_maximum_holds_a_peak_for_its_window() -> None:
    x = np.zeros(40)
    x[20] = 3.0
    out = maximum_filter1d(x, 7)
    assert np.flatnonzero(out == 3.0).tolist() == list(range(17, 24))
    assert maximum_filter1d(np.zeros(0), 5).shape == (0,)
