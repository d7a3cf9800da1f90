"""ONNX graphs of the engine's parallel kernels, built in code with ``onnx.helper``.

Only operators every execution provider runs (MatMul, Mul, Add, Gather, Slice, Concat,
Reshape, Transpose, ReduceSum, Cast) are used: ONNX's DFT has no CUDA kernel in onnxruntime,
so transforms are matrix products that map onto cuBLAS (and tensor cores in fp16).

* :func:`fir_graph` -- causal FIR filtering of many rows at once as a block-Toeplitz matrix
  product: the signal is cut into blocks of ``B`` samples, each output block is the product of
  the ``K = 1 + (taps - 1) / B`` input blocks ending with it and a ``(K B, B)`` Toeplitz matrix
  gathered from the row's taps inside the graph (``K B ~ taps + B`` multiply-adds per sample).
* :func:`stft_graph` -- long-term power sums of Hann-windowed frames through a two-factor
  Cooley-Tukey DFT (``N = N1 N2``: a DFT over ``N1``, twiddles, a DFT over ``N2``), so the
  matrices stay small (``N1 + N2`` multiply-adds per sample and frame instead of ``N``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
INT64_MAX = 2**63 - 1
_DTYPES = {"fp32": (TensorProto.FLOAT, np.float32), "fp16": (TensorProto.FLOAT16, np.float16)}


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value: NDArray[np.generic], stem: str = "c") -> str:
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def ints(self, values: list[int]) -> str:
        return self.const(np.asarray(values, dtype=np.int64), "i")

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, **attrs: Any) -> str:
        out = self.name(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def cast(self, x: str, to: int) -> str:
        return self.op("Cast", [x], to=to)

    def model(
        self, inputs: list[onnx.ValueInfoProto], outputs: list[tuple[str, str, int]]
    ) -> bytes:
        """The model; ``outputs`` are (tensor, output name, rank), all float32."""
        outs = []
        for src, name, rank in outputs:
            self.nodes.append(helper.make_node("Identity", [src], [name]))
            shape = [f"{name}_{i}" for i in range(rank)]
            outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        graph = helper.make_graph(self.nodes, "audio_style", inputs, outs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8  # readable by every onnxruntime >= 1.14
        onnx.checker.check_model(m)
        return bytes(m.SerializeToString())


def toeplitz_index(block: int, taps: int) -> NDArray[np.int32]:
    """``idx[i, k] = k + taps - 1 - i`` where that is a tap, else ``taps`` (a zero)."""
    k_blocks = 1 + (taps - 1) // block
    i = np.arange(k_blocks * block)[:, None]
    k = np.arange(block)[None, :]
    m = k + taps - 1 - i
    return np.where((m >= 0) & (m < taps), m, taps).astype(np.int32)


def fir_graph(block: int, taps: int, precision: str = "fp32") -> bytes:
    """Causal FIR of many rows: ``x`` (rows, M, block) float32 -- a signal cut into blocks whose
    first ``taps - 1`` samples are history -- and ``h`` (rows, taps) float32 give ``y`` (rows,
    (M - K + 1) * block) float32 with ``y[t] = sum_m h[m] s[t + taps - 1 - m]``.

    ``taps - 1`` must be a multiple of ``block``. ``precision="fp16"`` multiplies in half
    precision (inputs and products rounded to 11 bits)."""
    if (taps - 1) % block:
        raise ValueError("taps - 1 must be a multiple of block")
    dt, _ = _DTYPES[precision]
    k_blocks = 1 + (taps - 1) // block
    b = _Builder()
    # Toeplitz matrices of every row: Gather the taps (plus one zero) by a constant index
    h_ext = b.op("Pad", ["h", b.ints([0, 0, 0, 1])], mode="constant")
    w = b.op("Gather", [h_ext, b.const(toeplitz_index(block, taps), "idx")], axis=1)
    # frames: K consecutive blocks side by side (rows, M - K + 1, K * block)
    parts = []
    for q in range(k_blocks):
        end = q - (k_blocks - 1) if q < k_blocks - 1 else INT64_MAX
        parts.append(b.op("Slice", ["x", b.ints([q]), b.ints([end]), b.ints([1])]))
    frames = b.op("Concat", parts, axis=2) if len(parts) > 1 else parts[0]
    if dt != TensorProto.FLOAT:
        frames, w = b.cast(frames, dt), b.cast(w, dt)
    y = b.op("MatMul", [frames, w])
    if dt != TensorProto.FLOAT:
        y = b.cast(y, TensorProto.FLOAT)
    y = b.op("Reshape", [y, b.ints([0, -1])])
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", "blocks", block]),
        helper.make_tensor_value_info("h", TensorProto.FLOAT, ["rows", taps]),
    ]
    return b.model(inputs, [(y, "y", 2)])


def split_fft(n: int) -> tuple[int, int]:
    """``n = n1 * n2`` with ``n1 <= n2`` as close to ``sqrt(n)`` as the factors allow."""
    n1 = int(np.floor(np.sqrt(n)))
    while n % n1:
        n1 -= 1
    return n1, n // n1


def stft_graph(n_fft: int, window: NDArray[np.float64], precision: str = "fp32") -> bytes:
    """Power sums of windowed frames: ``x`` (channels, frames, n_fft) float32 gives ``power``
    (channels, n_fft // 2 + 1) = sum over frames of ``|X|^2`` and ``cross`` (n_fft // 2 + 1,)
    = sum of ``Re(X_first X_last*)`` (the L/R cross spectrum for stereo), both float32.

    In fp16 the frames are scaled by ``1 / sqrt(n_fft)`` so the transform stays in range; the
    power is formed in fp32 and scaled back."""
    dt, npdt = _DTYPES[precision]
    n1, n2 = split_fft(n_fft)
    bins = n_fft // 2 + 1
    scale = 1.0 if dt == TensorProto.FLOAT else 1.0 / np.sqrt(n_fft)
    k1 = np.arange(n1)
    c1 = np.exp(-2j * np.pi * np.outer(k1, k1) / n1)  # [k1, n1]
    tw = np.exp(-2j * np.pi * np.outer(k1, np.arange(n2)) / n_fft)  # [k1, n2]
    c2 = np.exp(-2j * np.pi * np.outer(np.arange(n2), np.arange(n2)) / n2)  # [n2, k2]
    b = _Builder()

    def mat(z: NDArray[np.complex128]) -> tuple[str, str]:
        return b.const(z.real.astype(npdt)), b.const(z.imag.astype(npdt))

    c1r, c1i = mat(c1)
    twr, twi = mat(tw)
    c2r, c2i = mat(c2)
    xw = b.op("Mul", ["x", b.const((window * scale).astype(np.float32), "window")])
    if dt != TensorProto.FLOAT:
        xw = b.cast(xw, dt)
    x4 = b.op("Reshape", [xw, b.ints([0, 0, n1, n2])])  # [c, f, n1, n2]: x[n2 * n1_ + n2_]
    ar = b.op("MatMul", [c1r, x4])  # [c, f, k1, n2]
    ai = b.op("MatMul", [c1i, x4])
    br = b.op("Sub", [b.op("Mul", [ar, twr]), b.op("Mul", [ai, twi])])
    bi = b.op("Add", [b.op("Mul", [ar, twi]), b.op("Mul", [ai, twr])])
    xr = b.op("Sub", [b.op("MatMul", [br, c2r]), b.op("MatMul", [bi, c2i])])  # [c, f, k1, k2]
    xi = b.op("Add", [b.op("MatMul", [br, c2i]), b.op("MatMul", [bi, c2r])])
    if dt != TensorProto.FLOAT:
        xr, xi = b.cast(xr, TensorProto.FLOAT), b.cast(xi, TensorProto.FLOAT)
    power = b.op("Add", [b.op("Mul", [xr, xr]), b.op("Mul", [xi, xi])])
    power = b.op("ReduceSum", [power, b.ints([1])], keepdims=0)  # [c, k1, k2]
    first = b.const(np.asarray(0, dtype=np.int64), "first")
    last = b.const(np.asarray(-1, dtype=np.int64), "last")

    def pick(t: str, i: str) -> str:
        return b.op("Gather", [t, i], axis=0)  # [f, k1, k2]

    cross = b.op(
        "Add",
        [
            b.op("Mul", [pick(xr, first), pick(xr, last)]),
            b.op("Mul", [pick(xi, first), pick(xi, last)]),
        ],
    )
    cross = b.op("ReduceSum", [cross, b.ints([0])], keepdims=1)  # [1, k1, k2]

    def onesided(t: str) -> str:  # [c, k1, k2] -> bins k = k1 + n1 * k2 -> [c, bins]
        t = b.op("Transpose", [t], perm=[0, 2, 1])
        t = b.op("Reshape", [t, b.ints([0, -1])])
        t = b.op("Slice", [t, b.ints([0]), b.ints([bins]), b.ints([1])])
        if scale != 1.0:
            t = b.op("Mul", [t, b.const(np.asarray(1.0 / scale**2, dtype=np.float32))])
        return t

    cross_out = b.op("Reshape", [onesided(cross), b.ints([-1])])
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["channels", "frames", n_fft])]
    return b.model(
        inputs,
        [
            (onesided(power), "power", 2),
            (cross_out, "cross", 1),
        ],
    )
