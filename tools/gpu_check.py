"""``make gpu-check``: parity of the onnxruntime backend with the numpy backend, and the
throughput of the batched EQ, on CUDA when this machine has it (else on the CPU provider).

Parity (generated signals, peaks near 0 dBFS): the render's streaming mid/side EQ, a whole
render, the batched EQ of several files and the long-term spectra, each as the largest
difference from the numpy backend (dBFS for audio, dB for spectra). Throughput: a batch of
generated stereo tracks (default 32 x 3 minutes at 48 kHz) mid/side EQ'd through per-track
presets by :func:`engine.render.eq_batch` on the onnxruntime backend and on the numpy backend
on the same machine, and the same tracks' spectrum analysis.

Usage: ``python -m tools.gpu_check [--tracks N] [--seconds S] [--require-cuda]``. Exit status
0 when every check that ran passed; 1 when a parity check failed; 3 with ``--require-cuda`` and
no CUDA provider.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.analysis.spectrum import SpectrumAccumulator, log_grid, power_db, to_log_grid
from engine.backends import Backend, cuda_status, numpy_backend, reason_text
from engine.render import BLOCK_FRAMES, eq_batch, eq_stage, render_array_stats
from engine.schema.preset import (
    ChannelEq,
    DynamicsSettings,
    EqCurve,
    EqSettings,
    LoudnessSettings,
    Preset,
)

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
SR = 48000
# acceptance: -90 dBFS on the CPU provider, -80 dBFS on CUDA; spectra in dB (fp16 on the GPU)
TOL_CPU_DBFS = -90.0
TOL_CUDA_DBFS = -80.0
TOL_SPECTRUM_FP32_DB = 0.01
TOL_SPECTRUM_FP16_DB = 0.1
SPECTRUM_RANGE_DB = 80.0  # spectra compared within this range below their maximum


def make_signal(seconds: float, channels: int = 2, seed: int = 0, sr: int = SR) -> F64:
    """Pink-ish noise with a steep top octave, a few loud sines and a transient; peak -0.5
    dBFS, left and right partly correlated (mid and side both matter)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    shape = 1.0 / np.sqrt(np.maximum(f, 20.0) / 1000.0) / np.maximum(1.0, (f / 8000.0) ** 2)
    x = np.fft.irfft(spec * shape[:, None], n, axis=0)
    if channels == 2:
        x[:, 1] = 0.7 * x[:, 0] + 0.3 * x[:, 1]
    t = np.arange(n) / sr
    for hz, amp in ((55.0, 1.0), (440.0, 0.5), (5000.0, 0.2)):
        x += amp * np.sin(2 * np.pi * hz * t + rng.uniform(0, 6.28))[:, None] * x.std()
    x[n // 2 : n // 2 + 32] += 4 * x.std()
    return np.asarray(x * (10 ** (-0.5 / 20) / np.max(np.abs(x))), dtype=np.float64)


def make_preset(seed: int = 0, dynamics: bool = True) -> Preset:
    """A preset with random +-12 dB mid and side EQ curves (and a 2:1 compressor)."""
    rng = np.random.default_rng(1000 + seed)
    freqs = np.geomspace(20.0, 20000.0, 64)

    def curve() -> ChannelEq:
        g = np.convolve(rng.uniform(-12, 12, 64), np.ones(5) / 5, mode="same")
        return ChannelEq(curve=EqCurve(freqs_hz=freqs.tolist(), gain_db=g.tolist()))

    return Preset(
        eq=EqSettings(mid=curve(), side=curve()),
        dynamics=DynamicsSettings(enabled=dynamics, threshold_lu=-4.0, ratio=2.0),
        loudness=LoudnessSettings(target_lufs=-12.0),
    )


def _dbfs(diff: NDArray[np.floating]) -> float:
    return float(20.0 * np.log10(max(float(np.max(np.abs(diff))), 1e-15)))


def _eq_stream(x: F64, preset: Preset, backend: Backend) -> F64:
    return eq_stage(preset, x, SR, backend)


def _spectra(x: F64, backend: Backend) -> dict[str, F64]:
    acc = SpectrumAccumulator(SR, x.shape[1], backend=backend)
    for i in range(0, len(x), BLOCK_FRAMES):
        acc.push(x[i : i + BLOCK_FRAMES])
    freqs = log_grid(SR)
    keys = ("mid", "side") if x.shape[1] == 2 else ("mid",)
    return {k: power_db(to_log_grid(acc.mean_power(k), SR, acc.n_fft, freqs)) for k in keys}


def spectrum_error_db(x: F64, backend: Backend) -> float:
    """Largest |dB| difference of the log-grid mid/side spectra from numpy's, within
    :data:`SPECTRUM_RANGE_DB` of each spectrum's maximum."""
    ref, got = _spectra(x, numpy_backend()), _spectra(x, backend)
    worst = 0.0
    for k, r in ref.items():
        sel = r > r.max() - SPECTRUM_RANGE_DB
        worst = max(worst, float(np.max(np.abs(got[k][sel] - r[sel]))))
    return worst


def batch_tracks(seconds: float) -> tuple[list[Preset], list[F64]]:
    """Five tracks of different lengths (three stereo, two mono) and their presets."""
    tracks = [
        make_signal(seconds * (1.0 - 0.1 * i), 2 if i % 2 == 0 or i == 1 else 1, seed=10 + i)
        for i in range(5)
    ]
    return [make_preset(i) for i in range(5)], tracks


def parity(backend: Backend, seconds: float = 3.0) -> dict[str, float]:
    """Differences of ``backend`` from the numpy backend on the test signals."""
    x = make_signal(seconds)
    p = make_preset()
    out: dict[str, float] = {}
    out["eq_stream_dbfs"] = _dbfs(_eq_stream(x, p, backend) - _eq_stream(x, p, numpy_backend()))
    a, _ = render_array_stats(p, x, SR, backend=numpy_backend())
    b, _ = render_array_stats(p, x, SR, backend=backend)
    out["render_dbfs"] = _dbfs(a - b)
    presets, tracks = batch_tracks(seconds)
    ya = eq_batch(presets, tracks, SR, numpy_backend())
    yb = eq_batch(presets, tracks, SR, backend)
    out["batch_dbfs"] = max(_dbfs(u - v) for u, v in zip(ya, yb, strict=True))
    out["spectrum_db"] = max(spectrum_error_db(x, backend), spectrum_error_db(x[:, :1], backend))
    return out


# --- throughput ---------------------------------------------------------------------------


@dataclass
class Timing:
    what: str
    backend: str
    seconds: float
    audio_s: float

    @property
    def realtime_x(self) -> float:
        return self.audio_s / max(self.seconds, 1e-9)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def throughput(
    backend: Backend, label: str, tracks: int, seconds: float, log: Callable[[str], None]
) -> tuple[list[Timing], float]:
    """Batched EQ and spectrum analysis of ``tracks`` generated stereo tracks on ``backend``
    and on numpy; returns the timings and the largest output difference (dBFS)."""
    n = int(seconds * SR)
    rng = np.random.default_rng(7)
    log(f"generating {tracks} stereo tracks of {seconds:g} s ...")
    data = [
        (rng.standard_normal((n, 2), dtype=np.float32) * 0.1).astype(np.float64)
        for _ in range(tracks)
    ]
    presets = [make_preset(i, dynamics=False) for i in range(tracks)]
    total_s = tracks * seconds
    # warm-up (sessions, cuBLAS handles, kernels) on a short batch
    eq_batch(presets[:2], [d[: SR * 2] for d in data[:2]], SR, backend)
    _spectra(data[0][: SR * 2], backend)
    log(f"EQ on {label} ...")
    t_be, y_be = _timed(lambda: eq_batch(presets, data, SR, backend))
    log("EQ on numpy ...")
    t_np, y_np = _timed(lambda: eq_batch(presets, data, SR, numpy_backend()))
    worst = max(_dbfs(u - v) for u, v in zip(y_np, y_be, strict=True))
    del y_be, y_np
    log(f"spectrum on {label} ...")
    s_be, _ = _timed(lambda: [_spectra(d, backend) for d in data])
    log("spectrum on numpy ...")
    s_np, _ = _timed(lambda: [_spectra(d, numpy_backend()) for d in data])
    rows = [
        Timing("mid/side EQ batch", label, t_be, total_s),
        Timing("mid/side EQ batch", "numpy (CPU)", t_np, total_s),
        Timing("spectrum analysis", label, s_be, total_s),
        Timing("spectrum analysis", "numpy (CPU)", s_np, total_s),
    ]
    return rows, worst


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make gpu-check``."""
    ap = argparse.ArgumentParser(prog="python -m tools.gpu_check", description=__doc__)
    ap.add_argument("--tracks", type=int, default=None, help="batch size (32 on CUDA, 4 else)")
    ap.add_argument("--seconds", type=float, default=None, help="track length (180 / 10)")
    ap.add_argument("--require-cuda", action="store_true", help="exit 3 without CUDA")
    args = ap.parse_args(argv)

    def say(s: str) -> None:
        print(s, flush=True)

    import onnxruntime as ort

    from engine.backends.ort_backend import OrtBackend

    ok, key, detail = cuda_status()
    say(f"onnxruntime {ort.__version__}; providers: {', '.join(ort.get_available_providers())}")
    if ok:
        backend = OrtBackend.for_gpu()
        label, tol = "onnxruntime CUDA", TOL_CUDA_DBFS
        tol_spec = (
            TOL_SPECTRUM_FP16_DB if backend.spectrum_precision == "fp16" else TOL_SPECTRUM_FP32_DB
        )
        say(f"CUDA: yes; session providers: {', '.join(backend.active_providers())}")
    else:
        say(f"no CUDA provider: {reason_text(key, detail, 'en')}")
        if args.require_cuda:
            return 3
        say("checking the onnxruntime CPU provider instead")
        backend = OrtBackend.for_cpu()
        label, tol, tol_spec = "onnxruntime CPU", TOL_CPU_DBFS, TOL_SPECTRUM_FP32_DB
    tracks = args.tracks or (32 if ok else 4)
    seconds = args.seconds or (180.0 if ok else 10.0)

    say(f"\nparity with the numpy backend ({label}; limits {tol:g} dBFS, {tol_spec:g} dB)")
    par = parity(backend)
    failed = False
    for k, v in par.items():
        limit = tol_spec if k == "spectrum_db" else tol
        good = v <= limit
        failed |= not good
        unit = "dB" if k == "spectrum_db" else "dBFS"
        say(f"  {k:16s} {v:9.4g} {unit:4s}  {'ok' if good else 'FAIL'}")

    say(f"\nthroughput: {tracks} stereo tracks x {seconds:g} s at {SR} Hz")
    rows, worst = throughput(backend, label, tracks, seconds, lambda s: say("  " + s))
    good = worst <= tol
    failed |= not good
    say(f"  batch output vs numpy: {worst:.1f} dBFS  {'ok' if good else 'FAIL'}")
    say(f"\n{'kernel':20s} {'backend':18s} {'wall s':>8s} {'x realtime':>11s} {'speed-up':>9s}")
    base = {r.what: r.seconds for r in rows if r.backend.startswith("numpy")}
    for r in rows:
        speed = base[r.what] / max(r.seconds, 1e-9)
        say(f"{r.what:20s} {r.backend:18s} {r.seconds:8.2f} {r.realtime_x:11.0f} {speed:8.2f}x")
    say("\nresult: " + ("FAIL" if failed else "ok") + ("" if ok else " (no CUDA provider)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
