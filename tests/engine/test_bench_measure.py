"""make bench's process measurement: the child's own peak memory, not its parent's."""

from __future__ import annotations

import sys

import numpy as np

from tools.bench import run_measured


def test_peak_rss_is_the_commands_own() -> None:
    held = np.ones(300 * 2**20 // 8)  # this process holds 300 MB more than the child will
    child = "import numpy as np; a = np.ones(100 * 2**20 // 8); a[::512] += 1; print(a.sum())"
    wall, rss_mb, rc = run_measured([sys.executable, "-c", child])
    assert rc == 0
    assert wall > 0
    # 100 MB of its own plus the interpreter and numpy; wait4's ru_maxrss read >= 300 here
    assert 100.0 <= rss_mb < 200.0, rss_mb
    assert held[0] == 1.0


def test_exit_status_is_reported() -> None:
    _, _, rc = run_measured([sys.executable, "-c", "raise SystemExit(3)"])
    assert rc == 3
