"""Process-wide settings for a short engine run (the ``audio-style`` command).

Two defaults of the libraries under numpy cost a 180 s match about a tenth of its time on a
small machine, and neither is right for a process that starts, matches and exits:

* glibc's malloc returns freed memory above 128 kB to the kernel, so every new block or FFT
  batch of a few megabytes page-faults in zero-filled pages again (:func:`keep_freed_memory`);
* OpenBLAS starts a thread per core and keeps it spinning between the small matrix products
  of the IIR filters (:mod:`engine.dsp.iir`), beside the engine's own threads, which already
  use every core (:func:`one_blas_thread`).

Only the command calls :func:`tune_process`; the engine as a library leaves its host process
as it found it.
"""

from __future__ import annotations

import ctypes
import sys

#: glibc's ``mallopt`` parameters (``malloc.h``)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
TRIM_THRESHOLD_BYTES = 1 << 30
TOP_PAD_BYTES = 256 << 20
#: the thread-count setters of the OpenBLAS builds numpy and SciPy wheels ship, or a system one
_BLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for the next allocation (trim threshold 1 GiB,
    top pad 256 MiB) instead of returning it to the kernel at once.

    The peak resident size is unchanged (it is what the work needs at once); the memory goes
    back when the process ends. Returns whether the setting took (False where the C library
    is not glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TOP_PAD, TOP_PAD_BYTES)
    )


def _loaded_blas() -> list[str]:
    """Paths of the OpenBLAS libraries loaded in this process (from ``/proc/self/maps``)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/"))


def one_blas_thread() -> int:
    """Make every loaded OpenBLAS run its products on the calling thread; returns how many
    libraries were set (0 where none is loaded or none has a known setter)."""
    done = 0
    for path in _loaded_blas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(1)
                done += 1
                break
    return done


def tune_process() -> None:
    """Both settings, for a process that runs the engine's work and exits (the CLI)."""
    keep_freed_memory()
    one_blas_thread()


__all__ = ["keep_freed_memory", "one_blas_thread", "tune_process"]
