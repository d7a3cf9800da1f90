"""Prometheus metrics of the workers (scraped from ``WORKER_METRICS_PORT``, or from the API's
``/metrics`` in embedded mode where workers share the process)."""

from __future__ import annotations

import shutil
import subprocess
import threading

from prometheus_client import Counter, Gauge, Histogram

TASKS = Counter(
    "audio_style_worker_tasks_total",
    "Task attempts finished by this worker, by kind and outcome",
    ["kind", "outcome"],
)
DURATION = Histogram(
    "audio_style_task_duration_seconds",
    "Wall time of a task attempt",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)
SPEED = Histogram(
    "audio_style_render_speed_x_realtime",
    "Audio duration / render wall time, per render (chunk or whole file)",
    ["device"],
    buckets=(0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500),
)
STFT = Histogram(
    "audio_style_stft_distance_db",
    "Long-term STFT spectral distance of the output to the reference (dB)",
    buckets=(0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12),
)
MEL = Histogram(
    "audio_style_mel_distance_db",
    "Mel spectral distance of the output to the reference (dB)",
    buckets=(0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12),
)
LUFS_ERR = Histogram(
    "audio_style_lufs_error_lu",
    "abs(integrated loudness of the output - target loudness), LU",
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 6),
)
OUTPUTS = Counter("audio_style_outputs_total", "Outputs written")
TP_OVERS = Counter(
    "audio_style_true_peak_overs_total",
    "Rendered outputs whose final measured true peak exceeds the ceiling",
)
GPU_UTIL = Gauge("audio_style_gpu_utilization_ratio", "GPU utilisation (0..1)", ["gpu"])
BUSY = Gauge("audio_style_worker_busy", "1 while this worker runs a task")


def record_quality(m: dict[str, float]) -> None:
    """Record the quality metrics of one output."""
    OUTPUTS.inc()
    if "stft_distance_db" in m:
        STFT.observe(m["stft_distance_db"])
    if "mel_distance_db" in m:
        MEL.observe(m["mel_distance_db"])
    if "lufs_error_lu" in m:
        LUFS_ERR.observe(abs(m["lufs_error_lu"]))
    if m.get("true_peak_over_db", 0.0) > 0.01:
        TP_OVERS.inc()


def gpu_poller(stop: threading.Event, interval_s: float = 15.0) -> threading.Thread | None:
    """Poll ``nvidia-smi`` for utilisation when a GPU is present (None otherwise)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None

    def loop() -> None:
        while not stop.is_set():
            try:
                out = subprocess.run(
                    [exe, "--query-gpu=index,utilization.gpu", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout
                for line in out.strip().splitlines():
                    idx, util = (x.strip() for x in line.split(","))
                    GPU_UTIL.labels(gpu=idx).set(float(util) / 100.0)
            except (OSError, ValueError, subprocess.SubprocessError):
                pass
            stop.wait(interval_s)

    t = threading.Thread(target=loop, name="gpu-poller", daemon=True)
    t.start()
    return t
