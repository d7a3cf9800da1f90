"""The 10-minute session measured by ``test_responsiveness.py``, run in a fresh interpreter.

A 10-minute stereo track is loaded and matched while a 10 ms QTimer on the GUI thread keeps
firing: the GUI thread processes events while the load and the match are busy (work runs off
the GUI thread), and the app holding the matched track stays under 1 GB RSS. Its figures go to
``$AUDIO_STYLE_GUI_REPORT`` (JSON); the file's name keeps it out of the suite's own collection:
``test_responsiveness.py`` starts it with its own interpreter, as a user starts the app, so
the memory it measures is the app's and not that of the hundreds of tests that ran before it in
the same test process.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from tests.app.conftest import Clips, WindowFactory

LENGTH_S = 600
SR = 44100
MAX_RSS = 1 << 30


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def write_long_track(path: Path) -> None:
    """10 minutes of tilted stereo noise with a slow swell, written in 10 s blocks."""
    rng = np.random.default_rng(7)
    n = 10 * SR
    x = rng.standard_normal((n, 2))
    x[:, 1] = 0.7 * x[:, 0] + 0.3 * x[:, 1]
    spec = np.fft.rfft(x, axis=0)
    spec *= (np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0) / 1000.0)[:, None] ** -0.3
    block = np.fft.irfft(spec, n=n, axis=0)
    block *= 0.25 / np.max(np.abs(block))
    with sf.SoundFile(str(path), "w", SR, 2, subtype="PCM_16") as f:
        for i in range(LENGTH_S // 10):
            f.write(block * (0.55 + 0.45 * np.sin(0.7 * i)))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_ten_minute_match_keeps_the_gui_responsive_and_memory_bounded(
    make_window: WindowFactory,
    clips: Clips,
    qtbot: QtBot,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    long = tmp_path / "ten_minutes.wav"
    write_long_track(long)
    w = make_window()
    c = w.c
    qtbot.wait(500)  # the window's first layout and paint are not part of the measurement
    load_before = os.getloadavg()[0]
    gc.collect()
    ticks: list[float] = []
    rss_peak = [0]
    busy_ticks = {"load": 0, "match": 0}
    phase = ["load"]

    def tick() -> None:
        ticks.append(time.perf_counter())
        if c.busy:  # an event handled on the GUI thread while engine work is under way
            busy_ticks[phase[0]] += 1
        if len(ticks) % 10 == 0:
            rss_peak[0] = max(rss_peak[0], rss_bytes())

    events: list[str] = []
    t0: float  # set just before the timer starts; the handlers below read it
    c.task_started.connect(lambda k, _l: events.append(f"{k}@{time.perf_counter() - t0:.1f}"))
    c.task_finished.connect(lambda k, _ok: events.append(f"/{k}@{time.perf_counter() - t0:.1f}"))
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    t0 = time.perf_counter()
    timer.start()
    c.add_files("reference", [str(clips.reference)])
    c.add_files("target", [str(long)])
    qtbot.waitUntil(lambda: not c.busy and not w.ui_pending, timeout=300_000)
    t_load = time.perf_counter() - t0
    phase[0] = "match"
    c.match()
    qtbot.waitUntil(lambda: not c.busy and not w.ui_pending, timeout=600_000)
    t_match = time.perf_counter() - t0 - t_load
    qtbot.wait(200)  # the views' update after the match happens on the GUI thread too
    timer.stop()
    assert c.has_result() and c.length_s() == pytest.approx(LENGTH_S, abs=0.01)
    assert (
        w.waveform.has_data("result")
        and len(w.short_term.curves["result"].getOriginalDataset()[0]) > 5000
    )

    gaps = np.diff(np.asarray(ticks))
    max_gap = float(gaps.max())
    worst = np.argsort(gaps)[-3:][::-1]
    where = ", ".join(f"{1000 * gaps[i]:.0f} ms at {ticks[i] - t0:.1f} s" for i in worst)
    gc.collect()
    rss = rss_bytes()
    summary = (
        f"load {t_load:.1f} s, match {t_match:.1f} s, ticks {len(ticks)}, "
        f"max gap {1000 * max_gap:.1f} ms, p99 gap {1000 * float(np.percentile(gaps, 99)):.1f} ms, "
        f"RSS holding the match {rss / 2**20:.0f} MiB (peak seen {rss_peak[0] / 2**20:.0f} MiB); "
        f"ticks while busy {busy_ticks}; "
        f"worst gaps: {where}; events: {events}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    record_property("responsiveness", summary)
    print("\n" + summary)
    report = os.environ.get("AUDIO_STYLE_GUI_REPORT")
    if report:
        figures = {
            "length_s": LENGTH_S,
            "load_s": round(t_load, 2),
            "match_s": round(t_match, 2),
            "ticks": len(ticks),
            "max_gap_ms": round(1000 * max_gap, 1),
            "p99_gap_ms": round(1000 * float(np.percentile(gaps, 99)), 1),
            "worst_gaps": where,
            "rss_mib": round(rss / 2**20),
            "rss_bytes": rss,
            "rss_peak_bytes": rss_peak[0],
            "busy_ticks": busy_ticks,
            "summary": summary,
            "loadavg_1m": round(max(load_before, os.getloadavg()[0]), 2),
            "cpus": os.cpu_count(),
        }
        Path(report).write_text(json.dumps(figures), encoding="utf-8")
    assert rss < MAX_RSS, summary
    # the GUI thread handled timer events while the load and the match were busy
    assert busy_ticks["load"] > 0 and busy_ticks["match"] > 0, summary
