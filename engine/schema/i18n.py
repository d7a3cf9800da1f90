"""Language selection shared by the CLI, the app and the server (zh_CN and en)."""

from __future__ import annotations

import os

SUPPORTED = ("en", "zh")
_override: str | None = None


def normalize_lang(value: str | None) -> str | None:
    """Map a locale string (``zh_CN.UTF-8``, ``zh-Hans``, ``en_US``...) to ``zh`` or ``en``."""
    if not value:
        return None
    v = value.strip().lower().replace("-", "_")
    if v in ("c", "posix"):
        return "en"
    if v.startswith("zh"):
        return "zh"
    if v.startswith("en"):
        return "en"
    return None


def set_language(lang: str | None) -> None:
    """Force a language for this process (``--lang`` / app settings); ``None`` = from locale."""
    global _override
    _override = normalize_lang(lang)


def current_language() -> str:
    """The language in force: override, then AUDIO_STYLE_LANG, LC_ALL, LC_MESSAGES, LANG."""
    if _override:
        return _override
    for var in ("AUDIO_STYLE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        lang = normalize_lang(os.environ.get(var))
        if lang:
            return lang
    return "en"


def parse_accept_language(header: str | None) -> str:
    """Pick ``zh`` or ``en`` from an HTTP ``Accept-Language`` header (q-values honoured)."""
    if not header:
        return "en"
    best, best_q = "en", -1.0
    for part in header.split(","):
        bits = part.strip().split(";")
        lang = normalize_lang(bits[0])
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        if lang and q > best_q:
            best, best_q = lang, q
    return best
