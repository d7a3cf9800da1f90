"""Compute backends for the engine's heavy, parallel kernels.

Two kernels are routed through a backend: the long-term STFT power sums of the analysis
(:meth:`Backend.spectrum_sums`) and the linear-phase FIR filtering of the mid/side EQ, both
streaming (:meth:`Backend.convolver`, the renderer) and many files at once
(:meth:`Backend.fir_batch`, the worker). Recursive parts (K-weighting, envelope followers,
limiter) stay on the CPU in numpy.

* :class:`~engine.backends.numpy_backend.NumpyBackend` -- the default; exactly what the engine
  computed before backends existed (scipy FFTs).
* ``OrtBackend`` (:mod:`engine.backends.ort_backend`) -- onnxruntime graphs built in code;
  imported lazily. Provider order: CUDA (then TensorRT where installed) -> CPU.

:func:`get_backend` resolves a device setting (``auto``, ``cpu``, ``gpu``): ``auto`` uses the GPU
when onnxruntime has a working CUDA provider and otherwise falls back to the CPU with one
informative log line; ``gpu`` without one raises ``AudioStyleError(GPU_UNAVAILABLE)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine.backends.numpy_backend import NumpyBackend
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.i18n import current_language

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
DEVICES = ("auto", "cpu", "gpu")
log = logging.getLogger(__name__)

__all__ = [
    "DEVICES",
    "Backend",
    "Convolver",
    "NumpyBackend",
    "cuda_status",
    "get_backend",
    "numpy_backend",
]


class Convolver(Protocol):
    """Streaming FIR convolution as :class:`engine.dsp.fir.BlockConvolver` does it: causal
    output of each block (``delay`` samples late), ``flush`` gives the last ``delay``."""

    delay: int

    def process(self, block: F64) -> F64: ...

    def flush(self) -> F64: ...


class Backend(Protocol):
    """What a compute backend offers the engine."""

    name: str  # "numpy" | "onnxruntime"
    device: str  # "cpu" | "cuda" | "tensorrt"

    def spectrum_sums(self, x: F32, n_fft: int) -> tuple[F64, ...]:
        """Power sums over the non-overlapping Hann frames of ``x`` (``(k * n_fft, channels)``,
        float32): ``(|L|^2, |R|^2, Re(L R*))`` per bin for stereo, ``(|mono|^2,)`` otherwise
        (the mono frame is the mean of the channels)."""
        ...

    def convolver(self, filters: list[F64], block_frames: int) -> Convolver:
        """A streaming convolver, one FIR per channel, blocks of at most ``block_frames``."""
        ...

    def fir_batch(self, x: F32, filters: F64) -> F32:
        """Zero-latency filtering of many signals at once: row ``i`` of ``x`` (``(rows,
        frames)``) through the odd-length linear-phase FIR ``filters[i]`` (``(rows, taps)``),
        output aligned with the input."""
        ...


_NUMPY = NumpyBackend()
_lock = threading.Lock()
_cache: dict[str, Backend] = {}
_cuda: tuple[bool, str, str] | None = None
_fallback_logged = False

_FALLBACK = (
    "no usable GPU ({reason}); computing on the CPU",
    "没有可用的 GPU（{reason}），改用 CPU 计算",
)
# why there is no GPU: {key: (english, chinese)}, ``{detail}`` filled in
REASONS: dict[str, tuple[str, str]] = {
    "disabled": ("disabled by {detail}", "已被 {detail} 禁用"),
    "no_onnxruntime": (
        "onnxruntime is not installed ({detail})",
        "未安装 onnxruntime（{detail}）",
    ),
    "no_cuda_provider": (
        "this onnxruntime has no CUDA provider; install the gpu extra (make setup-gpu)",
        "此 onnxruntime 没有 CUDA 执行提供程序；请安装 gpu 扩展（make setup-gpu）",
    ),
    "cuda_failed": (
        "the CUDA provider could not start: no GPU, driver or CUDA libraries ({detail})",
        "CUDA 执行提供程序无法启动：缺少 GPU、驱动或 CUDA 库（{detail}）",
    ),
}


def reason_text(key: str, detail: str = "", lang: str | None = None) -> str:
    """The wording of a no-GPU reason in ``lang`` (default: the current language)."""
    en, zh = REASONS[key]
    return (zh if (lang or current_language()) == "zh" else en).format(detail=detail)


def numpy_backend() -> NumpyBackend:
    """The default backend (numpy/scipy on the CPU)."""
    return _NUMPY


def cuda_status() -> tuple[bool, str, str]:
    """Whether onnxruntime can run on a CUDA GPU here, and if not, why: ``(ok, reason key of
    REASONS, detail)`` (cached).

    ``AUDIO_STYLE_NO_GPU=1`` hides the GPU (tests, a CPU worker: ``ENABLE_GPU=false``)."""
    global _cuda
    with _lock:
        if _cuda is None:
            _cuda = _probe_cuda()
        return _cuda


def _probe_cuda() -> tuple[bool, str, str]:
    if os.environ.get("AUDIO_STYLE_NO_GPU", "").strip() not in ("", "0"):
        return False, "disabled", "AUDIO_STYLE_NO_GPU"
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or spec.origin is None:
        return False, "no_onnxruntime", "onnxruntime"
    # the CPU wheel ships no CUDA provider library: say so without importing onnxruntime/onnx
    capi = Path(spec.origin).parent / "capi"
    if capi.is_dir() and not any(capi.glob("*onnxruntime_providers_cuda*")):
        return False, "no_cuda_provider", ""
    try:
        ort_backend = importlib.import_module("engine.backends.ort_backend")
    except ImportError as exc:  # onnxruntime or onnx not installed
        return False, "no_onnxruntime", str(exc.name or exc)
    ok, key, detail = ort_backend.probe_cuda()
    return bool(ok), str(key), str(detail)


def get_backend(device: str = "auto") -> Backend:
    """The backend for ``device`` (``auto``, ``cpu``, ``gpu``).

    ``cpu`` is the numpy backend; ``gpu`` the onnxruntime backend on CUDA (or raises
    ``AudioStyleError(GPU_UNAVAILABLE)``); ``auto`` the GPU when usable, else the CPU with one
    log line (INFO, logger ``engine.backends``) per process.
    """
    global _fallback_logged
    if device not in DEVICES:
        raise AudioStyleError(
            ErrorCode.BAD_OPTION, name="--device", reason=f"one of {', '.join(DEVICES)}"
        )
    if device == "cpu":
        return _NUMPY
    ok, key, detail = cuda_status()
    if ok:
        return _gpu_backend()
    if device == "gpu":
        raise AudioStyleError(ErrorCode.GPU_UNAVAILABLE, reason=reason_text(key, detail))
    with _lock:
        if not _fallback_logged:
            _fallback_logged = True
            en, zh = _FALLBACK
            text = zh if current_language() == "zh" else en
            log.info(text.format(reason=reason_text(key, detail)))
    return _NUMPY


def _gpu_backend() -> Backend:
    with _lock:
        if "gpu" not in _cache:
            from engine.backends.ort_backend import OrtBackend

            _cache["gpu"] = OrtBackend.for_gpu()
        return _cache["gpu"]


def _reset_for_tests() -> None:
    """Forget the cached probe, backends and the fallback log (tests only)."""
    global _cuda, _fallback_logged
    with _lock:
        _cuda = None
        _fallback_logged = False
        _cache.clear()
