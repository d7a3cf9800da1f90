"""make bench's timing report (tools/timing.py): figures printed against their targets."""

from __future__ import annotations

import pytest

from tools import timing


def _burst(p95: float, others: float) -> dict[str, object]:
    rounds = [{"p95_ms": p95}] * 5
    return {"stack": "embedded", "rounds": rounds, "p95_ms": p95, "p50_ms": p95 / 2,
            "errors": 0, "cpus": 2, "loadavg_1m": 0.5, "others_cpu_share": others}  # fmt: skip


def test_api_burst_is_judged_against_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    sustained = {"stack": "embedded, sustained (wrk)", "requests": 9000, "requests_per_s": 3000.0,
                 "p50_ms": 50.0, "p95_ms": 120.0, "p99_ms": 150.0, "errors": 0, "cpus": 2,
                 "loadavg_1m": 0.5, "others_cpu_share": 0.0}  # fmt: skip
    target = timing.API_P95_TARGET_MS
    verdicts = timing.print_api([_burst(target, 0.0), _burst(target + 0.1, 0.5), sustained])
    assert verdicts == ["OK", "MISS"]  # the sustained figure is reported, not judged
    out = capsys.readouterr().out
    assert out.count(f"target p95 <= {target:.0f} ms") == 2
    lines = out.strip().splitlines()  # the heading, then one line a figure
    assert "machine loaded" in lines[2] and "machine loaded" not in lines[1]
    assert "3000/s" in out


def test_gui_gap_is_judged_against_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    target = timing.GUI_MAX_GAP_TARGET_MS
    f = {"max_gap_ms": target, "p99_gap_ms": 12.0, "worst_gaps": "-", "load_s": 1.0,
         "match_s": 2.0, "rss_mib": 500, "loadavg_1m": 0.2, "cpus": 2}  # fmt: skip
    assert timing.print_gui(f) == ["MISS"]  # strictly below the target
    assert timing.print_gui({**f, "max_gap_ms": target - 0.1}) == ["OK"]
    assert timing.print_gui(None) == []
    assert f"target max gap < {target:.0f} ms" in capsys.readouterr().out
