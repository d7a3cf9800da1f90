"""Plain data shared by controllers and views (no Qt widgets, no engine calls)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


def fmt_number(v: float, decimals: int = 1, sign: bool = False) -> str:
    """``v`` in the user's locale with ``decimals`` places; ``sign``: "+" before positives."""
    from PySide6.QtCore import QLocale  # here: the session state imports this module without Qt

    text = QLocale().toString(float(v), "f", decimals)
    return ("+" + text) if sign and v > 0 else text


ROLES = ("target", "result", "reference")
AUDIO_FORMATS = ("wav16", "wav24", "wav32f", "flac")
PRESET_FORMATS = ("json", "eqapo", "graphiceq", "csv", "ir", "ffmpeg")
EXTENSIONS = {"wav16": ".wav", "wav24": ".wav", "wav32f": ".wav", "flac": ".flac"}
PRESET_EXTENSIONS = {
    "json": ".preset.json",
    "eqapo": ".eqapo.txt",
    "graphiceq": ".graphiceq.txt",
    "csv": ".csv",
    "ir": ".ir.wav",  # plus .ir.true-stereo.wav (engine.exports.ir)
    "ffmpeg": ".ffmpeg.txt",
}
IR_TRUE_STEREO_EXTENSION = ".ir.true-stereo.wav"


@dataclass
class Overview:
    """A min/max envelope of a signal for the waveform overview (``cols`` points)."""

    times_s: NDArray[np.float64]
    low: NDArray[np.float32]
    high: NDArray[np.float32]


ALBUM_REPORT = "album.report.json"  # the album table of an album-mode batch


@dataclass
class ExportRequest:
    """What the export dialog asks for."""

    folder: str
    audio: bool = True
    audio_format: str = "wav24"
    preset_formats: list[str] = field(default_factory=lambda: ["json"])
    report: bool = True
    batch: bool = False
    album: bool = False  # batch in album mode (engine.album): one album report


def overview_of(x: NDArray[np.floating], sample_rate: int, cols: int = 2000) -> Overview:
    """Min/max envelope of a ``(frames, channels)`` array over ``cols`` columns."""
    n = len(x)
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Overview(np.zeros(0), empty, empty)
    cols = max(1, min(cols, n))
    step = n // cols
    body = x[: cols * step].reshape(cols, step * x.shape[1])
    low = body.min(axis=1).astype(np.float32)
    high = body.max(axis=1).astype(np.float32)
    times = ((np.arange(cols) + 0.5) * step / float(sample_rate)).astype(np.float64)
    return Overview(times, low, high)


@dataclass
class CloudJobRow:
    """One line of the jobs panel (the cloud controller fills it; views only show it).

    ``state``: uploading | queued | running | canceling | succeeded | failed | canceled."""

    key: str
    name: str
    state: str
    progress: float  # 0..1
    detail: str = ""  # the server's stage, an error, where the result went
    can_cancel: bool = False
    can_download: bool = False
    can_open: bool = False
