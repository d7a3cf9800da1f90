"""Cloud offload from the desktop (issue 5), driven through the window with pytest-qt.

Real servers over TCP (the fixtures of ``tests/cloud`` and ``tests/server``, re-exported by
``tests/app/conftest.py``, not copied): the embedded server (SQLite, local storage, in-process worker) and the full stack
(PostgreSQL + RabbitMQ + moto S3 with STS credentials, scheduler, worker process). The GUI signs
in through the account dialog, submits with the "Process in the cloud" choice, follows the job
in the jobs panel, downloads, and shows the result in the views; the downloaded audio must equal
the local engine's output for the same options (<= -90 dBFS). Also: an unreachable server
offers the local engine and keeps everything; cancel from the panel cancels the server's job;
no token or storage secret lands in the settings file, the logs or temporary files; big jobs get
a visible suggestion.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.views.loudness_view import fmt_value
from app.views.main_window import MainWindow
from engine.presets import load_preset
from engine.schema.errors import AudioStyleError, ErrorCode
from tests.app.conftest import Clips, WindowFactory, wait_idle
from tests.cloud.conftest import (
    CloudHome,
    MotoStorage,
    assert_no_secrets,
    report,
    s3_env,
    served,
)
from tests.server.conftest import PASSWORD, bucket_prefix, local_match, make_music, peak_diff_dbfs

pytestmark = pytest.mark.timeout(420)  # a stuck server fails the test instead of hanging it
JOB_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-second stereo target and a 4-second brighter, louder reference."""
    d = tmp_path_factory.mktemp("cloud-gui")
    make_music(d / "song.wav", 20.0, seed=11, level=0.15)
    make_music(d / "ref.wav", 4.0, seed=12, bright=0.6, level=0.6)
    return d


@pytest.fixture(scope="module")
def five_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The issue's 5-minute stereo file (16-bit, ~53 MB)."""
    d = tmp_path_factory.mktemp("cloud-gui-five")
    return make_music(d / "five.wav", 300.0, seed=5, level=0.2, subtype="PCM_16")


@pytest.fixture
def window(make_window: WindowFactory, cloud_home: CloudHome) -> Iterator[MainWindow]:
    """A window whose client lives in ``cloud_home`` (no OS keyring, private temp dir);
    jobs are polled every 0.2-1 s instead of 1-10 s."""
    w = make_window()
    assert w.cloud is not None
    w.cloud.poll_first_s, w.cloud.poll_max_s = 0.2, 1.0
    yield w


def click(qtbot: Any, button: Any) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def sign_in(qtbot: Any, w: MainWindow, url: str, user: str) -> None:
    """Through the account dialog, as a person would."""
    dlg = w.open_account()
    assert dlg is not None and dlg.isVisible()
    dlg.server.setText(url)
    dlg.username.setText(user)
    dlg.password.setText(PASSWORD)
    click(qtbot, dlg.login_button)
    assert dlg.password.text() == ""  # not kept in the widget
    assert w.cloud is not None
    qtbot.waitUntil(lambda: w.cloud.signed_in, timeout=30_000)
    qtbot.waitUntil(lambda: w.account_dialog is None, timeout=5_000)  # closes on success
    assert user in w.jobs_panel.account.text() and url in w.jobs_panel.account.text()


def load_files(qtbot: Any, w: MainWindow, target: Path, reference: Path) -> None:
    w.c.add_files("reference", [str(reference)])
    w.c.add_files("target", [str(target)])
    wait_idle(qtbot, w, JOB_TIMEOUT_MS)
    assert w.c.current_target == str(target)


def set_options(w: MainWindow) -> None:
    """Non-default match options, through the controls."""
    w.controls.sliders["amount"].setValue(90)
    w.controls.sliders["eq"].setValue(80)
    w.controls.sliders["width"].setValue(70)
    w.controls.ceiling.setValue(-1.5)
    o = w.c.options
    assert (o.amount, o.eq_amount, o.width_amount, o.ceiling_dbtp) == (90, 80, 70, -1.5)


def match_in_cloud(qtbot: Any, w: MainWindow) -> str:
    """Tick "Process in the cloud", press Match; returns the job's key in the panel."""
    w.controls.cloud.setChecked(True)
    assert w.cloud is not None and w.cloud.enabled
    assert w.controls.match_button.text() == "Match in the cloud"
    click(qtbot, w.controls.match_button)
    assert w.jobs_dock.isVisible()
    key = next(iter(w.cloud.jobs))
    return key


def follow(qtbot: Any, w: MainWindow, key: str) -> list[str]:
    """Wait until the job's result is shown; returns the states the panel went through."""
    assert w.cloud is not None
    seen: list[str] = []

    def shown() -> bool:
        assert w.cloud is not None
        state = w.cloud.jobs[key].state
        if not seen or seen[-1] != state:
            seen.append(state)
        assert state not in ("failed", "canceled"), w.cloud.jobs[key].error
        return state == "succeeded" and w.c.has_result() and not w.c.busy

    qtbot.waitUntil(shown, timeout=JOB_TIMEOUT_MS)
    wait_idle(qtbot, w, JOB_TIMEOUT_MS)
    return seen


def check_result_shown(w: MainWindow, key: str, target: Path) -> tuple[Path, Any]:
    """The views show the downloaded result and its plan, like a local match."""
    assert w.cloud is not None
    job = w.cloud.jobs[key]
    audio, preset = job.cached[0]
    c = w.c
    assert c.current_target == str(target)
    assert c.preset == preset and c.preset.eq.mid is not None
    assert c.result_path == audio
    assert Path(audio).parent.parent == c.work_dir / "cloud"
    assert c.analysis("result") is not None and c.overview("result") is not None
    assert c.player.has("result")
    assert w.jobs_panel.state_text(key) == "finished"
    assert w.export_action.isEnabled()
    # the views took the result: waveform lane, spectrum, match curve, loudness table
    assert w.waveform.has_data("result")
    x, _, _ = w.waveform.envelope("result")
    overview = c.overview("result")
    assert overview is not None
    assert np.allclose(x, overview.times_s)
    a = c.analysis("result")
    assert a is not None
    fx, fy = w.spectrum.curve_data("result", "mid")
    assert np.allclose(fy, a.mid_db - a.summary.integrated_lufs)
    assert np.allclose(w.curve.mid.getData()[1], preset.eq.mid.curve.gain_db)
    lufs = w.loudness.cell_text("integrated_lufs", "result")
    assert lufs == fmt_value(a.summary.integrated_lufs, 1), lufs
    return Path(audio), preset


def download(qtbot: Any, w: MainWindow, key: str, folder: Path, monkeypatch: Any) -> list[Path]:
    """The panel's Download… button (the folder dialog answered by the test)."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    w.jobs_panel.select(key)
    click(qtbot, w.jobs_panel.download_button)
    assert w.cloud is not None
    qtbot.waitUntil(lambda: w.cloud.jobs[key].saved_to == str(folder), timeout=JOB_TIMEOUT_MS)
    return sorted(folder.iterdir())


def settings_file(w: MainWindow) -> Path:
    assert w.store is not None
    w.save_window_state()  # writes every setting
    path = Path(w.store._qs.fileName())
    assert path.exists()
    return path


# --- 1. end to end: embedded server ---------------------------------------------------------------


def test_gui_cloud_match_embedded(
    qtbot: Any,
    window: MainWindow,
    make_window: WindowFactory,
    audio: Path,
    tmp_path: Path,
    cloud_home: CloudHome,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    token_spy: list[str],
) -> None:
    """Sign in, submit a 20 s stereo file with match options, wait, see the result in the views,
    download it: equal to the local engine's output; no token anywhere on disk or in logs."""
    caplog.set_level(logging.DEBUG)
    w = window
    target, ref = audio / "song.wav", audio / "ref.wav"
    with served(tmp_path, workers=1) as srv:
        user = srv.user("gui")
        sign_in(qtbot, w, srv.url, user)
        assert "keyring" in w.message.text()  # headless: told once where the session went
        token_file = cloud_home.config / "refresh-token"
        assert token_file.stat().st_mode & 0o077 == 0  # 0600
        load_files(qtbot, w, target, ref)
        set_options(w)
        t0 = time.monotonic()
        key = match_in_cloud(qtbot, w)
        states = follow(qtbot, w, key)
        took = time.monotonic() - t0
        assert "uploading" in states and states[-1] == "succeeded"
        assert w.cloud is not None and w.cloud.jobs[key].job_id
        cached, preset = check_result_shown(w, key, target)
        # the row's tooltip tells the result's loudness as the worker metered it: within
        # rounding of the app's own analysis of the downloaded copy
        line = re.search(
            r"song\.wav: (-?[0-9.]+)\u00a0LUFS, (-?[0-9.]+)\u00a0dBTP",
            w.jobs_panel.detail_text(key),
        )
        assert line is not None, w.jobs_panel.detail_text(key)
        result = w.c.analysis("result")
        assert result is not None
        assert abs(float(line[1]) - result.summary.integrated_lufs) <= 0.06
        assert float(line[2]) <= -1.5  # the ceiling set_options chose
        files = download(qtbot, w, key, tmp_path / "saved", monkeypatch)
        assert [f.name for f in files] == ["song.matched.wav", "song.preset.json"]
        assert files[0].read_bytes() == cached.read_bytes()
        assert load_preset(files[1]) == preset
        options = w.c.options
        job_id = w.cloud.jobs[key].job_id

        # a restart: the next window finds the stored session and lists the job (its local
        # files are unknown to it: it can be downloaded, not opened)
        w2 = make_window()
        assert w2.cloud is not None
        qtbot.waitUntil(lambda: job_id in w2.cloud.jobs, timeout=30_000)
        assert w2.cloud.signed_in and user in w2.jobs_panel.account.text()
        assert w2.cloud.jobs[job_id].state == "succeeded"
        w2.jobs_panel.select(job_id)
        assert w2.jobs_panel.download_button.isEnabled()
        assert not w2.jobs_panel.open_button.isEnabled()
        w2.close()

        # sign out from the account dialog: the session is gone from this computer
        dlg = w.open_account()
        assert dlg is not None and dlg.logout_button.isEnabled()
        click(qtbot, dlg.logout_button)
        qtbot.waitUntil(lambda: not w.cloud.signed_in, timeout=30_000)
        assert w.jobs_panel.account.text() == "Not signed in"
        assert not (cloud_home.config / "refresh-token").exists()
        dlg.reject()

    want = local_match(target, ref, tmp_path / "local.wav", options, "wav32f")
    diff = peak_diff_dbfs(files[0], want)
    report(capsys, f"GUI embedded (20 s stereo): Match->result shown {took:.1f} s, {diff:.1f} dBFS")
    assert diff <= -90.0

    secrets_ = sorted(set(token_spy))
    assert len(secrets_) >= 4  # two sessions' worth (this window, then the restarted one)
    ini = settings_file(w)
    assert srv.url in ini.read_text() and user in ini.read_text()  # the account, no secret
    disk = [ini, *cloud_home.files(), *files]
    assert_no_secrets(secrets_, logs=caplog.text, files=disk)


# --- 1. end to end: the full stack, the 5-minute file -----------------------------------------------


@pytest.mark.services
def test_gui_cloud_match_full_stack_five_minutes(
    qtbot: Any,
    window: MainWindow,
    audio: Path,
    five_minutes: Path,
    tmp_path: Path,
    cloud_home: CloudHome,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    moto_s3sts: MotoStorage,
    pg_url: str,
    amqp_url: str,
    queue_name: str,
    token_spy: list[str],
    sts_spy: list[str],
) -> None:
    """PostgreSQL + RabbitMQ + moto S3 (multipart upload with AssumeRole credentials), the
    scheduler and a worker process: the 5-minute file from the GUI equals the local engine."""
    caplog.set_level(logging.DEBUG)
    w = window
    env = {
        "DB_URL": pg_url,
        "QUEUE_URL": amqp_url,
        "QUEUE_NAME": queue_name,
        **s3_env(moto_s3sts, bucket_prefix()),
    }
    ref = audio / "ref.wav"
    with served(tmp_path, workers=None, full=True, **env) as srv:
        assert srv.stack.settings.embedded is False
        sign_in(qtbot, w, srv.url, srv.user("gui5"))
        t_load = time.monotonic()
        load_files(qtbot, w, five_minutes, ref)
        t0 = time.monotonic()
        key = match_in_cloud(qtbot, w)
        follow(qtbot, w, key)
        took = time.monotonic() - t0
        cached, _ = check_result_shown(w, key, five_minutes)
        assert sts_spy, "the upload should have used temporary credentials"
        puts = [d for d in moto_s3sts.faults.data if d.method == "PUT" and d.part]
        assert len(puts) >= 2, "a 53 MB file should go up in several parts"
        files = download(qtbot, w, key, tmp_path / "saved", monkeypatch)
        assert files[0].name == "five.matched.wav"
        options = w.c.options
    t1 = time.monotonic()
    want = local_match(five_minutes, ref, tmp_path / "five-local.wav", options, "wav32f")
    local = time.monotonic() - t1
    diff = peak_diff_dbfs(files[0], want)
    report(
        capsys,
        f"GUI full stack (5 min stereo): load {t0 - t_load:.1f} s, Match->result shown "
        f"{took:.1f} s (upload, job, download, analysis), local engine {local:.1f} s, "
        f"{diff:.1f} dBFS",
    )
    assert diff <= -90.0
    assert peak_diff_dbfs(cached, want) <= -90.0
    disk = [settings_file(w), *cloud_home.files()]
    assert_no_secrets(sorted(set(token_spy + sts_spy)), logs=caplog.text, files=disk)


# --- 2. server unreachable: the local engine instead ----------------------------------------------


def test_unreachable_server_offers_local_processing(
    qtbot: Any, window: MainWindow, clips: Clips, tmp_path: Path
) -> None:
    """Signed in, then the server goes away: Match in the cloud shows a clear message with
    "Process on this computer"; files, options and the cloud choice are kept; accepting runs
    the local engine, whose result equals a local match's."""
    w = window
    with served(tmp_path, workers=0) as srv:
        sign_in(qtbot, w, srv.url, srv.user("offline"))
        url = srv.url
    load_files(qtbot, w, clips.target, clips.reference)
    set_options(w)
    before = (list(w.c.references), list(w.c.targets), w.c.options)
    key = match_in_cloud(qtbot, w)
    assert w.cloud is not None
    qtbot.waitUntil(lambda: w.message.action_button.isVisible(), timeout=60_000)
    text = w.message.text()
    unreachable = AudioStyleError(ErrorCode.SERVER_UNREACHABLE, url=url).message()
    assert unreachable in text and url in text, text
    assert "Your files and settings are unchanged" in text
    assert w.message.action_button.text() == "Process on this computer"
    assert key not in w.cloud.jobs  # nothing was sent: nothing to follow
    assert (list(w.c.references), list(w.c.targets), w.c.options) == before
    assert w.cloud.enabled and w.controls.cloud.isChecked()
    assert not w.c.has_result()

    click(qtbot, w.message.action_button)
    qtbot.waitUntil(w.c.has_result, timeout=JOB_TIMEOUT_MS)
    wait_idle(qtbot, w)
    assert not w.message.isVisible() or w.message.kind != "error"
    assert (list(w.c.references), list(w.c.targets), w.c.options) == before
    assert w.c.result_path is not None
    result = Path(w.c.result_path)
    want = local_match(clips.target, clips.reference, tmp_path / "local.wav", before[2], "wav32f")
    assert peak_diff_dbfs(result, want) <= -90.0


# --- a session revoked elsewhere: back to sign-in -------------------------------------------------


def test_revoked_session_sends_the_user_back_to_sign_in(
    qtbot: Any,
    window: MainWindow,
    clips: Clips,
    tmp_path: Path,
    cloud_home: CloudHome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The session is revoked on the server (signed out on another device) and the access
    token expires: Match in the cloud opens the account dialog with a clear message; nothing
    of the session is lost, and signing in again sends the job."""
    import json

    import httpx

    import server.auth

    monkeypatch.setattr(server.auth, "LEEWAY_S", 0)
    w = window
    assert w.cloud is not None
    with served(tmp_path, workers=0, ACCESS_TOKEN_TTL_S="2") as srv:
        user = srv.user("revoked")
        sign_in(qtbot, w, srv.url, user)
        load_files(qtbot, w, clips.mono, clips.reference)
        stored = json.loads((cloud_home.config / "refresh-token").read_text())["refresh_token"]
        r = httpx.post(f"{srv.url}/auth/logout", data={"refresh_token": stored}, timeout=10)
        assert r.status_code in (200, 204), r.text
        qtbot.wait(2500)  # the access token in memory expires as well
        before = (list(w.c.references), list(w.c.targets), w.c.options)
        match_in_cloud(qtbot, w)
        qtbot.waitUntil(
            lambda: w.account_dialog is not None and w.account_dialog.message.isVisible(),
            timeout=60_000,
        )
        dlg = w.account_dialog
        assert dlg is not None
        assert AudioStyleError(ErrorCode.SESSION_EXPIRED).message() in dlg.message.text()
        assert not w.cloud.signed_in and w.jobs_panel.account.text() == "Not signed in"
        assert not w.cloud.jobs  # nothing was submitted
        assert (list(w.c.references), list(w.c.targets), w.c.options) == before
        assert w.cloud.enabled  # the choice stays
        assert dlg.server.text() == srv.url and dlg.username.text() == user

        dlg.password.setText(PASSWORD)
        click(qtbot, dlg.login_button)
        qtbot.waitUntil(lambda: w.cloud.signed_in, timeout=30_000)
        click(qtbot, w.controls.match_button)
        key = next(iter(w.cloud.jobs))
        qtbot.waitUntil(lambda: w.cloud.jobs[key].state == "queued", timeout=60_000)


# --- 4. cancel from the jobs panel ------------------------------------------------------------------


def test_cancel_from_the_jobs_panel_cancels_the_server_job(
    qtbot: Any, window: MainWindow, clips: Clips, tmp_path: Path
) -> None:
    """A queued job (the server has no worker) canceled with the panel's button is canceled on
    the server; the panel shows it."""
    from cloud.client import CloudClient
    from cloud.tokens import MemoryStore

    w = window
    with served(tmp_path, workers=0) as srv:
        user = srv.user("cancel")
        sign_in(qtbot, w, srv.url, user)
        load_files(qtbot, w, clips.mono, clips.reference)
        key = match_in_cloud(qtbot, w)
        assert w.cloud is not None
        job = w.cloud.jobs[key]
        qtbot.waitUntil(lambda: job.state == "queued", timeout=60_000)
        assert w.jobs_panel.state_text(key).startswith("queued")
        w.jobs_panel.select(key)
        assert not w.jobs_panel.open_button.isEnabled()
        click(qtbot, w.jobs_panel.cancel_button)
        qtbot.waitUntil(lambda: job.state == "canceled", timeout=60_000)
        assert w.jobs_panel.state_text(key) == "canceled"
        assert not w.jobs_panel.cancel_button.isEnabled()
        with CloudClient(srv.url, store=MemoryStore()) as other:  # the server's view
            other.login(user, PASSWORD)
            assert other.job(job.job_id).state == "canceled"
    assert not w.c.has_result()


# --- a finished job's row ---------------------------------------------------------------------------


def add_finished_codec_safe_job(w: MainWindow) -> None:
    """Job "j1": two targets, codec-safe (aac-256), finished; a's result carries the worker's
    metrics, b's (an older worker's) none."""
    from datetime import UTC, datetime

    from app.controllers.cloud_controller import CloudJob
    from engine.schema.jobs import JobView

    assert w.cloud is not None
    now = datetime.now(UTC).isoformat()
    metrics = {"output_lufs": -9.04, "output_true_peak_dbtp": -1.63, "codec_true_peak_dbtp": -1.02}
    view = JobView.model_validate(
        {
            "id": "j1",
            "state": "succeeded",
            "stage": "done",  # not repeated under a finished job
            "created_at": now,
            "updated_at": now,
            "spec": {
                "targets": ["u/a.wav", "u/b.wav"],
                "references": ["u/r.wav"],
                "options": {"codec_safe": "aac-256"},
            },
            "results": [
                {
                    "target": "u/a.wav",
                    "audio_key": "a",
                    "audio_url": "",
                    "preset_url": "",
                    "viz_url": "",
                    "metrics": metrics,
                },
                {
                    "target": "u/b.wav",
                    "audio_key": "b",
                    "audio_url": "",
                    "preset_url": "",
                    "viz_url": "",
                    "metrics": {},
                },
            ],
        }
    )
    job = CloudJob(key="j1", name="a.wav | b.wav", job_id="j1", state="running")
    w.cloud.jobs["j1"] = job
    assert w.cloud._update(job, view)
    assert job.codec_safe == "aac-256"
    w.jobs_panel.set_rows(w.cloud.rows())


def test_finished_job_row_tells_each_results_loudness_and_codec_peak(window: MainWindow) -> None:
    """The server's view of a finished codec-safe job of two targets: the panel's tooltip has a
    line per result (loudness, true peak, and the true peak after the job's codec); a result of
    an older worker without those metrics gets no line."""
    w = window
    add_finished_codec_safe_job(w)
    lines = w.jobs_panel.detail_text("j1").splitlines()
    # value and unit joined by no-break spaces: a narrow dock never wraps "-9.0 / LUFS"
    nb = "\u00a0"
    assert lines == [
        "a.wav | b.wav",
        f"a.wav: -9.0{nb}LUFS, -1.6{nb}dBTP; after aac-256: -1.0{nb}dBTP",
    ]
    # selected, the same lines show under the list without hovering
    w.jobs_panel.select("j1")
    assert w.jobs_panel.details_area.isVisible()
    assert w.jobs_panel.details.text().splitlines() == lines


@pytest.mark.parametrize("language", ["en", "zh"])
def test_result_lines_wrap_between_figures_not_inside_them(
    make_window: WindowFactory, cloud_home: CloudHome, language: str
) -> None:
    """In a narrow dock a result line may wrap before each figure, never between a figure and
    its unit (the zh text has no spaces: it needs its own break opportunities)."""
    from PySide6.QtCore import QTextBoundaryFinder

    w = make_window(language=language)
    add_finished_codec_safe_job(w)
    line = w.jobs_panel.detail_text("j1").splitlines()[1]
    finder = QTextBoundaryFinder(QTextBoundaryFinder.BoundaryType.Line, line)
    breaks = set()
    while (pos := finder.toNextBoundary()) != -1:
        breaks.add(pos)
    figures = [m.start() for m in re.finditer(r"-\d\.\d", line)]
    assert len(figures) == 3, line
    for at in figures:
        assert at in breaks, (line, at)
    for unit in re.finditer(r"LUFS|dBTP", line):
        assert unit.start() not in breaks, (line, unit.start())


# --- big jobs: a visible suggestion -----------------------------------------------------------------


def test_big_batch_suggests_the_cloud(
    qtbot: Any, window: MainWindow, clips: Clips, tmp_path: Path
) -> None:
    """Six targets: the message bar suggests the cloud (nothing switches by itself); accepting
    ticks the choice and, not signed in yet, opens the account dialog."""
    w = window
    assert w.cloud is not None
    copies = []
    for i in range(6):
        p = tmp_path / f"take{i}.wav"
        shutil.copy(clips.target2, p)
        copies.append(str(p))
    w.c.add_files("reference", [str(clips.reference)])
    w.c.add_files("target", copies[:5])
    wait_idle(qtbot, w)
    assert not (w.message.isVisible() and w.message.kind == "suggestion")
    w.c.add_files("target", copies[5:])
    wait_idle(qtbot, w)
    assert w.message.isVisible() and w.message.kind == "suggestion"
    assert "6 target(s), 0:00:21 of audio" in w.message.text()
    assert not w.cloud.enabled and not w.controls.cloud.isChecked()  # only suggested
    click(qtbot, w.message.action_button)
    assert w.cloud.enabled and w.controls.cloud.isChecked() and w.cloud_action.isChecked()
    dlg = w.account_dialog
    assert dlg is not None and dlg.isVisible()
    assert "Sign in to process in the cloud" in dlg.message.text()
    dlg.reject()
    w.c.remove_file("target", copies[0])  # back to 5: the suggestion goes away
    assert not w.message.isVisible() or w.message.kind != "suggestion"
    wait_idle(qtbot, w)


def test_long_targets_suggest_the_cloud(
    qtbot: Any, window: MainWindow, clips: Clips, tmp_path: Path
) -> None:
    """More than 10 minutes of targets in all: suggested too (the long file is only probed,
    it is not the one shown)."""
    import soundfile as sf

    w = window
    assert w.cloud is not None
    long = tmp_path / "long_take.wav"
    with sf.SoundFile(str(long), "w", 8000, 1, subtype="PCM_16") as f:
        noise = 0.1 * np.random.default_rng(1).standard_normal(8000 * 60)
        for _ in range(10):  # 10 minutes
            f.write(noise)
    w.c.add_files("reference", [str(clips.reference)])
    w.c.add_files("target", [str(clips.target)])
    w.c.add_files("target", [str(long)])
    wait_idle(qtbot, w)
    assert w.c.current_target == str(clips.target)
    assert w.c.total_target_length_s() == pytest.approx(604.0, abs=0.01)
    assert w.message.isVisible() and w.message.kind == "suggestion"
    assert "2 target(s), 0:10:04 of audio" in w.message.text()
    assert not w.cloud.enabled
