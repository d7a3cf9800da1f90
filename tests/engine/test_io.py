"""Tests of engine.io: validation before decoding, block decoding, resampling, atomic writes."""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from numpy.typing import NDArray

from engine import io
from engine.schema.errors import AudioStyleError, ErrorCode

SR = 48000


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# bad inputs: the right code, one line, nothing left behind
# ----------------------------------------------------------------------------------------------


def _missing(tmp: Path) -> Path:
    return tmp / "missing.wav"


def _directory(tmp: Path) -> Path:
    (tmp / "folder.wav").mkdir()
    return tmp / "folder.wav"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.wav").write_bytes(b"")
    return tmp / "empty.wav"


def _random_bytes(tmp: Path) -> Path:
    (tmp / "random.wav").write_bytes(np.random.default_rng(3).bytes(50_000))
    return tmp / "random.wav"


def _header_too_big(tmp: Path) -> Path:
    payload = pcm16(sine())
    (tmp / "big.wav").write_bytes(riff_wav(payload, data_size=3 * len(payload)))
    return tmp / "big.wav"


def _cut_mid_stream(tmp: Path) -> Path:
    data = write_sf(tmp / "full.wav", sine(), subtype="PCM_24").read_bytes()
    (tmp / "full.wav").unlink()
    (tmp / "cut.wav").write_bytes(data[: len(data) // 2 + 1])  # also cuts a frame in two
    return tmp / "cut.wav"


def _riff_declares_days(tmp: Path) -> Path:
    # 8-bit mono 8 kHz with the largest data size a 32-bit field holds (short of the
    # 0xFFFFFFFF "until end of file" marker): about 149 h declared, 1 s present.
    payload = bytes(8000)
    data = riff_wav(payload, channels=1, sample_rate=8000, bits=8, data_size=0xFFFFFFF0)
    (tmp / "days.wav").write_bytes(data)
    return tmp / "days.wav"


def _rf64_declares_1e12_frames(tmp: Path) -> Path:
    payload = pcm16(sine())
    (tmp / "bomb.wav").write_bytes(rf64_wav(payload, data_size=10**12 * 4))
    return tmp / "bomb.wav"


def _aiff_declares_too_many_frames(tmp: Path) -> Path:
    data = bytearray(write_sf(tmp / "src.aiff", sine(), subtype="PCM_16").read_bytes())
    (tmp / "src.aiff").unlink()
    assert data[12:16] == b"COMM"
    struct.pack_into(">I", data, 22, 0xFFFFFFF0)  # numSampleFrames: ~24.8 h at 48 kHz
    (tmp / "long.aiff").write_bytes(bytes(data))
    return tmp / "long.aiff"


def _aiff_cut(tmp: Path) -> Path:
    data = write_sf(tmp / "src.aiff", sine(), subtype="PCM_16").read_bytes()
    (tmp / "src.aiff").unlink()
    (tmp / "cut.aiff").write_bytes(data[: len(data) // 2])
    return tmp / "cut.aiff"


def _flac_declares_too_many(tmp: Path) -> Path:
    return flac_with_total_samples(tmp, (1 << 36) - 1)  # ~16 days at 48 kHz


def _flac_unknown_length(tmp: Path) -> Path:
    return flac_with_total_samples(tmp, 0)  # libsndfile then reports SF_COUNT_MAX frames


def _too_short(tmp: Path) -> Path:
    return write_sf(tmp / "short.wav", sine(length_s=0.05), subtype="PCM_16")


def _nine_channels(tmp: Path) -> Path:
    return write_sf(tmp / "nine.wav", sine(channels=9), subtype="PCM_16")


def _four_khz(tmp: Path) -> Path:
    return write_sf(tmp / "4k.wav", sine(100, sample_rate=4000), 4000, subtype="PCM_16")


def _crafted_nine_channels_huge(tmp: Path) -> Path:
    # Channel count is checked from the header before any length arithmetic.
    data = riff_wav(bytes(18 * 100), channels=9, data_size=0xFFFFFF00)
    (tmp / "nine_huge.wav").write_bytes(data)
    return tmp / "nine_huge.wav"


PROBE_ERRORS: list[tuple[Callable[[Path], Path], ErrorCode]] = [
    (_missing, ErrorCode.FILE_NOT_FOUND),
    (_directory, ErrorCode.NOT_READABLE),
    (_empty, ErrorCode.FILE_EMPTY),
    (_random_bytes, ErrorCode.UNSUPPORTED_FORMAT),
    (_header_too_big, ErrorCode.TRUNCATED),
    (_cut_mid_stream, ErrorCode.TRUNCATED),
    (_riff_declares_days, ErrorCode.TOO_LONG),
    (_rf64_declares_1e12_frames, ErrorCode.TOO_LONG),
    (_aiff_declares_too_many_frames, ErrorCode.TOO_LONG),
    (_aiff_cut, ErrorCode.TRUNCATED),
    (_flac_declares_too_many, ErrorCode.TOO_LONG),
    (_flac_unknown_length, ErrorCode.UNSUPPORTED_FORMAT),
    (_too_short, ErrorCode.TOO_SHORT),
    (_nine_channels, ErrorCode.TOO_MANY_CHANNELS),
    (_four_khz, ErrorCode.BAD_SAMPLE_RATE),
    (_crafted_nine_channels_huge, ErrorCode.TOO_MANY_CHANNELS),
]


@pytest.mark.parametrize(
    ("make", "code"), PROBE_ERRORS, ids=[m.__name__.strip("_") for m, _ in PROBE_ERRORS]
)
def test_bad_input_is_refused_by_probe_and_read(
    tmp_path: Path, make: Callable[[Path], Path], code: ErrorCode
) -> None:
    path = make(tmp_path)
    before = listing(tmp_path)
    expect_error(code, lambda: io.probe(path))
    expect_error(code, lambda: io.read_audio(path))
    expect_error(code, lambda: io.iter_blocks(path, 1024))  # refused before the first block
    assert listing(tmp_path) == before


def test_too_long_and_too_short_messages_carry_the_numbers(tmp_path: Path) -> None:
    err = expect_error(ErrorCode.TOO_LONG, lambda: io.probe(_rf64_declares_1e12_frames(tmp_path)))
    assert err.params["limit_s"] == io.MAX_LENGTH_S
    assert err.params["length_s"] == pytest.approx(10**12 / SR, rel=1e-6)
    err = expect_error(ErrorCode.TOO_SHORT, lambda: io.probe(_too_short(tmp_path)))
    assert err.params == {"length_s": 0.05, "limit_s": io.MIN_LENGTH_S, "path": err.params["path"]}
    assert "0.05 s" in err.message("en")


def test_min_length_boundary(tmp_path: Path) -> None:
    ok = write_sf(tmp_path / "ok.wav", sine(length_s=io.MIN_LENGTH_S), subtype="PCM_16")
    assert io.probe(ok).frames == SR // 2
    short = write_sf(tmp_path / "short.wav", sine(length_s=io.MIN_LENGTH_S)[:-1], subtype="PCM_16")
    expect_error(ErrorCode.TOO_SHORT, lambda: io.probe(short))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    expect_error(ErrorCode.NOT_READABLE, lambda: io.probe(fifo))  # would block if opened


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root"
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_sf(tmp_path / "locked.wav", sine(), subtype="PCM_16")
    path.chmod(0)
    try:
        expect_error(ErrorCode.NOT_READABLE, lambda: io.probe(path))
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path: Path, bad: float) -> None:
    x = sine()
    x[SR // 2 + 7, 1] = bad
    path = write_sf(tmp_path / "bad.wav", x, subtype="FLOAT")
    info = io.probe(path)  # the header is fine; the samples are not
    assert info.frames == SR
    expect_error(ErrorCode.NON_FINITE, lambda: io.read_audio(path))
    expect_error(ErrorCode.NON_FINITE, lambda: io.read_audio(path, block_frames=1000))
    blocks = io.iter_blocks(path, SR // 4)
    assert next(blocks).shape == (SR // 4, 2)  # the first blocks are fine
    expect_error(ErrorCode.NON_FINITE, lambda: list(blocks))


def test_flac_cut_mid_stream_fails_in_decoding(tmp_path: Path) -> None:
    data = write_sf(tmp_path / "full.flac", noise(length_s=3.0), subtype="PCM_16").read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) // 2])
    assert io.probe(path).frames == 3 * SR  # STREAMINFO still promises everything
    # libsndfile's FLAC decoder loses sync at the cut: a damaged file, one line, no traceback.
    expect_error(ErrorCode.UNSUPPORTED_FORMAT, lambda: io.read_audio(path))
    expect_error(ErrorCode.UNSUPPORTED_FORMAT, lambda: list(io.iter_blocks(path, 4096)))


@pytest.mark.parametrize("kept", [0.3, 0.7])
def test_cut_ogg_is_refused_or_reads_what_is_there(tmp_path: Path, kept: float) -> None:
    # Ogg has no total length in its header: libsndfile reports the frames up to the last
    # complete page (0 when there is none, which probe calls TRUNCATED).
    x = chord(4.0)
    data = write_sf(tmp_path / "full.ogg", x, format="OGG", subtype="VORBIS").read_bytes()
    path = tmp_path / "cut.ogg"
    path.write_bytes(data[: int(len(data) * kept)])
    try:
        info = io.probe(path)
    except AudioStyleError as err:
        assert err.code in (ErrorCode.TRUNCATED, ErrorCode.UNSUPPORTED_FORMAT)
        return
    y, _ = io.read_audio(path, info=info)
    assert len(y) == info.frames < len(x)
    assert np.corrcoef(x[: len(y), 0], y[:, 0])[0, 1] > 0.99


def test_caller_supplied_info_is_rechecked_before_allocating(tmp_path: Path) -> None:
    path = write_sf(tmp_path / "ok.wav", sine(), subtype="PCM_16")
    forged = io.AudioInfo(path, 10**15, 2, SR, "WAV", "PCM_16")
    expect_error(ErrorCode.TOO_LONG, lambda: io.read_audio(path, info=forged))
    expect_error(ErrorCode.TOO_LONG, lambda: io.iter_blocks(path, 1024, info=forged))


def test_declared_size_larger_than_decoded_is_truncated(tmp_path: Path) -> None:
    path = write_sf(tmp_path / "ok.wav", sine(), subtype="PCM_16")
    overstated = io.AudioInfo(path, SR + 10, 2, SR, "WAV", "PCM_16")
    expect_error(ErrorCode.TRUNCATED, lambda: io.read_audio(path, info=overstated))
    expect_error(ErrorCode.TRUNCATED, lambda: list(io.iter_blocks(path, 4096, info=overstated)))


# ----------------------------------------------------------------------------------------------
# good inputs
# ----------------------------------------------------------------------------------------------

GOOD = [
    ("WAV", "PCM_16", "wav", 2.0**-15),
    ("WAV", "PCM_24", "wav", 2.0**-23),
    ("WAV", "FLOAT", "wav", 1e-7),
    ("FLAC", "PCM_16", "flac", 2.0**-15),
    ("FLAC", "PCM_24", "flac", 2.0**-23),
    ("AIFF", "PCM_16", "aiff", 2.0**-15),
    ("AIFF", "PCM_24", "aiff", 2.0**-23),
    ("RF64", "PCM_16", "wav", 2.0**-15),
]


@pytest.mark.parametrize(("container", "subtype", "ext", "tol"), GOOD)
@pytest.mark.parametrize("channels", [1, 2])
def test_lossless_formats_read_back(
    tmp_path: Path, container: str, subtype: str, ext: str, tol: float, channels: int
) -> None:
    x = noise(channels=channels)
    path = write_sf(tmp_path / f"in.{ext}", x, format=container, subtype=subtype)
    info = io.probe(path)
    assert (info.frames, info.channels, info.sample_rate) == (SR, channels, SR)
    assert (info.format, info.subtype) == (container, subtype)
    assert info.length_s == pytest.approx(1.0)
    y, rate = io.read_audio(path)
    assert rate == SR
    assert y.shape == (SR, channels) and y.dtype == np.float32
    assert np.max(np.abs(y - x)) <= tol


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_rates(tmp_path: Path, rate: int) -> None:
    x = sine(sample_rate=rate)
    path = write_sf(tmp_path / "in.wav", x, rate, subtype="PCM_24")
    y, got = io.read_audio(path, dtype="float64")
    assert got == rate and y.dtype == np.float64 and y.shape == (rate, 2)
    assert np.max(np.abs(y - x)) <= 2.0**-23


def test_ogg_vorbis_within_lossy_tolerance(tmp_path: Path) -> None:
    x = chord()
    path = write_sf(tmp_path / "in.ogg", x, format="OGG", subtype="VORBIS")
    info = io.probe(path)
    assert (info.format, info.subtype, info.channels) == ("OGG", "VORBIS", 2)
    y, rate = io.read_audio(path)
    assert rate == SR and y.shape == x.shape
    for c in range(2):
        assert np.corrcoef(x[:, c], y[:, c])[0, 1] > 0.995


def test_plain_riff_crafted_and_streaming_size_marker(tmp_path: Path) -> None:
    x = sine()
    ok = tmp_path / "ok.wav"
    ok.write_bytes(riff_wav(pcm16(x)))
    # 0xFFFFFFFF is what streaming writers (ffmpeg/sox to a pipe) leave: "until end of file".
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(riff_wav(pcm16(x), data_size=0xFFFFFFFF))
    for path in (ok, streamed):
        y, _ = io.read_audio(path)
        assert y.shape == (SR, 2) and np.max(np.abs(y - x)) < 2.0**-14


def test_crafted_rf64_with_honest_size_reads(tmp_path: Path) -> None:
    x = sine()
    path = tmp_path / "honest.wav"
    path.write_bytes(rf64_wav(pcm16(x), data_size=SR * 4))
    assert io.probe(path).frames == SR
    y, _ = io.read_audio(path)
    assert np.max(np.abs(y - x)) < 2.0**-14


def test_blocks_match_whole_read(tmp_path: Path) -> None:
    x = noise(channels=1)
    path = write_sf(tmp_path / "in.flac", x, subtype="PCM_24")
    whole, _ = io.read_audio(path)
    small, _ = io.read_audio(path, block_frames=1000)
    blocks = list(io.iter_blocks(path, 10000, dtype="float64"))
    assert [len(b) for b in blocks] == [10000] * 4 + [8000]
    assert all(b.shape[1] == 1 and b.dtype == np.float64 for b in blocks)
    np.testing.assert_array_equal(whole, small)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_bad_arguments(tmp_path: Path) -> None:
    path = write_sf(tmp_path / "in.wav", sine(), subtype="PCM_16")
    with pytest.raises(ValueError):
        io.read_audio(path, dtype="int16")
    with pytest.raises(ValueError):
        io.read_audio(path, block_frames=0)


def test_is_silent() -> None:
    assert io.is_silent(np.zeros((100, 2)))
    assert io.is_silent(np.zeros((0, 1)))
    assert io.is_silent(np.full((10, 1), 9e-7, dtype=np.float32))  # -121 dBFS
    assert not io.is_silent(np.full((10, 1), -1.1e-6))  # -119 dBFS
    assert not io.is_silent(np.array([[0.0], [np.nan]]))


# ----------------------------------------------------------------------------------------------
# resampling
# ----------------------------------------------------------------------------------------------


def _fit_sine(y: NDArray[Any], freq_hz: float, sample_rate: int) -> float:
    """Amplitude of the ``freq_hz`` component of ``y`` by least squares."""
    t = np.arange(len(y)) / sample_rate
    basis = np.stack([np.sin(2 * np.pi * freq_hz * t), np.cos(2 * np.pi * freq_hz * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    return float(np.hypot(*coef))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resample_keeps_amplitude_frequency_shape_dtype(dtype: type[np.floating[Any]]) -> None:
    x = sine(1000.0, sample_rate=96000).astype(dtype)
    y = io.resample(x, 96000, 44100)
    assert y.dtype == dtype and y.shape[1] == 2
    assert abs(len(y) - 44100) <= 1
    core = y[2000:-2000]  # skip the filter's edges
    for c in range(2):
        spectrum = np.abs(np.fft.rfft(core[:, c] * np.hanning(len(core))))
        peak_hz = np.argmax(spectrum) * 44100 / len(core)
        assert abs(peak_hz - 1000.0) < 44100 / len(core)
        amplitude_db = 20 * np.log10(_fit_sine(core[:, c], 1000.0, 44100) / 0.5)
        assert abs(amplitude_db) < 0.01
    mono = io.resample(x[:, :1], 96000, 44100)
    assert mono.shape == (len(y), 1)


def test_resample_identity_and_arguments() -> None:
    x = sine().astype(np.float32)
    assert io.resample(x, SR, SR) is x
    with pytest.raises(ValueError):
        io.resample(x[:, 0], SR, 44100)
    with pytest.raises(ValueError):
        io.resample(x, 0, 44100)


# ----------------------------------------------------------------------------------------------
# output formats and paths
# ----------------------------------------------------------------------------------------------


def test_format_for() -> None:
    assert io.format_for(Path("a.flac"), None) == "flac"
    assert io.format_for(Path("a.FLAC"), None) == "flac"
    assert io.format_for(Path("a.wav"), None) == "wav24"
    assert io.format_for(Path("a.aiff"), None) == "wav24"
    assert io.format_for(Path("a.wav"), "wav16") == "wav16"
    err = expect_error(ErrorCode.BAD_FORMAT_OPTION, lambda: io.format_for(Path("a.wav"), "mp3"))
    assert "wav16, wav24, wav32f, flac" in err.message("en")


def test_check_output_path(tmp_path: Path) -> None:
    existing = tmp_path / "x.wav"
    existing.write_bytes(b"old")
    expect_error(ErrorCode.OUTPUT_EXISTS, lambda: io.check_output_path(existing, False))
    io.check_output_path(existing, True)
    io.check_output_path(tmp_path / "new.wav", False)
    missing_dir = tmp_path / "nope" / "x.wav"
    expect_error(ErrorCode.OUTPUT_NOT_WRITABLE, lambda: io.check_output_path(missing_dir, True))
    expect_error(ErrorCode.OUTPUT_NOT_WRITABLE, lambda: io.check_output_path(tmp_path, True))


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root"
)
def test_unwritable_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        expect_error(
            ErrorCode.OUTPUT_NOT_WRITABLE, lambda: io.check_output_path(locked / "x", True)
        )
    finally:
        locked.chmod(0o755)


def test_existing_output_without_force_is_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    expect_error(ErrorCode.OUTPUT_EXISTS, lambda: io.write_audio(out, sine(), SR, "wav24"))
    expect_error(ErrorCode.OUTPUT_EXISTS, lambda: io.atomic_write_text(out, "x", force=False))
    assert out.read_bytes() == b"precious"
    assert listing(tmp_path) == {"out.wav"}
    io.write_audio(out, sine(), SR, "wav24", force=True)
    assert io.probe(out).subtype == "PCM_24"
    assert listing(tmp_path) == {"out.wav"}


@pytest.mark.parametrize(
    ("fmt", "ext", "container", "subtype", "tol"),
    [
        ("wav16", "wav", "WAV", "PCM_16", 1.5 * 2.0**-15),
        ("wav24", "wav", "WAV", "PCM_24", 1.5 * 2.0**-23),
        ("flac", "flac", "FLAC", "PCM_24", 1.5 * 2.0**-23),
        ("wav32f", "wav", "WAV", "FLOAT", 0.0),
    ],
)
@pytest.mark.parametrize("channels", [1, 2])
def test_write_round_trip(
    tmp_path: Path, fmt: str, ext: str, container: str, subtype: str, tol: float, channels: int
) -> None:
    x = noise(channels=channels).astype(np.float32)
    out = tmp_path / f"out.{ext}"
    io.write_audio(out, x, SR, fmt)
    info = io.probe(out)
    assert (info.format, info.subtype, info.channels, info.frames) == (
        container,
        subtype,
        channels,
        SR,
    )
    y, _ = io.read_audio(out, dtype="float64")
    assert np.max(np.abs(y - x)) <= tol
    assert listing(tmp_path) == {out.name}


def test_integer_output_clips_to_full_scale(tmp_path: Path) -> None:
    x = np.concatenate([np.full((SR, 1), 1.5), np.full((SR, 1), -1.5)])
    io.write_audio(tmp_path / "c.wav", x, SR, "wav16")
    y, _ = io.read_audio(tmp_path / "c.wav", dtype="float64")
    assert y.max() == 1 - 2.0**-15 and y.min() == -1.0


def test_write_refuses_non_finite(tmp_path: Path) -> None:
    x = sine()
    x[10, 0] = np.nan
    expect_error(ErrorCode.NON_FINITE, lambda: io.write_audio(tmp_path / "o.wav", x, SR, "wav24"))
    assert listing(tmp_path) == set()


# ----------------------------------------------------------------------------------------------
# atomicity
# ----------------------------------------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("pre_existing", [False, True])
def test_failed_write_leaves_nothing(
    tmp_path: Path, exc_type: type[BaseException], pre_existing: bool
) -> None:
    out = tmp_path / "out.flac"
    if pre_existing:
        out.write_bytes(b"old")
    with pytest.raises(exc_type), io.AudioWriter(out, SR, 2, None, force=True) as writer:
        writer.write(sine())
        parts = [p for p in listing(tmp_path) if p.startswith(".") and p.endswith(".part")]
        assert len(parts) == 1 and parts[0].startswith(".out.flac.")
        raise exc_type()
    assert listing(tmp_path) == ({"out.flac"} if pre_existing else set())
    if pre_existing:
        assert out.read_bytes() == b"old"


def test_generator_close_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"

    def render() -> Generator[int, None, None]:
        with io.AudioWriter(out, SR, 2, "wav24") as writer:
            for i in range(10):
                writer.write(sine(length_s=0.1))
                yield i

    gen = render()
    assert next(gen) == 0 and next(gen) == 1
    gen.close()  # GeneratorExit inside the with block
    assert listing(tmp_path) == set()


def test_writer_success_publishes(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    with io.AudioWriter(out, SR, 1, "wav16") as writer:
        for _ in range(5):
            writer.write(sine(length_s=0.2, channels=1))
        assert not out.exists()
    assert writer.frames_written == SR
    assert io.probe(out).frames == SR
    assert listing(tmp_path) == {"out.wav"}
    with pytest.raises(ValueError), io.AudioWriter(tmp_path / "o2.wav", SR, 1, "wav16") as w:
        w.write(sine(channels=2))  # wrong channel count: a programming error
    assert listing(tmp_path) == {"out.wav"}


def test_atomic_write_bytes_and_text(tmp_path: Path) -> None:
    target = tmp_path / "preset.json"
    io.atomic_write_text(target, '{"a": "é"}\n')
    assert target.read_text(encoding="utf-8") == '{"a": "é"}\n'
    io.atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert listing(tmp_path) == {"preset.json"}
    expect_error(
        ErrorCode.OUTPUT_NOT_WRITABLE, lambda: io.atomic_write_bytes(tmp_path / "no" / "x", b"")
    )
    assert listing(tmp_path) == {"preset.json"}


# ----------------------------------------------------------------------------------------------
# dither
# ----------------------------------------------------------------------------------------------


def test_tpdf_dither_statistics_and_determinism() -> None:
    lsb = 2.0**-15
    x = np.zeros((200_000, 1))
    d = io.tpdf_dither(x, 16, np.random.default_rng(7))
    assert d.shape == x.shape and d.dtype == x.dtype
    assert np.all(np.abs(d) <= lsb)
    assert abs(d.mean()) < 0.01 * lsb
    assert d.std() == pytest.approx(lsb / np.sqrt(6), rel=0.02)
    assert np.mean(np.abs(d) < lsb / 2) == pytest.approx(0.75, abs=0.01)  # triangular, not flat
    np.testing.assert_array_equal(d, io.tpdf_dither(x, 16, np.random.default_rng(7)))
    assert not np.array_equal(d, io.tpdf_dither(x, 16, np.random.default_rng(8)))
    clipped = io.tpdf_dither(
        np.array([[2.0], [-2.0]], dtype=np.float32), 16, np.random.default_rng()
    )
    assert clipped.dtype == np.float32
    assert clipped[0, 0] == np.float32(1 - lsb) and clipped[1, 0] == -1.0


def test_dithered_16_bit_file_error_is_tpdf_and_keeps_low_level_signal(tmp_path: Path) -> None:
    lsb = 2.0**-15
    x = sine(1000.0, length_s=2.0, channels=1, amplitude=10 ** (-100 / 20))  # 1/3 LSB peak
    io.write_audio(tmp_path / "d.wav", x, SR, "wav16", seed=3)
    y, _ = io.read_audio(tmp_path / "d.wav", dtype="float64")
    error = y - x
    assert abs(error.mean()) < 0.02 * lsb
    assert error.std() == pytest.approx(lsb / 2, rel=0.03)  # dither LSB/sqrt(6) + rounding
    assert np.max(np.abs(error)) <= 1.5 * lsb
    # Undithered rounding would give all zeros; dithered, the -100 dBFS tone survives.
    assert _fit_sine(y[:, 0], 1000.0, SR) == pytest.approx(10 ** (-100 / 20), rel=0.05)


def test_dithered_writes_are_reproducible(tmp_path: Path) -> None:
    x = noise(channels=2)

    def write(name: str, seed: int, block: int) -> bytes:
        with io.AudioWriter(tmp_path / name, SR, 2, "wav16", seed=seed) as writer:
            for start in range(0, len(x), block):
                writer.write(x[start : start + block])
        return (tmp_path / name).read_bytes()

    first = write("a.wav", 0, 1 << 18)
    assert write("b.wav", 0, 1 << 18) == first
    assert write("c.wav", 0, 777) == first  # independent of how the input is blocked
    assert write("d.wav", 1, 1 << 18) != first
