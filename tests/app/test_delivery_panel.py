"""The Delivery panel: filled after a match through its controller (same figures as
``audio-style qc``), the reference use lines, and the codec-safe ceiling setting."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from engine import io
from engine.delivery import delivery_report
from engine.services import SERVICES
from tests.app.conftest import Clips, WindowFactory, wait_idle


def test_panel_shows_the_qc_figures_of_the_result(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot
) -> None:
    w = make_window()
    w.c.add_files("reference", [str(clips.reference)])
    w.c.add_files("target", [str(clips.target)])
    wait_idle(qtbot, w)
    w.c.match()
    wait_idle(qtbot, w)
    d = w.delivery
    assert d is not None and w.c.result_path is not None
    qtbot.waitUntil(lambda: d.report is not None and not w.c.busy, timeout=120000)
    assert d.report is not None
    x, sr = io.read_audio(w.c.result_path)
    expected = delivery_report(x, sr)
    assert d.report == expected  # one computation, the same as qc's
    panel = w.delivery_panel
    assert panel.services.rowCount() == len(SERVICES)
    for row, s in enumerate(expected.services):
        name, codec_peak = panel.services.item(row, 0), panel.services.item(row, 5)
        assert name is not None and codec_peak is not None
        assert name.text() == s.label
        assert f"{s.codec_true_peak_dbtp:.2f}" in codec_peak.text()
    lines = panel.trust.text().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["EQ", "Dynamics", "Width"]
    assert "%" in lines[0]


def test_codec_safe_setting_reaches_the_match_options(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot
) -> None:
    w = make_window()
    dlg = w.open_settings()
    dlg.codec_safe.setCurrentIndex(dlg.codec_safe.findData("aac-256"))
    dlg.accept()
    assert w.c.settings.codec_safe == "aac-256"
    assert w.c.options.codec_safe == "aac-256"
    w.c.add_files("reference", [str(clips.reference)])
    w.c.add_files("target", [str(clips.target)])
    wait_idle(qtbot, w)
    w.c.match()
    wait_idle(qtbot, w)
    assert w.c.preset is not None and w.c.preset.options.codec_safe == "aac-256"
    d = w.delivery
    assert d is not None
    qtbot.waitUntil(lambda: d.report is not None and not w.c.busy, timeout=120000)
    assert d.report is not None
    aac = next(s for s in d.report.services if s.codec == "aac-256")
    assert aac.codec_true_peak_dbtp <= -1.0 + 0.01
