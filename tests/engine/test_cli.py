"""The CLI end to end: bad input gives one line + exit 2 and leaves nothing; good input of
every kind is handled; apply reproduces match; exports parse."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.cli import main
from tests.engine.conftest import SR, biquad, fresh_python, pinkish

BIN = Path(sys.executable).with_name("audio-style")


def wav(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_24") -> Path:
    sf.write(path, x, sr, subtype=subtype)
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    t = wav(tmp_path / "target.wav", pinkish(SR * 4, seed=1) * 0.1)
    r = wav(
        tmp_path / "ref.wav",
        np.tanh(2 * biquad(pinkish(SR * 4, seed=2), "high_shelf", 4000, 6, 0.7)),
    )
    return t, r


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def rf64_bomb(path: Path) -> Path:
    frames = 10**12
    data = b"\0" * 64
    fmt = struct.pack("<HHIIHH", 1, 2, SR, SR * 4, 4, 16)
    ds64 = struct.pack("<QQQI", 0, frames * 4, frames, 0)
    body = b"WAVE" + b"ds64" + struct.pack("<I", len(ds64)) + ds64
    body += (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + data
    )
    path.write_bytes(b"RF64" + struct.pack("<I", 0xFFFFFFFF) + body)
    return path


BAD_CASES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "missing": ("E101", lambda d: d / "nope.wav"),
    "empty": ("E102", lambda d: _raw(d / "empty.wav", b"")),
    "random": ("E103", lambda d: _raw(d / "rnd.wav", os.urandom(5000))),
    "truncated": ("E104", lambda d: _truncated(d / "trunc.wav")),
    "bomb": ("E105", lambda d: rf64_bomb(d / "bomb.wav")),
    "silent": ("E109", lambda d: wav(d / "silent.wav", np.zeros((SR * 2, 2)))),
    "nan": ("E110", lambda d: _nan(d / "nan.wav")),
    "short": ("E106", lambda d: wav(d / "short.wav", pinkish(int(SR * 0.05), seed=3))),
    "channels": ("E107", lambda d: wav(d / "nine.wav", pinkish(SR, channels=9, seed=4))),
}


def _raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated(path: Path) -> Path:
    wav(path, pinkish(SR * 2, seed=5), subtype="PCM_16")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _nan(path: Path) -> Path:
    x = pinkish(SR * 2, seed=6)
    x[1000, 0] = np.nan
    return wav(path, x, subtype="FLOAT")


@pytest.mark.parametrize("case", sorted(BAD_CASES))
@pytest.mark.parametrize("role", ["target", "reference"])
def test_bad_input_one_line_exit_2_nothing_written(
    case: str,
    role: str,
    tmp_path: Path,
    pair: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code_expected, make = BAD_CASES[case]
    bad = make(tmp_path)
    t, r = pair
    target, ref = (bad, r) if role == "target" else (t, bad)
    out = tmp_path / "out.wav"
    before = set(tmp_path.iterdir())
    code, err = run(["match", str(target), "-r", str(ref), "-o", str(out), "-q"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error {code_expected}:"), err
    assert set(tmp_path.iterdir()) == before  # nothing written, no temp files


def test_existing_output_needs_force(
    tmp_path: Path, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    t, r = pair
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    code, err = run(["match", str(t), "-r", str(r), "-o", str(out), "-q"], capsys)
    assert code == 2 and err.startswith("error E201:")
    assert out.read_bytes() == b"precious"
    assert main(["match", str(t), "-r", str(r), "-o", str(out), "-q", "--force"]) == 0
    assert sf.info(str(out)).frames == sf.info(str(t)).frames


def test_no_traceback_from_the_real_process(tmp_path: Path) -> None:
    p = subprocess.run(
        [
            str(BIN),
            "match",
            str(tmp_path / "x.wav"),
            "-r",
            str(tmp_path / "y.wav"),
            "-o",
            str(tmp_path / "o.wav"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "LANG": "en_US.UTF-8"},
    )
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error E101:")


def test_error_language_follows_lang(tmp_path: Path) -> None:
    outs = {}
    for lang in ("zh_CN.UTF-8", "en_US.UTF-8"):
        env = {**os.environ, "LANG": lang, "LC_ALL": ""}
        env.pop("AUDIO_STYLE_LANG", None)
        p = subprocess.run(
            [str(BIN), "analyze", str(tmp_path / "missing.wav")],
            capture_output=True,
            text=True,
            env=env,
        )
        assert p.returncode == 2
        outs[lang] = p.stderr.strip()
    assert outs["zh_CN.UTF-8"].startswith("错误 E101：") or outs["zh_CN.UTF-8"].startswith(
        "错误 E101:"
    )
    assert "找不到文件" in outs["zh_CN.UTF-8"]
    assert outs["en_US.UTF-8"].startswith("error E101: File not found")


@pytest.mark.parametrize(
    "name,sr,channels,subtype,fmt",
    [
        ("mono.wav", 44100, 1, "PCM_16", None),
        ("hi48.wav", 48000, 2, "PCM_24", None),
        ("hi96.wav", 96000, 2, "FLOAT", None),
        ("in.flac", 44100, 2, "PCM_24", "flac"),
        ("in.ogg", 44100, 2, "VORBIS", "wav16"),
    ],
)
def test_good_inputs_keep_rate_and_layout(
    tmp_path: Path, name: str, sr: int, channels: int, subtype: str, fmt: str | None
) -> None:
    t = tmp_path / name
    sf.write(t, pinkish(sr * 3, channels=channels, seed=7) * 0.2, sr, subtype=subtype)
    r = wav(tmp_path / "ref48.wav", pinkish(48000 * 3, seed=8), 48000)  # other rate than most
    out = tmp_path / ("out.flac" if fmt == "flac" else "out.wav")
    args = ["match", str(t), "-r", str(r), "-o", str(out), "-q"] + (
        ["--format", fmt] if fmt else []
    )
    assert main(args) == 0
    info = sf.info(str(out))
    assert info.samplerate == sr and info.channels == channels
    assert info.frames == sf.info(str(t)).frames


def test_apply_reproduces_match_and_exports(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    t, r = pair
    out, preset = tmp_path / "m.wav", tmp_path / "p.json"
    report = tmp_path / "r.json"
    assert (
        main(
            [
                "match",
                str(t),
                "-r",
                str(r),
                "-o",
                str(out),
                "--preset-out",
                str(preset),
                "--report",
                str(report),
                "-q",
                "--format",
                "wav32f",
            ]
        )
        == 0
    )
    out2 = tmp_path / "a.wav"
    assert main(["apply", str(preset), str(t), "-o", str(out2), "-q", "--format", "wav32f"]) == 0
    a, _ = sf.read(out)
    b, _ = sf.read(out2)
    diff = np.max(np.abs(a - b))
    assert diff == 0.0 or 20 * np.log10(diff) <= -90.0
    import json

    rep = json.loads(report.read_text())
    assert {"before", "after", "distance_to_reference"} <= set(rep)
    d = rep["distance_to_reference"]
    assert d["after"]["tonal_distance_db"] < d["before"]["tonal_distance_db"]
    assert abs(rep["after"]["integrated_lufs"] - rep["reference"]["integrated_lufs"]) < 0.3
    for fmt, check in (
        ("eqapo", "Filter 1: ON"),
        ("graphiceq", "GraphicEQ: 20 "),
        ("csv", "frequency_hz,mid_db,side_db"),
    ):
        dst = tmp_path / f"x.{fmt}"
        assert main(["export-preset", str(preset), "--format", fmt, "-o", str(dst)]) == 0
        assert check in dst.read_text()


def test_several_targets_to_a_directory(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    t, r = pair
    t2 = wav(tmp_path / "second.wav", pinkish(SR * 3, seed=9) * 0.1)
    outdir = tmp_path / "outdir"
    assert main(["match", str(t), str(t2), "-r", str(r), "-o", str(outdir), "-q"]) == 0
    assert sorted(p.name for p in outdir.iterdir()) == ["second.wav", "target.wav"]


def test_max_limiting_db_caps_the_push_says_so_and_reaches_preset_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    rng = np.random.default_rng(4)
    x = rng.standard_normal((SR * 6, 2)) * 0.01
    x[:: SR // 4] += 0.9  # clicks over a quiet bed: -6 LUFS needs far more than 2 dB limiting
    t = wav(tmp_path / "t.wav", x)
    r = wav(tmp_path / "r.wav", rng.standard_normal((SR * 6, 2)) * 0.1)
    preset, report = tmp_path / "p.json", tmp_path / "rep.json"
    args = ["--lang", "en", "match", str(t), "-r", str(r), "-o", str(tmp_path / "o.wav"), "-q"]
    args += ["--target-lufs", "-6", "--max-limiting-db", "2"]
    assert main([*args, "--preset-out", str(preset), "--report", str(report)]) == 0
    assert "more than 2 dB of limiting" in capsys.readouterr().out
    assert json.loads(preset.read_text())["limiter"]["max_limiting_db"] == 2.0
    loud = json.loads(report.read_text())["loudness"]
    assert loud["shortfall_lu"] > 1.0 and loud["max_limiting_db"] == 2.0
    assert loud["plr_db"]["after"] < loud["plr_db"]["before"]  # the push cost peak headroom
    assert set(loud["short_term_lu"]) == {"target", "output", "reference"}
    code, err = run([*args[:-2], "--max-limiting-db", "30", "--force"], capsys)
    assert code == 2 and "--max-limiting-db" in err  # out of range: one line, exit 2


def test_own_commands_parse_without_the_plugins_and_plugins_still_load() -> None:
    import argparse

    from engine.cli import build_parser
    from engine.runtime import OWN_COMMANDS, command_word

    def commands(p: argparse.ArgumentParser) -> set[str]:
        (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        return set(sub.choices)

    own, full = commands(build_parser(plugins=False)), commands(build_parser())
    assert own == OWN_COMMANDS
    assert {"gui", "server", "cloud"} <= full - own
    assert command_word(["--lang", "zh", "match", "a.wav"]) == "match"
    assert command_word(["--lang=en", "-h"]) is None
    assert command_word(["gui"]) == "gui"
    assert command_word([]) is None
    code = (
        "import sys\n"
        "from engine.cli import main\n"
        "assert main(['--lang', 'en', 'analyze', 'missing.wav', '-q']) == 2\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('app', 'server', 'cloud')]\n"
        "try:\n"
        "    main(['gui', '--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0\n"
        "assert 'app.cli' in sys.modules\n"
    )
    fresh_python(code)
