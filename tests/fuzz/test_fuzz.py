"""A short smoke of each fuzzer (the long runs are ``make fuzz``), and the crashes they found,
replayed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.targets import check_audio, check_preset

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).parent / "regressions"


def _run(*args: str, timeout: float = 300) -> str:
    r = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    return out


@pytest.mark.parametrize("target", ["audio", "preset"])
def test_atheris_smoke(target: str, tmp_path: Path) -> None:
    out = _run("tests.fuzz.harness", target, "--runs", "200", "--crash-dir", str(tmp_path))
    assert "Done 200 runs" in out, out[-2000:]
    assert not list(tmp_path.glob("*-crash-*"))


def test_schemathesis_smoke() -> None:
    out = _run("tests.fuzz.api", "--max-examples", "3", "--phases", "fuzzing")
    m = re.search(r"fuzz api: (\d+) requests answered .*; (\d+) server errors", out)
    assert m, out[-2000:]
    assert int(m.group(1)) > 20 and int(m.group(2)) == 0


def test_fuzz_regressions() -> None:
    """Every crash the fuzzers found (none so far) reads as a coded error now."""
    for path in sorted(REGRESSIONS.glob("*")):
        if path.name.startswith("audio-"):
            check_audio(path.read_bytes())
        elif path.name.startswith("preset-"):
            check_preset(path.read_bytes())
