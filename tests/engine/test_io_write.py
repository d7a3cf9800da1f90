"""Tests of engine.io's output side: formats, output paths, atomic writes, TPDF dither."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest

from engine import io
from engine.schema.errors import ErrorCode
from tests.engine.io_helpers import SR, _fit_sine, expect_error, listing, noise, sine


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
