"""Smoke test of the desktop bundle (``make package`` -> ``dist/audio-style/``).

Runs only with ``PACKAGE_SMOKE=1`` (``make test PACKAGE_SMOKE=1`` builds the bundle first;
``.ci/run`` sets it). The bundle is copied to a fresh temporary directory and run there with a
minimal environment (``PATH=/usr/bin:/bin``, a new ``HOME``, ``QT_QPA_PLATFORM=offscreen``):
no venv, no PYTHONPATH, not the repository as working directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("PACKAGE_SMOKE") != "1", reason="PACKAGE_SMOKE=1 runs the bundle smoke test"
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "audio-style"
NAME = "audio-style.exe" if sys.platform == "win32" else "audio-style"
RESULTS = ROOT / "artifacts" / "package" / "smoke.json"
SUBCOMMANDS = ("analyze", "match", "apply", "export-preset", "qc", "cloud", "gui")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the bundle in a clean directory (the executable inside it)."""
    if not (BUNDLE / NAME).is_file():
        pytest.fail(f"{BUNDLE / NAME} missing: run `make package` first")
    dest = tmp_path_factory.mktemp("bundle") / "audio-style"
    shutil.copytree(BUNDLE, dest, symlinks=True)
    yield dest / NAME


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    yield out
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))


def _run(
    exe: Path, *args: str, cwd: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version_and_subcommands(bundle: Path, tmp_path: Path) -> None:
    from engine import __version__

    r = _run(bundle, "--version", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"audio-style {__version__}"
    r = _run(bundle, "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    groups = [set(g.split(",")) for g in re.findall(r"\{([a-z,-]+)\}", r.stdout)]
    assert any(set(SUBCOMMANDS) <= g for g in groups), r.stdout


def test_headless_match_on_demo_clips(
    bundle: Path, tmp_path: Path, results: dict[str, float]
) -> None:
    import pyloudnorm
    import soundfile as sf

    from tools.demo import synth_song

    sr = 44100
    reference = synth_song(seed=1, length_s=6.0, sample_rate=sr)
    reference *= 0.9 / np.max(np.abs(reference))
    target = synth_song(seed=2, length_s=6.0, sample_rate=sr) * 0.1
    sf.write(tmp_path / "reference.wav", reference, sr, subtype="PCM_24")
    sf.write(tmp_path / "target.wav", target, sr, subtype="PCM_24")

    t0 = time.monotonic()
    r = _run(
        bundle,
        "match",
        "target.wav",
        "-r",
        "reference.wav",
        "-o",
        "out.wav",
        "--preset-out",
        "preset.json",
        cwd=tmp_path,
    )
    results["match_s"] = round(time.monotonic() - t0, 2)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr

    out, out_sr = sf.read(tmp_path / "out.wav", always_2d=True)
    assert out_sr == sr
    assert out.shape == target.shape
    assert np.all(np.isfinite(out))
    meter = pyloudnorm.Meter(sr)
    ref_lufs = meter.integrated_loudness(reference)
    tgt_lufs = meter.integrated_loudness(target)
    out_lufs = meter.integrated_loudness(out)
    # the quiet target is brought towards the reference, under the -1 dBTP default ceiling
    assert abs(out_lufs - ref_lufs) < abs(tgt_lufs - ref_lufs) / 2, (ref_lufs, tgt_lufs, out_lufs)
    assert 20 * np.log10(np.max(np.abs(out))) <= -1.0 + 1e-3
    preset = json.loads((tmp_path / "preset.json").read_text())
    assert isinstance(preset, dict) and preset


def test_compressed_input_and_qc(bundle: Path, tmp_path: Path) -> None:
    """FFmpeg's libraries (PyAV) travel with the bundle: an M4A (AAC) decodes, qc encodes."""
    from tests.engine.test_codecs import encode

    encode(tmp_path / "song.m4a", "m4a-aac")
    r = _run(bundle, "analyze", "song.m4a", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["channels"] == 2
    r = _run(bundle, "qc", "song.m4a", "--json", "--platform", "apple", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["services"][0]["codec"] == "aac-256"
    assert np.isfinite(doc["services"][0]["codec_true_peak_dbtp"])


def test_gui_starts_offscreen(bundle: Path, tmp_path: Path, results: dict[str, float]) -> None:
    t0 = time.monotonic()
    r = _run(bundle, "gui", cwd=tmp_path, timeout=120, AUDIO_STYLE_SMOKE_EXIT="1")
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"smoke: window shown=True after ([0-9.]+) s", r.stdout)
    assert m, r.stdout + r.stderr
    results["gui_window_shown_s"] = float(m.group(1))
    results["gui_process_wall_s"] = round(wall, 2)
    assert 0 < float(m.group(1)) <= wall


def test_bundle_contents(bundle: Path) -> None:
    internal = bundle.parent / "_internal"
    # the app's translations and icons travel with it
    assert sorted(p.name for p in (internal / "resources" / "i18n").glob("*.qm"))
    assert list((internal / "resources" / "icons").iterdir())
    models = sorted((ROOT / "resources" / "models").glob("*.onnx"))
    for m in models:
        assert (internal / "resources" / "models" / m.name).is_file()
    # onnxruntime's native libraries (CPU) but no GPU provider in the default bundle
    if (internal / "onnxruntime").is_dir():
        assert list((internal / "onnxruntime" / "capi").glob("onnxruntime_pybind11_state*"))
    assert not list(internal.rglob("*onnxruntime_providers_cuda*"))
    assert not (internal / "nvidia").exists()
    assert not (internal / "server").exists() and not (internal / "torch").exists()


def test_third_party_licenses_cover_the_bundle(bundle: Path) -> None:
    text = (bundle.parent / "THIRD_PARTY_LICENSES").read_text(encoding="utf-8")
    assert (bundle.parent / "_internal" / "THIRD_PARTY_LICENSES").is_file()
    # each component is a "name version" line between two rules of "="
    titles = re.findall(r"^={20,}\n(\S+) \S+\n={20,}$", text, re.M)
    headings = {t.lower().replace("_", "-") for t in titles}
    bundled = [
        d.name[: -len(".dist-info")].rsplit("-", 1)[0].lower().replace("_", "-")
        for d in (bundle.parent / "_internal").glob("*.dist-info")
    ]
    missing = [n for n in bundled if n != "audio-style" and n not in headings]
    assert not missing, missing
    for name in ("numpy", "scipy", "pyside6-essentials", "soundfile", "python"):
        assert name in headings, name
