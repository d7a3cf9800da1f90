"""``make screenshots``: the app after a match, its export dialog and an error, in en and zh.

    python -m app.screenshots [OUTDIR] [--lang en,zh]

Runs on whatever Qt platform is set (``make screenshots`` uses Xvfb). The demo clips come from
``engine.demo`` (a bright, loud "reference" and a dull, quiet "target"); nothing is read from
or written to the user's settings.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from app.main import build_window, create_app
from app.settings import SettingsStore
from app.views.main_window import MainWindow

WINDOW_SIZE = (1600, 1000)


def settle(ms: int = 300) -> None:
    """Let layouts, plots and timers catch up before grabbing."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    QCoreApplication.processEvents()


def demo_files(directory: Path) -> dict[str, Path]:
    from engine.demo import make_demo_clips

    clips = make_demo_clips(directory / "clips", length_s=20.0)
    files = {
        "reference": directory / "reference_master.wav",
        "target": directory / "my_rough_mix.wav",
        "target2": directory / "my_rough_mix_v2.wav",
        "broken": directory / "damaged_take.wav",
    }
    shutil.copy(clips["reference"], files["reference"])
    shutil.copy(clips["target"], files["target"])
    shutil.copy(clips["target"], files["target2"])
    files["broken"].write_bytes(files["target"].read_bytes()[:4096])  # cut off mid-file
    return files


def shoot(lang: str, files: dict[str, Path], out: Path, work: Path) -> list[Path]:
    app = create_app()
    store = SettingsStore.from_file(str(work / f"settings-{lang}.ini"))
    window: MainWindow = build_window(app, store, None, language=lang)
    window.resize(*WINDOW_SIZE)
    window.show()
    c = window.c
    c.add_files("reference", [str(files["reference"])])
    c.add_files("target", [str(files["target"]), str(files["target2"])])
    if not window.wait_idle(120000):
        raise SystemExit("loading the demo clips timed out")
    c.match()
    if not window.wait_idle(120000) or not c.has_result():
        raise SystemExit("the match did not finish")
    c.player.seek_s(7.5)
    window.select_source("result")
    settle(500)
    written = []
    main = out / f"main_window_{lang}.png"
    window.grab().save(str(main))
    written.append(main)

    dialog = window.open_export()
    assert dialog is not None
    dialog.folder.setText(str(work / "export"))
    dialog.presets["eqapo"].setChecked(True)
    settle()
    export = out / f"export_dialog_{lang}.png"
    dialog.grab().save(str(export))
    written.append(export)
    dialog.reject()

    c.add_files("target", [str(files["broken"])])
    window.wait_idle(60000)
    settle()
    error = out / f"error_message_{lang}.png"
    window.grab().save(str(error))
    written.append(error)
    window.close()
    settle(100)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m app.screenshots")
    ap.add_argument("outdir", nargs="?", default="artifacts/screenshots")
    ap.add_argument("--lang", default="en,zh")
    args = ap.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    create_app()
    with tempfile.TemporaryDirectory(prefix="audio-style-shots-") as tmp:
        work = Path(tmp)
        files = demo_files(work)
        for lang in args.lang.split(","):
            for path in shoot(lang.strip(), files, out, work):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
