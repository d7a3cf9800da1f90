"""Maintain the app's translations: extract with pyside6-lupdate, compile with pyside6-lrelease.

    python -m app.i18n_tools update    # refresh resources/i18n/*.ts from app/ (keeps translations)
    python -m app.i18n_tools release   # compile the .ts files to .qm next to them
    python -m app.i18n_tools check     # list messages without a translation (exit 1 if any)

``audio_style_zh_CN.ts`` is translated by hand (Qt Linguist or any editor). The English file
holds the source texts as translations (the sources are English), filled in by ``update``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "app"
I18N_DIR = ROOT / "resources" / "i18n"
TS_FILES = {
    "zh_CN": I18N_DIR / "audio_style_zh_CN.ts",
    "en": I18N_DIR / "audio_style_en.ts",
}


@dataclass(frozen=True)
class Message:
    context: str
    source: str
    translation: str
    finished: bool


def tool(name: str) -> str:
    """Path of ``pyside6-<name>`` next to this Python, or on PATH."""
    local = Path(sys.executable).parent / f"pyside6-{name}"
    if local.exists():
        return str(local)
    found = shutil.which(f"pyside6-{name}")
    if not found:
        raise FileNotFoundError(f"pyside6-{name} not found (install PySide6)")
    return found


def source_files() -> list[Path]:
    """Every Python file of the app (sorted, so the .ts order is stable)."""
    return sorted(p for p in APP_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def lupdate(ts: Path, language: str) -> None:
    """Extract (merge) the app's messages into ``ts``."""
    cmd = [
        tool("lupdate"),
        "-silent",
        "-extensions",
        "py",
        "-locations",
        "none",
        "-no-obsolete",
        "-source-language",
        "en",
        "-target-language",
        language,
        *[str(p) for p in source_files()],
        "-ts",
        str(ts),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def lrelease(ts: Path, qm: Path) -> None:
    cmd = [tool("lrelease"), "-silent", str(ts), "-qm", str(qm)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def read_ts(ts: Path) -> list[Message]:
    """The messages of a .ts file (numerus forms are not used by the app)."""
    root = ET.parse(ts).getroot()
    out = []
    for ctx in root.iter("context"):
        name = ctx.findtext("name") or ""
        for m in ctx.iter("message"):
            tr = m.find("translation")
            kind = tr.get("type", "") if tr is not None else "unfinished"
            text = (tr.text or "") if tr is not None else ""
            out.append(Message(name, m.findtext("source") or "", text, kind not in ("unfinished",)))
    return out


def write_ts(ts: Path, root: ET.Element) -> None:
    body = ET.tostring(root, encoding="unicode")
    ts.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", "utf-8")


def fill(ts: Path, translate: dict[str, str] | None = None) -> int:
    """Fill unfinished messages: from ``translate`` (source -> text) or with the source."""
    tree = ET.parse(ts)
    n = 0
    for m in tree.getroot().iter("message"):
        tr = m.find("translation")
        if tr is None or tr.get("type") != "unfinished":
            continue
        source = m.findtext("source") or ""
        text = source if translate is None else translate.get(source)
        if text is None:
            continue
        tr.text = text
        del tr.attrib["type"]
        n += 1
    write_ts(ts, tree.getroot())
    return n


def update() -> None:
    I18N_DIR.mkdir(parents=True, exist_ok=True)
    for lang, ts in TS_FILES.items():
        lupdate(ts, lang)
    fill(TS_FILES["en"])


def release() -> None:
    for ts in TS_FILES.values():
        lrelease(ts, ts.with_suffix(".qm"))


def missing(ts: Path) -> list[Message]:
    return [m for m in read_ts(ts) if not m.finished or not m.translation.strip()]


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "check"
    if cmd == "update":
        update()
    elif cmd == "release":
        release()
    elif cmd == "check":
        bad = [(lang, m) for lang, ts in TS_FILES.items() for m in missing(ts)]
        for lang, m in bad:
            print(f"{lang}: [{m.context}] {m.source!r} has no translation")
        return 1 if bad else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
