"""Typed, versioned app settings stored through QSettings.

Every option and its default is declared once in :class:`AppSettings`. ``SCHEMA_VERSION`` is
bumped whenever a key changes meaning; :func:`_migrate` upgrades older stores and a store
written by a newer version is ignored (defaults are used) rather than misread.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from engine.schema.options import CODEC_NAMES

SCHEMA_VERSION = 1
MAX_RECENT = 10
LANGUAGES = ("auto", "en", "zh")
ENGINE_DEVICES = ("auto", "cpu", "gpu")
OUTPUT_FORMATS = ("wav16", "wav24", "wav32f", "flac")


@dataclass
class RecentFile:
    """A recently opened file and the role it was opened in."""

    path: str
    role: str  # "reference" | "target"


@dataclass
class AppSettings:
    """Everything the app persists between runs."""

    schema_version: int = SCHEMA_VERSION
    output_format: str = "wav24"
    export_folder: str = ""
    audio_device: str = ""  # "" = the system default output
    engine_device: str = "auto"  # auto | cpu | gpu
    language: str = "auto"  # auto | en | zh (applies on restart)
    loudness_match: bool = True
    codec_safe: str = ""  # "" = off, else an engine.codecs name such as "aac-256"
    # the cloud account (no secret: the refresh token lives in cloud's token store, the
    # keyring or a 0600 file; access tokens and storage credentials only in memory)
    cloud_server: str = ""
    cloud_username: str = ""
    recent_files: list[RecentFile] = field(default_factory=list)
    window_geometry: bytes = b""
    window_state: bytes = b""

    def add_recent(self, path: str, role: str) -> None:
        """Put ``path`` first in the recent list (deduplicated, at most ``MAX_RECENT``)."""
        kept = [r for r in self.recent_files if not (r.path == path and r.role == role)]
        self.recent_files = [RecentFile(path, role), *kept][:MAX_RECENT]


def _to_bool(v: Any, default: bool) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(v, int):
        return bool(v)
    return default


def _to_bytes(v: Any) -> bytes:
    if isinstance(v, QByteArray):
        return bytes(v.data())
    if isinstance(v, bytes | bytearray):
        return bytes(v)
    return b""


def _choice(v: Any, choices: tuple[str, ...], default: str) -> str:
    return v if isinstance(v, str) and v in choices else default


def _migrate(version: int, values: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a stored dict from ``version`` to ``SCHEMA_VERSION`` (no changes yet)."""
    return values


class SettingsStore:
    """Loads and saves :class:`AppSettings` in a QSettings (native store or an ini file)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._qs = qsettings if qsettings is not None else QSettings("audio-style", "audio-style")

    @classmethod
    def from_file(cls, path: str) -> SettingsStore:
        """A store in an ini file (tests, portable installs)."""
        return cls(QSettings(path, QSettings.Format.IniFormat))

    def load(self) -> AppSettings:
        """The stored settings, or defaults for missing, invalid or too-new values."""
        qs = self._qs
        default = AppSettings()
        try:
            version = int(str(qs.value("schema_version", SCHEMA_VERSION)))
        except (TypeError, ValueError):
            version = SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            return default
        raw = {f.name: qs.value(f.name) for f in fields(AppSettings) if qs.contains(f.name)}
        raw = _migrate(version, raw)
        recent: list[RecentFile] = []
        try:
            for item in json.loads(str(raw.get("recent_files") or "[]")):
                if isinstance(item, dict) and item.get("role") in ("reference", "target"):
                    recent.append(RecentFile(str(item["path"]), str(item["role"])))
        except (ValueError, TypeError):
            recent = []
        return AppSettings(
            output_format=_choice(raw.get("output_format"), OUTPUT_FORMATS, default.output_format),
            export_folder=str(raw.get("export_folder") or ""),
            audio_device=str(raw.get("audio_device") or ""),
            engine_device=_choice(raw.get("engine_device"), ENGINE_DEVICES, "auto"),
            language=_choice(raw.get("language"), LANGUAGES, "auto"),
            loudness_match=_to_bool(raw.get("loudness_match"), True),
            codec_safe=_choice(raw.get("codec_safe"), ("", *CODEC_NAMES), ""),
            cloud_server=str(raw.get("cloud_server") or ""),
            cloud_username=str(raw.get("cloud_username") or ""),
            recent_files=recent[:MAX_RECENT],
            window_geometry=_to_bytes(raw.get("window_geometry")),
            window_state=_to_bytes(raw.get("window_state")),
        )

    def save(self, s: AppSettings) -> None:
        """Write every field (and the schema version) and flush."""
        qs = self._qs
        values = asdict(s)
        values["schema_version"] = SCHEMA_VERSION
        values["recent_files"] = json.dumps([asdict(r) for r in s.recent_files])
        values["window_geometry"] = QByteArray(s.window_geometry)
        values["window_state"] = QByteArray(s.window_state)
        for key, value in values.items():
            qs.setValue(key, value)
        qs.sync()
