"""The command's process settings (engine.runtime), checked in a child process so this one
keeps its own."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

CHILD = """
import ctypes, numpy
from engine.runtime import _loaded_blas, tune_process, keep_freed_memory
libs = _loaded_blas()
getters = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
           "openblas_get_num_threads64_", "openblas_get_num_threads")
def threads():
    out = []
    for p in libs:
        lib = ctypes.CDLL(p)
        g = next(getattr(lib, n) for n in getters if hasattr(lib, n))
        out.append(g())
    return out
print(len(libs), threads())
tune_process()
print(threads(), keep_freed_memory())
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt and /proc/self/maps",
)
def test_tune_process_leaves_one_blas_thread_and_keeps_freed_memory() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    n_libs = int(out[0].split()[0])
    assert n_libs >= 1  # numpy's OpenBLAS is loaded with numpy
    after, kept = out[1].rsplit(" ", 1)
    assert after == str([1] * n_libs)
    assert kept == "True"
