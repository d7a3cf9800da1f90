"""The main controller's parts on their own: the Qt-free session state and engine work, and
the job queue (coalescing, dropping, quiet jobs, cancel)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from app.controllers.job_queue import Job, JobQueue
from app.controllers.match_work import preview_bounds, preview_gain
from app.controllers.session import Loaded, Session
from app.models import overview_of
from engine.analysis import Analysis
from engine.progress import CancelToken, Progress
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

ROOT = Path(__file__).resolve().parents[2]


def loaded(path: str, rate: int, seconds: float = 1.0) -> Loaded:
    audio = np.zeros((int(rate * seconds), 2), dtype=np.float32)
    no_analysis = cast(Analysis, None)  # a stand-in: these tests never read the analysis
    return Loaded(path, rate, 2, no_analysis, audio, overview_of(audio, rate))


def test_the_state_and_the_engine_work_import_without_qt() -> None:
    code = (
        "import sys\n"
        "import app.controllers.session, app.controllers.match_work, app.controllers.export_work\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_checked_files_are_added_once_and_refusals_reported() -> None:
    s = Session(MatchOptions())
    refused = AudioStyleError(ErrorCode.FILE_NOT_FOUND, path="/gone.wav")
    good, errors = s.add_checked("target", [("/a.wav", 2.0), ("/gone.wav", refused)])
    assert good == ["/a.wav"] and errors == [refused.message()]
    s.add_checked("target", [("/a.wav", 2.0), ("/b.wav", 3.0)])
    assert s.targets == ["/a.wav", "/b.wav"] and s.total_target_length_s() == 5.0
    assert s.references == []


def test_reference_weights_follow_the_list() -> None:
    s = Session(MatchOptions())
    s.add_checked("reference", [("/r1.wav", 1.0), ("/r2.wav", 1.0)])
    assert s.weights() is None
    assert s.set_weight("/r2.wav", 0.5) and not s.set_weight("/other.wav", 0.5)
    assert s.weights() == [1.0, 0.5]
    assert s.remove_file("reference", "/r2.wav")
    assert s.weights() is None and s.reference_weights == {}


def test_plan_loads_picks_the_pair_and_reloads_the_reference_at_the_target_rate() -> None:
    s = Session(MatchOptions())
    s.add_checked("target", [("/t.wav", 1.0)])
    s.add_checked("reference", [("/r.wav", 1.0)])
    assert s.plan_loads() == ([], ["target", "reference"])
    assert (s.current_target, s.current_reference) == ("/t.wav", "/r.wav")
    s.loaded = {"target": loaded("/t.wav", 44100), "reference": loaded("/r.wav", 44100)}
    assert s.plan_loads() == ([], [])
    s.loaded["reference"] = loaded("/r.wav", 48000)  # not at the target's rate
    assert s.plan_loads() == ([], ["reference"])
    s.loaded["reference"] = loaded("/r.wav", 44100)
    s.remove_file("target", "/t.wav")
    assert s.plan_loads() == (["target"], [])
    assert s.current_target is None


def test_a_failed_file_leaves_both_lists() -> None:
    s = Session(MatchOptions())
    s.add_checked("target", [("/x/a.wav", 1.0)])
    s.add_checked("reference", [("/x/a.wav", 1.0), ("/x/b.wav", 1.0)])
    s.remove_path("/x/./a.wav")
    assert s.targets == [] and s.references == ["/x/b.wav"]


def test_preview_region_and_gain() -> None:
    assert preview_bounds((1.0, 3.0), 1000, 10_000) == (1000, 3000)
    assert preview_bounds((1.0, 100.0), 1000, 100_000) == (1000, 61_000)  # at most 60 s
    assert preview_bounds((2.0, 2.05), 1000, 5000) == (2000, 5000)  # short: 10 s, clipped
    # stand-ins with just the loudness settings preview_gain reads
    on = cast(Preset, SimpleNamespace(loudness=SimpleNamespace(enabled=True, target_lufs=-10.0)))
    louder = cast(Preset, SimpleNamespace(loudness=SimpleNamespace(enabled=True, target_lufs=-8.0)))
    off = cast(Preset, SimpleNamespace(loudness=SimpleNamespace(enabled=False, target_lufs=-10.0)))
    stats = SimpleNamespace(gain_db=-3.0, eq_lufs=-11.0)
    # same goal: the gain follows the region's EQ'd loudness change; a new goal moves it too
    assert preview_gain(on, on, stats, -12.0, -10.0) == pytest.approx(-5.0)
    assert preview_gain(louder, on, stats, -12.0, -12.0) == pytest.approx(-1.0)
    assert preview_gain(off, on, stats, -12.0, -10.0) == 0.0
    # the full render did not match loudness: the goal minus the estimated EQ'd loudness
    assert preview_gain(on, off, stats, -12.0, -11.0) == pytest.approx(-10.0 - (-11.0 + 1.0))


def counting(
    n: int, gate: threading.Event | None = None
) -> Callable[[CancelToken], Generator[Progress, None, int]]:
    def run(token: CancelToken) -> Generator[Progress, None, int]:
        if gate is not None:
            while not gate.wait(0.01):
                token.check()
        for i in range(n):
            token.check()
            yield Progress("render", (i + 1) / n)
        return n

    return run


def test_the_queue_coalesces_drops_and_keeps_quiet_jobs(qtbot: QtBot) -> None:
    q = JobQueue(CancelToken)
    gate = threading.Event()
    done: list[str] = []
    q.enqueue(Job("load", "", counting(1, gate), lambda _: done.append("load")))
    for i in range(3):  # only the latest waiting preview runs

        def preview_done(_: int, i: int = i) -> None:
            done.append(f"preview{i}")

        q.enqueue(Job("preview", "", counting(1), preview_done), True)
    q.enqueue(Job("export", "", counting(1), lambda _: done.append("export")))
    q.enqueue(Job("cloud-poll", "", counting(1), lambda _: done.append("poll"), quiet=True))
    assert q.busy and q.current_kind == "load" and q.queued("export")
    assert q.unqueue("export") == 1 and not q.queued("export")
    gate.set()
    qtbot.waitUntil(lambda: not q.queued("cloud-poll"), timeout=10_000)
    assert done == ["load", "preview2", "poll"] and not q.busy

    gate.clear()
    canceled: list[str] = []
    q.enqueue(
        Job("match", "", counting(1, gate), done.append, canceled=lambda: canceled.append("m"))
    )
    q.enqueue(Job("export", "", counting(1), done.append))
    q.enqueue(Job("cloud-poll", "", counting(1), lambda _: done.append("poll2"), quiet=True))
    q.cancel()  # the running job and the waiting visible ones; the quiet poll stays
    qtbot.waitUntil(lambda: not q.queued("cloud-poll"), timeout=10_000)
    assert canceled == ["m"] and done[-1] == "poll2" and not q.queued("export")
    q.shutdown()
