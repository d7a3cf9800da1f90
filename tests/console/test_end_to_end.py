"""Acceptance 1: a person in headless chromium signs in, uploads a 30 s target and reference,
submits, watches the job finish and downloads the result, which equals ``audio-style match``
on the same files and options sample for sample; against the embedded server
(``audio-style server``) and the full stack (PostgreSQL, RabbitMQ, moto S3)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.cloud.conftest import MotoStorage, s3_env
from tests.console.conftest import Tab, cli, cli_env, cli_server
from tests.server.conftest import bucket_prefix

pytestmark = pytest.mark.timeout(600)  # a stuck browser or server fails instead of hanging

# non-default options, set in the form and given to the CLI
FORM = {"eq_amount": "80", "width_amount": "50", "ceiling_dbtp": "-1.5"}
CLI_FLAGS = ["--eq-amount", "80", "--width-amount", "50", "--ceiling-dbtp", "-1.5"]
CLI_FLAGS += ["--format", "flac"]


def match_in_console(t: Tab, target: Path, reference: Path, out: Path) -> str:
    """New match -> upload -> submit -> wait -> download; returns the job id."""
    p = t.page
    p.click("text=New match")
    p.set_input_files("[data-testid=targets]", str(target))
    p.set_input_files("[data-testid=references]", str(reference))
    for name, value in FORM.items():
        p.fill(f"input[name={name}]", value)
    p.select_option("select[name=format]", "flac")
    p.click("[data-testid=new-match] button[type=submit]")
    p.wait_for_url("**/console/jobs/*")
    # progress per file was shown while uploading; both files reached 100 %
    p.wait_for_selector("[data-testid=job-state][data-state=succeeded]", timeout=240_000)
    job_id: str = p.url.rsplit("/", 1)[1]
    # the loudness table is filled from the stored metrics
    rows = p.locator("[data-testid=loudness] tbody tr")
    assert rows.count() == 3
    for i in range(3):
        assert "—" not in rows.nth(i).inner_text()
    check_plot(t)
    with p.expect_download() as d:
        p.click("[data-testid=download-audio]")
    d.value.save_as(str(out))
    for fmt in EXPORTS:
        with p.expect_download() as d:
            p.click(f"[data-testid=download-{fmt}]")
        d.value.save_as(str(out.with_name(f"console.{fmt}")))
    with p.expect_download() as d:
        p.click("[data-testid=download-report]")
    d.value.save_as(str(out.with_name("console-report.json")))
    return job_id


EXPORTS = ("eqapo", "graphiceq", "csv")
# the plot's geometry (frontend/src/pages/CurvePlot.tsx): viewBox 800 x 360, plot area top 14,
# bottom 360 - 40
PLOT_TOP, PLOT_BOTTOM = 14, 320


def check_plot(t: Tab) -> None:
    """The match curves are drawn from the preset the worker stored: every curve point in
    20 Hz-20 kHz, on a gain axis wide enough for the largest gain, with labelled axes."""
    p = t.page
    href = p.locator("[data-testid=download-preset]").get_attribute("href")
    preset = p.evaluate("async (u) => (await fetch(u)).json()", href)
    plot = p.locator("[data-testid=curve-plot]")
    plot.wait_for()
    curves = {"mid": preset["eq"]["mid"]["curve"]}
    if preset["eq"].get("side"):
        curves["side"] = preset["eq"]["side"]["curve"]
    peak = max(abs(g) for c in curves.values() for g in c["gain_db"])
    rng = max(12, math.ceil(peak / 6) * 6)
    assert int(plot.get_attribute("data-db-range") or 0) == rng
    for name, c in curves.items():
        shown = [g for f, g in zip(c["freqs_hz"], c["gain_db"], strict=True) if 20 <= f <= 20000]
        d = p.locator(f"[data-testid=curve-{name}]").get_attribute("d") or ""
        points = [tuple(map(float, xy.split(","))) for xy in d.lstrip("M").split("L")]
        assert len(points) == len(shown), name
        y_want = PLOT_TOP + (1 - (shown[0] + rng) / (2 * rng)) * (PLOT_BOTTOM - PLOT_TOP)
        assert points[0][1] == pytest.approx(y_want, abs=0.06), name
    labels = plot.text_content() or ""
    assert "1k" in labels and "Frequency (Hz)" in labels and "Gain (dB)" in labels


def check_player(t: Tab) -> None:
    """The A/B player: gains bring each source to the quietest measured loudness (the table),
    and switching source keeps the playback position."""
    p = t.page
    lufs = {}
    rows = p.locator("[data-testid=loudness] tbody tr")
    for i, name in enumerate(("reference", "target", "result")):
        lufs[name] = float(rows.nth(i).locator("td").first.inner_text())
    p.click("[data-testid=player-load]")
    p.locator(".ab").wait_for()
    floor = min(lufs.values())
    for name, v in lufs.items():
        shown = p.locator(f"[data-testid=gain-{name}]").inner_text().strip("()dB ")
        assert abs(float(shown) - (floor - v)) <= 0.11, (name, shown, lufs)
    player = p.locator("[data-testid=player]")
    p.click("[data-testid=player-toggle]")
    p.wait_for_timeout(1500)
    p.check("input[type=radio][value=target]")
    p.locator("[data-testid=player][data-source=target]").wait_for()
    at = float(player.get_attribute("data-started-at") or 0)
    assert 0.3 <= at <= 20.0, at  # resumed where the result was, not from the start (0.0)
    p.wait_for_timeout(1000)
    p.check("input[type=radio][value=reference]")
    p.locator("[data-testid=player][data-source=reference]").wait_for()
    assert float(player.get_attribute("data-started-at") or 0) > at
    p.click("[data-testid=player-toggle]")


def cli_match(target: Path, reference: Path, out: Path) -> None:
    """``audio-style match`` (+ its preset's exports as ``cli.<format>``)."""
    preset = out.with_name("cli-preset.json")
    args = [str(target), "--reference", str(reference), "-o", str(out), "--preset-out", str(preset)]
    args += ["--report", str(out.with_name("cli-report.json"))]
    subprocess.run(
        [*cli(), "match", *args, *CLI_FLAGS], env=cli_env(), check=True, capture_output=True
    )
    for fmt in EXPORTS:
        subprocess.run(
            [
                *cli(),
                "export-preset",
                str(preset),
                "--format",
                fmt,
                "-o",
                str(out.with_name(f"cli.{fmt}")),
            ],
            env=cli_env(),
            check=True,
            capture_output=True,
        )


def assert_same_report(got: Path, want: Path) -> None:
    """The engine's report: the same measurements as the CLI's ``--report``."""
    a, b = json.loads(got.read_text()), json.loads(want.read_text())
    for side in ("before", "after", "reference"):
        assert a[side] == b[side], side


def assert_same_exports(got_dir: Path, want_dir: Path) -> None:
    """Same filters, curves and points; only the ``#`` comment differs: it names the preset
    after the reference file, which the server knows only by its object key."""

    def body(path: Path) -> list[str]:
        return [
            ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
        ]

    for fmt in EXPORTS:
        got, want = body(got_dir / f"console.{fmt}"), body(want_dir / f"cli.{fmt}")
        assert got and got == want, fmt


def assert_same_audio(got: Path, want: Path) -> None:
    a, sr_a = sf.read(str(got), dtype="int32", always_2d=True)
    b, sr_b = sf.read(str(want), dtype="int32", always_2d=True)
    assert sf.info(str(got)).subtype == sf.info(str(want)).subtype
    assert sr_a == sr_b and a.shape == b.shape, (sr_a, sr_b, a.shape, b.shape)
    assert np.array_equal(a, b), f"{int(np.count_nonzero(a != b))} samples differ"


@pytest.fixture(scope="module")
def cli_result(songs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "cli.flac"
    cli_match(songs / "target.wav", songs / "reference.wav", out)
    return out


def test_browser_match_equals_cli_embedded(
    tab: Any, songs: Path, cli_result: Path, tmp_path: Path
) -> None:
    with cli_server(tmp_path) as srv:
        t = tab(srv.url)
        t.signed_in(srv.user("alice"))
        got = tmp_path / "console.flac"
        match_in_console(t, songs / "target.wav", songs / "reference.wav", got)
        assert_same_audio(got, cli_result)
        assert_same_exports(tmp_path, cli_result.parent)
        assert_same_report(
            tmp_path / "console-report.json", cli_result.with_name("cli-report.json")
        )
        check_player(t)
        assert t.csp_violations() == []
        assert t.foreign_requests() == []


@pytest.mark.services
def test_browser_match_equals_cli_full_stack(
    tab: Any,
    songs: Path,
    cli_result: Path,
    tmp_path: Path,
    pg_url: str,
    amqp_url: str,
    queue_name: str,
    moto_s3sts: MotoStorage,
) -> None:
    from tests.cloud.conftest import served

    env = {
        "DB_URL": pg_url,
        "QUEUE_URL": amqp_url,
        "QUEUE_NAME": queue_name,
        **s3_env(moto_s3sts, bucket_prefix(), sts=False),
    }
    with served(tmp_path, workers=None, full=True, **env) as srv:
        t = tab(srv.url, storage=moto_s3sts.url)
        t.signed_in(srv.user("alice"))
        got = tmp_path / "console.flac"
        match_in_console(t, songs / "target.wav", songs / "reference.wav", got)
        assert_same_audio(got, cli_result)
        assert_same_exports(tmp_path, cli_result.parent)
        # the upload went straight to object storage, never through the API
        assert any(u.startswith(moto_s3sts.url) for u in t.requests)
        assert t.csp_violations() == []
        assert t.foreign_requests() == []
