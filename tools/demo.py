"""Demo clips and the headless demo (``make demo``).

The clips are synthesised (chords, bass, drums, hats, stereo spread) so the demo needs no
files: a "reference" (another song, bright and loud, mastered) and a "target" (a dull, quiet
rough mix). ``python -m tools.demo OUTDIR`` writes them and runs the CLI on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt

from engine import io

F64 = NDArray[np.float64]


def synth_song(seed: int, length_s: float, sample_rate: int = 44100) -> F64:
    """A short stereo groove: chords, bass, kick, snare and hats (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    n = int(length_s * sample_rate)
    t = np.arange(n) / sample_rate
    bpm = float(rng.uniform(90, 130))
    beat = 60.0 / bpm
    root = float(rng.choice([110.0, 123.47, 130.81, 146.83]))
    prog = rng.choice([0, 3, 5, 7, 8, 10], size=4)
    out = np.zeros((n, 2))
    bar = 4 * beat
    for k in range(int(length_s / bar) + 1):
        f0 = root * 2 ** (prog[k % 4] / 12)
        s, e = int(k * bar * sample_rate), min(n, int((k + 1) * bar * sample_rate))
        if s >= n:
            break
        tt = t[s:e] - t[s]
        env = np.exp(-tt * 0.6)
        for j, interval in enumerate((0, 4, 7, 12)):
            f = f0 * 2 ** (interval / 12) * 2
            tone = sum(np.sin(2 * np.pi * f * h * tt) / h**1.5 for h in range(1, 6))
            pan = 0.5 + 0.35 * np.sin(j * 1.7 + seed)
            out[s:e, 0] += 0.08 * env * tone * (1 - pan)
            out[s:e, 1] += 0.08 * env * tone * pan
        bass = np.sign(np.sin(2 * np.pi * f0 / 2 * tt)) * np.exp(-tt * 1.5) * 0.15
        out[s:e] += bass[:, None]
    for b in range(int(length_s / beat) + 1):
        s = int(b * beat * sample_rate)
        if s >= n:
            break
        m = min(n - s, int(0.4 * sample_rate))
        tt = np.arange(m) / sample_rate
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 9) * 0.5
        out[s : s + m] += kick[:, None]
        if b % 2 == 1:
            snare = rng.standard_normal(m) * np.exp(-tt * 18) * 0.18
            out[s : s + m] += snare[:, None]
        for half in (0, 1):
            hs = s + int(half * beat / 2 * sample_rate)
            hm = min(n - hs, int(0.05 * sample_rate))
            if hm > 0:
                hat = (
                    rng.standard_normal((hm, 2))
                    * np.exp(-np.arange(hm) / sample_rate * 80)[:, None]
                )
                out[hs : hs + hm] += 0.05 * sosfilt(
                    butter(2, 7000, "hp", fs=sample_rate, output="sos"), hat, axis=0
                )
    return np.asarray(out / np.max(np.abs(out)) * 0.5, dtype=np.float64)


def _shelf(x: F64, cutoff_hz: float, gain_db: float, kind: str, sample_rate: int) -> F64:
    sos = butter(1, cutoff_hz, "lp" if kind == "low" else "hp", fs=sample_rate, output="sos")
    band = sosfilt(sos, x, axis=0)
    return np.asarray(x + (10 ** (gain_db / 20) - 1) * band, dtype=np.float64)


def make_demo_clips(
    directory: Path, length_s: float = 20.0, sample_rate: int = 44100
) -> dict[str, Path]:
    """Write ``reference.wav`` (bright, loud, wide) and ``target.wav`` (dull, quiet, narrow)."""
    directory.mkdir(parents=True, exist_ok=True)
    ref = synth_song(1, length_s, sample_rate)
    ref = _shelf(ref, 120.0, 4.0, "low", sample_rate)
    ref = _shelf(ref, 5000.0, 5.0, "high", sample_rate)
    ref = np.tanh(ref * 2.5) / 1.6
    tgt = synth_song(2, length_s, sample_rate)
    tgt = _shelf(tgt, 4000.0, -6.0, "high", sample_rate)
    mid = (tgt[:, :1] + tgt[:, 1:]) / 2
    tgt = 0.7 * tgt + 0.3 * mid
    tgt = tgt * 0.4
    paths = {"reference": directory / "reference.wav", "target": directory / "target.wav"}
    io.write_audio(paths["reference"], ref, sample_rate, "wav24", force=True)
    io.write_audio(paths["target"], tgt, sample_rate, "wav24", force=True)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Write demo clips to OUTDIR and run analyze / match / export-preset on them."""
    from engine.cli import main as cli

    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0] if args else "artifacts/demo")
    clips = make_demo_clips(out / "clips")
    steps = [
        ["analyze", str(clips["reference"])],
        [
            "match",
            str(clips["target"]),
            "--reference",
            str(clips["reference"]),
            "-o",
            str(out / "matched.wav"),
            "--preset-out",
            str(out / "preset.json"),
            "--report",
            str(out / "report.json"),
            "--force",
            "--quiet",
        ],
        [
            "export-preset",
            str(out / "preset.json"),
            "--format",
            "eqapo",
            "-o",
            str(out / "preset.eqapo.txt"),
            "--force",
        ],
        [
            "export-preset",
            str(out / "preset.json"),
            "--format",
            "graphiceq",
            "-o",
            str(out / "preset.graphiceq.txt"),
            "--force",
        ],
        [
            "export-preset",
            str(out / "preset.json"),
            "--format",
            "csv",
            "-o",
            str(out / "preset.csv"),
            "--force",
        ],
    ]
    for step in steps:
        print("$ audio-style " + " ".join(step), flush=True)
        code = cli(step)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
