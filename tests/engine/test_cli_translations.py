"""Every user-facing CLI string exists in English and Chinese, and the CLI uses no other."""

from __future__ import annotations

import ast
from pathlib import Path

from engine.cli_text import TEXTS
from engine.schema.errors import MESSAGES, ErrorCode

CLI_FILES = [Path("engine/cli.py"), Path("tools/demo.py")]
USER_KWARGS = {"help", "description"}


def _t_keys(tree: ast.AST) -> set[str]:
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "T" and node.args:
            arg = node.args[0]
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                f"T() needs a literal key (line {node.lineno})"
            )
            keys.add(arg.value)
    return keys


def test_every_text_has_both_languages() -> None:
    for key, (en, zh) in TEXTS.items():
        assert en.strip() and zh.strip(), key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), f"{key}: not Chinese"


def test_every_error_code_has_both_languages() -> None:
    assert set(MESSAGES) == set(ErrorCode)
    for code, (en, zh) in MESSAGES.items():
        assert en and any("\u4e00" <= ch <= "\u9fff" for ch in zh), code


def test_cli_uses_only_translated_texts() -> None:
    tree = ast.parse(Path("engine/cli.py").read_text(encoding="utf-8"))
    used = _t_keys(tree)
    missing = used - set(TEXTS)
    assert not missing, f"T() keys without a translation: {sorted(missing)}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in USER_KWARGS:
                    assert not isinstance(kw.value, ast.Constant), (
                        f"untranslated {kw.arg}= literal at engine/cli.py:{node.lineno}"
                    )
            if getattr(node.func, "id", None) == "print":
                for a in node.args:
                    assert not (isinstance(a, ast.Constant) and isinstance(a.value, str)), (
                        f"untranslated print literal at engine/cli.py:{node.lineno}"
                    )


def test_help_follows_language() -> None:
    from engine.cli import build_parser
    from engine.schema.i18n import set_language

    try:
        set_language("zh")
        zh = build_parser().format_help()
        set_language("en")
        en = build_parser().format_help()
    finally:
        set_language(None)
    assert TEXTS["prog"][1] in zh and TEXTS["prog"][0] in en
