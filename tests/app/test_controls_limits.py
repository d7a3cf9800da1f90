"""The Limits section's max-limiting control reaches the match options."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.views.controls_panel import ControlsPanel
from engine.schema.options import DEFAULT_MAX_LIMITING_DB, MatchOptions


def test_max_limiting_control_emits_and_shows_the_option(qtbot: QtBot) -> None:
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    assert panel.max_limiting.value() == DEFAULT_MAX_LIMITING_DB
    with qtbot.waitSignal(panel.options_changed) as sig:
        panel.max_limiting.setValue(4.0)
    assert sig.args == [{"max_limiting_db": 4.0}]
    MatchOptions(**sig.args[0])  # a valid option
    seen: list[dict[str, float]] = []
    panel.options_changed.connect(seen.append)
    panel.set_options(MatchOptions(max_limiting_db=9.0))
    assert panel.max_limiting.value() == 9.0 and seen == []  # shown without emitting
