"""Compressed formats through FFmpeg's libraries (PyAV): probe, decode, and codec round trips.

:mod:`engine.io` hands every file that :func:`sniff` recognises (MP4/M4A with AAC or ALAC,
Ogg Opus, MP3, ADTS AAC, ASF/WMA) to this module instead of libsndfile. The same rules hold
as for WAV/FLAC: the container is checked for truncation *before* FFmpeg sees it (an MP4
box or an Ogg page that runs past the end of the file, an MP4 without its ``moov`` index, an
Ogg stream without its end-of-stream page), the declared length, channels and rate are
returned for :mod:`engine.io` to check against its caps, and decoding never produces more
than the declared length allows: a stream that decodes to more than that (a header that lies
about its length) is refused (``LENGTH_MISMATCH``), one that decodes to less is
``TRUNCATED``. Decoders add or drop a few frames of priming/padding, so a small tolerance
(:data:`LENGTH_TOLERANCE_S` plus :data:`LENGTH_TOLERANCE_FRACTION`) applies; the decoded
stream is padded or trimmed to exactly the declared length inside it.

:func:`round_trip` encodes audio with a delivery codec (AAC, Opus, Vorbis, MP3) in memory and
decodes it again, which is what a streaming service's listener hears (used for the codec
true peak of :mod:`engine.delivery` and the codec-safe ceiling).
"""

from __future__ import annotations

import io as _io
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np
import soxr
from numpy.typing import NDArray

from engine.schema.errors import AudioStyleError, ErrorCode

__all__ = [
    "CODECS",
    "FORMAT_NAMES",
    "LENGTH_TOLERANCE_FRACTION",
    "LENGTH_TOLERANCE_S",
    "CodecSpec",
    "Decoder",
    "Declared",
    "codec_spec",
    "probe",
    "round_trip",
    "round_trip_stream",
    "sniff",
]

F32 = NDArray[np.float32]

LENGTH_TOLERANCE_S: Final = 0.25
"""Absolute slack between declared and decoded length (encoder priming and padding)."""
LENGTH_TOLERANCE_FRACTION: Final = 0.01
"""Relative slack between declared and decoded length where the container counts samples
(MP4 sample tables, Ogg granule positions)."""
ESTIMATED_TOLERANCE_FRACTION: Final = 0.1
"""Relative slack for MP3/WMA, whose declared length may be an estimate (an MP3 without a
Xing/Info frame count: file size over the first frame's bit rate)."""
_ESTIMATED_FORMATS: Final = frozenset({"MP3", "WMA"})
_MAX_BOXES: Final = 4096
_MAX_MOOV_BYTES: Final = 64 << 20  # a 4 h AAC track's index is about 3 MB
_ASF_GUID: Final = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


@dataclass(frozen=True)
class Declared:
    """What a compressed file's headers declare (checked against the caps by engine.io)."""

    frames: int
    channels: int
    sample_rate: int
    format: str  # "M4A", "OPUS", "MP3", "AAC", "WMA"
    subtype: str  # the codec: "AAC", "ALAC", "OPUS", "MP3", "WMAV2", ...


# ----------------------------------------------------------------------------------------------
# sniffing and container checks (no FFmpeg involved)
# ----------------------------------------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The container of a file from its first 64 bytes, for the formats this module reads.

    Returns ``"mp4"``, ``"ogg-opus"``, ``"mp3"`` (ID3 tag or MPEG audio frame sync, which
    also covers ADTS AAC), ``"asf"`` or None (a format left to libsndfile).
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"OggS" and head[28:36] == b"OpusHead":
        return "ogg-opus"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:16] == _ASF_GUID:
        return "asf"
    return None


def _check_mp4(fh: BinaryIO, size: int, path: Path) -> float | None:
    """Every top-level box must end inside the file and the ``moov`` index must be there.

    Returns the longest duration the ``mvhd``/``mdhd`` headers declare, in seconds (FFmpeg
    goes by the sample tables; a header declaring far more is refused by the caller).
    """
    pos, moov = 0, None
    for _ in range(_MAX_BOXES):
        if pos >= size:
            break
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
        box_size, kind = struct.unpack(">I4s", head[:8])
        if box_size == 1:
            if len(head) < 16:
                raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
            (box_size,) = struct.unpack(">Q", head[8:16])
        elif box_size == 0:
            box_size = size - pos  # "to the end of the file"
        if box_size < 8:
            raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path))
        if pos + box_size > size:
            raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
        if kind == b"moov":
            moov = (pos, box_size)
        pos += box_size
    if moov is None:
        raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
    if moov[1] > _MAX_MOOV_BYTES:
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path))
    fh.seek(moov[0])
    return _mp4_header_seconds(fh.read(moov[1]))


def _mp4_header_seconds(moov: bytes) -> float | None:
    """Longest ``mvhd``/``mdhd`` duration in ``moov`` (ISO/IEC 14496-12 8.2.2, 8.4.2)."""
    longest: float | None = None
    for tag in (b"mvhd", b"mdhd"):
        i = moov.find(tag)
        while i >= 0 and i + 36 <= len(moov):
            if moov[i + 4] == 1:  # version 1: 64-bit times
                scale, duration = struct.unpack(">IQ", moov[i + 24 : i + 36])
            else:
                scale, duration = struct.unpack(">II", moov[i + 16 : i + 24])
            if scale > 0 and duration not in (0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF):
                longest = max(longest or 0.0, duration / scale)
            i = moov.find(tag, i + 4)
    return longest


def _check_ogg(fh: BinaryIO, size: int, path: Path) -> float | None:
    """Every Ogg page must end inside the file, and the last one must close the stream."""
    pos, flags = 0, 0
    while pos < size:
        fh.seek(pos)
        head = fh.read(27)
        if len(head) < 27 or head[:4] != b"OggS":
            raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
        flags, segments = head[5], head[26]
        table = fh.read(segments)
        if len(table) < segments:
            raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
        pos += 27 + segments + sum(table)
    if pos > size or not flags & 0x04:  # 0x04: end of stream
        raise AudioStyleError(ErrorCode.TRUNCATED, path=str(path))
    return None  # FFmpeg reads the final granule position itself


_CONTAINER_CHECKS = {"mp4": _check_mp4, "ogg-opus": _check_ogg}
FORMAT_NAMES: Final = {"mp4": "M4A", "ogg-opus": "OPUS", "mp3": "MP3", "asf": "WMA"}


# ----------------------------------------------------------------------------------------------
# probing and decoding
# ----------------------------------------------------------------------------------------------


def _ffmpeg_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.FFmpegError, ValueError, IndexError, OSError, EOFError)


def probe(path: Path, size: int, kind: str) -> Declared:
    """Check the container of ``path`` (``kind`` from :func:`sniff`) and read its header.

    Parameters
    ----------
    path : Path
        The file (a regular, non-empty file of ``size`` bytes).
    size : int
        Its size in bytes.
    kind : str
        What :func:`sniff` said.

    Returns
    -------
    Declared
        Declared frames (at the decoder's output rate), channels, rate, container and codec.

    Raises
    ------
    AudioStyleError
        ``TRUNCATED`` (a box/page past the end, no MP4 index, no Ogg end page),
        ``UNSUPPORTED_FORMAT`` (FFmpeg cannot open it, no audio stream, no declared length),
        ``NOT_READABLE``.
    """
    check = _CONTAINER_CHECKS.get(kind)
    header_s: float | None = None
    try:
        if check is not None:
            with path.open("rb") as fh:
                header_s = check(fh, size, path)
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path))
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            rate = int(ctx.sample_rate or 0)
            channels = int(ctx.layout.nb_channels) if ctx.layout else 0
            seconds = _declared_seconds(stream, container)
            codec = str(ctx.name).upper().removesuffix("FLOAT")
    except AudioStyleError:
        raise
    except _ffmpeg_errors():
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path)) from None
    if seconds is None or rate <= 0:
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path))
    if header_s is not None and header_s > seconds + LENGTH_TOLERANCE_S:
        seconds = header_s  # the header promises more: the caps (or TRUNCATED) decide
    frames = round(seconds * rate) if seconds < 1e12 else 2**62
    return Declared(frames, channels, rate, FORMAT_NAMES[kind], codec)


def _declared_seconds(stream: Any, container: Any) -> float | None:
    """The stream's declared duration (its own, else the container's) in seconds."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000.0  # AV_TIME_BASE
    return None


def tolerance_frames(frames: int, sample_rate: int, fmt: str = "M4A") -> int:
    """Frames by which a decoded length may differ from the declared one (``fmt``: the
    :class:`Declared` format)."""
    exact = fmt not in _ESTIMATED_FORMATS
    fraction = LENGTH_TOLERANCE_FRACTION if exact else ESTIMATED_TOLERANCE_FRACTION
    return int(LENGTH_TOLERANCE_S * sample_rate + fraction * frames)


def _packed(frame: Any, channels: int) -> F32:
    """An interleaved float32 PyAV frame as ``(n, channels)`` samples."""
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1, channels)


class Decoder:
    """Decode a probed compressed file into exactly its declared number of frames.

    Use as a context manager; :meth:`read_into` fills a ``(n, channels)`` float array and
    returns how many frames it wrote (fewer only at the end). Decoding stops as soon as the
    stream passes its declared length plus the tolerance (``LENGTH_MISMATCH``); a stream that
    ends more than the tolerance early is ``TRUNCATED``; FFmpeg errors mid-stream are
    ``UNSUPPORTED_FORMAT``.
    """

    def __init__(self, path: Path, frames: int, channels: int, sample_rate: int, fmt: str) -> None:
        self.path, self.frames, self.channels = path, frames, channels
        self.sample_rate = sample_rate
        self.slack = tolerance_frames(frames, sample_rate, fmt)
        self._container: Any = None
        self._chunks: Iterator[F32] = iter(())
        self._pending: F32 = np.zeros((0, channels), np.float32)
        self._decoded = 0  # frames taken from the decoder
        self._given = 0  # frames handed out
        self._ended = False

    def __enter__(self) -> Decoder:
        import av

        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
            stream = self._container.streams.audio[0]
            ctx = stream.codec_context
            if int(ctx.sample_rate) != self.sample_rate or ctx.layout.nb_channels != self.channels:
                raise AudioStyleError(
                    ErrorCode.INTERNAL, reason=f"{self.path} changed since it was probed"
                )
        except AudioStyleError:
            self.close()
            raise
        except _ffmpeg_errors():
            self.close()
            raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(self.path)) from None
        self._chunks = self._decode(stream)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release FFmpeg's demuxer and decoder."""
        if self._container is not None:
            self._container.close()
            self._container = None

    def _decode(self, stream: Any) -> Iterator[F32]:
        import av

        resampler = av.AudioResampler(format="flt", layout=stream.codec_context.layout)
        for frame in self._container.decode(stream):
            for out in resampler.resample(frame):
                yield _packed(out, self.channels)
        for out in resampler.resample(None):
            yield _packed(out, self.channels)

    def _next_chunk(self) -> F32 | None:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            return None
        except _ffmpeg_errors():
            raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(self.path)) from None
        self._decoded += len(chunk)
        if self._decoded > self.frames + self.slack:
            raise AudioStyleError(
                ErrorCode.LENGTH_MISMATCH,
                declared_s=round(self.frames / self.sample_rate, 1),
                path=str(self.path),
            )
        return chunk

    def read_into(self, out: NDArray[np.floating[Any]]) -> int:
        """Fill ``out`` with the next frames; the number written."""
        want = min(len(out), self.frames - self._given)
        filled = 0
        while filled < want:
            if not len(self._pending):
                chunk = None if self._ended else self._next_chunk()
                if chunk is None:
                    self._ended = True
                    if self._decoded < self.frames - self.slack:
                        raise AudioStyleError(ErrorCode.TRUNCATED, path=str(self.path))
                    out[filled:want] = 0.0  # the decoder's padding fell short of the header
                    filled = want
                    break
                self._pending = chunk
            take = min(want - filled, len(self._pending))
            out[filled : filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled += take
        self._given += filled
        if self._given == self.frames and not self._ended:
            self._drain()
        return filled

    def _drain(self) -> None:
        """Decode the rest (within the tolerance): a longer stream is a lying header."""
        while self._next_chunk() is not None:
            pass
        self._ended = True


# ----------------------------------------------------------------------------------------------
# encoding: codec round trips
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodecSpec:
    """A delivery codec: FFmpeg encoder, container, bitrate and the rates it accepts."""

    name: str  # "aac-256"
    encoder: str
    container: str
    bitrate: int
    rates: tuple[int, ...]  # accepted rates; the input is resampled to the nearest above


_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
CODECS: Final[dict[str, CodecSpec]] = {
    s.name: s
    for s in (
        CodecSpec("aac-128", "aac", "mp4", 128_000, _AAC_RATES),
        CodecSpec("aac-160", "aac", "mp4", 160_000, _AAC_RATES),
        CodecSpec("aac-256", "aac", "mp4", 256_000, _AAC_RATES),
        CodecSpec("aac-320", "aac", "mp4", 320_000, _AAC_RATES),
        CodecSpec("opus-128", "libopus", "ogg", 128_000, (48000,)),
        CodecSpec("opus-160", "libopus", "ogg", 160_000, (48000,)),
        CodecSpec("vorbis-320", "vorbis", "ogg", 320_000, (44100, 48000)),
        CodecSpec("mp3-128", "libmp3lame", "mp3", 128_000, (32000, 44100, 48000)),
        CodecSpec("mp3-320", "libmp3lame", "mp3", 320_000, (32000, 44100, 48000)),
    )
}
"""Delivery codecs by name (``--codec-safe`` choices and the services' codecs)."""


def codec_spec(name: str) -> CodecSpec:
    """The :data:`CODECS` entry ``name``; ``BAD_OPTION`` for an unknown one."""
    try:
        return CODECS[name]
    except KeyError:
        raise AudioStyleError(
            ErrorCode.BAD_OPTION, name="codec", reason=f"one of {', '.join(CODECS)}"
        ) from None


def _codec_rate(spec: CodecSpec, sample_rate: int) -> int:
    above = [r for r in spec.rates if r >= sample_rate]
    return min(above) if above else max(spec.rates)


def round_trip(x: NDArray[np.floating[Any]], sample_rate: int, codec: str) -> tuple[F32, int]:
    """Encode ``(frames, channels)`` audio with ``codec`` in memory and decode it again.

    The input is resampled (soxr) to a rate the codec takes when needed (Opus: 48 kHz);
    nothing is clipped before the encoder, so overs survive as the codec makes them.

    Parameters
    ----------
    x : ndarray, shape (frames, channels)
        float samples, full scale [-1, 1]; 1 or 2 channels.
    sample_rate : int
        Rate of ``x`` in Hz.
    codec : str
        A key of :data:`CODECS`.

    Returns
    -------
    audio : ndarray, shape (about frames, channels)
        What a listener's decoder outputs (float32).
    sample_rate : int
        Its rate in Hz.
    """
    channels = x.shape[1]
    decoded, rate = round_trip_stream([x], sample_rate, channels, codec)
    parts = list(decoded)
    out = np.concatenate(parts) if parts else np.zeros((0, channels), np.float32)
    return out.astype(np.float32, copy=False), rate


def round_trip_stream(
    blocks: Iterable[NDArray[np.floating[Any]]], sample_rate: int, channels: int, codec: str
) -> tuple[Iterator[F32], int]:
    """:func:`round_trip` of a signal given as consecutive ``(n, channels)`` blocks: memory
    holds the encoded stream (e.g. 115 MB per hour of AAC at 256 kb/s), not the audio.

    The blocks are encoded as they come (resampled by a soxr stream where the codec needs
    another rate, which for several blocks may differ from one block in the last bits);
    returns an iterator over the decoded ``(n, channels)`` float32 parts and their rate. At
    the input rate the decoded signal equals :func:`round_trip`'s of the joined blocks.
    """
    spec = codec_spec(codec)
    rate = _codec_rate(spec, sample_rate)
    if rate != sample_rate:
        blocks = _resampled(blocks, sample_rate, rate, channels)
    return _decode(_encode(blocks, rate, channels, spec), rate, channels), rate


_ENCODER_FRAME = 4096  # frames per AudioFrame handed to the encoder


def _resampled(
    blocks: Iterable[NDArray[np.floating[Any]]], sample_rate: int, rate: int, channels: int
) -> Iterator[F32]:
    stream = soxr.ResampleStream(sample_rate, rate, channels, dtype="float32", quality="HQ")
    for b in blocks:
        y = stream.resample_chunk(np.ascontiguousarray(b, dtype=np.float32))
        if len(y):
            yield y
    yield stream.resample_chunk(np.zeros((0, channels), np.float32), last=True)


def _encode(
    blocks: Iterable[NDArray[np.floating[Any]]], rate: int, channels: int, spec: CodecSpec
) -> _io.BytesIO:
    """The blocks (at ``rate``) encoded into an in-memory container, in encoder frames of
    :data:`_ENCODER_FRAME` whatever the blocks' lengths."""
    import av

    layout = "mono" if channels == 1 else "stereo"
    buf = _io.BytesIO()
    with av.open(buf, "w", format=spec.container) as out:
        stream: Any = out.add_stream(spec.encoder, rate=rate)
        stream.layout = layout
        stream.bit_rate = spec.bitrate
        if spec.encoder == "vorbis":
            stream.codec_context.options = {
                "strict": "-2"
            }  # FFmpeg's own encoder is "experimental"

        def encode(y: F32) -> None:
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(y.reshape(1, -1)), format="flt", layout=layout
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)

        carry = np.zeros((0, channels), np.float32)
        for b in blocks:
            y = np.concatenate((carry, np.asarray(b, dtype=np.float32)))
            whole = len(y) // _ENCODER_FRAME * _ENCODER_FRAME
            for i in range(0, whole, _ENCODER_FRAME):
                encode(y[i : i + _ENCODER_FRAME])
            carry = y[whole:]
        if len(carry):
            encode(carry)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    return buf


def _decode(buf: _io.BytesIO, rate: int, channels: int) -> Iterator[F32]:
    """The decoded ``(n, channels)`` float32 parts of an in-memory container."""
    import av

    layout = "mono" if channels == 1 else "stereo"
    with av.open(buf, "r") as src:
        s = src.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        for frame in src.decode(s):
            yield from (_packed(o, channels) for o in resampler.resample(frame))
        yield from (_packed(o, channels) for o in resampler.resample(None))
