"""``make screenshots``: the app after a match, its Delivery panel, its export dialog, the
cloud jobs panel and an error, in en and zh.

    python -m app.screenshots [OUTDIR] [--lang en,zh]

Runs on whatever Qt platform is set (``make screenshots`` uses Xvfb). The demo clips come from
``tools.demo`` (a bright, loud "reference" and a dull, quiet "target"); nothing is read from
or written to the user's settings. The jobs panel shot talks to a real embedded server
(``python -m server server`` in a temporary data directory, a throwaway account; the session
is kept in memory, not in the user's keyring).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer

from app.main import build_window, create_app
from app.settings import SettingsStore
from app.views.main_window import MainWindow

WINDOW_SIZE = (1600, 1000)
DEMO_USER, DEMO_PASSWORD = "demo", "screenshots-only-password"


def settle(ms: int = 300) -> None:
    """Let layouts, plots and timers catch up before grabbing."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    QCoreApplication.processEvents()


def demo_files(directory: Path) -> dict[str, Path]:
    from tools.demo import make_demo_clips

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


def wait_for(pred: object, timeout_s: float) -> bool:
    """Run the event loop until ``pred()`` is true."""
    deadline = time.monotonic() + timeout_s
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            return False
        settle(100)
    return True


@contextlib.contextmanager
def embedded_server(work: Path) -> Iterator[str]:
    """A real embedded server (SQLite, local storage, one worker) with the demo account."""
    data = work / "server"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "QUEUE_", "S3_"))}
    cmd = [sys.executable, "-m", "server"]
    subprocess.run(
        [*cmd, "users", "add", DEMO_USER, "--password-stdin", "--data-dir", str(data)],
        input=DEMO_PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(work / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [*cmd, "server", "--data-dir", str(data), "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"the embedded server did not start (see {log.name})"
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def shoot_cloud(window: MainWindow, url: str, out: Path, lang: str) -> Path:
    """Sign in, send both demo targets to the server, open the result, cancel a second job."""
    from cloud.client import CloudClient
    from cloud.tokens import MemoryStore

    cloud = window.cloud
    assert cloud is not None
    cloud.client_factory = lambda server, user: CloudClient(
        server, username=user, store=MemoryStore()
    )
    cloud.poll_first_s, cloud.poll_max_s = 0.3, 1.0
    cloud.login(url, DEMO_USER, DEMO_PASSWORD)
    if not wait_for(lambda: cloud.signed_in, 60):
        raise SystemExit("could not sign in to the embedded server")
    window.controls.cloud.setChecked(True)
    window.match()
    first = next(iter(cloud.jobs))
    if not wait_for(lambda: cloud.jobs[first].job_id != "", 120):
        raise SystemExit("the cloud job was not submitted")
    window.match()  # a second job, canceled while it waits behind the first
    second = next(iter(cloud.jobs))
    if not wait_for(lambda: cloud.jobs[second].job_id != "", 120):
        raise SystemExit("the second cloud job was not submitted")
    cloud.cancel(second)
    if not wait_for(lambda: cloud.jobs[first].state == "succeeded", 300):
        raise SystemExit("the cloud job did not finish")
    window.wait_idle(120000)
    wait_for(lambda: cloud.jobs[second].state == "canceled", 60)
    window.jobs_panel.select(first)
    window.select_source("result")
    settle(500)
    path = out / f"main_window_cloud_{lang}.png"
    window.grab().save(str(path))
    return path


def shoot_delivery(window: MainWindow, out: Path, lang: str) -> Path:
    """The Delivery panel after the match (its check runs as a job after the render)."""
    if not window.wait_idle(300000) or window.delivery is None or window.delivery.report is None:
        raise SystemExit("the delivery check did not finish")
    window.show_delivery()
    window.resizeDocks([window.delivery_dock], [620], Qt.Orientation.Horizontal)
    settle(500)
    path = out / f"delivery_panel_{lang}.png"
    window.grab().save(str(path))
    window.resizeDocks([window.delivery_dock], [360], Qt.Orientation.Horizontal)
    window.meters_dock.raise_()
    settle()
    return path


def shoot(
    lang: str, files: dict[str, Path], out: Path, work: Path, server_url: str | None = None
) -> list[Path]:
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

    written.append(shoot_delivery(window, out, lang))

    dialog = window.open_export()
    assert dialog is not None
    dialog.folder.setText(str(work / "export"))
    dialog.presets["eqapo"].setChecked(True)
    settle()
    export = out / f"export_dialog_{lang}.png"
    dialog.grab().save(str(export))
    written.append(export)
    dialog.reject()

    if server_url:
        written.append(shoot_cloud(window, server_url, out, lang))

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
    ap.add_argument("--no-cloud", action="store_true", help="skip the jobs panel shot")
    args = ap.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    create_app()
    with tempfile.TemporaryDirectory(prefix="audio-style-shots-") as tmp:
        work = Path(tmp)
        files = demo_files(work)
        with contextlib.ExitStack() as stack:
            url = None
            if not args.no_cloud:
                try:
                    url = stack.enter_context(embedded_server(work))
                except (SystemExit, OSError, subprocess.CalledProcessError) as e:
                    print(f"no jobs panel shot (the embedded server did not start): {e}")
            for lang in args.lang.split(","):
                for path in shoot(lang.strip(), files, out, work, url):
                    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
