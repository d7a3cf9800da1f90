"""Every user-facing string of the app is translatable and translated (zh_CN and en).

1. ``pyside6-lupdate`` extracts the app's messages; each must have a finished translation in
   ``resources/i18n/audio_style_zh_CN.ts`` and ``audio_style_en.ts``, with the same
   ``{placeholders}``, and the committed ``.qm`` files must be what ``lrelease`` makes of them.
2. An AST scan fails on string literals handed to widgets (setText, QLabel, QAction,
   QMessageBox, ...) without ``tr()``/``translate()``, and on ``tr()`` calls lupdate cannot read.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication

from app import i18n_tools
from app.i18n import detect_language, install_translators

APP = Path(i18n_tools.APP_DIR)
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

# functions/methods and constructors -> positions of the arguments a person reads
# (None: every positional argument); keywords text/title/name are always checked
ALL = None
UI_CALLS: dict[str, tuple[int, ...] | None] = {
    "setText": ALL,
    "setToolTip": ALL,
    "setWindowTitle": ALL,
    "setPlaceholderText": ALL,
    "setStatusTip": ALL,
    "setWhatsThis": ALL,
    "showMessage": (0,),
    "show_message": (0,),
    "addMenu": ALL,
    "addAction": (0,),
    "setTitle": (0,),
    "setLabel": (1,),
    "setSpecialValueText": ALL,
    "setPrefix": ALL,
    "setSuffix": ALL,
    "addItem": (0,),
    "addItems": ALL,
    "setHorizontalHeaderLabels": ALL,
    "setVerticalHeaderLabels": ALL,
    "setAccessibleName": ALL,
    "information": (1, 2),
    "warning": (1, 2),
    "critical": (1, 2),
    "question": (1, 2),
    "about": (1, 2),
    "getOpenFileNames": (1, 3),
    "getOpenFileName": (1, 3),
    "getSaveFileName": (1, 3),
    "getExistingDirectory": (1,),
    "styled_plot": (0, 1, 2),
    "QLabel": (0,),
    "QPushButton": (0,),
    "QCheckBox": (0,),
    "QRadioButton": (0,),
    "QGroupBox": (0,),
    "QAction": (0,),
    "QMessageBox": ALL,
    "QToolButton": ALL,
    "QDockWidget": (0,),
    "QMenu": (0,),
    "DropZone": (1, 2),
    "NullOutput": (0,),
    "QListWidgetItem": (0,),
    "setTabText": (1,),
    "addTab": (1,),
    "plot": (),
    "setLabelText": ALL,
    "MessageBar": (),
    "addRow": (0,),
}
# technical units stay as they are (issue 8); anything without letters is not language
TECHNICAL = re.compile(r"^\s*(dB|dBTP|LUFS|LU|Hz|kHz|%|s|ms)?\s*$")
UNTRANSLATED_MARK = "# untranslated:"  # e.g. language names shown in their own language


def extracted(tmp_path: Path) -> set[tuple[str, str]]:
    ts = tmp_path / "extracted.ts"
    i18n_tools.lupdate(ts, "zh_CN")
    return {(m.context, m.source) for m in i18n_tools.read_ts(ts)}


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    return extracted(tmp_path_factory.mktemp("lupdate"))


def test_lupdate_finds_the_app_strings(messages: set[tuple[str, str]]) -> None:
    assert len(messages) > 150
    assert ("MainWindow", "&File") in messages
    assert ("LoudnessView", "True peak (dBTP)") in messages
    assert ("AudioOutput", "No audio output device was found.") in messages


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_string_is_translated(messages: set[tuple[str, str]], lang: str) -> None:
    ts = i18n_tools.TS_FILES[lang]
    have = {(m.context, m.source): m for m in i18n_tools.read_ts(ts)}
    missing = sorted(k for k in messages if k not in have)
    assert not missing, f"not in {ts.name} (run python -m app.i18n_tools update): {missing}"
    unfinished = sorted(
        k for k in messages if not have[k].finished or not have[k].translation.strip()
    )
    assert not unfinished, f"untranslated in {ts.name}: {unfinished}"
    for key in messages:
        src, dst = key[1], have[key].translation
        assert sorted(PLACEHOLDER.findall(src)) == sorted(PLACEHOLDER.findall(dst)), key
        words = re.search(r"[A-Za-z]{4,}", PLACEHOLDER.sub("", src))
        if lang == "zh_CN" and words and dst == src and not TECHNICAL.match(src):
            assert dst in ("Equalizer APO", "GraphicEQ", "FLAC"), f"{key} looks untranslated"


def test_compiled_qm_files_are_current(tmp_path: Path) -> None:
    for ts in i18n_tools.TS_FILES.values():
        qm = ts.with_suffix(".qm")
        assert qm.exists(), f"{qm.name} missing (python -m app.i18n_tools release)"
        fresh = tmp_path / qm.name
        i18n_tools.lrelease(ts, fresh)
        assert fresh.read_bytes() == qm.read_bytes(), f"{qm.name} is stale"


def _literal_text(node: ast.AST) -> str | None:
    """The words of a string literal or f-string's constant parts; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


def _call_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def scan(path: Path) -> list[str]:
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    problems = []
    for node in ast.walk(ast.parse(src)):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        where = f"{path.relative_to(APP.parent)}:{node.lineno}"
        if name in ("tr", "translate"):
            args = node.args[1:] if name == "translate" else node.args[:1]
            if name == "translate" and node.args and not isinstance(node.args[0], ast.Constant):
                problems.append(f"{where}: translate() context must be a literal")
            for a in args[:1]:
                if not (isinstance(a, ast.Constant) and isinstance(a.value, str)):
                    problems.append(f"{where}: {name}() needs a plain string literal")
            continue
        if name not in UI_CALLS:
            continue
        segment = "\n".join(lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
        if UNTRANSLATED_MARK in segment:
            continue
        positions = UI_CALLS[name]
        args = [a for i, a in enumerate(node.args) if positions is None or i in positions] + [
            k.value for k in node.keywords if k.arg in ("text", "title", "name")
        ]
        for a in args:
            text = _literal_text(a)
            if text is None or not re.search(r"[A-Za-z\u4e00-\u9fff]", text):
                continue
            if TECHNICAL.match(text):
                continue
            problems.append(f"{where}: {name}({text!r}) is not wrapped in tr()")
    return problems


def test_no_untranslated_literals_reach_the_ui() -> None:
    problems = []
    for path in i18n_tools.source_files():
        if path.name in ("i18n_tools.py", "screenshots.py"):
            continue
        problems += scan(path)
    assert not problems, "\n".join(problems)


def test_scanner_catches_a_bare_literal(tmp_path: Path) -> None:
    bad = APP / "_scan_probe_tmp.py"
    bad.write_text(
        "def f(label, self):\n"
        "    label.setText('Hello there')\n"
        "    self.tr(f'{x} files')\n"
        "    label.setToolTip(self.tr('Fine'))\n"
        "    label.setSuffix(' dBTP')\n"
    )
    try:
        problems = scan(bad)
    finally:
        bad.unlink()
    assert len(problems) == 2, problems


def test_language_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AUDIO_STYLE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert detect_language("auto") == "zh"
    assert detect_language("en") == "en"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert detect_language("auto") == "en"
    monkeypatch.setenv("AUDIO_STYLE_LANG", "zh")
    assert detect_language("auto") == "zh"


def test_translators_switch_the_language(qapp: QCoreApplication) -> None:
    from engine.schema.errors import AudioStyleError, ErrorCode
    from engine.schema.i18n import set_language

    try:
        install_translators(qapp, "zh")
        assert QCoreApplication.translate("MainWindow", "&File") == "文件(&F)"
        err = AudioStyleError(ErrorCode.FILE_NOT_FOUND, path="x.wav")
        assert err.message() == "找不到文件：x.wav"  # the engine follows the app's language
        install_translators(qapp, "en")
        assert QCoreApplication.translate("MainWindow", "&File") == "&File"
        assert err.message() == "File not found: x.wav"
    finally:
        set_language(None)


def test_tools_are_available() -> None:
    assert Path(i18n_tools.tool("lupdate")).exists() or shutil.which("pyside6-lupdate")
