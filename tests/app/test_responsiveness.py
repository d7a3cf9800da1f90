"""Acceptance: a 10-minute stereo track is loaded and matched without blocking the GUI.

While the whole session runs (drop, analysis, decoding, the match and its full render, the
result's analysis and the views' update) a 10 ms QTimer on the GUI thread keeps firing: the
GUI thread processes events while the load and the match are busy (work runs off the GUI
thread), and the app holding the matched track stays under 1 GB RSS.

The session (``responsiveness_session.py``) runs in its own interpreter, as the app does: RSS
measured inside this test process would also count every module, window and server fixture the
tests before it left behind. The timer's largest gap (target < 100 ms) is a speed figure: it
is printed here and written to ``$AUDIO_STYLE_GUI_REPORT`` when set; ``make bench``
(``tools/timing.py``) runs this test that way and prints it against its target, so a loaded
machine never fails ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MAX_RSS = 1 << 30
SESSION = Path(__file__).with_name("responsiveness_session.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_ten_minute_match_keeps_the_gui_responsive_and_memory_bounded(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    report = tmp_path / "gui.json"
    env = {
        **os.environ,
        "AUDIO_STYLE_GUI_REPORT": str(report),
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(SESSION)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = (run.stdout + run.stderr)[-6000:]
    assert report.exists(), f"the session wrote no figures (exit {run.returncode}):\n{tail}"
    figures = json.loads(report.read_text(encoding="utf-8"))
    record_property("responsiveness", figures["summary"])
    print("\n" + figures["summary"])
    outer = os.environ.get("AUDIO_STYLE_GUI_REPORT")
    if outer:
        Path(outer).write_text(json.dumps(figures), encoding="utf-8")
    assert figures["length_s"] == 600
    assert figures["rss_bytes"] < MAX_RSS, figures["summary"]
    # the GUI thread handled timer events while the load and the match were busy
    busy = figures["busy_ticks"]
    assert busy["load"] > 0 and busy["match"] > 0, figures["summary"]
    assert run.returncode == 0, tail
