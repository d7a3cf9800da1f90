"""Helpers of the engine.io tests (test_io, test_io_write): test signals, hand-built WAV/RF64
headers, the error and directory-listing checks.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from numpy.typing import NDArray

from engine.schema.errors import AudioStyleError, ErrorCode

SR = 48000


def sine(
    freq_hz: float = 1000.0,
    length_s: float = 1.0,
    sample_rate: int = SR,
    channels: int = 2,
    amplitude: float = 0.5,
) -> NDArray[np.float64]:
    """A (frames, channels) sine, each channel slightly phase-shifted."""
    t = np.arange(round(length_s * sample_rate)) / sample_rate
    cols = [amplitude * np.sin(2 * np.pi * freq_hz * t + 0.3 * c) for c in range(channels)]
    return np.stack(cols, axis=1)


def chord(length_s: float = 2.0) -> NDArray[np.float64]:
    """A stereo three-tone chord (codes well with lossy codecs, unlike noise)."""
    return (
        sine(440, length_s, amplitude=0.3)
        + sine(1234, length_s, amplitude=0.2)
        + sine(5000, length_s, amplitude=0.1)
    )


def noise(length_s: float = 1.0, channels: int = 2, seed: int = 1) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    return np.clip(0.25 * rng.standard_normal((round(length_s * SR), channels)), -0.99, 0.99)


def riff_wav(
    payload: bytes,
    *,
    channels: int = 2,
    sample_rate: int = SR,
    bits: int = 16,
    data_size: int | None = None,
) -> bytes:
    """Plain RIFF/WAVE PCM bytes with a chosen data chunk size (default: the payload's)."""
    block_align = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", 1, channels, sample_rate, sample_rate * block_align, block_align, bits
    )
    size = len(payload) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", (4 + len(body) + len(payload)) & 0xFFFFFFFF) + body + payload


def rf64_wav(payload: bytes, *, data_size: int, channels: int = 2, bits: int = 16) -> bytes:
    """RF64 PCM bytes whose ds64 chunk declares ``data_size`` bytes of data."""
    block_align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, SR, SR * block_align, block_align, bits)
    ds64 = struct.pack("<QQQI", 4 + 36 + 24 + 8 + data_size, data_size, data_size // block_align, 0)
    return (
        b"RF64"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVE"
        + b"ds64"
        + struct.pack("<I", len(ds64))
        + ds64
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
        + payload
    )


def pcm16(x: NDArray[np.float64]) -> bytes:
    return (np.round(x * 32767).astype("<i2")).tobytes()


def write_sf(path: Path, x: NDArray[np.float64], sample_rate: int = SR, **kw: Any) -> Path:
    sf.write(str(path), x, sample_rate, **kw)
    return path


def flac_with_total_samples(tmp_path: Path, total: int) -> Path:
    """A real FLAC whose STREAMINFO sample count is patched to ``total``."""
    data = bytearray(write_sf(tmp_path / "src.flac", sine(), subtype="PCM_16").read_bytes())
    (tmp_path / "src.flac").unlink()
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first
    word = int.from_bytes(data[18:26], "big")
    word = (word & ~((1 << 36) - 1)) | total
    data[18:26] = word.to_bytes(8, "big")
    path = tmp_path / "patched.flac"
    path.write_bytes(bytes(data))
    return path


def expect_error(code: ErrorCode, fn: Callable[[], object]) -> AudioStyleError:
    with pytest.raises(AudioStyleError) as info:
        fn()
    err = info.value
    assert err.code is code, err.one_line("en")
    line = err.one_line("en")
    assert "\n" not in line and "?" not in err.message("en"), line  # every param filled
    return err


def listing(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def _fit_sine(y: NDArray[Any], freq_hz: float, sample_rate: int) -> float:
    """Amplitude of the ``freq_hz`` component of ``y`` by least squares."""
    t = np.arange(len(y)) / sample_rate
    basis = np.stack([np.sin(2 * np.pi * freq_hz * t), np.cos(2 * np.pi * freq_hz * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    return float(np.hypot(*coef))
