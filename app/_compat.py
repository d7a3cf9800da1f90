"""Work around PySide6 6.12 dropping references to None/True/False on Python < 3.12.

PySide6-Essentials 6.12.0 (abi3 wheels) returns ``None``, ``True`` and ``False`` from void and
bool methods and signal emits without taking a reference, as if they were immortal (PEP 683,
Python 3.12+). On Python 3.11 every such call decrements the singleton's reference count; after
a few thousand calls (seconds of a running UI) CPython aborts with
``Fatal Python error: none_dealloc`` / ``bool_dealloc``. PySide6 6.11.3 does not do this.

Until the dependency is pinned below 6.12 for Python 3.11, this module gives the three
singletons a reference count so large that no session can exhaust it (what 3.12 does by making
them immortal). It only runs on CPython < 3.12 and touches nothing else.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_PIN = 1 << 40
_done = False


def pin_singletons() -> bool:
    """Make None/True/False practically immortal on CPython < 3.12; True if applied."""
    global _done
    if _done or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _PIN
    _done = True
    return True
