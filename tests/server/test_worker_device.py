"""ENABLE_GPU decides which engine device a worker's jobs run with."""

from __future__ import annotations

from pathlib import Path

from server.config import load_settings
from server.worker.runner import gpu_enabled, job_device


def test_enable_gpu_selects_the_job_device(tmp_path: Path) -> None:
    cpu_worker = load_settings(tmp_path, env={}, persist_secret=False)
    gpu_worker = load_settings(tmp_path, env={"ENABLE_GPU": "true"}, persist_secret=False)
    assert not gpu_enabled(cpu_worker) and gpu_enabled(gpu_worker)
    assert job_device("auto", cpu_worker) == "cpu"
    assert job_device("auto", gpu_worker) == "auto"  # the engine finds the GPU or falls back
    assert job_device("cpu", gpu_worker) == "cpu"
    assert job_device("gpu", cpu_worker) == "gpu"  # E402 there (retryable): another worker
