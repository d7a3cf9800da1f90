"""Language choice and Qt translators for the app (zh_CN and en).

The language is the one set in the settings, or else the system locale (``AUDIO_STYLE_LANG``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG``, then Qt's idea of the system locale). The same choice is
given to the engine (``engine.schema.i18n.set_language``), so error messages from the shared
code table appear in the app's language.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from engine.resources import resource_path
from engine.schema.i18n import normalize_lang, set_language

I18N_DIR = resource_path("i18n")
QM_NAMES = {"zh": "audio_style_zh_CN", "en": "audio_style_en"}
QT_LOCALES = {"zh": "zh_CN", "en": "en_US"}


def detect_language(setting: str = "auto") -> str:
    """``zh`` or ``en``: the setting if not ``auto``, else from the environment/system."""
    if setting in ("en", "zh"):
        return setting
    import os

    for var in ("AUDIO_STYLE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        lang = normalize_lang(os.environ.get(var))
        if lang:
            return lang
    return normalize_lang(QLocale.system().name()) or "en"


def install_translators(app: QCoreApplication, lang: str) -> list[QTranslator]:
    """Install our translator (and Qt's own, for standard dialogs); returns them to keep."""
    set_language(lang)
    QLocale.setDefault(QLocale(QT_LOCALES[lang]))
    remove_translators(app, getattr(app, "_audio_style_translators", []))
    installed: list[QTranslator] = []
    ours = QTranslator(app)
    if ours.load(QM_NAMES[lang], str(I18N_DIR)):
        app.installTranslator(ours)
        installed.append(ours)
    if lang == "zh":
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        qt = QTranslator(app)
        if qt.load("qtbase_zh_CN", qt_dir):
            app.installTranslator(qt)
            installed.append(qt)
    app._audio_style_translators = installed  # type: ignore[attr-defined]
    return installed


def remove_translators(app: QCoreApplication, translators: list[QTranslator]) -> None:
    for t in translators:
        app.removeTranslator(t)
