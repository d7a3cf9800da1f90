"""The onnxruntime backend: the graphs of :mod:`engine.backends.graphs` on CUDA (then TensorRT
where installed) or the CPU provider. Imported lazily (``import onnxruntime`` costs time)."""

from __future__ import annotations

import contextlib
import ctypes.util
import importlib.util
import io
import threading
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from engine.backends import graphs
from engine.backends.numpy_backend import hann

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
CPU = "CPUExecutionProvider"
FIR_BLOCK = 512
# fp32 products on CUDA, not TF32 (10-bit mantissa: -60 dB errors); cuBLAS may still pick
# tensor-core kernels for the fp16 graphs
CUDA_OPTIONS = {"use_tf32": "0"}

ort.set_default_logger_severity(3)  # onnxruntime's own warnings are not the user's business


def tensorrt_installed() -> bool:
    """onnxruntime-gpu lists TensorRT whether or not its libraries are there; look for them."""
    if TENSORRT not in ort.get_available_providers():
        return False
    if importlib.util.find_spec("tensorrt") is not None:
        return True
    return any(ctypes.util.find_library(n) for n in ("nvinfer", "nvinfer_10"))


def gpu_providers() -> list[Any]:
    """CUDA, then TensorRT where installed, then the CPU."""
    out: list[Any] = [(CUDA, dict(CUDA_OPTIONS))]
    if tensorrt_installed():
        out.append(TENSORRT)
    out.append(CPU)
    return out


def probe_cuda() -> tuple[bool, str, str]:
    """Whether a session really runs on CUDA here (the gpu wheel lists CUDA even without a
    GPU or driver; the session then silently falls back), and if not, why: ``(ok, reason key,
    detail)`` (keys: :data:`engine.backends.REASONS`)."""
    if CUDA not in ort.get_available_providers():
        return False, "no_cuda_provider", ""
    try:
        sess = _session(graphs.fir_graph(4, 5), gpu_providers(), quiet=True)
        sess.run(None, {"x": np.zeros((1, 2, 4), np.float32), "h": np.zeros((1, 5), np.float32)})
    except Exception as exc:  # driver/library problems surface here
        return False, "cuda_failed", str(exc).splitlines()[0][:160] if str(exc) else "error"
    if CUDA not in sess.get_providers():
        return False, "cuda_failed", "session fell back to the CPU"
    return True, "", ort.__version__


def _session(model: bytes, providers: list[Any], quiet: bool = False) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 4 if quiet else 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sink = io.StringIO()  # onnxruntime prints its provider fallback on stdout
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            return ort.InferenceSession(model, sess_options=opts, providers=providers)
        except Exception:
            plain = [p[0] if isinstance(p, tuple) else p for p in providers]
            if plain == providers:
                raise
            # an onnxruntime that does not know a provider option (use_tf32): without options
            return ort.InferenceSession(model, sess_options=opts, providers=plain)


class OrtConvolver:
    """Streaming causal FIR (one filter per channel) on the backend's FIR graph; the same
    contract as :class:`engine.dsp.fir.BlockConvolver`."""

    def __init__(self, backend: OrtBackend, filters: list[F64]) -> None:
        self.backend = backend
        self.n_taps = len(filters[0])
        self.delay = self.n_taps // 2
        self.h = backend.pad_taps(np.stack(filters))
        self.hist = np.zeros((len(filters), self.h.shape[1] - 1), dtype=np.float32)

    def process(self, block: F64) -> F64:
        """Filter a ``(frames, channels)`` block; causal output, ``delay`` samples late."""
        n = len(block)
        s = np.concatenate([self.hist, np.asarray(block, dtype=np.float32).T], axis=1)
        self.hist = s[:, s.shape[1] - self.hist.shape[1] :].copy()
        y = self.backend.fir_causal(s, self.h)[:, :n]
        return np.asarray(y.T, dtype=np.float64)

    def flush(self) -> F64:
        """The last ``delay`` samples (the filter tails)."""
        return self.process(np.zeros((self.delay, self.h.shape[0])))


class OrtBackend:
    """Spectrum sums and FIR filtering on onnxruntime graphs.

    Parameters
    ----------
    providers
        Execution providers in order (see :func:`gpu_providers`).
    device
        ``cuda`` or ``cpu`` (for reports).
    spectrum_precision, fir_precision
        ``fp32`` or ``fp16`` for the products of each kernel.
    chunk_bytes
        Upper bound of one FIR call's framed input (the batch is cut in time to fit).
    """

    name = "onnxruntime"

    def __init__(
        self,
        providers: list[Any],
        device: str,
        *,
        spectrum_precision: str = "fp32",
        fir_precision: str = "fp32",
        fir_block: int = FIR_BLOCK,
        chunk_bytes: int = 256 << 20,
    ) -> None:
        self.providers = providers
        self.device = device
        self.spectrum_precision = spectrum_precision
        self.fir_precision = fir_precision
        self.fir_block = fir_block
        self.chunk_bytes = chunk_bytes
        self._sessions: dict[tuple[Any, ...], ort.InferenceSession] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_cpu(cls, **kw: Any) -> OrtBackend:
        """The CPU provider (parity tests, reference timings)."""
        return cls([CPU], "cpu", **kw)

    @classmethod
    def for_gpu(cls, **kw: Any) -> OrtBackend:
        """CUDA (then TensorRT) with the CPU as onnxruntime's own fallback for any node.

        The spectrum runs in fp16 (tensor cores; long-term spectra stay within 0.05 dB, see
        ``tests/engine/test_backends.py``); the FIR stays fp32 (fp16 products leave errors
        near -70 dBFS, above the -80 dBFS parity target)."""
        kw.setdefault("spectrum_precision", "fp16")
        kw.setdefault("chunk_bytes", 2 << 30)
        return cls(gpu_providers(), "cuda", **kw)

    def active_providers(self) -> list[str]:
        """Providers of the FIR session (what really runs)."""
        return list(self._fir_session(5).get_providers())

    def _get(self, key: tuple[Any, ...], build: Any) -> ort.InferenceSession:
        with self._lock:
            sess = self._sessions.get(key)
            if sess is None:
                sess = self._sessions[key] = _session(build(), self.providers)
            return sess

    def _fir_session(self, taps: int) -> ort.InferenceSession:
        block = self._block(taps)
        return self._get(
            ("fir", block, taps, self.fir_precision),
            lambda: graphs.fir_graph(block, taps, self.fir_precision),
        )

    def _block(self, taps: int) -> int:
        return min(self.fir_block, max(1, taps - 1))

    # --- spectrum -------------------------------------------------------------------------

    def spectrum_sums(self, x: F32, n_fft: int) -> tuple[F64, ...]:
        """See :meth:`engine.backends.Backend.spectrum_sums`."""
        n = len(x) // n_fft
        if x.shape[1] == 2:
            frames = np.ascontiguousarray(x[: n * n_fft].T, dtype=np.float32)
        else:
            frames = np.asarray(x[: n * n_fft].mean(axis=1), dtype=np.float32)[None, :]
        frames = frames.reshape(frames.shape[0], n, n_fft)
        sess = self._get(
            ("stft", n_fft, self.spectrum_precision),
            lambda: graphs.stft_graph(n_fft, hann(n_fft), self.spectrum_precision),
        )
        power, cross = sess.run(None, {"x": frames})
        p = np.asarray(power, dtype=np.float64)
        if x.shape[1] == 2:
            return p[0], p[1], np.asarray(cross, dtype=np.float64)
        return (p[0],)

    # --- FIR ------------------------------------------------------------------------------

    def pad_taps(self, h: F64) -> F32:
        """Taps padded with zeros at the end so ``taps - 1`` is a multiple of the block."""
        taps = h.shape[1]
        block = self._block(taps)
        padded = 1 + -(-(taps - 1) // block) * block
        out = np.zeros((h.shape[0], padded), dtype=np.float32)
        out[:, :taps] = h
        return out

    def fir_causal(self, s: F32, h: F32) -> F32:
        """Causal filtering of ``s`` (rows, history + frames) whose first ``taps - 1`` samples
        are history; returns (rows, frames rounded up to the block) -- cut to the frames."""
        taps = h.shape[1]
        block = self._block(taps)
        k_blocks = 1 + (taps - 1) // block
        rows, total = s.shape
        frames = total - (taps - 1)
        per_row = max(block, self.chunk_bytes // max(1, rows * 4 * (k_blocks + 2)))
        chunk = max(block, per_row // block * block)
        sess = self._fir_session(taps)
        out = np.empty((rows, -(-frames // block) * block), dtype=np.float32)
        for a in range(0, frames, chunk):
            n = min(chunk, frames - a)
            nb = -(-n // block)
            seg = np.zeros((rows, (nb + k_blocks - 1) * block), dtype=np.float32)
            avail = min(seg.shape[1], total - a)
            seg[:, :avail] = s[:, a : a + avail]
            (y,) = sess.run(None, {"x": seg.reshape(rows, -1, block), "h": h})
            out[:, a : a + nb * block] = y
        return out

    def convolver(self, filters: list[F64], block_frames: int) -> OrtConvolver:
        """See :meth:`engine.backends.Backend.convolver`."""
        return OrtConvolver(self, filters)

    def fir_batch(self, x: F32, filters: F64) -> F32:
        """See :meth:`engine.backends.Backend.fir_batch`."""
        rows, frames = x.shape
        delay = filters.shape[1] // 2
        h = self.pad_taps(filters)
        s = np.zeros((rows, h.shape[1] - 1 + frames), dtype=np.float32)
        # aligned output: delay zeros of history before the signal (odd taps: history - delay
        # = delay), so output sample t sees x[t + delay - m]
        lead = h.shape[1] - 1 - delay
        s[:, lead : lead + frames] = x
        return self.fir_causal(s, h)[:, :frames]
