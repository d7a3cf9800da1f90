"""Typed settings (schema version, round trip) and the ``audio-style gui`` subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app import cli
from app.settings import SCHEMA_VERSION, AppSettings, SettingsStore
from tests.app.conftest import WindowFactory


def test_settings_round_trip(qapp: QApplication, tmp_path: Path) -> None:
    store = SettingsStore.from_file(str(tmp_path / "s.ini"))
    s = store.load()
    assert s == AppSettings()
    s.output_format = "flac"
    s.engine_device = "gpu"
    s.language = "zh"
    s.audio_device = "USB DAC"
    s.loudness_match = False
    s.window_geometry = b"\x01\x02geo"
    for i in range(15):
        s.add_recent(f"/music/{i}.wav", "target")
    s.add_recent("/music/3.wav", "target")
    store.save(s)
    back = SettingsStore.from_file(str(tmp_path / "s.ini")).load()
    assert back == s
    assert len(back.recent_files) == 10 and back.recent_files[0].path == "/music/3.wav"
    assert [r.path for r in back.recent_files].count("/music/3.wav") == 1


def test_settings_from_a_newer_version_or_garbage_fall_back_to_defaults(
    qapp: QApplication, tmp_path: Path
) -> None:
    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    qs.setValue("schema_version", SCHEMA_VERSION + 1)
    qs.setValue("output_format", "wav16")
    qs.sync()
    assert SettingsStore.from_file(str(tmp_path / "s.ini")).load() == AppSettings()
    qs.setValue("schema_version", SCHEMA_VERSION)
    qs.setValue("engine_device", "tpu")
    qs.setValue("recent_files", "{not json")
    qs.sync()
    s = SettingsStore.from_file(str(tmp_path / "s.ini")).load()
    assert s.output_format == "wav16" and s.engine_device == "auto" and s.recent_files == []


def test_gui_subcommand_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIO_STYLE_NO_INSTALL", "1")  # the pre-Qt check never runs apt here
    parser = argparse.ArgumentParser(prog="audio-style")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(["gui", "--reference", "r.wav", "--target", "a.wav", "-t", "b.wav"])
    assert args.reference == ["r.wav"] and args.target == ["a.wav", "b.wav"]
    called: dict[str, list[str]] = {}

    def fake_run_gui(references: list[str], targets: list[str]) -> int:
        called.update(references=references, targets=targets)
        return 0

    monkeypatch.setattr("app.main.run_gui", fake_run_gui)
    assert args.func(args) == 0
    assert called == {"references": ["r.wav"], "targets": ["a.wav", "b.wav"]}
    args = parser.parse_args(["gui"])
    assert args.func(args) == 0 and called == {"references": [], "targets": []}


def test_settings_show_the_device_automatic_computes_on(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.backends as backends

    monkeypatch.setenv("AUDIO_STYLE_NO_GPU", "1")
    backends._reset_for_tests()
    try:
        w = make_window()
        dlg = w.open_settings()
        note = dlg.device_note.text()
        assert note == w.c.device_note() and dlg.device_note.isVisibleTo(dlg)
        assert (
            note.startswith("Automatic computes on the CPU here:") and "AUDIO_STYLE_NO_GPU" in note
        )
        dlg.reject()
    finally:
        backends._reset_for_tests()
