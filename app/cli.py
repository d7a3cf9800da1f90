"""``audio-style gui``: the desktop app's subcommand (found through an entry point)."""

from __future__ import annotations

import argparse
import os
from typing import Any


def _run(args: argparse.Namespace) -> int:
    # before Qt is imported: no display or missing system libraries -> one line, no Qt abort
    from app.sysdeps import gui_preflight

    code = gui_preflight(os.environ.get("AUDIO_STYLE_LAUNCHER") or "audio-style gui")
    if code:
        return code
    try:
        from app.main import run_gui
    except ImportError as exc:  # PySide6 / pyqtgraph missing: the [app] extra
        from engine.schema.i18n import current_language

        if current_language() == "zh":
            print(f"错误：无法启动桌面程序（请安装 audio-style[app]）：{exc}")
        else:
            print(f"error: cannot start the desktop app (install audio-style[app]): {exc}")
        return 1
    return run_gui(list(args.reference or []), list(args.target or []))


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``gui`` subcommand to the engine CLI's subparsers."""
    from engine.schema.i18n import current_language

    zh = current_language() == "zh"
    p: argparse.ArgumentParser = subparsers.add_parser(
        "gui",
        help="打开桌面程序" if zh else "open the desktop app",
        description="打开桌面程序（拖放参考曲目和目标曲目）"
        if zh
        else "Open the desktop app (drop reference and target tracks).",
    )
    p.add_argument(
        "--reference",
        "-r",
        action="append",
        metavar="R",
        help="参考曲目（可重复）" if zh else "reference track (repeatable)",
    )
    p.add_argument(
        "--target",
        "-t",
        action="append",
        metavar="T",
        help="目标曲目（可重复）" if zh else "target track (repeatable)",
    )
    p.set_defaults(func=_run)
    return p
