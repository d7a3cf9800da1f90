"""The engine's input caps, the output formats and :class:`AudioInfo`, with the checks that
apply the caps (shared by the WAV/AIFF header parser and the probe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from engine.schema.errors import AudioStyleError, ErrorCode

AudioArray = NDArray[np.floating[Any]]


MAX_LENGTH_S: Final = 4 * 3600
"""Longest accepted input, in seconds (declared length)."""


MAX_CHANNELS: Final = 8
"""Most channels accepted (7.1)."""


MIN_RATE: Final = 8000
"""Lowest accepted sample rate in Hz."""


MAX_RATE: Final = 192000
"""Highest accepted sample rate in Hz."""


MIN_LENGTH_S: Final = 0.5
"""Shortest accepted input, in seconds.

ITU-R BS.1770 loudness is measured on 400 ms gating blocks (75 % overlap, so one every
100 ms); anything shorter than one block has no loudness at all. 0.5 s guarantees at least two
complete blocks, the least that the loudness and dynamics statistics can work with.
"""


SILENCE_PEAK_DBFS: Final = -120.0
"""Peak level below which :func:`is_silent` calls a signal silent."""


OUTPUT_FORMATS: Final[dict[str, tuple[str, str]]] = {
    "wav16": ("WAV", "PCM_16"),
    "wav24": ("WAV", "PCM_24"),
    "wav32f": ("WAV", "FLOAT"),
    "flac": ("FLAC", "PCM_24"),
}
"""Output format option -> (libsndfile container, subtype)."""


DEFAULT_BLOCK_FRAMES: Final = 1 << 18


_SF_COUNT_MAX: Final = 0x7FFF_FFFF_FFFF_FFFF  # libsndfile's "length unknown"


@dataclass(frozen=True)
class AudioInfo:
    """What an input file holds, validated against the engine's caps.

    Attributes
    ----------
    path : Path
        The file.
    frames : int
        Number of sample frames (per channel).
    channels : int
        Number of channels.
    sample_rate : int
        Sample rate in Hz.
    format : str
        libsndfile container name (``"WAV"``, ``"FLAC"``, ``"OGG"``, ...).
    subtype : str
        libsndfile subtype name (``"PCM_16"``, ``"FLOAT"``, ``"VORBIS"``, ...).
    """

    path: Path
    frames: int
    channels: int
    sample_rate: int
    format: str
    subtype: str

    @property
    def length_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate


def _check_info(info: AudioInfo) -> None:
    """Apply every cap to a libsndfile description (also guards a caller-supplied info)."""
    path = info.path
    _check_channels(info.channels, path)
    _check_rate(info.sample_rate, path)
    if info.frames >= _SF_COUNT_MAX or info.frames < 0:
        # Length unknown (e.g. a FLAC stream without a sample count): nothing to size a buffer by.
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path))
    _check_not_too_long(info.frames, info.sample_rate, path)
    if info.frames == 0 and info.format == "OGG":
        # libsndfile finds no final granule position in a cut Ogg stream and reports 0 frames.
        raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
    if info.frames < math.ceil(MIN_LENGTH_S * info.sample_rate):
        raise AudioStyleError(
            ErrorCode.TOO_SHORT,
            length_s=round(info.length_s, 3),
            limit_s=MIN_LENGTH_S,
            path=str(path),
        )


def _check_channels(channels: int, path: Path) -> None:
    if channels > MAX_CHANNELS:
        raise AudioStyleError(
            ErrorCode.TOO_MANY_CHANNELS, channels=channels, limit=MAX_CHANNELS, path=str(path)
        )
    if channels < 1:
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path))


def _check_rate(sample_rate: float, path: Path) -> None:
    if not MIN_RATE <= sample_rate <= MAX_RATE:  # also refuses NaN
        shown = int(sample_rate) if math.isfinite(sample_rate) else sample_rate
        raise AudioStyleError(ErrorCode.BAD_SAMPLE_RATE, sample_rate=shown, path=str(path))


def _check_not_too_long(frames: int, sample_rate: float, path: Path) -> None:
    if frames > MAX_LENGTH_S * sample_rate:
        raise AudioStyleError(
            ErrorCode.TOO_LONG,
            length_s=round(frames / sample_rate, 1),
            limit_s=MAX_LENGTH_S,
            path=str(path),
        )
