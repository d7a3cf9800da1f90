"""Run under ``xvfb-run``: start ``audio-style gui`` (make run's code path, the xcb platform) and
wait until the X server has its main window mapped; print it, stop the app.

    xvfb-run -a python -m tests.app.xvfb_window [TIMEOUT_S]

Exit status 0 when the window was seen (``window: 0x... WxH IsViewable`` on stdout), 1 when
the app exited first or the timeout passed (its output on stdout).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TITLE = '"audio-style'  # xwininfo quotes window names: the main window's starts so


def gui_command() -> list[str]:
    """``audio-style gui`` of this interpreter's environment."""
    script = Path(sys.executable).with_name("audio-style")
    if script.is_file():
        return [str(script), "gui"]
    return [sys.executable, "-m", "engine.cli", "gui"]


def main_window() -> tuple[str, str] | None:
    """``(id, xwininfo -id output)`` of the mapped main window, if there is one yet."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False
    ).stdout
    for m in re.finditer(r"^\s*(0x[0-9a-f]+) " + re.escape(TITLE), tree, flags=re.MULTILINE):
        info = subprocess.run(
            ["xwininfo", "-id", m.group(1)], capture_output=True, text=True, check=False
        ).stdout
        if "Map State: IsViewable" in info:
            return m.group(1), info
    return None


def main(timeout_s: float) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(AUDIO_STYLE_LANG="en", AUDIO_STYLE_NO_INSTALL="1")
    with tempfile.TemporaryDirectory(prefix="xvfb-window-") as home:
        env.update(HOME=home, XDG_CONFIG_HOME=f"{home}/.config")
        with tempfile.TemporaryFile("w+") as log:
            app = subprocess.Popen(gui_command(), env=env, stdout=log, stderr=subprocess.STDOUT)
            found = None
            deadline = time.monotonic() + timeout_s
            try:
                while app.poll() is None and time.monotonic() < deadline:
                    found = main_window()
                    if found:
                        break
                    time.sleep(0.5)
            finally:
                if app.poll() is None:
                    app.send_signal(signal.SIGTERM)
                    try:
                        app.wait(30)
                    except subprocess.TimeoutExpired:
                        app.kill()
                        app.wait()
            log.seek(0)
            output = log.read()
    if found is None:
        print(f"no audio-style window (app exit status {app.returncode}):\n{output}")
        return 1
    wid, info = found
    size = re.search(r"Width: (\d+).*?Height: (\d+)", info, flags=re.DOTALL)
    dims = f"{size.group(1)}x{size.group(2)}" if size else "?"
    print(f"window: {wid} {dims} IsViewable")
    print(output, end="")
    return 0


if __name__ == "__main__":
    if shutil.which("xwininfo") is None:
        sys.exit("xwininfo not found (apt-get install x11-utils)")
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 180.0))
