"""Where the cloud client keeps its settings, and how it writes private files.

``cloud.json`` in the config directory holds the server URL and the account name, nothing
secret. The refresh token lives in the OS keyring (``cloud.tokens``); only where no keyring
exists does it go to ``refresh-token`` next to it, created 0600. Access tokens and temporary
storage credentials are never written anywhere.

Config directory: ``$AUDIO_STYLE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/audio-style``, else
``~/.config/audio-style`` (``%APPDATA%\\audio-style`` on Windows).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.atomic import AtomicFile
from engine.schema.errors import AudioStyleError, ErrorCode

APP = "audio-style"
CONFIG_FILE = "cloud.json"


def config_dir() -> Path:
    """The directory of the client's settings (not created here)."""
    env = os.environ.get("AUDIO_STYLE_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / APP
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (0700) if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path``, readable and writable only by the user (0600):
    the temporary file is created 0600 with O_EXCL, fsynced, then renamed over ``path`` and
    the directory fsynced (:class:`engine.atomic.AtomicFile`)."""
    ensure_private_dir(path.parent)
    try:
        with AtomicFile(path, mode=0o600, suffix=".tmp") as f:
            f.file.write(data)
            os.chmod(f.tmp, 0o600)  # in case a umask or an ACL widened it
    except OSError as e:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(path)) from e


@dataclass
class CloudSettings:
    """What ``audio-style cloud login`` remembers: server and account name (no secrets)."""

    server: str = ""
    username: str = ""

    @classmethod
    def load(cls, directory: Path | None = None) -> CloudSettings:
        path = (directory or config_dir()) / CONFIG_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        return cls(server=str(raw.get("server", "")), username=str(raw.get("username", "")))

    def save(self, directory: Path | None = None) -> Path:
        path = (directory or config_dir()) / CONFIG_FILE
        write_private(path, (json.dumps(asdict(self), indent=1) + "\n").encode())
        return path


def normalize_server(url: str) -> str:
    """``https://host[:port][/base]`` without a trailing slash; BAD_OPTION when not http(s)."""
    u = url.strip().rstrip("/")
    if not u.startswith(("http://", "https://")) or len(u.split("://", 1)[1]) == 0:
        raise AudioStyleError(ErrorCode.BAD_OPTION, name="--server", reason="need an http(s) URL")
    return u
