"""The EQ's streaming FIR convolution against a direct convolution in double precision."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from engine.dsp.fir import (
    MIN_SUB_BLOCK_FRAMES,
    BlockConvolver,
    convolve_aligned,
    design_fir,
    sub_block_frames,
)
from tests.engine.conftest import SR


def _rel_db(err: np.ndarray, ref: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(err**2) / np.mean(ref**2)))


@pytest.mark.parametrize("taps", [4097, 65, 1])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_blocks_of_any_length_equal_one_convolution(taps: int, channels: int) -> None:
    rng = np.random.default_rng(taps + channels)
    freqs = np.geomspace(20.0, 20000.0, 30)
    filters = [
        design_fir(freqs, rng.uniform(-9, 9, 30), SR, taps) if taps > 1 else rng.normal(size=1)
        for _ in range(channels)
    ]
    block = 1 << 16
    x = rng.normal(size=(3 * block + 12345, channels))
    conv = BlockConvolver(filters, block)
    cuts = [0, block, block + 1, block + 1, block + 7000, 2 * block + 7000, 3 * block, len(x)]
    parts = [conv.process(x[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    parts.append(conv.flush())
    y = np.concatenate(parts)
    direct = np.stack([fftconvolve(x[:, c], filters[c]) for c in range(channels)], axis=1)
    d = conv.delay
    assert y.shape == (len(x) + d, channels)
    # single-precision FFTs: ~-130 dB below the signal
    assert _rel_db(y - direct[: len(y)], direct[: len(y)]) < -110.0
    aligned = convolve_aligned(x, filters)
    assert aligned.shape == x.shape
    assert _rel_db(aligned - direct[d : d + len(x)], direct[d : d + len(x)]) < -110.0


def test_sub_blocks_keep_four_transforms_of_room() -> None:
    assert sub_block_frames(1 << 16, 4097) == 16384  # 44.1/48 kHz: four per channel
    assert sub_block_frames(1 << 16, 8193) == 32768  # 88.2/96 kHz
    assert sub_block_frames(1 << 16, 16385) == 1 << 16  # 176.4/192 kHz: the block itself
    assert sub_block_frames(1 << 16, 1) == MIN_SUB_BLOCK_FRAMES  # a gain: eight a channel
    for taps in (1, 65, 4097, 8193, 16385, 40000):
        sub = sub_block_frames(1 << 16, taps)
        assert (1 << 16) % sub == 0
        assert sub == 1 << 16 or sub >= max(4 * (taps - 1), MIN_SUB_BLOCK_FRAMES)
