"""Compressed inputs (M4A AAC/ALAC, Opus, MP3) made here with PyAV: probe, decode, analyse and
match like WAV within the codec's own difference; truncated, length-bomb and lying-header
variants give one coded line and exit 2, with nothing written."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from engine import codecs, io
from engine.cli import main
from engine.pipeline import analyze_file, drive
from tests.engine.conftest import SR, pinkish

# format -> (container, encoder, rate, bitrate, extension)
FORMATS: dict[str, tuple[str, str, int, int | None, str]] = {
    "m4a-aac": ("ipod", "aac", SR, 256_000, ".m4a"),
    "m4a-alac": ("ipod", "alac", SR, None, ".m4a"),
    "opus": ("ogg", "libopus", 48000, 160_000, ".opus"),
    "mp3": ("mp3", "libmp3lame", SR, 320_000, ".mp3"),
}


def signal(seconds: float = 4.0, rate: int = SR, seed: int = 1) -> np.ndarray:
    """Pinkish noise without its sub-30 Hz part (codecs' DC filters would change its level)."""
    x = pinkish(int(rate * seconds), seed=seed)
    spec = np.fft.rfft(x, axis=0)
    spec[np.fft.rfftfreq(len(x), 1 / rate) < 30.0] = 0
    x = np.fft.irfft(spec, len(x), axis=0) * 0.5
    fade = np.minimum(1.0, np.arange(len(x)) / (0.05 * rate))[:, None]
    return (x * fade * fade[::-1]).astype(np.float32)


def encode(path: Path, fmt: str, x: np.ndarray | None = None) -> Path:
    """Write ``x`` (default: :func:`signal`) in ``fmt`` with PyAV."""
    container, encoder, rate, bitrate, _ = FORMATS[fmt]
    x = signal(rate=rate) if x is None else x
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(encoder, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "stereo"
        if bitrate:
            stream.bit_rate = bitrate
        for i in range(0, len(x), 4096):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[i : i + 4096].reshape(1, -1)), format="flt", layout="stereo"
            )
            frame.sample_rate = rate
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return path


def make(tmp: Path, fmt: str, name: str = "in") -> Path:
    return encode(tmp / (name + FORMATS[fmt][4]), fmt)


# -- corruptions -------------------------------------------------------------------------------


def ogg_crc(page: bytes) -> int:
    """Ogg page checksum (CRC-32, polynomial 0x04C11DB7, no reflection)."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def length_bomb(data: bytes, fmt: str) -> bytes:
    """Declare a length of days: MP4 mvhd/mdhd durations, the final Ogg granule (with a valid
    CRC), the MP3 Xing frame count."""
    b = bytearray(data)
    if fmt.startswith("m4a"):
        for tag in (b"mvhd", b"mdhd"):
            i = b.find(tag)
            assert i > 0 and b[i + 4] == 0
            b[i + 20 : i + 24] = struct.pack(">I", 0xFFFFFFF0)
    elif fmt == "opus":
        i = b.rfind(b"OggS")
        b[i + 6 : i + 14] = struct.pack("<q", 48000 * 3600 * 10)
        b[i + 22 : i + 26] = b"\0\0\0\0"
        b[i + 22 : i + 26] = struct.pack("<I", ogg_crc(bytes(b[i:])))
    else:
        i = b.find(b"Info") if b.find(b"Xing") < 0 else b.find(b"Xing")
        assert i > 0 and struct.unpack(">I", b[i + 4 : i + 8])[0] & 1
        b[i + 8 : i + 12] = struct.pack(">I", 0x0FFFFFFF)
    return bytes(b)


def truncated(data: bytes, fmt: str) -> bytes:
    return data[: len(data) // 2]


def lying_short(data: bytes) -> bytes:
    """An MP3 whose Xing header declares a quarter of its frames: decodes to far more."""
    b = bytearray(data)
    i = b.find(b"Info") if b.find(b"Xing") < 0 else b.find(b"Xing")
    (frames,) = struct.unpack(">I", b[i + 8 : i + 12])
    b[i + 8 : i + 12] = struct.pack(">I", frames // 4)
    return bytes(b)


# -- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_probe_and_decode_match_the_source(fmt: str, tmp_path: Path) -> None:
    path = make(tmp_path, fmt)
    _, encoder, rate, _, _ = FORMATS[fmt]
    info = io.probe(path)
    assert info.channels == 2 and info.sample_rate == rate
    assert abs(info.frames - 4.0 * rate) <= codecs.tolerance_frames(info.frames, rate, "M4A")
    x, sr = io.read_audio(path)
    assert x.shape == (info.frames, 2) and sr == rate
    blocks = list(io.iter_blocks(path, 10_000))
    assert np.array_equal(np.concatenate(blocks), x)
    src = signal(rate=rate)

    def rms(a: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(np.square(a, dtype=np.float64))))

    assert abs(rms(x) - rms(src)) < 0.3  # level kept (codec delay does not change the RMS)


def independent_decode(path: Path) -> tuple[np.ndarray, int]:
    """Decode with PyAV directly (not through engine.io): what the codec itself gives."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rs = av.AudioResampler(format="flt", layout="stereo")
        parts = [o.to_ndarray().reshape(-1, 2) for f in c.decode(stream) for o in rs.resample(f)]
        return np.concatenate(parts), stream.codec_context.sample_rate


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_analyze_equals_wav_within_codec_difference(fmt: str, tmp_path: Path) -> None:
    path = make(tmp_path, fmt)
    rate = FORMATS[fmt][2]
    decoded, sr = independent_decode(path)
    assert sr == rate
    wav = tmp_path / "decoded.wav"
    sf.write(wav, decoded, rate, subtype="FLOAT")
    a, b = drive(analyze_file(path)).summary, drive(analyze_file(wav)).summary
    assert abs(a.integrated_lufs - b.integrated_lufs) < 0.05
    assert abs(a.true_peak_dbtp - b.true_peak_dbtp) < 0.05
    assert abs(a.width_db - b.width_db) < 0.05
    if fmt == "m4a-alac":  # lossless: equal to the source itself
        src = tmp_path / "src.wav"
        sf.write(src, signal(rate=rate), rate, subtype="FLOAT")
        c = drive(analyze_file(src)).summary
        assert abs(a.integrated_lufs - c.integrated_lufs) < 0.01
        assert abs(a.true_peak_dbtp - c.true_peak_dbtp) < 0.01


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_match_and_analyze_cli_accept_compressed_files(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make(tmp_path, fmt, "target")
    wav_target = tmp_path / "target.wav"
    x, sr = io.read_audio(target)
    sf.write(wav_target, x, sr, subtype="FLOAT")  # the decoded samples: same input as WAV
    ref = tmp_path / "ref.wav"
    sf.write(ref, pinkish(SR * 4, seed=9) * 0.3, SR, subtype="PCM_24")
    assert main(["analyze", str(target), "--json", "-q"]) == 0
    outs = []
    for t, name in ((target, "a.wav"), (wav_target, "b.wav")):
        out = tmp_path / name
        assert main(["match", str(t), "-r", str(ref), "-o", str(out), "-q"]) == 0
        outs.append(sf.read(out)[0])
    assert np.max(np.abs(outs[0] - outs[1])) < 1e-4  # compressed path == WAV of its decode


CORRUPTIONS: dict[str, tuple[str, Callable[[bytes, str], bytes]]] = {
    "truncated": ("E104", truncated),
    "length-bomb": ("E105", length_bomb),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_bad_compressed_input_one_line_exit_2(
    fmt: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, corrupt = CORRUPTIONS[kind]
    src = make(tmp_path / "..", fmt, f"src-{tmp_path.name}")
    bad = tmp_path / ("bad" + FORMATS[fmt][4])
    bad.write_bytes(corrupt(src.read_bytes(), fmt))
    src.unlink()
    ref = tmp_path / "ref.wav"
    sf.write(ref, pinkish(SR * 2, seed=3) * 0.2, SR)
    before = set(tmp_path.iterdir())
    for args in (
        ["match", str(bad), "-r", str(ref), "-o", str(tmp_path / "o.wav"), "-q"],
        ["match", str(ref), "-r", str(bad), "-o", str(tmp_path / "o.wav"), "-q"],
        ["analyze", str(bad), "-q"],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error {code}:"), err
    assert set(tmp_path.iterdir()) == before


def test_header_declaring_less_than_the_stream_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make(tmp_path, "mp3")
    bad = tmp_path / "lying.mp3"
    bad.write_bytes(lying_short(src.read_bytes()))
    assert main(["analyze", str(bad), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error E113:"), err


def test_mp4_without_its_index_is_truncated(tmp_path: Path) -> None:
    src = make(tmp_path, "m4a-aac").read_bytes()
    i = src.find(b"moov") - 4
    (size,) = struct.unpack(">I", src[i : i + 4])
    cut = tmp_path / "nomoov.m4a"
    cut.write_bytes(src[:i] + src[i + size :])
    with pytest.raises(io.AudioStyleError) as e:
        io.probe(cut)
    assert e.value.code == "E104"


def test_round_trip_codecs_decode_to_the_input_length() -> None:
    x = signal(2.0)
    for name in ("aac-256", "opus-160", "mp3-320", "vorbis-320"):
        y, rate = codecs.round_trip(x, SR, name)
        assert abs(len(y) / rate - 2.0) < 0.1, name
        assert y.shape[1] == 2


def test_codec_names_of_the_options_are_the_codecs() -> None:
    from engine.schema.options import CODEC_NAMES

    assert set(CODEC_NAMES) == set(codecs.CODECS)
