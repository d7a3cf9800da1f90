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


def test_importing_the_cli_does_not_import_scipy_signal() -> None:
    # scipy.signal (about a second of imports) is not needed: the biquad kernel loads by file
    code = "import sys, engine.pipeline, engine.cli; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_threads_reaching_the_first_filter_and_transform_at_once() -> None:
    # a match analyses target and references on two threads; both reach the first filter and
    # the first transform (which load the kernel / import scipy.fft) at about the same time
    code = (
        "import threading\n"
        "import numpy as np\n"
        "from engine.dsp import fft, iir\n"
        "barrier = threading.Barrier(8)\n"
        "errors = []\n"
        "sos = np.array([[1.0, -2.0, 1.0, 1.0, -1.99, 0.990025]])\n"
        "x = np.random.default_rng(0).standard_normal(4096)\n"
        "def go():\n"
        "    barrier.wait()\n"
        "    try:\n"
        "        y, zf = iir.sosfilt(sos, x)\n"
        "        spec = fft.rfft(y.astype(np.float32))\n"
        "        assert y.shape == x.shape and zf.shape == (1, 2) and spec.dtype == np.complex64\n"
        "    except Exception as e:\n"
        "        errors.append(e)\n"
        "ts = [threading.Thread(target=go) for _ in range(8)]\n"
        "[t.start() for t in ts]\n"
        "[t.join() for t in ts]\n"
        "assert not errors, errors\n"
    )
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
