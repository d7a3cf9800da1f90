"""The command's process settings (engine.runtime), checked in a child process so this one
keeps its own."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

CHILD = """
import ctypes, numpy
from engine.runtime import _loaded_blas, one_blas_thread, keep_freed_memory
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
print(one_blas_thread(), threads(), keep_freed_memory())
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt and /proc/self/maps",
)
def test_one_blas_thread_and_freed_memory_kept() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    n_libs = int(out[0].split()[0])
    assert n_libs >= 1  # numpy's OpenBLAS is loaded with numpy
    set_count, after = out[1].split(" ", 1)
    assert int(set_count) == n_libs
    assert after == f"{[1] * n_libs} True"


def test_the_console_script_runs_the_command_entry_point() -> None:
    """``audio-style`` is :func:`engine.runtime.command` (settings first, then the CLI)."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "audio-style"]
    assert script.value == "engine.runtime:command"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from engine.runtime import command; "
            "sys.argv = ['audio-style', '--version']; sys.exit(command())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "0.1.0" in out.stdout + out.stderr
