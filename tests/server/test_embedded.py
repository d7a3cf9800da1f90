"""Embedded mode end to end: SQLite + local storage + in-process queue, scheduler and worker."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine.gains import rescue_fast_stages
from engine.schema.options import MatchOptions
from tests.server.conftest import Stack, codec_tp, local_match, make_music, peak_diff_dbfs


def test_upload_submit_complete_download_equals_local_engine(
    embedded: Stack, audio_dir: Path, tmp_path: Path
) -> None:
    api = embedded.api("alice")
    target, ref = api.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    assert target.startswith(f"uploads/{embedded.users['alice']}/")
    job = api.submit([target], [ref], fmt="wav32f").json()
    view = api.wait(job["id"], timeout=90)
    assert view["state"] == "succeeded", view
    assert view["progress"] == 1.0 and view["attempt"] >= 1
    (res,) = view["results"]
    got = api.download_result(view, tmp_path / "server.wav")
    want = local_match(
        audio_dir / "target.wav",
        audio_dir / "reference.wav",
        tmp_path / "local.wav",
        MatchOptions(),
        "wav32f",
    )
    assert peak_diff_dbfs(got, want) <= -90.0
    preset = json.loads(api.fetch(res["preset_url"]))
    assert preset["kind"] == "audio-style-preset"
    assert api.fetch(res["viz_url"]).startswith(b"\x89PNG\r\n\x1a\n")
    for k in ("output_lufs", "stft_distance_db", "mel_distance_db", "lufs_error_lu"):
        assert k in res["metrics"], res["metrics"]
    # the app's loop preview of a cloud result renders with the same limiter stage
    lim = preset["limiter"]
    stages = rescue_fast_stages(
        lim["rescue_fast_stage_db"], lim["rescue_fast_stage_max_db"], lim["fast_stage_db"]
    )
    assert res["metrics"]["fast_stage_db"] in [lim["fast_stage_db"], *stages]
    assert abs(view["metrics"]["output_lufs"] - res["metrics"]["output_lufs"]) < 1e-9
    assert res["audio_sha256"] == hashlib.sha256(got.read_bytes()).hexdigest()


def test_codec_safe_job_reports_the_codec_true_peak(
    embedded: Stack, audio_dir: Path, tmp_path: Path
) -> None:
    """A codec-safe job's result says what the search did (the console's loudness table shows
    it): the ceiling it chose, stored in the preset, and the result's true peak after the
    codec, as an independent encode/decode of the downloaded file measures it."""
    from tests.server.test_chunked import LOUD

    api = embedded.api("alice")
    # bright and pushed loud: its AAC decode overshoots a -1 dBTP ceiling
    bright = make_music(tmp_path / "bright.wav", 4.0, seed=7, bright=0.6, level=0.2)
    target, ref = api.upload(bright, audio_dir / "reference.wav")
    options = {**LOUD, "codec_safe": "aac-256"}
    view = api.wait(api.submit([target], [ref], options=options).json()["id"], timeout=120)
    assert view["state"] == "succeeded", view
    (res,) = view["results"]
    m = res["metrics"]
    preset = json.loads(api.fetch(res["preset_url"]))
    assert m["codec_safe_ceiling_dbtp"] == preset["limiter"]["ceiling_dbtp"] < -1.0
    got = api.download_result(view, tmp_path / "server.wav")
    assert m["codec_true_peak_dbtp"] == pytest.approx(codec_tp(got, "aac-256"), abs=0.006)
    assert m["codec_true_peak_dbtp"] <= -1.0


def test_album_two_targets_and_options(embedded: Stack, audio_dir: Path, tmp_path: Path) -> None:
    api = embedded.api("alice")
    t1, t2, ref = api.upload(
        audio_dir / "mono.wav", audio_dir / "target2.flac", audio_dir / "mono_ref.wav"
    )
    opts = {"amount": 60.0, "target_lufs": -16.0}
    job = api.submit([t1, t2], [ref], options=opts).json()
    view = api.wait(job["id"], timeout=120)
    assert view["state"] == "succeeded", view
    assert [r["target"] for r in view["results"]] == [t1, t2]
    assert view["results"][1]["audio_key"].endswith(".flac")
    got = api.download_result(view, tmp_path / "s2.flac", 1)
    want = local_match(
        audio_dir / "target2.flac",
        audio_dir / "mono_ref.wav",
        tmp_path / "l2.flac",
        MatchOptions(**opts),
        None,
    )
    assert peak_diff_dbfs(got, want) <= -90.0


def test_idempotency_key(embedded_idle: Stack, audio_dir: Path) -> None:
    api = embedded_idle.api("alice")
    t, r = api.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    a = api.submit([t], [r], key="k-1").json()
    b = api.submit([t], [r], key="k-1").json()
    assert a == b
    c = api.submit([t], [r], key="k-1", options={"amount": 50}, expect=409).json()
    assert c["code"] == "E508"
    d = api.submit([t], [r], key="k-2").json()
    assert d["id"] != a["id"]


def test_list_pagination_and_cancel(embedded_idle: Stack, audio_dir: Path) -> None:
    api = embedded_idle.api("alice")
    t, r = api.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    ids = [api.submit([t], [r]).json()["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        q = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/jobs", params=q).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    r1 = api.delete(f"/jobs/{ids[0]}")
    assert r1.status_code == 202 and r1.json()["state"] == "canceled"
    r2 = api.delete(f"/jobs/{ids[0]}")
    assert r2.status_code == 409 and r2.json()["code"] == "E508"
    assert api.get("/jobs", params={"state": "canceled"}).json()["items"][0]["id"] == ids[0]


def test_errors_are_coded_and_localised(embedded_idle: Stack) -> None:
    c = embedded_idle.client
    r = c.get("/jobs", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert r.status_code == 401 and r.json() == {"code": "E501", "message": "未登录或会话无效"}
    assert r.headers["www-authenticate"] == "Bearer"
    r = c.get("/jobs", headers={"Accept-Language": "en-US"})
    assert r.json()["message"] == "Not signed in or the session is invalid"
    api = embedded_idle.api("alice")
    r = api.post("/jobs", json={"targets": []}, headers={"Accept-Language": "zh"})
    assert r.status_code == 422 and r.json()["code"] == "E513"
    assert r.json()["message"].startswith("无效的请求")
    r = api.get("/nope")
    assert r.status_code == 404 and r.json()["code"] == "E503"


def test_health_metrics_openapi(embedded: Stack, audio_dir: Path) -> None:
    c = embedded.client
    h = c.get("/health")
    assert h.status_code == 200, h.text
    assert h.json()["checks"] == {"database": "ok", "queue": "ok", "storage": "ok"}
    api = embedded.api("alice")
    t, r = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    assert api.wait(api.submit([t], [r]).json()["id"], timeout=120)["state"] == "succeeded"
    m = c.get("/metrics").text
    for line in (
        'audio_style_jobs{state="succeeded"} 1.0',
        'audio_style_jobs_total{state="queued"} ',
        'audio_style_jobs_total{state="running"} ',
        'audio_style_jobs_total{state="succeeded"} ',
        "audio_style_job_duration_seconds_bucket",
        'audio_style_render_speed_x_realtime_bucket{device="cpu"',
        "audio_style_stft_distance_db_bucket",
        "audio_style_mel_distance_db_bucket",
        "audio_style_lufs_error_lu_bucket",
        "audio_style_true_peak_overs_total",
        "audio_style_http_requests_total",
    ):
        assert line in m, line
    spec = c.get("/openapi.json").json()
    from openapi_spec_validator import validate

    validate(spec)
    for path in ("/auth/token", "/uploads", "/jobs", "/jobs/{job_id}", "/health"):
        assert path in spec["paths"], path
    assert "ErrorBody" in json.dumps(spec)


def test_upload_grant_renewal(embedded_idle: Stack, audio_dir: Path) -> None:
    api, other = embedded_idle.api("alice"), embedded_idle.api("bob")
    p = audio_dir / "mono.wav"
    grant = api.post("/uploads", json={"files": [{"name": p.name, "size": p.stat().st_size}]})
    g1 = grant.json()
    r = api.post(f"/uploads/{g1['upload_id']}/renew")
    assert r.status_code == 201, r.text
    g2 = r.json()
    assert [f["key"] for f in g2["files"]] == [f["key"] for f in g1["files"]]
    assert g2["prefix"] == g1["prefix"]
    assert (
        embedded_idle.client.put(g2["files"][0]["url"], content=p.read_bytes()).status_code == 200
    )
    assert other.post(f"/uploads/{g1['upload_id']}/renew").status_code == 404


def test_cancel_a_running_job_stops_its_worker(embedded: Stack, audio_dir: Path) -> None:
    """DELETE while running: the heartbeat learns it, the sandbox is killed, nothing is
    committed, and the worker takes the next job."""
    from sqlalchemy import func, select

    from server.db.models import JobResultRow, Task

    api = embedded.api("alice")
    t, r = api.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    jid = api.submit([t], [r]).json()["id"]

    def running() -> bool:
        with embedded.core.db.session() as s:
            st = s.execute(select(Task.state, Task.progress).where(Task.job_id == jid)).one()
        return st[0] == "running" and st[1] > 0.0

    from tests.server.conftest import wait_for

    wait_for(running, 60, "the job running")
    assert api.delete(f"/jobs/{jid}").json()["state"] == "canceled"
    m, mr = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    nxt = api.submit([m], [mr]).json()["id"]
    assert api.wait(nxt, timeout=120)["state"] == "succeeded"
    view = api.get(f"/jobs/{jid}").json()
    assert view["state"] == "canceled" and view["results"] == []
    with embedded.core.db.session() as s:
        n = s.execute(
            select(func.count()).select_from(JobResultRow).where(JobResultRow.job_id == jid)
        ).scalar_one()
    assert n == 0


def test_restarting_the_embedded_server_loses_no_job(tmp_path: Path, audio_dir: Path) -> None:
    """Jobs accepted by an embedded server that stopped (in-memory queue gone) run after the
    restart, without waiting for the lost-message timeout."""
    from tests.server.conftest import make_settings

    settings = make_settings(tmp_path / "data", REPUBLISH_AFTER_S="3600")
    first = Stack(settings, workers=0)
    api = first.api("alice")
    t, r = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    jid = api.submit([t], [r]).json()["id"]
    login = first.logins["alice"]
    first.close()
    second = Stack(settings)
    try:
        from tests.server.client import Api
        from tests.server.conftest import PASSWORD

        api2 = Api(second.client)
        api2.login(login, PASSWORD)
        assert api2.wait(jid, timeout=120)["state"] == "succeeded"
    finally:
        second.close()
