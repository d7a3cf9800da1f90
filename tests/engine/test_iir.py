"""engine.dsp.iir: SciPy's sosfilt computed in blocks with public numpy only.

It must equal ``scipy.signal.sosfilt``, be at least as close as SciPy to the exact recursion (a
long-double sequential run), and give bit-identical output for any split of a stream."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import butter
from scipy.signal import sosfilt as scipy_sosfilt

from engine.analysis.loudness import k_weighting_sos
from engine.dsp.iir import BLOCK, SUPER, BiquadStream, sosfilt


def _exact(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Direct form II transposed, one sample at a time, in long double."""
    u = x.astype(np.longdouble)
    for b0, b1, b2, _, a1, a2 in sos.astype(np.longdouble):
        y = np.empty_like(u)
        z1 = z2 = np.longdouble(0)
        for i, v in enumerate(u):
            y[i] = b0 * v + z1
            z1 = b1 * v - a1 * y[i] + z2
            z2 = b2 * v - a2 * y[i]
        u = y
    return u


def test_matches_scipy_on_any_axis() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3 * SUPER + 5000, 2))
    for sos in (k_weighting_sos(48000), butter(6, 0.1, output="sos")):
        ref = scipy_sosfilt(sos, x, axis=0)
        assert np.max(np.abs(sosfilt(sos, x, axis=0) - ref)) < 1e-12
        assert np.max(np.abs(sosfilt(sos, x.T, axis=-1) - ref.T)) < 1e-12


@pytest.mark.parametrize("sample_rate", [8000, 48000, 192000])
def test_as_close_to_the_exact_recursion_as_scipy(sample_rate: int) -> None:
    # the 38 Hz pole pair of K-weighting sits closest to z = 1 at high rates
    sos = k_weighting_sos(sample_rate)
    x = np.random.default_rng(1).standard_normal(5 * SUPER + 17)
    exact = _exact(sos, x)
    ours = np.max(np.abs(sosfilt(sos, x) - exact))
    theirs = np.max(np.abs(scipy_sosfilt(sos, x) - exact))
    assert ours <= max(2.0 * theirs, 1e-14), (ours, theirs)


def test_any_split_of_a_stream_gives_the_same_bits() -> None:
    sos = k_weighting_sos(44100)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(4 * SUPER + 999)
    whole = BiquadStream(sos).process(x)
    for sizes in ([1, 17, BLOCK, SUPER - 1, SUPER, SUPER + 1], [5000] * 4, [len(x)]):
        stream, parts, pos = BiquadStream(sos), [], 0
        i = 0
        while pos < len(x):
            n = sizes[i % len(sizes)]
            parts.append(stream.process(x[pos : pos + n]))
            pos += n
            i += 1
        assert np.array_equal(np.concatenate(parts), whole)


def test_peek_leaves_the_stream_alone_and_short_signals() -> None:
    sos = butter(4, 0.2, output="sos")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(SUPER + 100)
    stream = BiquadStream(sos)
    first = stream.process(x[:150])
    ahead = stream.peek(x[150:])
    assert np.array_equal(stream.process(x[150:]), ahead)
    assert np.max(np.abs(np.concatenate((first, ahead)) - scipy_sosfilt(sos, x))) < 1e-12
    assert BiquadStream(sos).process(np.zeros(0)).shape == (0,)
    for n in (1, BLOCK - 1, BLOCK + 1):
        y = sosfilt(sos, x[:n])
        assert y.shape == (n,) and np.max(np.abs(y - scipy_sosfilt(sos, x[:n]))) < 1e-12


def test_importing_the_cli_does_not_import_scipy_signal() -> None:
    # scipy.signal (about a second of imports) is not needed: the filter is numpy only
    code = "import sys, engine.pipeline, engine.cli; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_threads_reaching_the_first_filter_and_transform_at_once() -> None:
    # a match analyses target and references on two threads; both reach the first filter and
    # the first transform (which build the filter's tables / import scipy.fft) at about the
    # same time
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
        "        y = iir.sosfilt(sos, x)\n"
        "        spec = fft.rfft(y.astype(np.float32))\n"
        "        assert y.shape == x.shape and spec.dtype == np.complex64\n"
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
