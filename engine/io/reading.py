"""Decoding probed files (whole or in blocks), the silence test and soxr resampling."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import soundfile as sf
import soxr

from engine import codecs
from engine.io.caps import (
    DEFAULT_BLOCK_FRAMES,
    SILENCE_PEAK_DBFS,
    AudioArray,
    AudioInfo,
    _check_info,
)
from engine.io.probing import probe
from engine.schema.errors import AudioStyleError, ErrorCode

_DTYPES: Final[dict[str, type[np.floating[Any]]]] = {"float32": np.float32, "float64": np.float64}


_INTEGER_SUBTYPES: Final = frozenset(
    {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW", "DPCM_8", "DPCM_16"}
    | {"ALAC_16", "ALAC_20", "ALAC_24", "ALAC_32", "DWVW_12", "DWVW_16", "DWVW_24", "DWVW_N"}
    | {"IMA_ADPCM", "MS_ADPCM", "VOX_ADPCM", "GSM610", "G721_32", "G723_24", "G723_40"}
)
"""Subtypes decoded from integers: their samples are finite by construction."""


def read_audio(
    path: str | Path,
    *,
    dtype: str = "float32",
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    info: AudioInfo | None = None,
) -> tuple[AudioArray, int]:
    """Decode a whole file into a ``(frames, channels)`` float array.

    The file is probed first (unless ``info`` is given; it is re-checked against the caps
    anyway), then decoded block by block straight into one preallocated array.

    Parameters
    ----------
    path : str or Path
        The input file.
    dtype : {"float32", "float64"}
        Sample type of the result; samples are in [-1, 1) for integer formats.
    block_frames : int
        Frames decoded per libsndfile call.
    info : AudioInfo, optional
        The result of an earlier :func:`probe` of the same file.

    Returns
    -------
    audio : ndarray, shape (frames, channels)
        The samples.
    sample_rate : int
        Sample rate in Hz.

    Raises
    ------
    AudioStyleError
        Any error of :func:`probe`; ``TRUNCATED`` when fewer frames decode than declared,
        ``UNSUPPORTED_FORMAT`` when the codec fails mid-stream (damaged or cut data),
        ``NON_FINITE`` on NaN or infinite samples. Silence is not an error here: see
        :func:`is_silent`.
    """
    np_dtype = _np_dtype(dtype)
    _check_block_frames(block_frames)
    info = _validated(path, info)
    out = np.empty((info.frames, info.channels), dtype=np_dtype)
    check_finite = info.subtype not in _INTEGER_SUBTYPES
    with _open_for_decoding(info) as f:
        pos = 0
        while pos < info.frames:
            view = out[pos : pos + min(block_frames, info.frames - pos)]
            got = _decode_into(f, view, info.path)
            if check_finite:
                _check_finite(view[:got], info.path)
            if got < len(view):
                raise AudioStyleError(ErrorCode.TRUNCATED, path=str(info.path))
            pos += got
    return out, info.sample_rate


def iter_blocks(
    path: str | Path,
    block_frames: int,
    *,
    dtype: str = "float32",
    info: AudioInfo | None = None,
) -> Iterator[AudioArray]:
    """Stream a file as ``(n, channels)`` blocks of at most ``block_frames`` frames.

    Memory stays bounded by one block whatever the file's length. Every block is a new array
    the caller may keep. Validation happens before the first block; decoding errors surface
    during iteration, after the blocks that decoded fine.

    Parameters
    ----------
    path : str or Path
        The input file.
    block_frames : int
        Most frames per block (the last block may be shorter).
    dtype : {"float32", "float64"}
        Sample type of the blocks.
    info : AudioInfo, optional
        The result of an earlier :func:`probe` of the same file.

    Yields
    ------
    ndarray, shape (n, channels)
        Consecutive blocks of samples.

    Raises
    ------
    AudioStyleError
        As :func:`read_audio`; ``NON_FINITE`` is checked block by block.
    """
    np_dtype = _np_dtype(dtype)
    _check_block_frames(block_frames)
    info = _validated(path, info)
    return _blocks(info, block_frames, np_dtype)


def _blocks(
    info: AudioInfo, block_frames: int, np_dtype: type[np.floating[Any]]
) -> Iterator[AudioArray]:
    check_finite = info.subtype not in _INTEGER_SUBTYPES
    with _open_for_decoding(info) as f:
        remaining = info.frames
        while remaining > 0:
            block = np.empty((min(block_frames, remaining), info.channels), dtype=np_dtype)
            got = _decode_into(f, block, info.path)
            if check_finite:
                _check_finite(block[:got], info.path)
            if got < len(block):
                raise AudioStyleError(ErrorCode.TRUNCATED, path=str(info.path))
            remaining -= got
            yield block


def _validated(path: str | Path, info: AudioInfo | None) -> AudioInfo:
    """Probe ``path``, or re-check a caller's ``info`` before anything is sized from it."""
    if info is None:
        return probe(path)
    _check_info(info)
    return info


def _np_dtype(dtype: str) -> type[np.floating[Any]]:
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, not {dtype!r}") from None


def _check_block_frames(block_frames: int) -> None:
    if block_frames < 1:
        raise ValueError(f"block_frames must be positive, not {block_frames}")


def _open_for_decoding(info: AudioInfo) -> sf.SoundFile | codecs.Decoder:
    """Open the probed file and make sure it is still the file that was probed."""
    if info.format in codecs.FORMAT_NAMES.values():
        return codecs.Decoder(info.path, info.frames, info.channels, info.sample_rate, info.format)
    try:
        f = sf.SoundFile(str(info.path))
    except (RuntimeError, TypeError, ValueError):
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(info.path)) from None
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(info.path)) from None
    if f.channels != info.channels or f.samplerate != info.sample_rate or f.frames < 0:
        f.close()
        raise AudioStyleError(ErrorCode.INTERNAL, reason=f"{info.path} changed since it was probed")
    return f


def _decode_into(f: sf.SoundFile | codecs.Decoder, out: AudioArray, path: Path) -> int:
    """Decode ``len(out)`` frames into ``out``; the number actually decoded."""
    if isinstance(f, codecs.Decoder):
        return f.read_into(out)
    try:
        got = f.read(frames=len(out), dtype=out.dtype.name, always_2d=True, out=out)
    except (RuntimeError, ValueError):
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path)) from None
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None
    return len(got)


def _check_finite(x: AudioArray, path: Path) -> None:
    if not np.isfinite(x).all():
        raise AudioStyleError(ErrorCode.NON_FINITE, path=str(path))


def is_silent(x: AudioArray) -> bool:
    """Whether a signal's peak is below :data:`SILENCE_PEAK_DBFS` (all-zero, or empty).

    Parameters
    ----------
    x : ndarray
        Samples, any shape.

    Returns
    -------
    bool
        True when nothing in ``x`` reaches -120 dBFS. NaN samples make it False.
    """
    if x.size == 0:
        return True
    high, low = float(np.max(x)), float(np.min(x))  # two passes, no temporary array
    if math.isnan(high) or math.isnan(low):
        return False
    return max(abs(high), abs(low)) < math.pow(10.0, SILENCE_PEAK_DBFS / 20.0)


def resample(x: AudioArray, from_rate: int, to_rate: int) -> AudioArray:
    """Resample ``(frames, channels)`` audio with soxr (very high quality, linear phase).

    Parameters
    ----------
    x : ndarray, shape (frames, channels)
        float32 or float64 samples.
    from_rate : int
        Rate of ``x`` in Hz.
    to_rate : int
        Wanted rate in Hz.

    Returns
    -------
    ndarray, shape (about frames * to_rate / from_rate, channels)
        Same dtype as ``x``; ``x`` itself (not a copy) when the rates are equal.
    """
    if x.ndim != 2:
        raise ValueError(f"expected (frames, channels), got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"expected float32 or float64 samples, got {x.dtype}")
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    if from_rate == to_rate:
        return x
    y: AudioArray = soxr.resample(np.ascontiguousarray(x), from_rate, to_rate, quality="VHQ")
    return y
