"""Learned style estimator: predicts the match plan's EQ curve, width change and dynamics goal
from analysis features of the target and the reference (``engine.estimator.features``).

The model is a small MLP trained on synthetic pairs (``make train``,
``tools/training``) and shipped as ONNX in ``resources/models``; inference runs
through onnxruntime on the CPU (a few hundred microseconds), never through PyTorch.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.estimator.features import N_BANDS, N_OUTPUTS, SideInfo, pair_features
from engine.resources import resource_path
from engine.schema.errors import AudioStyleError, ErrorCode

F64 = NDArray[np.float64]
MODEL_FILE = "style-estimator.onnx"
CARD_FILE = "style-estimator.json"


@dataclass
class StyleEstimate:
    """What the estimator predicts for one target (averaged over its references)."""

    mid_band_db: F64  # EQ to apply to the target's mid, per 1/3-octave band (level-free)
    width_band_db: F64  # side-minus-mid change per band (dB)
    st_percentiles: F64  # short-term loudness percentiles 10/50/95 the result should have (LU)


def model_path() -> Path:
    """Where the shipped model is (it may be missing in a source checkout before ``make train``)."""
    return resource_path("models", MODEL_FILE)


def model_card() -> dict[str, Any]:
    """The model card written by training (data, command, metrics), or ``{}``."""
    p = resource_path("models", CARD_FILE)
    return dict(json.loads(p.read_text())) if p.is_file() else {}


@lru_cache(maxsize=2)
def _session(path: str) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as e:  # pragma: no cover - onnxruntime is a core dependency
        raise AudioStyleError(ErrorCode.MODEL_UNAVAILABLE, reason=str(e)) from e
    if not Path(path).is_file():
        raise AudioStyleError(ErrorCode.MODEL_UNAVAILABLE, reason=f"{path} not found (make train)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def preload(path: Path | None = None) -> None:
    """Import onnxruntime and open the model's session now (~50 ms, once per process), so a
    caller with idle time (waiting for another thread) spares the plan that wait; a missing
    model is left for :func:`predict_raw` to report."""
    with contextlib.suppress(AudioStyleError):
        _session(str(path or model_path()))


def predict_raw(features: NDArray[np.float32], path: Path | None = None) -> NDArray[np.float32]:
    """Run the ONNX model on a ``(n, N_FEATURES)`` batch; returns ``(n, N_OUTPUTS)``."""
    sess = _session(str(path or model_path()))
    out = sess.run(None, {"features": np.ascontiguousarray(features, dtype=np.float32)})[0]
    arr = np.asarray(out, dtype=np.float32)
    if arr.shape != (len(features), N_OUTPUTS):
        raise AudioStyleError(ErrorCode.MODEL_UNAVAILABLE, reason=f"model output {arr.shape}")
    return arr


def estimate(
    target: SideInfo, references: Sequence[SideInfo], path: Path | None = None
) -> StyleEstimate:
    """Predict the style transfer for ``target`` from one or more ``references`` (the
    predictions for several references are averaged, as the rule-based profiles are)."""
    x = np.stack([pair_features(target, r) for r in references])
    y = predict_raw(x, path).astype(np.float64).mean(axis=0)
    return StyleEstimate(y[:N_BANDS], y[N_BANDS : 2 * N_BANDS], y[2 * N_BANDS :])


__all__ = ["StyleEstimate", "estimate", "model_card", "model_path", "predict_raw", "preload"]
