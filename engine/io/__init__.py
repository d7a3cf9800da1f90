"""Audio file I/O: validation before decoding, block decoding, resampling and atomic writes.

Every input is probed before a single sample is decoded: the file must exist, be a readable
regular file, open with libsndfile and declare a channel count, sample rate and length inside
the engine's caps (compressed formats — M4A, Opus, MP3, WMA — go through
:mod:`engine.codecs` instead, under the same caps). For WAV/RF64 and AIFF the header is also parsed here, because libsndfile
silently clamps a data chunk that declares more bytes than the file holds: this module refuses
such files (``TRUNCATED``, or ``TOO_LONG`` when the declared length is past the cap) instead of
trusting either number. Nothing is allocated from a declared length before it is validated.

Arrays are ``(frames, channels)`` floats: mono stays ``(n, 1)``, stereo ``(n, 2)``. Outputs
are written to a hidden ``.part`` file next to the target and renamed onto it only when
complete, so a failed or interrupted write never leaves a partial file behind.

The package's modules: :mod:`engine.io.caps` (caps, :class:`AudioInfo`), :mod:`engine.io.header`
(WAV/AIFF header parsing), :mod:`engine.io.probing` (:func:`probe`), :mod:`engine.io.reading`
(decoding, silence, resampling) and :mod:`engine.io.writing` (dither, :class:`AudioWriter`,
atomic writers). Import from ``engine.io``: the names below are its public interface.
"""

from __future__ import annotations

from engine.io.caps import (
    DEFAULT_BLOCK_FRAMES,
    MAX_CHANNELS,
    MAX_LENGTH_S,
    MAX_RATE,
    MIN_LENGTH_S,
    MIN_RATE,
    OUTPUT_FORMATS,
    SILENCE_PEAK_DBFS,
    AudioArray,
    AudioInfo,
)
from engine.io.probing import probe
from engine.io.reading import is_silent, iter_blocks, read_audio, resample
from engine.io.writing import (
    AudioWriter,
    atomic_write_bytes,
    atomic_write_text,
    check_output_path,
    format_for,
    tpdf_dither,
    write_audio,
)
from engine.schema.errors import AudioStyleError

__all__ = [
    "DEFAULT_BLOCK_FRAMES",
    "MAX_CHANNELS",
    "MAX_LENGTH_S",
    "MAX_RATE",
    "MIN_LENGTH_S",
    "MIN_RATE",
    "OUTPUT_FORMATS",
    "SILENCE_PEAK_DBFS",
    "AudioArray",
    "AudioInfo",
    "AudioStyleError",
    "AudioWriter",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_path",
    "format_for",
    "is_silent",
    "iter_blocks",
    "probe",
    "read_audio",
    "resample",
    "tpdf_dither",
    "write_audio",
]
