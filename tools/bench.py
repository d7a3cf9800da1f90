"""``make bench``: the project's own quality and speed benchmark against Matchering.

Quality: generated cases with a known answer — a synthetic song is "mastered" with a known
style (shelves, a peak, compression, width, loudness) to make the truth, another part of the
same song (same-song) or another song (cross-song) with the same style is the reference, and a
rough mix of the first part is the target. Scores: log-spectral STFT distance to the truth,
LUFS error to the reference, tonal (1/3-octave) error, true peak.
Speed and memory: the whole ``audio-style match`` process versus Matchering 2.0 on a 180 s
stereo 44.1 kHz file (wall time and the command's own peak RSS, ``VmHWM``; medians of ``--speed-runs``
alternating runs, since single runs on a shared machine vary by about 30 %). Matchering (GPLv3) is installed
into a separate venv only for this benchmark; it is never a dependency of audio-style.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt

from engine import io
from engine.analysis.loudness import integrated_lufs
from engine.analysis.peaks import true_peak_dbtp
from engine.eqfit import biquad_coeffs
from tools.demo import synth_song

F64 = NDArray[np.float64]
SR = 44100


def _biquad(x: F64, kind: str, f: float, g: float, q: float) -> F64:
    c = biquad_coeffs(kind, f, g, q, SR)
    sos = np.concatenate([c[:3] / c[3], c[3:] / c[3]])[None, :]
    return np.asarray(sosfilt(sos, x, axis=0), dtype=np.float64)


def _style(x: F64, p: dict[str, float]) -> F64:
    y = _biquad(x, "low_shelf", p["ls_f"], p["ls_g"], 0.7)
    y = _biquad(y, "peak", p["pk_f"], p["pk_g"], 1.0)
    y = _biquad(y, "high_shelf", p["hs_f"], p["hs_g"], 0.7)
    env = np.sqrt(sosfilt(butter(1, 8.0, fs=SR, output="sos"), np.mean(y**2, axis=1)) + 1e-12)
    lvl = 20 * np.log10(env)
    thr = np.percentile(lvl, 60)
    gain = np.where(lvl > thr, (thr - lvl) * (1 - 1 / p["ratio"]), 0.0)
    y = y * 10 ** (gain / 20)[:, None]
    m, s = (y[:, 0] + y[:, 1]) / 2, (y[:, 0] - y[:, 1]) / 2 * p["width"]
    y = np.stack([m + s, m - s], axis=1)
    y = y * 10 ** ((p["lufs"] - integrated_lufs(y, SR)) / 20)
    return np.asarray(np.clip(y, -0.89, 0.89), dtype=np.float64)


def _rough(x: F64, rng: np.random.Generator) -> F64:
    y = _biquad(x, "high_shelf", 3000.0, float(rng.uniform(-5, 3)), 0.7)
    return y * 10 ** ((float(rng.uniform(-24, -18)) - integrated_lufs(y, SR)) / 20)


def make_cases(root: Path, n: int, length_s: float = 12.0) -> list[Path]:
    """Write ``n`` cases (alternating same-song / cross-song) under ``root``."""
    rng = np.random.default_rng(2024)
    cases = []
    for i in range(n):
        d = root / f"case{i:02d}"
        cases.append(d)
        if (d / "truth.wav").exists():
            continue
        d.mkdir(parents=True, exist_ok=True)
        song = synth_song(100 + i, 2 * length_s + 2, SR)
        a = song[: int(length_s * SR)]
        b = song[int((length_s + 2) * SR) :] if i % 2 == 0 else synth_song(500 + i, length_s, SR)
        p = {
            "ls_f": float(rng.uniform(60, 200)),
            "ls_g": float(rng.uniform(-6, 6)),
            "pk_f": float(np.exp(rng.uniform(np.log(300), np.log(4000)))),
            "pk_g": float(rng.uniform(-6, 6)),
            "hs_f": float(rng.uniform(3000, 10000)),
            "hs_g": float(rng.uniform(-6, 6)),
            "ratio": float(rng.uniform(1.5, 4)),
            "width": float(rng.uniform(0.6, 1.5)),
            "lufs": float(rng.uniform(-14, -9)),
        }
        io.write_audio(d / "truth.wav", _style(a, p), SR, "wav32f", force=True)
        io.write_audio(d / "reference.wav", _style(b, p), SR, "wav32f", force=True)
        io.write_audio(d / "target.wav", _rough(a, rng), SR, "wav32f", force=True)
        (d / "meta.json").write_text(json.dumps({"cross_song": i % 2 == 1, "style": p}))
    return cases


def lsd_db(x: F64, y: F64) -> float:
    """Log-spectral distance (dB) of 2048-point STFT frames, both loudness-normalised."""
    n = min(len(x), len(y))

    def spec(s: F64) -> F64:
        m = s[:n].mean(axis=1)
        m = m / (np.sqrt(np.mean(m**2)) + 1e-12)
        frames = np.lib.stride_tricks.sliding_window_view(m, 2048)[::1024] * np.hanning(2048)
        return np.asarray(10 * np.log10(np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-10))

    return float(np.mean(np.abs(spec(x) - spec(y))))


def tonal_db(x: F64, y: F64) -> float:
    """RMS difference over 1/3-octave bands (31.5 Hz-16 kHz) after loudness normalisation."""

    def levels(s: F64) -> F64:
        s = s * 10 ** ((-23 - integrated_lufs(s, SR)) / 20)
        f = np.fft.rfftfreq(len(s), 1 / SR)
        p = np.abs(np.fft.rfft(s.mean(axis=1))) ** 2
        c = 1000 * 2.0 ** (np.arange(-15, 13) / 3)
        return np.array(
            [
                10 * np.log10(p[(f >= fc * 2 ** -(1 / 6)) & (f < fc * 2 ** (1 / 6))].sum() + 1e-12)
                for fc in c
            ]
        )

    return float(np.sqrt(np.mean((levels(x) - levels(y)) ** 2)))


def run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd``; return wall seconds, peak RSS in MB, exit status.

    The peak is the command's own ``VmHWM`` (polled from ``/proc`` every 10 ms): ``wait4``'s
    ``ru_maxrss`` also counts the pages the child shared with this (large) process between
    fork and exec, which overstated a small command's peak by this process's size. Where
    ``/proc`` is missing, ``ru_maxrss`` is the fallback.
    """
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hwm_kb = 0
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        hwm_kb = max(hwm_kb, _vm_hwm_kb(p.pid))
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, (hwm_kb or usage.ru_maxrss) / 1024.0, p.returncode


def _vm_hwm_kb(pid: int) -> int:
    """Peak resident set of a running process (kB), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


MG_SCRIPT = (
    "import sys, matchering as mg; mg.log(lambda *a: None); "
    "mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])"
)


def matchering_python(root: Path) -> Path | None:
    """A separate venv with Matchering for the benchmark only (None if it can't be made)."""
    venv = root / "matchering-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)])
        if r.returncode == 0:
            r = subprocess.run([str(py), "-m", "pip", "install", "-q", "matchering"])
        if r.returncode != 0:
            return None
    return py


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", default="artifacts/bench")
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--speed-seconds", type=float, default=180.0)
    ap.add_argument("--no-matchering", action="store_true")
    ap.add_argument("--speed-runs", type=int, default=5)
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cli = str(Path(sys.executable).with_name("audio-style"))
    mg = None if a.no_matchering else matchering_python(out)
    rows: dict[str, list[dict[str, float]]] = {"ours": [], "matchering": [], "lufs": []}
    for case in make_cases(out / "cases", a.cases):
        truth = np.asarray(io.read_audio(case / "truth.wav", dtype="float64")[0], dtype=np.float64)
        ref = np.asarray(
            io.read_audio(case / "reference.wav", dtype="float64")[0], dtype=np.float64
        )
        tgt = np.asarray(io.read_audio(case / "target.wav", dtype="float64")[0], dtype=np.float64)
        cross = json.loads((case / "meta.json").read_text())["cross_song"]
        outs = {"ours": case / "ours.wav", "matchering": case / "matchering.wav"}
        subprocess.run(
            [
                cli,
                "match",
                str(case / "target.wav"),
                "--reference",
                str(case / "reference.wav"),
                "-o",
                str(outs["ours"]),
                "--force",
                "-q",
            ],
            check=True,
        )
        if mg is not None and not outs["matchering"].exists():
            subprocess.run(
                [
                    str(mg),
                    "-c",
                    MG_SCRIPT,
                    str(case / "target.wav"),
                    str(case / "reference.wav"),
                    str(outs["matchering"]),
                ],
                check=True,
            )
        ys: dict[str, F64] = {
            "lufs": tgt * 10 ** ((integrated_lufs(ref, SR) - integrated_lufs(tgt, SR)) / 20)
        }
        for k, p in outs.items():
            if p.exists():
                ys[k] = np.asarray(io.read_audio(p, dtype="float64")[0], dtype=np.float64)
        for k, y in ys.items():
            rows[k].append(
                {
                    "cross": float(cross),
                    "lsd_db": lsd_db(y, truth),
                    "tonal_db": tonal_db(y, truth),
                    "ref_lufs_err": abs(integrated_lufs(y, SR) - integrated_lufs(ref, SR)),
                    "tp_dbtp": true_peak_dbtp(y, SR),
                }
            )
    summary: dict[str, object] = {}
    print(f"\nquality, medians (same-song | cross-song); {a.cases} generated cases")
    print(f"{'system':11s} {'lsd_db':>15s} {'tonal_db':>15s} {'ref_lufs_err':>15s} {'max tp':>8s}")
    for k, rs in rows.items():
        if not rs:
            continue

        def med(key: str, c: bool, rs: list[dict[str, float]] = rs) -> float:
            return float(np.median([r[key] for r in rs if bool(r["cross"]) == c]))

        line = {m: (med(m, False), med(m, True)) for m in ("lsd_db", "tonal_db", "ref_lufs_err")}
        tp = max(r["tp_dbtp"] for r in rs)
        summary[k] = {**line, "max_tp_dbtp": tp}
        print(
            f"{k:11s} "
            + " ".join(f"{v[0]:7.2f}|{v[1]:7.2f}" for v in line.values())
            + f" {tp:8.2f}"
        )
    # speed / memory on a long file
    long_dir = out / "speed"
    long_dir.mkdir(exist_ok=True)
    t_path, r_path = long_dir / "target.wav", long_dir / "reference.wav"
    if not t_path.exists():
        io.write_audio(t_path, synth_song(7, a.speed_seconds) * 0.5, SR, "wav24", force=True)
        io.write_audio(r_path, synth_song(8, a.speed_seconds), SR, "wav24", force=True)
    ours_cmd = [
        cli,
        "match",
        str(t_path),
        "--reference",
        str(r_path),
        "-o",
        str(long_dir / "ours.wav"),
        "--force",
        "-q",
    ]
    cmds = {"ours": ours_cmd}
    if mg is not None:
        cmds["matchering"] = [
            str(mg),
            "-c",
            MG_SCRIPT,
            str(t_path),
            str(r_path),
            str(long_dir / "mg.wav"),
        ]
    # alternate the systems and take medians: on a shared machine single runs vary by +-30 %
    runs: dict[str, list[tuple[float, float, int]]] = {k: [] for k in cmds}
    for _ in range(max(1, a.speed_runs)):
        for k, cmd in cmds.items():
            runs[k].append(run_measured(cmd))
    speed: dict[str, dict[str, object]] = {}
    walls: dict[str, float] = {}
    rsss: dict[str, float] = {}
    for k, measured in runs.items():
        walls[k] = float(np.median([m[0] for m in measured]))
        rsss[k] = float(np.median([m[1] for m in measured]))
        speed[k] = {
            "wall_s": walls[k],
            "peak_rss_mb": rsss[k],
            "rc": max(m[2] for m in measured),
            "walls_s": [round(m[0], 2) for m in measured],
        }
    print(
        f"\nspeed/memory, whole process, {a.speed_seconds:.0f} s stereo 44.1 kHz "
        f"(median of {max(1, a.speed_runs)} alternating runs)"
    )
    for k, v in speed.items():
        print(
            f"{k:11s} wall {walls[k]:6.2f} s   peak RSS {rsss[k]:7.0f} MB   "
            f"rc={v['rc']}   runs {v['walls_s']}"
        )
    if "matchering" in walls:
        ratio = {
            "wall": walls["ours"] / walls["matchering"],
            "peak_rss": rsss["ours"] / rsss["matchering"],
        }
        speed["ratio"] = dict(ratio)
        print(f"ours / matchering: wall {ratio['wall']:.2f} x, peak RSS {ratio['peak_rss']:.2f} x")
    summary["speed"] = speed
    (out / "bench.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
