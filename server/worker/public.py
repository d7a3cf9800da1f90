"""What a failed task tells its user: error parameters without server paths.

The engine words its errors with the paths it was given, which in a worker are files of the
task's scratch directory (``/…/work/match-8c_n1xtl/in0.wav``). Those are replaced by the name
the user knows the input by (the source of the job: its object key's file name), and any other
absolute path by its last component, before the error is stored where the user can read it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

_ABS_PATH = re.compile(r"(?<![\w.:/-])/(?:[^\s/'\"]+/)+([^\s/'\"]+)")


def public_text(text: str, names: Mapping[str, str]) -> str:
    """``text`` with every path of ``names`` (longest first) replaced by its name, and any other
    absolute path by its file name."""
    for path in sorted(names, key=len, reverse=True):
        text = text.replace(path, names[path])
    return _ABS_PATH.sub(lambda m: m.group(1), text)


def public_params(params: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """``params`` with :func:`public_text` applied to every string."""
    return {k: public_text(v, names) if isinstance(v, str) else v for k, v in params.items()}


def display_name(key: str) -> str:
    """The name a user knows an input by: the file name of its key or URL (no query)."""
    return PurePosixPath(key.split("?", 1)[0]).name or key
