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
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final

import numpy as np
import soundfile as sf
import soxr
from numpy.typing import NDArray

from engine import atomic, codecs
from engine.schema.errors import AudioStyleError, ErrorCode

__all__ = [
    "MAX_CHANNELS",
    "MAX_LENGTH_S",
    "MAX_RATE",
    "MIN_LENGTH_S",
    "MIN_RATE",
    "OUTPUT_FORMATS",
    "SILENCE_PEAK_DBFS",
    "AudioInfo",
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

_DTYPES: Final[dict[str, type[np.floating[Any]]]] = {"float32": np.float32, "float64": np.float64}
_SF_COUNT_MAX: Final = 0x7FFF_FFFF_FFFF_FFFF  # libsndfile's "length unknown"
_MAX_CHUNKS: Final = 4096  # header chunks walked before giving up on a RIFF/AIFF file
_UNKNOWN_32: Final = 0xFFFF_FFFF  # 32-bit size used by streaming writers for "until EOF"
_INTEGER_SUBTYPES: Final = frozenset(
    {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW", "DPCM_8", "DPCM_16"}
    | {"ALAC_16", "ALAC_20", "ALAC_24", "ALAC_32", "DWVW_12", "DWVW_16", "DWVW_24", "DWVW_N"}
    | {"IMA_ADPCM", "MS_ADPCM", "VOX_ADPCM", "GSM610", "G721_32", "G723_24", "G723_40"}
)
"""Subtypes decoded from integers: their samples are finite by construction."""
_BITS: Final[dict[str, int]] = {"PCM_16": 16, "PCM_24": 24}
# WAVE format tags whose data size is a whole number of block_align-sized frames.
_FRAMED_WAVE_TAGS: Final = frozenset({0x0001, 0x0003, 0x0006, 0x0007})
_WAVE_EXTENSIBLE: Final = 0xFFFE
# AIFF-C compression types that store plain samples (so frames * frame size = data bytes).
_AIFC_PLAIN: Final[dict[bytes, int | None]] = {
    b"NONE": None,
    b"twos": None,
    b"sowt": None,
    b"raw ": None,
    b"in24": 3,
    b"42ni": 3,
    b"in32": 4,
    b"23ni": 4,
    b"fl32": 4,
    b"FL32": 4,
    b"fl64": 8,
    b"FL64": 8,
}


# ----------------------------------------------------------------------------------------------
# probing
# ----------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Header:
    """What a WAV/AIFF header declares, before libsndfile gets to adjust anything."""

    channels: int
    sample_rate: float
    frames: int | None  # declared frames; None when the data is compressed without a count
    needed_bytes: int  # data bytes the header promises
    available_bytes: int  # data bytes the file actually holds after the data offset


def probe(path: str | Path) -> AudioInfo:
    """Validate an audio file without decoding it.

    Parameters
    ----------
    path : str or Path
        The input file.

    Returns
    -------
    AudioInfo
        Frames, channels, rate and format, all inside the caps.

    Raises
    ------
    AudioStyleError
        ``FILE_NOT_FOUND``, ``NOT_READABLE`` (directory, special file, no permission),
        ``FILE_EMPTY``, ``UNSUPPORTED_FORMAT`` (libsndfile cannot open it, or its length is
        unknown), ``TOO_MANY_CHANNELS``, ``BAD_SAMPLE_RATE``, ``TOO_LONG`` (declared length over
        :data:`MAX_LENGTH_S`), ``TRUNCATED`` (the header declares more data than the file
        holds) or ``TOO_SHORT`` (under :data:`MIN_LENGTH_S`).
    """
    p = Path(path)
    size = _check_regular_file(p)
    kind = _sniff(p)
    if kind is not None:  # compressed formats through FFmpeg (engine.codecs)
        d = codecs.probe(p, size, kind)
        info = AudioInfo(p, d.frames, d.channels, d.sample_rate, d.format, d.subtype)
        _check_info(info)
        return info
    header = _read_header(p, size)
    if header is not None:
        _check_header(header, p)
    info = _libsndfile_info(p)
    _check_info(info)
    return info


def _sniff(path: Path) -> str | None:
    """The :func:`engine.codecs.sniff` verdict on the file's first bytes."""
    try:
        with path.open("rb") as fh:
            return codecs.sniff(fh.read(64))
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None


def _check_regular_file(path: Path) -> int:
    """Size in bytes of ``path`` if it is a non-empty regular file, else the matching error."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=str(path)) from None
    except (OSError, ValueError):
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path))
    if st.st_size == 0:
        raise AudioStyleError(ErrorCode.FILE_EMPTY, path=str(path))
    return st.st_size


def _read_header(path: Path, size: int) -> _Header | None:
    """Parse a RIFF/RF64 WAVE or AIFF/AIFF-C header; None for other (or unparseable) files."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(12)
            if len(magic) < 12:
                return None
            if magic[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and magic[8:12] == b"WAVE":
                return _parse_wave(fh, size, magic[:4])
            if magic[:4] == b"FORM" and magic[8:12] in (b"AIFF", b"AIFC"):
                return _parse_aiff(fh, size)
            return None
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None
    except struct.error:
        return None  # a chunk cut inside its own fields: leave the verdict to libsndfile


def _chunks(fh: BinaryIO, size: int, endian: str) -> Iterator[tuple[bytes, int, int]]:
    """Walk ``(chunk id, body offset, declared body size)`` from offset 12, never reading bodies.

    The caller may consume a body; the walk seeks to each header itself. It stops at the end of
    the file or after :data:`_MAX_CHUNKS` chunks.
    """
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > size:
            return
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            return
        (body_size,) = struct.unpack(endian + "I", head[4:])
        yield head[:4], pos + 8, body_size
        pos += 8 + body_size + (body_size & 1)


def _parse_wave(fh: BinaryIO, size: int, magic: bytes) -> _Header | None:
    """Declared layout of a RIFF/RIFX/RF64/BW64 WAVE file (``fh`` just past ``WAVE``)."""
    endian = ">" if magic == b"RIFX" else "<"
    is_64 = magic in (b"RF64", b"BW64")
    fmt: tuple[int, int, int, int] | None = None  # tag, channels, rate, block_align
    ds64_data: int | None = None
    ds64_frames: int | None = None
    fact_frames: int | None = None
    data: tuple[int, int | None] | None = None  # offset, declared bytes (None: until EOF)
    for cid, body, body_size in _chunks(fh, size, endian):
        if cid == b"ds64" and is_64:
            ds64_data, ds64_frames = struct.unpack("<8xQQ", fh.read(24))
        elif cid == b"fmt ":
            fmt = _parse_wave_fmt(fh.read(min(body_size, 40)), endian)
        elif cid == b"fact" and body_size >= 4:
            (fact_frames,) = struct.unpack(endian + "I", fh.read(4))
        elif cid == b"data":
            declared: int | None = body_size
            if body_size == _UNKNOWN_32:
                declared = ds64_data if is_64 else None
            data = (body, declared)
            if fmt is not None or declared is None:
                break
            if is_64 and declared != body_size:
                break  # a 64-bit data chunk is the last one worth walking past
    if fmt is None or data is None:
        return None
    tag, channels, rate, block_align = fmt
    offset, declared = data
    available = max(0, size - offset)
    needed = available if declared is None else declared
    frames: int | None
    if tag in _FRAMED_WAVE_TAGS and block_align > 0:
        frames = needed // block_align
    elif is_64 and ds64_frames:
        frames = ds64_frames
    else:
        frames = fact_frames
    return _Header(channels, float(rate), frames, needed, available)


def _parse_wave_fmt(body: bytes, endian: str) -> tuple[int, int, int, int]:
    """``(format tag, channels, rate, block_align)`` from a ``fmt `` chunk body."""
    tag, channels, rate, _byte_rate, block_align = struct.unpack(endian + "HHIIH", body[:14])
    if tag == _WAVE_EXTENSIBLE and len(body) >= 26:
        (tag,) = struct.unpack(endian + "H", body[24:26])  # first bytes of the SubFormat GUID
    return tag, channels, rate, block_align


def _parse_aiff(fh: BinaryIO, size: int) -> _Header | None:
    """Declared layout of an AIFF/AIFF-C file (``fh`` just past ``AIFF``/``AIFC``)."""
    comm: tuple[int, int, int, float, bytes] | None = None
    ssnd: tuple[int, int] | None = None  # data offset, declared data bytes
    for cid, body, body_size in _chunks(fh, size, ">"):
        if cid == b"COMM" and body_size >= 18:
            raw = fh.read(min(body_size, 22))
            channels, frames, bits = struct.unpack(">hIh", raw[:8])
            compression = raw[18:22] if len(raw) >= 22 else b"NONE"
            comm = (channels, frames, bits, _extended_to_float(raw[8:18]), compression)
        elif cid == b"SSND" and body_size >= 8:
            (offset,) = struct.unpack(">I", fh.read(4))
            ssnd = (body + 8 + offset, body_size - 8 - offset)
        if comm is not None and ssnd is not None:
            break
    if comm is None or ssnd is None:
        return None
    channels, frames, bits, rate, compression = comm
    data_offset, declared = ssnd
    available = max(0, size - data_offset)
    needed = max(0, declared)
    if compression in _AIFC_PLAIN and channels > 0 and bits > 0:
        sample_bytes = _AIFC_PLAIN[compression] or (bits + 7) // 8
        needed = max(needed, frames * channels * sample_bytes)
    return _Header(channels, rate, frames, needed, available)


def _extended_to_float(raw: bytes) -> float:
    """An IEEE 754 80-bit extended float (AIFF's sample rate) as a Python float."""
    sign_exp, mantissa = struct.unpack(">HQ", raw)
    exponent = sign_exp & 0x7FFF
    if exponent == 0x7FFF:
        return math.inf
    if mantissa == 0:
        return 0.0
    try:
        value = math.ldexp(mantissa, exponent - 16383 - 63)
    except OverflowError:
        return math.inf
    return -value if sign_exp & 0x8000 else value


def _check_header(header: _Header, path: Path) -> None:
    """Refuse a WAV/AIFF header whose layout is outside the caps or larger than the file."""
    _check_channels(header.channels, path)
    _check_rate(header.sample_rate, path)
    if header.frames is not None:
        _check_not_too_long(header.frames, header.sample_rate, path)
    if header.needed_bytes > header.available_bytes:
        raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))


def _libsndfile_info(path: Path) -> AudioInfo:
    """Open ``path`` with libsndfile (header only) and describe it; ``UNSUPPORTED_FORMAT``."""
    try:
        with sf.SoundFile(str(path)) as f:
            return AudioInfo(
                path=path,
                frames=int(f.frames),
                channels=int(f.channels),
                sample_rate=int(f.samplerate),
                format=str(f.format),
                subtype=str(f.subtype),
            )
    except (RuntimeError, TypeError, ValueError):
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path)) from None
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None


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


# ----------------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------------


def format_for(path: str | Path, fmt: str | None) -> str:
    """The output format option for ``path``: ``fmt`` if given, else from the extension.

    Parameters
    ----------
    path : str or Path
        The output file.
    fmt : str or None
        A key of :data:`OUTPUT_FORMATS`, or None for ``.flac`` -> ``"flac"``, anything else
        -> ``"wav24"``.

    Returns
    -------
    str
        A key of :data:`OUTPUT_FORMATS`.

    Raises
    ------
    AudioStyleError
        ``BAD_FORMAT_OPTION`` for an unknown ``fmt``.
    """
    if fmt is None:
        return "flac" if Path(path).suffix.lower() == ".flac" else "wav24"
    if fmt not in OUTPUT_FORMATS:
        raise AudioStyleError(
            ErrorCode.BAD_FORMAT_OPTION, value=fmt, choices=", ".join(OUTPUT_FORMATS)
        )
    return fmt


def check_output_path(path: str | Path, force: bool) -> None:
    """Check that ``path`` may be written: ``OUTPUT_EXISTS`` / ``OUTPUT_NOT_WRITABLE``.

    Parameters
    ----------
    path : str or Path
        The output file.
    force : bool
        Whether an existing file may be replaced.

    Raises
    ------
    AudioStyleError
        ``OUTPUT_EXISTS`` when ``path`` exists and not ``force``; ``OUTPUT_NOT_WRITABLE`` when
        it is a directory or its parent directory is missing or not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p))
    if not force and os.path.lexists(p):
        raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(p))
    parent = p.absolute().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p))


def tpdf_dither(x: AudioArray, bits: int, rng: np.random.Generator) -> AudioArray:
    """Add triangular-PDF dither of +-1 LSB and clip to the ``bits``-bit range.

    The dither is the difference of two uniform variables, so the total error after rounding
    to the ``bits``-bit grid has mean 0 and variance LSB^2 / 4 whatever the signal (no noise
    modulation, no distortion of low-level signals).

    Parameters
    ----------
    x : ndarray
        float samples in [-1, 1] full scale.
    bits : int
        Target word length (16 or 24); 1 LSB = 2 ** (1 - bits).
    rng : numpy.random.Generator
        Source of the dither; the same seed gives the same result.

    Returns
    -------
    ndarray
        ``x`` plus dither, clipped to [-1, 1 - 1 LSB], same dtype and shape as ``x``; still
        to be rounded to the grid.
    """
    return _dithered(x, bits, rng).astype(x.dtype, copy=False)


def _tpdf_lsb(shape: tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float32]:
    """Two uniforms per sample, ``(*shape, 2)``, both from one draw so the stream does not
    depend on how the signal is blocked. Single precision: the dither's resolution (2**-24
    LSB) does not matter, and the draw is about twice as fast."""
    return rng.random((*shape, 2), dtype=np.float32)


def _dithered(x: AudioArray, bits: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """:func:`tpdf_dither` in float64 (float32 cannot hold a 24-bit LSB near full scale)."""
    if not 2 <= bits <= 32:
        raise ValueError(f"bits must be in 2..32, got {bits}")
    lsb = 2.0 ** (1 - bits)
    u = _tpdf_lsb(x.shape, rng)
    dither = (u[..., 0] - u[..., 1]).astype(np.float64) * lsb
    return np.clip(x.astype(np.float64) + dither, -1.0, 1.0 - lsb)


def _quantise(x: AudioArray, bits: int, rng: np.random.Generator) -> NDArray[np.integer[Any]]:
    """Dithered integer samples for libsndfile: int16 for 16 bits, left-justified int32 else.

    Quantising here (instead of handing floats to libsndfile, which scales by 2**15 - 1) keeps
    the grid exactly 2 ** (1 - bits), so a file reads back as the dithered signal. The same
    values as rounding :func:`tpdf_dither`'s output to the grid, computed in LSB units in
    place (clipping to the integer range after rounding equals clipping before it).
    """
    if not 2 <= bits <= 32:
        raise ValueError(f"bits must be in 2..32, got {bits}")
    scale = 2.0 ** (bits - 1)
    u = _tpdf_lsb(x.shape, rng)
    s = np.multiply(x, scale, dtype=np.float64)
    s += u[..., 0]
    s -= u[..., 1]
    np.rint(s, out=s)
    np.clip(s, -scale, scale - 1.0, out=s)
    if bits <= 16:
        return s.astype(np.int16) << (16 - bits)
    return s.astype(np.int32) << (32 - bits)


class AudioWriter:
    """Write audio block by block to a temporary file, renamed onto ``path`` on success.

    Use as a context manager. The data goes to ``.<name>.<random>.part`` in the target's
    directory; leaving the ``with`` block normally flushes, fsyncs and renames it onto
    ``path`` (atomic on one file system); leaving it by any exception, including
    ``KeyboardInterrupt`` and ``GeneratorExit``, deletes it and leaves a pre-existing ``path``
    untouched. 16- and 24-bit outputs get TPDF dither from a generator seeded with ``seed``,
    so the same input always gives the same bytes (whatever the block sizes).

    Parameters
    ----------
    path : str or Path
        The output file.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of channels of every block.
    fmt : str or None
        A key of :data:`OUTPUT_FORMATS`; None picks one from the extension (:func:`format_for`).
    force : bool
        Whether an existing ``path`` may be replaced.
    seed : int
        Dither seed.

    Raises
    ------
    AudioStyleError
        ``BAD_FORMAT_OPTION``, ``OUTPUT_EXISTS``, ``OUTPUT_NOT_WRITABLE``; ``NON_FINITE`` from
        :meth:`write`.
    """

    def __init__(
        self,
        path: str | Path,
        sample_rate: int,
        channels: int,
        fmt: str | None,
        *,
        force: bool = False,
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        self.fmt = format_for(self.path, fmt)
        if not MIN_RATE <= sample_rate <= MAX_RATE:
            raise ValueError(f"sample_rate must be in {MIN_RATE}..{MAX_RATE}, not {sample_rate}")
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be in 1..{MAX_CHANNELS}, not {channels}")
        check_output_path(self.path, force)
        self.sample_rate = sample_rate
        self.channels = channels
        self.force = force
        self.frames_written = 0
        self._container, self._subtype = OUTPUT_FORMATS[self.fmt]
        self._bits = _BITS.get(self._subtype)
        self._rng = np.random.default_rng(seed)
        self._tmp: Path | None = None
        self._fd: int | None = None
        self._file: sf.SoundFile | None = None

    def __enter__(self) -> AudioWriter:
        if self._tmp is not None:
            raise RuntimeError("AudioWriter is not reentrant")
        self._tmp, self._fd = _create_temp(self.path)
        try:
            self._file = sf.SoundFile(
                self._fd,
                "w",
                samplerate=self.sample_rate,
                channels=self.channels,
                format=self._container,
                subtype=self._subtype,
                closefd=False,
            )
        except BaseException as exc:
            self._abort()
            if isinstance(exc, RuntimeError | OSError | TypeError | ValueError):
                raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(self.path)) from None
            raise
        return self

    def write(self, block: AudioArray) -> None:
        """Append ``(n, channels)`` float samples (full scale [-1, 1]).

        Parameters
        ----------
        block : ndarray, shape (n, channels)
            Samples; clipped to [-1, 1 - 1 LSB] for integer formats, written as float32
            otherwise.

        Raises
        ------
        AudioStyleError
            ``NON_FINITE`` on NaN/Inf samples, ``OUTPUT_NOT_WRITABLE`` when the write fails.
        """
        if self._file is None:
            raise RuntimeError("AudioWriter.write outside its with block")
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) samples, got shape {block.shape}")
        if not np.isfinite(block).all():
            raise AudioStyleError(ErrorCode.NON_FINITE, path=str(self.path))
        data: NDArray[Any]
        if self._bits is None:
            data = np.ascontiguousarray(block, dtype=np.float32)
        else:
            data = _quantise(block, self._bits, self._rng)
        try:
            self._file.write(data)
        except (RuntimeError, OSError):
            raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(self.path)) from None
        self.frames_written += len(block)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._commit()
        except BaseException as error:
            self._abort()
            if isinstance(error, AudioStyleError):
                raise
            if isinstance(error, RuntimeError | OSError):
                raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(self.path)) from None
            raise

    def _commit(self) -> None:
        assert self._file is not None and self._fd is not None and self._tmp is not None
        self._file.close()  # libsndfile writes the final header sizes here
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        _publish(self._tmp, self.path, self.force)
        self._tmp = None

    def _abort(self) -> None:
        """Drop the temporary file; never raises (it runs while another error propagates)."""
        if self._file is not None:
            with contextlib.suppress(Exception):  # the original error matters, not this one
                self._file.close()
            self._file = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            atomic.discard(self._tmp)
            self._tmp = None


def write_audio(
    path: str | Path,
    x: AudioArray,
    sample_rate: int,
    fmt: str | None,
    *,
    force: bool = False,
    seed: int = 0,
) -> None:
    """Write a whole ``(frames, channels)`` array atomically (see :class:`AudioWriter`).

    Parameters
    ----------
    path : str or Path
        The output file.
    x : ndarray, shape (frames, channels)
        float samples, full scale [-1, 1].
    sample_rate : int
        Sample rate in Hz.
    fmt : str or None
        A key of :data:`OUTPUT_FORMATS`; None picks one from the extension.
    force : bool
        Whether an existing ``path`` may be replaced.
    seed : int
        Dither seed.

    Raises
    ------
    AudioStyleError
        As :class:`AudioWriter`.
    """
    if x.ndim != 2:
        raise ValueError(f"expected (frames, channels), got shape {x.shape}")
    with AudioWriter(path, sample_rate, x.shape[1], fmt, force=force, seed=seed) as writer:
        for start in range(0, len(x), DEFAULT_BLOCK_FRAMES):
            writer.write(x[start : start + DEFAULT_BLOCK_FRAMES])


def atomic_write_bytes(path: str | Path, data: bytes, *, force: bool = True) -> None:
    """Write ``data`` to a temporary file next to ``path``, fsync it, then rename it onto ``path``.

    Parameters
    ----------
    path : str or Path
        The output file (a preset, a report, ...).
    data : bytes
        The whole content.
    force : bool
        Whether an existing ``path`` may be replaced.

    Raises
    ------
    AudioStyleError
        ``OUTPUT_EXISTS`` or ``OUTPUT_NOT_WRITABLE``; nothing is left behind on failure.
    """
    p = Path(path)
    check_output_path(p, force)
    try:
        f = atomic.AtomicFile(p)
    except OSError:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p)) from None
    try:
        f.file.write(data)
        if not force and os.path.lexists(p):  # appeared while we were writing
            raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(p))
        f.commit()
    except OSError:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p)) from None
    finally:
        f.discard()  # a no-op after the commit


def atomic_write_text(path: str | Path, text: str, *, force: bool = True) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8 (newlines written as given).

    Parameters
    ----------
    path : str or Path
        The output file.
    text : str
        The whole content.
    force : bool
        Whether an existing ``path`` may be replaced.
    """
    atomic_write_bytes(path, text.encode("utf-8"), force=force)


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create ``.<name>.<random>.part`` next to ``path``; its path and an open descriptor."""
    try:
        return atomic.create_temp(path)
    except OSError:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(path)) from None


def _publish(tmp: Path, path: Path, force: bool) -> None:
    """Rename the complete ``tmp`` onto ``path`` and make the rename durable."""
    if not force and os.path.lexists(path):  # appeared while we were writing
        raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(path))
    atomic.replace_durably(tmp, path)
