"""One plan function: the preset the app exports after a match is byte-identical to the one
``audio-style match --preset-out`` writes for the same files and options (the worker's is
checked against the CLI's in tests/server/test_plan_identity.py)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from engine.cli import main as cli_main
from engine.schema.options import MatchOptions
from tests.app.conftest import MATCH_TIMEOUT_MS, Clips, WindowFactory


def test_app_exports_the_cli_preset(
    make_window: WindowFactory, clips: Clips, qtbot: QtBot, tmp_path: Path
) -> None:
    w = make_window()
    c = w.c
    assert c.options == MatchOptions()  # the app's defaults are the CLI's
    c.add_files("reference", [str(clips.reference)])
    c.add_files("target", [str(clips.target)])
    assert w.wait_idle(MATCH_TIMEOUT_MS)
    c.match()
    assert w.wait_idle(MATCH_TIMEOUT_MS) and c.has_result()
    dlg = w.open_export()
    assert dlg is not None
    dlg.folder.setText(str(tmp_path))
    for key, box in dlg.presets.items():
        box.setChecked(key == "json")
    dlg.audio.setChecked(False)
    with qtbot.waitSignal(c.export_done, timeout=MATCH_TIMEOUT_MS) as sig:
        dlg.accept()
    (app_preset,) = [Path(p) for p in sig.args[0] if p.endswith(".preset.json")]
    cli_preset = tmp_path / "cli.preset.json"
    rc = cli_main(
        ["match", str(clips.target), "--reference", str(clips.reference), "-q"]
        + ["-o", str(tmp_path / "cli.wav"), "--preset-out", str(cli_preset)]
    )
    assert rc == 0
    assert app_preset.read_bytes() == cli_preset.read_bytes()
