"""Tests of engine.io's input side: validation before decoding, block decoding, resampling."""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import io
from engine.schema.errors import AudioStyleError, ErrorCode
from tests.engine.io_helpers import (
    SR,
    _fit_sine,
    chord,
    expect_error,
    flac_with_total_samples,
    listing,
    noise,
    pcm16,
    rf64_wav,
    riff_wav,
    sine,
    write_sf,
)


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
