"""The main window on the real engine: drop, match, views, preview, A/B, export, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QLocale, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.audio.output import FakeAudioOutput, NullOutput
from app.models import ExportRequest
from app.views.dynamics_view import DynamicsView
from app.views.loudness_view import ShortTermView
from app.views.main_window import MainWindow
from app.views.spectrum_view import SpectrumView
from app.views.waveform_view import WaveformView
from engine import pipeline
from engine.presets import load_preset
from engine.schema.errors import AudioStyleError, ErrorCode
from tests.app.conftest import Clips, WindowFactory, wait_idle


def drop_files(widget: QWidget, paths: list[Path]) -> None:
    """What the file manager does: drag enter, then drop, with file URLs."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = widget.rect().center()
    enter = QDragEnterEvent(
        centre,  # QPoint (PySide6 6.11)
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(centre),  # QDropEvent takes QPointF
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def lufs_of(x: np.ndarray) -> float:
    return float(pipeline.analyze_array(x, 44100).summary.integrated_lufs)


def test_drop_match_and_every_view_populated(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot
) -> None:
    w = make_window()

    def ranges(view: WaveformView | ShortTermView | DynamicsView | SpectrumView) -> list[float]:
        (x0, x1), (y0, y1) = view.plot.getPlotItem().getViewBox().viewRange()
        return [x0, x1, y0, y1]

    # before any file: plain axes (10 s of time, a LUFS / dB scale), not the autoscale of nothing
    assert ranges(w.waveform)[:2] == pytest.approx([0, 10])
    assert ranges(w.short_term) == pytest.approx([0, 10, -40, 0])
    assert ranges(w.dynamics) == pytest.approx([-40, 0, 0, 60])
    assert ranges(w.spectrum)[2:] == pytest.approx([0, 84])
    drop_files(w.reference_zone, [clips.reference])
    drop_files(w.target_zone, [clips.target])
    wait_idle(qtbot, w)
    c = w.c
    assert c.references == [str(clips.reference)] and c.targets == [str(clips.target)]
    # the short-term plot follows the material once it is there (4 s clips)
    assert ranges(w.short_term)[1] < 6
    assert w.reference_zone.files() == [str(clips.reference)]
    assert w.target_zone.files() == [str(clips.target)]
    assert w.waveform.has_data("reference") and w.waveform.has_data("target")
    assert w.controls.match_button.isEnabled()

    QTest.mouseClick(w.controls.match_button, Qt.MouseButton.LeftButton)
    assert c.busy
    wait_idle(qtbot, w)
    assert c.has_result() and not w.message.isVisible()

    # waveform: three lanes with the controller's envelopes
    for role in ("reference", "target", "result"):
        assert w.waveform.has_data(role)
    x, low, high = w.waveform.envelope("result")
    overview = c.overview("result")
    assert overview is not None
    assert np.allclose(x, overview.times_s)
    scale = w.waveform.scales["result"]  # each lane is normalised; it sits at y = -2.3
    assert np.allclose((high + 2.3) / scale, overview.high, atol=1e-6)
    assert np.allclose((low + 2.3) / scale, overview.low, atol=1e-6)
    # spectra: mid and side of each role, aligned by integrated loudness
    for role in ("reference", "target", "result"):
        a = c.analysis(role)
        assert a is not None
        fx, fy = w.spectrum.curve_data(role, "mid")
        assert np.allclose(fx, np.log10(a.freqs_hz))
        assert np.allclose(fy, a.mid_db - a.summary.integrated_lufs)
        assert len(w.spectrum.curve_data(role, "side")[0]) == len(a.freqs_hz)
    # match curve: the preset's mid and side curves and one handle per fitted band
    preset = c.preset
    assert preset is not None and preset.eq.side is not None
    cx, cy = w.curve.mid.getData()
    assert np.allclose(10**cx, preset.eq.mid.curve.freqs_hz)
    assert np.allclose(cy, preset.eq.mid.curve.gain_db)
    assert np.allclose(w.curve.side.getData()[1], preset.eq.side.curve.gain_db)
    assert len(w.curve.handles) == len(preset.eq.mid.bands) + len(preset.eq.side.bands) > 0
    # the reference is darker (negative tilt): the match curve falls with frequency
    assert cy[np.searchsorted(10**cx, 100)] > cy[np.searchsorted(10**cx, 5000)] + 3
    # loudness meters: each role's summary, locale-formatted
    loc = QLocale()
    for role in ("reference", "target", "result"):
        a = c.analysis(role)
        assert a is not None
        s = a.summary
        assert w.loudness.cell_text("integrated_lufs", role) == loc.toString(
            s.integrated_lufs, "f", 1
        )
        assert w.loudness.cell_text("true_peak_dbtp", role) == loc.toString(
            s.true_peak_dbtp, "f", 1
        )
        assert w.loudness.cell_text("correlation", role) == loc.toString(s.correlation, "f", 2)
        st_x, st_y = w.short_term.curves[role].getOriginalDataset()
        assert len(st_x) == len(a.short_term_lufs)
    # the result meets the reference's loudness and the ceiling
    result_a, ref_a = c.analysis("result"), c.analysis("reference")
    assert result_a is not None and ref_a is not None
    r, ref = result_a.summary, ref_a.summary
    assert abs(r.integrated_lufs - ref.integrated_lufs) < 1.0
    assert r.true_peak_dbtp <= -1.0 + 0.2
    # dynamics: short-term loudness distributions (percent of time) before and after
    for role in ("target", "result"):
        edges, pct = w.dynamics.histogram_of(role)
        assert len(edges) == len(pct) + 1 and pct.sum() == pytest.approx(100.0, abs=1.0)


def test_control_change_rerenders_only_the_loop_preview(matched: MainWindow, qtbot: QtBot) -> None:
    w, c = matched, matched.c
    result = c.audio("result")
    assert result is not None and c.preset is not None
    full = result.copy()
    curve_before = np.asarray(c.preset.eq.mid.curve.gain_db)
    start_s, end_s = c.loop_s
    with qtbot.waitSignal(c.preview_ready, timeout=15000) as sig:
        w.controls.sliders["eq"].setValue(50)  # debounced: one render for the whole drag
        w.controls.sliders["eq"].setValue(40)
    qtbot.waitUntil(lambda: not w.ui_pending)
    a, b = sig.args
    assert a == pytest.approx(start_s, abs=0.01) and b == pytest.approx(end_s, abs=0.01)
    assert c.options.eq_amount == 40
    assert c.preset is not None
    curve_after = np.asarray(c.preset.eq.mid.curve.gain_db)
    assert np.max(np.abs(curve_after)) < 0.6 * np.max(np.abs(curve_before))
    assert np.allclose(w.curve.mid.getData()[1], curve_after)
    start, overlay = c.player.overlay
    assert overlay is not None
    assert start == int(start_s * c.sample_rate)
    assert len(overlay) == int(end_s * c.sample_rate) - start
    region = full[start : start + len(overlay)]
    assert not np.allclose(overlay, region, atol=1e-3), "the preview must differ"
    result = c.audio("result")
    assert result is not None
    assert np.array_equal(result, full), "the full render is left alone"
    assert c.result_stale
    # the preview keeps the full render's loudness (gain_db of the full render)
    assert abs(lufs_of(overlay) - lufs_of(region)) < 1.5


def test_band_drag_and_wheel_edit_the_preset(matched: MainWindow, qtbot: QtBot) -> None:
    w, c = matched, matched.c
    h = w.curve.handles[0]
    assert c.preset is not None
    band = c.preset.eq.mid.bands[0]
    with qtbot.waitSignal(c.preview_ready, timeout=15000):
        h.setPos(np.log10(1000.0), band.gain_db + 4.0)
        h.sigPositionChangeFinished.emit(h)
    qtbot.waitUntil(lambda: not w.ui_pending)
    assert c.preset is not None
    new = c.preset.eq.mid.bands[0]
    assert new.freq_hz == pytest.approx(1000.0, rel=1e-3)
    assert new.gain_db == pytest.approx(band.gain_db + 4.0, abs=1e-6)
    f = np.asarray(c.preset.eq.mid.curve.freqs_hz)
    g = np.asarray(c.preset.eq.mid.curve.gain_db)
    assert np.allclose(w.curve.mid.getData()[1], g)
    q0 = new.q
    h = w.curve.handles[0]
    h.change_q(2)  # two wheel steps up
    assert c.preset.eq.mid.bands[0].q == pytest.approx(q0 * 1.15**2, rel=1e-6)
    assert np.asarray(c.preset.eq.mid.curve.gain_db).shape == f.shape


def test_ab_switching_keys_and_position(matched: MainWindow, qtbot: QtBot) -> None:
    w, c = matched, matched.c
    out = c.player.output
    assert isinstance(out, FakeAudioOutput)
    w.activateWindow()
    QTest.keyClick(w, Qt.Key.Key_Space)
    assert c.player.playing
    out.pull(4410)
    pos = c.player.position
    for key, role in (
        (Qt.Key.Key_2, "result"),
        (Qt.Key.Key_3, "reference"),
        (Qt.Key.Key_1, "target"),
    ):
        QTest.keyClick(w, key)
        assert c.player.role == role
        assert w.transport.source_buttons[role].isChecked()
        out.pull(441)
        assert c.player.position == pos + 441, "switching keeps the playback position"
        pos = c.player.position
    QTest.keyClick(w, Qt.Key.Key_L)
    assert c.player.looping and w.transport.loop.isChecked()
    QTest.keyClick(w, Qt.Key.Key_Space)
    out.pull(4410)
    assert not c.player.playing


def test_loudness_matched_switching_keeps_measured_loudness(matched: MainWindow) -> None:
    c = matched.c
    out = c.player.output
    assert isinstance(out, FakeAudioOutput)
    target = c.audio("target")
    assert target is not None
    n = len(target)

    def measure(role: str) -> float:
        c.player.pause()
        out.pull(4410)
        c.player.select(role)
        c.player.seek(0)
        c.player.play()
        return lufs_of(np.concatenate([out.pull(4410) for _ in range(n // 4410)]))

    assert c.player.loudness_match, "on by default"
    levels = {r: measure(r) for r in ("target", "result", "reference")}
    spread = max(levels.values()) - min(levels.values())
    assert spread <= 0.5, levels
    c.set_loudness_match(False)
    raw = {r: measure(r) for r in ("target", "reference")}
    assert raw["reference"] - raw["target"] > 3.0, "the sources really differ in loudness"


def test_match_note_says_when_loudness_was_given_up_or_clipped(matched: MainWindow) -> None:
    from app.controllers.session import ExternalStats, MatchOutcome

    c = matched.c
    preset = c.session.preset
    assert preset is not None
    target = preset.loudness.target_lufs

    def note(output_lufs: float, clip: float | None) -> str:
        stats = ExternalStats(gain_db=0.0, eq_lufs=target, fast_stage_db=clip)
        return c._loudness_note(MatchOutcome(preset, stats, [], None, "", output_lufs))  # type: ignore[arg-type]

    assert note(target, 0.0) == ""
    assert note(target, None) == ""  # rendered elsewhere: nothing known, nothing said
    assert "clip stage" in note(target, 4.0) and "4 dB" in note(target, 4.0)
    short = note(target - 3.0, 4.0)
    assert "would need more than" in short and "clip stage" not in short


def test_export_writes_valid_files(matched: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    w, c = matched, matched.c
    dlg = w.open_export()
    assert dlg is not None and dlg.isVisible()
    dlg.folder.setText(str(tmp_path))
    for key in ("json", "eqapo", "graphiceq", "csv", "ir", "ffmpeg"):
        dlg.presets[key].setChecked(True)
    dlg.format.setCurrentIndex(dlg.format.findData("wav24"))
    planned = [dlg.files.item(i).text() for i in range(dlg.files.count())]
    with qtbot.waitSignal(c.export_done, timeout=30000) as sig:
        dlg.accept()
    written = sig.args[0]
    assert sorted(written) == sorted(planned)
    stem = tmp_path / "target_matched"
    info = sf.info(str(stem) + ".wav")
    assert info.subtype == "PCM_24" and info.samplerate == 44100 and info.channels == 2
    assert info.frames == sf.info(str(c.current_target)).frames
    preset = load_preset(str(stem) + ".preset.json")
    assert c.preset is not None
    assert preset.eq.mid.curve.gain_db == c.preset.eq.mid.curve.gain_db
    assert "Filter 1:" in Path(str(stem) + ".eqapo.txt").read_text()
    assert Path(str(stem) + ".graphiceq.txt").read_text().startswith("GraphicEQ:")
    assert Path(str(stem) + ".csv").read_text().startswith("frequency_hz,mid_db,side_db")
    ir = sf.info(str(stem) + ".ir.wav")
    assert (ir.channels, ir.samplerate, ir.subtype) == (2, 44100, "FLOAT")
    assert sf.info(str(stem) + ".ir.true-stereo.wav").channels == 4
    chain = Path(str(stem) + ".ffmpeg.txt").read_text()
    assert "firequalizer=" in chain and "volume=0.00dB" not in chain  # gain from the target
    report = json.loads(Path(str(stem) + ".report.json").read_text())
    assert report["kind"] == "audio-style-report" and "after" in report
    png = QImage(str(stem) + ".report.png")
    assert not png.isNull() and png.width() > 800
    # flac and 32-bit float too
    for fmt, subtype in (("flac", "PCM_24"), ("wav32f", "FLOAT")):
        req = ExportRequest(
            str(tmp_path), audio=True, audio_format=fmt, preset_formats=[], report=False
        )
        with qtbot.waitSignal(c.export_done, timeout=30000) as sig:
            c.export(req)
        (path,) = sig.args[0]
        assert sf.info(path).subtype in (subtype, "PCM_16", "PCM_24")


def test_batch_applies_the_match_to_every_target(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot, tmp_path: Path
) -> None:
    w = make_window()
    c = w.c
    c.add_files("reference", [str(clips.reference)])
    c.add_files("target", [str(clips.target), str(clips.target2), str(clips.mono)])
    wait_idle(qtbot, w)
    c.match()
    wait_idle(qtbot, w)
    fractions: list[float] = []
    c.task_progress.connect(lambda _t, f: fractions.append(f))
    req = ExportRequest(
        str(tmp_path),
        audio=True,
        audio_format="flac",
        preset_formats=["json"],
        report=True,
        batch=True,
    )
    with qtbot.waitSignal(c.export_done, timeout=60000) as sig:
        c.export(req, w.report_image())
    written = set(sig.args[0])
    for t in (clips.target, clips.target2, clips.mono):
        stem = tmp_path / f"{t.stem}_matched"
        assert str(stem) + ".flac" in written
        assert sf.info(str(stem) + ".flac").channels == sf.info(str(t)).channels
        assert str(stem) + ".preset.json" in written and str(stem) + ".report.json" in written
    assert fractions and max(fractions) > 0.6 and fractions == sorted(fractions)


@pytest.mark.parametrize("bad", ["text", "broken"])
def test_bad_file_shows_a_message_not_a_crash(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot, bad: str
) -> None:
    w = make_window()
    path = getattr(clips, bad)
    drop_files(w.target_zone, [path])
    wait_idle(qtbot, w)
    assert w.message.isVisible() and w.message.kind == "error"
    code = ErrorCode.UNSUPPORTED_FORMAT if bad == "text" else ErrorCode.TRUNCATED
    assert AudioStyleError(code, path=str(path)).message() in w.message.text()
    assert w.c.targets == []
    # the app goes on working
    drop_files(w.target_zone, [clips.target])
    wait_idle(qtbot, w)
    assert w.c.targets == [str(clips.target)]


def test_bad_file_message_in_chinese(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot
) -> None:
    w = make_window(language="zh")
    w.c.add_files("reference", [str(clips.text)])
    wait_idle(qtbot, w)
    assert "无法读取的音频文件" in w.message.text()
    assert w.controls.match_button.text() == "匹配"


def test_cancel_stops_a_match(make_window: WindowFactory, clips: Clips, qtbot: QtBot) -> None:
    w = make_window()
    c = w.c
    c.add_files("reference", [str(clips.reference)])
    c.add_files("target", [str(clips.target)])
    wait_idle(qtbot, w)
    canceled: list[bool] = []
    c.runner.canceled.connect(lambda: canceled.append(True))
    c.match()
    c.cancel()
    wait_idle(qtbot, w)
    assert canceled and not c.has_result()
    assert w.controls.match_button.isEnabled()


def test_no_audio_device_is_reported_in_the_window(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot
) -> None:
    w = make_window(NullOutput("No audio output device was found."))
    assert "No audio output device" in w.transport.audio_status.text()
    w.c.add_files("target", [str(clips.target)])
    wait_idle(qtbot, w)
    QTest.keyClick(w, Qt.Key.Key_Space)  # no crash; a notice instead
    assert w.message.isVisible() and "No audio output" in w.message.text()


def test_window_state_and_settings_persist(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot
) -> None:
    w = make_window()
    w.c.add_files("target", [str(clips.target)])
    wait_idle(qtbot, w)
    w.meters_dock.hide()
    w.transport.matched.setChecked(False)
    w.close()
    saved = bytes(w.saveGeometry().data())
    w2 = make_window(size=False)
    assert w2.c.settings.window_geometry == saved
    assert w2.restore_window_state()  # (the offscreen screen is too small to compare sizes)
    assert w2.meters_dock.isHidden() and not w2.files_dock.isHidden()
    assert not w2.c.player.loudness_match and not w2.transport.matched.isChecked()
    assert w2.c.settings.recent_files[0].path == str(clips.target)
    assert w2.c.settings.recent_files[0].role == "target"


def test_album_batch_and_reference_range(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot, tmp_path: Path
) -> None:
    """Album mode in the batch writes the album table; two references show their range on
    the spectrum."""
    w = make_window()
    c = w.c
    c.add_files("reference", [str(clips.reference), str(clips.target2)])
    c.add_files("target", [str(clips.target), str(clips.mono)])
    wait_idle(qtbot, w)
    c.match()
    wait_idle(qtbot, w)
    w._schedule("spectrum")
    qtbot.waitUntil(lambda: len(w.spectrum.range_data()[0]) > 0, timeout=10000)
    lo, hi = w.spectrum.range_data()
    assert len(lo) == len(hi) and np.all(hi >= lo) and w.spectrum.range_fill.isVisible()
    # a weight on the second reference narrows the range and reaches the plan's options
    zone = w.reference_zone
    zone.list.setCurrentRow(1)
    assert zone.weight is not None and zone.weight.isEnabled()
    zone.weight.setValue(0.5)
    assert c.options.reference_weights == [1.0, 0.5]
    assert "×0.50" in zone.list.item(1).text()
    qtbot.waitUntil(lambda: np.sum(np.subtract(*w.spectrum.range_data()[::-1])) < np.sum(hi - lo))
    c.remove_file("reference", str(clips.target2))
    assert c.options.reference_weights is None and c.reference_weights == {}
    c.add_files("reference", [str(clips.target2)])
    wait_idle(qtbot, w)
    req = ExportRequest(
        str(tmp_path),
        audio=True,
        audio_format="wav24",
        preset_formats=[],
        report=False,
        batch=True,
        album=True,
    )
    assert str(tmp_path / "album.report.json") in c.planned_outputs(req)
    with qtbot.waitSignal(c.export_done, timeout=60000) as sig:
        c.export(req)
    written = set(sig.args[0])
    table = json.loads((tmp_path / "album.report.json").read_text(encoding="utf-8"))
    assert str(tmp_path / "album.report.json") in written
    assert [r["track"] for r in table["after"]["tracks"]] == [clips.target.name, clips.mono.name]
    assert abs(table["after"]["spread_lu"] - table["before"]["spread_lu"]) <= 0.3
