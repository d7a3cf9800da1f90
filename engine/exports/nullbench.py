"""Dev tool: the null test over benchmark cases (acceptance check of the exports).

    python -m engine.exports.nullbench CASES_DIR [--cases 10]

For each ``caseNNN/{target,reference}.wav`` under ``CASES_DIR``: plan the match, export the
impulse responses at the target's rate, convolve the target with them (scipy) and compare with
the engine's EQ stage: null residual (linear phase, true stereo) and magnitude error (minimum
phase); then the ffmpeg chain's worst 1/3-octave band. Prints one line per case and the worst.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


def main(argv: list[str] | None = None) -> int:
    from scipy.signal import fftconvolve

    from engine import io
    from engine.exports.ffmpeg import export_ffmpeg
    from engine.exports.ir import impulse_responses
    from engine.exports.verify import residual_db, verify_export
    from engine.pipeline import analyze_file, build_preset, drive
    from engine.render import eq_stage
    from engine.schema.options import MatchOptions

    ap = argparse.ArgumentParser(prog="nullbench")
    ap.add_argument("cases")
    ap.add_argument("--cases", dest="n", type=int, default=10)
    args = ap.parse_args(argv)
    dirs = sorted(p for p in Path(args.cases).iterdir() if (p / "target.wav").is_file())[: args.n]
    worst = [-np.inf, 0.0, 0.0]
    for d in dirs:
        t_an = drive(analyze_file(d / "target.wav"))
        r_an = drive(analyze_file(d / "reference.wav", sample_rate=t_an.sample_rate))
        preset = build_preset(t_an, [r_an], MatchOptions())
        raw, sr = io.read_audio(d / "target.wav", dtype="float64")
        x: NDArray[np.float64] = np.asarray(raw, dtype=np.float64)
        engine = eq_stage(preset, x, sr)
        lin = impulse_responses(preset, sr, "linear")
        ts = lin.true_stereo()
        y = np.stack(
            [
                fftconvolve(x[:, 0], ts[:, 0]) + fftconvolve(x[:, 1], ts[:, 2]),
                fftconvolve(x[:, 0], ts[:, 1]) + fftconvolve(x[:, 1], ts[:, 3]),
            ],
            axis=1,
        )[lin.latency : lin.latency + len(x)]
        res = residual_db(engine, y)
        with tempfile.TemporaryDirectory() as tmp:
            from engine.exports.ir import write_impulse_responses

            _, paths = write_impulse_responses(
                preset, Path(tmp) / "mp.wav", sample_rate=sr, phase="minimum"
            )
            mag = verify_export(preset, x, sr, paths[-1]).magnitude_error_db or 0.0
            (Path(tmp) / "eq.af").write_text(export_ffmpeg(preset), encoding="utf-8")
            band = verify_export(preset, x, sr, Path(tmp) / "eq.af").band_error_db
        worst = [max(worst[0], res), max(worst[1], mag), max(worst[2], band)]
        print(
            f"{d.name}: linear-phase null residual {res:.1f} dB, minimum-phase magnitude error "
            f"{mag:.2e} dB, ffmpeg worst 1/3-octave band {band:.3f} dB "
            f"(EQ range {np.ptp(preset.eq.mid.curve.gain_db):.1f} dB)"
        )
    print(
        f"worst of {len(dirs)}: residual {worst[0]:.1f} dB, magnitude {worst[1]:.2e} dB, "
        f"ffmpeg band {worst[2]:.3f} dB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
