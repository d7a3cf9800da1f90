"""The command's process settings (engine.runtime), checked in child processes so this one
keeps its own."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

# numpy's OpenBLAS thread count, read through the library numpy loaded
CHILD = """
import ctypes, sys
from engine.runtime import prepare_process
if sys.argv[1] == "prepare":
    prepare_process(["match"])
import numpy
paths = {l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l.lower()}
getters = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
           "openblas_get_num_threads64_", "openblas_get_num_threads")
for p in sorted(paths):
    lib = ctypes.CDLL(p)
    print(next(getattr(lib, n) for n in getters if hasattr(lib, n))())
"""


def _blas_threads(mode: str, env: dict[str, str]) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return [int(n) for n in out]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps")
def test_prepare_process_leaves_one_blas_thread_unless_told_otherwise() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("NUM_THREADS")}
    prepared = _blas_threads("prepare", env)
    assert prepared and set(prepared) == {1}  # numpy's OpenBLAS is loaded with numpy
    if (os.cpu_count() or 1) > 1:
        assert max(_blas_threads("plain", env)) > 1  # the setting is what made it one
    assert set(_blas_threads("prepare", {**env, "OPENBLAS_NUM_THREADS": "2"})) == {2}


KEPT = """
import os, sys
from engine.runtime import prepare_process
prepare_process(sys.argv[1:])
import numpy as np
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = rss()
blocks = [np.ones(20 << 20, dtype=np.uint8) for _ in range(10)]  # 200 MB in 20 MB arrays
del blocks
print(rss() - before)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt",
)
def test_freed_memory_is_kept_by_the_engines_commands_only() -> None:
    def kept_mb(*argv: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", KEPT, *argv], capture_output=True, text=True, check=True
        )
        return int(out.stdout) / 2**20

    assert kept_mb("--lang", "zh", "match", "a.wav") > 150  # reused by the next arrays
    assert kept_mb("gui") < 50  # the app (like the server and the worker) gives it back
    code = "from engine.runtime import keep_freed_memory; print(keep_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_console_script_runs_the_command_entry_point() -> None:
    """``audio-style`` is :func:`engine.runtime.command` (settings first, then the CLI)."""
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "audio-style"]
    assert script.value == "engine.runtime:command"
    code = (
        "import sys; from engine.runtime import command; "
        "sys.argv = ['audio-style', '--version']; sys.exit(command())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "0.1.0" in out.stdout + out.stderr
