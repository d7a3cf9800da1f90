"""Where the project's data files (``resources/``: translations, icons, models) are.

``resources/`` sits next to the packages in the source tree and is not a Python package, so
each kind of installation puts it somewhere else:

- frozen (PyInstaller) bundle: ``<sys._MEIPASS>/resources`` (``packaging/audio-style.spec``);
- source tree or editable install: ``<repository>/resources``;
- installed wheel: ``<prefix>/share/audio-style/resources`` (``[tool.setuptools.data-files]``).

``AUDIO_STYLE_RESOURCES`` overrides all of them.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

__all__ = ["resource_path", "resources_root"]


def _candidates() -> list[Path]:
    found: list[Path] = []
    override = os.environ.get("AUDIO_STYLE_RESOURCES")
    if override:
        found.append(Path(override))
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        found.append(Path(bundle) / "resources")
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file():
        found.append(repo / "resources")
    prefixes = [sysconfig.get_path("data"), sys.prefix, site.getuserbase()]
    found.extend(Path(p) / "share" / "audio-style" / "resources" for p in prefixes if p)
    return found


def resources_root() -> Path:
    """The first existing ``resources`` directory (the source tree's path if none exists).

    Returns
    -------
    Path
        Directory holding ``i18n/``, ``icons/`` and, when shipped, ``models/``.
    """
    candidates = _candidates()
    for c in candidates:
        if c.is_dir():
            return c
    return Path(__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a file or folder under ``resources/``, e.g. ``resource_path("i18n")``.

    Parameters
    ----------
    *parts : str
        Path components below ``resources/``.

    Returns
    -------
    Path
        The path (it may not exist, e.g. ``models/`` when no model is shipped).
    """
    return resources_root().joinpath(*parts)
