"""engine.dsp.iir.sosfilt equals scipy.signal.sosfilt (streamed, with state, any axis)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy.signal import butter
from scipy.signal import sosfilt as scipy_sosfilt

from engine.analysis.loudness import k_weighting_sos
from engine.dsp.iir import sosfilt


def test_matches_scipy_on_blocks_with_state() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5000, 2))
    for sos in (k_weighting_sos(48000), butter(6, 0.1, output="sos")):
        ref, _ = scipy_sosfilt(sos, x, axis=0, zi=np.zeros((sos.shape[0], 2, 2)))
        zi = np.zeros((sos.shape[0], 2, 2))
        parts = []
        for a in range(0, len(x), 777):
            y, zi = sosfilt(sos, x[a : a + 777], axis=0, zi=zi)
            parts.append(y)
        assert np.max(np.abs(np.concatenate(parts) - ref)) < 1e-12
        y1, zf = sosfilt(sos, x[:, 1])
        r1, rz = scipy_sosfilt(sos, x[:, 1], zi=np.zeros((sos.shape[0], 2)))
        assert np.array_equal(y1, r1) and np.allclose(zf, rz)


def test_cli_match_path_does_not_import_scipy_signal() -> None:
    code = "import sys, engine.pipeline, engine.cli; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
