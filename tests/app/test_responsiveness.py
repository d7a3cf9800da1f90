"""Acceptance: a 10-minute stereo track is loaded and matched without blocking the GUI.

While the whole session runs (drop, analysis, decoding, the match and its full render, the
result's analysis and the views' update) a 10 ms QTimer on the GUI thread must never see a gap
over 100 ms, and the app holding the matched track must stay under 1 GB RSS.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QTimer

from tests.app.conftest import Clips, WindowFactory

LENGTH_S = 600
SR = 44100
MAX_GAP_S = 0.100
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
    make_window: WindowFactory, clips: Clips, qtbot, tmp_path: Path, record_property
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

    def tick() -> None:
        ticks.append(time.perf_counter())
        if len(ticks) % 10 == 0:
            rss_peak[0] = max(rss_peak[0], rss_bytes())

    events: list[str] = []
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
        f"worst gaps: {where}; events: {events}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    record_property("responsiveness", summary)
    print("\n" + summary)
    assert rss < MAX_RSS, summary
    overloaded = max(load_before, os.getloadavg()[0]) > (os.cpu_count() or 1)
    if max_gap >= MAX_GAP_S and overloaded:
        # more runnable threads than CPUs on the machine (other jobs): the OS, not the app,
        # decides when the GUI thread runs; say so instead of passing or failing silently
        pytest.xfail(f"machine overloaded, gap not attributable to the app: {summary}")
    assert max_gap < MAX_GAP_S, summary
