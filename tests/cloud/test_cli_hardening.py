"""CLI details of the hardening issue: ``cloud submit -o`` refuses an existing output before
anything is uploaded, ``--help`` says what the default format is, and a closed pipe ends the
CLI quietly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.cloud.conftest import CloudHome, run_cli


def _wav(path: Path, seconds: float = 1.0) -> Path:
    t = np.arange(int(44100 * seconds)) / 44100
    sf.write(str(path), 0.1 * np.sin(2 * np.pi * 440 * t), 44100, subtype="PCM_16")
    return path


def test_submit_to_an_existing_output_fails_before_uploading(
    cloud_home: CloudHome, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target, ref = _wav(tmp_path / "song.wav"), _wav(tmp_path / "ref.wav")
    existing = tmp_path / "out.wav"
    existing.write_bytes(b"mine")
    # not even logged in: the refusal comes before the client is opened, let alone an upload
    r = run_cli(
        capsys, "cloud", "submit", str(target), "--reference", str(ref), "-o", str(existing)
    )
    assert r.rc == 2 and r.err.startswith("error E201"), r.err
    assert existing.read_bytes() == b"mine"
    # a directory that already holds the result's name (song.matched.wav; flac for --format)
    out = tmp_path / "results"
    out.mkdir()
    (out / "song.matched.flac").write_bytes(b"mine")
    args = ["cloud", "submit", str(target), "--reference", str(ref), "-o", str(out)]
    r = run_cli(capsys, *args, "--format", "flac")
    assert r.rc == 2 and "E201" in r.err and "song.matched.flac" in r.err
    r = run_cli(capsys, *args)  # WAV: no clash, so it gets as far as the login check
    assert r.rc == 2 and "E501" in r.err


def test_submit_help_names_the_default_format(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    with pytest.raises(SystemExit):
        main(["--lang", "en", "cloud", "submit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "default: FLAC for a FLAC target, else 24-bit WAV" in out


def test_a_closed_pipe_ends_the_cli_quietly(tmp_path: Path) -> None:
    wav = _wav(tmp_path / "a.wav")
    code = "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))"
    p = subprocess.Popen(
        [sys.executable, "-c", code, "analyze", str(wav), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # `| head` that has stopped reading
    err = p.stderr.read().decode()
    assert p.wait(60) == 141, err
    for noise in ("E499", "BrokenPipe", "Traceback", "Exception ignored"):
        assert noise not in err, err
