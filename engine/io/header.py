"""WAV/RF64 and AIFF/AIFF-C header parsing: what a header declares, checked against the caps
and the file's size before libsndfile (which silently clamps an oversized data chunk) opens it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from engine.io.caps import _check_channels, _check_not_too_long, _check_rate
from engine.schema.errors import AudioStyleError, ErrorCode

_MAX_CHUNKS: Final = 4096  # header chunks walked before giving up on a RIFF/AIFF file


_UNKNOWN_32: Final = 0xFFFF_FFFF  # 32-bit size used by streaming writers for "until EOF"


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


@dataclass(frozen=True)
class _Header:
    """What a WAV/AIFF header declares, before libsndfile gets to adjust anything."""

    channels: int
    sample_rate: float
    frames: int | None  # declared frames; None when the data is compressed without a count
    needed_bytes: int  # data bytes the header promises
    available_bytes: int  # data bytes the file actually holds after the data offset


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
