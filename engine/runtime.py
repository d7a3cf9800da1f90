"""Process-wide settings for a short engine run (the ``audio-style`` command).

Two defaults of the libraries under numpy are wrong for the engine's work:

* glibc's malloc hands arrays over 128 kB to the kernel when they are freed, so every new
  block or FFT batch of a few megabytes page-faults zero-filled pages in again: a 180 s match
  took 134 000 page faults, 62 000 with :func:`keep_freed_memory` (9 % of its wall time on a
  2-core machine, when set before numpy and the engine load; about 5 % when set after); the
  engine's own commands only (one job, then exit);
* OpenBLAS runs its products on a thread per core, beside the engine's own threads, which
  already use every core (the IIR filters' small products, :mod:`engine.dsp.iir`), and its
  threads spin at start: one thread (:func:`prepare_process`), 3 % of the wall time.

Only the command's entry point, :func:`command`, makes these settings; the engine as a library
leaves its host process as it found it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Sequence

#: the engine's own commands (the rest come from other packages' entry points: ``gui``,
#: ``server``, ``worker``, ``cloud``)
OWN_COMMANDS = frozenset({"analyze", "match", "apply", "export-preset", "verify", "qc"})
#: glibc's ``mallopt`` parameters (``malloc.h``)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
#: arrays up to this size come from the heap and are reused (glibc's largest allowed value)
MMAP_THRESHOLD_BYTES = 32 << 20
TRIM_THRESHOLD_BYTES = 1 << 30
TOP_PAD_BYTES = 256 << 20


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for the next allocation instead of returning it to
    the kernel at once: arrays up to 32 MiB from the heap (mmap threshold), a trim threshold
    of 1 GiB and a top pad of 256 MiB. All three are needed: setting one turns off glibc's
    adaptive mmap threshold, and a small trim threshold alone more than doubles the faults.

    The peak resident size is unchanged (it is what the work needs at once); freed memory
    stays with the process for its next job. Returns whether the settings took (False where
    the C library is not glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (_M_TOP_PAD, TOP_PAD_BYTES),
    )
    return all([bool(mallopt(param, value)) for param, value in settings])  # a list: all made


def command_word(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is neither an option nor
    ``--lang``'s value (``None`` when there is none)."""
    words = iter(argv)
    for word in words:
        if word == "--lang":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def prepare_process(argv: Sequence[str]) -> None:
    """The settings that must come before numpy loads: one OpenBLAS thread
    (``OPENBLAS_NUM_THREADS=1`` unless the environment says otherwise: set later, OpenBLAS
    has already started its threads, which spin at start beside the first analysis), and for
    the engine's own commands, which run one job and exit, :func:`keep_freed_memory` (the
    app, the server and the worker live on: they give freed memory back)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if command_word(argv) in OWN_COMMANDS:
        keep_freed_memory()


def command() -> int:
    """Entry point of the ``audio-style`` console script: :func:`prepare_process`, then
    :func:`engine.cli.main`."""
    prepare_process(sys.argv[1:])
    from engine.cli import main  # numpy and the rest load here

    return main()


__all__ = ["OWN_COMMANDS", "command", "command_word", "keep_freed_memory", "prepare_process"]
