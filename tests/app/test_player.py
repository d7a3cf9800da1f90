"""A/B/C player through the fake audio output: switching, position, crossfade, loop, gains."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from app.audio.output import FakeAudioOutput, NullOutput, create_output
from app.audio.player import Player, matched_gains

SR = 48000
BLOCK = 480  # 10 ms


def tone(freq: float, seconds: float, amp: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x, x], axis=1)


def ramp(seconds: float) -> np.ndarray:
    """A signal whose value is its own frame index (to read positions back)."""
    x = np.arange(int(SR * seconds), dtype=np.float32) / 1e6
    return np.stack([x, x], axis=1)


def make_player(
    sources: dict[str, np.ndarray], lufs: dict[str, float] | None = None
) -> tuple[Player, FakeAudioOutput]:
    out = FakeAudioOutput()
    p = Player(out, crossfade_ms=10.0)
    p.set_sources(SR, sources, lufs or {k: -20.0 for k in sources})
    return p, out


def pull(out: FakeAudioOutput, seconds: float) -> np.ndarray:
    blocks = [out.pull(BLOCK) for _ in range(int(round(seconds * SR / BLOCK)))]
    return np.concatenate(blocks)


def test_switch_keeps_position_and_crossfades() -> None:
    p, out = make_player({"target": ramp(2.0), "result": -ramp(2.0)})
    p.play()
    a = pull(out, 0.5)
    assert p.position == len(a)
    p.select("result")
    b = pull(out, 0.1)
    assert p.position == len(a) + len(b), "switching must not move the playhead"
    # the source actually changed, at the same timeline position
    assert b[-1, 0] == pytest.approx(-(len(a) + len(b) - 1) / 1e6, abs=1e-6)
    # 10 ms raised-cosine crossfade: a smooth path from +ramp to -ramp, no jump
    fade = b[:480, 0]
    assert np.max(np.abs(np.diff(fade))) < 0.05 * abs(fade[0])
    assert fade[0] > 0 and fade[-1] < 0


def test_switch_is_click_free_between_different_signals() -> None:
    p, out = make_player({"target": tone(220, 2, 0.5), "reference": tone(330, 2, 0.5)})
    p.play()
    a = pull(out, 0.3)
    p.select("reference")
    b = pull(out, 0.3)
    y = np.concatenate([a, b])[:, 0]
    # the largest sample step stays within what the tones themselves do (no discontinuity)
    max_tone_step = 0.5 * 2 * np.pi * 330 / SR
    assert np.max(np.abs(np.diff(y))) <= max_tone_step * 1.5


def test_play_pause_fades_and_stops_advancing() -> None:
    p, out = make_player({"target": tone(100, 1, 0.5)})
    first = out.pull(BLOCK)
    assert not first.any(), "silent until play"
    p.play()
    start = out.pull(BLOCK)
    assert abs(start[0, 0]) < 0.01, "play fades in"
    pull(out, 0.1)
    p.pause()
    last = out.pull(BLOCK)
    assert abs(last[-1, 0]) < 1e-3
    pos = p.position
    pull(out, 0.1)
    assert p.position == pos


def test_seek_and_loop_region_wrap() -> None:
    p, out = make_player({"target": ramp(2.0)})
    p.set_loop(int(0.5 * SR), int(0.6 * SR))
    p.set_looping(True)
    p.seek(int(0.55 * SR))
    p.play()
    y = pull(out, 0.3)
    lo, hi = 0.5 * SR, 0.6 * SR
    assert lo <= p.position < hi
    # outside the 10 ms crossfades at each wrap, every sample comes from inside the loop
    idx = y[480:, 0] * 1e6
    inside = (idx >= lo - 1) & (idx <= hi + 1)
    assert inside.mean() > 0.85
    assert idx.max() <= hi + 480 + 1


def test_plays_to_the_end_then_stops() -> None:
    p, out = make_player({"target": tone(100, 0.2, 0.5)})
    p.play()
    pull(out, 0.3)
    assert not p.playing
    assert p.position == int(0.2 * SR)


def test_shorter_reference_wraps_on_the_common_timeline() -> None:
    p, out = make_player({"target": ramp(2.0), "reference": ramp(0.5)})
    p.seek(int(1.2 * SR))
    p.select("reference")
    p.play()
    y = pull(out, 0.05)
    assert y[-1, 0] * 1e6 == pytest.approx((1.2 * SR + len(y) - 1) % (0.5 * SR), abs=1)


def test_loudness_matched_gains_bring_sources_to_the_quietest() -> None:
    g = matched_gains({"target": -20.0, "result": -14.0, "reference": -10.0}, True)
    assert g["target"] == pytest.approx(1.0)
    assert 20 * np.log10(g["result"]) == pytest.approx(-6.0)
    assert 20 * np.log10(g["reference"]) == pytest.approx(-10.0)
    assert matched_gains({"target": -20.0, "result": -14.0}, False) == {
        "target": 1.0,
        "result": 1.0,
    }
    p, out = make_player(
        {"target": tone(440, 1, 0.1), "reference": tone(440, 1, 0.4)},
        {"target": -23.0, "reference": -11.0},
    )
    p.play()
    p.select("reference")
    pull(out, 0.1)
    y = out.pull(BLOCK)
    assert np.max(np.abs(y)) == pytest.approx(0.4 * 10 ** (-12 / 20), rel=0.02)
    p.set_loudness_match(False)
    y = out.pull(BLOCK)
    assert np.max(np.abs(y)) == pytest.approx(0.4, rel=0.02)


def test_overlay_replaces_the_result_inside_its_region() -> None:
    p, out = make_player({"target": ramp(1.0), "result": ramp(1.0)})
    overlay = np.full((int(0.1 * SR), 2), 0.25, dtype=np.float32)
    p.set_overlay(int(0.2 * SR), overlay)
    p.select("result")
    p.seek(int(0.25 * SR))
    p.play()
    pull(out, 0.02)
    y = out.pull(BLOCK)
    assert np.allclose(y, 0.25)
    p.set_overlay(0, None)
    y = out.pull(BLOCK)
    assert not np.allclose(y, 0.25)


def test_callback_does_not_allocate_audio_buffers() -> None:
    p, out = make_player({"target": tone(100, 3, 0.5), "result": tone(150, 3, 0.5)})
    p.play()
    block = np.zeros((4096, 2), dtype=np.float32)  # 32 KiB per block
    p.render(block)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for i in range(40):
            if i % 10 == 0:
                p.select("result" if p.role == "target" else "target")
            p.render(block)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024, f"the callback allocated {peak} bytes"


def test_outputs_never_raise() -> None:
    out = create_output()
    # this machine may lack PortAudio: then a NullOutput says so
    if isinstance(out, NullOutput):
        assert not out.available and out.error
    null = NullOutput("no device")
    p = Player(null)
    p.set_sources(SR, {"target": tone(100, 0.1, 0.1)}, {"target": -20.0})
    p.play()
    assert p.position == 0
