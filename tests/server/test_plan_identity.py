"""One plan function: the CLI's preset and the worker's (chunked plan and single pass) are
byte-identical for the same inputs and options, and carry the known answers of generated
signals. No services needed: the worker's engine adapter is called directly."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pytest
import soundfile as sf
from numpy.typing import NDArray

from engine.cli import main as cli_main
from engine.presets import load_preset
from engine.schema.options import MatchOptions
from server.worker import engine_adapter as eng

SR = 44100


def _tone_mix(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t) ** 2
    mid = cast(
        NDArray[np.float64],
        sum(np.sin(2 * np.pi * f * t + k) / (1 + k) for k, f in enumerate((110, 220, 440, 880))),
    )
    noise = rng.standard_normal((n, 2)) * 0.15
    mix: np.ndarray = (0.15 * mid[:, None] * np.array([[1.0, 0.8]]) + noise) * env[:, None]
    return mix


def _bright(x: np.ndarray) -> np.ndarray:
    """The same programme with its top end +9 dB above about 3 kHz (a first-order shelf in
    the spectrum) and 6 dB louder: the answer the plan must find."""
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    shelf = 1.0 + (10 ** (9 / 20) - 1.0) / (1.0 + (3000.0 / np.maximum(f, 1.0)) ** 2)
    y = np.fft.irfft(spec * shelf[:, None], n=len(x), axis=0)
    return y * 10 ** (6 / 20) * 0.35 / max(1e-9, float(np.abs(y).max()) * 10 ** (6 / 20))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("plan")
    x = _tone_mix(6 * SR, seed=5)
    target, ref = d / "song.wav", d / "bright-master.wav"
    sf.write(target, 0.5 * x / np.abs(x).max(), SR, subtype="PCM_24")
    sf.write(ref, _bright(x), SR, subtype="PCM_24")
    return target, ref


def _never() -> bool:
    return False


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        ([], MatchOptions()),
        (
            ["--target-lufs", "-12", "--eq-amount", "80"],
            MatchOptions(target_lufs=-12.0, eq_amount=80.0),
        ),
    ],
    ids=["default", "options"],
)
def test_cli_and_worker_write_the_same_preset(
    tmp_path: Path, pair: tuple[Path, Path], argv: list[str], options: MatchOptions
) -> None:
    target, ref = pair
    cli_preset = tmp_path / "cli.json"
    rc = cli_main(
        ["match", str(target), "--reference", str(ref), "-o", str(tmp_path / "out.wav")]
        + ["--preset-out", str(cli_preset), "-q", *argv]
    )
    assert rc == 0
    # the worker's chunked jobs plan with build_preset_file, its single pass with match
    chunked = tmp_path / "chunked.json"
    eng.build_preset_file(target, [ref], options, chunked, lambda f, s: None, _never)
    single = tmp_path / "single.json"
    eng.match(
        target,
        [ref],
        tmp_path / "w.wav",
        single,
        tmp_path / "w-report.json",
        options,
        None,
        lambda f, s: None,
        _never,
    )
    want = cli_preset.read_bytes()
    assert chunked.read_bytes() == want
    assert single.read_bytes() == want

    # known answers
    p = load_preset(cli_preset)
    assert p.name == "bright-master" and p.references == ["bright-master.wav"]
    assert p.reference is not None and p.reference.true_peak_measured
    if options.target_lufs is None:  # the reference's loudness
        assert p.loudness.target_lufs == pytest.approx(p.reference.integrated_lufs, abs=0.05)
    else:
        assert p.loudness.target_lufs == pytest.approx(-12.0)
    curve = p.eq.mid.curve
    gain = np.interp([200.0, 10000.0], curve.freqs_hz, curve.gain_db)
    boost = float(gain[1] - gain[0])
    # the +9 dB shelf, copied as far as the options and the reference's trust say
    assert 3.0 < boost < 10.0, boost
